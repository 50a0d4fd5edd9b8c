//! `sync` against the embedded s3s-fs endpoint: what is up to date stays, what changed moves,
//! `--delete` removes exactly the extras, `--dry-run` changes nothing.

use ferry::s3::{ListObjects, S3Client};
use ferry::transfer::{
    Filters, Progress, SyncAction, SyncOptions, TransferConfig, Transfers, limits::MIB,
};
use ferry_tests::embedded::{Embedded, client_for, fast_retries};
use ferry_tests::fault_proxy::FaultProxy;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

const BUCKET: &str = "sync";

fn engine(client: S3Client) -> Transfers {
    let config = TransferConfig {
        concurrency: 4,
        part_size: 5 * MIB,
        multipart_threshold: 5 * MIB,
        // The embedded store lists in S3's byte order: listings stream into the merge.
        sorted_listings: Some(true),
        ..TransferConfig::default()
    };
    Transfers::new(client, config, Progress::silent())
}

async fn ready() -> (Embedded, S3Client) {
    let server = Embedded::start("127.0.0.1:0").await;
    let client = server.client();
    client.create_bucket(BUCKET, None).await.expect("bucket");
    (server, client)
}

fn write(dir: &Path, relative: &str, data: &[u8]) {
    let path = dir.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

/// A tree of a few files, nested.
fn tree(dir: &Path) -> Vec<&'static str> {
    let files = ["a.txt", "b.log", "d/c.txt", "d/e/f.bin"];
    for (i, name) in files.iter().enumerate() {
        write(dir, name, format!("file {i}: {name}").as_bytes());
    }
    files.to_vec()
}

/// key → bytes of everything under `prefix`.
async fn objects(client: &S3Client, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    let options = ListObjects {
        prefix: Some(prefix.to_owned()),
        ..ListObjects::default()
    };
    let mut pages = client.list_objects(BUCKET, options);
    let mut all = BTreeMap::new();
    while let Some(page) = pages.next_page().await.unwrap() {
        for object in page.contents {
            let bytes = client.get_object_bytes(BUCKET, &object.key).await.unwrap();
            all.insert(object.key, bytes.to_vec());
        }
    }
    all
}

/// relative path → bytes of every file under `dir`.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut all = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap().to_string_lossy();
                all.insert(relative.replace('\\', "/"), std::fs::read(&path).unwrap());
            }
        }
    }
    all
}

fn recorder() -> (SyncOptions, Arc<Mutex<Vec<SyncAction>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let options = SyncOptions {
        on_action: Some(Arc::new(move |action: &SyncAction| {
            sink.lock().unwrap().push(action.clone());
        })),
        ..SyncOptions::default()
    };
    (options, seen)
}

#[tokio::test]
async fn a_second_upload_sync_moves_nothing() {
    let (_server, client) = ready().await;
    let engine = engine(client.clone());
    let dir = tempfile::tempdir().unwrap();
    let names = tree(dir.path());
    let options = SyncOptions::default();

    let first = engine.sync_up(dir.path(), BUCKET, "up", &options).await;
    assert_eq!(first.transfers.objects, names.len() as u64, "{first:?}");
    assert_eq!(first.transfers.failed, 0, "{first:?}");
    let stored = objects(&client, "up/").await;
    let expected: BTreeMap<String, Vec<u8>> = files(dir.path())
        .into_iter()
        .map(|(k, v)| (format!("up/{k}"), v))
        .collect();
    assert_eq!(stored, expected);

    let second = engine.sync_up(dir.path(), BUCKET, "up/", &options).await;
    assert_eq!(second.transfers.objects, 0, "{second:?}");
    assert_eq!(second.transfers.bytes, 0);
    assert_eq!(second.transfers.skipped, names.len() as u64);
    assert_eq!(second.transfers.failed, 0);
}

#[tokio::test]
async fn a_file_whose_size_changed_is_uploaded_again() {
    let (_server, client) = ready().await;
    let engine = engine(client.clone());
    let dir = tempfile::tempdir().unwrap();
    let names = tree(dir.path());
    let options = SyncOptions::default();
    engine.sync_up(dir.path(), BUCKET, "p", &options).await;

    write(dir.path(), "d/c.txt", b"longer than it was before");
    let again = engine.sync_up(dir.path(), BUCKET, "p", &options).await;
    assert_eq!(again.transfers.objects, 1, "{again:?}");
    assert_eq!(again.transfers.skipped, names.len() as u64 - 1);
    let stored = client.get_object_bytes(BUCKET, "p/d/c.txt").await.unwrap();
    assert_eq!(&stored[..], b"longer than it was before");
}

#[tokio::test]
async fn delete_removes_exactly_the_extra_objects() {
    let (_server, client) = ready().await;
    let engine = engine(client.clone());
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    engine
        .sync_up(dir.path(), BUCKET, "p", &SyncOptions::default())
        .await;
    // Extras under the prefix, and neighbours outside it that must stay.
    let elsewhere = tempfile::tempdir().unwrap();
    let other = elsewhere.path().join("f");
    std::fs::write(&other, b"elsewhere").unwrap();
    for key in [
        "p/gone.txt",
        "p/d/gone.bin",
        "p/x/y/z",
        "other/keep.txt",
        "pq",
    ] {
        engine.upload_file(&other, BUCKET, key).await.unwrap();
    }

    let options = SyncOptions {
        delete: true,
        ..SyncOptions::default()
    };
    let report = engine.sync_up(dir.path(), BUCKET, "p", &options).await;
    assert_eq!(report.deleted, 3, "{report:?}");
    assert_eq!(report.transfers.objects, 0);
    assert_eq!(report.transfers.failed, 0);
    let keys: Vec<String> = objects(&client, "").await.into_keys().collect();
    assert_eq!(
        keys,
        [
            "other/keep.txt",
            "p/a.txt",
            "p/b.log",
            "p/d/c.txt",
            "p/d/e/f.bin",
            "pq"
        ]
    );
}

#[tokio::test]
async fn a_dry_run_reports_every_action_and_changes_nothing() {
    let (_server, client) = ready().await;
    let engine = engine(client.clone());
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    engine
        .sync_up(dir.path(), BUCKET, "p", &SyncOptions::default())
        .await;
    write(dir.path(), "new.txt", b"new");
    write(dir.path(), "a.txt", b"a changed size");
    engine
        .upload_file(&dir.path().join("new.txt"), BUCKET, "p/extra.txt")
        .await
        .unwrap();
    let before = objects(&client, "").await;

    let (mut options, seen) = recorder();
    options.dry_run = true;
    options.delete = true;
    let report = engine.sync_up(dir.path(), BUCKET, "p", &options).await;
    assert_eq!(objects(&client, "").await, before, "the bucket changed");
    assert_eq!(report.transfers.objects, 0);
    assert_eq!(report.deleted, 0);
    assert_eq!(report.planned, 3, "{report:?}");
    let mut lines: Vec<String> = seen.lock().unwrap().iter().map(|a| a.to_string()).collect();
    lines.sort();
    let root = dir.path().display();
    assert_eq!(
        lines,
        [
            "delete s3://sync/p/extra.txt".to_owned(),
            format!("upload {root}/a.txt -> s3://sync/p/a.txt"),
            format!("upload {root}/new.txt -> s3://sync/p/new.txt"),
        ]
    );

    // Downloads too: a dry run into an empty directory writes nothing.
    let target = tempfile::tempdir().unwrap();
    let report = engine.sync_down(BUCKET, "p", target.path(), &options).await;
    assert_eq!(report.planned, 5, "{report:?}");
    assert!(files(target.path()).is_empty());
}

#[tokio::test]
async fn include_and_exclude_select_the_files_synced() {
    let (_server, client) = ready().await;
    let engine = engine(client.clone());
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let options = SyncOptions {
        filters: Filters::new()
            .exclude("*")
            .unwrap()
            .include("*.txt")
            .unwrap(),
        ..SyncOptions::default()
    };
    let report = engine.sync_up(dir.path(), BUCKET, "t", &options).await;
    assert_eq!(report.transfers.objects, 2, "{report:?}");
    let keys: Vec<String> = objects(&client, "").await.into_keys().collect();
    assert_eq!(keys, ["t/a.txt", "t/d/c.txt"]);

    let options = SyncOptions {
        filters: Filters::new()
            .exclude("d/*")
            .unwrap()
            .exclude("*.log")
            .unwrap(),
        ..SyncOptions::default()
    };
    engine.sync_up(dir.path(), BUCKET, "u", &options).await;
    let keys: Vec<String> = objects(&client, "u/").await.into_keys().collect();
    assert_eq!(keys, ["u/a.txt"]);

    // Excluded destination files are not deleted either.
    let options = SyncOptions {
        delete: true,
        filters: Filters::new().exclude("*.txt").unwrap(),
        ..SyncOptions::default()
    };
    let empty = tempfile::tempdir().unwrap();
    let report = engine.sync_up(empty.path(), BUCKET, "t", &options).await;
    assert_eq!(report.deleted, 0, "{report:?}");
    assert_eq!(objects(&client, "t/").await.len(), 2);
}

#[tokio::test]
async fn a_second_download_sync_moves_nothing() {
    let (_server, client) = ready().await;
    let engine = engine(client.clone());
    let source = tempfile::tempdir().unwrap();
    let names = tree(source.path());
    engine
        .sync_up(source.path(), BUCKET, "down", &SyncOptions::default())
        .await;

    let target = tempfile::tempdir().unwrap();
    let options = SyncOptions::default();
    let first = engine
        .sync_down(BUCKET, "down", target.path(), &options)
        .await;
    assert_eq!(first.transfers.objects, names.len() as u64, "{first:?}");
    assert_eq!(files(target.path()), files(source.path()));

    let second = engine
        .sync_down(BUCKET, "down/", target.path(), &options)
        .await;
    assert_eq!(second.transfers.objects, 0, "{second:?}");
    assert_eq!(second.transfers.skipped, names.len() as u64);

    // --delete removes local files the prefix lacks, and nothing else.
    write(target.path(), "stray/file.txt", b"stray");
    let options = SyncOptions {
        delete: true,
        ..SyncOptions::default()
    };
    let third = engine
        .sync_down(BUCKET, "down", target.path(), &options)
        .await;
    assert_eq!(third.deleted, 1, "{third:?}");
    assert_eq!(third.transfers.objects, 0);
    assert_eq!(files(target.path()), files(source.path()));
}

#[tokio::test]
async fn a_download_sync_fetches_each_small_object_with_one_get_and_no_head() {
    let (server, client) = ready().await;
    let source = tempfile::tempdir().unwrap();
    let names = tree(source.path());
    engine(client)
        .sync_up(source.path(), BUCKET, "once", &SyncOptions::default())
        .await;
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    let credentials = server.endpoint.credentials().clone();
    let engine = engine(client_for(&proxy.url(), credentials, fast_retries()));

    let target = tempfile::tempdir().unwrap();
    let report = engine
        .sync_down(BUCKET, "once", target.path(), &SyncOptions::default())
        .await;
    assert_eq!(report.transfers.objects, names.len() as u64, "{report:?}");
    assert_eq!(files(target.path()), files(source.path()));
    // The listing gave each object's size: a HEAD before each GET would double the
    // requests (and S3 bills a HEAD as a GET).
    let log = proxy.log();
    let on_objects = |method: &str| {
        log.iter()
            .filter(|(m, path, _)| m == method && path.contains("/once/"))
            .count()
    };
    assert_eq!(on_objects("HEAD"), 0, "{log:?}");
    assert_eq!(on_objects("GET"), names.len(), "{log:?}");
}

#[tokio::test]
async fn checksum_detects_a_same_size_same_mtime_change() {
    let (_server, client) = ready().await;
    let engine = engine(client.clone());
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    engine
        .sync_up(dir.path(), BUCKET, "c", &SyncOptions::default())
        .await;

    let path = dir.path().join("a.txt");
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let original = std::fs::read(&path).unwrap();
    let mut changed = original.clone();
    changed[0] ^= 0x20;
    std::fs::write(&path, &changed).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();

    let by_time = engine
        .sync_up(dir.path(), BUCKET, "c", &SyncOptions::default())
        .await;
    assert_eq!(
        by_time.transfers.objects, 0,
        "size and time alone see no change"
    );

    let options = SyncOptions {
        checksum: true,
        ..SyncOptions::default()
    };
    let by_content = engine.sync_up(dir.path(), BUCKET, "c", &options).await;
    assert_eq!(by_content.transfers.objects, 1, "{by_content:?}");
    assert_eq!(by_content.transfers.skipped, 3);
    let stored = client.get_object_bytes(BUCKET, "c/a.txt").await.unwrap();
    assert_eq!(&stored[..], &changed[..]);

    // And downloads: a local edit of the same size and time is found and replaced.
    let target = tempfile::tempdir().unwrap();
    engine
        .sync_down(BUCKET, "c", target.path(), &SyncOptions::default())
        .await;
    let local = target.path().join("d/c.txt");
    let mtime = std::fs::metadata(&local).unwrap().modified().unwrap();
    let mut edited = std::fs::read(&local).unwrap();
    edited[0] ^= 0x20;
    std::fs::write(&local, &edited).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&local)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let report = engine.sync_down(BUCKET, "c", target.path(), &options).await;
    assert_eq!(report.transfers.objects, 1, "{report:?}");
    assert_eq!(files(target.path()), files(dir.path()));
}

#[tokio::test]
async fn a_second_bucket_to_bucket_sync_moves_nothing_and_delete_removes_the_extras() {
    let (_server, client) = ready().await;
    let engine = engine(client.clone());
    let dir = tempfile::tempdir().unwrap();
    let names = tree(dir.path());
    engine
        .sync_up(dir.path(), BUCKET, "src", &SyncOptions::default())
        .await;
    client.create_bucket("mirror", None).await.unwrap();

    let options = SyncOptions::default();
    let first = engine
        .sync_between(BUCKET, "src", "mirror", "dst", &options)
        .await;
    assert_eq!(first.transfers.objects, names.len() as u64, "{first:?}");
    let second = engine
        .sync_between(BUCKET, "src/", "mirror", "dst/", &options)
        .await;
    assert_eq!(second.transfers.objects, 0, "{second:?}");
    assert_eq!(second.transfers.skipped, names.len() as u64);

    let extra = dir.path().join("a.txt");
    engine
        .upload_file(&extra, "mirror", "dst/extra.txt")
        .await
        .unwrap();
    client.delete_object(BUCKET, "src/b.log").await.unwrap();
    let options = SyncOptions {
        delete: true,
        checksum: true,
        ..SyncOptions::default()
    };
    let third = engine
        .sync_between(BUCKET, "src", "mirror", "dst", &options)
        .await;
    assert_eq!(third.deleted, 2, "{third:?}");
    assert_eq!(third.transfers.objects, 0);
    assert_eq!(third.transfers.skipped, names.len() as u64 - 1);
    let options = ListObjects::default();
    let mut pages = client.list_objects("mirror", options);
    let mut keys = Vec::new();
    while let Some(page) = pages.next_page().await.unwrap() {
        keys.extend(page.contents.into_iter().map(|o| o.key));
    }
    keys.sort();
    assert_eq!(keys, ["dst/a.txt", "dst/d/c.txt", "dst/d/e/f.bin"]);
}

/// Names whose order as bytes (S3's) differs from their order as paths or as characters:
/// `-` (0x2d) < `.` (0x2e) < `/` (0x2f) < `0`, upper case before lower, and non-ASCII names
/// by their UTF-8 bytes (`ÿ` C3 BF < `é` + combining accent … < `😀` F0 …).
const AWKWARD: [&str; 14] = [
    "a b",
    "a-1",
    "a.txt",
    "a/b-c",
    "a/b.txt",
    "a/b/c",
    "a0",
    "B",
    "\u{e9}/x",
    "e\u{301}",
    "\u{65e5}\u{672c}/\u{8a9e}.txt",
    "\u{1F600}",
    "\u{ff}",
    "z/\u{ff}/\u{1F600}",
];

#[tokio::test]
async fn names_that_sort_differently_as_bytes_and_as_paths_sync_once_then_stay_put() {
    let (_server, client) = ready().await;
    let engine = engine(client.clone());
    let dir = tempfile::tempdir().unwrap();
    for name in AWKWARD {
        write(dir.path(), name, name.as_bytes());
    }
    let options = SyncOptions {
        delete: true,
        ..SyncOptions::default()
    };
    let n = AWKWARD.len() as u64;

    let up = engine.sync_up(dir.path(), BUCKET, "up", &options).await;
    assert_eq!((up.transfers.objects, up.deleted), (n, 0), "{up:?}");
    let expected: BTreeMap<String, Vec<u8>> = AWKWARD
        .iter()
        .map(|name| (format!("up/{name}"), name.as_bytes().to_vec()))
        .collect();
    assert_eq!(objects(&client, "up/").await, expected);
    let again = engine.sync_up(dir.path(), BUCKET, "up", &options).await;
    let moved = (
        again.transfers.objects,
        again.deleted,
        again.transfers.failed,
    );
    assert_eq!(moved, (0, 0, 0), "{again:?}");
    assert_eq!(again.transfers.skipped, n);

    let target = tempfile::tempdir().unwrap();
    let down = engine
        .sync_down(BUCKET, "up", target.path(), &options)
        .await;
    assert_eq!((down.transfers.objects, down.deleted), (n, 0), "{down:?}");
    assert_eq!(files(target.path()), files(dir.path()));
    let again = engine
        .sync_down(BUCKET, "up", target.path(), &options)
        .await;
    let moved = (
        again.transfers.objects,
        again.deleted,
        again.transfers.failed,
    );
    assert_eq!(moved, (0, 0, 0), "{again:?}");
    assert_eq!(again.transfers.skipped, n);

    let copied = engine
        .sync_between(BUCKET, "up", BUCKET, "copy", &options)
        .await;
    assert_eq!(
        (copied.transfers.objects, copied.deleted),
        (n, 0),
        "{copied:?}"
    );
    let again = engine
        .sync_between(BUCKET, "up", BUCKET, "copy", &options)
        .await;
    let moved = (
        again.transfers.objects,
        again.deleted,
        again.transfers.failed,
    );
    assert_eq!(moved, (0, 0, 0), "{again:?}");
    assert_eq!(again.transfers.skipped, n);
}

#[tokio::test]
async fn an_extra_key_between_awkward_names_is_the_only_one_deleted() {
    let (_server, client) = ready().await;
    let engine = engine(client.clone());
    let dir = tempfile::tempdir().unwrap();
    for name in AWKWARD {
        write(dir.path(), name, name.as_bytes());
    }
    engine
        .sync_up(dir.path(), BUCKET, "p", &SyncOptions::default())
        .await;
    // Each sorts next to a local name it is not: a path-ordered merge would pair them wrong.
    let extras = ["p/a-", "p/a.tx", "p/a/b.", "p/a/b/c-", "p/a/b0", "p/\u{e8}"];
    let extra = tempfile::tempdir().unwrap();
    write(extra.path(), "extra", b"extra");
    for key in extras {
        engine
            .upload_file(&extra.path().join("extra"), BUCKET, key)
            .await
            .unwrap();
    }
    let (mut options, seen) = recorder();
    options.delete = true;
    let report = engine.sync_up(dir.path(), BUCKET, "p", &options).await;
    assert_eq!(report.transfers.objects, 0, "{report:?}");
    assert_eq!(report.deleted, extras.len() as u64, "{report:?}");
    let mut deleted: Vec<String> = seen.lock().unwrap().iter().map(|a| a.to_string()).collect();
    deleted.sort();
    let mut expected: Vec<String> = extras
        .iter()
        .map(|key| format!("delete s3://{BUCKET}/{key}"))
        .collect();
    expected.sort();
    assert_eq!(deleted, expected);
    let stored: Vec<String> = objects(&client, "p/").await.into_keys().collect();
    let mut kept: Vec<String> = AWKWARD.iter().map(|name| format!("p/{name}")).collect();
    kept.sort();
    assert_eq!(stored, kept);
}

#[tokio::test]
async fn extra_objects_are_decided_as_the_listing_is_read_not_after_it() {
    let (server, _) = ready().await;
    // Three listing pages of objects (written straight into the served directory).
    for i in 0..2500 {
        write(&server.root.path().join(BUCKET), &format!("p/k{i:04}"), b"");
    }
    let proxy = Arc::new(FaultProxy::start(server.endpoint.local_addr()).await);
    let credentials = server.endpoint.credentials().clone();
    let engine = engine(client_for(&proxy.url(), credentials, fast_retries()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (log, sink) = (proxy.clone(), seen.clone());
    let options = SyncOptions {
        delete: true,
        dry_run: true,
        on_action: Some(Arc::new(move |action: &SyncAction| {
            let lists = log
                .log()
                .iter()
                .filter(|(_, query, _)| query.contains("list-type=2"))
                .count();
            sink.lock().unwrap().push((action.to_string(), lists));
        })),
        ..SyncOptions::default()
    };
    let empty = tempfile::tempdir().unwrap();
    let report = engine.sync_up(empty.path(), BUCKET, "p", &options).await;
    assert_eq!(report.planned, 2500, "{report:?}");
    let seen = seen.lock().unwrap();
    // Each deletion is decided with only the pages up to its key requested: page n + 1 is
    // asked for when page n is used up, never the whole listing first.
    assert_eq!(seen[0], (format!("delete s3://{BUCKET}/p/k0000"), 1));
    let pages: Vec<usize> = seen.iter().map(|(_, lists)| *lists).collect();
    let expected: Vec<usize> = (0..2500).map(|i| i / 1000 + 1).collect();
    assert_eq!(pages, expected);
}

#[tokio::test]
async fn a_listing_read_whole_first_that_fails_a_page_decides_nothing() {
    let (server, client) = ready().await;
    // Three listing pages, read whole and sorted before the merge (as on stores that do not
    // list in byte order); the second page fails.
    for i in 0..2500 {
        write(&server.root.path().join(BUCKET), &format!("p/k{i:04}"), b"");
    }
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    proxy.set_filter(|parts| {
        parts
            .uri
            .query()
            .is_some_and(|query| query.contains("continuation-token"))
    });
    proxy.push([ferry_tests::fault_proxy::Fault::Status {
        status: 403,
        code: "AccessDenied",
        message: "Access Denied",
    }]);
    let credentials = server.endpoint.credentials().clone();
    let config = TransferConfig {
        sorted_listings: Some(false),
        ..TransferConfig::default()
    };
    let client_via_proxy = client_for(&proxy.url(), credentials, fast_retries());
    let engine = Transfers::new(client_via_proxy, config, Progress::silent());
    let options = SyncOptions {
        delete: true,
        ..SyncOptions::default()
    };
    let empty = tempfile::tempdir().unwrap();
    let report = engine.sync_up(empty.path(), BUCKET, "p", &options).await;
    assert_eq!((report.planned, report.deleted), (0, 0), "{report:?}");
    assert_eq!(report.transfers.failed, 1, "{report:?}");
    let named = format!("{:?}", report.transfers.failures);
    assert!(named.contains(&format!("s3://{BUCKET}/p/")), "{named}");
    assert_eq!(objects(&client, "p/").await.len(), 2500);
}
