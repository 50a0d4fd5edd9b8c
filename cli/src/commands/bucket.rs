//! `ferry mb` and `ferry rb`.

use super::connect::{connect, transfers};
use crate::args::{BucketArgs, GlobalArgs, RbArgs};
use crate::exit::ExitCode;
use crate::location::Location;
use crate::output::CliError;
use crate::progress::{Mode, Reporter};

fn bucket_name(text: &str) -> Result<String, CliError> {
    match Location::parse(text)? {
        Location::S3 { bucket, key } if key.is_empty() => Ok(bucket),
        _ => Err(CliError::usage(
            format!("`{text}` is not a bucket"),
            "name the bucket as s3://BUCKET",
        )),
    }
}

pub async fn make(global: &GlobalArgs, args: &BucketArgs) -> Result<ExitCode, CliError> {
    let bucket = bucket_name(&args.bucket)?;
    let client = connect(global).await?.client;
    let region = client.endpoint().region().to_owned();
    let constraint =
        (!client.endpoint().is_custom() && region != "us-east-1").then_some(region.as_str());
    client.create_bucket(&bucket, constraint).await?;
    if !global.quiet {
        errln!("made s3://{bucket}");
    }
    Ok(ExitCode::Success)
}

/// `rb`: with `--force`, every object is deleted first (each listed); the bucket is removed
/// only when all of them were.
pub async fn remove(global: &GlobalArgs, args: &RbArgs) -> Result<ExitCode, CliError> {
    let bucket = bucket_name(&args.bucket)?;
    let setup = connect(global).await?;
    if args.force {
        let reporter = Reporter::start(Mode::choose(global.json, global.quiet));
        let engine = transfers(global, &setup, reporter.progress())?;
        let summary = engine
            .delete_prefix_where(&bucket, "", |_| true, false)
            .await;
        let aborted = engine.abort_uploads_under(&bucket, "").await;
        reporter.finish_deletions(&summary, false, "objects");
        if aborted > 0 && !global.quiet {
            errln!("aborted {aborted} unfinished multipart upload(s)");
        }
        if summary.failed > 0 {
            return Err(CliError {
                message: format!(
                    "s3://{bucket} was not removed: {} object(s) could not be deleted",
                    summary.failed
                ),
                hint: Some("see the failures above, then run ferry rb --force again".into()),
                code: ExitCode::Partial,
            });
        }
    }
    let client = setup.client;
    client.delete_bucket(&bucket).await?;
    if !global.quiet {
        errln!("removed s3://{bucket}");
    }
    Ok(ExitCode::Success)
}
