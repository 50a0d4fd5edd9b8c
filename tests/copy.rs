//! S3 → S3 copies against the embedded s3s-fs endpoint: server-side on one endpoint
//! (CopyObject, UploadPartCopy), streamed between two endpoints, prefixes, and failures that
//! must leave no multipart upload open.

use ferry::checksum::{ChecksumAlgorithm, checksum_of};
use ferry::http::RequestBody;
use ferry::s3::{ChecksumHeader, PutOptions, S3Client};
use ferry::transfer::{Event, Progress, TransferConfig, Transfers, limits::MIB};
use ferry_tests::embedded::{Embedded, client_for, fast_retries};
use ferry_tests::fault_proxy::{Fault, FaultProxy};
use std::sync::{Arc, Mutex};

const SOURCE: &str = "source";
const TARGET: &str = "target";
const PART: u64 = 5 * MIB;

fn config() -> TransferConfig {
    let mut config = TransferConfig {
        concurrency: 4,
        part_size: PART,
        multipart_threshold: PART,
        ..TransferConfig::default()
    };
    // Server-side copies above 5 MiB go in parts, so a 12 MiB object exercises UploadPartCopy.
    config.limits.max_single_put = PART;
    config
}

fn engine(client: S3Client) -> Transfers {
    Transfers::new(client, config(), Progress::silent())
}

/// An engine that records the parts it finishes.
fn counting_engine(client: S3Client) -> (Transfers, Arc<Mutex<Vec<u64>>>) {
    let parts = Arc::new(Mutex::new(Vec::new()));
    let seen = parts.clone();
    let progress = Progress::new(move |event| {
        if let Event::PartDone { part, .. } = event {
            seen.lock().unwrap().push(part);
        }
    });
    (Transfers::new(client, config(), progress), parts)
}

/// A client that reaches `server` through `proxy`.
fn client_through(proxy: &FaultProxy, server: &Embedded) -> S3Client {
    client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    )
}

/// An engine that reaches `server` through `proxy`.
fn engine_through(proxy: &FaultProxy, server: &Embedded) -> Transfers {
    engine(client_through(proxy, server))
}

fn pattern(len: u64, seed: u64) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + seed * 7) % 253) as u8)
        .collect()
}

async fn start() -> (Embedded, S3Client) {
    let server = Embedded::start("127.0.0.1:0").await;
    let client = server.client();
    client.create_bucket(SOURCE, None).await.expect("bucket");
    client.create_bucket(TARGET, None).await.expect("bucket");
    (server, client)
}

/// The standard headers every source object is stored with.
fn stored_headers() -> ferry::s3::ObjectHeaders {
    ferry::s3::ObjectHeaders {
        cache_control: Some("max-age=3600".into()),
        content_disposition: Some("attachment; filename=\"x.bin\"".into()),
        content_encoding: Some("identity".into()),
        content_language: Some("fr".into()),
    }
}

async fn put(client: &S3Client, bucket: &str, key: &str, data: &[u8]) {
    let options = PutOptions {
        content_type: Some("application/x-test".into()),
        metadata: vec![("origin".into(), "source".into())],
        headers: stored_headers(),
        checksum_headers: vec![ChecksumHeader::Value(checksum_of(
            ChecksumAlgorithm::Crc64Nvme,
            data,
        ))],
        ..PutOptions::default()
    };
    let body = RequestBody::bytes(bytes::Bytes::copy_from_slice(data));
    client
        .put_object(bucket, key, body, &options)
        .await
        .unwrap();
}

fn crc64nvme(data: &[u8]) -> String {
    checksum_of(ChecksumAlgorithm::Crc64Nvme, data).base64()
}

async fn assert_no_open_uploads(client: &S3Client, bucket: &str) {
    let open = client
        .list_multipart_uploads(bucket, None, None)
        .await
        .unwrap();
    assert!(open.uploads.is_empty(), "left open: {:?}", open.uploads);
}

#[tokio::test]
async fn a_small_object_is_copied_server_side_on_one_endpoint() {
    let (_server, client) = start().await;
    let data = pattern(1000, 1);
    put(&client, SOURCE, "a.bin", &data).await;
    let (engine, parts) = counting_engine(client.clone());
    let copied = engine
        .copy_object(SOURCE, "a.bin", TARGET, "b.bin")
        .await
        .unwrap();
    assert_eq!(copied, 1000);
    let back = client.get_object_bytes(TARGET, "b.bin").await.unwrap();
    assert!(back == data, "bytes differ");
    assert!(parts.lock().unwrap().is_empty(), "one CopyObject, no parts");
}

#[tokio::test]
async fn an_object_over_the_single_copy_limit_is_copied_in_parallel_part_copies_byte_for_byte() {
    let (_server, client) = start().await;
    let data = pattern(12 * MIB + 3, 2);
    put(&client, SOURCE, "big.bin", &data).await;
    let (engine, parts) = counting_engine(client.clone());
    let copied = engine
        .copy_object(SOURCE, "big.bin", TARGET, "copy/big.bin")
        .await
        .unwrap();
    assert_eq!(copied, data.len() as u64);
    let mut done = parts.lock().unwrap().clone();
    done.sort_unstable();
    assert_eq!(done, vec![1, 2, 3]);
    let info = client.head_object(TARGET, "copy/big.bin").await.unwrap();
    assert_eq!(info.size, data.len() as u64);
    assert_eq!(info.content_type.as_deref(), Some("application/x-test"));
    assert_eq!(
        info.headers,
        stored_headers(),
        "the source's headers are kept"
    );
    assert_eq!(info.metadata, [("origin".to_owned(), "source".to_owned())]);
    let back = client
        .get_object_bytes(TARGET, "copy/big.bin")
        .await
        .unwrap();
    assert!(back == data, "bytes differ");
    assert_no_open_uploads(&client, TARGET).await;
}

/// The `x-amz-checksum-crc64nvme` the last CompleteMultipartUpload through `proxy` carried.
fn watch_complete_checksum(proxy: &FaultProxy) -> Arc<Mutex<Option<String>>> {
    let sent = Arc::new(Mutex::new(None));
    let seen = sent.clone();
    proxy.set_filter(move |p| {
        let completing = p.method == http::Method::POST
            && p.uri.query().is_some_and(|q| q.contains("uploadId="));
        if completing {
            *seen.lock().unwrap() = p
                .headers
                .get("x-amz-checksum-crc64nvme")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
        }
        false
    });
    sent
}

#[tokio::test]
async fn objects_copied_between_two_endpoints_arrive_byte_for_byte_with_their_crc64nvme() {
    let (_a, source_client) = start().await;
    let (b, target_client) = start().await;
    // The destination is reached through a pass-through proxy that records what
    // CompleteMultipartUpload carries: s3s-fs keeps no checksum for multipart objects.
    let proxy = FaultProxy::start(b.endpoint.local_addr()).await;
    let completed = watch_complete_checksum(&proxy);
    let source = engine(source_client.clone());
    let target = engine_through(&proxy, &b);
    for (key, size) in [
        ("empty.bin", 0),
        ("small.bin", 4321),
        ("part.bin", PART),
        ("large.bin", 2 * PART + 777),
    ] {
        let data = pattern(size, size % 13);
        put(&source_client, SOURCE, key, &data).await;
        let copied = target
            .copy_across(&source, SOURCE, key, TARGET, key)
            .await
            .unwrap();
        assert_eq!(copied, size, "{key}");
        let back = target_client.get_object_bytes(TARGET, key).await.unwrap();
        assert!(back == data, "{key}: bytes differ");
        let info = target_client.head_object(TARGET, key).await.unwrap();
        assert_eq!(info.content_type.as_deref(), Some("application/x-test"));
        assert_eq!(
            info.headers,
            stored_headers(),
            "{key}: the source's headers are kept"
        );
        assert_eq!(
            info.metadata,
            [("origin".to_owned(), "source".to_owned())],
            "{key}"
        );
        let stored = info
            .checksums
            .iter()
            .find(|(h, _)| h == "x-amz-checksum-crc64nvme")
            .map(|(_, v)| v.clone());
        if size <= PART {
            assert_eq!(
                stored,
                Some(crc64nvme(&data)),
                "{key}: {:?}",
                info.checksums
            );
        } else {
            let sent = completed.lock().unwrap().clone();
            assert_eq!(
                sent,
                Some(crc64nvme(&data)),
                "{key}: the full-object CRC sent"
            );
        }
    }
    assert_no_open_uploads(&target_client, TARGET).await;
}

#[tokio::test]
async fn a_cross_endpoint_copy_whose_source_fails_mid_way_leaves_no_upload_open_at_the_destination()
{
    let (a, direct_source) = start().await;
    let (_b, target_client) = start().await;
    put(&direct_source, SOURCE, "big.bin", &pattern(3 * PART, 4)).await;
    let proxy = FaultProxy::start(a.endpoint.local_addr()).await;
    let second_part = format!("bytes={PART}-");
    proxy.set_filter(move |p| {
        p.method == http::Method::GET
            && p.headers
                .get("range")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with(&second_part))
    });
    proxy.push([Fault::Status {
        status: 403,
        code: "AccessDenied",
        message: "Access Denied",
    }]);
    let source = engine_through(&proxy, &a);
    let err = engine(target_client.clone())
        .copy_across(&source, SOURCE, "big.bin", TARGET, "big.bin")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("AccessDenied"), "{err}");
    assert_no_open_uploads(&target_client, TARGET).await;
    assert!(
        target_client.head_object(TARGET, "big.bin").await.is_err(),
        "no object was created"
    );
}

#[tokio::test]
async fn a_cross_endpoint_copy_of_a_missing_source_fails_and_creates_nothing() {
    let (_a, source_client) = start().await;
    let (_b, target_client) = start().await;
    let err = engine(target_client.clone())
        .copy_across(
            &engine(source_client),
            SOURCE,
            "no/such.bin",
            TARGET,
            "x.bin",
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no/such.bin"), "{err}");
    assert!(target_client.head_object(TARGET, "x.bin").await.is_err());
    assert_no_open_uploads(&target_client, TARGET).await;
}

#[tokio::test]
async fn a_prefix_is_copied_below_the_destination_prefix_on_one_endpoint_and_across() {
    let (_a, source_client) = start().await;
    let (_b, other_client) = start().await;
    let objects = [
        ("logs/a.txt", 10),
        ("logs/deep/b c.txt", 2000),
        ("logs/big.bin", 2 * PART + 1),
    ];
    for (i, (key, size)) in objects.iter().enumerate() {
        put(&source_client, SOURCE, key, &pattern(*size, i as u64)).await;
    }
    put(&source_client, SOURCE, "logsx/not-me.txt", b"no").await;
    let source = engine(source_client.clone());

    let same = source.copy_prefix(SOURCE, "logs/", TARGET, "archive").await;
    assert_eq!((same.objects, same.failed), (3, 0), "{:?}", same.failures);
    let across = engine(other_client.clone())
        .copy_prefix_across(&source, SOURCE, "logs/", TARGET, "copied/")
        .await;
    assert_eq!(
        (across.objects, across.failed),
        (3, 0),
        "{:?}",
        across.failures
    );
    assert_eq!(same.bytes, across.bytes);

    for (i, (key, size)) in objects.iter().enumerate() {
        let relative = key.strip_prefix("logs/").unwrap();
        let data = pattern(*size, i as u64);
        let here = source_client
            .get_object_bytes(TARGET, &format!("archive/{relative}"))
            .await
            .unwrap();
        assert!(here == data, "{key}: bytes differ on one endpoint");
        let there = other_client
            .get_object_bytes(TARGET, &format!("copied/{relative}"))
            .await
            .unwrap();
        assert!(there == data, "{key}: bytes differ across endpoints");
    }
    for client in [&source_client, &other_client] {
        let listed = client
            .list_objects(TARGET, ferry::s3::ListObjects::default())
            .next_page()
            .await
            .unwrap()
            .unwrap();
        assert_eq!(listed.contents.len(), 3, "only the prefix's objects");
        assert_no_open_uploads(client, TARGET).await;
    }
}

/// The source's objects under `small/` (some bytes, and an empty one) and one in parts.
async fn put_listed_objects(client: &S3Client) -> Vec<(String, Vec<u8>)> {
    let mut objects: Vec<(String, Vec<u8>)> = (0..6u64)
        .map(|i| (format!("small/f{i}.txt"), pattern(100 + i * 997, i)))
        .collect();
    objects.push(("small/empty".into(), Vec::new()));
    objects.push(("small/big.bin".into(), pattern(2 * PART + 3, 9)));
    for (key, data) in &objects {
        put(client, SOURCE, key, data).await;
    }
    objects
}

#[tokio::test]
async fn a_prefix_copied_across_endpoints_reads_each_small_object_with_one_get_and_no_head() {
    let (a, source_client) = start().await;
    let (_b, target_client) = start().await;
    let objects = put_listed_objects(&source_client).await;
    let proxy = FaultProxy::start(a.endpoint.local_addr()).await;
    let source = engine_through(&proxy, &a);
    let summary = engine(target_client.clone())
        .copy_prefix_across(&source, SOURCE, "small/", TARGET, "copied/")
        .await;
    assert_eq!(
        (summary.objects, summary.failed),
        (objects.len() as u64, 0),
        "{:?}",
        summary.failures
    );
    for (key, data) in &objects {
        let copied = format!("copied/{}", key.strip_prefix("small/").unwrap());
        let back = target_client
            .get_object_bytes(TARGET, &copied)
            .await
            .unwrap();
        assert!(back == *data, "{key}: bytes differ");
        // What the HEAD used to give comes from the GET's own headers.
        let info = target_client.head_object(TARGET, &copied).await.unwrap();
        assert_eq!(info.content_type.as_deref(), Some("application/x-test"));
        assert_eq!(info.headers, stored_headers(), "{key}");
        assert_eq!(
            info.metadata,
            [("origin".to_owned(), "source".to_owned())],
            "{key}"
        );
    }
    // The listing gave each size: the small objects take one GET each and no HEAD; only
    // the one in parts is looked at first (then read in ranges).
    let log = proxy.log();
    let count = |method: &str, key: &str| {
        log.iter()
            .filter(|(m, path, _)| m == method && path.ends_with(&format!("/{SOURCE}/{key}")))
            .count()
    };
    for (key, _) in &objects {
        let heads = usize::from(key.ends_with("big.bin"));
        assert_eq!(count("HEAD", key), heads, "{key}: {log:?}");
    }
    assert_eq!(count("GET", "small/f3.txt"), 1, "{log:?}");
    assert_eq!(count("GET", "small/empty"), 1, "{log:?}");
    assert_no_open_uploads(&target_client, TARGET).await;
}

/// Copies one 40,000-byte object under `dir/` across endpoints, the source reached through
/// a proxy that gives the object's first GET `fault`; checks that it arrived whole, and
/// returns the method and fault of each request the proxy saw for it.
async fn copy_one_with_a_fault_on_its_get(dir: &str, fault: Fault) -> Vec<(String, &'static str)> {
    let (a, source_client) = start().await;
    let (_b, target_client) = start().await;
    let data = pattern(40_000, 3);
    let key = format!("{dir}/a.bin");
    put(&source_client, SOURCE, &key, &data).await;
    let proxy = FaultProxy::start(a.endpoint.local_addr()).await;
    let path = format!("/{key}");
    let on_it = path.clone();
    proxy.set_filter(move |p| p.method == http::Method::GET && p.uri.path().ends_with(&on_it));
    proxy.push([fault]);
    let summary = engine(target_client.clone())
        .copy_prefix_across(
            &engine_through(&proxy, &a),
            SOURCE,
            &format!("{dir}/"),
            TARGET,
            "c/",
        )
        .await;
    assert_eq!(
        (summary.objects, summary.failed),
        (1, 0),
        "{:?}",
        summary.failures
    );
    assert_eq!(summary.bytes, data.len() as u64);
    let back = target_client
        .get_object_bytes(TARGET, "c/a.bin")
        .await
        .unwrap();
    assert!(back == data, "bytes differ");
    proxy
        .log()
        .into_iter()
        .filter(|(_, p, _)| p.ends_with(&path))
        .map(|(method, _, kind)| (method, kind))
        .collect()
}

#[tokio::test]
async fn a_listed_copy_whose_single_get_breaks_off_is_made_again_with_a_head_and_ranges() {
    let seen =
        copy_one_with_a_fault_on_its_get("cut", Fault::TruncateBody { after_bytes: 1000 }).await;
    let methods: Vec<&str> = seen.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        methods,
        ["GET", "HEAD", "GET"],
        "the cut GET, then the full way"
    );
}

#[tokio::test]
async fn a_listed_copy_answered_without_a_content_length_arrives_whole_from_that_one_get() {
    let seen = copy_one_with_a_fault_on_its_get("chunked", Fault::Chunked).await;
    assert_eq!(
        seen,
        [("GET".to_owned(), "Chunked")],
        "one GET, its answer used as it came"
    );
}

#[tokio::test]
async fn a_failed_object_of_a_prefix_copy_is_named_once_by_its_destination() {
    let (_a, source_client) = start().await;
    let (b, _target_client) = start().await;
    put(&source_client, SOURCE, "two/good.txt", b"good").await;
    put(&source_client, SOURCE, "two/bad.txt", b"bad").await;
    let proxy = FaultProxy::start(b.endpoint.local_addr()).await;
    proxy.set_filter(|p| p.method == http::Method::PUT && p.uri.path().ends_with("/bad.txt"));
    proxy.push([Fault::Status {
        status: 403,
        code: "AccessDenied",
        message: "Access Denied",
    }]);
    let failed = Arc::new(Mutex::new(Vec::new()));
    let seen = failed.clone();
    let progress = Progress::new(move |event| {
        if let Event::Failed(failure) = event {
            seen.lock().unwrap().push(failure.object.clone());
        }
    });
    let target = Transfers::new(client_through(&proxy, &b), config(), progress);
    let summary = target
        .copy_prefix_across(&engine(source_client), SOURCE, "two/", TARGET, "copied/")
        .await;
    assert_eq!(
        (summary.objects, summary.failed),
        (1, 1),
        "{:?}",
        summary.failures
    );
    let named: Vec<&str> = summary.failures.iter().map(|f| f.object.as_str()).collect();
    // The CLI lists the summary's failures that no event named: one name for both.
    assert_eq!(named, ["s3://target/copied/bad.txt"]);
    assert_eq!(*failed.lock().unwrap(), named);
}

#[tokio::test]
async fn a_byte_flipped_between_endpoints_fails_the_sources_checksum_and_nothing_is_written() {
    let (a, source_client) = start().await;
    let (_b, target_client) = start().await;
    put(&source_client, SOURCE, "flip.bin", &pattern(4321, 8)).await;
    let proxy = FaultProxy::start(a.endpoint.local_addr()).await;
    proxy.set_filter(|p| p.method == http::Method::GET);
    proxy.push([Fault::FlipByte { offset: 1234 }]);
    let source = engine_through(&proxy, &a);
    let err = engine(target_client.clone())
        .copy_across(&source, SOURCE, "flip.bin", TARGET, "flip.bin")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("mismatch"), "{err}");
    assert!(target_client.head_object(TARGET, "flip.bin").await.is_err());
}
