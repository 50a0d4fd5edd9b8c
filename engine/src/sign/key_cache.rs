//! The per-thread cache of derived signing keys.
//!
//! A SigV4 signing key is four HMACs of the secret that change once a day per
//! (credentials, region, service). Each thread keeps the last few keys, already loaded into
//! an HMAC state (inner and outer pads absorbed), so a signature clones that state instead
//! of re-keying. No lock: the cache is `thread_local!`. Keys are looked up by the credentials'
//! generation, which changes whenever credentials are built anew (rotation, refresh), so a
//! stale secret can never be used.

use super::SigningTime;
use super::sha::{HmacKey, PrefixedMac, same_bytes};
use crate::credentials::Credentials;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::cell::{Cell, RefCell};
use zeroize::Zeroizing;

/// HMAC-SHA256, the only MAC SigV4 uses.
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// How many (credentials, day, region, service) keys a thread keeps.
const ENTRIES: usize = 4;

struct Entry {
    generation: u64,
    day: u32,
    region: Box<str>,
    service: Box<str>,
    mac: HmacSha256,
    /// The same key as raw HMAC states, for the header and query signatures.
    key: HmacKey,
    /// `date/region/service/aws4_request`.
    scope: Box<str>,
    /// `AWS4-HMAC-SHA256 Credential=AKID/scope, SignedHeaders=`, built on first use.
    authorization_prefix: String,
    /// The state after the string to sign's prefix, for the second it was built in.
    prefixed: Option<(u64, PrefixedMac)>,
}

/// What a signature at one time needs from the cache.
pub(crate) struct Signing<'a> {
    /// `date/region/service/aws4_request`.
    pub(crate) scope: &'a str,
    /// The HMAC that has absorbed `AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n`.
    pub(crate) mac: &'a PrefixedMac,
    /// `AWS4-HMAC-SHA256 Credential=AKID/scope, SignedHeaders=`.
    pub(crate) authorization_prefix: &'a str,
}

/// What identifies a signing key: credentials (by generation), day, region, service.
pub(crate) struct KeyId<'a> {
    pub(crate) credentials: &'a Credentials,
    pub(crate) time: &'a SigningTime,
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
}

#[derive(Default)]
struct Cache {
    entries: Vec<Entry>,
    next_victim: usize,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
    static DERIVATIONS: Cell<u64> = const { Cell::new(0) };
}

/// Signing keys derived by every thread of the process together.
static DERIVATIONS_IN_PROCESS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many signing keys all threads of this process have derived so far (cache misses):
/// about one per thread that signs, per day, region and service, and per credentials
/// generation. Diagnostic, like [`key_derivations`]; `ferry -v` logs it at the end of a run.
pub fn key_derivations_in_process() -> u64 {
    DERIVATIONS_IN_PROCESS.load(std::sync::atomic::Ordering::Relaxed)
}

/// How many signing keys this thread has derived so far (cache misses). Diagnostic: lets a
/// test or a benchmark see that the cache is used.
pub fn key_derivations() -> u64 {
    DERIVATIONS.with(Cell::get)
}

/// Runs `f` with the HMAC state keyed by the signing key for `key`, deriving and caching it
/// on a miss.
pub(crate) fn with_signing_mac<R>(key: &KeyId<'_>, f: impl FnOnce(&HmacSha256) -> R) -> R {
    CACHE.with_borrow_mut(|cache| {
        let index = cache.find_or_derive(key);
        f(&cache.entries[index].mac)
    })
}

/// Runs `f` with what signing at `key.time` needs: the scope, the HMAC state that has
/// absorbed `AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n` (the part of a string to sign shared
/// by every request signed in the same second) and the `Authorization` value's prefix.
pub(crate) fn with_signing<R>(key: &KeyId<'_>, f: impl FnOnce(&Signing<'_>) -> R) -> R {
    CACHE.with_borrow_mut(|cache| {
        let index = cache.find_or_derive(key);
        let entry = &mut cache.entries[index];
        let second = key.time.unix_seconds();
        let akid = key.credentials.access_key_id();
        let prefix_ok = entry
            .authorization_prefix
            .as_bytes()
            .get(CREDENTIAL_AT..CREDENTIAL_AT + akid.len() + 1)
            .is_some_and(|at| {
                same_bytes(&at[..akid.len()], akid.as_bytes()) && at[akid.len()] == b'/'
            });
        if !prefix_ok {
            entry.authorization_prefix = [
                super::ALGORITHM,
                " Credential=",
                akid,
                "/",
                &entry.scope,
                ", SignedHeaders=",
            ]
            .concat();
        }
        let mac = match &mut entry.prefixed {
            Some((at, mac)) if *at == second => &*mac,
            slot => {
                let mac = entry.key.prefixed(&[
                    super::ALGORITHM.as_bytes(),
                    b"\n",
                    key.time.amz_date().as_bytes(),
                    b"\n",
                    entry.scope.as_bytes(),
                    b"\n",
                ]);
                &slot.insert((second, mac)).1
            }
        };
        f(&Signing {
            scope: &entry.scope,
            mac,
            authorization_prefix: &entry.authorization_prefix,
        })
    })
}

/// Where the access key id starts in an `Authorization` value.
const CREDENTIAL_AT: usize = "AWS4-HMAC-SHA256 Credential=".len();

impl Cache {
    fn find_or_derive(&mut self, key: &KeyId<'_>) -> usize {
        let generation = key.credentials.generation();
        let day = key.time.day();
        let found = self.entries.iter().position(|e| {
            e.generation == generation
                && e.day == day
                && same_bytes(e.region.as_bytes(), key.region.as_bytes())
                && same_bytes(e.service.as_bytes(), key.service.as_bytes())
        });
        match found {
            Some(index) => index,
            None => {
                let signing_key = derive(
                    key.credentials.secret_access_key(),
                    key.time.date_stamp(),
                    key.region,
                    key.service,
                );
                self.insert(Entry {
                    generation,
                    day,
                    region: key.region.into(),
                    service: key.service.into(),
                    mac: keyed(&*signing_key),
                    key: HmacKey::new(&signing_key),
                    scope: [
                        key.time.date_stamp(),
                        "/",
                        key.region,
                        "/",
                        key.service,
                        "/aws4_request",
                    ]
                    .concat()
                    .into(),
                    authorization_prefix: String::new(),
                    prefixed: None,
                })
            }
        }
    }

    fn insert(&mut self, entry: Entry) -> usize {
        DERIVATIONS.with(|d| d.set(d.get() + 1));
        DERIVATIONS_IN_PROCESS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if self.entries.len() < ENTRIES {
            self.entries.push(entry);
            return self.entries.len() - 1;
        }
        let index = self.next_victim % ENTRIES;
        self.next_victim = self.next_victim.wrapping_add(1);
        self.entries[index] = entry;
        index
    }
}

/// The SigV4 key derivation: HMAC chain "AWS4"+secret → date → region → service →
/// "aws4_request".
pub(crate) fn derive(
    secret: &str,
    date_stamp: &str,
    region: &str,
    service: &str,
) -> Zeroizing<[u8; 32]> {
    let mut k_secret = Zeroizing::new(Vec::with_capacity(4 + secret.len()));
    k_secret.extend_from_slice(b"AWS4");
    k_secret.extend_from_slice(secret.as_bytes());
    let k_date = Zeroizing::new(hmac(&k_secret, date_stamp.as_bytes()));
    let k_region = Zeroizing::new(hmac(&*k_date, region.as_bytes()));
    let k_service = Zeroizing::new(hmac(&*k_region, service.as_bytes()));
    Zeroizing::new(hmac(&*k_service, b"aws4_request"))
}

/// A fresh HMAC-SHA256 state keyed with `key`.
pub(crate) fn keyed(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = keyed(key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::encode::hex32;

    #[test]
    fn derives_the_s3_documentation_signing_key() {
        let key = derive(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "20130524",
            "us-east-1",
            "s3",
        );
        assert_eq!(
            hex32(&*key),
            *b"dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378"
        );
        let mac = keyed(&*key);
        // The keyed state signs like the published key: sign "x" both ways.
        let mut published = keyed(
            &(0..32)
                .map(|i| {
                    u8::from_str_radix(
                        &"dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378"
                            [2 * i..2 * i + 2],
                        16,
                    )
                    .unwrap()
                })
                .collect::<Vec<u8>>(),
        );
        let mut ours = mac;
        published.update(b"x");
        ours.update(b"x");
        assert_eq!(
            hex32(&published.finalize().into_bytes()),
            hex32(&ours.finalize().into_bytes())
        );
    }
}
