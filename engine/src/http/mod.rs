//! The pooled HTTP client every transfer shares.
//!
//! One hyper client (hyper-util's pooled client) over HTTP/1.1 keep-alive with a pool sized to
//! the transfer concurrency, `TCP_NODELAY`, connect and idle-read timeouts, and TLS through
//! rustls. Request bodies are bytes, zero-copy slices of memory-mapped files, or streams
//! ([`RequestBody`]); response bodies are streamed ([`ResponseBody`]).
//!
//! The transport knows nothing of keys, signing, endpoints or S3, and uses nothing else of
//! the crate: credential sources and the S3 client both send through it.

pub mod aws_chunked;
mod bandwidth;
mod body;
pub mod resolve;
pub mod retry;
mod tls;

pub use bandwidth::RateLimiter;
pub use body::{
    CHUNK, CHUNKED_MEMORY, ChunkSource, RequestBody, ResponseBody, SentBytes, SourceFailed,
};
pub use retry::{RetryConfig, RetryReason, RetryState};

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use resolve::RotatingResolver;
use std::path::PathBuf;
use std::time::Duration;

/// How the client connects.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Connections kept open per host (set it to the transfer concurrency).
    pub max_connections: usize,
    /// How long a TCP (and TLS) connect may take.
    pub connect_timeout: Duration,
    /// How long the server may stay silent before the response headers, once the request
    /// body is sent.
    pub read_timeout: Duration,
    /// How long bytes may stop moving in either direction before the request counts as
    /// stalled and is abandoned (and retried): no frame of the request body taken by the
    /// connection, or no frame of the response body arriving, for this long.
    pub stall_timeout: Duration,
    /// Trust only the certificates in this PEM file instead of the system's roots.
    pub ca_bundle: Option<PathBuf>,
    /// `--max-bandwidth`: bytes per second for all request and response bodies of the client
    /// together (uploads and downloads share it); `None`: unlimited.
    pub max_bandwidth: Option<u64>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_connections: 64,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            stall_timeout: DEFAULT_STALL_TIMEOUT,
            ca_bundle: None,
            max_bandwidth: None,
        }
    }
}

/// Why a request got no HTTP answer.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The connection could not be opened.
    #[error("could not connect: {message}")]
    Connect {
        /// The underlying cause.
        message: String,
    },
    /// The peer stayed silent too long.
    #[error("timed out {what} after {after:?}")]
    Timeout {
        /// What was being waited for.
        what: &'static str,
        /// The timeout.
        after: Duration,
    },
    /// The connection broke (reset, closed early, truncated body).
    #[error("the connection broke: {message}")]
    Connection {
        /// The underlying cause.
        message: String,
    },
    /// TLS could not be set up, or the server's certificate was not trusted.
    #[error("TLS failed: {message}")]
    Tls {
        /// The underlying cause.
        message: String,
    },
    /// The CA bundle could not be used.
    #[error("CA bundle {path}: {message}")]
    CaBundle {
        /// The file given.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A response body was larger than allowed for its kind.
    #[error("the response body exceeded {limit} bytes")]
    BodyTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The request could not be built or sent.
    #[error("invalid request: {message}")]
    Request {
        /// What is wrong.
        message: String,
    },
    /// The request body's source failed while it was being sent (a file that could not be
    /// read or changed under it, see [`SourceFailed`]): not retried, since sending again
    /// would read the same source.
    #[error("the request body could not be read: {message}")]
    Body {
        /// The source's error.
        message: String,
    },
}

impl HttpError {
    /// Why this failure may be retried, if it may.
    pub fn retry_reason(&self) -> Option<RetryReason> {
        match self {
            Self::Connect { .. } | Self::Connection { .. } => Some(RetryReason::Transient),
            Self::Timeout { .. } => Some(RetryReason::Timeout),
            _ => None,
        }
    }

    pub(crate) fn from_hyper(error: hyper::Error) -> Self {
        if let Some(message) = body::source_failure(&error) {
            return Self::Body { message };
        }
        if error.is_timeout() {
            return Self::Timeout {
                what: "waiting for the server",
                after: Duration::ZERO,
            };
        }
        Self::Connection {
            message: chain(&error),
        }
    }

    fn from_client(error: hyper_util::client::legacy::Error) -> Self {
        if let Some(message) = body::source_failure(&error) {
            return Self::Body { message };
        }
        let message = chain(&error);
        let lower = message.to_ascii_lowercase();
        // TLS handshake failures surface as connect errors: name them for what they are.
        if lower.contains("certificate") || lower.contains("tls") || lower.contains("unknownissuer")
        {
            Self::Tls { message }
        } else if error.is_connect() {
            Self::Connect { message }
        } else {
            Self::Connection { message }
        }
    }
}

/// An error and its causes, on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// A response: status, headers, and the body still to be read.
#[derive(Debug)]
pub struct Response {
    /// The HTTP status.
    pub status: http::StatusCode,
    /// The response headers.
    pub headers: http::HeaderMap,
    /// The body, streamed.
    pub body: ResponseBody,
}

/// The shared, pooled client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: Client<HttpsConnector<HttpConnector<RotatingResolver>>, RequestBody>,
    read_timeout: Duration,
    stall_timeout: Duration,
    /// The shared bandwidth cap, if any.
    limiter: Option<RateLimiter>,
    /// The connection pool size (a capped body gets at least its share of the cap).
    max_connections: u64,
}

/// How long bytes may stop moving before a request counts as stalled, by default.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// What to do about a CA bundle or TLS failure ([`HttpError::CaBundle`], [`HttpError::Tls`]).
pub const CA_BUNDLE_HINT: &str = "check --ca-bundle / AWS_CA_BUNDLE: it must hold the PEM \
    certificate of the CA that signed the store's certificate";

/// A request body larger than this is "large" for [`HttpClient::send`]'s answer wait.
const LARGE_BODY: u64 = 1024 * 1024;
/// The most of a body a connection's send buffer may still hold once it is all taken
/// (Linux grows it to about 4 MiB).
const BUFFERED_AT_MOST: u64 = 4 * 1024 * 1024;
/// The slowest pace a buffered body is expected to drain at, per connection (bytes/s): 16
/// parts in flight over an 8 Mbit/s uplink.
const SLOW_LINK: u64 = 64 * 1024;

/// How often a request in flight is checked for a stall.
const STALL_CHECK: Duration = Duration::from_millis(250);

/// The most a connection's read buffer grows to (hyper's default is 408 KiB). A response
/// body arrives in slices of this buffer, and a slice held (a download's write batch holds
/// its chunks until they are written) keeps the whole buffer alive, so a ranged download
/// holds about two of them besides its batch. At 256 KiB a 1 GiB download on loopback
/// peaked at 50 MiB resident (median of 7) against 58 MiB at 408 KiB, as fast or faster
/// (0.89 s against 0.96 s; docs/benchmarks.md).
pub const READ_BUFFER: usize = 256 * 1024;

impl HttpClient {
    /// Builds the client: pool, timeouts, TLS.
    pub fn new(config: &HttpConfig) -> Result<Self, HttpError> {
        // Each new connection tries the next of the endpoint's addresses first.
        let mut http = HttpConnector::new_with_resolver(RotatingResolver::new());
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.connect_timeout));
        http.set_keepalive(Some(Duration::from_secs(60)));
        let tls = tls::client_config(config.ca_bundle.as_deref())?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let inner = Client::builder(TokioExecutor::new())
            .http1_max_buf_size(READ_BUFFER)
            .pool_max_idle_per_host(config.max_connections.max(1))
            .pool_idle_timeout(Duration::from_secs(50))
            .build(https);
        Ok(Self {
            inner,
            read_timeout: config.read_timeout,
            stall_timeout: config.stall_timeout,
            limiter: config.max_bandwidth.map(RateLimiter::new),
            max_connections: config.max_connections.max(1) as u64,
        })
    }

    /// The connections kept open at most (requests in flight it is sized for).
    pub fn max_connections(&self) -> usize {
        self.max_connections as usize
    }

    /// Sends a request and waits for the response headers; the body streams after. The
    /// request is abandoned as stalled when its body stops moving for the stall timeout (a
    /// frame under a bandwidth cap may wait for its tokens longer: that wait is allowed for),
    /// or when no answer comes within the read timeout once the body is sent.
    pub async fn send(&self, request: http::Request<RequestBody>) -> Result<Response, HttpError> {
        let moved = body::Moved::new();
        let body_len = request.body().len();
        // Object bodies (GET) must keep moving; other answers may pause longer, as S3's
        // CompleteMultipartUpload and CopyObject do between their keep-alive spaces.
        let body_idle = if request.method() == http::Method::GET {
            self.stall_timeout
        } else {
            self.read_timeout.max(self.stall_timeout)
        };
        // Once a large body is all taken, much of it may still sit in the socket buffers
        // (several MiB): allow it to drain at a slow link's pace before calling the silence a
        // stall. Small bodies (CompleteMultipartUpload, CopyObject) wait the read timeout,
        // since the store may work a while before answering them.
        let answer_within = if body_len > LARGE_BODY {
            self.read_timeout.min(
                self.stall_timeout
                    + Duration::from_secs(body_len.min(BUFFERED_AT_MOST) / SLOW_LINK),
            )
        } else {
            self.read_timeout
        };
        let stall = match &self.limiter {
            // A 64 KiB frame at this request's share of the cap must fit in the window.
            Some(limiter) => {
                let share = (limiter.rate() / self.max_connections / 2).max(1);
                self.stall_timeout
                    .max(Duration::from_secs(2 * bandwidth::FRAME as u64 / share))
            }
            None => self.stall_timeout,
        };
        let request = request.map(|body| body.watched(moved.clone()));
        let request = match &self.limiter {
            Some(limiter) => request.map(|body| body.paced(limiter.clone())),
            None => request,
        };
        let sending = self.inner.request(request);
        tokio::pin!(sending);
        let mut check = tokio::time::interval(STALL_CHECK);
        let response = loop {
            tokio::select! {
                response = &mut sending => break response.map_err(HttpError::from_client)?,
                _ = check.tick() => {
                    let (idle, body_sent) = moved.idle();
                    if !body_sent && idle >= stall {
                        return Err(HttpError::Timeout {
                            what: "sending the request body (no bytes moved)",
                            after: stall,
                        });
                    }
                    if body_sent && idle >= answer_within {
                        return Err(HttpError::Timeout {
                            what: "waiting for the response",
                            after: answer_within,
                        });
                    }
                }
            }
        };
        let (parts, incoming) = response.into_parts();
        Ok(Response {
            status: parts.status,
            headers: parts.headers,
            body: ResponseBody::new(incoming, body_idle, self.limiter.clone()),
        })
    }
}
