//! The `<Error>` document S3 answers on failure (and sometimes inside a `200 OK`).

use super::XmlError;
use super::tree::{Element, parse};

/// The fields of an S3 `<Error>` document. Every field is optional: stores differ in what
/// they send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorBody {
    /// `Code`, e.g. `NoSuchKey`.
    pub code: Option<String>,
    /// `Message`, for people.
    pub message: Option<String>,
    /// `RequestId`.
    pub request_id: Option<String>,
    /// `HostId` (the extended request id).
    pub host_id: Option<String>,
    /// `Resource`, the path concerned.
    pub resource: Option<String>,
    /// `BucketName` or `Bucket`.
    pub bucket: Option<String>,
    /// `Key`.
    pub key: Option<String>,
    /// `Region`: where the bucket is (AuthorizationHeaderMalformed, IllegalLocationConstraint).
    pub region: Option<String>,
    /// `Endpoint`: where to send instead (PermanentRedirect, TemporaryRedirect).
    pub endpoint: Option<String>,
    /// `ArgumentName`: the header or parameter refused (InvalidArgument).
    pub argument_name: Option<String>,
    /// `ServerTime` (RequestTimeTooSkewed).
    pub server_time: Option<String>,
}

impl ErrorBody {
    /// Parses an `<Error>` document. The STS-style `<ErrorResponse><Error>…` wrapping, which
    /// some S3-compatible stores send, is accepted too.
    pub fn parse(body: &[u8]) -> Result<Self, XmlError> {
        let root = parse(body)?;
        let error = match root.name.as_str() {
            "Error" => &root,
            "ErrorResponse" => root.child("Error").unwrap_or(&root),
            _ => {
                return Err(XmlError::UnexpectedRoot {
                    expected: "Error",
                    found: root.name,
                });
            }
        };
        Ok(Self::read(error, &root))
    }

    fn read(error: &Element, root: &Element) -> Self {
        let field = |name: &str| error.text(name).or_else(|| root.text(name));
        Self {
            code: field("Code").map(|c| c.trim().to_owned()),
            message: field("Message"),
            request_id: field("RequestId"),
            host_id: field("HostId"),
            resource: field("Resource"),
            bucket: field("BucketName").or_else(|| field("Bucket")),
            key: field("Key"),
            region: field("Region"),
            endpoint: field("Endpoint"),
            argument_name: field("ArgumentName"),
            server_time: field("ServerTime"),
        }
    }
}

/// Whether `body` is an S3 `<Error>` document: the check to make on a `200 OK` from
/// CompleteMultipartUpload, CopyObject or UploadPartCopy, which may report a failure that
/// way (after sending whitespace to keep the connection alive). Cheap: it reads up to the
/// first element only.
pub fn is_error_body(body: &[u8]) -> bool {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                let name = e.local_name();
                return name.as_ref() == b"Error" || name.as_ref() == b"ErrorResponse";
            }
            Ok(Event::Text(t)) if !t.iter().all(u8::is_ascii_whitespace) => return false,
            Ok(Event::Eof) | Err(_) => return false,
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error example of the S3 API reference ("Error responses").
    const NO_SUCH_KEY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Error>
  <Code>NoSuchKey</Code>
  <Message>The resource you requested does not exist</Message>
  <Resource>/mybucket/myfoto.jpg</Resource>
  <RequestId>4442587FB7D0A2F9</RequestId>
</Error>"#;

    /// CompleteMultipartUpload's documented "200 OK with an error" example, with the
    /// whitespace S3 sends while it works.
    const COMPLETE_200_ERROR: &str = "\n\n        \n<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<Error>
<Code>InternalError</Code>
<Message>We encountered an internal error. Please try again.</Message>
<RequestId>656c76696e6727732072657175657374</RequestId>
<HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId>
</Error>";

    #[test]
    fn error_example_yields_code_message_resource_and_request_id() {
        let body = ErrorBody::parse(NO_SUCH_KEY.as_bytes()).unwrap();
        assert_eq!(body.code.as_deref(), Some("NoSuchKey"));
        assert_eq!(
            body.message.as_deref(),
            Some("The resource you requested does not exist")
        );
        assert_eq!(body.resource.as_deref(), Some("/mybucket/myfoto.jpg"));
        assert_eq!(body.request_id.as_deref(), Some("4442587FB7D0A2F9"));
        assert_eq!(body.host_id, None);
    }

    #[test]
    fn redirect_error_yields_endpoint_and_bucket() {
        let xml = b"<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting \
to access must be addressed using the specified endpoint.</Message>\
<Endpoint>amzn-s3-demo-bucket.s3.eu-west-1.amazonaws.com</Endpoint>\
<Bucket>amzn-s3-demo-bucket</Bucket><RequestId>R</RequestId><HostId>H</HostId></Error>";
        let body = ErrorBody::parse(xml).unwrap();
        assert_eq!(
            body.endpoint.as_deref(),
            Some("amzn-s3-demo-bucket.s3.eu-west-1.amazonaws.com")
        );
        assert_eq!(body.bucket.as_deref(), Some("amzn-s3-demo-bucket"));
        assert_eq!(body.host_id.as_deref(), Some("H"));
    }

    #[test]
    fn namespaced_and_wrapped_errors_are_read() {
        let ns =
            br#"<Error xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Code>X</Code></Error>"#;
        assert_eq!(ErrorBody::parse(ns).unwrap().code.as_deref(), Some("X"));
        let wrapped = b"<ErrorResponse><Error><Type>Sender</Type><Code>Y</Code></Error>\
                        <RequestId>R</RequestId></ErrorResponse>";
        let body = ErrorBody::parse(wrapped).unwrap();
        assert_eq!(body.code.as_deref(), Some("Y"));
        assert_eq!(body.request_id.as_deref(), Some("R"));
    }

    #[test]
    fn complete_multipart_200_error_body_is_detected_and_parsed() {
        assert!(is_error_body(COMPLETE_200_ERROR.as_bytes()));
        let body = ErrorBody::parse(COMPLETE_200_ERROR.as_bytes()).unwrap();
        assert_eq!(body.code.as_deref(), Some("InternalError"));
        assert_eq!(
            body.request_id.as_deref(),
            Some("656c76696e6727732072657175657374")
        );
    }

    #[test]
    fn a_result_document_is_not_an_error_body() {
        let ok = b"\n  <?xml version=\"1.0\"?><CompleteMultipartUploadResult><Error/>\
                   </CompleteMultipartUploadResult>";
        assert!(!is_error_body(ok));
        assert!(!is_error_body(b""));
        assert!(!is_error_body(b"not xml <Error>"));
    }

    #[test]
    fn html_page_is_not_an_error_document() {
        let html = b"<html><head><title>502 Bad Gateway</title></head></html>";
        assert!(matches!(
            ErrorBody::parse(html),
            Err(XmlError::UnexpectedRoot { .. })
        ));
        assert!(!is_error_body(html));
    }

    #[test]
    fn malformed_error_body_is_an_error_not_a_panic() {
        assert!(ErrorBody::parse(b"<Error><Code>X</Code>").is_err());
        assert!(ErrorBody::parse(b"<Error><Code>X</Message></Error>").is_err());
    }
}
