//! `aws s3` semantics that keep data safe, through the binary against `ferry serve`: what
//! `rm -r` and `rm BUCKET` touch, `rb --force`, `mv`, filters on `cp -r`, `rm -r` and `sync`,
//! every deletion and failure named (stderr and `--json`), a closed stdout, SIGTERM.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod common;

use common::{Server, client, ferry, run, serve, text};

/// A server with bucket `semantics` holding `keys` (each object's body is its key).
struct Fixture {
    home: tempfile::TempDir,
    _root: tempfile::TempDir,
    server: Server,
}

impl Fixture {
    fn new(keys: &[&str]) -> Self {
        let home = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        let server = serve(home.path(), root.path());
        let fixture = Self {
            home,
            _root: root,
            server,
        };
        assert!(fixture.ferry(&["mb", "s3://semantics"]).status.success());
        let src = tempfile::tempdir().unwrap();
        for key in keys {
            let path = src.path().join(key);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, key).unwrap();
        }
        let out = fixture.ferry_with(|c| {
            c.args(["cp", "-r"]).arg(src.path()).arg("s3://semantics/");
        });
        assert!(out.status.success(), "{}", text(&out.stderr));
        fixture
    }

    fn ferry(&self, args: &[&str]) -> Output {
        self.ferry_with(|c| {
            c.args(args);
        })
    }

    fn ferry_with(&self, build: impl FnOnce(&mut Command)) -> Output {
        let mut cmd = client(self.home.path(), &self.server);
        build(&mut cmd);
        run(&mut cmd)
    }

    fn keys(&self) -> BTreeSet<String> {
        let out = self.ferry(&["--json", "ls", "-r", "s3://semantics/"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter_map(|v| v["key"].as_str().map(str::to_owned))
            .collect()
    }
}

fn set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| (*k).to_owned()).collect()
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn rm_r_of_a_prefix_without_slash_spares_its_siblings_and_lists_each_deletion() {
    let f = Fixture::new(&[
        "logs/a",
        "logs/b/c",
        "logs-archive/a",
        "logs2024/a",
        "other",
    ]);
    let out = f.ferry(&["rm", "-r", "s3://semantics/logs"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed: BTreeSet<String> = text(&out.stdout)
        .lines()
        .map(|l| l.strip_prefix("delete: ").unwrap().to_owned())
        .collect();
    assert_eq!(
        listed,
        set(&["s3://semantics/logs/a", "s3://semantics/logs/b/c"])
    );
    assert_eq!(f.keys(), set(&["logs-archive/a", "logs2024/a", "other"]));
}

#[test]
fn rm_of_a_bare_bucket_is_refused_with_a_hint_and_deletes_nothing() {
    let f = Fixture::new(&["keep"]);
    let out = f.ferry(&["rm", "s3://semantics"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("names a bucket"), "{stderr}");
    assert!(stderr.contains("rb --force"), "{stderr}");
    assert_eq!(f.keys(), set(&["keep"]));
    assert!(f.ferry(&["ls", "s3://semantics/"]).status.success());
}

#[test]
fn filters_on_rm_r_match_across_slashes_and_dry_run_deletes_nothing() {
    let f = Fixture::new(&["sub/deep/er/x.log", "sub/y.txt", "top.log", "top.txt"]);
    let out = f.ferry(&[
        "--json",
        "rm",
        "-r",
        "s3://semantics/",
        "--exclude",
        "*",
        "--include",
        "*.log",
        "--dryrun",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let would: BTreeSet<String> = json_lines(&out)
        .iter()
        .filter(|v| v["type"] == "deleted")
        .map(|v| {
            assert_eq!(v["dry_run"], true);
            v["path"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        would,
        set(&["s3://semantics/sub/deep/er/x.log", "s3://semantics/top.log"])
    );
    assert_eq!(f.keys().len(), 4, "a dry run deletes nothing");

    let out = f.ferry(&["rm", "-r", "s3://semantics/", "--exclude", "sub/*"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(f.keys(), set(&["sub/deep/er/x.log", "sub/y.txt"]));
}

#[test]
fn cp_r_takes_include_and_exclude_in_command_line_order() {
    let f = Fixture::new(&[]);
    let src = tempfile::tempdir().unwrap();
    for name in ["a.txt", "b.bin", "sub/deep/c.txt", "sub/d.bin"] {
        let path = src.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, name).unwrap();
    }
    let out = f.ferry_with(|c| {
        c.args(["cp", "-r"]).arg(src.path()).args([
            "s3://semantics/up",
            "--exclude",
            "*",
            "--include",
            "*.txt",
        ]);
    });
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(f.keys(), set(&["up/a.txt", "up/sub/deep/c.txt"]));

    let back = tempfile::tempdir().unwrap();
    let out = f.ferry_with(|c| {
        c.args(["cp", "-r", "s3://semantics/up"])
            .arg(back.path())
            .args(["--exclude", "sub/*"]);
    });
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(back.path().join("a.txt").is_file());
    assert!(!back.path().join("sub").exists());
}

#[test]
fn a_bad_filter_pattern_is_a_usage_error_naming_it() {
    let home = tempfile::tempdir().unwrap();
    let out =
        run(ferry(home.path()).args(["cp", "-r", ".", "s3://semantics/x", "--exclude", "[z-a]"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("`[z-a]`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn mv_deletes_each_source_only_after_its_copy_and_refuses_a_move_onto_itself() {
    let f = Fixture::new(&["in/a", "in/b/c", "keep/d"]);
    let out = f.ferry(&["mv", "-r", "s3://semantics/in", "s3://semantics/out/"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(f.keys(), set(&["keep/d", "out/a", "out/b/c"]));
    assert_eq!(
        text(&out.stdout)
            .matches("delete: s3://semantics/in/")
            .count(),
        2
    );

    let out = f.ferry(&["mv", "s3://semantics/keep/d", "s3://semantics/keep/d"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(f.keys(), set(&["keep/d", "out/a", "out/b/c"]));

    let local = tempfile::tempdir().unwrap();
    let out = f.ferry_with(|c| {
        c.args(["mv", "-r", "s3://semantics/out/"])
            .arg(local.path());
    });
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(local.path().join("b/c")).unwrap(), b"in/b/c");
    assert_eq!(f.keys(), set(&["keep/d"]));

    let out = f.ferry_with(|c| {
        c.args(["mv", "-r"])
            .arg(local.path())
            .arg("s3://semantics/again/");
    });
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!local.path().join("a").exists() && !local.path().join("b/c").exists());
    assert_eq!(f.keys(), set(&["again/a", "again/b/c", "keep/d"]));
}

#[test]
fn a_failed_copy_leaves_its_source_in_place_on_mv() {
    let f = Fixture::new(&[]);
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("precious");
    std::fs::write(&file, b"data").unwrap();
    let out = f.ferry_with(|c| {
        c.arg("mv").arg(&file).arg("s3://no-such-bucket-here/k");
    });
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("NoSuchBucket"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"data");
}

#[test]
fn rb_force_deletes_every_object_then_the_bucket() {
    let f = Fixture::new(&["a", "b/c"]);
    let out = f.ferry(&["rb", "s3://semantics"]);
    assert_ne!(out.status.code(), Some(0), "a bucket with objects stays");
    let out = f.ferry(&["rb", "--force", "s3://semantics"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).matches("delete: ").count(), 2);
    let out = f.ferry(&["ls"]);
    assert!(!text(&out.stdout).contains("semantics"));
}

#[test]
fn a_missing_source_directory_is_named_with_its_reason_in_text_and_json() {
    let f = Fixture::new(&[]);
    let out = f.ferry(&["cp", "-r", "/nonexistent/ferry-dir", "s3://semantics/x/"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("/nonexistent/ferry-dir") && stderr.contains("No such file"),
        "{stderr}"
    );
    let out = f.ferry(&[
        "--json",
        "cp",
        "-r",
        "/nonexistent/ferry-dir",
        "s3://semantics/x/",
    ]);
    let failed: Vec<_> = json_lines(&out)
        .into_iter()
        .filter(|v| v["type"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{}", text(&out.stdout));
    assert!(failed[0]["path"].as_str().unwrap().contains("ferry-dir"));
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("No such file")
    );
}

#[test]
fn a_reader_closing_stdout_ends_ls_quietly() {
    let keys: Vec<String> = (0..30).map(|i| format!("k{i:03}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let f = Fixture::new(&refs);
    let mut child = client(f.home.path(), &f.server)
        .args(["ls", "-r", "s3://semantics/"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The pipe's reader is gone now, as after `| head -1`.
    let out = child.wait_with_output().unwrap();
    assert!(first.contains("k000"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("panic"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_reader_closing_stdout_ends_a_download_to_stdout_quietly() {
    let f = Fixture::new(&[]);
    let work = tempfile::tempdir().unwrap();
    let big = work.path().join("big.bin");
    std::fs::write(&big, vec![b'x'; 8 * 1024 * 1024]).unwrap();
    let put = f.ferry(&["cp", big.to_str().unwrap(), "s3://semantics/big.bin"]);
    assert!(put.status.success(), "{}", text(&put.stderr));
    let mut child = client(f.home.path(), &f.server)
        .args(["cp", "s3://semantics/big.bin", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    // The pipe's reader is gone now (dropped above), as after `| head -c 10`.
    let out = child.wait_with_output().unwrap();
    assert_eq!(&head, b"xxxxxxxxxx");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{:?}: {stderr}", out.status);
    assert!(
        !stderr.contains("failed:") && !stderr.contains("Broken pipe") && !stderr.contains("panic"),
        "{stderr}"
    );
    assert!(
        stderr.contains("stopped: the reader of standard output closed it")
            && !stderr.contains("0 objects"),
        "{stderr}"
    );
}

#[test]
fn sigterm_during_an_upload_aborts_it_says_so_and_exits_143() {
    let f = Fixture::new(&[]);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("dir");
    std::fs::create_dir(&dir).unwrap();
    let big = dir.join("big.bin");
    std::fs::write(&big, vec![7u8; 24 * 1024 * 1024]).unwrap();
    let commands: [(&str, &std::path::Path, &str); 2] = [
        ("cp", &big, "s3://semantics/big.bin"),
        ("sync", &dir, "s3://semantics/synced/"),
    ];
    for (command, source, destination) in commands {
        let child = client(f.home.path(), &f.server)
            .args(["--max-bandwidth", "4MiB/s", "--part-size", "5MiB", command])
            .arg(source)
            .arg(destination)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Bounded wait until the multipart upload is open on the server.
        let open = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(100));
            uploads_open(&f) > 0
        });
        assert!(open, "{command}: the upload never started");
        let pid = child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(143),
            "{command}: {}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("interrupted by SIGTERM")
                && stderr.contains("aborted 1 open multipart upload")
                && !stderr.contains("partial download")
                && !stderr.contains("again"),
            "{command}: {stderr}"
        );
        assert_eq!(
            uploads_open(&f),
            0,
            "{command}: the multipart upload was aborted"
        );
        assert!(f.keys().is_empty(), "{command}");
    }
}

/// Multipart uploads open on the server: `ferry serve` keeps one `.upload-ID.json` in its
/// root for each (engine/src/serve/uploads.rs).
fn uploads_open(f: &Fixture) -> usize {
    std::fs::read_dir(f._root.path())
        .unwrap()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(".upload-") && name.ends_with(".json")
        })
        .count()
}

#[test]
fn uploads_left_open_are_listed_and_aborted_by_age() {
    let f = Fixture::new(&[]);
    let work = tempfile::tempdir().unwrap();
    let big = work.path().join("big.bin");
    std::fs::write(&big, vec![3u8; 12 * 1024 * 1024]).unwrap();
    // An upload left open: the client is killed once its multipart upload exists.
    let mut child = client(f.home.path(), &f.server)
        .args(["--max-bandwidth", "1MiB/s", "--part-size", "5MiB", "cp"])
        .arg(&big)
        .arg("s3://semantics/left/big.bin")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let open = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        uploads_open(&f) > 0
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(open, "the upload never started");

    let out = f.ferry(&["--json", "uploads", "ls", "s3://semantics/"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = json_lines(&out);
    assert_eq!(listed.len(), 1, "{}", text(&out.stdout));
    assert_eq!(listed[0]["key"], "left/big.bin");

    // Younger than a day: kept.
    let out = f.ferry(&["uploads", "abort", "s3://semantics/", "--older-than", "1d"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(uploads_open(&f), 1);
    let out = f.ferry(&["uploads", "abort", "s3://semantics/", "--dry-run"]);
    assert!(text(&out.stdout).contains("(dry run) delete: s3://semantics/left/big.bin"));
    assert_eq!(uploads_open(&f), 1);
    let out = f.ferry(&["uploads", "abort", "s3://semantics/"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("deleted 1 multipart uploads"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(uploads_open(&f), 0);
}

#[test]
fn each_failed_object_of_a_directory_upload_is_named_exactly_once() {
    let f = Fixture::new(&[]);
    let src = tempfile::tempdir().unwrap();
    for name in ["a", "b", "c/d"] {
        let path = src.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, name).unwrap();
    }
    let out = f.ferry_with(|c| {
        c.args(["cp", "-r"])
            .arg(src.path())
            .arg("s3://no-such-bucket-here/p/");
    });
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let lines = stderr.lines().filter(|l| l.starts_with("failed: ")).count();
    assert_eq!(lines, 3, "{stderr}");
    for key in ["p/a", "p/b", "p/c/d"] {
        assert_eq!(
            stderr
                .matches(&format!("s3://no-such-bucket-here/{key}:"))
                .count(),
            1,
            "{stderr}"
        );
    }
}

#[test]
fn an_object_copied_to_dash_streams_to_standard_output_byte_for_byte() {
    let f = Fixture::new(&[]);
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("data.bin");
    let data: Vec<u8> = (0..(9 * 1024 * 1024 + 17))
        .map(|i| (i % 251) as u8)
        .collect();
    std::fs::write(&source, &data).unwrap();
    let out = f.ferry_with(|c| {
        c.arg("cp").arg(&source).arg("s3://semantics/data.bin");
    });
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = f.ferry(&["cp", "s3://semantics/data.bin", "-"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        out.stdout == data,
        "standard output holds the object's bytes"
    );

    // Redirected to a file, the bytes land in it.
    let redirected = work.path().join("out.bin");
    let file = std::fs::File::create(&redirected).unwrap();
    let status = client(f.home.path(), &f.server)
        .args(["cp", "s3://semantics/data.bin", "-"])
        .stdout(file)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(std::fs::read(&redirected).unwrap() == data);

    for refused in [
        vec!["cp", "-r", "s3://semantics/", "-"],
        vec!["mv", "s3://semantics/data.bin", "-"],
        vec!["--json", "cp", "s3://semantics/data.bin", "-"],
    ] {
        let out = f.ferry(&refused);
        assert_eq!(out.status.code(), Some(2), "{refused:?}");
        assert!(out.stdout.is_empty(), "{refused:?}");
    }
    assert!(f.keys().contains("data.bin"), "nothing was moved");
}
