//! Presigned URLs (query authentication).

use super::canonical::{self, HashWriter, name_less, with_sorted};
use super::encode::{encode_query_component, hex32};
use super::{ALGORITHM, Scope, SignableRequest, Signer, SigningTime};
use crate::credentials::Credentials;
use std::time::Duration;

/// The longest validity S3 accepts for a presigned URL: 7 days.
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why a URL could not be presigned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PresignError {
    /// The expiry is outside what S3 accepts.
    #[error(
        "a presigned URL must expire in 1 to 604800 seconds (7 days), not {seconds} s; pick an expiry within that range"
    )]
    ExpiryOutOfRange {
        /// The expiry asked for, in whole seconds.
        seconds: u64,
    },
}

impl Signer {
    /// Presigns `request` at `time`, valid for `expires_in` (1 s to 7 days). Returns the whole
    /// query string to send (the request's own parameters, the `X-Amz-*` ones and
    /// `X-Amz-Signature`), without the leading `?`. Only `request.headers` are signed (at
    /// least `host`); the payload is usually [`super::Payload::Unsigned`].
    pub fn presign(
        &self,
        credentials: &Credentials,
        request: &SignableRequest<'_>,
        time: SigningTime,
        expires_in: Duration,
    ) -> Result<String, PresignError> {
        let seconds = expires_in.as_secs();
        if seconds == 0 || expires_in > MAX_PRESIGN_EXPIRY {
            return Err(PresignError::ExpiryOutOfRange { seconds });
        }
        let scope = Scope::new(&time, self.region(), self.service());
        let mut credential = String::new();
        encode_query_component(
            &format!("{}/{}", credentials.access_key_id(), scope.as_str()),
            &mut credential,
        );
        let mut signed_headers = String::new();
        with_sorted(request.headers, name_less, |sorted| {
            canonical::push_signed_header_names(&mut signed_headers, sorted)
        });
        let mut signed_headers_encoded = String::new();
        encode_query_component(&signed_headers, &mut signed_headers_encoded);
        let token = credentials.session_token().map(|t| {
            let mut out = String::new();
            encode_query_component(t, &mut out);
            out
        });
        let expires = seconds.to_string();

        let mut pairs: Vec<(&str, &str)> = request.query.to_vec();
        pairs.push(("X-Amz-Algorithm", ALGORITHM));
        pairs.push(("X-Amz-Credential", &credential));
        pairs.push(("X-Amz-Date", time.amz_date()));
        pairs.push(("X-Amz-Expires", &expires));
        if let Some(token) = &token {
            pairs.push(("X-Amz-Security-Token", token));
        }
        pairs.push(("X-Amz-SignedHeaders", &signed_headers_encoded));
        pairs.sort_unstable_by(|a, b| {
            (a.0.as_bytes(), a.1.as_bytes()).cmp(&(b.0.as_bytes(), b.1.as_bytes()))
        });

        let mut w = HashWriter::new();
        w.write(request.method.as_bytes());
        w.write(b"\n");
        w.write(if request.path.is_empty() {
            b"/"
        } else {
            request.path.as_bytes()
        });
        w.write(b"\n");
        canonical::write_query(&mut w, &pairs);
        w.write(b"\n");
        with_sorted(request.headers, name_less, |sorted| {
            canonical::write_headers(&mut w, sorted)
        });
        w.write(b"\n");
        w.write(signed_headers.as_bytes());
        w.write(b"\n");
        w.write(request.payload.as_str().as_bytes());
        let hashed = hex32(&w.finish());
        let signature = self.signature(credentials, &time, &scope, &hashed);

        let mut query = String::new();
        for (name, value) in &pairs {
            query.push_str(name);
            query.push('=');
            query.push_str(value);
            query.push('&');
        }
        query.push_str("X-Amz-Signature=");
        query.push_str(std::str::from_utf8(&signature).unwrap_or_default());
        Ok(query)
    }
}
