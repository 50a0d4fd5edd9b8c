//! One shard, on the transfer engine: S3 → S3 server-side copies ([`Transfers::copy_object`]),
//! uploads ([`Transfers::upload_file`]) or downloads ([`Transfers::download_listed`]), each
//! with the engine's multipart, checksums, retries and resume.
//!
//! An object is skipped when the shard's journal lists it, or when the destination already
//! holds it: the same size, and where both sides say what the bytes are (an MD5 ETag on
//! the store, the source's ETag or a local file to sum), the same MD5. Every object finished
//! or found in place is journaled. The shard's lock file keeps a second worker out while
//! one runs; were the lock unavailable (a file system without locks), two workers would only
//! repeat each other's uploads, which land whole on S3 and under temporary names locally.

use super::journal::{JournalWriter, read_done};
use super::layout::{self, Place, PlanHeader, write_atomic};
use super::{Entry, ShardError};
use crate::Advice;
use crate::transfer::{Event, TransferError, Transfers};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tokio::task::JoinSet;

/// One object that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The key below the source prefix.
    pub key: String,
    /// Why, in one line.
    pub error: String,
    /// What can be done about it, when the engine knows; not kept in the result file.
    #[serde(skip)]
    pub advice: Option<Advice>,
}

/// `result-NNNNN.json`: what one run of a shard did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardResult {
    /// The shard.
    pub shard: usize,
    /// The plan's fingerprint (a result of another plan in the same directory is ignored).
    pub fingerprint: String,
    /// Objects in the shard.
    pub objects: u64,
    /// Objects copied by this run.
    pub done: u64,
    /// Objects already in place (journaled, or found at the destination).
    pub skipped: u64,
    /// Objects that failed.
    pub failed: Vec<Failure>,
    /// Bytes copied by this run.
    pub bytes: u64,
    /// Wall time of this run.
    pub seconds: f64,
}

impl ShardResult {
    /// Whether every object of the shard is in place.
    pub fn complete(&self) -> bool {
        self.failed.is_empty() && self.done + self.skipped == self.objects
    }
}

/// What happened to one object.
enum Outcome {
    Copied(u64),
    InPlace,
    Failed(String, Option<Advice>),
}

/// Runs shard `index` of the plan in `dir` with `engine` (whose client reaches both sides:
/// one endpoint and one set of credentials), and writes its `result-NNNNN.json`.
pub async fn run_shard(
    engine: &Transfers,
    dir: &Path,
    index: usize,
) -> Result<ShardResult, ShardError> {
    let started = Instant::now();
    let header = Arc::new(layout::read_header(dir)?);
    if index >= header.shards.len() {
        return Err(ShardError::NoSuchShard {
            index,
            shards: header.shards.len(),
        });
    }
    if matches!(
        (&header.source, &header.destination),
        (Place::Local { .. }, Place::Local { .. })
    ) {
        return Err(ShardError::Invalid(
            "both sides of the plan are local".into(),
        ));
    }
    let lock_path = layout::lock_path(dir, index);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| ShardError::io("opening", &lock_path, e))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Err(ShardError::Busy(index)),
        Err(std::fs::TryLockError::Error(e)) => {
            tracing::warn!(path = %lock_path.display(), error = %e, "no lock on this file system: a second worker on this shard would repeat its work");
        }
    }
    let entries = layout::read_shard(dir, index)?;
    let journal_path = layout::journal_path(dir, index);
    let done_before = read_done(&journal_path)?;
    let journal = JournalWriter::open(&journal_path)?;
    let mut result = ShardResult {
        shard: index,
        fingerprint: header.fingerprint.clone(),
        objects: entries.len() as u64,
        done: 0,
        skipped: 0,
        failed: Vec::new(),
        bytes: 0,
        seconds: 0.0,
    };
    let window = engine.config().concurrency.max(1) * 4 + engine.config().request_concurrency;
    let mut running: JoinSet<(Entry, Outcome)> = JoinSet::new();
    let settle = |result: &mut ShardResult, (entry, outcome): (Entry, Outcome)| match outcome {
        Outcome::Copied(bytes) => {
            journal.record(&entry.key, entry.size);
            result.done += 1;
            result.bytes += bytes;
        }
        Outcome::InPlace => {
            journal.record(&entry.key, entry.size);
            result.skipped += 1;
        }
        Outcome::Failed(error, advice) => result.failed.push(Failure {
            key: entry.key,
            error,
            advice,
        }),
    };
    for entry in entries {
        if done_before.contains(&entry.key) {
            result.skipped += 1;
            continue;
        }
        while running.len() >= window {
            if let Some(joined) = running.join_next().await {
                settle(&mut result, joined_or_resume(joined));
            }
        }
        let (engine, header) = (engine.clone(), header.clone());
        running.spawn(async move {
            let outcome = move_one(&engine, &header, &entry).await;
            (entry, outcome)
        });
    }
    while let Some(joined) = running.join_next().await {
        settle(&mut result, joined_or_resume(joined));
    }
    journal.close()?;
    result.failed.sort_by(|a, b| a.key.cmp(&b.key));
    result.seconds = started.elapsed().as_secs_f64();
    let mut json = serde_json::to_vec_pretty(&result)
        .map_err(|e| ShardError::Invalid(format!("the result cannot be written: {e}")))?;
    json.push(b'\n');
    write_atomic(&layout::result_path(dir, index), &json)?;
    drop(lock);
    Ok(result)
}

fn joined_or_resume<T>(joined: Result<T, tokio::task::JoinError>) -> T {
    match joined {
        Ok(value) => value,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}

/// Checks the destination, then copies `entry` if it is not there.
async fn move_one(engine: &Transfers, header: &PlanHeader, entry: &Entry) -> Outcome {
    match in_place(engine, header, entry).await {
        Ok(true) => {
            engine.progress().emit(Event::UpToDate {
                name: destination_name(&header.destination, &entry.key),
            });
            return Outcome::InPlace;
        }
        Ok(false) => {}
        Err(error) => return Outcome::Failed(error, None),
    }
    let copied = match (&header.source, &header.destination) {
        (
            Place::S3 {
                bucket: sb,
                prefix: sp,
            },
            Place::S3 {
                bucket: db,
                prefix: dp,
            },
        ) => {
            let (from, to) = (format!("{sp}{}", entry.key), format!("{dp}{}", entry.key));
            engine.copy_object(sb, &from, db, &to).await
        }
        (Place::Local { path }, Place::S3 { bucket, prefix }) => {
            let to = format!("{prefix}{}", entry.key);
            engine
                .upload_file(&path.join(&entry.key), bucket, &to)
                .await
        }
        (Place::S3 { bucket, prefix }, Place::Local { path }) => {
            let Some(target) = local_target(path, &entry.key) else {
                return Outcome::Failed(unsafe_key(&entry.key), None);
            };
            if let Some(parent) = target.parent()
                && let Err(e) = tokio::fs::create_dir_all(parent).await
            {
                let error = TransferError::io("making", parent, e);
                return Outcome::Failed(error.to_string(), error.advice());
            }
            let from = format!("{prefix}{}", entry.key);
            engine
                .download_listed(bucket, &from, &target, entry.size)
                .await
        }
        (Place::Local { .. }, Place::Local { .. }) => {
            return Outcome::Failed("both sides are local".into(), None);
        }
    };
    match copied {
        Ok(bytes) => Outcome::Copied(bytes),
        Err(error) => Outcome::Failed(error.to_string(), error.advice()),
    }
}

fn unsafe_key(key: &str) -> String {
    format!(
        "`{key}` is no plain relative path (an empty, `.` or `..` segment), so it has no local name"
    )
}

/// Where `key` lands below local directory `dir`; `None` for a key with an empty, `.` or
/// `..` segment, which would land elsewhere or on another key's file.
fn local_target(dir: &Path, key: &str) -> Option<PathBuf> {
    let plain = key
        .split('/')
        .all(|s| !s.is_empty() && s != "." && s != "..");
    plain.then(|| dir.join(key))
}

fn destination_name(destination: &Place, key: &str) -> String {
    match destination {
        Place::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}{key}"),
        Place::Local { path } => path.join(key).display().to_string(),
    }
}

/// Whether the destination already holds `entry`: its size, and its MD5 where both sides
/// tell it. `Err` when the destination could not be asked.
async fn in_place(engine: &Transfers, header: &PlanHeader, entry: &Entry) -> Result<bool, String> {
    match &header.destination {
        Place::S3 { bucket, prefix } => {
            let key = format!("{prefix}{}", entry.key);
            let info = match engine.client().head_object(bucket, &key).await {
                Ok(info) => info,
                Err(e) if e.service().is_some_and(|s| s.is_not_found()) => return Ok(false),
                Err(e) => return Err(format!("checking the destination: {e}")),
            };
            if info.size != entry.size {
                return Ok(false);
            }
            let Some(there) = info.etag_md5() else {
                return Ok(true);
            };
            match &header.source {
                Place::S3 { .. } => {
                    Ok(!is_md5(&entry.tag) || entry.tag.eq_ignore_ascii_case(&there))
                }
                Place::Local { path } => {
                    let file = path.join(&entry.key);
                    Ok(md5_of(file).await.is_some_and(|here| here == there))
                }
            }
        }
        Place::Local { path } => {
            let Some(target) = local_target(path, &entry.key) else {
                return Err(unsafe_key(&entry.key));
            };
            match tokio::fs::metadata(&target).await {
                Ok(meta) if meta.is_file() && meta.len() == entry.size => {}
                _ => return Ok(false),
            }
            if !is_md5(&entry.tag) {
                return Ok(true);
            }
            Ok(md5_of(target)
                .await
                .is_some_and(|here| here.eq_ignore_ascii_case(&entry.tag)))
        }
    }
}

/// Whether `tag` is an MD5 ETag (32 hex digits; multipart ETags end in `-N`).
fn is_md5(tag: &str) -> bool {
    tag.len() == 32 && tag.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A local file's MD5 (hex, lower case), on the blocking pool; `None` if it cannot be read.
async fn md5_of(path: PathBuf) -> Option<String> {
    tokio::task::spawn_blocking(move || {
        use md5::Digest;
        use std::io::Read;
        let mut file = std::fs::File::open(path).ok()?;
        let mut hasher = md5::Md5::new();
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let n = file.read(&mut buffer).ok()?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
        Some(
            hasher
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        )
    })
    .await
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_are_no_plain_path_have_no_local_target() {
        let dir = Path::new("/d");
        assert_eq!(local_target(dir, "a/b"), Some(PathBuf::from("/d/a/b")));
        for key in ["../x", "a//b", "./a", "/abs", "a/", "a/../../b"] {
            assert_eq!(local_target(dir, key), None, "{key}");
        }
    }

    #[test]
    fn only_32_hex_digits_are_an_md5_tag() {
        assert!(is_md5("0123456789abcdef0123456789ABCDEF"));
        assert!(!is_md5("0123456789abcdef0123456789abcdef-2"));
        assert!(!is_md5("1700000000.000000000"));
    }
}
