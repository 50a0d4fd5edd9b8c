//! Multipart uploads and copies: CreateMultipartUpload, CompleteMultipartUpload,
//! ListMultipartUploads, ListParts, CopyObject and UploadPartCopy.

use super::XmlError;
use super::checksum::Checksums;
use super::list::{common_prefixes, is_url, read_all};
use super::text::{XmlWriter, maybe_decode};
use super::tree::{Element, parse, parse_root};

/// CreateMultipartUpload's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InitiateMultipartUploadResult {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// The id every later call on this upload names.
    pub upload_id: String,
}

impl InitiateMultipartUploadResult {
    /// Parses a CreateMultipartUpload answer.
    pub fn parse(body: &[u8]) -> Result<Self, XmlError> {
        let root = parse_root(body, "InitiateMultipartUploadResult")?;
        Ok(Self {
            bucket: root.text("Bucket").unwrap_or_default(),
            key: root.text("Key").unwrap_or_default(),
            upload_id: root.required("UploadId")?,
        })
    }
}

/// One uploaded part, as CompleteMultipartUpload lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompletedPart {
    /// 1 to 10,000.
    pub part_number: u32,
    /// The ETag UploadPart answered, quotes included.
    pub etag: String,
    /// The part's checksums, as sent with UploadPart.
    pub checksums: Checksums,
}

impl CompletedPart {
    /// A part with no checksum.
    pub fn new(part_number: u32, etag: impl Into<String>) -> Self {
        Self {
            part_number,
            etag: etag.into(),
            checksums: Checksums::default(),
        }
    }

    fn write(&self, writer: &mut XmlWriter) {
        writer.open("Part");
        writer.leaf("PartNumber", &self.part_number.to_string());
        writer.leaf("ETag", &self.etag);
        self.checksums.write(writer);
        writer.close("Part");
    }
}

/// CompleteMultipartUpload's request body. Parts are written in ascending part number, as
/// S3 requires, whatever order they come in.
pub fn complete_multipart_upload_xml(parts: &[CompletedPart]) -> String {
    let mut sorted: Vec<&CompletedPart> = parts.iter().collect();
    sorted.sort_by_key(|p| p.part_number);
    let mut writer = XmlWriter::new("CompleteMultipartUpload");
    for part in sorted {
        part.write(&mut writer);
    }
    writer.finish("CompleteMultipartUpload")
}

/// CompleteMultipartUpload's answer. Check [`super::is_error_body`] first: a `200 OK` may
/// carry an `<Error>` instead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompleteMultipartUploadResult {
    /// The object's URL.
    pub location: Option<String>,
    /// The bucket.
    pub bucket: Option<String>,
    /// The key.
    pub key: Option<String>,
    /// The object's ETag (not an MD5 of the object).
    pub etag: Option<String>,
    /// The object's checksums.
    pub checksums: Checksums,
    /// `FULL_OBJECT` or `COMPOSITE`.
    pub checksum_type: Option<String>,
}

impl CompleteMultipartUploadResult {
    /// Parses a CompleteMultipartUpload answer.
    pub fn parse(body: &[u8]) -> Result<Self, XmlError> {
        let root = parse_root(body, "CompleteMultipartUploadResult")?;
        Ok(Self {
            location: root.text("Location"),
            bucket: root.text("Bucket"),
            key: root.text("Key"),
            etag: root.text("ETag"),
            checksums: Checksums::read(&root),
            checksum_type: root.text("ChecksumType"),
        })
    }
}

/// CopyObject's answer (`CopyObjectResult`) or UploadPartCopy's (`CopyPartResult`). Check
/// [`super::is_error_body`] first: a `200 OK` may carry an `<Error>` instead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyResult {
    /// The new object's or part's ETag.
    pub etag: Option<String>,
    /// When it was written.
    pub last_modified: Option<String>,
    /// Its checksums.
    pub checksums: Checksums,
    /// `FULL_OBJECT` or `COMPOSITE`, when given.
    pub checksum_type: Option<String>,
}

impl CopyResult {
    /// Parses a `CopyObjectResult` or `CopyPartResult` document.
    pub fn parse(body: &[u8]) -> Result<Self, XmlError> {
        let root = parse(body)?;
        if root.name != "CopyObjectResult" && root.name != "CopyPartResult" {
            return Err(XmlError::UnexpectedRoot {
                expected: "CopyObjectResult",
                found: root.name,
            });
        }
        Ok(Self {
            etag: root.text("ETag"),
            last_modified: root.text("LastModified"),
            checksums: Checksums::read(&root),
            checksum_type: root.text("ChecksumType"),
        })
    }
}

/// One page of ListMultipartUploads. With `EncodingType=url`, keys, markers, the prefix and
/// the delimiter are decoded here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListMultipartUploadsResult {
    /// The bucket.
    pub bucket: Option<String>,
    /// The prefix asked for.
    pub prefix: Option<String>,
    /// The delimiter asked for.
    pub delimiter: Option<String>,
    /// The key marker this page was asked with.
    pub key_marker: Option<String>,
    /// The upload id marker this page was asked with.
    pub upload_id_marker: Option<String>,
    /// `MaxUploads` as applied.
    pub max_uploads: Option<u64>,
    /// Whether more pages follow.
    pub is_truncated: bool,
    /// The key marker for the next page.
    pub next_key_marker: Option<String>,
    /// The upload id marker for the next page.
    pub next_upload_id_marker: Option<String>,
    /// `url` when the store encoded the values (already decoded here).
    pub encoding_type: Option<String>,
    /// The uploads in progress.
    pub uploads: Vec<Upload>,
    /// The common prefixes.
    pub common_prefixes: Vec<String>,
}

/// One multipart upload in progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Upload {
    /// The key.
    pub key: String,
    /// The upload's id.
    pub upload_id: String,
    /// When it was started, as the store wrote it (ISO 8601).
    pub initiated: Option<String>,
    /// Its storage class.
    pub storage_class: Option<String>,
}

impl ListMultipartUploadsResult {
    /// Parses a ListMultipartUploads answer, decoding URL-encoded values.
    pub fn parse(body: &[u8]) -> Result<Self, XmlError> {
        let root = parse_root(body, "ListMultipartUploadsResult")?;
        let encoding_type = root.text("EncodingType");
        let url = is_url(encoding_type.as_deref());
        let decoded = |name: &'static str| -> Result<Option<String>, XmlError> {
            root.text(name)
                .map(|v| maybe_decode(url, name, v))
                .transpose()
        };
        Ok(Self {
            bucket: root.text("Bucket"),
            prefix: decoded("Prefix")?,
            delimiter: decoded("Delimiter")?,
            key_marker: decoded("KeyMarker")?,
            upload_id_marker: root.text("UploadIdMarker"),
            max_uploads: root.number("MaxUploads")?,
            is_truncated: root.flag("IsTruncated")?,
            next_key_marker: decoded("NextKeyMarker")?,
            next_upload_id_marker: root.text("NextUploadIdMarker"),
            uploads: read_all(&root, "Upload", |e| Upload::read(e, url))?,
            common_prefixes: common_prefixes(&root, url)?,
            encoding_type,
        })
    }
}

impl Upload {
    fn read(element: &Element, url: bool) -> Result<Self, XmlError> {
        Ok(Self {
            key: maybe_decode(url, "Key", element.required("Key")?)?,
            upload_id: element.required("UploadId")?,
            initiated: element.text("Initiated"),
            storage_class: element.text("StorageClass"),
        })
    }
}

/// One page of ListParts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListPartsResult {
    /// The bucket.
    pub bucket: Option<String>,
    /// The key.
    pub key: Option<String>,
    /// The upload's id.
    pub upload_id: Option<String>,
    /// The part number marker this page was asked with.
    pub part_number_marker: Option<u32>,
    /// The marker for the next page.
    pub next_part_number_marker: Option<u32>,
    /// `MaxParts` as applied.
    pub max_parts: Option<u32>,
    /// Whether more pages follow.
    pub is_truncated: bool,
    /// The upload's checksum algorithm, when it has one.
    pub checksum_algorithm: Option<String>,
    /// `FULL_OBJECT` or `COMPOSITE`, when given.
    pub checksum_type: Option<String>,
    /// The parts uploaded so far.
    pub parts: Vec<Part>,
}

/// One uploaded part, as ListParts reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Part {
    /// 1 to 10,000.
    pub part_number: u32,
    /// Its ETag, quotes included.
    pub etag: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was uploaded, as the store wrote it (ISO 8601).
    pub last_modified: Option<String>,
    /// Its checksums.
    pub checksums: Checksums,
}

impl ListPartsResult {
    /// Parses a ListParts answer.
    pub fn parse(body: &[u8]) -> Result<Self, XmlError> {
        let root = parse_root(body, "ListPartsResult")?;
        Ok(Self {
            bucket: root.text("Bucket"),
            key: root.text("Key"),
            upload_id: root.text("UploadId"),
            part_number_marker: root.number("PartNumberMarker")?,
            next_part_number_marker: root.number("NextPartNumberMarker")?,
            max_parts: root.number("MaxParts")?,
            is_truncated: root.flag("IsTruncated")?,
            checksum_algorithm: root.text("ChecksumAlgorithm"),
            checksum_type: root.text("ChecksumType"),
            parts: read_all(&root, "Part", Part::read)?,
        })
    }
}

impl Part {
    fn read(element: &Element) -> Result<Self, XmlError> {
        Ok(Self {
            part_number: element.required_number("PartNumber")?,
            etag: element.required("ETag")?,
            size: element.required_number("Size")?,
            last_modified: element.text("LastModified"),
            checksums: Checksums::read(element),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CreateMultipartUpload's example in the S3 API reference.
    const INITIATE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>amzn-s3-demo-bucket</Bucket>
  <Key>example-object</Key>
  <UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>
</InitiateMultipartUploadResult>"#;

    /// CompleteMultipartUpload's example, with the checksum fields of the 2025 API.
    const COMPLETE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Location>http://Example-Bucket.s3.region.amazonaws.com/Example-Object</Location>
  <Bucket>Example-Bucket</Bucket>
  <Key>Example-Object</Key>
  <ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag>
  <ChecksumCRC64NVME>AAAAAAAAAAA=</ChecksumCRC64NVME>
  <ChecksumType>FULL_OBJECT</ChecksumType>
</CompleteMultipartUploadResult>"#;

    /// ListParts' example in the S3 API reference.
    const LIST_PARTS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>example-bucket</Bucket>
  <Key>example-object</Key>
  <UploadId>XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA</UploadId>
  <Initiator>
      <ID>arn:aws:iam::111122223333:user/some-user-11116a31-17b5-4fb7-9df5-b288870f11xx</ID>
      <DisplayName>umat-user-11116a31-17b5-4fb7-9df5-b288870f11xx</DisplayName>
  </Initiator>
  <StorageClass>STANDARD</StorageClass>
  <PartNumberMarker>1</PartNumberMarker>
  <NextPartNumberMarker>3</NextPartNumberMarker>
  <MaxParts>2</MaxParts>
  <IsTruncated>true</IsTruncated>
  <Part>
    <PartNumber>2</PartNumber>
    <LastModified>2010-11-10T20:48:34.000Z</LastModified>
    <ETag>"7778aef83f66abc1fa1e8477f296d394"</ETag>
    <Size>10485760</Size>
    <ChecksumCRC32C>yZ0C4A==</ChecksumCRC32C>
  </Part>
  <Part>
    <PartNumber>3</PartNumber>
    <LastModified>2010-11-10T20:48:33.000Z</LastModified>
    <ETag>"aaaa18db4cc2f85cedef654fccc4a4x8"</ETag>
    <Size>10485760</Size>
  </Part>
</ListPartsResult>"#;

    /// ListMultipartUploads' example in the S3 API reference (shortened).
    const LIST_UPLOADS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>bucket</Bucket>
  <KeyMarker></KeyMarker>
  <UploadIdMarker></UploadIdMarker>
  <NextKeyMarker>my-movie.m2ts</NextKeyMarker>
  <NextUploadIdMarker>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ</NextUploadIdMarker>
  <MaxUploads>3</MaxUploads>
  <IsTruncated>true</IsTruncated>
  <Upload>
    <Key>my-divisor</Key>
    <UploadId>XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw</UploadId>
    <Initiator>
      <ID>arn:aws:iam::111122223333:user/user1-11111a31-17b5-4fb7-9df5-b111111f13de</ID>
      <DisplayName>user1-11111a31-17b5-4fb7-9df5-b111111f13de</DisplayName>
    </Initiator>
    <StorageClass>STANDARD</StorageClass>
    <Initiated>2010-11-10T20:48:33.000Z</Initiated>
  </Upload>
  <Upload>
    <Key>my-movie.m2ts</Key>
    <UploadId>VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>
    <StorageClass>STANDARD</StorageClass>
    <Initiated>2010-11-10T20:48:33.000Z</Initiated>
  </Upload>
</ListMultipartUploadsResult>"#;

    #[test]
    fn initiate_example_yields_the_upload_id() {
        let result = InitiateMultipartUploadResult::parse(INITIATE.as_bytes()).unwrap();
        assert_eq!(result.bucket, "amzn-s3-demo-bucket");
        assert_eq!(result.key, "example-object");
        assert_eq!(
            result.upload_id,
            "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA"
        );
    }

    #[test]
    fn initiate_without_upload_id_is_an_error() {
        let body = b"<InitiateMultipartUploadResult><Key>k</Key></InitiateMultipartUploadResult>";
        assert!(matches!(
            InitiateMultipartUploadResult::parse(body),
            Err(XmlError::Missing {
                element: "UploadId",
                ..
            })
        ));
    }

    #[test]
    fn complete_result_yields_etag_checksum_and_type() {
        let result = CompleteMultipartUploadResult::parse(COMPLETE.as_bytes()).unwrap();
        assert_eq!(result.bucket.as_deref(), Some("Example-Bucket"));
        assert_eq!(result.key.as_deref(), Some("Example-Object"));
        assert_eq!(
            result.etag.as_deref(),
            Some("\"3858f62230ac3c915f300c664312c11f-9\"")
        );
        assert_eq!(result.checksums.crc64nvme.as_deref(), Some("AAAAAAAAAAA="));
        assert_eq!(result.checksum_type.as_deref(), Some("FULL_OBJECT"));
        assert!(result.location.unwrap().ends_with("/Example-Object"));
    }

    #[test]
    fn complete_request_lists_parts_in_order_with_checksums() {
        let mut second = CompletedPart::new(2, "\"b\"");
        second.checksums.crc32 = Some("AAAAAA==".into());
        second.checksums.sha256 = Some("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".into());
        let xml = complete_multipart_upload_xml(&[second, CompletedPart::new(1, "\"a\"")]);
        let root = parse(xml.as_bytes()).unwrap();
        assert_eq!(root.name, "CompleteMultipartUpload");
        let parts: Vec<_> = root.all("Part").collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].text("PartNumber").as_deref(), Some("1"));
        assert_eq!(parts[0].text("ETag").as_deref(), Some("\"a\""));
        assert_eq!(parts[0].child("ChecksumCRC32"), None);
        assert_eq!(parts[1].text("ChecksumCRC32").as_deref(), Some("AAAAAA=="));
        assert_eq!(
            parts[1].text("ChecksumSHA256").as_deref(),
            Some("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
        );
        assert!(xml.contains("&quot;a&quot;"), "{xml}");
    }

    #[test]
    fn complete_request_round_trips_every_checksum_field() {
        let checksums = Checksums {
            crc32: Some("1".into()),
            crc32c: Some("2".into()),
            crc64nvme: Some("3".into()),
            sha1: Some("4".into()),
            sha256: Some("5".into()),
        };
        let part = CompletedPart {
            part_number: 7,
            etag: "\"e\"".into(),
            checksums: checksums.clone(),
        };
        let xml = complete_multipart_upload_xml(&[part]);
        let root = parse(xml.as_bytes()).unwrap();
        assert_eq!(Checksums::read(root.child("Part").unwrap()), checksums);
    }

    #[test]
    fn copy_object_and_copy_part_results_are_read() {
        let object = br#"<CopyObjectResult><ETag>"9b2cf535f27731c974343645a3985328"</ETag>
<LastModified>2009-10-28T22:32:00.000Z</LastModified>
<ChecksumCRC32>Kq5sNA==</ChecksumCRC32></CopyObjectResult>"#;
        let result = CopyResult::parse(object).unwrap();
        assert_eq!(
            result.etag.as_deref(),
            Some("\"9b2cf535f27731c974343645a3985328\"")
        );
        assert_eq!(
            result.last_modified.as_deref(),
            Some("2009-10-28T22:32:00.000Z")
        );
        assert_eq!(result.checksums.crc32.as_deref(), Some("Kq5sNA=="));
        let part = br#"<CopyPartResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
<LastModified>2011-04-11T20:34:56.000Z</LastModified><ETag>"9b2cf5"</ETag></CopyPartResult>"#;
        assert_eq!(
            CopyResult::parse(part).unwrap().etag.as_deref(),
            Some("\"9b2cf5\"")
        );
        assert!(CopyResult::parse(b"<Error><Code>InternalError</Code></Error>").is_err());
    }

    #[test]
    fn list_parts_example_yields_parts_and_markers() {
        let page = ListPartsResult::parse(LIST_PARTS.as_bytes()).unwrap();
        assert!(page.is_truncated);
        assert_eq!(page.part_number_marker, Some(1));
        assert_eq!(page.next_part_number_marker, Some(3));
        assert_eq!(page.max_parts, Some(2));
        assert_eq!(page.parts.len(), 2);
        assert_eq!(page.parts[0].part_number, 2);
        assert_eq!(page.parts[0].size, 10485760);
        assert_eq!(page.parts[0].etag, "\"7778aef83f66abc1fa1e8477f296d394\"");
        assert_eq!(page.parts[0].checksums.crc32c.as_deref(), Some("yZ0C4A=="));
        assert_eq!(
            page.parts[1].last_modified.as_deref(),
            Some("2010-11-10T20:48:33.000Z")
        );
    }

    #[test]
    fn list_parts_with_bad_part_number_is_an_error() {
        let body = b"<ListPartsResult><Part><PartNumber>two</PartNumber><ETag>x</ETag>\
                     <Size>1</Size></Part></ListPartsResult>";
        assert!(matches!(
            ListPartsResult::parse(body),
            Err(XmlError::Invalid {
                element: "PartNumber",
                ..
            })
        ));
    }

    #[test]
    fn list_uploads_example_yields_uploads_and_markers() {
        let page = ListMultipartUploadsResult::parse(LIST_UPLOADS.as_bytes()).unwrap();
        assert!(page.is_truncated);
        assert_eq!(page.key_marker.as_deref(), Some(""));
        assert_eq!(page.next_key_marker.as_deref(), Some("my-movie.m2ts"));
        assert_eq!(
            page.next_upload_id_marker.as_deref(),
            Some("YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ")
        );
        assert_eq!(page.max_uploads, Some(3));
        assert_eq!(page.uploads.len(), 2);
        assert_eq!(page.uploads[0].key, "my-divisor");
        assert_eq!(
            page.uploads[0].upload_id,
            "XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw"
        );
        assert_eq!(
            page.uploads[0].initiated.as_deref(),
            Some("2010-11-10T20:48:33.000Z")
        );
    }

    #[test]
    fn list_uploads_decodes_url_encoded_keys_and_markers() {
        let body = b"<ListMultipartUploadsResult><EncodingType>url</EncodingType>\
<NextKeyMarker>a+b%26c</NextKeyMarker><Upload><Key>dir%2Fa+b%26c</Key><UploadId>u</UploadId>\
</Upload></ListMultipartUploadsResult>";
        let page = ListMultipartUploadsResult::parse(body).unwrap();
        assert_eq!(page.uploads[0].key, "dir/a b&c");
        assert_eq!(page.next_key_marker.as_deref(), Some("a b&c"));
    }
}
