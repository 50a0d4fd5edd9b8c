//! The shards' results merged: what is done, what failed, which shards have not run.

use super::ShardError;
use super::layout::{self, PlanHeader};
use super::run::{Failure, ShardResult};
use serde::Serialize;
use std::path::Path;

/// Where one shard stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShardStatus {
    /// The shard.
    pub shard: usize,
    /// Objects in it.
    pub objects: u64,
    /// `complete`, `incomplete` (ran, with failures or objects left) or `not run`.
    pub state: &'static str,
    /// Its last run's result, if it ran.
    pub result: Option<ShardResult>,
}

/// One object that failed in a shard's last run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedObject {
    /// The shard.
    pub shard: usize,
    /// The key below the source prefix.
    pub key: String,
    /// Why, in one line.
    pub error: String,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanReport {
    /// The plan's header.
    pub plan: PlanHeader,
    /// Each shard.
    pub shards: Vec<ShardStatus>,
    /// Objects in place (copied or found in place by a shard's last run).
    pub done: u64,
    /// Every failure of every shard's last run.
    pub failed: Vec<FailedObject>,
    /// Shards that have not run (or whose result is of another plan).
    pub not_run: Vec<usize>,
    /// Whether every object is in place.
    pub complete: bool,
}

/// Reads the plan in `dir` and its shards' results.
pub fn report(dir: &Path) -> Result<PlanReport, ShardError> {
    let plan = layout::read_header(dir)?;
    let mut shards = Vec::with_capacity(plan.shards.len());
    let (mut done, mut failed, mut not_run) = (0, Vec::new(), Vec::new());
    for info in &plan.shards {
        let path = layout::result_path(dir, info.index);
        let result = match std::fs::read(&path) {
            Ok(bytes) => Some(serde_json::from_slice::<ShardResult>(&bytes).map_err(|e| {
                ShardError::malformed(&path, 0, format!("not a shard result: {e}"))
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(ShardError::io("reading", &path, e)),
        }
        .filter(|r| r.fingerprint == plan.fingerprint && r.shard == info.index);
        let state = match &result {
            None => {
                not_run.push(info.index);
                "not run"
            }
            Some(r) => {
                done += r.done + r.skipped;
                failed.extend(r.failed.iter().map(|f: &Failure| FailedObject {
                    shard: info.index,
                    key: f.key.clone(),
                    error: f.error.clone(),
                }));
                if r.complete() {
                    "complete"
                } else {
                    "incomplete"
                }
            }
        };
        shards.push(ShardStatus {
            shard: info.index,
            objects: info.objects,
            state,
            result,
        });
    }
    let complete = shards.iter().all(|s| s.state == "complete");
    Ok(PlanReport {
        plan,
        shards,
        done,
        failed,
        not_run,
        complete,
    })
}
