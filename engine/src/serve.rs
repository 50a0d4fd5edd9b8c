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
//! `s3s-fs` does most of the work; a thin layer fills its gaps (see `Store`). Request bodies
//! are verified as declared: the signed SHA-256, `UNSIGNED-PAYLOAD`, or aws-chunked with chunk
//! signatures. Presigned URLs (SigV4 query) are verified too, with their expiry.
//!
//! Not like S3: ListObjects entries carry no ETag; CompleteMultipartUpload needs parts
//! numbered 1, 2, 3… without gaps and does not check their ETags; a multipart object gets no
//! checksum and UploadPart ignores `x-amz-checksum-*`; unknown keys are refused as `NotSignedUp` (S3: `InvalidAccessKeyId`).
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
use s3s::dto;
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

/// Why the endpoint could not start. [`ServeError::hint`] says what to do.
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

impl ServeError {
    /// What the user can do about it, in words that fit `ferry serve`'s flags.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::RootMissing { root } => Some(format!(
                "create it with `mkdir -p {}`, or pass an existing directory with --root",
                root.display()
            )),
            Self::RootNotDirectory { .. } => {
                Some("pass a directory with --root; its sub-directories become buckets".into())
            }
            Self::RootUnusable { .. } => {
                Some("check the path and its permissions, or pass another --root".into())
            }
            Self::AddressInUse { address } => Some(format!(
                "pick another port, e.g. --address {}, or port 0 to let the system choose",
                SocketAddr::new(address.ip(), address.port().wrapping_add(1).max(1024))
            )),
            Self::AddressUnavailable { .. } => Some(
                "use a local address such as 127.0.0.1:9000 or [::1]:9000 (IPv6 must be enabled)"
                    .into(),
            ),
            Self::Bind { address, source } => {
                if source.kind() == io::ErrorKind::PermissionDenied && address.port() < 1024 {
                    Some("ports below 1024 need privileges; use e.g. port 9000, or 0".into())
                } else {
                    None
                }
            }
            Self::InvalidAccessKey | Self::EmptySecretKey => Some(
                "give both --access-key and --secret-key, or neither to get a random pair".into(),
            ),
            Self::Random(_) => Some("pass --access-key and --secret-key yourself".into()),
        }
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
            let mut builder = S3ServiceBuilder::new(Store {
                fs,
                root: root.clone(),
            });
            builder.set_auth(SimpleAuth::from_single(
                config.access_key.clone(),
                config.secret_key.expose(),
            ));
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

async fn bind(address: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| match source.kind() {
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

/// `s3s-fs` with the gaps ferry meets filled in; every other operation goes straight to it.
///
/// * ListMultipartUploads, which `s3s-fs` lacks, from the upload records it keeps in the root;
/// * ListParts sorted by part number, with each part's ETag, `max-parts` and
///   `part-number-marker` paging, and NoSuchUpload for an unknown upload;
/// * DeleteBucket refuses a bucket that still holds objects (BucketNotEmpty), where `s3s-fs`
///   would delete it with everything in it;
/// * GET and HEAD honour If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since
///   (412 PreconditionFailed, 304 Not Modified), which `s3s-fs` ignores;
/// * a PUT body that fails verification (declared SHA-256, chunk signature, length) is
///   answered with a 4xx naming the problem, not `500 InternalError`, so that clients do not
///   retry it as a server fault.
///
/// The upload records are `s3s-fs` 0.14's own files in the root:
/// `.upload-{id}.json` while an upload is open, `.upload_id-{id}.part-{n}` per part, and
/// `.bucket-{b64(bucket)}.object-{b64(key)}.upload-{id}.metadata.json` (URL-safe base64
/// without padding) written when it is created.
struct Store {
    fs: s3s_fs::FileSystem,
    root: PathBuf,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("root", &self.root).finish()
    }
}

/// What `s3s`'s `#[async_trait]` methods return.
type S3Future<'a, T> = Pin<Box<dyn Future<Output = s3s::S3Result<s3s::S3Response<T>>> + Send + 'a>>;

/// Forwards S3 operations to `self.fs` unchanged (the signatures `#[async_trait]` expands to).
macro_rules! delegate_to_fs {
    ($($name:ident($input:ident) -> $output:ident;)*) => {$(
        fn $name<'life0, 'async_trait>(
            &'life0 self,
            req: s3s::S3Request<dto::$input>,
        ) -> S3Future<'async_trait, dto::$output>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            self.fs.$name(req)
        }
    )*};
}

impl s3s::S3 for Store {
    delegate_to_fs! {
        list_buckets(ListBucketsInput) -> ListBucketsOutput;
        create_bucket(CreateBucketInput) -> CreateBucketOutput;
        head_bucket(HeadBucketInput) -> HeadBucketOutput;
        get_bucket_location(GetBucketLocationInput) -> GetBucketLocationOutput;
        list_objects(ListObjectsInput) -> ListObjectsOutput;
        list_objects_v2(ListObjectsV2Input) -> ListObjectsV2Output;
        copy_object(CopyObjectInput) -> CopyObjectOutput;
        delete_object(DeleteObjectInput) -> DeleteObjectOutput;
        delete_objects(DeleteObjectsInput) -> DeleteObjectsOutput;
        create_multipart_upload(CreateMultipartUploadInput) -> CreateMultipartUploadOutput;
        upload_part_copy(UploadPartCopyInput) -> UploadPartCopyOutput;
        complete_multipart_upload(CompleteMultipartUploadInput) -> CompleteMultipartUploadOutput;
        abort_multipart_upload(AbortMultipartUploadInput) -> AbortMultipartUploadOutput;
    }

    fn get_object<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::GetObjectInput>,
    ) -> S3Future<'async_trait, dto::GetObjectOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let input = &req.input;
            let conditions = Preconditions {
                if_match: input.if_match.clone(),
                if_none_match: input.if_none_match.clone(),
                if_modified_since: input.if_modified_since.clone(),
                if_unmodified_since: input.if_unmodified_since.clone(),
            };
            let response = self.fs.get_object(req).await?;
            // On a failed condition the body stream (the open file) is dropped unread.
            let output = &response.output;
            conditions.check(output.e_tag.as_ref(), output.last_modified.as_ref())?;
            Ok(response)
        })
    }

    fn head_object<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::HeadObjectInput>,
    ) -> S3Future<'async_trait, dto::HeadObjectOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let input = &req.input;
            let conditions = Preconditions {
                if_match: input.if_match.clone(),
                if_none_match: input.if_none_match.clone(),
                if_modified_since: input.if_modified_since.clone(),
                if_unmodified_since: input.if_unmodified_since.clone(),
            };
            let response = self.fs.head_object(req).await?;
            let output = &response.output;
            conditions.check(output.e_tag.as_ref(), output.last_modified.as_ref())?;
            Ok(response)
        })
    }

    fn put_object<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::PutObjectInput>,
    ) -> S3Future<'async_trait, dto::PutObjectOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move { self.fs.put_object(req).await.map_err(body_error) })
    }

    fn upload_part<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::UploadPartInput>,
    ) -> S3Future<'async_trait, dto::UploadPartOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move { self.fs.upload_part(req).await.map_err(body_error) })
    }

    fn delete_bucket<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::DeleteBucketInput>,
    ) -> S3Future<'async_trait, dto::DeleteBucketOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let bucket_dir = self.root.join(&req.input.bucket);
            let dir = bucket_dir.clone();
            let holds_objects = tokio::task::spawn_blocking(move || holds_a_file(&dir))
                .await
                .map_err(|e| {
                    s3s::S3Error::with_source(s3s::S3ErrorCode::InternalError, Box::new(e))
                })?;
            if holds_objects {
                return Err(s3s::S3Error::with_message(
                    s3s::S3ErrorCode::BucketNotEmpty,
                    "The bucket you tried to delete is not empty",
                ));
            }
            self.fs.delete_bucket(req).await
        })
    }

    fn list_parts<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::ListPartsInput>,
    ) -> S3Future<'async_trait, dto::ListPartsOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let upload_id = req.input.upload_id.clone();
            if !self.upload_is_open(&upload_id) {
                return Err(no_such_upload());
            }
            let marker = req.input.part_number_marker.unwrap_or(0).max(0);
            let max_parts = req.input.max_parts.unwrap_or(MAX_LIST).clamp(0, MAX_LIST);
            let mut response = self.fs.list_parts(req).await?;
            let output = &mut response.output;
            let mut parts = output.parts.take().unwrap_or_default();
            parts.retain(|p| p.part_number.unwrap_or(0) > marker);
            parts.sort_by_key(|p| p.part_number);
            let truncated = parts.len() > max_parts as usize;
            parts.truncate(max_parts as usize);
            let root = self.root.clone();
            let id = upload_id.clone();
            let numbers: Vec<i32> = parts.iter().filter_map(|p| p.part_number).collect();
            let etags = tokio::task::spawn_blocking(move || {
                numbers
                    .into_iter()
                    .map(|n| file_md5_hex(&root.join(format!(".upload_id-{id}.part-{n}"))).ok())
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|e| s3s::S3Error::with_source(s3s::S3ErrorCode::InternalError, Box::new(e)))?;
            for (part, etag) in parts.iter_mut().zip(etags) {
                part.e_tag = etag.map(dto::ETag::Strong);
            }
            output.next_part_number_marker = if truncated {
                parts.last().and_then(|p| p.part_number)
            } else {
                None
            };
            output.is_truncated = Some(truncated);
            output.max_parts = Some(max_parts);
            output.part_number_marker = Some(marker);
            output.parts = Some(parts);
            Ok(response)
        })
    }

    fn list_multipart_uploads<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::ListMultipartUploadsInput>,
    ) -> S3Future<'async_trait, dto::ListMultipartUploadsOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let input = req.input;
            if !self.root.join(&input.bucket).is_dir() {
                return Err(s3s::S3Error::new(s3s::S3ErrorCode::NoSuchBucket));
            }
            let root = self.root.clone();
            let bucket = input.bucket.clone();
            let uploads = tokio::task::spawn_blocking(move || open_uploads(&root, &bucket))
                .await
                .map_err(|e| {
                    s3s::S3Error::with_source(s3s::S3ErrorCode::InternalError, Box::new(e))
                })?
                .map_err(|e| {
                    s3s::S3Error::with_source(s3s::S3ErrorCode::InternalError, Box::new(e))
                })?;
            Ok(s3s::S3Response::new(list_uploads_page(input, uploads)))
        })
    }
}

/// The conditional headers of a GET or HEAD, which `s3s-fs` ignores.
#[derive(Debug)]
struct Preconditions {
    if_match: Option<dto::ETagCondition>,
    if_none_match: Option<dto::ETagCondition>,
    if_modified_since: Option<dto::Timestamp>,
    if_unmodified_since: Option<dto::Timestamp>,
}

impl Preconditions {
    /// Evaluates the conditions against the object's ETag and Last-Modified as S3 does
    /// (RFC 9110 §13.2.2): If-Match, else If-Unmodified-Since, may fail with 412
    /// PreconditionFailed; then If-None-Match, else If-Modified-Since, may answer 304 Not
    /// Modified (with the ETag and Last-Modified headers, no body).
    fn check(
        &self,
        etag: Option<&dto::ETag>,
        last_modified: Option<&dto::Timestamp>,
    ) -> s3s::S3Result<()> {
        // Last-Modified goes out in whole seconds; compare at that precision.
        let modified = last_modified.and_then(whole_seconds);
        let failed = match (&self.if_match, &self.if_unmodified_since, &modified) {
            (Some(dto::ETagCondition::Any), _, _) => false,
            (Some(dto::ETagCondition::ETag(want)), _, _) => {
                !etag.is_some_and(|e| e.strong_cmp(want))
            }
            (None, Some(since), Some(modified)) => modified > since,
            _ => false,
        };
        if failed {
            return Err(s3s::S3Error::with_message(
                s3s::S3ErrorCode::PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold",
            ));
        }
        let not_modified = match (&self.if_none_match, &self.if_modified_since, &modified) {
            (Some(dto::ETagCondition::Any), _, _) => true,
            (Some(dto::ETagCondition::ETag(want)), _, _) => etag.is_some_and(|e| e.weak_cmp(want)),
            (None, Some(since), Some(modified)) => modified <= since,
            _ => false,
        };
        if not_modified {
            let mut err = s3s::S3Error::new(s3s::S3ErrorCode::NotModified);
            let mut headers = http::HeaderMap::new();
            if let Some(value) = etag.and_then(|e| e.to_http_header().ok()) {
                headers.insert(http::header::ETAG, value);
            }
            if let Some(value) = last_modified.and_then(http_date) {
                headers.insert(http::header::LAST_MODIFIED, value);
            }
            err.set_headers(headers);
            return Err(err);
        }
        Ok(())
    }
}

/// `time` as an HTTP date (whole seconds).
fn http_date(time: &dto::Timestamp) -> Option<http::HeaderValue> {
    let mut buf = Vec::new();
    time.format(dto::TimestampFormat::HttpDate, &mut buf).ok()?;
    http::HeaderValue::from_bytes(&buf).ok()
}

/// `time` without its fraction of a second (through its HTTP date, which truncates).
fn whole_seconds(time: &dto::Timestamp) -> Option<dto::Timestamp> {
    let mut buf = Vec::new();
    time.format(dto::TimestampFormat::HttpDate, &mut buf).ok()?;
    dto::Timestamp::parse(
        dto::TimestampFormat::HttpDate,
        std::str::from_utf8(&buf).ok()?,
    )
    .ok()
}

/// The most entries one listing page holds, as on S3.
const MAX_LIST: i32 = 1000;

impl Store {
    /// Whether `id` names an upload that is neither completed nor aborted.
    fn upload_is_open(&self, id: &str) -> bool {
        is_upload_id(id) && self.root.join(format!(".upload-{id}.json")).is_file()
    }
}

/// Upload ids are UUIDs; anything else cannot name an upload (nor a path).
fn is_upload_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

fn no_such_upload() -> s3s::S3Error {
    s3s::S3Error::with_message(
        s3s::S3ErrorCode::NoSuchUpload,
        "The specified multipart upload does not exist",
    )
}

/// Turns `s3s-fs`'s `500 InternalError` for a body that failed verification into the error
/// S3 gives: the cause is the request, and retrying it cannot help.
fn body_error(err: s3s::S3Error) -> s3s::S3Error {
    if *err.code() != s3s::S3ErrorCode::InternalError {
        return err;
    }
    let mut causes = String::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = match err.source() {
        Some(s) => Some(s),
        None => return err,
    };
    // Error chains are short; the bound only guards against a cycle.
    for _ in 0..16 {
        let Some(s) = source else { break };
        causes.push_str(&s.to_string());
        causes.push('\n');
        source = s.source();
    }
    let (code, status, message) = if causes.contains("Sha256Mismatch") {
        (
            s3s::S3ErrorCode::Custom("XAmzContentSHA256Mismatch".into()),
            http::StatusCode::BAD_REQUEST,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
    } else if causes.contains("AwsChunkedStreamError: SignatureMismatch") {
        (
            s3s::S3ErrorCode::SignatureDoesNotMatch,
            http::StatusCode::FORBIDDEN,
            "A chunk signature of the aws-chunked body does not match.",
        )
    } else if causes.contains("LengthMismatch")
        || causes.contains("Incomplete")
        || causes.contains("AwsChunkedStreamError: FormatError")
    {
        (
            s3s::S3ErrorCode::IncompleteBody,
            http::StatusCode::BAD_REQUEST,
            "The body does not match its declared length or aws-chunked framing.",
        )
    } else {
        return err;
    };
    tracing::debug!(%causes, "request body failed verification");
    let mut mapped = s3s::S3Error::with_message(code, message);
    mapped.set_status_code(status);
    mapped
}

/// Whether `dir` holds a file anywhere below it (empty sub-directories do not count: they
/// are what deleting `a/b` leaves behind).
fn holds_a_file(dir: &Path) -> bool {
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => pending.push(entry.path()),
                // Files, links, anything else: the bucket is not empty.
                _ => return true,
            }
        }
    }
    false
}

/// The lower-case hex MD5 of a file: `s3s-fs`'s ETag for a part.
fn file_md5_hex(path: &Path) -> io::Result<String> {
    use s3s::crypto::Checksum;
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut md5 = s3s::crypto::Md5::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
    }
    Ok(md5.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// One open multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OpenUpload {
    key: String,
    upload_id: String,
    initiated: std::time::SystemTime,
}

/// The open uploads of `bucket`, from `s3s-fs`'s records in `root`, in no particular order.
fn open_uploads(root: &Path, bucket: &str) -> io::Result<Vec<OpenUpload>> {
    let prefix = format!(".bucket-{}.object-", base64_url_encode(bucket.as_bytes()));
    let mut uploads = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(".metadata.json"))
        else {
            continue;
        };
        let Some((encoded_key, upload_id)) = rest.rsplit_once(".upload-") else {
            continue;
        };
        if !is_upload_id(upload_id) || !root.join(format!(".upload-{upload_id}.json")).is_file() {
            continue;
        }
        let Some(key) = base64_url_decode(encoded_key).and_then(|k| String::from_utf8(k).ok())
        else {
            continue;
        };
        let initiated = entry
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(std::time::UNIX_EPOCH);
        uploads.push(OpenUpload {
            key,
            upload_id: upload_id.to_owned(),
            initiated,
        });
    }
    Ok(uploads)
}

/// One page of ListMultipartUploads: prefix, delimiter, key and upload-id markers and
/// `max-uploads` as S3 applies them. Uploads are ordered by key, then upload id.
fn list_uploads_page(
    input: dto::ListMultipartUploadsInput,
    mut uploads: Vec<OpenUpload>,
) -> dto::ListMultipartUploadsOutput {
    let prefix = input.prefix.clone().unwrap_or_default();
    let delimiter = input.delimiter.clone().filter(|d| !d.is_empty());
    let key_marker = input.key_marker.clone().unwrap_or_default();
    let id_marker = input.upload_id_marker.clone().unwrap_or_default();
    let max = input.max_uploads.unwrap_or(MAX_LIST).clamp(0, MAX_LIST) as usize;

    uploads.retain(|u| u.key.starts_with(&prefix));
    uploads.retain(|u| {
        key_marker.is_empty()
            || u.key > key_marker
            || (u.key == key_marker && !id_marker.is_empty() && u.upload_id > id_marker)
    });
    uploads.sort_by(|a, b| (&a.key, &a.upload_id).cmp(&(&b.key, &b.upload_id)));

    let mut page = Vec::new();
    let mut common_prefixes: Vec<String> = Vec::new();
    let mut last: Option<(String, String)> = None;
    let mut truncated = false;
    for upload in uploads {
        let grouped = delimiter.as_deref().and_then(|d| {
            upload.key[prefix.len()..]
                .find(d)
                .map(|at| upload.key[..prefix.len() + at + d.len()].to_owned())
        });
        if let Some(common) = &grouped
            && common_prefixes.last() == Some(common)
        {
            continue;
        }
        if page.len() + common_prefixes.len() == max {
            truncated = true;
            break;
        }
        match grouped {
            Some(common) => {
                last = Some((common.clone(), String::new()));
                common_prefixes.push(common);
            }
            None => {
                last = Some((upload.key.clone(), upload.upload_id.clone()));
                page.push(dto::MultipartUpload {
                    key: Some(upload.key),
                    upload_id: Some(upload.upload_id),
                    initiated: Some(dto::Timestamp::from(upload.initiated)),
                    storage_class: Some(dto::StorageClass::from_static(
                        dto::StorageClass::STANDARD,
                    )),
                    ..Default::default()
                });
            }
        }
    }
    let (next_key_marker, next_upload_id_marker) = match (truncated, last) {
        (true, Some((key, id))) => (Some(key), Some(id).filter(|id| !id.is_empty())),
        _ => (None, None),
    };
    dto::ListMultipartUploadsOutput {
        bucket: Some(input.bucket),
        prefix: input.prefix,
        delimiter: input.delimiter,
        encoding_type: input.encoding_type,
        key_marker: input.key_marker,
        upload_id_marker: input.upload_id_marker,
        max_uploads: Some(max as i32),
        is_truncated: Some(truncated),
        next_key_marker,
        next_upload_id_marker,
        uploads: Some(page),
        common_prefixes: (!common_prefixes.is_empty()).then(|| {
            common_prefixes
                .into_iter()
                .map(|p| dto::CommonPrefix { prefix: Some(p) })
                .collect()
        }),
        ..Default::default()
    }
}

const BASE64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// URL-safe base64 without padding, as `s3s-fs` names its record files.
fn base64_url_encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(BASE64_URL[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

/// The inverse of [`base64_url_encode`]; `None` for text it could not have produced.
fn base64_url_decode(input: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in input.bytes() {
        let v = BASE64_URL.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be zero padding, and a lone 6-bit group is not valid.
    (acc == 0 && input.len() % 4 != 1).then_some(out)
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
        assert!(err.hint().unwrap().contains("mkdir -p"), "{:?}", err.hint());
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
    fn base64_url_round_trips_and_matches_the_standard_alphabet() {
        assert_eq!(base64_url_encode(b"photos"), "cGhvdG9z");
        assert_eq!(base64_url_encode(b"a"), "YQ");
        assert_eq!(base64_url_encode(b"ab"), "YWI");
        assert_eq!(base64_url_encode(&[0xfb, 0xff]), "-_8");
        for text in ["", "a", "ab", "abc", "dir/ça va?.jpg", "\u{1F600} emoji"] {
            let encoded = base64_url_encode(text.as_bytes());
            assert_eq!(
                base64_url_decode(&encoded).as_deref(),
                Some(text.as_bytes())
            );
        }
        assert_eq!(base64_url_decode("Y"), None);
        assert_eq!(base64_url_decode("a+b"), None);
    }

    fn upload(key: &str, id: &str) -> OpenUpload {
        OpenUpload {
            key: key.into(),
            upload_id: id.into(),
            initiated: std::time::UNIX_EPOCH,
        }
    }

    fn page_of(
        uploads: &[OpenUpload],
        edit: impl FnOnce(&mut dto::ListMultipartUploadsInput),
    ) -> dto::ListMultipartUploadsOutput {
        let mut input = dto::ListMultipartUploadsInput::builder()
            .bucket("b".to_owned())
            .build()
            .unwrap();
        edit(&mut input);
        list_uploads_page(input, uploads.to_vec())
    }

    #[test]
    fn upload_pages_follow_key_then_upload_id_markers() {
        let uploads = [
            upload("b", "2"),
            upload("a", "1"),
            upload("b", "1"),
            upload("c", "9"),
        ];
        let first = page_of(&uploads, |i| i.max_uploads = Some(2));
        let keys: Vec<_> = first
            .uploads
            .as_ref()
            .unwrap()
            .iter()
            .map(|u| (u.key.clone().unwrap(), u.upload_id.clone().unwrap()))
            .collect();
        assert_eq!(keys, [("a".into(), "1".into()), ("b".into(), "1".into())]);
        assert_eq!(first.is_truncated, Some(true));
        assert_eq!(first.next_key_marker.as_deref(), Some("b"));
        assert_eq!(first.next_upload_id_marker.as_deref(), Some("1"));
        let second = page_of(&uploads, |i| {
            i.max_uploads = Some(2);
            i.key_marker = Some("b".into());
            i.upload_id_marker = Some("1".into());
        });
        let keys: Vec<_> = second
            .uploads
            .as_ref()
            .unwrap()
            .iter()
            .map(|u| (u.key.clone().unwrap(), u.upload_id.clone().unwrap()))
            .collect();
        assert_eq!(keys, [("b".into(), "2".into()), ("c".into(), "9".into())]);
        assert_eq!(second.is_truncated, Some(false));
        assert_eq!(second.next_key_marker, None);
        // A key marker alone skips every upload of that key.
        let after_b = page_of(&uploads, |i| i.key_marker = Some("b".into()));
        assert_eq!(after_b.uploads.unwrap().len(), 1);
    }

    #[test]
    fn a_delimiter_groups_upload_keys_into_common_prefixes() {
        let uploads = [
            upload("logs/1", "1"),
            upload("logs/2", "2"),
            upload("top", "3"),
            upload("x/y/z", "4"),
        ];
        let page = page_of(&uploads, |i| i.delimiter = Some("/".into()));
        let prefixes: Vec<_> = page
            .common_prefixes
            .unwrap()
            .into_iter()
            .map(|p| p.prefix.unwrap())
            .collect();
        assert_eq!(prefixes, ["logs/", "x/"]);
        assert_eq!(page.uploads.unwrap().len(), 1);
        let under = page_of(&uploads, |i| {
            i.delimiter = Some("/".into());
            i.prefix = Some("x/".into());
        });
        let prefixes: Vec<_> = under
            .common_prefixes
            .unwrap()
            .into_iter()
            .map(|p| p.prefix.unwrap())
            .collect();
        assert_eq!(prefixes, ["x/y/"]);
    }

    #[test]
    fn body_verification_failures_become_client_errors() {
        #[derive(Debug)]
        struct Cause(&'static str);
        impl fmt::Display for Cause {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for Cause {}
        let internal = |cause: &'static str| {
            s3s::S3Error::with_source(s3s::S3ErrorCode::InternalError, Box::new(Cause(cause)))
        };
        let mapped = body_error(internal("UploadStreamError: Sha256Mismatch"));
        assert_eq!(mapped.code().as_str(), "XAmzContentSHA256Mismatch");
        assert_eq!(mapped.status_code(), Some(http::StatusCode::BAD_REQUEST));
        let mapped = body_error(internal("AwsChunkedStreamError: SignatureMismatch"));
        assert_eq!(*mapped.code(), s3s::S3ErrorCode::SignatureDoesNotMatch);
        let mapped = body_error(internal("UploadStreamError: LengthMismatch"));
        assert_eq!(*mapped.code(), s3s::S3ErrorCode::IncompleteBody);
        let disk_full = body_error(internal("No space left on device"));
        assert_eq!(*disk_full.code(), s3s::S3ErrorCode::InternalError);
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
