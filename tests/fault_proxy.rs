//! The fault-injecting proxy (`ferry_tests::fault_proxy`) against a trivial upstream.
//!
//! The upstream is a tiny hyper server started per test: it serves a fixed 100 KB body,
//! echoes request bodies back, and reports what it received (method, path and query, every
//! header) as `x-echo-*` response headers, so the tests can prove that the proxy forwards
//! byte-faithfully and that each fault does what it says.
//!
//! Every request and every wait is bounded by a timeout.

use bytes::Bytes;
use ferry_tests::fault_proxy::{Fault, FaultProxy, Outage};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio::task::{JoinHandle, JoinSet};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type TestBody = BoxBody<Bytes, BoxError>;
type TestClient = Client<HttpConnector, TestBody>;

/// Any single request (and reading its answer) must finish within this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Any other wait (a signal from the upstream, a connection closing) must end within this.
const WAIT: Duration = Duration::from_secs(10);
/// The size of the upstream's fixed object.
const OBJECT_LEN: usize = 100 * 1024;
/// A Host header unlike the proxy's or the upstream's address, as a client that signed a
/// virtual-hosted-style request would send it.
const SIGNED_HOST: &str = "bucket.s3.ferry.test:9000";

/// The upstream's fixed object: a pattern that makes any shifted or changed byte visible.
fn object() -> Bytes {
    (0..OBJECT_LEN)
        .map(|i| (i * 7 % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}

/// Deterministic bytes for uploads.
fn payload(len: usize) -> Bytes {
    (0..len)
        .map(|i| ((i * 31 + i / 1000) % 256) as u8)
        .collect::<Vec<u8>>()
        .into()
}

// ---------------------------------------------------------------------------------------
// The upstream

/// A tiny HTTP/1.1 server on `127.0.0.1:0`.
///
/// - `GET /drip`: sends `first`, then waits for `release` before sending `second`.
/// - `PUT /stream-in`: signals `first_bytes` as soon as the first body bytes arrive, reads
///   the rest, answers the total length.
/// - any other `PUT`/`POST`: echoes the body back.
/// - anything else: the fixed 100 KB object.
///
/// Every answer carries `x-echo-method`, `x-echo-uri` and `x-echo-<name>` for each request
/// header.
struct Upstream {
    addr: SocketAddr,
    state: Arc<UpstreamState>,
    accept: JoinHandle<()>,
}

#[derive(Default)]
struct UpstreamState {
    requests: AtomicUsize,
    release: Notify,
    first_bytes: Notify,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Upstream {
    async fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("upstream binds");
        let addr = listener.local_addr().expect("upstream address");
        let state = Arc::new(UpstreamState::default());
        let shared = Arc::clone(&state);
        let accept = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&shared);
                connections.spawn(async move {
                    let service = service_fn(move |req| upstream_handle(req, Arc::clone(&state)));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Upstream {
            addr,
            state,
            accept,
        }
    }

    fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }
}

async fn upstream_handle(
    req: Request<Incoming>,
    state: Arc<UpstreamState>,
) -> Result<Response<TestBody>, BoxError> {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let (parts, mut body) = req.into_parts();
    let mut echo = HeaderMap::new();
    echo.insert("x-echo-method", parts.method.as_str().parse()?);
    echo.insert(
        "x-echo-uri",
        parts
            .uri
            .path_and_query()
            .map_or("", |pq| pq.as_str())
            .parse()?,
    );
    for (name, value) in &parts.headers {
        echo.append(
            http::HeaderName::from_bytes(format!("x-echo-{name}").as_bytes())?,
            value.clone(),
        );
    }
    let path = parts.uri.path();
    let mut response = if parts.method == Method::PUT && path == "/stream-in" {
        let mut total = 0;
        let mut signalled = false;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                total += data.len();
                if !signalled && total > 0 {
                    state.first_bytes.notify_one();
                    signalled = true;
                }
            }
        }
        Response::new(boxed(Full::new(Bytes::from(total.to_string()))))
    } else if parts.method == Method::PUT || parts.method == Method::POST {
        let mut response = Response::new(body.map_err(BoxError::from).boxed());
        if let Some(length) = parts.headers.get(http::header::CONTENT_LENGTH) {
            response
                .headers_mut()
                .insert(http::header::CONTENT_LENGTH, length.clone());
        }
        response
    } else if path == "/drip" {
        let (tx, rx) = mpsc::channel(2);
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let _ = tx.send(Bytes::from_static(b"first")).await;
            if tokio::time::timeout(WAIT, state.release.notified())
                .await
                .is_ok()
            {
                let _ = tx.send(Bytes::from_static(b"second")).await;
            }
        });
        Response::new(ChannelBody(rx).boxed())
    } else {
        Response::new(boxed(Full::new(object())))
    };
    response.headers_mut().extend(echo);
    Ok(response)
}

fn boxed(body: Full<Bytes>) -> TestBody {
    body.map_err(|never| match never {}).boxed()
}

/// A body fed through a channel; it ends when the sender is dropped.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|data| Ok(Frame::data(data))))
    }
}

// ---------------------------------------------------------------------------------------
// The client side

fn client() -> TestClient {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

fn request(proxy: &FaultProxy, method: Method, path: &str, body: Bytes) -> Request<TestBody> {
    Request::builder()
        .method(method)
        .uri(format!("{}{path}", proxy.url()))
        .header(http::header::HOST, SIGNED_HOST)
        .header("x-amz-date", "20250102T030405Z")
        .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20250102/us-east-1/s3/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0123abcd",
        )
        .header("x-amz-meta-note", "  spaced  value ")
        .body(boxed(Full::new(body)))
        .expect("a request")
}

async fn send(
    client: &TestClient,
    req: Request<TestBody>,
) -> Result<Response<Incoming>, hyper_util::client::legacy::Error> {
    tokio::time::timeout(REQUEST_TIMEOUT, client.request(req))
        .await
        .expect("the proxy answers (or fails) in time")
}

/// An answer, read whole.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("header {name} in {:?}", self.headers))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn fetch(client: &TestClient, req: Request<TestBody>) -> Reply {
    let response = send(client, req).await.expect("a response");
    let (parts, body) = response.into_parts();
    let body = tokio::time::timeout(REQUEST_TIMEOUT, body.collect())
        .await
        .expect("the body in time")
        .expect("a whole body")
        .to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// Reads a body frame by frame: what arrived, and the error that ended it, if one did.
async fn read_body(mut body: Incoming) -> (Vec<u8>, Option<hyper::Error>) {
    let mut received = Vec::new();
    let read = async {
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data() {
                        received.extend_from_slice(&data);
                    }
                }
                Err(e) => return Some(e),
            }
        }
        None
    };
    let error = tokio::time::timeout(REQUEST_TIMEOUT, read)
        .await
        .expect("the body ends in time");
    (received, error)
}

/// Whether an error (or one of its sources) says the connection closed or was reset
/// before a complete message arrived.
fn is_connection_error(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(e) = e.downcast_ref::<hyper::Error>()
            && (e.is_incomplete_message() || e.is_closed())
        {
            return true;
        }
        if let Some(e) = e.downcast_ref::<std::io::Error>()
            && matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            )
        {
            return true;
        }
        current = e.source();
    }
    false
}

/// The text between `<tag>` and `</tag>`.
fn xml_value(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(xml[start..end].to_owned())
}

async fn setup() -> (Upstream, FaultProxy, TestClient) {
    let upstream = Upstream::start().await;
    let proxy = FaultProxy::start(upstream.addr).await;
    (upstream, proxy, client())
}

// ---------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn pass_forwards_method_path_query_headers_and_body_byte_exact_with_host_unchanged() {
    let (upstream, proxy, client) = setup().await;

    let path = "/bucket/key%20with%2Fslash?versionId=3&x-id=GetObject&empty=";
    let reply = fetch(&client, request(&proxy, Method::GET, path, Bytes::new())).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, object());
    assert_eq!(reply.header("content-length"), OBJECT_LEN.to_string());
    assert_eq!(reply.header("x-echo-method"), "GET");
    assert_eq!(reply.header("x-echo-uri"), path);
    assert_eq!(
        reply.header("x-echo-host"),
        SIGNED_HOST,
        "Host is forwarded unchanged"
    );
    assert_eq!(reply.header("x-echo-x-amz-date"), "20250102T030405Z");
    assert!(
        reply
            .header("x-echo-authorization")
            .ends_with("Signature=0123abcd")
    );
    // Leading and trailing whitespace is not part of a field value (RFC 9110, and SigV4
    // trims it too): every HTTP/1.1 parser drops it. Inner whitespace is kept.
    assert_eq!(reply.header("x-echo-x-amz-meta-note"), "spaced  value");

    let upload = payload(16 * 1024 * 1024 + 3);
    let reply = fetch(
        &client,
        request(&proxy, Method::PUT, "/bucket/big", upload.clone()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("x-echo-host"), SIGNED_HOST);
    assert_eq!(
        reply.header("x-echo-content-length"),
        upload.len().to_string()
    );
    assert!(reply.body == upload, "the echoed upload differs");

    assert_eq!(upstream.requests(), 2);
    assert_eq!(proxy.requests_seen(), 2);
    assert_eq!(
        proxy.log(),
        vec![
            ("GET".to_owned(), path.to_owned(), "Pass"),
            ("PUT".to_owned(), "/bucket/big".to_owned(), "Pass"),
        ]
    );
}

#[tokio::test]
async fn bodies_stream_through_both_ways_without_being_buffered_whole() {
    let (upstream, proxy, client) = setup().await;

    // Response side: the client sees `first` while the upstream still withholds the rest.
    let response = send(&client, request(&proxy, Method::GET, "/drip", Bytes::new()))
        .await
        .expect("a response");
    let mut body = response.into_body();
    let first = tokio::time::timeout(WAIT, body.frame())
        .await
        .expect("the first chunk arrives before the upstream finishes")
        .expect("a frame")
        .expect("data")
        .into_data()
        .expect("data frame");
    assert_eq!(&first[..], b"first");
    upstream.state.release.notify_one();
    let (rest, error) = read_body(body).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(rest, b"second");

    // Request side: the upstream sees the first bytes while the client still withholds the
    // rest of the upload.
    let (tx, rx) = mpsc::channel(4);
    let req = Request::builder()
        .method(Method::PUT)
        .uri(format!("{}/stream-in", proxy.url()))
        .header(http::header::HOST, SIGNED_HOST)
        .body(ChannelBody(rx).boxed())
        .expect("a request");
    let pending = tokio::spawn({
        let client = client.clone();
        async move { fetch(&client, req).await }
    });
    tx.send(Bytes::from(vec![1u8; 1000])).await.expect("send");
    tokio::time::timeout(WAIT, upstream.state.first_bytes.notified())
        .await
        .expect("the upstream gets the first bytes before the upload ends");
    tx.send(Bytes::from(vec![2u8; 500])).await.expect("send");
    drop(tx);
    let reply = tokio::time::timeout(REQUEST_TIMEOUT, pending)
        .await
        .expect("the upload finishes in time")
        .expect("the upload task");
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "1500");
}

#[tokio::test]
async fn status_fault_answers_an_s3_xml_error_without_reaching_upstream() {
    let (upstream, proxy, client) = setup().await;
    proxy.push([Fault::slow_down()]);

    let reply = fetch(
        &client,
        request(&proxy, Method::PUT, "/bucket/key", payload(300_000)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.header("content-type"), "application/xml");
    let xml = reply.text();
    assert_eq!(xml_value(&xml, "Code").as_deref(), Some("SlowDown"));
    assert_eq!(
        xml_value(&xml, "Message").as_deref(),
        Some("Please reduce your request rate.")
    );
    assert_eq!(xml_value(&xml, "Resource").as_deref(), Some("/bucket/key"));
    let request_id = reply.header("x-amz-request-id");
    assert_eq!(xml_value(&xml, "RequestId").as_deref(), Some(request_id));
    let date = httpdate::parse_http_date(reply.header("date")).expect("an HTTP date");
    let off = SystemTime::now()
        .duration_since(date)
        .unwrap_or_else(|e| e.duration());
    assert!(off < Duration::from_secs(5), "Date is now: {off:?}");
    assert_eq!(upstream.requests(), 0, "the fault is answered by the proxy");

    // The connection stays usable: the next request passes.
    let reply = fetch(
        &client,
        request(&proxy, Method::GET, "/bucket/key", Bytes::new()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(upstream.requests(), 1);
}

#[tokio::test]
async fn truncate_body_fault_delivers_the_exact_prefix_then_an_incomplete_body_error() {
    let (upstream, proxy, client) = setup().await;
    let full = object();

    for after_bytes in [40_000, 0, 1] {
        proxy.push([Fault::TruncateBody { after_bytes }]);
        let response = send(&client, request(&proxy, Method::GET, "/o", Bytes::new()))
            .await
            .expect("the head arrives intact");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-length"],
            OBJECT_LEN.to_string(),
            "the declared length is the whole object's"
        );
        let (received, error) = read_body(response.into_body()).await;
        let error = error.expect("the body ends in an error");
        assert!(
            is_connection_error(&error),
            "an incomplete-body error, not {error:?}"
        );
        assert_eq!(
            received.len(),
            after_bytes,
            "exactly the first {after_bytes} bytes"
        );
        assert!(received[..] == full[..after_bytes]);
    }

    // A body no longer than the cut passes whole.
    proxy.push([Fault::TruncateBody {
        after_bytes: OBJECT_LEN,
    }]);
    let reply = fetch(&client, request(&proxy, Method::GET, "/o", Bytes::new())).await;
    assert_eq!(reply.body, full);
    assert_eq!(upstream.requests(), 4);
}

#[tokio::test]
async fn reset_before_response_fault_gives_a_connection_error_not_a_response() {
    let (upstream, proxy, client) = setup().await;
    proxy.push([Fault::ResetBeforeResponse]);

    let error = tokio::time::timeout(
        WAIT,
        send(
            &client,
            request(&proxy, Method::PUT, "/k", payload(200_000)),
        ),
    )
    .await
    .expect("the reset ends the request (no hang)")
    .expect_err("no response at all");
    assert!(!error.is_connect(), "the connection was made: {error:?}");
    assert!(
        is_connection_error(&error),
        "a closed/reset connection, not {error:?}"
    );
    assert_eq!(upstream.requests(), 0);
    assert_eq!(proxy.requests_seen(), 1, "the proxy read the request");

    // The next request passes.
    let reply = fetch(&client, request(&proxy, Method::GET, "/k", Bytes::new())).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn reset_before_response_fault_resets_the_tcp_connection() {
    let (_upstream, proxy, _client) = setup().await;
    proxy.push([Fault::ResetBeforeResponse]);
    let mut stream = TcpStream::connect(proxy.addr()).await.expect("connect");
    stream
        .write_all(b"PUT /k HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
        .await
        .expect("write");
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(WAIT, stream.read(&mut buf))
        .await
        .expect("the proxy drops the connection in time");
    match read {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
        Ok(n) => panic!("expected a reset, read {n} bytes: {:?}", &buf[..n]),
    }
}

#[tokio::test]
async fn hang_fault_makes_a_client_timeout_fire() {
    let (upstream, proxy, client) = setup().await;
    proxy.push([Fault::Hang]);

    let outcome = tokio::time::timeout(
        Duration::from_secs(1),
        client.request(request(&proxy, Method::PUT, "/k", payload(50_000))),
    )
    .await;
    assert!(outcome.is_err(), "the client's timeout fires: {outcome:?}");
    assert_eq!(proxy.requests_seen(), 1);
    assert_eq!(upstream.requests(), 0);
}

#[tokio::test]
async fn hang_is_released_when_the_proxy_is_dropped() {
    let (_upstream, proxy, _client) = setup().await;
    proxy.push([Fault::Hang]);
    let mut stream = TcpStream::connect(proxy.addr()).await.expect("connect");
    stream
        .write_all(b"GET /k HTTP/1.1\r\nHost: h\r\n\r\n")
        .await
        .expect("write");
    let mut polls = 0;
    while proxy.requests_seen() == 0 {
        polls += 1;
        assert!(polls <= 1000, "the proxy sees the request");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Still held: nothing arrives for a while.
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await;
    assert!(early.is_err(), "the hang answers nothing: {early:?}");

    drop(proxy);
    let read = tokio::time::timeout(WAIT, stream.read(&mut buf))
        .await
        .expect("dropping the proxy closes the held connection");
    match read {
        Ok(0) | Err(_) => {}
        Ok(n) => panic!("no answer expected, read {:?}", &buf[..n]),
    }
}

#[tokio::test]
async fn a_held_request_reaches_upstream_only_once_holds_are_released() {
    let (upstream, proxy, client) = setup().await;
    proxy.push([Fault::Hold]);
    let held = tokio::spawn({
        let req = request(&proxy, Method::GET, "/o", Bytes::new());
        let client = client.clone();
        async move { fetch(&client, req).await }
    });
    let mut polls = 0;
    while proxy.requests_seen() == 0 {
        polls += 1;
        assert!(polls <= 1000, "the proxy sees the request");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A request after it passes while it is held.
    let passed = fetch(&client, request(&proxy, Method::GET, "/o", Bytes::new())).await;
    assert_eq!(passed.status, StatusCode::OK);
    assert_eq!((upstream.requests(), proxy.answered()), (1, 1));
    assert!(!held.is_finished(), "the held request is still unanswered");

    proxy.release_holds();
    let reply = tokio::time::timeout(WAIT, held)
        .await
        .expect("released")
        .expect("task");
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, object());
    assert_eq!((upstream.requests(), proxy.answered()), (2, 2));
    assert_eq!(proxy.log()[0].2, "Hold");
}

#[tokio::test]
async fn flip_byte_fault_changes_exactly_one_byte_of_the_body() {
    let (_upstream, proxy, client) = setup().await;
    let offset = 54_321;
    proxy.push([Fault::FlipByte { offset }]);

    let reply = fetch(&client, request(&proxy, Method::GET, "/o", Bytes::new())).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-length"), OBJECT_LEN.to_string());
    let full = object();
    assert_eq!(reply.body.len(), full.len());
    let differing: Vec<usize> = (0..full.len())
        .filter(|&i| reply.body[i] != full[i])
        .collect();
    assert_eq!(differing, vec![offset]);
    assert_eq!(
        (reply.body[offset] ^ full[offset]).count_ones(),
        1,
        "one bit"
    );

    // An offset past the end changes nothing.
    proxy.push([Fault::FlipByte { offset: OBJECT_LEN }]);
    let reply = fetch(&client, request(&proxy, Method::GET, "/o", Bytes::new())).await;
    assert_eq!(reply.body, full);
}

#[tokio::test]
async fn skewed_date_fault_answers_request_time_too_skewed_with_a_skewed_date() {
    let (upstream, proxy, client) = setup().await;

    for seconds in [3_600i64, -7_200] {
        proxy.push([Fault::SkewedDate { seconds }]);
        let reply = fetch(&client, request(&proxy, Method::GET, "/k", Bytes::new())).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        let xml = reply.text();
        assert_eq!(
            xml_value(&xml, "Code").as_deref(),
            Some("RequestTimeTooSkewed")
        );
        assert_eq!(
            xml_value(&xml, "RequestTime").as_deref(),
            Some("20250102T030405Z")
        );
        let date_text = reply.header("date");
        let date = httpdate::parse_http_date(date_text).expect("an HTTP date");
        let now = SystemTime::now();
        let skew = match date.duration_since(now) {
            Ok(ahead) => ahead.as_secs_f64(),
            Err(behind) => -behind.duration().as_secs_f64(),
        };
        assert!(
            (skew - seconds as f64).abs() < 5.0,
            "Date {date_text} is {skew}s from now, want {seconds}s"
        );
        // <ServerTime> is the same instant as Date: e.g. `Tue, 15 Nov 1994 08:12:31 GMT`
        // and `1994-11-15T08:12:31Z`.
        let server_time = xml_value(&xml, "ServerTime").expect("ServerTime");
        let fields: Vec<&str> = date_text.split(' ').collect();
        assert!(
            server_time.ends_with(&format!("-{}T{}Z", fields[1], fields[4])),
            "{server_time} vs {date_text}"
        );
        assert!(
            server_time.starts_with(fields[3]),
            "{server_time} vs {date_text}"
        );
    }
    assert_eq!(upstream.requests(), 0);
}

#[tokio::test]
async fn faults_are_consumed_in_order_then_requests_pass() {
    let (upstream, proxy, client) = setup().await;
    proxy.push([
        Fault::slow_down(),
        Fault::internal_error(),
        Fault::Status {
            status: 404,
            code: "NoSuchKey",
            message: "The specified key does not exist.",
        },
    ]);
    assert_eq!(proxy.pending(), 3);

    let mut statuses = Vec::new();
    let mut codes = Vec::new();
    for i in 0..5 {
        let reply = fetch(
            &client,
            request(&proxy, Method::GET, &format!("/k{i}"), Bytes::new()),
        )
        .await;
        statuses.push(reply.status.as_u16());
        codes.push(xml_value(&reply.text(), "Code"));
    }
    assert_eq!(statuses, [503, 500, 404, 200, 200]);
    assert_eq!(
        codes[..3],
        [
            Some("SlowDown".to_owned()),
            Some("InternalError".to_owned()),
            Some("NoSuchKey".to_owned())
        ]
    );
    assert_eq!(proxy.pending(), 0);
    assert_eq!(proxy.requests_seen(), 5);
    assert_eq!(upstream.requests(), 2);
    let log = proxy.log();
    let kinds: Vec<&str> = log.iter().map(|(_, _, kind)| *kind).collect();
    assert_eq!(kinds, ["Status", "Status", "Status", "Pass", "Pass"]);
    let paths: Vec<&str> = log.iter().map(|(_, path, _)| path.as_str()).collect();
    assert_eq!(paths, ["/k0", "/k1", "/k2", "/k3", "/k4"]);
}

#[tokio::test]
async fn filter_lets_only_matching_requests_take_faults() {
    let (upstream, proxy, client) = setup().await;
    proxy.set_filter(|parts| parts.method == Method::GET && parts.uri.path().contains("target"));
    proxy.push([Fault::slow_down()]);

    let reply = fetch(
        &client,
        request(&proxy, Method::PUT, "/target", payload(10)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "PUT does not match");
    let reply = fetch(
        &client,
        request(&proxy, Method::GET, "/other", Bytes::new()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "the path does not match");
    assert_eq!(proxy.pending(), 1);
    let reply = fetch(
        &client,
        request(&proxy, Method::GET, "/target", Bytes::new()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(proxy.pending(), 0);

    proxy.clear_filter();
    proxy.push([Fault::internal_error()]);
    let reply = fetch(&client, request(&proxy, Method::PUT, "/other", payload(10))).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(upstream.requests(), 2);
    let kinds: Vec<&str> = proxy.log().iter().map(|(_, _, kind)| *kind).collect();
    assert_eq!(kinds, ["Pass", "Pass", "Status", "Status"]);
}

#[tokio::test]
async fn upstream_failure_is_answered_502_by_the_proxy() {
    // A port with nothing listening: bind, note it, close.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        listener.local_addr().expect("address")
    };
    let proxy = FaultProxy::start(closed).await;
    let reply = fetch(&client(), request(&proxy, Method::GET, "/k", Bytes::new())).await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(reply.header("x-fault-proxy"), "upstream-error");
}

#[tokio::test]
async fn ok_with_error_answers_200_with_an_s3_error_body_without_reaching_upstream() {
    let (upstream, proxy, client) = setup().await;
    proxy.push([Fault::OkWithError {
        code: "InternalError",
        message: "We encountered an internal error. Please try again.",
    }]);
    let reply = fetch(
        &client,
        request(&proxy, Method::POST, "/bucket/key?uploadId=u", payload(100)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let xml = reply.text();
    assert!(xml.trim_start().starts_with("<?xml"), "{xml}");
    assert_eq!(xml_value(&xml, "Code").as_deref(), Some("InternalError"));
    assert_eq!(upstream.requests(), 0);
    assert_eq!(proxy.log()[0].2, "OkWithError");
}

#[tokio::test]
async fn slow_down_retry_after_sends_the_retry_after_header() {
    let (_upstream, proxy, client) = setup().await;
    proxy.push([Fault::SlowDownRetryAfter { seconds: 7 }]);
    let reply = fetch(&client, request(&proxy, Method::GET, "/k", Bytes::new())).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.header("retry-after"), "7");
    assert_eq!(
        xml_value(&reply.text(), "Code").as_deref(),
        Some("SlowDown")
    );
}

#[tokio::test]
async fn a_fault_window_gives_one_request_in_n_its_fault_then_closes() {
    let (upstream, proxy, client) = setup().await;
    // Long enough for the six requests below, however slow the machine.
    proxy.fault_window(Duration::from_secs(60), Fault::slow_down(), 2);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let reply = fetch(&client, request(&proxy, Method::GET, "/k", Bytes::new())).await;
        statuses.push(reply.status.as_u16());
    }
    assert_eq!(statuses, [503, 200, 503, 200, 503, 200]);
    assert_eq!(proxy.window_faults(), 3);
    assert_eq!(upstream.requests(), 3);
    // A closed window (zero length) lets everything pass.
    proxy.fault_window(Duration::ZERO, Fault::slow_down(), 1);
    let reply = fetch(&client, request(&proxy, Method::GET, "/k", Bytes::new())).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn a_delayed_request_is_answered_after_one_sent_later_and_intact() {
    let (upstream, proxy, client) = setup().await;
    proxy.push([Fault::Delay { millis: 2_000 }]);
    let delayed = tokio::spawn({
        let (client, req) = (
            client.clone(),
            request(&proxy, Method::GET, "/k", Bytes::new()),
        );
        async move { fetch(&client, req).await }
    });
    let seen = async {
        while proxy.requests_seen() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    tokio::time::timeout(WAIT, seen)
        .await
        .expect("the proxy sees the delayed request");
    let passed = fetch(&client, request(&proxy, Method::GET, "/k", Bytes::new())).await;
    assert_eq!(passed.status, StatusCode::OK);
    assert!(!delayed.is_finished(), "the delayed request is still held");
    let reply = delayed.await.unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, object());
    assert_eq!(upstream.requests(), 2);
    assert_eq!(proxy.log()[0].2, "Delay");
}

#[tokio::test]
async fn queued_faults_come_before_the_window() {
    let (_upstream, proxy, client) = setup().await;
    proxy.fault_window(Duration::from_secs(60), Fault::slow_down(), 1);
    proxy.push([Fault::internal_error()]);
    let first = fetch(&client, request(&proxy, Method::GET, "/k", Bytes::new())).await;
    let second = fetch(&client, request(&proxy, Method::GET, "/k", Bytes::new())).await;
    assert_eq!(first.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(second.status, StatusCode::SERVICE_UNAVAILABLE);
}

/// Connects to the proxy until `ok` says the outcome is the expected one, at most 200 times
/// 50 ms apart (10 s): the outage starts and ends on the proxy's own task.
async fn connect_until(
    proxy: &FaultProxy,
    ok: impl Fn(&std::io::Result<TcpStream>) -> bool,
) -> std::io::Result<TcpStream> {
    for _ in 0..200 {
        let attempt = tokio::time::timeout(WAIT, TcpStream::connect(proxy.addr()))
            .await
            .expect("connect ends in time");
        if ok(&attempt) {
            return attempt;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the proxy never reached the expected state");
}

#[tokio::test]
async fn a_refusing_outage_breaks_open_connections_refuses_new_ones_then_serves_on_the_same_port() {
    let (_upstream, proxy, client) = setup().await;
    let port = proxy.addr().port();
    let mut open = TcpStream::connect(proxy.addr()).await.expect("connect");
    proxy.outage(Duration::from_secs(2), Outage::Refuse);
    let refused = connect_until(&proxy, |r| {
        r.as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)
    })
    .await;
    assert!(refused.is_err());
    // The connection open before the outage was closed by the "restart".
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(WAIT, open.read(&mut buf))
        .await
        .expect("the broken connection ends in time");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert_eq!(proxy.outages_begun(), 1);
    // Back on the same port once the outage is over.
    connect_until(&proxy, |r| r.is_ok()).await.expect("back");
    assert_eq!(proxy.addr().port(), port);
    let reply = fetch(&client, request(&proxy, Method::GET, "/k", Bytes::new())).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn a_resetting_outage_resets_new_connections_then_recovers() {
    let (_upstream, proxy, pooled) = setup().await;
    proxy.outage(Duration::from_secs(2), Outage::Reset);
    // Accepted, then reset: the request gets no answer.
    let failed = tokio::time::timeout(
        WAIT,
        send(&pooled, request(&proxy, Method::GET, "/k", Bytes::new())),
    )
    .await
    .expect("the reset ends the request");
    let error = failed.expect_err("no answer during the outage");
    assert!(
        is_connection_error(&error) || error.is_connect(),
        "{error:?}"
    );
    assert_eq!(
        proxy.requests_seen(),
        0,
        "no request reached the proxy's handler"
    );
    // Bounded: the outage ends after 2 s; a fresh client gets an answer by then.
    let mut answered = false;
    for _ in 0..200 {
        let fresh = client();
        let result = send(&fresh, request(&proxy, Method::GET, "/k", Bytes::new())).await;
        if result.is_ok_and(|r| r.status() == StatusCode::OK) {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered, "the proxy serves again after the outage");
}
