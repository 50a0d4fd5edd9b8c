//! Local file → S3: one PutObject for small files, a parallel multipart upload otherwise.

use super::checksum::{self, ChecksumAlgorithm, PartChecksum};
use super::events::Event;
use super::journal::{self, Journal, UploadIdentity, UploadState, UploadedPart};
use super::plan::PartPlan;
use super::{TransferError, Transfers, content_type};
use crate::http::RequestBody;
use crate::s3::PutOptions;
use crate::s3::xml::CompletedPart;
use std::collections::BTreeMap;
use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
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
        let map = if size == 0 {
            None
        } else {
            Some(map_part(&file, path, 0..size)?)
        };
        let mut options = options.clone();
        if let Some(algorithm) = self.config.checksum {
            let sum = match &map {
                Some(map) => self.part_checksum(algorithm, MapView(map.clone())).await,
                None => checksum::checksum_of(algorithm, &[]),
            };
            if let Some(map) = &map {
                release_pages(map);
            }
            options
                .checksum_headers
                .push((algorithm.header_name(), sum.base64()));
        }
        let _permit = self.permit(size).await;
        let body = map.map_or_else(RequestBody::empty, RequestBody::mapped_part);
        self.client.put_object(bucket, key, body, &options).await?;
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
        let source = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        let endpoint = self.client.endpoint().service_url();
        let identity = UploadIdentity {
            endpoint: &endpoint,
            bucket,
            key,
            source: &source,
            size,
            modified: modified_nanos(&file),
            part_size: plan.part_size,
            algorithm: self.config.checksum.map(ChecksumAlgorithm::s3_name),
        };
        let journal_path = self.state_dir().map(|dir| identity.journal_path(&dir));
        let resumed = match &journal_path {
            Some(journal_path) => self.resume_upload(journal_path, &identity).await,
            None => None,
        };
        let (upload_id, done) = match resumed {
            Some(resumed) => resumed,
            None => {
                let id = self
                    .client
                    .create_multipart_upload(bucket, key, &options)
                    .await?;
                (id, BTreeMap::new())
            }
        };
        self.track_upload(bucket, key, &upload_id, true);
        let journal = journal_path.map(|journal_path| {
            let mut state = identity.state(&upload_id);
            state.parts = done.clone();
            let journal = Arc::new(Journal::new(journal_path, state));
            journal.flush();
            journal
        });
        let parts = self
            .upload_parts(
                &file,
                path,
                &plan,
                bucket,
                key,
                &upload_id,
                &done,
                journal.as_ref(),
            )
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
        // A crash or kill never gets here: the upload stays open and the journal stays, so
        // the same command continues it. A clean failure aborts and forgets it.
        if let Some(journal) = &journal {
            journal.remove();
        }
        if let Err(error) = completed {
            self.abort(bucket, key, &upload_id).await;
            self.track_upload(bucket, key, &upload_id, false);
            return Err(error);
        }
        self.track_upload(bucket, key, &upload_id, false);
        Ok(size)
    }

    fn state_dir(&self) -> Option<PathBuf> {
        self.config
            .state_dir
            .clone()
            .or_else(journal::default_state_dir)
    }

    /// The upload an earlier run of the same transfer left open, and the parts of it that
    /// both its journal and ListParts hold (with equal ETags); `None` to start over.
    async fn resume_upload(
        &self,
        journal_path: &Path,
        identity: &UploadIdentity<'_>,
    ) -> Option<(String, BTreeMap<u32, UploadedPart>)> {
        let state = Journal::<UploadState>::load(journal_path)?;
        if !identity.matches(&state) {
            journal::remove(journal_path);
            return None;
        }
        let (bucket, key, id) = (identity.bucket, identity.key, state.upload_id.as_str());
        let mut listed = BTreeMap::new();
        let mut marker = None;
        loop {
            match self.client.list_parts(bucket, key, id, marker).await {
                Ok(page) => {
                    for part in page.parts {
                        listed.insert(part.part_number, part.etag);
                    }
                    match page.next_part_number_marker {
                        Some(next) if page.is_truncated && Some(next) != marker => {
                            marker = Some(next);
                        }
                        _ => break,
                    }
                }
                Err(error) => {
                    if !error.service().is_some_and(|s| s.is_no_such_upload()) {
                        tracing::warn!(bucket, key, %error, "could not list the parts of an interrupted upload; starting over");
                        self.abort(bucket, key, id).await;
                    }
                    journal::remove(journal_path);
                    return None;
                }
            }
        }
        let done: BTreeMap<u32, UploadedPart> = state
            .parts
            .into_iter()
            .filter(|(number, part)| {
                listed
                    .get(number)
                    .is_some_and(|etag| same_etag(etag, &part.etag))
                    && (identity.algorithm.is_none() || part.checksum.is_some())
            })
            .collect();
        tracing::info!(
            bucket,
            key,
            parts = done.len(),
            "resuming an interrupted upload"
        );
        Some((state.upload_id, done))
    }

    /// Sends every part not in `done`, at most `concurrency` at a time across all files,
    /// recording each in the journal; stops at the first failure.
    #[allow(clippy::too_many_arguments)]
    async fn upload_parts(
        &self,
        file: &Arc<File>,
        path: &Path,
        plan: &PartPlan,
        bucket: &str,
        key: &str,
        upload_id: &str,
        done: &BTreeMap<u32, UploadedPart>,
        journal: Option<&Arc<Journal<UploadState>>>,
    ) -> Result<(Vec<CompletedPart>, Vec<PartChecksum>), TransferError> {
        let mut tasks = JoinSet::new();
        let mut parts = Vec::with_capacity(plan.parts as usize);
        let mut resumed_bytes = 0;
        for index in 0..plan.parts {
            let range = plan.range(index);
            if let Some(part) = done.get(&(index as u32 + 1))
                && let Some(resumed) = self.resumed_part(index as u32 + 1, part, &range)
            {
                resumed_bytes += range.end - range.start;
                parts.push(resumed);
                continue;
            }
            let permit = self
                .permit(plan.range(index).end - plan.range(index).start)
                .await;
            if let Some(done) = tasks.try_join_next() {
                parts.push(joined(done)?);
            }
            let map = map_part(file, path, range.clone())?;
            let (this, bucket, key, upload_id) = (
                self.clone(),
                bucket.to_owned(),
                key.to_owned(),
                upload_id.to_owned(),
            );
            let algorithm = self.config.checksum;
            let journal = journal.cloned();
            tasks.spawn(async move {
                let _permit = permit;
                let number = index as u32 + 1;
                let sum = match algorithm {
                    Some(algorithm) => {
                        let sum = this.part_checksum(algorithm, MapView(map.clone())).await;
                        release_pages(&map);
                        Some(sum)
                    }
                    None => None,
                };
                let headers: Vec<(&'static str, String)> = sum
                    .iter()
                    .map(|s| (s.algorithm().header_name(), s.base64()))
                    .collect();
                let send = || {
                    this.client.upload_part(
                        &bucket,
                        &key,
                        &upload_id,
                        number,
                        RequestBody::mapped_part(map.clone()),
                        &headers,
                    )
                };
                let etag = match &this.part_hedger {
                    Some(hedger) => hedger.run(send).await?,
                    None => send().await?,
                };
                if let Some(journal) = &journal {
                    let part = UploadedPart {
                        etag: etag.clone(),
                        checksum: sum.map(|s| s.base64()),
                    };
                    journal.update(
                        |state| state.parts.len(),
                        |state| {
                            state.parts.insert(number, part);
                        },
                    );
                }
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
        if resumed_bytes > 0 {
            self.progress.emit(Event::Bytes(resumed_bytes));
        }
        while let Some(done) = tasks.join_next().await {
            parts.push(joined(done)?);
        }
        parts.sort_by_key(|(p, _)| p.part_number);
        let sums = parts.iter().filter_map(|(_, s)| *s).collect();
        Ok((parts.into_iter().map(|(p, _)| p).collect(), sums))
    }

    /// A part an earlier run finished, as CompleteMultipartUpload wants it; `None` when its
    /// journalled checksum cannot be read (it is then sent again).
    fn resumed_part(
        &self,
        number: u32,
        part: &UploadedPart,
        range: &Range<u64>,
    ) -> Option<(CompletedPart, Option<PartChecksum>)> {
        let sum = match self.config.checksum {
            Some(algorithm) => Some(
                PartChecksum::from_base64(
                    algorithm,
                    part.checksum.as_deref()?,
                    range.end - range.start,
                )
                .ok()?,
            ),
            None => None,
        };
        let mut completed = CompletedPart::new(number, part.etag.clone());
        if let Some(sum) = &sum {
            set_checksum(&mut completed.checksums, sum);
        }
        Some((completed, sum))
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

/// ETags compared without their quotes (stores differ in whether they send them).
fn same_etag(a: &str, b: &str) -> bool {
    a.trim_matches('"') == b.trim_matches('"')
}

/// The file's modification time in nanoseconds since the epoch (0 when unknown).
fn modified_nanos(file: &File) -> u128 {
    file.metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos())
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

/// A mapped part as the bytes a checksum reads.
struct MapView(Arc<memmap2::Mmap>);

impl AsRef<[u8]> for MapView {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Hands a part's pages back to the kernel after its checksum has read them all, so that a
/// part waiting to be sent does not hold 8 MiB of resident memory: sending faults them in
/// again from the page cache a frame at a time (cheap: the kernel maps a neighbourhood of
/// cached pages per fault), and releases each frame once sent.
fn release_pages(map: &memmap2::Mmap) {
    // SAFETY: a private, read-only mapping of a file: dropped pages are read again from the
    // file, with the same bytes, when next touched. The whole mapping is page-aligned. A
    // failure only means the pages stay resident.
    let _ = unsafe { map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
}

/// Maps one part of the file. The request body hands each frame's pages back once it is
/// sent and the mapping goes when the part is done, so resident memory stays bounded by what
/// is in flight however large the file.
fn map_part(
    file: &File,
    path: &Path,
    range: Range<u64>,
) -> Result<Arc<memmap2::Mmap>, TransferError> {
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
    Ok(Arc::new(map))
}
