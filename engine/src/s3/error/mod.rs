//! The typed S3 error: what the store answered, classified by one table into a kind and
//! whether a retry may help, with typed advice on what to do.
//!
//! An [`S3Error`] is built from an answer's status, headers and body:
//! - an S3 `<Error>` document gives the code, message and request id;
//! - no body (HEAD answers have none) gives a code derived from the status;
//! - any other body (an HTML page from a proxy, JSON, plain text) is a [`S3ErrorKind::NotS3`]
//!   answer, reported with a short, sanitized excerpt.
//!
//! The jobs are split: this file builds the error and shows it; `kind` classifies it
//! (the table, the predicates, retryability); `excerpt` sanitizes what foreign bodies and
//! keys carry; `advice` says what can be done about it.

mod advice;
mod excerpt;
pub use excerpt::printable;
mod kind;
#[cfg(test)]
mod tests;

pub use kind::S3ErrorKind;

use super::xml::{ErrorBody, is_error_body};
use excerpt::{excerpt, one_line};
use http::{HeaderMap, StatusCode};
use std::borrow::Cow;
use std::fmt;

/// The pseudo-code ferry gives an answer that is not S3's.
pub const NOT_S3_CODE: &str = "NotS3Response";

/// How much of a message or foreign body a one-line report shows, in characters.
const MESSAGE_CHARS: usize = 300;

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
/// request id. What can be done about it comes separately, as typed
/// [`crate::Advice`], from [`S3Error::advice`].
#[derive(Debug, Clone, thiserror::Error)]
pub struct S3Error {
    status: StatusCode,
    code: Cow<'static, str>,
    detail: ErrorBody,
    origin: Origin,
    operation: Option<&'static str>,
    bucket: Option<String>,
    key: Option<String>,
    /// The request was sent unsigned (anonymous).
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
        Self::from_body(
            status,
            ErrorBody {
                code: Some(code.into()),
                message: Some(message.into()),
                ..ErrorBody::default()
            },
        )
    }

    /// Marks the request as sent unsigned, for the AccessDenied advice.
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

    /// Names the operation that failed (`GetObject`, …), for the message and the advice.
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
