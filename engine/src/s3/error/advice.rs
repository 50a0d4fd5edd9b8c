//! What can be done about an [`S3Error`], as typed [`Advice`] for the front end to word.

use super::kind::S3ErrorKind::*;
use super::{Origin, S3Error};
use crate::Advice;
use http::StatusCode;

/// The IAM action an S3 operation needs, for the AccessDenied advice.
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

/// Advice.
impl S3Error {
    /// What the user can do about it, when the engine knows: by the kind of failure, refined
    /// by the code, the operation and what the answer said (region, the store's time, …).
    pub fn advice(&self) -> Option<Advice> {
        if self.is_foreign_404() {
            return Some(Advice::CheckEndpointIsS3);
        }
        Some(match self.kind() {
            NotS3 => Advice::CheckEndpoint,
            AccessDenied => self.access_advice(),
            InvalidCredentials => self.credentials_advice()?,
            ExpiredToken => Advice::RefreshCredentials,
            NotFound => self.not_found_advice(),
            Throttled => Advice::ReduceRequestRate,
            WrongRegion => Advice::UseRegion {
                region: self.region().map(str::to_owned),
                endpoint: self.detail.endpoint.clone(),
            },
            ClockSkew => Advice::FixClock {
                server_time: self
                    .detail
                    .server_time
                    .as_deref()
                    .map(|t| t.trim().to_owned()),
            },
            ChecksumUnsupported => Advice::DisableRequestChecksums,
            ChecksumMismatch => Advice::ChecksumMismatch,
            Transient if self.status.as_u16() < 500 => Advice::CheckNetworkOrReduceConcurrency,
            Transient => Advice::RetryWhenStoreHealthy {
                status: self.status.as_u16(),
                attempts: self.attempts,
            },
            PreconditionFailed => Advice::RerunSourceChanged,
            InvalidRequest | Other => self.code_advice()?,
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

    /// Advice for refused requests whose code says what to change.
    fn code_advice(&self) -> Option<Advice> {
        Some(match self.code() {
            "InvalidBucketName" => Advice::BucketNameRules,
            "BucketAlreadyExists" => Advice::ChooseOtherBucketName,
            "BucketAlreadyOwnedByYou" => Advice::BucketAlreadyYours,
            "KeyTooLongError" => Advice::ShortenKey,
            "EntityTooLarge" => Advice::ObjectTooLargeForOneRequest,
            "EntityTooSmall" => Advice::RaisePartSize,
            "InvalidArgument" => match self.detail.argument_name.as_deref().map(str::trim) {
                Some(name) if !name.is_empty() => Advice::CheckArgument { name: name.into() },
                _ => return None,
            },
            _ => return None,
        })
    }

    fn access_advice(&self) -> Advice {
        if self.anonymous {
            return Advice::SendSignedRequests;
        }
        Advice::CheckPermission {
            action: self.operation.and_then(iam_action),
            resource: self.resource(),
            reason_given: self.origin != Origin::Status,
        }
    }

    fn credentials_advice(&self) -> Option<Advice> {
        match self.code() {
            "InvalidAccessKeyId" | "NotSignedUp" => Some(Advice::CheckAccessKey),
            "SignatureDoesNotMatch" => Some(Advice::CheckSecretKey),
            "InvalidToken" => Some(Advice::CheckSessionToken),
            _ => None,
        }
    }

    fn not_found_advice(&self) -> Advice {
        let bucket = self.bucket().map(str::to_owned);
        match self.code() {
            "NoSuchBucket" => Advice::BucketMissing { bucket },
            "NoSuchUpload" => Advice::UploadGone,
            "NoSuchKey" => {
                let key = self.key().unwrap_or("");
                Advice::KeyMissing {
                    bucket,
                    parent_prefix: key.rfind('/').map_or("", |i| &key[..=i]).to_owned(),
                    ambiguous: self.origin == Origin::Status,
                }
            }
            _ => Advice::CheckBucketAndKey,
        }
    }
}
