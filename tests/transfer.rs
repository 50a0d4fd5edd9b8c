//! The transfer engine against the embedded s3s-fs endpoint: files of every awkward size,
//! directories, and failures that must leave nothing behind.

use ferry::s3::S3Client;
use ferry::transfer::{Event, Progress, TransferConfig, Transfers, limits::MIB};
use ferry_tests::embedded::{Embedded, client_for, fast_retries};
use ferry_tests::fault_proxy::{Fault, FaultProxy};
use std::path::Path;

const BUCKET: &str = "transfers";
const PART: u64 = 5 * MIB;

fn config() -> TransferConfig {
    TransferConfig {
        concurrency: 4,
        part_size: PART,
        multipart_threshold: PART,
        // Journals go to a scratch directory, never the real ~/.local/state.
        state_dir: Some(std::env::temp_dir().join("ferry-tests-state")),
        ..TransferConfig::default()
    }
}

fn engine(client: S3Client) -> Transfers {
    Transfers::new(client, config(), Progress::silent())
}

fn pattern(len: u64, seed: u64) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + seed * 7) % 253) as u8)
        .collect()
}

async fn ready() -> (Embedded, S3Client) {
    let server = Embedded::start("127.0.0.1:0").await;
    let client = server.client();
    client.create_bucket(BUCKET, None).await.expect("bucket");
    (server, client)
}

/// Stores `data` under `key` in one PutObject (no checksum the engine would add).
async fn put(client: &S3Client, key: &str, data: &[u8]) {
    let body = ferry::http::RequestBody::bytes(bytes::Bytes::copy_from_slice(data));
    client
        .put_object(BUCKET, key, body, &ferry::s3::PutOptions::default())
        .await
        .unwrap();
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".ferry-part"))
        .collect()
}

#[tokio::test]
async fn files_of_every_boundary_size_round_trip_byte_for_byte() {
    let (_server, client) = ready().await;
    let engine = engine(client.clone());
    let dir = tempfile::tempdir().unwrap();
    for (i, size) in [0, 1, PART - 1, PART, PART + 1, 3 * PART + 12_345]
        .into_iter()
        .enumerate()
    {
        let source = dir.path().join(format!("in-{size}.bin"));
        let data = pattern(size, i as u64);
        std::fs::write(&source, &data).unwrap();
        let key = format!("sizes/{size}.bin");
        assert_eq!(
            engine.upload_file(&source, BUCKET, &key).await.unwrap(),
            size
        );
        assert_eq!(client.head_object(BUCKET, &key).await.unwrap().size, size);
        let target = dir.path().join(format!("out-{size}.bin"));
        assert_eq!(
            engine.download_file(BUCKET, &key, &target).await.unwrap(),
            size
        );
        let back = std::fs::read(&target).unwrap();
        assert!(back == data, "size {size}: bytes differ");
    }
    assert!(leftovers(dir.path()).is_empty());
}

#[tokio::test]
async fn a_directory_with_nested_and_awkward_names_round_trips() {
    let (_server, client) = ready().await;
    let engine = engine(client.clone());
    let source = tempfile::tempdir().unwrap();
    let files = [
        "top.txt",
        "a/b/c.json",
        "with space/naïve 日本.bin",
        "x/plus+eq=amp&.dat",
        "big/large.bin",
    ];
    for (i, name) in files.iter().enumerate() {
        let path = source.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let size = if name.starts_with("big") {
            PART * 2 + 7
        } else {
            1000 + i as u64
        };
        std::fs::write(&path, pattern(size, i as u64)).unwrap();
    }
    let up = engine.upload_dir(source.path(), BUCKET, "backup").await;
    assert_eq!(
        (up.objects, up.failed),
        (files.len() as u64, 0),
        "{:?}",
        up.failures
    );
    let target = tempfile::tempdir().unwrap();
    let down = engine
        .download_prefix(BUCKET, "backup/", target.path())
        .await;
    assert_eq!(
        (down.objects, down.failed),
        (files.len() as u64, 0),
        "{:?}",
        down.failures
    );
    assert_eq!(down.bytes, up.bytes);
    for name in files {
        let a = std::fs::read(source.path().join(name)).unwrap();
        let b = std::fs::read(target.path().join(name)).unwrap();
        assert!(a == b, "{name} differs");
    }
    let info = client
        .head_object(BUCKET, "backup/a/b/c.json")
        .await
        .unwrap();
    assert_eq!(info.content_type.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn a_failed_download_leaves_no_file_under_either_name() {
    let (_server, client) = ready().await;
    let engine = engine(client);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("missing.bin");
    let err = engine
        .download_file(BUCKET, "no/such/key", &target)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no/such/key"), "{err}");
    assert!(!target.exists());
    assert!(leftovers(dir.path()).is_empty());
}

#[tokio::test]
async fn a_download_whose_body_breaks_mid_range_resumes_and_lands_exact() {
    let (server, direct) = ready().await;
    let data = pattern(2 * PART + 100, 3);
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("src.bin");
    std::fs::write(&source, &data).unwrap();
    engine(direct)
        .upload_file(&source, BUCKET, "resume.bin")
        .await
        .unwrap();
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    proxy.set_filter(|p| p.method == http::Method::GET);
    proxy.push([
        Fault::TruncateBody {
            after_bytes: 1_500_000,
        },
        Fault::TruncateBody { after_bytes: 10 },
    ]);
    let client = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    let target = dir.path().join("out.bin");
    engine(client.clone())
        .download_file(BUCKET, "resume.bin", &target)
        .await
        .unwrap();
    assert!(std::fs::read(&target).unwrap() == data, "bytes differ");
    assert!(client.retries() >= 2, "retries {}", client.retries());
}

#[tokio::test]
async fn a_failed_multipart_upload_is_aborted_and_leaves_no_upload_open() {
    let (server, direct) = ready().await;
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    proxy.set_filter(|p| {
        p.method == http::Method::PUT && p.uri.query().is_some_and(|q| q.contains("partNumber=2"))
    });
    proxy.push([Fault::Status {
        status: 403,
        code: "AccessDenied",
        message: "Access Denied",
    }]);
    let client = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("big.bin");
    std::fs::write(&source, pattern(3 * PART, 9)).unwrap();
    let err = engine(client)
        .upload_file(&source, BUCKET, "big.bin")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("AccessDenied"), "{err}");
    let open = direct
        .list_multipart_uploads(BUCKET, None, None)
        .await
        .unwrap();
    assert!(open.uploads.is_empty(), "left open: {:?}", open.uploads);
    assert!(
        direct.head_object(BUCKET, "big.bin").await.is_err(),
        "no object was created"
    );
}

fn crc64nvme(data: &[u8]) -> String {
    use ferry::checksum::{ChecksumAlgorithm, checksum_of};
    checksum_of(ChecksumAlgorithm::Crc64Nvme, data).base64()
}

#[tokio::test]
async fn an_upload_carries_a_full_object_crc64nvme_that_the_store_reports_and_matches_the_data() {
    let (_server, client) = ready().await;
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("sum.bin");
    let data = pattern(PART - 3, 11);
    std::fs::write(&source, &data).unwrap();
    engine(client.clone())
        .upload_file(&source, BUCKET, "sum.bin")
        .await
        .unwrap();
    let info = client.head_object(BUCKET, "sum.bin").await.unwrap();
    let stored = info
        .checksums
        .iter()
        .find(|(h, _)| h == "x-amz-checksum-crc64nvme");
    assert_eq!(
        stored.map(|(_, v)| v.clone()),
        Some(crc64nvme(&data)),
        "{:?}",
        info.checksums
    );
}

/// A proxy in front of `server` that flips one bit, at `offset`, of the first `faults`
/// GET answers.
async fn flipping_proxy(server: &Embedded, faults: usize, offset: usize) -> FaultProxy {
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    proxy.set_filter(|p| p.method == http::Method::GET);
    proxy.push(std::iter::repeat_n(Fault::FlipByte { offset }, faults));
    proxy
}

async fn flipped_setup(faults: usize) -> (Embedded, FaultProxy, Vec<u8>, tempfile::TempDir) {
    let (server, direct) = ready().await;
    let data = pattern(PART - 1, 5);
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("src.bin");
    std::fs::write(&source, &data).unwrap();
    engine(direct)
        .upload_file(&source, BUCKET, "flip.bin")
        .await
        .unwrap();
    let proxy = flipping_proxy(&server, faults, 4242).await;
    (server, proxy, data, dir)
}

#[tokio::test]
async fn a_byte_flipped_in_flight_fails_verification_is_fetched_again_and_lands_exact() {
    let (server, proxy, data, dir) = flipped_setup(1).await;
    let client = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    let target = dir.path().join("out.bin");
    engine(client)
        .download_file(BUCKET, "flip.bin", &target)
        .await
        .unwrap();
    assert!(std::fs::read(&target).unwrap() == data, "bytes differ");
    assert_eq!(proxy.log().iter().filter(|(m, _, _)| m == "GET").count(), 2);
}

#[tokio::test]
async fn bytes_corrupted_on_every_attempt_never_land() {
    let (server, proxy, _data, dir) = flipped_setup(10).await;
    let client = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    let target = dir.path().join("out.bin");
    let err = engine(client)
        .download_file(BUCKET, "flip.bin", &target)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("mismatch"), "{err}");
    assert!(!target.exists());
    assert!(leftovers(dir.path()).is_empty());
}

#[tokio::test]
async fn cancelled_uploads_are_aborted_so_no_parts_are_left_open() {
    let (server, direct) = ready().await;
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    proxy.set_filter(|p| {
        p.method == http::Method::PUT && p.uri.query().is_some_and(|q| q.contains("partNumber=2"))
    });
    proxy.push([Fault::Hang]);
    let client = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    let engine = engine(client);
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("big.bin");
    std::fs::write(&source, pattern(3 * PART, 2)).unwrap();
    let cancelled = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        engine.upload_file(&source, BUCKET, "cancelled.bin"),
    )
    .await;
    assert!(
        cancelled.is_err(),
        "the upload was still running when cancelled"
    );
    assert_eq!(
        direct
            .list_multipart_uploads(BUCKET, None, None)
            .await
            .unwrap()
            .uploads
            .len(),
        1
    );
    assert_eq!(engine.abort_open_uploads().await, 1);
    assert!(
        direct
            .list_multipart_uploads(BUCKET, None, None)
            .await
            .unwrap()
            .uploads
            .is_empty()
    );
}

#[tokio::test]
async fn small_listed_objects_take_one_get_each_and_fall_back_when_an_answer_breaks() {
    let (server, direct) = ready().await;
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("src");
    std::fs::create_dir_all(&source).unwrap();
    for i in 0..4u64 {
        std::fs::write(source.join(format!("f{i}.bin")), pattern(20_000 + i, i)).unwrap();
    }
    let summary = engine(direct).upload_dir(&source, BUCKET, "small/").await;
    assert_eq!(summary.objects, 4, "{:?}", summary.failures);

    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    let client = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    let clean = dir.path().join("clean");
    let summary = engine(client.clone())
        .download_prefix(BUCKET, "small/", &clean)
        .await;
    assert_eq!(summary.objects, 4, "{:?}", summary.failures);
    let heads = proxy
        .log()
        .iter()
        .filter(|(method, _, _)| method == "HEAD")
        .count();
    assert_eq!(heads, 0, "the listing gave the sizes: no HEAD");
    let gets = proxy.log().iter().filter(|(m, _, _)| m == "GET").count();
    assert_eq!(gets, 1 + 4, "one listing, then one GET per object");

    // A cut body and a flipped byte: both objects still arrive whole, through the full path.
    proxy.set_filter(|p| p.method == http::Method::GET && p.uri.query().is_none());
    proxy.push([
        Fault::TruncateBody { after_bytes: 100 },
        Fault::FlipByte { offset: 7 },
    ]);
    let faulty = dir.path().join("faulty");
    let summary = engine(client)
        .download_prefix(BUCKET, "small/", &faulty)
        .await;
    assert_eq!(summary.objects, 4, "{:?}", summary.failures);
    for i in 0..4u64 {
        let name = format!("f{i}.bin");
        assert!(
            std::fs::read(faulty.join(&name)).unwrap() == pattern(20_000 + i, i),
            "{name}: bytes differ"
        );
    }
    assert!(leftovers(&faulty).is_empty());
}

#[tokio::test]
async fn a_part_upload_that_hangs_is_hedged_and_the_upload_finishes() {
    let (server, direct) = ready().await;
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    proxy.set_filter(|p| {
        p.method == http::Method::PUT && p.uri.query().is_some_and(|q| q.contains("partNumber=6&"))
    });
    proxy.push([Fault::Hang]);
    let client = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    let hedging = Transfers::new(
        client,
        TransferConfig {
            concurrency: 2,
            max_concurrency: 2,
            hedge: Some(ferry::transfer::hedge::HedgeConfig {
                quantile: 0.95,
                min_samples: 3,
                min_delay: std::time::Duration::from_millis(50),
                ..Default::default()
            }),
            ..config()
        },
        Progress::silent(),
    );
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("big.bin");
    let data = pattern(8 * PART, 6);
    std::fs::write(&source, &data).unwrap();
    tokio::time::timeout(
        std::time::Duration::from_secs(120),
        hedging.upload_file(&source, BUCKET, "hedged.bin"),
    )
    .await
    .expect("the hedge answers long before the hung request would time out")
    .expect("the upload succeeds");
    assert!(hedging.hedged_parts() >= 1, "part 6 was sent again");
    assert_eq!(proxy.pending(), 0, "the hang was served to part 6");
    let target = dir.path().join("back.bin");
    engine(direct)
        .download_file(BUCKET, "hedged.bin", &target)
        .await
        .unwrap();
    assert!(std::fs::read(&target).unwrap() == data, "bytes differ");
}

#[tokio::test]
async fn a_ranged_download_that_stalls_is_hedged_and_its_bytes_counted_once() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let (server, direct) = ready().await;
    let data = pattern(8 * PART, 8);
    put(&direct, "stalls.bin", &data).await;
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    let sixth = format!("bytes={}-", 5 * PART);
    proxy.set_filter(move |p| {
        p.method == http::Method::GET
            && p.headers
                .get(http::header::RANGE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with(&sixth))
    });
    // Half the range arrives (two 1 MiB writes, written and counted), then nothing more.
    proxy.push([Fault::StallResponse {
        after_bytes: 2_600_000,
    }]);
    let client = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    let moved = Arc::new(AtomicU64::new(0));
    let counted = moved.clone();
    let hedging = Transfers::new(
        client,
        TransferConfig {
            concurrency: 2,
            max_concurrency: 2,
            hedge: Some(ferry::transfer::hedge::HedgeConfig {
                quantile: 0.95,
                min_samples: 3,
                min_delay: std::time::Duration::from_millis(50),
                ..Default::default()
            }),
            ..config()
        },
        Progress::new(move |event| {
            if let Event::Bytes { name, bytes } = event {
                assert_eq!(
                    *name,
                    *format!("s3://{BUCKET}/stalls.bin"),
                    "bytes name their object"
                );
                counted.fetch_add(bytes, Ordering::Relaxed);
            }
        }),
    );
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("stalls.bin");
    tokio::time::timeout(
        std::time::Duration::from_secs(120),
        hedging.download_file(BUCKET, "stalls.bin", &target),
    )
    .await
    .expect("no hang")
    .expect("the download succeeds");
    assert_eq!(
        proxy.pending(),
        0,
        "the stall was served to the sixth range"
    );
    assert!(
        hedging.hedged_ranges() >= 1,
        "the sixth range was sent again"
    );
    assert!(std::fs::read(&target).unwrap() == data, "bytes differ");
    assert_eq!(
        moved.load(Ordering::Relaxed),
        data.len() as u64,
        "every byte counted once, the stalled answer's included"
    );
    assert!(leftovers(dir.path()).is_empty());
}

/// An object stored without any checksum (uploaded with none, as other tools do) and a
/// proxy that flips one bit of the first `faults` GET answers.
async fn unchecksummed_flipped_setup(
    faults: usize,
) -> (Embedded, FaultProxy, Vec<u8>, tempfile::TempDir) {
    let (server, direct) = ready().await;
    let data = pattern(PART - 1, 6);
    put(&direct, "plain.bin", &data).await;
    let info = direct.head_object(BUCKET, "plain.bin").await.unwrap();
    assert!(info.checksums.is_empty(), "{:?}", info.checksums);
    assert!(info.etag_md5().is_some(), "{:?}", info.etag);
    let proxy = flipping_proxy(&server, faults, 777).await;
    (server, proxy, data, tempfile::tempdir().unwrap())
}

#[tokio::test]
async fn without_a_stored_checksum_a_flipped_bit_is_caught_by_the_md5_etag_and_fetched_again() {
    let (server, proxy, data, dir) = unchecksummed_flipped_setup(1).await;
    let client = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    let target = dir.path().join("out.bin");
    engine(client)
        .download_file(BUCKET, "plain.bin", &target)
        .await
        .unwrap();
    assert!(std::fs::read(&target).unwrap() == data, "bytes differ");
}

#[tokio::test]
async fn without_a_stored_checksum_bytes_corrupted_on_every_attempt_never_land() {
    let (server, proxy, _data, dir) = unchecksummed_flipped_setup(10).await;
    let client = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    let target = dir.path().join("out.bin");
    // Both paths: a listed object that fits one GET, and a HEAD-then-ranges download.
    let engine = engine(client);
    let err = engine
        .download_listed(BUCKET, "plain.bin", &target, PART - 1)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("MD5 mismatch"), "{err}");
    assert!(!target.exists());
    assert!(leftovers(dir.path()).is_empty());
}

#[tokio::test]
async fn uploads_without_a_checksum_send_a_content_md5_the_store_accepts_single_and_multipart() {
    let (server, direct) = ready().await;
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    let client = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    let config = TransferConfig {
        checksum: None,
        ..config()
    };
    let engine = Transfers::new(client, config, Progress::silent());
    let dir = tempfile::tempdir().unwrap();
    for (name, len) in [("one.bin", PART - 5), ("parts.bin", 2 * PART + 9)] {
        let data = pattern(len, 12);
        let source = dir.path().join(name);
        std::fs::write(&source, &data).unwrap();
        engine.upload_file(&source, BUCKET, name).await.unwrap();
        let stored = direct.get_object_bytes(BUCKET, name).await.unwrap();
        assert!(stored == data, "{name}: the bytes differ");
    }
    // The single PutObject's Content-MD5 was checked by the store (s3s-fs answers BadDigest
    // to a wrong one), and its ETag is that MD5.
    let info = direct.head_object(BUCKET, "one.bin").await.unwrap();
    assert!(info.etag_md5().is_some(), "{:?}", info.etag);
}

/// `data` uploaded as `key` in parts without checksums (as other tools make): no stored
/// checksum, and an ETag `md5-of-md5s-N`.
async fn upload_without_checksums(direct: &S3Client, key: &str, data: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.bin");
    std::fs::write(&source, data).unwrap();
    let plain = TransferConfig {
        checksum: None,
        ..config()
    };
    Transfers::new(direct.clone(), plain, Progress::silent())
        .upload_file(&source, BUCKET, key)
        .await
        .unwrap();
}

/// Collects the names of the objects reported unverified.
fn unverified_recorder() -> (Progress, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let events = seen.clone();
    let progress = Progress::new(move |event| {
        if let Event::Unverified { name } = event {
            events.lock().unwrap().push(name);
        }
    });
    (progress, seen)
}

#[tokio::test]
async fn a_multipart_object_without_checksums_is_checked_against_its_multipart_etag_and_a_flipped_bit_is_fetched_again()
 {
    let (server, direct) = ready().await;
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(2 * PART + 3, 13);
    upload_without_checksums(&direct, "parts.bin", &data).await;
    let info = direct.head_object(BUCKET, "parts.bin").await.unwrap();
    assert!(info.checksums.is_empty(), "{info:?}");
    assert!(
        info.etag.as_deref().is_some_and(|e| e.contains("-3")),
        "{info:?}"
    );

    // One bit of the second range flipped in flight: the first GET (sent with the HEAD)
    // carries the first two ranges.
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    proxy.set_filter(|p| {
        p.method == http::Method::GET
            && p.headers
                .get(http::header::RANGE)
                .is_some_and(|v| v.as_bytes().starts_with(b"bytes=0-"))
    });
    proxy.push([Fault::FlipByte {
        offset: PART as usize + 4242,
    }]);
    let client = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    let (progress, unverified) = unverified_recorder();
    let target = dir.path().join("back.bin");
    Transfers::new(client, config(), progress)
        .download_file(BUCKET, "parts.bin", &target)
        .await
        .unwrap();
    assert_eq!(proxy.pending(), 0, "the flip was served");
    assert!(std::fs::read(&target).unwrap() == data, "bytes differ");
    assert!(
        unverified.lock().unwrap().is_empty(),
        "checked against the ETag"
    );
    let gets = proxy.log().iter().filter(|(m, _, _)| m == "GET").count();
    // Two GETs the first time (ranges 0-1, range 2), then the object again.
    assert!(
        gets > 2,
        "the object was fetched again after the mismatch: {gets} GETs"
    );
}

#[tokio::test]
async fn a_multipart_object_whose_part_size_cannot_be_guessed_is_reported_unverified() {
    let (_server, client) = ready().await;
    // Parts of 5 MiB + 7 bytes: no whole MiB or MB size, and s3s-fs ignores partNumber, so
    // the layout is neither told nor guessed.
    let odd = PART as usize + 7;
    let data = pattern(2 * odd as u64 + 3, 14);
    let id = client
        .create_multipart_upload(BUCKET, "odd.bin", &ferry::s3::PutOptions::default())
        .await
        .unwrap();
    let mut parts = Vec::new();
    for (i, chunk) in data.chunks(odd).enumerate() {
        let n = i as u32 + 1;
        let body = ferry::http::RequestBody::bytes(bytes::Bytes::copy_from_slice(chunk));
        let etag = client
            .upload_part(BUCKET, "odd.bin", &id, n, body, &[])
            .await
            .unwrap();
        parts.push(ferry::s3::xml::CompletedPart::new(n, etag));
    }
    client
        .complete_multipart_upload(BUCKET, "odd.bin", &id, &parts, &[])
        .await
        .unwrap();

    let (progress, unverified) = unverified_recorder();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("odd.bin");
    Transfers::new(client, config(), progress)
        .download_file(BUCKET, "odd.bin", &target)
        .await
        .unwrap();
    assert!(std::fs::read(&target).unwrap() == data);
    assert_eq!(
        *unverified.lock().unwrap(),
        [format!("s3://{BUCKET}/odd.bin")]
    );
    assert!(leftovers(dir.path()).is_empty());
}

#[tokio::test]
async fn an_object_downloads_into_any_async_writer_in_order_and_verified() {
    let (_server, client) = ready().await;
    let engine = engine(client.clone());
    let dir = tempfile::tempdir().unwrap();
    let size = 3 * PART + 12_345;
    let data = pattern(size, 9);
    let source = dir.path().join("writer.bin");
    std::fs::write(&source, &data).unwrap();
    engine
        .upload_file(&source, BUCKET, "writer.bin")
        .await
        .expect("uploaded");
    let mut written: Vec<u8> = Vec::new();
    let bytes = engine
        .download_to_writer(BUCKET, "writer.bin", &mut written)
        .await
        .expect("downloaded into the writer");
    assert_eq!(bytes, size);
    assert!(written == data, "every byte, in order");

    let missing = engine
        .download_to_writer(BUCKET, "no-such-key", &mut Vec::new())
        .await
        .expect_err("a missing key fails");
    assert_eq!(missing.kind(), ferry::transfer::FailureKind::NotFound);
}

#[tokio::test]
async fn without_a_stored_checksum_a_download_into_a_writer_is_checked_against_its_md5_etag() {
    let (server, proxy, data, _dir) = unchecksummed_flipped_setup(1).await;
    let client = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    let (progress, unverified) = unverified_recorder();
    let engine = Transfers::new(client, config(), progress);
    // The first answer has a bit flipped: the bytes already went to the writer, so the
    // download fails by name instead of passing silently.
    let error = engine
        .download_to_writer(BUCKET, "plain.bin", &mut Vec::new())
        .await
        .expect_err("a flipped bit is caught");
    assert!(error.to_string().contains("MD5 mismatch"), "{error}");
    // The proxy's one fault is spent: the next download is exact and verified.
    let mut written = Vec::new();
    engine
        .download_to_writer(BUCKET, "plain.bin", &mut written)
        .await
        .expect("verified against the ETag");
    assert!(written == data, "every byte, in order");
    assert!(unverified.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_download_into_a_writer_with_nothing_to_check_against_is_reported_unverified() {
    let (_server, direct) = ready().await;
    // The parts' MD5s, which bytes streamed in order cannot be checked against without the
    // part size.
    let data = pattern(2 * PART + 3, 14);
    upload_without_checksums(&direct, "unchecked.bin", &data).await;
    let (progress, unverified) = unverified_recorder();
    let engine = Transfers::new(direct, config(), progress);
    let mut written = Vec::new();
    engine
        .download_to_writer(BUCKET, "unchecked.bin", &mut written)
        .await
        .expect("downloaded");
    assert!(written == data, "every byte, in order");
    assert_eq!(
        *unverified.lock().unwrap(),
        [format!("s3://{BUCKET}/unchecked.bin")]
    );
}

/// Waits (at most 10 s, polling) until `done` holds; whether it did.
async fn within_ten_seconds(done: impl Fn() -> bool) -> bool {
    for _ in 0..1000 {
        if done() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    done()
}

fn gets(proxy: &FaultProxy) -> usize {
    proxy.log().iter().filter(|(m, _, _)| m == "GET").count()
}

/// A download of `key` to `target` started through a proxy that holds its HeadObject until
/// [`FaultProxy::release_holds`].
async fn download_with_head_held(
    server: &Embedded,
    key: &'static str,
    target: &Path,
) -> (
    FaultProxy,
    tokio::task::JoinHandle<Result<u64, ferry::transfer::TransferError>>,
) {
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    proxy.set_filter(|p| p.method == http::Method::HEAD);
    proxy.push([Fault::Hold]);
    let client = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    let target = target.to_owned();
    let download =
        tokio::spawn(async move { engine(client).download_file(BUCKET, key, &target).await });
    (proxy, download)
}

#[tokio::test]
async fn a_download_asks_for_its_first_range_while_its_head_is_unanswered_and_uses_that_answer() {
    let (server, direct) = ready().await;
    let dir = tempfile::tempdir().unwrap();
    // One range and two (the whole object in the first answer, which asks for two), and
    // three ranges (the first two in the first answer, then the third).
    for (key, len, ranges) in [
        ("one.bin", 20_000, 1),
        ("two.bin", PART + 100, 1),
        ("three.bin", 2 * PART + 100, 2),
    ] {
        let data = pattern(len, len);
        let source = dir.path().join(key);
        std::fs::write(&source, &data).unwrap();
        engine(direct.clone())
            .upload_file(&source, BUCKET, key)
            .await
            .unwrap();
        let target = dir.path().join(format!("out-{key}"));
        let (proxy, download) = download_with_head_held(&server, key, &target).await;
        let sent_early = within_ten_seconds(|| gets(&proxy) > 0).await;
        proxy.release_holds();
        download.await.unwrap().unwrap();
        assert!(
            sent_early,
            "{key}: no GET was sent while the HEAD went unanswered"
        );
        assert!(
            std::fs::read(&target).unwrap() == data,
            "{key}: bytes differ"
        );
        assert_eq!(gets(&proxy), ranges, "{key}: a range was asked for twice");
    }
}

#[tokio::test]
async fn an_early_first_range_of_an_object_replaced_before_the_head_is_dropped_and_asked_again() {
    let (server, direct) = ready().await;
    let dir = tempfile::tempdir().unwrap();
    let key = "replaced.bin";
    let (before, after) = (pattern(PART + 100, 1), pattern(PART + 100, 2));
    let source = dir.path().join("src.bin");
    std::fs::write(&source, &before).unwrap();
    engine(direct.clone())
        .upload_file(&source, BUCKET, key)
        .await
        .unwrap();
    let target = dir.path().join("out.bin");
    let (proxy, download) = download_with_head_held(&server, key, &target).await;
    // The early GET is answered with the old object; then it is replaced; then the HEAD.
    let answered = within_ten_seconds(|| proxy.answered() > 0).await;
    std::fs::write(&source, &after).unwrap();
    engine(direct)
        .upload_file(&source, BUCKET, key)
        .await
        .unwrap();
    proxy.release_holds();
    download.await.unwrap().unwrap();
    assert!(answered, "the early GET was not answered before the HEAD");
    assert!(
        std::fs::read(&target).unwrap() == after,
        "bytes differ from the new object"
    );
    // The early answer, then the new object's two ranges asked for again in one GET; no
    // refetch after a mismatch.
    assert_eq!(gets(&proxy), 2, "{:?}", proxy.log());
}

#[tokio::test]
async fn an_object_replaced_by_a_multipart_upload_is_not_reported_with_the_old_checksum() {
    let (server, direct) = ready().await;
    let dir = tempfile::tempdir().unwrap();
    let key = "replaced-by-parts.bin";
    let (small, large) = (pattern(1000, 3), pattern(PART + 100, 4));
    let source = dir.path().join("src.bin");
    std::fs::write(&source, &small).unwrap();
    engine(direct.clone())
        .upload_file(&source, BUCKET, key)
        .await
        .unwrap();
    let old = direct.head_object(BUCKET, key).await.unwrap().checksums;
    assert!(!old.is_empty(), "the single PUT stored a checksum");
    std::fs::write(&source, &large).unwrap();
    engine(direct.clone())
        .upload_file(&source, BUCKET, key)
        .await
        .unwrap();
    let new = direct.head_object(BUCKET, key).await.unwrap();
    assert!(
        new.etag.as_deref().is_some_and(|e| e.ends_with("-2\"")),
        "{:?}",
        new.etag
    );
    for checksum in &old {
        assert!(
            !new.checksums.contains(checksum),
            "the old object's {checksum:?} is still reported"
        );
    }
    let target = dir.path().join("out.bin");
    let _ = server;
    engine(direct)
        .download_file(BUCKET, key, &target)
        .await
        .unwrap();
    assert!(std::fs::read(&target).unwrap() == large, "bytes differ");
}

#[tokio::test]
async fn ranges_in_flight_grow_past_the_floor_where_each_answer_is_slow() {
    // Every answer 40 ms late: completions per second follow the ranges in flight, so each
    // growth pays, and the limit climbs from its floor of 4 towards its cap of 32.
    let (server, direct) = ready().await;
    const RANGE: u64 = 64 * 1024;
    let data = pattern(160 * RANGE, 9);
    put(&direct, "slow.bin", &data).await;
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    proxy.fault_window(
        std::time::Duration::from_secs(600),
        Fault::Delay { millis: 40 },
        1,
    );
    let client = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    let engine = Transfers::new(
        client,
        TransferConfig {
            concurrency: 4,
            max_concurrency: 32,
            part_size: RANGE,
            limits: ferry::transfer::Limits {
                min_part_size: RANGE,
                ..ferry::transfer::Limits::AWS
            },
            hedge: None,
            ..config()
        },
        Progress::silent(),
    );
    assert_eq!(engine.part_limit(), 4);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("slow.bin");
    tokio::time::timeout(
        std::time::Duration::from_secs(120),
        engine.download_file(BUCKET, "slow.bin", &target),
    )
    .await
    .expect("160 ranges of 40 ms each end long before this")
    .unwrap();
    assert!(std::fs::read(&target).unwrap() == data, "bytes differ");
    assert!(
        engine.part_limit() > 4,
        "ranges in flight grew: {}",
        engine.part_limit()
    );
    assert!(engine.part_limit() <= 32);
}

#[tokio::test]
async fn a_small_object_without_a_checksum_whose_bytes_are_corrupted_is_caught_by_its_md5_etag_and_fetched_again()
 {
    let (server, direct) = ready().await;
    // Stored without a checksum: only the ETag (the MD5 of the bytes) can check them.
    for i in 0..3u64 {
        put(&direct, &format!("plain/p{i}.bin"), &pattern(30_000 + i, i)).await;
    }
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    let client = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    proxy.set_filter(|p| p.method == http::Method::GET && p.uri.path().ends_with("/p1.bin"));
    proxy.push([Fault::FlipByte { offset: 12_345 }]);
    let retried = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = retried.clone();
    let progress = Progress::new(move |event| match event {
        Event::Retried { name } => seen.lock().unwrap().push(name),
        Event::Unverified { name } => panic!("{name} was not checked"),
        _ => {}
    });
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("plain");
    let summary = Transfers::new(client, config(), progress)
        .download_prefix(BUCKET, "plain/", &target)
        .await;
    assert_eq!(
        (summary.objects, summary.failed),
        (3, 0),
        "{:?}",
        summary.failures
    );
    assert_eq!(
        *retried.lock().unwrap(),
        ["s3://transfers/plain/p1.bin"],
        "the flipped byte was caught by the MD5 and the object fetched again"
    );
    for i in 0..3u64 {
        let bytes = std::fs::read(target.join(format!("p{i}.bin"))).unwrap();
        assert!(bytes == pattern(30_000 + i, i), "p{i}.bin: bytes differ");
    }
    assert!(leftovers(&target).is_empty());
}
