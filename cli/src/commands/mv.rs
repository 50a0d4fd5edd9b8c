//! `ferry mv`: a copy whose sources are deleted one by one, each only once the engine has
//! reported its copy finished (complete and verified). A source whose copy failed is never
//! touched. Local sources are removed as they finish; S3 sources are deleted in
//! DeleteObjects batches of up to 1,000. Every deletion is listed, like `sync --delete`'s.

use super::cp::{Plan, glob_base, object_key, single_copy_key, split_glob};
use crate::location::{Location, dir_prefix};
use ferry::pattern::has_wildcard;
use ferry::transfer::{Event, Failure, Progress, TransferError, TransferSummary, Transfers};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;

/// A source to delete, or the end of the copy.
#[derive(Debug)]
enum Message {
    Local(PathBuf),
    Object(String),
    Done,
}

/// The mapping from an object the engine reports finished to the source it came from.
type SourceOf = Arc<dyn Fn(&str) -> Option<Message> + Send + Sync>;

/// Deletes sources as their copies finish.
pub struct Mover {
    source_of: SourceOf,
    sender: mpsc::UnboundedSender<Message>,
    worker: tokio::task::JoinHandle<TransferSummary>,
}

impl std::fmt::Debug for Mover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mover")
    }
}

/// Keys per DeleteObjects request.
const BATCH: usize = 1000;

impl Mover {
    /// Starts the deleting task; `deleter` is an engine on the source's endpoint whose
    /// progress reports the deletions.
    pub fn start(plan: &Plan, deleter: Transfers) -> Self {
        let (sender, mut receiver) = mpsc::unbounded_channel::<Message>();
        let source_bucket = match &plan.source {
            Location::S3 { bucket, .. } => bucket.clone(),
            Location::Local(_) => String::new(),
        };
        let worker = tokio::spawn(async move {
            let mut summary = TransferSummary::default();
            let mut batch: Vec<String> = Vec::new();
            while let Some(message) = receiver.recv().await {
                match message {
                    Message::Local(path) => remove_local(&deleter, path, &mut summary).await,
                    Message::Object(key) => batch.push(key),
                    Message::Done => break,
                }
                if batch.len() >= BATCH || (receiver.is_empty() && !batch.is_empty()) {
                    let done = deleter.delete_keys(&source_bucket, std::mem::take(&mut batch));
                    merge(&mut summary, done.await);
                }
            }
            if !batch.is_empty() {
                merge(
                    &mut summary,
                    deleter.delete_keys(&source_bucket, batch).await,
                );
            }
            summary
        });
        Self {
            source_of: source_mapping(plan),
            sender,
            worker,
        }
    }

    /// `progress`, which also hands each finished object's source to the deleting task.
    pub fn watch(&self, progress: Progress) -> Progress {
        let (source_of, sender) = (self.source_of.clone(), self.sender.clone());
        Progress::new(move |event| {
            if let Event::Finished { name, .. } = &event
                && let Some(message) = source_of(name)
            {
                let _ = sender.send(message);
            }
            progress.emit(event);
        })
    }

    /// Waits until every finished copy's source is deleted; deletion failures join the
    /// summary's failures.
    pub async fn finish(self, summary: &mut TransferSummary) {
        let _ = self.sender.send(Message::Done);
        match self.worker.await {
            Ok(deleted) => {
                summary.failed += deleted.failed;
                summary.failures.extend(deleted.failures);
            }
            Err(error) => {
                let message = format!(
                    "deleting the moved sources stopped ({error}); some copies' sources remain"
                );
                summary.fail(Failure::new("mv", TransferError::Other { message }));
            }
        }
    }
}

fn merge(into: &mut TransferSummary, from: TransferSummary) {
    into.objects += from.objects;
    into.failed += from.failed;
    into.failures.extend(from.failures);
}

async fn remove_local(deleter: &Transfers, path: PathBuf, summary: &mut TransferSummary) {
    let name = path.display().to_string();
    match tokio::fs::remove_file(&path).await {
        Ok(()) => {
            summary.objects += 1;
            deleter.progress().emit(Event::Deleted { name });
        }
        Err(error) => {
            let error = TransferError::io("copied, but could not remove the source", &path, error);
            let failure = Failure::new(name, error);
            deleter.progress().emit(Event::Failed(failure.clone()));
            summary.fail(failure);
        }
    }
}

/// How the engine names a finished object for each kind of copy, turned back into its
/// source: uploads and bucket-to-bucket copies report the destination `s3://` URL, downloads
/// the source's.
fn source_mapping(plan: &Plan) -> SourceOf {
    match (&plan.source, &plan.destination) {
        (Location::S3 { bucket, .. }, Location::Local(_)) => {
            let own = format!("s3://{bucket}/");
            Arc::new(move |name: &str| {
                name.strip_prefix(&own)
                    .map(|key| Message::Object(key.to_owned()))
            })
        }
        (Location::Local(path), Location::S3 { bucket, key }) => {
            let text = path.to_string_lossy();
            let walked = if has_wildcard(&text) {
                Some(PathBuf::from(glob_base(split_glob(&text).0)))
            } else if plan.recursive {
                Some(path.clone())
            } else {
                None
            };
            match walked {
                Some(dir) => {
                    let own = format!("s3://{bucket}/{}", dir_prefix(key));
                    Arc::new(move |name: &str| {
                        name.strip_prefix(&own)
                            .map(|relative| Message::Local(dir.join(relative)))
                    })
                }
                None => {
                    let own = format!("s3://{bucket}/{}", object_key(key, path));
                    let path = path.clone();
                    Arc::new(move |name: &str| (name == own).then(|| Message::Local(path.clone())))
                }
            }
        }
        (
            Location::S3 {
                bucket: _,
                key: src_key,
            },
            Location::S3 {
                bucket: dst_bucket,
                key: dst_key,
            },
        ) => {
            if plan.recursive {
                let own = format!("s3://{dst_bucket}/{}", dir_prefix(dst_key));
                let src_prefix = dir_prefix(src_key);
                Arc::new(move |name: &str| {
                    name.strip_prefix(&own)
                        .map(|relative| Message::Object(format!("{src_prefix}{relative}")))
                })
            } else {
                let own = format!("s3://{dst_bucket}/{}", single_copy_key(src_key, dst_key));
                let src_key = src_key.clone();
                Arc::new(move |name: &str| (name == own).then(|| Message::Object(src_key.clone())))
            }
        }
        (Location::Local(_), Location::Local(_)) => Arc::new(|_: &str| None),
    }
}
