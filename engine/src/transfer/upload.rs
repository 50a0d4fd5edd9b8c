//! Local file → S3: one PutObject for small files, a parallel multipart upload otherwise.
//! A part is summed, then sent, reading it 512 KiB at a time with positional reads into
//! pooled buffers, so it is never held whole (never memory-mapped either: a file truncated
//! under a mapping kills the process with SIGBUS, where a read just comes up short). A file
//! found changed while it is read (shorter, longer, a new mtime) fails by name and its
//! multipart upload is aborted.

use super::buffers::BufferPool;
use super::events::Event;
use super::journal::{self, Journal, UploadIdentity, UploadState, UploadedPart};
use super::plan::PartPlan;
use super::{TransferError, Transfers, content_type};
use crate::checksum::{self, ChecksumAlgorithm, ChecksumType, PartChecksum};
use crate::http::aws_chunked::{self, TrailingSum};
use crate::http::{CHUNK, CHUNKED_MEMORY, ChunkSource, RequestBody, SentBytes};
use crate::s3::xml::CompletedPart;
use crate::s3::{ChecksumHeader, PutOptions};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;
use tokio::task::JoinSet;

impl Transfers {
    /// Uploads the file at `path` to `bucket`/`key`. Returns the bytes sent. A FIFO or a
    /// character device is read to its end and streamed ([`Transfers::upload_reader`]).
    pub async fn upload_file(
        &self,
        path: &Path,
        bucket: &str,
        key: &str,
    ) -> Result<u64, TransferError> {
        let name = format!("s3://{bucket}/{key}");
        let metadata = std::fs::metadata(path);
        if let Ok(metadata) = &metadata
            && let Some(what) = super::walk::special_kind(metadata.file_type())
        {
            return self.upload_special(path, what, bucket, key).await;
        }
        // A file that fits one PutObject is opened only once its request slot is free: the
        // files waiting their turn (hundreds, to keep every slot busy) hold no descriptor.
        let early_permit = match &metadata {
            Ok(m) if m.len() <= self.config.multipart_threshold => {
                Some((self.request_permit(m.len()).await, m.len()))
            }
            _ => None,
        };
        let opened = Source::open(path);
        let source = match opened {
            Ok(source) => Arc::new(source),
            Err(error) => {
                self.progress.failed(name, error.clone());
                return Err(error);
            }
        };
        let size = source.size;
        self.progress.emit(Event::Started {
            name: name.clone(),
            bytes: size,
        });
        let options = self.put_options(path);
        let result = if size <= self.config.multipart_threshold {
            let permit = match early_permit {
                Some((permit, for_bytes)) if for_bytes >= size => permit,
                // It grew since it was sized: its share of the memory budget grows too.
                other => {
                    drop(other);
                    self.request_permit(size).await
                }
            };
            self.put_whole(&source, permit, bucket, key, &options).await
        } else {
            drop(early_permit);
            self.multipart(source, bucket, key, &options).await
        };
        match &result {
            Ok(_) => self.progress.emit(Event::Finished { name, bytes: size }),
            Err(e) => {
                self.progress.failed(name, e.clone());
            }
        }
        result
    }

    /// A FIFO or a device named as a single source: streamed; a socket cannot be read.
    async fn upload_special(
        &self,
        path: &Path,
        what: &'static str,
        bucket: &str,
        key: &str,
    ) -> Result<u64, TransferError> {
        let opened = if what == "socket" {
            Err(std::io::Error::other("not a regular file (socket)"))
        } else {
            tokio::fs::File::open(path).await
        };
        match opened {
            Ok(file) => self.upload_reader(file, bucket, key).await,
            Err(e) => {
                let error = TransferError::io("opening", path, e);
                self.progress
                    .failed(format!("s3://{bucket}/{key}"), error.clone());
                Err(error)
            }
        }
    }

    /// Uploads what `reader` yields until its end to `bucket`/`key`, read sequentially into
    /// part-size buffers (within the memory budget): one PutObject when it ends within the
    /// first part, else a multipart upload built part by part (parts sent in parallel while
    /// the next are read) and aborted on any failure. For FIFOs, devices and standard input,
    /// whose size is not known ahead. Returns the bytes sent.
    pub async fn upload_reader<R>(
        &self,
        reader: R,
        bucket: &str,
        key: &str,
    ) -> Result<u64, TransferError>
    where
        R: tokio::io::AsyncRead + Unpin + Send,
    {
        let name = format!("s3://{bucket}/{key}");
        self.progress.emit(Event::Started {
            name: name.clone(),
            bytes: 0,
        });
        let options = self.put_options(Path::new(key));
        let result = self.stream_up(reader, &name, bucket, key, &options).await;
        match &result {
            Ok(bytes) => self.progress.emit(Event::Finished {
                name,
                bytes: *bytes,
            }),
            Err(e) => {
                self.progress.failed(name, e.clone());
            }
        }
        result
    }

    async fn stream_up<R>(
        &self,
        mut reader: R,
        name: &str,
        bucket: &str,
        key: &str,
        options: &PutOptions,
    ) -> Result<u64, TransferError>
    where
        R: tokio::io::AsyncRead + Unpin + Send,
    {
        let limits = &self.config.limits;
        let part_size = self
            .config
            .part_size
            .clamp(limits.min_part_size, limits.max_part_size);
        let permit = self.permit(part_size).await;
        let first = read_up_to(&mut reader, part_size, name).await?;
        if (first.len() as u64) < part_size {
            let _permit = permit;
            return self.put_bytes(first, bucket, key, options).await;
        }
        let mut options = options.clone();
        self.announce_checksum(&mut options);
        let upload_id = self.start_upload(bucket, key, &options).await?;
        let sent = self
            .reader_parts(
                reader, first, permit, part_size, name, bucket, key, &upload_id,
            )
            .await;
        let completed = match sent {
            Ok((parts, sums, total)) => match self.full_object_headers(&sums) {
                Ok(headers) => self
                    .client
                    .complete_multipart_upload(bucket, key, &upload_id, &parts, &headers)
                    .await
                    .map(|_| total)
                    .map_err(TransferError::from),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        if completed.is_err() {
            self.abort(bucket, key, &upload_id).await;
        }
        self.finish_upload(bucket, key, &upload_id).await;
        completed
    }

    /// The parts of a streamed upload: `first`, then what `reader` yields, a part at a time.
    #[allow(clippy::too_many_arguments)]
    async fn reader_parts<R>(
        &self,
        mut reader: R,
        first: Bytes,
        first_permit: super::Permit,
        part_size: u64,
        name: &str,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(Vec<CompletedPart>, Vec<PartChecksum>, u64), TransferError>
    where
        R: tokio::io::AsyncRead + Unpin + Send,
    {
        let mut tasks = JoinSet::new();
        let mut parts = Vec::new();
        let mut total = 0u64;
        let mut next = Some((first, first_permit));
        let mut number = 0u32;
        while let Some((data, permit)) = next.take() {
            number += 1;
            if u64::from(number) > self.config.limits.max_parts {
                return Err(TransferError::Integrity {
                    name: name.into(),
                    message: format!(
                        "the stream is longer than {} parts of {part_size} bytes; use larger parts",
                        self.config.limits.max_parts
                    ),
                });
            }
            total += data.len() as u64;
            let full = data.len() as u64 == part_size;
            tasks.spawn(self.clone().send_part(
                data,
                permit,
                number,
                bucket.to_owned(),
                key.to_owned(),
                upload_id.to_owned(),
            ));
            while let Some(done) = tasks.try_join_next() {
                parts.push(joined(done)?);
            }
            // A stream's parts are copies held whole until sent: at most half the memory
            // budget's worth in flight (a 1 GiB `tar | ferry cp -` stays under 64 MiB).
            let in_flight = (self.config.memory_budget / (2 * part_size)).max(2) as usize;
            while tasks.len() >= in_flight
                && let Some(done) = tasks.join_next().await
            {
                parts.push(joined(done)?);
            }
            if full {
                let permit = self.permit(part_size).await;
                let data = read_up_to(&mut reader, part_size, name).await?;
                if !data.is_empty() {
                    next = Some((data, permit));
                }
            }
        }
        while let Some(done) = tasks.join_next().await {
            parts.push(joined(done)?);
        }
        parts.sort_by_key(|(p, _)| p.part_number);
        let sums = parts.iter().filter_map(|(_, s)| *s).collect();
        Ok((parts.into_iter().map(|(p, _)| p).collect(), sums, total))
    }

    /// One part of a streamed upload, with its checksum.
    async fn send_part(
        self,
        data: Bytes,
        permit: super::Permit,
        number: u32,
        bucket: String,
        key: String,
        upload_id: String,
    ) -> Result<(CompletedPart, Option<PartChecksum>), TransferError> {
        let _permit = permit;
        let (sum, headers) = self.integrity(&data).await;
        let sent = self.sent_bytes(&bucket, &key);
        let etag = self
            .client
            .upload_part(
                &bucket,
                &key,
                &upload_id,
                number,
                RequestBody::part(data.clone()).reporting(sent.clone()),
                &headers,
            )
            .await?;
        let part = self.part_done(&bucket, &key, number, data.len() as u64, &sent, etag, &sum);
        Ok((part, sum))
    }

    /// A part the store accepted: progress completed to its size (a store may answer before
    /// reading it all: progress ends at the part's size, never past it), `PartDone`
    /// reported, and the part as CompleteMultipartUpload lists it.
    #[allow(clippy::too_many_arguments)]
    fn part_done(
        &self,
        bucket: &str,
        key: &str,
        number: u32,
        len: u64,
        sent: &SentBytes,
        etag: String,
        sum: &Option<PartChecksum>,
    ) -> CompletedPart {
        if sent.reported() < len {
            self.progress
                .bytes(&format!("s3://{bucket}/{key}"), len - sent.reported());
        }
        self.progress.emit(Event::PartDone {
            name: format!("s3://{bucket}/{key}"),
            part: u64::from(number),
        });
        let mut part = CompletedPart::new(number, etag);
        if let Some(sum) = sum {
            set_checksum(&mut part.checksums, sum);
        }
        part
    }

    fn put_options(&self, path: &Path) -> PutOptions {
        let mut options = self.config.put.clone();
        if options.content_type.is_none() {
            options.content_type = Some(content_type::guess(path).to_owned());
        }
        options
    }

    /// One PutObject of the whole of `source`, in the request slot `permit`.
    async fn put_whole(
        &self,
        source: &Arc<Source>,
        permit: super::Permit,
        bucket: &str,
        key: &str,
        options: &PutOptions,
    ) -> Result<u64, TransferError> {
        let size = source.size;
        let _permit = permit;
        let (data, headers) = source
            .read_summed(0..size, self.integrity_kind(), &self.buffers)
            .await?;
        self.send_put(data, headers, bucket, key, options).await
    }

    /// One PutObject of `data`, with its checksum; progress moves as the frames go out.
    async fn put_bytes(
        &self,
        data: Bytes,
        bucket: &str,
        key: &str,
        options: &PutOptions,
    ) -> Result<u64, TransferError> {
        let (_, headers) = self.integrity(&data).await;
        self.send_put(data, headers, bucket, key, options).await
    }

    /// One PutObject of `data` with its integrity `headers`.
    async fn send_put(
        &self,
        data: Bytes,
        headers: Vec<ChecksumHeader>,
        bucket: &str,
        key: &str,
        options: &PutOptions,
    ) -> Result<u64, TransferError> {
        let size = data.len() as u64;
        let mut options = options.clone();
        options.checksum_headers.extend(headers);
        let body = if data.is_empty() {
            RequestBody::empty()
        } else {
            RequestBody::part(data).reporting(self.sent_bytes(bucket, key))
        };
        self.client.put_object(bucket, key, body, &options).await?;
        Ok(size)
    }

    /// What lets the store verify `data` as it arrives: its checksum header (the sum is
    /// returned for CompleteMultipartUpload), or, when no checksum is sent
    /// (`--checksum-algorithm none`), its `Content-MD5`, unless
    /// [`super::TransferConfig::content_md5`] is off. Hashed on the blocking pool, one part
    /// per core at a time.
    async fn integrity(&self, data: &Bytes) -> (Option<PartChecksum>, Vec<ChecksumHeader>) {
        let Some(integrity) = self.integrity_kind() else {
            return (None, Vec::new());
        };
        let _slot = self.checksum_slot().await;
        let data = data.clone();
        match tokio::task::spawn_blocking(move || integrity.sum(&data)).await {
            Ok(summed) => summed,
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }

    /// Sends one part of a file, read a chunk at a time as it goes: with its CRC as an
    /// aws-chunked trailer where it can (one read), else summed first (two reads). A framed
    /// part the store refuses with a 4xx is sent once more with the checksum as a header;
    /// if that one is taken, the store does not take aws-chunked bodies (or, as SeaweedFS
    /// with authentication off, cannot authenticate them), and every later part goes with
    /// the header too. Returns the part's ETag and checksum.
    async fn send_file_part(
        &self,
        part: &PartToSend<'_>,
    ) -> Result<(String, Option<PartChecksum>), TransferError> {
        let chunks: Arc<dyn ChunkSource> = Arc::new(FileChunks {
            source: part.source.clone(),
            buffers: self.buffers.clone(),
        });
        // The store's answer to the framed part, once it refused one.
        let mut refused: Option<crate::s3::Error> = None;
        loop {
            let trailing = match refused {
                Some(_) => None,
                None => self.trailing_algorithm().map(|a| (a, TrailingSum::new())),
            };
            let (sum, headers) = match &trailing {
                Some(_) => (None, Vec::new()),
                None => {
                    self.range_integrity(part.source, part.range.clone())
                        .await?
                }
            };
            let send = || {
                let mut body = RequestBody::chunked(chunks.clone(), part.range.clone())
                    .reporting(part.sent.clone());
                if let Some((algorithm, slot)) = &trailing {
                    body = body.with_trailing_checksum(*algorithm, slot.clone());
                }
                self.client.upload_part(
                    part.bucket,
                    part.key,
                    part.upload_id,
                    part.number,
                    body,
                    &headers,
                )
            };
            let answer = match &self.part_hedger {
                Some(hedger) => hedger.run(send).await,
                None => send().await,
            };
            match answer {
                Ok(etag) => {
                    if let Some(error) = &refused
                        && !self.trailer_refused.swap(true, Ordering::Relaxed)
                    {
                        tracing::warn!(
                            bucket = part.bucket,
                            key = part.key,
                            %error,
                            "the store refused a part sent aws-chunked and took it with its checksum in a header; every later part goes so too (--checksum-in-header)"
                        );
                    }
                    return Ok((etag, trailing.map_or(sum, |(_, slot)| slot.get())));
                }
                // A body that failed mid-way because the file moved under it (or a store
                // refusing bytes that no longer match their checksum) is the file changing,
                // not the store failing.
                Err(_) if part.source.changed().unwrap_or(true) => {
                    return Err(part.source.changed_error());
                }
                Err(error) if trailing.is_some() && may_refuse_aws_chunked(&error) => {
                    refused = Some(error);
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// The checksum algorithm file parts send as an aws-chunked trailer, if they do (a CRC,
    /// unless [`super::TransferConfig::checksum_trailer`] is off).
    fn trailing_algorithm(&self) -> Option<checksum::ChecksumAlgorithm> {
        let refused = self.trailer_refused.load(Ordering::Relaxed);
        self.config
            .checksum
            .filter(|a| self.config.checksum_trailer && !refused && aws_chunked::can_trail(*a))
    }

    /// What bodies are summed with before they are sent, if anything (see
    /// [`Self::integrity`]).
    fn integrity_kind(&self) -> Option<Integrity> {
        match self.config.checksum {
            Some(algorithm) => Some(Integrity::Checksum(algorithm)),
            None if self.config.content_md5 => Some(Integrity::ContentMd5),
            None => None,
        }
    }

    /// Like [`Self::integrity`], for bytes `range` of a file, summed a chunk at a time on the
    /// blocking pool (one part per core at a time) without holding the part.
    async fn range_integrity(
        &self,
        source: &Arc<Source>,
        range: Range<u64>,
    ) -> Result<(Option<PartChecksum>, Vec<ChecksumHeader>), TransferError> {
        let Some(integrity) = self.integrity_kind() else {
            return Ok((None, Vec::new()));
        };
        let _slot = self.checksum_slot().await;
        let (source, buffers) = (source.clone(), self.buffers.clone());
        let summed = tokio::task::spawn_blocking(move || {
            source
                .sum_range(range, integrity, &buffers)
                .map_err(|e| TransferError::io("reading", &source.path, e))
        });
        match summed.await {
            Ok(result) => result,
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }

    /// Reports a body's bytes, of `s3://bucket/key`, as [`Event::Bytes`] as they are sent,
    /// once each.
    fn sent_bytes(&self, bucket: &str, key: &str) -> Arc<SentBytes> {
        let progress = self.progress.clone();
        let name: Arc<str> = format!("s3://{bucket}/{key}").into();
        SentBytes::new(move |bytes| {
            progress.emit(Event::Bytes {
                name: name.clone(),
                bytes,
            })
        })
    }

    async fn multipart(
        &self,
        source: Arc<Source>,
        bucket: &str,
        key: &str,
        options: &PutOptions,
    ) -> Result<u64, TransferError> {
        let (path, size) = (source.path.as_path(), source.size);
        let plan = PartPlan::new(size, self.config.part_size, &self.config.limits)?;
        self.collect_stale_journals().await;
        let mut options = options.clone();
        self.announce_checksum(&mut options);
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        let endpoint = self.client.endpoint().service_url();
        let identity = UploadIdentity {
            endpoint: &endpoint,
            bucket,
            key,
            source: &absolute,
            size,
            modified: modified_nanos(source.modified),
            part_size: plan.part_size,
            algorithm: self.config.checksum.map(ChecksumAlgorithm::s3_name),
        };
        let journal_path = self.state_dir().map(|dir| identity.journal_path(&dir));
        let resumed = match &journal_path {
            Some(journal_path) => self.resume_upload(journal_path, &identity).await,
            None => None,
        };
        let (upload_id, done) = match resumed {
            Some((id, done)) => {
                self.track_upload(bucket, key, &id, true);
                (id, done)
            }
            None => (
                self.start_upload(bucket, key, &options).await?,
                BTreeMap::new(),
            ),
        };
        let journal = journal_path.map(|journal_path| {
            self.track_journal(&upload_id, journal_path.clone());
            let mut state = identity.state(&upload_id);
            state.parts = done.clone();
            let journal = Arc::new(Journal::new(journal_path, state));
            journal.flush();
            journal
        });
        let parts = self
            .upload_parts(
                &source,
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
        // the same command continues it. A clean failure aborts the upload and forgets it,
        // but the journal goes only once the store confirmed the abort: an upload that could
        // not be aborted (the store down at that moment) is found by the next run.
        if let Err(error) = completed {
            let gone = self.abort(bucket, key, &upload_id).await;
            if gone && let Some(journal) = &journal {
                journal.remove();
            }
            self.finish_upload(bucket, key, &upload_id).await;
            return Err(error);
        }
        if let Some(journal) = &journal {
            journal.remove();
        }
        self.finish_upload(bucket, key, &upload_id).await;
        Ok(size)
    }

    /// Once per engine: the upload journals of runs that were never repeated (not written
    /// for [`STALE_JOURNAL_AGE`]) on this endpoint have their uploads aborted (their parts
    /// are billed until then) and are removed. Journals of other endpoints are left alone.
    async fn collect_stale_journals(&self) {
        let Some(dir) = self.state_dir() else {
            return;
        };
        self.stale_journals_collected
            .get_or_init(|| async {
                let endpoint = self.client.endpoint().service_url();
                let stale = tokio::task::spawn_blocking(move || {
                    journal::stale_upload_journals(&dir, STALE_JOURNAL_AGE)
                })
                .await
                .unwrap_or_default();
                for (path, state) in stale {
                    if state.endpoint != endpoint {
                        continue;
                    }
                    let (bucket, key) = (&state.bucket, &state.key);
                    if self.abort(bucket, key, &state.upload_id).await {
                        tracing::info!(
                            bucket,
                            key,
                            "aborted the multipart upload of a run never repeated"
                        );
                        journal::remove(&path);
                    }
                }
            })
            .await;
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
            // The file (or the options) changed since: that upload cannot be continued, and
            // left open it would hold its parts for good.
            if self
                .abort(&state.bucket, &state.key, &state.upload_id)
                .await
            {
                journal::remove(journal_path);
            }
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
                    let gone = error.service().is_some_and(|s| s.is_no_such_upload())
                        || {
                            tracing::warn!(bucket, key, %error, "could not list the parts of an interrupted upload; starting over");
                            self.abort(bucket, key, id).await
                        };
                    if gone {
                        journal::remove(journal_path);
                    }
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
        source: &Arc<Source>,
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
            // The part is read a chunk at a time while it is sent, never held whole: its
            // share of the memory budget is what a chunked body holds at once.
            let permit = self.permit(CHUNKED_MEMORY).await;
            if let Some(done) = tasks.try_join_next() {
                parts.push(joined(done)?);
            }
            let source = source.clone();
            let (this, bucket, key, upload_id) = (
                self.clone(),
                bucket.to_owned(),
                key.to_owned(),
                upload_id.to_owned(),
            );
            let journal = journal.cloned();
            tasks.spawn(async move {
                let _permit = permit;
                let number = index as u32 + 1;
                let sent = this.sent_bytes(&bucket, &key);
                let to_send = PartToSend {
                    source: &source,
                    range: range.clone(),
                    number,
                    bucket: &bucket,
                    key: &key,
                    upload_id: &upload_id,
                    sent: &sent,
                };
                let (etag, sum) = this.send_file_part(&to_send).await?;
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
                let len = range.end - range.start;
                let done = this.part_done(&bucket, &key, number, len, &sent, etag, &sum);
                Ok::<_, TransferError>((done, sum))
            });
        }
        if resumed_bytes > 0 {
            self.progress
                .bytes(&format!("s3://{bucket}/{key}"), resumed_bytes);
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
    ) -> Result<Vec<ChecksumHeader>, TransferError> {
        if !self
            .config
            .checksum
            .is_some_and(|a| a.supports_full_object())
        {
            return Ok(Vec::new());
        }
        let whole = checksum::combine(sums).map_err(|e| TransferError::Integrity {
            name: "the upload's checksum".into(),
            message: e.to_string(),
        })?;
        Ok(vec![
            ChecksumHeader::Value(whole),
            ChecksumHeader::Type(ChecksumType::FullObject),
        ])
    }

    /// AbortMultipartUpload, best effort: a failure is logged (the upload is then visible to
    /// ListMultipartUploads and to bucket lifecycle rules). Returns whether the upload is
    /// gone (aborted now, or already unknown to the store).
    async fn abort(&self, bucket: &str, key: &str, upload_id: &str) -> bool {
        match self
            .client
            .abort_multipart_upload(bucket, key, upload_id)
            .await
        {
            Ok(()) => true,
            Err(error) if error.service().is_some_and(|s| s.is_no_such_upload()) => true,
            Err(error) => {
                tracing::warn!(bucket, key, upload_id, %error, "could not abort the multipart upload; its journal is kept so that the next run of the same command resumes or aborts it");
                false
            }
        }
    }
}

/// How long an upload journal may go unwritten before its run counts as never repeated, and
/// its upload is aborted by the next multipart upload to the same endpoint.
pub const STALE_JOURNAL_AGE: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// ETags compared without their quotes (stores differ in whether they send them).
fn same_etag(a: &str, b: &str) -> bool {
    a.trim_matches('"') == b.trim_matches('"')
}

/// A modification time in nanoseconds since the epoch (0 when unknown).
fn modified_nanos(modified: Option<SystemTime>) -> u128 {
    modified
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

/// Up to `len` bytes from `reader`: fewer only at its end.
async fn read_up_to<R>(reader: &mut R, len: u64, name: &str) -> Result<Bytes, TransferError>
where
    R: tokio::io::AsyncRead + Unpin + Send,
{
    use tokio::io::AsyncReadExt;
    let mut buffer = Vec::with_capacity(len as usize);
    (&mut *reader)
        .take(len)
        .read_to_end(&mut buffer)
        .await
        .map_err(|e| TransferError::io("reading", name, e))?;
    Ok(Bytes::from(buffer))
}

/// Why an upload stopped: the file is not what it was when the upload began.
pub(crate) const CHANGED: &str = "changed while being read";

/// An open file being uploaded, with its size and mtime when it was opened: every read
/// checks them again, so a file truncated, grown or rewritten during the upload fails (by
/// name, "changed while being read") instead of sending a mix of versions.
#[derive(Debug)]
struct Source {
    file: Arc<File>,
    path: PathBuf,
    size: u64,
    modified: Option<SystemTime>,
}

impl Source {
    fn open(path: &Path) -> Result<Self, TransferError> {
        let file = File::open(path).map_err(|e| TransferError::io("opening", path, e))?;
        let metadata = file
            .metadata()
            .map_err(|e| TransferError::io("reading the size of", path, e))?;
        Ok(Self {
            file: Arc::new(file),
            path: path.to_owned(),
            size: metadata.len(),
            modified: metadata.modified().ok(),
        })
    }

    /// The bytes of `range` and their integrity headers (see [`Transfers::integrity`]),
    /// read and summed in one task on the blocking pool: for a small object the hand-over
    /// to another thread costs more than the read and the sum, so it is paid once, and not
    /// at all up to [`super::INLINE_FILE_IO`] bytes.
    async fn read_summed(
        self: &Arc<Self>,
        range: Range<u64>,
        integrity: Option<Integrity>,
        buffers: &Arc<BufferPool>,
    ) -> Result<(Bytes, Vec<ChecksumHeader>), TransferError> {
        let (this, buffers) = (self.clone(), buffers.clone());
        let inline = range.end - range.start <= super::INLINE_FILE_IO;
        let read = move || {
            let data = this
                .read_at(range, &buffers)
                .map_err(|e| TransferError::io("reading", &this.path, e))?;
            let headers = integrity.map_or_else(Vec::new, |i| i.sum(&data).1);
            Ok((data, headers))
        };
        if inline {
            // As short as the stat and the open this file already had on this thread.
            return read();
        }
        match tokio::task::spawn_blocking(read).await {
            Ok(result) => result,
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }

    /// The bytes of `range` (blocking), read with one positional read into one pooled buffer
    /// (what the memory budget counts), then the file's size and mtime checked again. A read
    /// that comes up short, or a size or mtime that moved, is [`CHANGED`].
    fn read_at(&self, range: Range<u64>, buffers: &Arc<BufferPool>) -> std::io::Result<Bytes> {
        let mut buffer = buffers.take((range.end - range.start) as usize);
        match self.file.read_exact_at(&mut buffer, range.start) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(std::io::Error::other(CHANGED));
            }
            Err(e) => return Err(e),
        }
        if self.changed()? {
            return Err(std::io::Error::other(CHANGED));
        }
        Ok(buffer.freeze())
    }

    /// Whether the file's size or mtime moved since it was opened.
    fn changed(&self) -> std::io::Result<bool> {
        let now = self.file.metadata()?;
        Ok(now.len() != self.size || now.modified().ok() != self.modified)
    }

    /// The [`CHANGED`] error of this file.
    fn changed_error(&self) -> TransferError {
        TransferError::io("reading", &self.path, std::io::Error::other(CHANGED))
    }

    /// The checksum (or, with `md5`, the `Content-MD5`) of `range`, read [`CHUNK`] bytes at
    /// a time into one pooled buffer (blocking): a part is summed before it is sent without
    /// being held whole.
    fn sum_range(
        &self,
        range: Range<u64>,
        integrity: Integrity,
        buffers: &Arc<BufferPool>,
    ) -> std::io::Result<(Option<PartChecksum>, Vec<ChecksumHeader>)> {
        let mut hasher = integrity.hasher();
        let mut offset = range.start;
        while offset < range.end {
            let len = (range.end - offset).min(CHUNK as u64);
            let chunk = self.read_at(offset..offset + len, buffers)?;
            hasher.update(&chunk);
            offset += len;
        }
        Ok(hasher.finish())
    }
}

/// One part of a file upload, for [`Transfers::send_file_part`].
struct PartToSend<'a> {
    source: &'a Arc<Source>,
    range: Range<u64>,
    number: u32,
    bucket: &'a str,
    key: &'a str,
    upload_id: &'a str,
    sent: &'a Arc<SentBytes>,
}

/// Whether `error`, the answer to a part sent aws-chunked, may be the store not taking such
/// bodies: a 4xx or 501 that is not about the upload (NoSuchUpload), the data (BadDigest)
/// or permissions (AccessDenied). Stores that predate aws-chunked answer 400 or 501;
/// SeaweedFS without identities answers 403 InvalidAccessKeyId to a framed body it cannot
/// authenticate, while it takes plain ones.
fn may_refuse_aws_chunked(error: &crate::s3::Error) -> bool {
    error.service().is_some_and(|e| {
        (e.status().is_client_error() || e.status() == http::StatusCode::NOT_IMPLEMENTED)
            && !e.is_no_such_upload()
            && !matches!(e.code(), "BadDigest" | "AccessDenied")
    })
}

/// What a part is summed with before it is sent.
#[derive(Debug, Clone, Copy)]
enum Integrity {
    Checksum(checksum::ChecksumAlgorithm),
    ContentMd5,
}

impl Integrity {
    /// The checksum of `data` (for CompleteMultipartUpload) and the header that carries it.
    fn sum(self, data: &[u8]) -> (Option<PartChecksum>, Vec<ChecksumHeader>) {
        let mut hasher = self.hasher();
        hasher.update(data);
        hasher.finish()
    }

    /// A hasher for a body summed this way.
    fn hasher(self) -> IntegrityHasher {
        match self {
            Integrity::Checksum(algorithm) => {
                IntegrityHasher::Checksum(checksum::Hasher::new(algorithm))
            }
            Integrity::ContentMd5 => IntegrityHasher::ContentMd5(md5::Md5::default()),
        }
    }
}

/// A body being summed for its integrity header (one at a time, on a blocking thread's
/// stack: the size of the CRC tables' variant does not matter).
#[allow(clippy::large_enum_variant)]
enum IntegrityHasher {
    Checksum(checksum::Hasher),
    ContentMd5(md5::Md5),
}

impl IntegrityHasher {
    fn update(&mut self, data: &[u8]) {
        use md5::Digest;
        match self {
            IntegrityHasher::Checksum(hasher) => hasher.update(data),
            IntegrityHasher::ContentMd5(md5) => md5.update(data),
        }
    }

    /// The checksum (for CompleteMultipartUpload) and the header that carries it.
    fn finish(self) -> (Option<PartChecksum>, Vec<ChecksumHeader>) {
        use md5::Digest;
        match self {
            IntegrityHasher::Checksum(hasher) => {
                let sum = hasher.finish();
                (Some(sum), vec![ChecksumHeader::Value(sum)])
            }
            IntegrityHasher::ContentMd5(md5) => {
                use base64::Engine;
                let md5 = base64::engine::general_purpose::STANDARD.encode(md5.finalize());
                (None, vec![ChecksumHeader::ContentMd5(md5)])
            }
        }
    }
}

/// A file being uploaded as the source of chunked part bodies (read again by a retry).
#[derive(Debug)]
struct FileChunks {
    source: Arc<Source>,
    buffers: Arc<BufferPool>,
}

impl ChunkSource for FileChunks {
    fn read_chunk(&self, offset: u64, len: usize) -> std::io::Result<Bytes> {
        self.source
            .read_at(offset..offset + len as u64, &self.buffers)
    }
}
