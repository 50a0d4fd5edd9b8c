//! A directory as hostile as real ones get, uploaded with `upload_dir` against the embedded
//! endpoint and downloaded back: symbolic link loops, broken links, links to files and to
//! directories, a FIFO, a socket, names with awkward bytes, an unreadable file, and files
//! truncated and grown while they are being uploaded. Every regular file must come back
//! byte-identical or be named, with its reason, as failed or skipped; nothing may hang and
//! the process must not die (a truncated memory-mapped file would kill it with SIGBUS).

use ferry::transfer::{Event, Progress, TransferConfig, Transfers, limits::MIB};
use ferry_tests::embedded::Embedded;
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BUCKET: &str = "hostile";
const PART: u64 = 5 * MIB;
const BOUND: Duration = Duration::from_secs(120);

/// Names that break naive quoting, URL-encoding, globbing or option parsing.
const AWKWARD: [&str; 11] = [
    "with space.txt",
    "new\nline.txt",
    "tab\there.txt",
    "100%.txt",
    "a+b=c.txt",
    "ünïcødé-文件.txt",
    "hash#tag.txt",
    "what?.txt",
    "star*.txt",
    "-leading-dash.txt",
    "semi;colon&amp.txt",
];

fn pattern(len: u64, seed: u64) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 131 + seed * 7) % 251) as u8)
        .collect()
}

/// The regular files the tree holds, as `upload_dir` should see them: key suffix → bytes
/// (links followed, loops and special files left out).
type Expected = BTreeMap<String, Vec<u8>>;

struct Tree {
    root: PathBuf,
    expected: Expected,
    /// Files that must fail, by path, with what their reason must contain.
    must_fail: Vec<(PathBuf, &'static str)>,
    /// Paths that must be skipped, with their reason's start.
    must_skip: Vec<(PathBuf, &'static str)>,
    truncated: PathBuf,
    grown: PathBuf,
}

fn build(base: &Path) -> Tree {
    let root = base.join("tree");
    let outside = base.join("outside");
    std::fs::create_dir_all(root.join("deep/er")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let mut expected = Expected::new();
    let mut put = |relative: &str, data: Vec<u8>| {
        std::fs::write(root.join(relative), &data).unwrap();
        expected.insert(relative.to_owned(), data);
    };
    for (i, name) in AWKWARD.iter().enumerate() {
        put(name, format!("awkward {i}").into_bytes());
    }
    put("deep/er/nested.bin", pattern(12_345, 1));
    put("empty", Vec::new());
    std::fs::write(outside.join("beyond.txt"), b"linked from inside").unwrap();
    expected.insert("dir-link/beyond.txt".into(), b"linked from inside".to_vec());
    symlink(&outside, root.join("dir-link")).unwrap();
    symlink("deep/er/nested.bin", root.join("file-link")).unwrap();
    expected.insert("file-link".into(), pattern(12_345, 1));
    symlink("../..", root.join("deep/er/loop")).unwrap();
    symlink("no/such/target", root.join("broken")).unwrap();
    let fifo = root.join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let socket = root.join("sock");
    let mut must_skip = vec![
        (root.join("broken"), "broken symbolic link"),
        (root.join("deep/er/loop"), "symbolic link loop"),
        (fifo, "not a regular file (FIFO)"),
        (socket, "not a regular file (socket)"),
    ];
    must_skip.sort();
    let mut must_fail = Vec::new();
    let locked = root.join("locked.txt");
    std::fs::write(&locked, b"secret").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&locked).is_ok() {
        eprintln!(
            "note: running as root (or with CAP_DAC_OVERRIDE): a mode-000 file stays readable, so the unreadable-file case is checked as a plain upload"
        );
        expected.insert("locked.txt".into(), b"secret".to_vec());
    } else {
        must_fail.push((locked, "Permission denied"));
    }
    let truncated = root.join("truncated.bin");
    std::fs::write(&truncated, pattern(6 * PART, 2)).unwrap();
    must_fail.push((truncated.clone(), "changed while being read"));
    let grown = root.join("grown.bin");
    std::fs::write(&grown, pattern(6 * PART, 3)).unwrap();
    must_fail.push((grown.clone(), "changed while being read"));
    Tree {
        root,
        expected,
        must_fail,
        must_skip,
        truncated,
        grown,
    }
}

#[tokio::test]
async fn a_hostile_tree_uploads_every_regular_file_or_names_why_not() {
    let server = Embedded::start("127.0.0.1:0").await;
    let client = server.client();
    client.create_bucket(BUCKET, None).await.expect("bucket");
    let base = tempfile::tempdir().unwrap();
    let tree = build(base.path());
    // Bound after the tree is built: binding creates the socket file.
    let _socket = std::os::unix::net::UnixListener::bind(tree.root.join("sock")).unwrap();

    // When the first part of the large files is sent, one is truncated and the other grows:
    // the parts read after that find them changed.
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let sink = events.clone();
    let (truncated, grown) = (tree.truncated.clone(), tree.grown.clone());
    let progress = Progress::new(move |event| {
        if let Event::PartDone { name, part: 1 } = &event {
            if name.ends_with("/truncated.bin") {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&truncated)
                    .unwrap();
                file.set_len(PART / 2).unwrap();
            } else if name.ends_with("/grown.bin") {
                let mut file = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&grown)
                    .unwrap();
                file.write_all(&pattern(PART, 4)).unwrap();
            }
        }
        sink.lock().unwrap().push(event);
    });
    let config = TransferConfig {
        concurrency: 2,
        max_concurrency: 2,
        part_size: PART,
        multipart_threshold: PART,
        memory_budget: 2 * PART,
        state_dir: Some(base.path().join("state")),
        hedge: None,
        ..TransferConfig::default()
    };
    let engine = Transfers::new(client.clone(), config, progress);
    let summary = tokio::time::timeout(BOUND, engine.upload_dir(&tree.root, BUCKET, "up"))
        .await
        .expect("the upload of the tree ends");

    // Named failures, each with its reason, each reported once as an event.
    let failures = summary.failures.clone();
    assert_eq!(failures.len(), tree.must_fail.len(), "{failures:?}");
    for (path, reason) in &tree.must_fail {
        // Named as the object it would have become (the reason names the file).
        let relative = path.strip_prefix(&tree.root).expect("inside the tree");
        let name = format!("s3://{BUCKET}/up/{}", relative.display());
        let hit = failures
            .iter()
            .find(|f| f.object == name)
            .unwrap_or_else(|| panic!("{name} is not named among {failures:?}"));
        let message = hit.error.to_string();
        assert!(message.contains(reason), "{name}: {message}");
    }
    let failed_events = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, Event::Failed(_)))
        .count();
    assert_eq!(failed_events, tree.must_fail.len());
    assert_eq!(summary.failed as usize, tree.must_fail.len());

    // Named skips, each with its reason, once as an event and once in the summary.
    let mut warnings = summary.warnings.clone();
    warnings.sort();
    assert_eq!(warnings.len(), tree.must_skip.len(), "{warnings:?}");
    for ((path, reason), (name, why)) in tree.must_skip.iter().zip(&warnings) {
        assert_eq!(name, &path.display().to_string());
        assert!(why.starts_with(reason), "{name}: {why}");
    }
    let mut skipped_events: Vec<(String, String)> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::Skipped { name, reason } => Some((name.clone(), reason.clone())),
            _ => None,
        })
        .collect();
    skipped_events.sort();
    assert_eq!(skipped_events, warnings);
    assert_eq!(summary.skipped as usize, tree.must_skip.len());

    // Everything else came through byte for byte, and nothing else did.
    assert_eq!(summary.objects as usize, tree.expected.len(), "{summary:?}");
    let open = client
        .list_multipart_uploads(BUCKET, None, None)
        .await
        .unwrap();
    assert!(open.uploads.is_empty(), "left open: {:?}", open.uploads);
    let back = base.path().join("back");
    let down = tokio::time::timeout(BOUND, engine.download_prefix(BUCKET, "up/", &back))
        .await
        .expect("the download ends");
    assert_eq!(down.failed, 0, "{down:?}");
    let mut found = Expected::new();
    let mut stack = vec![back.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(&back).unwrap().to_str().unwrap();
                found.insert(relative.to_owned(), std::fs::read(&path).unwrap());
            }
        }
    }
    let keys = |m: &Expected| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&found), keys(&tree.expected));
    for (key, data) in &tree.expected {
        assert!(found[key] == *data, "{key:?}: bytes differ");
    }
}
