//! Where keys come from.
//!
//! A [`Credentials`] value holds an access key id, a secret and, for temporary credentials, a
//! session token and an expiry. The secret and the token are zeroized on drop and never shown
//! by `Debug` or `Display`.
//!
//! Providers implement [`ProvideCredentials`], an async trait so that providers that must call
//! a service (STS) and refresh before expiry fit the same shape as the static ones. The
//! [`chain::default_chain`] tries the sources in the AWS SDKs' order: the environment's keys,
//! the shared profile files (static keys, role profiles, web identity, IAM Identity Center,
//! `credential_process`), the environment's web identity token, the ECS/EKS container
//! endpoint, then EC2 instance metadata.
//!
//! Layering: credentials sit below [`crate::sign`] and use only the crate's foundation
//! ([`crate::time`], [`crate::env`], [`crate::http`] to ask IMDS, containers, SSO and STS).
//! The one exception is [`sts`], whose requests are signed and which therefore uses
//! [`crate::sign`]; other sources use only `sign::encode`, the percent-encoder. The test
//! `engine/tests/layers.rs` holds every module to its layer.

pub mod chain;
pub mod container;
mod error;
pub mod imds;
mod private_file;
pub mod process;
pub mod profile;
mod provider;
mod secret;
pub mod source_options;
pub mod sso;
pub mod sso_refresh;
pub mod sts;
pub mod validate;
pub mod web_identity;

pub use chain::{ChainOptions, ChainProvider, default_chain};
pub use error::CredentialsError;
pub use provider::{
    AnonymousProvider, EnvironmentProvider, ProvideCredentials, ProvideFuture, StaticProvider,
};
pub use secret::Secret;
pub use source_options::SourceOptions;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// Every [`Credentials`] built gets a fresh generation, so that caches keyed by it (the
/// signer's per-thread key cache) can never confuse two secrets.
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

/// An AWS access key pair, with the session token and expiry of temporary credentials.
///
/// Cloning keeps the generation: a clone holds the same secret. Building a new value (for
/// example after a refresh) always gets a new generation.
#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: Secret,
    session_token: Option<Secret>,
    expiry: Option<SystemTime>,
    generation: u64,
}

impl Credentials {
    /// Builds long-term credentials (an access key id and its secret).
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: Secret::new(secret_access_key.into()),
            session_token: None,
            expiry: None,
            generation: NEXT_GENERATION.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Adds a session token (temporary credentials from STS).
    pub fn with_session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(Secret::new(token.into()));
        self
    }

    /// Adds the time after which the credentials are refused.
    pub fn with_expiry(mut self, expiry: SystemTime) -> Self {
        self.expiry = Some(expiry);
        self
    }

    /// The access key id (not secret; shown masked by `Debug`).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret access key. Handle with care: never log it.
    pub fn secret_access_key(&self) -> &str {
        self.secret_access_key.expose()
    }

    /// The session token of temporary credentials.
    pub fn session_token(&self) -> Option<&str> {
        self.session_token.as_ref().map(Secret::expose)
    }

    /// When temporary credentials expire.
    pub fn expiry(&self) -> Option<SystemTime> {
        self.expiry
    }

    /// A number unique to this set of credentials in the process; clones share it.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The access key id with its middle masked, e.g. `AKIA************MPLE`.
    pub fn masked_access_key_id(&self) -> String {
        mask(&self.access_key_id)
    }
}

/// Masks the middle of an identifier, keeping four characters at each end when it is long
/// enough to stay unrecognisable.
pub fn mask(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 12 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.masked_access_key_id())
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .field("expiry", &self.expiry)
            .finish()
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.session_token.is_some() {
            "temporary"
        } else {
            "long-term"
        };
        write!(f, "{kind} credentials {}", self.masked_access_key_id())
    }
}
