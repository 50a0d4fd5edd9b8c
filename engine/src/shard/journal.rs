//! A shard's journal: one line per finished object (`{"key":…,"size":…}`), appended with
//! `O_APPEND` (each batch one `write`, so lines of two writers never interleave) and fsynced
//! before the next batch. A line lost to a crash costs one HEAD on the next run, never a
//! wrong skip: an object is journaled only after the store confirmed it. Lines that do not
//! parse (a write torn by a power loss) are ignored.

use super::ShardError;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

/// One journal line.
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    key: String,
    size: u64,
}

/// The keys the journal at `path` lists as finished (none when there is no journal).
pub fn read_done(path: &Path) -> Result<HashSet<String>, ShardError> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(e) => return Err(ShardError::io("reading", path, e)),
    };
    let mut done = HashSet::new();
    for line in BufReader::new(file).split(b'\n') {
        let line = line.map_err(|e| ShardError::io("reading", path, e))?;
        if let Ok(line) = serde_json::from_slice::<Line>(&line) {
            done.insert(line.key);
        }
    }
    Ok(done)
}

/// Appends finished objects to a journal from a thread of its own (fsync blocks), writing
/// whatever has queued up since the last batch in one `write` and one `fdatasync`.
#[derive(Debug)]
pub struct JournalWriter {
    sender: Option<mpsc::Sender<String>>,
    thread: Option<std::thread::JoinHandle<Result<(), ShardError>>>,
}

impl JournalWriter {
    /// Opens (creating) the journal at `path` for appending.
    pub fn open(path: &Path) -> Result<Self, ShardError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| ShardError::io("opening", path, e))?;
        let (sender, receiver) = mpsc::channel::<String>();
        let path: PathBuf = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("ferry-journal".into())
            .spawn(move || write_batches(file, &path, &receiver))
            .map_err(|e| ShardError::io("starting the journal writer for", "journal", e))?;
        Ok(Self {
            sender: Some(sender),
            thread: Some(thread),
        })
    }

    /// Records `key` (`size` bytes) as finished.
    pub fn record(&self, key: &str, size: u64) {
        let line = serde_json::to_string(&Line {
            key: key.to_owned(),
            size,
        })
        .unwrap_or_default();
        if let Some(sender) = &self.sender {
            // The writer only stops on an error, which `close` reports.
            let _ = sender.send(line);
        }
    }

    /// Writes what is queued, fsyncs, and reports the first write error, if any.
    pub fn close(mut self) -> Result<(), ShardError> {
        self.sender = None;
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Ok(()),
        }
    }
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        self.sender = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn write_batches(
    mut file: std::fs::File,
    path: &Path,
    receiver: &mpsc::Receiver<String>,
) -> Result<(), ShardError> {
    while let Ok(first) = receiver.recv() {
        let mut batch = first;
        batch.push('\n');
        while let Ok(more) = receiver.try_recv() {
            batch.push_str(&more);
            batch.push('\n');
        }
        file.write_all(batch.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| ShardError::io("appending to", path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_keys_are_read_back_and_a_torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let writer = JournalWriter::open(&path).unwrap();
        writer.record("a", 1);
        writer.record("b\nc", 2);
        writer.close().unwrap();
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"{\"key\":\"d\",\"si").unwrap();
        let done = read_done(&path).unwrap();
        assert_eq!(done, HashSet::from(["a".to_owned(), "b\nc".to_owned()]));
    }

    #[test]
    fn two_writers_on_one_journal_keep_every_line_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (one, two) = (
            JournalWriter::open(&path).unwrap(),
            JournalWriter::open(&path).unwrap(),
        );
        for i in 0..500 {
            one.record(&format!("one/{i}"), i);
            two.record(&format!("two/{i}"), i);
        }
        one.close().unwrap();
        two.close().unwrap();
        assert_eq!(read_done(&path).unwrap().len(), 1000);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1000);
    }

    #[test]
    fn a_missing_journal_lists_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_done(&dir.path().join("none")).unwrap().is_empty());
    }
}
