//! XML bodies of the S3 API: typed parsers for what the store answers, writers for what
//! ferry sends.
//!
//! Parsers take the whole body (`&[u8]`) and return plain structs; they accept the root
//! element with or without the `http://s3.amazonaws.com/doc/2006-03-01/` namespace, ignore
//! elements they do not know, unescape text, and answer [`XmlError`] (never a panic) for
//! anything malformed. Writers escape text, including the carriage returns, newlines and tabs
//! that an XML parser would otherwise normalize away (as the S3 docs ask for object keys).
//!
//! A `200 OK` may still carry an `<Error>` document (CompleteMultipartUpload, CopyObject,
//! UploadPartCopy): check with [`is_error_body`] before parsing the result.

mod bucket;
mod checksum;
mod delete;
mod error_body;
mod list;
mod multipart;
mod tagging;
mod text;
mod tree;

pub use bucket::{Bucket, ListAllMyBucketsResult, create_bucket_configuration_xml};
pub use checksum::Checksums;
pub use delete::{
    DeleteError, DeleteResult, DeletedObject, MAX_DELETE_KEYS, ObjectIdentifier, delete_objects_xml,
};
pub use error_body::{ErrorBody, is_error_body};
pub use list::{ListBucketResult, Object};
pub use multipart::{
    CompleteMultipartUploadResult, CompletedPart, CopyResult, InitiateMultipartUploadResult,
    ListMultipartUploadsResult, ListPartsResult, Part, Upload, complete_multipart_upload_xml,
};
pub use tagging::Tagging;
#[cfg(feature = "serve")]
pub(crate) use text::percent_decode;
pub use text::xml_can_carry;

/// The namespace of the S3 API's XML documents.
pub const S3_NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// Why an XML body could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XmlError {
    /// The body is not well-formed XML (or not UTF-8).
    #[error("malformed XML: {0}")]
    Malformed(String),
    /// The document is well-formed but is not the one expected.
    #[error("expected an XML <{expected}> document, got <{found}>")]
    UnexpectedRoot {
        /// The root element expected.
        expected: &'static str,
        /// The root element found.
        found: String,
    },
    /// A required element is absent.
    #[error("<{parent}> has no <{element}>")]
    Missing {
        /// The element holding it.
        parent: String,
        /// The missing element.
        element: &'static str,
    },
    /// An element's text is not a valid value (a number, a boolean, a URL-encoded string).
    #[error("<{element}> has an invalid value {value:?}")]
    Invalid {
        /// The element.
        element: &'static str,
        /// Its text (shortened).
        value: String,
    },
    /// DeleteObjects was given more keys than one request takes.
    #[error("DeleteObjects takes at most {MAX_DELETE_KEYS} keys per request, got {count}")]
    TooManyKeys {
        /// How many keys were given.
        count: usize,
    },
    /// DeleteObjects was given no key at all.
    #[error("DeleteObjects needs at least one key")]
    NoKeys,
    /// A key holds a character XML 1.0 cannot carry (a control character other than tab,
    /// line feed and carriage return); such a key can only be named in a URL.
    #[error("the key {key:?} holds a character XML cannot carry")]
    Unwritable {
        /// The key (escaped when shown).
        key: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A document touching every parser path: namespace, URL encoding, entities, numbers.
    const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <EncodingType>url</EncodingType><IsTruncated>true</IsTruncated><KeyCount>1</KeyCount>
  <Contents><Key>a%20b%26c</Key><ETag>&quot;e&quot;</ETag><Size>12</Size></Contents>
  <CommonPrefixes><Prefix>p%2F</Prefix></CommonPrefixes>
  <Upload><Key>k</Key><UploadId>u</UploadId></Upload>
  <Part><PartNumber>1</PartNumber><ETag>e</ETag><Size>1</Size></Part>
  <Deleted><Key>d</Key></Deleted><Error><Key>x</Key><Code>AccessDenied</Code></Error>
  <![CDATA[<raw>]]>&#x263A;
</ListBucketResult>"#;

    fn parse_with_every_parser(body: &[u8]) {
        let _ = ListAllMyBucketsResult::parse(body);
        let _ = ListBucketResult::parse(body);
        let _ = InitiateMultipartUploadResult::parse(body);
        let _ = CompleteMultipartUploadResult::parse(body);
        let _ = CopyResult::parse(body);
        let _ = ListMultipartUploadsResult::parse(body);
        let _ = ListPartsResult::parse(body);
        let _ = DeleteResult::parse(body);
        let _ = ErrorBody::parse(body);
        let _ = is_error_body(body);
    }

    #[test]
    fn every_truncation_of_a_document_is_parsed_without_panic() {
        for end in 0..=SAMPLE.len() {
            parse_with_every_parser(&SAMPLE.as_bytes()[..end]);
        }
    }

    #[test]
    fn every_single_byte_corruption_of_a_document_is_parsed_without_panic() {
        for at in 0..SAMPLE.len() {
            for flip in [0x01, 0x20, 0x80] {
                let mut body = SAMPLE.as_bytes().to_vec();
                body[at] ^= flip;
                parse_with_every_parser(&body);
            }
        }
    }

    #[test]
    fn the_sample_parses_as_a_listing() {
        let page = ListBucketResult::parse(SAMPLE.as_bytes()).unwrap();
        assert_eq!(page.contents[0].key, "a b&c");
        assert_eq!(page.common_prefixes, ["p/"]);
    }
}
