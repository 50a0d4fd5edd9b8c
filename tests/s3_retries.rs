//! Retries proven with faults injected between ferry and a real server (the embedded s3s-fs
//! endpoint, which verifies every signature, behind a fault proxy).

use bytes::Bytes;
use ferry::Advice;
use ferry::http::{HttpConfig, HttpError, RequestBody, RetryConfig};
use ferry::s3::{Error, PutOptions, S3Client};
use ferry::transfer::{Progress, TransferConfig, Transfers, limits::MIB};
use ferry_tests::embedded::{Embedded, client_with, fast_retries, patient_retries};
use ferry_tests::fault_proxy::{Fault, FaultProxy, Outage};
use std::future::Future;
use std::time::Duration;

/// A hang guard for the tests that ride out seconds of trouble: generous, never a measure.
const GUARD: Duration = Duration::from_secs(180);

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
    assert_eq!(err.advice(), Some(Advice::StoreNotAnswering));
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
    assert_eq!(err.service().map(|e| e.attempts()), Some(1), "{err}");
    assert_eq!(s.client.retries(), 0);
    assert_eq!(s.proxy.requests_seen(), 1);
}

#[tokio::test]
async fn a_forbidden_request_fails_at_once_under_the_patient_policy_too() {
    let s = setup_with(patient_retries(), HttpConfig::default()).await;
    s.proxy.push([Fault::Status {
        status: 403,
        code: "AccessDenied",
        message: "Access Denied",
    }]);
    let err = s.client.head_object(BUCKET, "k").await.unwrap_err();
    assert!(err.service().is_some_and(|e| e.is_access_denied()), "{err}");
    assert_eq!(err.service().map(|e| e.attempts()), Some(1), "{err}");
    assert_eq!(s.proxy.requests_seen(), 1);
    assert_eq!(s.client.retry_state().send_rate(), None, "not a throttle");
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
async fn every_request_gets_its_own_attempts_however_many_others_failed() {
    let s = setup().await;
    s.proxy
        .push(std::iter::repeat_n(Fault::internal_error(), 40));
    for _ in 0..5 {
        let err = s.client.head_object(BUCKET, "k").await.unwrap_err();
        assert_eq!(err.service().map(|e| e.attempts()), Some(4), "{err}");
    }
    // Nothing shared runs out: each of the five calls made its four attempts.
    assert_eq!(s.client.retries(), 15);
    assert_eq!(s.proxy.requests_seen(), 20);
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
    assert_eq!(
        err.advice(),
        Some(Advice::RetryWhenStoreHealthy {
            status: 500,
            attempts: 4,
        })
    );
    s.proxy.clear();
}

// ---------------------------------------------------------------------------------------
// Riding out windows of trouble: the policy's horizon, the adaptive send rate, the answers
// that S3 sends as 200 OK, corrupted bodies.

/// Runs `test` under the hang guard.
async fn guarded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, test)
        .await
        .expect("the test finished within its hang guard")
}

fn engine(client: S3Client) -> Transfers {
    let config = TransferConfig {
        concurrency: 8,
        part_size: 5 * MIB,
        multipart_threshold: 5 * MIB,
        state_dir: Some(std::env::temp_dir().join("ferry-tests-state")),
        ..TransferConfig::default()
    };
    Transfers::new(client, config, Progress::silent())
}

/// A file of three and a bit parts, written in `dir`.
fn big_file(dir: &std::path::Path, seed: usize) -> (std::path::PathBuf, Vec<u8>) {
    let bytes: Vec<u8> = (0..(15 * MIB as usize + 12_345))
        .map(|i| ((i * 31 + seed * 7) % 253) as u8)
        .collect();
    let path = dir.join(format!("big-{seed}.bin"));
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

/// Reads `key` back past the proxy and compares it with `expected`.
async fn assert_stored(server: &Embedded, key: &str, expected: &[u8]) {
    let got = server
        .client()
        .get_object_bytes(BUCKET, key)
        .await
        .expect("read back");
    assert!(got[..] == expected[..], "{key}: the stored bytes differ");
}

fn is_part_upload(parts: &http::request::Parts) -> bool {
    parts.method == http::Method::PUT && parts.uri.query().is_some_and(|q| q.contains("partNumber"))
}

fn is_complete(parts: &http::request::Parts) -> bool {
    parts.method == http::Method::POST && parts.uri.query().is_some_and(|q| q.contains("uploadId"))
}

#[tokio::test]
async fn half_the_requests_throttled_for_seconds_still_moves_every_object_byte_identical() {
    guarded(async {
        let s = setup_with(patient_retries(), HttpConfig::default()).await;
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes) = big_file(dir.path(), 1);
        put(&s._server.client(), "down.bin", &bytes).await;
        // 4 s during which every other request is answered 503 SlowDown (measured against
        // SeaweedFS, the real figure was 5-10 s: see docs/architecture.md, "Retries").
        s.proxy
            .fault_window(Duration::from_secs(4), Fault::slow_down(), 2);
        let engine = engine(s.client.clone());
        engine
            .upload_file(&path, BUCKET, "up.bin")
            .await
            .expect("upload");
        let target = dir.path().join("down.bin");
        engine
            .download_file(BUCKET, "down.bin", &target)
            .await
            .expect("download");
        let mut small = tokio::task::JoinSet::new();
        for i in 0..40 {
            let client = s.client.clone();
            small.spawn(async move {
                let body = format!("small object {i}").into_bytes();
                client
                    .put_object(
                        BUCKET,
                        &format!("small/{i}"),
                        RequestBody::bytes(Bytes::from(body)),
                        &PutOptions::default(),
                    )
                    .await
                    .map(drop)
            });
        }
        while let Some(done) = small.join_next().await {
            done.expect("task").expect("small upload");
        }
        assert_stored(&s._server, "up.bin", &bytes).await;
        assert!(std::fs::read(&target).unwrap() == bytes, "download differs");
        for i in 0..40 {
            assert_stored(
                &s._server,
                &format!("small/{i}"),
                format!("small object {i}").as_bytes(),
            )
            .await;
        }
        assert!(s.proxy.window_faults() > 0, "the window throttled requests");
        assert!(s.client.retries() > 0);
    })
    .await;
}

#[tokio::test]
async fn a_store_down_for_seconds_is_waited_out_and_the_objects_are_exact() {
    guarded(async {
        let s = setup_with(patient_retries(), HttpConfig::default()).await;
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes) = big_file(dir.path(), 2);
        // The store has answered this client, and holds pooled connections to it.
        assert!(s.client.head_bucket(BUCKET).await.is_ok());
        // The server goes away: connections are refused for 3 s, then it is back.
        s.proxy.outage(Duration::from_secs(3), Outage::Refuse);
        let engine = engine(s.client.clone());
        engine
            .upload_file(&path, BUCKET, "up.bin")
            .await
            .expect("upload");
        assert_stored(&s._server, "up.bin", &bytes).await;
        let refused = s.client.retries();
        assert!(refused > 0, "the upload met the outage");
        // Again, connections reset this time, during a download.
        s.proxy.outage(Duration::from_secs(3), Outage::Reset);
        let target = dir.path().join("down.bin");
        engine
            .download_file(BUCKET, "up.bin", &target)
            .await
            .expect("download");
        assert!(std::fs::read(&target).unwrap() == bytes, "download differs");
        assert!(s.client.retries() > refused, "the download met the outage");
        assert_eq!(s.proxy.outages_begun(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_refused_connection_to_an_endpoint_that_never_answered_fails_after_three_attempts() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let server = Embedded::start("127.0.0.1:0").await;
    let client = client_with(
        &url,
        server.endpoint.credentials().clone(),
        patient_retries(),
        HttpConfig::default(),
    );
    let err = guarded(client.head_bucket(BUCKET)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Http {
                source: HttpError::Connect { .. },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(client.retries(), 2, "three attempts, not the full horizon");
}

#[tokio::test]
async fn a_complete_answered_200_with_an_internal_error_is_sent_again_and_the_upload_completes() {
    guarded(async {
        let s = setup().await;
        s.proxy.set_filter(is_complete);
        s.proxy.push([Fault::OkWithError {
            code: "InternalError",
            message: "We encountered an internal error. Please try again.",
        }]);
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes) = big_file(dir.path(), 3);
        engine(s.client.clone())
            .upload_file(&path, BUCKET, "completed.bin")
            .await
            .expect("upload");
        assert_stored(&s._server, "completed.bin", &bytes).await;
        let completes: Vec<&'static str> = s
            .proxy
            .log()
            .into_iter()
            .filter(|(m, q, _)| m == "POST" && q.contains("uploadId"))
            .map(|(_, _, fault)| fault)
            .collect();
        assert_eq!(completes, ["OkWithError", "Pass"]);
    })
    .await;
}

#[tokio::test]
async fn a_copy_answered_200_with_slow_down_is_sent_again() {
    let s = setup().await;
    put(&s.client, "source", b"copy me").await;
    s.proxy
        .set_filter(|p| p.headers.contains_key("x-amz-copy-source"));
    s.proxy.push([Fault::OkWithError {
        code: "SlowDown",
        message: "Please reduce your request rate.",
    }]);
    s.client
        .copy_object(BUCKET, "source", BUCKET, "copy")
        .await
        .expect("copy after one retry");
    assert_stored(&s._server, "copy", b"copy me").await;
    assert_eq!(s.client.retries(), 1);
}

#[tokio::test]
async fn a_200_with_an_error_that_cannot_succeed_is_not_sent_again() {
    let s = setup().await;
    put(&s.client, "source", b"copy me").await;
    s.proxy
        .set_filter(|p| p.headers.contains_key("x-amz-copy-source"));
    s.proxy.push([Fault::OkWithError {
        code: "AccessDenied",
        message: "Access Denied",
    }]);
    let err = s
        .client
        .copy_object(BUCKET, "source", BUCKET, "copy")
        .await
        .unwrap_err();
    assert!(err.service().is_some_and(|e| e.is_access_denied()), "{err}");
    assert_eq!(s.client.retries(), 0);
}

#[tokio::test]
async fn a_part_answered_bad_digest_is_sent_again_and_the_upload_completes() {
    guarded(async {
        let s = setup().await;
        s.proxy.set_filter(|p| {
            is_part_upload(p) && p.uri.query().is_some_and(|q| q.contains("partNumber=2"))
        });
        s.proxy.push([Fault::Status {
            status: 400,
            code: "BadDigest",
            message: "The Content-MD5 or checksum value that you specified did not match what the server received.",
        }]);
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes) = big_file(dir.path(), 4);
        engine(s.client.clone())
            .upload_file(&path, BUCKET, "digest.bin")
            .await
            .expect("upload");
        assert_stored(&s._server, "digest.bin", &bytes).await;
        assert_eq!(s.proxy.pending(), 0);
        assert_eq!(s.client.retries(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_body_the_store_keeps_finding_corrupted_is_sent_again_only_twice() {
    let s = setup_with(patient_retries(), HttpConfig::default()).await;
    s.proxy.push((0..5).map(|_| Fault::Status {
        status: 400,
        code: "XAmzContentChecksumMismatch",
        message: "The provided 'x-amz-checksum' header does not match what was computed.",
    }));
    let body = RequestBody::bytes(Bytes::from_static(b"payload"));
    let err = guarded(
        s.client
            .put_object(BUCKET, "k", body, &PutOptions::default()),
    )
    .await
    .unwrap_err();
    assert!(
        err.service().is_some_and(|e| e.is_checksum_mismatch()),
        "{err}"
    );
    assert_eq!(err.service().map(|e| e.attempts()), Some(3), "{err}");
    assert_eq!(s.proxy.requests_seen(), 3);
}

#[tokio::test]
async fn a_bad_digest_without_a_body_to_resend_is_not_retried() {
    let s = setup().await;
    s.proxy.push([Fault::Status {
        status: 400,
        code: "BadDigest",
        message: "digest",
    }]);
    let err = s.client.delete_object(BUCKET, "k").await.unwrap_err();
    assert!(
        err.service().is_some_and(|e| e.is_checksum_mismatch()),
        "{err}"
    );
    assert_eq!(s.proxy.requests_seen(), 1);
}

#[tokio::test]
async fn retry_after_raises_the_wait_to_what_the_store_asks() {
    let retry = RetryConfig {
        max_delay: Duration::from_secs(5),
        ..fast_retries()
    };
    let s = setup_with(retry, HttpConfig::default()).await;
    s.proxy.push([Fault::SlowDownRetryAfter { seconds: 1 }]);
    guarded(put(&s.client, "k", b"after a second")).await;
    assert_eq!(s.client.retries(), 1);
    // The wait decided, not a measurement: at least the second asked for.
    assert!(
        s.client.retry_state().backoff_total() >= Duration::from_secs(1),
        "{:?}",
        s.client.retry_state().backoff_total()
    );
}

#[tokio::test]
async fn retry_after_beyond_the_cap_waits_only_the_cap() {
    let s = setup().await;
    s.proxy.push([Fault::SlowDownRetryAfter { seconds: 3600 }]);
    guarded(put(&s.client, "k", b"not after an hour")).await;
    assert_eq!(s.client.retries(), 1);
    assert!(s.client.retry_state().backoff_total() <= fast_retries().max_delay);
}

#[tokio::test]
async fn throttling_answers_make_the_client_hold_itself_to_a_send_rate() {
    let s = setup_with(patient_retries(), HttpConfig::default()).await;
    assert_eq!(s.client.retry_state().send_rate(), None);
    s.proxy.push([Fault::slow_down()]);
    guarded(put(&s.client, "k", b"throttled once")).await;
    let rate = s.client.retry_state().send_rate();
    assert!(rate.is_some_and(|r| r > 0.0), "{rate:?}");
}

// ---------------------------------------------------------------------------------------
// Figures for docs/architecture.md ("Retries"), with the default policy: run by hand with
// `cargo test -p ferry-tests --test s3_retries -- --ignored --nocapture measure`.

/// One measured scenario: its name, how long it took, and whether it succeeded.
async fn measured<T, E: std::fmt::Display>(name: &str, run: impl Future<Output = Result<T, E>>) {
    let start = std::time::Instant::now();
    let outcome = guarded(run).await;
    let took = start.elapsed().as_secs_f64();
    match outcome {
        Ok(_) => eprintln!("measure: {name}: succeeded in {took:.1} s"),
        Err(e) => eprintln!("measure: {name}: FAILED after {took:.1} s: {e}"),
    }
}

async fn small_uploads(client: &S3Client, count: usize, concurrency: usize) -> Result<(), String> {
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..count {
        let client = client.clone();
        let permits = std::sync::Arc::clone(&permits);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore");
            let body = RequestBody::bytes(Bytes::from(format!("small {i}").into_bytes()));
            client
                .put_object(BUCKET, &format!("small/{i}"), body, &PutOptions::default())
                .await
                .map(drop)
        });
    }
    let mut failed = 0;
    while let Some(done) = tasks.join_next().await {
        if !matches!(done, Ok(Ok(()))) {
            failed += 1;
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(format!("{n} of {count} failed")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement for the docs (minutes), not a test"]
async fn measure_the_default_policy_through_throttling_windows_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = big_file(dir.path(), 9);
    for window in [5, 10] {
        let fresh = || setup_with(RetryConfig::default(), HttpConfig::default());
        let s = fresh().await;
        put(&s._server.client(), "down.bin", &bytes).await;
        s.proxy
            .fault_window(Duration::from_secs(window), Fault::slow_down(), 2);
        let target = dir.path().join("down.bin");
        measured(
            &format!("{window} s of 50% SlowDown: download 15 MiB"),
            async {
                engine(s.client.clone())
                    .download_file(BUCKET, "down.bin", &target)
                    .await
            },
        )
        .await;
        let s = fresh().await;
        s.proxy
            .fault_window(Duration::from_secs(window), Fault::slow_down(), 2);
        measured(
            &format!("{window} s of 50% SlowDown: upload 15 MiB"),
            async {
                engine(s.client.clone())
                    .upload_file(&path, BUCKET, "up.bin")
                    .await
            },
        )
        .await;
        let s = fresh().await;
        s.proxy
            .fault_window(Duration::from_secs(window), Fault::slow_down(), 2);
        measured(
            &format!("{window} s of 50% SlowDown: 500 small uploads, 32 at a time"),
            small_uploads(&s.client, 500, 32),
        )
        .await;
        eprintln!("measure:   retries {}", s.client.retries());
    }
    // A restart: the upload is paced (10 MiB/s) so that the store goes down while it runs.
    let paced = HttpConfig {
        max_bandwidth: Some(10 * MIB),
        ..HttpConfig::default()
    };
    for (seconds, how) in [(15, Outage::Refuse), (15, Outage::Reset)] {
        // A download started while the store is down (in-flight bodies sit in the socket
        // buffers and outlive a kill on loopback): it waits the outage out.
        let s = setup_with(RetryConfig::default(), paced.clone()).await;
        put(&s._server.client(), "down.bin", &bytes).await;
        assert!(s.client.head_bucket(BUCKET).await.is_ok());
        s.proxy.outage(Duration::from_secs(seconds), how);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let target = dir.path().join("down.bin");
        measured(
            &format!("{seconds} s {how:?} outage, download started 0.5 s into it"),
            async {
                engine(s.client.clone())
                    .download_file(BUCKET, "down.bin", &target)
                    .await
            },
        )
        .await;
        eprintln!("measure:   retries {}", s.client.retries());
        let s = setup_with(RetryConfig::default(), paced.clone()).await;
        assert!(s.client.head_bucket(BUCKET).await.is_ok());
        let client = s.client.clone();
        let upload = tokio::spawn({
            let path = path.clone();
            async move { engine(client).upload_file(&path, BUCKET, "up.bin").await }
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        s.proxy.outage(Duration::from_secs(seconds), how);
        measured(&format!("{seconds} s {how:?} outage mid-upload"), async {
            upload.await.expect("task")
        })
        .await;
        eprintln!("measure:   retries {}", s.client.retries());
    }
}

/// A hang guard for the stall tests, shorter than their clients' read timeout.
const STALL_GUARD: Duration = Duration::from_secs(120);

/// An engine that never sends a part twice, so that only stall detection can save a
/// stalled part.
fn engine_without_hedging(client: S3Client) -> Transfers {
    let config = TransferConfig {
        hedge: None,
        ..engine(client.clone()).config().clone()
    };
    Transfers::new(client, config, Progress::silent())
}

/// A client that abandons a request once its bytes stop moving for a second; its read
/// timeout (the wait for an answer to a small request) is longer than [`STALL_GUARD`], so
/// only stall detection can end these tests in time.
async fn stall_setup() -> Setup {
    let http = HttpConfig {
        stall_timeout: Duration::from_secs(1),
        read_timeout: Duration::from_secs(600),
        ..HttpConfig::default()
    };
    setup_with(fast_retries(), http).await
}

#[tokio::test]
async fn a_download_whose_bytes_stop_moving_is_abandoned_and_fetched_again() {
    let s = stall_setup().await;
    let bytes = data(3 * MIB as usize);
    put(&s.client, "stalled.bin", &bytes).await;
    s.proxy.set_filter(|p| p.method == http::Method::GET);
    s.proxy.push([Fault::StallResponse {
        after_bytes: 100_000,
    }]);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.bin");
    tokio::time::timeout(
        STALL_GUARD,
        engine_without_hedging(s.client.clone()).download_file(BUCKET, "stalled.bin", &target),
    )
    .await
    .expect("no hang")
    .expect("the download lands");
    assert!(std::fs::read(&target).unwrap() == bytes, "the bytes differ");
    let gets = s.proxy.log().iter().filter(|(m, _, _)| m == "GET").count();
    assert!(
        gets >= 2,
        "the stalled answer was fetched again: {gets} GETs"
    );
}

#[tokio::test]
async fn an_upload_part_whose_bytes_stop_moving_is_abandoned_and_sent_again() {
    let s = stall_setup().await;
    let bytes = data(12 * MIB as usize);
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("big.bin");
    std::fs::write(&source, &bytes).unwrap();
    s.proxy.set_filter(|p| {
        p.method == http::Method::PUT && p.uri.query().is_some_and(|q| q.contains("partNumber=2"))
    });
    s.proxy.push([Fault::StallRequest { after_bytes: 0 }]);
    tokio::time::timeout(
        STALL_GUARD,
        engine_without_hedging(s.client.clone()).upload_file(&source, BUCKET, "big.bin"),
    )
    .await
    .expect("no hang")
    .expect("the upload completes");
    let stored = s.client.get_object_bytes(BUCKET, "big.bin").await.unwrap();
    assert!(stored == bytes, "the object's bytes differ");
    let part_2 = s
        .proxy
        .log()
        .iter()
        .filter(|(m, uri, _)| m == "PUT" && uri.contains("partNumber=2"))
        .count();
    assert_eq!(part_2, 2, "part 2 was sent again after its stall");
}
