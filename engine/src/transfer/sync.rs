//! `sync`: copy what is new or changed, as `aws s3 sync` does.
//!
//! A file is copied when the destination lacks it, when the sizes differ, or when the source
//! is newer (whole seconds: the local mtime against the object's `LastModified`). With
//! [`SyncOptions::checksum`] a same-size pair is compared by content instead: the local file's
//! full-object CRC (CRC-64/NVME unless the engine sends another full-object CRC) against the
//! checksum the store holds (HEAD with checksum mode); objects without one fall back to the
//! time check. A download sets the file's mtime to the object's `LastModified`, so the next
//! sync sees it up to date; an upload leaves the object newer than the file.
//!
//! Memory stays flat with the number of entries: both sides come in S3's key order (a local
//! tree walked in that order, a listing page by page) and are merged as two sorted streams
//! (see `merge`), as `aws s3 sync` does; neither is held. An entry only the destination has
//! is extra, and `--delete` removes it as soon as the merge passes it (S3: DeleteObjects in
//! batches of 1000). An entry the source walk could not read (an unreadable directory) is
//! not known to be extra: its objects stay. The copies run as tasks, at most the engine's
//! tasks-ahead in flight.

use super::events::Event;
use super::filter::Filters;
use super::merge::{Merge, Pair};
use super::sync_sides::{Listed, Listing, LocalTree};
use super::timestamps::set_mtime;
use super::walk::{WalkItem, WalkOptions};
use super::{Failure, TransferError, TransferSummary, Transfers};
use crate::checksum::{ChecksumAlgorithm, Hasher};
use crate::time::unix_seconds;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Keys per DeleteObjects request (S3's maximum).
const DELETE_BATCH: usize = 1000;

/// What a sync does (or, with `dry_run`, would do), one per copied or deleted entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncAction {
    /// A local file goes to `s3://bucket/key`.
    Upload {
        /// The file.
        path: PathBuf,
        /// `s3://bucket/key`.
        url: String,
    },
    /// An object comes to a local file.
    Download {
        /// `s3://bucket/key`.
        url: String,
        /// The file.
        path: PathBuf,
    },
    /// An object is copied to `s3://bucket/key` (server-side).
    Copy {
        /// `s3://bucket/key` of the source.
        from: String,
        /// `s3://bucket/key` of the destination.
        url: String,
    },
    /// A destination entry the source lacks is removed (`s3://bucket/key` or a path).
    Delete {
        /// What is removed.
        name: String,
    },
}

impl fmt::Display for SyncAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Upload { path, url } => write!(f, "upload {} -> {url}", path.display()),
            Self::Download { url, path } => write!(f, "download {url} -> {}", path.display()),
            Self::Copy { from, url } => write!(f, "copy {from} -> {url}"),
            Self::Delete { name } => write!(f, "delete {name}"),
        }
    }
}

/// Told of every action, as it is decided (from many tasks at once).
pub type ActionSink = Arc<dyn Fn(&SyncAction) + Send + Sync>;

/// How a sync runs.
#[derive(Clone, Default)]
pub struct SyncOptions {
    /// Remove destination entries the source lacks (only those the filters allow).
    pub delete: bool,
    /// Decide and report, change nothing.
    pub dry_run: bool,
    /// Compare same-size entries by content (CRC) instead of by time.
    pub checksum: bool,
    /// Which relative paths take part.
    pub filters: Filters,
    /// Where actions are reported.
    pub on_action: Option<ActionSink>,
}

impl fmt::Debug for SyncOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncOptions")
            .field("delete", &self.delete)
            .field("dry_run", &self.dry_run)
            .field("checksum", &self.checksum)
            .field("filters", &self.filters)
            .finish_non_exhaustive()
    }
}

impl SyncOptions {
    fn announce(&self, action: &SyncAction) {
        if let Some(sink) = &self.on_action {
            sink(action);
        }
    }
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncSummary {
    /// Copies: `objects` and `bytes` moved, `skipped` up to date, `failed` (deletions that
    /// failed included, in `failures` too).
    pub transfers: TransferSummary,
    /// Destination entries removed.
    pub deleted: u64,
    /// Actions decided: with `dry_run`, what would have been done.
    pub planned: u64,
}

/// One destination entry: its size and time (whole seconds since the epoch, when known).
#[derive(Debug, Clone, Copy)]
struct Entry {
    size: u64,
    time: Option<i64>,
}

/// What a task ended with.
#[derive(Debug)]
enum Done {
    /// Copied: the bytes moved.
    Moved(u64),
    /// Would be copied (a dry run).
    Planned,
    /// Up to date after all (same content).
    Same,
}

type Outcome = Result<Done, TransferError>;

/// What the listing alone says about a source entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Up to date.
    Same,
    /// Missing or changed: copy it.
    Copy,
    /// Same size, `--checksum`: compare contents (`newer`: the time check's answer, used when
    /// the store holds no comparable checksum).
    Compare { newer: bool },
}

/// Compares a source entry with the destination's.
fn quick_verdict(source: Entry, destination: Option<Entry>, checksum: bool) -> Verdict {
    let Some(destination) = destination else {
        return Verdict::Copy;
    };
    if source.size != destination.size {
        return Verdict::Copy;
    }
    let newer = matches!((source.time, destination.time), (Some(s), Some(d)) if s > d);
    match (checksum, newer) {
        (true, newer) => Verdict::Compare { newer },
        (false, true) => Verdict::Copy,
        (false, false) => Verdict::Same,
    }
}

impl Verdict {
    /// Whether to copy, once the contents were compared (`same`: `None` when they could not
    /// be).
    fn copy_after(self, same: Option<bool>) -> bool {
        match (self, same) {
            (Self::Compare { newer }, None) => newer,
            (Self::Compare { .. }, Some(same)) => !same,
            (verdict, _) => verdict == Self::Copy,
        }
    }
}

impl Transfers {
    /// Makes `s3://bucket/prefix…` match the directory `dir` (a `/` is added to a non-empty
    /// prefix that lacks one).
    pub async fn sync_up(
        &self,
        dir: &Path,
        bucket: &str,
        prefix: &str,
        options: &SyncOptions,
    ) -> SyncSummary {
        let started = Instant::now();
        let retries_before = self.client.retries();
        let prefix = key_prefix(prefix);
        let listed = format!("s3://{bucket}/{prefix}");
        let mut report = SyncSummary::default();
        let walk_options = WalkOptions {
            follow_symlinks: self.config.follow_symlinks,
            skip_temporary: true,
            missing_root_is_empty: false,
        };
        let local = LocalTree::walk(dir, walk_options, options.filters.clone());
        let remote = Listing::new(self, bucket, &prefix, options.filters.clone());
        let mut merge = Merge::new(local, remote);
        let files = Arc::new(Semaphore::new(self.tasks_ahead()));
        let mut tasks = JoinSet::new();
        let mut unseen = Unseen::default();
        let mut deleter = Deleter::new(bucket);
        loop {
            let pair = match merge.next().await {
                Ok(Some(pair)) => pair,
                Ok(None) => break,
                Err(error) => {
                    let side = if error.side == "source" {
                        dir.display().to_string()
                    } else {
                        listed.clone()
                    };
                    fail(
                        &mut report.transfers,
                        side,
                        TransferError::Other {
                            message: error.to_string(),
                        },
                    );
                    break;
                }
            };
            let (local, remote) = match pair {
                Pair::Source(local) => (local, None),
                Pair::Both(local, remote) => (local, remote.ok()),
                Pair::Destination(Ok(remote)) => {
                    // An unreadable directory would make its objects look extra: they stay.
                    if options.delete && !unseen.covers(&remote.relative) {
                        self.delete_later(&mut deleter, remote.key, options, &mut report)
                            .await;
                    }
                    continue;
                }
                Pair::Destination(Err(error)) => {
                    // A listing cut short would make every unlisted object look missing.
                    fail(&mut report.transfers, listed.clone(), error);
                    break;
                }
            };
            let local = match local {
                WalkItem::File {
                    path,
                    relative,
                    metadata,
                } => LocalFile {
                    path,
                    relative,
                    entry: Entry {
                        size: metadata.len(),
                        time: metadata.modified().ok().map(unix_seconds),
                    },
                },
                WalkItem::Skipped { name, reason, .. } => {
                    // Left out, not gone: `--delete` keeps its object (paired with it here).
                    self.progress.emit(Event::Skipped {
                        name: name.clone(),
                        reason: reason.clone(),
                    });
                    report.transfers.warn(name, reason);
                    continue;
                }
                WalkItem::Error {
                    name,
                    relative,
                    error,
                } => {
                    self.progress.failed(name.clone(), error.clone());
                    fail(&mut report.transfers, name, error);
                    if let Some(relative) = relative {
                        unseen.add(relative);
                    }
                    continue;
                }
            };
            let key = format!("{prefix}{}", local.relative);
            let url = format!("s3://{bucket}/{key}");
            let remote = remote.map(|r| Entry {
                size: r.size,
                time: r.time.map(|t| t.0),
            });
            let verdict = quick_verdict(local.entry, remote, options.checksum);
            if verdict == Verdict::Same {
                self.skip(&mut report.transfers, url);
                continue;
            }
            let permit = files.clone().acquire_owned().await;
            let (this, bucket, options) = (self.clone(), bucket.to_owned(), options.clone());
            tasks.spawn(async move {
                let _permit = permit;
                let outcome = async {
                    if let Verdict::Compare { .. } = verdict {
                        let same = this.same_content(&local.path, &bucket, &key).await?;
                        if !verdict.copy_after(same) {
                            return Ok(Done::Same);
                        }
                    }
                    options.announce(&SyncAction::Upload {
                        path: local.path.clone(),
                        url: url.clone(),
                    });
                    if options.dry_run {
                        return Ok(Done::Planned);
                    }
                    this.upload_file(&local.path, &bucket, &key)
                        .await
                        .map(Done::Moved)
                }
                .await;
                (url, outcome)
            });
            self.drain_finished(&mut tasks, &mut report);
        }
        let (local, _) = merge.into_sides();
        local.finish().await;
        self.drain_all(&mut tasks, &mut report).await;
        self.flush_deletes(&mut deleter, &mut report).await;
        self.finish(report, started, retries_before)
    }

    /// Makes the directory `dir` match `s3://bucket/prefix…` (a `/` is added to a non-empty
    /// prefix that lacks one). Keys that are no plain path below `dir` are skipped with a
    /// warning.
    pub async fn sync_down(
        &self,
        bucket: &str,
        prefix: &str,
        dir: &Path,
        options: &SyncOptions,
    ) -> SyncSummary {
        let started = Instant::now();
        let retries_before = self.client.retries();
        let prefix = key_prefix(prefix);
        let listed = format!("s3://{bucket}/{prefix}");
        let mut report = SyncSummary::default();
        let walk_options = WalkOptions {
            follow_symlinks: self.config.follow_symlinks,
            skip_temporary: true,
            missing_root_is_empty: true,
        };
        let remote = Listing::new(self, bucket, &prefix, options.filters.clone());
        let local = LocalTree::walk(dir, walk_options, options.filters.clone());
        let mut merge = Merge::new(remote, local);
        let files = Arc::new(Semaphore::new(self.tasks_ahead()));
        let mut tasks = JoinSet::new();
        loop {
            let pair = match merge.next().await {
                Ok(Some(pair)) => pair,
                Ok(None) => break,
                Err(error) => {
                    let side = if error.side == "source" {
                        listed.clone()
                    } else {
                        dir.display().to_string()
                    };
                    fail(
                        &mut report.transfers,
                        side,
                        TransferError::Other {
                            message: error.to_string(),
                        },
                    );
                    break;
                }
            };
            let (object, local) = match pair {
                Pair::Source(object) => (object, None),
                Pair::Both(object, local) => (object, Some(local)),
                Pair::Destination(WalkItem::File { relative, .. }) => {
                    if options.delete {
                        self.delete_local(dir, &relative, options, &mut report);
                    }
                    continue;
                }
                // What the walk leaves out (links, FIFOs) is neither compared nor deleted.
                Pair::Destination(WalkItem::Skipped { .. }) => continue,
                Pair::Destination(WalkItem::Error { name, error, .. }) => {
                    // An unreadable directory would make its files look missing: stop
                    // rather than guess.
                    self.walk_failed(dir, name, error, &mut report);
                    break;
                }
            };
            let object = match object {
                Ok(object) => object,
                Err(error) => {
                    // A listing cut short would make every unlisted file look extra.
                    fail(&mut report.transfers, listed.clone(), error);
                    break;
                }
            };
            let local = match local {
                Some(WalkItem::File { metadata, .. }) => Some(Entry {
                    size: metadata.len(),
                    time: metadata.modified().ok().map(unix_seconds),
                }),
                Some(WalkItem::Error { name, error, .. }) => {
                    self.walk_failed(dir, name, error, &mut report);
                    break;
                }
                Some(WalkItem::Skipped { .. }) | None => None,
            };
            let url = format!("s3://{bucket}/{}", object.key);
            let Some(path) = safe_join(dir, &object.relative) else {
                let reason = super::dirs::NOT_A_LOCAL_PATH;
                self.progress.emit(Event::Skipped {
                    name: url.clone(),
                    reason: reason.into(),
                });
                report.transfers.warn(url, reason.into());
                continue;
            };
            if let Some(reason) = super::pass_through::not_overwritten(&path) {
                self.progress.emit(Event::Skipped {
                    name: url.clone(),
                    reason: reason.clone(),
                });
                report.transfers.warn(url, reason);
                continue;
            }
            let time = object.time;
            let remote = Entry {
                size: object.size,
                time: time.map(|t| t.0),
            };
            let verdict = quick_verdict(remote, local, options.checksum);
            if verdict == Verdict::Same {
                self.skip(&mut report.transfers, url);
                continue;
            }
            let permit = files.clone().acquire_owned().await;
            let (this, bucket, key, options) =
                (self.clone(), bucket.to_owned(), object.key, options.clone());
            tasks.spawn(async move {
                let _permit = permit;
                let outcome = async {
                    if let Verdict::Compare { .. } = verdict {
                        let same = this.same_content(&path, &bucket, &key).await?;
                        if !verdict.copy_after(same) {
                            return Ok(Done::Same);
                        }
                    }
                    options.announce(&SyncAction::Download {
                        url: url.clone(),
                        path: path.clone(),
                    });
                    if options.dry_run {
                        return Ok(Done::Planned);
                    }
                    let bytes = this.download_file(&bucket, &key, &path).await?;
                    if let Some((seconds, nanos)) = time {
                        set_mtime(&path, seconds, nanos)?;
                    }
                    Ok(Done::Moved(bytes))
                }
                .await;
                (url, outcome)
            });
            self.drain_finished(&mut tasks, &mut report);
        }
        let (_, local) = merge.into_sides();
        local.finish().await;
        self.drain_all(&mut tasks, &mut report).await;
        self.finish(report, started, retries_before)
    }

    /// Makes `s3://dst_bucket/dst_prefix…` match `s3://src_bucket/src_prefix…` on this
    /// engine's endpoint, copying server-side (a `/` is added to non-empty prefixes). An
    /// object is copied when missing, of another size, or newer at the source; with
    /// `checksum`, same-size objects are compared by their stored full-object checksums.
    pub async fn sync_between(
        &self,
        src_bucket: &str,
        src_prefix: &str,
        dst_bucket: &str,
        dst_prefix: &str,
        options: &SyncOptions,
    ) -> SyncSummary {
        let started = Instant::now();
        let retries_before = self.client.retries();
        let (src_prefix, dst_prefix) = (key_prefix(src_prefix), key_prefix(dst_prefix));
        let src_listed = format!("s3://{src_bucket}/{src_prefix}");
        let dst_listed = format!("s3://{dst_bucket}/{dst_prefix}");
        let mut report = SyncSummary::default();
        let source = Listing::new(self, src_bucket, &src_prefix, options.filters.clone());
        let destination = Listing::new(self, dst_bucket, &dst_prefix, options.filters.clone());
        let mut merge = Merge::new(source, destination);
        let files = Arc::new(Semaphore::new(self.tasks_ahead()));
        let mut tasks = JoinSet::new();
        let mut deleter = Deleter::new(dst_bucket);
        loop {
            let pair = match merge.next().await {
                Ok(Some(pair)) => pair,
                Ok(None) => break,
                Err(error) => {
                    let side = if error.side == "source" {
                        src_listed.clone()
                    } else {
                        dst_listed.clone()
                    };
                    fail(
                        &mut report.transfers,
                        side,
                        TransferError::Other {
                            message: error.to_string(),
                        },
                    );
                    break;
                }
            };
            let (object, destination) = match pair {
                Pair::Source(object) => (object, None),
                Pair::Both(object, destination) => (object, destination.ok()),
                Pair::Destination(Ok(extra)) => {
                    if options.delete {
                        self.delete_later(&mut deleter, extra.key, options, &mut report)
                            .await;
                    }
                    continue;
                }
                Pair::Destination(Err(error)) => {
                    fail(&mut report.transfers, dst_listed.clone(), error);
                    break;
                }
            };
            let object = match object {
                Ok(object) => object,
                Err(error) => {
                    fail(&mut report.transfers, src_listed.clone(), error);
                    break;
                }
            };
            let dst_key = format!("{dst_prefix}{}", object.relative);
            let url = format!("s3://{dst_bucket}/{dst_key}");
            let entry = |listed: &Listed| Entry {
                size: listed.size,
                time: listed.time.map(|t| t.0),
            };
            let destination = destination.as_ref().map(entry);
            let verdict = quick_verdict(entry(&object), destination, options.checksum);
            if verdict == Verdict::Same {
                self.skip(&mut report.transfers, url);
                continue;
            }
            let permit = files.clone().acquire_owned().await;
            let (this, options) = (self.clone(), options.clone());
            let (src_bucket, dst_bucket) = (src_bucket.to_owned(), dst_bucket.to_owned());
            let src_key = object.key;
            tasks.spawn(async move {
                let _permit = permit;
                let outcome = async {
                    if let Verdict::Compare { .. } = verdict {
                        let same = this
                            .same_objects((&src_bucket, &src_key), (&dst_bucket, &dst_key))
                            .await?;
                        if !verdict.copy_after(same) {
                            return Ok(Done::Same);
                        }
                    }
                    options.announce(&SyncAction::Copy {
                        from: format!("s3://{src_bucket}/{src_key}"),
                        url: url.clone(),
                    });
                    if options.dry_run {
                        return Ok(Done::Planned);
                    }
                    this.copy_object(&src_bucket, &src_key, &dst_bucket, &dst_key)
                        .await
                        .map(Done::Moved)
                }
                .await;
                (url, outcome)
            });
            self.drain_finished(&mut tasks, &mut report);
        }
        drop(merge);
        self.drain_all(&mut tasks, &mut report).await;
        self.flush_deletes(&mut deleter, &mut report).await;
        self.finish(report, started, retries_before)
    }

    /// Whether two objects hold the same bytes, by a full-object checksum both carry; `None`
    /// when they share none.
    async fn same_objects(
        &self,
        (src_bucket, src_key): (&str, &str),
        (dst_bucket, dst_key): (&str, &str),
    ) -> Result<Option<bool>, TransferError> {
        let source = self.client.head_object(src_bucket, src_key).await?;
        let destination = self.client.head_object(dst_bucket, dst_key).await?;
        let full = |info: &crate::s3::ObjectInfo| -> Vec<(String, String)> {
            if info.checksum_type.as_deref() == Some("COMPOSITE") {
                return Vec::new();
            }
            info.checksums
                .iter()
                .filter(|(_, value)| !value.contains('-'))
                .cloned()
                .collect()
        };
        let theirs = full(&destination);
        Ok(full(&source).into_iter().find_map(|(header, value)| {
            theirs
                .iter()
                .find(|(h, _)| *h == header)
                .map(|(_, v)| *v == value)
        }))
    }

    /// Whether the file and the object hold the same bytes, by the store's full-object CRC;
    /// `None` when the store holds none ferry can compare.
    async fn same_content(
        &self,
        path: &Path,
        bucket: &str,
        key: &str,
    ) -> Result<Option<bool>, TransferError> {
        let info = self.client.head_object(bucket, key).await?;
        if info.checksum_type.as_deref() == Some("COMPOSITE") {
            return Ok(None);
        }
        let preferred = self
            .config
            .checksum
            .filter(|a| a.supports_full_object())
            .unwrap_or(ChecksumAlgorithm::Crc64Nvme);
        let stored = |algorithm: ChecksumAlgorithm| {
            info.checksums
                .iter()
                .find(|(header, value)| header == algorithm.header_name() && !value.contains('-'))
                .map(|(_, value)| (algorithm, value.clone()))
        };
        let Some((algorithm, value)) = stored(preferred).or_else(|| {
            ChecksumAlgorithm::ALL
                .into_iter()
                .filter(|a| a.supports_full_object())
                .find_map(stored)
        }) else {
            return Ok(None);
        };
        let path = path.to_owned();
        let local = tokio::task::spawn_blocking(move || hash_file(&path, algorithm))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
        Ok(Some(local == value))
    }

    /// Decides that `key` goes: announced (and counted) now, deleted with the next full
    /// DeleteObjects batch, unless this is a dry run.
    async fn delete_later(
        &self,
        deleter: &mut Deleter,
        key: String,
        options: &SyncOptions,
        report: &mut SyncSummary,
    ) {
        options.announce(&SyncAction::Delete {
            name: format!("s3://{}/{key}", deleter.bucket),
        });
        report.planned += 1;
        if options.dry_run {
            return;
        }
        deleter.keys.push(key);
        if deleter.keys.len() >= DELETE_BATCH {
            self.flush_deletes(deleter, report).await;
        }
    }

    /// Deletes the keys decided so far, in one DeleteObjects request.
    async fn flush_deletes(&self, deleter: &mut Deleter, report: &mut SyncSummary) {
        if deleter.keys.is_empty() {
            return;
        }
        let mut batch = std::mem::take(&mut deleter.keys);
        report.deleted += self
            .delete_batch(&deleter.bucket, &mut batch, false, &mut report.transfers)
            .await;
    }

    /// Removes the local file `dir/relative` the source lacks (or announces it, for a dry
    /// run).
    fn delete_local(
        &self,
        dir: &Path,
        relative: &str,
        options: &SyncOptions,
        report: &mut SyncSummary,
    ) {
        let path = dir.join(relative);
        let name = path.display().to_string();
        options.announce(&SyncAction::Delete { name: name.clone() });
        report.planned += 1;
        if options.dry_run {
            return;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => {
                report.deleted += 1;
                self.progress.emit(Event::Deleted { name });
            }
            Err(e) => fail(
                &mut report.transfers,
                name,
                TransferError::io("removing", path, e),
            ),
        }
    }

    /// Records that the target directory could not be walked (at `name`).
    fn walk_failed(
        &self,
        dir: &Path,
        name: String,
        error: TransferError,
        report: &mut SyncSummary,
    ) {
        let error = match error {
            TransferError::Local { source } => TransferError::Io {
                action: "walking",
                path: name.into(),
                source,
            },
            other => other,
        };
        fail(&mut report.transfers, dir.display().to_string(), error);
    }

    fn skip(&self, summary: &mut TransferSummary, name: String) {
        summary.skipped += 1;
        self.progress.emit(Event::UpToDate { name });
    }

    /// Records the tasks finished so far.
    fn drain_finished(&self, tasks: &mut JoinSet<(String, Outcome)>, report: &mut SyncSummary) {
        while let Some(done) = tasks.try_join_next() {
            let (name, outcome) =
                done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            self.record(report, name, outcome);
        }
    }

    /// Waits for every task and records it.
    async fn drain_all(&self, tasks: &mut JoinSet<(String, Outcome)>, report: &mut SyncSummary) {
        while let Some(done) = tasks.join_next().await {
            let (name, outcome) =
                done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            self.record(report, name, outcome);
        }
    }

    fn record(&self, report: &mut SyncSummary, name: String, outcome: Outcome) {
        match outcome {
            Ok(Done::Moved(bytes)) => {
                report.planned += 1;
                report.transfers.objects += 1;
                report.transfers.bytes += bytes;
            }
            Ok(Done::Planned) => report.planned += 1,
            Ok(Done::Same) => self.skip(&mut report.transfers, name),
            Err(error) => fail(&mut report.transfers, name, error),
        }
    }

    fn finish(
        &self,
        mut report: SyncSummary,
        started: Instant,
        retries_before: u64,
    ) -> SyncSummary {
        report.transfers.retries = self.client.retries() - retries_before;
        report.transfers.seconds = started.elapsed().as_secs_f64();
        report
    }
}

fn fail(summary: &mut TransferSummary, name: String, error: TransferError) {
    summary.fail(Failure::new(name, error));
}

/// The keys `--delete` removes from a bucket, waiting for a full DeleteObjects batch.
struct Deleter {
    bucket: String,
    keys: Vec<String>,
}

impl Deleter {
    fn new(bucket: &str) -> Self {
        Self {
            bucket: bucket.to_owned(),
            keys: Vec::with_capacity(DELETE_BATCH),
        }
    }
}

/// What the local walk could not read, as keys (a file) and prefixes (a directory, `d/`;
/// the root, ``): objects there are not known to be extra, so `--delete` keeps them. Only
/// failures add to it.
#[derive(Debug, Default)]
struct Unseen(Vec<String>);

impl Unseen {
    fn add(&mut self, relative: String) {
        self.0.push(relative);
    }

    /// Whether `relative` is, or lies below, something the walk could not read.
    fn covers(&self, relative: &str) -> bool {
        self.0.iter().any(|unseen| {
            relative == unseen
                || ((unseen.is_empty() || unseen.ends_with('/')) && relative.starts_with(unseen))
        })
    }
}

/// `p` → `p/`, `` → ``.
fn key_prefix(prefix: &str) -> String {
    if prefix.is_empty() || prefix.ends_with('/') {
        prefix.to_owned()
    } else {
        format!("{prefix}/")
    }
}

/// `dir/relative`, or `None` when `relative` would leave `dir` (`..`, absolute, empty).
fn safe_join(dir: &Path, relative: &str) -> Option<PathBuf> {
    super::dirs::exact_local_path(dir, relative)
}

/// A local file found by the walk.
#[derive(Debug)]
struct LocalFile {
    path: PathBuf,
    /// Below the root, `/`-separated.
    relative: String,
    entry: Entry,
}

/// The file's full-object checksum, base64 as S3 writes it.
fn hash_file(path: &Path, algorithm: ChecksumAlgorithm) -> Result<String, TransferError> {
    let mut file = std::fs::File::open(path).map_err(|e| TransferError::io("opening", path, e))?;
    let mut hasher = Hasher::new(algorithm);
    let mut buffer = vec![0u8; 1024 * 1024];
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(|e| TransferError::io("reading", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher.finish().base64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_is_copied_when_missing_resized_or_newer() {
        let entry = |size, time| Entry {
            size,
            time: Some(time),
        };
        assert_eq!(quick_verdict(entry(1, 5), None, false), Verdict::Copy);
        assert_eq!(
            quick_verdict(entry(1, 5), Some(entry(2, 9)), false),
            Verdict::Copy
        );
        assert_eq!(
            quick_verdict(entry(1, 9), Some(entry(1, 5)), false),
            Verdict::Copy
        );
        assert_eq!(
            quick_verdict(entry(1, 5), Some(entry(1, 5)), false),
            Verdict::Same
        );
        assert_eq!(
            quick_verdict(entry(1, 5), Some(entry(1, 9)), false),
            Verdict::Same
        );
        assert_eq!(
            quick_verdict(entry(1, 5), Some(entry(1, 5)), true),
            Verdict::Compare { newer: false }
        );
    }

    #[test]
    fn what_the_walk_could_not_read_covers_its_key_and_what_lies_below_it() {
        let mut unseen = Unseen::default();
        assert!(!unseen.covers("a"));
        unseen.add("d/".into());
        unseen.add("f.txt".into());
        assert!(unseen.covers("d/x") && unseen.covers("d/e/x") && unseen.covers("f.txt"));
        // Neighbours in key order are not below it.
        assert!(!unseen.covers("d") && !unseen.covers("d.txt") && !unseen.covers("d0"));
        assert!(!unseen.covers("f.txt/x") && !unseen.covers("f.txt0"));
        unseen.add(String::new());
        assert!(unseen.covers("anything"));
    }
}
