//! `ferry cp SRC DST` and `ferry mv SRC DST`: files and directories to, from and between
//! buckets. `mv` deletes each source once its copy has finished (see [`super::mv`]).

use super::connect::{connect, connect_source, transfers};
use super::mv::Mover;
use crate::args::{CpArgs, GlobalArgs};
use crate::exit::ExitCode;
use crate::location::{Location, dir_prefix};
use crate::output::CliError;
use crate::progress::{Mode, Reporter};
use crate::signals::{Signals, until_signal};
use ferry::pattern::{glob_matches, has_wildcard};
use ferry::transfer::{Filters, TransferSummary, Transfers};
use std::path::{Path, PathBuf};

/// What one `cp` or `mv` moves: the two sides and how.
#[derive(Debug)]
pub struct Plan {
    /// Where from.
    pub source: Location,
    /// Where to.
    pub destination: Location,
    /// A directory or prefix, recursively.
    pub recursive: bool,
    /// `--include` / `--exclude`.
    pub filters: Filters,
}

/// `ferry cp`.
pub async fn run(global: &GlobalArgs, args: &CpArgs) -> Result<ExitCode, CliError> {
    transfer(global, args, false).await
}

/// `ferry cp`, or with `moving` `ferry mv`.
pub async fn transfer(
    global: &GlobalArgs,
    args: &CpArgs,
    moving: bool,
) -> Result<ExitCode, CliError> {
    let command = if moving { "mv" } else { "cp" };
    // From here on SIGINT, SIGTERM and SIGHUP end the run cleanly instead of killing it.
    let mut signals = Signals::install();
    let source = Location::parse(&args.source)?;
    let destination = Location::parse(&args.destination)?;
    if let (Location::Local(_), Location::Local(_)) = (&source, &destination) {
        return Err(CliError::usage(
            "both locations are local",
            format!("one side of `ferry {command}` must be s3://BUCKET/KEY"),
        ));
    }
    let both_s3 = matches!(
        (&source, &destination),
        (Location::S3 { .. }, Location::S3 { .. })
    );
    if !both_s3 && (global.source_endpoint_url.is_some() || global.source_profile.is_some()) {
        return Err(CliError::usage(
            "--source-endpoint-url and --source-profile apply to bucket-to-bucket copies only",
            format!("e.g. ferry {command} s3://a/k s3://b/k --source-endpoint-url URL"),
        ));
    }
    if let Location::S3 { bucket, key } = &source
        && key.is_empty()
        && !args.recursive
    {
        return Err(CliError::usage(
            format!("`{}` names a bucket, not an object", args.source),
            format!("to {command} everything in it: ferry {command} -r s3://{bucket}/ DEST"),
        ));
    }
    if moving && same_place(&source, &destination, args.recursive) {
        return Err(CliError::usage(
            format!(
                "`{}` and `{}` are the same place",
                args.source, args.destination
            ),
            "a move onto itself would delete the data: name another destination",
        ));
    }
    if let (Location::Local(path), Location::S3 { key, .. }) = (&source, &destination)
        && path.as_os_str() == "-"
        && (key.is_empty() || key.ends_with('/'))
    {
        return Err(CliError::usage(
            "standard input has no name to give the object",
            "name the key: ferry cp - s3://BUCKET/KEY",
        ));
    }
    if let Location::Local(path) = &destination
        && path.as_os_str() == "-"
        && (moving || args.recursive || global.json)
    {
        return Err(CliError::usage(
            "standard output takes one object, copied (not moved), without --json",
            "e.g. ferry cp s3://BUCKET/KEY - | gunzip",
        ));
    }
    if moving
        && let Location::Local(path) = &source
        && path.as_os_str() == "-"
    {
        return Err(CliError::usage(
            "standard input cannot be moved",
            "use ferry cp - s3://BUCKET/KEY",
        ));
    }
    let plan = Plan {
        source,
        destination,
        recursive: args.recursive,
        filters: args.filters.compile()?,
    };
    let setup = connect(global).await?;
    let source_setup = connect_source(global).await?;
    let reporter = Reporter::start(Mode::choose(global.json, global.quiet));
    let mover = if moving {
        let deleter = transfers(
            global,
            source_setup.as_ref().unwrap_or(&setup),
            reporter.progress(),
        )?;
        Some(Mover::start(&plan, deleter))
    } else {
        None
    };
    let progress = match &mover {
        Some(mover) => mover.watch(reporter.progress()),
        None => reporter.progress(),
    };
    let engine = transfers(global, &setup, progress.clone())?;
    let source_engine = match &source_setup {
        Some(setup) => Some(transfers(global, setup, progress)?),
        None => None,
    };
    let mut hint = None;
    let copying = copy(&engine, source_engine.as_ref(), &plan, &mut hint);
    let mut summary = match until_signal(&engine, &mut signals, copying).await {
        Ok(summary) => summary,
        Err(mut interrupted) => {
            if let (Some(source), Some(left)) = (&source_engine, &mut interrupted.left) {
                left.aborted_uploads
                    .extend(source.abort_open_uploads_listed().await);
            }
            let code = interrupted.stop.exit_code();
            reporter.finish_interrupted(&interrupted);
            return Ok(code);
        }
    };
    if let Some(mover) = mover {
        mover.finish(&mut summary).await;
    }
    reporter.finish(&summary);
    if let Some(hint) = hint {
        errln!("hint: {hint}");
    }
    Ok(ExitCode::for_summary(&summary))
}

async fn copy(
    engine: &Transfers,
    source_engine: Option<&Transfers>,
    plan: &Plan,
    hint: &mut Option<String>,
) -> TransferSummary {
    let started = std::time::Instant::now();
    let filters = &plan.filters;
    // A key holding `*` or `?` may be an object's exact name: that object wins over the
    // pattern (one HEAD finds out).
    let glob_key = match &plan.source {
        Location::S3 { bucket, key } if has_wildcard(key) => {
            let from = source_engine.unwrap_or(engine);
            from.client().head_object(bucket, key).await.is_err()
        }
        _ => false,
    };
    let mut summary = match (&plan.source, &plan.destination) {
        // Standard output takes one object by its exact name, wildcards or not.
        (Location::S3 { bucket, key }, Location::Local(path)) if path.as_os_str() == "-" => single(
            engine.download_to_stdout(bucket, key).await,
            &format!("s3://{bucket}/{key}"),
            hint,
        ),
        (Location::Local(path), Location::S3 { bucket, key })
            if has_wildcard(&path.to_string_lossy()) =>
        {
            let (base, pattern) = split_glob(&path.to_string_lossy());
            engine
                .upload_dir_where(Path::new(&glob_base(base)), bucket, key, |rel| {
                    glob_matches(&pattern, rel) && filters.allows(rel)
                })
                .await
        }
        (Location::S3 { bucket, key }, Location::Local(dir)) if glob_key => {
            let (base, pattern) = split_glob(key);
            let base = dir_prefix(&base);
            engine
                .download_prefix_where(bucket, &base, dir, |rel| {
                    glob_matches(&pattern, rel) && filters.allows(rel)
                })
                .await
        }
        (Location::Local(dir), Location::S3 { bucket, key }) if plan.recursive => {
            engine
                .upload_dir_where(dir, bucket, key, |rel| filters.allows(rel))
                .await
        }
        (Location::S3 { bucket, key }, Location::Local(dir)) if plan.recursive => {
            engine
                .download_prefix_where(bucket, &dir_prefix(key), dir, |rel| filters.allows(rel))
                .await
        }
        (
            Location::S3 {
                bucket: sb,
                key: sk,
            },
            Location::S3 {
                bucket: db,
                key: dk,
            },
        ) if plan.recursive => {
            engine
                .copy_prefix_where(source_engine, (sb, &dir_prefix(sk)), (db, dk), &|rel| {
                    filters.allows(rel)
                })
                .await
        }
        (Location::Local(path), Location::S3 { bucket, key }) if path.as_os_str() == "-" => {
            let result = match standard_input() {
                Ok(stdin) => engine.upload_reader(stdin, bucket, key).await,
                Err(e) => Err(ferry::transfer::TransferError::io(
                    "reading",
                    "standard input",
                    e,
                )),
            };
            single(result, &format!("s3://{bucket}/{key}"), hint)
        }
        (Location::Local(path), Location::S3 { bucket, key }) => {
            if !filters.allows(&file_name(path)) {
                return TransferSummary::default();
            }
            let key = object_key(key, path);
            single(
                engine.upload_file(path, bucket, &key).await,
                &format!("s3://{bucket}/{key}"),
                hint,
            )
        }
        (Location::S3 { bucket, key }, Location::Local(path)) => {
            if !filters.allows(base_name(key)) {
                return TransferSummary::default();
            }
            let target = local_target(path, key);
            single(
                engine.download_file(bucket, key, &target).await,
                &format!("s3://{bucket}/{key}"),
                hint,
            )
        }
        (
            Location::S3 {
                bucket: sb,
                key: sk,
            },
            Location::S3 {
                bucket: db,
                key: dk,
            },
        ) => {
            if !filters.allows(base_name(sk)) {
                return TransferSummary::default();
            }
            let dk = single_copy_key(sk, dk);
            let result = match source_engine {
                Some(from) => engine.copy_across(from, sb, sk, db, &dk).await,
                None => engine.copy_object(sb, sk, db, &dk).await,
            };
            single(result, &format!("s3://{db}/{dk}"), hint)
        }
        (Location::Local(_), Location::Local(_)) => TransferSummary::default(),
    };
    if summary.seconds == 0.0 {
        summary.seconds = started.elapsed().as_secs_f64();
    }
    let source_retries = source_engine.map_or(0, |e| e.client().retries());
    summary.retries = summary
        .retries
        .max(engine.client().retries() + source_retries);
    summary
}

/// Whether a bucket-to-bucket move would land on its own source.
fn same_place(source: &Location, destination: &Location, recursive: bool) -> bool {
    match (source, destination) {
        (
            Location::S3 {
                bucket: sb,
                key: sk,
            },
            Location::S3 {
                bucket: db,
                key: dk,
            },
        ) => {
            sb == db
                && if recursive {
                    let (from, to) = (dir_prefix(sk), dir_prefix(dk));
                    to.starts_with(&from) || from.starts_with(&to)
                } else {
                    single_copy_key(sk, dk) == *sk
                }
        }
        _ => false,
    }
}

/// Standard input as a file read on the blocking pool (a duplicate of descriptor 0).
fn standard_input() -> std::io::Result<tokio::fs::File> {
    use std::os::fd::AsFd;
    let fd = std::io::stdin().as_fd().try_clone_to_owned()?;
    Ok(tokio::fs::File::from_std(std::fs::File::from(fd)))
}

/// `logs/2026/*.gz` → (`logs/2026`, `*.gz`): the segments before the first wildcard, and
/// the pattern for what lies below them.
pub fn split_glob(text: &str) -> (String, String) {
    let segments: Vec<&str> = text.split('/').collect();
    let first = segments
        .iter()
        .position(|s| has_wildcard(s))
        .unwrap_or(segments.len());
    (segments[..first].join("/"), segments[first..].join("/"))
}

/// The directory a local glob is walked from (`.` when the pattern starts at once).
pub fn glob_base(base: String) -> String {
    if base.is_empty() {
        ".".to_owned()
    } else {
        base
    }
}

/// One object's outcome as a summary. The failure itself is printed by the reporter (the
/// engine's event, or the summary's list); its hint is kept to print after the summary.
fn single(
    result: Result<u64, ferry::transfer::TransferError>,
    name: &str,
    hint: &mut Option<String>,
) -> TransferSummary {
    let mut summary = TransferSummary::default();
    match result {
        Ok(bytes) => {
            summary.objects = 1;
            summary.bytes = bytes;
        }
        Err(error) if crate::output::reader_went_away(&error) => {}
        Err(error) => {
            *hint = crate::hints::transfer(&error);
            summary.fail(ferry::transfer::Failure::new(name, error));
        }
    }
    summary
}

/// The key for an uploaded file: `s3://b/dir/` gets the file's name appended.
pub fn object_key(key: &str, path: &Path) -> String {
    named_key(key, &file_name(path))
}

/// The destination key of a single-object bucket-to-bucket copy.
pub fn single_copy_key(src_key: &str, dst_key: &str) -> String {
    named_key(dst_key, base_name(src_key))
}

/// `key`, or when it names a "directory" (empty, or ending in `/`), `name` inside it.
fn named_key(key: &str, name: &str) -> String {
    if key.is_empty() || key.ends_with('/') {
        format!("{key}{name}")
    } else {
        key.to_owned()
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Where a downloaded object goes: into a directory (existing or ending in `/`) under the
/// key's last segment, else the path itself.
fn local_target(path: &Path, key: &str) -> PathBuf {
    let is_dir = path.is_dir() || path.as_os_str().to_string_lossy().ends_with('/');
    if is_dir {
        path.join(base_name(key))
    } else {
        path.to_owned()
    }
}

fn base_name(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}
