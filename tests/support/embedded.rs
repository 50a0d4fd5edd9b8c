//! The embedded S3 endpoint (s3s-fs, which verifies SigV4 itself) and clients for it.

use ferry::credentials::{Credentials, ProvideCredentials, StaticProvider};
use ferry::http::{HttpClient, HttpConfig, RetryConfig, RetryState};
use ferry::s3::S3Client;
use ferry::serve::{LocalEndpoint, ServeConfig};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// A running endpoint and the temporary directory it serves.
#[derive(Debug)]
pub struct Embedded {
    /// The endpoint.
    pub endpoint: LocalEndpoint,
    /// Kept alive while the endpoint serves it.
    pub root: tempfile::TempDir,
}

impl Embedded {
    /// Starts an endpoint on `address` (e.g. `127.0.0.1:0` or `[::1]:0`).
    pub async fn start(address: &str) -> Self {
        let root = tempfile::tempdir().expect("temporary directory");
        let address: SocketAddr = address.parse().expect("a socket address");
        let config = ServeConfig::with_random_keys(root.path(), address).expect("random keys");
        let endpoint = LocalEndpoint::start(config).await.expect("endpoint starts");
        Self { endpoint, root }
    }

    /// A client with the endpoint's own keys.
    pub fn client(&self) -> S3Client {
        client_for(
            &self.endpoint.url(),
            self.endpoint.credentials().clone(),
            fast_retries(),
        )
    }
}

/// Retries with short delays and no send-rate adaptation, so tests that meet faults stay
/// quick.
pub fn fast_retries() -> RetryConfig {
    RetryConfig {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        adaptive: false,
    }
}

/// The default policy's shape (attempts, doubling full-jitter backoff, the adaptive send
/// rate) on a shorter clock: 12 attempts, 100 ms doubling up to 2 s, so the waits may add up
/// to 15 s (7.5 s on average). For tests that ride out a window of trouble lasting seconds.
pub fn patient_retries() -> RetryConfig {
    RetryConfig {
        max_attempts: 12,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(2),
        adaptive: true,
    }
}

/// A path-style client for a custom endpoint URL.
pub fn client_for(url: &str, credentials: Credentials, retry: RetryConfig) -> S3Client {
    client_with(url, credentials, retry, HttpConfig::default())
}

/// A path-style client for a custom endpoint URL, with HTTP settings.
pub fn client_with(
    url: &str,
    credentials: Credentials,
    retry: RetryConfig,
    http: HttpConfig,
) -> S3Client {
    client_with_provider(url, Arc::new(StaticProvider::new(credentials)), retry, http)
}

/// A path-style client for a custom endpoint URL whose credentials come from `provider`.
pub fn client_with_provider(
    url: &str,
    provider: Arc<dyn ProvideCredentials>,
    retry: RetryConfig,
    http: HttpConfig,
) -> S3Client {
    let endpoint = ferry::endpoint::EndpointConfig::custom(url, "us-east-1")
        .resolve()
        .expect("endpoint resolves");
    S3Client::new(
        HttpClient::new(&http).expect("http client"),
        endpoint,
        provider,
        RetryState::new(retry),
    )
}
