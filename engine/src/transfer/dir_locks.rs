//! One change at a time to a directory's entries (a download's temporary file created, renamed
//! into place), from this engine.
//!
//! The kernel serializes them anyway: creating or renaming an entry takes the directory's
//! lock for writing. But a thread that finds it taken spins on it while its holder runs, and
//! on ext4 a holder can run for a long time (looking for a free inode among the recently
//! deleted ones). Downloading 2,000 small files into one directory behind 30 ms, a fifth of
//! ferry's CPU was the runtime threads spinning on each other there, on two cores the store
//! and the proxy shared. Waiting here instead parks the task: the thread goes on with the
//! network. Directories are told apart by a hash of their path into [`STRIPES`] locks, so
//! entries in different directories are rarely held up by each other.

use std::hash::{Hash, Hasher};
use std::path::Path;
use tokio::sync::{Mutex, MutexGuard};

/// How many locks the directories share.
pub const STRIPES: usize = 64;

/// The locks, one per stripe of directories.
#[derive(Debug)]
pub(super) struct DirectoryLocks {
    stripes: Vec<Mutex<()>>,
}

impl Default for DirectoryLocks {
    fn default() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }
}

impl DirectoryLocks {
    /// The lock of the directory `entry` is in, held until the guard is dropped.
    pub(super) async fn entry(&self, entry: &Path) -> MutexGuard<'_, ()> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        entry.parent().unwrap_or(Path::new("")).hash(&mut hasher);
        self.stripes[hasher.finish() as usize % STRIPES]
            .lock()
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_of_one_directory_wait_for_each_other_and_other_directories_need_not() {
        use futures_util::FutureExt;
        let locks = DirectoryLocks::default();
        let held = locks.entry(Path::new("/d/a")).await;
        // The same directory: its lock is taken.
        let same = locks.entry(Path::new("/d/b"));
        tokio::pin!(same);
        assert!(same.as_mut().now_or_never().is_none());
        // Some other directory is on another stripe (64 tried: not all can share one).
        let mut free = 0;
        for i in 0..64 {
            let other = format!("/other{i}/x");
            if locks.entry(Path::new(&other)).now_or_never().is_some() {
                free += 1;
            }
        }
        assert!(free > 0);
        drop(held);
        let _next = same.await;
    }
}
