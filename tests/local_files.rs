//! Local files as they are in the field, against the embedded endpoint: symbolic links
//! (followed, broken, looping), FIFOs and sockets, files that change while they are read,
//! downloads into devices and FIFOs, and progress that moves as bytes are sent.

use ferry::s3::S3Client;
use ferry::transfer::{
    Event, Failure, FailureKind, Progress, TransferConfig, Transfers, limits::MIB,
};
use ferry_tests::embedded::{Embedded, client_for, fast_retries};
use ferry_tests::fault_proxy::{Fault, FaultProxy};
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, symlink};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BUCKET: &str = "local";
const PART: u64 = 5 * MIB;
/// No test here may take longer than this: a hang is a failure, not a stuck run.
const BOUND: Duration = Duration::from_secs(60);

fn config() -> TransferConfig {
    TransferConfig {
        concurrency: 4,
        part_size: PART,
        multipart_threshold: PART,
        state_dir: Some(std::env::temp_dir().join("ferry-tests-state")),
        hedge: None,
        ..TransferConfig::default()
    }
}

type Events = Arc<Mutex<Vec<Event>>>;

fn recording(client: S3Client, config: TransferConfig) -> (Transfers, Events) {
    let events: Events = Arc::default();
    let sink = events.clone();
    let progress = Progress::new(move |e| sink.lock().unwrap().push(e));
    (Transfers::new(client, config, progress), events)
}

async fn ready() -> (Embedded, S3Client) {
    let server = Embedded::start("127.0.0.1:0").await;
    let client = server.client();
    client.create_bucket(BUCKET, None).await.expect("bucket");
    (server, client)
}

fn pattern(len: u64, seed: u64) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + seed * 7) % 253) as u8)
        .collect()
}

fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", path.display());
}

fn skipped(events: &Events) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::Skipped { name, reason } => Some((name.clone(), reason.clone())),
            _ => None,
        })
        .collect();
    all.sort();
    all
}

fn failed(events: &Events) -> Vec<Failure> {
    events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::Failed(failure) => Some(failure.clone()),
            _ => None,
        })
        .collect()
}

async fn assert_no_open_uploads(client: &S3Client) {
    let open = client
        .list_multipart_uploads(BUCKET, None, None)
        .await
        .unwrap();
    assert!(open.uploads.is_empty(), "left open: {:?}", open.uploads);
}

async fn object(client: &S3Client, key: &str) -> Vec<u8> {
    client.get_object_bytes(BUCKET, key).await.unwrap().to_vec()
}

#[tokio::test]
async fn links_are_followed_and_broken_links_and_loops_are_named_once() {
    let (_server, client) = ready().await;
    let (engine, events) = recording(client.clone(), config());
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tree");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(root.join("sub/real.txt"), b"real").unwrap();
    std::fs::write(outside.join("far.txt"), b"far away").unwrap();
    symlink(root.join("sub/real.txt"), root.join("file-link")).unwrap();
    symlink(&outside, root.join("dir-link")).unwrap();
    symlink("..", root.join("sub/loop")).unwrap();
    symlink("missing-target", root.join("broken")).unwrap();

    let summary = tokio::time::timeout(BOUND, engine.upload_dir(&root, BUCKET, "t"))
        .await
        .expect("the walk ends");
    assert_eq!((summary.objects, summary.failed), (3, 0), "{summary:?}");
    assert_eq!(object(&client, "t/sub/real.txt").await, b"real");
    assert_eq!(object(&client, "t/file-link").await, b"real");
    assert_eq!(object(&client, "t/dir-link/far.txt").await, b"far away");
    let broken = root.join("broken").display().to_string();
    let looped = root.join("sub/loop").display().to_string();
    let warned = skipped(&events);
    assert_eq!(warned.len(), 2, "{warned:?}");
    assert_eq!(warned[0], (broken, "broken symbolic link".into()));
    assert_eq!(warned[1].0, looped);
    assert!(warned[1].1.starts_with("symbolic link loop"), "{warned:?}");
    assert_eq!(summary.skipped, 2);
    let mut warnings = summary.warnings.clone();
    warnings.sort();
    assert_eq!(warnings, warned, "each warning is in the summary once");
}

#[tokio::test]
async fn without_following_links_each_link_is_skipped_by_name() {
    let (_server, client) = ready().await;
    let config = TransferConfig {
        follow_symlinks: false,
        ..config()
    };
    let (engine, events) = recording(client.clone(), config);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"a").unwrap();
    symlink("a.txt", dir.path().join("b.txt")).unwrap();
    let summary = engine.upload_dir(dir.path(), BUCKET, "n").await;
    assert_eq!((summary.objects, summary.skipped), (1, 1));
    let name = dir.path().join("b.txt").display().to_string();
    assert_eq!(
        skipped(&events),
        [(name, "symbolic link (not followed)".into())]
    );
    assert!(client.head_object(BUCKET, "n/b.txt").await.is_err());
}

#[tokio::test]
async fn fifos_and_sockets_in_a_tree_are_skipped_and_never_opened() {
    let (_server, client) = ready().await;
    let (engine, events) = recording(client.clone(), config());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plain.txt"), b"plain").unwrap();
    mkfifo(&dir.path().join("pipe"));
    let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("sock")).unwrap();
    let summary = tokio::time::timeout(BOUND, engine.upload_dir(dir.path(), BUCKET, "s"))
        .await
        .expect("a FIFO in the tree does not block the walk");
    assert_eq!(
        (summary.objects, summary.skipped, summary.failed),
        (1, 2, 0)
    );
    let name = |n: &str| dir.path().join(n).display().to_string();
    assert_eq!(
        skipped(&events),
        [
            (name("pipe"), "not a regular file (FIFO)".into()),
            (name("sock"), "not a regular file (socket)".into()),
        ]
    );
}

#[tokio::test]
async fn a_missing_directory_fails_naming_it_with_the_reason() {
    let (_server, client) = ready().await;
    let (engine, events) = recording(client, config());
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let summary = engine.upload_dir(&missing, BUCKET, "p").await;
    assert_eq!(summary.failed, 1);
    let failure = &summary.failures[0];
    assert_eq!(failure.object, missing.display().to_string());
    assert_eq!(failure.kind(), FailureKind::NotFound, "{failure}");
    assert!(
        failure.to_string().contains("No such file or directory"),
        "{failure}"
    );
    assert_eq!(failed(&events), summary.failures, "one event, one record");
}

#[tokio::test]
async fn a_fifo_named_as_the_source_is_streamed_in_parts() {
    let (_server, client) = ready().await;
    let (engine, _events) = recording(client.clone(), config());
    let dir = tempfile::tempdir().unwrap();
    for (key, size) in [("fifo/small", 1000), ("fifo/large", 2 * PART + 12_345)] {
        let fifo = dir.path().join(format!("pipe-{size}"));
        mkfifo(&fifo);
        let data = pattern(size, size);
        let (writer_path, to_write) = (fifo.clone(), data.clone());
        let writer = std::thread::spawn(move || {
            let mut pipe = std::fs::OpenOptions::new()
                .write(true)
                .open(writer_path)
                .unwrap();
            pipe.write_all(&to_write).unwrap();
        });
        let sent = tokio::time::timeout(BOUND, engine.upload_file(&fifo, BUCKET, key))
            .await
            .expect("the stream ends")
            .unwrap();
        writer.join().unwrap();
        assert_eq!(sent, size);
        assert!(object(&client, key).await == data, "{key}: bytes differ");
    }
    assert_no_open_uploads(&client).await;
}

/// Uploads a multipart file that `change` alters as soon as its first bytes are sent.
async fn upload_changing(change: fn(&Path)) {
    let (_server, client) = ready().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("moving.bin");
    std::fs::write(&path, pattern(4 * PART, 3)).unwrap();
    let config = TransferConfig {
        concurrency: 1,
        max_concurrency: 1,
        memory_budget: PART,
        ..config()
    };
    let events: Events = Arc::default();
    let (sink, target) = (events.clone(), path.clone());
    let changed = std::sync::atomic::AtomicBool::new(false);
    let progress = Progress::new(move |e| {
        if matches!(e, Event::Bytes { .. })
            && !changed.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            change(&target);
        }
        sink.lock().unwrap().push(e);
    });
    let engine = Transfers::new(client.clone(), config, progress);
    let result = tokio::time::timeout(BOUND, engine.upload_file(&path, BUCKET, "moving"))
        .await
        .expect("the upload ends");
    let error = result
        .expect_err("a changed file is not uploaded")
        .to_string();
    assert!(
        error.contains(&path.display().to_string()) && error.contains("changed while being read"),
        "{error}"
    );
    assert_eq!(failed(&events).len(), 1);
    // The change is the file's, not the store's: no part is sent again.
    assert_eq!(client.retries(), 0, "a file that changed is not retried");
    assert!(client.head_object(BUCKET, "moving").await.is_err());
    assert_no_open_uploads(&client).await;
}

#[tokio::test]
async fn a_file_truncated_during_upload_fails_by_name_and_its_upload_is_aborted() {
    upload_changing(|path| {
        let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        file.set_len(PART + 10).unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_file_growing_during_upload_fails_by_name_and_its_upload_is_aborted() {
    upload_changing(|path| {
        let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
        file.write_all(b"more").unwrap();
    })
    .await;
}

#[tokio::test]
async fn upload_progress_moves_per_frame_and_a_resent_part_counts_once() {
    let (server, _client) = ready().await;
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    proxy.set_filter(|p| {
        p.method == http::Method::PUT && p.uri.query().is_some_and(|q| q.contains("partNumber=2"))
    });
    // Part 2 is sent whole, then the connection is reset: it is sent again.
    proxy.push([Fault::ResetBeforeResponse]);
    let client = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    let (engine, events) = recording(client.clone(), config());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("counted.bin");
    let size = 3 * PART + 777;
    std::fs::write(&path, pattern(size, 9)).unwrap();
    engine.upload_file(&path, BUCKET, "counted").await.unwrap();
    assert_eq!(proxy.pending(), 0, "the fault was met");
    let bytes: Vec<u64> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::Bytes { bytes, .. } => Some(*bytes),
            _ => None,
        })
        .collect();
    assert_eq!(bytes.iter().sum::<u64>(), size, "every byte once");
    assert!(
        bytes.iter().all(|&n| n <= MIB),
        "frames, not parts: {bytes:?}"
    );
    assert!(bytes.len() >= (size / MIB) as usize, "{}", bytes.len());
}

/// An engine whose requests go through a fault proxy in front of a fresh server; the
/// requests `filter` picks take `faults` in turn. The server must outlive the engine.
async fn engine_behind_proxy(
    filter: impl Fn(&http::request::Parts) -> bool + Send + Sync + 'static,
    faults: Vec<Fault>,
) -> (Embedded, FaultProxy, Transfers) {
    let (server, _client) = ready().await;
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    proxy.set_filter(filter);
    proxy.push(faults);
    let client = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    let (engine, _events) = recording(client, config());
    (server, proxy, engine)
}

#[tokio::test]
async fn a_store_that_refuses_aws_chunked_parts_gets_them_again_with_checksum_headers() {
    // A store that predates aws-chunked (400), and SeaweedFS without identities, which
    // cannot authenticate a framed body (403 InvalidAccessKeyId) but takes a plain one.
    for (status, code) in [(400, "InvalidArgument"), (403, "InvalidAccessKeyId")] {
        let refusals = 20;
        let refusal = Fault::Status {
            status,
            code,
            message: "not taken here",
        };
        let framed = |p: &http::request::Parts| {
            p.method == http::Method::PUT
                && p.headers
                    .get("content-encoding")
                    .is_some_and(|v| v.as_bytes() == b"aws-chunked")
        };
        let (_server, proxy, engine) = engine_behind_proxy(framed, vec![refusal; refusals]).await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain.bin");
        let data = pattern(6 * PART + 5, 4);
        std::fs::write(&path, &data).unwrap();
        tokio::time::timeout(BOUND, engine.upload_file(&path, BUCKET, "plain"))
            .await
            .expect("bounded")
            .unwrap_or_else(|e| panic!("{code}: the parts go again with a header: {e}"));
        let refused = refusals - proxy.pending();
        assert!(
            (1..=config().concurrency).contains(&refused),
            "{code}: only the parts already in flight were refused, then none was framed: {refused}"
        );
        let back = dir.path().join("back.bin");
        engine.download_file(BUCKET, "plain", &back).await.unwrap();
        assert!(
            std::fs::read(&back).unwrap() == data,
            "{code}: the same bytes"
        );
    }
}

#[tokio::test]
async fn a_part_refused_both_framed_and_with_a_header_fails_with_the_stores_answer() {
    let refusal = Fault::Status {
        status: 400,
        code: "InvalidRequest",
        message: "no uploads for you",
    };
    let parts = |p: &http::request::Parts| {
        p.method == http::Method::PUT && p.uri.query().is_some_and(|q| q.contains("partNumber"))
    };
    let (_server, proxy, engine) = engine_behind_proxy(parts, vec![refusal; 40]).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("denied.bin");
    std::fs::write(&path, pattern(2 * PART, 6)).unwrap();
    let error = tokio::time::timeout(BOUND, engine.upload_file(&path, BUCKET, "denied"))
        .await
        .expect("bounded")
        .expect_err("denied both ways");
    assert!(error.to_string().contains("InvalidRequest"), "{error}");
    assert!(
        40 - proxy.pending() <= 2 * config().concurrency,
        "each part tried at most once framed and once with a header"
    );
}

#[tokio::test]
async fn downloads_write_through_into_dev_null_and_a_fifo() {
    let (_server, client) = ready().await;
    let (engine, _events) = recording(client.clone(), config());
    let data = pattern(2 * PART + 99, 5);
    let source = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(source.path(), &data).unwrap();
    engine
        .upload_file(source.path(), BUCKET, "big")
        .await
        .unwrap();

    let null = Path::new("/dev/null");
    let got = engine.download_file(BUCKET, "big", null).await.unwrap();
    assert_eq!(got, data.len() as u64);
    let after = std::fs::symlink_metadata(null).unwrap();
    assert!(
        after.file_type().is_char_device(),
        "/dev/null is a device still"
    );
    assert!(!Path::new("/dev/.null.ferry-part").exists());

    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out-pipe");
    mkfifo(&fifo);
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || {
        let mut back = Vec::new();
        std::fs::File::open(reader_path)
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        back
    });
    let listed = engine.download_listed(BUCKET, "big", &fifo, data.len() as u64);
    let got = tokio::time::timeout(BOUND, listed)
        .await
        .expect("the download ends")
        .unwrap();
    assert_eq!(got, data.len() as u64);
    let back = reader.join().unwrap();
    assert!(back == data, "the reader got the object");
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(names.len(), 1, "no temporary file beside the FIFO");
}

#[tokio::test]
async fn a_single_object_download_takes_the_objects_last_modified() {
    let (_server, client) = ready().await;
    let (engine, _events) = recording(client.clone(), config());
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("in.bin");
    for (key, size) in [("small", 10), ("large", PART + 1)] {
        std::fs::write(&source, pattern(size, 1)).unwrap();
        engine.upload_file(&source, BUCKET, key).await.unwrap();
        let info = client.head_object(BUCKET, key).await.unwrap();
        let stamp = httpdate::parse_http_date(info.last_modified.as_deref().unwrap()).unwrap();
        // A file written now is newer than the object; the download must move it back.
        let target = dir.path().join(format!("{key}-file"));
        engine.download_file(BUCKET, key, &target).await.unwrap();
        let mtime = std::fs::metadata(&target).unwrap().modified().unwrap();
        assert_eq!(mtime, stamp, "{key}: download_file");
        let listed = dir.path().join(format!("{key}-listed"));
        engine
            .download_listed(BUCKET, key, &listed, size)
            .await
            .unwrap();
        let mtime = std::fs::metadata(&listed).unwrap().modified().unwrap();
        assert_eq!(mtime, stamp, "{key}: download_listed");
    }
}

#[tokio::test]
async fn sync_delete_keeps_the_object_of_a_skipped_link_and_deletes_nothing_for_a_missing_root() {
    let (_server, client) = ready().await;
    let (engine, events) = recording(client.clone(), config());
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("src");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("kept.txt"), b"kept").unwrap();
    symlink("kept.txt", root.join("linked.txt")).unwrap();
    let options = ferry::transfer::SyncOptions {
        delete: true,
        ..ferry::transfer::SyncOptions::default()
    };
    let first = engine.sync_up(&root, BUCKET, "s", &options).await;
    assert_eq!(first.transfers.objects, 2, "the link is followed");
    assert_eq!(object(&client, "s/linked.txt").await, b"kept");

    // The link now leads nowhere: it is skipped by name, and --delete keeps its object.
    std::fs::remove_file(root.join("linked.txt")).unwrap();
    symlink("gone.txt", root.join("linked.txt")).unwrap();
    let second = engine.sync_up(&root, BUCKET, "s", &options).await;
    assert_eq!((second.deleted, second.transfers.skipped), (0, 2));
    let name = root.join("linked.txt").display().to_string();
    assert_eq!(skipped(&events), [(name, "broken symbolic link".into())]);
    assert_eq!(object(&client, "s/linked.txt").await, b"kept");

    // A missing source is a failure naming it, never "delete everything".
    let missing = dir.path().join("missing");
    let third = engine.sync_up(&missing, BUCKET, "s", &options).await;
    assert_eq!((third.deleted, third.transfers.failed), (0, 1));
    let failure = &third.transfers.failures[0];
    assert_eq!(failure.object, missing.display().to_string());
    assert_eq!(failure.kind(), FailureKind::NotFound, "{failure}");
    assert_eq!(object(&client, "s/kept.txt").await, b"kept");
}

#[tokio::test]
async fn directory_downloads_leave_a_fifo_in_the_target_alone_with_a_warning() {
    let (_server, client) = ready().await;
    let (engine, events) = recording(client.clone(), config());
    client
        .put_object(
            BUCKET,
            "d/pipe",
            ferry::http::RequestBody::bytes(bytes::Bytes::from_static(b"x")),
            &ferry::s3::PutOptions::default(),
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
    let summary = tokio::time::timeout(BOUND, engine.download_prefix(BUCKET, "d/", dir.path()))
        .await
        .expect("a FIFO with no reader does not block the download");
    assert_eq!((summary.objects, summary.skipped), (0, 1));
    let synced = tokio::time::timeout(
        BOUND,
        engine.sync_down(
            BUCKET,
            "d/",
            dir.path(),
            &ferry::transfer::SyncOptions::default(),
        ),
    )
    .await
    .expect("nor the sync");
    assert_eq!((synced.transfers.objects, synced.transfers.skipped), (0, 1));
    let warned = skipped(&events);
    assert_eq!(warned.len(), 2);
    for (name, reason) in warned {
        assert_eq!(name, format!("s3://{BUCKET}/d/pipe"));
        assert_eq!(
            reason,
            "the target is not a regular file (FIFO); not written"
        );
    }
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
}

#[tokio::test]
async fn a_fifo_in_an_existing_directory_reached_through_a_new_one_and_dotdot_is_still_skipped() {
    let (_server, client) = ready().await;
    for (key, body) in [("d/f.bin", b"one"), ("d/g.bin", b"two")] {
        let body = ferry::http::RequestBody::bytes(bytes::Bytes::from_static(body));
        let options = ferry::s3::PutOptions::default();
        client
            .put_object(BUCKET, key, body, &options)
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("existing");
    std::fs::create_dir_all(&existing).unwrap();
    mkfifo(&existing.join("f.bin"));
    // `new` is not there yet, but the target is the existing directory: its FIFO is looked for.
    let through = dir.path().join("new").join("..").join("existing");
    let (engine, events) = recording(client, config());
    let summary = tokio::time::timeout(BOUND, engine.download_prefix(BUCKET, "d/", &through))
        .await
        .expect("the FIFO is not opened");
    assert_eq!((summary.objects, summary.skipped), (1, 1), "{summary:?}");
    assert_eq!(skipped(&events).len(), 1);
    let kind = std::fs::symlink_metadata(existing.join("f.bin"))
        .unwrap()
        .file_type();
    assert!(kind.is_fifo(), "still a FIFO");
    assert_eq!(std::fs::read(existing.join("g.bin")).unwrap(), b"two");
}
