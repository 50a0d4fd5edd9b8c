//! Cancellation through the engine's token: work stops, and what it leaves behind is said
//! (uploads aborted or kept open, partial downloads kept under their temporary names).

use ferry::s3::S3Client;
use ferry::transfer::{Cancel, Cancelled, Event, Progress, TransferConfig, Transfers, limits::MIB};
use ferry_tests::embedded::Embedded;
#[cfg(target_os = "linux")]
use ferry_tests::embedded::{client_for, fast_retries};
#[cfg(target_os = "linux")]
use ferry_tests::fault_proxy::{Fault, FaultProxy};
#[cfg(target_os = "linux")]
use std::path::{Path, PathBuf};
use std::time::Duration;

const BUCKET: &str = "cancels";
const PART: u64 = 5 * MIB;
/// Every wait here is bounded.
const BOUND: Duration = Duration::from_secs(120);

fn config() -> TransferConfig {
    TransferConfig {
        concurrency: 1,
        max_concurrency: 1,
        part_size: PART,
        multipart_threshold: PART,
        hedge: None,
        state_dir: Some(std::env::temp_dir().join("ferry-tests-state")),
        ..TransferConfig::default()
    }
}

async fn ready() -> (Embedded, S3Client) {
    let server = Embedded::start("127.0.0.1:0").await;
    let client = server.client();
    client.create_bucket(BUCKET, None).await.expect("bucket");
    (server, client)
}

/// An engine whose token trips at the first event `trips` accepts.
fn tripping(
    client: S3Client,
    config: TransferConfig,
    trips: impl Fn(&Event) -> bool + Send + Sync + 'static,
) -> Transfers {
    let cancel = Cancel::new();
    let trigger = cancel.clone();
    let progress = Progress::new(move |event| {
        if trips(&event) {
            trigger.cancel();
        }
    });
    Transfers::new(client, config, progress).with_cancel(cancel)
}

/// What `run` (work under `until_cancelled` whose token trips mid-way, `when`) left behind.
async fn left_by<T: std::fmt::Debug>(
    run: impl std::future::Future<Output = Result<T, Cancelled>>,
    when: &str,
) -> Cancelled {
    match tokio::time::timeout(BOUND, run).await {
        Ok(Err(left)) => left,
        Ok(Ok(value)) => panic!("not cancelled {when}: ended with {value:?}"),
        Err(_) => panic!("the cancel {when} did not end the run"),
    }
}

fn file_of(dir: &std::path::Path, size: u64) -> std::path::PathBuf {
    let path = dir.join("big.bin");
    let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, data).unwrap();
    path
}

async fn open_uploads(client: &S3Client) -> usize {
    let listed = client.list_multipart_uploads(BUCKET, None, None).await;
    listed.expect("listed").uploads.len()
}

#[tokio::test]
async fn a_cancelled_upload_stops_and_its_multipart_upload_is_aborted_and_named() {
    let (_server, client) = ready().await;
    let dir = tempfile::tempdir().unwrap();
    let path = file_of(dir.path(), 4 * PART);
    let state = tempfile::tempdir().unwrap();
    let config = TransferConfig {
        state_dir: Some(state.path().to_owned()),
        ..config()
    };
    let engine = tripping(client.clone(), config, |e| {
        matches!(e, Event::PartDone { .. })
    });
    let run = engine.until_cancelled(engine.upload_file(&path, BUCKET, "big.bin"));
    let left = left_by(run, "before the last part").await;
    assert_eq!(left.aborted_uploads.len(), 1, "{left:?}");
    assert_eq!(left.aborted_uploads[0].key, "big.bin");
    assert!(left.open_uploads.is_empty(), "{left:?}");
    assert_eq!(
        open_uploads(&client).await,
        0,
        "nothing is left to be billed"
    );
    assert!(client.head_object(BUCKET, "big.bin").await.is_err());
    assert_eq!(
        journals(state.path()),
        0,
        "the aborted upload's journal goes with it: a rerun starts afresh"
    );
}

/// Upload journals in a state directory.
fn journals(state: &std::path::Path) -> usize {
    std::fs::read_dir(state).map_or(0, |entries| {
        entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("upload-"))
            .count()
    })
}

#[tokio::test]
async fn a_cancelled_upload_can_be_kept_open_for_a_rerun_and_is_named() {
    let (_server, client) = ready().await;
    let dir = tempfile::tempdir().unwrap();
    let path = file_of(dir.path(), 4 * PART);
    let state = tempfile::tempdir().unwrap();
    let config = TransferConfig {
        keep_uploads_on_cancel: true,
        state_dir: Some(state.path().to_owned()),
        ..config()
    };
    let engine = tripping(client.clone(), config, |e| {
        matches!(e, Event::PartDone { .. })
    });
    let run = engine.until_cancelled(engine.upload_file(&path, BUCKET, "kept.bin"));
    let left = left_by(run, "before the last part").await;
    assert!(left.aborted_uploads.is_empty(), "{left:?}");
    assert_eq!(left.open_uploads.len(), 1, "{left:?}");
    let (upload, why) = &left.open_uploads[0];
    assert!(why.contains("resume"), "{why}");
    assert_eq!(open_uploads(&client).await, 1, "kept on the store");
    assert_eq!(journals(state.path()), 1, "and its journal, to resume it");
    client
        .abort_multipart_upload(BUCKET, &upload.key, &upload.upload_id)
        .await
        .expect("the named upload is the open one");
}

#[tokio::test]
async fn a_cancelled_download_keeps_its_partial_file_under_the_temporary_name_only() {
    let (_server, client) = ready().await;
    let dir = tempfile::tempdir().unwrap();
    let path = file_of(dir.path(), 4 * PART);
    Transfers::new(client.clone(), config(), Progress::silent())
        .upload_file(&path, BUCKET, "down.bin")
        .await
        .expect("uploaded");
    let engine = tripping(client.clone(), config(), |e| {
        matches!(e, Event::Bytes { .. })
    });
    let target = dir.path().join("down.bin.copy");
    let run = engine.until_cancelled(engine.download_file(BUCKET, "down.bin", &target));
    let left = left_by(run, "at the first bytes").await;
    assert!(!target.exists(), "never under the final name");
    assert_eq!(left.partial_downloads.len(), 1, "{left:?}");
    let partial = &left.partial_downloads[0];
    assert!(partial.exists());
    assert!(
        partial.to_string_lossy().ends_with(".ferry-part"),
        "{partial:?}"
    );
}

#[tokio::test]
async fn work_that_ends_before_a_cancel_returns_its_result() {
    let (_server, client) = ready().await;
    let dir = tempfile::tempdir().unwrap();
    let path = file_of(dir.path(), 1024);
    let engine = Transfers::new(client.clone(), config(), Progress::silent());
    let done = engine
        .until_cancelled(engine.upload_file(&path, BUCKET, "small.bin"))
        .await;
    assert_eq!(done.expect("not cancelled").expect("uploaded"), 1024);
    engine.cancel_token().cancel();
    let after = engine.until_cancelled(async { 1 }).await;
    assert!(
        after.is_err(),
        "a tripped token stops what comes after it too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_directory_download_reports_exactly_the_files_it_left() {
    let (_server, client) = ready().await;
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("many");
    std::fs::create_dir_all(&source).unwrap();
    for i in 0..300 {
        std::fs::write(source.join(format!("f{i:03}")), vec![i as u8; 4096]).unwrap();
    }
    let many = TransferConfig {
        concurrency: 16,
        ..config()
    };
    let up = Transfers::new(client.clone(), many.clone(), Progress::silent())
        .upload_dir(&source, BUCKET, "many/")
        .await;
    assert_eq!((up.objects, up.failed), (300, 0), "{up:?}");
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = finished.clone();
    // Cancelled in the middle, with downloads on both runtime threads about to rename.
    let engine = tripping(client.clone(), many, move |e| {
        matches!(e, Event::Finished { .. })
            && counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == 100
    });
    let target = dir.path().join("down");
    let run = engine.until_cancelled(engine.download_prefix(BUCKET, "many/", &target));
    let left = left_by(run, "at the 100th file").await;
    // Whatever was still running when the report was made has had time to act on disk.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for partial in &left.partial_downloads {
        assert!(partial.exists(), "reported as left, and there: {partial:?}");
    }
    for removed in &left.removed_downloads {
        assert!(
            !removed.exists(),
            "reported as removed, and gone: {removed:?}"
        );
    }
    assert!(
        left.partial_downloads.is_empty(),
        "4 KiB objects have no journal to resume from, so nothing partial stays: {left:?}"
    );
    let placed = std::fs::read_dir(&target)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .count();
    let hidden = std::fs::read_dir(&target)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".ferry-part"))
        .count();
    assert_eq!(
        hidden,
        left.partial_downloads.len(),
        "every temporary file on disk is reported, and only those: {left:?}"
    );
    assert!((100..300).contains(&placed), "stopped mid-way: {placed}");
}

#[cfg(target_os = "linux")]
/// Whether the file system of `dir` makes unnamed files (`O_TMPFILE`: ext4, XFS, btrfs,
/// tmpfs), which downloads of one GET write until they are whole.
fn makes_unnamed_files(dir: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(dir)
        .is_ok()
}

#[cfg(target_os = "linux")]
/// The files this process holds open in `dir`, as `/proc/self/fd` names them (an unnamed
/// file as `DIR/#INODE (deleted)`).
fn open_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    fds.filter_map(Result::ok)
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter(|path| path.parent() == Some(dir))
        .collect()
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_of_one_get_has_no_name_on_disk_until_it_is_whole_and_leaves_nothing_when_cancelled()
 {
    let (server, client) = ready().await;
    let body: Vec<u8> = (0..64 * 1024u32).map(|i| (i % 251) as u8).collect();
    client
        .put_object(
            BUCKET,
            "one/small.bin",
            ferry::http::RequestBody::bytes(body.into()),
            &ferry::s3::PutOptions::default(),
        )
        .await
        .expect("put");
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    proxy.set_filter(|p| p.method == http::Method::GET && p.uri.path().ends_with("/small.bin"));
    proxy.push([Fault::StallResponse { after_bytes: 1000 }]);
    let through = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("down");
    std::fs::create_dir_all(&target).unwrap();
    // As /proc/self/fd names it (the temporary directory may be reached through a link).
    let target = target.canonicalize().unwrap();
    let unnamed = makes_unnamed_files(&target);
    let engine = Transfers::new(through, config(), Progress::silent());
    let download = {
        let (engine, target) = (engine.clone(), target.clone());
        tokio::spawn(async move {
            engine
                .until_cancelled(engine.download_prefix(BUCKET, "one/", &target))
                .await
        })
    };
    // Until the answer's head is in and its file open, its body stalled (bounded).
    for _ in 0..500 {
        if !open_in(&target).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let open = open_in(&target);
    assert_eq!(open.len(), 1, "the download has its file open: {open:?}");
    let entries: Vec<_> = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    engine.cancel_token().cancel();
    let left = match tokio::time::timeout(BOUND, download).await {
        Ok(Ok(Err(left))) => left,
        other => panic!("the cancel did not end the download: {other:?}"),
    };
    let after = std::fs::read_dir(&target).unwrap().count();
    if unnamed {
        assert!(
            entries.is_empty(),
            "no name while half written: {entries:?}"
        );
        assert!(
            left.removed_downloads.is_empty() && left.partial_downloads.is_empty(),
            "nothing on disk to remove or keep: {left:?}"
        );
    } else {
        // Where no unnamed file can be made: a temporary name, removed by the cancel.
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert!(entries[0].to_string_lossy().ends_with(".ferry-part"));
        assert_eq!(left.removed_downloads.len(), 1, "{left:?}");
    }
    assert_eq!(after, 0, "nothing left behind");
}
