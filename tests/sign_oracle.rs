//! ferry's SigV4 signer against an independent implementation: the `aws-sigv4` crate (the
//! Rust SDK's signer), set up the way the SDK sets it up for S3:
//!
//! * `percent_encoding_mode = Single`: the path is taken as sent, not encoded a second time;
//! * `uri_path_normalization_mode = Disabled`: no `.`/`..`/`//` removal;
//! * `payload_checksum_kind = XAmzSha256`: `x-amz-content-sha256` is added and signed;
//! * the body as `SignableBody::UnsignedPayload` or `SignableBody::Precomputed(hex)`.
//!
//! Both signers see the same wire request: the object key and query parameters are encoded
//! once with ferry's `encode_path` / `encode_query_component`, ferry gets those strings, and
//! aws-sigv4 gets a URI built from them (it parses the query and re-encodes each name and value
//! with the same unreserved set, so the canonical query is the same).
//!
//! What the generators keep away from, and why:
//!
//! * header names are `x-amz-meta-*` (any case) and a few ordinary S3 request headers
//!   (`range`, `content-type`, `if-match`, …). aws-sigv4 silently leaves `authorization`,
//!   `user-agent`, `x-amzn-trace-id` and `transfer-encoding` unsigned (and, presigning,
//!   `x-amz-user-agent` and `x-amz-checksum-mode`), and replaces `x-amz-date`,
//!   `x-amz-security-token` and `x-amz-content-sha256` with its own; ferry signs what it is
//!   given and adds the last three itself. Those names would test the two callers' contracts,
//!   not the signature.
//! * header values hold spaces but no tabs. Both trim and collapse runs of spaces; ferry also
//!   treats tab (and CR/LF) as white space, as botocore does (`' '.join(value.split())`), while
//!   aws-sigv4 deliberately trims spaces only. With a tab the two disagree by design; see
//!   `tab_in_a_header_value_is_where_ferry_and_aws_sigv4_part` below. Values are otherwise
//!   anything `http::HeaderValue` accepts: visible ASCII, spaces, non-ASCII UTF-8 (U+00A0
//!   included, which neither trims).
//! * query names are non-empty (an empty name is not something S3 sends).

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest as AwsRequest,
    SignatureLocation, SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use ferry::credentials::Credentials;
use ferry::sign::encode::{encode_path, encode_query_component};
use ferry::sign::{HeaderPair, Payload, SignableRequest, Signer, SigningTime, sha256_hex};
use ferry_tests::sigv4_suite::{percent_decode_str, split_query};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 2024-02-29T12:34:56Z: a leap day, so that the date formatting is exercised too.
const SIGNING_UNIX_SECONDS: u64 = 1_709_210_096;
const ACCESS_KEY_ID: &str = "AKIDEXAMPLE";
const SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn signing_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(SIGNING_UNIX_SECONDS)
}

/// A generated request, in the caller's terms (raw key, raw query, raw headers).
#[derive(Clone, Debug)]
struct Input {
    method: &'static str,
    region: &'static str,
    host: String,
    /// The object key, raw (not encoded).
    key: String,
    /// Raw query names and values.
    query: Vec<(String, String)>,
    /// Headers other than `host`, raw.
    headers: Vec<(String, String)>,
    session_token: Option<String>,
    /// `None`: `UNSIGNED-PAYLOAD`; `Some(body)`: the body's SHA-256.
    body: Option<Vec<u8>>,
}

impl Input {
    fn wire_path(&self) -> String {
        let mut path = String::new();
        encode_path(&format!("/{}", self.key), &mut path);
        path
    }

    fn wire_query(&self) -> Vec<(String, String)> {
        self.query
            .iter()
            .map(|(n, v)| {
                let (mut name, mut value) = (String::new(), String::new());
                encode_query_component(n, &mut name);
                encode_query_component(v, &mut value);
                (name, value)
            })
            .collect()
    }

    fn uri(&self) -> String {
        let query = self.wire_query();
        let mut uri = format!("https://{}{}", self.host, self.wire_path());
        for (i, (name, value)) in query.iter().enumerate() {
            uri.push(if i == 0 { '?' } else { '&' });
            uri.push_str(name);
            uri.push('=');
            uri.push_str(value);
        }
        uri
    }

    /// All headers the caller signs, `host` first.
    fn all_headers(&self) -> Vec<(String, String)> {
        let mut headers = vec![("host".to_owned(), self.host.clone())];
        headers.extend(self.headers.iter().cloned());
        headers
    }

    fn body_hash(&self) -> Option<String> {
        self.body
            .as_ref()
            .map(|b| sha256_hex(b).as_str().to_owned())
    }

    fn ferry_credentials(&self) -> Credentials {
        let creds = Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY);
        match &self.session_token {
            Some(token) => creds.with_session_token(token),
            None => creds,
        }
    }

    /// Runs `f` on ferry's view of the request.
    fn with_ferry_request<R>(&self, f: impl FnOnce(&SignableRequest<'_>) -> R) -> R {
        let path = self.wire_path();
        let query_owned = self.wire_query();
        let query: Vec<(&str, &str)> = query_owned
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let headers_owned = self.all_headers();
        let headers: Vec<HeaderPair<'_>> = headers_owned
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let hash = self.body_hash();
        let request = SignableRequest {
            method: self.method,
            path: &path,
            query: &query,
            headers: &headers,
            payload: match &hash {
                Some(hex) => Payload::Sha256Hex(hex),
                None => Payload::Unsigned,
            },
        };
        f(&request)
    }

    /// aws-sigv4, configured as the SDK configures it for S3.
    fn aws_sign(&self, location: SignatureLocation, expires_in: Option<Duration>) -> AwsSigned {
        let identity: Identity = AwsCredentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            self.session_token.clone(),
            None,
            "sign_oracle",
        )
        .into();
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.signature_location = location;
        settings.expires_in = expires_in;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(self.region)
            .name("s3")
            .time(signing_time())
            .settings(settings)
            .build()
            .expect("complete signing params")
            .into();
        let headers = self.all_headers();
        let body = match self.body_hash() {
            Some(hex) => SignableBody::Precomputed(hex),
            None => SignableBody::UnsignedPayload,
        };
        let uri = self.uri();
        let request = AwsRequest::new(
            self.method,
            uri.as_str(),
            headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            body,
        )
        .expect("aws-sigv4 accepts the request");
        let (instructions, signature) = sign(request, &params)
            .expect("aws-sigv4 signs the request")
            .into_parts();
        let out_headers = instructions
            .headers()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        // The query exactly as the SDK would send it: applied to an http::Request.
        let mut http_request = http::Request::builder()
            .method(self.method)
            .uri(uri.as_str())
            .body(())
            .expect("valid http request");
        instructions.apply_to_request_http1x(&mut http_request);
        let sent_query = split_query(http_request.uri().query().unwrap_or_default());
        AwsSigned {
            headers: out_headers,
            query: sent_query,
            signature,
        }
    }
}

/// What aws-sigv4 says to send.
#[derive(Debug)]
struct AwsSigned {
    /// Headers to add (header signing): `authorization`, `x-amz-date`, …
    headers: Vec<(String, String)>,
    /// The whole query as sent, the request's own parameters included (query signing).
    query: Vec<(String, String)>,
    /// The bare signature.
    signature: String,
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

/// Pieces of object keys and query names/values: plain text, everything SigV4 must encode,
/// multi-byte UTF-8, and the path shapes S3 must not normalize.
const AWKWARD_PIECES: &[&str] = &[
    "a", "Z", "0", "key", "-", "_", ".", "~", " ", "  ", "+", "%", "%20", "%2F", "=", "&", "/",
    "//", "..", "/../", "./", "?", "#", ":", "@", "!", "$", "'", "(", ")", "*", ",", ";", "[", "]",
    "\\", "^", "`", "{", "|", "}", "<", ">", "\"", "é", "ß", "日本", "ሴ", "😀", "\u{a0}", "\u{1}",
    "\u{7f}",
];

fn awkward_text(max_pieces: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(AWKWARD_PIECES), 0..=max_pieces)
        .prop_map(|pieces| pieces.concat())
}

fn non_empty_awkward_text(max_pieces: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(AWKWARD_PIECES), 1..=max_pieces)
        .prop_map(|pieces| pieces.concat())
}

/// Query parameters; with duplicates (the same pair twice, or the same name with another value).
fn query_params() -> impl Strategy<Value = Vec<(String, String)>> {
    (
        prop::collection::vec((non_empty_awkward_text(4), awkward_text(4)), 0..5),
        0..3usize,
        awkward_text(3),
    )
        .prop_map(|(mut pairs, duplicate, other_value)| {
            if let Some(first) = pairs.first().cloned() {
                match duplicate {
                    1 => pairs.push(first),
                    2 => pairs.push((first.0, other_value)),
                    _ => {}
                }
            }
            pairs
        })
}

/// Header names S3 requests carry, apart from the ones either signer treats specially.
const HEADER_NAMES: &[&str] = &[
    "range",
    "content-type",
    "content-md5",
    "content-encoding",
    "content-disposition",
    "content-language",
    "cache-control",
    "expires",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "x-amz-acl",
    "x-amz-storage-class",
    "x-amz-tagging",
    "x-amz-checksum-crc32c",
    "x-amz-server-side-encryption",
];

fn header_name() -> impl Strategy<Value = String> {
    let base = prop_oneof![
        prop::sample::select(HEADER_NAMES).prop_map(str::to_owned),
        "[a-z0-9-]{1,12}".prop_map(|suffix| format!("x-amz-meta-{suffix}")),
    ];
    (base, prop::collection::vec(any::<bool>(), 40)).prop_map(|(name, upper)| {
        name.chars()
            .zip(upper.iter().cycle())
            .map(|(c, &up)| if up { c.to_ascii_uppercase() } else { c })
            .collect()
    })
}

/// Header value pieces: leading, trailing and inner runs of spaces, punctuation, UTF-8.
const VALUE_PIECES: &[&str] = &[
    " ",
    "  ",
    "   ",
    "a",
    "Z",
    "0",
    "bytes=0-9",
    "\"",
    ",",
    ";",
    "=",
    ":",
    "/",
    "+",
    "%",
    "~",
    "*",
    "é",
    "日本",
    "\u{a0}",
    "text/plain",
    "W/\"etag\"",
];

fn header_value() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VALUE_PIECES), 0..8).prop_map(|p| p.concat())
}

/// Headers; sometimes one name twice (in another case), whose values are then joined with `,`.
fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    (
        prop::collection::vec((header_name(), header_value()), 0..5),
        any::<bool>(),
        header_value(),
    )
        .prop_map(|(mut headers, repeat, value)| {
            if repeat && let Some((name, _)) = headers.first().cloned() {
                headers.push((name.to_ascii_uppercase(), value));
            }
            headers
        })
}

fn input() -> impl Strategy<Value = Input> {
    (
        prop::sample::select(&["GET", "PUT", "HEAD", "DELETE", "POST"][..]),
        prop::sample::select(&["us-east-1", "eu-west-1", "ap-southeast-2"][..]),
        prop::sample::select(
            &[
                "examplebucket.s3.amazonaws.com",
                "s3.eu-west-1.amazonaws.com",
                "localhost:9000",
            ][..],
        ),
        awkward_text(12),
        query_params(),
        headers(),
        prop::option::of("[A-Za-z0-9+/]{1,80}={0,2}"),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..64)),
    )
        .prop_map(
            |(method, region, host, key, query, headers, session_token, body)| Input {
                method,
                region,
                host: host.to_owned(),
                key,
                query,
                headers,
                session_token,
                body,
            },
        )
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        // Keep failures in the report (proptest prints the minimal input), not in files.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// ferry's and aws-sigv4's header signatures, and the headers each says to send.
fn check_header_signature(input: &Input) -> Result<(), TestCaseError> {
    let time = SigningTime::from_system_time(signing_time());
    let signer = Signer::s3(input.region);
    let creds = input.ferry_credentials();
    let ours = input.with_ferry_request(|r| signer.sign_headers(&creds, r, time));
    let AwsSigned {
        headers: theirs,
        signature: their_signature,
        ..
    } = input.aws_sign(SignatureLocation::Headers, None);

    prop_assert_eq!(
        ours.authorization(),
        find(&theirs, "authorization").unwrap_or("<none>")
    );
    prop_assert_eq!(ours.signature(), their_signature.as_str());
    // The headers to send with it agree too.
    prop_assert_eq!(Some(time.amz_date()), find(&theirs, "x-amz-date"));
    let payload = input.with_ferry_request(|r| r.payload.as_str().to_owned());
    prop_assert_eq!(
        Some(payload.as_str()),
        find(&theirs, "x-amz-content-sha256")
    );
    prop_assert_eq!(
        input.session_token.as_deref(),
        find(&theirs, "x-amz-security-token")
    );
    Ok(())
}

/// ferry's presigned query against aws-sigv4's, as sent.
fn check_presigned_query(input: &Input, expires: Duration) -> Result<(), TestCaseError> {
    let time = SigningTime::from_system_time(signing_time());
    let signer = Signer::s3(input.region);
    let creds = input.ferry_credentials();
    let ours = input
        .with_ferry_request(|r| signer.presign(&creds, r, time, expires))
        .map_err(|e| TestCaseError::fail(format!("ferry refused to presign: {e}")))?;
    let AwsSigned {
        query: theirs,
        signature: their_signature,
        ..
    } = input.aws_sign(SignatureLocation::QueryParams, Some(expires));

    let our_pairs = split_query(&ours);
    let our_signature = find(&our_pairs, "X-Amz-Signature").unwrap_or("<none>");
    prop_assert_eq!(our_signature, their_signature.as_str());
    // The same parameters, each encoded the same way; aws-sigv4 keeps the request's own
    // parameters first and appends its own, ferry sends the canonical (sorted) order.
    let mut ours_sorted = our_pairs.clone();
    ours_sorted.sort();
    let mut theirs_sorted = theirs.clone();
    theirs_sorted.sort();
    prop_assert_eq!(&ours_sorted, &theirs_sorted);
    // ferry's order is the canonical one: sorted by encoded name then value, signature last.
    let (last, rest) = our_pairs
        .split_last()
        .expect("a presigned query is not empty");
    prop_assert_eq!(last.0.as_str(), "X-Amz-Signature");
    prop_assert!(
        rest.windows(2).all(|w| w[0] <= w[1]),
        "not in canonical order: {}",
        ours
    );
    // Each name and value is encoded exactly once: decoding and re-encoding gives it back,
    // and decoded, the request's own parameters are the raw ones the caller gave.
    for (name, value) in &our_pairs {
        for part in [name, value] {
            let mut again = String::new();
            encode_query_component(&percent_decode_str(part), &mut again);
            prop_assert_eq!(&again, part);
        }
    }
    let mut own: Vec<(String, String)> = our_pairs
        .iter()
        .filter(|(n, _)| !n.starts_with("X-Amz-"))
        .map(|(n, v)| (percent_decode_str(n), percent_decode_str(v)))
        .collect();
    own.sort();
    let mut given = input.query.clone();
    given.sort();
    prop_assert_eq!(own, given);
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn header_signatures_equal_aws_sigv4_for_arbitrary_s3_requests(input in input()) {
        check_header_signature(&input)?;
    }

    #[test]
    fn presigned_queries_equal_aws_sigv4_for_arbitrary_s3_requests(
        input in input(),
        expires in 1..=604_800u64,
    ) {
        check_presigned_query(&input, Duration::from_secs(expires))?;
    }
}

// ---------------------------------------------------------------------------------------------
// Fixed cases: the awkward corners, always run, plus the documented divergence
// ---------------------------------------------------------------------------------------------

fn fixed_input() -> Input {
    Input {
        method: "PUT",
        region: "us-east-1",
        host: "examplebucket.s3.amazonaws.com".to_owned(),
        key: "dir//a b+c%20~=&/.././/日本 😀".to_owned(),
        query: vec![
            ("prefix".to_owned(), "a b/c+d".to_owned()),
            ("prefix".to_owned(), "a b/c+d".to_owned()),
            ("ሴ".to_owned(), String::new()),
            ("list-type".to_owned(), "2".to_owned()),
        ],
        headers: vec![
            ("X-Amz-Meta-Spaces".to_owned(), "  a   b  c  ".to_owned()),
            ("x-amz-meta-spaces".to_owned(), "second".to_owned()),
            ("Range".to_owned(), "bytes=0-9".to_owned()),
            ("x-amz-meta-empty".to_owned(), String::new()),
            ("x-amz-meta-utf8".to_owned(), " é\u{a0}日本 ".to_owned()),
        ],
        session_token: Some("FwoGZXIvYXdzEJr//////////wEaDK+token==".to_owned()),
        body: Some(b"Welcome to Amazon S3.".to_vec()),
    }
}

#[test]
fn awkward_fixed_request_signs_like_aws_sigv4() {
    let mut input = fixed_input();
    check_header_signature(&input).unwrap();
    check_presigned_query(&input, Duration::from_secs(604_800)).unwrap();
    input.session_token = None;
    input.body = None;
    check_header_signature(&input).unwrap();
    check_presigned_query(&input, Duration::from_secs(1)).unwrap();
}

#[test]
fn many_query_parameters_and_headers_sign_like_aws_sigv4() {
    // More than the signer sorts on the stack (24 query pairs, 16 headers).
    let mut input = fixed_input();
    input.query = (0..40)
        .map(|i| (format!("p{}", 39 - i % 7), format!("v {i}")))
        .collect();
    input.headers = (0..30)
        .map(|i| (format!("X-Amz-Meta-H{}", i % 9), format!(" value  {i} ")))
        .collect();
    check_header_signature(&input).unwrap();
    check_presigned_query(&input, Duration::from_secs(3600)).unwrap();
}

/// Not a property: the one input class where the two signers differ on purpose. ferry trims
/// and collapses tabs like spaces (botocore's rule, `' '.join(value.split())`); aws-sigv4 trims
/// and collapses spaces only ("S3 ONLY trims spaces", its source says). Pinned so that a change
/// on either side is noticed.
#[test]
fn tab_in_a_header_value_is_where_ferry_and_aws_sigv4_part() {
    let mut input = fixed_input();
    input.headers = vec![("x-amz-meta-tab".to_owned(), "a\tb".to_owned())];
    let time = SigningTime::from_system_time(signing_time());
    let creds = input.ferry_credentials();
    let signer = Signer::s3(input.region);
    let ours = input.with_ferry_request(|r| signer.sign_headers(&creds, r, time));
    let theirs = input.aws_sign(SignatureLocation::Headers, None).headers;
    assert_ne!(Some(ours.authorization()), find(&theirs, "authorization"));
    // ferry signs `a\tb` exactly as it signs `a b`.
    input.headers[0].1 = "a b".to_owned();
    let spaced = input.with_ferry_request(|r| signer.sign_headers(&creds, r, time));
    assert_eq!(ours.authorization(), spaced.authorization());
}
