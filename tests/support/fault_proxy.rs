//! A fault-injecting HTTP/1.1 proxy, for reliability tests against a real S3 server.
//!
//! The proxy sits between a client and an upstream server. Requests are forwarded
//! byte-faithfully: the same method, path and query, every header (the `Host` header
//! included, unchanged: the client signed the `Host` it sent) and the body, streamed both
//! ways. Before forwarding, each request takes the next [`Fault`] from a queue (when the
//! queue is empty, [`Fault::Pass`]), and the fault decides what the client sees: the
//! upstream's answer as is, an S3 `<Error>` answered by the proxy itself, a response whose
//! body is cut short or has a bit flipped, a connection reset, or no answer at all.
//!
//! ```no_run
//! # async fn demo(upstream: std::net::SocketAddr) {
//! use ferry_tests::fault_proxy::{Fault, FaultProxy};
//! let proxy = FaultProxy::start(upstream).await;
//! proxy.push([Fault::slow_down(), Fault::TruncateBody { after_bytes: 1000 }]);
//! // point the client at proxy.url(): its first request gets a 503 SlowDown, its second a
//! // truncated body, every later one passes.
//! # }
//! ```
//!
//! Besides the queue, two kinds of timed trouble: [`FaultProxy::fault_window`] gives one
//! request in `n` a fault for a while (half the requests throttled for 5 s), and
//! [`FaultProxy::outage`] takes the "store" down for a while: connections are refused (the
//! listener is closed, then bound again on the same port) or reset, and every open
//! connection is broken, as when a server restarts.
//!
//! Everything is bounded: dropping the [`FaultProxy`] stops the listener and every
//! connection it holds (a [`Fault::Hang`] included), and each internal wait has a limit.

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, DATE, HeaderValue};
use http::request::Parts;
use http::{Request, Response, StatusCode, Uri};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

/// How long [`Fault::Hang`] holds a connection at most (dropping the proxy ends it sooner).
pub const HANG_LIMIT: Duration = Duration::from_secs(300);
/// How long the proxy waits for the upstream's response head (the whole request upload
/// included) before answering 502 itself.
pub const UPSTREAM_LIMIT: Duration = Duration::from_secs(600);
/// How long the proxy reads a request body that it will not forward before giving up on
/// the connection.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(120);
/// How long the proxy keeps trying to bind its port again after a refusing outage.
pub const REBIND_LIMIT: Duration = Duration::from_secs(10);

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type ProxyBody = BoxBody<Bytes, BoxError>;
type Filter = Arc<dyn Fn(&Parts) -> bool + Send + Sync>;

/// What the proxy does to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Forward as is.
    Pass,
    /// Do not forward: read the request, then answer an S3 XML `<Error>` with this status,
    /// `<Code>` and `<Message>` (with `x-amz-request-id` and `Date` headers), e.g. 503
    /// `SlowDown`.
    Status {
        /// The HTTP status.
        status: u16,
        /// The S3 error code, e.g. `SlowDown`.
        code: &'static str,
        /// The S3 error message.
        message: &'static str,
    },
    /// Forward, but cut the response body after `after_bytes` bytes and close the
    /// connection, so the declared `Content-Length` is not met. The client receives exactly
    /// the first `after_bytes` bytes of the body (its head intact), then end of stream. A
    /// body no longer than `after_bytes` passes whole.
    TruncateBody {
        /// How many bytes of the body reach the client.
        after_bytes: usize,
    },
    /// Do not forward: read the request (its body included), then reset the connection
    /// (TCP RST) without answering.
    ResetBeforeResponse,
    /// Do not forward: read the request (its body included), then never answer, holding the
    /// connection open until the proxy is dropped (at most [`HANG_LIMIT`]).
    Hang,
    /// Forward, but send the response body chunked (`Transfer-Encoding: chunked`), without
    /// its `Content-Length`, as some S3-compatible stores and proxies answer. The bytes are
    /// the same.
    Chunked,
    /// Forward, but flip the lowest bit of the response body's byte at `offset` (nothing
    /// changes when the body is shorter). The `Content-Length` and every header are kept.
    FlipByte {
        /// The offset of the byte to change, from the start of the body.
        offset: usize,
    },
    /// Do not forward: read the request, then answer 403 `RequestTimeTooSkewed` with a
    /// `Date` header (and `<ServerTime>`) `seconds` away from now (negative: in the past).
    SkewedDate {
        /// The server clock's offset from the real time.
        seconds: i64,
    },
    /// Do not forward: read the request, then answer `200 OK` with an S3 `<Error>` body of
    /// this `<Code>` and `<Message>`, as S3 may for CompleteMultipartUpload, CopyObject and
    /// UploadPartCopy when it fails after sending the status.
    OkWithError {
        /// The S3 error code, e.g. `InternalError`.
        code: &'static str,
        /// The S3 error message.
        message: &'static str,
    },
    /// Do not forward: read the request, then answer 503 `SlowDown` with a `Retry-After`
    /// header of `seconds`.
    SlowDownRetryAfter {
        /// The `Retry-After` value, in seconds.
        seconds: u64,
    },
    /// Forward, but after `after_bytes` bytes of the response body send nothing more,
    /// holding the connection open (at most [`HANG_LIMIT`]): a download whose bytes stop
    /// moving.
    StallResponse {
        /// How many bytes of the body reach the client.
        after_bytes: usize,
    },
    /// Forward the request as is, `millis` milliseconds late: a store that takes that long
    /// to answer (with [`FaultProxy::fault_window`], every request: S3's time to first byte).
    Delay {
        /// How late the request is forwarded.
        millis: u64,
    },
    /// Hold the request, then forward it as is: once [`FaultProxy::release_holds`] is
    /// called (at once if it was already), at most [`HANG_LIMIT`] later.
    Hold,
    /// Do not forward: read `after_bytes` bytes of the request body, then stop reading and
    /// never answer (at most [`HANG_LIMIT`]): an upload whose bytes stop moving once the
    /// socket buffers are full.
    StallRequest {
        /// How many bytes of the request body are read.
        after_bytes: usize,
    },
}

/// How the "store" is down during a [`FaultProxy::outage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// Nothing listens: connections are refused (`ECONNREFUSED`), as when the server process
    /// is gone.
    Refuse,
    /// Connections are accepted, then reset at once (TCP RST), as when a load balancer has
    /// no healthy backend.
    Reset,
}

impl Fault {
    /// 503 `SlowDown`, S3's throttling answer.
    pub fn slow_down() -> Fault {
        Fault::Status {
            status: 503,
            code: "SlowDown",
            message: "Please reduce your request rate.",
        }
    }

    /// 500 `InternalError`.
    pub fn internal_error() -> Fault {
        Fault::Status {
            status: 500,
            code: "InternalError",
            message: "We encountered an internal error. Please try again.",
        }
    }

    /// The fault's name, as [`FaultProxy::log`] reports it: `"Pass"`, `"Status"`,
    /// `"TruncateBody"`, `"ResetBeforeResponse"`, `"Hang"`, `"FlipByte"`, `"SkewedDate"`,
    /// `"OkWithError"`, `"SlowDownRetryAfter"`, `"StallResponse"`, `"StallRequest"`,
    /// `"Hold"`, `"Delay"` or `"Chunked"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Pass => "Pass",
            Fault::Status { .. } => "Status",
            Fault::TruncateBody { .. } => "TruncateBody",
            Fault::ResetBeforeResponse => "ResetBeforeResponse",
            Fault::Hang => "Hang",
            Fault::FlipByte { .. } => "FlipByte",
            Fault::SkewedDate { .. } => "SkewedDate",
            Fault::OkWithError { .. } => "OkWithError",
            Fault::SlowDownRetryAfter { .. } => "SlowDownRetryAfter",
            Fault::StallResponse { .. } => "StallResponse",
            Fault::StallRequest { .. } => "StallRequest",
            Fault::Hold => "Hold",
            Fault::Delay { .. } => "Delay",
            Fault::Chunked => "Chunked",
        }
    }
}

/// A running fault-injecting proxy on `127.0.0.1`. Dropping it stops it.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.shared.upstream)
            .field("pending", &lock(&self.shared.faults).len())
            .field("requests_seen", &self.requests_seen())
            .finish_non_exhaustive()
    }
}

impl FaultProxy {
    /// Starts a proxy on `127.0.0.1:0` forwarding to `upstream` (plain HTTP/1.1).
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("fault proxy binds 127.0.0.1:0");
        let addr = listener.local_addr().expect("fault proxy address");
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            // Forward the client's headers as they are: never add a Host of our own.
            .set_host(false)
            .build(HttpConnector::new());
        let shared = Arc::new(Shared {
            upstream,
            client,
            faults: Mutex::new(VecDeque::new()),
            filter: Mutex::new(None),
            seen: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
            window: Mutex::new(None),
            outage: Mutex::new(None),
            outage_begins: Notify::new(),
            outages_begun: AtomicUsize::new(0),
            released: AtomicBool::new(false),
            release: Notify::new(),
            answered: AtomicUsize::new(0),
        });
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        FaultProxy {
            addr,
            shared,
            accept,
        }
    }

    /// The address the proxy listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, for a client's endpoint.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The upstream the proxy forwards to.
    pub fn upstream(&self) -> SocketAddr {
        self.shared.upstream
    }

    /// Queues faults: each incoming request (that matches the filter, if one is set) takes
    /// the next one; when the queue is empty, requests pass.
    pub fn push(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.shared.faults).extend(faults);
    }

    /// How many queued faults no request has taken yet.
    pub fn pending(&self) -> usize {
        lock(&self.shared.faults).len()
    }

    /// Drops every queued fault.
    pub fn clear(&self) {
        lock(&self.shared.faults).clear();
    }

    /// From now on, only requests for which `filter` is true take faults; others pass
    /// (they are still counted and logged).
    pub fn set_filter(&self, filter: impl Fn(&Parts) -> bool + Send + Sync + 'static) {
        *lock(&self.shared.filter) = Some(Arc::new(filter));
    }

    /// Removes the filter: every request takes the next fault.
    pub fn clear_filter(&self) {
        *lock(&self.shared.filter) = None;
    }

    /// For `duration` from now, one request in `one_in` (that matches the filter, when the
    /// queue is empty) gets `fault`, the first one included; the others pass. Replaces any
    /// window still open. `one_in` of 2 throttles half the requests.
    pub fn fault_window(&self, duration: Duration, fault: Fault, one_in: usize) {
        *lock(&self.shared.window) = Some(Window {
            until: Instant::now() + duration,
            fault,
            one_in: one_in.max(1),
            matched: 0,
        });
    }

    /// How many requests a [`FaultProxy::fault_window`] has given its fault so far.
    pub fn window_faults(&self) -> usize {
        lock(&self.shared.window)
            .as_ref()
            .map_or(0, |w| w.matched.div_ceil(w.one_in))
    }

    /// Takes the "store" down for `duration` from now: every open connection is broken and
    /// new ones are refused or reset (`how`); then the proxy serves again on the same port.
    pub fn outage(&self, duration: Duration, how: Outage) {
        *lock(&self.shared.outage) = Some((Instant::now() + duration, how));
        self.shared.outage_begins.notify_one();
    }

    /// How many outages have taken effect (the listener was closed or started resetting).
    pub fn outages_begun(&self) -> usize {
        self.shared.outages_begun.load(Ordering::SeqCst)
    }

    /// Lets every [`Fault::Hold`] request go on, those held now and those to come.
    pub fn release_holds(&self) {
        self.shared.released.store(true, Ordering::SeqCst);
        self.shared.release.notify_waiters();
    }

    /// How many forwarded requests the upstream has answered (their heads received).
    pub fn answered(&self) -> usize {
        self.shared.answered.load(Ordering::SeqCst)
    }

    /// How many requests the proxy has received.
    pub fn requests_seen(&self) -> usize {
        self.shared.seen.load(Ordering::SeqCst)
    }

    /// Each request received, in order: its method, its path and query, and the name of the
    /// fault it got ([`Fault::kind`]).
    pub fn log(&self) -> Vec<(String, String, &'static str)> {
        lock(&self.shared.log).clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // The accept task owns every connection task (a JoinSet): aborting it ends them all.
        self.accept.abort();
    }
}

struct Shared {
    upstream: SocketAddr,
    client: Client<HttpConnector, Incoming>,
    faults: Mutex<VecDeque<Fault>>,
    filter: Mutex<Option<Filter>>,
    seen: AtomicUsize,
    log: Mutex<Vec<(String, String, &'static str)>>,
    window: Mutex<Option<Window>>,
    /// When the current outage ends, and how the store is down until then.
    outage: Mutex<Option<(Instant, Outage)>>,
    outage_begins: Notify,
    outages_begun: AtomicUsize,
    /// Whether [`Fault::Hold`] requests may go on.
    released: AtomicBool,
    release: Notify,
    /// Upstream answers received.
    answered: AtomicUsize,
}

/// A [`FaultProxy::fault_window`].
struct Window {
    until: Instant,
    fault: Fault,
    one_in: usize,
    /// Matching requests seen in the window.
    matched: usize,
}

impl Shared {
    /// The outage under way, if any.
    fn outage_now(&self) -> Option<(Instant, Outage)> {
        lock(&self.outage).filter(|(until, _)| Instant::now() < *until)
    }

    /// The window's fault for the next matching request, if a window is open and it is
    /// that request's turn.
    fn window_fault(&self) -> Option<Fault> {
        let mut window = lock(&self.window);
        let window = window.as_mut().filter(|w| Instant::now() < w.until)?;
        let turn = window.matched.is_multiple_of(window.one_in);
        window.matched += 1;
        turn.then(|| window.fault.clone())
    }

    /// Counts and logs a request and gives it its fault.
    fn take_fault(&self, parts: &Parts) -> (usize, Fault) {
        let number = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        let filter = lock(&self.filter).clone();
        let matches = filter.is_none_or(|filter| filter(parts));
        let fault = if matches {
            let queued = lock(&self.faults).pop_front();
            queued
                .or_else(|| self.window_fault())
                .unwrap_or(Fault::Pass)
        } else {
            Fault::Pass
        };
        lock(&self.log).push((
            parts.method.to_string(),
            path_and_query(&parts.uri),
            fault.kind(),
        ));
        (number, fault)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn path_and_query(uri: &Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned())
}

async fn accept_loop(mut listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    if shared.outage_now().is_some() {
                        // Down, resetting: a TCP RST instead of an answer.
                        let _ = stream.set_zero_linger();
                        drop(stream);
                        continue;
                    }
                    connections.spawn(serve_connection(stream, Arc::clone(&shared)));
                }
                // e.g. out of file descriptors: back off briefly rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = shared.outage_begins.notified() => {
                let Some((until, how)) = shared.outage_now() else { continue };
                // The store goes down: every open connection breaks.
                connections.abort_all();
                shared.outages_begun.fetch_add(1, Ordering::SeqCst);
                if how == Outage::Refuse {
                    let Ok(addr) = listener.local_addr() else { return };
                    drop(listener);
                    tokio::time::sleep_until(until.into()).await;
                    match rebind(addr).await {
                        Some(again) => listener = again,
                        None => return,
                    }
                }
            }
        }
    }
}

/// Binds `addr` again after a refusing outage, trying for at most [`REBIND_LIMIT`] (the
/// port may linger for a moment).
async fn rebind(addr: SocketAddr) -> Option<TcpListener> {
    let deadline = Instant::now() + REBIND_LIMIT;
    loop {
        match TcpListener::bind(addr).await {
            Ok(listener) => return Some(listener),
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(_) => return None,
        }
    }
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let conn = Arc::new(ConnState::default());
    let io = TokioIo::new(FaultIo {
        stream,
        conn: Arc::clone(&conn),
    });
    let service = service_fn(move |req| handle(req, Arc::clone(&shared), Arc::clone(&conn)));
    // Errors end the connection, which is what the faults want; nothing to report.
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(io, service)
        .await;
}

/// Why the proxy dropped a connection on purpose.
#[derive(Debug)]
struct Dropped(&'static str);

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fault proxy: {}", self.0)
    }
}

impl std::error::Error for Dropped {}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    conn: Arc<ConnState>,
) -> Result<Response<ProxyBody>, BoxError> {
    let (parts, body) = req.into_parts();
    let (number, fault) = shared.take_fault(&parts);
    match fault {
        Fault::Pass => forward(&shared, parts, body, &conn, BodyFault::None).await,
        Fault::TruncateBody { after_bytes } => {
            let mode = BodyFault::Truncate { after_bytes };
            forward(&shared, parts, body, &conn, mode).await
        }
        Fault::FlipByte { offset } => {
            forward(&shared, parts, body, &conn, BodyFault::Flip { offset }).await
        }
        Fault::Chunked => forward(&shared, parts, body, &conn, BodyFault::Chunked).await,
        Fault::StallResponse { after_bytes } => {
            forward(
                &shared,
                parts,
                body,
                &conn,
                BodyFault::Stall { after_bytes },
            )
            .await
        }
        Fault::StallRequest { after_bytes } => {
            let mut body = body;
            let mut read = 0;
            while read < after_bytes {
                match body.frame().await {
                    Some(Ok(frame)) => read += frame.data_ref().map_or(0, Bytes::len),
                    _ => break,
                }
            }
            // Stop reading: the client's writes back up once the socket buffers are full.
            tokio::time::sleep(HANG_LIMIT).await;
            drop(body);
            conn.reset_on_close.store(true, Ordering::SeqCst);
            Err(Dropped("stalled request limit reached").into())
        }
        Fault::Status {
            status,
            code,
            message,
        } => {
            drain(body, &conn).await?;
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let resource = parts.uri.path();
            let request_id = request_id(number);
            let xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><Resource>{}</Resource><RequestId>{request_id}</RequestId></Error>",
                xml_escape(code),
                xml_escape(message),
                xml_escape(resource),
            );
            Ok(error_response(status, &request_id, SystemTime::now(), xml))
        }
        Fault::SkewedDate { seconds } => {
            drain(body, &conn).await?;
            let now = SystemTime::now();
            let offset = Duration::from_secs(seconds.unsigned_abs());
            let skewed = if seconds >= 0 {
                now.checked_add(offset)
            } else {
                now.checked_sub(offset)
            }
            .unwrap_or(now);
            let request_time = parts
                .headers
                .get("x-amz-date")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let request_id = request_id(number);
            let xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the current time is too large.</Message><RequestTime>{}</RequestTime><ServerTime>{}</ServerTime><MaxAllowedTime>900000</MaxAllowedTime><RequestId>{request_id}</RequestId></Error>",
                xml_escape(request_time),
                ferry::time::format_utc(skewed),
            );
            Ok(error_response(
                StatusCode::FORBIDDEN,
                &request_id,
                skewed,
                xml,
            ))
        }
        Fault::OkWithError { code, message } => {
            drain(body, &conn).await?;
            let request_id = request_id(number);
            let xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n<Error><Code>{}</Code><Message>{}</Message><RequestId>{request_id}</RequestId></Error>",
                xml_escape(code),
                xml_escape(message),
            );
            Ok(error_response(
                StatusCode::OK,
                &request_id,
                SystemTime::now(),
                xml,
            ))
        }
        Fault::SlowDownRetryAfter { seconds } => {
            drain(body, &conn).await?;
            let request_id = request_id(number);
            let xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>{request_id}</RequestId></Error>",
            );
            let mut response = error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &request_id,
                SystemTime::now(),
                xml,
            );
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
            Ok(response)
        }
        Fault::ResetBeforeResponse => {
            drain(body, &conn).await?;
            conn.reset_on_close.store(true, Ordering::SeqCst);
            // A service error makes hyper close the connection without writing a response;
            // `reset_on_close` turns that close into a TCP RST.
            Err(Dropped("reset before response").into())
        }
        Fault::Delay { millis } => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            forward(&shared, parts, body, &conn, BodyFault::None).await
        }
        Fault::Hold => {
            let released = async {
                loop {
                    // Registered before the check, so a release in between is not missed.
                    let notified = shared.release.notified();
                    if shared.released.load(Ordering::SeqCst) {
                        return;
                    }
                    notified.await;
                }
            };
            let _ = tokio::time::timeout(HANG_LIMIT, released).await;
            forward(&shared, parts, body, &conn, BodyFault::None).await
        }
        Fault::Hang => {
            drain(body, &conn).await?;
            // Dropping the proxy aborts this task long before the limit, normally.
            tokio::time::sleep(HANG_LIMIT).await;
            conn.reset_on_close.store(true, Ordering::SeqCst);
            Err(Dropped("hang limit reached").into())
        }
    }
}

/// Reads and discards a request body that will not be forwarded, so the client finishes
/// sending and waits for the answer.
async fn drain(mut body: Incoming, conn: &ConnState) -> Result<(), BoxError> {
    let read_all = async {
        while let Some(frame) = body.frame().await {
            frame?;
        }
        Ok::<(), hyper::Error>(())
    };
    match tokio::time::timeout(DRAIN_LIMIT, read_all).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => {
            conn.reset_on_close.store(true, Ordering::SeqCst);
            Err(Dropped("request body not received in time").into())
        }
    }
}

async fn forward(
    shared: &Shared,
    mut parts: Parts,
    body: Incoming,
    conn: &Arc<ConnState>,
    mode: BodyFault,
) -> Result<Response<ProxyBody>, BoxError> {
    let target = format!("http://{}{}", shared.upstream, path_and_query(&parts.uri));
    parts.uri = target.parse()?;
    // Same method, headers (Host included) and body; HTTP/1.1 to the upstream.
    parts.version = http::Version::HTTP_11;
    let request = Request::from_parts(parts, body);
    let response = match tokio::time::timeout(UPSTREAM_LIMIT, shared.client.request(request)).await
    {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => return Ok(bad_gateway(&format!("upstream request failed: {e:?}"))),
        Err(_) => return Ok(bad_gateway("upstream did not answer in time")),
    };
    shared.answered.fetch_add(1, Ordering::SeqCst);
    let (mut parts, body) = response.into_parts();
    if let BodyFault::Chunked = mode {
        parts.headers.remove(CONTENT_LENGTH);
    }
    let body = FaultBody {
        inner: body,
        mode,
        position: 0,
        cut: false,
        conn: Arc::clone(conn),
    };
    Ok(Response::from_parts(parts, body.boxed()))
}

fn bad_gateway(why: &str) -> Response<ProxyBody> {
    let mut response = Response::new(full(Bytes::from(why.to_owned())));
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response
        .headers_mut()
        .insert("x-fault-proxy", HeaderValue::from_static("upstream-error"));
    response
}

fn error_response(
    status: StatusCode,
    request_id: &str,
    date: SystemTime,
    xml: String,
) -> Response<ProxyBody> {
    let length = xml.len();
    let mut response = Response::new(full(Bytes::from(xml)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("x-amz-request-id", value.clone());
        headers.insert("x-amz-id-2", value);
    }
    if let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(date)) {
        headers.insert(DATE, value);
    }
    headers.insert("server", HeaderValue::from_static("AmazonS3"));
    response
}

fn full(bytes: Bytes) -> ProxyBody {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

fn request_id(number: usize) -> String {
    format!("FAULTPROXY{number:010}")
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Per-connection state shared by the connection's IO and its response bodies.
#[derive(Default)]
struct ConnState {
    /// Close with a TCP RST (zero linger) instead of a FIN.
    reset_on_close: AtomicBool,
    /// Lets a truncating body wait until everything written before the cut reached the
    /// socket: hyper drops its write buffer unflushed when a body fails.
    gate: Mutex<FlushGate>,
}

#[derive(Default)]
struct FlushGate {
    armed: bool,
    flushed: bool,
    waker: Option<Waker>,
}

/// The accepted socket, watching flushes and resetting on close when asked.
struct FaultIo {
    stream: TcpStream,
    conn: Arc<ConnState>,
}

impl AsyncRead for FaultIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for FaultIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let flushed = Pin::new(&mut self.stream).poll_flush(cx);
        if flushed.is_ready() {
            // hyper flushes the socket only once its own write buffer is empty.
            let mut gate = lock(&self.conn.gate);
            if gate.armed && !gate.flushed {
                gate.flushed = true;
                if let Some(waker) = gate.waker.take() {
                    waker.wake();
                }
            }
        }
        flushed
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

impl Drop for FaultIo {
    fn drop(&mut self) {
        if self.conn.reset_on_close.load(Ordering::SeqCst) {
            let _ = self.stream.set_zero_linger();
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum BodyFault {
    None,
    Truncate {
        after_bytes: usize,
    },
    Flip {
        offset: usize,
    },
    Stall {
        after_bytes: usize,
    },
    /// No length announced: hyper then sends the body chunked.
    Chunked,
}

/// The upstream's response body, passed through a [`BodyFault`].
struct FaultBody {
    inner: Incoming,
    mode: BodyFault,
    /// Body bytes passed so far.
    position: usize,
    /// The truncation point was reached: fail once what came before is flushed.
    cut: bool,
    conn: Arc<ConnState>,
}

impl FaultBody {
    fn poll_cut(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut gate = lock(&self.conn.gate);
        if !gate.armed {
            gate.armed = true;
            gate.flushed = false;
        }
        if gate.flushed {
            Poll::Ready(Some(Err(Dropped("response body truncated").into())))
        } else {
            gate.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

impl Body for FaultBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.cut {
            return this.poll_cut(cx);
        }
        if let BodyFault::Stall { after_bytes } = this.mode
            && this.position >= after_bytes
        {
            // Stalled: the rest is never even read from upstream (reading it on each wake-up
            // and dropping it would end the body early, a truncation, not a stall).
            return Poll::Pending;
        }
        let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(Some(Ok(frame))) => frame,
        };
        let mut data = match frame.into_data() {
            Ok(data) => data,
            Err(frame) => return Poll::Ready(Some(Ok(frame))),
        };
        let start = this.position;
        this.position += data.len();
        match this.mode {
            BodyFault::None | BodyFault::Chunked => {}
            BodyFault::Truncate { after_bytes } => {
                if this.position > after_bytes {
                    data.truncate(after_bytes.saturating_sub(start));
                    this.cut = true;
                    if data.is_empty() {
                        return this.poll_cut(cx);
                    }
                }
            }
            BodyFault::Flip { offset } => {
                if (start..this.position).contains(&offset) {
                    let mut bytes = BytesMut::from(&data[..]);
                    bytes[offset - start] ^= 0x01;
                    data = bytes.freeze();
                }
            }
            BodyFault::Stall { after_bytes } => {
                // Nothing after `after_bytes` is ever sent; the proxy's drop ends the
                // connection.
                data.truncate(after_bytes.saturating_sub(start));
                this.position = start + data.len();
                if data.is_empty() {
                    return Poll::Pending;
                }
            }
        }
        Poll::Ready(Some(Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        !self.cut && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if let BodyFault::Chunked = self.mode {
            return SizeHint::default();
        }
        // The full length, even when truncating: it must agree with the forwarded
        // Content-Length, which the truncated body then fails to meet.
        self.inner.size_hint()
    }
}
