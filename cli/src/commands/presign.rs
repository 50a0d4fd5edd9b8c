//! `ferry presign s3://b/k --expires 3600`: a URL anyone can GET until it expires.

use super::connect::connect;
use crate::args::{GlobalArgs, PresignArgs};
use crate::exit::ExitCode;
use crate::location::Location;
use crate::output::CliError;
use std::time::Duration;

pub async fn run(global: &GlobalArgs, args: &PresignArgs) -> Result<ExitCode, CliError> {
    let Location::S3 { bucket, key } = Location::parse(&args.target)? else {
        return Err(CliError::usage(
            format!("`{}` is not an S3 object", args.target),
            "use ferry presign s3://BUCKET/KEY",
        ));
    };
    if !(1..=604_800).contains(&args.expires) {
        return Err(CliError::usage(
            format!("--expires {} is out of range", args.expires),
            "a presigned URL lasts 1 to 604800 seconds (7 days)",
        ));
    }
    if global.no_sign_request {
        return Err(CliError::usage(
            "anonymous requests cannot be presigned: a presigned URL carries a signature",
            "drop --no-sign-request",
        ));
    }
    let client = connect(global).await?.client;
    let url = client
        .presign_get(&bucket, &key, Duration::from_secs(args.expires))
        .await?;
    outln!("{url}");
    Ok(ExitCode::Success)
}
