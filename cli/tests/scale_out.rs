//! A migration split into shards (`ferry plan`, `ferry run`, `ferry report`) against one
//! `ferry serve`: many workers at once land exactly the source, each object once; a second
//! run moves nothing; a worker killed with SIGKILL and rerun loses nothing and copies
//! nothing twice; manifests describe the same shards as the listing.
//!
//! The source objects are written straight into the served directory (each bucket is a
//! directory there), and the destination is read back the same way. The big test uses
//! 10^4 objects (the issue's 10^5 would take minutes on a CI machine with two cores).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

use common::{Server, client, serve, text};

/// Objects in the big test (8 workers at once): the issue's 10^5.
const MANY: usize = 100_000;
/// How many times, 5 ms apart, to look for a killed worker's progress (a bound, not a
/// speed requirement).
const PROGRESS_POLLS: usize = 24_000;

/// A seeded generator (SplitMix64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Writes `n` objects below `root/bucket/prefix`: seeded contents, sizes mostly small with
/// a few larger (0 B to 64 KiB), keys spread over nested "directories".
fn seed_objects(root: &Path, bucket: &str, prefix: &str, n: usize, seed: u64) {
    let mut rng = Rng(seed);
    for i in 0..n {
        let size = match rng.next() % 100 {
            0 => 16_384 + rng.next() % 49_152,
            1..=20 => 1_024 + rng.next() % 15_360,
            _ => rng.next() % 1_024,
        } as usize;
        // Most keys two "directories" down, some one down, some right below the prefix, so
        // the parallel listing meets objects at every level it opens.
        let depth = match rng.next() % 20 {
            0 => String::new(),
            1 => format!("d{:02}", rng.next() % 16),
            _ => format!("d{:02}/e{:02}", rng.next() % 16, rng.next() % 8),
        };
        let dir = root.join(bucket).join(prefix).join(depth);
        std::fs::create_dir_all(&dir).unwrap();
        let byte = (rng.next() % 251) as u8;
        let data: Vec<u8> = (0..size).map(|j| byte.wrapping_add(j as u8)).collect();
        std::fs::write(dir.join(format!("obj-{i:06}.bin")), data).unwrap();
    }
}

/// Every file below `dir`, by its `/`-separated path relative to `dir`, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let Ok(listing) = std::fs::read_dir(&path) else {
            continue;
        };
        for item in listing.flatten() {
            let child = item.path();
            if child.is_dir() {
                pending.push(child);
            } else {
                let relative = child
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                found.insert(relative, std::fs::read(&child).unwrap());
            }
        }
    }
    found
}

/// Each destination file's modification time.
fn mtimes(dir: &Path) -> BTreeMap<String, std::time::SystemTime> {
    tree(dir)
        .keys()
        .map(|k| {
            (
                k.clone(),
                std::fs::metadata(dir.join(k)).unwrap().modified().unwrap(),
            )
        })
        .collect()
}

/// A `ferry` command for `server`, output captured.
fn ferry(home: &Path, server: &Server) -> Command {
    let mut cmd = client(home, server);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

/// Runs `cmd`; asserts it exits with `code`; returns its stdout.
fn expect(cmd: &mut Command, code: i32) -> String {
    let out = cmd.output().expect("ferry runs");
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// A served root with buckets `src` and `dst`, `n` objects below `src/data/`.
struct Setup {
    home: tempfile::TempDir,
    root: tempfile::TempDir,
    work: tempfile::TempDir,
    server: Server,
}

impl Setup {
    fn new(n: usize, seed: u64) -> Self {
        let (home, root, work) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        std::fs::create_dir_all(root.path().join("dst")).unwrap();
        seed_objects(root.path(), "src", "data", n, seed);
        let server = serve(home.path(), root.path());
        Self {
            home,
            root,
            work,
            server,
        }
    }

    fn ferry(&self) -> Command {
        ferry(self.home.path(), &self.server)
    }

    fn plan_dir(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    /// `ferry plan s3://src/data/ s3://dst/copy/ --shards N --out PLAN [extra…]`.
    fn plan(&self, name: &str, shards: usize, extra: &[&str]) -> PathBuf {
        let plan = self.plan_dir(name);
        expect(
            self.ferry()
                .args(["plan", "s3://src/data/", "s3://dst/copy/", "--shards"])
                .arg(shards.to_string())
                .arg("--out")
                .arg(&plan)
                .args(extra),
            0,
        );
        plan
    }

    fn source(&self) -> BTreeMap<String, Vec<u8>> {
        tree(&self.root.path().join("src/data"))
    }

    fn destination(&self) -> PathBuf {
        self.root.path().join("dst/copy")
    }

    /// `ferry run PLAN --shard I` for every shard at once; each must succeed.
    fn run_all_at_once(&self, plan: &Path, shards: usize) {
        let children: Vec<_> = (0..shards)
            .map(|i| {
                self.ferry()
                    .arg("run")
                    .arg(plan)
                    .env("JOB_COMPLETION_INDEX", i.to_string())
                    .spawn()
                    .expect("ferry run starts")
            })
            .collect();
        for (i, child) in children.into_iter().enumerate() {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "shard {i}: {}", text(&out.stderr));
        }
    }
}

fn result(plan: &Path, shard: usize) -> serde_json::Value {
    let path = plan.join(format!("result-{shard:05}.json"));
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// How many journal lines each key has, across every shard's journal.
fn journaled(plan: &Path) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for item in std::fs::read_dir(plan).unwrap().flatten() {
        if item.path().extension().is_some_and(|x| x == "journal") {
            for line in std::fs::read_to_string(item.path()).unwrap().lines() {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                *counts
                    .entry(value["key"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
    }
    counts
}

/// Every shard file's bytes, by name.
fn shard_files(plan: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(plan)
        .unwrap()
        .flatten()
        .filter(|i| i.file_name().to_string_lossy().ends_with(".jsonl"))
        .map(|i| {
            (
                i.file_name().to_string_lossy().into_owned(),
                std::fs::read(i.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn eight_workers_at_once_land_exactly_the_source_each_object_once() {
    let setup = Setup::new(MANY, 1);
    let plan = setup.plan("plan", 8, &[]);
    setup.run_all_at_once(&plan, 8);

    let source = setup.source();
    assert_eq!(source.len(), MANY);
    assert!(setup.destination().is_dir());
    assert!(
        tree(&setup.destination()) == source,
        "the destination differs from the source"
    );
    let copied: u64 = (0..8)
        .map(|i| result(&plan, i)["done"].as_u64().unwrap())
        .sum();
    assert_eq!(
        copied, MANY as u64,
        "each object copied once, by one worker"
    );
    let journal = journaled(&plan);
    assert_eq!(journal.len(), MANY);
    assert!(
        journal.values().all(|&n| n == 1),
        "a key was journaled twice"
    );
    let report = expect(setup.ferry().args(["report", "--json"]).arg(&plan), 0);
    let report: serde_json::Value = serde_json::from_str(report.trim()).unwrap();
    assert_eq!(report["complete"], true);
    assert_eq!(report["done"], MANY as u64);
}

#[test]
fn the_same_plan_run_twice_moves_nothing_the_second_time() {
    let setup = Setup::new(600, 2);
    let plan = setup.plan("plan", 3, &[]);
    setup.run_all_at_once(&plan, 3);
    let before = mtimes(&setup.destination());
    assert_eq!(before.len(), 600);

    setup.run_all_at_once(&plan, 3);
    for shard in 0..3 {
        let second = result(&plan, shard);
        assert_eq!(second["done"], 0, "shard {shard} copied again: {second}");
        assert_eq!(second["skipped"], second["objects"]);
    }
    assert_eq!(
        mtimes(&setup.destination()),
        before,
        "an object was written again"
    );

    // Without the journals, the destination itself says what is in place.
    for shard in 0..3 {
        std::fs::remove_file(plan.join(format!("shard-{shard:05}.journal"))).unwrap();
    }
    setup.run_all_at_once(&plan, 3);
    let copied: u64 = (0..3)
        .map(|i| result(&plan, i)["done"].as_u64().unwrap())
        .sum();
    assert_eq!(copied, 0, "objects already in place were copied again");
    assert_eq!(mtimes(&setup.destination()), before);
}

#[test]
fn a_worker_killed_mid_way_and_rerun_loses_nothing_and_copies_nothing_twice() {
    let setup = Setup::new(2_000, 3);
    let plan = setup.plan("plan", 1, &[]);
    let journal = plan.join("shard-00000.journal");
    let lines = || {
        std::fs::read_to_string(&journal)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let mut child = setup
        .ferry()
        .args(["--concurrency", "1", "run", "--shard", "0"])
        .arg(&plan)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut polls = 0;
    while lines() < 50 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the worker ended ({status}) before it could be killed");
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
    let journaled_before = lines();
    assert!(journaled_before < 2_000, "the kill landed after the end");
    assert!(
        !plan.join("result-00000.json").exists(),
        "a killed run writes no result"
    );
    expect(setup.ferry().args(["report"]).arg(&plan), 1);

    expect(setup.ferry().args(["run", "--shard", "0"]).arg(&plan), 0);
    let rerun = result(&plan, 0);
    assert!(
        rerun["done"].as_u64().unwrap() <= (2_000 - journaled_before) as u64,
        "the rerun copied journaled objects again: {rerun}"
    );
    assert_eq!(
        rerun["done"].as_u64().unwrap() + rerun["skipped"].as_u64().unwrap(),
        2_000
    );
    let journal = journaled(&plan);
    assert_eq!(journal.len(), 2_000);
    assert!(
        journal.values().all(|&n| n == 1),
        "an object was finished twice"
    );
    assert!(
        tree(&setup.destination()) == setup.source(),
        "the destination differs"
    );
    expect(setup.ferry().args(["report"]).arg(&plan), 0);
}

#[test]
fn a_second_worker_on_a_running_shard_is_turned_away() {
    let setup = Setup::new(10, 4);
    let plan = setup.plan("plan", 1, &[]);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(plan.join("shard-00000.lock"))
        .unwrap();
    lock.lock().unwrap();
    let out = setup
        .ferry()
        .args(["run", "--shard", "0"])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("being run by another process"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        tree(&setup.destination()).is_empty(),
        "the turned-away worker copied"
    );
    drop(lock);
    expect(setup.ferry().args(["run", "--shard", "0"]).arg(&plan), 0);
}

#[test]
fn manifests_give_the_same_shards_as_the_listing_they_describe() {
    let setup = Setup::new(500, 5);
    let listed = setup.plan("listed", 4, &[]);
    let source = setup.source();

    // KEY<TAB>SIZE lines: byte-identical shards.
    let sized = setup.work.path().join("sized.txt");
    let lines: String = source
        .iter()
        .rev()
        .map(|(k, v)| format!("data/{k}\t{}\n", v.len()))
        .collect();
    std::fs::write(&sized, lines).unwrap();
    let from_sized = setup.plan("sized", 4, &["--manifest", sized.to_str().unwrap()]);
    assert_eq!(shard_files(&from_sized), shard_files(&listed));

    // Keys only: each is sized with HEAD; the same objects in the same shards.
    let keys = setup.work.path().join("keys.txt");
    std::fs::write(
        &keys,
        source
            .keys()
            .map(|k| format!("data/{k}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let from_keys = setup.plan("keys", 4, &["--manifest", keys.to_str().unwrap()]);
    let without_tags = |plan: &Path| -> Vec<Vec<(String, u64)>> {
        (0..4)
            .map(|i| {
                std::fs::read_to_string(plan.join(format!("shard-{i:05}.jsonl")))
                    .unwrap()
                    .lines()
                    .map(|l| {
                        let v: serde_json::Value = serde_json::from_str(l).unwrap();
                        (
                            v["key"].as_str().unwrap().to_owned(),
                            v["size"].as_u64().unwrap(),
                        )
                    })
                    .collect()
            })
            .collect()
    };
    assert_eq!(without_tags(&from_keys), without_tags(&listed));

    // An S3 Inventory report of the bucket (CSV, URL-encoded keys): the same shards.
    let inventory = setup.work.path().join("inventory");
    std::fs::create_dir_all(inventory.join("data")).unwrap();
    let csv: String = source
        .iter()
        .map(|(k, v)| {
            format!(
                "\"src\",\"data%2F{}\",\"{}\",\"\"\n",
                k.replace('/', "%2F"),
                v.len()
            )
        })
        .collect();
    std::fs::write(inventory.join("data/part-0.csv"), csv).unwrap();
    std::fs::write(
        inventory.join("manifest.json"),
        r#"{"sourceBucket":"src","destinationBucket":"arn:aws:s3:::inv","fileFormat":"CSV","fileSchema":"Bucket, Key, Size, ETag","files":[{"key":"inv/src/cfg/data/part-0.csv","size":1,"MD5checksum":"x"}]}"#,
    )
    .unwrap();
    let manifest = inventory.join("manifest.json");
    let from_inventory = setup.plan("inventory", 4, &["--manifest", manifest.to_str().unwrap()]);
    assert_eq!(shard_files(&from_inventory), shard_files(&listed));
}

#[test]
fn the_split_is_deterministic_and_balanced_within_ten_percent() {
    let setup = Setup::new(3_000, 6);
    let one = setup.plan("one", 8, &["--json"]);
    let two = setup.plan("two", 8, &[]);
    assert_eq!(
        shard_files(&one),
        shard_files(&two),
        "the same input gave other shards"
    );
    let header: serde_json::Value =
        serde_json::from_slice(&std::fs::read(one.join("plan.json")).unwrap()).unwrap();
    let header_two: serde_json::Value =
        serde_json::from_slice(&std::fs::read(two.join("plan.json")).unwrap()).unwrap();
    assert_eq!(header["fingerprint"], header_two["fingerprint"]);
    let shards = header["shards"].as_array().unwrap();
    let (objects, bytes) = (
        header["objects"].as_f64().unwrap() / 8.0,
        header["bytes"].as_f64().unwrap() / 8.0,
    );
    for shard in shards {
        let (o, b) = (
            shard["objects"].as_f64().unwrap(),
            shard["bytes"].as_f64().unwrap(),
        );
        assert!((o - objects).abs() / objects < 0.10, "{shard}");
        assert!((b - bytes).abs() / bytes < 0.10, "{shard}");
    }
}

#[test]
fn run_without_a_shard_index_and_report_before_any_run_say_what_to_do() {
    let setup = Setup::new(20, 7);
    let plan = setup.plan("plan", 2, &[]);
    let out = setup.ferry().arg("run").arg(&plan).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("JOB_COMPLETION_INDEX"),
        "{}",
        text(&out.stderr)
    );
    let out = setup
        .ferry()
        .args(["run", "--shard", "2"])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not in this plan"),
        "{}",
        text(&out.stderr)
    );
    let report = expect(setup.ferry().arg("report").arg(&plan), 1);
    assert!(report.contains("not run: shards 0-1"), "{report}");
    let out = setup
        .ferry()
        .args([
            "plan",
            "s3://src/data/",
            "s3://dst/x/",
            "--shards",
            "2",
            "--out",
        ])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("already holds a plan"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_local_tree_planned_up_and_back_down_lands_the_same_files() {
    let setup = Setup::new(0, 8);
    let local = setup.work.path().join("tree");
    seed_objects(&local, "b", "t", 120, 8);
    let up = setup.plan_dir("up");
    expect(
        setup
            .ferry()
            .arg("plan")
            .arg(local.join("b/t"))
            .args(["s3://dst/up/", "--shards", "3", "--out"])
            .arg(&up),
        0,
    );
    setup.run_all_at_once(&up, 3);
    assert!(tree(&setup.root.path().join("dst/up")) == tree(&local.join("b/t")));

    let down = setup.plan_dir("down");
    let restored = setup.work.path().join("restored");
    expect(
        setup
            .ferry()
            .args(["plan", "s3://dst/up/"])
            .arg(&restored)
            .args(["--shards", "2", "--out"])
            .arg(&down),
        0,
    );
    setup.run_all_at_once(&down, 2);
    assert!(
        tree(&restored) == tree(&local.join("b/t")),
        "the round trip changed files"
    );
    expect(setup.ferry().arg("report").arg(&down), 0);
    // A second run of either finds everything in place (MD5 against the ETag).
    setup.run_all_at_once(&up, 3);
    setup.run_all_at_once(&down, 2);
    let copied: u64 = (0..3)
        .map(|i| result(&up, i)["done"].as_u64().unwrap())
        .sum::<u64>()
        + (0..2)
            .map(|i| result(&down, i)["done"].as_u64().unwrap())
            .sum::<u64>();
    assert_eq!(copied, 0);
}

#[test]
fn overlapping_prefixes_and_a_directory_with_an_old_journal_are_refused() {
    let setup = Setup::new(5, 9);
    let out = setup
        .ferry()
        .args([
            "plan",
            "s3://src/data/",
            "s3://src/data/copy/",
            "--shards",
            "2",
            "--out",
        ])
        .arg(setup.plan_dir("overlap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("overlap"),
        "{}",
        text(&out.stderr)
    );

    let stale = setup.plan_dir("stale");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(
        stale.join("shard-00000.journal"),
        "{\"key\":\"x\",\"size\":1}\n",
    )
    .unwrap();
    let out = setup
        .ferry()
        .args([
            "plan",
            "s3://src/data/",
            "s3://dst/x/",
            "--shards",
            "2",
            "--out",
        ])
        .arg(&stale)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("journals"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_plan_kept_in_s3_is_run_and_reported_from_s3() {
    let setup = Setup::new(300, 10);
    std::fs::create_dir_all(setup.root.path().join("ops")).unwrap();
    let plan = "s3://ops/plans/m/";
    expect(
        setup.ferry().args([
            "plan",
            "s3://src/data/",
            "s3://dst/copy/",
            "--shards",
            "3",
            "--out",
            plan,
        ]),
        0,
    );
    let stored = setup.root.path().join("ops/plans/m");
    assert!(stored.join("plan.json").is_file() && stored.join("shard-00002.jsonl").is_file());
    let report = expect(setup.ferry().args(["report", plan]), 1);
    assert!(report.contains("not run: shards 0-2"), "{report}");

    let children: Vec<_> = (0..3)
        .map(|i| {
            setup
                .ferry()
                .args(["run", plan])
                .env("AWS_BATCH_JOB_ARRAY_INDEX", i.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    assert!(
        tree(&setup.destination()) == setup.source(),
        "the destination differs"
    );
    expect(setup.ferry().args(["report", plan]), 0);
    let journaled: usize = (0..3)
        .map(|i| {
            std::fs::read_to_string(stored.join(format!("shard-{i:05}.journal")))
                .unwrap()
                .lines()
                .count()
        })
        .sum();
    assert_eq!(journaled, 300, "each journal was put back whole");

    let line = expect(
        setup.ferry().args(["--json", "run", plan, "--shard", "1"]),
        0,
    );
    let shard_line = line
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["type"] == "shard")
        .expect("a shard line in --json output");
    assert_eq!(shard_line["done"], 0, "{shard_line}");
    let again: serde_json::Value =
        serde_json::from_slice(&std::fs::read(stored.join("result-00001.json")).unwrap()).unwrap();
    assert_eq!(again["done"], 0, "{again}");
    let out = setup
        .ferry()
        .args([
            "plan",
            "s3://src/data/",
            "s3://dst/copy/",
            "--shards",
            "3",
            "--out",
            plan,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn a_failed_object_is_reported_until_a_rerun_copies_it() {
    let setup = Setup::new(20, 11);
    let plan = setup.plan("plan", 2, &[]);
    let (missing, bytes) = setup.source().into_iter().next().unwrap();
    let path = setup.root.path().join("src/data").join(&missing);
    std::fs::remove_file(&path).unwrap();

    let children: Vec<_> = (0..2)
        .map(|i| {
            setup
                .ferry()
                .args(["run", "--shard", &i.to_string()])
                .arg(&plan)
                .output()
                .unwrap()
        })
        .collect();
    let codes: Vec<_> = children.iter().map(|o| o.status.code()).collect();
    assert!(
        codes.contains(&Some(1)) && codes.contains(&Some(0)),
        "{codes:?}"
    );
    let report = expect(setup.ferry().args(["report", "--json"]).arg(&plan), 1);
    let report: serde_json::Value = serde_json::from_str(report.trim()).unwrap();
    assert_eq!(report["complete"], false);
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(failed[0]["key"], missing.as_str());
    assert!(
        failed[0]["error"].as_str().unwrap().contains("NoSuchKey"),
        "{report}"
    );
    let text_report = expect(setup.ferry().arg("report").arg(&plan), 1);
    assert!(
        text_report.contains(&format!("{missing}: ")),
        "{text_report}"
    );

    std::fs::write(&path, bytes).unwrap();
    let shard = failed[0]["shard"].as_u64().unwrap().to_string();
    expect(setup.ferry().args(["run", "--shard", &shard]).arg(&plan), 0);
    expect(setup.ferry().arg("report").arg(&plan), 0);
    assert!(tree(&setup.destination()) == setup.source());
}
