//! What the engine reports while it works. The engine never prints: the CLI renders these.

use super::Failure;
use std::fmt;
use std::sync::Arc;

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An object started: what and how many bytes.
    Started {
        /// `s3://bucket/key` or a local path.
        name: String,
        /// Its size.
        bytes: u64,
    },
    /// Bytes of an object moved (sent or received).
    Bytes {
        /// The object (shared, so that reporting bytes costs no allocation).
        name: Arc<str>,
        /// How many bytes, since the last report for this object.
        bytes: u64,
    },
    /// A part finished.
    PartDone {
        /// The object.
        name: String,
        /// The part number (1-based).
        part: u64,
    },
    /// A request was retried.
    Retried {
        /// The object.
        name: String,
    },
    /// An object finished.
    Finished {
        /// The object.
        name: String,
        /// Its size.
        bytes: u64,
    },
    /// An object needed no transfer (the destination is already up to date).
    UpToDate {
        /// The object.
        name: String,
    },
    /// An object or file was left out for a reason the user must hear (a broken symbolic
    /// link, a FIFO or device inside a tree, a key that is no plain path below the target
    /// directory).
    /// Reported exactly once per object, also counted in [`TransferSummary::skipped`] and
    /// listed in [`TransferSummary::warnings`].
    ///
    /// [`TransferSummary::skipped`]: super::TransferSummary::skipped
    /// [`TransferSummary::warnings`]: super::TransferSummary::warnings
    Skipped {
        /// The object or local path.
        name: String,
        /// Why, in one line.
        reason: String,
    },
    /// A downloaded object could be checked by its size only: the store holds no checksum
    /// for it and its ETag is no MD5 (a multipart upload of another tool, SSE-KMS).
    Unverified {
        /// The object.
        name: String,
    },
    /// An object or local file was deleted (`sync --delete`, `rm`, `mv`).
    Deleted {
        /// `s3://bucket/key` or a local path.
        name: String,
    },
    /// An object failed, with its typed error. Reported exactly once per object, also
    /// listed in [`TransferSummary::failures`](super::TransferSummary::failures).
    Failed(Failure),
}

/// Where events go. Cheap to clone; called from many tasks at once.
#[derive(Clone)]
pub struct Progress(Arc<dyn Fn(Event) + Send + Sync>);

impl Progress {
    /// Events go to `sink`.
    pub fn new(sink: impl Fn(Event) + Send + Sync + 'static) -> Self {
        Self(Arc::new(sink))
    }

    /// Events are dropped.
    pub fn silent() -> Self {
        Self::new(|_| {})
    }

    /// Reports one event.
    pub fn emit(&self, event: Event) {
        (self.0)(event);
    }

    /// Reports `bytes` more bytes of `name` moved.
    pub(crate) fn bytes(&self, name: &str, bytes: u64) {
        self.emit(Event::Bytes {
            name: name.into(),
            bytes,
        });
    }

    /// Reports that `name` failed with `error`, and returns the failure for the summary.
    pub(crate) fn failed(
        &self,
        name: impl Into<String>,
        error: impl Into<super::TransferError>,
    ) -> Failure {
        let failure = Failure::new(name, error);
        self.emit(Event::Failed(failure.clone()));
        failure
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Progress")
    }
}
