//! ListObjectsV2's answer (`ListBucketResult`).

use super::XmlError;
use super::text::maybe_decode;
use super::tree::{Element, parse_root};

/// One page of ListObjectsV2. With `EncodingType=url` the store percent-encodes keys,
/// prefixes, the delimiter and `StartAfter`; they are decoded here, so every field holds the
/// real value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListBucketResult {
    /// The bucket.
    pub name: Option<String>,
    /// The prefix asked for.
    pub prefix: Option<String>,
    /// The delimiter asked for.
    pub delimiter: Option<String>,
    /// `StartAfter` as asked for.
    pub start_after: Option<String>,
    /// `MaxKeys` as applied.
    pub max_keys: Option<u64>,
    /// Keys and common prefixes in this page.
    pub key_count: Option<u64>,
    /// Whether more pages follow.
    pub is_truncated: bool,
    /// The token this page was asked with.
    pub continuation_token: Option<String>,
    /// The token for the next page (never URL-encoded).
    pub next_continuation_token: Option<String>,
    /// `url` when the store encoded the values (already decoded here).
    pub encoding_type: Option<String>,
    /// The objects.
    pub contents: Vec<Object>,
    /// The common prefixes (one per "directory" when a delimiter was given).
    pub common_prefixes: Vec<String>,
}

/// One object of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Object {
    /// The key (decoded).
    pub key: String,
    /// When it was last written, as the store wrote it (ISO 8601).
    pub last_modified: Option<String>,
    /// The ETag, quotes included as sent.
    pub etag: Option<String>,
    /// Its size in bytes.
    pub size: u64,
    /// Its storage class.
    pub storage_class: Option<String>,
    /// The checksum algorithms it was uploaded with (`ChecksumAlgorithm`, may repeat).
    pub checksum_algorithms: Vec<String>,
    /// `FULL_OBJECT` or `COMPOSITE`, when given.
    pub checksum_type: Option<String>,
}

impl ListBucketResult {
    /// Parses a ListObjectsV2 answer, decoding URL-encoded values.
    pub fn parse(body: &[u8]) -> Result<Self, XmlError> {
        let root = parse_root(body, "ListBucketResult")?;
        let encoding_type = root.text("EncodingType");
        let url = is_url(encoding_type.as_deref());
        let decoded = |name: &'static str| -> Result<Option<String>, XmlError> {
            root.text(name)
                .map(|v| maybe_decode(url, name, v))
                .transpose()
        };
        Ok(Self {
            name: root.text("Name"),
            prefix: decoded("Prefix")?,
            delimiter: decoded("Delimiter")?,
            start_after: decoded("StartAfter")?,
            max_keys: root.number("MaxKeys")?,
            key_count: root.number("KeyCount")?,
            is_truncated: root.flag("IsTruncated")?,
            continuation_token: root.text("ContinuationToken"),
            next_continuation_token: root.text("NextContinuationToken"),
            contents: read_all(&root, "Contents", |e| Object::read(e, url))?,
            common_prefixes: common_prefixes(&root, url)?,
            encoding_type,
        })
    }
}

impl Object {
    fn read(element: &Element, url: bool) -> Result<Self, XmlError> {
        Ok(Self {
            key: maybe_decode(url, "Key", element.required("Key")?)?,
            last_modified: element.text("LastModified"),
            etag: element.text("ETag"),
            size: element.required_number("Size")?,
            storage_class: element.text("StorageClass"),
            checksum_algorithms: element
                .all("ChecksumAlgorithm")
                .map(|e| e.text.clone())
                .collect(),
            checksum_type: element.text("ChecksumType"),
        })
    }
}

/// Whether `EncodingType` says values are URL-encoded.
pub(crate) fn is_url(encoding_type: Option<&str>) -> bool {
    encoding_type.is_some_and(|t| t.trim().eq_ignore_ascii_case("url"))
}

/// Reads every child `name` of `root` with `read`.
pub(crate) fn read_all<T>(
    root: &Element,
    name: &'static str,
    read: impl Fn(&Element) -> Result<T, XmlError>,
) -> Result<Vec<T>, XmlError> {
    root.all(name).map(read).collect()
}

/// The `CommonPrefixes/Prefix` values, decoded when `url`.
pub(crate) fn common_prefixes(root: &Element, url: bool) -> Result<Vec<String>, XmlError> {
    read_all(root, "CommonPrefixes", |e| {
        maybe_decode(url, "Prefix", e.required("Prefix")?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ListObjectsV2 example of the S3 API reference.
    const LIST_V2: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
    <Name>bucket</Name>
    <Prefix/>
    <KeyCount>205</KeyCount>
    <MaxKeys>1000</MaxKeys>
    <IsTruncated>false</IsTruncated>
    <Contents>
        <Key>my-image.jpg</Key>
        <LastModified>2009-10-12T17:50:30.000Z</LastModified>
        <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>
        <Size>434234</Size>
        <StorageClass>STANDARD</StorageClass>
    </Contents>
    <Contents>
        <Key>my-third-image.jpg</Key>
        <LastModified>2009-10-12T17:50:30.000Z</LastModified>
        <ETag>"1b2cf535f27731c974343645a3985328"</ETag>
        <Size>64994</Size>
        <StorageClass>STANDARD_IA</StorageClass>
        <ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm>
        <ChecksumType>FULL_OBJECT</ChecksumType>
        <Owner><ID>x</ID></Owner>
    </Contents>
</ListBucketResult>"#;

    /// The delimiter example of the same page, continued from a token.
    const LIST_V2_PREFIXES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>example-bucket</Name>
  <Prefix>photos/2006/</Prefix>
  <KeyCount>2</KeyCount>
  <MaxKeys>2</MaxKeys>
  <Delimiter>/</Delimiter>
  <IsTruncated>true</IsTruncated>
  <ContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</ContinuationToken>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwN=</NextContinuationToken>
  <StartAfter>photos/2006/a</StartAfter>
  <CommonPrefixes>
    <Prefix>photos/2006/February/</Prefix>
  </CommonPrefixes>
  <CommonPrefixes>
    <Prefix>photos/2006/January/</Prefix>
  </CommonPrefixes>
</ListBucketResult>"#;

    #[test]
    fn list_objects_example_yields_contents() {
        let page = ListBucketResult::parse(LIST_V2.as_bytes()).unwrap();
        assert_eq!(page.name.as_deref(), Some("bucket"));
        assert_eq!(page.prefix.as_deref(), Some(""));
        assert_eq!(page.key_count, Some(205));
        assert_eq!(page.max_keys, Some(1000));
        assert!(!page.is_truncated);
        assert_eq!(page.contents.len(), 2);
        let first = &page.contents[0];
        assert_eq!(first.key, "my-image.jpg");
        assert_eq!(
            first.etag.as_deref(),
            Some("\"fba9dede5f27731c9771645a39863328\"")
        );
        assert_eq!(first.size, 434234);
        assert_eq!(
            first.last_modified.as_deref(),
            Some("2009-10-12T17:50:30.000Z")
        );
        assert_eq!(first.storage_class.as_deref(), Some("STANDARD"));
        assert!(first.checksum_algorithms.is_empty());
        let third = &page.contents[1];
        assert_eq!(third.checksum_algorithms, ["CRC64NVME"]);
        assert_eq!(third.checksum_type.as_deref(), Some("FULL_OBJECT"));
    }

    #[test]
    fn list_objects_with_delimiter_yields_common_prefixes_and_tokens() {
        let page = ListBucketResult::parse(LIST_V2_PREFIXES.as_bytes()).unwrap();
        assert!(page.is_truncated);
        assert_eq!(page.delimiter.as_deref(), Some("/"));
        assert_eq!(page.start_after.as_deref(), Some("photos/2006/a"));
        assert_eq!(
            page.common_prefixes,
            ["photos/2006/February/", "photos/2006/January/"]
        );
        assert!(page.contents.is_empty());
        assert_eq!(
            page.next_continuation_token.as_deref(),
            Some("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwN=")
        );
    }

    #[test]
    fn url_encoding_type_decodes_keys_prefixes_delimiter_and_start_after() {
        let body = r#"<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Prefix>dir%20one%2F</Prefix><Delimiter>%2F</Delimiter><StartAfter>a%2Bb</StartAfter>
  <EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>
  <NextContinuationToken>abc%2F+=</NextContinuationToken>
  <Contents><Key>dir+one/caf%C3%A9+%26+%3Ctea%3E%0D%0A.txt</Key><Size>3</Size></Contents>
  <CommonPrefixes><Prefix>dir+one/sub%2F</Prefix></CommonPrefixes>
</ListBucketResult>"#;
        let page = ListBucketResult::parse(body.as_bytes()).unwrap();
        assert_eq!(page.prefix.as_deref(), Some("dir one/"));
        assert_eq!(page.delimiter.as_deref(), Some("/"));
        assert_eq!(page.start_after.as_deref(), Some("a+b"));
        assert_eq!(page.contents[0].key, "dir one/café & <tea>\r\n.txt");
        assert_eq!(page.common_prefixes, ["dir one/sub/"]);
        assert_eq!(page.next_continuation_token.as_deref(), Some("abc%2F+="));
        assert_eq!(page.encoding_type.as_deref(), Some("url"));
    }

    #[test]
    fn without_encoding_type_percent_signs_are_literal() {
        let body = b"<ListBucketResult><Contents><Key>100%25+x</Key><Size>0</Size></Contents></ListBucketResult>";
        let page = ListBucketResult::parse(body).unwrap();
        assert_eq!(page.contents[0].key, "100%25+x");
    }

    #[test]
    fn escaped_keys_are_unescaped() {
        let body = "<ListBucketResult><Contents><Key>a&amp;b&lt;c&gt;&quot;d&apos; é 日本</Key><Size>1</Size>\
                    </Contents></ListBucketResult>";
        let page = ListBucketResult::parse(body.as_bytes()).unwrap();
        assert_eq!(page.contents[0].key, "a&b<c>\"d' é 日本");
    }

    #[test]
    fn bad_url_encoding_is_an_error() {
        let body = b"<ListBucketResult><EncodingType>url</EncodingType>\
                     <Contents><Key>bad%G1</Key></Contents></ListBucketResult>";
        assert!(matches!(
            ListBucketResult::parse(body),
            Err(XmlError::Invalid { element: "Key", .. })
        ));
    }

    #[test]
    fn malformed_listing_is_an_error_not_a_panic() {
        for body in [
            &b"<ListBucketResult><Contents><Key>a</Contents></ListBucketResult>"[..],
            b"<ListBucketResult><KeyCount>-1</KeyCount></ListBucketResult>",
            b"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
            b"<ListBucketResult",
            b"\x00\x01\x02",
        ] {
            assert!(ListBucketResult::parse(body).is_err(), "{body:?}");
        }
    }
}
