//! S3 → local file: ranged GETs in parallel, written at their offsets into a temporary file
//! beside the target, verified, renamed into place only when every byte has arrived.

use super::events::Event;
use super::first_range::{FIRST_RANGE_PARTS, FirstRange};
use super::journal::{self, DownloadState, Journal};
use super::plan::PartPlan;
use super::{TransferError, Transfers};
use crate::checksum::{self, ChecksumAlgorithm, Hasher, PartChecksum};
use crate::s3::GetObjectOutput;
use std::collections::BTreeMap;
use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::task::JoinSet;

/// Part layouts tried at most when the store does not say an object's part size.
const MAX_GUESSED_LAYOUTS: usize = 4;

/// Bytes gathered before they are written (in one blocking task, [`WRITE_PIECE`] per call).
pub(super) const WRITE_BUFFER: usize = 1024 * 1024;
/// The most one `pwrite` writes. The kernel sizes the page-cache folios a buffered write
/// fills from the write's length (Linux 6.x, ext4 and XFS): a 1 MiB write asks for 1 MiB
/// folios, which come from the free lists of large blocks. In a VM whose free memory is
/// reported to its host (virtio-balloon free page reporting, as Firecracker microVMs
/// have), those blocks have been given back, and each first touch of their pages is a
/// fault on the host, charged to the copy. Writes of 64 KiB are served from recently freed
/// memory: a 256 MiB download behind 60 ms there took 0.92 s (median) with 1 MiB writes,
/// 0.46 s with 64 KiB writes, and s5cmd (32 KiB writes) 0.58 s (docs/benchmarks.md).
pub(super) const WRITE_PIECE: usize = 64 * 1024;

/// The store's full-object checksum of an object, to verify a download against.
pub(super) type Expected = (ChecksumAlgorithm, String);

/// The temporary name a download is written under: `.NAME.ferry-part` beside the target.
pub fn temporary_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".into());
    target.with_file_name(format!(".{name}.ferry-part"))
}

/// How [`Transfers::fetch_into`] begins.
enum Start {
    /// The first try: what an earlier run left is continued; the first range may have been
    /// asked for already, with the HEAD.
    Resuming(Option<FirstRange>),
    /// A second try, after an integrity failure: from scratch.
    Over,
}

/// Where one download writes, and what it checks.
pub(super) struct Sink {
    pub(super) file: Arc<File>,
    pub(super) temp: PathBuf,
    pub(super) algorithm: Option<ChecksumAlgorithm>,
    /// Held by each write to the file, so that one range writes at a time and the others
    /// wait parked. The kernel lets one writer into a file at a time anyway (ext4 and XFS
    /// take the inode's lock for a buffered write), and a writer that finds it taken spins
    /// while its holder copies: perf put 15% of a 256 MiB download's CPU there.
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl Sink {
    /// A sink writing `file`, the temporary file at `temp`, summing with `algorithm`.
    pub(super) fn new(file: File, temp: &Path, algorithm: Option<ChecksumAlgorithm>) -> Self {
        Self {
            file: Arc::new(file),
            temp: temp.to_owned(),
            algorithm,
            writer: Arc::default(),
        }
    }
}

impl Transfers {
    /// Downloads `bucket`/`key` to `target`. Returns the bytes received. A failed download
    /// leaves nothing under `target` (and removes its temporary file). When the store holds a
    /// full-object checksum, the bytes are verified against it (the ranges' CRCs combined in
    /// order); a mismatch is fetched once more, then refused.
    pub async fn download_file(
        &self,
        bucket: &str,
        key: &str,
        target: &Path,
    ) -> Result<u64, TransferError> {
        if super::pass_through::is_pass_through(target) {
            return self.download_through(bucket, key, target).await;
        }
        self.download_regular_file(bucket, key, target).await
    }

    /// [`Self::download_file`] into a target that is no FIFO, socket or device (absent, or
    /// a regular file to replace).
    pub(super) async fn download_regular_file(
        &self,
        bucket: &str,
        key: &str,
        target: &Path,
    ) -> Result<u64, TransferError> {
        let name = format!("s3://{bucket}/{key}");
        let temp = temporary_path(target);
        let journal_path = journal::download_journal_path(&temp);
        let first = self.send_first_range(bucket, key, &journal_path);
        let info = match self.client.head_object(bucket, key).await {
            Ok(info) => info,
            Err(error) => {
                let error = TransferError::from(error);
                self.progress.failed(name, error.clone());
                return Err(error);
            }
        };
        self.progress.emit(Event::Started {
            name: name.clone(),
            bytes: info.size,
        });
        self.track_download(&temp, true);
        let expected = self.expected_checksum(&info);
        let etag = info.etag.as_deref();
        let mut result = self
            .fetch_into(
                bucket,
                key,
                &temp,
                (info.size, etag),
                expected.as_ref(),
                Start::Resuming(first),
            )
            .await;
        if result.is_ok() && expected.is_none() {
            result = self
                .verify_etag(&name, &temp, None, &info, (bucket, key), false)
                .await;
        }
        if matches!(result, Err(TransferError::Integrity { .. })) {
            self.progress.emit(Event::Retried { name: name.clone() });
            // Fetched again from scratch: the bytes kept from an earlier run may be the bad ones.
            result = self
                .fetch_into(
                    bucket,
                    key,
                    &temp,
                    (info.size, etag),
                    expected.as_ref(),
                    Start::Over,
                )
                .await;
            if result.is_ok() && expected.is_none() {
                result = self
                    .verify_etag(&name, &temp, None, &info, (bucket, key), true)
                    .await;
            }
        }
        // Done or failed cleanly: either way there is nothing left to resume. (A crash or
        // kill never gets here, so the journal and the temporary file stay for the next run.)
        journal::remove(&journal_path);
        let modified = info.last_modified.as_deref();
        let result = result.and_then(|()| set_last_modified(&temp, modified));
        let result = match result {
            Ok(()) => self.rename_into_place(&temp, target).await,
            Err(error) => {
                self.track_download(&temp, false);
                Err(error)
            }
        };
        match result {
            Ok(()) => {
                self.progress.emit(Event::Finished {
                    name,
                    bytes: info.size,
                });
                Ok(info.size)
            }
            Err(error) => {
                let _ = std::fs::remove_file(&temp);
                self.progress.failed(name, error.clone());
                Err(error)
            }
        }
    }

    /// For an object without a full-object checksum: the downloaded file against its ETag
    /// (see [`super::etag`]): the MD5 of the bytes for an object stored in one piece, the MD5
    /// of the parts' MD5s for a multipart one, under the part layout the store confirms
    /// (HeadObject `partNumber=1`) or, failing that, each layout that fits the size. The file
    /// is read again from the page cache on the blocking pool. A mismatch is an integrity
    /// error, except on the `last_try` of an object whose layout was only guessed: then the
    /// guess may be what is wrong, and the object is reported unverified. Objects whose ETag
    /// is no MD5 (SSE-KMS, SSE-C) are checked by size alone and reported unverified.
    pub(super) async fn verify_etag(
        &self,
        name: &str,
        temp: &Path,
        unnamed: Option<&Arc<File>>,
        info: &crate::s3::ObjectInfo,
        object: (&str, &str),
        last_try: bool,
    ) -> Result<(), TransferError> {
        use crate::s3::etag::{self, EtagCheck};
        let (expected, part_sizes, confirmed) = match info.etag_check() {
            Some(EtagCheck::Md5(md5)) => (md5, None, true),
            Some(EtagCheck::Multipart { digest, parts }) => {
                let (bucket, key) = object;
                let confirmed = self
                    .confirmed_part_size(bucket, key, info.size, parts)
                    .await;
                let sizes = match confirmed {
                    Some(size) => vec![size],
                    None => etag::guessed_part_sizes(info.size, parts, MAX_GUESSED_LAYOUTS),
                };
                (
                    format!("{digest}-{parts}"),
                    Some(sizes),
                    confirmed.is_some(),
                )
            }
            None => Default::default(),
        };
        if expected.is_empty() || part_sizes.as_ref().is_some_and(Vec::is_empty) {
            tracing::debug!(
                object = name,
                "no checksum and no ETag to check against: verified by size only"
            );
            self.progress.emit(Event::Unverified { name: name.into() });
            return Ok(());
        }
        let path = temp.to_owned();
        let unnamed = unnamed.cloned();
        let actual = tokio::task::spawn_blocking(move || {
            let reader: Box<dyn std::io::Read> = match unnamed {
                Some(file) => Box::new(ReadFromStart { file, at: 0 }),
                None => Box::new(File::open(&path)?),
            };
            match part_sizes {
                None => etag::md5_of(reader).map(|md5| vec![md5]),
                Some(sizes) => etag::multipart_etags_of(reader, &sizes),
            }
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
        .map_err(|e| TransferError::io("reading back", temp, e))?;
        if actual.contains(&expected) {
            return Ok(());
        }
        if last_try && !confirmed {
            tracing::warn!(
                object = name,
                etag = expected,
                "the multipart ETag matches no part layout ferry could guess (the store does not say the part size): checked by size only"
            );
            self.progress.emit(Event::Unverified { name: name.into() });
            return Ok(());
        }
        Err(md5_mismatch(name, &expected, &actual.join(" or ")))
    }

    /// The part size of a multipart object of `size` bytes in `parts` parts, when the store
    /// says it (HeadObject `partNumber=1` answering with the part count); `None` otherwise.
    pub(super) async fn confirmed_part_size(
        &self,
        bucket: &str,
        key: &str,
        size: u64,
        parts: u64,
    ) -> Option<u64> {
        match self.client.head_object_part(bucket, key, 1).await {
            Ok((part_size, Some(count))) if count == parts => {
                crate::s3::etag::fits(size, parts, part_size).then_some(part_size)
            }
            Ok(_) => None,
            Err(error) => {
                tracing::debug!(bucket, key, %error, "HeadObject partNumber=1 failed; guessing the part layout");
                None
            }
        }
    }

    /// The full-object checksum the store holds, if it holds one ferry can verify. A
    /// composite checksum depends on the uploader's part size, so it is not used: the size is
    /// then the check (a multipart ETag is never taken for an MD5).
    pub(super) fn expected_checksum(&self, info: &crate::s3::ObjectInfo) -> Option<Expected> {
        self.config.checksum?;
        if info.checksum_type.as_deref() == Some("COMPOSITE") {
            return None;
        }
        info.checksums.iter().find_map(|(header, value)| {
            let algorithm = ChecksumAlgorithm::ALL
                .iter()
                .copied()
                .find(|a| a.header_name() == header && a.supports_full_object())?;
            (!value.contains('-')).then(|| (algorithm, value.clone()))
        })
    }

    /// Fetches the object of `size` bytes and `etag` into `temp`. On the first try
    /// ([`Start::Resuming`]), an earlier run's temporary file and journal are continued when
    /// they are for the same object (same ETag and size) split the same way: only the
    /// ranges it had not finished are fetched.
    async fn fetch_into(
        &self,
        bucket: &str,
        key: &str,
        temp: &Path,
        (size, etag): (u64, Option<&str>),
        expected: Option<&Expected>,
        start: Start,
    ) -> Result<(), TransferError> {
        let (resume, first) = match start {
            Start::Resuming(first) => (true, first),
            Start::Over => (false, None),
        };
        if let Some(parent) = temp.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| TransferError::io("creating", parent, e))?;
        }
        let algorithm = expected.map(|(a, _)| *a);
        let plan = if size > 0 {
            Some(PartPlan::new(
                size,
                self.config.part_size,
                &self.config.limits,
            )?)
        } else {
            None
        };
        let journal_path = journal::download_journal_path(temp);
        let fresh = etag
            .filter(|_| plan.is_some_and(|p| p.parts > 1))
            .map(|etag| {
                let part_size = plan.map_or(0, |p| p.part_size);
                DownloadState::new(
                    etag,
                    size,
                    part_size,
                    algorithm.map(ChecksumAlgorithm::s3_name),
                )
            });
        let mut done = BTreeMap::new();
        let mut kept = None;
        if resume
            && let Some(fresh) = &fresh
            && let Some(earlier) = Journal::<DownloadState>::load(&journal_path)
            && earlier.continues(fresh)
            && std::fs::metadata(temp).is_ok_and(|m| m.len() == size)
            // Read too: the ranges it holds are checked before they are kept.
            && let Ok(file) = std::fs::OpenOptions::new().read(true).write(true).open(temp)
        {
            tracing::info!(
                bucket,
                key,
                ranges = earlier.ranges.len(),
                "resuming an interrupted download"
            );
            done = earlier.ranges;
            kept = Some(file);
        }
        let file = match kept {
            Some(file) => file,
            None => {
                let _entries = self.directories.entry(temp).await;
                let file =
                    File::create(temp).map_err(|e| TransferError::io("creating", temp, e))?;
                super::reserve::reserve(&file, size)
                    .map_err(|e| TransferError::io("reserving space for", temp, e))?;
                file
            }
        };
        let journal = match fresh {
            Some(mut state) => {
                state.ranges = done.clone();
                let journal = Arc::new(Journal::new(journal_path, state).unsynced());
                journal.flush();
                Some(journal)
            }
            None => {
                journal::remove(&journal_path);
                None
            }
        };
        let sink = Arc::new(Sink::new(file, temp, algorithm));
        let mut sums = Vec::new();
        if let Some(plan) = &plan {
            sums = self
                .fetch_ranges(
                    bucket,
                    key,
                    &sink,
                    plan,
                    etag,
                    &done,
                    journal.as_ref(),
                    first,
                )
                .await?;
        }
        if let Some((algorithm, value)) = expected {
            verify(&format!("s3://{bucket}/{key}"), *algorithm, value, &sums)?;
        }
        self.sync_if_asked(&sink)
    }

    /// `fdatasync`s a finished download when [`super::TransferConfig::sync_downloads`] asks.
    pub(super) fn sync_if_asked(&self, sink: &Sink) -> Result<(), TransferError> {
        if !self.config.sync_downloads {
            return Ok(());
        }
        sink.file
            .sync_data()
            .map_err(|e| TransferError::io("flushing", &sink.temp, e))
    }

    /// Fetches every range, at most `concurrency` requests at a time across all transfers;
    /// returns the ranges' checksums in order (empty when not verifying).
    /// Ranges in `done` (an earlier run's, with their checksums) are not fetched again;
    /// each range fetched is recorded in the journal. The `first` GET's early answer, if it
    /// fits, is used for the first [`FIRST_RANGE_PARTS`] ranges. Where the ranges left would
    /// take two rounds, pairs of neighbours are fetched with one GET each
    /// ([`super::one_round`]), their checksums still kept (and journalled) per range.
    #[allow(clippy::too_many_arguments)]
    async fn fetch_ranges(
        &self,
        bucket: &str,
        key: &str,
        sink: &Arc<Sink>,
        plan: &PartPlan,
        etag: Option<&str>,
        done: &BTreeMap<u64, Option<String>>,
        journal: Option<&Arc<Journal<DownloadState>>>,
        mut first: Option<FirstRange>,
    ) -> Result<Vec<PartChecksum>, TransferError> {
        let mut tasks = JoinSet::new();
        let mut sums = Vec::with_capacity(plan.parts as usize);
        let mut resumed_bytes = 0;
        let size = plan.size;
        let name = format!("s3://{bucket}/{key}");
        let mut resumed = resumed_ranges(sink.algorithm, plan, done);
        let parts = plan.parts as usize;
        let lead = (FIRST_RANGE_PARTS as usize).min(parts);
        // A first range kept from an earlier run drops the early GET.
        if (0..lead).any(|index| resumed.contains_key(&(index as u64))) {
            first = None;
        }
        let lead = if first.is_some() { lead } else { 0 };
        // Neighbours paired into one GET where that saves a round (see `one_round`).
        let spans = super::one_round::spans(parts, self.part_limit(), lead, |index| {
            resumed.contains_key(&(index as u64))
        });
        for span in spans {
            let index = span.start;
            let range = plan.range(index as u64).start..plan.range(span.end as u64 - 1).end;
            // A pair's checksums are kept per range of the plan, as a resume checks them.
            let cut = (span.len() == 2).then(|| plan.range(index as u64).end);
            let early = first.take().filter(|_| index == 0);
            let len = range.end - range.start;
            let check = match resumed.remove(&(index as u64)) {
                Some(Resumed::Unchecked) => {
                    resumed_bytes += len;
                    sums.push(vec![(index, None)]);
                    continue;
                }
                Some(Resumed::Check(expected)) => Some(expected),
                None => None,
            };
            let bytes = range_memory(len);
            // The early GET holds a slot of its own already; a range to read back takes its
            // slot only if it has to be fetched after all.
            let permit = match (&early, &check) {
                (None, None) => Some(self.permit(bytes).await),
                _ => None,
            };
            if let Some(done) = tasks.try_join_next() {
                sums.push(flatten(done)?);
            }
            let (this, bucket, key, name) = (
                self.clone(),
                bucket.to_owned(),
                key.to_owned(),
                name.clone(),
            );
            let (sink, etag) = (sink.clone(), etag.map(str::to_owned));
            let journal = journal.cloned();
            tasks.spawn(async move {
                if let Some(expected) = check
                    && this
                        .still_on_file(&sink, index, range.clone(), expected)
                        .await
                {
                    this.progress.bytes(&name, len);
                    return Ok(vec![(index, Some(expected))]);
                }
                let (permit, answer) = match early {
                    Some(early) => early.answer(&range, size, etag.as_deref()).await,
                    None => (permit, None),
                };
                let _permit = match permit {
                    Some(permit) => permit,
                    None => this.permit(bytes).await,
                };
                let sums = this
                    .fetch_range_hedged(&bucket, &key, &sink, (range, cut), etag.as_deref(), answer)
                    .await?;
                let sums = match (cut, sums) {
                    (Some(_), (first, last)) => vec![(index, first), (index + 1, last)],
                    (None, (_, last)) => vec![(index, last)],
                };
                if let Some(journal) = &journal {
                    for (index, sum) in &sums {
                        let value = sum.as_ref().map(PartChecksum::base64);
                        journal.update(
                            |state| state.ranges.len(),
                            |state| {
                                state.ranges.insert(*index as u64, value);
                            },
                        );
                    }
                }
                Ok(sums)
            });
        }
        if resumed_bytes > 0 {
            self.progress.bytes(&name, resumed_bytes);
        }
        while let Some(done) = tasks.join_next().await {
            sums.push(flatten(done)?);
        }
        let mut sums: Vec<_> = sums.into_iter().flatten().collect();
        sums.sort_by_key(|(index, _)| *index);
        Ok(sums.into_iter().filter_map(|(_, sum)| sum).collect())
    }

    /// One range, hedged when it straggles: past the hedger's threshold a second GET of the
    /// same range (same ETag) is sent and gathered in memory; if it finishes first, the slow
    /// one is dropped, its last write is waited for, and the hedge's bytes are written over
    /// the range. Either way the range's bytes and checksum come from one answer, and its
    /// bytes are counted once.
    async fn fetch_range_hedged(
        &self,
        bucket: &str,
        key: &str,
        sink: &Sink,
        (range, cut): (Range<u64>, Option<u64>),
        etag: Option<&str>,
        answer: Option<GetObjectOutput>,
    ) -> Result<SplitSums, TransferError> {
        let Some(hedger) = &self.range_hedger else {
            return self
                .fetch_range(bucket, key, sink, (range, cut), etag, None, answer)
                .await;
        };
        let watch = RangeWatch::default();
        let direct = async {
            let sums = self
                .fetch_range(
                    bucket,
                    key,
                    sink,
                    (range.clone(), cut),
                    etag,
                    Some(&watch),
                    answer,
                )
                .await?;
            Ok(Winner::Direct(sums))
        };
        let buffered = || async {
            // The hedge holds its whole range in memory: sent only when the budget has room.
            let Some(memory) = self.try_reserve(range.end - range.start) else {
                return Err(TransferError::Integrity {
                    name: format!("s3://{bucket}/{key}"),
                    message: "no memory to spare for a hedge".into(),
                });
            };
            let (chunks, sums) = self
                .fetch_range_buffered(bucket, key, sink.algorithm, (range.clone(), cut), etag)
                .await?;
            Ok::<_, TransferError>(Winner::Buffered(chunks, sums, memory))
        };
        // Hedged only where the direct request, at the rate it has moved its bytes so far,
        // would still take longer than a new one typically does: a new GET of a pair takes
        // about twice a range's typical time.
        let len = range.end - range.start;
        let ranges = if cut.is_some() { 2 } else { 1 };
        let behind = |progress: super::hedge::Progress| {
            let progress = super::hedge::Progress {
                median: progress.median * ranges,
                ..progress
            };
            progress.behind(watch.reported.load(Ordering::Relaxed), len)
        };
        match hedger.race_when(direct, buffered, behind).await? {
            Winner::Direct(sums) => Ok(sums),
            Winner::Buffered(chunks, sums, _memory) => {
                // The slow request is gone; its last write may still be running on the
                // blocking pool, holding the gate. The hedge's bytes go after it.
                let gate = watch.gate.clone().lock_owned().await;
                write_at(sink, range.start, chunks, None, Some(gate)).await?;
                let reported = watch.reported.load(Ordering::Relaxed);
                self.progress.bytes(
                    &format!("s3://{bucket}/{key}"),
                    (range.end - range.start).saturating_sub(reported),
                );
                Ok(sums)
            }
        }
    }

    /// Writes `batch` at `next` (holding the range's gate, if watched, until it is on file)
    /// and reports its bytes; returns the offset after it and the hasher fed with it.
    async fn write_batch_at(
        &self,
        name: &str,
        sink: &Sink,
        watch: Option<&RangeWatch>,
        next: u64,
        batch: &mut Batch,
        hasher: Option<Hasher>,
    ) -> Result<(u64, Option<Hasher>), TransferError> {
        let len = batch.len as u64;
        let gate = RangeWatch::enter(watch).await;
        let written = write_at(sink, next, batch.take(), hasher, gate).await?;
        RangeWatch::report(watch, len);
        self.progress.bytes(name, len);
        Ok(written)
    }

    /// A ranged GET of bytes `asked` (inclusive) whose `Content-Range` must be exactly that.
    async fn get_range(
        &self,
        name: &str,
        (bucket, key): (&str, &str),
        asked: (u64, u64),
        etag: Option<&str>,
    ) -> Result<crate::s3::GetObjectOutput, TransferError> {
        let output = self
            .client
            .get_object(bucket, key, Some(asked), etag)
            .await?;
        if output.range != Some((asked.0, asked.1, output.info.size)) {
            let message = format!(
                "asked for bytes {}-{}, the store answered {:?}",
                asked.0, asked.1, output.range
            );
            return Err(TransferError::Integrity {
                name: name.into(),
                message,
            });
        }
        Ok(output)
    }

    /// One range fetched whole into memory (the response's own buffers, not copied), checked
    /// against its `Content-Range` and length: a hedge, which writes only once it has won.
    async fn fetch_range_buffered(
        &self,
        bucket: &str,
        key: &str,
        algorithm: Option<ChecksumAlgorithm>,
        (range, cut): (Range<u64>, Option<u64>),
        etag: Option<&str>,
    ) -> Result<(Vec<bytes::Bytes>, SplitSums), TransferError> {
        let name = format!("s3://{bucket}/{key}");
        let mut output = self
            .get_range(&name, (bucket, key), (range.start, range.end - 1), etag)
            .await?;
        let mut batch = Batch::default();
        while let Some(chunk) =
            output
                .body
                .chunk()
                .await
                .map_err(|source| crate::s3::Error::Http {
                    operation: "GetObject",
                    resource: name.clone(),
                    source,
                })?
        {
            batch.push(chunk);
        }
        if batch.len as u64 != range.end - range.start {
            let message = format!(
                "asked for {} bytes, the answer held {}",
                range.end - range.start,
                batch.len
            );
            return Err(TransferError::Integrity { name, message });
        }
        let chunks = batch.take();
        let sums = match algorithm {
            None => (None, None),
            Some(algorithm) => {
                let hashed = chunks.clone();
                let cut = cut.map(|at| at - range.start);
                tokio::task::spawn_blocking(move || split_sums(algorithm, &hashed, cut))
                    .await
                    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
            }
        };
        Ok((chunks, sums))
    }

    /// One range, checked against its `Content-Range`, resumed from where it broke if the
    /// body fails mid-way. Returns the range's checksum when verifying. With a `watch`, each
    /// write holds its gate until the bytes are on file (even when this future is dropped
    /// mid-write) and the bytes reported are counted in it. An `answer` already received
    /// for exactly this range is read first.
    #[allow(clippy::too_many_arguments)]
    async fn fetch_range(
        &self,
        bucket: &str,
        key: &str,
        sink: &Sink,
        (range, cut): (Range<u64>, Option<u64>),
        etag: Option<&str>,
        watch: Option<&RangeWatch>,
        mut answer: Option<GetObjectOutput>,
    ) -> Result<SplitSums, TransferError> {
        let name = format!("s3://{bucket}/{key}");
        let mut hasher = sink.algorithm.map(Hasher::new);
        // The checksum of the bytes before the cut, once they are all written.
        let mut before_cut = None;
        let mut next = range.start;
        let mut attempt = 1;
        while next < range.end {
            let mut output = match answer.take() {
                Some(output) => output,
                None => {
                    self.get_range(&name, (bucket, key), (next, range.end - 1), etag)
                        .await?
                }
            };
            let mut batch = Batch::of(write_batch(self.part_limit()));
            let failure = loop {
                match output.body.chunk().await {
                    Ok(Some(mut chunk)) => {
                        // A chunk across the cut is split there, and the bytes before it
                        // written and their checksum finished.
                        if let Some(head) = within(cut, next + batch.len as u64, chunk.len()) {
                            batch.push(chunk.split_to(head));
                            (next, hasher) = self
                                .write_batch_at(&name, sink, watch, next, &mut batch, hasher)
                                .await?;
                            before_cut = hasher.take().map(Hasher::finish);
                            hasher = sink.algorithm.map(Hasher::new);
                            if chunk.is_empty() {
                                continue;
                            }
                        }
                        if batch.push(chunk) {
                            (next, hasher) = self
                                .write_batch_at(&name, sink, watch, next, &mut batch, hasher)
                                .await?;
                            // More ranges in flight since: smaller batches from now on.
                            batch.full = write_batch(self.part_limit());
                        }
                    }
                    Ok(None) => break None,
                    Err(error) => break Some(error),
                }
            };
            (next, hasher) = self
                .write_batch_at(&name, sink, watch, next, &mut batch, hasher)
                .await?;
            if next > range.end {
                let message = "the store sent more bytes than asked for".into();
                return Err(TransferError::Integrity { name, message });
            }
            let Some(error) = failure else {
                if next < range.end {
                    let message = "the answer ended before its Content-Length".into();
                    return Err(TransferError::Integrity { name, message });
                }
                break;
            };
            let reason = error
                .retry_reason()
                .unwrap_or(crate::http::RetryReason::Transient);
            self.progress.emit(Event::Retried { name: name.clone() });
            if !self.client.retry_state().backoff(attempt, reason).await {
                let source = error;
                return Err(crate::s3::Error::Http {
                    operation: "GetObject",
                    resource: name,
                    source,
                }
                .into());
            }
            attempt += 1;
        }
        Ok((before_cut, hasher.map(Hasher::finish)))
    }
}

/// The checksums of a GET split at a cut: of the bytes before it (`None` without a cut, or
/// when not verifying) and of the rest.
type SplitSums = (Option<PartChecksum>, Option<PartChecksum>);

/// Where a chunk of `len` bytes starting at `at` reaches the `cut`: the bytes of it before
/// the cut, when the cut falls inside it or at its end.
fn within(cut: Option<u64>, at: u64, len: usize) -> Option<usize> {
    cut.filter(|&cut| at < cut && at + len as u64 >= cut)
        .map(|cut| (cut - at) as usize)
}

/// [`SplitSums`] of `chunks` hashed with `algorithm`, split `cut` bytes in.
fn split_sums(
    algorithm: ChecksumAlgorithm,
    chunks: &[bytes::Bytes],
    cut: Option<u64>,
) -> SplitSums {
    let mut hasher = Hasher::new(algorithm);
    let mut before = None;
    let mut at = 0u64;
    for chunk in chunks {
        let mut chunk = &chunk[..];
        if let Some(head) = within(cut, at, chunk.len()) {
            let (head, tail) = chunk.split_at(head);
            hasher.update(head);
            before = Some(std::mem::replace(&mut hasher, Hasher::new(algorithm)).finish());
            at += head.len() as u64;
            chunk = tail;
        }
        hasher.update(chunk);
        at += chunk.len() as u64;
    }
    (before, Some(hasher.finish()))
}

/// How a range's direct request and its hedge share the range: the gate each write to the
/// file holds until its bytes are written, and the bytes the direct request has reported.
#[derive(Default)]
struct RangeWatch {
    gate: Arc<tokio::sync::Mutex<()>>,
    reported: AtomicU64,
}

impl RangeWatch {
    /// The gate, held, for one write (nothing without a watch).
    async fn enter(watch: Option<&Self>) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match watch {
            Some(watch) => Some(watch.gate.clone().lock_owned().await),
            None => None,
        }
    }

    /// Counts `bytes` reported as moved.
    fn report(watch: Option<&Self>, bytes: u64) {
        if let Some(watch) = watch {
            watch.reported.fetch_add(bytes, Ordering::Relaxed);
        }
    }
}

/// Which of a range's two requests finished first.
enum Winner {
    /// The direct request: its bytes are on file.
    Direct(SplitSums),
    /// The hedge: its bytes are in memory (held in the budget), to be written.
    Buffered(
        Vec<bytes::Bytes>,
        SplitSums,
        tokio::sync::OwnedSemaphorePermit,
    ),
}

/// Gives the downloaded file the object's `Last-Modified` (an HTTP date), as `aws s3 cp`
/// does; nothing when the store sent none or an unreadable one.
pub(super) fn set_last_modified(path: &Path, modified: Option<&str>) -> Result<(), TransferError> {
    match modified.and_then(crate::time::parse_http_date) {
        Some(time) => set_modified(path, time),
        None => Ok(()),
    }
}

/// Sets the file's modification time.
pub(super) fn set_modified(path: &Path, time: std::time::SystemTime) -> Result<(), TransferError> {
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|file| file.set_modified(time))
        .map_err(|e| TransferError::io("setting the modification time of", path, e))
}

/// A range an earlier run finished, as its journal names it.
enum Resumed {
    /// Kept as it is: there is no checksum to compare its bytes with.
    Unchecked,
    /// Kept if its bytes on file still have this checksum, else fetched again.
    Check(PartChecksum),
}

/// The ranges an earlier run finished, by index. The journal is not flushed to stable
/// storage (see [`Journal::unsynced`]): after a power loss it may name ranges whose bytes
/// never reached the disk, so each range with a checksum is read back before it is kept
/// ([`Transfers::still_on_file`]). A journalled checksum that cannot be read leaves its
/// range out (fetched again).
fn resumed_ranges(
    algorithm: Option<ChecksumAlgorithm>,
    plan: &PartPlan,
    done: &BTreeMap<u64, Option<String>>,
) -> BTreeMap<u64, Resumed> {
    let mut resumed = BTreeMap::new();
    for (index, range) in plan.ranges().enumerate() {
        let index = index as u64;
        let Some(journalled) = done.get(&index) else {
            continue;
        };
        match resumed_sum(algorithm, journalled.as_deref(), &range) {
            Some(Some(sum)) => {
                resumed.insert(index, Resumed::Check(sum));
            }
            Some(None) => {
                resumed.insert(index, Resumed::Unchecked);
            }
            None => {}
        }
    }
    resumed
}

impl Transfers {
    /// Whether `range` of the file still has the checksum `expected` an earlier run
    /// journalled for it: read back on the blocking pool, 1 MiB at a time, one range per
    /// core at a time, while the ranges still missing are fetched.
    async fn still_on_file(
        &self,
        sink: &Arc<Sink>,
        index: usize,
        range: Range<u64>,
        expected: PartChecksum,
    ) -> bool {
        let _slot = self.checksum_slot().await;
        let sink = sink.clone();
        let read = tokio::task::spawn_blocking(move || {
            let mut buffer = vec![0u8; WRITE_BUFFER];
            match sum_on_file(&sink.file, range, expected.algorithm(), &mut buffer) {
                Ok(actual) if actual == expected => true,
                Ok(_) => {
                    tracing::info!(
                        path = %sink.temp.display(),
                        range = index,
                        "a range an earlier run finished no longer has its checksum on file; fetching it again"
                    );
                    false
                }
                Err(error) => {
                    tracing::info!(
                        path = %sink.temp.display(),
                        range = index,
                        %error,
                        "a range an earlier run finished could not be read back; fetching it again"
                    );
                    false
                }
            }
        });
        read.await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }
}

/// The checksum of `range` of `file`, read into `buffer` a buffer at a time (blocking).
fn sum_on_file(
    file: &File,
    range: Range<u64>,
    algorithm: ChecksumAlgorithm,
    buffer: &mut [u8],
) -> std::io::Result<PartChecksum> {
    let mut hasher = Hasher::new(algorithm);
    let mut at = range.start;
    while at < range.end {
        let len = (range.end - at).min(buffer.len() as u64) as usize;
        file.read_exact_at(&mut buffer[..len], at)?;
        hasher.update(&buffer[..len]);
        at += len as u64;
    }
    Ok(hasher.finish())
}

/// A range an earlier run finished: `Some(None)` when not verifying, `Some(Some(sum))` with
/// its journalled checksum; `None` when that checksum is missing or unreadable (the range is
/// then fetched again).
fn resumed_sum(
    algorithm: Option<ChecksumAlgorithm>,
    kept: Option<&str>,
    range: &Range<u64>,
) -> Option<Option<PartChecksum>> {
    match algorithm {
        None => Some(None),
        Some(algorithm) => PartChecksum::from_base64(algorithm, kept?, range.end - range.start)
            .ok()
            .map(Some),
    }
}

/// Compares the ranges' combined checksum with the store's.
pub(super) fn verify(
    name: &str,
    algorithm: ChecksumAlgorithm,
    expected: &str,
    sums: &[PartChecksum],
) -> Result<(), TransferError> {
    let actual = if sums.is_empty() {
        checksum::checksum_of(algorithm, &[])
    } else {
        checksum::combine(sums).map_err(|e| TransferError::Integrity {
            name: name.into(),
            message: e.to_string(),
        })?
    };
    if actual.base64() == expected {
        return Ok(());
    }
    Err(TransferError::Integrity {
        name: name.into(),
        message: format!(
            "{} mismatch: the store holds {expected}, the bytes received hash to {}; nothing was kept",
            algorithm.s3_name(),
            actual.base64()
        ),
    })
}

fn flatten<T>(
    done: Result<Result<T, TransferError>, tokio::task::JoinError>,
) -> Result<T, TransferError> {
    match done {
        Ok(result) => result,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}

/// The error of a download whose bytes do not hash to the MD5 its ETag says.
pub(super) fn md5_mismatch(name: &str, etag: &str, actual: &str) -> TransferError {
    TransferError::Integrity {
        name: name.into(),
        message: format!(
            "MD5 mismatch: the store's ETag says {etag}, the bytes received hash to {actual}; nothing was kept"
        ),
    }
}

/// An open file read from its start with positional reads, its offset left alone (the
/// read-back of an unnamed download, which has no path to open it by).
struct ReadFromStart {
    file: Arc<File>,
    at: u64,
}

impl std::io::Read for ReadFromStart {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.file.read_at(buffer, self.at)?;
        self.at += read as u64;
        Ok(read)
    }
}

/// The memory a ranged GET of `len` bytes holds while in flight: what it gathers before a
/// write (at most [`WRITE_BUFFER`]), and the connection's read buffers its chunks keep
/// alive (one being filled, one read ahead: up to two [`crate::http::READ_BUFFER`]s).
pub(super) fn range_memory(len: u64) -> u64 {
    len.min(WRITE_BUFFER as u64) + len.min(2 * crate::http::READ_BUFFER as u64)
}

/// What the write batches of all ranges in flight hold together (up to 128 in flight: past
/// that each batch is [`MIN_WRITE_BATCH`]): a range's batch is this shared by the parts in
/// flight, between [`MIN_WRITE_BATCH`] and [`WRITE_BUFFER`]
/// (1 MiB at the default 16 in flight, 512 KiB at 32). A batch's chunks are slices of the
/// connection's read buffer, which they keep alive whole ([`range_memory`]): with hyper's
/// default 408 KiB read buffers, 32 ranges with 1 MiB batches peaked at 87 MiB resident,
/// with 256 KiB batches at 48 MiB, and as fast (docs/benchmarks.md).
pub(super) const BATCH_MEMORY: usize = 16 * 1024 * 1024;
/// The smallest write batch.
pub(super) const MIN_WRITE_BATCH: usize = 128 * 1024;

/// The write batch of a range when `parts` parts and ranges may be in flight.
pub(super) fn write_batch(parts: usize) -> usize {
    (BATCH_MEMORY / parts.max(1)).clamp(MIN_WRITE_BATCH, WRITE_BUFFER)
}

/// Received chunks held until there are enough bytes (at most [`WRITE_BUFFER`]) to write in
/// one blocking task (the chunks are the response's own buffers: nothing is copied in user
/// space).
pub(super) struct Batch {
    chunks: Vec<bytes::Bytes>,
    pub(super) len: usize,
    /// Bytes that make the batch full.
    pub(super) full: usize,
}

impl Default for Batch {
    fn default() -> Self {
        Self::of(WRITE_BUFFER)
    }
}

impl Batch {
    /// An empty batch that is full at `full` bytes.
    pub(super) fn of(full: usize) -> Self {
        Self {
            chunks: Vec::new(),
            len: 0,
            full,
        }
    }

    /// Adds `chunk`; true when the batch is full enough to write.
    pub(super) fn push(&mut self, chunk: bytes::Bytes) -> bool {
        self.len += chunk.len();
        self.chunks.push(chunk);
        self.len >= self.full
    }

    /// The chunks, leaving the batch empty.
    pub(super) fn take(&mut self) -> Vec<bytes::Bytes> {
        self.len = 0;
        std::mem::take(&mut self.chunks)
    }
}

/// Writes `chunks` one after another from `offset` and feeds the checksum, both on the
/// blocking pool (here, up to [`super::INLINE_FILE_IO`] bytes); returns the offset after
/// them and the hasher. `hold` (a range's gate) is released only once the bytes are
/// written, even if the caller stops waiting.
pub(super) async fn write_at(
    sink: &Sink,
    offset: u64,
    chunks: Vec<bytes::Bytes>,
    mut hasher: Option<Hasher>,
    hold: Option<tokio::sync::OwnedMutexGuard<()>>,
) -> Result<(u64, Option<Hasher>), TransferError> {
    let len: u64 = chunks.iter().map(|c| c.len() as u64).sum();
    if len == 0 {
        return Ok((offset, hasher));
    }
    let file = sink.file.clone();
    let writer = sink.writer.clone().lock_owned().await;
    let write = move || {
        let _hold = hold;
        let _writer = writer;
        let joined;
        let chunks = if chunks.len() > 1 && len <= super::INLINE_FILE_IO {
            // One write, not one per chunk: copying a few KiB costs less than a system call.
            joined = [bytes::Bytes::from(chunks.concat())];
            &joined[..]
        } else {
            &chunks[..]
        };
        let mut at = offset;
        for chunk in chunks {
            if let Some(hasher) = &mut hasher {
                hasher.update(chunk);
            }
            for piece in chunk.chunks(WRITE_PIECE) {
                file.write_all_at(piece, at)?;
                at += piece.len() as u64;
            }
        }
        Ok::<_, std::io::Error>(hasher)
    };
    let written = if len <= super::INLINE_FILE_IO {
        write()
    } else {
        tokio::task::spawn_blocking(write)
            .await
            .map_err(|e| TransferError::io("writing", &sink.temp, std::io::Error::other(e)))?
    };
    let written = written.map_err(|e| TransferError::io("writing", &sink.temp, e))?;
    Ok((offset + len, written))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::{checksum_of, combine};

    #[test]
    fn a_gets_checksums_split_at_its_cut_are_those_of_each_side_wherever_the_chunks_end() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let algorithm = ChecksumAlgorithm::Crc64Nvme;
        for cut in [1, 999, 1000, 1001, 4096, 9_999] {
            // Chunks of 1,000 bytes: the cut falls inside one, or on a boundary.
            let chunks: Vec<bytes::Bytes> = data
                .chunks(1000)
                .map(bytes::Bytes::copy_from_slice)
                .collect();
            let (before, after) = split_sums(algorithm, &chunks, Some(cut));
            let (before, after) = (before.unwrap(), after.unwrap());
            assert_eq!(
                before,
                checksum_of(algorithm, &data[..cut as usize]),
                "cut {cut}"
            );
            assert_eq!(
                after,
                checksum_of(algorithm, &data[cut as usize..]),
                "cut {cut}"
            );
            assert_eq!(
                combine(&[before, after]).unwrap(),
                checksum_of(algorithm, &data)
            );
        }
        let (none, whole) = split_sums(algorithm, &[bytes::Bytes::from(data.clone())], None);
        assert!(none.is_none());
        assert_eq!(whole.unwrap(), checksum_of(algorithm, &data));
    }
}
