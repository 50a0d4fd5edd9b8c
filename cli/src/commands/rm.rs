//! `ferry rm`: one object, or with `-r` every object under a prefix (as `aws s3 rm
//! --recursive`: `s3://b/logs` means `logs/`), each deleted key listed.

use super::connect::{connect, transfers};
use crate::args::{GlobalArgs, RmArgs};
use crate::exit::ExitCode;
use crate::location::{Location, dir_prefix};
use crate::output::CliError;
use crate::progress::{Mode, Reporter};

pub async fn run(global: &GlobalArgs, args: &RmArgs) -> Result<ExitCode, CliError> {
    let Location::S3 { bucket, key } = Location::parse(&args.target)? else {
        return Err(CliError::usage(
            format!("`{}` is not an S3 location", args.target),
            "use ferry rm s3://BUCKET/KEY (or -r s3://BUCKET/PREFIX/)",
        ));
    };
    if !args.recursive && key.is_empty() {
        return Err(CliError::usage(
            format!(
                "`{}` names a bucket, not an object; nothing was deleted",
                args.target
            ),
            format!(
                "to delete every object in it: ferry rm -r s3://{bucket}/ ; to remove the bucket: ferry rb s3://{bucket} (empty) or ferry rb --force s3://{bucket}"
            ),
        ));
    }
    let filters = args.filters.compile()?;
    let setup = connect(global).await?;
    let reporter = Reporter::start(Mode::choose(global.json, global.quiet)).dry_run(args.dry_run);
    let engine = transfers(global, &setup, reporter.progress())?;
    let summary = if args.recursive {
        let prefix = dir_prefix(&key);
        engine
            .delete_prefix_where(&bucket, &prefix, |rel| filters.allows(rel), args.dry_run)
            .await
    } else if filters.allows(base_name(&key)) {
        engine.delete_one(&bucket, &key, args.dry_run).await
    } else {
        ferry::transfer::TransferSummary::default()
    };
    reporter.finish_deletions(&summary, args.dry_run, "objects");
    Ok(ExitCode::for_summary(&summary))
}

fn base_name(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}
