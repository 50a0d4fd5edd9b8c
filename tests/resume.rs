//! Resuming after a crash: a transfer whose future is dropped mid-way (no abort, no cleanup
//! runs, exactly as after `kill -9`) is continued by running it again, sending or fetching
//! only what was missing, and leaves no journal behind.

use ferry::s3::S3Client;
use ferry::transfer::{Progress, TransferConfig, Transfers, limits::MIB};
use ferry_tests::embedded::{Embedded, client_for, fast_retries};
use ferry_tests::fault_proxy::{Fault, FaultProxy};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

const BUCKET: &str = "resume";
const PART: u64 = 5 * MIB;
/// How long an interrupted transfer gets to finish its first parts.
/// How many times, 20 ms apart, to check whether a transfer has progressed far enough to
/// be interrupted (a bound on the wait, not a measure).
const PROGRESS_POLLS: usize = 3000;

/// An engine with four parts or ranges in flight: the four ranges of the objects here are
/// one round, so no two are fetched with one GET (see [`engine_with`]).
fn engine(client: S3Client, state: &Path) -> Transfers {
    engine_with(client, state, 4)
}

/// An engine with `in_flight` parts or ranges in flight at most.
fn engine_with(client: S3Client, state: &Path, in_flight: usize) -> Transfers {
    let config = TransferConfig {
        concurrency: in_flight,
        max_concurrency: in_flight,
        part_size: PART,
        multipart_threshold: PART,
        state_dir: Some(state.to_owned()),
        // The tests count the requests a resume makes: a hedge of a range slowed by a busy
        // machine (a CI run) added one.
        hedge: None,
        ..TransferConfig::default()
    };
    Transfers::new(client, config, Progress::silent())
}

fn pattern(len: u64, seed: u64) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + seed * 7) % 251) as u8)
        .collect()
}

struct Setup {
    server: Embedded,
    direct: S3Client,
    proxy: FaultProxy,
    proxied: S3Client,
    dir: tempfile::TempDir,
    state: tempfile::TempDir,
}

async fn setup() -> Setup {
    let server = Embedded::start("127.0.0.1:0").await;
    let direct = server.client();
    direct.create_bucket(BUCKET, None).await.expect("bucket");
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    let proxied = client_for(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        fast_retries(),
    );
    Setup {
        server,
        direct,
        proxy,
        proxied,
        dir: tempfile::tempdir().unwrap(),
        state: tempfile::tempdir().unwrap(),
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// How many entries the JSON journal at `path` lists under `field`.
fn journal_entries(path: &Path, field: &str) -> usize {
    std::fs::read(path)
        .ok()
        .and_then(|text| serde_json::from_slice::<serde_json::Value>(&text).ok())
        .and_then(|v| v.get(field).and_then(|f| f.as_object()).map(|m| m.len()))
        .unwrap_or(0)
}

/// Runs `transfer` until `done()` holds, then drops it mid-flight: no abort and no cleanup
/// run, as when the process is killed.
async fn interrupt<T: std::fmt::Debug>(
    transfer: impl Future<Output = T>,
    mut done: impl FnMut() -> bool,
) {
    tokio::pin!(transfer);
    for _ in 0..PROGRESS_POLLS {
        tokio::select! {
            result = &mut transfer => panic!("the transfer finished before it was interrupted: {result:?}"),
            () = tokio::time::sleep(Duration::from_millis(20)) => {
                if done() {
                    return;
                }
            }
        }
    }
    panic!("no progress to interrupt after {PROGRESS_POLLS} checks");
}

/// How many multipart uploads the store holds open.
async fn open_uploads(s: &Setup) -> usize {
    let open = s.direct.list_multipart_uploads(BUCKET, None, None).await;
    open.expect("ListMultipartUploads").uploads.len()
}

/// The store holds no multipart upload open.
async fn assert_no_upload_open(s: &Setup) {
    let open = s.direct.list_multipart_uploads(BUCKET, None, None).await;
    let open = open.expect("ListMultipartUploads").uploads;
    assert!(open.is_empty(), "left open: {open:?}");
}

fn part_puts(proxy: &FaultProxy) -> Vec<String> {
    proxy
        .log()
        .into_iter()
        .filter(|(method, uri, _)| method == "PUT" && uri.contains("partNumber="))
        .map(|(_, uri, _)| uri)
        .collect()
}

fn ranged_gets(proxy: &FaultProxy) -> usize {
    proxy
        .log()
        .iter()
        .filter(|(method, uri, _)| method == "GET" && !uri.contains('?'))
        .count()
}

/// Makes the parts numbered 3 and 4 (and every retry of them) hang.
fn hang_upload_parts_3_and_4(proxy: &FaultProxy) {
    proxy.set_filter(|p| {
        p.method == http::Method::PUT
            && p.uri
                .query()
                .is_some_and(|q| q.contains("partNumber=3") || q.contains("partNumber=4"))
    });
    proxy.push(std::iter::repeat_n(Fault::Hang, 50));
}

fn release(proxy: &FaultProxy) {
    proxy.clear();
    proxy.clear_filter();
}

/// Uploads a 4-part file through the proxy and interrupts it once parts 1 and 2 are in the
/// journal (3 and 4 hang). Returns the source's bytes and path.
async fn interrupted_upload(s: &Setup, key: &str) -> (Vec<u8>, PathBuf) {
    let data = pattern(4 * PART, 1);
    let source = s.dir.path().join("big.bin");
    std::fs::write(&source, &data).unwrap();
    hang_upload_parts_3_and_4(&s.proxy);
    let engine = engine(s.proxied.clone(), s.state.path());
    let state = s.state.path().to_owned();
    interrupt(engine.upload_file(&source, BUCKET, key), || {
        files_in(&state)
            .iter()
            .any(|j| journal_entries(j, "parts") >= 2)
    })
    .await;
    (data, source)
}

#[tokio::test]
async fn an_interrupted_upload_is_continued_sending_only_the_missing_parts() {
    let s = setup().await;
    let (data, source) = interrupted_upload(&s, "big.bin").await;
    assert_eq!(open_uploads(&s).await, 1, "the killed upload stays open");
    assert_eq!(files_in(s.state.path()).len(), 1, "one journal");
    release(&s.proxy);
    let before = part_puts(&s.proxy).len();

    let sent = engine(s.proxied.clone(), s.state.path())
        .upload_file(&source, BUCKET, "big.bin")
        .await
        .unwrap();
    assert_eq!(sent, data.len() as u64);
    let again = &part_puts(&s.proxy)[before..];
    assert_eq!(
        again.len(),
        2,
        "only parts 3 and 4 are sent again: {again:?}"
    );
    assert!(
        again
            .iter()
            .all(|uri| uri.contains("partNumber=3") || uri.contains("partNumber=4")),
        "{again:?}"
    );
    assert!(
        s.proxy
            .log()
            .iter()
            .any(|(method, uri, _)| method == "GET" && uri.contains("uploadId=")),
        "ListParts confirmed the parts"
    );
    let stored = s.direct.get_object_bytes(BUCKET, "big.bin").await.unwrap();
    assert!(stored == data, "the object's bytes differ");
    assert_no_upload_open(&s).await;
    assert!(
        files_in(s.state.path()).is_empty(),
        "the journal is removed"
    );
}

#[tokio::test]
async fn an_interrupted_upload_aborted_meanwhile_starts_over_and_lands_exact() {
    let s = setup().await;
    let (data, source) = interrupted_upload(&s, "gone.bin").await;
    let open = s
        .direct
        .list_multipart_uploads(BUCKET, None, None)
        .await
        .unwrap();
    for upload in &open.uploads {
        s.direct
            .abort_multipart_upload(BUCKET, &upload.key, &upload.upload_id)
            .await
            .unwrap();
    }
    release(&s.proxy);
    let before = part_puts(&s.proxy).len();
    engine(s.proxied.clone(), s.state.path())
        .upload_file(&source, BUCKET, "gone.bin")
        .await
        .unwrap();
    assert_eq!(part_puts(&s.proxy).len() - before, 4, "every part is sent");
    let stored = s.direct.get_object_bytes(BUCKET, "gone.bin").await.unwrap();
    assert!(stored == data, "the object's bytes differ");
    assert_no_upload_open(&s).await;
    assert!(
        files_in(s.state.path()).is_empty(),
        "the journal is removed"
    );
}

#[tokio::test]
async fn a_cleanly_failed_upload_aborts_and_leaves_no_journal() {
    let s = setup().await;
    let source = s.dir.path().join("big.bin");
    std::fs::write(&source, pattern(3 * PART, 2)).unwrap();
    s.proxy.set_filter(|p| {
        p.method == http::Method::PUT && p.uri.query().is_some_and(|q| q.contains("partNumber=2"))
    });
    s.proxy.push([Fault::Status {
        status: 403,
        code: "AccessDenied",
        message: "Access Denied",
    }]);
    engine(s.proxied.clone(), s.state.path())
        .upload_file(&source, BUCKET, "big.bin")
        .await
        .unwrap_err();
    assert_no_upload_open(&s).await;
    assert!(files_in(s.state.path()).is_empty(), "no journal is left");
}

/// Uploads `data` as `key`, then downloads it through the proxy to `target` and interrupts
/// once ranges 0 and 1 are journalled (ranges 2 and 3 hang).
async fn interrupted_download(s: &Setup, key: &str, data: &[u8], target: &Path) {
    let source = s.dir.path().join(format!("{key}.src"));
    std::fs::write(&source, data).unwrap();
    engine(s.direct.clone(), s.state.path())
        .upload_file(&source, BUCKET, key)
        .await
        .unwrap();
    interrupt_download(s, key, target).await;
}

/// Downloads `key` through the proxy to `target` and interrupts once ranges 0 and 1 are
/// journalled (ranges 2 and 3 hang).
async fn interrupt_download(s: &Setup, key: &str, target: &Path) {
    interrupt_download_with(s, key, target, 4, &[2, 3], 2).await;
}

/// Downloads `key` through the proxy to `target` with `in_flight` ranges in flight, the
/// GETs starting at the ranges `hung` hanging, and interrupts it once `journalled` ranges
/// are in the journal.
async fn interrupt_download_with(
    s: &Setup,
    key: &str,
    target: &Path,
    in_flight: usize,
    hung: &[u64],
    journalled: usize,
) {
    let late: Vec<String> = hung
        .iter()
        .map(|range| format!("bytes={}-", range * PART))
        .collect();
    s.proxy.set_filter(move |p| {
        p.method == http::Method::GET
            && p.headers
                .get("range")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|r| late.iter().any(|l| r.starts_with(l.as_str())))
    });
    s.proxy.push(std::iter::repeat_n(Fault::Hang, 50));
    let engine = engine_with(s.proxied.clone(), s.state.path(), in_flight);
    let journal = journal_of(target);
    interrupt(engine.download_file(BUCKET, key, target), || {
        journal_entries(&journal, "ranges") >= journalled
    })
    .await;
    assert!(temp_of(target).exists(), "the temporary file is kept");
    assert!(journal.exists(), "the journal is kept");
    assert!(!target.exists());
}

fn temp_of(target: &Path) -> PathBuf {
    let name = target.file_name().unwrap().to_string_lossy();
    target.with_file_name(format!(".{name}.ferry-part"))
}

fn journal_of(target: &Path) -> PathBuf {
    let name = target.file_name().unwrap().to_string_lossy();
    target.with_file_name(format!(".{name}.ferry-part.json"))
}

#[tokio::test]
async fn an_interrupted_download_is_continued_fetching_only_the_missing_ranges() {
    let s = setup().await;
    let data = pattern(4 * PART - 1000, 3);
    let target = s.dir.path().join("out").join("down.bin");
    interrupted_download(&s, "down.bin", &data, &target).await;
    release(&s.proxy);
    let before = ranged_gets(&s.proxy);
    let got = engine(s.proxied.clone(), s.state.path())
        .download_file(BUCKET, "down.bin", &target)
        .await
        .unwrap();
    assert_eq!(got, data.len() as u64);
    assert_eq!(
        ranged_gets(&s.proxy) - before,
        2,
        "only ranges 2 and 3 are fetched again"
    );
    assert!(std::fs::read(&target).unwrap() == data, "bytes differ");
    assert!(!temp_of(&target).exists(), "no temporary file is left");
    assert!(!journal_of(&target).exists(), "no journal is left");
    drop(s.server);
}

/// Stores four ranges' worth of bytes (a pattern from `seed`) under `key` with one
/// PutObject, so that the object has a full checksum and each range a CRC to keep (ferry
/// serve gives multipart objects none); returns the bytes.
/// Uploads an object of just under `parts` ranges in one piece (so with no part layout).
async fn put_whole(s: &Setup, key: &str, parts: u64, seed: u64) -> Vec<u8> {
    let data = pattern(parts * PART - 1000, seed);
    let source = s.dir.path().join(format!("{key}.src"));
    std::fs::write(&source, &data).unwrap();
    let whole = TransferConfig {
        multipart_threshold: 8 * PART,
        ..TransferConfig::default()
    };
    Transfers::new(s.direct.clone(), whole, Progress::silent())
        .upload_file(&source, BUCKET, key)
        .await
        .unwrap();
    data
}

#[tokio::test]
async fn ranges_paired_into_one_get_to_save_a_round_are_journalled_and_resumed_one_by_one() {
    // Five ranges, three in flight: the first two are asked for with the HEAD, in one GET
    // holding one slot; the other three would take two rounds of the two slots left, so
    // ranges 2 and 3 come in one GET. Range 4 hangs.
    let s = setup().await;
    let data = put_whole(&s, "paired.bin", 5, 8).await;
    let target = s.dir.path().join("paired.bin");
    interrupt_download_with(&s, "paired.bin", &target, 3, &[4], 4).await;
    let asked: Vec<String> = s
        .proxy
        .log()
        .into_iter()
        .filter(|(method, _, _)| method == "GET")
        .map(|(_, uri, _)| uri)
        .collect();
    assert_eq!(
        ranged_gets(&s.proxy),
        3,
        "ranges 0-1, ranges 2-3, range 4: {asked:?}"
    );
    let journal = std::fs::read_to_string(journal_of(&target)).unwrap();
    assert_eq!(
        journal_entries(&journal_of(&target), "ranges"),
        4,
        "{journal}"
    );
    assert!(
        journal.contains("CRC64NVME"),
        "each range with its CRC: {journal}"
    );
    release(&s.proxy);
    let before = ranged_gets(&s.proxy);
    engine_with(s.proxied.clone(), s.state.path(), 3)
        .download_file(BUCKET, "paired.bin", &target)
        .await
        .unwrap();
    assert_eq!(
        ranged_gets(&s.proxy) - before,
        1,
        "ranges 0 to 3 were each checked on file by their own CRC; only range 4 is fetched"
    );
    assert!(std::fs::read(&target).unwrap() == data, "bytes differ");
    assert!(!journal_of(&target).exists(), "no journal is left");
    drop(s.server);
}

#[tokio::test]
async fn a_journalled_range_whose_bytes_on_file_no_longer_match_is_fetched_again() {
    let s = setup().await;
    let data = put_whole(&s, "lost.bin", 4, 6).await;
    let target = s.dir.path().join("lost.bin");
    interrupt_download(&s, "lost.bin", &target).await;
    release(&s.proxy);
    let journal = std::fs::read_to_string(journal_of(&target)).unwrap();
    assert!(
        journal.contains("CRC64NVME"),
        "ranges with checksums: {journal}"
    );
    // What a power loss can leave: the journal names range 1, its bytes never reached disk.
    let temp = std::fs::OpenOptions::new()
        .write(true)
        .open(temp_of(&target))
        .unwrap();
    std::os::unix::fs::FileExt::write_all_at(&temp, &vec![0u8; 4096], PART + 100).unwrap();
    drop(temp);
    let before = ranged_gets(&s.proxy);
    engine(s.proxied.clone(), s.state.path())
        .download_file(BUCKET, "lost.bin", &target)
        .await
        .unwrap();
    assert_eq!(
        ranged_gets(&s.proxy) - before,
        3,
        "range 1 is fetched again with ranges 2 and 3; range 0 is kept: {:?}",
        s.proxy.log()
    );
    assert!(std::fs::read(&target).unwrap() == data, "bytes differ");
    assert!(!journal_of(&target).exists(), "no journal is left");
}

#[tokio::test]
async fn a_download_journal_for_an_object_since_overwritten_starts_over_and_lands_the_new_bytes() {
    let s = setup().await;
    let old = pattern(4 * PART, 4);
    let target = s.dir.path().join("stale.bin");
    interrupted_download(&s, "stale.bin", &old, &target).await;
    release(&s.proxy);
    let new = pattern(4 * PART, 5);
    let source = s.dir.path().join("new.src");
    std::fs::write(&source, &new).unwrap();
    engine(s.direct.clone(), s.state.path())
        .upload_file(&source, BUCKET, "stale.bin")
        .await
        .unwrap();
    let before = ranged_gets(&s.proxy);
    engine(s.proxied.clone(), s.state.path())
        .download_file(BUCKET, "stale.bin", &target)
        .await
        .unwrap();
    assert_eq!(ranged_gets(&s.proxy) - before, 4, "every range is fetched");
    assert!(std::fs::read(&target).unwrap() == new, "bytes differ");
    assert!(!temp_of(&target).exists(), "no temporary file is left");
    assert!(!journal_of(&target).exists(), "no journal is left");
}

#[tokio::test]
async fn a_failed_upload_whose_abort_is_refused_keeps_its_journal_and_the_next_run_finishes_it() {
    let s = setup().await;
    let data = pattern(3 * PART, 3);
    let source = s.dir.path().join("big.bin");
    std::fs::write(&source, &data).unwrap();
    // Part 2 is refused for good; then the store refuses the abort too (as when it is down
    // at that moment).
    s.proxy.set_filter(|p| {
        (p.method == http::Method::PUT && p.uri.query().is_some_and(|q| q.contains("partNumber=2")))
            || p.method == http::Method::DELETE
    });
    s.proxy.push([Fault::Status {
        status: 403,
        code: "AccessDenied",
        message: "Access Denied",
    }]);
    s.proxy.push(std::iter::repeat_n(
        Fault::Status {
            status: 403,
            code: "AccessDenied",
            message: "Access Denied",
        },
        5,
    ));
    engine(s.proxied.clone(), s.state.path())
        .upload_file(&source, BUCKET, "big.bin")
        .await
        .unwrap_err();
    assert_eq!(
        open_uploads(&s).await,
        1,
        "the abort was refused: the upload is open"
    );
    assert_eq!(
        files_in(s.state.path()).len(),
        1,
        "its journal is kept so that the next run finds it"
    );

    release(&s.proxy);
    engine(s.proxied.clone(), s.state.path())
        .upload_file(&source, BUCKET, "big.bin")
        .await
        .unwrap();
    let stored = s.direct.get_object_bytes(BUCKET, "big.bin").await.unwrap();
    assert!(stored == data, "the object's bytes differ");
    assert_no_upload_open(&s).await;
    assert!(files_in(s.state.path()).is_empty(), "no journal is left");
}

#[tokio::test]
async fn an_interrupted_upload_whose_file_changed_since_is_aborted_by_the_next_upload() {
    let s = setup().await;
    let (_, source) = interrupted_upload(&s, "big.bin").await;
    release(&s.proxy);
    // The file is rewritten before the command is run again: the old upload cannot be
    // continued and must not stay open.
    let data = pattern(3 * PART + 7, 9);
    std::fs::write(&source, &data).unwrap();
    engine(s.proxied.clone(), s.state.path())
        .upload_file(&source, BUCKET, "big.bin")
        .await
        .unwrap();
    let stored = s.direct.get_object_bytes(BUCKET, "big.bin").await.unwrap();
    assert!(stored == data, "the new bytes landed");
    assert_no_upload_open(&s).await;
    assert!(files_in(s.state.path()).is_empty(), "no journal is left");
}

#[tokio::test]
async fn a_journal_of_a_run_never_repeated_has_its_upload_aborted_after_a_week() {
    let s = setup().await;
    let (_, _) = interrupted_upload(&s, "forgotten.bin").await;
    release(&s.proxy);
    let journals = files_in(s.state.path());
    assert_eq!(journals.len(), 1);
    let week_ago = std::time::SystemTime::now() - Duration::from_secs(8 * 24 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&journals[0])
        .unwrap()
        .set_modified(week_ago)
        .unwrap();

    // Another file's multipart upload on the same endpoint collects it.
    let other = s.dir.path().join("other.bin");
    std::fs::write(&other, pattern(2 * PART, 4)).unwrap();
    engine(s.proxied.clone(), s.state.path())
        .upload_file(&other, BUCKET, "other.bin")
        .await
        .unwrap();
    assert_no_upload_open(&s).await;
    assert!(
        files_in(s.state.path()).is_empty(),
        "the stale journal is gone"
    );
}
