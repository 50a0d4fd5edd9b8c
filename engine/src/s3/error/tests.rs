//! The error's tests: answers and their display, classification, excerpts, advice.

use super::excerpt::EXCERPT_CHARS;
use super::*;
use crate::Advice;
use http::HeaderValue;

/// The error example of the S3 API reference ("Error responses").
const NO_SUCH_KEY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Error>
  <Code>NoSuchKey</Code>
  <Message>The resource you requested does not exist</Message>
  <Resource>/mybucket/myfoto.jpg</Resource>
  <RequestId>4442587FB7D0A2F9</RequestId>
</Error>"#;

/// CompleteMultipartUpload's documented "200 OK with an error" example, after the
/// whitespace S3 sends while it works.
const COMPLETE_200_ERROR: &str = "  \n<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<Error>
<Code>InternalError</Code>
<Message>We encountered an internal error. Please try again.</Message>
<RequestId>656c76696e6727732072657175657374</RequestId>
<HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId>
</Error>";

/// nginx's page when the store behind it is down.
const NGINX_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n";

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

fn answer(status: u16, body: &str) -> S3Error {
    let status = StatusCode::from_u16(status).unwrap();
    S3Error::from_response(status, &HeaderMap::new(), body.as_bytes())
}

fn error_xml(code: &str, message: &str) -> String {
    format!(
        "<Error><Code>{code}</Code><Message>{message}</Message><RequestId>R1</RequestId></Error>"
    )
}

fn coded(status: u16, code: &str, message: &str) -> S3Error {
    answer(status, &error_xml(code, message))
}

fn advice(error: &S3Error) -> Advice {
    error.advice().expect("advice")
}

#[test]
fn error_body_example_gives_code_message_and_request_id() {
    let error = answer(404, NO_SUCH_KEY);
    assert_eq!(error.code(), "NoSuchKey");
    assert_eq!(error.message(), "The resource you requested does not exist");
    assert_eq!(error.request_id(), Some("4442587FB7D0A2F9"));
    assert_eq!(
        error.detail().resource.as_deref(),
        Some("/mybucket/myfoto.jpg")
    );
    assert_eq!(error.kind(), S3ErrorKind::NotFound);
    assert!(error.is_not_found() && !error.is_retryable());
}

#[test]
fn display_is_one_line_with_operation_resource_code_message_and_request_id() {
    let error = answer(404, NO_SUCH_KEY)
        .with_operation("GetObject")
        .with_resource(Some("mybucket"), Some("myfoto.jpg"));
    assert_eq!(
        error.to_string(),
        "GetObject on s3://mybucket/myfoto.jpg failed: NoSuchKey (HTTP 404): The resource \
         you requested does not exist [request id 4442587FB7D0A2F9]"
    );
}

#[test]
fn display_collapses_a_multiline_message() {
    let error = coded(400, "InvalidArgument", "line one\n\n   line\ttwo\u{1b}[31m");
    let line = error.to_string();
    assert!(!line.contains(['\n', '\t', '\u{1b}']), "{line}");
    assert!(line.contains("line one line two [31m"), "{line}");
}

#[test]
fn complete_multipart_200_with_error_body_is_a_retryable_error() {
    let error = S3Error::from_success_body(
        StatusCode::OK,
        &HeaderMap::new(),
        COMPLETE_200_ERROR.as_bytes(),
    )
    .expect("an error inside the 200");
    assert_eq!(error.code(), "InternalError");
    assert_eq!(error.status(), StatusCode::OK);
    assert_eq!(
        error.host_id(),
        Some("Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==")
    );
    assert!(error.is_retryable());
    assert_eq!(error.kind(), S3ErrorKind::Transient);
}

#[test]
fn a_200_with_a_slow_down_body_is_throttling_like_a_503() {
    let body = error_xml("SlowDown", "Please reduce your request rate.");
    let error = S3Error::from_success_body(StatusCode::OK, &HeaderMap::new(), body.as_bytes())
        .expect("an error inside the 200");
    assert!(error.is_throttling() && error.is_retryable());
    let unknown = error_xml("SomethingOdd", "?");
    let error = S3Error::from_success_body(StatusCode::OK, &HeaderMap::new(), unknown.as_bytes())
        .expect("an error inside the 200");
    assert!(
        !error.is_retryable(),
        "an unknown code in a 200 is not retried"
    );
}

#[test]
fn retry_after_in_seconds_is_read_from_the_answer() {
    let body = error_xml("SlowDown", "Please reduce your request rate.");
    let status = StatusCode::SERVICE_UNAVAILABLE;
    let error =
        S3Error::from_response(status, &headers(&[("retry-after", " 7 ")]), body.as_bytes());
    assert_eq!(error.retry_after(), Some(std::time::Duration::from_secs(7)));
    let date = headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]);
    let error = S3Error::from_response(status, &date, body.as_bytes());
    assert_eq!(error.retry_after(), None, "the date form is ignored");
    assert_eq!(answer(503, "").retry_after(), None);
}

#[test]
fn a_body_that_did_not_match_its_checksum_is_a_checksum_mismatch() {
    for code in [
        "BadDigest",
        "InvalidDigest",
        "XAmzContentSHA256Mismatch",
        "XAmzContentChecksumMismatch",
    ] {
        let error = coded(400, code, "The digest did not match.");
        assert!(error.is_checksum_mismatch(), "{code}");
        // The table never retries it: only the client may, for a replayable body.
        assert!(!error.is_retryable(), "{code}");
    }
}

#[test]
fn successful_result_body_holds_no_error() {
    let ok = b"<CompleteMultipartUploadResult><ETag>\"x\"</ETag></CompleteMultipartUploadResult>";
    assert!(S3Error::from_success_body(StatusCode::OK, &HeaderMap::new(), ok).is_none());
}

#[test]
fn html_proxy_page_is_a_non_s3_answer_with_its_title() {
    let headers = headers(&[("content-type", "text/html")]);
    let error = S3Error::from_response(StatusCode::BAD_GATEWAY, &headers, NGINX_502.as_bytes())
        .with_operation("PutObject")
        .with_resource(Some("b"), Some("k"));
    assert!(error.is_not_s3());
    assert_eq!(error.code(), NOT_S3_CODE);
    assert_eq!(error.excerpt(), Some("502 Bad Gateway"));
    assert_eq!(
        error.to_string(),
        "PutObject on s3://b/k failed: the endpoint did not answer like S3 \
         (HTTP 502, text/html): \"502 Bad Gateway\""
    );
    assert!(error.is_retryable(), "a proxy's 502 may pass");
    assert_eq!(advice(&error), Advice::CheckEndpoint);
}

#[test]
fn non_s3_answer_with_a_client_status_is_not_retried() {
    let error = answer(
        404,
        "<!DOCTYPE html><html><body><p>Not here</p></body></html>",
    );
    assert!(error.is_not_s3() && !error.is_retryable());
    assert_eq!(error.excerpt(), Some("Not here"));
}

#[test]
fn non_s3_excerpt_is_short_single_line_and_free_of_control_characters() {
    let body = format!(
        "{{\"error\":\"\u{1b}[2J\u{202E}boom\r\n\"}} {}",
        "x".repeat(10_000)
    );
    let error = answer(400, &body);
    let excerpt = error.excerpt().unwrap();
    assert!(excerpt.chars().count() <= EXCERPT_CHARS + 1, "{excerpt}");
    assert!(excerpt.ends_with('…'));
    assert!(
        !excerpt.contains(['\u{1b}', '\u{202E}', '\r', '\n']),
        "{excerpt}"
    );
    assert!(excerpt.starts_with("{\"error\":\" [2J boom"), "{excerpt}");
}

#[test]
fn other_s3_document_or_malformed_xml_is_a_non_s3_answer() {
    assert!(answer(500, "<ListBucketResult></ListBucketResult>").is_not_s3());
    assert!(answer(500, "<Error><Code>InternalError</Code>").is_not_s3());
    assert!(answer(500, "\u{0}\u{1}\u{ff}").is_not_s3());
}

#[test]
fn head_404_without_body_names_the_missing_key() {
    let headers = headers(&[("x-amz-request-id", "TX1"), ("x-amz-id-2", "HOST1")]);
    let error = S3Error::from_response(StatusCode::NOT_FOUND, &headers, b"")
        .with_operation("HeadObject")
        .with_resource(Some("photos"), Some("2024/cat.jpg"));
    assert_eq!(error.code(), "NoSuchKey");
    assert!(error.is_not_found());
    assert_eq!(error.request_id(), Some("TX1"));
    assert_eq!(error.host_id(), Some("HOST1"));
    assert!(error.message().contains("no body"));
    assert_eq!(
        advice(&error),
        Advice::KeyMissing {
            bucket: Some("photos".into()),
            parent_prefix: "2024/".into(),
            ambiguous: true,
        }
    );
    assert_eq!(
        error.to_string(),
        "HeadObject on s3://photos/2024/cat.jpg failed: NoSuchKey (HTTP 404): no details \
         (the answer had no body) [request id TX1]"
    );
}

#[test]
fn head_404_without_key_is_not_found_or_no_such_bucket() {
    assert_eq!(answer(404, "").code(), "NotFound");
    let bucket = answer(404, "").with_resource(Some("gone"), None);
    assert_eq!(bucket.code(), "NoSuchBucket");
    assert!(bucket.is_no_such_bucket());
}

#[test]
fn head_403_without_body_is_access_denied_with_cautious_advice() {
    let error = answer(403, "")
        .with_operation("HeadObject")
        .with_resource(Some("b"), Some("k"));
    assert_eq!(error.code(), "Forbidden");
    assert!(error.is_access_denied() && !error.is_retryable());
    assert_eq!(
        advice(&error),
        Advice::CheckPermission {
            action: Some("s3:GetObject"),
            resource: Some("s3://b/k".into()),
            reason_given: false,
        }
    );
}

#[test]
fn head_301_names_the_region_from_the_bucket_region_header() {
    let headers = headers(&[("x-amz-bucket-region", "eu-west-1")]);
    let error = S3Error::from_response(StatusCode::MOVED_PERMANENTLY, &headers, b"");
    assert_eq!(error.code(), "PermanentRedirect");
    assert!(error.is_wrong_region());
    assert_eq!(error.region(), Some("eu-west-1"));
    assert_eq!(
        advice(&error),
        Advice::UseRegion {
            region: Some("eu-west-1".into()),
            endpoint: None,
        }
    );
}

#[test]
fn head_400_with_bucket_region_header_is_a_wrong_region() {
    let headers = headers(&[("x-amz-bucket-region", "ap-south-1")]);
    let error = S3Error::from_response(StatusCode::BAD_REQUEST, &headers, b"");
    assert!(error.is_wrong_region());
    assert_eq!(
        advice(&error),
        Advice::UseRegion {
            region: Some("ap-south-1".into()),
            endpoint: None,
        }
    );
}

#[test]
fn permanent_redirect_body_names_the_region_through_its_endpoint() {
    let body = "<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting \
                to access must be addressed using the specified endpoint.</Message>\
                <Endpoint>amzn-s3-demo-bucket.s3.eu-central-1.amazonaws.com</Endpoint>\
                <Bucket>amzn-s3-demo-bucket</Bucket></Error>";
    let error = answer(301, body);
    assert_eq!(error.region(), Some("eu-central-1"));
    assert_eq!(error.bucket(), Some("amzn-s3-demo-bucket"));
    assert!(matches!(
        advice(&error),
        Advice::UseRegion { region: Some(r), .. } if r == "eu-central-1"
    ));
}

#[test]
fn redirect_to_an_endpoint_without_region_names_the_endpoint() {
    let body =
        "<Error><Code>PermanentRedirect</Code><Endpoint>b.s3.amazonaws.com</Endpoint></Error>";
    let error = answer(301, body);
    assert_eq!(error.region(), None);
    assert_eq!(
        advice(&error),
        Advice::UseRegion {
            region: None,
            endpoint: Some("b.s3.amazonaws.com".into()),
        }
    );
}

#[test]
fn region_is_read_from_every_endpoint_form() {
    for (endpoint, region) in [
        ("b.s3.eu-west-1.amazonaws.com", Some("eu-west-1")),
        ("b.s3-eu-west-1.amazonaws.com", Some("eu-west-1")),
        ("s3.dualstack.us-east-2.amazonaws.com", Some("us-east-2")),
        (
            "b.s3-fips.us-gov-west-1.amazonaws.com",
            Some("us-gov-west-1"),
        ),
        ("b.s3.amazonaws.com", None),
        ("minio.local", None),
    ] {
        assert_eq!(
            region_of_endpoint(endpoint).as_deref(),
            region,
            "{endpoint}"
        );
    }
}

#[test]
fn authorization_header_malformed_names_the_expected_region() {
    let body = "<Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization \
                header is malformed; the region 'us-east-1' is wrong; expecting \
                'us-west-2'</Message><Region>us-west-2</Region><RequestId>R</RequestId></Error>";
    let error = answer(400, body);
    assert!(error.is_wrong_region() && !error.is_retryable());
    assert_eq!(
        advice(&error),
        Advice::UseRegion {
            region: Some("us-west-2".into()),
            endpoint: None,
        }
    );
}

#[test]
fn throttling_codes_and_statuses_are_retryable_throttling() {
    for code in [
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
    ] {
        let error = coded(400, code, "Please reduce your request rate.");
        assert!(error.is_throttling() && error.is_retryable(), "{code}");
    }
    for status in [429, 503] {
        let error = answer(status, "");
        assert!(error.is_throttling() && error.is_retryable(), "{status}");
    }
}

#[test]
fn server_errors_and_request_timeout_are_retryable_but_not_throttling() {
    for error in [
        coded(500, "InternalError", "We encountered an internal error."),
        coded(
            400,
            "RequestTimeout",
            "Your socket connection to the server was not read from or written to within the timeout period.",
        ),
        answer(500, ""),
        answer(502, ""),
        answer(504, ""),
    ] {
        assert!(error.is_retryable(), "{error}");
        assert!(!error.is_throttling(), "{error}");
        assert_eq!(error.kind(), S3ErrorKind::Transient, "{error}");
    }
}

#[test]
fn other_client_errors_are_not_retryable() {
    for (status, code) in [
        (400, "InvalidArgument"),
        (400, "MalformedXML"),
        (400, "EntityTooSmall"),
        (400, "InvalidPart"),
        (409, "BucketAlreadyExists"),
        (416, "InvalidRange"),
        (405, "MethodNotAllowed"),
    ] {
        let error = coded(status, code, "no");
        assert!(!error.is_retryable(), "{code}");
        assert_eq!(error.kind(), S3ErrorKind::InvalidRequest, "{code}");
    }
    assert!(!answer(501, "").is_retryable());
}

#[test]
fn request_time_too_skewed_is_its_own_kind_and_retryable_after_correction() {
    let body = "<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the \
                request time and the current time is too large.</Message>\
                <RequestTime>20260101T000000Z</RequestTime>\
                <ServerTime>2026-05-01T12:00:00Z</ServerTime>\
                <MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds></Error>";
    let error = answer(403, body);
    assert!(error.is_clock_skew() && error.is_retryable());
    assert!(!error.is_access_denied());
    assert_eq!(
        advice(&error),
        Advice::FixClock {
            server_time: Some("2026-05-01T12:00:00Z".into()),
        }
    );
}

#[test]
fn access_denied_advice_names_the_action_and_the_resource() {
    let error = coded(403, "AccessDenied", "Access Denied")
        .with_operation("PutObject")
        .with_resource(Some("reports"), Some("q1.csv"));
    assert!(error.is_access_denied());
    assert_eq!(
        advice(&error),
        Advice::CheckPermission {
            action: Some("s3:PutObject"),
            resource: Some("s3://reports/q1.csv".into()),
            reason_given: true,
        }
    );
}

#[test]
fn invalid_access_key_advises_checking_the_access_key() {
    let error = coded(
        403,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
    );
    assert!(error.is_invalid_credentials());
    assert_eq!(advice(&error), Advice::CheckAccessKey);
}

#[test]
fn signature_mismatch_advises_checking_the_secret_key() {
    let error = coded(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.",
    );
    assert!(error.is_invalid_credentials() && !error.is_access_denied());
    assert_eq!(advice(&error), Advice::CheckSecretKey);
}

#[test]
fn expired_token_advises_fresh_credentials() {
    let error = coded(400, "ExpiredToken", "The provided token has expired.");
    assert!(error.is_expired_token() && !error.is_retryable());
    assert_eq!(advice(&error), Advice::RefreshCredentials);
}

#[test]
fn no_such_bucket_advice_names_the_bucket() {
    let error = coded(404, "NoSuchBucket", "The specified bucket does not exist")
        .with_resource(Some("typo-bucket"), None);
    assert_eq!(
        advice(&error),
        Advice::BucketMissing {
            bucket: Some("typo-bucket".into()),
        }
    );
}

#[test]
fn no_such_bucket_takes_the_bucket_from_the_body() {
    let body = "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not \
                exist</Message><BucketName>from-body</BucketName></Error>";
    let error = answer(404, body);
    assert_eq!(error.bucket(), Some("from-body"));
    assert!(
        error.to_string().contains("on s3://from-body failed"),
        "{error}"
    );
}

#[test]
fn no_such_key_advice_names_the_keys_beside_it() {
    let error = answer(404, NO_SUCH_KEY).with_resource(Some("mybucket"), Some("myfoto.jpg"));
    assert_eq!(
        advice(&error),
        Advice::KeyMissing {
            bucket: Some("mybucket".into()),
            parent_prefix: String::new(),
            ambiguous: false,
        }
    );
}

#[test]
fn no_such_upload_advises_starting_again() {
    let error = coded(404, "NoSuchUpload", "The specified upload does not exist.");
    assert!(error.is_no_such_upload() && error.is_not_found());
    assert_eq!(advice(&error), Advice::UploadGone);
}

#[test]
fn slow_down_advises_a_lower_request_rate() {
    let error = coded(503, "SlowDown", "Please reduce your request rate.");
    assert_eq!(advice(&error), Advice::ReduceRequestRate);
}

#[test]
fn checksum_rejections_by_stores_without_support_advise_turning_checksums_off() {
    let refusals = [
        coded(
            501,
            "NotImplemented",
            "Header 'x-amz-checksum-crc64nvme' with value 'AAAAAAAAAAA=' not implemented",
        ),
        coded(
            400,
            "InvalidArgument",
            "Unsupported header 'x-amz-checksum-crc32' received for this API call.",
        ),
        answer(
            400,
            "<Error><Code>InvalidArgument</Code><Message>Invalid argument</Message>\
                     <ArgumentName>x-amz-sdk-checksum-algorithm</ArgumentName></Error>",
        ),
        coded(
            400,
            "InvalidRequest",
            "Checksum algorithm CRC64NVME is not supported",
        ),
    ];
    for error in refusals {
        assert!(error.is_checksum_unsupported(), "{error}");
        assert!(!error.is_retryable(), "{error}");
        assert_eq!(advice(&error), Advice::DisableRequestChecksums);
    }
}

#[test]
fn a_checksum_mismatch_is_not_taken_for_missing_support() {
    let bad = coded(
        400,
        "BadDigest",
        "The CRC32 you specified did not match the calculated checksum.",
    );
    assert!(bad.is_checksum_mismatch() && !bad.is_checksum_unsupported());
    let invalid = coded(
        400,
        "InvalidRequest",
        "Value for x-amz-checksum-crc32 header is invalid.",
    );
    assert!(!invalid.is_checksum_unsupported());
    let other = coded(
        501,
        "NotImplemented",
        "A header you provided implies functionality that is not implemented",
    );
    assert!(!other.is_checksum_unsupported());
}

#[test]
fn unknown_code_follows_its_status() {
    assert_eq!(coded(503, "Whatever", "m").kind(), S3ErrorKind::Throttled);
    assert_eq!(coded(404, "Whatever", "m").kind(), S3ErrorKind::NotFound);
    assert_eq!(
        coded(418, "Whatever", "m").kind(),
        S3ErrorKind::InvalidRequest
    );
    assert_eq!(coded(200, "Whatever", "m").kind(), S3ErrorKind::Other);
    assert_eq!(coded(418, "Whatever", "m").advice(), None);
}

#[test]
fn error_without_code_takes_the_status_code_and_keeps_the_message() {
    let error = answer(503, "<Error><Message>busy</Message></Error>");
    assert_eq!(error.code(), "ServiceUnavailable");
    assert_eq!(error.message(), "busy");
    assert!(error.is_throttling());
}

#[test]
fn body_request_id_wins_over_the_header() {
    let headers = headers(&[("x-amz-request-id", "FROM-HEADER")]);
    let error = S3Error::from_response(StatusCode::NOT_FOUND, &headers, NO_SUCH_KEY.as_bytes());
    assert_eq!(error.request_id(), Some("4442587FB7D0A2F9"));
}

#[test]
fn display_escapes_control_characters_in_keys() {
    let error = answer(404, NO_SUCH_KEY).with_resource(Some("b"), Some("dir/a\nb\u{1b}[2J"));
    let line = error.to_string();
    assert!(line.contains("s3://b/dir/a\\nb\\u{1b}[2J"), "{line}");
    assert_eq!(error.key(), Some("dir/a\nb\u{1b}[2J"));
}

#[test]
fn with_resource_keeps_what_the_caller_does_not_name() {
    let error = answer(404, NO_SUCH_KEY)
        .with_resource(Some("b"), Some("k"))
        .with_resource(None, None);
    assert_eq!(error.resource().as_deref(), Some("s3://b/k"));
}

#[test]
fn new_builds_an_error_from_a_delete_objects_entry() {
    let error = S3Error::new(StatusCode::OK, "AccessDenied", "Access Denied")
        .with_operation("DeleteObjects")
        .with_resource(Some("b"), Some("k"));
    assert!(error.is_access_denied());
    assert_eq!(
        error.to_string(),
        "DeleteObjects on s3://b/k failed: AccessDenied (HTTP 200): Access Denied"
    );
}

#[test]
fn display_without_resource_or_operation_still_reads() {
    let error = coded(500, "InternalError", "oops");
    assert_eq!(
        error.to_string(),
        "S3 request failed: InternalError (HTTP 500): oops [request id R1]"
    );
}

#[test]
fn every_truncation_of_an_answer_gives_an_error_without_panic() {
    for body in [
        NO_SUCH_KEY,
        COMPLETE_200_ERROR,
        NGINX_502,
        "é<title>€</title>",
    ] {
        for end in 0..=body.len() {
            let truncated = &body.as_bytes()[..end];
            let error =
                S3Error::from_response(StatusCode::BAD_GATEWAY, &HeaderMap::new(), truncated)
                    .with_resource(Some("b"), Some("k"));
            assert!(!error.to_string().is_empty());
            let _ = (error.advice(), error.kind());
        }
    }
}

#[test]
fn an_unsigned_request_refused_advises_signing_not_permissions() {
    let error = coded(403, "AccessDenied", "Access Denied")
        .with_operation("GetObject")
        .with_resource(Some("b"), Some("k"))
        .with_anonymous(true);
    assert_eq!(advice(&error), Advice::SendSignedRequests);
}

#[test]
fn an_unknown_access_key_advises_checking_it_whatever_code_the_store_uses() {
    for code in ["InvalidAccessKeyId", "NotSignedUp"] {
        let error = coded(403, code, "");
        assert!(error.is_invalid_credentials(), "{code}");
        assert_eq!(advice(&error), Advice::CheckAccessKey, "{code}");
    }
}

#[test]
fn a_server_error_after_retries_carries_its_status_and_attempts() {
    let error = coded(500, "InternalError", "We encountered an internal error.").with_attempts(4);
    assert_eq!(
        advice(&error),
        Advice::RetryWhenStoreHealthy {
            status: 500,
            attempts: 4,
        }
    );
    let timeout = coded(400, "RequestTimeout", "");
    assert_eq!(advice(&timeout), Advice::CheckNetworkOrReduceConcurrency);
}

#[test]
fn a_404_that_is_not_s3_advises_checking_the_endpoint_is_s3() {
    let empty = answer(404, "")
        .with_operation("GetObject")
        .with_resource(Some("b"), Some("k"));
    assert_eq!(advice(&empty), Advice::CheckEndpointIsS3);
    let html = answer(404, "<html><title>404 Not Found</title></html>")
        .with_operation("ListObjectsV2")
        .with_resource(Some("b"), None);
    assert_eq!(advice(&html), Advice::CheckEndpointIsS3);
    // HEAD answers never have a body: a bodyless 404 there is S3's missing key.
    let head = answer(404, "")
        .with_operation("HeadObject")
        .with_resource(Some("b"), Some("k"));
    assert!(matches!(advice(&head), Advice::KeyMissing { .. }));
    let s3 = coded(404, "NoSuchKey", "gone")
        .with_operation("GetObject")
        .with_resource(Some("b"), Some("k"));
    assert!(matches!(advice(&s3), Advice::KeyMissing { .. }));
}

#[test]
fn codes_sent_without_a_message_get_a_readable_one_and_advice_where_it_helps() {
    let table = [
        ("InvalidBucketName", 400, Some(Advice::BucketNameRules)),
        (
            "BucketAlreadyExists",
            409,
            Some(Advice::ChooseOtherBucketName),
        ),
        (
            "BucketAlreadyOwnedByYou",
            409,
            Some(Advice::BucketAlreadyYours),
        ),
        ("KeyTooLongError", 400, Some(Advice::ShortenKey)),
        (
            "NoSuchBucket",
            404,
            Some(Advice::BucketMissing { bucket: None }),
        ),
        (
            "EntityTooLarge",
            400,
            Some(Advice::ObjectTooLargeForOneRequest),
        ),
        ("EntityTooSmall", 400, Some(Advice::RaisePartSize)),
        ("InvalidArgument", 400, None),
    ];
    for (code, status, expected) in table {
        let error = answer(status, &format!("<Error><Code>{code}</Code></Error>"));
        assert!(!error.message().is_empty(), "{code}");
        let line = error.to_string();
        assert!(!line.ends_with(": "), "{line}");
        assert_eq!(error.advice(), expected, "{code}");
    }
    let named = answer(
        400,
        "<Error><Code>InvalidArgument</Code><ArgumentName>x-amz-storage-class</ArgumentName></Error>",
    );
    assert_eq!(
        advice(&named),
        Advice::CheckArgument {
            name: "x-amz-storage-class".into(),
        }
    );
}
