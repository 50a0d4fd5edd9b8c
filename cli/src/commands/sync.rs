//! `ferry sync SRC DST`: copy what is new or changed (size and time, or `--checksum`), and
//! with `--delete` remove what the source lacks.

use super::connect::{connect, transfers};
use crate::args::{GlobalArgs, SyncArgs};
use crate::exit::ExitCode;
use crate::location::Location;
use crate::output::CliError;
use crate::progress::{Mode, Reporter};
use crate::signals::{Signals, until_signal};
use ferry::transfer::{SyncAction, SyncOptions, SyncSummary};
use std::sync::Arc;

pub async fn run(global: &GlobalArgs, args: &SyncArgs) -> Result<ExitCode, CliError> {
    // From here on SIGINT, SIGTERM and SIGHUP end the run cleanly instead of killing it.
    let mut signals = Signals::install();
    let source = Location::parse(&args.source)?;
    let destination = Location::parse(&args.destination)?;
    let filters = args.filters.compile()?;
    let json = global.json;
    let options = SyncOptions {
        delete: args.delete,
        dry_run: args.dry_run,
        checksum: args.checksum,
        filters,
        on_action: args.dry_run.then(|| -> ferry::transfer::ActionSink {
            Arc::new(move |action: &SyncAction| print_action(action, json))
        }),
    };
    if let (Location::Local(_), Location::Local(_)) = (&source, &destination) {
        return Err(CliError::usage(
            "both locations are local",
            "one side of `ferry sync` must be s3://BUCKET/PREFIX",
        ));
    }
    if global.source_endpoint_url.is_some() || global.source_profile.is_some() {
        return Err(CliError::usage(
            "`ferry sync` runs on one endpoint and one set of credentials",
            "drop --source-endpoint-url / --source-profile, or use `ferry cp -r` across endpoints",
        ));
    }
    if let Location::Local(dir) = &source
        && !dir.is_dir()
    {
        return Err(CliError::usage(
            format!("`{}` is not a directory", dir.display()),
            "ferry sync copies a directory; use `ferry cp` for one file",
        ));
    }
    let setup = connect(global).await?;
    let reporter = Reporter::start(Mode::choose(global.json, global.quiet));
    let engine = transfers(global, &setup, reporter.progress())?;
    let syncing = async {
        match (&source, &destination) {
            (Location::Local(dir), Location::S3 { bucket, key }) => {
                engine.sync_up(dir, bucket, key, &options).await
            }
            (Location::S3 { bucket, key }, Location::Local(dir)) => {
                engine.sync_down(bucket, key, dir, &options).await
            }
            (
                Location::S3 {
                    bucket: src_bucket,
                    key: src_key,
                },
                Location::S3 {
                    bucket: dst_bucket,
                    key: dst_key,
                },
            ) => {
                engine
                    .sync_between(src_bucket, src_key, dst_bucket, dst_key, &options)
                    .await
            }
            (Location::Local(_), Location::Local(_)) => SyncSummary::default(),
        }
    };
    let report = match until_signal(&engine, &mut signals, syncing).await {
        Ok(report) => report,
        Err(interrupted) => {
            let code = interrupted.stop.exit_code();
            reporter.finish_interrupted(&interrupted);
            return Ok(code);
        }
    };
    print_report(global, args.dry_run, &report);
    reporter.finish(&report.transfers);
    Ok(ExitCode::for_summary(&report.transfers))
}

fn print_action(action: &SyncAction, json: bool) {
    if !json {
        outln!("(dry run) {action}");
        return;
    }
    let value = match action {
        SyncAction::Upload { path, url } => serde_json::json!({
            "type": "action", "action": "upload", "dry_run": true,
            "from": path.display().to_string(), "to": url,
        }),
        SyncAction::Download { url, path } => serde_json::json!({
            "type": "action", "action": "download", "dry_run": true,
            "from": url, "to": path.display().to_string(),
        }),
        SyncAction::Copy { from, url } => serde_json::json!({
            "type": "action", "action": "copy", "dry_run": true, "from": from, "to": url,
        }),
        SyncAction::Delete { name } => serde_json::json!({
            "type": "action", "action": "delete", "dry_run": true, "object": name,
        }),
    };
    outln!("{value}");
}

/// What the transfer summary does not say: deletions, and a dry run's plan.
fn print_report(global: &GlobalArgs, dry_run: bool, report: &SyncSummary) {
    if global.json {
        outln!(
            "{}",
            serde_json::json!({
                "type": "sync",
                "dry_run": dry_run,
                "planned": report.planned,
                "deleted": report.deleted,
            })
        );
    } else if !global.quiet {
        if dry_run {
            errln!(
                "dry run: {} actions, nothing changed; {} up to date",
                report.planned,
                report.transfers.skipped
            );
        } else if report.deleted > 0 {
            errln!("deleted {} (each listed above)", report.deleted);
        }
    }
}
