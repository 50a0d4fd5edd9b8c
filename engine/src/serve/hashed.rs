//! The ETags of objects put in the root by hand, hashed once.
//!
//! `s3s-fs` takes an object's ETag from its internal record, written when the object is
//! uploaded. A file copied into the root by hand has none, and `s3s-fs` then reads the
//! whole file for its MD5 on every GET and HEAD: a ranged download of a 200 MiB file so
//! read it once per range, and took 6.5 s against 1.5 s for the same object uploaded.
//!
//! Here the first GET or HEAD of such a file (larger than [`SMALL`]; a smaller one is read
//! whole anyway) hashes it once and writes the record `s3s-fs` reads, stamped with the
//! file's size and modification time. A file changed since (another size or time) is hashed
//! again; a change that keeps both (within the file system's clock) goes unseen, as it
//! does for `rsync`'s quick check. A record written by an upload carries no stamp and is
//! left alone, as before; one an upload writes while the file is being hashed is seen just
//! before the record would be written (the record is then not written), which leaves a
//! window of one rename, since uploads take no lock shared with this. The
//! requests for one file wait for one hashing. Where no record can be written (a read-only
//! root), the file is not tried again, and `s3s-fs` hashes it as it did.

use super::small_objects::{Records, SMALL, Writers, read_if_present, replace};
use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The field of an internal record that says ferry hashed the file, and what the file was.
const STAMP: &str = "ferry_hashed";

/// The hashings in flight, one per file, and the files whose record could not be written.
#[derive(Debug, Default)]
pub(super) struct Hashing {
    in_flight: Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>,
    unwritable: Mutex<HashSet<PathBuf>>,
}

impl Hashing {
    /// Makes sure the object `bucket/key` at `object` has an ETag in its record, hashing
    /// it if it is a file put there by hand (or changed since it was hashed). Failures are
    /// left for `s3s-fs` to meet: it then hashes the file itself.
    pub(super) async fn ensure(
        &self,
        root: &Path,
        (bucket, key): (&str, &str),
        object: PathBuf,
        writers: &Writers,
    ) {
        if lock(&self.unwritable).contains(&object) {
            return;
        }
        let gate = lock(&self.in_flight)
            .entry(object.clone())
            .or_default()
            .clone();
        let held = gate.lock().await;
        let records = Records::new(root, bucket, key);
        let temporary = writers.temporary_path(root);
        let path = object.clone();
        let recorded = tokio::task::spawn_blocking(move || record(&path, &records, &temporary))
            .await
            .unwrap_or_else(|e| Err(Failed::Reading(io::Error::other(e))));
        match recorded {
            Ok(()) => {}
            // Not remembered: the file may be there again, whole, at the next request.
            Err(Failed::Reading(error)) => {
                tracing::debug!(%error, object = %object.display(), "not hashed; s3s-fs hashes the file");
            }
            Err(Failed::Writing(error)) => {
                tracing::debug!(%error, object = %object.display(), "no ETag record written; s3s-fs hashes the file");
                lock(&self.unwritable).insert(object.clone());
            }
        }
        drop(held);
        // Every handle is taken and given back under the map's lock, so the map's own is
        // the last one exactly when nobody else waits for this file.
        let mut in_flight = lock(&self.in_flight);
        drop(gate);
        if in_flight
            .get(&object)
            .is_some_and(|gate| Arc::strong_count(gate) == 1)
        {
            in_flight.remove(&object);
        }
    }
}

/// Why no record was written.
enum Failed {
    /// The file or its record could not be read (gone, being replaced): tried again next time.
    Reading(io::Error),
    /// The record could not be written (a read-only root): not tried again for this file.
    Writing(io::Error),
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What the stamp holds for a file: its size and modification time (nanoseconds since the
/// epoch).
fn stamp_of(meta: &std::fs::Metadata) -> io::Result<serde_json::Value> {
    let modified = meta
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    Ok(serde_json::json!({ "size": meta.len(), "modified_ns": modified }))
}

/// Writes `object`'s ETag into its record (through `temporary`) unless a record already
/// gives one for the file as it is.
fn record(object: &Path, records: &Records, temporary: &Path) -> Result<(), Failed> {
    let meta = match std::fs::metadata(object) {
        Ok(meta) if meta.is_file() && meta.len() > SMALL as u64 => meta,
        // Nothing there, a directory, or small enough to be read whole: not ours.
        _ => return Ok(()),
    };
    let stamp = stamp_of(&meta).map_err(Failed::Reading)?;
    let found = read_if_present(&records.internal).map_err(Failed::Reading)?;
    let mut info = serde_json::Map::new();
    if let Some(json) = &found
        && let Ok(map) = serde_json::from_slice::<serde_json::Map<_, _>>(json)
    {
        match (map.contains_key("e_tag"), map.get(STAMP)) {
            // An upload's record, or ours for the file as it is.
            (true, None) => return Ok(()),
            (true, Some(hashed)) if *hashed == stamp => return Ok(()),
            // Ours for the file as it was: its checksums, if any, went with it.
            (true, Some(_)) => {}
            // No ETag (checksums only): they are kept.
            (false, _) => info = map,
        }
    }
    let md5 = super::store::file_md5_hex(object).map_err(Failed::Reading)?;
    let now = std::fs::metadata(object).and_then(|meta| stamp_of(&meta));
    // Changed while it was read, or an upload wrote its own record meanwhile: the bytes
    // hashed may not be the object's any more. Left to the next request.
    if now.map_err(Failed::Reading)? != stamp
        || read_if_present(&records.internal).map_err(Failed::Reading)? != found
    {
        return Ok(());
    }
    info.insert("e_tag".into(), md5.into());
    info.insert(STAMP.into(), stamp);
    let json = serde_json::to_vec(&info).map_err(|e| Failed::Writing(e.into()))?;
    let written = replace(temporary, &records.internal, &json);
    if written.is_err() {
        let _ = std::fs::remove_file(temporary);
    }
    written.map_err(Failed::Writing)
}
