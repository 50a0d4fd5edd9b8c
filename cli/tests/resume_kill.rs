//! `kill -9` in the middle of a transfer, then the same command again: it continues from its
//! journal (sending or fetching only what was missing) and lands identical bytes, leaving no
//! journal or temporary file behind.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

mod common;

use common::{KEY, SECRET, ferry, serve};

const MIB: u64 = 1024 * 1024;
const PART: u64 = 5 * MIB;
const SIZE: u64 = 8 * PART + 12_345;
/// How long a transfer gets to finish its first parts before the test gives up.
/// How many times, 5 ms apart, to check for progress before giving up (a bound, not a
/// speed requirement).
const PROGRESS_POLLS: usize = 12_000;

fn client(home: &Path, url: &str) -> Command {
    let mut cmd = ferry(home);
    cmd.env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_ENDPOINT_URL", url)
        .args(["--concurrency", "2", "--part-size", "5MiB"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// A TCP relay that can be slowed down (so a transfer can be killed part-way) and counts the
/// bytes each way.
struct Relay {
    url: String,
    slow: Arc<AtomicBool>,
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
}

fn relay(upstream: SocketAddr) -> Relay {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let slow = Arc::new(AtomicBool::new(true));
    let (up, down) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (s, u, d) = (slow.clone(), up.clone(), down.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(near) = conn else { continue };
            let Ok(far) = TcpStream::connect(upstream) else {
                continue;
            };
            let (near2, far2) = (near.try_clone().unwrap(), far.try_clone().unwrap());
            let (s1, s2, u, d) = (s.clone(), s.clone(), u.clone(), d.clone());
            std::thread::spawn(move || pump(near, far, &u, &s1));
            std::thread::spawn(move || pump(far2, near2, &d, &s2));
        }
    });
    Relay {
        url,
        slow,
        up,
        down,
    }
}

/// Copies until EOF; while `slow`, about 8 MiB/s per direction and connection.
fn pump(mut from: TcpStream, mut to: TcpStream, count: &AtomicU64, slow: &AtomicBool) {
    let mut buffer = vec![0u8; 32 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => {
                if to.write_all(&buffer[..n]).is_err() {
                    let _ = from.shutdown(Shutdown::Both);
                    return;
                }
                count.fetch_add(n as u64, Ordering::SeqCst);
                if slow.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(4));
                }
            }
        }
    }
}

fn pattern(len: u64, seed: u64) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + seed * 7) % 251) as u8)
        .collect()
}

/// How many entries the JSON journal at `path` lists under `field`.
fn journal_entries(path: &Path, field: &str) -> usize {
    std::fs::read(path)
        .ok()
        .and_then(|text| serde_json::from_slice::<serde_json::Value>(&text).ok())
        .and_then(|v| v.get(field).and_then(|f| f.as_object()).map(|m| m.len()))
        .unwrap_or(0)
}

/// The journals in `dir` (a `.json.tmp` a kill cut short is not one).
fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default()
}

/// Starts `cmd`, waits until `progressed()` holds, then SIGKILLs it (it must still be
/// running: the kill has to land mid-transfer).
fn kill_when(cmd: &mut Command, mut progressed: impl FnMut() -> bool) {
    let mut child = cmd.stderr(Stdio::null()).spawn().expect("ferry runs");
    let mut polls = 0;
    while !progressed() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("ferry ended ({status}) before it could be killed");
        }
        polls += 1;
        if polls > PROGRESS_POLLS {
            let _ = child.kill();
            panic!("no progress to interrupt after {PROGRESS_POLLS} checks");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
}

/// `counter` once it has stopped moving (two reads 50 ms apart agree; at most 5 s).
fn settled(counter: &AtomicU64) -> u64 {
    let mut last = counter.load(Ordering::SeqCst);
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(50));
        let now = counter.load(Ordering::SeqCst);
        if now == last {
            return now;
        }
        last = now;
    }
    last
}

fn finish(cmd: &mut Command) {
    let out = cmd.output().expect("ferry runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_upload_killed_mid_way_is_continued_by_the_same_command() {
    let home = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = serve(home.path(), root.path());
    let direct = format!("http://{}", server.addr);
    finish(client(home.path(), &direct).args(["mb", "s3://kill"]));
    let relay = relay(server.addr);
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("big.bin");
    let data = pattern(SIZE, 1);
    std::fs::write(&source, &data).unwrap();
    let state = home.path().join(".local/state/ferry");

    let upload = |home: &Path| {
        let mut cmd = client(home, &relay.url);
        cmd.arg("cp").arg(&source).arg("s3://kill/big.bin");
        cmd
    };
    kill_when(&mut upload(home.path()), || {
        files_in(&state)
            .iter()
            .any(|j| journal_entries(j, "parts") >= 2)
    });
    assert_eq!(files_in(&state).len(), 1, "the journal survives the kill");

    relay.slow.store(false, Ordering::SeqCst);
    // Bytes the kernel took from the killed run before the kill still drain through the
    // relay once it is fast: count the rerun only from when they are through.
    let before = settled(&relay.up);
    finish(&mut upload(home.path()));
    let sent = relay.up.load(Ordering::SeqCst) - before;
    assert!(
        sent < SIZE - PART,
        "the rerun sent {sent} bytes of {SIZE}: the finished parts were sent again"
    );
    assert!(files_in(&state).is_empty(), "the journal is removed");

    let back = work.path().join("back.bin");
    finish(
        client(home.path(), &direct)
            .arg("cp")
            .arg("s3://kill/big.bin")
            .arg(&back),
    );
    assert!(std::fs::read(&back).unwrap() == data, "bytes differ");
}

#[test]
fn a_download_killed_mid_way_is_continued_by_the_same_command() {
    let home = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = serve(home.path(), root.path());
    let direct = format!("http://{}", server.addr);
    finish(client(home.path(), &direct).args(["mb", "s3://kill"]));
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("src.bin");
    let data = pattern(SIZE, 2);
    std::fs::write(&source, &data).unwrap();
    finish(
        client(home.path(), &direct)
            .arg("cp")
            .arg(&source)
            .arg("s3://kill/big.bin"),
    );
    let relay = relay(server.addr);
    let target = work.path().join("down.bin");
    let temp = work.path().join(".down.bin.ferry-part");
    let journal = work.path().join(".down.bin.ferry-part.json");

    let download = || {
        let mut cmd = client(home.path(), &relay.url);
        cmd.arg("cp").arg("s3://kill/big.bin").arg(&target);
        cmd
    };
    kill_when(&mut download(), || journal_entries(&journal, "ranges") >= 2);
    assert!(temp.exists() && journal.exists(), "both survive the kill");
    assert!(!target.exists());

    relay.slow.store(false, Ordering::SeqCst);
    let before = relay.down.load(Ordering::SeqCst);
    finish(&mut download());
    let fetched = relay.down.load(Ordering::SeqCst) - before;
    assert!(
        fetched < SIZE - PART,
        "the rerun fetched {fetched} bytes of {SIZE}: the finished ranges were fetched again"
    );
    assert!(std::fs::read(&target).unwrap() == data, "bytes differ");
    assert!(!temp.exists(), "no temporary file is left");
    assert!(!journal.exists(), "no journal is left");
}
