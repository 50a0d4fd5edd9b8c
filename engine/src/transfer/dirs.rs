//! Directories and prefixes: local walks and S3 listings are streamed (never held whole),
//! each file or object a task, all of them under the engine's one concurrency limit.

use super::walk::{Walk, WalkItem, WalkOptions};
use super::{Failure, TransferError, Transfers};
use crate::s3::ListObjects;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// What a directory transfer did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransferSummary {
    /// Objects transferred.
    pub objects: u64,
    /// Bytes transferred.
    pub bytes: u64,
    /// Objects skipped: up to date, or left out with a reason (those are in `warnings`).
    pub skipped: u64,
    /// Objects that failed.
    pub failed: u64,
    /// Requests retried.
    pub retries: u64,
    /// Wall time.
    pub seconds: f64,
    /// Each object that failed, with its typed error.
    pub failures: Vec<Failure>,
    /// (object, reason) for each object left out for a reason the user must hear.
    pub warnings: Vec<(String, String)>,
}

impl TransferSummary {
    /// Records a file or object left out for `reason` (the caller emits its event).
    pub(crate) fn warn(&mut self, name: String, reason: String) {
        self.skipped += 1;
        self.warnings.push((name, reason));
    }

    /// Counts an object done, or records its failure.
    pub(crate) fn record(&mut self, name: String, result: Result<u64, TransferError>) {
        match result {
            Ok(bytes) => {
                self.objects += 1;
                self.bytes += bytes;
            }
            Err(error) => self.fail(Failure::new(name, error)),
        }
    }

    /// Records a failure (the caller emits its event).
    pub fn fail(&mut self, failure: Failure) {
        self.failed += 1;
        self.failures.push(failure);
    }
}

impl Transfers {
    /// Uploads every file under `dir` to `bucket`, under `prefix` (a `/` is added when
    /// missing): `DIR/a/b.txt` becomes `prefix/a/b.txt`, as `aws s3 cp --recursive` does.
    pub async fn upload_dir(&self, dir: &Path, bucket: &str, prefix: &str) -> TransferSummary {
        self.upload_dir_where(dir, bucket, prefix, |_| true).await
    }

    /// Like [`Transfers::upload_dir`], for the files whose path below `dir` (with `/`
    /// separators) `select` accepts, e.g. a glob.
    pub async fn upload_dir_where(
        &self,
        dir: &Path,
        bucket: &str,
        prefix: &str,
        select: impl Fn(&str) -> bool,
    ) -> TransferSummary {
        let started = Instant::now();
        let retries_before = self.client.retries();
        let options = WalkOptions {
            follow_symlinks: self.config.follow_symlinks,
            skip_temporary: false,
            missing_root_is_empty: false,
        };
        let mut walk = Walk::start(dir, options);
        let prefix = key_prefix(prefix);
        let files = Arc::new(Semaphore::new(self.tasks_ahead()));
        let mut tasks = JoinSet::new();
        let mut summary = TransferSummary::default();
        while let Some(entry) = walk.next().await {
            let (path, relative) = match entry {
                WalkItem::File { relative, .. } if !select(&relative) => continue,
                WalkItem::File { path, relative, .. } => (path, relative),
                WalkItem::Skipped {
                    relative: Some(relative),
                    ..
                } if !select(&relative) => continue,
                WalkItem::Skipped { name, reason, .. } => {
                    self.progress.emit(super::Event::Skipped {
                        name: name.clone(),
                        reason: reason.clone(),
                    });
                    summary.warn(name, reason);
                    continue;
                }
                WalkItem::Error { name, error, .. } => {
                    summary.fail(self.progress.failed(name, error));
                    continue;
                }
            };
            let permit = files.clone().acquire_owned().await;
            let (this, bucket, key) = (
                self.clone(),
                bucket.to_owned(),
                format!("{prefix}{relative}"),
            );
            tasks.spawn(async move {
                let _permit = permit;
                let result = this.upload_file(&path, &bucket, &key).await;
                // Named as upload_file's own events name it, so a failure is reported once.
                (format!("s3://{bucket}/{key}"), result)
            });
            drain_finished(&mut tasks, &mut summary);
        }
        walk.finish().await;
        while let Some(done) = tasks.join_next().await {
            let (name, result) = done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            summary.record(name, result);
        }
        summary.retries = self.client.retries() - retries_before;
        summary.seconds = started.elapsed().as_secs_f64();
        summary
    }

    /// Downloads every object under `prefix` in `bucket` into `dir`, recreating the key's
    /// path below the prefix. Keys that are no plain path below `dir` (`..`, an empty or `.`
    /// segment, a leading `/`) are skipped with a warning.
    pub async fn download_prefix(&self, bucket: &str, prefix: &str, dir: &Path) -> TransferSummary {
        self.download_prefix_where(bucket, prefix, dir, |_| true)
            .await
    }

    /// Like [`Transfers::download_prefix`], for the objects whose key below `prefix`
    /// `select` accepts, e.g. a glob.
    pub async fn download_prefix_where(
        &self,
        bucket: &str,
        prefix: &str,
        dir: &Path,
        select: impl Fn(&str) -> bool,
    ) -> TransferSummary {
        let started = Instant::now();
        let retries_before = self.client.retries();
        let options = ListObjects {
            prefix: (!prefix.is_empty()).then(|| prefix.to_owned()),
            ..ListObjects::default()
        };
        let mut pages = self.client.list_objects(bucket, options);
        let files = Arc::new(Semaphore::new(self.tasks_ahead()));
        let mut tasks = JoinSet::new();
        let mut summary = TransferSummary::default();
        // A path through `..` (`new/../old`) resolves only once the directories before the
        // `..` exist: made now, so that each target's stat below sees what is there.
        let through_parent = dir
            .components()
            .any(|c| c == std::path::Component::ParentDir);
        if through_parent {
            let _ = std::fs::create_dir_all(dir); // an error shows when a file is made
        }
        // Into a directory that is not there yet, no target can be a FIFO or a device (short
        // of another process making one there meanwhile): no stat per object. Each was a
        // twentieth of a 2,000-file download's CPU, a walk of the whole path to find nothing.
        let fresh = !through_parent
            && matches!(std::fs::symlink_metadata(dir),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound);
        loop {
            let page = match pages.next_page().await {
                Ok(Some(page)) => page,
                Ok(None) => break,
                Err(error) => {
                    summary.record(format!("s3://{bucket}/{prefix}"), Err(error.into()));
                    break;
                }
            };
            for object in page.contents {
                let name = format!("s3://{bucket}/{}", object.key);
                if object.key.ends_with('/') {
                    continue; // a "directory" marker, not a file
                }
                if !select(object.key.strip_prefix(prefix).unwrap_or(&object.key)) {
                    continue;
                }
                let Some(target) = local_target(dir, prefix, &object.key) else {
                    let reason = NOT_A_LOCAL_PATH;
                    self.progress.emit(super::Event::Skipped {
                        name: name.clone(),
                        reason: reason.into(),
                    });
                    summary.warn(name, reason.into());
                    continue;
                };
                let special = if fresh {
                    None
                } else {
                    super::pass_through::not_overwritten(&target)
                };
                if let Some(reason) = special {
                    self.progress.emit(super::Event::Skipped {
                        name: name.clone(),
                        reason: reason.clone(),
                    });
                    summary.warn(name, reason);
                    continue;
                }
                let permit = files.clone().acquire_owned().await;
                let (this, bucket, key) = (self.clone(), bucket.to_owned(), object.key);
                let size = object.size;
                tasks.spawn(async move {
                    let _permit = permit;
                    let result = this
                        .download_listed_file(&bucket, &key, &target, size)
                        .await;
                    (name, result)
                });
                drain_finished(&mut tasks, &mut summary);
            }
        }
        while let Some(done) = tasks.join_next().await {
            let (name, result) = done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            summary.record(name, result);
        }
        summary.retries = self.client.retries() - retries_before;
        summary.seconds = started.elapsed().as_secs_f64();
        summary
    }
}

fn drain_finished(
    tasks: &mut JoinSet<(String, Result<u64, TransferError>)>,
    summary: &mut TransferSummary,
) {
    while let Some(done) = tasks.try_join_next() {
        let (name, result) = done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        summary.record(name, result);
    }
}

/// `p` → `p/`, `` → ``.
pub(crate) fn key_prefix(prefix: &str) -> String {
    if prefix.is_empty() || prefix.ends_with('/') {
        prefix.to_owned()
    } else {
        format!("{prefix}/")
    }
}

/// Where `key` goes below `dir`, or `None` if it would leave `dir`.
pub(crate) fn local_target(dir: &Path, prefix: &str, key: &str) -> Option<PathBuf> {
    exact_local_path(dir, key.strip_prefix(prefix).unwrap_or(key))
}

/// `dir` joined with `relative` (a key below its prefix) when every `/`-separated segment of
/// it is a plain file name: no `..` (it would escape `dir`), and no empty or `.` segment and
/// no leading `/`, which the file system would fold into another key's path (`a//b` and
/// `a/./b` both onto `a/b`: two objects written into one file, and under `mv` both deleted).
pub(crate) fn exact_local_path(dir: &Path, relative: &str) -> Option<PathBuf> {
    let plain = |segment: &str| !segment.is_empty() && segment != "." && segment != "..";
    if relative.is_empty() || !relative.split('/').all(plain) {
        return None;
    }
    let path = Path::new(relative);
    let safe = path.components().all(|c| matches!(c, Component::Normal(_)));
    safe.then(|| dir.join(path))
}

/// Why [`local_target`] refused a key.
pub(crate) const NOT_A_LOCAL_PATH: &str = "the key is no plain path below the target directory (`..`, `.`, an empty segment or a leading `/`); not written";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_would_escape_the_directory_are_refused() {
        let dir = Path::new("/data/out");
        assert_eq!(
            local_target(dir, "p/", "p/a/b.txt"),
            Some(dir.join("a/b.txt"))
        );
        assert_eq!(local_target(dir, "p/", "p/../../etc/passwd"), None);
        assert_eq!(local_target(dir, "p/", "p/"), None);
    }

    #[test]
    fn keys_the_file_system_would_fold_onto_another_are_refused() {
        let dir = Path::new("/data/out");
        assert_eq!(local_target(dir, "", "/abs"), None);
        assert_eq!(local_target(dir, "p/", "p//x"), None);
        assert_eq!(local_target(dir, "", "a//b"), None);
        assert_eq!(local_target(dir, "", "a/./b"), None);
        assert_eq!(local_target(dir, "", "a/b/"), None);
        assert_eq!(local_target(dir, "", "a/b"), Some(dir.join("a/b")));
        assert_eq!(local_target(dir, "", "a/.b"), Some(dir.join("a/.b")));
    }

    #[test]
    fn a_prefix_gets_one_trailing_slash() {
        assert_eq!(key_prefix("p"), "p/");
        assert_eq!(key_prefix("p/"), "p/");
        assert_eq!(key_prefix(""), "");
    }
}
