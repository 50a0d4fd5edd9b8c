//! An S3 endpoint in the process: a local directory served over HTTP/1.1 by `s3s-fs`.
//!
//! [`LocalEndpoint::start`] binds a TCP listener (port 0 picks a free one), serves the
//! directory in [`ServeConfig::root`] as S3 (each sub-directory is a bucket, each file below
//! it an object) and verifies every request's SigV4 signature itself with `s3s`'s
//! `SimpleAuth`, independently of ferry's signer. Unsigned requests are refused.
//!
//! Addressing is path-style (`http://127.0.0.1:PORT/bucket/key`) for any host name or IP
//! literal; a `Host` of `bucket.localhost[:PORT]` is also understood as virtual-hosted style.
//! Any signing region is accepted (the region in the credential scope is not checked).
//!
//! # Operations
//!
//! ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation, ListObjects(V2),
//! HeadObject, GetObject (with Range and conditional headers), PutObject (with
//! `x-amz-checksum-*` verified), CopyObject, DeleteObject, DeleteObjects, and multipart:
//! Create, UploadPart, UploadPartCopy, ListParts, Complete, Abort, ListMultipartUploads.
//! `s3s-fs` does most of the work; a thin layer fills its gaps (see `store::Store`). Request bodies
//! are verified as declared: the signed SHA-256, `UNSIGNED-PAYLOAD`, or aws-chunked with chunk
//! signatures. Presigned URLs (SigV4 query) are verified too, with their expiry.
//!
//! Not like S3: ListObjects entries carry no ETag; CompleteMultipartUpload needs parts
//! numbered 1, 2, 3… without gaps and does not check their ETags; a multipart object gets no
//! checksum and UploadPart ignores `x-amz-checksum-*`; unknown keys are refused as
//! `InvalidAccessKeyId`, as on S3. Objects are files and the prefixes of keys are
//! directories, so one key cannot be both an object and the prefix of others (`a` and
//! `a/b`); a key that names a directory (`a` or `a/`) is no object: HEAD and GET answer 404
//! NoSuchKey and DeleteObject 204, as S3 does for a missing key, and a PUT of a key ending in
//! `/` makes a directory, which listings do not show.
//!
//! The endpoint is what `ferry serve` runs, and what the integration tests and the loopback
//! benchmarks talk to. It never prints; it logs through `tracing`, and never logs the secret.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ferry::serve::ServeError> {
//! use ferry::serve::{LocalEndpoint, ServeConfig};
//! let config = ServeConfig::new("/tmp/data", "127.0.0.1:0".parse().unwrap(), "AKID", "secret");
//! let endpoint = LocalEndpoint::start(config).await?;
//! println!("{}", endpoint.url()); // http://127.0.0.1:PORT
//! endpoint.shutdown().await;
//! # Ok(()) }
//! ```

use crate::credentials::{Credentials, Secret, mask};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::host::{S3Host, VirtualHost};
use s3s::service::{S3Service, S3ServiceBuilder};
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

mod hashed;
mod listing;
mod part_checksum;
mod small_objects;
mod store;
mod uploads;

use store::Store;

/// The most entries one listing page holds, as on S3.
const MAX_LIST: i32 = 1000;

/// `127.0.0.1:9000`, the address `ferry serve` listens on unless told otherwise.
pub const DEFAULT_ADDRESS: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9000);

/// How long a shutdown waits for requests in flight before it drops their connections.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// After a failed `accept` (e.g. out of file descriptors), wait this long before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Length of generated access key ids: 20, like AWS's.
const ACCESS_KEY_LEN: usize = 20;
/// Prefix of generated access key ids, so that they are recognisable.
const ACCESS_KEY_PREFIX: &str = "FERRY";
/// Length of generated secrets: 40, like AWS's.
const SECRET_KEY_LEN: usize = 40;

/// What to serve, where, and the one key pair that may use it.
///
/// `Debug` shows the secret as `** redacted **`.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The directory to serve; it must exist. Each sub-directory is a bucket.
    pub root: PathBuf,
    /// Where to listen: `127.0.0.1:0`, `[::1]:0` (any free port), `0.0.0.0:9000`, …
    pub address: SocketAddr,
    /// The access key id requests must be signed with.
    pub access_key: String,
    /// Its secret.
    pub secret_key: Secret,
}

impl ServeConfig {
    /// A configuration with the given key pair.
    pub fn new(
        root: impl Into<PathBuf>,
        address: SocketAddr,
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        Self {
            root: root.into(),
            address,
            access_key: access_key.into(),
            secret_key: Secret::new(secret_key.into()),
        }
    }

    /// A configuration with a freshly generated random key pair (see [`generate_key_pair`]).
    pub fn with_random_keys(
        root: impl Into<PathBuf>,
        address: SocketAddr,
    ) -> Result<Self, ServeError> {
        let (access_key, secret_key) = generate_key_pair()?;
        Ok(Self {
            root: root.into(),
            address,
            access_key,
            secret_key,
        })
    }

    /// The key pair as ferry [`Credentials`], to sign requests to this endpoint with.
    pub fn credentials(&self) -> Credentials {
        Credentials::new(self.access_key.clone(), self.secret_key.expose())
    }

    fn validate_keys(&self) -> Result<(), ServeError> {
        let key = &self.access_key;
        // `/`, `,` and `=` would break the `Credential=KEY/date/...` field of SigV4.
        let bad = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '/' | ',' | '=');
        if key.is_empty() || key.chars().any(bad) {
            return Err(ServeError::InvalidAccessKey);
        }
        if self.secret_key.expose().is_empty() {
            return Err(ServeError::EmptySecretKey);
        }
        Ok(())
    }
}

/// Generates a random key pair: a 20-character access key id (`FERRY` and 15 upper-case
/// letters or digits) and a 40-character secret of letters and digits, from the operating
/// system's random source.
pub fn generate_key_pair() -> Result<(String, Secret), ServeError> {
    const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut access_key = String::with_capacity(ACCESS_KEY_LEN);
    access_key.push_str(ACCESS_KEY_PREFIX);
    random_chars(
        &mut access_key,
        ACCESS_KEY_LEN - ACCESS_KEY_PREFIX.len(),
        UPPER_DIGITS,
    )?;
    let mut secret = String::with_capacity(SECRET_KEY_LEN);
    random_chars(&mut secret, SECRET_KEY_LEN, ALPHANUMERIC)?;
    Ok((access_key, Secret::new(secret)))
}

/// Appends `count` characters drawn uniformly from `alphabet` (rejection sampling).
fn random_chars(out: &mut String, count: usize, alphabet: &[u8]) -> Result<(), ServeError> {
    // The largest multiple of the alphabet's length that fits in a byte: bytes at or above
    // it are dropped so that every character is equally likely.
    let limit = 256 - 256 % alphabet.len();
    let mut buf = zeroize::Zeroizing::new([0u8; 64]);
    let mut produced = 0;
    // Each byte is kept with probability > 3/4, so a few rounds of 64 bytes are plenty.
    for _ in 0..16 {
        getrandom::fill(&mut buf[..]).map_err(|e| ServeError::Random(e.to_string()))?;
        for &b in buf.iter() {
            if produced == count {
                return Ok(());
            }
            if usize::from(b) < limit {
                out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
                produced += 1;
            }
        }
        if produced == count {
            return Ok(());
        }
    }
    Err(ServeError::Random(
        "the random source returned too few usable bytes".into(),
    ))
}

/// Why the endpoint could not start; each variant says what to change (a front end words it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The root directory does not exist.
    #[error("the root directory {} does not exist; create it first", .root.display())]
    RootMissing {
        /// The path given.
        root: PathBuf,
    },
    /// The root exists but is a file or something else.
    #[error("the root {} is not a directory; serve a directory (create one first)", .root.display())]
    RootNotDirectory {
        /// The path given.
        root: PathBuf,
    },
    /// The root could not be read or resolved.
    #[error("cannot use {} as the root directory: {reason}", .root.display())]
    RootUnusable {
        /// The path given.
        root: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// Another process (or endpoint) listens on the address already.
    #[error("address {address} is already in use; choose another port, or port 0 for any free one")]
    AddressInUse {
        /// The address asked for.
        address: SocketAddr,
    },
    /// The address is not one of this machine's (or IPv6 is off).
    #[error("cannot listen on {address}: the address is not available on this machine ({source})")]
    AddressUnavailable {
        /// The address asked for.
        address: SocketAddr,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// Listening failed for another reason (e.g. a privileged port).
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// The access key id is empty or has characters SigV4 cannot carry.
    #[error("the access key must not be empty nor contain whitespace, '/', ',' or '='")]
    InvalidAccessKey,
    /// The secret is empty.
    #[error("the secret key must not be empty")]
    EmptySecretKey,
    /// The operating system's random source failed.
    #[error("cannot generate random credentials: {0}")]
    Random(String),
}

/// `s3s`'s `SimpleAuth`, answering an unknown access key id as S3 does
/// (`InvalidAccessKeyId`, 403) where `SimpleAuth` says `NotSignedUp`.
struct OneKey(SimpleAuth);

impl s3s::auth::S3Auth for OneKey {
    fn get_secret_key<'life0, 'life1, 'async_trait>(
        &'life0 self,
        access_key: &'life1 str,
    ) -> Pin<Box<dyn Future<Output = s3s::S3Result<s3s::auth::SecretKey>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            s3s::auth::S3Auth::get_secret_key(&self.0, access_key)
                .await
                .map_err(|e| {
                    if *e.code() == s3s::S3ErrorCode::NotSignedUp {
                        let mut unknown = s3s::S3Error::with_message(
                            s3s::S3ErrorCode::InvalidAccessKeyId,
                            "The AWS Access Key Id you provided does not exist in our records.",
                        );
                        unknown.set_status_code(http::StatusCode::FORBIDDEN);
                        unknown
                    } else {
                        e
                    }
                })
        })
    }
}

/// A running S3 endpoint. Stops on [`LocalEndpoint::shutdown`] or when dropped.
pub struct LocalEndpoint {
    local_addr: SocketAddr,
    root: PathBuf,
    credentials: Credentials,
    shutdown: Option<watch::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for LocalEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalEndpoint")
            .field("url", &self.url())
            .field("root", &self.root)
            .field("credentials", &self.credentials)
            .finish()
    }
}

impl LocalEndpoint {
    /// Checks the root, binds the address and starts serving in a task on the current tokio
    /// runtime. Returns once the socket is listening, so the first request can follow at once.
    pub async fn start(config: ServeConfig) -> Result<Self, ServeError> {
        config.validate_keys()?;
        let root = check_root(&config.root)?;
        let fs = s3s_fs::FileSystem::new(&root).map_err(|e| {
            let e = s3s::S3Error::from(e);
            ServeError::RootUnusable {
                root: config.root.clone(),
                reason: e
                    .source()
                    .map_or_else(|| e.to_string(), ToString::to_string),
            }
        })?;
        let service = {
            let mut builder = S3ServiceBuilder::new(Store::new(fs, root.clone()));
            builder.set_auth(OneKey(SimpleAuth::from_single(
                config.access_key.clone(),
                config.secret_key.expose(),
            )));
            builder.set_host(LoopbackHost);
            builder.build()
        };
        let listener = bind(config.address).await?;
        let local_addr = listener.local_addr().map_err(|source| ServeError::Bind {
            address: config.address,
            source,
        })?;
        let (shutdown, signal) = watch::channel(());
        let task = tokio::spawn(accept_loop(listener, service, signal));
        let endpoint = Self {
            local_addr,
            root,
            credentials: config.credentials(),
            shutdown: Some(shutdown),
            task: Some(task),
        };
        tracing::info!(
            url = %endpoint.url(),
            root = %endpoint.root.display(),
            access_key = %mask(&config.access_key),
            "S3 endpoint listening"
        );
        Ok(endpoint)
    }

    /// The address the endpoint listens on (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://127.0.0.1:PORT` or `http://[::1]:PORT`. An unspecified address (`0.0.0.0`,
    /// `::`) is shown as the loopback address of its family, which reaches it from here.
    pub fn url(&self) -> String {
        let ip = match self.local_addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.local_addr.port()))
    }

    /// The directory served, resolved to an absolute path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The one key pair this endpoint accepts.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Stops accepting, lets requests in flight finish (up to [`SHUTDOWN_GRACE`]), closes
    /// idle keep-alive connections and returns when all is closed.
    pub async fn shutdown(mut self) {
        self.shutdown.take();
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::warn!(error = %e, "S3 endpoint task ended abnormally");
        }
        tracing::info!(url = %self.url(), "S3 endpoint stopped");
    }
}

impl Drop for LocalEndpoint {
    /// Signals the server to stop; it finishes in the background (the listener closes at
    /// once, connections after their requests in flight).
    fn drop(&mut self) {
        // Dropping the sender wakes every receiver with an error: that is the signal.
        self.shutdown.take();
    }
}

/// Resolves the root and checks it is a directory.
fn check_root(root: &Path) -> Result<PathBuf, ServeError> {
    match std::fs::metadata(root) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(ServeError::RootNotDirectory {
                root: root.to_path_buf(),
            });
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(ServeError::RootMissing {
                root: root.to_path_buf(),
            });
        }
        Err(e) => {
            return Err(ServeError::RootUnusable {
                root: root.to_path_buf(),
                reason: e.to_string(),
            });
        }
    }
    std::fs::canonicalize(root).map_err(|e| ServeError::RootUnusable {
        root: root.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Connections the kernel may queue for the accept loop (it caps this at `somaxconn`). A
/// client that opens hundreds at once, as ferry does with 512 requests in flight, overflowed
/// the 128 the listener had: each handshake dropped cost its request a retransmission about
/// a second later (2,000 small GETs took 1.2 s instead of 0.4 s, now and then).
const BACKLOG: u32 = 4096;

async fn bind(address: SocketAddr) -> Result<TcpListener, ServeError> {
    let listen = || {
        let socket = match address {
            SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        socket.set_reuseaddr(true)?;
        socket.bind(address)?;
        socket.listen(BACKLOG)
    };
    listen().map_err(|source| match source.kind() {
        io::ErrorKind::AddrInUse => ServeError::AddressInUse { address },
        io::ErrorKind::AddrNotAvailable => ServeError::AddressUnavailable { address, source },
        _ => ServeError::Bind { address, source },
    })
}

/// Accepts connections until the shutdown signal, then shuts them down gracefully.
async fn accept_loop(listener: TcpListener, service: S3Service, mut signal: watch::Receiver<()>) {
    let mut builder = ConnBuilder::new(TokioExecutor::new());
    builder.http1().keep_alive(true);
    let builder = builder.http1_only();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            // Err: the sender was dropped (shutdown or drop). Ok: not used, but stop too.
            _ = signal.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let conn = builder
                        .serve_connection(TokioIo::new(stream), Logged(service.clone()))
                        .into_owned();
                    let mut signal = signal.clone();
                    connections.spawn(async move {
                        let mut conn = std::pin::pin!(conn);
                        let result = tokio::select! {
                            result = conn.as_mut() => result,
                            _ = signal.changed() => {
                                conn.as_mut().graceful_shutdown();
                                conn.await
                            }
                        };
                        if let Err(e) = result {
                            tracing::debug!(%peer, error = %e, "connection ended with an error");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            // Reap finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "requests still in flight after the grace period; closing their connections"
        );
        connections.shutdown().await;
    }
}

/// The `s3s` service, with one log line per request: `debug` for answers, `warn` for server
/// faults (5xx). `s3s` itself logs every error answer, 404s included, at `error` under the
/// `s3s::ops` target; a subscriber may silence that target and keep these lines. Only the
/// method and path are logged, never the query (a presigned URL's signature).
#[derive(Clone)]
struct Logged(S3Service);

impl hyper::service::Service<http::Request<hyper::body::Incoming>> for Logged {
    type Response = s3s::HttpResponse;
    type Error = s3s::HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, request: http::Request<hyper::body::Incoming>) -> Self::Future {
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let answer = hyper::service::Service::call(&self.0, request);
        Box::pin(async move {
            let result = answer.await;
            match &result {
                Ok(response) if response.status().is_server_error() => {
                    tracing::warn!(%method, %path, status = response.status().as_u16(), "S3 request failed");
                }
                Ok(response) => {
                    tracing::debug!(%method, %path, status = response.status().as_u16(), "S3 request");
                }
                Err(e) => tracing::warn!(%method, %path, error = ?e, "S3 request failed"),
            }
            result
        })
    }
}

/// Path-style addressing for every host, plus virtual-hosted style under `localhost`:
/// `Host: bucket.localhost:9000` addresses `bucket`. (IP-literal hosts never reach a host
/// parser in `s3s`: they are always path-style.)
#[derive(Debug, Clone, Copy)]
struct LoopbackHost;

impl S3Host for LoopbackHost {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> s3s::S3Result<VirtualHost<'a>> {
        let name = match host.rsplit_once(':') {
            Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
                name
            }
            _ => host,
        };
        let name = name.strip_suffix('.').unwrap_or(name);
        let lower = name.to_ascii_lowercase();
        match lower.strip_suffix(".localhost") {
            Some(bucket) if !bucket.is_empty() => {
                Ok(VirtualHost::new("localhost").with_bucket(bucket.to_owned()))
            }
            _ => Ok(VirtualHost::new(host)),
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn loopback() -> SocketAddr {
        "127.0.0.1:0".parse().unwrap()
    }

    #[test]
    fn generated_keys_are_aws_shaped_and_differ() {
        let (a_key, a_secret) = generate_key_pair().unwrap();
        let (b_key, b_secret) = generate_key_pair().unwrap();
        assert_eq!(a_key.len(), 20);
        assert!(a_key.starts_with("FERRY"));
        assert!(
            a_key
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_eq!(a_secret.expose().len(), 40);
        assert!(a_secret.expose().bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(a_key, b_key);
        assert_ne!(a_secret.expose(), b_secret.expose());
    }

    #[test]
    fn config_debug_redacts_the_secret() {
        let config = ServeConfig::new("/tmp", loopback(), "AKID", "very-secret-value");
        let shown = format!("{config:?}");
        assert!(!shown.contains("very-secret-value"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }

    #[tokio::test]
    async fn a_missing_root_is_refused_with_how_to_create_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("nope");
        let err = LocalEndpoint::start(ServeConfig::new(&root, loopback(), "AKID", "s"))
            .await
            .unwrap_err();
        assert!(matches!(err, ServeError::RootMissing { .. }), "{err}");
        assert!(err.to_string().contains("does not exist"), "{err}");
    }

    #[tokio::test]
    async fn a_file_as_root_is_refused_as_not_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let err = LocalEndpoint::start(ServeConfig::new(&file, loopback(), "AKID", "s"))
            .await
            .unwrap_err();
        assert!(matches!(err, ServeError::RootNotDirectory { .. }), "{err}");
        assert!(err.to_string().contains("not a directory"), "{err}");
    }

    #[tokio::test]
    async fn a_taken_address_is_refused_naming_it_and_suggesting_port_zero() {
        let dir = tempfile::tempdir().unwrap();
        let first = LocalEndpoint::start(ServeConfig::new(dir.path(), loopback(), "AKID", "s"))
            .await
            .unwrap();
        let taken = first.local_addr();
        let err = LocalEndpoint::start(ServeConfig::new(dir.path(), taken, "AKID", "s"))
            .await
            .unwrap_err();
        assert!(matches!(err, ServeError::AddressInUse { .. }), "{err}");
        assert!(err.to_string().contains(&taken.to_string()), "{err}");
        assert!(err.to_string().contains("port 0"), "{err}");
        first.shutdown().await;
    }

    #[tokio::test]
    async fn empty_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = LocalEndpoint::start(ServeConfig::new(dir.path(), loopback(), "", "s"))
            .await
            .unwrap_err();
        assert!(matches!(err, ServeError::InvalidAccessKey), "{err}");
        let err = LocalEndpoint::start(ServeConfig::new(dir.path(), loopback(), "AK/ID", "s"))
            .await
            .unwrap_err();
        assert!(matches!(err, ServeError::InvalidAccessKey), "{err}");
        let err = LocalEndpoint::start(ServeConfig::new(dir.path(), loopback(), "AKID", ""))
            .await
            .unwrap_err();
        assert!(matches!(err, ServeError::EmptySecretKey), "{err}");
    }

    #[tokio::test]
    async fn shutdown_frees_the_port() {
        let dir = tempfile::tempdir().unwrap();
        let endpoint = LocalEndpoint::start(ServeConfig::new(dir.path(), loopback(), "AKID", "s"))
            .await
            .unwrap();
        let addr = endpoint.local_addr();
        assert_ne!(addr.port(), 0);
        assert_eq!(endpoint.url(), format!("http://127.0.0.1:{}", addr.port()));
        tokio::time::timeout(Duration::from_secs(15), endpoint.shutdown())
            .await
            .expect("shutdown of an idle endpoint is quick");
        let again = LocalEndpoint::start(ServeConfig::new(dir.path(), addr, "AKID", "s"))
            .await
            .expect("the port is free again after shutdown");
        again.shutdown().await;
    }

    #[test]
    fn unspecified_addresses_are_shown_as_loopback_urls() {
        let endpoint = |addr: &str| LocalEndpoint {
            local_addr: addr.parse().unwrap(),
            root: PathBuf::from("/"),
            credentials: Credentials::new("AKID", "s"),
            shutdown: None,
            task: None,
        };
        assert_eq!(endpoint("0.0.0.0:9000").url(), "http://127.0.0.1:9000");
        assert_eq!(endpoint("[::]:9000").url(), "http://[::1]:9000");
        assert_eq!(endpoint("[::1]:9000").url(), "http://[::1]:9000");
    }

    #[test]
    fn localhost_subdomains_are_buckets_and_other_hosts_path_style() {
        let vh = LoopbackHost
            .parse_host_header("photos.localhost:9000")
            .unwrap();
        assert_eq!(vh.bucket(), Some("photos"));
        let vh = LoopbackHost.parse_host_header("localhost:9000").unwrap();
        assert_eq!(vh.bucket(), None);
        let vh = LoopbackHost
            .parse_host_header("minio.example.com:9000")
            .unwrap();
        assert_eq!(vh.bucket(), None);
        let vh = LoopbackHost.parse_host_header("myhost").unwrap();
        assert_eq!(vh.bucket(), None);
    }
}
