//! Retries proven with faults injected between ferry and a real server (the embedded s3s-fs
//! endpoint, which verifies every signature, behind a fault proxy).

use bytes::Bytes;
use ferry::http::{HttpConfig, HttpError, RequestBody, RetryConfig};
use ferry::s3::{Error, PutOptions, S3Client};
use ferry_tests::embedded::{Embedded, client_with, fast_retries};
use ferry_tests::fault_proxy::{Fault, FaultProxy};
use std::time::Duration;

const BUCKET: &str = "retries";

struct Setup {
    _server: Embedded,
    proxy: FaultProxy,
    client: S3Client,
}

async fn setup_with(retry: RetryConfig, http: HttpConfig) -> Setup {
    let server = Embedded::start("127.0.0.1:0").await;
    let direct = server.client();
    direct.create_bucket(BUCKET, None).await.expect("bucket");
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    let client = client_with(
        &proxy.url(),
        server.endpoint.credentials().clone(),
        retry,
        http,
    );
    Setup {
        _server: server,
        proxy,
        client,
    }
}

async fn setup() -> Setup {
    setup_with(fast_retries(), HttpConfig::default()).await
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

async fn put(client: &S3Client, key: &str, bytes: &[u8]) {
    let body = RequestBody::bytes(Bytes::copy_from_slice(bytes));
    client
        .put_object(BUCKET, key, body, &PutOptions::default())
        .await
        .expect("put");
}

#[tokio::test]
async fn slow_down_twice_then_success_succeeds_after_two_retries() {
    let s = setup().await;
    s.proxy.push([Fault::slow_down(), Fault::slow_down()]);
    put(&s.client, "k", b"payload").await;
    assert_eq!(s.client.retries(), 2);
    assert_eq!(s.proxy.requests_seen(), 3);
}

#[tokio::test]
async fn internal_errors_are_retried_until_success() {
    let s = setup().await;
    s.proxy.push([
        Fault::internal_error(),
        Fault::internal_error(),
        Fault::internal_error(),
    ]);
    put(&s.client, "k", b"payload").await;
    assert_eq!(s.client.retries(), 3);
}

#[tokio::test]
async fn a_connection_reset_before_the_answer_is_retried() {
    let s = setup().await;
    s.proxy.push([Fault::ResetBeforeResponse]);
    put(&s.client, "k", b"payload").await;
    assert_eq!(s.client.retries(), 1);
}

#[tokio::test]
async fn a_body_truncated_mid_response_is_resumed_and_the_bytes_are_exact() {
    let s = setup().await;
    let expected = data(300_000);
    put(&s.client, "big", &expected).await;
    s.proxy
        .set_filter(|parts| parts.method == http::Method::GET);
    s.proxy.push([
        Fault::TruncateBody {
            after_bytes: 100_000,
        },
        Fault::TruncateBody {
            after_bytes: 50_000,
        },
    ]);
    let got = s
        .client
        .get_object_bytes(BUCKET, "big")
        .await
        .expect("get after resumes");
    assert_eq!(got.len(), expected.len());
    assert!(got[..] == expected[..], "bytes differ");
    assert_eq!(s.client.retries(), 2);
    let log = s.proxy.log();
    assert!(
        log.iter().filter(|(m, _, _)| m == "GET").count() >= 3,
        "{log:?}"
    );
}

#[tokio::test]
async fn an_endpoint_that_never_answers_fails_with_a_timeout_within_the_attempts() {
    let http = HttpConfig {
        read_timeout: Duration::from_millis(300),
        ..HttpConfig::default()
    };
    let retry = RetryConfig {
        max_attempts: 3,
        ..fast_retries()
    };
    let s = setup_with(retry, http).await;
    s.proxy
        .push([Fault::Hang, Fault::Hang, Fault::Hang, Fault::Hang]);
    let err = s.client.head_object(BUCKET, "k").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Http {
                source: HttpError::Timeout { .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.hint().is_some_and(|h| h.contains("not answering")),
        "{:?}",
        err.hint()
    );
    assert_eq!(s.proxy.requests_seen(), 3, "one attempt and two retries");
}

#[tokio::test]
async fn access_denied_is_never_retried() {
    let s = setup().await;
    s.proxy.push([Fault::Status {
        status: 403,
        code: "AccessDenied",
        message: "Access Denied",
    }]);
    let body = RequestBody::bytes(Bytes::from_static(b"x"));
    let err = s
        .client
        .put_object(BUCKET, "k", body, &PutOptions::default())
        .await
        .unwrap_err();
    assert!(err.service().is_some_and(|e| e.is_access_denied()), "{err}");
    assert_eq!(s.client.retries(), 0);
    assert_eq!(s.proxy.requests_seen(), 1);
}

#[tokio::test]
async fn a_skewed_clock_is_corrected_from_the_server_date_and_the_request_retried() {
    let s = setup().await;
    s.proxy.push([Fault::SkewedDate { seconds: 120 }]);
    put(&s.client, "k", b"after the correction").await;
    assert_eq!(s.client.retries(), 1);
    let offset = s.client.clock_offset();
    assert!((110..=130).contains(&offset), "offset {offset}");
}

#[tokio::test]
async fn a_dead_endpoint_exhausts_the_shared_budget_and_fails_fast() {
    let retry = RetryConfig {
        max_attempts: 5,
        budget: 20,
        ..fast_retries()
    };
    let s = setup_with(retry, HttpConfig::default()).await;
    s.proxy
        .push(std::iter::repeat_n(Fault::internal_error(), 40));
    for _ in 0..5 {
        assert!(s.client.head_object(BUCKET, "k").await.is_err());
    }
    // 20 tokens at 5 per retry: four retries in all, shared by the five calls.
    assert_eq!(s.client.retries(), 4);
    assert_eq!(s.proxy.requests_seen(), 9);
}

#[tokio::test]
async fn a_server_that_keeps_failing_is_reported_with_its_attempts_and_a_look_at_its_logs() {
    let s = setup().await;
    // More faults than fast_retries() makes attempts (4).
    s.proxy.push((0..8).map(|_| Fault::internal_error()));
    let body = RequestBody::bytes(Bytes::from_static(b"payload"));
    let err = s
        .client
        .put_object(BUCKET, "k", body, &PutOptions::default())
        .await
        .unwrap_err();
    let service = err.service().expect("an S3 error");
    assert_eq!(service.status().as_u16(), 500, "{err}");
    assert_eq!(service.attempts(), 4, "{err}");
    let hint = err.hint().unwrap_or_default();
    assert!(hint.contains("after 4 attempts"), "{hint}");
    assert!(hint.contains("server's logs"), "{hint}");
    assert!(!hint.contains("try again later"), "{hint}");
    s.proxy.clear();
}
