//! What the user can do about an [`S3Error`].

use super::excerpt::{one_line, printable};
use super::kind::S3ErrorKind::*;
use super::{Origin, S3Error};
use http::StatusCode;

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
