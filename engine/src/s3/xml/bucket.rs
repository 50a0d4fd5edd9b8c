//! ListBuckets' answer and CreateBucket's request body.

use super::XmlError;
use super::text::XmlWriter;
use super::tree::{Element, parse_root};

/// ListBuckets' answer (`ListAllMyBucketsResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListAllMyBucketsResult {
    /// The buckets, in the store's order.
    pub buckets: Vec<Bucket>,
    /// Where the next page starts, when the listing was paginated.
    pub continuation_token: Option<String>,
    /// The owner's canonical id, when given.
    pub owner_id: Option<String>,
}

/// One bucket of a ListBuckets answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Bucket {
    /// The bucket's name.
    pub name: String,
    /// When it was created, as the store wrote it (ISO 8601).
    pub creation_date: Option<String>,
    /// Its region, when the store says (`BucketRegion`).
    pub region: Option<String>,
}

impl ListAllMyBucketsResult {
    /// Parses a ListBuckets answer.
    pub fn parse(body: &[u8]) -> Result<Self, XmlError> {
        let root = parse_root(body, "ListAllMyBucketsResult")?;
        let buckets = match root.child("Buckets") {
            Some(list) => list
                .all("Bucket")
                .map(Bucket::read)
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        Ok(Self {
            buckets,
            continuation_token: root.text("ContinuationToken"),
            owner_id: root.child("Owner").and_then(|o| o.text("ID")),
        })
    }
}

impl Bucket {
    fn read(element: &Element) -> Result<Self, XmlError> {
        Ok(Self {
            name: element.required("Name")?,
            creation_date: element.text("CreationDate"),
            region: element.text("BucketRegion"),
        })
    }
}

/// CreateBucket's body for `region`: a `CreateBucketConfiguration` with its
/// `LocationConstraint`, or `None` (send no body) for `us-east-1` or no region, where S3
/// wants none.
pub fn create_bucket_configuration_xml(region: Option<&str>) -> Option<String> {
    let region = region.filter(|r| !r.is_empty() && *r != "us-east-1")?;
    let mut writer = XmlWriter::new("CreateBucketConfiguration");
    writer.leaf("LocationConstraint", region);
    Some(writer.finish("CreateBucketConfiguration"))
}

#[cfg(test)]
mod tests {
    use super::super::tree::parse;
    use super::*;

    /// The example of the ListBuckets page of the S3 API reference.
    const LIST_BUCKETS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Buckets>
    <Bucket>
      <CreationDate>2019-12-11T23:32:47+00:00</CreationDate>
      <Name>amzn-s3-demo-bucket</Name>
    </Bucket>
    <Bucket>
      <CreationDate>2019-11-10T23:32:13+00:00</CreationDate>
      <Name>amzn-s3-demo-bucket1</Name>
      <BucketRegion>eu-west-1</BucketRegion>
    </Bucket>
  </Buckets>
  <Owner>
    <DisplayName>Account+Name</DisplayName>
    <ID>AIDACKCEVSQ6C2EXAMPLE</ID>
  </Owner>
</ListAllMyBucketsResult>"#;

    #[test]
    fn list_buckets_example_yields_names_dates_and_regions() {
        let result = ListAllMyBucketsResult::parse(LIST_BUCKETS.as_bytes()).unwrap();
        assert_eq!(result.buckets.len(), 2);
        assert_eq!(result.buckets[0].name, "amzn-s3-demo-bucket");
        assert_eq!(
            result.buckets[0].creation_date.as_deref(),
            Some("2019-12-11T23:32:47+00:00")
        );
        assert_eq!(result.buckets[0].region, None);
        assert_eq!(result.buckets[1].region.as_deref(), Some("eu-west-1"));
        assert_eq!(result.owner_id.as_deref(), Some("AIDACKCEVSQ6C2EXAMPLE"));
        assert_eq!(result.continuation_token, None);
    }

    #[test]
    fn list_buckets_without_namespace_or_buckets_is_empty() {
        let result = ListAllMyBucketsResult::parse(
            b"<ListAllMyBucketsResult><Buckets/></ListAllMyBucketsResult>",
        )
        .unwrap();
        assert!(result.buckets.is_empty());
    }

    #[test]
    fn bucket_without_name_is_an_error() {
        let body = b"<ListAllMyBucketsResult><Buckets><Bucket/></Buckets></ListAllMyBucketsResult>";
        assert!(matches!(
            ListAllMyBucketsResult::parse(body),
            Err(XmlError::Missing {
                element: "Name",
                ..
            })
        ));
    }

    #[test]
    fn another_document_is_refused_by_its_root() {
        let error = ListAllMyBucketsResult::parse(b"<ListBucketResult/>").unwrap_err();
        assert_eq!(
            error,
            XmlError::UnexpectedRoot {
                expected: "ListAllMyBucketsResult",
                found: "ListBucketResult".into()
            }
        );
    }

    #[test]
    fn create_bucket_configuration_names_the_region() {
        let xml = create_bucket_configuration_xml(Some("eu-west-1")).unwrap();
        let root = parse(xml.as_bytes()).unwrap();
        assert_eq!(root.name, "CreateBucketConfiguration");
        assert_eq!(
            root.text("LocationConstraint").as_deref(),
            Some("eu-west-1")
        );
        assert!(xml.contains(r#"xmlns="http://s3.amazonaws.com/doc/2006-03-01/""#));
    }

    #[test]
    fn create_bucket_configuration_is_absent_for_us_east_1() {
        assert_eq!(create_bucket_configuration_xml(Some("us-east-1")), None);
        assert_eq!(create_bucket_configuration_xml(None), None);
        assert_eq!(create_bucket_configuration_xml(Some("")), None);
    }
}
