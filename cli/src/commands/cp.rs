//! `ferry cp SRC DST`: files and directories to, from and between buckets.

use super::connect::{connect, connect_source, transfers};
use crate::args::{CpArgs, GlobalArgs};
use crate::exit::ExitCode;
use crate::location::Location;
use crate::output::CliError;
use crate::progress::{Mode, Reporter};
use ferry::transfer::{TransferSummary, Transfers, glob_matches, has_wildcard};
use std::path::{Path, PathBuf};

pub async fn run(global: &GlobalArgs, args: &CpArgs) -> Result<ExitCode, CliError> {
    let source = Location::parse(&args.source)?;
    let destination = Location::parse(&args.destination)?;
    if let (Location::Local(_), Location::Local(_)) = (&source, &destination) {
        return Err(CliError::usage(
            "both locations are local",
            "one side of `ferry cp` must be s3://BUCKET/KEY",
        ));
    }
    let both_s3 = matches!(
        (&source, &destination),
        (Location::S3 { .. }, Location::S3 { .. })
    );
    if !both_s3 && (global.source_endpoint_url.is_some() || global.source_profile.is_some()) {
        return Err(CliError::usage(
            "--source-endpoint-url and --source-profile apply to bucket-to-bucket copies only",
            "e.g. ferry cp s3://a/k s3://b/k --source-endpoint-url URL",
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
    let setup = connect(global).await?;
    let source_setup = connect_source(global).await?;
    let reporter = Reporter::start(Mode::choose(global.json, global.quiet));
    let engine = transfers(global, &setup, reporter.progress())?;
    let source_engine = match &source_setup {
        Some(setup) => Some(transfers(global, setup, reporter.progress())?),
        None => None,
    };
    let copying = copy(
        &engine,
        source_engine.as_ref(),
        &source,
        &destination,
        args.recursive,
    );
    let summary = tokio::select! {
        summary = copying => summary,
        _ = tokio::signal::ctrl_c() => {
            let aborted = engine.abort_open_uploads().await;
            reporter.finish(&ferry::transfer::TransferSummary::default());
            eprintln!("interrupted: aborted {aborted} open multipart upload(s); partial downloads stay under their .ferry-part names");
            return Ok(ExitCode::Interrupted);
        }
    };
    reporter.finish(&summary);
    Ok(if summary.failed > 0 {
        ExitCode::Partial
    } else {
        ExitCode::Success
    })
}

async fn copy(
    engine: &Transfers,
    source_engine: Option<&Transfers>,
    source: &Location,
    destination: &Location,
    recursive: bool,
) -> TransferSummary {
    let started = std::time::Instant::now();
    let mut summary = match (source, destination) {
        (Location::Local(path), Location::S3 { bucket, key })
            if has_wildcard(&path.to_string_lossy()) =>
        {
            let (base, pattern) = split_glob(&path.to_string_lossy());
            let base = if base.is_empty() {
                ".".to_owned()
            } else {
                base
            };
            engine
                .upload_dir_where(Path::new(&base), bucket, key, |rel| {
                    glob_matches(&pattern, rel)
                })
                .await
        }
        (Location::S3 { bucket, key }, Location::Local(dir)) if has_wildcard(key) => {
            let (base, pattern) = split_glob(key);
            let base = prefix(&base);
            engine
                .download_prefix_where(bucket, &base, dir, |rel| glob_matches(&pattern, rel))
                .await
        }
        (Location::Local(dir), Location::S3 { bucket, key }) if recursive => {
            engine.upload_dir(dir, bucket, key).await
        }
        (Location::S3 { bucket, key }, Location::Local(dir)) if recursive => {
            engine.download_prefix(bucket, &prefix(key), dir).await
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
        ) if recursive => match source_engine {
            Some(from) => {
                engine
                    .copy_prefix_across(from, sb, &prefix(sk), db, dk)
                    .await
            }
            None => engine.copy_prefix(sb, &prefix(sk), db, dk).await,
        },
        (Location::Local(path), Location::S3 { bucket, key }) if path.as_os_str() == "-" => {
            let result = match standard_input() {
                Ok(stdin) => engine.upload_reader(stdin, bucket, key).await,
                Err(e) => Err(ferry::transfer::TransferError::Io {
                    action: "reading",
                    path: "standard input".into(),
                    source: e,
                }),
            };
            single(result, &format!("s3://{bucket}/{key}"))
        }
        (Location::Local(path), Location::S3 { bucket, key }) => {
            let key = object_key(key, path);
            single(
                engine.upload_file(path, bucket, &key).await,
                &format!("s3://{bucket}/{key}"),
            )
        }
        (Location::S3 { bucket, key }, Location::Local(path)) => {
            let target = local_target(path, key);
            single(
                engine.download_file(bucket, key, &target).await,
                &format!("s3://{bucket}/{key}"),
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
            let dk = if dk.is_empty() || dk.ends_with('/') {
                format!("{dk}{}", base_name(sk))
            } else {
                dk.clone()
            };
            let result = match source_engine {
                Some(from) => engine.copy_across(from, sb, sk, db, &dk).await,
                None => engine.copy_object(sb, sk, db, &dk).await,
            };
            single(result, &format!("s3://{db}/{dk}"))
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

/// Standard input as a file read on the blocking pool (a duplicate of descriptor 0).
fn standard_input() -> std::io::Result<tokio::fs::File> {
    use std::os::fd::AsFd;
    let fd = std::io::stdin().as_fd().try_clone_to_owned()?;
    Ok(tokio::fs::File::from_std(std::fs::File::from(fd)))
}

/// `logs/2026/*.gz` → (`logs/2026`, `*.gz`): the segments before the first wildcard, and
/// the pattern for what lies below them.
fn split_glob(text: &str) -> (String, String) {
    let segments: Vec<&str> = text.split('/').collect();
    let first = segments
        .iter()
        .position(|s| has_wildcard(s))
        .unwrap_or(segments.len());
    (segments[..first].join("/"), segments[first..].join("/"))
}

fn single(result: Result<u64, ferry::transfer::TransferError>, name: &str) -> TransferSummary {
    let mut summary = TransferSummary::default();
    match result {
        Ok(bytes) => {
            summary.objects = 1;
            summary.bytes = bytes;
        }
        Err(error) => {
            eprintln!("error: {error}");
            if let Some(hint) = error.hint() {
                eprintln!("hint: {hint}");
            }
            summary.failed = 1;
            summary.failures.push((name.to_owned(), error.to_string()));
        }
    }
    summary
}

/// `p` → `p/` so a prefix download takes `p/…` and not `pq/…`.
fn prefix(key: &str) -> String {
    if key.is_empty() || key.ends_with('/') {
        key.to_owned()
    } else {
        format!("{key}/")
    }
}

/// The key for an uploaded file: `s3://b/dir/` gets the file's name appended.
fn object_key(key: &str, path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if key.is_empty() || key.ends_with('/') {
        format!("{key}{name}")
    } else {
        key.to_owned()
    }
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
