//! `ferry mb` and `ferry rb`.

use super::connect::connect;
use crate::args::{BucketArgs, GlobalArgs};
use crate::exit::ExitCode;
use crate::location::Location;
use crate::output::CliError;

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
        eprintln!("made s3://{bucket}");
    }
    Ok(ExitCode::Success)
}

pub async fn remove(global: &GlobalArgs, args: &BucketArgs) -> Result<ExitCode, CliError> {
    let bucket = bucket_name(&args.bucket)?;
    let client = connect(global).await?.client;
    client.delete_bucket(&bucket).await?;
    if !global.quiet {
        eprintln!("removed s3://{bucket}");
    }
    Ok(ExitCode::Success)
}
