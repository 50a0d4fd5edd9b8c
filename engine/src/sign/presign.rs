//! Presigned URLs (query authentication).

use super::canonical::{self, HashWriter, Names, name_less, query_less, with_sorted};
use super::encode::{encode_query_component, hex32};
use super::{ALGORITHM, SignableRequest, Signer, SigningTime};
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
        with_sorted(request.headers, name_less, |headers| {
            let mut names = Names::new();
            canonical::push_names(&mut names, headers);
            self.with_signing(credentials, &time, |signing| {
                // The X-Amz-* values, percent-encoded, one after another.
                let mut values = String::with_capacity(160);
                encode_query_component(credentials.access_key_id(), &mut values);
                values.push_str("%2F");
                encode_query_component(signing.scope, &mut values);
                let credential_end = values.len();
                encode_query_component(names.as_str(), &mut values);
                let names_end = values.len();
                values.push_str(&seconds.to_string());
                let expires_end = values.len();
                if let Some(token) = credentials.session_token() {
                    encode_query_component(token, &mut values);
                }
                let mut added = [
                    ("X-Amz-Algorithm", ALGORITHM),
                    ("X-Amz-Credential", &values[..credential_end]),
                    ("X-Amz-Date", time.amz_date()),
                    ("X-Amz-Expires", &values[names_end..expires_end]),
                    ("X-Amz-SignedHeaders", &values[credential_end..names_end]),
                    ("X-Amz-Security-Token", &values[expires_end..]),
                ];
                if credentials.session_token().is_some() {
                    // Keep the pairs sorted: Security-Token comes before SignedHeaders.
                    added.swap(4, 5);
                }
                let added = &added[..if credentials.session_token().is_some() {
                    6
                } else {
                    5
                }];
                let mut query = String::with_capacity(
                    values.len()
                        + 160
                        + request
                            .query
                            .iter()
                            .map(|(n, v)| n.len() + v.len() + 2)
                            .sum::<usize>(),
                );
                with_sorted(request.query, query_less, |given| {
                    merge_sorted(given, added, |(name, value)| {
                        query.push_str(name);
                        query.push('=');
                        query.push_str(value);
                        query.push('&');
                    })
                });

                let mut w = HashWriter::new();
                super::write_method_and_path(&mut w, request);
                // The query without its trailing `&`.
                w.write(&query.as_bytes()[..query.len() - 1]);
                w.push(b'\n');
                canonical::write_headers(&mut w, headers, &mut Names::new());
                w.push(b'\n');
                w.write(names.as_str().as_bytes());
                w.push(b'\n');
                w.write(request.payload.as_str().as_bytes());
                let signature = signing.mac.sign_hex(&hex32(&w.finish()));
                query.push_str("X-Amz-Signature=");
                query.push_str(std::str::from_utf8(&signature).unwrap_or_default());
                Ok(query)
            })
        })
    }
}

/// Calls `f` on the pairs of two sorted lists in merged order (name, then value).
fn merge_sorted<'a>(
    a: &[(&'a str, &'a str)],
    b: &[(&'a str, &'a str)],
    mut f: impl FnMut((&'a str, &'a str)),
) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if query_less(&b[j], &a[i]) {
            f(b[j]);
            j += 1;
        } else {
            f(a[i]);
            i += 1;
        }
    }
    a[i..].iter().chain(&b[j..]).for_each(|pair| f(*pair));
}
