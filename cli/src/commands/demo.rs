//! `ferry demo`: the whole job on this machine, with nothing to set up. Starts the embedded
//! S3 endpoint on a temporary directory, generates a data set (one large file and many small
//! ones), uploads it, lists it, downloads it, and checks every byte.

use super::connect::transfers;
use crate::args::{DemoArgs, GlobalArgs};
use crate::exit::ExitCode;
use crate::location::parse_size;
use crate::output::CliError;
use crate::progress::{Mode, Reporter, human_bytes};
use ferry::config::{ClientOptions, build_client};
use ferry::env::Environment;
use ferry::s3::ListObjects;
use ferry::serve::{LocalEndpoint, ServeConfig};
use ferry::transfer::TransferSummary;
use std::io::Write;
use std::path::Path;

const BUCKET: &str = "ferry-demo";

pub async fn run(global: &GlobalArgs, args: &DemoArgs) -> Result<ExitCode, CliError> {
    let big = parse_size(&args.size)
        .map_err(|e| CliError::usage(format!("--size: {e}"), "e.g. --size 256MiB"))?;
    let small = parse_size(&args.small_size)
        .map_err(|e| CliError::usage(format!("--small-size: {e}"), "e.g. 16KiB"))?;
    let work = tempfile::tempdir().map_err(|e| failure("creating a temporary directory", e))?;
    let (data, store, restore) = (
        work.path().join("data"),
        work.path().join("s3"),
        work.path().join("restore"),
    );
    for dir in [&data, &store, &restore] {
        std::fs::create_dir_all(dir).map_err(|e| failure("creating the demo directories", e))?;
    }
    say(
        global,
        &format!(
            "generating {} + {} files of {} in {}",
            human_bytes(big),
            args.files,
            human_bytes(small),
            data.display()
        ),
    );
    let data_for_gen = data.clone();
    let files = args.files;
    tokio::task::spawn_blocking(move || generate(&data_for_gen, big, files, small))
        .await
        .map_err(|e| failure("generating data", std::io::Error::other(e)))?
        .map_err(|e| failure("generating data", e))?;

    let config = ServeConfig::with_random_keys(
        &store,
        "127.0.0.1:0"
            .parse()
            .map_err(|e| failure("address", std::io::Error::other(e)))?,
    )
    .map_err(|e| CliError::usage(e.to_string(), "the demo needs the system's random source"))?;
    let endpoint = LocalEndpoint::start(config)
        .await
        .map_err(|e| CliError::usage(e.to_string(), crate::hints::serve(&e).unwrap_or_default()))?;
    say(
        global,
        &format!(
            "embedded S3 endpoint (s3s-fs, verifying SigV4) at {}",
            endpoint.url()
        ),
    );
    let options = ClientOptions {
        endpoint_url: Some(endpoint.url()),
        region: Some("us-east-1".into()),
        credentials: Some(endpoint.credentials().clone()),
        concurrency: global.request_concurrency(),
        ..ClientOptions::default()
    };
    // The demo's own keys and endpoint; the user's profile files are not read.
    let isolated = Environment::from_pairs([("HOME", work.path().display().to_string())]);
    let setup = build_client(&options, &isolated).await?;
    setup.client.create_bucket(BUCKET, None).await?;

    let data_dir = data.clone();
    let up = phase(global, &setup, "upload", |engine| async move {
        engine.upload_dir(&data_dir, BUCKET, "demo").await
    })
    .await?;
    let (listed, listed_bytes) = list(&setup.client).await?;
    say(
        global,
        &format!(
            "listed {listed} objects, {} under s3://{BUCKET}/demo/",
            human_bytes(listed_bytes)
        ),
    );
    let restore_dir = restore.clone();
    let down = phase(global, &setup, "download", |engine| async move {
        engine.download_prefix(BUCKET, "demo/", &restore_dir).await
    })
    .await?;
    let (checked, differing) = verify(&data, &restore).map_err(|e| failure("verifying", e))?;
    endpoint.shutdown().await;
    let ok = up.failed == 0
        && down.failed == 0
        && differing == 0
        && checked as u64 == up.objects
        && listed == up.objects;
    say(
        global,
        &format!(
            "verified {checked} files: {}",
            if differing == 0 {
                "every byte identical".to_owned()
            } else {
                format!("{differing} differ")
            }
        ),
    );
    if global.json {
        outln!(
            "{}",
            serde_json::json!({
                "type": "demo",
                "upload": {"objects": up.objects, "bytes": up.bytes, "seconds": up.seconds, "retries": up.retries},
                "download": {"objects": down.objects, "bytes": down.bytes, "seconds": down.seconds, "retries": down.retries},
                "listed": listed, "verified": checked, "differing": differing, "ok": ok,
            })
        );
    }
    Ok(if ok {
        ExitCode::Success
    } else {
        ExitCode::Failure
    })
}

async fn phase<F, Fut>(
    global: &GlobalArgs,
    setup: &ferry::config::ClientSetup,
    name: &str,
    run: F,
) -> Result<TransferSummary, CliError>
where
    F: FnOnce(ferry::transfer::Transfers) -> Fut,
    Fut: std::future::Future<Output = TransferSummary>,
{
    say(global, &format!("{name}:"));
    let reporter = Reporter::start(Mode::choose(global.json, global.quiet));
    let engine = transfers(global, setup, reporter.progress())?;
    let summary = run(engine).await;
    reporter.finish(&summary);
    for failure in &summary.failures {
        errln!("failed: {failure}");
    }
    Ok(summary)
}

async fn list(client: &ferry::s3::S3Client) -> Result<(u64, u64), CliError> {
    let options = ListObjects {
        prefix: Some("demo/".into()),
        ..ListObjects::default()
    };
    let mut pages = client.list_objects(BUCKET, options);
    let (mut count, mut bytes) = (0, 0);
    for _ in 0..10_000 {
        let Some(page) = pages.next_page().await? else {
            break;
        };
        count += page.contents.len() as u64;
        bytes += page.contents.iter().map(|o| o.size).sum::<u64>();
    }
    Ok((count, bytes))
}

fn say(global: &GlobalArgs, line: &str) {
    if !global.quiet && !global.json {
        errln!("{line}");
    }
}

fn failure(what: &str, error: std::io::Error) -> CliError {
    CliError {
        message: format!("{what}: {error}"),
        hint: None,
        code: ExitCode::Failure,
    }
}

/// One large file of pseudo-random bytes and `files` small ones in 20 sub-directories.
fn generate(dir: &Path, big: u64, files: u64, small: u64) -> std::io::Result<()> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    write_random(&dir.join("large.bin"), big, &mut state)?;
    for i in 0..files {
        let sub = dir.join(format!("small/{:02}", i % 20));
        std::fs::create_dir_all(&sub)?;
        write_random(&sub.join(format!("file-{i:05}.dat")), small, &mut state)?;
    }
    Ok(())
}

fn write_random(path: &Path, len: u64, state: &mut u64) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut buf = vec![0u8; 1 << 16];
    let mut left = len;
    while left > 0 {
        for chunk in buf.chunks_mut(8) {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        let n = left.min(buf.len() as u64) as usize;
        out.write_all(&buf[..n])?;
        left -= n as u64;
    }
    out.flush()
}

/// Compares every file under `a` with its twin under `b`: (files compared, files differing).
fn verify(a: &Path, b: &Path) -> std::io::Result<(usize, usize)> {
    let (mut checked, mut differing) = (0, 0);
    let mut stack = vec![a.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let twin = b.join(path.strip_prefix(a).map_err(std::io::Error::other)?);
            checked += 1;
            if !same_bytes(&path, &twin)? {
                differing += 1;
            }
        }
    }
    Ok((checked, differing))
}

fn same_bytes(a: &Path, b: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let (Ok(fa), Ok(fb)) = (std::fs::File::open(a), std::fs::File::open(b)) else {
        return Ok(false);
    };
    if fa.metadata()?.len() != fb.metadata()?.len() {
        return Ok(false);
    }
    let (mut ra, mut rb) = (std::io::BufReader::new(fa), std::io::BufReader::new(fb));
    let (mut xa, mut xb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let n = ra.read(&mut xa)?;
        if n == 0 {
            return Ok(true);
        }
        rb.read_exact(&mut xb[..n])?;
        if xa[..n] != xb[..n] {
            return Ok(false);
        }
    }
}
