//! The S3 client: resolves where a request goes, signs it (again on every attempt), sends it
//! through the shared pooled connector, and retries what is worth retrying.

use super::error::S3Error;
use super::request::S3Request;
use crate::Advice;
use crate::credentials::{Credentials, CredentialsError, ProvideCredentials};
use crate::endpoint::{Endpoint, EndpointError};
use crate::http::retry::MAX_CORRUPTED_RETRIES;
use crate::http::{HttpClient, HttpError, RequestBody, Response, RetryReason, RetryState};
use crate::sign::{Payload, SignableRequest, Signer, SigningTime, sha256_hex};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

/// The largest error or XML answer read into memory.
pub(crate) const MAX_XML_BODY: usize = 64 * 1024 * 1024;

/// Attempts for a request whose connection is refused before the endpoint ever answered
/// this client (a wrong endpoint fails in about a second, not after the full horizon).
pub const FIRST_CONTACT_ATTEMPTS: u32 = 3;

/// How a successful answer is handed back.
#[derive(Debug, Clone, Copy)]
enum Read {
    /// As is, its body still to be read.
    Streamed,
    /// Read whole, and checked for an `<Error>` inside a `200 OK`.
    Checked,
}

/// What the attempts of one call left behind.
#[derive(Debug, Default)]
pub(crate) struct Attempts {
    /// A failed attempt may have been carried out by the store all the same: its request
    /// went out and no answer saying otherwise came back (a reset, a timeout, a 5xx).
    pub(crate) maybe_carried_out: bool,
}

/// Whether the store may have carried out a request whose attempt failed with `error`:
/// not when the connection was never made, nor when the store refused it (4xx, throttling).
fn may_have_been_carried_out(error: &Error) -> bool {
    match error {
        Error::Http {
            source: HttpError::Connect { .. },
            ..
        } => false,
        // A 5xx, or a 200 whose body is an error (CompleteMultipartUpload, copies).
        Error::Service(e) => {
            (e.status().is_server_error() || e.status().is_success()) && !e.is_throttling()
        }
        _ => true,
    }
}

/// A successful answer.
enum Answer {
    Streamed(Response),
    Collected {
        headers: http::HeaderMap,
        body: bytes::Bytes,
    },
}

/// Why an S3 call failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store answered with an error.
    #[error(transparent)]
    Service(#[from] Box<S3Error>),
    /// No HTTP answer (connect, timeout, broken connection), after the retries allowed.
    #[error("{operation} on {resource}: {source}")]
    Http {
        /// What was being done.
        operation: &'static str,
        /// `s3://bucket/key`.
        resource: String,
        /// The cause.
        source: HttpError,
    },
    /// Credentials could not be had.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The endpoint or bucket name is not usable.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// Temporary credentials have expired and their source cannot refresh them.
    #[error(
        "{operation} on {resource}: the temporary credentials {masked_key} {}; get new ones (e.g. `aws sts get-session-token`), or let ferry fetch and refresh them itself by assuming a role (or with a role profile)",
        match expired_at { Some(at) => format!("expired at {at}"), None => "have expired (the store answered ExpiredToken)".to_owned() }
    )]
    CredentialsExpired {
        /// What was being done.
        operation: &'static str,
        /// `s3://bucket/key`.
        resource: String,
        /// The access key id, masked.
        masked_key: String,
        /// When they expired (ISO 8601), when known.
        expired_at: Option<String>,
    },
    /// The store answered something that is not what S3 answers.
    #[error("{operation} on {resource}: unexpected answer: {message}")]
    Protocol {
        /// What was being done.
        operation: &'static str,
        /// `s3://bucket/key`.
        resource: String,
        /// What was wrong.
        message: String,
    },
}

impl Error {
    /// The S3 error, if the store answered with one.
    pub fn service(&self) -> Option<&S3Error> {
        match self {
            Self::Service(e) => Some(e),
            _ => None,
        }
    }

    /// What can be done about it, when the engine knows (a front end words it).
    pub fn advice(&self) -> Option<Advice> {
        match self {
            Self::Service(e) => e.advice(),
            Self::Endpoint(EndpointError::InvalidBucket { .. }) => Some(Advice::BucketNameRules),
            Self::Credentials(error) => Some(error.advice()),
            Self::Http { source, .. } => Some(match source {
                HttpError::Connect { .. } => Advice::CheckEndpointReachable,
                HttpError::Timeout { .. } => Advice::StoreNotAnswering,
                HttpError::CaBundle { .. } | HttpError::Tls { .. } => Advice::CheckCaBundle,
                _ => return None,
            }),
            _ => None,
        }
    }

    /// The error, noting that the request was sent `attempts` times.
    fn after_attempts(self, attempts: u32) -> Self {
        match self {
            Self::Service(e) => Self::Service(Box::new(e.with_attempts(attempts))),
            other => other,
        }
    }

    /// Why this failure may be retried, if it may. `has_body`: the request carried a
    /// (replayable) body, which a checksum mismatch says was corrupted on the way.
    fn retry_reason(&self, has_body: bool) -> Option<RetryReason> {
        match self {
            Self::Service(e) if e.is_clock_skew() => Some(RetryReason::ClockSkew),
            Self::Service(e) if has_body && e.is_checksum_mismatch() => {
                Some(RetryReason::Corrupted)
            }
            Self::Service(e) if e.is_throttling() => Some(RetryReason::Throttled),
            Self::Service(e) if e.is_retryable() => Some(RetryReason::Transient),
            Self::Http { source, .. } => source.retry_reason(),
            _ => None,
        }
    }
}

/// The error for credentials that expired and cannot be refreshed.
fn expired(operation: &'static str, request: &S3Request, credentials: &Credentials) -> Error {
    Error::CredentialsExpired {
        operation,
        resource: resource(request.bucket.as_deref(), request.key.as_deref()),
        masked_key: credentials.masked_access_key_id(),
        expired_at: credentials.expiry().map(crate::time::format_utc),
    }
}

/// `s3://bucket/key` for messages.
pub(crate) fn resource(bucket: Option<&str>, key: Option<&str>) -> String {
    match (bucket, key) {
        (Some(b), Some(k)) => format!("s3://{b}/{k}"),
        (Some(b), None) => format!("s3://{b}"),
        _ => "the endpoint".into(),
    }
}

/// A client for one endpoint and one set of credentials. Cheap to clone; all clones share
/// the connection pool, the adaptive send rate and the clock correction.
#[derive(Debug, Clone)]
pub struct S3Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: HttpClient,
    endpoint: Endpoint,
    signer: Signer,
    credentials: Arc<dyn ProvideCredentials>,
    retry: RetryState,
    clock_offset_seconds: AtomicI64,
    /// The endpoint has answered at least one request of this client.
    answered: AtomicBool,
}

impl S3Client {
    /// A client sending to `endpoint` with `credentials`, through `http`.
    pub fn new(
        http: HttpClient,
        endpoint: Endpoint,
        credentials: Arc<dyn ProvideCredentials>,
        retry: RetryState,
    ) -> Self {
        let signer = Signer::s3(endpoint.signing_region());
        Self {
            inner: Arc::new(Inner {
                http,
                endpoint,
                signer,
                credentials,
                retry,
                clock_offset_seconds: AtomicI64::new(0),
                answered: AtomicBool::new(false),
            }),
        }
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// The requests in flight this client's connection pool is sized for.
    pub fn max_connections(&self) -> usize {
        self.inner.http.max_connections()
    }

    /// The retry policy and adaptive send rate shared by this client's requests.
    pub fn retry_state(&self) -> &RetryState {
        &self.inner.retry
    }

    /// A presigned GET URL for `bucket`/`key`, valid for `expires_in` (1 s to 7 days). Fails
    /// for anonymous clients: there is nothing to sign with.
    pub async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires_in: Duration,
    ) -> Result<String, Error> {
        let target = self.inner.endpoint.target(Some(bucket), Some(key))?;
        let credentials =
            self.inner
                .credentials
                .provide()
                .await?
                .ok_or_else(|| Error::Protocol {
                    operation: "presigning",
                    resource: resource(Some(bucket), Some(key)),
                    message: "anonymous requests cannot be presigned: a presigned URL carries a \
                              signature, which needs credentials"
                        .into(),
                })?;
        let query = self
            .inner
            .signer
            .presign(
                &credentials,
                &SignableRequest {
                    method: "GET",
                    path: target.path(),
                    query: &[],
                    headers: &[("host", target.host())],
                    payload: Payload::Unsigned,
                },
                self.signing_time(),
                expires_in,
            )
            .map_err(|e| Error::Protocol {
                operation: "presigning",
                resource: resource(Some(bucket), Some(key)),
                message: e.to_string(),
            })?;
        Ok(format!("{}?{query}", target.url()))
    }

    /// Retries made so far by this client and its clones.
    pub fn retries(&self) -> u64 {
        self.inner.retry.retries()
    }

    /// The correction applied to the local clock after a `RequestTimeTooSkewed`, in seconds.
    pub fn clock_offset(&self) -> i64 {
        self.inner.clock_offset_seconds.load(Ordering::Relaxed)
    }

    /// Sends `request`, retrying what may be retried, and returns a successful response
    /// (2xx) with its body still to be read.
    /// A streamed body cannot be replayed, so such a request gets one attempt; the caller
    /// (the transfer layer) retries the part.
    pub async fn send(
        &self,
        operation: &'static str,
        request: S3Request,
    ) -> Result<Response, Error> {
        self.send_noting(operation, request, &mut Attempts::default())
            .await
    }

    /// [`Self::send`], noting in `attempts` whether a failed attempt may have been carried
    /// out by the store all the same (its answer lost): what a call that is not idempotent,
    /// like CreateMultipartUpload, needs to know.
    pub(crate) async fn send_noting(
        &self,
        operation: &'static str,
        request: S3Request,
        attempts: &mut Attempts,
    ) -> Result<Response, Error> {
        match self
            .send_with(operation, request, Read::Streamed, attempts)
            .await?
        {
            Answer::Streamed(response) => Ok(response),
            Answer::Collected { .. } => unreachable!("a streamed answer was asked for"),
        }
    }

    /// Sends `request` and reads its (small, XML) answer whole. For the operations that may
    /// answer `200 OK` with an `<Error>` body (CompleteMultipartUpload, CopyObject,
    /// UploadPartCopy): such an answer is an error, retried like the same error with an
    /// error status would be (`InternalError`, `SlowDown`, … are; they are idempotent for the
    /// same upload id or the same copy). A body that breaks while read is retried too.
    pub async fn send_checked(
        &self,
        operation: &'static str,
        request: S3Request,
    ) -> Result<(http::HeaderMap, bytes::Bytes), Error> {
        self.send_checked_noting(operation, request, &mut Attempts::default())
            .await
    }

    /// [`Self::send_checked`], noting in `attempts` whether a failed attempt may have been
    /// carried out all the same (see [`Self::send_noting`]).
    pub(crate) async fn send_checked_noting(
        &self,
        operation: &'static str,
        request: S3Request,
        attempts: &mut Attempts,
    ) -> Result<(http::HeaderMap, bytes::Bytes), Error> {
        match self
            .send_with(operation, request, Read::Checked, attempts)
            .await?
        {
            Answer::Collected { headers, body } => Ok((headers, body)),
            Answer::Streamed(_) => unreachable!("a collected answer was asked for"),
        }
    }

    /// The retry loop. Each attempt takes a send token (the adaptive rate), is signed anew,
    /// and its failure is classified: what may succeed later is retried within the
    /// per-request attempts ([`crate::http::RetryConfig`]), the rest is returned at once.
    async fn send_with(
        &self,
        operation: &'static str,
        mut request: S3Request,
        read: Read,
        attempts: &mut Attempts,
    ) -> Result<Answer, Error> {
        let retry = &self.inner.retry;
        let mut attempt = 1;
        let mut corrupted = 0;
        let mut refreshed = false;
        loop {
            let credentials = self.credentials(operation, &request).await?;
            let Some(body) = request.body.try_clone() else {
                let stream = std::mem::replace(&mut request.body, RequestBody::empty());
                retry.acquire().await;
                let result = self
                    .send_once(operation, &request, stream, credentials.as_ref(), read)
                    .await;
                self.note_answer(&result);
                return result;
            };
            let has_body = !body.is_empty();
            retry.acquire().await;
            let result = self
                .send_once(operation, &request, body, credentials.as_ref(), read)
                .await;
            self.note_answer(&result);
            let error = match result {
                Ok(answer) => return Ok(answer),
                Err(error) => error,
            };
            if let Some(credentials) = &credentials
                && error.service().is_some_and(S3Error::is_expired_token)
            {
                if !refreshed && self.inner.credentials.invalidate(credentials.generation()) {
                    tracing::debug!(
                        operation,
                        "credentials expired; refreshing them and trying once more"
                    );
                    refreshed = true;
                    continue;
                }
                return Err(expired(operation, &request, credentials));
            }
            let Some(reason) = error.retry_reason(has_body) else {
                return Err(error.after_attempts(attempt));
            };
            if reason == RetryReason::Corrupted {
                corrupted += 1;
                if corrupted > MAX_CORRUPTED_RETRIES {
                    return Err(error.after_attempts(attempt));
                }
            }
            if self.never_reached(&error) && attempt >= FIRST_CONTACT_ATTEMPTS {
                return Err(error.after_attempts(attempt));
            }
            attempts.maybe_carried_out |= may_have_been_carried_out(&error);
            let retry_after = error.service().and_then(S3Error::retry_after);
            tracing::debug!(operation, attempt, ?reason, error = %error, "retrying after backoff");
            if !retry.backoff_after(attempt, reason, retry_after).await {
                return Err(error.after_attempts(attempt));
            }
            attempt += 1;
        }
    }

    /// Feeds an attempt's outcome to the adaptive send rate: answers count (throttling ones
    /// as throttles), connection failures do not. Anything but a failure to connect shows
    /// the endpoint exists.
    fn note_answer(&self, result: &Result<Answer, Error>) {
        let throttled = match result {
            Ok(_) => false,
            Err(Error::Service(e)) => e.is_throttling(),
            Err(Error::Http {
                source: HttpError::Connect { .. },
                ..
            }) => return,
            Err(Error::Http { .. }) => {
                // Connected, then broken off: the endpoint is there (a store restarting
                // breaks the connections it had), so later refusals get the full horizon.
                self.inner.answered.store(true, Ordering::Relaxed);
                return;
            }
            Err(_) => return,
        };
        self.inner.answered.store(true, Ordering::Relaxed);
        self.inner.retry.on_answer(throttled);
    }

    /// A connection could not be made to an endpoint that has never answered this client:
    /// most likely a wrong `--endpoint-url` or a store that is not running, rather than one
    /// restarting. Such a failure gets [`FIRST_CONTACT_ATTEMPTS`], not the full horizon.
    fn never_reached(&self, error: &Error) -> bool {
        matches!(
            error,
            Error::Http {
                source: HttpError::Connect { .. },
                ..
            }
        ) && !self.inner.answered.load(Ordering::Relaxed)
    }

    /// The credentials to sign with. Credentials past their expiry are refreshed when their
    /// source can; otherwise the request fails here, without being sent.
    async fn credentials(
        &self,
        operation: &'static str,
        request: &S3Request,
    ) -> Result<Option<Credentials>, Error> {
        let provider = &self.inner.credentials;
        let credentials = provider.provide().await?;
        let Some(current) = &credentials else {
            return Ok(None);
        };
        if current.expiry().is_none_or(|at| at > SystemTime::now()) {
            return Ok(credentials);
        }
        if provider.invalidate(current.generation()) {
            return Ok(provider.provide().await?);
        }
        Err(expired(operation, request, current))
    }

    async fn send_once(
        &self,
        operation: &'static str,
        request: &S3Request,
        body: crate::http::RequestBody,
        credentials: Option<&Credentials>,
        read: Read,
    ) -> Result<Answer, Error> {
        let bucket = request.bucket.as_deref();
        let key = request.key.as_deref();
        let http_request = self.build(request, body, credentials)?;
        let response = self
            .inner
            .http
            .send(http_request)
            .await
            .map_err(|source| Error::Http {
                operation,
                resource: resource(bucket, key),
                source,
            })?;
        if response.status.is_success() {
            return match read {
                Read::Streamed => Ok(Answer::Streamed(response)),
                Read::Checked => self.checked(operation, request, response).await,
            };
        }
        let error = self.service_error(operation, request, response).await;
        Err(match error {
            Error::Service(e) => Error::Service(Box::new(e.with_anonymous(credentials.is_none()))),
            other => other,
        })
    }

    /// Reads a successful answer whole; an `<Error>` inside it is an error.
    async fn checked(
        &self,
        operation: &'static str,
        request: &S3Request,
        response: Response,
    ) -> Result<Answer, Error> {
        let (bucket, key) = (request.bucket.as_deref(), request.key.as_deref());
        let status = response.status;
        let (headers, body) = super::ops::read_body(response, operation, bucket, key).await?;
        match S3Error::from_success_body(status, &headers, &body) {
            Some(error) => Err(Error::Service(Box::new(
                error.with_operation(operation).with_resource(bucket, key),
            ))),
            None => Ok(Answer::Collected { headers, body }),
        }
    }

    async fn service_error(
        &self,
        operation: &'static str,
        request: &S3Request,
        response: Response,
    ) -> Error {
        let status = response.status;
        let headers = response.headers;
        let body = match response.body.collect(MAX_XML_BODY).await {
            Ok(body) => body,
            Err(source) => {
                return Error::Http {
                    operation,
                    resource: resource(request.bucket.as_deref(), request.key.as_deref()),
                    source,
                };
            }
        };
        let error = S3Error::from_response(status, &headers, &body)
            .with_operation(operation)
            .with_resource(request.bucket.as_deref(), request.key.as_deref());
        if error.is_clock_skew() {
            self.correct_clock(&headers);
        }
        Error::Service(Box::new(error))
    }

    /// Sets the clock offset from the server's `Date` header.
    fn correct_clock(&self, headers: &http::HeaderMap) {
        let Some(server) = headers
            .get(http::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::time::parse_http_date)
        else {
            return;
        };
        let offset = match server.duration_since(SystemTime::now()) {
            Ok(ahead) => ahead.as_secs() as i64,
            Err(behind) => -(behind.duration().as_secs() as i64),
        };
        tracing::debug!(offset, "correcting the signing clock to the server's");
        self.inner
            .clock_offset_seconds
            .store(offset, Ordering::Relaxed);
    }

    fn signing_time(&self) -> SigningTime {
        let offset = self.clock_offset();
        let now = SystemTime::now();
        let adjusted = if offset >= 0 {
            now + Duration::from_secs(offset as u64)
        } else {
            now - Duration::from_secs(offset.unsigned_abs())
        };
        SigningTime::from_system_time(adjusted)
    }

    /// Builds and signs the HTTP request.
    fn build(
        &self,
        request: &S3Request,
        body: crate::http::RequestBody,
        credentials: Option<&Credentials>,
    ) -> Result<http::Request<crate::http::RequestBody>, Error> {
        let target = self
            .inner
            .endpoint
            .target(request.bucket.as_deref(), request.key.as_deref())?;
        let mut uri = String::with_capacity(target.base().len() + target.path().len() + 64);
        uri.push_str(target.base());
        uri.push_str(target.path());
        for (i, (name, value)) in request.query.iter().enumerate() {
            uri.push(if i == 0 { '?' } else { '&' });
            uri.push_str(name);
            uri.push('=');
            uri.push_str(value);
        }
        let mut builder = http::Request::builder()
            .method(request.method.clone())
            .uri(uri)
            .header(http::header::HOST, target.host())
            .header(http::header::CONTENT_LENGTH, body.len());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_ref(), value.as_str());
        }
        // A body sent aws-chunked, its checksum trailing it: the headers that say so.
        let framing: Vec<(&str, String)> = match body.aws_chunked() {
            Some((algorithm, decoded)) => vec![
                ("content-encoding", "aws-chunked".into()),
                ("x-amz-decoded-content-length", decoded.to_string()),
                ("x-amz-sdk-checksum-algorithm", algorithm.s3_name().into()),
                ("x-amz-trailer", algorithm.header_name().into()),
            ],
            None => Vec::new(),
        };
        for (name, value) in &framing {
            builder = builder.header(*name, value.as_str());
        }
        if credentials.is_none() && !framing.is_empty() {
            builder = builder.header(
                "x-amz-content-sha256",
                Payload::StreamingUnsignedTrailer.as_str(),
            );
        }
        if let Some(credentials) = credentials {
            let digest = request.sign_body.then(|| body_sha256(&body));
            let payload = match &digest {
                Some(hex) => Payload::Sha256Hex(hex.as_str()),
                None if !framing.is_empty() => Payload::StreamingUnsignedTrailer,
                None => Payload::Unsigned,
            };
            let time = self.signing_time();
            let length = body.len().to_string();
            let mut signed: Vec<(&str, &str)> = Vec::with_capacity(request.headers.len() + 2);
            signed.push(("host", target.host()));
            signed.push(("content-length", &length));
            signed.extend(
                request
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_ref(), v.as_str())),
            );
            signed.extend(framing.iter().map(|(n, v)| (*n, v.as_str())));
            let query: Vec<(&str, &str)> = request
                .query
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let signature = self.inner.signer.sign_headers(
                credentials,
                &SignableRequest {
                    method: request.method.as_str(),
                    path: target.path(),
                    query: &query,
                    headers: &signed,
                    payload,
                },
                time,
            );
            builder = builder
                .header("x-amz-date", time.amz_date())
                .header("x-amz-content-sha256", payload.as_str())
                .header(http::header::AUTHORIZATION, signature.into_authorization());
            if let Some(token) = credentials.session_token() {
                builder = builder.header("x-amz-security-token", token);
            }
        }
        builder.body(body).map_err(|e| Error::Protocol {
            operation: "building the request",
            resource: resource(request.bucket.as_deref(), request.key.as_deref()),
            message: e.to_string(),
        })
    }
}

fn body_sha256(body: &crate::http::RequestBody) -> crate::sign::HexDigest {
    sha256_hex(body.peek_bytes().unwrap_or_default())
}
