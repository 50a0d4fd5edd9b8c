//! `ferry plan SRC DST --shards N --out PLAN`: read the source once and write a plan of N
//! balanced shards (see `ferry::shard`).

use super::connect::connect;
use super::plan_store::PlanStore;
use crate::args::{GlobalArgs, PlanArgs};
use crate::exit::ExitCode;
use crate::location::{Location, dir_prefix};
use crate::output::CliError;
use crate::progress::human_bytes;
use ferry::s3::S3Client;
use ferry::shard::source::{self, Lookup};
use ferry::shard::{Entry, Place, PlanHeader, layout, split};
use std::path::Path;

/// `ferry plan`.
pub async fn run(global: &GlobalArgs, args: &PlanArgs) -> Result<ExitCode, CliError> {
    let source = place(&args.source, true)?;
    let destination = place(&args.destination, false)?;
    if let (Place::Local { .. }, Place::Local { .. }) = (&source, &destination) {
        return Err(CliError::usage(
            "both locations are local",
            "one side of a plan must be s3://BUCKET/PREFIX",
        ));
    }
    if global.source_endpoint_url.is_some() || global.source_profile.is_some() {
        return Err(CliError::usage(
            "plans run on one endpoint and one set of credentials",
            "drop --source-endpoint-url / --source-profile",
        ));
    }
    if let (
        Place::S3 {
            bucket: sb,
            prefix: sp,
        },
        Place::S3 {
            bucket: db,
            prefix: dp,
        },
    ) = (&source, &destination)
        && sb == db
        && (sp.starts_with(dp.as_str()) || dp.starts_with(sp.as_str()))
    {
        return Err(CliError::usage(
            format!("s3://{sb}/{sp} and s3://{db}/{dp} overlap"),
            "copies would land among the objects being copied: choose prefixes neither of which contains the other",
        ));
    }
    let needs_client = matches!(source, Place::S3 { .. }) || PlanStore::is_remote(&args.out);
    let setup = match needs_client {
        true => Some(connect(global).await?),
        false => None,
    };
    let client = setup.as_ref().map(|s| &s.client);
    let store = PlanStore::open(&args.out, client)?;
    let taken = match store.remote() {
        Some(remote) => remote.holds_a_plan().await?,
        None => layout::holds_a_plan(store.dir()),
    };
    if taken {
        return Err(ferry::shard::ShardError::PlanExists(args.out.clone().into()).into());
    }
    let (entries, read_from) = read_source(client, args, &source).await?;
    let mut options = serde_json::Map::new();
    if let Some(manifest) = &args.manifest {
        options.insert(
            "manifest".into(),
            absolute(manifest)?.display().to_string().into(),
        );
    }
    let header = PlanHeader {
        format: layout::FORMAT,
        source,
        destination,
        read_from: read_from.into(),
        options,
        objects: 0,
        bytes: 0,
        largest: 0,
        fingerprint: String::new(),
        shards: Vec::new(),
    };
    let shards = split::split(entries, args.shards as usize);
    let (bytes_off, count_off) = split::imbalance(&shards);
    let header = layout::write_plan(store.dir(), header, &shards)?;
    if let Some(remote) = store.remote() {
        remote.upload_plan(store.dir()).await?;
    }
    if global.json {
        outln!(
            "{}",
            serde_json::json!({
                "type": "plan",
                "plan": args.out,
                "objects": header.objects,
                "bytes": header.bytes,
                "largest": header.largest,
                "shards": header.shards.len(),
                "bytes_imbalance": bytes_off,
                "count_imbalance": count_off,
                "fingerprint": header.fingerprint,
            })
        );
    } else if !global.quiet {
        errln!(
            "planned {} objects ({}) from {} in {} shards, within {:.2}% of the mean by bytes and {:.2}% by count",
            header.objects,
            human_bytes(header.bytes),
            read_from,
            header.shards.len(),
            bytes_off * 100.0,
            count_off * 100.0,
        );
        errln!("fingerprint {}", header.fingerprint);
        errln!(
            "run each shard: ferry run {} --shard I   (I = 0..{})",
            args.out,
            header.shards.len().saturating_sub(1)
        );
    }
    Ok(ExitCode::Success)
}

/// Reads the objects to plan, and says how: `listing`, `walk`, `manifest` or `inventory`.
async fn read_source(
    client: Option<&S3Client>,
    args: &PlanArgs,
    source: &Place,
) -> Result<(Vec<Entry>, &'static str), CliError> {
    let inventory = args
        .manifest
        .as_deref()
        .is_some_and(|m| m.file_name().is_some_and(|n| n == "manifest.json"));
    match (source, &args.manifest) {
        (Place::S3 { bucket, prefix }, Some(manifest)) if inventory => Ok((
            source::read_inventory(manifest, bucket, prefix)?,
            "inventory",
        )),
        (Place::Local { .. }, Some(_)) if inventory => Err(CliError::usage(
            "an S3 Inventory describes a bucket, not a local directory",
            "give the inventoried bucket as the source: ferry plan s3://BUCKET/ …",
        )),
        (Place::S3 { bucket, prefix }, Some(manifest)) => {
            let lookup = Lookup::S3 {
                client: connected(client)?,
                bucket,
            };
            Ok((
                source::read_text_manifest(manifest, prefix, lookup).await?,
                "manifest",
            ))
        }
        (Place::Local { path }, Some(manifest)) => Ok((
            source::read_text_manifest(manifest, "", Lookup::Local(path)).await?,
            "manifest",
        )),
        (Place::S3 { bucket, prefix }, None) => Ok((
            source::list_s3(connected(client)?, bucket, prefix).await?,
            "listing",
        )),
        (Place::Local { path }, None) => Ok((source::walk_local(path)?, "walk")),
    }
}

/// The client, which an S3 source always has.
fn connected(client: Option<&S3Client>) -> Result<&S3Client, CliError> {
    client.ok_or_else(|| {
        CliError::usage(
            "an S3 source needs a connection",
            "this is a bug in ferry: please report it",
        )
    })
}

/// A command-line location as a plan side: an S3 prefix taken as a "directory"
/// (`data` → `data/`), or an absolute local directory (a source must exist).
fn place(text: &str, is_source: bool) -> Result<Place, CliError> {
    match Location::parse(text)? {
        Location::S3 { bucket, key } => Ok(Place::S3 {
            bucket,
            prefix: dir_prefix(&key),
        }),
        Location::Local(path) => {
            if is_source && !path.is_dir() {
                return Err(CliError::usage(
                    format!("`{}` is not a directory", path.display()),
                    "a plan's local source is a directory",
                ));
            }
            Ok(Place::Local {
                path: absolute(&path)?,
            })
        }
    }
}

fn absolute(path: &Path) -> Result<std::path::PathBuf, CliError> {
    std::path::absolute(path).map_err(|e| {
        CliError::usage(
            format!("`{}`: {e}", path.display()),
            "give a path that exists",
        )
    })
}
