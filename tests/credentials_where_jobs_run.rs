//! Credentials where the jobs run: EC2 instance metadata, the ECS/EKS container agents, web
//! identity, IAM Identity Center and `credential_process`, each against a loopback server
//! standing in for the real endpoint (pointed at through the endpoint variables), and each
//! failure a one-line message naming the source and what to do.

use bytes::Bytes;
use ferry::credentials::{ChainOptions, Credentials, ProvideCredentials, default_chain};
use ferry::env::Environment;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

const ROLE_JSON: &str = r#"{"Code":"Success","AccessKeyId":"ASIAIMDSROLEKEY00001","SecretAccessKey":"imds-secret","Token":"imds-token-value","Expiration":"2031-01-01T00:00:00Z"}"#;

/// What the stand-in saw: method, path and headers of each request, and the form body.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    headers: http::HeaderMap,
    body: String,
}

/// A loopback server answering `(METHOD, PATH)` with a fixed `(status, body)`; 404 otherwise.
struct Stand {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stand {
    async fn start(answers: &[(&str, &str, u16, &str)]) -> Self {
        let answers: Arc<HashMap<(String, String), (u16, String)>> = Arc::new(
            answers
                .iter()
                .map(|(m, p, s, b)| ((m.to_string(), p.to_string()), (*s, b.to_string())))
                .collect(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let seen2 = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (seen, answers) = (seen2.clone(), answers.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let (seen, answers) = (seen.clone(), answers.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await?.to_bytes();
                            let key = (parts.method.to_string(), parts.uri.path().to_owned());
                            seen.lock().unwrap().push(Seen {
                                method: key.0.clone(),
                                path: key.1.clone(),
                                headers: parts.headers,
                                body: String::from_utf8_lossy(&body).into_owned(),
                            });
                            let (status, text) = answers
                                .get(&key)
                                .cloned()
                                .unwrap_or((404, "not here".into()));
                            Ok::<_, hyper::Error>(
                                http::Response::builder()
                                    .status(status)
                                    .body(Full::new(Bytes::from(text)))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// An environment with `HOME` in `home`, the endpoint variables of every source pointed at
/// `url` (never a real address), and `extra`.
fn env(home: &Path, url: &str, extra: &[(&str, String)]) -> Environment {
    let mut pairs: Vec<(String, String)> = vec![
        ("HOME".into(), home.display().to_string()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT".into(), url.into()),
        ("FERRY_CONTAINER_ENDPOINT".into(), url.into()),
        ("AWS_ENDPOINT_URL_SSO".into(), url.into()),
        ("AWS_ENDPOINT_URL_STS".into(), url.into()),
    ];
    pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    Environment::from_pairs(pairs)
}

fn write_config(home: &Path, text: &str) {
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(home.join(".aws/config"), text).unwrap();
}

async fn resolve(env: Environment) -> Result<Credentials, String> {
    let chain = default_chain(env, ChainOptions::default());
    match chain.provide().await {
        Ok(Some(creds)) => Ok(creds),
        Ok(None) => Err("anonymous".into()),
        Err(e) => Err(e.to_string()),
    }
}

fn imds_answers(token_status: u16) -> Vec<(&'static str, &'static str, u16, &'static str)> {
    vec![
        ("PUT", "/latest/api/token", token_status, "imds-session"),
        (
            "GET",
            "/latest/meta-data/iam/security-credentials/",
            200,
            "ferry-role\n",
        ),
        (
            "GET",
            "/latest/meta-data/iam/security-credentials/ferry-role",
            200,
            ROLE_JSON,
        ),
    ]
}

#[tokio::test]
async fn imds_v2_credentials_carry_the_session_token_and_the_source_names_the_role() {
    let stand = Stand::start(&imds_answers(200)).await;
    let home = tempfile::tempdir().unwrap();
    let chain = default_chain(env(home.path(), &stand.url, &[]), ChainOptions::default());
    let creds = chain.provide().await.unwrap().unwrap();
    assert_eq!(creds.access_key_id(), "ASIAIMDSROLEKEY00001");
    assert!(creds.expiry().is_some());
    assert_eq!(
        chain.answered_by().as_deref(),
        Some("EC2 instance metadata (role ferry-role)")
    );
    let seen = stand.seen();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("PUT", "/latest/api/token")
    );
    assert_eq!(
        seen[0].headers["x-aws-ec2-metadata-token-ttl-seconds"],
        "21600"
    );
    for get in &seen[1..] {
        assert_eq!(get.headers["x-aws-ec2-metadata-token"], "imds-session");
    }
}

#[tokio::test]
async fn imds_v1_is_used_when_the_token_is_refused_unless_v1_is_disabled() {
    let stand = Stand::start(&imds_answers(403)).await;
    let home = tempfile::tempdir().unwrap();
    let creds = resolve(env(home.path(), &stand.url, &[])).await.unwrap();
    assert_eq!(creds.access_key_id(), "ASIAIMDSROLEKEY00001");
    assert!(
        stand.seen()[1]
            .headers
            .get("x-aws-ec2-metadata-token")
            .is_none()
    );

    write_config(
        home.path(),
        "[default]\nrole_arn = arn:aws:iam::123456789012:role/r\ncredential_source = Ec2InstanceMetadata\n",
    );
    let disabled = env(
        home.path(),
        &stand.url,
        &[("AWS_EC2_METADATA_V1_DISABLED", "true".into())],
    );
    let err = resolve(disabled).await.unwrap_err();
    assert!(err.starts_with("EC2 instance metadata: "), "{err}");
    assert!(err.contains("IMDSv1 is disabled"), "{err}");
}

#[tokio::test]
async fn a_profile_naming_imds_on_an_instance_without_a_role_says_so() {
    let stand = Stand::start(&[("PUT", "/latest/api/token", 200, "t")]).await;
    let home = tempfile::tempdir().unwrap();
    write_config(
        home.path(),
        "[default]\nrole_arn = arn:aws:iam::123456789012:role/r\ncredential_source = Ec2InstanceMetadata\n",
    );
    let err = resolve(env(home.path(), &stand.url, &[]))
        .await
        .unwrap_err();
    assert!(err.contains("EC2 instance metadata"), "{err}");
    assert!(err.contains("no IAM role"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
}

#[tokio::test]
async fn credential_source_environment_without_keys_is_an_error_not_a_fall_through() {
    let stand = Stand::start(&[]).await;
    let home = tempfile::tempdir().unwrap();
    write_config(
        home.path(),
        "[default]\nrole_arn = arn:aws:iam::123456789012:role/r\ncredential_source = Environment\n",
    );
    let err = resolve(env(home.path(), &stand.url, &[]))
        .await
        .unwrap_err();
    assert!(err.contains("profile `default`"), "{err}");
    assert!(err.contains("has no credentials"), "{err}");
    assert!(stand.seen().is_empty(), "nothing asked: {:?}", stand.seen());
}

const WEB_IDENTITY_ANSWER: &str = r#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/reader/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>
    <Credentials><AccessKeyId>ASIAWEBIDENTITY00001</AccessKeyId><SecretAccessKey>web-secret</SecretAccessKey><SessionToken>web-session</SessionToken><Expiration>2031-01-01T00:00:00Z</Expiration></Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>"#;

#[tokio::test]
async fn web_identity_from_the_environment_is_sent_unsigned_and_the_token_file_is_reread() {
    let stand = Stand::start(&[("POST", "/", 200, WEB_IDENTITY_ANSWER)]).await;
    let home = tempfile::tempdir().unwrap();
    let token = home.path().join("token.jwt");
    std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvbmUifQ.c2ln\n").unwrap();
    let e = env(
        home.path(),
        &stand.url,
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string()),
            (
                "AWS_ROLE_ARN",
                "arn:aws:iam::123456789012:role/reader".into(),
            ),
            ("AWS_ROLE_SESSION_NAME", "ci-run".into()),
        ],
    );
    let chain = default_chain(e, ChainOptions::default());
    let creds = chain.provide().await.unwrap().unwrap();
    assert_eq!(creds.access_key_id(), "ASIAWEBIDENTITY00001");
    assert_eq!(chain.answered_by().as_deref(), Some("web identity token"));
    std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0d28ifQ.c2ln").unwrap();
    chain.provide().await.unwrap().unwrap();
    let seen = stand.seen();
    assert_eq!(seen.len(), 2);
    for request in &seen {
        assert!(request.headers.get("authorization").is_none(), "unsigned");
        assert!(
            request
                .body
                .starts_with("Action=AssumeRoleWithWebIdentity&"),
            "{}",
            request.body
        );
        assert!(
            request.body.contains("RoleSessionName=ci-run"),
            "{}",
            request.body
        );
    }
    assert!(seen[0].body.contains("eyJzdWIiOiJvbmUifQ"));
    assert!(
        seen[1].body.contains("eyJzdWIiOiJ0d28ifQ"),
        "the rotated token is sent"
    );
}

#[tokio::test]
async fn a_missing_web_identity_token_file_names_the_file_and_the_variable() {
    let stand = Stand::start(&[]).await;
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("no-such-token");
    let e = env(
        home.path(),
        &stand.url,
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", missing.display().to_string()),
            (
                "AWS_ROLE_ARN",
                "arn:aws:iam::123456789012:role/reader".into(),
            ),
        ],
    );
    let err = resolve(e).await.unwrap_err();
    assert!(err.starts_with("web identity token: "), "{err}");
    assert!(err.contains(&missing.display().to_string()), "{err}");
    assert!(err.contains("AWS_WEB_IDENTITY_TOKEN_FILE"), "{err}");
    assert!(stand.seen().is_empty());
}

#[tokio::test]
async fn a_token_sts_refuses_that_is_not_a_jwt_is_called_out() {
    let refusal = "<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>bad token</Message></Error></ErrorResponse>";
    let stand = Stand::start(&[("POST", "/", 400, refusal)]).await;
    let home = tempfile::tempdir().unwrap();
    let token = home.path().join("token");
    std::fs::write(&token, "not-a-jwt-at-all").unwrap();
    let e = env(
        home.path(),
        &stand.url,
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string()),
            (
                "AWS_ROLE_ARN",
                "arn:aws:iam::123456789012:role/reader".into(),
            ),
        ],
    );
    let err = resolve(e).await.unwrap_err();
    assert!(err.contains("InvalidIdentityToken"), "{err}");
    assert!(err.contains("is not a JWT"), "{err}");
    assert!(
        !err.contains("not-a-jwt-at-all"),
        "the token is not shown: {err}"
    );
}

fn sso_home(home: &Path, expires_at: &str) {
    write_config(
        home,
        "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Reader\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n",
    );
    let cache = home.join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).unwrap();
    let name = {
        use std::fmt::Write as _;
        let digest = ferry_sha1("corp");
        digest.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    };
    std::fs::write(
        cache.join(format!("{name}.json")),
        format!(r#"{{"accessToken":"sso-access-token","expiresAt":"{expires_at}","startUrl":"https://corp.awsapps.com/start"}}"#),
    )
    .unwrap();
}

/// The SHA-1 the cache file is named by, computed here independently of ferry's code.
fn ferry_sha1(text: &str) -> [u8; 20] {
    // A plain SHA-1 (FIPS 180-4), for short inputs.
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut message = text.as_bytes().to_vec();
    let bits = (message.len() as u64) * 8;
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bits.to_be_bytes());
    for chunk in message.chunks(64) {
        let mut w = [0u32; 80];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([
                chunk[4 * i],
                chunk[4 * i + 1],
                chunk[4 * i + 2],
                chunk[4 * i + 3],
            ]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, word) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*word);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, word) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&word.to_be_bytes());
    }
    out
}

#[tokio::test]
async fn sso_session_profiles_get_role_credentials_with_the_cached_token() {
    let answer = r#"{"roleCredentials":{"accessKeyId":"ASIASSOROLEKEY000001","secretAccessKey":"sso-secret","sessionToken":"sso-session-token","expiration":1924992000000}}"#;
    let stand = Stand::start(&[("GET", "/federation/credentials", 200, answer)]).await;
    let home = tempfile::tempdir().unwrap();
    sso_home(home.path(), "2099-01-01T00:00:00Z");
    let e = env(home.path(), &stand.url, &[("AWS_PROFILE", "dev".into())]);
    let chain = default_chain(e, ChainOptions::default());
    let creds = chain.provide().await.unwrap().unwrap();
    assert_eq!(creds.access_key_id(), "ASIASSOROLEKEY000001");
    assert_eq!(
        chain.answered_by().as_deref(),
        Some("profile `dev` (IAM Identity Center)")
    );
    let seen = stand.seen();
    assert_eq!(
        seen[0].headers["x-amz-sso_bearer_token"],
        "sso-access-token"
    );
}

#[tokio::test]
async fn an_expired_sso_session_says_to_run_aws_sso_login() {
    let stand = Stand::start(&[]).await;
    let home = tempfile::tempdir().unwrap();
    sso_home(home.path(), "2020-01-01T00:00:00Z");
    let e = env(home.path(), &stand.url, &[("AWS_PROFILE", "dev".into())]);
    let err = resolve(e).await.unwrap_err();
    assert!(err.contains("aws sso login --profile dev"), "{err}");
    assert!(err.contains("expired"), "{err}");
    assert!(!err.contains("sso-access-token"), "{err}");
    assert!(stand.seen().is_empty());
}

#[tokio::test]
async fn credential_process_profiles_run_the_command_without_a_shell() {
    let stand = Stand::start(&[]).await;
    let home = tempfile::tempdir().unwrap();
    let script = home.path().join("creds tool.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf '{\"Version\": 1, \"AccessKeyId\": \"AKIAPROCESSKEY000001\", \"SecretAccessKey\": \"%s\"}' \"$1\"\n",
    )
    .unwrap();
    write_config(
        home.path(),
        &format!(
            "[default]\ncredential_process = sh \"{}\" 'secret with spaces'\n",
            script.display()
        ),
    );
    let chain = default_chain(env(home.path(), &stand.url, &[]), ChainOptions::default());
    let creds = chain.provide().await.unwrap().unwrap();
    assert_eq!(creds.access_key_id(), "AKIAPROCESSKEY000001");
    assert_eq!(creds.secret_access_key(), "secret with spaces");
    assert_eq!(
        chain.answered_by().as_deref(),
        Some("profile `default` (credential_process)")
    );
}

#[tokio::test]
async fn eks_pod_identity_sends_the_token_file_read_at_each_fetch() {
    let body = r#"{"AccessKeyId":"ASIAEKSPODKEY0000001","SecretAccessKey":"eks-secret","Token":"eks-token","Expiration":"2031-01-01T00:00:00Z"}"#;
    let stand = Stand::start(&[("GET", "/v1/credentials", 200, body)]).await;
    let home = tempfile::tempdir().unwrap();
    let token = home.path().join("eks-token");
    std::fs::write(&token, "first-token\n").unwrap();
    let e = env(
        home.path(),
        &stand.url,
        &[
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://169.254.170.23/v1/credentials".into(),
            ),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                token.display().to_string(),
            ),
        ],
    );
    let chain = default_chain(e, ChainOptions::default());
    let creds = chain.provide().await.unwrap().unwrap();
    assert_eq!(creds.access_key_id(), "ASIAEKSPODKEY0000001");
    std::fs::write(&token, "second-token").unwrap();
    chain.provide().await.unwrap().unwrap();
    let seen = stand.seen();
    assert_eq!(seen[0].headers["authorization"], "first-token");
    assert_eq!(seen[1].headers["authorization"], "second-token");
}

#[tokio::test]
async fn a_container_uri_to_a_foreign_host_in_clear_text_is_refused() {
    let stand = Stand::start(&[]).await;
    let home = tempfile::tempdir().unwrap();
    let e = env(
        home.path(),
        &stand.url,
        &[(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://203.0.113.9/creds".into(),
        )],
    );
    let err = resolve(e).await.unwrap_err();
    assert!(err.starts_with("container credentials: "), "{err}");
    assert!(err.contains("use https"), "{err}");
    assert!(stand.seen().is_empty());
}

/// Builds a client for `env` (keys in the environment, so no credential source is asked).
async fn client_setup(env: Environment) -> ferry::config::ClientSetup {
    let options = ferry::config::ClientOptions {
        concurrency: 1,
        ..Default::default()
    };
    ferry::config::build_client(&options, &env).await.unwrap()
}

fn with_keys<'a>(extra: &[(&'a str, &str)]) -> Vec<(&'a str, String)> {
    let mut pairs = vec![
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE".to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_owned(),
        ),
    ];
    pairs.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    pairs
}

fn region_answers() -> Vec<(&'static str, &'static str, u16, &'static str)> {
    vec![
        ("PUT", "/latest/api/token", 200, "imds-session"),
        (
            "GET",
            "/latest/meta-data/placement/region",
            200,
            "eu-north-1\n",
        ),
    ]
}

#[tokio::test]
async fn without_a_configured_region_the_instances_region_comes_from_imds_with_the_token() {
    use ferry::endpoint::Source;
    let stand = Stand::start(&region_answers()).await;
    let home = tempfile::tempdir().unwrap();
    let setup = client_setup(env(home.path(), &stand.url, &with_keys(&[]))).await;
    assert_eq!(setup.sources.region, Source::InstanceMetadata);
    assert_eq!(setup.client.endpoint().region(), "eu-north-1");
    let seen = stand.seen();
    let asked = seen
        .iter()
        .find(|s| s.path == "/latest/meta-data/placement/region")
        .expect("the region was asked for");
    assert_eq!(asked.headers["x-aws-ec2-metadata-token"], "imds-session");
}

#[tokio::test]
async fn a_region_from_the_environment_or_profile_or_disabled_imds_means_imds_is_not_asked() {
    use ferry::endpoint::Source;
    let stand = Stand::start(&region_answers()).await;
    let home = tempfile::tempdir().unwrap();
    let from_env = client_setup(env(
        home.path(),
        &stand.url,
        &with_keys(&[("AWS_REGION", "ap-south-1")]),
    ))
    .await;
    assert_eq!(from_env.client.endpoint().region(), "ap-south-1");

    write_config(home.path(), "[default]\nregion = sa-east-1\n");
    let from_profile = client_setup(env(home.path(), &stand.url, &with_keys(&[]))).await;
    assert_eq!(from_profile.client.endpoint().region(), "sa-east-1");
    std::fs::remove_file(home.path().join(".aws/config")).unwrap();

    let disabled = client_setup(env(
        home.path(),
        &stand.url,
        &with_keys(&[("AWS_EC2_METADATA_DISABLED", "true")]),
    ))
    .await;
    assert_eq!(disabled.sources.region, Source::Default);
    assert_eq!(disabled.client.endpoint().region(), "us-east-1");
    assert!(stand.seen().is_empty(), "{:?}", stand.seen());
}

#[tokio::test]
async fn without_imds_the_default_region_is_used_quietly() {
    use ferry::endpoint::Source;
    // Nothing listens on this port: the connection is refused at once.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let home = tempfile::tempdir().unwrap();
    let setup = client_setup(env(home.path(), &closed, &with_keys(&[]))).await;
    assert_eq!(setup.sources.region, Source::Default);
    assert_eq!(setup.client.endpoint().region(), "us-east-1");
    assert!(setup.warnings.is_empty(), "{:?}", setup.warnings);
}

/// The token cache file of the `corp` sso-session that [`sso_home`] writes.
fn sso_cache_file(home: &Path) -> std::path::PathBuf {
    let name: String = ferry_sha1("corp")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    home.join(".aws/sso/cache").join(format!("{name}.json"))
}

/// [`sso_home`], with an expired token that has a refresh token and a client registration
/// valid until `registration_expires_at`.
fn refreshable_sso_home(home: &Path, registration_expires_at: &str) {
    sso_home(home, "2020-01-01T00:00:00Z");
    std::fs::write(
        sso_cache_file(home),
        format!(
            r#"{{"accessToken":"old-access-token","expiresAt":"2020-01-01T00:00:00Z","startUrl":"https://corp.awsapps.com/start","region":"eu-west-1","refreshToken":"old-refresh-token","clientId":"client-id-1","clientSecret":"client-secret-1","registrationExpiresAt":"{registration_expires_at}"}}"#
        ),
    )
    .unwrap();
}

const SSO_ROLE_ANSWER: &str = r#"{"roleCredentials":{"accessKeyId":"ASIASSOROLEKEY000001","secretAccessKey":"sso-secret","sessionToken":"sso-session-token","expiration":1924992000000}}"#;

#[tokio::test]
async fn an_expired_sso_token_is_refreshed_with_its_refresh_token_and_written_back() {
    let stand = Stand::start(&[
        (
            "POST",
            "/token",
            200,
            r#"{"accessToken":"new-access-token","tokenType":"Bearer","expiresIn":3600,"refreshToken":"new-refresh-token"}"#,
        ),
        ("GET", "/federation/credentials", 200, SSO_ROLE_ANSWER),
    ])
    .await;
    let home = tempfile::tempdir().unwrap();
    refreshable_sso_home(home.path(), "2099-01-01T00:00:00Z");
    let e = env(
        home.path(),
        &stand.url,
        &[
            ("AWS_PROFILE", "dev".into()),
            ("AWS_ENDPOINT_URL_SSO_OIDC", stand.url.clone()),
        ],
    );
    let creds = resolve(e).await.unwrap();
    assert_eq!(creds.access_key_id(), "ASIASSOROLEKEY000001");

    let seen = stand.seen();
    let create = seen
        .iter()
        .find(|s| s.path == "/token")
        .expect("CreateToken");
    assert_eq!(create.method, "POST");
    let body: serde_json::Value = serde_json::from_str(&create.body).unwrap();
    assert_eq!(body["grantType"], "refresh_token");
    assert_eq!(body["refreshToken"], "old-refresh-token");
    assert_eq!(body["clientId"], "client-id-1");
    assert_eq!(body["clientSecret"], "client-secret-1");
    let role = seen
        .iter()
        .find(|s| s.path == "/federation/credentials")
        .expect("GetRoleCredentials");
    assert_eq!(role.headers["x-amz-sso_bearer_token"], "new-access-token");

    // Written back as the SDKs write it: the new tokens, the registration kept, mode 0600.
    let path = sso_cache_file(home.path());
    let cached: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(cached["accessToken"], "new-access-token");
    assert_eq!(cached["refreshToken"], "new-refresh-token");
    assert_eq!(cached["clientSecret"], "client-secret-1");
    assert_eq!(cached["registrationExpiresAt"], "2099-01-01T00:00:00Z");
    assert_eq!(cached["startUrl"], "https://corp.awsapps.com/start");
    assert_eq!(cached["region"], "eu-west-1");
    let expires = cached["expiresAt"].as_str().unwrap();
    assert!(expires.ends_with('Z') && expires > "2026-", "{expires}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn an_sso_token_past_its_client_registration_is_not_refreshed_and_says_to_sign_in() {
    let stand = Stand::start(&[]).await;
    let home = tempfile::tempdir().unwrap();
    refreshable_sso_home(home.path(), "2021-01-01T00:00:00Z");
    let e = env(
        home.path(),
        &stand.url,
        &[
            ("AWS_PROFILE", "dev".into()),
            ("AWS_ENDPOINT_URL_SSO_OIDC", stand.url.clone()),
        ],
    );
    let err = resolve(e).await.unwrap_err();
    assert!(err.contains("aws sso login --profile dev"), "{err}");
    assert!(err.contains("client registration expired"), "{err}");
    assert!(stand.seen().is_empty(), "{:?}", stand.seen());
}

#[tokio::test]
async fn a_refused_sso_token_refresh_says_to_sign_in_without_showing_a_secret() {
    let stand = Stand::start(&[(
        "POST",
        "/token",
        400,
        r#"{"error":"invalid_grant","error_description":"Invalid refresh token provided"}"#,
    )])
    .await;
    let home = tempfile::tempdir().unwrap();
    refreshable_sso_home(home.path(), "2099-01-01T00:00:00Z");
    let before = std::fs::read_to_string(sso_cache_file(home.path())).unwrap();
    let e = env(
        home.path(),
        &stand.url,
        &[
            ("AWS_PROFILE", "dev".into()),
            ("AWS_ENDPOINT_URL_SSO_OIDC", stand.url.clone()),
        ],
    );
    let err = resolve(e).await.unwrap_err();
    assert!(err.contains("aws sso login --profile dev"), "{err}");
    assert!(err.contains("invalid_grant"), "{err}");
    for secret in ["old-refresh-token", "client-secret-1", "old-access-token"] {
        assert!(!err.contains(secret), "{err}");
    }
    // The cache is left as it was.
    assert_eq!(
        std::fs::read_to_string(sso_cache_file(home.path())).unwrap(),
        before
    );
}

#[tokio::test]
async fn the_credential_process_timeout_is_configurable_and_a_hanging_command_is_killed_at_it() {
    let home = tempfile::tempdir().unwrap();
    write_config(
        home.path(),
        "[profile slow]\ncredential_process = sleep 30\n",
    );
    let stand = Stand::start(&[]).await;
    let e = env(
        home.path(),
        &stand.url,
        &[
            ("AWS_PROFILE", "slow".into()),
            ("AWS_REGION", "eu-west-1".into()),
            ("FERRY_CREDENTIAL_PROCESS_TIMEOUT", "1".into()),
        ],
    );
    let options = ferry::config::ClientOptions {
        concurrency: 1,
        ..Default::default()
    };
    let err = ferry::config::build_client(&options, &e)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("did not finish within 1 s and was killed"),
        "{err}"
    );

    // Out of range: refused before anything runs, naming the variable.
    let e = env(
        home.path(),
        &stand.url,
        &[
            ("AWS_PROFILE", "slow".into()),
            ("FERRY_CREDENTIAL_PROCESS_TIMEOUT", "0".into()),
        ],
    );
    let err = ferry::config::build_client(&options, &e)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("FERRY_CREDENTIAL_PROCESS_TIMEOUT `0`"),
        "{err}"
    );
}

#[tokio::test]
async fn the_ca_bundle_reaches_the_sso_and_container_clients() {
    use ferry::credentials::SourceOptions;
    let stand = Stand::start(&[]).await;
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("no-such-ca.pem");
    let options = || ChainOptions {
        sources: SourceOptions {
            ca_bundle: Some(missing.clone()),
            process_timeout: None,
        },
        ..ChainOptions::default()
    };
    // IAM Identity Center: the portal client is built with the bundle (here: a file that is
    // not there, so building it fails and says which file).
    sso_home(home.path(), "2099-01-01T00:00:00Z");
    let e = env(home.path(), &stand.url, &[("AWS_PROFILE", "dev".into())]);
    let err = default_chain(e, options())
        .provide()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no-such-ca.pem"), "{err}");

    // The container agent, named by credential_source.
    write_config(
        home.path(),
        "[profile ecs]\nrole_arn = arn:aws:iam::123456789012:role/r\ncredential_source = EcsContainer\n",
    );
    let e = env(
        home.path(),
        &stand.url,
        &[
            ("AWS_PROFILE", "ecs".into()),
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                format!("{}/creds", stand.url),
            ),
        ],
    );
    // (A role profile: STS through a client of the test's own, as `build_client` gives one.)
    let sts = ferry::credentials::sts::StsClient::new(
        ferry::http::HttpClient::new(&ferry::http::HttpConfig::default()).unwrap(),
        ferry::credentials::sts::StsEndpoint::new(&stand.url, "us-east-1").unwrap(),
    );
    let with_roles = ChainOptions {
        roles: Some(ferry::credentials::profile::RoleContext {
            sts,
            token_codes: None,
            cli_cache_dir: None,
        }),
        ..options()
    };
    let err = default_chain(e, with_roles)
        .provide()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no-such-ca.pem"), "{err}");
    assert!(stand.seen().is_empty(), "{:?}", stand.seen());
}

const ASSUME_ROLE_ANSWER: &str = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/ferry-1</Arn><AssumedRoleId>AROAEXAMPLE:ferry-1</AssumedRoleId></AssumedRoleUser>
    <Credentials><AccessKeyId>ASIAFROMSTS000000001</AccessKeyId><SecretAccessKey>sts-secret</SecretAccessKey><SessionToken>sts-session</SessionToken><Expiration>2031-01-01T00:00:00Z</Expiration></Credentials>
  </AssumeRoleResult>
</AssumeRoleResponse>"#;

/// A role profile `r` assumed with `base`'s keys, and the AWS CLI cache file botocore would
/// use for it: `~/.aws/cli/cache/` + SHA-1 of `{"RoleArn": "…"}` (json.dumps, sort_keys).
fn cli_cached_role_home(home: &Path) -> std::path::PathBuf {
    write_config(
        home,
        "[profile base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n\n[profile r]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = base\n",
    );
    let key: String = ferry_sha1(r#"{"RoleArn": "arn:aws:iam::123456789012:role/r"}"#)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    home.join(".aws/cli/cache").join(format!("{key}.json"))
}

#[tokio::test]
async fn a_role_in_the_aws_cli_cache_is_used_without_sts_until_it_nears_expiry() {
    let stand = Stand::start(&[("POST", "/", 200, ASSUME_ROLE_ANSWER)]).await;
    let home = tempfile::tempdir().unwrap();
    let entry = cli_cached_role_home(home.path());
    std::fs::create_dir_all(entry.parent().unwrap()).unwrap();
    // As a botocore program's JSONFileCache writes it (Expiration with strftime's `UTC`).
    std::fs::write(
        &entry,
        r#"{"Credentials": {"AccessKeyId": "ASIAFROMCLICACHE0001", "SecretAccessKey": "cli-secret", "SessionToken": "cli-session", "Expiration": "2099-01-01T00:00:00UTC"}, "AssumedRoleUser": {"AssumedRoleId": "AROAEXAMPLE:botocore-session-1", "Arn": "arn:aws:sts::123456789012:assumed-role/r/botocore-session-1"}}"#,
    )
    .unwrap();
    let e = env(home.path(), &stand.url, &[("AWS_PROFILE", "r".into())]);
    let creds = resolve(e.clone()).await.unwrap();
    assert_eq!(creds.access_key_id(), "ASIAFROMCLICACHE0001");
    assert_eq!(creds.session_token(), Some("cli-session"));
    assert!(stand.seen().is_empty(), "{:?}", stand.seen());

    // Expiring within botocore's 15 minutes: ferry assumes the role and rewrites the entry
    // in the AWS CLI's form.
    let soon = ferry::time::format_utc(
        std::time::SystemTime::now() + std::time::Duration::from_secs(10 * 60),
    );
    std::fs::write(
        &entry,
        format!(
            r#"{{"Credentials": {{"AccessKeyId": "ASIAFROMCLICACHE0001", "SecretAccessKey": "cli-secret", "SessionToken": "cli-session", "Expiration": "{soon}"}}}}"#
        ),
    )
    .unwrap();
    let creds = resolve(e).await.unwrap();
    assert_eq!(creds.access_key_id(), "ASIAFROMSTS000000001");
    let seen = stand.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].body.contains("Action=AssumeRole"),
        "{}",
        seen[0].body
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&entry).unwrap()).unwrap();
    assert_eq!(
        written["Credentials"]["AccessKeyId"],
        "ASIAFROMSTS000000001"
    );
    assert_eq!(written["Credentials"]["SessionToken"], "sts-session");
    assert_eq!(written["Credentials"]["Expiration"], "2031-01-01T00:00:00Z");
    assert_eq!(written["Credentials"]["AccountId"], "123456789012");
    assert_eq!(
        written["AssumedRoleUser"]["Arn"],
        "arn:aws:sts::123456789012:assumed-role/r/ferry-1"
    );
}
