//! `sync` against the embedded s3s-fs endpoint: what is up to date stays, what changed moves,
//! `--delete` removes exactly the extras, `--dry-run` changes nothing.

use ferry::s3::{ListObjects, S3Client};
use ferry::transfer::{
    Filters, Progress, SyncAction, SyncOptions, TransferConfig, Transfers, limits::MIB,
};
use ferry_tests::embedded::Embedded;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

const BUCKET: &str = "sync";

fn engine(client: S3Client) -> Transfers {
    let config = TransferConfig {
        concurrency: 4,
        part_size: 5 * MIB,
        multipart_threshold: 5 * MIB,
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
