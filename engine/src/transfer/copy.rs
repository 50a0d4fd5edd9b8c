//! S3 → S3. On one endpoint the store copies: CopyObject up to `max_single_put` (5 GiB),
//! else a multipart upload whose parts are UploadPartCopy ranges sent in parallel. Across
//! endpoints or credentials the bytes pass through: ranged GETs from the source (each answer's
//! `Content-Range` checked, pinned to the source's ETag) read into memory and sent as
//! UploadParts to the destination, at most the memory budget's worth of parts in flight; a
//! small object of a listed prefix is one whole GET (its headers standing in for the HEAD)
//! and one PutObject.
//! Either way a multipart upload that fails is aborted, so nothing is left to be billed.

use super::events::Event;
use super::plan::PartPlan;
use super::{TransferError, TransferSummary, Transfers};
use crate::checksum::{self, ChecksumAlgorithm, ChecksumType, PartChecksum};
use crate::http::RequestBody;
use crate::s3::xml::CompletedPart;
use crate::s3::{ChecksumHeader, ListObjects, ObjectInfo, PutOptions, S3Client};
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// What one part task returns: the part for Complete, and its checksum (when sending one).
type PartDone = (CompletedPart, Option<PartChecksum>);

impl Transfers {
    /// Copies `src_bucket`/`src_key` to `dst_bucket`/`dst_key` on this engine's endpoint,
    /// server-side (no bytes pass through ferry). Returns the object's size.
    pub async fn copy_object(
        &self,
        src_bucket: &str,
        src_key: &str,
        dst_bucket: &str,
        dst_key: &str,
    ) -> Result<u64, TransferError> {
        let info = self.client.head_object(src_bucket, src_key).await?;
        let name = format!("s3://{dst_bucket}/{dst_key}");
        self.progress.emit(Event::Started {
            name: name.clone(),
            bytes: info.size,
        });
        let result = if info.size <= self.config.limits.max_single_put {
            let _permit = self.request_permit(0).await;
            self.client
                .copy_object_with(
                    (src_bucket, src_key),
                    (dst_bucket, dst_key),
                    &self.config.put,
                    self.config.replace_metadata_on_copy,
                )
                .await
                .map(|_| {
                    self.progress.bytes(&name, info.size);
                    info.size
                })
                .map_err(TransferError::from)
        } else {
            self.copy_in_parts(&info, (src_bucket, src_key), dst_bucket, dst_key)
                .await
        };
        self.report(name, result)
    }

    /// Copies `src_bucket`/`src_key`, read through `source` (an engine with another client:
    /// another endpoint or other credentials), to `dst_bucket`/`dst_key` through this engine.
    /// Objects up to the part size (and the multipart threshold) are read whole and sent in
    /// one PutObject; larger ones go part by part, each a ranged GET held in memory until its
    /// UploadPart is done. Returns the object's size.
    pub async fn copy_across(
        &self,
        source: &Transfers,
        src_bucket: &str,
        src_key: &str,
        dst_bucket: &str,
        dst_key: &str,
    ) -> Result<u64, TransferError> {
        let info = source.client.head_object(src_bucket, src_key).await?;
        let name = format!("s3://{dst_bucket}/{dst_key}");
        self.progress.emit(Event::Started {
            name: name.clone(),
            bytes: info.size,
        });
        let src = (src_bucket, src_key);
        let result = if info.size <= self.whole_copy_size() {
            self.put_across(&source.client, &info, src, dst_bucket, dst_key)
                .await
        } else {
            self.stream_in_parts(&source.client, &info, src, dst_bucket, dst_key)
                .await
        };
        self.report(name, result)
    }

    /// Copies every object under `src_prefix` to below `dst_prefix` (a `/` is added to a
    /// non-empty destination prefix that lacks one), server-side on this engine's endpoint:
    /// `src_prefix` + `a/b` becomes `dst_prefix/a/b`. The listing is streamed, never held whole.
    pub async fn copy_prefix(
        &self,
        src_bucket: &str,
        src_prefix: &str,
        dst_bucket: &str,
        dst_prefix: &str,
    ) -> TransferSummary {
        self.copy_listed(
            None,
            src_bucket,
            src_prefix,
            dst_bucket,
            dst_prefix,
            &|_| true,
        )
        .await
    }

    /// Like [`copy_prefix`](Self::copy_prefix) (or [`copy_prefix_across`](Self::copy_prefix_across)
    /// when `source` is given), for the objects whose key below `src_prefix` `select` accepts.
    pub async fn copy_prefix_where(
        &self,
        source: Option<&Transfers>,
        src: (&str, &str),
        dst: (&str, &str),
        select: &(dyn Fn(&str) -> bool + Sync),
    ) -> TransferSummary {
        self.copy_listed(source, src.0, src.1, dst.0, dst.1, select)
            .await
    }

    /// [`copy_prefix`](Self::copy_prefix) with the source read through `source` (another
    /// endpoint or other credentials), each object as [`copy_across`](Self::copy_across) does.
    pub async fn copy_prefix_across(
        &self,
        source: &Transfers,
        src_bucket: &str,
        src_prefix: &str,
        dst_bucket: &str,
        dst_prefix: &str,
    ) -> TransferSummary {
        self.copy_prefix_where(
            Some(source),
            (src_bucket, src_prefix),
            (dst_bucket, dst_prefix),
            &|_| true,
        )
        .await
    }

    async fn copy_listed(
        &self,
        source: Option<&Transfers>,
        src_bucket: &str,
        src_prefix: &str,
        dst_bucket: &str,
        dst_prefix: &str,
        select: &(dyn Fn(&str) -> bool + Sync),
    ) -> TransferSummary {
        let started = Instant::now();
        let lister = source.map_or(&self.client, |s| &s.client);
        let retries_before = self.retries_with(source);
        let options = ListObjects {
            prefix: (!src_prefix.is_empty()).then(|| src_prefix.to_owned()),
            ..ListObjects::default()
        };
        let mut pages = lister.list_objects(src_bucket, options);
        let objects = Arc::new(Semaphore::new(self.tasks_ahead()));
        let mut tasks = JoinSet::new();
        let mut summary = TransferSummary::default();
        loop {
            let page = match pages.next_page().await {
                Ok(Some(page)) => page,
                Ok(None) => break,
                Err(error) => {
                    let name = format!("s3://{src_bucket}/{src_prefix}");
                    summary.record(name, Err(error.into()));
                    break;
                }
            };
            for object in page.contents {
                let Some(dst_key) = destination_key(src_prefix, dst_prefix, &object.key) else {
                    continue; // the prefix itself (a "directory" marker): nothing below it
                };
                if !select(object.key.strip_prefix(src_prefix).unwrap_or(&object.key)) {
                    continue;
                }
                let permit = objects.clone().acquire_owned().await;
                let (this, source) = (self.clone(), source.cloned());
                let (src_bucket, dst_bucket) = (src_bucket.to_owned(), dst_bucket.to_owned());
                let (src_key, size) = (object.key, object.size);
                tasks.spawn(async move {
                    let _permit = permit;
                    // Named as its progress events name it (by its destination), so that a
                    // failure is listed once.
                    let name = format!("s3://{dst_bucket}/{dst_key}");
                    let result = match &source {
                        Some(source) => {
                            let (src, dst) = ((&*src_bucket, &*src_key), (&*dst_bucket, &*dst_key));
                            this.copy_listed_across(source, src, dst, size).await
                        }
                        None => {
                            this.copy_object(&src_bucket, &src_key, &dst_bucket, &dst_key)
                                .await
                        }
                    };
                    (name, result)
                });
                while let Some(done) = tasks.try_join_next() {
                    let (name, result) = joined(done);
                    summary.record(name, result);
                }
            }
        }
        while let Some(done) = tasks.join_next().await {
            let (name, result) = joined(done);
            summary.record(name, result);
        }
        summary.retries = self.retries_with(source) - retries_before;
        summary.seconds = started.elapsed().as_secs_f64();
        summary
    }

    /// A listed object across endpoints. One the listing says is small enough for one
    /// PutObject is read with a single GET, whose headers stand in for the HEAD, then sent:
    /// two round trips where [`copy_across`](Self::copy_across) takes three. One that has
    /// grown since the listing, or whose answer breaks off, goes [`copy_across`]'s way.
    async fn copy_listed_across(
        &self,
        source: &Transfers,
        src: (&str, &str),
        dst: (&str, &str),
        listed_size: u64,
    ) -> Result<u64, TransferError> {
        if listed_size <= self.whole_copy_size() {
            // Two requests for one object: request-bound work, as in `put_across`. The slot
            // is given back before the fallback, which takes its own.
            let _permit = self.request_permit(listed_size).await;
            if let Some((info, bytes)) = self.read_whole(&source.client, src, listed_size).await? {
                let name = format!("s3://{}/{}", dst.0, dst.1);
                self.progress.emit(Event::Started {
                    name: name.clone(),
                    bytes: info.size,
                });
                let result = self.put_read(&source.client, &info, bytes, src, dst).await;
                return self.report(name, result);
            }
        }
        self.copy_across(source, src.0, src.1, dst.0, dst.1).await
    }

    /// The largest object a copy across endpoints reads whole and sends in one PutObject.
    fn whole_copy_size(&self) -> u64 {
        self.config.multipart_threshold.min(self.config.part_size)
    }

    /// One GET of a whole object listed at `listed` bytes (what its slot holds in the memory
    /// budget): its description (from the answer's headers) and bytes. `None` where it holds
    /// more than that (it was replaced since the listing) or the answer broke off mid-way.
    async fn read_whole(
        &self,
        source: &S3Client,
        (bucket, key): (&str, &str),
        listed: u64,
    ) -> Result<Option<(ObjectInfo, bytes::Bytes)>, TransferError> {
        let mut output = source.get_object(bucket, key, None, None).await?;
        if output.content_length > listed {
            return Ok(None);
        }
        let mut buffer = bytes::BytesMut::with_capacity(output.content_length as usize);
        let name = || format!("s3://{bucket}/{key}");
        match read_up_to(&mut output.body, &mut buffer, listed as usize).await {
            BodyRead::Ended => {}
            BodyRead::TooLong => return Ok(None),
            BodyRead::BrokenOff(error) => {
                let name = name();
                tracing::debug!(%name, %error, "the single GET broke off; copying with a HEAD and ranges");
                self.progress.emit(Event::Retried { name });
                return Ok(None);
            }
        }
        let mut info = output.info;
        let read = buffer.len() as u64;
        if read != output.content_length {
            // hyper holds a body to its Content-Length, so this is an answer without one
            // (chunked), whose size is what it held.
            if output.content_length != 0 {
                let message = "the answer ended before its Content-Length".into();
                return Err(TransferError::Integrity {
                    name: name(),
                    message,
                });
            }
            info.size = read;
        }
        Ok(Some((info, buffer.freeze())))
    }

    fn retries_with(&self, source: Option<&Transfers>) -> u64 {
        self.client.retries() + source.map_or(0, |s| s.client.retries())
    }

    /// A server-side multipart copy: UploadPartCopy ranges in parallel, then Complete; the
    /// upload is aborted on any failure. Content type, headers, metadata and tags are
    /// carried over (a multipart copy does not copy them by itself).
    async fn copy_in_parts(
        &self,
        info: &ObjectInfo,
        src: (&str, &str),
        dst_bucket: &str,
        dst_key: &str,
    ) -> Result<u64, TransferError> {
        let plan = PartPlan::new(info.size, self.config.part_size, &self.config.limits)?;
        let options = self.copy_options(&self.client, src, info).await;
        let upload_id = self.start_upload(dst_bucket, dst_key, &options).await?;
        let name = format!("s3://{dst_bucket}/{dst_key}");
        let mut tasks = JoinSet::new();
        let mut parts = Vec::with_capacity(plan.parts as usize);
        let mut failure = None;
        for index in 0..plan.parts {
            let permit = self.permit(0).await;
            if let Err(error) = drain(&mut tasks, &mut parts) {
                failure = Some(error);
                break;
            }
            let range = plan.range(index);
            let this = self.clone();
            let (src_bucket, src_key) = (src.0.to_owned(), src.1.to_owned());
            let (bucket, key, id, name) = (
                dst_bucket.to_owned(),
                dst_key.to_owned(),
                upload_id.clone(),
                name.clone(),
            );
            tasks.spawn(async move {
                let _permit = permit;
                let number = index as u32 + 1;
                let copied = this
                    .client
                    .upload_part_copy(
                        (&src_bucket, &src_key),
                        &bucket,
                        &key,
                        &id,
                        number,
                        Some((range.start, range.end - 1)),
                    )
                    .await?;
                let etag = copied.etag.ok_or_else(|| TransferError::Integrity {
                    name: name.clone(),
                    message: format!("UploadPartCopy of part {number} answered no ETag"),
                })?;
                this.progress.bytes(&name, range.end - range.start);
                this.progress.emit(Event::PartDone {
                    name,
                    part: u64::from(number),
                });
                Ok::<PartDone, TransferError>((CompletedPart::new(number, etag), None))
            });
        }
        let result = match failure {
            Some(error) => {
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                Err(error)
            }
            None => finish(&mut tasks, parts).await,
        };
        let completed = match result {
            Ok((parts, _)) => self
                .client
                .complete_multipart_upload(dst_bucket, dst_key, &upload_id, &parts, &[])
                .await
                .map(drop)
                .map_err(TransferError::from),
            Err(error) => Err(error),
        };
        self.close_upload(dst_bucket, dst_key, &upload_id, completed)
            .await?;
        Ok(info.size)
    }

    /// Aborts the upload when `completed` failed; either way it is no longer open.
    async fn close_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        completed: Result<(), TransferError>,
    ) -> Result<(), TransferError> {
        if completed.is_err()
            && let Err(error) = self
                .client
                .abort_multipart_upload(bucket, key, upload_id)
                .await
        {
            tracing::warn!(bucket, key, upload_id, %error, "could not abort the multipart upload; it may still hold parts");
        }
        self.finish_upload(bucket, key, upload_id).await;
        completed
    }

    /// A small object across endpoints: read whole (it is no larger than one part), then one
    /// PutObject with its checksum.
    async fn put_across(
        &self,
        source: &S3Client,
        info: &ObjectInfo,
        src: (&str, &str),
        dst_bucket: &str,
        dst_key: &str,
    ) -> Result<u64, TransferError> {
        // Two requests for one object: request-bound work (up to 512 in flight, within the
        // memory budget), not a part.
        let _permit = self.request_permit(info.size).await;
        let bytes = if info.size == 0 {
            bytes::Bytes::new()
        } else {
            self.fetch_part(source, src, info, 0..info.size).await?
        };
        self.put_read(source, info, bytes, src, (dst_bucket, dst_key))
            .await
    }

    /// Sends the `bytes` read of a small source object as one PutObject, with the source's
    /// headers and, when asked for, a checksum checked against the source's.
    async fn put_read(
        &self,
        source: &S3Client,
        info: &ObjectInfo,
        bytes: bytes::Bytes,
        src: (&str, &str),
        (dst_bucket, dst_key): (&str, &str),
    ) -> Result<u64, TransferError> {
        let mut options = self.copy_options(source, src, info).await;
        if let Some(algorithm) = self.config.checksum {
            let sum = self.part_checksum(algorithm, bytes.clone()).await;
            verify_against_source(src, info, std::slice::from_ref(&sum))?;
            options.checksum_headers.push(ChecksumHeader::Value(sum));
        }
        self.client
            .put_object(dst_bucket, dst_key, RequestBody::bytes(bytes), &options)
            .await?;
        self.progress
            .bytes(&format!("s3://{dst_bucket}/{dst_key}"), info.size);
        Ok(info.size)
    }

    /// A large object across endpoints: a multipart upload at the destination whose parts are
    /// ranged GETs from the source, each held in memory only while it is sent.
    async fn stream_in_parts(
        &self,
        source: &S3Client,
        info: &ObjectInfo,
        src: (&str, &str),
        dst_bucket: &str,
        dst_key: &str,
    ) -> Result<u64, TransferError> {
        let plan = PartPlan::new(info.size, self.config.part_size, &self.config.limits)?;
        let mut options = self.copy_options(source, src, info).await;
        self.announce_checksum(&mut options);
        let upload_id = self.start_upload(dst_bucket, dst_key, &options).await?;
        let result = self
            .stream_parts(source, info, src, &plan, (dst_bucket, dst_key, &upload_id))
            .await;
        let completed = match result {
            Ok((parts, sums)) => match self.whole_checksum_headers(src, info, &sums) {
                Ok(headers) => self
                    .client
                    .complete_multipart_upload(dst_bucket, dst_key, &upload_id, &parts, &headers)
                    .await
                    .map(drop)
                    .map_err(TransferError::from),
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        };
        self.close_upload(dst_bucket, dst_key, &upload_id, completed)
            .await?;
        Ok(info.size)
    }

    /// Fetches and sends every part, as many at once as the request limit and the memory
    /// budget allow; stops at the first failure.
    async fn stream_parts(
        &self,
        source: &S3Client,
        info: &ObjectInfo,
        src: (&str, &str),
        plan: &PartPlan,
        dst: (&str, &str, &str),
    ) -> Result<(Vec<CompletedPart>, Vec<PartChecksum>), TransferError> {
        let mut tasks = JoinSet::new();
        let mut parts = Vec::with_capacity(plan.parts as usize);
        let name = format!("s3://{}/{}", dst.0, dst.1);
        for index in 0..plan.parts {
            let range = plan.range(index);
            let permit = self.permit(range.end - range.start).await;
            if let Err(error) = drain(&mut tasks, &mut parts) {
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                return Err(error);
            }
            let (this, source, info) = (self.clone(), source.clone(), info.clone());
            let (src_bucket, src_key) = (src.0.to_owned(), src.1.to_owned());
            let (bucket, key, id, name) = (
                dst.0.to_owned(),
                dst.1.to_owned(),
                dst.2.to_owned(),
                name.clone(),
            );
            let algorithm = self.config.checksum;
            tasks.spawn(async move {
                let _permit = permit;
                let number = index as u32 + 1;
                let len = range.end - range.start;
                let bytes = this
                    .fetch_part(&source, (&src_bucket, &src_key), &info, range)
                    .await?;
                let sum = match algorithm {
                    Some(algorithm) => Some(this.part_checksum(algorithm, bytes.clone()).await),
                    None => None,
                };
                let headers: Vec<ChecksumHeader> =
                    sum.map(ChecksumHeader::Value).into_iter().collect();
                let etag = this
                    .client
                    .upload_part(
                        &bucket,
                        &key,
                        &id,
                        number,
                        RequestBody::bytes(bytes),
                        &headers,
                    )
                    .await?;
                this.progress.bytes(&name, len);
                this.progress.emit(Event::PartDone {
                    name,
                    part: u64::from(number),
                });
                let mut part = CompletedPart::new(number, etag);
                if let Some(sum) = &sum {
                    set_checksum(&mut part.checksums, sum);
                }
                Ok::<PartDone, TransferError>((part, sum))
            });
        }
        finish(&mut tasks, parts).await
    }

    /// The headers that give Complete the whole object's checksum (full-object CRCs, combined
    /// from the parts'), after checking it against the source's when the source holds one of
    /// the same algorithm.
    fn whole_checksum_headers(
        &self,
        src: (&str, &str),
        info: &ObjectInfo,
        sums: &[PartChecksum],
    ) -> Result<Vec<ChecksumHeader>, TransferError> {
        verify_against_source(src, info, sums)?;
        if !self
            .config
            .checksum
            .is_some_and(|a| a.supports_full_object())
        {
            return Ok(Vec::new());
        }
        let whole = checksum::combine(sums).map_err(|e| TransferError::Integrity {
            name: "the copy's checksum".into(),
            message: e.to_string(),
        })?;
        Ok(vec![
            ChecksumHeader::Value(whole),
            ChecksumHeader::Type(ChecksumType::FullObject),
        ])
    }

    /// One range of the source read into memory: the answer's `Content-Range` must be the
    /// range asked for of an object of the size HEAD reported, and the ETag must still match;
    /// a body that breaks mid-way is asked for again from where it broke.
    async fn fetch_part(
        &self,
        source: &S3Client,
        src: (&str, &str),
        info: &ObjectInfo,
        range: Range<u64>,
    ) -> Result<bytes::Bytes, TransferError> {
        let (bucket, key) = src;
        let name = format!("s3://{bucket}/{key}");
        let len = (range.end - range.start) as usize;
        let mut buffer = bytes::BytesMut::with_capacity(len);
        let mut attempt = 1;
        while buffer.len() < len {
            let asked = (range.start + buffer.len() as u64, range.end - 1);
            let mut output = source
                .get_object(bucket, key, Some(asked), info.etag.as_deref())
                .await?;
            if output.range != Some((asked.0, asked.1, info.size)) {
                let message = format!(
                    "asked for bytes {}-{} of {}, the store answered {:?}",
                    asked.0, asked.1, info.size, output.range
                );
                return Err(TransferError::Integrity { name, message });
            }
            let error = match read_up_to(&mut output.body, &mut buffer, len).await {
                BodyRead::Ended if buffer.len() < len => {
                    let message = "the answer ended before its Content-Length".into();
                    return Err(TransferError::Integrity { name, message });
                }
                BodyRead::Ended => break,
                BodyRead::TooLong => {
                    let message = "the store sent more bytes than asked for".into();
                    return Err(TransferError::Integrity { name, message });
                }
                BodyRead::BrokenOff(error) => error,
            };
            let reason = error
                .retry_reason()
                .unwrap_or(crate::http::RetryReason::Transient);
            self.progress.emit(Event::Retried { name: name.clone() });
            if !source.retry_state().backoff(attempt, reason).await {
                return Err(crate::s3::Error::Http {
                    operation: "GetObject",
                    resource: name,
                    source: error,
                }
                .into());
            }
            attempt += 1;
        }
        Ok(buffer.freeze())
    }
}

/// How reading an answer's body into memory ended.
enum BodyRead {
    /// The body ended.
    Ended,
    /// It held more than the most asked for.
    TooLong,
    /// The connection broke off (the bytes read so far stay in the buffer).
    BrokenOff(crate::http::HttpError),
}

/// Appends `body` to `buffer`, which is to hold at most `most` bytes in all.
async fn read_up_to(
    body: &mut crate::http::ResponseBody,
    buffer: &mut bytes::BytesMut,
    most: usize,
) -> BodyRead {
    loop {
        match body.chunk().await {
            Ok(Some(chunk)) if buffer.len() + chunk.len() > most => return BodyRead::TooLong,
            Ok(Some(chunk)) => buffer.extend_from_slice(&chunk),
            Ok(None) => return BodyRead::Ended,
            Err(error) => return BodyRead::BrokenOff(error),
        }
    }
}

/// `dst_prefix` (with a `/` added when missing) + the key below `src_prefix`; `None` for
/// the prefix itself.
fn destination_key(src_prefix: &str, dst_prefix: &str, key: &str) -> Option<String> {
    // Kept as it is (a leading `/` included): `p//x` must not land on `p/x`'s copy.
    let relative = key.strip_prefix(src_prefix).unwrap_or(key);
    if relative.is_empty() {
        return None;
    }
    if dst_prefix.is_empty() || dst_prefix.ends_with('/') {
        Some(format!("{dst_prefix}{relative}"))
    } else {
        Some(format!("{dst_prefix}/{relative}"))
    }
}

impl Transfers {
    /// The source's tags as `x-amz-tagging` carries them, for a copy that does not get them
    /// from the store (in parts, or between endpoints): read with GetObjectTagging when the
    /// HEAD counted some and no tags were asked for. A store that refuses them (no
    /// `s3:GetObjectTagging`) is warned about by name, and the copy goes on without them.
    async fn source_tags(
        &self,
        source: &S3Client,
        (bucket, key): (&str, &str),
        info: &ObjectInfo,
    ) -> Option<String> {
        if info.tag_count == 0 || self.config.put.tagging.is_some() {
            return None;
        }
        match source.get_object_tagging(bucket, key).await {
            Ok(tagging) => Some(tagging.to_query()).filter(|q| !q.is_empty()),
            Err(error) => {
                tracing::warn!(
                    object = %format!("s3://{bucket}/{key}"),
                    %error,
                    "the source's tags could not be read; the copy is made without them"
                );
                None
            }
        }
    }

    /// The options of a copy's PutObject or CreateMultipartUpload: the source's content
    /// type, standard headers (`Cache-Control`, `Content-Encoding`, …) and metadata (or this
    /// engine's, when copies replace them), with this engine's storage class, encryption,
    /// tags (else the source's, read from `source`: see [`Transfers::source_tags`]) and
    /// ACL. (A single CopyObject keeps the headers and tags on the store's side; the copies
    /// in parts and across endpoints dropped them until 2026-12-02.)
    async fn copy_options(
        &self,
        source: &S3Client,
        src: (&str, &str),
        info: &ObjectInfo,
    ) -> PutOptions {
        let carried = PutOptions {
            content_type: info.content_type.clone(),
            metadata: info.metadata.clone(),
            headers: info.headers.clone(),
            tagging: self.source_tags(source, src, info).await,
            ..PutOptions::default()
        };
        self.config
            .put
            .for_copy(carried, self.config.replace_metadata_on_copy)
    }
}

/// Compares the parts' combined checksum with the source's full-object checksum of the same
/// algorithm, when it holds one (a composite checksum depends on the source's part size, so
/// it is not compared).
fn verify_against_source(
    src: (&str, &str),
    info: &ObjectInfo,
    sums: &[PartChecksum],
) -> Result<(), TransferError> {
    let Some(algorithm) = sums.first().map(PartChecksum::algorithm) else {
        return Ok(());
    };
    if !algorithm.supports_full_object() || info.checksum_type.as_deref() == Some("COMPOSITE") {
        return Ok(());
    }
    let Some(expected) = info
        .checksums
        .iter()
        .find(|(header, value)| header == algorithm.header_name() && !value.contains('-'))
        .map(|(_, value)| value)
    else {
        return Ok(());
    };
    let name = format!("s3://{}/{}", src.0, src.1);
    let actual = checksum::combine(sums).map_err(|e| TransferError::Integrity {
        name: name.clone(),
        message: e.to_string(),
    })?;
    if actual.base64() == *expected {
        return Ok(());
    }
    Err(TransferError::Integrity {
        name,
        message: format!(
            "{} mismatch: the source holds {expected}, the bytes read hash to {}; nothing was kept",
            algorithm.s3_name(),
            actual.base64()
        ),
    })
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

/// Collects the part tasks already finished; the first failure is returned.
fn drain(
    tasks: &mut JoinSet<Result<PartDone, TransferError>>,
    parts: &mut Vec<PartDone>,
) -> Result<(), TransferError> {
    while let Some(done) = tasks.try_join_next() {
        parts.push(joined(done)?);
    }
    Ok(())
}

/// Waits for the remaining part tasks (cancelling the rest at the first failure) and returns
/// the parts in order with their checksums.
async fn finish(
    tasks: &mut JoinSet<Result<PartDone, TransferError>>,
    mut parts: Vec<PartDone>,
) -> Result<(Vec<CompletedPart>, Vec<PartChecksum>), TransferError> {
    while let Some(done) = tasks.join_next().await {
        match joined(done) {
            Ok(part) => parts.push(part),
            Err(error) => {
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                return Err(error);
            }
        }
    }
    parts.sort_by_key(|(p, _)| p.part_number);
    let sums = parts.iter().filter_map(|(_, s)| *s).collect();
    Ok((parts.into_iter().map(|(p, _)| p).collect(), sums))
}

fn joined<T>(done: Result<T, tokio::task::JoinError>) -> T {
    match done {
        Ok(value) => value,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_below_the_source_prefix_land_below_the_destination_prefix() {
        assert_eq!(
            destination_key("p/", "q", "p/a/b.txt").as_deref(),
            Some("q/a/b.txt")
        );
        assert_eq!(destination_key("p/", "q/", "p/a").as_deref(), Some("q/a"));
        assert_eq!(destination_key("", "", "a/b").as_deref(), Some("a/b"));
        assert_eq!(destination_key("p/", "q/", "p/"), None);
        // `p//x` keeps its own copy: folded onto `q/x` it would overwrite `p/x`'s, and a
        // move would then delete `p/x` for it.
        assert_eq!(destination_key("p/", "q/", "p//x").as_deref(), Some("q//x"));
    }
}
