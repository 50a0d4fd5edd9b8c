//! STS: the official endpoint rules, the recorded AssumeRole exchange of smithy-rs (signed
//! byte for byte the same), and the client and providers against a local stand-in for STS.

use bytes::Bytes;
use ferry::credentials::sts::{
    AssumeRole, AssumeRoleProvider, AssumedRole, CachingProvider, EndpointParams, GetSessionToken,
    Mfa, SessionTokenProvider, StsClient, StsEndpoint, StsError, StsOperation, form_request,
    resolve_endpoint,
};
use ferry::credentials::{Credentials, ProvideCredentials, StaticProvider};
use ferry::env::Environment;
use ferry::http::{HttpClient, HttpConfig};
use ferry::sign::SigningTime;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/sts")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap()
}

// ---------------------------------------------------------------------------------------
// Endpoint rules

#[test]
fn official_sts_endpoint_cases_pass() {
    let suite = fixture("sts-endpoint-tests.json");
    let cases = suite["testCases"].as_array().unwrap();
    assert_eq!(cases.len(), 69);
    let (mut endpoints, mut errors, mut global) = (0, 0, 0);
    let mut failures = Vec::new();
    for case in cases {
        let doc = case["documentation"].as_str().unwrap_or_default();
        let p = &case["params"];
        let params = EndpointParams {
            region: p["Region"].as_str().map(str::to_owned),
            use_fips: p["UseFIPS"].as_bool().unwrap_or(false),
            use_dual_stack: p["UseDualStack"].as_bool().unwrap_or(false),
            use_global_endpoint: p["UseGlobalEndpoint"].as_bool().unwrap_or(false),
            endpoint: p["Endpoint"].as_str().map(str::to_owned),
        };
        let got = resolve_endpoint(&params);
        let expect = &case["expect"];
        if let Some(message) = expect["error"].as_str() {
            errors += 1;
            match got {
                Err(StsError::Endpoint(text)) if text.starts_with(message) => {}
                other => failures.push(format!("{doc}: expected error {message:?}, got {other:?}")),
            }
            continue;
        }
        endpoints += 1;
        let url = expect["endpoint"]["url"].as_str().unwrap();
        let region = expect["endpoint"]["properties"]["authSchemes"][0]["signingRegion"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| params.region.clone())
            .unwrap_or_else(|| "us-east-1".into());
        if url == "https://sts.amazonaws.com" {
            global += 1;
        }
        match got {
            Ok(endpoint) if endpoint.url() == url && endpoint.signing_region() == region => {}
            other => failures.push(format!("{doc}: expected {url} ({region}), got {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every case is in scope: none skipped.
    assert_eq!((endpoints, errors, global), (66, 3, 17));
}

#[test]
fn endpoint_params_come_from_the_environment() {
    let env = Environment::from_pairs([
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ENDPOINT_URL", "http://localhost:9000"),
        ("AWS_ENDPOINT_URL_STS", "http://localhost:5000/sts/"),
        ("AWS_STS_REGIONAL_ENDPOINTS", "legacy"),
    ]);
    let params = EndpointParams::from_env(&env, None);
    assert_eq!(params.region.as_deref(), Some("eu-west-1"));
    assert!(params.use_global_endpoint);
    let endpoint = resolve_endpoint(&params).unwrap();
    assert_eq!(endpoint.url(), "http://localhost:5000/sts");
    assert_eq!(endpoint.host(), "localhost:5000");
    assert_eq!(endpoint.path(), "/sts/");
    assert_eq!(endpoint.signing_region(), "eu-west-1");

    let env = Environment::from_pairs([("AWS_DEFAULT_REGION", "ap-south-1")]);
    let legacy = Environment::from_pairs([
        ("AWS_DEFAULT_REGION", "ap-south-1"),
        ("AWS_STS_REGIONAL_ENDPOINTS", "legacy"),
    ]);
    let regional = resolve_endpoint(&EndpointParams::from_env(&env, None)).unwrap();
    assert_eq!(regional.url(), "https://sts.ap-south-1.amazonaws.com");
    let global = resolve_endpoint(&EndpointParams::from_env(&legacy, None)).unwrap();
    assert_eq!(
        (global.url(), global.signing_region()),
        ("https://sts.amazonaws.com", "us-east-1")
    );
    let err = resolve_endpoint(&EndpointParams::from_env(
        &Environment::from_pairs::<&str, &str>([]),
        None,
    ))
    .unwrap_err();
    assert!(err.to_string().contains("Missing Region"), "{err}");
    assert!(StsEndpoint::new("ftp://x", "us-east-1").is_err());
}

// ---------------------------------------------------------------------------------------
// The recorded AssumeRole exchange

struct Recorded {
    uri: String,
    headers: serde_json::Map<String, Value>,
    body: String,
    answer: String,
}

fn recorded() -> Recorded {
    let traffic = fixture("e2e_assume_role/http-traffic.json");
    let events = traffic["events"].as_array().unwrap();
    let action = |i: usize| &events[i]["action"];
    let request = &action(0)["Request"]["request"];
    assert_eq!(request["method"], "POST");
    Recorded {
        uri: request["uri"].as_str().unwrap().to_owned(),
        headers: request["headers"].as_object().unwrap().clone(),
        body: action(1)["Data"]["data"]["Utf8"]
            .as_str()
            .unwrap()
            .to_owned(),
        answer: action(4)["Data"]["data"]["Utf8"]
            .as_str()
            .unwrap()
            .to_owned(),
    }
}

fn header<'a>(headers: &'a serde_json::Map<String, Value>, name: &str) -> &'a str {
    headers[name][0].as_str().unwrap()
}

#[test]
fn recorded_assume_role_request_is_signed_byte_for_byte_the_same() {
    let rec = recorded();
    // The inputs of the recorded case: profile `base` (AKIAFAKE / FAKE) assumes the role of
    // the default profile, with the session name smithy-rs picked, in us-east-1.
    let role = AssumeRole::new(
        "arn:aws:iam::123456789:role/integration-test",
        "assume-role-provider-session",
    );
    assert_eq!(role.form_body(), rec.body);
    // The recorded ARN's account id has 9 digits: like the SDK, ferry sends it all the same.
    role.validate().unwrap();

    let endpoint = resolve_endpoint(&EndpointParams::region("us-east-1")).unwrap();
    let credentials = Credentials::new("AKIAFAKE", "FAKE");
    // 2021-08-10T00:38:33Z, the recorded x-amz-date.
    let time = SigningTime::from_unix_seconds(1_628_555_913);
    assert_eq!(time.amz_date(), header(&rec.headers, "x-amz-date"));
    // The SDK sent (and signed) a content-type without the charset and x-amz-user-agent.
    let request = form_request(
        &endpoint,
        &credentials,
        role.form_body(),
        &[
            ("content-type", header(&rec.headers, "content-type")),
            ("x-amz-user-agent", header(&rec.headers, "x-amz-user-agent")),
        ],
        time,
    )
    .unwrap();
    assert_eq!(request.uri().to_string(), rec.uri);
    assert_eq!(request.method(), http::Method::POST);
    for name in [
        "authorization",
        "content-length",
        "content-type",
        "host",
        "x-amz-date",
        "x-amz-user-agent",
    ] {
        assert_eq!(
            request.headers()[name].to_str().unwrap(),
            header(&rec.headers, name),
            "{name}"
        );
    }
    assert_eq!(request.body().peek_bytes(), Some(rec.body.as_bytes()));
}

#[test]
fn ferry_signs_its_own_content_type_and_the_session_token() {
    let endpoint = resolve_endpoint(&EndpointParams::region("us-east-1")).unwrap();
    let client = StsClient::new(HttpClient::new(&HttpConfig::default()).unwrap(), endpoint);
    let role = AssumeRole::new(
        "arn:aws:iam::123456789012:role/integration-test",
        "assume-role-provider-session",
    );
    let credentials = Credentials::new("ASIAFAKE", "FAKE").with_session_token("TOKEN");
    let request = client
        .request(
            &role,
            &credentials,
            SigningTime::from_unix_seconds(1_628_555_913),
        )
        .unwrap();
    let headers = request.headers();
    assert_eq!(
        headers["content-type"],
        "application/x-www-form-urlencoded; charset=utf-8"
    );
    assert_eq!(headers["x-amz-security-token"], "TOKEN");
    let authorization = headers["authorization"].to_str().unwrap();
    assert!(
        authorization.starts_with(
            "AWS4-HMAC-SHA256 Credential=ASIAFAKE/20210810/us-east-1/sts/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-security-token, Signature="
        ),
        "{authorization}"
    );
    assert!(!headers.contains_key("x-amz-content-sha256"));
}

#[test]
fn recorded_answer_parses_into_the_expected_credentials() {
    let rec = recorded();
    let expected = fixture("e2e_assume_role/test-case.json");
    let ok = &expected["result"]["Ok"];
    let assumed = AssumedRole::parse(rec.answer.as_bytes()).unwrap();
    let creds = &assumed.credentials;
    assert_eq!(creds.access_key_id(), ok["access_key_id"]);
    assert_eq!(creds.secret_access_key(), ok["secret_access_key"]);
    assert_eq!(creds.session_token(), ok["session_token"].as_str());
    assert_eq!(
        creds.expiry(),
        Some(UNIX_EPOCH + Duration::from_secs(ok["expiry"].as_u64().unwrap()))
    );
    assert_eq!(assumed.account_id(), ok["account_id"].as_str());
    assert_eq!(
        assumed.assumed_role_id.as_deref(),
        Some("AROARABCDEFGHIJKLMNOP:assume-role-provider-session")
    );
}

// ---------------------------------------------------------------------------------------
// Against a local stand-in for STS

/// What the stand-in saw: headers and body of each request.
type Seen = Arc<Mutex<Vec<(http::HeaderMap, String)>>>;

struct FakeSts {
    url: String,
    seen: Seen,
    answers: Arc<Mutex<VecDeque<(u16, String)>>>,
}

impl FakeSts {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Seen = Arc::default();
        let answers: Arc<Mutex<VecDeque<(u16, String)>>> = Arc::default();
        let (seen2, answers2) = (seen.clone(), answers.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (seen, answers) = (seen2.clone(), answers2.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let (seen, answers) = (seen.clone(), answers.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await?.to_bytes();
                            let body = String::from_utf8_lossy(&body).into_owned();
                            let action = body
                                .split('&')
                                .next()
                                .unwrap_or_default()
                                .trim_start_matches("Action=")
                                .to_owned();
                            seen.lock().unwrap().push((parts.headers, body));
                            let (status, xml) = answers
                                .lock()
                                .unwrap()
                                .pop_front()
                                .unwrap_or_else(|| (200, success(&action, 0)));
                            Ok::<_, hyper::Error>(
                                http::Response::builder()
                                    .status(status)
                                    .header("content-type", "text/xml")
                                    .body(Full::new(Bytes::from(xml)))
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
        Self { url, seen, answers }
    }

    fn client(&self) -> StsClient {
        let endpoint = StsEndpoint::new(&self.url, "us-east-1").unwrap();
        StsClient::new(HttpClient::new(&HttpConfig::default()).unwrap(), endpoint)
    }

    fn answer(&self, status: u16, xml: &str) {
        self.answers
            .lock()
            .unwrap()
            .push_back((status, xml.to_owned()));
    }

    fn requests(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

/// A success answer for `action`, credentials numbered `n`, valid for an hour.
fn success(action: &str, n: u32) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let expiration = iso8601(secs);
    match action {
        "GetCallerIdentity" => r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/alice</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult>
  <ResponseMetadata><RequestId>id-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"#.to_owned(),
        _ => format!(
            r#"<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><{action}Result>
  <AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn></AssumedRoleUser>
  <Credentials><AccessKeyId>ASIATEMP{n}</AccessKeyId><SecretAccessKey>SECRET{n}</SecretAccessKey><SessionToken>TOKEN{n}</SessionToken><Expiration>{expiration}</Expiration></Credentials>
</{action}Result></{action}Response>"#
        ),
    }
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
fn iso8601(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn source() -> Arc<dyn ProvideCredentials> {
    Arc::new(StaticProvider::new(Credentials::new(
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    )))
}

const ROLE: &str = "arn:aws:iam::123456789012:role/ferry-test";

#[tokio::test]
async fn client_sends_signed_forms_and_reads_the_answers() {
    let sts = FakeSts::start().await;
    let client = sts.client();
    let long_term = Credentials::new("AKIAIOSFODNN7EXAMPLE", "secret");

    let identity = client.get_caller_identity(&long_term).await.unwrap();
    assert_eq!(identity.account, "123456789012");
    assert_eq!(identity.arn, "arn:aws:iam::123456789012:user/alice");

    let request = GetSessionToken {
        duration_seconds: Some(3600),
        mfa: Some(Mfa::new("arn:aws:iam::123456789012:mfa/alice", "123456")),
    };
    let session = client
        .get_session_token(&long_term, &request)
        .await
        .unwrap();
    assert_eq!(session.access_key_id(), "ASIATEMP0");
    assert!(session.expiry().is_some());

    let seen = sts.seen.lock().unwrap().clone();
    assert_eq!(seen[0].1, "Action=GetCallerIdentity&Version=2011-06-15");
    assert_eq!(
        seen[1].1,
        "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=3600&SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Falice&TokenCode=123456"
    );
    for (headers, body) in &seen {
        assert_eq!(
            headers["content-type"],
            "application/x-www-form-urlencoded; charset=utf-8"
        );
        assert_eq!(headers["content-length"], body.len().to_string().as_str());
        let auth = headers["authorization"].to_str().unwrap();
        assert!(auth.contains("/us-east-1/sts/aws4_request"), "{auth}");
    }
}

#[tokio::test]
async fn invalid_requests_are_refused_before_sending() {
    let sts = FakeSts::start().await;
    let client = sts.client();
    let creds = Credentials::new("AKIAIOSFODNN7EXAMPLE", "secret");
    let mut role = AssumeRole::new(ROLE, "session");
    role.duration_seconds = Some(899);
    let err = client.assume_role(&creds, &role).await.unwrap_err();
    assert!(err.to_string().contains("between 900 and 43200"), "{err}");
    let err = client
        .get_session_token(
            &creds,
            &GetSessionToken {
                duration_seconds: Some(129_601),
                mfa: None,
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("between 900 and 129600"), "{err}");
    let err = AssumeRoleProvider::new(
        client.clone(),
        source(),
        AssumeRole::new("arn:aws:iam::123456789012:user/x", "s"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("malformed"), "{err}");
    let err =
        AssumeRoleProvider::new(client, source(), AssumeRole::new(ROLE, "bad name!")).unwrap_err();
    assert!(err.to_string().contains("session name"), "{err}");
    assert_eq!(sts.requests(), 0);
}

#[tokio::test]
async fn sts_errors_reach_the_caller_with_a_hint() {
    let sts = FakeSts::start().await;
    let cases = [
        (
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:AssumeRole",
            "trust policy",
        ),
        (
            "AccessDenied",
            "MultiFactorAuthentication failed with invalid MFA one time pass code.",
            "MFA code",
        ),
        (
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
            "AWS_ACCESS_KEY_ID",
        ),
        (
            "ExpiredToken",
            "The security token included in the request is expired",
            "fresh source credentials",
        ),
        (
            "RegionDisabledException",
            "STS is not activated in this region for account:123456789012.",
            "activate it",
        ),
    ];
    for (code, message, hint) in cases {
        sts.answer(
            403,
            &format!(
                "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>req-9</RequestId></ErrorResponse>"
            ),
        );
        let provider =
            AssumeRoleProvider::new(sts.client(), source(), AssumeRole::new(ROLE, "s1")).unwrap();
        let err = provider.provide().await.unwrap_err().to_string();
        for part in [code, message, hint, "req-9"] {
            assert!(err.contains(part), "{part:?} missing from {err}");
        }
    }
}

#[tokio::test]
async fn caching_assume_role_provider_calls_sts_once_for_many_workers() {
    let sts = FakeSts::start().await;
    let inner =
        AssumeRoleProvider::new(sts.client(), source(), AssumeRole::new(ROLE, "s1")).unwrap();
    let provider = Arc::new(CachingProvider::new(Arc::new(inner)));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let provider = provider.clone();
            tokio::spawn(async move { provider.provide().await.unwrap().unwrap() })
        })
        .collect();
    let mut generations = Vec::new();
    for task in tasks {
        let creds = task.await.unwrap();
        assert_eq!(creds.access_key_id(), "ASIATEMP0");
        assert_eq!(creds.session_token(), Some("TOKEN0"));
        generations.push(creds.generation());
    }
    assert!(generations.iter().all(|g| *g == generations[0]));
    assert_eq!(sts.requests(), 1);
    let body = &sts.seen.lock().unwrap()[0].1;
    assert!(
        body.starts_with("Action=AssumeRole&Version=2011-06-15&RoleArn="),
        "{body}"
    );
}

#[tokio::test]
async fn session_token_provider_asks_for_a_new_mfa_code_each_time() {
    let sts = FakeSts::start().await;
    let codes = Arc::new(std::sync::atomic::AtomicU32::new(111_111));
    let next = codes.clone();
    let provider = SessionTokenProvider::new(
        sts.client(),
        source(),
        GetSessionToken {
            duration_seconds: None,
            mfa: Some(Mfa::new("arn:aws:iam::123456789012:mfa/alice", "")),
        },
    )
    .unwrap()
    .with_token_codes(Arc::new(move |_serial: &str| {
        Ok(next
            .fetch_add(111_111, std::sync::atomic::Ordering::SeqCst)
            .to_string())
    }));
    provider.provide().await.unwrap().unwrap();
    provider.provide().await.unwrap().unwrap();
    let seen = sts.seen.lock().unwrap().clone();
    assert!(seen[0].1.ends_with("&TokenCode=111111"), "{}", seen[0].1);
    assert!(seen[1].1.ends_with("&TokenCode=222222"), "{}", seen[1].1);
    // Anonymous sources cannot sign STS requests.
    let anonymous = SessionTokenProvider::new(
        sts.client(),
        Arc::new(ferry::credentials::AnonymousProvider),
        GetSessionToken::default(),
    )
    .unwrap();
    let err = anonymous.provide().await.unwrap_err().to_string();
    assert!(err.contains("anonymous"), "{err}");
}

#[tokio::test]
async fn throttling_and_server_errors_are_tried_again() {
    let sts = FakeSts::start().await;
    sts.answer(
        400,
        "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>",
    );
    sts.answer(503, "<html>unavailable</html>");
    let creds = Credentials::new("AKIAIOSFODNN7EXAMPLE", "secret");
    let identity = sts.client().get_caller_identity(&creds).await.unwrap();
    assert_eq!(identity.account, "123456789012");
    assert_eq!(sts.requests(), 3);
    // A refusal is not retried.
    sts.answer(
        403,
        "<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error></ErrorResponse>",
    );
    let err = sts.client().get_caller_identity(&creds).await.unwrap_err();
    assert_eq!(err.code(), Some("AccessDenied"));
    assert_eq!(sts.requests(), 4);
}
