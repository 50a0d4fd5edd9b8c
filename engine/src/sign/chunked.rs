//! Streaming chunked uploads (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`): each chunk's
//! signature is chained on the previous one, starting from the request's seed signature.

use super::encode::hex32;
use super::key_cache::{self, HmacSha256};
use super::{EMPTY_SHA256, HeaderSignature, Scope, Signer, SigningTime};
use crate::credentials::Credentials;
use hmac::Mac;
use sha2::{Digest, Sha256};

/// Signs the chunks of one aws-chunked body, in order.
#[derive(Clone)]
pub struct ChunkSigner {
    mac: HmacSha256,
    amz_date: String,
    scope: String,
    previous: [u8; 64],
}

impl std::fmt::Debug for ChunkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkSigner")
            .field("amz_date", &self.amz_date)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A chunk signer for a body whose request was signed with `seed` at `time`, using a
    /// streaming [`super::Payload`].
    pub fn chunk_signer(
        &self,
        credentials: &Credentials,
        time: SigningTime,
        seed: &HeaderSignature,
    ) -> ChunkSigner {
        let scope = Scope::new(&time, self.region(), self.service());
        let key = key_cache::KeyId {
            credentials,
            time: &time,
            region: self.region(),
            service: self.service(),
        };
        let mac = key_cache::with_signing_mac(&key, HmacSha256::clone);
        let mut previous = [0u8; 64];
        previous.copy_from_slice(seed.signature().as_bytes());
        ChunkSigner {
            mac,
            amz_date: time.amz_date().to_owned(),
            scope: scope.as_str().to_owned(),
            previous,
        }
    }
}

impl ChunkSigner {
    /// Signs the next chunk (an empty `data` is the final chunk) and returns its signature,
    /// which the next chunk chains on. The chunk goes on the wire as
    /// `hex(len);chunk-signature=SIG\r\n DATA \r\n`.
    pub fn sign_chunk(&mut self, data: &[u8]) -> &str {
        let data_hash = hex32(&Sha256::digest(data));
        self.chain(
            "AWS4-HMAC-SHA256-PAYLOAD",
            &[EMPTY_SHA256.as_bytes(), b"\n", &data_hash],
        )
    }

    /// Signs the trailer after the final chunk; `canonical_trailers` is
    /// `name:value\n` per trailing header (e.g. `x-amz-checksum-crc32c:sOO8/Q==\n`). Send the
    /// result as `x-amz-trailer-signature`.
    pub fn sign_trailer(&mut self, canonical_trailers: &str) -> &str {
        let hash = hex32(&Sha256::digest(canonical_trailers.as_bytes()));
        self.chain("AWS4-HMAC-SHA256-TRAILER", &[&hash])
    }

    /// The chunk header for a chunk of `len` bytes with signature `signature`.
    pub fn chunk_header(len: usize, signature: &str) -> String {
        format!("{len:x};chunk-signature={signature}\r\n")
    }

    fn chain(&mut self, algorithm: &str, tail: &[&[u8]]) -> &str {
        let mut mac = self.mac.clone();
        for part in [
            algorithm.as_bytes(),
            b"\n",
            self.amz_date.as_bytes(),
            b"\n",
            self.scope.as_bytes(),
            b"\n",
            &self.previous,
            b"\n",
        ] {
            mac.update(part);
        }
        for part in tail {
            mac.update(part);
        }
        self.previous = hex32(&mac.finalize().into_bytes());
        std::str::from_utf8(&self.previous).unwrap_or_default()
    }
}
