//! `ferry report PLAN`: the shards' results merged; exits 1 until every object is done.

use super::connect::connect;
use super::plan_store::PlanStore;
use crate::args::{GlobalArgs, ReportArgs};
use crate::exit::ExitCode;
use crate::output::CliError;
use crate::progress::{human_bytes, printable};

/// `ferry report`.
pub async fn run(global: &GlobalArgs, args: &ReportArgs) -> Result<ExitCode, CliError> {
    let setup = match PlanStore::is_remote(&args.plan) {
        true => Some(connect(global).await?),
        false => None,
    };
    let store = PlanStore::open(&args.plan, setup.as_ref().map(|s| &s.client))?;
    if let Some(remote) = store.remote() {
        remote.fetch_results(store.dir()).await?;
    }
    let report = ferry::shard::report::report(store.dir())?;
    if global.json {
        let value = serde_json::to_value(&report).map_err(|e| CliError {
            message: format!("the report cannot be written as JSON: {e}"),
            hint: None,
            code: ExitCode::Failure,
        })?;
        outln!("{value}");
    } else {
        let plan = &report.plan;
        outln!(
            "plan: {} -> {}, {} objects ({}), {} shards",
            plan.source,
            plan.destination,
            plan.objects,
            human_bytes(plan.bytes),
            plan.shards.len()
        );
        for shard in &report.shards {
            match &shard.result {
                Some(r) => outln!(
                    "shard {:5}: {:10} {} of {} in place, {} failed ({:.1} s)",
                    shard.shard,
                    shard.state,
                    r.done + r.skipped,
                    shard.objects,
                    r.failed.len(),
                    r.seconds
                ),
                None => outln!(
                    "shard {:5}: {:10} {} objects",
                    shard.shard,
                    shard.state,
                    shard.objects
                ),
            }
        }
        for failure in &report.failed {
            let shard = failure.shard;
            outln!(
                "failed (shard {shard}): {}: {}",
                printable(&failure.key),
                failure.error
            );
        }
        if !report.not_run.is_empty() {
            outln!("not run: shards {}", ranges(&report.not_run));
        }
        outln!(
            "{} of {} objects in place; {}",
            report.done,
            plan.objects,
            if report.complete {
                "complete"
            } else {
                "not complete"
            }
        );
    }
    Ok(if report.complete {
        ExitCode::Success
    } else {
        ExitCode::Partial
    })
}

/// `0-3,5,7-9` for sorted indices.
fn ranges(indices: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let start = indices[i];
        while i + 1 < indices.len() && indices[i + 1] == indices[i] + 1 {
            i += 1;
        }
        parts.push(if indices[i] == start {
            start.to_string()
        } else {
            format!("{start}-{}", indices[i])
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn shard_lists_are_written_as_ranges() {
        assert_eq!(super::ranges(&[0, 1, 2, 3, 5, 7, 8, 9]), "0-3,5,7-9");
        assert_eq!(super::ranges(&[]), "");
    }
}
