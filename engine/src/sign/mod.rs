//! AWS Signature Version 4, as S3 and STS accept it.
//!
//! Signing is pure: a request head, credentials and a time go in, header values or a query
//! string come out; no HTTP client inside. The hot path ([`Signer::sign_headers`]) writes the
//! canonical request straight into SHA-256 blocks on the stack, takes the derived signing key
//! (as HMAC states, with the string to sign's per-second prefix absorbed) from a per-thread
//! cache ([`key_derivations`] counts misses) and allocates only the returned `Authorization`
//! value.
//!
//! * header authentication: [`Signer::sign_headers`], with [`Payload`] modes
//!   `UNSIGNED-PAYLOAD`, the hex SHA-256 of a body, the empty-body hash and the streaming ones;
//! * presigned URLs: [`Signer::presign`] (1 s to 7 days);
//! * streaming chunked uploads: [`ChunkSigner`], chained on the seed signature.

mod canonical;
mod chunked;
pub mod encode;
mod key_cache;
mod presign;
mod sha;
mod time;

pub use canonical::HeaderPair;
pub use chunked::ChunkSigner;
pub use key_cache::{key_derivations, key_derivations_in_process};
pub use presign::{MAX_PRESIGN_EXPIRY, PresignError};
pub use time::SigningTime;

use crate::credentials::Credentials;
use canonical::{HashWriter, name_less, query_less, with_sorted};

/// The algorithm name in the `Authorization` header and the string to sign.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The hex SHA-256 of an empty body.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// What `x-amz-content-sha256` says about the body, and so what the signature covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload<'a> {
    /// `UNSIGNED-PAYLOAD`: the body is not covered (TLS protects it; checksums verify it).
    Unsigned,
    /// No body: the SHA-256 of the empty string.
    Empty,
    /// The lower-case hex SHA-256 of the body (see [`sha256_hex`]).
    Sha256Hex(&'a str),
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: signed chunks follow ([`ChunkSigner`]).
    StreamingSigned,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: signed chunks and a signed trailer.
    StreamingSignedTrailer,
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: plain aws-chunked body with a trailer.
    StreamingUnsignedTrailer,
}

impl<'a> Payload<'a> {
    /// The value of `x-amz-content-sha256`, also the canonical request's last line.
    pub fn as_str(&self) -> &'a str {
        match self {
            Self::Unsigned => "UNSIGNED-PAYLOAD",
            Self::Empty => EMPTY_SHA256,
            Self::Sha256Hex(hex) => hex,
            Self::StreamingSigned => "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            Self::StreamingSignedTrailer => "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
            Self::StreamingUnsignedTrailer => "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        }
    }
}

/// A lower-case hex SHA-256 digest, on the stack.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HexDigest([u8; 64]);

impl HexDigest {
    /// The 64 hex characters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or(EMPTY_SHA256)
    }
}

impl std::fmt::Debug for HexDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The hex SHA-256 of a body, for [`Payload::Sha256Hex`].
pub fn sha256_hex(body: &[u8]) -> HexDigest {
    use sha2::Digest;
    HexDigest(encode::hex32(&sha2::Sha256::digest(body)))
}

/// The parts of a request that the signature covers.
#[derive(Clone, Copy, Debug)]
pub struct SignableRequest<'a> {
    /// `GET`, `PUT`, … (upper-case).
    pub method: &'a str,
    /// The path exactly as sent, already percent-encoded once (see
    /// [`encode::encode_path`]); never normalized. Empty means `/`.
    pub path: &'a str,
    /// Query parameters as sent, each name and value already percent-encoded (see
    /// [`encode::encode_query_component`]); any order.
    pub query: &'a [(&'a str, &'a str)],
    /// Headers to sign, `host` included, any case, any order. The signer adds `x-amz-date`,
    /// `x-amz-security-token` and (when configured) `x-amz-content-sha256` itself.
    pub headers: &'a [HeaderPair<'a>],
    /// What the body is declared as.
    pub payload: Payload<'a>,
}

/// A header signature: the `Authorization` value. Send it with `x-amz-date` (the
/// [`SigningTime::amz_date`] signed at), `x-amz-content-sha256` ([`Payload::as_str`]) when the
/// signer adds it, and `x-amz-security-token` when the credentials have a session token.
#[derive(Clone, PartialEq, Eq)]
pub struct HeaderSignature {
    authorization: String,
}

impl HeaderSignature {
    /// The full `Authorization` header value.
    pub fn authorization(&self) -> &str {
        &self.authorization
    }

    /// The 64 hex characters of the signature (the seed of a chunked upload).
    pub fn signature(&self) -> &str {
        &self.authorization[self.authorization.len() - 64..]
    }

    /// The `Authorization` value, owned.
    pub fn into_authorization(self) -> String {
        self.authorization
    }
}

impl std::fmt::Debug for HeaderSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The signature is not a secret, but it is a bearer proof for this one request.
        f.debug_struct("HeaderSignature")
            .field("signature", &"** redacted **")
            .finish()
    }
}

/// Signs requests for one region and service.
#[derive(Clone, Debug)]
pub struct Signer {
    region: String,
    service: String,
    content_sha256_header: bool,
}

impl Signer {
    /// A signer for S3 in `region`: adds and signs `x-amz-content-sha256`, as S3 requires.
    pub fn s3(region: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            service: "s3".into(),
            content_sha256_header: true,
        }
    }

    /// A signer for another service (e.g. `sts`): no `x-amz-content-sha256` header unless
    /// [`Signer::with_content_sha256_header`] asks for it.
    pub fn new(region: impl Into<String>, service: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            service: service.into(),
            content_sha256_header: false,
        }
    }

    /// Whether to add and sign `x-amz-content-sha256`.
    pub fn with_content_sha256_header(mut self, enabled: bool) -> Self {
        self.content_sha256_header = enabled;
        self
    }

    /// The signing region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The signing service name.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Whether this signer adds `x-amz-content-sha256`.
    pub fn adds_content_sha256_header(&self) -> bool {
        self.content_sha256_header
    }

    /// Signs `request` for header authentication at `time`.
    pub fn sign_headers(
        &self,
        credentials: &Credentials,
        request: &SignableRequest<'_>,
        time: SigningTime,
    ) -> HeaderSignature {
        let mut w = HashWriter::new();
        write_request_line(&mut w, request);
        let mut headers = HeaderList::new(request.headers);
        self.add_headers(&mut headers, credentials, request, &time);
        let mut names = canonical::Names::new();
        canonical::write_headers(&mut w, headers.sorted(), &mut names);
        let names = names.as_str();
        w.push(b'\n');
        w.write(names.as_bytes());
        w.push(b'\n');
        w.write(request.payload.as_str().as_bytes());
        let hashed = encode::hex32(&w.finish());
        self.with_signing(credentials, &time, |signing| {
            let signature = signing.mac.sign_hex(&hashed);
            let prefix = signing.authorization_prefix;
            let mut authorization = String::with_capacity(prefix.len() + names.len() + 12 + 64);
            authorization.push_str(prefix);
            authorization.push_str(names);
            authorization.push_str(", Signature=");
            authorization.push_str(std::str::from_utf8(&signature).unwrap_or_default());
            HeaderSignature { authorization }
        })
    }

    /// Adds the headers the signer adds to `list` (filled in place: the list is a few hundred
    /// bytes, and moving it out of a constructor cost a copy).
    #[inline(always)]
    fn add_headers<'a>(
        &self,
        list: &mut HeaderList<'a>,
        credentials: &'a Credentials,
        request: &SignableRequest<'a>,
        time: &'a SigningTime,
    ) {
        if self.content_sha256_header {
            list.push(("x-amz-content-sha256", request.payload.as_str()));
        }
        list.push(("x-amz-date", time.amz_date()));
        if let Some(token) = credentials.session_token() {
            list.push(("x-amz-security-token", token));
        }
    }

    /// Runs `f` with the cached signing state for `time` (see [`key_cache::with_signing`]).
    fn with_signing<R>(
        &self,
        credentials: &Credentials,
        time: &SigningTime,
        f: impl FnOnce(&key_cache::Signing<'_>) -> R,
    ) -> R {
        let key = key_cache::KeyId {
            credentials,
            time,
            region: &self.region,
            service: &self.service,
        };
        key_cache::with_signing(&key, f)
    }
}

/// Writes `METHOD \n path \n` of the canonical request (an empty path is `/`).
fn write_method_and_path(w: &mut HashWriter, request: &SignableRequest<'_>) {
    w.write(request.method.as_bytes());
    w.push(b'\n');
    w.write(if request.path.is_empty() {
        b"/"
    } else {
        request.path.as_bytes()
    });
    w.push(b'\n');
}

/// Writes `METHOD \n path \n query \n` of the canonical request.
fn write_request_line(w: &mut HashWriter, request: &SignableRequest<'_>) {
    write_method_and_path(w, request);
    if !request.query.is_empty() {
        with_sorted(request.query, query_less, |sorted| {
            canonical::write_query(w, sorted)
        });
    }
    w.push(b'\n');
}

/// The caller's headers plus up to three added ones, without touching the heap unless the
/// caller gave many.
struct HeaderList<'a> {
    given: &'a [HeaderPair<'a>],
    added: [HeaderPair<'a>; 3],
    added_len: usize,
    joined: Vec<HeaderPair<'a>>,
    inline: [HeaderPair<'a>; 10],
}

impl<'a> HeaderList<'a> {
    fn new(given: &'a [HeaderPair<'a>]) -> Self {
        Self {
            given,
            added: [("", ""); 3],
            added_len: 0,
            joined: Vec::new(),
            inline: [("", ""); 10],
        }
    }

    fn push(&mut self, header: HeaderPair<'a>) {
        self.added[self.added_len] = header;
        self.added_len += 1;
    }

    /// All headers, sorted stably by lower-case name.
    fn sorted(&mut self) -> &[HeaderPair<'a>] {
        let total = self.given.len() + self.added_len;
        let added = &self.added[..self.added_len];
        let all = if total <= self.inline.len() {
            self.inline[..self.given.len()].copy_from_slice(self.given);
            self.inline[self.given.len()..total].copy_from_slice(added);
            &mut self.inline[..total]
        } else {
            self.joined = self.given.iter().chain(added).copied().collect();
            &mut self.joined[..]
        };
        canonical::insertion_sort(all, &name_less);
        all
    }
}

/// `date/region/service/aws4_request`, on the stack for the common lengths.
pub(crate) struct Scope {
    buf: [u8; 96],
    len: usize,
    heap: Option<String>,
}

impl Scope {
    pub(crate) fn new(time: &SigningTime, region: &str, service: &str) -> Self {
        let parts = [
            time.date_stamp(),
            "/",
            region,
            "/",
            service,
            "/aws4_request",
        ];
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let mut scope = Self {
            buf: [0; 96],
            len: 0,
            heap: None,
        };
        if total > scope.buf.len() {
            scope.heap = Some(parts.concat());
            return scope;
        }
        for part in parts {
            scope.buf[scope.len..scope.len + part.len()].copy_from_slice(part.as_bytes());
            scope.len += part.len();
        }
        scope
    }

    pub(crate) fn as_str(&self) -> &str {
        match &self.heap {
            Some(s) => s,
            None => std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC_TIME: u64 = 1_369_353_600; // 2013-05-24T00:00:00Z

    fn doc_credentials() -> Credentials {
        Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
    }

    fn get_range_request() -> SignableRequest<'static> {
        SignableRequest {
            method: "GET",
            path: "/test.txt",
            query: &[],
            headers: &[
                ("Host", "examplebucket.s3.amazonaws.com"),
                ("Range", "bytes=0-9"),
            ],
            payload: Payload::Empty,
        }
    }

    #[test]
    fn signs_the_documented_get_object_with_range() {
        let sig = Signer::s3("us-east-1").sign_headers(
            &doc_credentials(),
            &get_range_request(),
            SigningTime::from_unix_seconds(DOC_TIME),
        );
        assert_eq!(
            sig.authorization(),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        assert_eq!(
            sig.signature(),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn second_signature_on_the_same_day_derives_no_key() {
        let creds = doc_credentials();
        let signer = Signer::s3("us-east-1");
        let t = SigningTime::from_unix_seconds(DOC_TIME);
        signer.sign_headers(&creds, &get_range_request(), t);
        let before = key_derivations();
        let later = SigningTime::from_unix_seconds(DOC_TIME + 3600);
        signer.sign_headers(&creds, &get_range_request(), later);
        assert_eq!(key_derivations(), before);
    }

    #[test]
    fn a_new_day_or_new_credentials_derive_a_new_key() {
        let creds = doc_credentials();
        let signer = Signer::s3("us-east-1");
        let t = SigningTime::from_unix_seconds(DOC_TIME);
        signer.sign_headers(&creds, &get_range_request(), t);
        let before = key_derivations();
        let next_day = SigningTime::from_unix_seconds(DOC_TIME + 86_400);
        let a = signer.sign_headers(&creds, &get_range_request(), next_day);
        assert_eq!(key_derivations(), before + 1);
        let rotated = Credentials::new("AKIAIOSFODNN7EXAMPLE", "a-different-secret-key");
        let b = signer.sign_headers(&rotated, &get_range_request(), next_day);
        assert_eq!(key_derivations(), before + 2);
        assert_ne!(a.signature(), b.signature());
    }

    #[test]
    fn presigns_the_documented_url() {
        let query = Signer::s3("us-east-1")
            .presign(
                &doc_credentials(),
                &SignableRequest {
                    method: "GET",
                    path: "/test.txt",
                    query: &[],
                    headers: &[("host", "examplebucket.s3.amazonaws.com")],
                    payload: Payload::Unsigned,
                },
                SigningTime::from_unix_seconds(DOC_TIME),
                std::time::Duration::from_secs(86_400),
            )
            .unwrap();
        assert_eq!(
            query,
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
    }

    #[test]
    fn presign_refuses_expiry_outside_one_second_to_seven_days() {
        let signer = Signer::s3("us-east-1");
        let req = get_range_request();
        let t = SigningTime::from_unix_seconds(DOC_TIME);
        for secs in [0, 604_801] {
            let err = signer
                .presign(
                    &doc_credentials(),
                    &req,
                    t,
                    std::time::Duration::from_secs(secs),
                )
                .unwrap_err();
            assert!(err.to_string().contains("604800"), "{err}");
        }
        assert!(
            signer
                .presign(&doc_credentials(), &req, t, MAX_PRESIGN_EXPIRY)
                .is_ok()
        );
    }

    #[test]
    fn chunk_signatures_chain_as_documented() {
        let headers = [
            ("content-encoding", "aws-chunked"),
            ("content-length", "66824"),
            ("host", "s3.amazonaws.com"),
            ("x-amz-decoded-content-length", "66560"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ];
        let req = SignableRequest {
            method: "PUT",
            path: "/examplebucket/chunkObject.txt",
            query: &[],
            headers: &headers,
            payload: Payload::StreamingSigned,
        };
        let signer = Signer::s3("us-east-1");
        let creds = doc_credentials();
        let t = SigningTime::from_unix_seconds(DOC_TIME);
        let seed = signer.sign_headers(&creds, &req, t);
        assert_eq!(
            seed.signature(),
            "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
        );
        let mut chunks = signer.chunk_signer(&creds, t, &seed);
        assert_eq!(
            chunks.sign_chunk(&[b'a'; 65_536]),
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
        );
        assert_eq!(
            chunks.sign_chunk(&[b'a'; 1024]),
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
        );
        assert_eq!(
            chunks.sign_chunk(&[]),
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
        );
    }
}
