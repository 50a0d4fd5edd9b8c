//! The plan directory:
//!
//! | file | written by | what |
//! | --- | --- | --- |
//! | `plan.json` | `ferry plan`, last | the header: source, destination, options, totals, fingerprint, each shard's totals |
//! | `shard-NNNNN.jsonl` | `ferry plan` | the shard's objects, one [`Entry`] per line, sorted by key |
//! | `shard-NNNNN.journal` | `ferry run` | the objects finished, one line each, appended and fsynced |
//! | `shard-NNNNN.lock` | `ferry run` | held while a worker runs the shard |
//! | `result-NNNNN.json` | `ferry run`, at its end | the run's [`ShardResult`](super::ShardResult) |
//!
//! Every file is written under a temporary name and renamed into place, except the journal,
//! which only grows; `plan.json` comes last, so a plan directory with one is complete.

use super::{Entry, ShardError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// The plan format's version, in `plan.json`.
pub const FORMAT: u32 = 1;

/// One side of a migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Place {
    /// A bucket and a prefix (empty, or ending in `/`).
    S3 {
        /// The bucket.
        bucket: String,
        /// The prefix every key is below.
        prefix: String,
    },
    /// A local directory (absolute, so that workers elsewhere find the same path).
    Local {
        /// The directory.
        path: PathBuf,
    },
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            Self::Local { path } => write!(f, "{}", path.display()),
        }
    }
}

/// One shard's totals, in the header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// Its index.
    pub index: usize,
    /// Objects in it.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// `plan.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanHeader {
    /// [`FORMAT`].
    pub format: u32,
    /// Where the objects come from.
    pub source: Place,
    /// Where they go.
    pub destination: Place,
    /// How the source was read: `listing`, `walk`, `manifest` or `inventory`.
    pub read_from: String,
    /// Options the workers need (e.g. the manifest's path), as given to `ferry plan`.
    pub options: serde_json::Map<String, serde_json::Value>,
    /// Objects in the plan.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
    /// The size of the largest object (no split can balance one larger than a shard's share).
    pub largest: u64,
    /// SHA-256 (hex) of every entry's line, in key order: the same source state, the same
    /// fingerprint.
    pub fingerprint: String,
    /// Each shard's totals.
    pub shards: Vec<ShardInfo>,
}

/// `plan.json` in `dir`.
pub fn header_path(dir: &Path) -> PathBuf {
    dir.join("plan.json")
}

/// Shard `index`'s objects.
pub fn shard_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("shard-{index:05}.jsonl"))
}

/// Shard `index`'s journal.
pub fn journal_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("shard-{index:05}.journal"))
}

/// Shard `index`'s lock file.
pub fn lock_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("shard-{index:05}.lock"))
}

/// Shard `index`'s last result.
pub fn result_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("result-{index:05}.json"))
}

/// The fingerprint of `entries` (any order): SHA-256 over their lines sorted by key.
pub fn fingerprint<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> String {
    let mut sorted: Vec<&Entry> = entries.into_iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut hash = Sha256::new();
    for entry in sorted {
        hash.update(entry.to_line().as_bytes());
        hash.update(b"\n");
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `bytes` to `path` under a temporary name in the same directory, flushed, then
/// renamed into place: readers see the old file or the whole new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ShardError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(ShardError::io("writing", &temp, e));
    }
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        ShardError::io("renaming into place", path, e)
    })
}

/// Writes the plan for `shards` into `dir` (made if missing; refused if it holds a plan
/// already) and returns its header. `header` gives the source, destination, how it was read
/// and options; its totals, fingerprint and shard list are filled in here.
pub fn write_plan(
    dir: &Path,
    mut header: PlanHeader,
    shards: &[Vec<Entry>],
) -> Result<PlanHeader, ShardError> {
    if holds_a_plan(dir) {
        return Err(ShardError::PlanExists(dir.to_path_buf()));
    }
    std::fs::create_dir_all(dir).map_err(|e| ShardError::io("making", dir, e))?;
    header.format = FORMAT;
    header.fingerprint = fingerprint(shards.iter().flatten());
    header.objects = shards.iter().map(|s| s.len() as u64).sum();
    header.bytes = shards.iter().flatten().map(|e| e.size).sum();
    header.largest = shards.iter().flatten().map(|e| e.size).max().unwrap_or(0);
    header.shards = Vec::with_capacity(shards.len());
    for (index, shard) in shards.iter().enumerate() {
        let mut text = String::new();
        for entry in shard {
            text.push_str(&entry.to_line());
            text.push('\n');
        }
        write_atomic(&shard_path(dir, index), text.as_bytes())?;
        header.shards.push(ShardInfo {
            index,
            objects: shard.len() as u64,
            bytes: shard.iter().map(|e| e.size).sum(),
        });
    }
    let mut json = serde_json::to_vec_pretty(&header)
        .map_err(|e| ShardError::Invalid(format!("the plan header cannot be written: {e}")))?;
    json.push(b'\n');
    write_atomic(&header_path(dir), &json)?;
    Ok(header)
}

/// Whether `dir` holds a plan, or files of one (shards, journals, results: a journal of
/// another plan would make a new plan skip objects it never copied).
pub fn holds_a_plan(dir: &Path) -> bool {
    if header_path(dir).exists() {
        return true;
    }
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("shard-") || name.starts_with("result-")
        })
    })
}

/// Reads `plan.json` from `dir`.
pub fn read_header(dir: &Path) -> Result<PlanHeader, ShardError> {
    let path = header_path(dir);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ShardError::NoPlan(dir.to_path_buf()));
        }
        Err(e) => return Err(ShardError::io("reading", &path, e)),
    };
    let header: PlanHeader = serde_json::from_slice(&bytes)
        .map_err(|e| ShardError::malformed(&path, 0, format!("not a plan header: {e}")))?;
    if header.format != FORMAT {
        return Err(ShardError::malformed(
            &path,
            0,
            format!(
                "plan format {} (this ferry reads format {FORMAT})",
                header.format
            ),
        ));
    }
    Ok(header)
}

/// Reads shard `index`'s entries from `dir`.
pub fn read_shard(dir: &Path, index: usize) -> Result<Vec<Entry>, ShardError> {
    let path = shard_path(dir, index);
    let file = std::fs::File::open(&path).map_err(|e| ShardError::io("reading", &path, e))?;
    let mut entries = Vec::new();
    for (number, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| ShardError::io("reading", &path, e))?;
        if line.is_empty() {
            continue;
        }
        entries.push(Entry::from_line(&line, &path, number as u64 + 1)?);
    }
    Ok(entries)
}
