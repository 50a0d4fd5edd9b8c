//! A migration split into shards: a plan written once, run one shard per process (a
//! Kubernetes Indexed Job, an AWS Batch array job, a shell loop), each shard resumable and
//! safe to run twice, and a report that merges them. No coordinator: the plan directory is
//! the only shared state.
//!
//! * [`entry`]: one object of a plan and how a shard file stores it (one JSON line each).
//! * [`split`]: the deterministic split, balanced by bytes and by count.
//! * [`source`]: reading what to move: an S3 listing, a local tree, a manifest.
//! * [`layout`]: the plan directory: `plan.json`, `shard-NNNNN.jsonl`, journals, results.
//! * [`journal`]: the per-shard journal of finished objects (appended, fsynced, shared).
//! * [`run`]: one shard, on the transfer engine.
//! * [`report`]: the shards' results merged.
//! * [`remote`]: a plan kept in S3, staged locally by each worker.

pub mod entry;
pub mod journal;
pub mod layout;
pub mod remote;
pub mod report;
pub mod run;
pub mod source;
pub mod split;

pub use entry::Entry;
pub use layout::{Place, PlanHeader, ShardInfo};
pub use report::{FailedObject, PlanReport, ShardStatus};
pub use run::{Failure, ShardResult};

use std::path::PathBuf;

/// Why a plan could not be made, read, run or reported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShardError {
    /// A local file of the plan, a manifest or a source tree could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("reading", "writing", …).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The store refused or could not be reached (listing, HEAD).
    #[error(transparent)]
    S3(#[from] crate::s3::Error),
    /// A plan, manifest or journal file is not what it should be.
    #[error("{path}:{line}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The line (1-based; 0 for the whole file).
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// `--out` already holds a plan (or the shards, journals or results of one).
    #[error("{0} already holds a plan (or the shards, journals or results of one)")]
    PlanExists(PathBuf),
    /// No `plan.json` where a plan was expected.
    #[error("{0} holds no plan (no plan.json)")]
    NoPlan(PathBuf),
    /// A shard index outside the plan.
    #[error("shard {index} is not in this plan (it has shards 0..{shards})")]
    NoSuchShard {
        /// The index asked for.
        index: usize,
        /// How many shards the plan has.
        shards: usize,
    },
    /// Another process holds the shard's lock.
    #[error("shard {0} is being run by another process (its lock file is held)")]
    Busy(usize),
    /// The plan cannot be made as asked.
    #[error("{0}")]
    Invalid(String),
}

impl ShardError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn malformed(
        path: impl Into<PathBuf>,
        line: u64,
        message: impl Into<String>,
    ) -> Self {
        Self::Malformed {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
}
