//! Temporary credentials that expire: refreshed before expiry by the caching provider (once,
//! however many workers sign), refreshed and retried once when the store answers
//! `ExpiredToken`, and, when nothing can refresh them, a stop with the time they expired.
//!
//! Runs against the embedded s3s-fs endpoint (which verifies every signature) with the fault
//! proxy in front where a test needs the store to answer `ExpiredToken`.

use ferry::credentials::sts::CachingProvider;
use ferry::credentials::{
    Credentials, CredentialsError, ProvideCredentials, ProvideFuture, StaticProvider,
};
use ferry::http::{HttpConfig, RequestBody};
use ferry::s3::{Error, PutOptions, S3Client};
use ferry::transfer::{Progress, TransferConfig, Transfers, limits::MIB};
use ferry_tests::embedded::{Embedded, client_with_provider, fast_retries};
use ferry_tests::fault_proxy::{Fault, FaultProxy};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

const BUCKET: &str = "refresh";

/// Hands out the endpoint's keys with a new session token on every call: the first set
/// valid for `first_lifetime`, later ones for an hour. Counts its calls.
#[derive(Debug)]
struct ShortLived {
    base: Credentials,
    first_lifetime: Duration,
    calls: AtomicUsize,
}

impl ShortLived {
    fn new(base: &Credentials, first_lifetime: Duration) -> Arc<Self> {
        Arc::new(Self {
            base: base.clone(),
            first_lifetime,
            calls: AtomicUsize::new(0),
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl ProvideCredentials for ShortLived {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let lifetime = if n == 0 {
                self.first_lifetime
            } else {
                Duration::from_secs(3600)
            };
            Ok::<_, CredentialsError>(Some(
                Credentials::new(self.base.access_key_id(), self.base.secret_access_key())
                    .with_session_token(format!("token-{n}"))
                    .with_expiry(SystemTime::now() + lifetime),
            ))
        })
    }

    fn name(&self) -> String {
        "short-lived test credentials".into()
    }
}

/// Records the generation of every set of credentials handed out through it.
#[derive(Debug)]
struct Recording {
    inner: Arc<dyn ProvideCredentials>,
    generations: Mutex<BTreeSet<u64>>,
}

impl ProvideCredentials for Recording {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(async move {
            let answer = self.inner.provide().await?;
            if let Some(c) = &answer {
                self.generations.lock().unwrap().insert(c.generation());
            }
            Ok(answer)
        })
    }
    fn name(&self) -> String {
        self.inner.name()
    }
    fn invalidate(&self, generation: u64) -> bool {
        self.inner.invalidate(generation)
    }
}

fn client(url: &str, provider: Arc<dyn ProvideCredentials>, http: HttpConfig) -> S3Client {
    client_with_provider(url, provider, fast_retries(), http)
}

fn expired_token() -> Fault {
    Fault::Status {
        status: 400,
        code: "ExpiredToken",
        message: "The provided token has expired.",
    }
}

async fn ready() -> Embedded {
    let server = Embedded::start("127.0.0.1:0").await;
    server
        .client()
        .create_bucket(BUCKET, None)
        .await
        .expect("bucket");
    server
}

#[tokio::test]
async fn an_upload_across_a_credential_refresh_finishes_with_exactly_one_refresh() {
    let server = ready().await;
    // The first credentials live 3 s and are refreshed 1 s before that; the upload is held
    // to 6 MiB/s, so its 24 MiB take about 4 s and must cross the refresh.
    let inner = ShortLived::new(server.endpoint.credentials(), Duration::from_secs(3));
    let caching = CachingProvider::new(inner.clone()).with_refresh_before(Duration::from_secs(1));
    let recording = Arc::new(Recording {
        inner: Arc::new(caching),
        generations: Mutex::default(),
    });
    let http = HttpConfig {
        max_bandwidth: Some(6 * MIB),
        ..HttpConfig::default()
    };
    let client = client(&server.endpoint.url(), recording.clone(), http);
    let config = TransferConfig {
        concurrency: 4,
        part_size: 5 * MIB,
        multipart_threshold: 5 * MIB,
        checksum: None,
        state_dir: Some(std::env::temp_dir().join("ferry-tests-state")),
        ..TransferConfig::default()
    };
    let engine = Transfers::new(client.clone(), config, Progress::silent());
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("big.bin");
    let data: Vec<u8> = (0..24 * MIB).map(|i| (i % 251) as u8).collect();
    std::fs::write(&source, &data).unwrap();
    let sent = tokio::time::timeout(
        Duration::from_secs(120),
        engine.upload_file(&source, BUCKET, "big.bin"),
    )
    .await
    .expect("the upload finishes within 2 minutes")
    .expect("the upload succeeds");
    assert_eq!(sent, 24 * MIB);
    assert_eq!(inner.calls(), 2, "one fetch, then exactly one refresh");
    assert_eq!(
        recording.generations.lock().unwrap().len(),
        2,
        "requests were signed with the first and then the refreshed credentials"
    );
    let head = client.head_object(BUCKET, "big.bin").await.unwrap();
    assert_eq!(head.size, 24 * MIB);
}

#[tokio::test]
async fn an_expired_token_answer_refreshes_the_credentials_and_retries_once() {
    let server = ready().await;
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    let inner = ShortLived::new(server.endpoint.credentials(), Duration::from_secs(3600));
    let client = client(
        &proxy.url(),
        Arc::new(CachingProvider::new(inner.clone())),
        HttpConfig::default(),
    );
    proxy.push([expired_token()]);
    client
        .put_object(
            BUCKET,
            "after-refresh",
            RequestBody::bytes(bytes::Bytes::from_static(b"hello")),
            &PutOptions::default(),
        )
        .await
        .expect("the retry with refreshed credentials succeeds");
    assert_eq!(
        inner.calls(),
        2,
        "the rejected credentials were replaced once"
    );
    assert_eq!(proxy.requests_seen(), 2);

    // A second ExpiredToken in a row is not retried again.
    proxy.push([expired_token(), expired_token()]);
    let err = client
        .put_object(
            BUCKET,
            "twice",
            RequestBody::bytes(bytes::Bytes::from_static(b"x")),
            &PutOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CredentialsExpired { .. }), "{err:?}");
    assert_eq!(inner.calls(), 3);
    assert_eq!(proxy.requests_seen(), 4);
}

#[tokio::test]
async fn static_temporary_credentials_meeting_expired_token_stop_with_their_expiry_time() {
    let server = ready().await;
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    let base = server.endpoint.credentials();
    // 2026-11-29T12:00:00Z, a time in the future of any test run of this suite's life.
    let expiry = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_953_600);
    let credentials = Credentials::new(base.access_key_id(), base.secret_access_key())
        .with_session_token("static-token")
        .with_expiry(expiry.max(SystemTime::now() + Duration::from_secs(3600)));
    let shown = ferry::time::format_utc(credentials.expiry().unwrap());
    let client = client(
        &proxy.url(),
        Arc::new(StaticProvider::new(credentials)),
        HttpConfig::default(),
    );
    proxy.push([expired_token()]);
    let err = client
        .put_object(
            BUCKET,
            "k",
            RequestBody::bytes(bytes::Bytes::from_static(b"x")),
            &PutOptions::default(),
        )
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::CredentialsExpired { .. }), "{err:?}");
    assert!(
        message.contains(&format!("expired at {shown}")),
        "{message}"
    );
    assert!(!message.contains("static-token"), "{message}");
    assert_eq!(proxy.requests_seen(), 1, "nothing to refresh: no retry");
}

#[tokio::test]
async fn static_credentials_past_their_expiry_fail_before_anything_is_sent() {
    let server = ready().await;
    let proxy = FaultProxy::start(server.endpoint.local_addr()).await;
    let base = server.endpoint.credentials();
    let expiry = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let credentials = Credentials::new(base.access_key_id(), base.secret_access_key())
        .with_session_token("old-token")
        .with_expiry(expiry);
    let client = client(
        &proxy.url(),
        Arc::new(StaticProvider::new(credentials)),
        HttpConfig::default(),
    );
    let err = client.head_bucket(BUCKET).await.unwrap_err();
    assert!(
        err.to_string().contains("expired at 2023-11-14T22:13:20Z"),
        "{err}"
    );
    assert_eq!(proxy.requests_seen(), 0);
}
