//! The typed S3 error: what the store answered, classified by one table into a kind and
//! whether a retry may help, with a hint that tells the user what to do.
//!
//! An [`S3Error`] is built from an answer's status, headers and body:
//! - an S3 `<Error>` document gives the code, message and request id;
//! - no body (HEAD answers have none) gives a code derived from the status;
//! - any other body (an HTML page from a proxy, JSON, plain text) is a [`S3ErrorKind::NotS3`]
//!   answer, reported with a short, sanitized excerpt.

use super::xml::{ErrorBody, is_error_body};
use http::{HeaderMap, StatusCode};
use std::borrow::Cow;
use std::fmt;

/// The pseudo-code ferry gives an answer that is not S3's.
pub const NOT_S3_CODE: &str = "NotS3Response";

/// How much of a message or foreign body a one-line report shows, in characters.
const MESSAGE_CHARS: usize = 300;
const EXCERPT_CHARS: usize = 160;
/// How much of a foreign body is looked at for the excerpt, in bytes.
const EXCERPT_SCAN: usize = 4096;

/// What kind of failure an [`S3Error`] is: decides retrying and the hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum S3ErrorKind {
    /// The bucket, key, upload or version does not exist.
    NotFound,
    /// The identity is not allowed to do this.
    AccessDenied,
    /// The access key id is unknown, the signature or the session token is wrong.
    InvalidCredentials,
    /// Temporary credentials have expired.
    ExpiredToken,
    /// The store is shedding load (`SlowDown`, 429, 503): retry with backoff.
    Throttled,
    /// A transient failure of the store (`InternalError`, 500, 502, 504, `RequestTimeout`).
    Transient,
    /// The local clock is too far from the store's: correct it, then retry.
    ClockSkew,
    /// The bucket lives in another region.
    WrongRegion,
    /// A condition (`If-Match`, `If-None-Match`, …) did not hold.
    PreconditionFailed,
    /// The store refused `x-amz-checksum-*` headers it does not support.
    ChecksumUnsupported,
    /// A body did not match its checksum (`BadDigest`, …).
    ChecksumMismatch,
    /// Any other refused request (4xx): retrying the same request will not help.
    InvalidRequest,
    /// The endpoint answered, but not like S3 (an HTML page from a proxy, …).
    NotS3,
    /// Anything else: an unexpected status or code.
    Other,
}

use S3ErrorKind::*;

/// One row of [`TABLE`]: an HTTP status or an S3 code, and what it means.
#[derive(Debug, Clone, Copy)]
struct Row {
    status: Option<u16>,
    code: Option<&'static str>,
    kind: S3ErrorKind,
    retryable: bool,
}

const RETRY: bool = true;
const FINAL: bool = false;

/// A row matching `code` whatever the status.
const fn code(code: &'static str, kind: S3ErrorKind, retryable: bool) -> Row {
    Row {
        status: None,
        code: Some(code),
        kind,
        retryable,
    }
}

/// A row matching `status` whatever the code.
const fn status(status: u16, kind: S3ErrorKind, retryable: bool) -> Row {
    Row {
        status: Some(status),
        code: None,
        kind,
        retryable,
    }
}

/// (status, code) → (kind, retryable). The first matching row wins, so codes come before
/// statuses; what matches no row is [`fallback`]. `ClockSkew` is retryable once the clock is
/// corrected (the client does that before retrying).
const TABLE: &[Row] = &[
    code("SlowDown", Throttled, RETRY),
    code("Throttling", Throttled, RETRY),
    code("ThrottlingException", Throttled, RETRY),
    code("RequestLimitExceeded", Throttled, RETRY),
    code("TooManyRequestsException", Throttled, RETRY),
    code("RequestThrottled", Throttled, RETRY),
    code("RequestThrottledException", Throttled, RETRY),
    code("BandwidthLimitExceeded", Throttled, RETRY),
    code("ServiceUnavailable", Throttled, RETRY),
    code("InternalError", Transient, RETRY),
    code("RequestTimeout", Transient, RETRY),
    code("RequestTimeoutException", Transient, RETRY),
    code("RequestTimeTooSkewed", ClockSkew, RETRY),
    code("RequestExpired", ClockSkew, RETRY),
    code("RequestInTheFuture", ClockSkew, RETRY),
    code("ExpiredToken", ExpiredToken, FINAL),
    code("ExpiredTokenException", ExpiredToken, FINAL),
    code("TokenRefreshRequired", ExpiredToken, FINAL),
    code("InvalidAccessKeyId", InvalidCredentials, FINAL),
    // s3s-based stores answer an unknown access key id with NotSignedUp.
    code("NotSignedUp", InvalidCredentials, FINAL),
    code("SignatureDoesNotMatch", InvalidCredentials, FINAL),
    code("InvalidToken", InvalidCredentials, FINAL),
    code("InvalidSecurity", InvalidCredentials, FINAL),
    code("AccessDenied", AccessDenied, FINAL),
    code("AllAccessDisabled", AccessDenied, FINAL),
    code("AccountProblem", AccessDenied, FINAL),
    code("PermanentRedirect", WrongRegion, FINAL),
    code("TemporaryRedirect", WrongRegion, FINAL),
    code("AuthorizationHeaderMalformed", WrongRegion, FINAL),
    code("IllegalLocationConstraintException", WrongRegion, FINAL),
    code("NoSuchKey", NotFound, FINAL),
    code("NoSuchBucket", NotFound, FINAL),
    code("NoSuchUpload", NotFound, FINAL),
    code("NoSuchVersion", NotFound, FINAL),
    code("NotFound", NotFound, FINAL),
    code("PreconditionFailed", PreconditionFailed, FINAL),
    code("BadDigest", ChecksumMismatch, FINAL),
    code("InvalidDigest", ChecksumMismatch, FINAL),
    code("XAmzContentSHA256Mismatch", ChecksumMismatch, FINAL),
    code("XAmzContentChecksumMismatch", ChecksumMismatch, FINAL),
    status(429, Throttled, RETRY),
    status(503, Throttled, RETRY),
    status(500, Transient, RETRY),
    status(502, Transient, RETRY),
    status(504, Transient, RETRY),
    status(408, Transient, RETRY),
    status(401, InvalidCredentials, FINAL),
    status(403, AccessDenied, FINAL),
    status(404, NotFound, FINAL),
    status(301, WrongRegion, FINAL),
    status(307, WrongRegion, FINAL),
    status(412, PreconditionFailed, FINAL),
];

/// What matches no row: any other 4xx is a refused request, never retried.
fn fallback(status: u16) -> (S3ErrorKind, bool) {
    match status {
        400..=499 => (InvalidRequest, false),
        _ => (Other, false),
    }
}

/// Looks (status, code) up in [`TABLE`].
fn lookup(status: u16, code: &str) -> (S3ErrorKind, bool) {
    TABLE
        .iter()
        .find(|row| row.status.is_none_or(|s| s == status) && row.code.is_none_or(|c| c == code))
        .map_or_else(|| fallback(status), |row| (row.kind, row.retryable))
}

/// Where the error's code came from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    /// An S3 `<Error>` document.
    Body,
    /// The status alone: the answer had no body (HEAD) or no `<Code>`.
    Status,
    /// Something that is not S3's answer.
    NotS3 {
        excerpt: String,
        content_type: Option<String>,
    },
}

/// An error answered by S3 or by what stands at the endpoint.
///
/// `Display` is one line: the operation, the bucket/key, the code, the message and the
/// request id. What the user can do about it comes separately from [`S3Error::hint`].
#[derive(Debug, Clone, thiserror::Error)]
pub struct S3Error {
    status: StatusCode,
    code: Cow<'static, str>,
    detail: ErrorBody,
    origin: Origin,
    operation: Option<&'static str>,
    bucket: Option<String>,
    key: Option<String>,
    /// The request was sent unsigned (`--no-sign-request`).
    anonymous: bool,
    /// How many times the request was sent (0: not told).
    attempts: u32,
    /// How long the store asked to wait before trying again (`Retry-After`, in seconds).
    retry_after: Option<std::time::Duration>,
}

impl S3Error {
    /// The error for an answer with status `status`, `headers` and `body` (possibly empty).
    pub fn from_response(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Self {
        let mut error = if body.iter().all(u8::is_ascii_whitespace) {
            Self::from_status(status)
        } else {
            match ErrorBody::parse(body) {
                Ok(detail) => Self::from_body(status, detail),
                Err(_) => Self::not_s3(status, headers, body),
            }
        };
        error.fill_from_headers(headers);
        error
    }

    /// The error inside a successful answer, if there is one: CompleteMultipartUpload,
    /// CopyObject and UploadPartCopy may answer `200 OK` with an `<Error>` body.
    pub fn from_success_body(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Option<Self> {
        is_error_body(body).then(|| Self::from_response(status, headers, body))
    }

    /// An error with a known code and message, e.g. one entry of a DeleteObjects answer.
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        let detail = ErrorBody {
            message: Some(message.into()),
            ..ErrorBody::default()
        };
        Self {
            status,
            code: Cow::Owned(code.into()),
            detail,
            origin: Origin::Body,
            operation: None,
            bucket: None,
            key: None,
            anonymous: false,
            attempts: 0,
            retry_after: None,
        }
    }

    /// Marks the request as sent unsigned, for the AccessDenied hint.
    pub fn with_anonymous(mut self, anonymous: bool) -> Self {
        self.anonymous = anonymous;
        self
    }

    /// Records how many times the request was sent before ferry gave up on it.
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }

    /// How many times the request was sent (0 when the client did not say).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// How long the store asked to wait before trying again: its `Retry-After` header, in
    /// the seconds form (the HTTP-date form is not used by S3 stores and is ignored).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.retry_after
    }

    /// Names the operation that failed (`GetObject`, …), for the message and the hint.
    pub fn with_operation(mut self, operation: &'static str) -> Self {
        self.operation = Some(operation);
        self
    }

    /// Names the bucket and key concerned; a `None` keeps what the error body said. A 404
    /// without a body then becomes `NoSuchKey` (a key was named) or `NoSuchBucket`.
    pub fn with_resource(mut self, bucket: Option<&str>, key: Option<&str>) -> Self {
        if let Some(bucket) = bucket {
            self.bucket = Some(bucket.to_owned());
        }
        if let Some(key) = key {
            self.key = Some(key.to_owned());
        }
        if self.origin == Origin::Status && self.status == StatusCode::NOT_FOUND {
            self.code = Cow::Borrowed(self.not_found_code());
        }
        self
    }

    fn from_body(status: StatusCode, detail: ErrorBody) -> Self {
        let (code, origin) = match detail.code.clone().filter(|c| !c.is_empty()) {
            Some(code) => (Cow::Owned(code), Origin::Body),
            None => (code_for_status(status), Origin::Status),
        };
        Self {
            status,
            code,
            detail,
            origin,
            operation: None,
            bucket: None,
            key: None,
            anonymous: false,
            attempts: 0,
            retry_after: None,
        }
    }

    fn from_status(status: StatusCode) -> Self {
        let detail = ErrorBody {
            message: Some("no details (the answer had no body)".into()),
            ..ErrorBody::default()
        };
        Self::from_body(status, detail)
    }

    fn not_s3(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Self {
        let origin = Origin::NotS3 {
            excerpt: excerpt(body),
            content_type: header(headers, http::header::CONTENT_TYPE.as_str()),
        };
        let detail = ErrorBody {
            message: Some("the endpoint did not answer like S3".into()),
            ..ErrorBody::default()
        };
        Self {
            origin,
            code: Cow::Borrowed(NOT_S3_CODE),
            ..Self::from_body(status, detail)
        }
    }

    /// Takes the request ids and the bucket's region from the headers when the body lacks
    /// them; a redirect's endpoint names the region too.
    fn fill_from_headers(&mut self, headers: &HeaderMap) {
        let detail = &mut self.detail;
        detail.request_id = detail
            .request_id
            .take()
            .or_else(|| header(headers, "x-amz-request-id"));
        detail.host_id = detail
            .host_id
            .take()
            .or_else(|| header(headers, "x-amz-id-2"));
        detail.region = detail
            .region
            .take()
            .or_else(|| header(headers, "x-amz-bucket-region"))
            .or_else(|| detail.endpoint.as_deref().and_then(region_of_endpoint));
        self.retry_after = header(headers, http::header::RETRY_AFTER.as_str())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(std::time::Duration::from_secs);
    }

    fn not_found_code(&self) -> &'static str {
        match (self.bucket(), self.key()) {
            (_, Some(_)) => "NoSuchKey",
            (Some(_), None) => "NoSuchBucket",
            _ => "NotFound",
        }
    }
}

/// The code S3 would have sent with `status`, for answers without a body.
fn code_for_status(status: StatusCode) -> Cow<'static, str> {
    Cow::Borrowed(match status.as_u16() {
        301 => "PermanentRedirect",
        304 => "NotModified",
        307 => "TemporaryRedirect",
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        412 => "PreconditionFailed",
        416 => "InvalidRange",
        429 => "TooManyRequests",
        500 => "InternalError",
        501 => "NotImplemented",
        503 => "ServiceUnavailable",
        200..=299 => "UnknownError",
        _ => return Cow::Owned(format!("Http{}", status.as_u16())),
    })
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// The region in an AWS endpoint host: the label before `amazonaws`, as in
/// `bucket.s3.eu-west-1.amazonaws.com`, `s3-eu-west-1.amazonaws.com` or
/// `s3.dualstack.us-east-2.amazonaws.com`.
fn region_of_endpoint(endpoint: &str) -> Option<String> {
    let labels: Vec<&str> = endpoint.split('.').collect();
    let at = labels.iter().position(|l| *l == "amazonaws")?;
    let label = labels[..at].last()?;
    let region = label.strip_prefix("s3-").unwrap_or(label);
    looks_like_region(region).then(|| region.to_owned())
}

fn looks_like_region(label: &str) -> bool {
    label.contains('-') && label.ends_with(|c: char| c.is_ascii_digit())
}

/// A short, single-line, printable excerpt of a foreign body: an HTML page's `<title>` when
/// it has one, else its text without tags.
fn excerpt(body: &[u8]) -> String {
    let head = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_SCAN)]);
    let text = html_title(&head).unwrap_or_else(|| strip_tags(&head));
    one_line(&text, EXCERPT_CHARS)
}

fn html_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let title = html[start..end].trim();
    (!title.is_empty()).then(|| title.to_owned())
}

fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// `text` on one line: control and bidi-override characters dropped, whitespace runs
/// collapsed, at most `max` characters (then `…`).
fn one_line(text: &str, max: usize) -> String {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || is_unprintable(c))
        .filter(|w| !w.is_empty())
        .collect();
    let line = words.join(" ");
    match line.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// Characters that would let a foreign body mess with a terminal.
fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` with unprintable characters escaped (`\n`, `\u{1b}`): keys may hold them.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_unprintable(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// What a code means, for stores that send it without a message.
fn default_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "InvalidBucketName" => "The specified bucket name is not valid.",
        "BucketAlreadyExists" => {
            "The bucket name is already taken (bucket names are shared by all accounts)."
        }
        "BucketAlreadyOwnedByYou" => "You already own a bucket with this name.",
        "KeyTooLongError" => "The key is longer than the store allows (S3: 1024 bytes).",
        "NoSuchBucket" => "The specified bucket does not exist.",
        "NoSuchKey" => "The specified key does not exist.",
        "EntityTooLarge" => "The upload is larger than the store allows in one request.",
        "EntityTooSmall" => {
            "A part other than the last is smaller than the store's minimum (S3: 5 MiB)."
        }
        "InvalidArgument" => "An argument of the request is not valid.",
        "BucketNotEmpty" => "The bucket is not empty.",
        "AccessDenied" => "Access denied.",
        "InvalidAccessKeyId" | "NotSignedUp" => "The access key id is not known to the store.",
        "SignatureDoesNotMatch" => {
            "The request signature does not match the one the store computed."
        }
        "InternalError" => "The store failed with an internal error.",
        _ => return None,
    })
}

/// The IAM action an S3 operation needs, for the AccessDenied hint.
fn iam_action(operation: &str) -> Option<&'static str> {
    Some(match operation {
        "GetObject" | "HeadObject" => "s3:GetObject",
        "PutObject"
        | "CreateMultipartUpload"
        | "UploadPart"
        | "CompleteMultipartUpload"
        | "CopyObject"
        | "UploadPartCopy" => "s3:PutObject",
        "DeleteObject" | "DeleteObjects" => "s3:DeleteObject",
        "ListObjectsV2" | "ListObjects" | "HeadBucket" => "s3:ListBucket",
        "ListBuckets" => "s3:ListAllMyBuckets",
        "AbortMultipartUpload" => "s3:AbortMultipartUpload",
        "ListParts" => "s3:ListMultipartUploadParts",
        "ListMultipartUploads" => "s3:ListBucketMultipartUploads",
        "CreateBucket" => "s3:CreateBucket",
        "DeleteBucket" => "s3:DeleteBucket",
        _ => return None,
    })
}

/// Accessors.
impl S3Error {
    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The S3 code (`NoSuchKey`, …); derived from the status when the answer had no body,
    /// [`NOT_S3_CODE`] when the answer was not S3's.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The store's message (or ferry's, when the store gave none).
    pub fn message(&self) -> &str {
        match self.detail.message.as_deref().map(str::trim) {
            Some(message) if !message.is_empty() => message,
            _ => default_message(&self.code).unwrap_or(""),
        }
    }

    /// The request id (`RequestId` or `x-amz-request-id`), for support requests.
    pub fn request_id(&self) -> Option<&str> {
        self.detail.request_id.as_deref()
    }

    /// The extended request id (`HostId` or `x-amz-id-2`).
    pub fn host_id(&self) -> Option<&str> {
        self.detail.host_id.as_deref()
    }

    /// The bucket's region, when the answer named it (body, `x-amz-bucket-region`, or a
    /// redirect's endpoint).
    pub fn region(&self) -> Option<&str> {
        self.detail.region.as_deref()
    }

    /// The operation, as named by [`S3Error::with_operation`].
    pub fn operation(&self) -> Option<&'static str> {
        self.operation
    }

    /// The bucket concerned: the caller's, else the error body's.
    pub fn bucket(&self) -> Option<&str> {
        self.bucket.as_deref().or(self.detail.bucket.as_deref())
    }

    /// The key concerned: the caller's, else the error body's.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref().or(self.detail.key.as_deref())
    }

    /// Everything the `<Error>` document said (empty when there was none).
    pub fn detail(&self) -> &ErrorBody {
        &self.detail
    }

    /// For a non-S3 answer: the sanitized excerpt of its body.
    pub fn excerpt(&self) -> Option<&str> {
        match &self.origin {
            Origin::NotS3 { excerpt, .. } => Some(excerpt),
            _ => None,
        }
    }

    /// `s3://bucket/key`, `s3://bucket`, or `None` when no bucket is known.
    pub fn resource(&self) -> Option<String> {
        self.resource_with(str::to_owned)
    }

    /// [`S3Error::resource`] with unprintable characters escaped, for messages.
    fn printable_resource(&self) -> Option<String> {
        self.resource_with(printable)
    }

    fn resource_with(&self, show: impl Fn(&str) -> String) -> Option<String> {
        match (self.bucket(), self.key()) {
            (Some(b), Some(k)) => Some(format!("s3://{}/{}", show(b), show(k))),
            (Some(b), None) => Some(format!("s3://{}", show(b))),
            (None, Some(k)) => Some(show(k)),
            (None, None) => None,
        }
    }
}

/// Classification.
impl S3Error {
    /// The kind of failure, from the table (and two refinements it cannot express).
    pub fn kind(&self) -> S3ErrorKind {
        self.classify().0
    }

    /// Whether the same request may succeed if sent again (after backoff, or after the
    /// clock correction for [`S3Error::is_clock_skew`]). A non-S3 answer is retryable when
    /// its status is (a proxy's 502 while the store restarts).
    pub fn is_retryable(&self) -> bool {
        self.classify().1
    }

    fn classify(&self) -> (S3ErrorKind, bool) {
        let status = self.status.as_u16();
        if matches!(self.origin, Origin::NotS3 { .. }) {
            return (NotS3, lookup(status, "").1);
        }
        if self.rejects_checksum_headers() {
            return (ChecksumUnsupported, false);
        }
        if self.origin == Origin::Status && status == 400 && self.region().is_some() {
            // HEAD on a bucket of another region: 400, no body, `x-amz-bucket-region`.
            return (WrongRegion, false);
        }
        lookup(status, &self.code)
    }

    /// Whether a store that does not support `x-amz-checksum-*` headers refused them.
    fn rejects_checksum_headers(&self) -> bool {
        let text = format!(
            "{} {}",
            self.message(),
            self.detail.argument_name.as_deref().unwrap_or("")
        )
        .to_ascii_lowercase();
        if !text.contains("checksum") {
            return false;
        }
        let unsupported = ["not implemented", "unsupported", "not supported"]
            .iter()
            .any(|w| text.contains(w));
        let names_header = self.detail.argument_name.as_deref().is_some_and(|a| {
            let a = a.to_ascii_lowercase();
            a.starts_with("x-amz-checksum") || a.starts_with("x-amz-sdk-checksum")
        });
        match self.code() {
            "NotImplemented" => true,
            "InvalidArgument" => unsupported || names_header,
            "InvalidRequest" | "NotSupported" | "BadRequest" => unsupported,
            _ => false,
        }
    }

    /// The store is throttling (`SlowDown`, 429, 503, …).
    pub fn is_throttling(&self) -> bool {
        self.kind() == Throttled
    }

    /// The local clock is too far off (`RequestTimeTooSkewed`): correct it, then retry.
    pub fn is_clock_skew(&self) -> bool {
        self.kind() == ClockSkew
    }

    /// The bucket, key, upload or version does not exist.
    pub fn is_not_found(&self) -> bool {
        self.kind() == NotFound
    }

    /// The bucket does not exist.
    pub fn is_no_such_bucket(&self) -> bool {
        self.code() == "NoSuchBucket"
    }

    /// The multipart upload does not exist (any more): completed, aborted, or expired.
    pub fn is_no_such_upload(&self) -> bool {
        self.code() == "NoSuchUpload"
    }

    /// The identity lacks permission.
    pub fn is_access_denied(&self) -> bool {
        self.kind() == AccessDenied
    }

    /// The access key, signature or session token is not accepted.
    pub fn is_invalid_credentials(&self) -> bool {
        self.kind() == InvalidCredentials
    }

    /// Temporary credentials have expired.
    pub fn is_expired_token(&self) -> bool {
        self.kind() == ExpiredToken
    }

    /// The bucket is in another region ([`S3Error::region`] says which, when known).
    pub fn is_wrong_region(&self) -> bool {
        self.kind() == WrongRegion
    }

    /// An `If-Match`/`If-None-Match` condition failed.
    pub fn is_precondition_failed(&self) -> bool {
        self.kind() == PreconditionFailed
    }

    /// The store does not support `x-amz-checksum-*` headers.
    pub fn is_checksum_unsupported(&self) -> bool {
        self.kind() == ChecksumUnsupported
    }

    /// A body did not match its checksum.
    pub fn is_checksum_mismatch(&self) -> bool {
        self.kind() == ChecksumMismatch
    }

    /// The endpoint did not answer like S3.
    pub fn is_not_s3(&self) -> bool {
        self.kind() == NotS3
    }
}

const NOT_S3_HINT: &str = "the endpoint did not answer like S3: check --endpoint-url (scheme, \
    host and port), and any proxy between ferry and the store (HTTPS_PROXY, a corporate \
    gateway, a captive portal)";
const EXPIRED_HINT: &str = "the temporary credentials have expired: refresh them (e.g. `aws \
    sso login`, or assume the role again) and re-run with fresh ones";
const THROTTLED_HINT: &str = "the store is throttling requests; ferry retried with backoff: \
    lower --concurrency, or spread the keys over more prefixes";
const CHECKSUM_HINT: &str = "this store does not support the x-amz-checksum-* headers: re-run \
    with --checksum-algorithm none";
const MISMATCH_HINT: &str = "the data did not match its checksum: if the source is still being \
    written, wait until it is complete; otherwise re-run (a proxy may be altering bodies)";
const TIMEOUT_HINT: &str = "the store timed out waiting for the request; ferry retried \
    with backoff: check the network between ferry and the store, or lower --concurrency";
const FOREIGN_404_HINT: &str = "the endpoint answered 404 without an S3 error: is \
    --endpoint-url an S3 endpoint? (a plain web server answers like this; an endpoint URL has \
    no path: put the bucket in s3://BUCKET/KEY)";
const ANONYMOUS_HINT: &str = "the request was anonymous; remove --no-sign-request or provide \
    credentials";
const BUCKET_RULES: &str = "bucket names are 3-63 characters of lower-case letters, digits, \
    `.` and `-`, start and end with a letter or digit, have no `..`, and are not shaped like \
    an IP address";
const PRECONDITION_HINT: &str = "the object changed while ferry was working on it: re-run";
const INVALID_KEY_HINT: &str = "the access key id is not known to this endpoint: check the \
    profile/keys (--profile, AWS_ACCESS_KEY_ID) and --endpoint-url (the key must be one the \
    endpoint issued, not one of another store or partition such as aws-cn or aws-us-gov)";
const SIGNATURE_HINT: &str = "the signature does not match: check the secret access key (it \
    must be the one paired with the access key id), and that this machine's clock is right";
const TOKEN_HINT: &str = "the session token is not valid: set AWS_SESSION_TOKEN to the token \
    issued with this access key, or unset it for long-term keys";

/// Hints.
impl S3Error {
    /// What the user can do about it, when ferry knows.
    pub fn hint(&self) -> Option<String> {
        if self.is_foreign_404() {
            return Some(FOREIGN_404_HINT.into());
        }
        Some(match self.kind() {
            NotS3 => NOT_S3_HINT.into(),
            AccessDenied => self.access_denied_hint(),
            InvalidCredentials => self.credentials_hint()?.into(),
            ExpiredToken => EXPIRED_HINT.into(),
            NotFound => self.not_found_hint(),
            Throttled => THROTTLED_HINT.into(),
            WrongRegion => self.region_hint(),
            ClockSkew => self.clock_hint(),
            ChecksumUnsupported => CHECKSUM_HINT.into(),
            ChecksumMismatch => MISMATCH_HINT.into(),
            Transient => self.transient_hint(),
            PreconditionFailed => PRECONDITION_HINT.into(),
            InvalidRequest | Other => self.code_hint()?,
        })
    }

    /// A 404 that no S3 store gives: with a body that is not S3 XML, or with none where S3
    /// always sends an `<Error>` (every request but HEAD).
    fn is_foreign_404(&self) -> bool {
        if self.status != StatusCode::NOT_FOUND {
            return false;
        }
        match &self.origin {
            Origin::NotS3 { .. } => true,
            Origin::Status => self
                .operation
                .is_some_and(|op| !matches!(op, "HeadObject" | "HeadBucket")),
            Origin::Body => false,
        }
    }

    fn transient_hint(&self) -> String {
        let status = self.status.as_u16();
        if status < 500 {
            return TIMEOUT_HINT.into();
        }
        let tries = match self.attempts {
            0 | 1 => String::new(),
            n => format!(" after {n} attempts"),
        };
        format!(
            "the server kept failing (HTTP {status}){tries}: check the server's logs or status \
             page, and run again once it is healthy"
        )
    }

    /// Hints for refused requests whose code says what to change.
    fn code_hint(&self) -> Option<String> {
        Some(match self.code() {
            "InvalidBucketName" => BUCKET_RULES.into(),
            "BucketAlreadyExists" => "bucket names are shared by all accounts of the store: \
                choose another name"
                .into(),
            "BucketAlreadyOwnedByYou" => {
                "the bucket exists and is yours already: use it as it is".into()
            }
            "KeyTooLongError" => "S3 keys are at most 1024 bytes of UTF-8: shorten the key \
                (or the destination prefix)"
                .into(),
            "EntityTooLarge" => "one request carries at most 5 GiB: a larger object must be \
                uploaded in parts (ferry does so above its multipart threshold)"
                .into(),
            "EntityTooSmall" => "every part but the last must be at least 5 MiB: raise \
                --part-size"
                .into(),
            "InvalidArgument" => match self.detail.argument_name.as_deref() {
                Some(name) if !name.trim().is_empty() => format!(
                    "the store refused the value of {}",
                    one_line(&printable(name.trim()), 100)
                ),
                _ => return None,
            },
            _ => return None,
        })
    }

    fn access_denied_hint(&self) -> String {
        if self.anonymous {
            return ANONYMOUS_HINT.into();
        }
        let action = self.operation.and_then(iam_action).unwrap_or("this action");
        let on = self
            .printable_resource()
            .unwrap_or_else(|| "this bucket".into());
        if self.origin == Origin::Status {
            return format!(
                "the store refused {action} on {on} without saying why: the identity may \
                 lack permission, or the credentials may be wrong or expired"
            );
        }
        format!(
            "the identity lacks permission for {action} on {on}: check its IAM policy and \
             the bucket policy, or ask the bucket owner"
        )
    }

    fn credentials_hint(&self) -> Option<&'static str> {
        match self.code() {
            "InvalidAccessKeyId" | "NotSignedUp" => Some(INVALID_KEY_HINT),
            "SignatureDoesNotMatch" => Some(SIGNATURE_HINT),
            "InvalidToken" => Some(TOKEN_HINT),
            _ => None,
        }
    }

    fn not_found_hint(&self) -> String {
        let bucket = printable(self.bucket().unwrap_or("bucket"));
        match self.code() {
            "NoSuchBucket" => format!(
                "the bucket {bucket} does not exist at this endpoint: check the bucket name \
                 and --region; `ferry ls` lists your buckets"
            ),
            "NoSuchUpload" => "the multipart upload is gone (completed, aborted, or removed \
                by a lifecycle rule): start the transfer again"
                .into(),
            "NoSuchKey" => self.no_such_key_hint(&bucket),
            _ => "check the bucket name and the key; `ferry ls` lists your buckets".into(),
        }
    }

    fn no_such_key_hint(&self, bucket: &str) -> String {
        let key = self.key().unwrap_or("");
        let parent = printable(key.rfind('/').map_or("", |i| &key[..=i]));
        let mut hint = format!(
            "the key does not exist: `ferry ls s3://{bucket}/{parent}` lists the keys there"
        );
        if self.origin == Origin::Status {
            hint.push_str(
                " (an answer without a body cannot tell a missing key from a missing bucket)",
            );
        }
        hint
    }

    fn region_hint(&self) -> String {
        let region = self.region().map(printable);
        match (region, self.detail.endpoint.as_deref().map(printable)) {
            (Some(region), _) => format!("the bucket is in region {region}: use --region {region}"),
            (None, Some(endpoint)) => format!(
                "the bucket must be reached through {endpoint}: use --region with the \
                 bucket's region"
            ),
            (None, None) => "the bucket is in another region: use --region with the \
                bucket's region"
                .into(),
        }
    }

    fn clock_hint(&self) -> String {
        let server = match &self.detail.server_time {
            Some(time) => format!(" (the store's time: {})", printable(time.trim())),
            None => String::new(),
        };
        format!(
            "this machine's clock is too far from the store's{server}: fix the clock (enable \
             NTP time sync) and re-run"
        )
    }
}

impl fmt::Display for S3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.operation.unwrap_or("S3 request"))?;
        if let Some(resource) = self.printable_resource() {
            write!(f, " on {resource}")?;
        }
        let status = self.status.as_u16();
        match &self.origin {
            Origin::NotS3 {
                excerpt,
                content_type,
            } => {
                let ct = content_type
                    .as_deref()
                    .map(|c| format!(", {c}"))
                    .unwrap_or_default();
                write!(
                    f,
                    " failed: the endpoint did not answer like S3 (HTTP {status}{ct}): \"{excerpt}\""
                )?;
            }
            _ => {
                let message = one_line(self.message(), MESSAGE_CHARS);
                write!(f, " failed: {} (HTTP {status}): {message}", self.code)?;
            }
        }
        match self.request_id() {
            Some(id) => write!(f, " [request id {}]", one_line(id, 100)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    fn hint(error: &S3Error) -> String {
        error.hint().expect("a hint")
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
        let error =
            S3Error::from_success_body(StatusCode::OK, &HeaderMap::new(), unknown.as_bytes())
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
        let ok =
            b"<CompleteMultipartUploadResult><ETag>\"x\"</ETag></CompleteMultipartUploadResult>";
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
        assert!(hint(&error).contains("--endpoint-url"));
        assert!(hint(&error).contains("proxy"));
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
        assert!(
            hint(&error).contains("`ferry ls s3://photos/2024/`"),
            "{}",
            hint(&error)
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
    fn head_403_without_body_is_access_denied_with_a_cautious_hint() {
        let error = answer(403, "")
            .with_operation("HeadObject")
            .with_resource(Some("b"), Some("k"));
        assert_eq!(error.code(), "Forbidden");
        assert!(error.is_access_denied() && !error.is_retryable());
        let hint = hint(&error);
        assert!(hint.contains("s3:GetObject on s3://b/k"), "{hint}");
        assert!(hint.contains("without saying why"), "{hint}");
    }

    #[test]
    fn head_301_names_the_region_from_the_bucket_region_header() {
        let headers = headers(&[("x-amz-bucket-region", "eu-west-1")]);
        let error = S3Error::from_response(StatusCode::MOVED_PERMANENTLY, &headers, b"");
        assert_eq!(error.code(), "PermanentRedirect");
        assert!(error.is_wrong_region());
        assert_eq!(error.region(), Some("eu-west-1"));
        assert_eq!(
            hint(&error),
            "the bucket is in region eu-west-1: use --region eu-west-1"
        );
    }

    #[test]
    fn head_400_with_bucket_region_header_is_a_wrong_region() {
        let headers = headers(&[("x-amz-bucket-region", "ap-south-1")]);
        let error = S3Error::from_response(StatusCode::BAD_REQUEST, &headers, b"");
        assert!(error.is_wrong_region());
        assert!(hint(&error).contains("--region ap-south-1"));
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
        assert!(hint(&error).contains("use --region eu-central-1"));
    }

    #[test]
    fn redirect_to_an_endpoint_without_region_names_the_endpoint() {
        let body =
            "<Error><Code>PermanentRedirect</Code><Endpoint>b.s3.amazonaws.com</Endpoint></Error>";
        let error = answer(301, body);
        assert_eq!(error.region(), None);
        assert!(
            hint(&error).contains("b.s3.amazonaws.com"),
            "{}",
            hint(&error)
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
            hint(&error),
            "the bucket is in region us-west-2: use --region us-west-2"
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
        let hint = hint(&error);
        assert!(hint.contains("fix the clock"), "{hint}");
        assert!(hint.contains("2026-05-01T12:00:00Z"), "{hint}");
    }

    #[test]
    fn access_denied_hint_names_the_action_resource_policy_and_owner() {
        let error = coded(403, "AccessDenied", "Access Denied")
            .with_operation("PutObject")
            .with_resource(Some("reports"), Some("q1.csv"));
        assert!(error.is_access_denied());
        let hint = hint(&error);
        assert!(
            hint.contains("lacks permission for s3:PutObject on s3://reports/q1.csv"),
            "{hint}"
        );
        assert!(
            hint.contains("policy") && hint.contains("bucket owner"),
            "{hint}"
        );
    }

    #[test]
    fn invalid_access_key_hint_says_wrong_key_or_wrong_endpoint() {
        let error = coded(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        );
        assert!(error.is_invalid_credentials());
        let hint = hint(&error);
        assert!(hint.contains("not known to this endpoint"), "{hint}");
        assert!(
            hint.contains("--endpoint-url") && hint.contains("partition"),
            "{hint}"
        );
    }

    #[test]
    fn signature_mismatch_hint_checks_the_secret_and_the_clock() {
        let error = coded(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        );
        assert!(error.is_invalid_credentials() && !error.is_access_denied());
        let hint = hint(&error);
        assert!(
            hint.contains("secret access key") && hint.contains("clock"),
            "{hint}"
        );
    }

    #[test]
    fn expired_token_hint_asks_for_fresh_credentials() {
        let error = coded(400, "ExpiredToken", "The provided token has expired.");
        assert!(error.is_expired_token() && !error.is_retryable());
        let hint = hint(&error);
        assert!(hint.contains("expired") && hint.contains("fresh"), "{hint}");
    }

    #[test]
    fn no_such_bucket_hint_checks_name_and_region_and_suggests_ferry_ls() {
        let error = coded(404, "NoSuchBucket", "The specified bucket does not exist")
            .with_resource(Some("typo-bucket"), None);
        let hint = hint(&error);
        assert!(
            hint.contains("typo-bucket") && hint.contains("--region"),
            "{hint}"
        );
        assert!(hint.contains("`ferry ls`"), "{hint}");
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
    fn no_such_key_hint_lists_the_keys_beside_it() {
        let error = answer(404, NO_SUCH_KEY).with_resource(Some("mybucket"), Some("myfoto.jpg"));
        assert_eq!(
            hint(&error),
            "the key does not exist: `ferry ls s3://mybucket/` lists the keys there"
        );
    }

    #[test]
    fn no_such_upload_says_to_start_again() {
        let error = coded(404, "NoSuchUpload", "The specified upload does not exist.");
        assert!(error.is_no_such_upload() && error.is_not_found());
        assert!(hint(&error).contains("start the transfer again"));
    }

    #[test]
    fn slow_down_hint_says_ferry_retried_and_to_lower_concurrency() {
        let error = coded(503, "SlowDown", "Please reduce your request rate.");
        let hint = hint(&error);
        assert!(
            hint.contains("retried with backoff") && hint.contains("--concurrency"),
            "{hint}"
        );
    }

    #[test]
    fn checksum_rejections_by_stores_without_support_hint_to_turn_checksums_off() {
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
            assert_eq!(
                hint(&error),
                "this store does not support the x-amz-checksum-* headers: re-run with \
                 --checksum-algorithm none"
            );
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
        assert_eq!(coded(418, "Whatever", "m").hint(), None);
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
                let _ = (error.hint(), error.kind());
            }
        }
    }

    #[test]
    fn an_unsigned_request_refused_says_it_was_anonymous() {
        let error = coded(403, "AccessDenied", "Access Denied")
            .with_operation("GetObject")
            .with_resource(Some("b"), Some("k"))
            .with_anonymous(true);
        let hint = hint(&error);
        assert!(
            hint.contains("anonymous") && hint.contains("--no-sign-request"),
            "{hint}"
        );
        assert!(!hint.contains("IAM"), "{hint}");
    }

    #[test]
    fn an_unknown_access_key_names_keys_and_endpoint_whatever_code_the_store_uses() {
        for code in ["InvalidAccessKeyId", "NotSignedUp"] {
            let error = coded(403, code, "");
            assert!(error.is_invalid_credentials(), "{code}");
            let hint = hint(&error);
            assert!(hint.contains("not known to this endpoint"), "{hint}");
            assert!(hint.contains("--endpoint-url"), "{hint}");
            assert!(!hint.contains("IAM"), "{hint}");
        }
    }

    #[test]
    fn a_server_error_after_retries_says_how_many_attempts_and_to_check_the_server() {
        let error =
            coded(500, "InternalError", "We encountered an internal error.").with_attempts(4);
        let hint = hint(&error);
        assert!(hint.contains("after 4 attempts"), "{hint}");
        assert!(hint.contains("server's logs"), "{hint}");
        assert!(!hint.contains("try again later"), "{hint}");
        let timeout = coded(400, "RequestTimeout", "");
        assert!(hint_of(&timeout).contains("network"));
    }

    fn hint_of(error: &S3Error) -> String {
        error.hint().unwrap_or_default()
    }

    #[test]
    fn a_404_that_is_not_s3_asks_whether_the_endpoint_is_s3() {
        let empty = answer(404, "")
            .with_operation("GetObject")
            .with_resource(Some("b"), Some("k"));
        let hint = hint(&empty);
        assert!(hint.contains("without an S3 error"), "{hint}");
        assert!(!hint.contains("key does not exist"), "{hint}");
        let html = answer(404, "<html><title>404 Not Found</title></html>")
            .with_operation("ListObjectsV2")
            .with_resource(Some("b"), None);
        assert!(hint_of(&html).contains("is --endpoint-url an S3 endpoint"));
        // HEAD answers never have a body: a bodyless 404 there is S3's missing key.
        let head = answer(404, "")
            .with_operation("HeadObject")
            .with_resource(Some("b"), Some("k"));
        assert!(hint_of(&head).contains("key does not exist"));
        let s3 = coded(404, "NoSuchKey", "gone")
            .with_operation("GetObject")
            .with_resource(Some("b"), Some("k"));
        assert!(hint_of(&s3).contains("key does not exist"));
    }

    #[test]
    fn codes_sent_without_a_message_get_a_readable_one_and_a_hint_where_one_helps() {
        let table = [
            ("InvalidBucketName", 400, Some("3-63 characters")),
            ("BucketAlreadyExists", 409, Some("choose another name")),
            ("BucketAlreadyOwnedByYou", 409, Some("yours already")),
            ("KeyTooLongError", 400, Some("1024 bytes")),
            ("NoSuchBucket", 404, Some("does not exist")),
            ("EntityTooLarge", 400, Some("5 GiB")),
            ("InvalidArgument", 400, None),
        ];
        for (code, status, expected_hint) in table {
            let error = answer(status, &format!("<Error><Code>{code}</Code></Error>"));
            assert!(!error.message().is_empty(), "{code}");
            let line = error.to_string();
            assert!(!line.ends_with(": "), "{line}");
            match expected_hint {
                Some(part) => assert!(hint_of(&error).contains(part), "{code}: {:?}", error.hint()),
                None => assert_eq!(error.hint(), None, "{code}"),
            }
        }
        let named = answer(
            400,
            "<Error><Code>InvalidArgument</Code><ArgumentName>x-amz-storage-class</ArgumentName></Error>",
        );
        assert!(hint_of(&named).contains("x-amz-storage-class"));
    }
}
