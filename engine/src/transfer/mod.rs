//! The transfer engine: splits files and objects into parts and moves them in parallel under
//! one concurrency limit shared by every file, so a million small files and one huge file
//! both run at full speed within bounded memory.
//!
//! * [`Transfers::upload_file`]: one request for small files; otherwise a multipart upload
//!   whose parts are read a chunk at a time while they are sent (never held whole), and
//!   aborted on any failure so nothing is left to be billed.
//! * [`Transfers::download_file`]: HEAD, then ranged GETs in parallel, each answer's
//!   `Content-Range` checked, written at their offsets into a temporary file beside the
//!   target, renamed into place only when complete.
//! * [`Transfers::upload_dir`] / [`Transfers::download_prefix`]: directories and prefixes,
//!   walked and listed as streams, never held whole.

pub mod adaptive;
mod buffers;
mod cancel;
mod content_type;
mod copy;
mod delete;
mod dir_locks;
mod dirs;
mod download;
pub mod events;
mod failure;
pub mod filter;
mod first_range;
pub mod hedge;
mod journal;
pub mod limits;
mod merge;
mod one_round;
mod pass_through;
pub mod plan;
mod reserve;
pub mod sizing;
mod small_download;
mod sync;
mod sync_sides;
mod timestamps;
mod unnamed;
mod upload;
pub mod uploads;
mod walk;

pub use cancel::{Cancel, Cancelled, UploadRef};
pub use dirs::TransferSummary;
pub use events::{Event, Progress};
pub use failure::{Failure, FailureKind};
pub use filter::{FilterError, FilterKind, Filters};
pub use limits::Limits;
pub use pass_through::STANDARD_OUTPUT;
pub use plan::{PartPlan, PlanError};
pub use sync::{ActionSink, SyncAction, SyncOptions, SyncSummary};

use crate::checksum;
use crate::s3::{ChecksumHeader, PutOptions, S3Client};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// How transfers run.
#[derive(Debug, Clone)]
pub struct TransferConfig {
    /// Requests in flight at once for parts and ranges (byte-bound work), across all files,
    /// to start with and at least; also the floor of request-bound work.
    pub concurrency: usize,
    /// The most parts and ranges in flight: byte-bound work grows from
    /// [`concurrency`](Self::concurrency) towards this while more in flight bring more
    /// completions per second, and gives the growth back where they do not (see
    /// [`adaptive`]); the memory budget bounds it too. Equal to `concurrency`: fixed.
    pub max_concurrency: usize,
    /// The most requests in flight for request-bound work (objects that take one request
    /// each: small uploads and downloads, CopyObject), which sizes itself between
    /// [`concurrency`](Self::concurrency) and this as long as more requests bring more
    /// completions per second (see [`adaptive`]). Equal to `concurrency`: fixed.
    pub request_concurrency: usize,
    /// The preferred part size (grown for very large objects).
    pub part_size: u64,
    /// Objects up to this size go in one request.
    pub multipart_threshold: u64,
    /// The store's limits.
    pub limits: Limits,
    /// What uploaded and copied objects are stored as: content type (`None`: guessed from
    /// the file's extension), metadata, headers, storage class, encryption, tags, ACL.
    pub put: PutOptions,
    /// Copies take their content type, headers and metadata from [`Self::put`] instead of
    /// the source (`aws s3 cp --metadata-directive REPLACE`).
    pub replace_metadata_on_copy: bool,
    /// Whether the store lists keys in UTF-8 byte order, as Amazon S3 does, so that sync
    /// can merge its listings as they stream in (memory flat however many objects); where it
    /// may not, a listing is read whole and sorted first. `None`: yes on AWS endpoints, no
    /// on custom ones (SeaweedFS, for one, lists `logs/…` before `logs-archive/…`).
    pub sorted_listings: Option<bool>,
    /// Bytes of transfer data held in memory at once, across all transfers, however large
    /// the files: a file part being sent holds 1 MiB of it (it is read a chunk at a time),
    /// a part of a stream or a copy, or a small file, its whole size.
    pub memory_budget: u64,
    /// The checksum sent with every upload and verified on download (`None`: size only,
    /// for stores that reject `x-amz-checksum-*` headers).
    pub checksum: Option<checksum::ChecksumAlgorithm>,
    /// Where upload resume journals are kept (`None`: `$XDG_STATE_HOME/ferry`, else
    /// `~/.local/state/ferry`). Downloads keep theirs beside their temporary file.
    pub state_dir: Option<PathBuf>,
    /// Flush each downloaded file to stable storage (`fdatasync`) before renaming it into
    /// place, so that it survives a power loss or an OS crash, not only a crash of ferry.
    /// Off by default, as in the AWS CLI, s5cmd and rclone: it costs about 0.4 s per GiB.
    pub sync_downloads: bool,
    /// Hedging of slow part uploads (`None`: never send a part twice).
    pub hedge: Option<hedge::HedgeConfig>,
    /// Follow symbolic links when walking a directory (as `aws s3 cp -r` and `sync` do);
    /// off: each link is skipped with a warning.
    pub follow_symlinks: bool,
    /// When work run under [`Transfers::until_cancelled`] is cancelled, leave its open
    /// multipart uploads on the store for a rerun to resume (from their journals) instead of
    /// aborting them. Off by default: nothing is left to be billed.
    pub keep_uploads_on_cancel: bool,
    /// With no [`checksum`](Self::checksum), send each upload's `Content-MD5` so the store
    /// still verifies what arrives (on by default; off only when asked for no verification).
    pub content_md5: bool,
    /// Send a file part's CRC checksum as an aws-chunked trailer, computed while the part is
    /// sent (one read of the file), as the AWS SDKs do; off: sum each part first and send the
    /// checksum as a header (two reads), for stores that do not take aws-chunked bodies.
    pub checksum_trailer: bool,
}

impl Default for TransferConfig {
    fn default() -> Self {
        Self {
            concurrency: 16,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            request_concurrency: DEFAULT_REQUEST_CONCURRENCY,
            part_size: 8 * limits::MIB,
            multipart_threshold: 8 * limits::MIB,
            limits: Limits::AWS,
            put: PutOptions::default(),
            replace_metadata_on_copy: false,
            sorted_listings: None,
            checksum: Some(checksum::ChecksumAlgorithm::Crc64Nvme),
            memory_budget: 64 * limits::MIB,
            state_dir: None,
            sync_downloads: false,
            hedge: Some(hedge::HedgeConfig::default()),
            follow_symlinks: true,
            keep_uploads_on_cancel: false,
            content_md5: true,
            checksum_trailer: true,
        }
    }
}

/// Reads and writes of files up to this size (a small object, the tail of a download) are
/// done on the runtime thread that needs them, as the file's stat, open and rename already
/// are: from or into the page cache that takes a few microseconds, less than handing the
/// work to the blocking pool and waking the task again (perf: a fifth of the CPU of a
/// 2,000-file upload went to those hand-overs).
const INLINE_FILE_IO: u64 = 64 * 1024;

/// One download more writing `temp` (see [`Transfers::track_download`]).
fn track(list: &mut std::collections::HashMap<PathBuf, usize>, temp: &std::path::Path) {
    *list.entry(temp.to_owned()).or_default() += 1;
}

/// One download fewer writing `temp` (see [`Transfers::track_download`]).
fn untrack(list: &mut std::collections::HashMap<PathBuf, usize>, temp: &std::path::Path) {
    if let Some(count) = list.get_mut(temp) {
        *count -= 1;
        if *count == 0 {
            list.remove(temp);
        }
    }
}

/// The default cap of [`TransferConfig::max_concurrency`]: twice the default floor. S3
/// serves one request at about 90 MB/s, so 16 parts in flight fill about 11 Gbps and 32
/// about 23 Gbps; past that, `--target-gbps` sizes the cap (and the memory budget with
/// it). On a link of 25 MB/s per connection, a 1 GiB download took 3.0 s with 16 in
/// flight, 1.9 s with 32 and 1.5 s with 64, peaking at 37, 50 and 82 MiB resident
/// (docs/benchmarks.md).
pub const DEFAULT_MAX_CONCURRENCY: usize = 32;

/// The default cap of [`TransferConfig::request_concurrency`]: at 50 ms per answer, 512
/// requests in flight complete about 10,000 small objects a second (a store that cannot
/// take that many answers SlowDown, and the adaptive send rate backs off).
pub const DEFAULT_REQUEST_CONCURRENCY: usize = 512;

/// Why a transfer failed. Cloneable, so a failure can go both to the progress events and to
/// the summary; [`TransferError::kind`] says what kind of failure it is.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// The store refused or could not be reached.
    #[error(transparent)]
    S3(#[from] crate::s3::Error),
    /// A local file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("reading", "writing", …).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause (shared, so that the error can be cloned).
        source: Arc<std::io::Error>,
    },
    /// The object cannot be split within the store's limits.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A local file or directory met while walking a tree could not be read (the failure
    /// names the path; this is the cause).
    #[error("{source}")]
    Local {
        /// The cause.
        source: Arc<std::io::Error>,
    },
    /// Anything else, in words (a listing out of S3's key order, ...).
    #[error("{message}")]
    Other {
        /// What went wrong.
        message: String,
    },
    /// What arrived is not what was asked for (wrong range, wrong size).
    #[error("{name}: {message}")]
    Integrity {
        /// The object.
        name: String,
        /// What was wrong.
        message: String,
    },
}

impl TransferError {
    /// A local file error: what was being done ("reading", "writing"), the path, the cause.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source: Arc::new(source),
        }
    }

    /// What can be done about it, when the engine knows (a front end words it).
    pub fn advice(&self) -> Option<crate::Advice> {
        match self {
            Self::S3(e) => e.advice(),
            Self::Io { source, .. } | Self::Local { source } => io_advice(source),
            Self::Other { .. } => None,
            Self::Plan(_) => Some(crate::Advice::PartSizeOutOfRange),
            Self::Integrity { .. } => Some(crate::Advice::RerunTransfer),
        }
    }
}

/// The advice for a local file error, by its kind (see [`failure`]): only where the kind
/// says what to do.
fn io_advice(error: &std::io::Error) -> Option<crate::Advice> {
    use crate::Advice;
    match failure::io_kind(error) {
        FailureKind::NotFound => Some(Advice::CheckPathExists),
        FailureKind::AccessDenied => Some(Advice::CheckPathPermissions),
        FailureKind::DiskFull => Some(Advice::FreeDiskSpace),
        _ => None,
    }
}

/// The engine: a client, the shared concurrency limit and where progress goes. Cheap to
/// clone; clones share the limit.
#[derive(Debug, Clone)]
pub struct Transfers {
    client: S3Client,
    config: Arc<TransferConfig>,
    /// The self-sizing limit of byte-bound work (parts and ranges).
    parts: Arc<adaptive::AdaptiveLimit>,
    /// The memory budget, in KiB units.
    memory: Arc<Semaphore>,
    progress: Progress,
    open_uploads: Arc<std::sync::Mutex<Vec<UploadRef>>>,
    /// The journals of open uploads, by upload ID: removed with the upload when a cancel
    /// aborts it, so a rerun does not try to resume an upload that is gone.
    upload_journals: Arc<std::sync::Mutex<Vec<(String, PathBuf)>>>,
    /// Temporary files of downloads under way (what a cancel leaves on disk), each with the
    /// number of downloads writing it. A map: a list searched with `Path`'s component-wise
    /// equality took a twentieth of a 2,000-file download's CPU with 512 in flight.
    open_downloads: Arc<std::sync::Mutex<std::collections::HashMap<PathBuf, usize>>>,
    /// Trips to stop the work run under [`Self::until_cancelled`].
    cancel: Cancel,
    /// Uploads whose start may have left a twin on the store (an attempt's answer lost):
    /// the upload ID, and when it was asked for.
    twins: Arc<std::sync::Mutex<Vec<(String, std::time::SystemTime)>>>,
    /// Latencies of part uploads, and the hedges sent for stragglers.
    part_hedger: Option<Arc<hedge::Hedger>>,
    /// Latencies of ranged downloads, and the hedges sent for stragglers.
    range_hedger: Option<Arc<hedge::Hedger>>,
    /// One slot per core for part checksums.
    checksum_slots: Arc<Semaphore>,
    /// The self-sizing limit of request-bound work.
    requests: Arc<adaptive::AdaptiveLimit>,
    /// Set once this engine has collected the stale upload journals of its state directory.
    stale_journals_collected: Arc<tokio::sync::OnceCell<()>>,
    /// Upload part buffers, reused.
    buffers: Arc<buffers::BufferPool>,
    /// Set once the store refused an aws-chunked part: parts then carry their checksum as a
    /// header (see [`TransferConfig::checksum_trailer`]).
    trailer_refused: Arc<std::sync::atomic::AtomicBool>,
    /// One change at a time to a directory's entries, from this engine.
    directories: Arc<dir_locks::DirectoryLocks>,
    /// Whether downloads of one GET still write unnamed files.
    unnamed: Arc<unnamed::UnnamedFiles>,
}

impl Transfers {
    /// An engine sending through `client`, its requests in flight sized by the client's
    /// connection pool (what [`crate::ClientBuilder::concurrency`] set): request-bound
    /// work grows up to it, parts and ranges use at most `config.concurrency` of it.
    pub fn for_client(client: S3Client, config: TransferConfig, progress: Progress) -> Self {
        let pool = client.max_connections().max(1);
        let config = TransferConfig {
            request_concurrency: pool,
            concurrency: config.concurrency.min(pool),
            max_concurrency: config.max_concurrency.min(pool),
            ..config
        };
        Self::new(client, config, progress)
    }

    /// An engine sending through `client`.
    pub fn new(client: S3Client, config: TransferConfig, progress: Progress) -> Self {
        let parts = adaptive::AdaptiveLimit::for_parts(
            config.concurrency.max(1),
            config.max_concurrency.max(config.concurrency),
        );
        // Request-bound work starts at its cap (512 at the defaults): where each answer takes
        // tens of milliseconds, the first round trip carries as many requests as it may, and
        // the limit steps down from there where more in flight stop helping.
        let floor = config.concurrency.max(1);
        let cap = config.request_concurrency.max(config.concurrency);
        let requests = adaptive::AdaptiveLimit::starting_at(cap, floor, cap);
        let memory = Arc::new(Semaphore::new(budget_units(config.memory_budget)));
        // One hedge in flight per 32 of the most parts that may be in flight (one at the
        // defaults, where each hedge holds its 8 MiB range), where that is more than asked.
        let hedge = config.hedge.map(|h| hedge::HedgeConfig {
            max_in_flight: h
                .max_in_flight
                .max(config.max_concurrency.max(config.concurrency) / 32),
            ..h
        });
        let part_hedger = hedge.map(|h| Arc::new(hedge::Hedger::new(h)));
        let range_hedger = hedge.map(|h| Arc::new(hedge::Hedger::new(h)));
        let buffers = buffers::BufferPool::new(config.memory_budget);
        Self {
            client,
            config: Arc::new(config),
            parts,
            memory,
            progress,
            open_uploads: Arc::default(),
            upload_journals: Arc::default(),
            open_downloads: Arc::default(),
            cancel: Cancel::new(),
            twins: Arc::default(),
            part_hedger,
            range_hedger,
            checksum_slots: Arc::new(Semaphore::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            )),
            buffers,
            stale_journals_collected: Arc::default(),
            requests,
            trailer_refused: Arc::default(),
            directories: Arc::default(),
            unnamed: Arc::default(),
        }
    }

    /// A part's checksum, on the blocking pool (never on the reactor threads) and at most one
    /// per core at a time: the CPU is no faster with more, and a part being summed is resident
    /// in memory, so this also bounds memory while many parts wait to be sent.
    async fn part_checksum<T>(
        &self,
        algorithm: checksum::ChecksumAlgorithm,
        data: T,
    ) -> checksum::PartChecksum
    where
        T: AsRef<[u8]> + Send + 'static,
    {
        let _slot = self.checksum_slot().await;
        let summed =
            tokio::task::spawn_blocking(move || checksum::checksum_of(algorithm, data.as_ref()));
        match summed.await {
            Ok(sum) => sum,
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }

    /// One of the slots (one per core) that bound how many parts are summed at once.
    pub(super) async fn checksum_slot(&self) -> tokio::sync::SemaphorePermit<'_> {
        match self.checksum_slots.acquire().await {
            Ok(slot) => slot,
            Err(_) => unreachable!("the checksum semaphore is never closed"),
        }
    }

    /// Emits `Finished` or `Failed` for one object's `result`, and returns it.
    fn report(
        &self,
        name: String,
        result: Result<u64, TransferError>,
    ) -> Result<u64, TransferError> {
        match &result {
            Ok(bytes) => self.progress.emit(Event::Finished {
                name,
                bytes: *bytes,
            }),
            Err(error) => {
                self.progress.failed(name, error.clone());
            }
        }
        result
    }

    /// Asks CreateMultipartUpload for the engine's checksum (algorithm and full-object type),
    /// which every part then carries.
    fn announce_checksum(&self, options: &mut PutOptions) {
        if let Some(algorithm) = self.config.checksum {
            options.checksum_headers.extend([
                ChecksumHeader::Algorithm(algorithm),
                ChecksumHeader::Type(algorithm.preferred_type()),
            ]);
        }
    }

    /// Part uploads sent a second time because the first was a straggler.
    pub fn hedged_parts(&self) -> u64 {
        self.part_hedger.as_ref().map_or(0, |h| h.hedged())
    }

    /// Ranged downloads sent a second time because the first was a straggler.
    pub fn hedged_ranges(&self) -> u64 {
        self.range_hedger.as_ref().map_or(0, |h| h.hedged())
    }

    /// Aborts every multipart upload this engine (and its clones) still has open: call it
    /// after cancelling transfers (Ctrl-C) so no parts are left to be billed. Returns how
    /// many were aborted.
    pub async fn abort_open_uploads(&self) -> usize {
        self.abort_open_uploads_listed().await.len()
    }

    /// Like [`Self::abort_open_uploads`], returning the uploads aborted (those whose abort
    /// failed are logged and left out).
    pub async fn abort_open_uploads_listed(&self) -> Vec<UploadRef> {
        let mut aborted = Vec::new();
        for upload in self.take_open_uploads() {
            let (bucket, key, id) = (&upload.bucket, &upload.key, &upload.upload_id);
            match self.client.abort_multipart_upload(bucket, key, id).await {
                Ok(()) => {
                    self.forget_journal(id, true);
                    aborted.push(upload);
                }
                Err(error) => {
                    tracing::warn!(bucket, key, %error, "could not abort a cancelled multipart upload");
                }
            }
        }
        aborted
    }

    /// Starts a multipart upload of `bucket`/`key` and tracks it as open (for
    /// [`Self::abort_open_uploads`]). When an earlier attempt may have started a twin (its
    /// answer lost), the time is noted, so [`Self::finish_upload`] looks for it.
    async fn start_upload(
        &self,
        bucket: &str,
        key: &str,
        options: &crate::s3::PutOptions,
    ) -> Result<String, TransferError> {
        let asked = std::time::SystemTime::now();
        let created = self
            .client
            .create_multipart_upload_noting(bucket, key, options)
            .await?;
        self.track_upload(bucket, key, &created.upload_id, true);
        if created.may_have_twin {
            let mut twins = self.twins.lock().unwrap_or_else(|e| e.into_inner());
            twins.push((created.upload_id.clone(), asked));
        }
        Ok(created.upload_id)
    }

    /// Marks an upload completed or aborted. If starting it may have left a twin on the
    /// store (see [`Self::start_upload`]), the twins are looked for and aborted: uploads of
    /// the same key, other than this one, that the store says began at most a minute before
    /// this one was asked for.
    async fn finish_upload(&self, bucket: &str, key: &str, upload_id: &str) {
        self.track_upload(bucket, key, upload_id, false);
        self.forget_journal(upload_id, false);
        let asked = {
            let mut twins = self.twins.lock().unwrap_or_else(|e| e.into_inner());
            let at = twins.iter().position(|(id, _)| id == upload_id);
            at.map(|at| twins.swap_remove(at).1)
        };
        if let Some(asked) = asked {
            uploads::abort_twins(self, bucket, key, upload_id, asked).await;
        }
    }

    /// Notes where the journal of the open upload `upload_id` is.
    fn track_journal(&self, upload_id: &str, path: PathBuf) {
        let mut list = self
            .upload_journals
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        list.push((upload_id.to_owned(), path));
    }

    /// Stops tracking the journal of `upload_id`, and with `remove` deletes it (its upload
    /// was aborted).
    fn forget_journal(&self, upload_id: &str, remove: bool) {
        let path = {
            let mut list = self
                .upload_journals
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let at = list.iter().position(|(id, _)| id == upload_id);
            at.map(|at| list.swap_remove(at).1)
        };
        if let (Some(path), true) = (path, remove) {
            journal::remove(&path);
        }
    }

    fn track_upload(&self, bucket: &str, key: &str, upload_id: &str, open: bool) {
        let upload = UploadRef {
            bucket: bucket.into(),
            key: key.into(),
            upload_id: upload_id.into(),
        };
        let mut list = match self.open_uploads.lock() {
            Ok(list) => list,
            Err(poisoned) => poisoned.into_inner(),
        };
        if open {
            list.push(upload);
        } else {
            list.retain(|u| *u != upload);
        }
    }

    /// The multipart uploads still open, no longer tracked.
    fn take_open_uploads(&self) -> Vec<UploadRef> {
        std::mem::take(&mut *self.open_uploads.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The temporary files of downloads under way, each with the downloads writing it: the
    /// lock a cancel's report is made under.
    fn open_downloads(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<PathBuf, usize>> {
        self.open_downloads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Notes a download writing `temp` (`open`), or done with it.
    pub(crate) fn track_download(&self, temp: &std::path::Path, open: bool) {
        let mut list = self.open_downloads();
        if open {
            track(&mut list, temp);
        } else {
            untrack(&mut list, temp);
        }
    }

    /// Renames a finished download's `temp` over `target` and stops tracking it. Once the
    /// run is cancelled nothing more is renamed: the cancel's report lists the temporary
    /// files on disk under the same lock, so a file it names as partial stays where it says
    /// (it is whole, and a rerun takes it again); the download then waits to be dropped with
    /// the rest of the cancelled work ([`Transfers::until_cancelled`]).
    pub(crate) async fn rename_into_place(
        &self,
        temp: &std::path::Path,
        target: &std::path::Path,
    ) -> Result<(), TransferError> {
        let renamed = {
            let _entries = self.directories.entry(target).await;
            let mut list = self.open_downloads();
            if self.cancel.is_cancelled() {
                None
            } else {
                let renamed = std::fs::rename(temp, target)
                    .map_err(|e| TransferError::io("renaming into place", target, e));
                untrack(&mut list, temp);
                Some(renamed)
            }
        };
        match renamed {
            Some(result) => result,
            None => std::future::pending().await,
        }
    }

    /// Gives a finished download's unnamed `file` the name `target`. A link never replaces
    /// a file, so over an existing `target` the file is named `temp` and renamed over it
    /// ([`Self::rename_into_place`]). As there, nothing is named once the run is cancelled:
    /// the file then goes with its handle. A file that cannot be named at all (no `/proc`)
    /// is an error, and later downloads write named temporary files.
    pub(crate) async fn link_into_place(
        &self,
        file: &std::fs::File,
        temp: &std::path::Path,
        target: &std::path::Path,
    ) -> Result<(), TransferError> {
        // Under the lock the cancel's report is made under, as in `rename_into_place`: once
        // the report is made, nothing more is named.
        let linked = {
            let _entries = self.directories.entry(target).await;
            let _list = self.open_downloads();
            (!self.cancel.is_cancelled()).then(|| unnamed::link(file, target))
        };
        let error = match linked {
            Some(Ok(())) => return Ok(()),
            Some(Err(error)) => error,
            None => std::future::pending().await,
        };
        if error.kind() != std::io::ErrorKind::AlreadyExists {
            self.unnamed.give_up();
            return Err(TransferError::io("naming", target, error));
        }
        // Named `temp` and tracked in one step under that lock, so that a cancel's report
        // either comes first (and nothing is named) or lists `temp`.
        let named = {
            let _entries = self.directories.entry(temp).await;
            let mut list = self.open_downloads();
            (!self.cancel.is_cancelled()).then(|| {
                track(&mut list, temp);
                match unnamed::link(file, temp) {
                    // Left by an earlier run killed before it could remove it.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        std::fs::remove_file(temp).and_then(|()| unnamed::link(file, temp))
                    }
                    named => named,
                }
            })
        };
        match named {
            Some(Ok(())) => self.rename_into_place(temp, target).await,
            Some(Err(error)) => {
                self.track_download(temp, false);
                Err(TransferError::io("naming", temp, error))
            }
            None => std::future::pending().await,
        }
    }

    /// The temporary files of downloads under way that are on disk.
    fn partial_downloads(&self) -> Vec<PathBuf> {
        let list = self.open_downloads();
        let mut partial: Vec<PathBuf> = list.keys().filter(|p| p.exists()).cloned().collect();
        partial.sort();
        partial
    }

    /// The client.
    pub fn client(&self) -> &S3Client {
        &self.client
    }

    /// Where this engine reports events.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// The configuration.
    pub fn config(&self) -> &TransferConfig {
        &self.config
    }

    /// Waits for a request slot and for `bytes` of the memory budget (a part larger than the
    /// whole budget takes all of it). Both are released when the permit is dropped.
    async fn permit(&self, bytes: u64) -> Permit {
        let units = budget_units(bytes).min(budget_units(self.config.memory_budget)) as u32;
        // The semaphores are never closed, so acquiring cannot fail.
        let memory = match self.memory.clone().acquire_many_owned(units.max(1)).await {
            Ok(permit) => permit,
            Err(_) => unreachable!("the memory semaphore is never closed"),
        };
        Permit {
            _memory: memory,
            _request: Slot::Bytes(self.parts.acquire().await),
        }
    }

    /// `bytes` of the memory budget if they are free now, without a request slot: for
    /// extra work that is worth doing only when memory is to spare (a hedge).
    fn try_reserve(&self, bytes: u64) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let units = budget_units(bytes).min(budget_units(self.config.memory_budget)) as u32;
        self.memory
            .clone()
            .try_acquire_many_owned(units.max(1))
            .ok()
    }

    /// Like [`Self::permit`], for request-bound work (an object that takes one request):
    /// the slot comes from the self-sizing limit.
    async fn request_permit(&self, bytes: u64) -> Permit {
        let units = budget_units(bytes).min(budget_units(self.config.memory_budget)) as u32;
        let memory = match self.memory.clone().acquire_many_owned(units.max(1)).await {
            Ok(permit) => permit,
            Err(_) => unreachable!("the memory semaphore is never closed"),
        };
        Permit {
            _memory: memory,
            _request: Slot::Request(self.requests.acquire().await),
        }
    }

    /// Requests in flight allowed now for request-bound work (it grows while it helps).
    pub fn request_limit(&self) -> usize {
        self.requests.limit()
    }

    /// Parts and ranges in flight allowed now (it grows while it helps).
    pub fn part_limit(&self) -> usize {
        self.parts.limit()
    }

    /// Files or objects walked or listed ahead of the transfers: enough to keep every
    /// request slot busy.
    fn tasks_ahead(&self) -> usize {
        self.config.concurrency.max(1) * 4 + self.requests.cap()
    }
}

/// A request slot and a share of the memory budget, released on drop.
#[derive(Debug)]
pub(crate) struct Permit {
    _memory: tokio::sync::OwnedSemaphorePermit,
    _request: Slot,
}

/// Where a request slot comes from.
#[derive(Debug)]
enum Slot {
    /// Parts and ranges.
    Bytes(#[allow(dead_code)] adaptive::AdaptivePermit),
    /// Objects of one request.
    Request(#[allow(dead_code)] adaptive::AdaptivePermit),
}

/// The budget in KiB units (what a semaphore counts), at least one.
fn budget_units(bytes: u64) -> usize {
    (bytes.div_ceil(1024) as usize).clamp(1, u32::MAX as usize)
}

#[cfg(test)]
mod io_advice_tests {
    use super::TransferError;
    use crate::Advice;
    use std::io::{Error, ErrorKind};

    fn advice(source: Error) -> Option<Advice> {
        TransferError::io("writing", "/data/out.bin", source).advice()
    }

    #[test]
    fn a_full_disk_advises_freeing_space_whether_or_not_the_kind_is_set() {
        for source in [
            Error::from(ErrorKind::StorageFull),
            Error::from(ErrorKind::QuotaExceeded),
            Error::from_raw_os_error(28),
        ] {
            assert_eq!(advice(source), Some(Advice::FreeDiskSpace));
        }
    }

    #[test]
    fn a_missing_path_and_a_permission_error_each_get_their_own_advice() {
        assert_eq!(
            advice(Error::from(ErrorKind::NotFound)),
            Some(Advice::CheckPathExists)
        );
        assert_eq!(
            advice(Error::from(ErrorKind::PermissionDenied)),
            Some(Advice::CheckPathPermissions)
        );
    }

    #[test]
    fn other_io_errors_get_no_advice() {
        assert_eq!(advice(Error::from(ErrorKind::InvalidData)), None);
        assert_eq!(advice(Error::other("boom")), None);
    }
}
