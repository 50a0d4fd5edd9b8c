//! The `ferry` binary itself: the demo, transfers against `ferry serve`, output and exit codes.

mod common;

use common::{client, ferry, run, serve, text};

#[test]
fn the_demo_round_trips_and_verifies_every_byte() {
    let home = tempfile::tempdir().unwrap();
    let out = run(ferry(home.path()).args(["demo", "--size", "6MiB", "--files", "25", "--json"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "demo");
    assert_eq!(last["ok"], true);
    assert_eq!(last["verified"], 26);
    assert_eq!(last["differing"], 0);
}

#[test]
fn files_go_up_list_come_back_and_are_removed_through_ferry_serve() {
    let home = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = serve(home.path(), root.path());
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("report one.txt");
    std::fs::write(&source, b"quarterly numbers").unwrap();

    assert!(
        run(client(home.path(), &server).args(["mb", "s3://cli-test"]))
            .status
            .success()
    );
    let up = run(client(home.path(), &server)
        .arg("--json")
        .arg("cp")
        .arg(&source)
        .arg("s3://cli-test/docs/"));
    assert!(up.status.success(), "{}", text(&up.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(text(&up.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(
        (
            summary["objects"].as_u64(),
            summary["bytes"].as_u64(),
            summary["failed"].as_u64()
        ),
        (Some(1), Some(17), Some(0))
    );
    for field in ["skipped", "retries", "seconds"] {
        assert!(
            summary.get(field).is_some(),
            "summary lacks {field}: {summary}"
        );
    }

    let ls = run(client(home.path(), &server).args(["ls", "-r", "s3://cli-test"]));
    assert!(
        text(&ls.stdout).contains("docs/report one.txt"),
        "{}",
        text(&ls.stdout)
    );

    let back = work.path().join("back.txt");
    let down = run(client(home.path(), &server)
        .arg("cp")
        .arg("s3://cli-test/docs/report one.txt")
        .arg(&back));
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert_eq!(std::fs::read(&back).unwrap(), b"quarterly numbers");

    let rm = run(client(home.path(), &server).args(["rm", "-r", "s3://cli-test/docs/"]));
    assert!(rm.status.success(), "{}", text(&rm.stderr));
    let ls = run(client(home.path(), &server).args(["ls", "-r", "s3://cli-test"]));
    assert!(text(&ls.stdout).trim().is_empty(), "{}", text(&ls.stdout));
    assert!(
        run(client(home.path(), &server).args(["rb", "s3://cli-test"]))
            .status
            .success()
    );
}

#[test]
fn a_missing_object_fails_with_exit_one_a_hint_and_no_partial_file() {
    let home = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = serve(home.path(), root.path());
    assert!(
        run(client(home.path(), &server).args(["mb", "s3://missing-test"]))
            .status
            .success()
    );
    let work = tempfile::tempdir().unwrap();
    let target = work.path().join("x.bin");
    let out = run(client(home.path(), &server)
        .arg("cp")
        .arg("s3://missing-test/nope.bin")
        .arg(&target));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("failed: s3://missing-test/nope.bin: ") && stderr.contains("hint:"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("NoSuchKey").count(),
        1,
        "said once: {stderr}"
    );
    assert!(
        std::fs::read_dir(work.path()).unwrap().next().is_none(),
        "nothing is left behind"
    );
}

#[test]
fn a_wrong_secret_is_reported_with_what_to_check() {
    let home = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = serve(home.path(), root.path());
    let out = run(client(home.path(), &server)
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wrong-secret-wrong-secret-wrong-secret-00",
        )
        .arg("ls"));
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("SignatureDoesNotMatch") && stderr.contains("clock"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("wrong-secret"),
        "the secret is never printed: {stderr}"
    );
}

#[test]
fn bad_usage_exits_two_with_a_hint() {
    let home = tempfile::tempdir().unwrap();
    let out = run(ferry(home.path()).args(["--part-size", "1KiB", "cp", "a", "s3://b/"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("hint:"));
    let out = run(ferry(home.path()).args(["presign", "s3://b/k", "--expires", "999999"]));
    assert_eq!(out.status.code(), Some(2));
    let out = run(ferry(home.path()).args(["cp", "a", "b"]));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bench_sign_json_reports_the_documented_fields() {
    let home = tempfile::tempdir().unwrap();
    let out = run(ferry(home.path()).args([
        "bench",
        "sign",
        "--threads",
        "2",
        "--seconds",
        "0.2",
        "--json",
    ]));
    assert!(out.status.success());
    let value: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(value["threads"], 2);
    assert_eq!(value["per_thread"].as_array().unwrap().len(), 2);
    assert!(value["signatures_per_second"].as_f64().unwrap() > 0.0);
}

#[test]
fn globs_select_files_up_and_objects_down() {
    let home = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = serve(home.path(), root.path());
    let work = tempfile::tempdir().unwrap();
    let logs = work.path().join("logs");
    std::fs::create_dir_all(logs.join("sub")).unwrap();
    for name in ["a.log", "b.log", "c.txt", "sub/d.log"] {
        std::fs::write(logs.join(name), name).unwrap();
    }
    assert!(
        run(client(home.path(), &server).args(["mb", "s3://glob-test"]))
            .status
            .success()
    );
    let pattern = format!("{}/*.log", logs.display());
    let up = run(client(home.path(), &server).args(["cp", &pattern, "s3://glob-test/up/"]));
    assert!(up.status.success(), "{}", text(&up.stderr));
    let listed =
        text(&run(client(home.path(), &server).args(["ls", "-r", "s3://glob-test/"])).stdout);
    assert!(
        listed.contains("up/a.log") && listed.contains("up/b.log"),
        "{listed}"
    );
    assert!(
        !listed.contains("c.txt") && !listed.contains("d.log"),
        "`*` stays within one segment: {listed}"
    );

    let everything = format!("{}/**/*.log", logs.display());
    assert!(
        run(client(home.path(), &server).args(["cp", &everything, "s3://glob-test/all/"]))
            .status
            .success()
    );
    let listed =
        text(&run(client(home.path(), &server).args(["ls", "-r", "s3://glob-test/all/"])).stdout);
    assert!(
        listed.contains("all/sub/d.log"),
        "`**` crosses segments: {listed}"
    );

    let out = work.path().join("out");
    let down = run(client(home.path(), &server)
        .arg("cp")
        .arg("s3://glob-test/up/a*")
        .arg(&out));
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert_eq!(std::fs::read(out.join("a.log")).unwrap(), b"a.log");
    assert!(!out.join("b.log").exists());
}

#[test]
fn metadata_that_is_not_key_value_is_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let out = run(ferry(home.path()).args(["--metadata", "novalue", "cp", "a", "s3://bucket-x/"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("KEY=VALUE"));
}

#[test]
fn log_lines_on_a_stderr_that_is_no_terminal_are_a_plain_label_and_message() {
    let home = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = serve(home.path(), root.path());
    // RUST_LOG still chooses what is logged; the captured stderr is no terminal.
    let out = run(client(home.path(), &server)
        .env("RUST_LOG", "debug")
        .args(["ls"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let logged: Vec<&str> = stderr.lines().filter(|l| l.contains("connected")).collect();
    assert!(!logged.is_empty(), "{stderr}");
    for line in logged {
        assert!(line.starts_with("debug: connected"), "{line:?}");
        assert!(!line.contains('\u{1b}'), "no escape codes: {line:?}");
        assert!(!line.contains("ferry::"), "no module path: {line:?}");
        assert!(!line.contains("Z "), "no timestamp: {line:?}");
    }
}

#[test]
fn a_key_holding_a_star_or_question_mark_is_copied_by_its_exact_name_before_any_glob() {
    let home = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = serve(home.path(), root.path());
    let work = tempfile::tempdir().unwrap();
    assert!(
        run(client(home.path(), &server).args(["mb", "s3://exact-test"]))
            .status
            .success()
    );
    for (name, body) in [
        ("a*b", "star"),
        ("a?c", "question"),
        ("axb", "x"),
        ("ayc", "y"),
    ] {
        let file = work.path().join("upload");
        std::fs::write(&file, body).unwrap();
        let up = run(client(home.path(), &server)
            .arg("cp")
            .arg(&file)
            .arg(format!("s3://exact-test/{name}")));
        assert!(up.status.success(), "{name}: {}", text(&up.stderr));
    }
    // The exact keys exist: each is copied alone, not the keys its pattern matches.
    for (name, body) in [("a*b", "star"), ("a?c", "question")] {
        let out = work.path().join(format!("out-{body}"));
        let down = run(client(home.path(), &server)
            .arg("cp")
            .arg(format!("s3://exact-test/{name}"))
            .arg(&out));
        assert!(down.status.success(), "{name}: {}", text(&down.stderr));
        assert_eq!(std::fs::read(&out).unwrap(), body.as_bytes(), "{name}");
    }
    // No such key: the pattern is a glob again.
    let globbed = work.path().join("globbed");
    let down = run(client(home.path(), &server)
        .arg("cp")
        .arg("s3://exact-test/a?b")
        .arg(&globbed));
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert_eq!(std::fs::read(globbed.join("axb")).unwrap(), b"x");
    assert_eq!(std::fs::read(globbed.join("a*b")).unwrap(), b"star");
    assert!(!globbed.join("ayc").exists());
}

#[test]
fn verbose_output_names_each_credential_source_skipped_and_why_without_secrets() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".aws")).unwrap();
    std::fs::write(
        home.path().join(".aws/config"),
        "[default]\nregion = eu-west-1\n",
    )
    .unwrap();
    let out = run(ferry(home.path())
        // A token without keys is not a source: it must not be shown either.
        .env("AWS_SESSION_TOKEN", "tok-secret-value-123")
        .args(["-v", "--endpoint-url", "http://127.0.0.1:9", "ls", "s3://b"]));
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    for reason in [
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set",
        "profile `default` holds no keys",
        "AWS_WEB_IDENTITY_TOKEN_FILE is not set",
        "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set",
        "AWS_EC2_METADATA_DISABLED is true",
    ] {
        assert!(stderr.contains(reason), "{reason:?} not in:\n{stderr}");
    }
    assert!(stderr.contains("no credentials found"), "{stderr}");
    assert!(
        stderr.contains("hint:") && stderr.contains("--no-sign-request"),
        "the CLI words the engine's advice in its flags: {stderr}"
    );
    assert!(!stderr.contains("tok-secret-value-123"), "{stderr}");
}

#[test]
fn an_mfa_code_that_nothing_asked_for_is_reported_as_unused() {
    let home = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = serve(home.path(), root.path());
    // Long-term keys and no MFA device anywhere: the code has nothing to go to.
    let out = run(client(home.path(), &server).args(["--mfa-code", "918273", "ls"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--mfa-code was not used") && stderr.contains("--mfa-serial"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("918273"),
        "the code is never printed: {stderr}"
    );
    // Without the flag, no such warning.
    let out = run(client(home.path(), &server).arg("ls"));
    assert!(
        !text(&out.stderr).contains("--mfa-code"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_tree_downloaded_below_a_file_names_each_object_with_the_reason_and_nothing_else() {
    let home = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = serve(home.path(), root.path());
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    std::fs::create_dir_all(tree.join("a/b")).unwrap();
    std::fs::write(tree.join("a/small"), b"small").unwrap();
    std::fs::write(tree.join("a/b/deeper"), b"deeper").unwrap();
    let up = run(client(home.path(), &server).args(["mb", "s3://below-file"]));
    assert!(up.status.success(), "{}", text(&up.stderr));
    let up = run(client(home.path(), &server)
        .args(["cp", "-r"])
        .arg(&tree)
        .arg("s3://below-file/t/"));
    assert!(up.status.success(), "{}", text(&up.stderr));

    // The target's parent is a regular file: no directory can be made below it.
    let file = work.path().join("a-file");
    std::fs::write(&file, b"keep me").unwrap();
    let down = run(client(home.path(), &server)
        .args(["cp", "-r", "s3://below-file/t/"])
        .arg(file.join("x/")));
    assert_eq!(down.status.code(), Some(1), "{}", text(&down.stderr));
    let stderr = text(&down.stderr);
    for key in ["t/a/small", "t/a/b/deeper"] {
        assert!(
            stderr.contains(&format!("failed: s3://below-file/{key}: "))
                && stderr.contains("Not a directory"),
            "{key} named with its reason: {stderr}"
        );
    }
    assert!(
        !stderr.contains("resume journal"),
        "no warning about a journal that cannot exist: {stderr}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
}
