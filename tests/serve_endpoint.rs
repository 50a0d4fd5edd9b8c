//! The embedded S3 endpoint (`ferry::serve::LocalEndpoint`, `s3s-fs` underneath) talking to
//! plain hyper requests signed by ferry's own signer.
//!
//! The endpoint verifies SigV4 itself (`s3s`'s `SimpleAuth`), so these tests prove two things
//! at once: that the endpoint serves what ferry needs over IPv4 and IPv6 loopback, and that
//! ferry's header signatures, presigned URLs and chunk signatures are accepted by an
//! independent verifier, while wrong ones are refused.
//!
//! Every request and every wait is bounded by a timeout.

use bytes::Bytes;
use ferry::credentials::Credentials;
use ferry::serve::{LocalEndpoint, ServeConfig};
use ferry::sign::{ChunkSigner, Payload, SignableRequest, Signer, SigningTime, encode, sha256_hex};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const ACCESS_KEY: &str = "FERRYTESTACCESSKEY01";
const SECRET_KEY: &str = "ferryTestSecretKey0123456789abcdefghijkl";
/// Any single request (and reading its answer) must finish within this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Starting and stopping the endpoint must finish within this.
const LIFECYCLE_TIMEOUT: Duration = Duration::from_secs(15);

fn credentials() -> Credentials {
    Credentials::new(ACCESS_KEY, SECRET_KEY)
}

/// A running endpoint on a temporary root, and a pooled HTTP/1.1 client for it.
struct Harness {
    endpoint: LocalEndpoint,
    root: tempfile::TempDir,
    client: Client<HttpConnector, Full<Bytes>>,
    signer: Signer,
}

/// An answer, read whole.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `<Code>` of an S3 XML error body.
    fn error_code(&self) -> Option<String> {
        xml_value(&self.text(), "Code")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The text of the first `<tag>…</tag>` in `xml`.
fn xml_value(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(xml[start..end].to_owned())
}

/// A request before signing: the path is the raw one (encoded here), query pairs are
/// already encoded.
#[derive(Clone, Copy)]
struct Call<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a [(&'a str, &'a str)],
    headers: &'a [(&'a str, &'a str)],
    body: &'a [u8],
}

impl<'a> Call<'a> {
    fn new(method: &'a str, path: &'a str) -> Self {
        Self {
            method,
            path,
            query: &[],
            headers: &[],
            body: b"",
        }
    }

    fn query(mut self, query: &'a [(&'a str, &'a str)]) -> Self {
        self.query = query;
        self
    }

    fn headers(mut self, headers: &'a [(&'a str, &'a str)]) -> Self {
        self.headers = headers;
        self
    }

    fn body(mut self, body: &'a [u8]) -> Self {
        self.body = body;
        self
    }

    fn encoded_path(&self) -> String {
        let mut path = String::new();
        encode::encode_path(self.path, &mut path);
        path
    }

    fn path_and_query(&self) -> String {
        let mut uri = self.encoded_path();
        for (i, (name, value)) in self.query.iter().enumerate() {
            uri.push(if i == 0 { '?' } else { '&' });
            uri.push_str(name);
            uri.push('=');
            uri.push_str(value);
        }
        uri
    }
}

impl Harness {
    /// Starts an endpoint on `address` (port 0) serving a fresh temporary directory.
    async fn start(address: &str) -> Result<Self, ferry::serve::ServeError> {
        let root = tempfile::tempdir().expect("a temporary directory");
        let config = ServeConfig::new(
            root.path(),
            address.parse().expect("a socket address"),
            ACCESS_KEY,
            SECRET_KEY,
        );
        let endpoint = tokio::time::timeout(LIFECYCLE_TIMEOUT, LocalEndpoint::start(config))
            .await
            .expect("the endpoint starts within the timeout")?;
        Ok(Self {
            endpoint,
            root,
            client: Client::builder(TokioExecutor::new()).build_http(),
            signer: Signer::s3("us-east-1"),
        })
    }

    async fn start_ipv4() -> Self {
        Self::start("127.0.0.1:0")
            .await
            .expect("the endpoint starts on 127.0.0.1:0")
    }

    /// `127.0.0.1:PORT` or `[::1]:PORT`: the `Host` header (and what is signed).
    fn host(&self) -> String {
        self.endpoint.local_addr().to_string()
    }

    /// Sends `call` signed with `credentials`, the body's SHA-256 declared and signed.
    async fn signed(&self, credentials: &Credentials, call: Call<'_>) -> Reply {
        let hash = sha256_hex(call.body);
        let payload = if call.body.is_empty() {
            Payload::Empty
        } else {
            Payload::Sha256Hex(hash.as_str())
        };
        self.signed_with_payload(credentials, call, payload, &self.host())
            .await
    }

    /// Sends `call` signed with `credentials`, declaring `payload`, with `Host: host`.
    async fn signed_with_payload(
        &self,
        credentials: &Credentials,
        call: Call<'_>,
        payload: Payload<'_>,
        host: &str,
    ) -> Reply {
        let encoded_path = call.encoded_path();
        let mut headers: Vec<(&str, &str)> = vec![("host", host)];
        headers.extend_from_slice(call.headers);
        let time = SigningTime::now();
        let signature = self.signer.sign_headers(
            credentials,
            &SignableRequest {
                method: call.method,
                path: &encoded_path,
                query: call.query,
                headers: &headers,
                payload,
            },
            time,
        );
        let mut all: Vec<(&str, &str)> = headers.clone();
        all.push(("x-amz-date", time.amz_date()));
        all.push(("x-amz-content-sha256", payload.as_str()));
        all.push(("authorization", signature.authorization()));
        self.raw(call.method, &call.path_and_query(), &all, call.body)
            .await
    }

    /// A signed GET or HEAD of `path` (already plain: no encoding needed) with `extra`
    /// headers, for sending on a connection of one's own.
    fn signed_request(
        &self,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
    ) -> http::Request<Full<Bytes>> {
        let host = self.host();
        let mut headers: Vec<(&str, &str)> = vec![("host", host.as_str())];
        headers.extend_from_slice(extra);
        let time = SigningTime::now();
        let signature = self.signer.sign_headers(
            &credentials(),
            &SignableRequest {
                method,
                path,
                query: &[],
                headers: &headers,
                payload: Payload::Empty,
            },
            time,
        );
        let mut builder = http::Request::builder().method(method).uri(path);
        for (name, value) in &headers {
            builder = builder.header(*name, *value);
        }
        builder
            .header("x-amz-date", time.amz_date())
            .header("x-amz-content-sha256", Payload::Empty.as_str())
            .header("authorization", signature.authorization())
            .body(Full::new(Bytes::new()))
            .expect("a request")
    }

    /// Sends a request exactly as given (nothing added but `content-length`).
    async fn raw(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let uri = format!("{}{path_and_query}", self.endpoint.url());
        let mut builder = http::Request::builder().method(method).uri(&uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder
            .body(Full::new(Bytes::copy_from_slice(body)))
            .expect("a valid request");
        let exchange = async {
            let response = self.client.request(request).await.expect("a response");
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response
                .into_body()
                .collect()
                .await
                .expect("the whole body")
                .to_bytes();
            Reply {
                status,
                headers,
                body,
            }
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| panic!("{method} {uri} answered within {REQUEST_TIMEOUT:?}"))
    }

    async fn create_bucket(&self, bucket: &str) {
        let reply = self
            .signed(&credentials(), Call::new("PUT", &format!("/{bucket}")))
            .await;
        assert_eq!(reply.status, 200, "CreateBucket {bucket}: {}", reply.text());
    }

    async fn put(&self, bucket: &str, key: &str, body: &[u8]) -> Reply {
        let reply = self
            .signed(
                &credentials(),
                Call::new("PUT", &format!("/{bucket}/{key}")).body(body),
            )
            .await;
        assert_eq!(
            reply.status,
            200,
            "PutObject {bucket}/{key}: {}",
            reply.text()
        );
        reply
    }

    async fn get(&self, bucket: &str, key: &str) -> Reply {
        self.signed(
            &credentials(),
            Call::new("GET", &format!("/{bucket}/{key}")),
        )
        .await
    }

    async fn shutdown(self) {
        tokio::time::timeout(LIFECYCLE_TIMEOUT, self.endpoint.shutdown())
            .await
            .expect("the endpoint stops within the timeout");
    }
}

/// Bytes that are not all alike, so that offsets matter.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u64).wrapping_mul(2_654_435_761) as u8 ^ (i >> 8) as u8)
        .collect()
}

#[tokio::test]
async fn signed_requests_create_a_bucket_put_an_object_and_get_the_same_bytes_back() {
    let h = Harness::start_ipv4().await;
    assert!(
        h.endpoint.url().starts_with("http://127.0.0.1:"),
        "{}",
        h.endpoint.url()
    );
    h.create_bucket("photos").await;
    let body = pattern(300_000);
    let key = "2026/trip to the sea/img+001 (copy).jpg";
    let put = h.put("photos", key, &body).await;
    assert!(put.header("etag").is_some(), "{:?}", put.headers);

    let got = h.get("photos", key).await;
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.body.len(), body.len());
    assert!(got.body == body, "the object comes back byte for byte");
    // s3s-fs stores it as a plain file under root/bucket/key.
    let on_disk = std::fs::read(h.root.path().join("photos").join(key)).expect("the file");
    assert!(on_disk == body);
    h.shutdown().await;
}

#[tokio::test]
async fn a_ranged_get_returns_only_the_requested_bytes() {
    let h = Harness::start_ipv4().await;
    h.create_bucket("ranges").await;
    let body = pattern(100_000);
    h.put("ranges", "blob.bin", &body).await;

    let reply = h
        .signed(
            &credentials(),
            Call::new("GET", "/ranges/blob.bin").headers(&[("range", "bytes=1000-65535")]),
        )
        .await;
    assert_eq!(reply.status, 206, "{}", reply.text());
    assert_eq!(
        reply.header("content-range"),
        Some("bytes 1000-65535/100000")
    );
    assert!(reply.body[..] == body[1000..65536]);

    let suffix = h
        .signed(
            &credentials(),
            Call::new("GET", "/ranges/blob.bin").headers(&[("range", "bytes=-10")]),
        )
        .await;
    assert_eq!(suffix.status, 206, "{}", suffix.text());
    assert!(suffix.body[..] == body[body.len() - 10..]);
    h.shutdown().await;
}

#[tokio::test]
async fn a_request_signed_with_the_wrong_secret_is_refused_with_signature_does_not_match() {
    let h = Harness::start_ipv4().await;
    h.create_bucket("guarded").await;
    let impostor = Credentials::new(ACCESS_KEY, "not-the-secret-the-endpoint-was-given-xx");
    let reply = h
        .signed(
            &impostor,
            Call::new("PUT", "/guarded/intruder.txt").body(b"should not land"),
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert_eq!(reply.error_code().as_deref(), Some("SignatureDoesNotMatch"));
    assert!(!h.root.path().join("guarded/intruder.txt").exists());
    let get = h.get("guarded", "intruder.txt").await;
    assert_eq!(get.status, 404, "{}", get.text());
    h.shutdown().await;
}

#[tokio::test]
async fn unsigned_requests_are_refused() {
    let h = Harness::start_ipv4().await;
    h.create_bucket("private").await;
    h.put("private", "secret.txt", b"classified").await;
    let host = h.host();

    let list = h.raw("GET", "/", &[("host", &host)], b"").await;
    assert_eq!(list.status, 403, "{}", list.text());
    assert_eq!(list.error_code().as_deref(), Some("AccessDenied"));

    let get = h
        .raw("GET", "/private/secret.txt", &[("host", &host)], b"")
        .await;
    assert_eq!(get.status, 403, "{}", get.text());
    assert!(!get.text().contains("classified"));

    let put = h
        .raw(
            "PUT",
            "/private/planted.txt",
            &[("host", &host)],
            b"planted",
        )
        .await;
    assert_eq!(put.status, 403, "{}", put.text());
    assert!(!h.root.path().join("private/planted.txt").exists());
    h.shutdown().await;
}

#[tokio::test]
async fn an_unknown_access_key_is_refused() {
    let h = Harness::start_ipv4().await;
    let stranger = Credentials::new("FERRYUNKNOWNKEY00000", SECRET_KEY);
    let reply = h.signed(&stranger, Call::new("GET", "/")).await;
    assert_eq!(reply.status, 403, "{}", reply.text());
    // As AWS says (s3s alone would say NotSignedUp).
    assert_eq!(
        reply.error_code().as_deref(),
        Some("InvalidAccessKeyId"),
        "{}",
        reply.text()
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_body_that_does_not_match_its_signed_sha256_is_refused_and_not_stored() {
    let h = Harness::start_ipv4().await;
    h.create_bucket("integrity").await;
    let declared = sha256_hex(b"the body that was signed");
    let reply = h
        .signed_with_payload(
            &credentials(),
            Call::new("PUT", "/integrity/swapped.txt").body(b"a different body on the wire"),
            Payload::Sha256Hex(declared.as_str()),
            &h.host(),
        )
        .await;
    // s3s-fs alone answers 500 InternalError here, which a client would retry.
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert_eq!(
        reply.error_code().as_deref(),
        Some("XAmzContentSHA256Mismatch")
    );
    assert_eq!(h.get("integrity", "swapped.txt").await.status, 404);
    h.shutdown().await;
}

#[tokio::test]
async fn an_unsigned_payload_put_is_accepted_with_its_signed_headers() {
    let h = Harness::start_ipv4().await;
    h.create_bucket("unsigned").await;
    let body = pattern(10_000);
    let reply = h
        .signed_with_payload(
            &credentials(),
            Call::new("PUT", "/unsigned/blob").body(&body),
            Payload::Unsigned,
            &h.host(),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(h.get("unsigned", "blob").await.body == body);
    h.shutdown().await;
}

#[tokio::test]
async fn the_ipv6_loopback_endpoint_serves_signed_requests() {
    let h = match Harness::start("[::1]:0").await {
        Ok(h) => h,
        Err(err) => panic!(
            "IPv6 loopback [::1] is unavailable on this machine, so the IPv6 endpoint cannot be \
             tested: {err}. Enable it (sysctl -w net.ipv6.conf.lo.disable_ipv6=0) and rerun."
        ),
    };
    let port = h.endpoint.local_addr().port();
    assert_eq!(h.endpoint.url(), format!("http://[::1]:{port}"));
    assert_eq!(h.host(), format!("[::1]:{port}"));
    h.create_bucket("six").await;
    let body = pattern(50_000);
    h.put("six", "over/ipv6.bin", &body).await;
    let got = h.get("six", "over/ipv6.bin").await;
    assert_eq!(got.status, 200, "{}", got.text());
    assert!(got.body == body);
    let wrong = Credentials::new(ACCESS_KEY, "wrong-secret-over-ipv6-0123456789abcdef");
    let refused = h
        .signed(&wrong, Call::new("GET", "/six/over/ipv6.bin"))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    h.shutdown().await;
}

#[tokio::test]
async fn virtual_hosted_style_under_localhost_addresses_the_bucket() {
    let h = Harness::start_ipv4().await;
    h.create_bucket("vhost").await;
    let host = format!("vhost.localhost:{}", h.endpoint.local_addr().port());
    let body = b"addressed by host name";
    let hash = sha256_hex(body);
    let put = h
        .signed_with_payload(
            &credentials(),
            Call::new("PUT", "/by-host.txt").body(body),
            Payload::Sha256Hex(hash.as_str()),
            &host,
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text());
    // The same object, path-style.
    let got = h.get("vhost", "by-host.txt").await;
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(&got.body[..], body);
    h.shutdown().await;
}

#[tokio::test]
async fn list_head_copy_and_delete_operations_answer_as_s3_does() {
    let h = Harness::start_ipv4().await;
    let c = credentials();
    h.create_bucket("ops").await;
    h.put("ops", "dir/a.txt", b"alpha").await;
    h.put("ops", "dir/b.txt", b"bravo!").await;
    h.put("ops", "top.txt", b"top").await;

    let buckets = h.signed(&c, Call::new("GET", "/")).await;
    assert_eq!(buckets.status, 200, "{}", buckets.text());
    assert!(
        buckets.text().contains("<Name>ops</Name>"),
        "{}",
        buckets.text()
    );

    let head_bucket = h.signed(&c, Call::new("HEAD", "/ops")).await;
    assert_eq!(head_bucket.status, 200);
    let missing_bucket = h.signed(&c, Call::new("HEAD", "/no-such-bucket")).await;
    assert_eq!(missing_bucket.status, 404);

    let head = h.signed(&c, Call::new("HEAD", "/ops/dir/b.txt")).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("6"));
    assert!(head.header("etag").is_some());
    assert_eq!(
        h.signed(&c, Call::new("HEAD", "/ops/dir/none"))
            .await
            .status,
        404
    );

    let list = h
        .signed(
            &c,
            Call::new("GET", "/ops").query(&[("list-type", "2"), ("prefix", "dir%2F")]),
        )
        .await;
    assert_eq!(list.status, 200, "{}", list.text());
    let text = list.text();
    assert!(text.contains("<Key>dir/a.txt</Key>"), "{text}");
    assert!(text.contains("<Key>dir/b.txt</Key>"), "{text}");
    assert!(!text.contains("<Key>top.txt</Key>"), "{text}");

    let delimited = h
        .signed(
            &c,
            Call::new("GET", "/ops").query(&[("delimiter", "%2F"), ("list-type", "2")]),
        )
        .await;
    assert!(
        delimited.text().contains("<Prefix>dir/</Prefix>"),
        "{}",
        delimited.text()
    );

    let copy = h
        .signed(
            &c,
            Call::new("PUT", "/ops/copied.txt").headers(&[("x-amz-copy-source", "/ops/top.txt")]),
        )
        .await;
    assert_eq!(copy.status, 200, "{}", copy.text());
    assert_eq!(&h.get("ops", "copied.txt").await.body[..], b"top");

    let delete = h.signed(&c, Call::new("DELETE", "/ops/copied.txt")).await;
    assert_eq!(delete.status, 204, "{}", delete.text());
    assert_eq!(h.get("ops", "copied.txt").await.status, 404);

    let batch = b"<Delete><Object><Key>dir/a.txt</Key></Object><Object><Key>dir/b.txt</Key></Object></Delete>";
    let deleted = h
        .signed(
            &c,
            Call::new("POST", "/ops")
                .query(&[("delete", "")])
                .body(batch),
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    assert!(
        deleted.text().contains("<Key>dir/a.txt</Key>"),
        "{}",
        deleted.text()
    );
    assert_eq!(h.get("ops", "dir/a.txt").await.status, 404);
    assert_eq!(h.get("ops", "dir/b.txt").await.status, 404);

    assert_eq!(
        h.signed(&c, Call::new("DELETE", "/ops/top.txt"))
            .await
            .status,
        204
    );
    let drop_bucket = h.signed(&c, Call::new("DELETE", "/ops")).await;
    assert_eq!(drop_bucket.status, 204, "{}", drop_bucket.text());
    assert_eq!(h.signed(&c, Call::new("HEAD", "/ops")).await.status, 404);
    h.shutdown().await;
}

#[tokio::test]
async fn a_multipart_upload_of_two_parts_completes_into_one_object() {
    let h = Harness::start_ipv4().await;
    let c = credentials();
    h.create_bucket("multi").await;
    let created = h
        .signed(
            &c,
            Call::new("POST", "/multi/big.bin").query(&[("uploads", "")]),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text());
    let upload_id = xml_value(&created.text(), "UploadId").expect("an UploadId");

    // Every part but the last must be at least 5 MiB.
    let first = pattern(5 * 1024 * 1024);
    let second = pattern(1234);
    let mut etags = Vec::new();
    for (number, body) in [("1", &first), ("2", &second)] {
        let reply = h
            .signed(
                &c,
                Call::new("PUT", "/multi/big.bin")
                    .query(&[("partNumber", number), ("uploadId", &upload_id)])
                    .body(body),
            )
            .await;
        assert_eq!(reply.status, 200, "UploadPart {number}: {}", reply.text());
        etags.push(reply.header("etag").expect("a part ETag").to_owned());
    }

    let parts = h
        .signed(
            &c,
            Call::new("GET", "/multi/big.bin").query(&[("uploadId", &upload_id)]),
        )
        .await;
    assert_eq!(parts.status, 200, "{}", parts.text());
    assert_eq!(
        parts.text().matches("<Part>").count(),
        2,
        "{}",
        parts.text()
    );

    let complete = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{}</ETag></Part>\
         <Part><PartNumber>2</PartNumber><ETag>{}</ETag></Part></CompleteMultipartUpload>",
        etags[0], etags[1]
    );
    let done = h
        .signed(
            &c,
            Call::new("POST", "/multi/big.bin")
                .query(&[("uploadId", &upload_id)])
                .body(complete.as_bytes()),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text());
    let etag = xml_value(&done.text(), "ETag").expect("an ETag");
    assert!(etag.trim_matches('"').ends_with("-2"), "{etag}");

    let got = h.get("multi", "big.bin").await;
    assert_eq!(got.body.len(), first.len() + second.len());
    assert!(got.body[..first.len()] == first[..] && got.body[first.len()..] == second[..]);
    h.shutdown().await;
}

#[tokio::test]
async fn an_aborted_multipart_upload_leaves_no_object_and_forgets_the_upload() {
    let h = Harness::start_ipv4().await;
    let c = credentials();
    h.create_bucket("aborts").await;
    let created = h
        .signed(
            &c,
            Call::new("POST", "/aborts/gone.bin").query(&[("uploads", "")]),
        )
        .await;
    let upload_id = xml_value(&created.text(), "UploadId").expect("an UploadId");
    let part = h
        .signed(
            &c,
            Call::new("PUT", "/aborts/gone.bin")
                .query(&[("partNumber", "1"), ("uploadId", &upload_id)])
                .body(b"part one"),
        )
        .await;
    assert_eq!(part.status, 200, "{}", part.text());
    let abort = h
        .signed(
            &c,
            Call::new("DELETE", "/aborts/gone.bin").query(&[("uploadId", &upload_id)]),
        )
        .await;
    assert_eq!(abort.status, 204, "{}", abort.text());
    assert_eq!(h.get("aborts", "gone.bin").await.status, 404);
    let again = h
        .signed(
            &c,
            Call::new("PUT", "/aborts/gone.bin")
                .query(&[("partNumber", "2"), ("uploadId", &upload_id)])
                .body(b"late part"),
        )
        .await;
    assert!(
        again.status >= 400,
        "a part for an aborted upload is refused: {}",
        again.text()
    );
    h.shutdown().await;
}

/// Builds an aws-chunked body from `chunks`, each signed in order, ending with the empty
/// final chunk.
fn chunked_body(chunk_signer: &mut ChunkSigner, chunks: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    for chunk in chunks.iter().copied().chain([&[][..]]) {
        let signature = chunk_signer.sign_chunk(chunk).to_owned();
        body.extend_from_slice(ChunkSigner::chunk_header(chunk.len(), &signature).as_bytes());
        body.extend_from_slice(chunk);
        body.extend_from_slice(b"\r\n");
    }
    body
}

/// Sends a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` PUT of `data` in 64 KiB chunks; `tamper`
/// may change the encoded body after signing.
async fn streaming_put(
    h: &Harness,
    path: &str,
    data: &[u8],
    tamper: impl FnOnce(&mut Vec<u8>),
) -> Reply {
    let c = credentials();
    let chunks: Vec<&[u8]> = data.chunks(64 * 1024).collect();
    // The encoded length is known before signing: headers, data, CRLFs, final chunk.
    let encoded_len: usize = chunks
        .iter()
        .map(|chunk| {
            ChunkSigner::chunk_header(chunk.len(), &"0".repeat(64)).len() + chunk.len() + 2
        })
        .sum::<usize>()
        + ChunkSigner::chunk_header(0, &"0".repeat(64)).len()
        + 2;
    let encoded_len = encoded_len.to_string();
    let decoded_len = data.len().to_string();
    let host = h.host();
    let headers = [
        ("host", host.as_str()),
        ("content-encoding", "aws-chunked"),
        ("content-length", encoded_len.as_str()),
        ("x-amz-decoded-content-length", decoded_len.as_str()),
    ];
    let mut encoded_path = String::new();
    encode::encode_path(path, &mut encoded_path);
    let time = SigningTime::now();
    let seed = h.signer.sign_headers(
        &c,
        &SignableRequest {
            method: "PUT",
            path: &encoded_path,
            query: &[],
            headers: &headers,
            payload: Payload::StreamingSigned,
        },
        time,
    );
    let mut chunk_signer = h.signer.chunk_signer(&c, time, &seed);
    let mut body = chunked_body(&mut chunk_signer, &chunks);
    assert_eq!(body.len().to_string(), encoded_len);
    tamper(&mut body);
    let mut all = headers.to_vec();
    all.push(("x-amz-date", time.amz_date()));
    all.push(("x-amz-content-sha256", Payload::StreamingSigned.as_str()));
    all.push(("authorization", seed.authorization()));
    h.raw("PUT", &encoded_path, &all, &body).await
}

#[tokio::test]
async fn a_streaming_chunk_signed_upload_is_verified_and_stored_decoded() {
    let h = Harness::start_ipv4().await;
    h.create_bucket("chunks").await;
    let data = pattern(150_000);
    let reply = streaming_put(&h, "/chunks/streamed.bin", &data, |_| {}).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let got = h.get("chunks", "streamed.bin").await;
    assert_eq!(got.body.len(), data.len());
    assert!(
        got.body == data,
        "the stored object is the decoded data, not the chunk framing"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_tampered_chunk_is_refused_and_nothing_is_stored() {
    let h = Harness::start_ipv4().await;
    h.create_bucket("chunks").await;
    let data = pattern(150_000);
    let reply = streaming_put(&h, "/chunks/tampered.bin", &data, |body| {
        // A byte inside the second chunk's data.
        let i = body.len() / 2;
        body[i] ^= 0x55;
    })
    .await;
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert_eq!(reply.error_code().as_deref(), Some("SignatureDoesNotMatch"));
    assert_eq!(h.get("chunks", "tampered.bin").await.status, 404);
    assert!(!h.root.path().join("chunks/tampered.bin").exists());
    h.shutdown().await;
}

fn presigned_get(h: &Harness, path: &str, time: SigningTime, expires: Duration) -> String {
    let mut encoded_path = String::new();
    encode::encode_path(path, &mut encoded_path);
    let host = h.host();
    let query = h
        .signer
        .presign(
            &credentials(),
            &SignableRequest {
                method: "GET",
                path: &encoded_path,
                query: &[],
                headers: &[("host", host.as_str())],
                payload: Payload::Unsigned,
            },
            time,
            expires,
        )
        .expect("a presigned query");
    format!("{encoded_path}?{query}")
}

#[tokio::test]
async fn a_presigned_get_is_accepted_and_tampered_or_expired_ones_are_refused() {
    let h = Harness::start_ipv4().await;
    h.create_bucket("shared").await;
    h.put("shared", "report 2026.pdf", b"%PDF-1.7 pretend")
        .await;
    let host = h.host();

    let url = presigned_get(
        &h,
        "/shared/report 2026.pdf",
        SigningTime::now(),
        Duration::from_secs(300),
    );
    let ok = h.raw("GET", &url, &[("host", &host)], b"").await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(&ok.body[..], b"%PDF-1.7 pretend");

    let mut tampered = url.clone();
    let last = tampered.pop().expect("a signature");
    tampered.push(if last == '0' { '1' } else { '0' });
    let refused = h.raw("GET", &tampered, &[("host", &host)], b"").await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert_eq!(
        refused.error_code().as_deref(),
        Some("SignatureDoesNotMatch")
    );

    let two_hours_ago = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs()
        - 7200;
    let stale = presigned_get(
        &h,
        "/shared/report 2026.pdf",
        SigningTime::from_unix_seconds(two_hours_ago),
        Duration::from_secs(60),
    );
    let expired = h.raw("GET", &stale, &[("host", &host)], b"").await;
    assert_eq!(expired.status, 403, "{}", expired.text());
    assert_eq!(expired.error_code().as_deref(), Some("AccessDenied"));
    h.shutdown().await;
}

#[tokio::test]
async fn one_keep_alive_connection_carries_several_requests_and_shutdown_closes_it() {
    let h = Harness::start_ipv4().await;
    h.create_bucket("alive").await;
    h.put("alive", "k", b"v").await;
    let stream = tokio::time::timeout(
        REQUEST_TIMEOUT,
        tokio::net::TcpStream::connect(h.endpoint.local_addr()),
    )
    .await
    .expect("connects in time")
    .expect("connects");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("an HTTP/1.1 handshake");
    let connection = tokio::spawn(connection);

    for round in 0..3 {
        let request = h.signed_request("GET", "/alive/k", &[]);
        let exchange = async {
            sender.ready().await.expect("the connection stays open");
            let response = sender.send_request(request).await.expect("a response");
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .expect("a body")
                .to_bytes();
            (status, body)
        };
        let (status, body) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| panic!("request {round} on the kept-alive connection timed out"));
        assert_eq!(status, 200, "round {round}");
        assert_eq!(&body[..], b"v");
    }

    // Shutdown closes the idle keep-alive connection at once instead of waiting out the
    // grace period.
    let started = std::time::Instant::now();
    h.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        started.elapsed()
    );
    tokio::time::timeout(Duration::from_secs(5), connection)
        .await
        .expect("the server closed the kept-alive connection")
        .expect("the connection task did not panic")
        .expect("the connection closed cleanly");
}

/// Starts a multipart upload of `bucket/key` and returns its id.
async fn create_upload(h: &Harness, bucket: &str, key: &str) -> String {
    let created = h
        .signed(
            &credentials(),
            Call::new("POST", &format!("/{bucket}/{key}")).query(&[("uploads", "")]),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text());
    xml_value(&created.text(), "UploadId").expect("an UploadId")
}

#[tokio::test]
async fn list_multipart_uploads_shows_open_uploads_only_with_prefix_and_paging() {
    let h = Harness::start_ipv4().await;
    let c = credentials();
    h.create_bucket("pending").await;
    h.create_bucket("elsewhere").await;
    let keys = [
        "logs/2026/01.gz",
        "logs/2026/02.gz",
        "photos/ça va?.jpg",
        "top.bin",
    ];
    let mut ids = Vec::new();
    for key in keys {
        ids.push(create_upload(&h, "pending", key).await);
    }
    create_upload(&h, "elsewhere", "not-listed.bin").await;
    // A completed and an aborted upload are no longer open.
    let finished = create_upload(&h, "pending", "done.bin").await;
    let part = h
        .signed(
            &c,
            Call::new("PUT", "/pending/done.bin")
                .query(&[("partNumber", "1"), ("uploadId", &finished)])
                .body(b"small"),
        )
        .await;
    let etag = part.header("etag").expect("an ETag").to_owned();
    let complete = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    );
    let done = h
        .signed(
            &c,
            Call::new("POST", "/pending/done.bin")
                .query(&[("uploadId", &finished)])
                .body(complete.as_bytes()),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text());
    let aborted = create_upload(&h, "pending", "aborted.bin").await;
    let abort = h
        .signed(
            &c,
            Call::new("DELETE", "/pending/aborted.bin").query(&[("uploadId", &aborted)]),
        )
        .await;
    assert_eq!(abort.status, 204, "{}", abort.text());

    let all = h
        .signed(&c, Call::new("GET", "/pending").query(&[("uploads", "")]))
        .await;
    assert_eq!(all.status, 200, "{}", all.text());
    let text = all.text();
    assert_eq!(text.matches("<Upload>").count(), 4, "{text}");
    for (key, id) in keys.iter().zip(&ids) {
        assert!(
            text.contains(&format!("<Key>{key}</Key>")),
            "{key} in {text}"
        );
        assert!(
            text.contains(&format!("<UploadId>{id}</UploadId>")),
            "{text}"
        );
    }
    assert!(
        !text.contains("done.bin") && !text.contains("aborted.bin") && !text.contains("not-listed")
    );
    assert!(text.contains("<IsTruncated>false</IsTruncated>"), "{text}");

    let logs = h
        .signed(
            &c,
            Call::new("GET", "/pending").query(&[("prefix", "logs%2F"), ("uploads", "")]),
        )
        .await;
    assert_eq!(
        logs.text().matches("<Upload>").count(),
        2,
        "{}",
        logs.text()
    );

    let grouped = h
        .signed(
            &c,
            Call::new("GET", "/pending").query(&[("delimiter", "%2F"), ("uploads", "")]),
        )
        .await;
    let text = grouped.text();
    assert!(text.contains("<Prefix>logs/</Prefix>"), "{text}");
    assert!(text.contains("<Prefix>photos/</Prefix>"), "{text}");
    assert_eq!(text.matches("<Upload>").count(), 1, "only top.bin: {text}");

    // Two per page: the markers lead through all four, each once.
    let mut seen = Vec::new();
    let (mut key_marker, mut id_marker) = (String::new(), String::new());
    for _page in 0..4 {
        let mut key_enc = String::new();
        encode::encode_query_component(&key_marker, &mut key_enc);
        let query = [
            ("key-marker", key_enc.as_str()),
            ("max-uploads", "2"),
            ("upload-id-marker", id_marker.as_str()),
            ("uploads", ""),
        ];
        let page = h
            .signed(&c, Call::new("GET", "/pending").query(&query))
            .await;
        assert_eq!(page.status, 200, "{}", page.text());
        let text = page.text();
        for chunk in text.split("<Upload>").skip(1) {
            seen.push(xml_value(chunk, "Key").expect("a key"));
        }
        if !text.contains("<IsTruncated>true</IsTruncated>") {
            break;
        }
        key_marker = xml_value(&text, "NextKeyMarker").expect("a next key marker");
        id_marker = xml_value(&text, "NextUploadIdMarker").expect("a next upload id marker");
    }
    let mut expected: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(seen, expected);

    let missing = h
        .signed(
            &c,
            Call::new("GET", "/no-such-bucket").query(&[("uploads", "")]),
        )
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text());
    h.shutdown().await;
}

#[tokio::test]
async fn list_parts_gives_sorted_parts_with_etags_pages_and_refuses_unknown_uploads() {
    let h = Harness::start_ipv4().await;
    let c = credentials();
    h.create_bucket("parts").await;
    let id = create_upload(&h, "parts", "object.bin").await;
    let mut etags = std::collections::BTreeMap::new();
    for number in [3, 1, 2] {
        let n = number.to_string();
        let body = pattern(1000 * number);
        let reply = h
            .signed(
                &c,
                Call::new("PUT", "/parts/object.bin")
                    .query(&[("partNumber", &n), ("uploadId", &id)])
                    .body(&body),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        etags.insert(number, reply.header("etag").expect("an ETag").to_owned());
    }

    let all = h
        .signed(
            &c,
            Call::new("GET", "/parts/object.bin").query(&[("uploadId", &id)]),
        )
        .await;
    assert_eq!(all.status, 200, "{}", all.text());
    let listed: Vec<(String, String)> = all
        .text()
        .split("<Part>")
        .skip(1)
        .map(|p| {
            (
                xml_value(p, "PartNumber").unwrap(),
                xml_value(p, "ETag").unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = etags
        .iter()
        .map(|(n, e)| (n.to_string(), e.replace("&quot;", "\"")))
        .collect();
    let listed: Vec<(String, String)> = listed
        .into_iter()
        .map(|(n, e)| (n, e.replace("&quot;", "\"")))
        .collect();
    assert_eq!(
        listed, expected,
        "sorted by number, each with the ETag UploadPart gave"
    );

    let page = h
        .signed(
            &c,
            Call::new("GET", "/parts/object.bin").query(&[
                ("max-parts", "1"),
                ("part-number-marker", "1"),
                ("uploadId", &id),
            ]),
        )
        .await;
    let text = page.text();
    assert_eq!(text.matches("<Part>").count(), 1, "{text}");
    assert_eq!(
        xml_value(text.split("<Part>").nth(1).unwrap(), "PartNumber").as_deref(),
        Some("2")
    );
    assert!(text.contains("<IsTruncated>true</IsTruncated>"), "{text}");
    assert_eq!(
        xml_value(&text, "NextPartNumberMarker").as_deref(),
        Some("2")
    );

    let unknown = h
        .signed(
            &c,
            Call::new("GET", "/parts/object.bin")
                .query(&[("uploadId", "00000000-0000-4000-8000-000000000000")]),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text());
    assert_eq!(unknown.error_code().as_deref(), Some("NoSuchUpload"));
    h.shutdown().await;
}

/// How a test part carries its checksum: the extra headers, the body as sent, and whether
/// that body is aws-chunked.
type Framed = (Vec<(&'static str, String)>, Vec<u8>, bool);

/// Uploads `data` as part 1 with a wrong `algorithm` checksum and as part 2 with the right
/// one, each as `frame` lays the value out; asserts part 1 is refused with BadDigest and not
/// kept, and part 2 is taken.
async fn wrong_then_right_part(
    bucket: &str,
    algorithm: ferry::checksum::ChecksumAlgorithm,
    data: &[u8],
    frame: impl Fn(&str) -> Framed,
) {
    use ferry::checksum::checksum_of;
    let h = Harness::start_ipv4().await;
    let c = credentials();
    h.create_bucket(bucket).await;
    let id = create_upload(&h, bucket, "object.bin").await;
    let path = format!("/{bucket}/object.bin");
    let right = checksum_of(algorithm, data).base64();
    let wrong = checksum_of(algorithm, b"other bytes").base64();
    for (number, value, status) in [("1", &wrong, 400), ("2", &right, 200)] {
        let (headers, body, aws_chunked) = frame(value);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let query = [("partNumber", number), ("uploadId", id.as_str())];
        let call = Call::new("PUT", &path)
            .query(&query)
            .headers(&headers)
            .body(&body);
        let reply = if aws_chunked {
            h.signed_with_payload(&c, call, Payload::StreamingUnsignedTrailer, &h.host())
                .await
        } else {
            h.signed(&c, call).await
        };
        assert_eq!(reply.status, status, "part {number}: {}", reply.text());
        if status == 400 {
            assert_eq!(
                xml_value(&reply.text(), "Code").as_deref(),
                Some("BadDigest")
            );
        }
    }
    let listed = h
        .signed(&c, Call::new("GET", &path).query(&[("uploadId", &id)]))
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text());
    let numbers: Vec<String> = listed
        .text()
        .split("<Part>")
        .skip(1)
        .filter_map(|p| xml_value(p, "PartNumber"))
        .collect();
    assert_eq!(numbers, ["2"], "the refused part is not kept");
}

#[tokio::test]
async fn a_part_whose_checksum_header_does_not_match_is_refused_bad_digest_and_not_kept() {
    let data = pattern(70_000);
    wrong_then_right_part(
        "sums",
        ferry::checksum::ChecksumAlgorithm::Crc64Nvme,
        &data,
        |value| {
            let headers = vec![("x-amz-checksum-crc64nvme", value.to_owned())];
            (headers, data.clone(), false)
        },
    )
    .await;
}

#[tokio::test]
async fn a_part_sent_aws_chunked_is_checked_against_its_trailing_checksum() {
    let data = pattern(40_000);
    wrong_then_right_part(
        "trail",
        ferry::checksum::ChecksumAlgorithm::Crc32c,
        &data,
        |value| {
            let framed = aws_chunked_with_trailer(&data, 16_384, "x-amz-checksum-crc32c", value);
            let headers = vec![
                ("content-encoding", "aws-chunked".to_owned()),
                ("x-amz-decoded-content-length", data.len().to_string()),
                ("x-amz-trailer", "x-amz-checksum-crc32c".to_owned()),
                ("x-amz-sdk-checksum-algorithm", "CRC32C".to_owned()),
            ];
            (headers, framed, true)
        },
    )
    .await;
}

#[tokio::test]
async fn deleting_a_bucket_that_holds_objects_is_refused_and_an_emptied_one_is_deleted() {
    let h = Harness::start_ipv4().await;
    let c = credentials();
    h.create_bucket("full").await;
    h.put("full", "deep/down/file.txt", b"still here").await;
    let refused = h.signed(&c, Call::new("DELETE", "/full")).await;
    assert_eq!(refused.status, 409, "{}", refused.text());
    assert_eq!(refused.error_code().as_deref(), Some("BucketNotEmpty"));
    assert_eq!(
        &h.get("full", "deep/down/file.txt").await.body[..],
        b"still here"
    );

    let delete = h
        .signed(&c, Call::new("DELETE", "/full/deep/down/file.txt"))
        .await;
    assert_eq!(delete.status, 204, "{}", delete.text());
    // Only empty directories remain: the bucket counts as empty.
    let dropped = h.signed(&c, Call::new("DELETE", "/full")).await;
    assert_eq!(dropped.status, 204, "{}", dropped.text());
    assert!(!h.root.path().join("full").exists());
    h.shutdown().await;
}

/// A conditional request: method, headers, the status expected.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], u16);

/// Sends `request` on an HTTP/1.1 connection of one's own and reads the whole answer.
async fn exchange(
    sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    request: http::Request<Full<Bytes>>,
) -> Reply {
    let round_trip = async {
        sender.ready().await.expect("the connection stays open");
        let response = sender.send_request(request).await.expect("a response");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        Reply {
            status,
            headers,
            body,
        }
    };
    tokio::time::timeout(REQUEST_TIMEOUT, round_trip)
        .await
        .expect("answered within the timeout")
}

#[tokio::test]
async fn conditional_gets_and_heads_answer_412_and_304_as_s3_does() {
    let h = Harness::start_ipv4().await;
    h.create_bucket("cond").await;
    h.put("cond", "obj", b"conditional body").await;
    let stream = tokio::time::timeout(
        REQUEST_TIMEOUT,
        tokio::net::TcpStream::connect(h.endpoint.local_addr()),
    )
    .await
    .expect("connects in time")
    .expect("connects");
    // One connection for everything: a 304 that carried a body would break the next answer.
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("an HTTP/1.1 handshake");
    let connection = tokio::spawn(connection);

    let head = exchange(&mut sender, h.signed_request("HEAD", "/cond/obj", &[])).await;
    assert_eq!(head.status, 200);
    let etag = head.header("etag").expect("an ETag").to_owned();
    let last_modified = head
        .header("last-modified")
        .expect("Last-Modified")
        .to_owned();
    const LONG_AGO: &str = "Mon, 01 Jan 2001 00:00:00 GMT";

    let cases: [Case<'_>; 12] = [
        ("GET", &[("if-match", &etag)], 200),
        ("GET", &[("if-match", "\"not-the-etag\"")], 412),
        (
            "GET",
            &[("if-match", "\"not-the-etag\""), ("range", "bytes=0-3")],
            412,
        ),
        ("GET", &[("if-match", "*")], 200),
        ("GET", &[("if-none-match", &etag)], 304),
        ("GET", &[("if-none-match", "\"other\"")], 200),
        ("GET", &[("if-modified-since", &last_modified)], 304),
        ("GET", &[("if-modified-since", LONG_AGO)], 200),
        ("GET", &[("if-unmodified-since", LONG_AGO)], 412),
        // Last-Modified is sent in whole seconds: the object is unmodified since then.
        ("GET", &[("if-unmodified-since", &last_modified)], 200),
        // If-Match wins over If-Unmodified-Since.
        (
            "GET",
            &[("if-match", &etag), ("if-unmodified-since", LONG_AGO)],
            200,
        ),
        ("HEAD", &[("if-match", "\"not-the-etag\"")], 412),
    ];
    for (method, headers, status) in cases {
        let reply = exchange(&mut sender, h.signed_request(method, "/cond/obj", headers)).await;
        assert_eq!(
            reply.status,
            status,
            "{method} {headers:?}: {}",
            reply.text()
        );
        match status {
            200 if method == "GET" => assert_eq!(&reply.body[..], b"conditional body"),
            304 => {
                assert!(reply.body.is_empty(), "a 304 has no body: {}", reply.text());
                assert_eq!(reply.header("etag"), Some(etag.as_str()));
            }
            412 if method == "GET" => {
                assert_eq!(reply.error_code().as_deref(), Some("PreconditionFailed"));
            }
            _ => {}
        }
    }
    let head_304 = exchange(
        &mut sender,
        h.signed_request("HEAD", "/cond/obj", &[("if-none-match", &etag)]),
    )
    .await;
    assert_eq!(head_304.status, 304);
    drop(sender);
    let _ = tokio::time::timeout(LIFECYCLE_TIMEOUT, connection).await;
    h.shutdown().await;
}

#[tokio::test]
async fn any_signing_region_is_accepted_since_the_endpoint_has_none() {
    let h = Harness::start_ipv4().await;
    let host = h.host();
    let time = SigningTime::now();
    let signature = Signer::s3("eu-west-3").sign_headers(
        &credentials(),
        &SignableRequest {
            method: "GET",
            path: "/",
            query: &[],
            headers: &[("host", host.as_str())],
            payload: Payload::Empty,
        },
        time,
    );
    let reply = h
        .raw(
            "GET",
            "/",
            &[
                ("host", &host),
                ("x-amz-date", time.amz_date()),
                ("x-amz-content-sha256", Payload::Empty.as_str()),
                ("authorization", signature.authorization()),
            ],
            b"",
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    h.shutdown().await;
}

/// The `<Key>`s of an S3 XML answer (ListObjects contents or DeleteObjects results).
fn xml_keys(xml: &str) -> Vec<String> {
    xml.split("<Key>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</Key>").map(|(key, _)| key.to_owned()))
        .collect()
}

#[tokio::test]
async fn a_key_naming_a_directory_of_objects_is_not_found_for_head_get_and_copy() {
    let h = Harness::start_ipv4().await;
    let c = credentials();
    h.create_bucket("bench").await;
    h.put("bench", "small/a.bin", b"object below").await;

    for path in ["/bench/small", "/bench/small/", "/bench/small/a.bin/"] {
        let head = h.signed(&c, Call::new("HEAD", path)).await;
        assert_eq!(head.status, 404, "HEAD {path}: {}", head.text());
        let get = h.signed(&c, Call::new("GET", path)).await;
        assert_eq!(get.status, 404, "GET {path}: {}", get.text());
        assert_eq!(get.error_code().as_deref(), Some("NoSuchKey"), "GET {path}");
    }

    let copy = h
        .signed(
            &c,
            Call::new("PUT", "/bench/copied").headers(&[("x-amz-copy-source", "/bench/small")]),
        )
        .await;
    assert_eq!(copy.status, 404, "{}", copy.text());
    assert_eq!(copy.error_code().as_deref(), Some("NoSuchKey"));
    assert_eq!(h.get("bench", "copied").await.status, 404);

    let upload_id = create_upload(&h, "bench", "parts.bin").await;
    let part_copy = h
        .signed(
            &c,
            Call::new("PUT", "/bench/parts.bin")
                .query(&[("partNumber", "1"), ("uploadId", &upload_id)])
                .headers(&[("x-amz-copy-source", "/bench/small")]),
        )
        .await;
    assert_eq!(part_copy.status, 404, "{}", part_copy.text());
    assert_eq!(part_copy.error_code().as_deref(), Some("NoSuchKey"));

    // The object below is untouched and still served.
    assert_eq!(
        &h.get("bench", "small/a.bin").await.body[..],
        b"object below"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn deleting_a_key_that_names_a_directory_answers_204_and_keeps_the_objects_below() {
    let h = Harness::start_ipv4().await;
    let c = credentials();
    h.create_bucket("bench").await;
    h.put("bench", "small/a.bin", b"keep me").await;
    h.put("bench", "gone.bin", b"delete me").await;

    for path in ["/bench/small", "/bench/small/a.bin/"] {
        let delete = h.signed(&c, Call::new("DELETE", path)).await;
        assert_eq!(delete.status, 204, "DELETE {path}: {}", delete.text());
    }

    let batch = b"<Delete><Object><Key>small</Key></Object>\
        <Object><Key>small/a.bin/</Key></Object><Object><Key>gone.bin</Key></Object></Delete>";
    let deleted = h
        .signed(
            &c,
            Call::new("POST", "/bench")
                .query(&[("delete", "")])
                .body(batch),
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    assert!(!deleted.text().contains("<Error>"), "{}", deleted.text());
    assert_eq!(
        xml_keys(&deleted.text()),
        ["small", "small/a.bin/", "gone.bin"],
        "{}",
        deleted.text()
    );

    assert_eq!(&h.get("bench", "small/a.bin").await.body[..], b"keep me");
    assert_eq!(h.get("bench", "gone.bin").await.status, 404);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listing_never_fails_while_objects_under_the_prefix_are_deleted() {
    const OBJECTS: usize = 2000;
    const DELETERS: usize = 4;
    const BATCH: usize = 50;
    /// The most listings sent, however long the deletions take.
    const MAX_LISTINGS: usize = 400;
    const WHOLE_TEST: Duration = Duration::from_secs(120);

    let h = Harness::start_ipv4().await;
    let c = credentials();
    h.create_bucket("churn").await;
    // Written straight into the served directory: quicker than 2,000 PUTs, and the same
    // objects to the endpoint.
    let dir = h.root.path().join("churn").join("small");
    std::fs::create_dir_all(&dir).unwrap();
    let body = pattern(16 * 1024);
    let keys: Vec<String> = (0..OBJECTS).map(|i| format!("small/{i:05}.bin")).collect();
    for i in 0..OBJECTS {
        std::fs::write(dir.join(format!("{i:05}.bin")), &body).unwrap();
    }

    let done = std::sync::atomic::AtomicBool::new(false);
    let delete_share = |share: usize| {
        let (h, c, keys) = (&h, &c, &keys);
        async move {
            let mine: Vec<&String> = keys.iter().skip(share).step_by(DELETERS).collect();
            for batch in mine.chunks(BATCH) {
                let mut xml = String::from("<Delete><Quiet>true</Quiet>");
                for key in batch {
                    xml.push_str(&format!("<Object><Key>{key}</Key></Object>"));
                }
                xml.push_str("</Delete>");
                let reply = h
                    .signed(
                        c,
                        Call::new("POST", "/churn")
                            .query(&[("delete", "")])
                            .body(xml.as_bytes()),
                    )
                    .await;
                assert_eq!(reply.status, 200, "DeleteObjects: {}", reply.text());
            }
        }
    };
    let deleters = async {
        tokio::join!(
            delete_share(0),
            delete_share(1),
            delete_share(2),
            delete_share(3)
        );
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let lister = async {
        let queries: [&[(&str, &str)]; 3] = [
            &[("list-type", "2"), ("prefix", "small%2F")],
            &[
                ("delimiter", "%2F"),
                ("list-type", "2"),
                ("prefix", "small%2F"),
            ],
            &[("prefix", "small%2F")],
        ];
        let mut failures = Vec::new();
        let mut listings = 0;
        while listings < MAX_LISTINGS && !done.load(std::sync::atomic::Ordering::SeqCst) {
            let query = queries[listings % queries.len()];
            let reply = h.signed(&c, Call::new("GET", "/churn").query(query)).await;
            if reply.status != 200 {
                failures.push(format!("{query:?}: {} {}", reply.status, reply.text()));
            }
            listings += 1;
        }
        (listings, failures)
    };
    let ((), (listings, failures)) =
        tokio::time::timeout(WHOLE_TEST, async { tokio::join!(deleters, lister) })
            .await
            .expect("the deletions and listings finish in time");
    assert!(listings > 0);
    assert!(
        failures.is_empty(),
        "{listings} listings, failed: {failures:#?}"
    );

    let after = h
        .signed(
            &c,
            Call::new("GET", "/churn").query(&[("list-type", "2"), ("prefix", "small%2F")]),
        )
        .await;
    assert_eq!(after.status, 200, "{}", after.text());
    assert_eq!(xml_value(&after.text(), "KeyCount").as_deref(), Some("0"));
    h.shutdown().await;
}

/// Sends a signed UploadPart (unsigned payload) that declares `declared` bytes, writes only
/// `sent` of them, closes the writing half as a client that gives up does (a hedged part
/// whose twin won), and returns the status line the endpoint answers, if any.
async fn cut_short_upload_part(
    h: &Harness,
    path: &str,
    upload_id: &str,
    declared: usize,
    sent: usize,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = h.host();
    let length = declared.to_string();
    let query = [("partNumber", "1"), ("uploadId", upload_id)];
    let headers = [("host", host.as_str()), ("content-length", length.as_str())];
    let time = SigningTime::now();
    let signature = h.signer.sign_headers(
        &credentials(),
        &SignableRequest {
            method: "PUT",
            path,
            query: &query,
            headers: &headers,
            payload: Payload::Unsigned,
        },
        time,
    );
    let head = format!(
        "PUT {path}?partNumber=1&uploadId={upload_id} HTTP/1.1\r\nhost: {host}\r\n\
         content-length: {length}\r\nx-amz-date: {}\r\nx-amz-content-sha256: {}\r\n\
         authorization: {}\r\n\r\n",
        time.amz_date(),
        Payload::Unsigned.as_str(),
        signature.authorization()
    );
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(h.endpoint.local_addr())
            .await
            .expect("connect");
        stream.write_all(head.as_bytes()).await.expect("head");
        stream.write_all(&pattern(sent)).await.expect("body");
        stream.shutdown().await.expect("half-close");
        let mut answer = Vec::new();
        // The endpoint may answer, or just close: both end the read.
        let _ = stream.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .expect("the endpoint ends the exchange within the timeout")
}

#[tokio::test]
async fn a_part_upload_the_client_abandons_midway_is_no_server_fault_and_stores_nothing() {
    let h = Harness::start_ipv4().await;
    h.create_bucket("hedge").await;
    let upload_id = create_upload(&h, "hedge", "big.bin").await;
    let status = cut_short_upload_part(&h, "/hedge/big.bin", &upload_id, 1 << 20, 1 << 16).await;
    // 400 IncompleteBody (or no answer at all), never a 5xx the endpoint logs as its fault.
    assert!(
        status.is_empty() || status.starts_with("HTTP/1.1 400"),
        "{status:?}"
    );
    let part = h.root.path().join(format!(".upload_id-{upload_id}.part-1"));
    assert!(!part.exists(), "an incomplete part was kept");
    h.shutdown().await;
}

#[tokio::test]
async fn writes_into_a_bucket_nobody_made_are_no_such_bucket_and_make_no_bucket() {
    let h = Harness::start_ipv4().await;
    let c = credentials();
    h.create_bucket("made").await;
    h.put("made", "src", b"source").await;
    let put = h
        .signed(&c, Call::new("PUT", "/never-made/k").body(b"data"))
        .await;
    assert_eq!(
        put.error_code().as_deref(),
        Some("NoSuchBucket"),
        "{}",
        put.text()
    );
    let create = h
        .signed(
            &c,
            Call::new("POST", "/never-made/big").query(&[("uploads", "")]),
        )
        .await;
    assert_eq!(
        create.error_code().as_deref(),
        Some("NoSuchBucket"),
        "{}",
        create.text()
    );
    let copy = h
        .signed(
            &c,
            Call::new("PUT", "/never-made/copy").headers(&[("x-amz-copy-source", "/made/src")]),
        )
        .await;
    assert_eq!(
        copy.error_code().as_deref(),
        Some("NoSuchBucket"),
        "{}",
        copy.text()
    );
    assert!(
        !h.root.path().join("never-made").exists(),
        "no bucket directory appeared"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_small_put_keeps_its_metadata_headers_and_checksum_for_head_and_get() {
    use ferry::checksum::{ChecksumAlgorithm, checksum_of};
    let h = Harness::start_ipv4().await;
    let c = credentials();
    h.create_bucket("attrs").await;
    let body = pattern(20_000);
    let crc = checksum_of(ChecksumAlgorithm::Crc32c, &body).base64();
    let headers = [
        ("x-amz-meta-colour", "teal"),
        ("content-type", "image/png"),
        ("cache-control", "max-age=60"),
        ("content-disposition", "attachment"),
        ("content-language", "fr"),
        ("expires", "Wed, 01 Jan 2031 00:00:00 GMT"),
        ("x-amz-checksum-crc32c", crc.as_str()),
    ];
    let md5 = format!("\"{}\"", ferry::s3::etag::md5_of_bytes(&body));
    // The second PUT, made conditional, goes through `s3s-fs`'s own writer: both writers'
    // records are read back alike by both readers (HEAD is `s3s-fs`'s, a whole GET ferry's).
    let mut conditional = headers.to_vec();
    conditional.push(("if-none-match", "*"));
    for (path, headers) in [
        ("/attrs/a.png", headers.to_vec()),
        ("/attrs/b.png", conditional),
    ] {
        let put = h
            .signed(&c, Call::new("PUT", path).headers(&headers).body(&body))
            .await;
        assert_eq!(put.status, 200, "{path}: {}", put.text());
        assert_eq!(put.header("x-amz-checksum-crc32c"), Some(crc.as_str()));
        assert_eq!(put.header("etag"), Some(md5.as_str()), "{path}");
    }

    let mode = [("x-amz-checksum-mode", "ENABLED")];
    for (method, path) in [
        ("HEAD", "/attrs/a.png"),
        ("GET", "/attrs/a.png"),
        ("HEAD", "/attrs/b.png"),
        ("GET", "/attrs/b.png"),
    ] {
        let reply = h.signed(&c, Call::new(method, path).headers(&mode)).await;
        assert_eq!(reply.status, 200, "{method} {path}: {}", reply.text());
        assert_eq!(
            reply.header("x-amz-meta-colour"),
            Some("teal"),
            "{method} {path}"
        );
        assert_eq!(
            reply.header("content-type"),
            Some("image/png"),
            "{method} {path}"
        );
        assert_eq!(
            reply.header("cache-control"),
            Some("max-age=60"),
            "{method} {path}"
        );
        assert_eq!(
            reply.header("content-disposition"),
            Some("attachment"),
            "{method} {path}"
        );
        assert_eq!(
            reply.header("content-language"),
            Some("fr"),
            "{method} {path}"
        );
        assert!(reply.header("expires").is_some_and(|e| e.contains("2031")));
        assert_eq!(reply.header("etag"), Some(md5.as_str()), "{method} {path}");
        assert_eq!(
            reply.header("x-amz-checksum-crc32c"),
            Some(crc.as_str()),
            "{method} {path}"
        );
    }
    assert!(h.get("attrs", "a.png").await.body == body);

    // A PUT without attributes replaces the object's: none are left over.
    let put = h.put("attrs", "a.png", b"plain").await;
    assert_eq!(put.status, 200, "{}", put.text());
    let head = h.signed(&c, Call::new("HEAD", "/attrs/a.png")).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("x-amz-meta-colour"), None);
    assert_eq!(head.header("cache-control"), None);
    assert_eq!(head.header("content-length"), Some("5"));
    h.shutdown().await;
}

/// `data` as one aws-chunked chunk followed by an `x-amz-checksum-crc64nvme` trailer of
/// `value`.
fn one_chunk_with_crc64_trailer(data: &[u8], value: &str) -> Vec<u8> {
    aws_chunked_with_trailer(data, data.len(), "x-amz-checksum-crc64nvme", value)
}

/// `data` framed aws-chunked (unsigned) in chunks of `chunk` bytes, then the trailer
/// `name: value`.
fn aws_chunked_with_trailer(data: &[u8], chunk: usize, name: &str, value: &str) -> Vec<u8> {
    let mut framed = Vec::new();
    for piece in data.chunks(chunk) {
        framed.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        framed.extend_from_slice(piece);
        framed.extend_from_slice(b"\r\n");
    }
    framed.extend_from_slice(format!("0\r\n{name}:{value}\r\n\r\n").as_bytes());
    framed
}

#[tokio::test]
async fn a_put_whose_checksum_or_content_md5_does_not_match_is_refused_and_the_old_object_stays() {
    use base64::Engine;
    use ferry::checksum::{ChecksumAlgorithm, checksum_of};
    let h = Harness::start_ipv4().await;
    let c = credentials();
    h.create_bucket("guard").await;
    // Held whole in memory, and streamed to a temporary file (over 1 MiB).
    for (key, old_len, new_len) in [("k", 5_000, 6_000), ("big", 2_000_000, 2_100_003)] {
        let path = format!("/guard/{key}");
        let old = pattern(old_len);
        let put = h.put("guard", key, &old).await;
        assert_eq!(put.status, 200);
        let old_etag = put.header("etag").map(str::to_owned);

        let new = pattern(new_len);
        let wrong_crc = checksum_of(ChecksumAlgorithm::Crc64Nvme, b"not it").base64();
        let wrong_md5 = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        let framed = one_chunk_with_crc64_trailer(&new, &wrong_crc);
        let decoded_length = new.len().to_string();
        let trailer_headers = [
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", decoded_length.as_str()),
            ("x-amz-trailer", "x-amz-checksum-crc64nvme"),
            ("x-amz-sdk-checksum-algorithm", "CRC64NVME"),
        ];
        let header_crc = [("x-amz-checksum-crc64nvme", wrong_crc.as_str())];
        let header_md5 = [("content-md5", wrong_md5.as_str())];
        let refused = [
            (
                "checksum header",
                h.signed(&c, Call::new("PUT", &path).headers(&header_crc).body(&new))
                    .await,
            ),
            (
                "Content-MD5",
                h.signed(&c, Call::new("PUT", &path).headers(&header_md5).body(&new))
                    .await,
            ),
            (
                "trailing checksum",
                h.signed_with_payload(
                    &c,
                    Call::new("PUT", &path)
                        .headers(&trailer_headers)
                        .body(&framed),
                    Payload::StreamingUnsignedTrailer,
                    &h.host(),
                )
                .await,
            ),
        ];
        for (what, reply) in refused {
            assert_eq!(reply.status, 400, "{key}, {what}: {}", reply.text());
            assert_eq!(
                reply.error_code().as_deref(),
                Some("BadDigest"),
                "{key}, {what}"
            );
            let now = h.get("guard", key).await;
            assert!(now.body == old, "{key}, {what}: the old object stays");
            assert_eq!(now.header("etag"), old_etag.as_deref(), "{key}, {what}");
        }
        // The same framing with the right trailer is taken.
        let right = checksum_of(ChecksumAlgorithm::Crc64Nvme, &new).base64();
        let framed = one_chunk_with_crc64_trailer(&new, &right);
        let reply = h
            .signed_with_payload(
                &c,
                Call::new("PUT", &path)
                    .headers(&trailer_headers)
                    .body(&framed),
                Payload::StreamingUnsignedTrailer,
                &h.host(),
            )
            .await;
        assert_eq!(reply.status, 200, "{key}: {}", reply.text());
        let now = h.get("guard", key).await;
        assert!(now.body == new, "{key}: the new object is stored");
        assert_eq!(
            now.header("x-amz-checksum-crc64nvme"),
            Some(right.as_str()),
            "{key}"
        );
    }
    // Nothing is left behind under a temporary name.
    let temporaries: Vec<_> = std::fs::read_dir(h.root.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp."))
        .collect();
    assert!(temporaries.is_empty(), "{temporaries:?}");
    h.shutdown().await;
}

/// The internal record (ETag and checksums) the endpoint keeps in its root for `bucket/key`,
/// parsed; `None` if there is none.
fn internal_record(
    h: &Harness,
    bucket: &str,
    key: &str,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    use base64::Engine;
    let encode = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let name = format!(
        ".bucket-{}.object-{}.internal.json",
        encode(bucket),
        encode(key)
    );
    let json = std::fs::read(h.root.path().join(name)).ok()?;
    Some(serde_json::from_slice(&json).expect("a JSON record"))
}

#[tokio::test]
async fn a_large_file_put_in_the_root_by_hand_is_hashed_once_and_again_when_it_changes() {
    let h = Harness::start_ipv4().await;
    let c = credentials();
    h.create_bucket("byhand").await;
    let etag = |bytes: &[u8]| format!("\"{}\"", ferry::s3::etag::md5_of_bytes(bytes));
    let file = h.root.path().join("byhand").join("big.bin");
    let first = pattern(3 * 1024 * 1024);
    std::fs::write(&file, &first).unwrap();
    assert!(internal_record(&h, "byhand", "big.bin").is_none());

    let head = h.signed(&c, Call::new("HEAD", "/byhand/big.bin")).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("etag"), Some(etag(&first).as_str()));
    // Recorded where `s3s-fs` reads an ETag from, so it no longer hashes the file.
    let record = internal_record(&h, "byhand", "big.bin").expect("a record after the HEAD");
    assert_eq!(
        record.get("e_tag").and_then(|v| v.as_str()),
        Some(ferry::s3::etag::md5_of_bytes(&first).as_str())
    );
    assert!(record.contains_key("ferry_hashed"), "{record:?}");
    let range = [("range", "bytes=1048576-1048675")];
    // As it was hashed, then changed by hand: another size, so hashed again, never served
    // under the old ETag.
    let second: Vec<u8> = first.iter().rev().copied().chain([7]).collect();
    for (bytes, changed) in [(&first, false), (&second, true)] {
        if changed {
            std::fs::write(&file, bytes).unwrap();
        }
        let part = h
            .signed(&c, Call::new("GET", "/byhand/big.bin").headers(&range))
            .await;
        assert_eq!(part.status, 206, "{}", part.text());
        assert!(part.body[..] == bytes[1_048_576..1_048_676]);
        assert_eq!(part.header("etag"), Some(etag(bytes).as_str()));
    }

    // An uploaded object's record is the upload's, and left as it is.
    let put = h.put("byhand", "uploaded.bin", &first).await;
    assert_eq!(put.status, 200, "{}", put.text());
    let uploaded = internal_record(&h, "byhand", "uploaded.bin").expect("the upload's record");
    let head = h
        .signed(&c, Call::new("HEAD", "/byhand/uploaded.bin"))
        .await;
    assert_eq!(head.header("etag"), Some(etag(&first).as_str()));
    assert_eq!(
        internal_record(&h, "byhand", "uploaded.bin"),
        Some(uploaded),
        "the upload's record was rewritten"
    );
    h.shutdown().await;
}
