//! `sync`: copy what is new or changed, as `aws s3 sync` does.
//!
//! A file is copied when the destination lacks it, when the sizes differ, or when the source
//! is newer (whole seconds: the local mtime against the object's `LastModified`). With
//! [`SyncOptions::checksum`] a same-size pair is compared by content instead: the local file's
//! full-object CRC (CRC-64/NVME unless the engine sends another full-object CRC) against the
//! checksum the store holds (HEAD with checksum mode), or two objects' stored full-object
//! checksums; objects without one fall back to the time check. A download sets the file's
//! mtime to the object's `LastModified`, so the next sync sees it up to date; an upload
//! leaves the object newer than the file.
//!
//! One driver runs every sync: `sync_up`, `sync_down` and `sync_between` only name the two
//! [`Side`]s (a local directory or `s3://bucket/prefix`). The driver merges them, decides
//! each key, runs the copies, deletes the extras and sums up; what differs between pairings
//! is only where an entry goes (`Side::target`) and how one [`Place`] is compared with and
//! copied to another (`Transfers::copy_one`: upload, download or server-side copy).
//!
//! Memory stays flat with the number of entries: both sides come in S3's key order (a local
//! tree walked in that order, a listing page by page) and are merged as two sorted streams
//! (see `merge`), as `aws s3 sync` does; neither is held. An entry only the destination has
//! is extra, and `--delete` removes it as soon as the merge passes it (S3: DeleteObjects in
//! batches of 1000). An entry the source walk could not read (an unreadable directory) is
//! not known to be extra: its objects stay. A destination that could not be read, or a
//! listing cut short, ends the sync rather than have missing entries decided. The copies run
//! as tasks, at most the engine's tasks-ahead in flight.

use super::events::Event;
use super::filter::Filters;
use super::merge::{Merge, Pair};
use super::sync_sides::{Found, Item, Place, Side};
use super::timestamps::set_mtime;
use super::{Failure, TransferError, TransferSummary, Transfers};
use crate::checksum::{ChecksumAlgorithm, Hasher};
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

/// What the time check compares of an entry: its size and time (whole seconds since the
/// epoch, when known).
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

/// What sizes and times alone say about a source entry.
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
        self.sync(Side::Local(dir), Side::s3(bucket, prefix), options)
            .await
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
        self.sync(Side::s3(bucket, prefix), Side::Local(dir), options)
            .await
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
        let source = Side::s3(src_bucket, src_prefix);
        let destination = Side::s3(dst_bucket, dst_prefix);
        self.sync(source, destination, options).await
    }

    /// The one sync: merges the two sides and copies, skips or deletes at each key.
    async fn sync(
        &self,
        source: Side<'_>,
        destination: Side<'_>,
        options: &SyncOptions,
    ) -> SyncSummary {
        let started = Instant::now();
        let retries_before = self.client.retries();
        let mut report = SyncSummary::default();
        let mut merge = Merge::new(
            source.open(self, &options.filters, false),
            destination.open(self, &options.filters, true),
        );
        let files = Arc::new(Semaphore::new(self.tasks_ahead()));
        let mut tasks = JoinSet::new();
        let mut unseen = Unseen::default();
        let mut deleter = Deleter::new(match &destination {
            Side::S3 { bucket, .. } => bucket,
            Side::Local(_) => "",
        });
        loop {
            let pair = match merge.next().await {
                Ok(Some(pair)) => pair,
                Ok(None) => break,
                Err(error) => {
                    let side = if error.side == "source" {
                        &source
                    } else {
                        &destination
                    };
                    let message = error.to_string();
                    fail(
                        &mut report.transfers,
                        side.name(),
                        TransferError::Other { message },
                    );
                    break;
                }
            };
            let (item, existing) = match pair {
                Pair::Source(item) => (item, None),
                Pair::Both(item, existing) => (item, Some(existing)),
                Pair::Destination(Item::Found(extra)) => {
                    // An unreadable directory would make its objects look extra: they stay.
                    if !options.delete || unseen.covers(&extra.relative) {
                        continue;
                    }
                    match extra.place {
                        Place::Object(_, key) => {
                            self.delete_later(&mut deleter, key, options, &mut report)
                                .await;
                        }
                        Place::File(path) => self.delete_local(path, options, &mut report),
                    }
                    continue;
                }
                // What the walk leaves out (links, FIFOs) is neither compared nor deleted.
                Pair::Destination(Item::Skipped { .. }) => continue,
                Pair::Destination(unread) => {
                    // A destination read in part would make what was not read look missing,
                    // and a listing cut short every unlisted source entry look extra: stop
                    // rather than guess.
                    destination_failed(&destination, unread, &mut report.transfers);
                    break;
                }
            };
            let found = match item {
                Item::Found(found) => found,
                Item::Skipped { name, reason, .. } => {
                    // Left out, not gone: `--delete` keeps its object (paired with it here).
                    self.left_out(&mut report.transfers, name, reason);
                    continue;
                }
                Item::Unreadable {
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
                Item::Failed(error) => {
                    // A listing cut short would make every unlisted entry look missing.
                    fail(&mut report.transfers, source.name(), error);
                    break;
                }
            };
            let existing = match existing {
                Some(Item::Found(existing)) => Some(stamp(&existing)),
                Some(Item::Skipped { .. }) | None => None,
                Some(unread) => {
                    destination_failed(&destination, unread, &mut report.transfers);
                    break;
                }
            };
            let target = match destination.target(&found.relative) {
                Ok(target) => target,
                Err(reason) => {
                    self.left_out(&mut report.transfers, found.place.name(), reason);
                    continue;
                }
            };
            // Named by the object: the destination's, when both are objects.
            let name = match target {
                Place::Object(..) => target.name(),
                Place::File(_) => found.place.name(),
            };
            let verdict = quick_verdict(stamp(&found), existing, options.checksum);
            if verdict == Verdict::Same {
                self.skip(&mut report.transfers, name);
                continue;
            }
            let permit = files.clone().acquire_owned().await;
            let (this, options) = (self.clone(), options.clone());
            tasks.spawn(async move {
                let _permit = permit;
                let outcome = this.copy_one(&found, &target, verdict, &options).await;
                (name, outcome)
            });
            self.drain_finished(&mut tasks, &mut report);
        }
        let (source, destination) = merge.into_sides();
        source.finish().await;
        destination.finish().await;
        self.drain_all(&mut tasks, &mut report).await;
        self.flush_deletes(&mut deleter, &mut report).await;
        self.finish(report, started, retries_before)
    }

    /// Copies `found` to `target` unless its contents turn out the same (`verdict`
    /// `Compare`); with `dry_run`, only announces it.
    async fn copy_one(
        &self,
        found: &Found,
        target: &Place,
        verdict: Verdict,
        options: &SyncOptions,
    ) -> Outcome {
        use Place::{File, Object};
        if let Verdict::Compare { .. } = verdict {
            let same = match (&found.place, target) {
                (File(path), Object(bucket, key)) | (Object(bucket, key), File(path)) => {
                    self.same_content(path, bucket, key).await?
                }
                (Object(bucket, key), Object(to_bucket, to_key)) => {
                    self.same_objects((bucket, key), (to_bucket, to_key))
                        .await?
                }
                (File(_), File(_)) => unreachable!("{LOCAL_TO_LOCAL}"),
            };
            if !verdict.copy_after(same) {
                return Ok(Done::Same);
            }
        }
        let (from, url) = (found.place.name(), target.name());
        options.announce(&match (&found.place, target) {
            (File(path), Object(..)) => SyncAction::Upload {
                path: path.clone(),
                url,
            },
            (Object(..), File(path)) => SyncAction::Download {
                url: from,
                path: path.clone(),
            },
            (Object(..), Object(..)) => SyncAction::Copy { from, url },
            (File(_), File(_)) => unreachable!("{LOCAL_TO_LOCAL}"),
        });
        if options.dry_run {
            return Ok(Done::Planned);
        }
        let bytes = match (&found.place, target) {
            (File(path), Object(bucket, key)) => self.upload_file(path, bucket, key).await?,
            (Object(bucket, key), File(path)) => {
                // One GET for an object of one part: the listing gave its size.
                let bytes = self
                    .download_listed_file(bucket, key, path, found.size)
                    .await?;
                // The next sync sees the file up to date.
                if let Some((seconds, nanos)) = found.time {
                    set_mtime(path, seconds, nanos)?;
                }
                bytes
            }
            (Object(bucket, key), Object(to_bucket, to_key)) => {
                self.copy_object(bucket, key, to_bucket, to_key).await?
            }
            (File(_), File(_)) => unreachable!("{LOCAL_TO_LOCAL}"),
        };
        Ok(Done::Moved(bytes))
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

    /// Removes the local file `path` (or announces it, for a dry run).
    fn delete_local(&self, path: PathBuf, options: &SyncOptions, report: &mut SyncSummary) {
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

    /// Records `name` as left out for `reason`, a warning.
    fn left_out(&self, summary: &mut TransferSummary, name: String, reason: String) {
        self.progress.emit(Event::Skipped {
            name: name.clone(),
            reason: reason.clone(),
        });
        summary.warn(name, reason);
    }

    /// Records `name` as up to date.
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

    /// Records what a task ended with.
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

    /// Adds the retries and the wall time.
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

/// The keys `--delete` removes from a bucket, waiting for a full DeleteObjects batch (a
/// local destination deletes each file at once: no bucket, no keys).
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

/// A `--delete` or a comparison ends the sync when the destination could not be read, at
/// `unread` (an unreadable part of a directory, a failed listing).
fn destination_failed(destination: &Side<'_>, unread: Item, summary: &mut TransferSummary) {
    let error = match unread {
        Item::Unreadable { name, error, .. } => match error {
            TransferError::Local { source } => TransferError::Io {
                action: "walking",
                path: name.into(),
                source,
            },
            other => other,
        },
        Item::Failed(error) => error,
        Item::Found(_) | Item::Skipped { .. } => return,
    };
    fail(summary, destination.name(), error);
}

/// The size and whole-second time of an entry.
fn stamp(found: &Found) -> Entry {
    Entry {
        size: found.size,
        time: found.time.map(|(seconds, _)| seconds),
    }
}

/// Why no sync runs between two local directories.
const LOCAL_TO_LOCAL: &str = "sync copies to or from S3, never between two directories";

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
