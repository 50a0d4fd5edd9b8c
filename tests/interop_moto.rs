//! Temporary credentials against moto's S3 + IAM + STS, which `scripts/interop_moto.sh`
//! starts on loopback with signatures and IAM policies enforced. The script creates, through
//! moto's IAM API, a user with keys and an MFA device, a read-only role `reader` and a role
//! `hop1` that may assume it, and a bucket with seed objects; it writes them to the JSON file
//! `FERRY_MOTO_SETUP` names, points `FERRY_BIN` at the `ferry` binary and `FERRY_AWS_CLI` at
//! the AWS CLI (awscli 1.46.3) it installs next to moto.
//! Not part of `cargo test --workspace`: run `scripts/interop_moto.sh`.

use ferry::credentials::Credentials;
use ferry::credentials::sts::{AssumeRole, GetSessionToken, Mfa, StsClient, StsEndpoint};
use ferry::http::{HttpClient, HttpConfig};
use ferry::s3::{ListObjects, S3Client};
use ferry_tests::embedded::{client_with, fast_retries};
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// The longest any one `ferry` command may take.
const COMMAND_LIMIT: Duration = Duration::from_secs(90);
/// The longest any engine-level exchange with moto may take.
const ASYNC_LIMIT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------
// What the script set up

#[derive(Debug)]
struct Setup {
    endpoint: String,
    region: String,
    account: String,
    bucket: String,
    seeds: BTreeMap<String, String>,
    user_arn: String,
    key_id: String,
    secret: String,
    mfa_serial: String,
    reader_arn: String,
    hop1_arn: String,
    hop1_session_name: String,
    hop1_external_id: String,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let path = std::env::var("FERRY_MOTO_SETUP").unwrap_or_else(|_| {
            panic!(
                "FERRY_MOTO_SETUP is not set: run these tests through scripts/interop_moto.sh, \
                 which starts moto and sets up its IAM user, roles and bucket"
            )
        });
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        let s = |pointer: &str| {
            v.pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("{path}: no {pointer}"))
                .to_owned()
        };
        let seeds = v["seed_objects"]
            .as_object()
            .expect("seed_objects")
            .iter()
            .map(|(k, body)| (k.clone(), body.as_str().expect("a seed body").to_owned()))
            .collect();
        Setup {
            endpoint: s("/endpoint"),
            region: s("/region"),
            account: s("/account"),
            bucket: s("/bucket"),
            seeds,
            user_arn: s("/user/arn"),
            key_id: s("/user/access_key_id"),
            secret: s("/user/secret_access_key"),
            mfa_serial: s("/user/mfa_serial"),
            reader_arn: s("/roles/reader"),
            hop1_arn: s("/roles/hop1"),
            hop1_session_name: s("/hop1_session_name"),
            hop1_external_id: s("/hop1_external_id"),
        }
    })
}

fn user_credentials() -> Credentials {
    let s = setup();
    Credentials::new(&s.key_id, &s.secret)
}

/// A prefix of the bucket no other test (or run) writes under.
fn unique_prefix(name: &str) -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{name}-{}-{nanos}-{}/",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

// ---------------------------------------------------------------------------------------
// Engine-level helpers

/// Runs `future` on a runtime of its own, failing the test past [`ASYNC_LIMIT`].
fn block<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(async {
            tokio::time::timeout(ASYNC_LIMIT, future)
                .await
                .unwrap_or_else(|_| panic!("no answer from moto within {ASYNC_LIMIT:?}"))
        })
}

fn sts_at(url: &str) -> StsClient {
    let endpoint = StsEndpoint::new(url, setup().region.clone()).expect("an STS endpoint");
    StsClient::new(
        HttpClient::new(&HttpConfig::default()).expect("an HTTP client"),
        endpoint,
    )
}

fn sts() -> StsClient {
    sts_at(&setup().endpoint)
}

fn s3_with(credentials: Credentials) -> S3Client {
    client_with(
        &setup().endpoint,
        credentials,
        fast_retries(),
        HttpConfig::default(),
    )
}

/// The reader role's temporary credentials, asked for with the user's keys.
fn assume_reader(session_name: &str) -> Credentials {
    let s = setup();
    let role = block(sts().assume_role(
        &user_credentials(),
        &AssumeRole::new(&s.reader_arn, session_name),
    ))
    .expect("the user may assume the reader role");
    let arn = role.arn.as_deref().unwrap_or_default();
    assert_eq!(
        arn,
        format!(
            "arn:aws:sts::{}:assumed-role/reader/{session_name}",
            s.account
        )
    );
    assert!(role.credentials.session_token().is_some());
    role.credentials
}

async fn list_all(client: &S3Client, prefix: &str, max_keys: u32) -> (Vec<String>, usize) {
    let s = setup();
    let mut pages = client.list_objects(
        &s.bucket,
        ListObjects {
            prefix: Some(prefix.to_owned()),
            max_keys: Some(max_keys),
            ..ListObjects::default()
        },
    );
    let (mut keys, mut count) = (Vec::new(), 0);
    while let Some(page) = pages.next_page().await.expect("a list page") {
        count += 1;
        assert!(count < 1000, "the listing does not end");
        assert!(
            page.contents.len() <= max_keys as usize,
            "a page of {} keys, more than max-keys {max_keys}",
            page.contents.len()
        );
        keys.extend(page.contents.into_iter().map(|o| o.key));
    }
    (keys, count)
}

// ---------------------------------------------------------------------------------------
// Running the ferry binary

fn ferry_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("FERRY_BIN") {
        return path.into();
    }
    // target/<profile>/deps/interop_moto-HASH → target/<profile>/ferry
    let exe = std::env::current_exe().expect("the test binary's path");
    let guess = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("ferry"))
        .expect("a target directory");
    assert!(
        guess.exists(),
        "no ferry binary at {guess:?}: build it (cargo build -p ferry-cli) or set FERRY_BIN"
    );
    guess
}

/// What a `ferry` run printed, and how it ended.
#[derive(Debug)]
struct Run {
    args: Vec<String>,
    success: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(self) -> Self {
        assert!(
            self.success,
            "ferry {:?} failed ({:?})\nstdout:\n{}\nstderr:\n{}",
            self.args, self.code, self.stdout, self.stderr
        );
        self
    }

    fn failed(self) -> Self {
        assert!(
            !self.success,
            "ferry {:?} succeeded, but should have failed\nstdout:\n{}\nstderr:\n{}",
            self.args, self.stdout, self.stderr
        );
        self
    }

    fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// A `ferry` invocation with a HOME of its own, no AWS settings but those it is given, and
/// STS pointed at moto (`AWS_ENDPOINT_URL_STS`); S3 goes to moto through `--endpoint-url`.
struct Ferry {
    home: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Ferry {
    fn new() -> Self {
        let home = tempfile::tempdir().expect("a temporary HOME");
        let s = setup();
        let env = vec![
            ("AWS_REGION".into(), s.region.clone()),
            ("AWS_ENDPOINT_URL_STS".into(), s.endpoint.clone()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ];
        Self { home, env }
    }

    /// With the IAM user's long-term keys in the environment.
    fn user() -> Self {
        let s = setup();
        Self::new()
            .env("AWS_ACCESS_KEY_ID", &s.key_id)
            .env("AWS_SECRET_ACCESS_KEY", &s.secret)
    }

    /// With temporary credentials (key, secret and token) in the environment.
    fn temporary(credentials: &Credentials) -> Self {
        Self::new()
            .env("AWS_ACCESS_KEY_ID", credentials.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key())
            .env(
                "AWS_SESSION_TOKEN",
                credentials.session_token().expect("a session token"),
            )
    }

    fn env(mut self, name: &str, value: &str) -> Self {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.into(), value.into()));
        self
    }

    fn without(mut self, name: &str) -> Self {
        self.env.retain(|(n, _)| n != name);
        self
    }

    fn home(&self) -> &Path {
        self.home.path()
    }

    /// Writes `~/.aws/<name>` in this invocation's HOME.
    fn aws_file(&self, name: &str, text: &str) {
        let dir = self.home().join(".aws");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }

    /// Runs `ferry --endpoint-url MOTO ARGS…`, killed past [`COMMAND_LIMIT`].
    fn run(&self, args: &[&str]) -> Run {
        let mut all: Vec<String> = vec!["--endpoint-url".into(), setup().endpoint.clone()];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        let mut cmd = Command::new(ferry_bin());
        cmd.env_clear()
            .env("HOME", self.home())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            // Tests run on loopback only: the instance metadata service is never asked.
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(&all)
            .current_dir(self.home())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("ferry starts");
        let out = read_all(child.stdout.take().expect("stdout"));
        let err = read_all(child.stderr.take().expect("stderr"));
        let deadline = Instant::now() + COMMAND_LIMIT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for ferry") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("ferry {all:?} did not finish within {COMMAND_LIMIT:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Run {
            args: all,
            success: status.success(),
            code: status.code(),
            stdout: out.join().unwrap(),
            stderr: err.join().unwrap(),
        }
    }
}

/// Reads `pipe` to its end on a thread of its own.
fn read_all(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// The JSON objects of a `--json` run's stdout, one per line.
fn json_lines(run: &Run) -> Vec<Value> {
    run.stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("stdout line {l:?} is not JSON ({e}): {run:?}"))
        })
        .collect()
}

fn masked(id: &str) -> String {
    ferry::credentials::mask(id)
}

// ---------------------------------------------------------------------------------------
// 1. The IAM user's own keys

#[test]
fn the_users_keys_upload_list_in_pages_and_download_every_byte() {
    let s = setup();
    let ferry = Ferry::user();
    let prefix = unique_prefix("user");
    let up = ferry.home().join("up");
    std::fs::create_dir_all(up.join("sub")).unwrap();
    let mut expected = BTreeMap::new();
    for i in 0..30 {
        let name = if i % 3 == 0 {
            format!("sub/file-{i:02}.txt")
        } else {
            format!("file-{i:02}.txt")
        };
        let body = format!("object {i} of the user's upload\n").repeat(i + 1);
        std::fs::write(up.join(&name), &body).unwrap();
        expected.insert(name, body.into_bytes());
    }
    // One object large enough for a multipart upload (every part signed with the user's key).
    let big: Vec<u8> = (0..11 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(up.join("big.bin"), &big).unwrap();
    expected.insert("big.bin".into(), big);

    let target = format!("s3://{}/{prefix}", s.bucket);
    ferry
        .run(&[
            "cp",
            "-r",
            up.to_str().unwrap(),
            &target,
            "--part-size",
            "5MiB",
        ])
        .ok();

    // ferry's own listing, as JSON.
    let listed = ferry.run(&["ls", "-r", "--json", &target]).ok();
    let mut sizes = BTreeMap::new();
    for line in json_lines(&listed) {
        let key = line["key"].as_str().expect("a key").to_owned();
        let name = key
            .strip_prefix(&prefix)
            .expect("under the prefix")
            .to_owned();
        sizes.insert(name, line["size"].as_u64().expect("a size"));
    }
    let want: BTreeMap<String, u64> = expected
        .iter()
        .map(|(k, v)| (k.clone(), v.len() as u64))
        .collect();
    assert_eq!(sizes, want);

    // The same listing in pages of 7 keys (ListObjectsV2 continuation tokens, each page
    // signed with the user's key).
    let (mut keys, pages) = block(list_all(&s3_with(user_credentials()), &prefix, 7));
    keys.sort();
    let want_keys: Vec<String> = expected.keys().map(|k| format!("{prefix}{k}")).collect();
    assert_eq!(keys, want_keys);
    assert_eq!(pages, expected.len().div_ceil(7), "31 keys in pages of 7");

    // And back down, byte for byte.
    let down = ferry.home().join("down");
    ferry
        .run(&["cp", "-r", &target, &format!("{}/", down.display())])
        .ok();
    for (name, body) in &expected {
        let got = std::fs::read(down.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(got == *body, "{name}: the downloaded bytes differ");
    }
}

// ---------------------------------------------------------------------------------------
// 2. AssumeRole into the read-only role

#[test]
fn an_assumed_read_only_role_lists_and_downloads_and_is_denied_a_write() {
    let s = setup();
    let ferry = Ferry::user();
    let seeds = format!("s3://{}/seed/", s.bucket);
    let role = ["--assume-role", s.reader_arn.as_str()];

    let listed = ferry.run(&[&role[..], &["ls", &seeds]].concat()).ok();
    for key in s.seeds.keys() {
        assert!(listed.stdout.contains(key.as_str()), "{key}: {listed:?}");
    }

    let out = ferry.home().join("object-2.txt");
    ferry
        .run(
            &[
                &role[..],
                &[
                    "--role-session-name",
                    "ferry-interop-read",
                    "cp",
                    &format!("{seeds}object-2.txt"),
                    out.to_str().unwrap(),
                ],
            ]
            .concat(),
        )
        .ok();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        s.seeds["seed/object-2.txt"]
    );

    // The role may not write: AccessDenied, said clearly, and nothing is written.
    let local = ferry.home().join("attempt.txt");
    std::fs::write(&local, "the reader role must not write this").unwrap();
    let key = format!("{}denied.txt", unique_prefix("reader"));
    let denied = ferry
        .run(
            &[
                &role[..],
                &[
                    "cp",
                    local.to_str().unwrap(),
                    &format!("s3://{}/{key}", s.bucket),
                ],
            ]
            .concat(),
        )
        .failed();
    assert!(denied.stderr.contains("AccessDenied"), "{denied:?}");
    assert!(
        denied.stderr.contains(&format!("s3://{}/{key}", s.bucket)),
        "{denied:?}"
    );
    let err = block(s3_with(user_credentials()).head_object(&s.bucket, &key))
        .expect_err("the denied object must not exist");
    assert!(
        err.service()
            .is_some_and(|e| e.code() == "NotFound" || e.code() == "NoSuchKey")
            || err.to_string().contains("404"),
        "{err}"
    );
}

#[test]
fn role_credentials_work_from_the_environment_and_are_refused_without_their_session_token() {
    let s = setup();
    let role = assume_reader("ferry-interop-env");
    let seeds = format!("s3://{}/seed/", s.bucket);

    // AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY + AWS_SESSION_TOKEN: lists and reads.
    let with_token = Ferry::temporary(&role);
    let listed = with_token.run(&["ls", "--json", &seeds]).ok();
    let keys: Vec<String> = json_lines(&listed)
        .iter()
        .filter_map(|l| l["key"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(keys, s.seeds.keys().cloned().collect::<Vec<_>>());
    let out = with_token.home().join("object-4.txt");
    with_token
        .run(&["cp", &format!("{seeds}object-4.txt"), out.to_str().unwrap()])
        .ok();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        s.seeds["seed/object-4.txt"]
    );
    // …but may not write.
    let local = with_token.home().join("attempt.txt");
    std::fs::write(&local, "no").unwrap();
    let denied = with_token
        .run(&[
            "cp",
            local.to_str().unwrap(),
            &format!("s3://{}/{}x", s.bucket, unique_prefix("env")),
        ])
        .failed();
    assert!(denied.stderr.contains("AccessDenied"), "{denied:?}");

    // Without the token, ferry refuses the temporary key before sending anything…
    let no_token = Ferry::temporary(&role).without("AWS_SESSION_TOKEN");
    let refused = no_token.run(&["ls", &seeds]).failed();
    assert!(
        refused.stderr.to_lowercase().contains("session token"),
        "{refused:?}"
    );
    // …and moto, asked anyway (the engine does not stop it), refuses it too.
    let bare = Credentials::new(role.access_key_id(), role.secret_access_key());
    let err = block(
        s3_with(bare)
            .list_objects(&s.bucket, ListObjects::default())
            .next_page(),
    )
    .expect_err("moto must refuse a temporary key without its token");
    let code = err.service().map(|e| e.code().to_owned());
    assert!(
        matches!(
            code.as_deref(),
            Some("InvalidAccessKeyId" | "InvalidToken" | "AccessDenied")
        ),
        "{err}"
    );
}

#[test]
fn session_token_flag_completes_temporary_keys_from_the_environment() {
    let s = setup();
    let role = assume_reader("ferry-interop-flag");
    let seeds = format!("s3://{}/seed/", s.bucket);
    // The key and secret in the environment, the token on the command line.
    let ferry = Ferry::new()
        .env("AWS_ACCESS_KEY_ID", role.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", role.secret_access_key());
    let listed = ferry
        .run(&[
            "--session-token",
            role.session_token().unwrap(),
            "ls",
            &seeds,
        ])
        .ok();
    for key in s.seeds.keys() {
        assert!(listed.stdout.contains(key.as_str()), "{key}: {listed:?}");
    }
    let who = ferry
        .run(&["--session-token", role.session_token().unwrap(), "whoami"])
        .ok();
    assert!(
        who.stdout
            .contains("assumed-role/reader/ferry-interop-flag"),
        "{who:?}"
    );
}

// ---------------------------------------------------------------------------------------
// 3. Role profiles: reader → hop1 → base

/// `~/.aws/credentials` with the user's keys as `base`, and `~/.aws/config` with `hop1`
/// (assumed with base's keys, an external id and a fixed session name, which reader's trust
/// policy names) and `reader` (assumed with hop1's credentials).
fn chain_profiles(ferry: &Ferry) {
    let s = setup();
    ferry.aws_file(
        "credentials",
        &format!(
            "[base]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            s.key_id, s.secret
        ),
    );
    ferry.aws_file(
        "config",
        &format!(
            "[profile base]\nregion = {region}\n\n\
             [profile hop1]\nrole_arn = {hop1}\nsource_profile = base\n\
             external_id = {external}\nrole_session_name = {session}\nduration_seconds = 900\n\n\
             [profile reader]\nrole_arn = {reader}\nsource_profile = hop1\n\
             role_session_name = ferry-chain\nregion = {region}\n",
            region = s.region,
            hop1 = s.hop1_arn,
            external = s.hop1_external_id,
            session = s.hop1_session_name,
            reader = s.reader_arn,
        ),
    );
}

#[test]
fn a_two_hop_role_profile_chain_lists_and_reads_as_the_reader_role() {
    let s = setup();
    let ferry = Ferry::new();
    chain_profiles(&ferry);
    let seeds = format!("s3://{}/seed/", s.bucket);

    let listed = ferry.run(&["--profile", "reader", "ls", &seeds]).ok();
    for key in s.seeds.keys() {
        assert!(listed.stdout.contains(key.as_str()), "{key}: {listed:?}");
    }
    let out = ferry.home().join("object-3.txt");
    ferry
        .run(&[
            "--profile",
            "reader",
            "cp",
            &format!("{seeds}object-3.txt"),
            out.to_str().unwrap(),
        ])
        .ok();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        s.seeds["seed/object-3.txt"]
    );

    // It is the reader role at the end of the chain (not the user): whoami says so, and a
    // write is denied.
    let who = ferry.run(&["--profile", "reader", "whoami"]).ok();
    assert!(
        who.stdout.contains(&format!(
            "arn:aws:sts::{}:assumed-role/reader/ferry-chain",
            s.account
        )),
        "{who:?}"
    );
    let local = ferry.home().join("attempt.txt");
    std::fs::write(&local, "no").unwrap();
    let denied = ferry
        .run(&[
            "--profile",
            "reader",
            "cp",
            local.to_str().unwrap(),
            &format!("s3://{}/{}x", s.bucket, unique_prefix("chain")),
        ])
        .failed();
    assert!(denied.stderr.contains("AccessDenied"), "{denied:?}");
}

#[test]
fn the_chain_honours_sts_endpoint_url_and_fails_clearly_on_a_wrong_external_id() {
    let s = setup();
    // --sts-endpoint-url instead of AWS_ENDPOINT_URL_STS.
    let ferry = Ferry::new().without("AWS_ENDPOINT_URL_STS");
    chain_profiles(&ferry);
    let seeds = format!("s3://{}/seed/", s.bucket);
    ferry
        .run(&[
            "--profile",
            "reader",
            "--sts-endpoint-url",
            &s.endpoint,
            "ls",
            &seeds,
        ])
        .ok();

    // hop1's trust policy wants its external id: with another, STS says AccessDenied and
    // ferry says which role it could not assume.
    let wrong = Ferry::new();
    chain_profiles(&wrong);
    let config = std::fs::read_to_string(wrong.home().join(".aws/config")).unwrap();
    wrong.aws_file(
        "config",
        &config.replace(&s.hop1_external_id, "not-the-external-id"),
    );
    let refused = wrong.run(&["--profile", "reader", "ls", &seeds]).failed();
    assert!(refused.stderr.contains("AccessDenied"), "{refused:?}");
    assert!(refused.stderr.contains(&s.hop1_arn), "{refused:?}");
}

// ---------------------------------------------------------------------------------------
// 4. GetSessionToken with MFA

/// The bytes that went through a [`wire_tap`], each way.
#[derive(Clone, Default)]
struct Tap {
    sent: Arc<Mutex<Vec<u8>>>,
    received: Arc<Mutex<Vec<u8>>>,
}

impl Tap {
    fn sent_len(&self) -> usize {
        self.sent.lock().unwrap().len()
    }

    /// What clients sent since the last call, as text.
    fn take_sent(&self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut *self.sent.lock().unwrap())).into_owned()
    }

    /// Every `<NAME>value</NAME>` the server answered with.
    fn received_elements(&self, name: &str) -> Vec<String> {
        let text = String::from_utf8_lossy(&self.received.lock().unwrap()).into_owned();
        let (open, close) = (format!("<{name}>"), format!("</{name}>"));
        text.split(open.as_str())
            .skip(1)
            .filter_map(|rest| rest.split_once(close.as_str()).map(|(v, _)| v.to_owned()))
            .collect()
    }
}

async fn relay(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    keep: Arc<Mutex<Vec<u8>>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        keep.lock().unwrap().extend_from_slice(&buf[..n]);
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// A TCP relay to moto (`upstream`: host:port) that keeps every byte each way, to see the
/// requests and answers on the wire.
async fn wire_tap(upstream: String) -> (String, Tap) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let tap = Tap::default();
    let keep = tap.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let keep = keep.clone();
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::join!(
                    relay(client_read, server_write, keep.sent),
                    relay(server_read, client_write, keep.received),
                );
            });
        }
    });
    (url, tap)
}

#[test]
fn get_session_token_with_mfa_sends_serial_and_code_and_parses_expiring_credentials() {
    let s = setup();
    let upstream = s.endpoint.trim_start_matches("http://").to_owned();
    block(async {
        let (url, tap) = wire_tap(upstream).await;
        let client = sts_at(&url);
        let request = GetSessionToken {
            duration_seconds: Some(900),
            mfa: Some(Mfa::new(&s.mfa_serial, "123456")),
        };
        let before = SystemTime::now();
        let temporary = client
            .get_session_token(&user_credentials(), &request)
            .await
            .expect("GetSessionToken with MFA");

        // On the wire: a signed form POST carrying the device and its code.
        let wire = tap.take_sent();
        let encoded_serial = s.mfa_serial.replace(':', "%3A").replace('/', "%2F");
        for needle in [
            "POST ".to_owned(),
            "Action=GetSessionToken".to_owned(),
            "DurationSeconds=900".to_owned(),
            format!("SerialNumber={encoded_serial}"),
            "TokenCode=123456".to_owned(),
            format!("Credential={}/", s.key_id),
            "/sts/aws4_request".to_owned(),
        ] {
            assert!(
                wire.contains(&needle),
                "{needle:?} not in the request:\n{wire}"
            );
        }
        assert!(!wire.contains(&s.secret), "the secret went over the wire");

        // The answer: key, secret, token and an expiry 900 s out.
        assert!(!temporary.access_key_id().is_empty());
        assert!(!temporary.secret_access_key().is_empty());
        assert!(temporary.session_token().is_some_and(|t| !t.is_empty()));
        let expiry = temporary.expiry().expect("temporary credentials expire");
        let lasts = expiry
            .duration_since(before)
            .expect("the expiry is in the future");
        assert!(
            (Duration::from_secs(840)..=Duration::from_secs(960)).contains(&lasts),
            "expires {lasts:?} after the request, not about 900 s"
        );

        // A malformed code is refused before any byte is sent.
        let sent = tap.sent_len();
        let err = client
            .get_session_token(
                &user_credentials(),
                &GetSessionToken {
                    duration_seconds: None,
                    mfa: Some(Mfa::new(&s.mfa_serial, "12345")),
                },
            )
            .await
            .expect_err("a five-digit code");
        assert!(err.to_string().contains("6 digits"), "{err}");
        assert_eq!(tap.sent_len(), sent, "a request went out");
    });
}

#[test]
fn assume_role_with_an_external_id_and_a_chain_through_hop1_yields_reader_credentials() {
    let s = setup();
    block(async {
        let client = sts();
        let mut hop1 = AssumeRole::new(&s.hop1_arn, &s.hop1_session_name);
        hop1.external_id = Some(s.hop1_external_id.clone());
        hop1.duration_seconds = Some(900);
        let hop1 = client
            .assume_role(&user_credentials(), &hop1)
            .await
            .expect("the user assumes hop1 with its external id");
        let reader = client
            .assume_role(
                &hop1.credentials,
                &AssumeRole::new(&s.reader_arn, "ferry-second-hop"),
            )
            .await
            .expect("hop1 assumes reader");
        assert_eq!(
            reader.arn.as_deref(),
            Some(
                format!(
                    "arn:aws:sts::{}:assumed-role/reader/ferry-second-hop",
                    s.account
                )
                .as_str()
            )
        );
        let identity = client
            .get_caller_identity(&reader.credentials)
            .await
            .expect("GetCallerIdentity");
        assert_eq!(identity.account, s.account);
        assert!(
            identity.arn.contains("assumed-role/reader/"),
            "{identity:?}"
        );
        let body = s3_with(reader.credentials.clone())
            .get_object_bytes(&s.bucket, "seed/object-0.txt")
            .await
            .expect("the chained role reads");
        assert_eq!(&body[..], s.seeds["seed/object-0.txt"].as_bytes());

        // With another external id, hop1's trust policy refuses. (moto lets a request with
        // none at all through, so that case proves nothing here.)
        let mut wrong = AssumeRole::new(&s.hop1_arn, &s.hop1_session_name);
        wrong.external_id = Some("not-the-external-id".into());
        let err = client
            .assume_role(&user_credentials(), &wrong)
            .await
            .expect_err("hop1 needs its external id");
        assert_eq!(err.code(), Some("AccessDenied"), "{err}");
    });
}

/// A wire tap on a runtime of its own, kept running while the returned runtime lives.
fn background_tap() -> (tokio::runtime::Runtime, String, Tap) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let upstream = setup().endpoint.trim_start_matches("http://").to_owned();
    let (url, tap) = runtime.block_on(wire_tap(upstream));
    (runtime, url, tap)
}

#[test]
fn mfa_flags_put_the_serial_number_and_code_on_the_sts_requests() {
    let s = setup();
    let (_runtime, tap_url, tap) = background_tap();
    let encoded_serial = s.mfa_serial.replace(':', "%3A").replace('/', "%2F");
    let seeds = format!("s3://{}/seed/", s.bucket);
    let ferry = Ferry::user();

    // AssumeRole with MFA, STS reached through the tap (--sts-endpoint-url wins over
    // AWS_ENDPOINT_URL_STS).
    let assumed = ferry
        .run(&[
            "--sts-endpoint-url",
            &tap_url,
            "--assume-role",
            &s.reader_arn,
            "--mfa-serial",
            &s.mfa_serial,
            "--mfa-code",
            "123456",
            "ls",
            &seeds,
        ])
        .ok();
    assert!(
        !assumed.stderr.contains("--mfa-code was not used"),
        "the code went to STS: {}",
        assumed.stderr
    );
    let wire = tap.take_sent();
    for needle in [
        "Action=AssumeRole".to_owned(),
        format!("SerialNumber={encoded_serial}"),
        "TokenCode=123456".to_owned(),
    ] {
        assert!(wire.contains(&needle), "{needle:?} not in:\n{wire}");
    }

    // Without --assume-role, the MFA device means GetSessionToken. (moto's own services do
    // not accept the session it hands out, so only the request is checked here.)
    let _ = ferry.run(&[
        "--sts-endpoint-url",
        &tap_url,
        "--mfa-serial",
        &s.mfa_serial,
        "--mfa-code",
        "654321",
        "--session-duration",
        "900",
        "whoami",
    ]);
    let wire = tap.take_sent();
    for needle in [
        "Action=GetSessionToken".to_owned(),
        "DurationSeconds=900".to_owned(),
        format!("SerialNumber={encoded_serial}"),
        "TokenCode=654321".to_owned(),
    ] {
        assert!(wire.contains(&needle), "{needle:?} not in:\n{wire}");
    }

    // No code and no terminal to ask on: a clear refusal, at once, with nothing sent.
    let refused = ferry
        .run(&[
            "--sts-endpoint-url",
            &tap_url,
            "--assume-role",
            &s.reader_arn,
            "--mfa-serial",
            &s.mfa_serial,
            "ls",
            &seeds,
        ])
        .failed();
    assert!(refused.stderr.to_lowercase().contains("mfa"), "{refused:?}");
    assert!(
        !tap.take_sent().contains("Action=AssumeRole"),
        "AssumeRole was sent without a code"
    );
}

// ---------------------------------------------------------------------------------------
// 5. whoami

#[test]
fn whoami_prints_the_identity_and_masked_key_and_the_expiry_of_temporary_credentials() {
    let s = setup();
    // Long-term keys: the user's ARN and its masked key id; never the key itself.
    let user = Ferry::user().run(&["whoami"]).ok();
    assert!(user.stdout.contains(&s.user_arn), "{user:?}");
    assert!(user.stdout.contains(&masked(&s.key_id)), "{user:?}");
    assert!(!user.all_output().contains(&s.key_id), "{user:?}");

    // An assumed role's keys from the environment: the session's ARN and the masked
    // temporary key (the environment does not say when they expire).
    let role = assume_reader("ferry-interop-whoami");
    let temp = Ferry::temporary(&role).run(&["whoami"]).ok();
    assert!(
        temp.stdout.contains(&format!(
            "arn:aws:sts::{}:assumed-role/reader/ferry-interop-whoami",
            s.account
        )),
        "{temp:?}"
    );
    assert!(
        temp.stdout.contains(&masked(role.access_key_id())),
        "{temp:?}"
    );
    assert!(
        !temp.all_output().contains(role.access_key_id()),
        "{temp:?}"
    );
    assert!(temp.stdout.contains("temporary"), "{temp:?}");

    // --assume-role: ferry asked STS itself, so it knows the expiry and prints it.
    let before = SystemTime::now();
    let assumed = Ferry::user()
        .run(&[
            "--assume-role",
            &s.reader_arn,
            "--role-session-name",
            "ferry-interop-whoami2",
            "--session-duration",
            "900",
            "whoami",
        ])
        .ok();
    assert!(
        assumed.stdout.contains(&format!(
            "arn:aws:sts::{}:assumed-role/reader/ferry-interop-whoami2",
            s.account
        )),
        "{assumed:?}"
    );
    assert!(assumed.stdout.contains("****"), "{assumed:?}");
    let expiry_line = assumed
        .stdout
        .lines()
        .find(|l| l.to_lowercase().contains("expir"))
        .unwrap_or_else(|| panic!("no expiry: {assumed:?}"));
    // The expiry is printed as a UTC time (2026-11-29T08:00:00Z) about 900 s from now.
    let stamp = expiry_line
        .split_whitespace()
        .find(|w| w.len() == 20 && w.ends_with('Z') && w.as_bytes()[10] == b'T')
        .unwrap_or_else(|| panic!("no UTC time in {expiry_line:?}"));
    let expires = ferry_tests::sigv4_suite::parse_iso8601(stamp);
    let from = before
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        (from + 840..=from + 1000).contains(&expires),
        "{expiry_line:?}: not about 900 s after {from}"
    );

    // The same as JSON: one object with the ARN, the masked key and the expiry.
    let json = Ferry::user()
        .run(&["--assume-role", &s.reader_arn, "whoami", "--json"])
        .ok();
    let lines = json_lines(&json);
    assert_eq!(lines.len(), 1, "{json:?}");
    let who = &lines[0];
    assert!(
        who["arn"].as_str().is_some_and(
            |a| a.starts_with(&format!("arn:aws:sts::{}:assumed-role/reader/", s.account))
        ),
        "{json:?}"
    );
    assert!(
        who["access_key_id"]
            .as_str()
            .is_some_and(|k| k.contains("****") && k.len() >= 16),
        "{json:?}"
    );
    assert!(who["expires"].is_string(), "{json:?}");
    assert_eq!(who["kind"], "temporary", "{json:?}");
}

// ---------------------------------------------------------------------------------------
// 6. No secret in any output

/// The ways a secret could show: as is, percent-encoded, or base64'd in a header dump.
fn forms(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_owned()];
    let encoded = secret
        .replace('%', "%25")
        .replace('/', "%2F")
        .replace('+', "%2B")
        .replace('=', "%3D");
    if encoded != secret {
        out.push(encoded);
    }
    out
}

#[test]
fn secrets_and_session_tokens_never_appear_in_output_even_with_debug_logs_or_json() {
    let s = setup();
    let role = assume_reader("ferry-interop-secrets");
    let token = role.session_token().unwrap().to_owned();
    let mut secrets = forms(&s.secret);
    secrets.extend(forms(role.secret_access_key()));
    secrets.extend(forms(&token));

    let user = Ferry::user();
    let temporary = Ferry::temporary(&role);
    let chain = Ferry::new();
    chain_profiles(&chain);
    let local = user.home().join("secret-test.txt");
    std::fs::write(&local, "checking the logs for secrets").unwrap();
    let prefix = unique_prefix("secrets");
    let object = format!("s3://{}/{prefix}secret-test.txt", s.bucket);
    let seeds = format!("s3://{}/seed/", s.bucket);
    let local_text = local.to_str().unwrap().to_owned();
    let download = user.home().join("back.txt");
    let download_text = download.to_str().unwrap().to_owned();
    // STS through a tap, to learn the secrets ferry is handed by STS itself.
    let (_runtime, tap_url, tap) = background_tap();
    let sts = ["--sts-endpoint-url", tap_url.as_str()];

    let mut runs = Vec::new();
    for verbosity in [
        &["-v"][..],
        &["-vv"][..],
        &["--json"][..],
        &["-v", "--json"][..],
    ] {
        let with = |args: &[&str]| -> Vec<String> {
            verbosity
                .iter()
                .chain(args)
                .map(|a| (*a).to_owned())
                .collect()
        };
        let run = |ferry: &Ferry, args: Vec<String>| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            ferry.run(&args)
        };
        // The user's keys: upload, list, download, whoami.
        runs.push(run(&user, with(&["cp", &local_text, &object])).ok());
        runs.push(run(&user, with(&["ls", "-r", &seeds])).ok());
        runs.push(run(&user, with(&["cp", &object, &download_text])).ok());
        runs.push(run(&user, with(&["whoami"])));
        // Temporary credentials from the environment: read, a denied write, whoami.
        runs.push(run(&temporary, with(&["ls", &seeds])).ok());
        runs.push(run(&temporary, with(&["cp", &local_text, &object])).failed());
        runs.push(run(&temporary, with(&["whoami"])));
        // --session-token on the command line (its value must not be echoed back).
        let flagged = Ferry::new()
            .env("AWS_ACCESS_KEY_ID", role.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", role.secret_access_key());
        runs.push(run(
            &flagged,
            with(&["--session-token", &token, "ls", &seeds]),
        ));
        // The token missing: ferry's refusal must not print the secret.
        runs.push(
            run(
                &Ferry::temporary(&role).without("AWS_SESSION_TOKEN"),
                with(&["ls", &seeds]),
            )
            .failed(),
        );
        // AssumeRole by ferry, and the profile chain (STS answers carry fresh secrets, and
        // requests carry the user's).
        let role = ["--assume-role", s.reader_arn.as_str()];
        runs.push(run(&user, with(&[&sts[..], &role, &["ls", &seeds]].concat())).ok());
        runs.push(run(&user, with(&[&sts[..], &role, &["whoami"]].concat())).ok());
        let denied = [&sts[..], &role, &["cp", &local_text, &object]].concat();
        runs.push(run(&user, with(&denied)).failed());
        let reader = ["--profile", "reader"];
        runs.push(run(&chain, with(&[&sts[..], &reader, &["ls", &seeds]].concat())).ok());
        runs.push(run(&chain, with(&[&sts[..], &reader, &["whoami"]].concat())).ok());
        // GetSessionToken with MFA (moto's S3 and STS do not take the session it hands out;
        // whatever ferry says then must not include it).
        let mfa = [
            "--mfa-serial",
            s.mfa_serial.as_str(),
            "--mfa-code",
            "123456",
        ];
        runs.push(run(&user, with(&[&sts[..], &mfa, &["whoami"]].concat())));
        runs.push(run(
            &user,
            with(&[&sts[..], &mfa, &["ls", &seeds]].concat()),
        ));
    }

    // Every secret and token STS handed out through the tap.
    let secrets_seen = tap.received_elements("SecretAccessKey");
    let tokens_seen = tap.received_elements("SessionToken");
    assert!(
        // Per verbosity: three AssumeRole and two GetSessionToken; the chain's two hops once
        // (later runs take the reader role from the AWS CLI cache, ~/.aws/cli/cache).
        secrets_seen.len() >= 4 * 5 + 2 && tokens_seen.len() == secrets_seen.len(),
        "STS answered {} secrets and {} tokens through the tap",
        secrets_seen.len(),
        tokens_seen.len()
    );
    for secret in secrets_seen.iter().chain(&tokens_seen) {
        secrets.extend(forms(secret));
    }

    let mut leaks = Vec::new();
    for run in &runs {
        // A secret given on the command line is in `args`, not in the output.
        let output = run.all_output();
        for secret in &secrets {
            if output.contains(secret.as_str()) {
                leaks.push(format!(
                    "ferry {:?} printed a secret ({}…)",
                    run.args
                        .iter()
                        .filter(|a| !a.contains(&token))
                        .collect::<Vec<_>>(),
                    &secret[..4]
                ));
            }
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    // The debug runs did log something (so the check above looked at real logs).
    assert!(
        runs.iter().any(|r| r.stderr.contains("DEBUG")),
        "no debug log at all"
    );
}

// ---------------------------------------------------------------------------------------
// What objects are stored as: storage class, encryption, tags, headers

/// What the AWS CLI (`FERRY_AWS_CLI`, awscli 1.46.3) reads back of `key`: `s3api
/// head-object`'s storage class, encryption, KMS key, headers and metadata, and `s3api
/// get-object-tagging`'s tags, as one JSON object.
fn read_back_with_the_aws_cli(key: &str) -> Value {
    let s = setup();
    let aws = |args: &[&str]| {
        let output = Command::new(aws_cli())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", std::env::temp_dir())
            .env("AWS_ACCESS_KEY_ID", &s.key_id)
            .env("AWS_SECRET_ACCESS_KEY", &s.secret)
            .env("AWS_DEFAULT_REGION", &s.region)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(["--endpoint-url", &s.endpoint, "--output", "json", "s3api"])
            .args(args)
            .args(["--bucket", &s.bucket, "--key", key])
            .output()
            .expect("aws runs");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (ok, head, err) = aws(&["head-object"]);
    assert!(ok, "aws s3api head-object {key}: {err}");
    let head: Value = serde_json::from_str(&head).expect("head-object's JSON");
    let (ok, tagging, err) = aws(&["get-object-tagging"]);
    // moto refuses GetObjectTagging on archived objects (DEEP_ARCHIVE, GLACIER).
    assert!(
        ok || err.contains("InvalidObjectState"),
        "aws s3api get-object-tagging {key}: {err}"
    );
    let tags: serde_json::Map<String, Value> = if ok {
        let tagging: Value = serde_json::from_str(&tagging).expect("get-object-tagging's JSON");
        tagging["TagSet"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| {
                (
                    t["Key"].as_str().unwrap_or_default().to_owned(),
                    t["Value"].clone(),
                )
            })
            .collect()
    } else {
        serde_json::Map::new()
    };
    serde_json::json!({
        "StorageClass": head.get("StorageClass").cloned().unwrap_or("STANDARD".into()),
        "ServerSideEncryption": head["ServerSideEncryption"],
        "SSEKMSKeyId": head["SSEKMSKeyId"],
        "CacheControl": head["CacheControl"],
        "ContentDisposition": head["ContentDisposition"],
        "ContentType": head["ContentType"],
        "Metadata": head["Metadata"],
        "Tags": tags,
    })
}

#[test]
fn storage_class_sse_kms_tags_and_headers_set_by_ferry_are_what_the_aws_cli_reads_back() {
    let s = setup();
    let ferry = Ferry::user();
    let prefix = unique_prefix("options");
    let dir = ferry.home().join("data");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("small.txt"), b"a small backup\n").unwrap();
    // Large enough for CreateMultipartUpload, which must carry the same options.
    let big: Vec<u8> = (0..9 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("big.bin"), &big).unwrap();
    let kms_key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let options = [
        "--sse",
        "aws:kms",
        "--sse-kms-key-id",
        kms_key,
        "--tagging",
        "project=atlas&retention=7y",
        "--cache-control",
        "max-age=60",
        "--content-disposition",
        "attachment",
        "--metadata",
        "origin=ferry-test",
    ];
    // moto keeps an archived object's tags but will not show them: the archive class goes
    // on the small object, the tags are read back from the large one.
    for (name, class) in [("small.txt", "deep_archive"), ("big.bin", "GLACIER_IR")] {
        let source = dir.join(name);
        let target = format!("s3://{}/{prefix}{name}", s.bucket);
        let mut args = vec![
            "cp",
            source.to_str().unwrap(),
            &target,
            "--storage-class",
            class,
        ];
        args.extend(options);
        ferry.run(&args).ok();
        let back = read_back_with_the_aws_cli(&format!("{prefix}{name}"));
        assert_eq!(
            back["StorageClass"],
            class.to_ascii_uppercase(),
            "{name}: {back}"
        );
        assert_eq!(back["ServerSideEncryption"], "aws:kms", "{name}: {back}");
        assert_eq!(back["SSEKMSKeyId"], kms_key, "{name}: {back}");
        if name == "big.bin" {
            assert_eq!(back["Tags"]["project"], "atlas", "{name}: {back}");
            assert_eq!(back["Tags"]["retention"], "7y", "{name}: {back}");
        }
        assert_eq!(back["CacheControl"], "max-age=60", "{name}: {back}");
        assert_eq!(back["ContentDisposition"], "attachment", "{name}: {back}");
        assert_eq!(back["Metadata"]["origin"], "ferry-test", "{name}: {back}");
    }

    // A server-side copy: the class, encryption and tags asked for; the source's metadata
    // kept (COPY), or replaced when asked.
    let source = format!("s3://{}/{prefix}big.bin", s.bucket);
    let kept = format!("s3://{}/{prefix}copy-kept.txt", s.bucket);
    ferry
        .run(&[
            "cp",
            &source,
            &kept,
            "--storage-class",
            "GLACIER_IR",
            "--sse",
            "AES256",
            "--tagging",
            "tier=cold",
        ])
        .ok();
    let back = read_back_with_the_aws_cli(&format!("{prefix}copy-kept.txt"));
    assert_eq!(back["StorageClass"], "GLACIER_IR", "{back}");
    assert_eq!(back["ServerSideEncryption"], "AES256", "{back}");
    assert_eq!(back["Tags"]["tier"], "cold", "{back}");
    assert_eq!(back["Metadata"]["origin"], "ferry-test", "{back}");

    let replaced = format!("s3://{}/{prefix}copy-replaced.txt", s.bucket);
    ferry
        .run(&[
            "cp",
            &source,
            &replaced,
            "--metadata",
            "origin=replaced",
            "--content-type",
            "text/x-note",
        ])
        .ok();
    let back = read_back_with_the_aws_cli(&format!("{prefix}copy-replaced.txt"));
    assert_eq!(back["Metadata"]["origin"], "replaced", "{back}");
    assert_eq!(back["ContentType"], "text/x-note", "{back}");

    // Between endpoints (GET and PUT, in parts for 9 MiB): the source's tags, headers and
    // metadata are carried, where S3 would not carry them itself.
    let across = format!("s3://{}/{prefix}copy-across.bin", s.bucket);
    ferry
        .run(&["cp", &source, &across, "--source-endpoint-url", &s.endpoint])
        .ok();
    let back = read_back_with_the_aws_cli(&format!("{prefix}copy-across.bin"));
    assert_eq!(back["Tags"]["project"], "atlas", "{back}");
    assert_eq!(back["Tags"]["retention"], "7y", "{back}");
    assert_eq!(back["CacheControl"], "max-age=60", "{back}");
    assert_eq!(back["ContentDisposition"], "attachment", "{back}");
    assert_eq!(back["Metadata"]["origin"], "ferry-test", "{back}");
}

#[test]
fn a_storage_class_or_sse_that_s3_does_not_know_is_refused_before_anything_is_sent() {
    let s = setup();
    let ferry = Ferry::user();
    let file = ferry.home().join("f.txt");
    std::fs::write(&file, b"x").unwrap();
    let target = format!("s3://{}/{}", s.bucket, unique_prefix("refused"));
    for (flag, value) in [
        ("--storage-class", "COLDEST"),
        ("--sse", "rot13"),
        ("--acl", "everyone"),
    ] {
        let run = ferry
            .run(&["cp", file.to_str().unwrap(), &target, flag, value])
            .failed();
        assert_eq!(run.code, Some(2), "{run:?}");
        assert!(run.stderr.contains(flag), "{run:?}");
    }
}

// ---------------------------------------------------------------------------------------
// 7. The AWS CLI's role cache (~/.aws/cli/cache), shared with a real `aws` (awscli 1.46.3)

/// The `aws` the script installed next to moto (`FERRY_AWS_CLI`).
fn aws_cli() -> PathBuf {
    std::env::var_os("FERRY_AWS_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!("FERRY_AWS_CLI is not set: run these tests through scripts/interop_moto.sh")
        })
}

/// Runs `aws ARGS…` with this invocation's HOME and `stdin` as its input, in a session of its
/// own (no controlling terminal, so an MFA prompt reads the code from `stdin`), killed past
/// [`COMMAND_LIMIT`].
fn run_aws(ferry: &Ferry, env: &[(&str, &str)], args: &[&str], stdin: &str) -> Run {
    use std::io::Write;
    let setsid = Path::new("/usr/bin/setsid");
    let mut cmd = if setsid.exists() {
        let mut cmd = Command::new(setsid);
        cmd.arg(aws_cli());
        cmd
    } else {
        Command::new(aws_cli())
    };
    cmd.env_clear()
        .env("HOME", ferry.home())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .envs(env.iter().copied())
        .args(args)
        .current_dir(ferry.home())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("aws starts");
    let mut input = child.stdin.take().expect("stdin");
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    let out = read_all(child.stdout.take().expect("stdout"));
    let err = read_all(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + COMMAND_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for aws") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("aws {args:?} did not finish within {COMMAND_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        success: status.success(),
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// `base` with the user's keys, and `profile` assuming `reader` from it with `extra` settings.
fn role_profile(ferry: &Ferry, profile: &str, extra: &str) {
    let s = setup();
    ferry.aws_file(
        "credentials",
        &format!(
            "[base]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            s.key_id, s.secret
        ),
    );
    ferry.aws_file(
        "config",
        &format!(
            "[profile {profile}]\nrole_arn = {reader}\nsource_profile = base\nregion = {region}\n{extra}",
            reader = s.reader_arn,
            region = s.region,
        ),
    );
}

/// The entries of `~/.aws/cli/cache`.
fn cli_cache_entries(ferry: &Ferry) -> Vec<PathBuf> {
    let dir = ferry.home().join(".aws/cli/cache");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    entries.sort();
    entries
}

#[test]
fn a_role_the_aws_cli_assumed_with_an_mfa_code_is_used_from_its_cache_without_sts_or_a_code() {
    let s = setup();
    let ferry = Ferry::new();
    role_profile(
        &ferry,
        "mfa-reader",
        &format!("mfa_serial = {}\nduration_seconds = 1800\n", s.mfa_serial),
    );
    // `aws` assumes the role (the code typed on its prompt) and caches the answer.
    let aws = run_aws(
        &ferry,
        &[("AWS_ENDPOINT_URL_STS", &s.endpoint)],
        &["sts", "get-caller-identity", "--profile", "mfa-reader"],
        "123456\n",
    );
    assert!(aws.success, "{aws:?}");
    assert!(
        aws.stdout.contains("assumed-role/reader/botocore-session-"),
        "{aws:?}"
    );
    let entries = cli_cache_entries(&ferry);
    assert_eq!(entries.len(), 1, "{entries:?}");

    // ferry, with no code and no terminal, through a tap on STS: the role's credentials come
    // from the cache (the session botocore named), and no AssumeRole is sent.
    let (_runtime, tap_url, tap) = background_tap();
    let who = ferry
        .run(&[
            "--profile",
            "mfa-reader",
            "--sts-endpoint-url",
            &tap_url,
            "whoami",
        ])
        .ok();
    assert!(
        who.stdout.contains("assumed-role/reader/botocore-session-"),
        "{who:?}"
    );
    let sent = tap.take_sent();
    assert!(sent.contains("Action=GetCallerIdentity"), "{sent}");
    assert!(!sent.contains("Action=AssumeRole"), "{sent}");
    let seeds = format!("s3://{}/seed/", s.bucket);
    let listed = ferry
        .run(&[
            "--profile",
            "mfa-reader",
            "--sts-endpoint-url",
            &tap_url,
            "ls",
            &seeds,
        ])
        .ok();
    assert!(listed.stdout.contains("object-0.txt"), "{listed:?}");
    assert!(!tap.take_sent().contains("Action=AssumeRole"));

    // Without the entry, ferry would have to ask for a code, and has no way to.
    std::fs::remove_file(&entries[0]).unwrap();
    let refused = ferry
        .run(&[
            "--profile",
            "mfa-reader",
            "--sts-endpoint-url",
            &tap_url,
            "whoami",
        ])
        .failed();
    assert!(refused.stderr.contains("no terminal"), "{refused:?}");
    assert!(!tap.take_sent().contains("Action=AssumeRole"));
}

#[test]
fn a_role_ferry_assumes_is_cached_where_the_aws_cli_finds_it_without_sts() {
    let s = setup();
    let ferry = Ferry::new();
    role_profile(
        &ferry,
        "cached-reader",
        // Longer than botocore's 15-minute expiry window, or `aws` would not use it.
        "role_session_name = ferry-cache\nduration_seconds = 1800\n",
    );
    let seeds = format!("s3://{}/seed/", s.bucket);
    ferry
        .run(&["--profile", "cached-reader", "ls", &seeds])
        .ok();
    let entries = cli_cache_entries(&ferry);
    assert_eq!(entries.len(), 1, "{entries:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&entries[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{:?}", entries[0]);
    }
    let text = std::fs::read_to_string(&entries[0]).unwrap();
    let entry: Value = serde_json::from_str(&text).unwrap();
    assert!(
        entry["AssumedRoleUser"]["Arn"]
            .as_str()
            .unwrap()
            .ends_with("assumed-role/reader/ferry-cache"),
        "{entry}"
    );

    // `aws`, with STS out of reach, lists the bucket as the cached role session: it found
    // ferry's entry under the key it computes itself, and its format.
    let aws = run_aws(
        &ferry,
        &[("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")],
        &[
            "s3api",
            "list-objects-v2",
            "--bucket",
            &s.bucket,
            "--prefix",
            "seed/",
            "--profile",
            "cached-reader",
            "--endpoint-url",
            &s.endpoint,
        ],
        "",
    );
    assert!(aws.success, "{aws:?}");
    assert!(aws.stdout.contains("seed/object-0.txt"), "{aws:?}");
    // It used the entry as it was (it did not assume the role again and rewrite it).
    assert_eq!(std::fs::read_to_string(&entries[0]).unwrap(), text);
    assert_eq!(cli_cache_entries(&ferry).len(), 1);
}
