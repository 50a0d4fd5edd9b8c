//! Parity with `aws s3`: the AWS CLI (from PyPI) and ferry run the same command on the same
//! tree against the same SeaweedFS, each into a bucket of its own, and what they leave behind
//! (keys and sizes, local files, deletions) must be the same. Started by `scripts/interop.sh`,
//! which sets `FERRY_INTEROP_*` and `FERRY_AWS_CLI`; not part of a plain `cargo test`.
//!
//! Where ferry differs on purpose (exit codes, output wording), docs/usage.md says so; those
//! are not compared here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

mod common;

use common::{ferry, text};

fn var(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run these tests through scripts/interop.sh"))
}

/// Which tool runs a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Aws,
    Ferry,
}

/// One test's world: a home directory without AWS files, and a place per tool: a prefix of
/// its own in the tool's bucket. The two buckets are made once for all tests (each bucket is
/// a SeaweedFS collection with volumes of its own: a pair per test wore it out under load).
struct World {
    home: tempfile::TempDir,
    aws_bucket: String,
    ferry_bucket: String,
}

/// The two buckets, made by the first test that needs them.
static BUCKETS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();

impl World {
    fn new(name: &str) -> Self {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let home = tempfile::tempdir().unwrap();
        let (aws, ferry) = BUCKETS.get_or_init(|| {
            let id = std::process::id();
            let made = Self {
                home: tempfile::tempdir().unwrap(),
                aws_bucket: format!("parity-aws-{id}"),
                ferry_bucket: format!("parity-ferry-{id}"),
            };
            for bucket in [&made.aws_bucket, &made.ferry_bucket] {
                made.ok(Tool::Ferry, &["mb", &format!("s3://{bucket}")]);
            }
            (made.aws_bucket, made.ferry_bucket)
        });
        Self {
            home,
            aws_bucket: format!("{aws}/{name}-{n}"),
            ferry_bucket: format!("{ferry}/{name}-{n}"),
        }
    }

    /// The tool's place: `bucket/prefix`, what `{B}` stands for.
    fn bucket(&self, tool: Tool) -> &str {
        match tool {
            Tool::Aws => &self.aws_bucket,
            Tool::Ferry => &self.ferry_bucket,
        }
    }

    /// The tool's command with the admin keys and the endpoint.
    fn command(&self, tool: Tool) -> Command {
        let mut cmd = match tool {
            Tool::Aws => {
                let mut cmd = Command::new(var("FERRY_AWS_CLI"));
                cmd.env_clear()
                    .env("HOME", self.home.path())
                    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                    .args(["--endpoint-url", &var("FERRY_INTEROP_ENDPOINT"), "s3"]);
                cmd
            }
            Tool::Ferry => {
                let mut cmd = ferry(self.home.path());
                cmd.env("AWS_ENDPOINT_URL", var("FERRY_INTEROP_ENDPOINT"));
                cmd
            }
        };
        cmd.env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ACCESS_KEY_ID", var("FERRY_INTEROP_ADMIN_KEY"))
            .env("AWS_SECRET_ACCESS_KEY", var("FERRY_INTEROP_ADMIN_SECRET"))
            .env("AWS_DEFAULT_REGION", var("FERRY_INTEROP_REGION"));
        cmd
    }

    /// Runs `args` (with `{B}` standing for the tool's bucket) under `tool`.
    fn run(&self, tool: Tool, args: &[&str]) -> Output {
        let bucket = self.bucket(tool);
        let args: Vec<String> = args.iter().map(|a| a.replace("{B}", bucket)).collect();
        self.command(tool).args(&args).output().expect("runs")
    }

    fn ok(&self, tool: Tool, args: &[&str]) -> Output {
        let out = self.run(tool, args);
        assert!(
            out.status.success(),
            "{tool:?} {args:?}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        out
    }

    /// Runs `args` under both tools; both must succeed.
    fn both(&self, args: &[&str]) {
        self.ok(Tool::Aws, args);
        self.ok(Tool::Ferry, args);
    }

    /// Every key under the tool's place with its size, relative to the place.
    fn objects(&self, tool: Tool) -> BTreeMap<String, u64> {
        let out = self.ok(
            Tool::Ferry,
            &[
                "--json",
                "ls",
                "-r",
                &format!("s3://{}/", self.bucket(tool)),
            ],
        );
        let prefix = format!(
            "{}/",
            self.bucket(tool).split_once('/').map_or("", |(_, p)| p)
        );
        text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter_map(|v| {
                let key = v["key"].as_str()?.strip_prefix(&prefix)?.to_owned();
                Some((key, v["size"].as_u64()?))
            })
            .collect()
    }

    /// Both buckets hold the same keys with the same sizes; returns them.
    fn same_objects(&self, what: &str) -> BTreeMap<String, u64> {
        let aws = self.objects(Tool::Aws);
        assert_eq!(
            self.objects(Tool::Ferry),
            aws,
            "{what}: ferry differs from aws s3"
        );
        aws
    }
}

/// Files below `dir` (relative path with `/` → size); symbolic links are not followed.
fn local_files(dir: &Path) -> BTreeMap<String, u64> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                let rel = entry.path().strip_prefix(dir).unwrap().to_owned();
                let rel = rel.to_string_lossy().replace('\\', "/");
                found.insert(rel, entry.metadata().unwrap().len());
            }
        }
    }
    found
}

/// A tree with nested directories, names with spaces and non-ASCII letters, `logs`,
/// `logs-archive` and `logs2024` side by side, a link to a file and one to a directory.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let files: &[(&str, usize)] = &[
        ("a.txt", 1),
        ("b.log", 20),
        ("sub/c.txt", 300),
        ("sub/deep/er/x.log", 4000),
        ("logs/1.log", 5),
        ("logs/2/3.txt", 6),
        ("logs-archive/old.log", 7),
        ("logs2024/new.log", 8),
        ("with space/n ü.txt", 9),
        ("brackets[1].txt", 10),
    ];
    for (name, size) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, vec![b'z'; *size]).unwrap();
    }
    std::os::unix::fs::symlink("a.txt", dir.path().join("link-to-file")).unwrap();
    std::os::unix::fs::symlink("sub", dir.path().join("link-to-dir")).unwrap();
    dir
}

fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[test]
fn cp_r_of_a_tree_with_links_uploads_the_same_keys() {
    let w = World::new("cpr");
    let src = tree();
    w.both(&["cp", "--recursive", &path_arg(src.path()), "s3://{B}/up/"]);
    let keys = w.same_objects("cp -r");
    assert!(keys.contains_key("up/link-to-file") && keys.contains_key("up/link-to-dir/c.txt"));
}

#[test]
fn sync_with_filters_uploads_the_same_keys() {
    let w = World::new("syncf");
    let src = tree();
    let src = path_arg(src.path());
    w.both(&["sync", &src, "s3://{B}/a/", "--exclude", "sub/*"]);
    w.both(&[
        "sync",
        &src,
        "s3://{B}/b/",
        "--exclude",
        "*",
        "--include",
        "*.log",
    ]);
    w.both(&[
        "sync",
        &src,
        "s3://{B}/c/",
        "--exclude",
        "logs*",
        "--include",
        "logs/*",
    ]);
    w.both(&["sync", &src, "s3://{B}/d/", "--exclude", "*[1]*"]);
    let keys = w.same_objects("sync with filters");
    assert!(!keys.contains_key("a/sub/deep/er/x.log"));
    assert!(keys.contains_key("b/sub/deep/er/x.log") && !keys.contains_key("b/a.txt"));
}

#[test]
fn cp_r_with_filters_uploads_and_downloads_the_same_files() {
    let w = World::new("cpf");
    let src = tree();
    w.both(&[
        "cp",
        "--recursive",
        &path_arg(src.path()),
        "s3://{B}/p",
        "--exclude",
        "*.txt",
        "--include",
        "sub/*",
    ]);
    w.same_objects("cp -r with filters");
    let (aws_dir, ferry_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    w.ok(
        Tool::Aws,
        &[
            "cp",
            "--recursive",
            "s3://{B}/p",
            &path_arg(aws_dir.path()),
            "--exclude",
            "sub/deep/*",
        ],
    );
    w.ok(
        Tool::Ferry,
        &[
            "cp",
            "--recursive",
            "s3://{B}/p",
            &path_arg(ferry_dir.path()),
            "--exclude",
            "sub/deep/*",
        ],
    );
    assert_eq!(local_files(ferry_dir.path()), local_files(aws_dir.path()));
}

#[test]
fn rm_r_of_a_prefix_deletes_the_same_keys() {
    let w = World::new("rm");
    let src = tree();
    w.both(&["cp", "--recursive", &path_arg(src.path()), "s3://{B}/"]);
    w.both(&["rm", "--recursive", "s3://{B}/logs"]);
    let keys = w.same_objects("rm -r s3://b/logs");
    assert!(keys.contains_key("logs-archive/old.log") && !keys.contains_key("logs/1.log"));
    w.both(&[
        "rm",
        "--recursive",
        "s3://{B}/",
        "--exclude",
        "*",
        "--include",
        "*.log",
    ]);
    let keys = w.same_objects("rm -r with filters");
    assert!(keys.keys().all(|k| !k.ends_with(".log")));
}

#[test]
fn sync_delete_deletes_the_same_keys_and_spares_excluded_ones() {
    let w = World::new("syncdel");
    let src = tree();
    w.both(&["cp", "--recursive", &path_arg(src.path()), "s3://{B}/m/"]);
    w.both(&[
        "cp",
        "--recursive",
        &path_arg(src.path()),
        "s3://{B}/m/extra/",
    ]);
    w.both(&[
        "cp",
        "--recursive",
        &path_arg(src.path()),
        "s3://{B}/m-sibling/",
    ]);
    let smaller = tempfile::tempdir().unwrap();
    std::fs::write(smaller.path().join("a.txt"), b"z").unwrap();
    std::fs::create_dir(smaller.path().join("logs")).unwrap();
    w.both(&[
        "sync",
        &path_arg(smaller.path()),
        "s3://{B}/m",
        "--delete",
        "--exclude",
        "extra/*",
    ]);
    let keys = w.same_objects("sync --delete");
    assert!(keys.contains_key("m/extra/a.txt") && !keys.contains_key("m/b.log"));
    assert!(keys.contains_key("m-sibling/b.log"));
}

#[test]
fn sync_down_with_delete_leaves_the_same_local_tree() {
    let w = World::new("syncdown");
    let src = tree();
    w.both(&["cp", "--recursive", &path_arg(src.path()), "s3://{B}/t/"]);
    let mut dirs: Vec<(Tool, PathBuf, tempfile::TempDir)> = Vec::new();
    for tool in [Tool::Aws, Tool::Ferry] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("stale.bin"), b"old").unwrap();
        std::fs::write(dir.path().join("kept.tmp"), b"old").unwrap();
        let target = path_arg(dir.path());
        w.ok(
            tool,
            &[
                "sync",
                "s3://{B}/t",
                &target,
                "--delete",
                "--exclude",
                "*.tmp",
            ],
        );
        dirs.push((tool, dir.path().to_owned(), dir));
    }
    assert_eq!(local_files(&dirs[1].1), local_files(&dirs[0].1));
    assert!(dirs[1].1.join("kept.tmp").exists() && !dirs[1].1.join("stale.bin").exists());
}

#[test]
fn mv_r_moves_the_same_objects() {
    let w = World::new("mv");
    let src = tree();
    w.both(&["cp", "--recursive", &path_arg(src.path()), "s3://{B}/from/"]);
    w.both(&[
        "mv",
        "--recursive",
        "s3://{B}/from",
        "s3://{B}/to/",
        "--exclude",
        "sub/*",
    ]);
    let keys = w.same_objects("mv -r");
    assert!(keys.contains_key("from/sub/c.txt") && keys.contains_key("to/a.txt"));
    assert!(!keys.contains_key("from/a.txt"));
}

#[test]
fn a_single_object_download_gets_the_objects_time_as_aws_does() {
    let w = World::new("mtime");
    let src = tree();
    let file = path_arg(&src.path().join("a.txt"));
    w.both(&["cp", &file, "s3://{B}/a.txt"]);
    let mut times = Vec::new();
    for tool in [Tool::Aws, Tool::Ferry] {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.txt");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        // Both download the same object: the one aws uploaded.
        let object = format!("s3://{}/a.txt", w.aws_bucket);
        w.ok(tool, &["cp", &object, &path_arg(&target)]);
        let modified = std::fs::metadata(&target).unwrap().modified().unwrap();
        times.push(
            modified
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        );
    }
    assert_eq!(times[0], times[1], "aws and ferry set the same mtime");
}
