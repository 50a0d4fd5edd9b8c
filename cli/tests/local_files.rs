//! `ferry cp` and `ferry sync` with local files as they are in the field, against `ferry
//! serve`: a missing directory, symbolic links with and without `--no-follow-symlinks`, a
//! FIFO and standard input as sources, `/dev/null` and a FIFO as targets.

use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, symlink};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

use common::{KEY, SECRET, Server, ferry, serve, text};

/// How many times, 50 ms apart, a command is checked for having ended (30 s) before it is
/// killed and the test fails: a hang is a failure, not a stuck run.
const END_POLLS: usize = 600;

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` to its end (stdin as given), killing it if it outlives the bound.
fn run(cmd: &mut Command, work: &Path, stdin: Option<&[u8]>) -> Ran {
    let (out, err) = (work.join(".stdout"), work.join(".stderr"));
    cmd.stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd.spawn().expect("ferry runs");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input).unwrap();
    }
    let status = (0..END_POLLS).find_map(|_| {
        let done = child.try_wait().unwrap();
        if done.is_none() {
            std::thread::sleep(Duration::from_millis(50));
        }
        done
    });
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("ferry did not end: {}", text(&std::fs::read(&err).unwrap()));
    };
    let ran = Ran {
        code: status.code(),
        stdout: text(&std::fs::read(&out).unwrap()),
        stderr: text(&std::fs::read(&err).unwrap()),
    };
    let _ = std::fs::remove_file(out);
    let _ = std::fs::remove_file(err);
    ran
}

fn client(home: &Path, server: &Server) -> Command {
    let mut cmd = ferry(home);
    cmd.env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_ENDPOINT_URL", &server.url)
        .args(["--part-size", "5MiB"]);
    cmd
}

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success());
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

struct Setup {
    home: tempfile::TempDir,
    _root: tempfile::TempDir,
    work: tempfile::TempDir,
    server: Server,
}

fn setup(bucket: &str) -> Setup {
    let home = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let server = serve(home.path(), root.path());
    let made = run(
        client(home.path(), &server).args(["mb", &format!("s3://{bucket}")]),
        work.path(),
        None,
    );
    assert_eq!(made.code, Some(0), "{}", made.stderr);
    Setup {
        home,
        _root: root,
        work,
        server,
    }
}

impl Setup {
    fn ferry(&self) -> Command {
        let mut cmd = client(self.home.path(), &self.server);
        cmd.current_dir(self.work.path());
        cmd
    }

    fn run(&self, args: &[&str]) -> Ran {
        run(self.ferry().args(args), self.work.path(), None)
    }
}

#[test]
fn cp_r_of_a_missing_directory_fails_naming_it_and_why() {
    let s = setup("walk");
    let out = s.run(&["cp", "-r", "./missing", "s3://walk/p/"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("./missing") && out.stderr.contains("No such file or directory"),
        "{}",
        out.stderr
    );
}

#[test]
fn links_are_followed_unless_no_follow_symlinks_and_then_each_is_named() {
    let s = setup("links");
    let tree = s.work.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("a.txt"), b"alpha").unwrap();
    symlink("a.txt", tree.join("link.txt")).unwrap();
    symlink("gone", tree.join("broken")).unwrap();

    let up = s.run(&["--json", "cp", "-r", "tree", "s3://links/follow/"]);
    // A skip with a warning is exit 1, as a failure is (aws s3 exits non-zero too).
    assert_eq!(up.code, Some(1), "{}", up.stderr);
    let skipped: Vec<serde_json::Value> = up
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "skipped")
        .collect();
    assert_eq!(skipped.len(), 1, "{}", up.stdout);
    assert_eq!(skipped[0]["path"], "tree/broken");
    assert_eq!(skipped[0]["reason"], "broken symbolic link");
    let back = s.run(&["cp", "s3://links/follow/link.txt", "back.txt"]);
    assert_eq!(back.code, Some(0), "{}", back.stderr);
    assert_eq!(
        std::fs::read(s.work.path().join("back.txt")).unwrap(),
        b"alpha"
    );

    let commands: [&[&str]; 2] = [
        &["cp", "-r", "tree", "s3://links/nofollow/"],
        &["sync", "tree", "s3://links/nofollow/"],
    ];
    for command in commands {
        let mut args = vec!["--no-follow-symlinks"];
        args.extend(command);
        let out = s.run(&args);
        assert_eq!(out.code, Some(1), "{command:?}: {}", out.stderr);
        for name in ["tree/link.txt", "tree/broken"] {
            assert!(
                out.stderr
                    .contains(&format!("skipped {name}: symbolic link (not followed)")),
                "{command:?}: {}",
                out.stderr
            );
        }
    }
    let ls = s.run(&["ls", "-r", "s3://links/nofollow/"]);
    assert!(ls.stdout.contains("a.txt") && !ls.stdout.contains("link.txt"));
}

#[test]
fn a_fifo_and_standard_input_are_streamed_up() {
    let s = setup("streams");
    let data = pattern(11 * 1024 * 1024 + 17);
    let fifo = s.work.path().join("pipe");
    mkfifo(&fifo);
    let (path, sent) = (fifo.clone(), data.clone());
    let writer = std::thread::spawn(move || {
        let mut pipe = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        pipe.write_all(&sent).unwrap();
    });
    let up = s.run(&["cp", "pipe", "s3://streams/from-fifo"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    writer.join().unwrap();

    let piped = run(
        s.ferry().args(["cp", "-", "s3://streams/from-stdin"]),
        s.work.path(),
        Some(b"typed on standard input"),
    );
    assert_eq!(piped.code, Some(0), "{}", piped.stderr);
    let nameless = s.run(&["cp", "-", "s3://streams/"]);
    assert_eq!(nameless.code, Some(2), "{}", nameless.stderr);

    for (key, expected) in [
        ("from-fifo", data.as_slice()),
        ("from-stdin", b"typed on standard input".as_slice()),
    ] {
        let back = s.run(&["cp", &format!("s3://streams/{key}"), key]);
        assert_eq!(back.code, Some(0), "{}", back.stderr);
        let got = std::fs::read(s.work.path().join(key)).unwrap();
        assert!(got == expected, "{key}: bytes differ");
    }
}

#[test]
fn downloads_into_dev_null_and_a_fifo_write_through_them() {
    let s = setup("sinks");
    let data = pattern(6 * 1024 * 1024 + 3);
    std::fs::write(s.work.path().join("obj.bin"), &data).unwrap();
    let up = s.run(&["cp", "obj.bin", "s3://sinks/obj.bin"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);

    let null = s.run(&["cp", "s3://sinks/obj.bin", "/dev/null"]);
    assert_eq!(null.code, Some(0), "{}", null.stderr);
    let kind = std::fs::symlink_metadata("/dev/null").unwrap().file_type();
    assert!(kind.is_char_device(), "/dev/null stays a character device");

    let fifo = s.work.path().join("out");
    mkfifo(&fifo);
    let path = fifo.clone();
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        std::fs::File::open(path)
            .unwrap()
            .read_to_end(&mut got)
            .unwrap();
        got
    });
    let down = s.run(&["cp", "s3://sinks/obj.bin", "out"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
    assert!(
        reader.join().unwrap() == data,
        "the FIFO's reader got the object"
    );
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
}

/// `ferry ARGS` in `s`'s setup, run through `sh` with both open-file limits at `limit`, so
/// that ferry cannot raise its soft limit.
fn run_with_open_file_limit(s: &Setup, limit: u32, args: &[&str]) -> Ran {
    let client = s.ferry();
    let mut cmd = Command::new("sh");
    cmd.env_clear()
        .arg("-c")
        .arg(format!("ulimit -n {limit} && exec \"$@\""))
        .arg("sh")
        .arg(common::FERRY)
        .args(client.get_args())
        .args(args)
        .current_dir(s.work.path());
    for (name, value) in client.get_envs() {
        if let Some(value) = value {
            cmd.env(name, value);
        }
    }
    run(&mut cmd, s.work.path(), None)
}

#[test]
fn two_thousand_small_files_go_up_and_down_within_an_open_file_limit_of_700() {
    // 512 requests in flight hold 512 connections and as many files: more than 700
    // descriptors, as on systems whose limit is 1,024 and cannot be raised.
    let s = setup("fds");
    let tree = s.work.path().join("many");
    std::fs::create_dir(&tree).unwrap();
    for i in 0..2000 {
        std::fs::write(tree.join(format!("f{i:04}.bin")), pattern(1000 + i)).unwrap();
    }
    let up = run_with_open_file_limit(&s, 700, &["cp", "-r", "many/", "s3://fds/many/"]);
    assert_eq!(up.code, Some(0), "{}{}", up.stdout, up.stderr);
    assert!(up.stderr.contains("2000 objects, "), "{}", up.stderr);
    // With --concurrency 200 given (fixed, whatever the limit), 200 requests' connections
    // and files fit: the 1,000 files walked ahead of their turn are not open yet.
    let fixed = run_with_open_file_limit(
        &s,
        700,
        &[
            "--concurrency",
            "200",
            "cp",
            "-r",
            "many/",
            "s3://fds/fixed/",
        ],
    );
    assert_eq!(fixed.code, Some(0), "{}{}", fixed.stdout, fixed.stderr);
    assert!(fixed.stderr.contains("2000 objects, "), "{}", fixed.stderr);
    let down = run_with_open_file_limit(&s, 700, &["cp", "-r", "s3://fds/many/", "back/"]);
    assert_eq!(down.code, Some(0), "{}{}", down.stdout, down.stderr);
    let back = s.work.path().join("back");
    assert_eq!(std::fs::read_dir(&back).unwrap().count(), 2000);
    assert_eq!(
        std::fs::read(back.join("f1999.bin")).unwrap(),
        pattern(1000 + 1999)
    );
}
