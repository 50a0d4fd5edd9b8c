//! Classification: one table maps (status, code) to a kind and whether a retry may help.

use super::{Origin, S3Error};

/// What kind of failure an [`S3Error`] is: decides retrying and the advice.
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
pub(super) fn lookup(status: u16, code: &str) -> (S3ErrorKind, bool) {
    TABLE
        .iter()
        .find(|row| row.status.is_none_or(|s| s == status) && row.code.is_none_or(|c| c == code))
        .map_or_else(|| fallback(status), |row| (row.kind, row.retryable))
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
