//! UploadPart checksums, verified as S3 verifies them: `s3s-fs` stores a part without looking
//! at the `x-amz-checksum-*` it came with, in a header or in an aws-chunked trailer. Here the
//! part's bytes are summed as they stream to disk and compared with the value the client
//! sent; a part that does not match is removed and answered `400 BadDigest`, so that a client
//! that frames or sums wrongly is caught by the embedded endpoint too.

use s3s::checksum::ChecksumHasher;
use s3s::dto::{self, StreamingBlob};
use s3s::stream::{ByteStream, RemainingLength};
use s3s::{S3Error, S3ErrorCode, StdError, TrailingHeaders};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

/// The checksums a part declared, and the running sums of its bytes.
pub(super) struct PartCheck {
    sums: Arc<Mutex<ChecksumHasher>>,
    declared: Declared,
}

impl PartCheck {
    /// Starts summing `input`'s body with every algorithm it declares (a checksum header,
    /// `x-amz-sdk-checksum-algorithm`, or an `x-amz-trailer`); `None` when it declares none.
    pub(super) fn start(
        input: &mut dto::UploadPartInput,
        headers: &http::HeaderMap,
        trailing: Option<&TrailingHeaders>,
    ) -> Option<Self> {
        let given = dto::Checksum {
            checksum_crc32: input.checksum_crc32.clone(),
            checksum_crc32c: input.checksum_crc32c.clone(),
            checksum_sha1: input.checksum_sha1.clone(),
            checksum_sha256: input.checksum_sha256.clone(),
            checksum_crc64nvme: input.checksum_crc64nvme.clone(),
            ..Default::default()
        };
        let (declared, hasher) =
            Declared::of(given, input.checksum_algorithm.as_ref(), headers, trailing)?;
        let sums = Arc::new(Mutex::new(hasher));
        if let Some(body) = input.body.take() {
            input.body = Some(StreamingBlob::new(Summed {
                inner: body,
                sums: sums.clone(),
            }));
        }
        Some(Self { sums, declared })
    }

    /// After the body is in: every declared value against the bytes' sums.
    pub(super) fn verify(self) -> Result<(), S3Error> {
        let hasher = std::mem::take(&mut *self.sums.lock().unwrap_or_else(PoisonError::into_inner));
        self.declared.check(&hasher.finalize())
    }
}

/// The checksums a request declared: values sent as headers, and the trailer it announced.
pub(super) struct Declared {
    /// Values sent as headers, by algorithm.
    given: dto::Checksum,
    /// The trailer the request announced (`x-amz-trailer`), to be read once the body is in.
    trailer: Option<(String, TrailingHeaders)>,
}

impl Declared {
    /// What a request with the checksum headers `given`, `x-amz-sdk-checksum-algorithm`
    /// `algorithm` and `headers` (for `x-amz-trailer`) declares, with a hasher for every
    /// algorithm it names; `None` when it names none.
    pub(super) fn of(
        given: dto::Checksum,
        algorithm: Option<&dto::ChecksumAlgorithm>,
        headers: &http::HeaderMap,
        trailing: Option<&TrailingHeaders>,
    ) -> Option<(Self, ChecksumHasher)> {
        let trailer_name = headers
            .get("x-amz-trailer")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase());
        let named = |name: &str| {
            trailer_name.as_deref() == Some(name)
                || algorithm.is_some_and(|a| {
                    format!("x-amz-checksum-{}", a.as_str().to_ascii_lowercase()) == name
                })
        };
        let mut hasher = ChecksumHasher::default();
        if given.checksum_crc32.is_some() || named("x-amz-checksum-crc32") {
            hasher.crc32 = Some(Default::default());
        }
        if given.checksum_crc32c.is_some() || named("x-amz-checksum-crc32c") {
            hasher.crc32c = Some(Default::default());
        }
        if given.checksum_sha1.is_some() || named("x-amz-checksum-sha1") {
            hasher.sha1 = Some(Default::default());
        }
        if given.checksum_sha256.is_some() || named("x-amz-checksum-sha256") {
            hasher.sha256 = Some(Default::default());
        }
        if given.checksum_crc64nvme.is_some() || named("x-amz-checksum-crc64nvme") {
            hasher.crc64nvme = Some(Default::default());
        }
        let declares_any = hasher.crc32.is_some()
            || hasher.crc32c.is_some()
            || hasher.sha1.is_some()
            || hasher.sha256.is_some()
            || hasher.crc64nvme.is_some();
        if !declares_any {
            return None;
        }
        let trailer = trailer_name.zip(trailing.cloned());
        Some((Self { given, trailer }, hasher))
    }

    /// Every declared value (a header, or the trailer once the body is in) against `got`,
    /// the body's sums: BadDigest on a mismatch, IncompleteBody for a trailer that never came.
    pub(super) fn check(&self, got: &dto::Checksum) -> Result<(), S3Error> {
        let trailed = match &self.trailer {
            Some((name, trailing)) => {
                let value = trailing
                    .read(|h| {
                        h.get(name.as_str())
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned)
                    })
                    .flatten();
                match value {
                    Some(value) => Some((name.as_str(), value)),
                    None => {
                        return Err(S3Error::with_message(
                            S3ErrorCode::IncompleteBody,
                            format!(
                                "The trailer announced in x-amz-trailer ({name}) did not arrive."
                            ),
                        ));
                    }
                }
            }
            None => None,
        };
        let checks = [
            (
                "x-amz-checksum-crc32",
                &self.given.checksum_crc32,
                &got.checksum_crc32,
            ),
            (
                "x-amz-checksum-crc32c",
                &self.given.checksum_crc32c,
                &got.checksum_crc32c,
            ),
            (
                "x-amz-checksum-sha1",
                &self.given.checksum_sha1,
                &got.checksum_sha1,
            ),
            (
                "x-amz-checksum-sha256",
                &self.given.checksum_sha256,
                &got.checksum_sha256,
            ),
            (
                "x-amz-checksum-crc64nvme",
                &self.given.checksum_crc64nvme,
                &got.checksum_crc64nvme,
            ),
        ];
        for (name, given, computed) in checks {
            let expected = given.clone().or_else(|| {
                trailed
                    .as_ref()
                    .filter(|(trailer, _)| *trailer == name)
                    .map(|(_, value)| value.clone())
            });
            if let (Some(expected), Some(computed)) = (expected, computed)
                && expected.trim() != computed
            {
                return Err(S3Error::with_message(
                    S3ErrorCode::BadDigest,
                    format!("The {name} you specified did not match the calculated checksum."),
                ));
            }
        }
        Ok(())
    }
}

/// A part's body, summed as it streams through.
struct Summed {
    inner: StreamingBlob,
    sums: Arc<Mutex<ChecksumHasher>>,
}

impl futures_util::Stream for Summed {
    type Item = Result<bytes::Bytes, StdError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(bytes))) = &polled {
            self.sums
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .update(bytes);
        }
        polled
    }
}

impl ByteStream for Summed {
    fn remaining_length(&self) -> RemainingLength {
        self.inner.remaining_length()
    }
}
