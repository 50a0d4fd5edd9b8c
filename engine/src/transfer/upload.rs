//! Local file → S3: one PutObject for small files, a parallel multipart upload otherwise.

use super::checksum::{self, ChecksumAlgorithm, PartChecksum};
use super::events::Event;
use super::plan::PartPlan;
use super::{TransferError, Transfers, content_type};
use crate::http::RequestBody;
use crate::s3::PutOptions;
use crate::s3::xml::CompletedPart;
use std::fs::File;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use tokio::task::JoinSet;

impl Transfers {
    /// Uploads the file at `path` to `bucket`/`key`. Returns the bytes sent.
    pub async fn upload_file(
        &self,
        path: &Path,
        bucket: &str,
        key: &str,
    ) -> Result<u64, TransferError> {
        let file = File::open(path).map_err(|e| TransferError::io("opening", path, e))?;
        let size = file
            .metadata()
            .map_err(|e| TransferError::io("reading the size of", path, e))?
            .len();
        let name = format!("s3://{bucket}/{key}");
        self.progress.emit(Event::Started {
            name: name.clone(),
            bytes: size,
        });
        let options = self.put_options(path);
        let result = if size <= self.config.multipart_threshold {
            self.put_whole(Arc::new(file), path, size, bucket, key, &options)
                .await
        } else {
            self.multipart(Arc::new(file), path, size, bucket, key, &options)
                .await
        };
        match &result {
            Ok(_) => self.progress.emit(Event::Finished { name, bytes: size }),
            Err(e) => self.progress.emit(Event::Failed {
                name,
                error: e.to_string(),
            }),
        }
        result
    }

    fn put_options(&self, path: &Path) -> PutOptions {
        let mut options = self.config.put.clone();
        if options.content_type.is_none() {
            options.content_type = Some(content_type::guess(path).to_owned());
        }
        options
    }

    async fn put_whole(
        &self,
        file: Arc<File>,
        path: &Path,
        size: u64,
        bucket: &str,
        key: &str,
        options: &PutOptions,
    ) -> Result<u64, TransferError> {
        let bytes = if size == 0 {
            bytes::Bytes::new()
        } else {
            map_part(&file, path, 0..size)?
        };
        let mut options = options.clone();
        if let Some(algorithm) = self.config.checksum {
            let sum = part_checksum(algorithm, bytes.clone()).await;
            options
                .checksum_headers
                .push((algorithm.header_name(), sum.base64()));
        }
        let _permit = self.permit(size).await;
        self.client
            .put_object(bucket, key, RequestBody::bytes(bytes), &options)
            .await?;
        self.progress.emit(Event::Bytes(size));
        Ok(size)
    }

    async fn multipart(
        &self,
        file: Arc<File>,
        path: &Path,
        size: u64,
        bucket: &str,
        key: &str,
        options: &PutOptions,
    ) -> Result<u64, TransferError> {
        let plan = PartPlan::new(size, self.config.part_size, &self.config.limits)?;
        let mut options = options.clone();
        if let Some(algorithm) = self.config.checksum {
            let kind = algorithm.preferred_type().s3_name();
            options
                .checksum_headers
                .push(("x-amz-checksum-algorithm", algorithm.s3_name().into()));
            options
                .checksum_headers
                .push((checksum::ChecksumType::HEADER, kind.into()));
        }
        let upload_id = self
            .client
            .create_multipart_upload(bucket, key, &options)
            .await?;
        self.track_upload(bucket, key, &upload_id, true);
        let parts = self
            .upload_parts(&file, path, &plan, bucket, key, &upload_id)
            .await;
        let completed = match parts {
            Ok((parts, sums)) => match self.full_object_headers(&sums) {
                Ok(headers) => self
                    .client
                    .complete_multipart_upload(bucket, key, &upload_id, &parts, &headers)
                    .await
                    .map(drop)
                    .map_err(TransferError::from),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        if let Err(error) = completed {
            self.abort(bucket, key, &upload_id).await;
            self.track_upload(bucket, key, &upload_id, false);
            return Err(error);
        }
        self.track_upload(bucket, key, &upload_id, false);
        Ok(size)
    }

    /// Sends every part, at most `concurrency` at a time across all files; stops at the
    /// first failure.
    async fn upload_parts(
        &self,
        file: &Arc<File>,
        path: &Path,
        plan: &PartPlan,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(Vec<CompletedPart>, Vec<PartChecksum>), TransferError> {
        let mut tasks = JoinSet::new();
        let mut parts = Vec::with_capacity(plan.parts as usize);
        for index in 0..plan.parts {
            let permit = self.permit(plan.range(index).end - plan.range(index).start).await;
            if let Some(done) = tasks.try_join_next() {
                parts.push(joined(done)?);
            }
            let range = plan.range(index);
            let bytes = map_part(file, path, range.clone())?;
            let (this, bucket, key, upload_id) = (
                self.clone(),
                bucket.to_owned(),
                key.to_owned(),
                upload_id.to_owned(),
            );
            let algorithm = self.config.checksum;
            tasks.spawn(async move {
                let _permit = permit;
                let number = index as u32 + 1;
                let sum = match algorithm {
                    Some(algorithm) => Some(part_checksum(algorithm, bytes.clone()).await),
                    None => None,
                };
                let headers: Vec<(&'static str, String)> = sum
                    .iter()
                    .map(|s| (s.algorithm().header_name(), s.base64()))
                    .collect();
                let etag = this
                    .client
                    .upload_part(
                        &bucket,
                        &key,
                        &upload_id,
                        number,
                        RequestBody::bytes(bytes),
                        &headers,
                    )
                    .await?;
                this.progress.emit(Event::Bytes(range.end - range.start));
                this.progress.emit(Event::PartDone {
                    name: format!("s3://{bucket}/{key}"),
                    part: u64::from(number),
                });
                let mut part = CompletedPart::new(number, etag);
                if let Some(sum) = &sum {
                    set_checksum(&mut part.checksums, sum);
                }
                Ok::<_, TransferError>((part, sum))
            });
        }
        while let Some(done) = tasks.join_next().await {
            parts.push(joined(done)?);
        }
        parts.sort_by_key(|(p, _)| p.part_number);
        let sums = parts.iter().filter_map(|(_, s)| *s).collect();
        Ok((parts.into_iter().map(|(p, _)| p).collect(), sums))
    }

    /// The whole object's checksum, combined from the parts' without reading the data again,
    /// for CompleteMultipartUpload (full-object CRCs; nothing for SHA-256, which is composite).
    fn full_object_headers(
        &self,
        sums: &[PartChecksum],
    ) -> Result<Vec<(&'static str, String)>, TransferError> {
        let Some(algorithm) = self.config.checksum.filter(|a| a.supports_full_object()) else {
            return Ok(Vec::new());
        };
        let whole = checksum::combine(sums).map_err(|e| TransferError::Integrity {
            name: "the upload's checksum".into(),
            message: e.to_string(),
        })?;
        Ok(vec![
            (algorithm.header_name(), whole.base64()),
            (
                checksum::ChecksumType::HEADER,
                checksum::ChecksumType::FullObject.s3_name().into(),
            ),
        ])
    }

    /// AbortMultipartUpload, best effort: a failure is logged (the upload is then visible to
    /// ListMultipartUploads and to bucket lifecycle rules).
    async fn abort(&self, bucket: &str, key: &str, upload_id: &str) {
        if let Err(error) = self
            .client
            .abort_multipart_upload(bucket, key, upload_id)
            .await
        {
            tracing::warn!(bucket, key, upload_id, %error, "could not abort the multipart upload; it may still hold parts");
        }
    }
}

/// A part's checksum, computed on the blocking pool (never on the reactor threads).
async fn part_checksum(algorithm: ChecksumAlgorithm, bytes: bytes::Bytes) -> PartChecksum {
    match tokio::task::spawn_blocking(move || checksum::checksum_of(algorithm, &bytes)).await {
        Ok(sum) => sum,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}

fn set_checksum(target: &mut crate::s3::xml::Checksums, sum: &PartChecksum) {
    let value = Some(sum.base64());
    match sum.algorithm() {
        ChecksumAlgorithm::Crc64Nvme => target.crc64nvme = value,
        ChecksumAlgorithm::Crc32 => target.crc32 = value,
        ChecksumAlgorithm::Crc32c => target.crc32c = value,
        ChecksumAlgorithm::Sha256 => target.sha256 = value,
    }
}

fn joined<T>(
    done: Result<Result<T, TransferError>, tokio::task::JoinError>,
) -> Result<T, TransferError> {
    match done {
        Ok(result) => result,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}

/// Maps one part of the file; the mapping is released when the request body is dropped, so
/// resident memory stays bounded by the parts in flight however large the file.
fn map_part(file: &File, path: &Path, range: Range<u64>) -> Result<bytes::Bytes, TransferError> {
    let len = (range.end - range.start) as usize;
    // SAFETY: the map is read-only and private to this process. If another process
    // truncates the file while it is mapped, reads may fault (SIGBUS); that is the documented
    // caveat of mapping files, the same for every tool that sends files this way.
    let map = unsafe {
        memmap2::MmapOptions::new()
            .offset(range.start)
            .len(len)
            .map(file)
    }
    .map_err(|e| TransferError::io("mapping", path, e))?;
    Ok(bytes::Bytes::from_owner(map))
}
