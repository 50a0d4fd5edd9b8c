//! Resume journals: what an interrupted transfer had finished, so that running the same
//! command again after a crash or `kill -9` continues instead of starting over.
//!
//! * An upload's journal lives in the state directory ([`super::TransferConfig::state_dir`],
//!   else `$XDG_STATE_HOME/ferry`, else `~/.local/state/ferry`), never beside the source
//!   (which may be read-only), named by a hash of where the upload goes and what it reads:
//!   the endpoint, bucket, key and the source's absolute path. It holds the multipart
//!   upload's id, the source's size and modification time, the part size, the checksum
//!   algorithm and each finished part's number, ETag and checksum; on resume, ListParts
//!   confirms what the store still holds. A journal whose source has changed since (same
//!   name, other size or time) is found by the next upload of that file, and its upload is
//!   aborted instead of being left open for good.
//! * A download's journal is `.NAME.ferry-part.json` beside its temporary file
//!   `.NAME.ferry-part`: the object's ETag and size, the range size and each finished range's
//!   checksum.
//!
//! Journals are written atomically (a temporary file, flushed to disk, renamed over the old
//! one, the directory flushed too) after every finished part, and removed when the transfer
//! succeeds, or fails and its upload was aborted; a temporary file that could not be written
//! whole (a full disk) is removed. A journal that
//! cannot be read or no longer matches is ignored: the transfer starts over.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The journal format's version; another version is ignored.
const VERSION: u32 = 2;

/// Journals with more entries than this are rewritten at most once per [`THROTTLE`], so that
/// a 10,000-part transfer does not rewrite a large file 10,000 times.
const SMALL: usize = 256;
const THROTTLE: Duration = Duration::from_millis(500);

/// The default state directory: `$XDG_STATE_HOME/ferry`, else `~/.local/state/ferry`.
pub fn default_state_dir() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    if let Some(state) = std::env::var_os("XDG_STATE_HOME").and_then(absolute) {
        return Some(state.join("ferry"));
    }
    std::env::var_os("HOME")
        .and_then(absolute)
        .map(|home| home.join(".local").join("state").join("ferry"))
}

/// One finished part of a multipart upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedPart {
    /// Its ETag, quotes included.
    pub etag: String,
    /// Its checksum (base64), when the upload has an algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

/// What an interrupted multipart upload had finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadState {
    /// The format's version.
    pub version: u32,
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// The source file.
    pub source: PathBuf,
    /// The source's size.
    pub size: u64,
    /// Every part's size but the last's.
    pub part_size: u64,
    /// The checksum algorithm (`s3_name`), if any.
    #[serde(default)]
    pub algorithm: Option<String>,
    /// The source's modification time, in nanoseconds since the epoch, as a decimal string
    /// (0 when unknown).
    #[serde(default)]
    pub modified: String,
    /// The endpoint's URL.
    #[serde(default)]
    pub endpoint: String,
    /// The multipart upload's id.
    pub upload_id: String,
    /// Finished parts by number.
    pub parts: BTreeMap<u32, UploadedPart>,
}

/// What an interrupted download had finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadState {
    /// The format's version.
    pub version: u32,
    /// The object's ETag when the download started.
    pub etag: String,
    /// The object's size.
    pub size: u64,
    /// Every range's size but the last's.
    pub part_size: u64,
    /// The checksum algorithm the ranges were hashed with (`s3_name`), if any.
    #[serde(default)]
    pub algorithm: Option<String>,
    /// Finished ranges by index, with their checksum (base64) when verifying.
    pub ranges: BTreeMap<u64, Option<String>>,
}

/// A journal file and its contents, written as entries are added.
#[derive(Debug)]
pub struct Journal<T> {
    path: PathBuf,
    state: Mutex<(T, Option<Instant>)>,
    /// Whether each write is flushed to stable storage (see [`Journal::unsynced`]).
    synced: bool,
}

impl<T: Serialize + for<'de> Deserialize<'de>> Journal<T> {
    /// A journal at `path` holding `state` (not written until [`Journal::update`]).
    pub fn new(path: PathBuf, state: T) -> Self {
        Self {
            path,
            state: Mutex::new((state, None)),
            synced: true,
        }
    }

    /// The same journal, written without `fdatasync` and the directory's `fsync`: for a
    /// journal whose every claim is checked before it is believed (a download's ranges are
    /// read back and compared with their checksums on resume), where flushing it would only
    /// stall the thread that writes it. A kill keeps it all the same (the page cache
    /// outlives the process); a power loss may lose it or keep it without the data it
    /// describes, and the check on resume catches the second.
    pub fn unsynced(mut self) -> Self {
        self.synced = false;
        self
    }

    /// Reads the journal at `path`; `None` when absent or unreadable.
    pub fn load(path: &Path) -> Option<T> {
        let text = std::fs::read(path).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Changes the state and writes it (throttled when large). A journal that cannot be
    /// written only costs the ability to resume, so failures are logged, not returned.
    pub fn update(&self, entries: impl Fn(&T) -> usize, change: impl FnOnce(&mut T)) {
        let mut guard = match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        change(&mut guard.0);
        let due = entries(&guard.0) <= SMALL || guard.1.is_none_or(|at| at.elapsed() >= THROTTLE);
        if due {
            self.write(&guard.0);
            guard.1 = Some(Instant::now());
        }
    }

    /// Writes the state now.
    pub fn flush(&self) {
        let guard = match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        self.write(&guard.0);
    }

    fn write(&self, state: &T) {
        if let Err(error) = write_atomically(&self.path, state, self.synced) {
            tracing::warn!(path = %self.path.display(), %error, "could not write the resume journal");
        }
    }

    /// Deletes the journal (the transfer is over).
    pub fn remove(&self) {
        remove(&self.path);
    }
}

/// Deletes a journal file, if there is one.
pub fn remove(path: &Path) {
    // A write cut short by a kill leaves the temporary file beside it.
    let _ = std::fs::remove_file(temporary(path));
    match std::fs::remove_file(path) {
        Ok(()) => {}
        // No journal: none was written, or its directory is missing or is a file (the
        // download failed to make it, and says so).
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) => {}
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "could not remove the resume journal");
        }
    }
}

/// Where a journal is written before it is renamed over `path`.
fn temporary(path: &Path) -> PathBuf {
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tmp");
    PathBuf::from(temp)
}

fn write_atomically(path: &Path, state: &impl Serialize, synced: bool) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let body = serde_json::to_vec(state).map_err(std::io::Error::other)?;
    let temp = temporary(path);
    let written = std::fs::File::create(&temp).and_then(|mut file| {
        std::io::Write::write_all(&mut file, &body)?;
        if synced { file.sync_data() } else { Ok(()) }
    });
    if let Err(error) = written.and_then(|()| std::fs::rename(&temp, path)) {
        // A full disk leaves a short temporary file: never leave it behind.
        let _ = std::fs::remove_file(&temp);
        return Err(error);
    }
    // The rename itself survives a power loss only once the directory is flushed.
    if synced
        && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && let Ok(dir) = std::fs::File::open(parent)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Upload journals in `state_dir` not written for `older_than`: runs that were never
/// repeated. Each is returned with its state, for the caller to abort its upload (on its
/// endpoint) and then [`remove`] it.
pub fn stale_upload_journals(
    state_dir: &Path,
    older_than: Duration,
) -> Vec<(PathBuf, UploadState)> {
    let Ok(entries) = std::fs::read_dir(state_dir) else {
        return Vec::new();
    };
    let now = std::time::SystemTime::now();
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("upload-") && name.ends_with(".json")
        })
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age >= older_than)
        })
        .filter_map(|e| {
            let path = e.path();
            let state = Journal::<UploadState>::load(&path)?;
            Some((path, state))
        })
        .collect()
}

/// Everything that makes two runs the same upload.
#[derive(Debug, Clone, Copy)]
pub struct UploadIdentity<'a> {
    /// The endpoint's URL.
    pub endpoint: &'a str,
    /// The bucket.
    pub bucket: &'a str,
    /// The key.
    pub key: &'a str,
    /// The source file, absolute.
    pub source: &'a Path,
    /// Its size.
    pub size: u64,
    /// Its modification time, in nanoseconds since the epoch (0 when unknown).
    pub modified: u128,
    /// The part size.
    pub part_size: u64,
    /// The checksum algorithm (`s3_name`), if any.
    pub algorithm: Option<&'a str>,
}

impl UploadIdentity<'_> {
    /// The journal's path in `state_dir`: `upload-HASH.json`.
    pub fn journal_path(&self, state_dir: &Path) -> PathBuf {
        let mut hash = Sha256::new();
        for field in [
            self.endpoint.as_bytes(),
            self.bucket.as_bytes(),
            self.key.as_bytes(),
            self.source.as_os_str().as_encoded_bytes(),
        ] {
            hash.update((field.len() as u64).to_be_bytes());
            hash.update(field);
        }
        let digest = hash.finalize();
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        state_dir.join(format!("upload-{hex}.json"))
    }

    /// A fresh journal's state for the upload `upload_id`.
    pub fn state(&self, upload_id: &str) -> UploadState {
        UploadState {
            version: VERSION,
            bucket: self.bucket.into(),
            key: self.key.into(),
            source: self.source.into(),
            size: self.size,
            part_size: self.part_size,
            algorithm: self.algorithm.map(str::to_owned),
            modified: self.modified.to_string(),
            endpoint: self.endpoint.into(),
            upload_id: upload_id.into(),
            parts: BTreeMap::new(),
        }
    }

    /// Whether a journal read back belongs to this upload.
    pub fn matches(&self, state: &UploadState) -> bool {
        state.version == VERSION
            && state.bucket == self.bucket
            && state.key == self.key
            && state.source == self.source
            && state.size == self.size
            && state.modified == self.modified.to_string()
            && state.endpoint == self.endpoint
            && state.part_size == self.part_size
            && state.algorithm.as_deref() == self.algorithm
            && !state.upload_id.is_empty()
    }
}

/// A download's journal path: `.NAME.ferry-part.json` beside the temporary file.
pub fn download_journal_path(temp: &Path) -> PathBuf {
    let mut path = temp.as_os_str().to_owned();
    path.push(".json");
    PathBuf::from(path)
}

impl DownloadState {
    /// A fresh download's state.
    pub fn new(etag: &str, size: u64, part_size: u64, algorithm: Option<&str>) -> Self {
        Self {
            version: VERSION,
            etag: etag.into(),
            size,
            part_size,
            algorithm: algorithm.map(str::to_owned),
            ranges: BTreeMap::new(),
        }
    }

    /// Whether a journal read back is for the same object, split the same way.
    pub fn continues(&self, fresh: &DownloadState) -> bool {
        self.version == VERSION
            && self.etag == fresh.etag
            && self.size == fresh.size
            && self.part_size == fresh.part_size
            && self.algorithm == fresh.algorithm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(path: &Path) -> UploadIdentity<'_> {
        UploadIdentity {
            endpoint: "http://127.0.0.1:9000",
            bucket: "b",
            key: "k",
            source: path,
            size: 10,
            modified: 42,
            part_size: 5,
            algorithm: Some("CRC64NVME"),
        }
    }

    #[test]
    fn a_journal_round_trips_and_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("src");
        let id = identity(&source);
        let path = id.journal_path(dir.path());
        let journal = Journal::new(path.clone(), id.state("up-1"));
        journal.update(
            |s| s.parts.len(),
            |s| {
                s.parts.insert(
                    2,
                    UploadedPart {
                        etag: "\"e\"".into(),
                        checksum: Some("AAAAAAAAAAA=".into()),
                    },
                );
            },
        );
        let back: UploadState = Journal::<UploadState>::load(&path).unwrap();
        assert!(id.matches(&back));
        assert_eq!(back.parts.len(), 1);
        assert_eq!(back.upload_id, "up-1");
        journal.remove();
        assert!(!path.exists());
        assert!(Journal::<UploadState>::load(&path).is_none());
    }

    #[test]
    fn a_changed_file_finds_the_old_journal_but_does_not_match_it() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("src");
        let a = identity(&source);
        let changed = [
            UploadIdentity { size: 11, ..a },
            UploadIdentity { part_size: 6, ..a },
            UploadIdentity { modified: 99, ..a },
        ];
        for other in changed {
            // Same path, so the next upload of the file finds (and aborts) the old upload.
            assert_eq!(other.journal_path(dir.path()), a.journal_path(dir.path()));
            assert!(!a.matches(&other.state("x")), "{other:?}");
        }
        assert!(a.matches(&a.state("x")));
        let elsewhere = UploadIdentity { key: "other", ..a };
        assert_ne!(
            elsewhere.journal_path(dir.path()),
            a.journal_path(dir.path())
        );
    }
}
