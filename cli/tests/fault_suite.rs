//! The fault suite: each way a store misbehaves, five runs each, through the `ferry` binary
//! as a user runs it (`cp -r` up, then `cp -r` down) against a real server (the embedded
//! s3s-fs endpoint, which checks every signature and Content-MD5) behind a fault-injecting
//! proxy. After every run the store and the disk are inspected directly:
//!
//! - every file and object is byte-identical to its source, or the command failed (exit 1)
//!   and its stderr names the object, which is then absent at the destination;
//! - no file is left half-written under its final name, and no temporary file
//!   (`.NAME.ferry-part`, journals, `*.tmp`) is left in the target directory;
//! - no multipart upload is left open on the store.
//!
//! The faults are recoverable, so each run must in fact succeed; only the full disk must fail,
//! loudly.

mod common;

use common::text;
use ferry::s3::S3Client;
use ferry_tests::embedded::Embedded;
use ferry_tests::fault_proxy::{Fault, FaultProxy, Outage};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// Runs of each fault.
const RUNS: usize = 5;
const BUCKET: &str = "faults";
const MIB: usize = 1024 * 1024;
/// How many times, 5 ms apart, to look for the requests after which an outage begins (a
/// bound, not a speed requirement).
const REQUEST_POLLS: usize = 20_000;

/// The files one run moves: an object of three parts and a bit (5 MiB parts), and small ones.
fn tree(seed: usize) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![("big.bin".to_string(), pattern(3 * 5 * MIB + 4321, seed))];
    for i in 0..6 {
        let name = format!("small/{i}.txt");
        files.push((name, pattern(1000 + i * 7919, seed * 31 + i)));
    }
    files
}

fn pattern(len: usize, seed: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 131 + seed * 17 + i / 4099) % 251) as u8)
        .collect()
}

/// When, during a command, the store goes away.
#[derive(Clone, Copy)]
struct Restart {
    /// After how many requests of the command.
    after_requests: usize,
    /// For how long.
    down_for: Duration,
    /// Refused or reset connections.
    how: Outage,
}

/// One fault: how to arm the proxy before the upload and before the download.
struct Case {
    /// Extra flags for both commands.
    flags: &'static [&'static str],
    up: fn(&FaultProxy),
    down: fn(&FaultProxy),
    /// A store restart in the middle of each command.
    restart: Option<Restart>,
}

fn nothing(_: &FaultProxy) {}

fn is_part(parts: &http::request::Parts, number: u32) -> bool {
    parts.method == http::Method::PUT
        && parts
            .uri
            .query()
            .is_some_and(|q| q.split('&').any(|kv| kv == format!("partNumber={number}")))
}

fn is_range_of_big(parts: &http::request::Parts) -> bool {
    parts.method == http::Method::GET
        && parts.uri.path().ends_with("/big.bin")
        && parts.headers.contains_key(http::header::RANGE)
}

/// The embedded store behind a fault proxy, and the keys the `ferry` commands sign with.
struct Bench {
    server: Embedded,
    proxy: FaultProxy,
    direct: S3Client,
}

impl Bench {
    async fn start() -> Self {
        let server = Embedded::start("127.0.0.1:0").await;
        let direct = server.client();
        direct.create_bucket(BUCKET, None).await.expect("bucket");
        let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
        Self {
            server,
            proxy,
            direct,
        }
    }

    fn ferry(&self, home: &Path, flags: &[&str], args: &[&str]) -> Command {
        let credentials = self.server.endpoint.credentials();
        let mut cmd = common::ferry(home);
        cmd.env("AWS_ACCESS_KEY_ID", credentials.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key())
            .env("AWS_ENDPOINT_URL", self.proxy.url())
            .args(["--part-size", "5MiB", "--stall-timeout", "1"])
            .args(flags)
            .args(args);
        cmd
    }

    /// Runs a command to the end; with a `restart`, takes the store away once the command
    /// has made that many requests.
    async fn run(&self, mut cmd: Command, restart: Option<Restart>) -> Output {
        let before = self.proxy.requests_seen();
        let child = tokio::task::spawn_blocking(move || cmd.output().expect("ferry runs"));
        if let Some(restart) = restart {
            for _ in 0..REQUEST_POLLS {
                if self.proxy.requests_seen() >= before + restart.after_requests
                    || child.is_finished()
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            self.proxy.outage(restart.down_for, restart.how);
        }
        let output = child.await.expect("the command's thread");
        self.proxy.clear();
        self.proxy.clear_filter();
        output
    }

    /// The multipart uploads open on the store, asked directly.
    async fn open_uploads(&self) -> Vec<String> {
        let page = self
            .direct
            .list_multipart_uploads(BUCKET, None, None)
            .await
            .expect("ListMultipartUploads");
        page.uploads.into_iter().map(|u| u.key).collect()
    }
}

/// Files under `dir` whose names say they are temporary: a download's `.NAME.ferry-part`,
/// its journal, or anything `*.tmp`.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                stack.push(path);
            } else if name.contains(".ferry-part") || name.ends_with(".tmp") {
                found.push(path);
            }
        }
    }
    found
}

/// What a command did, checked: it succeeded and every object is exact, or it failed, named
/// each missing object, and left nothing of them.
fn judge(
    what: &str,
    output: &Output,
    present: &[(String, Option<Vec<u8>>)],
    expected: &[(String, Vec<u8>)],
) {
    let stderr = text(&output.stderr);
    for ((name, bytes), (_, got)) in expected.iter().zip(present) {
        match got {
            Some(got) => assert!(
                got == bytes,
                "{what}: {name} is not byte-identical\n{stderr}"
            ),
            None => {
                assert!(
                    !output.status.success(),
                    "{what}: {name} is missing, exit 0\n{stderr}"
                );
                assert!(
                    stderr.contains(name.as_str()),
                    "{what}: {name} is missing and not named\n{stderr}"
                );
            }
        }
    }
}

/// Five runs of one fault: `cp -r` up, then `cp -r` down, each judged.
async fn five_runs(case: Case) {
    let bench = Bench::start().await;
    let home = tempfile::tempdir().unwrap();
    for run in 0..RUNS {
        let work = tempfile::tempdir().unwrap();
        let (source, target) = (work.path().join("src"), work.path().join("out"));
        let files = tree(run);
        for (name, bytes) in &files {
            let path = source.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, bytes).unwrap();
        }
        let prefix = format!("s3://{BUCKET}/run-{run}/");

        (case.up)(&bench.proxy);
        let up = bench.ferry(
            home.path(),
            case.flags,
            &["cp", "-r", source.to_str().unwrap(), &prefix],
        );
        let output = bench.run(up, case.restart).await;
        let mut stored = Vec::new();
        for (name, _) in &files {
            let key = format!("run-{run}/{name}");
            stored.push((
                name.clone(),
                bench
                    .direct
                    .get_object_bytes(BUCKET, &key)
                    .await
                    .ok()
                    .map(|b| b.to_vec()),
            ));
        }
        let what = format!("run {run}, upload");
        judge(&what, &output, &stored, &files);
        assert!(
            output.status.success(),
            "{what}: a recoverable fault failed the command\n{}",
            text(&output.stderr)
        );
        assert_eq!(
            bench.open_uploads().await,
            Vec::<String>::new(),
            "{what}: uploads left open"
        );

        (case.down)(&bench.proxy);
        let down = bench.ferry(
            home.path(),
            case.flags,
            &["cp", "-r", &prefix, target.to_str().unwrap()],
        );
        let output = bench.run(down, case.restart).await;
        let landed: Vec<_> = files
            .iter()
            .map(|(name, _)| (name.clone(), std::fs::read(target.join(name)).ok()))
            .collect();
        let what = format!("run {run}, download");
        judge(&what, &output, &landed, &files);
        assert!(
            output.status.success(),
            "{what}: a recoverable fault failed the command\n{}",
            text(&output.stderr)
        );
        assert_eq!(
            leftovers(&target),
            Vec::<PathBuf>::new(),
            "{what}: temporary files left"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_the_requests_throttled_for_two_seconds() {
    fn window(proxy: &FaultProxy) {
        proxy.fault_window(Duration::from_secs(2), Fault::slow_down(), 2);
    }
    five_runs(Case {
        flags: &[],
        up: window,
        down: window,
        restart: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_restarting_for_three_seconds_mid_transfer() {
    let restart = Restart {
        after_requests: 3,
        down_for: Duration::from_secs(3),
        how: Outage::Refuse,
    };
    five_runs(Case {
        flags: &[],
        up: nothing,
        down: nothing,
        restart: Some(restart),
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_balancer_resetting_every_connection_for_three_seconds() {
    let restart = Restart {
        after_requests: 3,
        down_for: Duration::from_secs(3),
        how: Outage::Reset,
    };
    five_runs(Case {
        flags: &[],
        up: nothing,
        down: nothing,
        restart: Some(restart),
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_reset_and_bodies_cut_short_now_and_then() {
    fn resets(proxy: &FaultProxy) {
        proxy.fault_window(Duration::from_secs(2), Fault::ResetBeforeResponse, 4);
    }
    fn cuts(proxy: &FaultProxy) {
        proxy.fault_window(
            Duration::from_secs(2),
            Fault::TruncateBody {
                after_bytes: 100_000,
            },
            3,
        );
    }
    five_runs(Case {
        flags: &[],
        up: resets,
        down: cuts,
        restart: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_whose_bytes_stop_halfway() {
    fn stall(proxy: &FaultProxy) {
        proxy.set_filter(is_range_of_big);
        proxy.push([Fault::StallResponse {
            after_bytes: 2 * MIB + 1000,
        }]);
    }
    five_runs(Case {
        flags: &[],
        up: nothing,
        down: stall,
        restart: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_upload_whose_bytes_stop() {
    fn stall(proxy: &FaultProxy) {
        proxy.set_filter(|p| is_part(p, 2));
        proxy.push([Fault::StallRequest { after_bytes: 0 }]);
    }
    five_runs(Case {
        flags: &[],
        up: stall,
        down: nothing,
        restart: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_answered_200_with_an_error_and_a_part_answered_bad_digest() {
    fn faults(proxy: &FaultProxy) {
        proxy.set_filter(|p| {
            is_part(p, 3)
                || (p.method == http::Method::POST
                    && p.uri.query().is_some_and(|q| q.contains("uploadId=")))
        });
        // Part 3, then part 3 sent again, then CompleteMultipartUpload.
        proxy.push([
            Fault::Status { status: 400, code: "BadDigest", message: "The Content-MD5 or checksum value that you specified did not match what the server received." },
            Fault::Pass,
            Fault::OkWithError { code: "InternalError", message: "We encountered an internal error. Please try again." },
        ]);
    }
    five_runs(Case {
        flags: &[],
        up: faults,
        down: nothing,
        restart: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_to_create_multipart_upload_lost_after_the_store_acted_on_it() {
    fn lose(proxy: &FaultProxy) {
        proxy.set_filter(|p| {
            p.method == http::Method::POST
                && p.uri
                    .query()
                    .is_some_and(|q| q.split('&').any(|kv| kv == "uploads" || kv == "uploads="))
        });
        // Forwarded (the store starts an upload), then the answer is cut off.
        proxy.push([Fault::TruncateBody { after_bytes: 0 }]);
    }
    five_runs(Case {
        flags: &[],
        up: lose,
        down: nothing,
        restart: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_to_complete_multipart_upload_lost_after_the_store_completed_it() {
    fn lose(proxy: &FaultProxy) {
        proxy.set_filter(|p| {
            p.method == http::Method::POST && p.uri.query().is_some_and(|q| q.contains("uploadId="))
        });
        // Forwarded (the store completes the object), then the answer is cut off: the
        // retry finds no such upload, because it is done.
        proxy.push([Fault::TruncateBody { after_bytes: 0 }]);
    }
    five_runs(Case {
        flags: &[],
        up: lose,
        down: nothing,
        restart: None,
    })
    .await;
}

/// A flipped bit in the first answers for the multipart object's ranges and for one small
/// object.
fn flips(proxy: &FaultProxy) {
    proxy.set_filter(|p| {
        is_range_of_big(p) || (p.method == http::Method::GET && p.uri.path().ends_with("/0.txt"))
    });
    proxy.push([
        Fault::FlipByte { offset: 1000 },
        Fault::FlipByte { offset: 3 * MIB },
        Fault::FlipByte { offset: 10 },
    ]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_bits_in_objects_with_a_stored_checksum() {
    five_runs(Case {
        flags: &[],
        up: nothing,
        down: flips,
        restart: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_bits_in_objects_without_a_stored_checksum() {
    let flags = &["--checksum-algorithm", "none"];
    five_runs(Case {
        flags,
        up: nothing,
        down: flips,
        restart: None,
    })
    .await;
}

/// Whether this process may make a mount namespace with a tmpfs of its own (root, or the
/// capability): the full-disk case needs a small file system.
fn can_mount_tmpfs() -> Result<(), String> {
    let probe = tempfile::tempdir().unwrap();
    let output = Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            "mount -t tmpfs -o size=1m tmpfs \"$1\"",
            "sh",
        ])
        .arg(probe.path())
        .output()
        .map_err(|e| format!("unshare: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(text(&output.stderr))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_that_fills_up_fails_the_large_download_loudly_and_leaves_nothing_of_it() {
    if let Err(why) = can_mount_tmpfs() {
        eprintln!("skipped: no tmpfs can be mounted here to fill up ({why})");
        return;
    }
    let bench = Bench::start().await;
    let home = tempfile::tempdir().unwrap();
    for run in 0..RUNS {
        let files = tree(run);
        for (name, bytes) in &files {
            let body = ferry::http::RequestBody::bytes(bytes::Bytes::from(bytes.clone()));
            let key = format!("run-{run}/{name}");
            let options = ferry::s3::PutOptions::default();
            bench
                .direct
                .put_object(BUCKET, &key, body, &options)
                .await
                .unwrap();
        }
        // An 8 MiB file system for a 16 MiB object and small ones: the small ones fit.
        let mountpoint = tempfile::tempdir().unwrap();
        let prefix = format!("s3://{BUCKET}/run-{run}/");
        let script = "mount -t tmpfs -o size=8m tmpfs \"$1\" || exit 99; shift; \"$@\"; rc=$?; \
                      echo \"== rc=$rc\"; cd \"$MOUNTED\" && find . -type f -exec sh -c 'printf \"%s %s\\n\" \"$1\" \"$(md5sum < \"$1\" | cut -d\" \" -f1)\"' _ {} \\;";
        let ferry_cmd = bench.ferry(
            home.path(),
            &[],
            &["cp", "-r", &prefix, mountpoint.path().to_str().unwrap()],
        );
        // The same command, run inside a mount namespace whose target is the small tmpfs;
        // the script then lists what is left there, with MD5s.
        let mut cmd = Command::new("unshare");
        cmd.args(["-m", "sh", "-c", script, "sh"])
            .arg(mountpoint.path())
            .arg(ferry_cmd.get_program())
            .args(ferry_cmd.get_args())
            .env_clear()
            .envs(ferry_cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .env("MOUNTED", mountpoint.path());
        let output = bench.run(cmd, None).await;
        let stdout = text(&output.stdout);
        let stderr = text(&output.stderr);
        let what = format!("run {run}");
        assert!(
            stdout.contains("== rc=1"),
            "{what}: the command did not fail with 1\n{stdout}\n{stderr}"
        );
        assert!(
            stderr.contains("big.bin"),
            "{what}: the object that did not fit is not named\n{stderr}"
        );
        let listed: Vec<(&str, &str)> = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("./")?.split_once(' '))
            .collect();
        for (name, md5) in &listed {
            let expected = files.iter().find(|(n, _)| n == name);
            let Some((_, bytes)) = expected else {
                panic!("{what}: {name} was left on the full disk\n{stdout}");
            };
            let digest = ferry::s3::etag::md5_of_bytes(bytes);
            assert_eq!(*md5, digest, "{what}: {name} is not byte-identical");
        }
        assert!(
            !listed.iter().any(|(n, _)| *n == "big.bin"),
            "{what}: a partial big.bin\n{stdout}"
        );
        assert!(
            !listed.is_empty(),
            "{what}: nothing fitted\n{stdout}\n{stderr}"
        );
    }
}
