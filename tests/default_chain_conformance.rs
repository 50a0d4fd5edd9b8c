//! The default credential chain against the cross-SDK cases of smithy-rs
//! (`fixtures/default-chain/`, see its `SOURCES.md`), the SSO token provider's cases, and the
//! IMDS endpoint rules.
//!
//! Each case runs [`default_chain`] over its environment and a copy of its file system, with
//! one loopback replay server standing in for every host the recording names (IMDS, the
//! ECS/EKS agents, the SSO portal, STS): it plays the recorded answers, matched by method and
//! path in recorded order (a request past the recording gets the last answer for that path
//! again: a server that keeps failing). The providers are pointed at it through their
//! endpoint variables, set in the test's `Environment`; the case itself is not edited.
//!
//! Expected credentials are compared field by field (ferry does not read `account_id`).
//! Expected errors are SDK messages; ferry's own words for the same failure are listed per
//! case. Cases ferry cannot pass are skipped, each with its reason.

use bytes::Bytes;
use ferry::credentials::imds::resolve_config;
use ferry::credentials::profile::{self, FileLocations};
use ferry::credentials::{ChainOptions, ProvideCredentials, default_chain};
use ferry::env::Environment;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

/// How many cases the suite holds.
const CASES: usize = 29;

/// Cases ferry does not pass, and why (none: every case runs).
const SKIPPED: &[(&str, &str)] = &[];

/// For error cases whose SDK message ferry does not share: what ferry says instead.
const FERRY_ERRORS: &[(&str, &str)] = &[
    ("imds_default_chain_error", "no credentials found"),
    ("imds_disabled", "no credentials found"),
    (
        "web_identity_source_profile_no_env",
        "it has web_identity_token_file but no role_arn",
    ),
    ("imds_no_iam_role", "the instance has no IAM role"),
    // ferry falls back to IMDSv1 after a refused token, as botocore does, and then says why.
    ("imds_token_fail", "IMDS refused a session token (HTTP 403"),
    // The environment's web identity settings are not used for `credential_source = Environment`.
    (
        "profile_overrides_web_identity",
        "its credential source (environment) has no credentials",
    ),
    // STS's error code as sent (the SDK names its exception type after it).
    (
        "web_identity_token_invalid_jwt",
        "InvalidIdentityToken (HTTP 400): No OpenIDConnect provider found in your account",
    ),
];

/// Variables that hold paths of the case's file system (rebased under the copy).
const PATH_VARIABLES: &[&str] = &[
    "HOME",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];

/// One recorded answer.
#[derive(Clone)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Recorded answers by (method, path), in order; and what was asked.
#[derive(Default)]
struct Replay {
    answers: BTreeMap<(String, String), (Vec<Answer>, usize)>,
    asked: Vec<String>,
}

fn data_text(data: &Value) -> Vec<u8> {
    match data.get("Utf8").and_then(Value::as_str) {
        Some(text) => text.as_bytes().to_vec(),
        None => Vec::new(),
    }
}

/// Reads `http-traffic.json`: each connection's request, response and response data.
fn load_traffic(path: &Path) -> Replay {
    let mut replay = Replay::default();
    let Ok(text) = std::fs::read_to_string(path) else {
        return replay;
    };
    let traffic: Value = serde_json::from_str(&text).expect("traffic is JSON");
    // connection id -> (method, path, answer)
    let mut connections: BTreeMap<u64, (String, String, Option<Answer>)> = BTreeMap::new();
    let mut order: Vec<u64> = Vec::new();
    for event in traffic["events"].as_array().expect("events") {
        let id = event["connection_id"].as_u64().expect("connection id");
        let action = &event["action"];
        if let Some(request) = action.get("Request") {
            let request = &request["request"];
            let uri: http::Uri = request["uri"].as_str().expect("uri").parse().expect("uri");
            let method = request["method"].as_str().expect("method").to_owned();
            connections.insert(id, (method, uri.path().to_owned(), None));
            order.push(id);
        } else if let Some(response) = action.get("Response") {
            let ok = &response["response"]["Ok"];
            let headers = ok["headers"]
                .as_object()
                .map(|h| {
                    h.iter()
                        .filter(|(k, _)| {
                            !matches!(
                                k.to_ascii_lowercase().as_str(),
                                "content-length" | "connection" | "transfer-encoding"
                            )
                        })
                        .flat_map(|(k, v)| {
                            v.as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|v| Some((k.clone(), v.as_str()?.to_owned())))
                        })
                        .collect()
                })
                .unwrap_or_default();
            if let Some(entry) = connections.get_mut(&id) {
                entry.2 = Some(Answer {
                    status: ok["status"].as_u64().expect("status") as u16,
                    headers,
                    body: Vec::new(),
                });
            }
        } else if let Some(data) = action.get("Data")
            && data["direction"] == "Response"
            && let Some((_, _, Some(answer))) = connections.get_mut(&id)
        {
            answer.body.extend(data_text(&data["data"]));
        }
    }
    for id in order {
        let (method, path, answer) = connections[&id].clone();
        if let Some(answer) = answer {
            replay
                .answers
                .entry((method, path))
                .or_default()
                .0
                .push(answer);
        }
    }
    replay
}

/// Serves `replay` on loopback; returns its URL.
async fn serve(replay: Arc<Mutex<Replay>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let replay = replay.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let replay = replay.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let _ = body.collect().await?;
                        let key = (parts.method.to_string(), parts.uri.path().to_owned());
                        let answer = {
                            let mut replay = replay.lock().unwrap();
                            replay.asked.push(format!("{} {}", key.0, key.1));
                            replay.answers.get_mut(&key).map(|(answers, next)| {
                                let answer = answers[(*next).min(answers.len() - 1)].clone();
                                *next += 1;
                                answer
                            })
                        };
                        let answer = answer.unwrap_or(Answer {
                            status: 404,
                            headers: Vec::new(),
                            body: b"not in the recording".to_vec(),
                        });
                        let mut builder = http::Response::builder().status(answer.status);
                        for (name, value) in &answer.headers {
                            builder = builder.header(name, value);
                        }
                        Ok::<_, hyper::Error>(
                            builder.body(Full::new(Bytes::from(answer.body))).unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    url
}

/// Copies `from` into `to`, rebasing `= /…` paths of the shared config files under `root`.
fn copy_tree(from: &Path, to: &Path, root: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target, root);
        } else if entry
            .path()
            .parent()
            .is_some_and(|p| p.file_name() == Some(std::ffi::OsStr::new(".aws")))
        {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let rebased = text.replace(
                "web_identity_token_file = /",
                &format!("web_identity_token_file = {}/", root.display()),
            );
            std::fs::write(target, rebased).unwrap();
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/default-chain")
}

/// Runs one case: `Ok(())` when ferry agrees, else how it differs.
async fn run_case(dir: &Path) -> Result<(), String> {
    let name = dir.file_name().unwrap().to_str().unwrap().to_owned();
    let case: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("test-case.json")).unwrap())
            .unwrap();
    let env_json: BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("env.json")).unwrap()).unwrap();
    let root = tempfile::tempdir().unwrap();
    if dir.join("fs").is_dir() {
        copy_tree(&dir.join("fs"), root.path(), root.path());
    }
    let replay = Arc::new(Mutex::new(load_traffic(&dir.join("http-traffic.json"))));
    let url = serve(replay.clone()).await;
    let mut pairs: Vec<(String, String)> = env_json
        .into_iter()
        .map(|(key, value)| {
            if PATH_VARIABLES.contains(&key.as_str()) && value.starts_with('/') {
                let rebased = format!("{}{value}", root.path().display());
                (key, rebased)
            } else {
                (key, value)
            }
        })
        .collect();
    for variable in [
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "FERRY_CONTAINER_ENDPOINT",
        "AWS_ENDPOINT_URL_SSO",
        "AWS_ENDPOINT_URL_STS",
    ] {
        pairs.push((variable.into(), url.clone()));
    }
    let env = Environment::from_pairs(pairs);
    let chain = default_chain(env, ChainOptions::default());
    let got = tokio::time::timeout(Duration::from_secs(60), chain.provide())
        .await
        .map_err(|_| "no answer within 60 s".to_owned())?;
    let asked = replay.lock().unwrap().asked.join(", ");
    let result = &case["result"];
    if let Some(want) = result.get("Ok") {
        let creds = got
            .map_err(|e| format!("expected credentials, got the error: {e} (asked: {asked})"))?
            .ok_or("expected credentials, got anonymous")?;
        let field = |key: &str| want.get(key).and_then(Value::as_str);
        let mut diffs = Vec::new();
        if field("access_key_id") != Some(creds.access_key_id()) {
            diffs.push(format!("access key {}", creds.masked_access_key_id()));
        }
        if field("secret_access_key") != Some(creds.secret_access_key()) {
            diffs.push("secret access key".to_owned());
        }
        if field("session_token") != creds.session_token() {
            diffs.push("session token".to_owned());
        }
        let expiry = creds
            .expiry()
            .and_then(|e| e.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs());
        if want.get("expiry").and_then(Value::as_u64) != expiry {
            diffs.push(format!("expiry {expiry:?}"));
        }
        return if diffs.is_empty() {
            Ok(())
        } else {
            Err(format!("differs in {} (asked: {asked})", diffs.join(", ")))
        };
    }
    let want = result["ErrorContains"].as_str().expect("an error case");
    let err = match got {
        Ok(_) => return Err(format!("expected the error `{want}`, got credentials")),
        Err(err) => err.to_string(),
    };
    let home = format!("{}/home", root.path().display());
    let sdk_words = want.replace("/home", &home);
    let ferry_words = FERRY_ERRORS
        .iter()
        .find(|(case, _)| *case == name)
        .map(|(_, words)| *words);
    let leaked = ["secretkeycorrect", "tokencorrect", "a-token", "sometoken"]
        .iter()
        .find(|secret| err.contains(**secret));
    if let Some(secret) = leaked {
        return Err(format!("the error shows a secret ({secret}): {err}"));
    }
    if err.contains(&sdk_words) || ferry_words.is_some_and(|w| err.contains(w)) {
        Ok(())
    } else {
        Err(format!(
            "expected an error like `{}`, got: {err}",
            ferry_words.unwrap_or(want)
        ))
    }
}

#[tokio::test]
async fn the_default_chain_passes_the_cross_sdk_cases() {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(cases_dir().join("default-credential-provider-chain"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
    dirs.sort();
    assert_eq!(dirs.len(), CASES);
    let mut failures = Vec::new();
    let mut passed = 0;
    let mut skipped = 0;
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_str().unwrap();
        if let Some((_, why)) = SKIPPED.iter().find(|(case, _)| *case == name) {
            println!("skipped {name}: {why}");
            skipped += 1;
            continue;
        }
        match run_case(dir).await {
            Ok(()) => passed += 1,
            Err(why) => failures.push(format!("{name}: {why}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    assert_eq!(passed + skipped, CASES);
    assert_eq!(skipped, SKIPPED.len());
}

#[test]
fn the_imds_endpoint_follows_the_cross_sdk_rules() {
    let path = cases_dir().join("imds-config/imds-endpoint-tests.json");
    let suite: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let tests = suite["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 14);
    let mut failures = Vec::new();
    for case in tests {
        let docs = case["docs"].as_str().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (key, value) in case["env"].as_object().unwrap() {
            let value = value.as_str().unwrap();
            let value = if key == "AWS_CONFIG_FILE" {
                dir.path().join(value).display().to_string()
            } else {
                value.to_owned()
            };
            pairs.push((key.clone(), value));
        }
        for (name, text) in case["fs"].as_object().unwrap() {
            std::fs::write(dir.path().join(name), text.as_str().unwrap()).unwrap();
        }
        pairs.push(("HOME".into(), dir.path().display().to_string()));
        let env = Environment::from_pairs(pairs);
        let loaded = profile::load_from(&FileLocations::from_env(&env)).unwrap();
        let got = resolve_config(
            &env,
            loaded.profiles.get("default"),
            case["endpoint_override"].as_str(),
            case["mode_override"].as_str(),
        )
        .map(|config| format!("{}/latest/api/token", config.endpoint));
        let result = &case["result"];
        let ok = match (result.get("Ok").and_then(Value::as_str), &got) {
            (Some(want), Ok(url)) => want == url,
            (None, Err(err)) => err.contains(result["Err"].as_str().unwrap()),
            _ => false,
        };
        if !ok {
            failures.push(format!("{docs}: expected {result}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn the_sso_token_provider_passes_the_cross_sdk_cases() {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(cases_dir().join("default-token-provider-chain"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 3);
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_str().unwrap().to_owned();
        let case: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("test-case.json")).unwrap())
                .unwrap();
        let env_json: BTreeMap<String, String> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("env.json")).unwrap()).unwrap();
        let root = tempfile::tempdir().unwrap();
        copy_tree(&dir.join("fs"), root.path(), root.path());
        let pairs = env_json.into_iter().map(|(key, value)| {
            if PATH_VARIABLES.contains(&key.as_str()) && value.starts_with('/') {
                (key, format!("{}{value}", root.path().display()))
            } else {
                (key, value)
            }
        });
        let env = Environment::from_pairs(pairs);
        let want = &case["result"]["Ok"];
        match ferry::credentials::sso::session_token(&env, None).await {
            Ok(Some(token)) => {
                let expiry = ferry::time::format_utc(token.expiry);
                if Some(token.token.expose()) != want["token"].as_str()
                    || Some(expiry.as_str()) != want["expiration"].as_str()
                {
                    failures.push(format!(
                        "{name}: got a different token or expiry ({expiry})"
                    ));
                }
            }
            Ok(None) => failures.push(format!("{name}: no sso_session found")),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
