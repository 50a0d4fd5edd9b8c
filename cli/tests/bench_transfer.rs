//! `ferry bench transfer` against `ferry serve`: every phase runs, counts what it sent, and
//! reports sane figures (no timing assertions: these machines are shared).

use serde_json::Value;
use std::path::Path;
use std::process::Output;

mod common;

use common::{KEY, SECRET, Server, ferry, serve, text};

/// `ferry bench transfer --endpoint-url URL ARGS…` with the server's keys.
fn bench(home: &Path, server: &Server, args: &[&str]) -> Output {
    ferry(home)
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .args(["bench", "transfer", "--endpoint-url", &server.url])
        .args(args)
        .output()
        .expect("ferry runs")
}

fn ms(phase: &Value, field: &str, which: &str) -> f64 {
    phase[field][which]
        .as_f64()
        .unwrap_or_else(|| panic!("{field}.{which} in {phase}"))
}

#[test]
fn bench_transfer_uploads_downloads_and_deletes_every_object_and_reports_each_phase() {
    let home = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = serve(home.path(), root.path());
    let out = bench(
        home.path(),
        &server,
        &[
            "--size",
            "64KiB",
            "--files",
            "12",
            "--concurrency",
            "4",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let phases: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    let names: Vec<&str> = phases
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["upload", "download", "delete"]);
    for phase in &phases {
        assert_eq!(phase["type"], "bench_transfer");
        assert_eq!(phase["objects"], 12, "{phase}");
        assert_eq!(phase["requests"], 12, "{phase}");
        assert_eq!(phase["errors"], 0, "{phase}");
        assert_eq!(phase["concurrency"], 4, "{phase}");
        assert_eq!(phase["object_size"], 64 * 1024, "{phase}");
        assert!(phase["retries"].as_u64().is_some(), "{phase}");
        assert!(phase["seconds"].as_f64().unwrap() > 0.0, "{phase}");
        assert!(
            phase["requests_per_second"].as_f64().unwrap() > 0.0,
            "{phase}"
        );
        let (p50, p90, p99, max) = (
            ms(phase, "latency_ms", "p50"),
            ms(phase, "latency_ms", "p90"),
            ms(phase, "latency_ms", "p99"),
            ms(phase, "latency_ms", "max"),
        );
        assert!(
            0.0 <= p50 && p50 <= p90 && p90 <= p99 && p99 <= max,
            "{phase}"
        );
    }
    let (up, down, delete) = (&phases[0], &phases[1], &phases[2]);
    for moved in [up, down] {
        assert_eq!(moved["bytes"], 12 * 64 * 1024, "{moved}");
        assert!(moved["mib_per_second"].as_f64().unwrap() > 0.0, "{moved}");
    }
    assert!(ms(down, "first_byte_ms", "max") <= ms(down, "latency_ms", "max") + 1e-3);
    assert_eq!(delete["bytes"], 0);
    assert!(delete["mib_per_second"].is_null());
    // Everything was deleted, and the bucket the bench made was removed again.
    assert!(
        !root.path().join("ferry-bench").exists(),
        "{:?}",
        std::fs::read_dir(root.path()).unwrap().collect::<Vec<_>>()
    );
}

#[test]
fn bench_transfer_keeps_its_objects_and_runs_out_a_duration() {
    let home = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = serve(home.path(), root.path());
    let out = bench(
        home.path(),
        &server,
        &[
            "--bucket",
            "s3://kept",
            "--size",
            "1000",
            "--objects",
            "5",
            "--duration",
            "0.3",
            "--keep",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("upload:") && stdout.contains("download:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("latency") && stdout.contains("p99"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("delete:"),
        "--keep skips the delete phase: {stdout}"
    );
    assert!(stdout.contains(" 0 errors"), "{stdout}");
    // Each run writes under its own prefix: the 5 objects are there, each 1000 bytes.
    let mut sizes = Vec::new();
    for prefix in std::fs::read_dir(root.path().join("kept")).unwrap() {
        let prefix = prefix.unwrap().path();
        if !prefix.is_dir() {
            continue;
        }
        for object in std::fs::read_dir(&prefix).unwrap() {
            let object = object.unwrap().path();
            if object.is_file() {
                sizes.push(std::fs::metadata(&object).unwrap().len());
            }
        }
    }
    assert_eq!(sizes, [1000; 5], "objects kept under s3://kept");
}

#[test]
fn bench_transfer_refuses_empty_objects_and_no_objects_before_connecting() {
    let home = tempfile::tempdir().unwrap();
    for (args, flag) in [
        (&["--size", "0"][..], "--size"),
        (&["--files", "0"][..], "--files"),
        (&["--size", "many"][..], "--size"),
        (&["--duration", "0"][..], "--duration"),
    ] {
        // Nothing listens on port 9: a usage error must come before any connection.
        let out = ferry(home.path())
            .args(["bench", "transfer", "--endpoint-url", "http://127.0.0.1:9"])
            .args(args)
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
        assert!(stderr.contains("hint:"), "{args:?}: {stderr}");
    }
}
