//! Typed results: which object failed, and why, in a form a program can act on without
//! reading messages (retry later, fix a permission, free disk space, ...).

use super::TransferError;
use crate::http::HttpError;
use crate::s3::error::S3ErrorKind;
use std::fmt;

/// What kind of failure it was: the part of an error a program decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// The bucket, key or upload does not exist (or a local source file is gone).
    NotFound,
    /// The identity may not do this (or a local file's permissions forbid it).
    AccessDenied,
    /// The credentials are unknown, wrong, expired or could not be had.
    Credentials,
    /// The store kept shedding load (`SlowDown`, 503) through every retry.
    Throttled,
    /// The store or the network kept failing (5xx, timeouts, refused or broken
    /// connections) through every retry: running again later may succeed.
    Unavailable,
    /// What arrived did not match its checksum, size or range; nothing was kept.
    ChecksumMismatch,
    /// The object changed while it was being transferred (a precondition failed).
    Changed,
    /// A local file or directory could not be read or written.
    LocalIo,
    /// The local disk (or quota) is full.
    DiskFull,
    /// The request can never succeed as asked (invalid name, too large, bad argument, a
    /// store that rejects a feature, an endpoint that is not S3).
    Invalid,
    /// Anything else.
    Other,
}

impl FailureKind {
    /// The kind's name in `snake_case` (`not_found`, `access_denied`, ...), for logs and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::AccessDenied => "access_denied",
            Self::Credentials => "credentials",
            Self::Throttled => "throttled",
            Self::Unavailable => "unavailable",
            Self::ChecksumMismatch => "checksum_mismatch",
            Self::Changed => "changed",
            Self::LocalIo => "local_io",
            Self::DiskFull => "disk_full",
            Self::Invalid => "invalid",
            Self::Other => "other",
        }
    }

    /// Whether running the same transfer again later may succeed without changing anything.
    pub fn is_transient(self) -> bool {
        matches!(self, Self::Throttled | Self::Unavailable | Self::Changed)
    }
}

impl TransferError {
    /// What kind of failure this is.
    pub fn kind(&self) -> FailureKind {
        match self {
            Self::S3(error) => s3_kind(error),
            Self::Io { source, .. } => io_kind(source),
            Self::Local { source } => io_kind(source),
            Self::Other { .. } => FailureKind::Other,
            Self::Plan(_) => FailureKind::Invalid,
            Self::Integrity { .. } => FailureKind::ChecksumMismatch,
        }
    }
}

fn s3_kind(error: &crate::s3::Error) -> FailureKind {
    use crate::s3::Error;
    match error {
        Error::Service(e) => match e.kind() {
            S3ErrorKind::NotFound => FailureKind::NotFound,
            S3ErrorKind::AccessDenied => FailureKind::AccessDenied,
            S3ErrorKind::InvalidCredentials | S3ErrorKind::ExpiredToken => FailureKind::Credentials,
            S3ErrorKind::Throttled => FailureKind::Throttled,
            S3ErrorKind::Transient | S3ErrorKind::ClockSkew => FailureKind::Unavailable,
            S3ErrorKind::ChecksumMismatch => FailureKind::ChecksumMismatch,
            S3ErrorKind::PreconditionFailed => FailureKind::Changed,
            S3ErrorKind::WrongRegion
            | S3ErrorKind::ChecksumUnsupported
            | S3ErrorKind::InvalidRequest
            | S3ErrorKind::NotS3 => FailureKind::Invalid,
            _ => FailureKind::Other,
        },
        Error::Http { source, .. } => match source {
            HttpError::CaBundle { .. } | HttpError::Tls { .. } => FailureKind::Invalid,
            _ => FailureKind::Unavailable,
        },
        Error::Credentials(_) | Error::CredentialsExpired { .. } => FailureKind::Credentials,
        Error::Endpoint(_) => FailureKind::Invalid,
        Error::Protocol { .. } => FailureKind::Other,
    }
}

/// A local file error's kind.
pub(super) fn io_kind(error: &std::io::Error) -> FailureKind {
    /// `ENOSPC` and `EDQUOT` on Linux and the BSDs, for errors whose kind is not set.
    const NO_SPACE: [i32; 2] = [28, 122];
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::NotFound => FailureKind::NotFound,
        ErrorKind::PermissionDenied => FailureKind::AccessDenied,
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => FailureKind::DiskFull,
        _ if error
            .raw_os_error()
            .is_some_and(|code| NO_SPACE.contains(&code)) =>
        {
            FailureKind::DiskFull
        }
        _ => FailureKind::LocalIo,
    }
}

/// One object or file that failed: what it was and the typed error.
#[derive(Debug, Clone)]
pub struct Failure {
    /// `s3://bucket/key` or a local path.
    pub object: String,
    /// Why.
    pub error: TransferError,
}

impl Failure {
    /// `object` failed with `error`.
    pub fn new(object: impl Into<String>, error: impl Into<TransferError>) -> Self {
        Self {
            object: object.into(),
            error: error.into(),
        }
    }

    /// What kind of failure it was.
    pub fn kind(&self) -> FailureKind {
        self.error.kind()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.object, self.error)
    }
}

/// Two failures are equal when they name the same object with the same kind and message.
impl PartialEq for Failure {
    fn eq(&self, other: &Self) -> bool {
        self.object == other.object
            && self.kind() == other.kind()
            && self.error.to_string() == other.error.to_string()
    }
}

impl Eq for Failure {}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(kind: std::io::ErrorKind) -> TransferError {
        TransferError::io("writing", "/data/out.bin", std::io::Error::from(kind))
    }

    #[test]
    fn local_errors_are_classified_by_their_io_kind() {
        use std::io::ErrorKind;
        assert_eq!(io(ErrorKind::NotFound).kind(), FailureKind::NotFound);
        assert_eq!(
            io(ErrorKind::PermissionDenied).kind(),
            FailureKind::AccessDenied
        );
        assert_eq!(io(ErrorKind::StorageFull).kind(), FailureKind::DiskFull);
        let enospc = TransferError::io("writing", "/x", std::io::Error::from_raw_os_error(28));
        assert_eq!(enospc.kind(), FailureKind::DiskFull);
        assert_eq!(io(ErrorKind::InvalidData).kind(), FailureKind::LocalIo);
    }

    #[test]
    fn store_answers_are_classified_by_their_s3_kind() {
        use http::StatusCode;
        let answer = |status: u16, code: &str| {
            let e = crate::s3::S3Error::new(StatusCode::from_u16(status).unwrap(), code, "m");
            TransferError::S3(crate::s3::Error::Service(Box::new(e)))
        };
        assert_eq!(answer(404, "NoSuchKey").kind(), FailureKind::NotFound);
        assert_eq!(
            answer(403, "AccessDenied").kind(),
            FailureKind::AccessDenied
        );
        assert_eq!(
            answer(403, "InvalidAccessKeyId").kind(),
            FailureKind::Credentials
        );
        assert_eq!(answer(503, "SlowDown").kind(), FailureKind::Throttled);
        assert_eq!(
            answer(500, "InternalError").kind(),
            FailureKind::Unavailable
        );
        assert_eq!(
            answer(400, "BadDigest").kind(),
            FailureKind::ChecksumMismatch
        );
        assert_eq!(
            answer(412, "PreconditionFailed").kind(),
            FailureKind::Changed
        );
        assert!(answer(503, "SlowDown").kind().is_transient());
        assert!(!answer(404, "NoSuchKey").kind().is_transient());
    }

    #[test]
    fn a_failure_is_cloneable_and_keeps_its_object_and_typed_error() {
        let failure = Failure::new("s3://bucket/key", io(std::io::ErrorKind::NotFound));
        let copy = failure.clone();
        assert_eq!(copy, failure);
        assert_eq!(copy.object, "s3://bucket/key");
        assert_eq!(copy.kind(), FailureKind::NotFound);
        assert!(matches!(copy.error, TransferError::Io { .. }));
        assert!(
            copy.to_string()
                .starts_with("s3://bucket/key: writing /data/out.bin")
        );
    }
}
