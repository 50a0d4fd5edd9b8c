//! Interop against a real SeaweedFS, started by `scripts/interop.sh` (which sets the
//! `FERRY_INTEROP_*` variables). Not part of `cargo test --workspace`; CI runs the script.

use bytes::Bytes;
use ferry::Advice;
use ferry::credentials::Credentials;
use ferry::http::{HttpConfig, RequestBody};
use ferry::s3::{ListObjects, PutOptions, S3Client};
use ferry_tests::embedded::{client_with, fast_retries};
use std::sync::atomic::{AtomicU32, Ordering};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run these tests through scripts/interop.sh, which starts SeaweedFS"
        )
    })
}

fn client(endpoint_var: &str, key_var: &str, secret_var: &str, ca: Option<String>) -> S3Client {
    let http = HttpConfig {
        ca_bundle: ca.map(Into::into),
        ..HttpConfig::default()
    };
    client_with(
        &var(endpoint_var),
        Credentials::new(var(key_var), var(secret_var)),
        fast_retries(),
        http,
    )
}

fn admin() -> S3Client {
    client(
        "FERRY_INTEROP_ENDPOINT",
        "FERRY_INTEROP_ADMIN_KEY",
        "FERRY_INTEROP_ADMIN_SECRET",
        None,
    )
}

fn reader() -> S3Client {
    client(
        "FERRY_INTEROP_ENDPOINT",
        "FERRY_INTEROP_READER_KEY",
        "FERRY_INTEROP_READER_SECRET",
        None,
    )
}

/// A fresh bucket per test, so tests can run in parallel.
async fn bucket(client: &S3Client, name: &str) -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let bucket = format!(
        "ferry-{name}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    client
        .create_bucket(&bucket, None)
        .await
        .expect("create bucket");
    bucket
}

fn body(data: &[u8]) -> RequestBody {
    RequestBody::bytes(Bytes::copy_from_slice(data))
}

async fn all_keys(client: &S3Client, bucket: &str, options: ListObjects) -> (Vec<String>, usize) {
    let mut pages = client.list_objects(bucket, options);
    let (mut keys, mut count) = (Vec::new(), 0);
    for _ in 0..10_000 {
        let Some(page) = pages.next_page().await.expect("list page") else {
            return (keys, count);
        };
        count += 1;
        keys.extend(page.contents.into_iter().map(|o| o.key));
    }
    panic!("listing did not end within 10,000 pages");
}

#[tokio::test]
async fn awkward_keys_round_trip_and_list_back_byte_for_byte() {
    let client = admin();
    let bucket = bucket(&client, "keys").await;
    // S3's longest key (1024 bytes), in 200-byte segments (SeaweedFS limits one segment).
    let mut long: String = (0..5).map(|i| format!("{i}{}/", "k".repeat(199))).collect();
    long.push_str(&"e".repeat(1024 - long.len()));
    assert_eq!(long.len(), 1024);
    let keys = [
        "with space.txt",
        "unicode/naïve-日本語-🚀.bin",
        "plus+percent%equals=amp&tilde~",
        "bang!star*quote'paren(s)",
        "a//double-slash",
        long.as_str(),
    ];
    for key in keys {
        client
            .put_object(&bucket, key, body(key.as_bytes()), &PutOptions::default())
            .await
            .unwrap_or_else(|e| panic!("put {key:?}: {e}"));
        let back = client
            .get_object_bytes(&bucket, key)
            .await
            .unwrap_or_else(|e| panic!("get {key:?}: {e}"));
        assert_eq!(&back[..], key.as_bytes(), "{key:?}");
    }
    // SeaweedFS refuses `..` segments (S3 itself accepts them). Its refusal proves ferry sent
    // the key literally: a client that normalized it would have stored `still-literal`.
    let err = client
        .put_object(
            &bucket,
            "dots/../still-literal",
            body(b"x"),
            &PutOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.service().map(|e| e.code()),
        Some("InvalidRequest"),
        "{err}"
    );
    let (mut listed, _) = all_keys(&client, &bucket, ListObjects::default()).await;
    // SeaweedFS's filer collapses `//` in listings (the GET above still round-tripped it); real
    // S3 keeps it. Every other byte must come back exactly.
    let mut expected: Vec<String> = keys.iter().map(|k| k.replace("//", "/")).collect();
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected);
}

#[tokio::test]
async fn a_read_only_identity_gets_access_denied_on_a_write_without_retries() {
    let bucket = bucket(&admin(), "ro").await;
    let reader = reader();
    reader
        .list_objects(&bucket, ListObjects::default())
        .next_page()
        .await
        .expect("reader may list");
    let err = reader
        .put_object(&bucket, "nope", body(b"x"), &PutOptions::default())
        .await
        .unwrap_err();
    let service = err.service().expect("an S3 error");
    assert!(service.is_access_denied(), "{err}");
    assert!(
        err.to_string().contains(&format!("s3://{bucket}/nope")),
        "{err}"
    );
    assert!(
        matches!(err.advice(), Some(Advice::CheckPermission { .. })),
        "{:?}",
        err.advice()
    );
    assert_eq!(reader.retries(), 0);
}

#[tokio::test]
async fn a_wrong_secret_gets_signature_does_not_match_without_retries() {
    let wrong = Credentials::new(
        var("FERRY_INTEROP_ADMIN_KEY"),
        "0000000000000000000000000000000000000000",
    );
    let client = client_with(
        &var("FERRY_INTEROP_ENDPOINT"),
        wrong,
        fast_retries(),
        HttpConfig::default(),
    );
    let err = client.list_buckets().await.unwrap_err();
    assert_eq!(
        err.service().map(|e| e.code()),
        Some("SignatureDoesNotMatch"),
        "{err}"
    );
    assert_eq!(err.advice(), Some(Advice::CheckSecretKey));
    assert_eq!(client.retries(), 0);
}

#[tokio::test]
async fn pagination_over_more_than_a_thousand_keys_returns_every_key_once() {
    let client = admin();
    let bucket = bucket(&client, "pages").await;
    let keys: Vec<String> = (0..1105).map(|i| format!("k/{i:05}")).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in keys.chunks(70) {
        let (client, bucket, chunk) = (client.clone(), bucket.clone(), chunk.to_vec());
        tasks.spawn(async move {
            for key in chunk {
                client
                    .put_object(&bucket, &key, RequestBody::empty(), &PutOptions::default())
                    .await
                    .expect("put");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("upload task");
    }
    let (listed, pages) = all_keys(&client, &bucket, ListObjects::default()).await;
    assert!(
        pages >= 2,
        "more than 1000 keys need more than one page, got {pages}"
    );
    assert_eq!(listed, keys);
}

#[tokio::test]
async fn a_get_with_a_stale_etag_is_refused_as_a_precondition_failure() {
    let client = admin();
    let bucket = bucket(&client, "ifmatch").await;
    client
        .put_object(&bucket, "k", body(b"one"), &PutOptions::default())
        .await
        .unwrap();
    let err = client
        .get_object(
            &bucket,
            "k",
            None,
            Some("\"00000000000000000000000000000000\""),
        )
        .await
        .unwrap_err();
    assert!(
        err.service().is_some_and(|e| e.is_precondition_failed()),
        "{err}"
    );
}

#[tokio::test]
async fn a_multipart_upload_round_trips() {
    let client = admin();
    let bucket = bucket(&client, "mpu").await;
    let part = vec![7u8; 5 * 1024 * 1024];
    let id = client
        .create_multipart_upload(&bucket, "big", &PutOptions::default())
        .await
        .unwrap();
    let e1 = client
        .upload_part(&bucket, "big", &id, 1, body(&part), &[])
        .await
        .unwrap();
    let e2 = client
        .upload_part(&bucket, "big", &id, 2, body(b"tail"), &[])
        .await
        .unwrap();
    let parts = [
        ferry::s3::xml::CompletedPart::new(1, e1),
        ferry::s3::xml::CompletedPart::new(2, e2),
    ];
    client
        .complete_multipart_upload(&bucket, "big", &id, &parts, &[])
        .await
        .unwrap();
    let data = client.get_object_bytes(&bucket, "big").await.unwrap();
    assert_eq!(data.len(), part.len() + 4);
    assert_eq!(&data[part.len()..], b"tail");
    let open = client
        .list_multipart_uploads(&bucket, None, None)
        .await
        .unwrap();
    assert!(open.uploads.is_empty(), "{:?}", open.uploads);
}

#[tokio::test]
async fn https_verifies_with_the_ca_bundle_and_is_refused_with_the_wrong_ca() {
    let good = client(
        "FERRY_INTEROP_TLS_ENDPOINT",
        "FERRY_INTEROP_ADMIN_KEY",
        "FERRY_INTEROP_ADMIN_SECRET",
        Some(var("FERRY_INTEROP_CA")),
    );
    good.list_buckets().await.expect("TLS with the right CA");
    let bad = client(
        "FERRY_INTEROP_TLS_ENDPOINT",
        "FERRY_INTEROP_ADMIN_KEY",
        "FERRY_INTEROP_ADMIN_SECRET",
        Some(var("FERRY_INTEROP_WRONG_CA")),
    );
    let err = bad.list_buckets().await.unwrap_err();
    let text = err.to_string().to_lowercase();
    assert!(
        text.contains("certificate") || text.contains("unknownissuer") || text.contains("tls"),
        "{err}"
    );
    assert_eq!(err.advice(), Some(Advice::CheckCaBundle));
}

#[tokio::test]
async fn the_transfer_engine_round_trips_with_checksums_against_seaweedfs() {
    use ferry::transfer::{Progress, TransferConfig, Transfers, limits::MIB};
    let client = admin();
    let bucket = bucket(&client, "xfer").await;
    let dir = tempfile::tempdir().unwrap();
    let engine = Transfers::new(
        client.clone(),
        TransferConfig {
            concurrency: 4,
            part_size: 5 * MIB,
            multipart_threshold: 5 * MIB,
            ..TransferConfig::default()
        },
        Progress::silent(),
    );
    for (name, size) in [("small.bin", 1000u64), ("multi.bin", 11 * MIB + 3)] {
        let data: Vec<u8> = (0..size).map(|i| (i % 241) as u8).collect();
        let source = dir.path().join(name);
        std::fs::write(&source, &data).unwrap();
        engine
            .upload_file(&source, &bucket, name)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let target = dir.path().join(format!("{name}.back"));
        engine
            .download_file(&bucket, name, &target)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(std::fs::read(&target).unwrap() == data, "{name} differs");
    }
    let open = client
        .list_multipart_uploads(&bucket, None, None)
        .await
        .unwrap();
    assert!(open.uploads.is_empty(), "{:?}", open.uploads);
}

fn engine(client: &S3Client, state: &std::path::Path) -> ferry::transfer::Transfers {
    use ferry::transfer::{Progress, TransferConfig, Transfers, limits::MIB};
    let config = TransferConfig {
        concurrency: 4,
        part_size: 5 * MIB,
        multipart_threshold: 5 * MIB,
        state_dir: Some(state.to_owned()),
        ..TransferConfig::default()
    };
    Transfers::new(client.clone(), config, Progress::silent())
}

#[tokio::test]
async fn files_of_every_boundary_size_round_trip_through_seaweedfs() {
    const PART: u64 = 5 * 1024 * 1024;
    let client = admin();
    let bucket = bucket(&client, "sizes").await;
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&client, dir.path());
    for size in [0, 1, PART - 1, PART, PART + 1, 2 * PART + 4321] {
        let data: Vec<u8> = (0..size).map(|i| (i * 13 % 251) as u8).collect();
        let source = dir.path().join(format!("{size}.bin"));
        std::fs::write(&source, &data).unwrap();
        let key = format!("sizes/{size}.bin");
        engine
            .upload_file(&source, &bucket, &key)
            .await
            .unwrap_or_else(|e| panic!("{size}: {e}"));
        let target = dir.path().join(format!("{size}.back"));
        engine
            .download_file(&bucket, &key, &target)
            .await
            .unwrap_or_else(|e| panic!("{size}: {e}"));
        assert!(std::fs::read(&target).unwrap() == data, "{size} differs");
    }
    assert!(
        client
            .list_multipart_uploads(&bucket, None, None)
            .await
            .unwrap()
            .uploads
            .is_empty()
    );
}

#[tokio::test]
async fn a_directory_with_awkward_names_round_trips_and_syncs_twice_moving_nothing() {
    use ferry::transfer::SyncOptions;
    let client = admin();
    let bucket = bucket(&client, "dirs").await;
    let state = tempfile::tempdir().unwrap();
    let engine = engine(&client, state.path());
    let source = tempfile::tempdir().unwrap();
    let names = [
        "top.txt",
        "a/b/c.json",
        "with space/naïve 日本.bin",
        "x/plus+eq=amp&~.dat",
    ];
    for (i, name) in names.iter().enumerate() {
        let path = source.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, name.repeat(i + 1)).unwrap();
    }
    let up = engine.upload_dir(source.path(), &bucket, "tree").await;
    assert_eq!(
        (up.objects, up.failed),
        (names.len() as u64, 0),
        "{:?}",
        up.failures
    );
    let target = tempfile::tempdir().unwrap();
    let down = engine
        .download_prefix(&bucket, "tree/", target.path())
        .await;
    assert_eq!(
        (down.objects, down.failed),
        (names.len() as u64, 0),
        "{:?}",
        down.failures
    );
    for name in names {
        assert_eq!(
            std::fs::read(source.path().join(name)).unwrap(),
            std::fs::read(target.path().join(name)).unwrap(),
            "{name}"
        );
    }
    let options = SyncOptions::default();
    let first = engine
        .sync_up(source.path(), &bucket, "synced", &options)
        .await;
    assert_eq!(first.transfers.objects, names.len() as u64);
    let second = engine
        .sync_up(source.path(), &bucket, "synced", &options)
        .await;
    assert_eq!(
        (second.transfers.objects, second.transfers.skipped),
        (0, names.len() as u64)
    );
}

#[tokio::test]
async fn a_multipart_object_of_odd_parts_without_checksums_is_checked_with_the_part_size_the_store_tells()
 {
    use ferry::transfer::{Event, Progress, TransferConfig, Transfers, limits::MIB};
    let client = admin();
    let bucket = bucket(&client, "odd").await;
    // Parts of 5 MiB + 7 bytes: no size ferry would guess, so only HeadObject partNumber=1
    // can give the layout.
    let odd = 5 * MIB as usize + 7;
    let data: Vec<u8> = (0..2 * odd + 3).map(|i| (i % 239) as u8).collect();
    let id = client
        .create_multipart_upload(&bucket, "odd.bin", &ferry::s3::PutOptions::default())
        .await
        .unwrap();
    let mut parts = Vec::new();
    for (i, chunk) in data.chunks(odd).enumerate() {
        let n = i as u32 + 1;
        let body = ferry::http::RequestBody::bytes(bytes::Bytes::copy_from_slice(chunk));
        let etag = client
            .upload_part(&bucket, "odd.bin", &id, n, body, &[])
            .await
            .unwrap();
        parts.push(ferry::s3::xml::CompletedPart::new(n, etag));
    }
    client
        .complete_multipart_upload(&bucket, "odd.bin", &id, &parts, &[])
        .await
        .unwrap();
    let (part_size, count) = client
        .head_object_part(&bucket, "odd.bin", 1)
        .await
        .unwrap();
    assert_eq!(
        (part_size, count),
        (odd as u64, Some(3)),
        "SeaweedFS answers partNumber"
    );

    let unverified = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = unverified.clone();
    let progress = Progress::new(move |event| {
        if let Event::Unverified { .. } = event {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let engine = Transfers::new(
        client.clone(),
        TransferConfig {
            part_size: 8 * MIB,
            ..TransferConfig::default()
        },
        progress,
    );
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("odd.bin");
    engine
        .download_file(&bucket, "odd.bin", &target)
        .await
        .unwrap();
    assert!(std::fs::read(&target).unwrap() == data, "bytes differ");
    assert_eq!(
        unverified.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "checked against the multipart ETag"
    );
    // Written in order (stdout, a pipe, a writer): the parts' MD5s are computed as the bytes
    // go by, under the same part size, and match the ETag.
    let mut written = Vec::new();
    engine
        .download_to_writer(&bucket, "odd.bin", &mut written)
        .await
        .unwrap();
    assert!(written == data, "bytes differ in order");
    assert_eq!(
        unverified.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "the stream is checked against the multipart ETag too"
    );
}
