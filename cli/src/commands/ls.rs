//! `ferry ls`: buckets, or the objects under a prefix.

use super::connect::connect;
use crate::args::{GlobalArgs, LsArgs};
use crate::exit::ExitCode;
use crate::location::Location;
use crate::output::CliError;
use crate::progress::printable;
use ferry::s3::ListObjects;

/// Pages listed at most (10^7 keys at 1000 a page): a bound, not a limit anyone meets.
const MAX_PAGES: usize = 10_000;

pub async fn run(global: &GlobalArgs, args: &LsArgs) -> Result<ExitCode, CliError> {
    let setup = connect(global).await?;
    let client = setup.client;
    let Some(target) = &args.target else {
        for bucket in client.list_buckets().await? {
            let date = bucket.creation_date.unwrap_or_default();
            if global.json {
                outln!(
                    "{}",
                    serde_json::json!({"bucket": bucket.name, "created": date})
                );
            } else {
                outln!("{date:<24}  {}", bucket.name);
            }
        }
        return Ok(ExitCode::Success);
    };
    let Location::S3 { bucket, key } = Location::parse(target)? else {
        return Err(CliError::usage(
            format!("`{target}` is not an S3 location"),
            "use ferry ls s3://BUCKET/PREFIX",
        ));
    };
    let options = ListObjects {
        prefix: (!key.is_empty()).then_some(key),
        delimiter: (!args.recursive).then(|| "/".to_owned()),
        ..ListObjects::default()
    };
    let mut pages = client.list_objects(&bucket, options);
    for _ in 0..MAX_PAGES {
        if crate::output::stdout_closed() {
            break; // `ferry ls | head`: the reader has what it wanted
        }
        let Some(page) = pages.next_page().await? else {
            break;
        };
        for prefix in page.common_prefixes {
            if global.json {
                outln!("{}", serde_json::json!({"prefix": prefix}));
            } else {
                outln!("{:<24}  {:>14}  {}", "", "PRE", printable(&prefix));
            }
        }
        for object in page.contents {
            let date = object.last_modified.unwrap_or_default();
            let etag = object.etag.unwrap_or_default();
            if global.json {
                outln!(
                    "{}",
                    serde_json::json!({"key": object.key, "size": object.size, "last_modified": date, "etag": etag})
                );
            } else {
                outln!(
                    "{date:<24}  {:>14}  {}  {etag}",
                    object.size,
                    printable(&object.key)
                );
            }
        }
    }
    Ok(ExitCode::Success)
}
