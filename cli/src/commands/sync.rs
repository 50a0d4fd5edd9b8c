//! `ferry sync SRC DST`: copy what is new or changed (size and time, or `--checksum`), and
//! with `--delete` remove what the source lacks.

use super::connect::{connect, transfers};
use crate::args::{GlobalArgs, SyncArgs};
use crate::exit::ExitCode;
use crate::location::Location;
use crate::output::CliError;
use crate::progress::{Mode, Reporter};
use ferry::transfer::{Filters, SyncAction, SyncOptions, SyncSummary};
use std::sync::Arc;

pub async fn run(global: &GlobalArgs, args: &SyncArgs) -> Result<ExitCode, CliError> {
    let source = Location::parse(&args.source)?;
    let destination = Location::parse(&args.destination)?;
    let filters = filters(args, std::env::args().collect());
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
    let report = match (&source, &destination) {
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
    };
    print_report(global, args.dry_run, &report);
    reporter.finish(&report.transfers);
    Ok(if report.transfers.failed > 0 {
        ExitCode::Partial
    } else {
        ExitCode::Success
    })
}

/// The filters in command-line order (the last match wins). clap keeps each flag's values
/// apart, so the order is read back from the raw arguments; if that reading disagrees with
/// clap's, the excludes come first, then the includes.
fn filters(args: &SyncArgs, raw: Vec<String>) -> Filters {
    let mut ordered = Vec::new();
    let mut words = raw.into_iter().skip(1);
    while let Some(word) = words.next() {
        if word == "--" {
            break;
        }
        for (flag, include) in [("--include", true), ("--exclude", false)] {
            if word == flag {
                if let Some(value) = words.next() {
                    ordered.push((include, value));
                }
            } else if let Some(value) = word.strip_prefix(flag).and_then(|v| v.strip_prefix('=')) {
                ordered.push((include, value.to_owned()));
            }
        }
    }
    let of = |include: bool| -> Vec<&String> {
        ordered
            .iter()
            .filter(|(i, _)| *i == include)
            .map(|(_, v)| v)
            .collect()
    };
    let agrees = of(true).into_iter().eq(args.include.iter())
        && of(false).into_iter().eq(args.exclude.iter());
    if !agrees {
        ordered = args
            .exclude
            .iter()
            .map(|v| (false, v.clone()))
            .chain(args.include.iter().map(|v| (true, v.clone())))
            .collect();
    }
    ordered
        .into_iter()
        .fold(Filters::new(), |filters, (include, pattern)| {
            if include {
                filters.include(pattern)
            } else {
                filters.exclude(pattern)
            }
        })
}

fn print_action(action: &SyncAction, json: bool) {
    if !json {
        println!("(dry run) {action}");
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
    println!("{value}");
}

/// What the transfer summary does not say: deletions, and a dry run's plan.
fn print_report(global: &GlobalArgs, dry_run: bool, report: &SyncSummary) {
    if global.json {
        println!(
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
            eprintln!(
                "dry run: {} actions, nothing changed; {} up to date",
                report.planned, report.transfers.skipped
            );
        } else if report.deleted > 0 {
            eprintln!("deleted {}", report.deleted);
        }
    }
    for (name, error) in &report.transfers.failures {
        if !global.json {
            eprintln!("failed: {name}: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(include: &[&str], exclude: &[&str]) -> SyncArgs {
        SyncArgs {
            source: ".".into(),
            destination: "s3://b".into(),
            delete: false,
            dry_run: false,
            checksum: false,
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn raw(words: &str) -> Vec<String> {
        words.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn filters_keep_their_command_line_order() {
        let a = args(&["*.txt"], &["*"]);
        let f = filters(&a, raw("ferry sync --exclude * --include=*.txt . s3://b"));
        assert!(f.allows("a.txt") && !f.allows("a.bin"));
        let a = args(&["*"], &["*.bin"]);
        let f = filters(&a, raw("ferry sync --include * --exclude *.bin . s3://b"));
        assert!(!f.allows("a.bin") && f.allows("a.txt"));
    }

    #[test]
    fn without_a_readable_order_excludes_come_first() {
        let a = args(&["*.txt"], &["*"]);
        let f = filters(&a, raw("something else"));
        assert!(f.allows("a.txt") && !f.allows("a.bin"));
    }
}
