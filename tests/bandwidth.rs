//! `--max-bandwidth`: a capped client moves bytes no faster than its rate, and uploads and
//! downloads share one budget. Only lower bounds with a generous margin are asserted (the
//! time a transfer must at least take), never an upper bound.

use ferry::http::{HttpConfig, RateLimiter};
use ferry::s3::S3Client;
use ferry::transfer::{Progress, TransferConfig, Transfers, limits::MIB};
use ferry_tests::embedded::{Embedded, client_with, fast_retries};
use std::time::{Duration, Instant};

const BUCKET: &str = "capped";
const SIZE: u64 = 3 * MIB;
const RATE: u64 = 2 * MIB;

fn capped(server: &Embedded) -> S3Client {
    client_with(
        &server.endpoint.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
        HttpConfig {
            max_bandwidth: Some(RATE),
            ..HttpConfig::default()
        },
    )
}

fn engine(client: S3Client) -> Transfers {
    Transfers::new(
        client,
        TransferConfig {
            concurrency: 4,
            ..TransferConfig::default()
        },
        Progress::silent(),
    )
}

/// The least time `bytes` can take at the cap (the first burst passes at once), with a 20%
/// margin.
fn floor(bytes: u64) -> Duration {
    let burst = RateLimiter::new(RATE).burst();
    Duration::from_secs_f64((bytes - burst) as f64 / RATE as f64 * 0.8)
}

fn pattern(len: u64, seed: u64) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 131 + seed * 7) % 251) as u8)
        .collect()
}

#[tokio::test]
async fn capped_uploads_and_downloads_take_at_least_size_over_rate() {
    let server = Embedded::start("127.0.0.1:0").await;
    server
        .client()
        .create_bucket(BUCKET, None)
        .await
        .expect("bucket");
    let engine = engine(capped(&server));
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("in.bin");
    let data = pattern(SIZE, 1);
    std::fs::write(&source, &data).unwrap();

    let start = Instant::now();
    assert_eq!(
        engine
            .upload_file(&source, BUCKET, "one.bin")
            .await
            .unwrap(),
        SIZE
    );
    let upload = start.elapsed();
    assert!(
        upload >= floor(SIZE),
        "a {SIZE}-byte upload at {RATE} B/s took {upload:?} (< {:?})",
        floor(SIZE)
    );

    let target = dir.path().join("out.bin");
    let start = Instant::now();
    assert_eq!(
        engine
            .download_file(BUCKET, "one.bin", &target)
            .await
            .unwrap(),
        SIZE
    );
    let download = start.elapsed();
    assert!(
        download >= floor(SIZE),
        "a {SIZE}-byte download at {RATE} B/s took {download:?} (< {:?})",
        floor(SIZE)
    );
    assert!(std::fs::read(&target).unwrap() == data, "bytes differ");
}

#[tokio::test]
async fn an_upload_and_a_download_at_once_share_one_budget() {
    let server = Embedded::start("127.0.0.1:0").await;
    let plain = server.client();
    plain.create_bucket(BUCKET, None).await.expect("bucket");
    let dir = tempfile::tempdir().unwrap();
    let existing = pattern(SIZE, 2);
    let seed = dir.path().join("seed.bin");
    std::fs::write(&seed, &existing).unwrap();
    // Put the object to download through an uncapped client, so only the race is timed.
    engine(plain)
        .upload_file(&seed, BUCKET, "down.bin")
        .await
        .unwrap();
    let source = dir.path().join("up.bin");
    let data = pattern(SIZE, 3);
    std::fs::write(&source, &data).unwrap();

    let engine = engine(capped(&server));
    let target = dir.path().join("down.bin");
    let start = Instant::now();
    let (up, down) = tokio::join!(
        engine.upload_file(&source, BUCKET, "up.bin"),
        engine.download_file(BUCKET, "down.bin", &target),
    );
    let both = start.elapsed();
    assert_eq!(up.unwrap(), SIZE);
    assert_eq!(down.unwrap(), SIZE);
    assert!(
        both >= floor(2 * SIZE),
        "{} bytes each way at {RATE} B/s in all took {both:?} (< {:?})",
        SIZE,
        floor(2 * SIZE)
    );
    assert!(std::fs::read(&target).unwrap() == existing, "bytes differ");
}
