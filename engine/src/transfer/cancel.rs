//! Cancellation: a token any task can trip (a signal handler, a UI's stop button), and what
//! a cancelled run leaves behind, said plainly: which multipart uploads were aborted, which
//! were left open for a rerun to resume, which partial downloads stay on disk for a rerun
//! to resume, and which (with nothing to resume from) were removed.
//!
//! Work runs under [`Transfers::until_cancelled`]: when the token trips, the work is dropped
//! (its tasks with it), then the open uploads are aborted, or kept when
//! [`TransferConfig::keep_uploads_on_cancel`](super::TransferConfig::keep_uploads_on_cancel)
//! asks for that (a rerun then resumes them from their journals).

use super::Transfers;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// A cancellation token. Cheap to clone; clones trip together.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    tripped: AtomicBool,
    notify: Notify,
}

impl Cancel {
    /// A token not yet tripped.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trips the token: work running under it stops. Idempotent.
    pub fn cancel(&self) {
        self.0.tripped.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    /// Whether the token has tripped.
    pub fn is_cancelled(&self) -> bool {
        self.0.tripped.load(Ordering::SeqCst)
    }

    /// Waits until the token trips (at once if it has).
    pub async fn cancelled(&self) {
        loop {
            let notified = self.0.notify.notified();
            tokio::pin!(notified);
            // Registered before the check, so a trip between the two is not missed.
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// A multipart upload: where, and its ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRef {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// The upload ID.
    pub upload_id: String,
}

/// What a cancelled run left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cancelled {
    /// Multipart uploads aborted: the store holds none of their parts any more.
    pub aborted_uploads: Vec<UploadRef>,
    /// Multipart uploads left open, with why: kept for a rerun to resume, or an abort that
    /// failed (their parts are billed until a rerun completes them, `ferry uploads abort`,
    /// or a lifecycle rule removes them).
    pub open_uploads: Vec<(UploadRef, String)>,
    /// Partial downloads left on disk under their temporary names (`.NAME.ferry-part`, never
    /// the final name), each with the journal a rerun resumes it from.
    pub partial_downloads: Vec<PathBuf>,
    /// Temporary files of unfinished downloads that had no journal to resume from (objects
    /// of one request, fetched whole, and objects without an ETag; a rerun fetches them
    /// again), removed.
    pub removed_downloads: Vec<PathBuf>,
}

impl Transfers {
    /// This engine's cancellation token (shared by its clones): trip it to stop the work
    /// running under [`Self::until_cancelled`]. Once it has tripped, a finished download
    /// is no longer renamed into place (the report names it as partial) and waits to be
    /// dropped: run downloads under [`Self::until_cancelled`] when the token may trip.
    pub fn cancel_token(&self) -> Cancel {
        self.cancel.clone()
    }

    /// This engine with `cancel` as its token, e.g. one token for several engines.
    pub fn with_cancel(mut self, cancel: Cancel) -> Self {
        self.cancel = cancel;
        self
    }

    /// Runs `work` until it ends or the token trips. When it trips, `work` is dropped (the
    /// transfers it spawned stop at their next step), open multipart uploads are aborted
    /// (or kept, see [`super::TransferConfig::keep_uploads_on_cancel`]), and what was left
    /// behind is returned.
    pub async fn until_cancelled<T>(&self, work: impl Future<Output = T>) -> Result<T, Cancelled> {
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => {}
            value = work => return Ok(value),
        }
        Err(self.wind_down().await)
    }

    /// After a cancel: the open uploads aborted or kept, the partial downloads that a
    /// rerun can resume listed, and those it cannot removed.
    async fn wind_down(&self) -> Cancelled {
        let mut left = Cancelled::default();
        for temp in self.partial_downloads() {
            // A download with a journal beside its temporary file resumes from it; one
            // without (an object of one request, or one with no ETag) starts over, so its file
            // would only be left behind, and never removed if the object goes away.
            if super::journal::download_journal_path(&temp).exists() {
                left.partial_downloads.push(temp);
                continue;
            }
            match std::fs::remove_file(&temp) {
                Ok(()) => left.removed_downloads.push(temp),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => {
                    tracing::warn!(path = %temp.display(), %error, "could not remove a partial download");
                    left.partial_downloads.push(temp);
                }
            }
        }
        let open = self.take_open_uploads();
        if self.config.keep_uploads_on_cancel {
            let why = "kept for a rerun to resume";
            left.open_uploads = open.into_iter().map(|u| (u, why.to_owned())).collect();
            return left;
        }
        for upload in open {
            let (bucket, key, id) = (&upload.bucket, &upload.key, &upload.upload_id);
            match self.client.abort_multipart_upload(bucket, key, id).await {
                Ok(()) => {
                    self.forget_journal(id, true);
                    left.aborted_uploads.push(upload);
                }
                Err(error) if error.service().is_some_and(|e| e.is_no_such_upload()) => {
                    self.forget_journal(id, true);
                    left.aborted_uploads.push(upload);
                }
                Err(error) => {
                    let why = format!("the abort failed: {error}");
                    left.open_uploads.push((upload, why));
                }
            }
        }
        left
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_token_tripped_before_the_wait_is_seen_at_once() {
        let cancel = Cancel::new();
        cancel.cancel();
        tokio::time::timeout(Duration::from_secs(5), cancel.cancelled())
            .await
            .expect("already tripped");
        assert!(cancel.is_cancelled());
    }

    #[tokio::test]
    async fn a_clone_trips_every_waiter() {
        let cancel = Cancel::new();
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let cancel = cancel.clone();
                tokio::spawn(async move { cancel.cancelled().await })
            })
            .collect();
        tokio::task::yield_now().await;
        cancel.clone().cancel();
        for waiter in waiters {
            tokio::time::timeout(Duration::from_secs(5), waiter)
                .await
                .expect("woken")
                .expect("ran");
        }
    }
}
