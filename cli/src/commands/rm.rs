//! `ferry rm`: one object, or everything under a prefix in DeleteObjects batches of 1000.

use super::connect::connect;
use crate::args::{GlobalArgs, RmArgs};
use crate::exit::ExitCode;
use crate::location::Location;
use crate::output::CliError;
use ferry::s3::ListObjects;

/// Keys per DeleteObjects request (S3's maximum).
const BATCH: usize = 1000;
const MAX_PAGES: usize = 10_000;

pub async fn run(global: &GlobalArgs, args: &RmArgs) -> Result<ExitCode, CliError> {
    let Location::S3 { bucket, key } = Location::parse(&args.target)? else {
        return Err(CliError::usage(
            format!("`{}` is not an S3 location", args.target),
            "use ferry rm s3://BUCKET/KEY",
        ));
    };
    let client = connect(global).await?.client;
    if !args.recursive {
        client.delete_object(&bucket, &key).await?;
        report(global, 1, 0);
        return Ok(ExitCode::Success);
    }
    let options = ListObjects {
        prefix: (!key.is_empty()).then_some(key),
        ..ListObjects::default()
    };
    let mut pages = client.list_objects(&bucket, options);
    let (mut deleted, mut failed) = (0u64, 0u64);
    for _ in 0..MAX_PAGES {
        let Some(page) = pages.next_page().await? else {
            break;
        };
        let keys: Vec<String> = page.contents.into_iter().map(|o| o.key).collect();
        for batch in keys.chunks(BATCH) {
            let result = client.delete_objects(&bucket, batch).await?;
            for error in &result.errors {
                eprintln!(
                    "failed: s3://{bucket}/{}: {} {}",
                    error.key, error.code, error.message
                );
            }
            failed += result.errors.len() as u64;
            deleted += (batch.len() - result.errors.len()) as u64;
        }
    }
    report(global, deleted, failed);
    Ok(if failed > 0 {
        ExitCode::Partial
    } else {
        ExitCode::Success
    })
}

fn report(global: &GlobalArgs, deleted: u64, failed: u64) {
    if global.json {
        println!(
            "{}",
            serde_json::json!({"type": "summary", "objects": deleted, "failed": failed})
        );
    } else if !global.quiet {
        eprintln!("deleted {deleted} objects, {failed} failed");
    }
}
