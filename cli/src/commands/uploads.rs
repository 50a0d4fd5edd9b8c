//! `ferry uploads ls|abort s3://BUCKET/PREFIX [--older-than AGE]`: the multipart uploads left
//! open on the store, listed or aborted (what a lifecycle rule's
//! `AbortIncompleteMultipartUpload` does, for stores that have none).

use super::connect::{connect, transfers};
use crate::args::{GlobalArgs, UploadsArgs};
use crate::exit::ExitCode;
use crate::location::{Location, parse_age};
use crate::output::CliError;
use crate::progress::{Mode, Reporter, printable};
use ferry::transfer::uploads::upload_age;

/// Pulls the bucket, prefix and age out of the arguments.
fn target(args: &UploadsArgs) -> Result<(String, String, Option<std::time::Duration>), CliError> {
    let Location::S3 { bucket, key } = Location::parse(&args.target)? else {
        return Err(CliError::usage(
            format!("`{}` is not an S3 location", args.target),
            "use s3://BUCKET/PREFIX",
        ));
    };
    let older_than = match &args.older_than {
        Some(text) => {
            Some(parse_age(text).map_err(|e| CliError::usage(e, "e.g. --older-than 7d"))?)
        }
        None => None,
    };
    Ok((bucket, key, older_than))
}

/// `ferry uploads ls`.
pub async fn list(global: &GlobalArgs, args: &UploadsArgs) -> Result<ExitCode, CliError> {
    let (bucket, prefix, older_than) = target(args)?;
    let setup = connect(global).await?;
    let engine = transfers(global, &setup, ferry::transfer::Progress::silent())?;
    let uploads = engine.open_uploads(&bucket, &prefix).await?;
    let now = std::time::SystemTime::now();
    for upload in uploads {
        let age = upload_age(&upload, now);
        if let Some(minimum) = older_than
            && age.is_none_or(|a| a < minimum)
        {
            continue;
        }
        let initiated = upload.initiated.clone().unwrap_or_default();
        if global.json {
            outln!(
                "{}",
                serde_json::json!({
                    "key": upload.key,
                    "upload_id": upload.upload_id,
                    "initiated": initiated,
                    "age_seconds": age.map(|a| a.as_secs()),
                })
            );
        } else {
            outln!(
                "{initiated:<24}  s3://{bucket}/{}  {}",
                printable(&upload.key),
                upload.upload_id
            );
        }
    }
    Ok(ExitCode::Success)
}

/// `ferry uploads abort`.
pub async fn abort(global: &GlobalArgs, args: &UploadsArgs) -> Result<ExitCode, CliError> {
    let (bucket, prefix, older_than) = target(args)?;
    let setup = connect(global).await?;
    let reporter = Reporter::start(Mode::choose(global.json, global.quiet)).dry_run(args.dry_run);
    let engine = transfers(global, &setup, reporter.progress())?;
    let summary = engine
        .abort_uploads(&bucket, &prefix, older_than, args.dry_run)
        .await;
    reporter.finish_deletions(&summary, args.dry_run, "multipart uploads");
    Ok(ExitCode::for_summary(&summary))
}
