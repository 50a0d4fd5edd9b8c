//! `ferry run PLAN --shard I`: one shard of a plan, resumable (see `ferry::shard::run`).

use super::connect::{connect, transfers};
use super::plan_store::PlanStore;
use crate::args::{GlobalArgs, RunArgs};
use crate::exit::ExitCode;
use crate::output::CliError;
use crate::progress::{Mode, Reporter, human_bytes, printable};
use crate::signals::{Signals, until_signal};
use ferry::shard::run::run_shard;
use ferry::transfer::TransferSummary;
use std::path::Path;
use std::time::Duration;

/// How often the journal of a shard of an S3 plan is put back while the shard runs (a kill
/// loses at most this much of it, which costs HEADs on the rerun, never a wrong skip).
const JOURNAL_PUSH: Duration = Duration::from_secs(30);

/// Puts the shard's journal back to an S3 plan (a warning when it cannot: the next run
/// HEADs what the lost lines would have skipped).
async fn push_journal(store: &PlanStore, index: usize) {
    if let Some(remote) = store.remote()
        && let Err(error) = remote.push_journal(store.dir(), index).await
    {
        tracing::warn!(%error, "could not put the shard's journal back to {}", remote.url());
    }
}

/// Where schedulers put a worker's index, in the order they are read.
const INDEX_VARIABLES: [&str; 2] = ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"];

/// `ferry run`.
pub async fn run(global: &GlobalArgs, args: &RunArgs) -> Result<ExitCode, CliError> {
    let mut signals = Signals::install();
    let index = shard_index(args.shard, |name| std::env::var(name).ok())?;
    let remote = PlanStore::is_remote(&args.plan);
    if !remote {
        // A missing local plan or shard is reported before credentials are looked for.
        let header = ferry::shard::layout::read_header(Path::new(&args.plan))?;
        if index >= header.shards.len() {
            return Err(ferry::shard::ShardError::NoSuchShard {
                index,
                shards: header.shards.len(),
            }
            .into());
        }
    }
    let setup = connect(global).await?;
    let store = PlanStore::open(&args.plan, Some(&setup.client))?;
    if let Some(remote) = store.remote() {
        remote.fetch_shard(store.dir(), index).await?;
    }
    let reporter = Reporter::start(Mode::choose(global.json, global.quiet));
    let engine = transfers(global, &setup, reporter.progress())?;
    let mut running = Box::pin(run_shard(&engine, store.dir(), index));
    let mut journal_push = tokio::time::interval(JOURNAL_PUSH);
    journal_push.tick().await;
    let work = async {
        loop {
            tokio::select! {
                result = &mut running => break result,
                _ = journal_push.tick(), if store.remote().is_some() => push_journal(&store, index).await,
            }
        }
    };
    let result = match until_signal(&engine, &mut signals, work).await {
        Ok(result) => result,
        Err(interrupted) => {
            // Dropping the run flushed its journal, which now goes back to S3.
            drop(running);
            push_journal(&store, index).await;
            let code = interrupted.stop.exit_code();
            reporter.finish_interrupted(&interrupted);
            return Ok(code);
        }
    };
    let result = match result {
        Ok(result) => result,
        Err(error) => {
            drop(running);
            push_journal(&store, index).await;
            return Err(error.into());
        }
    };
    drop(running);
    if let Some(remote) = store.remote() {
        remote.push_shard(store.dir(), index).await?;
    }
    let summary = TransferSummary {
        objects: result.done,
        bytes: result.bytes,
        skipped: result.skipped,
        failed: result.failed.len() as u64,
        retries: setup.client.retries(),
        seconds: result.seconds,
        failures: Vec::new(),
        warnings: Vec::new(),
    };
    reporter.finish(&summary);
    if global.json {
        let mut value = serde_json::to_value(&result).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.insert("type".into(), "shard".into());
        }
        outln!("{value}");
    } else if !global.quiet {
        for failure in &result.failed {
            match failure.advice.as_ref().and_then(crate::hints::render) {
                Some(hint) => errln!(
                    "failed: {}: {} ({hint})",
                    printable(&failure.key),
                    failure.error
                ),
                None => errln!("failed: {}: {}", printable(&failure.key), failure.error),
            }
        }
        errln!(
            "shard {index}: {} of {} objects in place ({} copied, {} already there), {} failed; {} copied",
            result.done + result.skipped,
            result.objects,
            result.done,
            result.skipped,
            result.failed.len(),
            human_bytes(result.bytes),
        );
    }
    Ok(if result.complete() {
        ExitCode::Success
    } else {
        ExitCode::Partial
    })
}

/// The shard to run: `--shard`, else the first of [`INDEX_VARIABLES`] that is set.
fn shard_index(
    flag: Option<usize>,
    variable: impl Fn(&str) -> Option<String>,
) -> Result<usize, CliError> {
    if let Some(index) = flag {
        return Ok(index);
    }
    for name in INDEX_VARIABLES {
        if let Some(value) = variable(name) {
            return value.trim().parse().map_err(|_| {
                CliError::usage(
                    format!("{name}={value} is not a shard index"),
                    "it should be a whole number from 0; or give --shard I",
                )
            });
        }
    }
    Err(CliError::usage(
        "no shard to run",
        "give --shard I, or run under a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) or an AWS Batch array job (AWS_BATCH_JOB_ARRAY_INDEX)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_then_kubernetes_then_batch() {
        let both = |name: &str| {
            Some(
                if name == "JOB_COMPLETION_INDEX" {
                    "4"
                } else {
                    "7"
                }
                .to_owned(),
            )
        };
        assert_eq!(shard_index(Some(1), both).unwrap(), 1);
        assert_eq!(shard_index(None, both).unwrap(), 4);
        let batch = |name: &str| (name == "AWS_BATCH_JOB_ARRAY_INDEX").then(|| "7".to_owned());
        assert_eq!(shard_index(None, batch).unwrap(), 7);
    }

    #[test]
    fn no_index_or_a_bad_one_is_a_usage_error() {
        let error = shard_index(None, |_| None).unwrap_err();
        assert_eq!(error.code, ExitCode::Usage);
        assert!(error.hint.unwrap().contains("JOB_COMPLETION_INDEX"));
        let error = shard_index(None, |_| Some("x".into())).unwrap_err();
        assert!(
            error.message.contains("not a shard index"),
            "{}",
            error.message
        );
    }
}
