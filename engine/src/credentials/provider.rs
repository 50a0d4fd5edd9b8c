//! The provider trait and the simple sources: static keys, the environment, anonymous.

use super::{Credentials, CredentialsError, Secret, mask};
use crate::env::Environment;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What [`ProvideCredentials::provide`] returns: `Ok(Some(..))` to sign with, `Ok(None)` for
/// anonymous (unsigned) requests.
pub type ProvideFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Credentials>, CredentialsError>> + Send + 'a>>;

/// A source of credentials.
///
/// The method is async so that providers which call a service (STS) and refresh before expiry
/// have the same shape as static ones. Callers ask again whenever they sign a batch of
/// requests; caching providers hand out the same [`Credentials`] until they refresh.
pub trait ProvideCredentials: fmt::Debug + Send + Sync {
    /// Resolves credentials, or `None` for anonymous requests.
    fn provide(&self) -> ProvideFuture<'_>;

    /// A short name for messages ("environment", "profile `dev`").
    fn name(&self) -> String;

    /// A service rejected the credentials of `generation` as expired: forget them. Returns
    /// true when the provider can fetch new ones (so the request is worth one more try), false
    /// for fixed credentials (the default).
    fn invalidate(&self, generation: u64) -> bool {
        let _ = generation;
        false
    }
}

impl<P: ProvideCredentials + ?Sized> ProvideCredentials for Arc<P> {
    fn provide(&self) -> ProvideFuture<'_> {
        (**self).provide()
    }
    fn name(&self) -> String {
        (**self).name()
    }
    fn invalidate(&self, generation: u64) -> bool {
        (**self).invalidate(generation)
    }
}

/// Fixed credentials given in code or on the command line.
#[derive(Debug, Clone)]
pub struct StaticProvider {
    credentials: Credentials,
}

impl StaticProvider {
    /// Wraps credentials that never change.
    pub fn new(credentials: Credentials) -> Self {
        Self { credentials }
    }
}

impl ProvideCredentials for StaticProvider {
    fn provide(&self) -> ProvideFuture<'_> {
        let credentials = self.credentials.clone();
        Box::pin(async move { Ok(Some(credentials)) })
    }
    fn name(&self) -> String {
        "static credentials".into()
    }
}

/// No credentials: requests go unsigned (public buckets, `--no-sign-request`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AnonymousProvider;

impl ProvideCredentials for AnonymousProvider {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(async { Ok(None) })
    }
    fn name(&self) -> String {
        "anonymous".into()
    }
}

/// Credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, with
/// the expiry from `AWS_CREDENTIAL_EXPIRATION` when it is set.
#[derive(Debug, Clone, Default)]
pub struct EnvironmentProvider {
    env: Environment,
    session_token: Option<Secret>,
}

impl EnvironmentProvider {
    /// Reads the given environment.
    pub fn new(env: Environment) -> Self {
        Self {
            env,
            session_token: None,
        }
    }

    /// Uses `token` (`--session-token`) instead of `AWS_SESSION_TOKEN`.
    pub fn with_session_token(mut self, token: Option<Secret>) -> Self {
        self.session_token = token;
        self
    }

    /// Resolves now, without a runtime (the environment is never slow).
    pub fn resolve(&self) -> Result<Credentials, CredentialsError> {
        const NAME: &str = "environment";
        // A blank value (spaces) counts as unset, as in the SDKs.
        let get = |name: &str| self.env.get(name).filter(|v| !v.trim().is_empty());
        let key = get("AWS_ACCESS_KEY_ID");
        let secret = get("AWS_SECRET_ACCESS_KEY");
        let token = match &self.session_token {
            Some(token) => Some(token.expose().to_owned()),
            None => self.env.get("AWS_SESSION_TOKEN"),
        };
        let (key, secret) = match (key, secret) {
            (None, None) => {
                return Err(CredentialsError::NotConfigured {
                    source_name: NAME,
                    reason: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set".into(),
                });
            }
            (Some(_), None) => {
                return Err(CredentialsError::MissingSecret {
                    source_name: NAME.into(),
                    fix: "AWS_SECRET_ACCESS_KEY".into(),
                });
            }
            (None, Some(_)) => {
                return Err(CredentialsError::MissingAccessKeyId {
                    source_name: NAME.into(),
                    fix: "AWS_ACCESS_KEY_ID".into(),
                });
            }
            (Some(k), Some(s)) => (k, s),
        };
        let credentials = build_checked(NAME, key, secret, token, "AWS_SESSION_TOKEN")?;
        match self.env.get(EXPIRATION_ENV) {
            None => Ok(credentials),
            Some(text) => Ok(credentials.with_expiry(crate::time::parse_iso8601_time(&text).ok_or_else(|| {
                CredentialsError::Provider {
                    source_name: NAME.into(),
                    message: format!(
                        "{EXPIRATION_ENV} `{text}` is not an ISO-8601 time; use e.g. 2026-11-29T12:00:00Z, or unset it"
                    ),
                }
            })?)),
        }
    }
}

/// When the environment's temporary keys expire (as `aws configure export-credentials`
/// writes it).
pub const EXPIRATION_ENV: &str = "AWS_CREDENTIAL_EXPIRATION";

/// Builds credentials from a source's raw values, refusing a temporary key without a token.
pub(crate) fn build_checked(
    source_name: &str,
    key: String,
    secret: String,
    token: Option<String>,
    token_fix: &str,
) -> Result<Credentials, CredentialsError> {
    if key.starts_with("ASIA") && token.is_none() {
        return Err(CredentialsError::MissingSessionToken {
            source_name: source_name.into(),
            masked_key: mask(&key),
            fix: token_fix.into(),
        });
    }
    let credentials = Credentials::new(key, secret);
    Ok(match token {
        Some(token) => credentials.with_session_token(token),
        None => credentials,
    })
}

impl ProvideCredentials for EnvironmentProvider {
    fn provide(&self) -> ProvideFuture<'_> {
        let result = self.resolve().map(Some);
        Box::pin(async move { result })
    }
    fn name(&self) -> String {
        "environment".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn env(pairs: &[(&str, &str)]) -> EnvironmentProvider {
        EnvironmentProvider::new(Environment::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn environment_keys_and_token_are_read() {
        let creds = env(&[
            ("AWS_ACCESS_KEY_ID", "ASIAIOSFODNN7EXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_SESSION_TOKEN", "token-value"),
        ])
        .resolve()
        .unwrap();
        assert_eq!(creds.access_key_id(), "ASIAIOSFODNN7EXAMPLE");
        assert_eq!(creds.secret_access_key(), SECRET);
        assert_eq!(creds.session_token(), Some("token-value"));
    }

    #[test]
    fn a_session_token_option_completes_temporary_environment_keys() {
        let keys = [
            ("AWS_ACCESS_KEY_ID", "ASIAIOSFODNN7EXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
        ];
        assert!(env(&keys).resolve().is_err());
        let creds = env(&keys)
            .with_session_token(Some(Secret::new("from-the-flag".into())))
            .resolve()
            .unwrap();
        assert_eq!(creds.session_token(), Some("from-the-flag"));
    }

    #[test]
    fn environment_expiry_is_read_and_a_malformed_one_is_named() {
        let keys = [
            ("AWS_ACCESS_KEY_ID", "ASIAIOSFODNN7EXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_SESSION_TOKEN", "token-value"),
        ];
        let mut with = keys.to_vec();
        with.push((EXPIRATION_ENV, "2026-11-29T12:00:00Z"));
        let creds = env(&with).resolve().unwrap();
        assert_eq!(
            creds.expiry().map(crate::time::format_utc).as_deref(),
            Some("2026-11-29T12:00:00Z")
        );
        let mut bad = keys.to_vec();
        bad.push((EXPIRATION_ENV, "tomorrow"));
        let err = env(&bad).resolve().unwrap_err().to_string();
        assert!(
            err.contains(EXPIRATION_ENV) && err.contains("tomorrow"),
            "{err}"
        );
        assert!(
            !err.contains("token-value") && !err.contains(SECRET),
            "{err}"
        );
    }

    #[test]
    fn empty_environment_is_not_configured_so_a_chain_moves_on() {
        let err = env(&[("AWS_ACCESS_KEY_ID", "")]).resolve().unwrap_err();
        assert!(err.is_not_configured());
    }

    #[test]
    fn key_without_secret_names_the_variable_to_set() {
        let err = env(&[("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")])
            .resolve()
            .unwrap_err();
        assert!(
            err.to_string().contains("set AWS_SECRET_ACCESS_KEY"),
            "{err}"
        );
    }

    #[test]
    fn secret_without_key_names_the_variable_to_set() {
        let err = env(&[("AWS_SECRET_ACCESS_KEY", SECRET)])
            .resolve()
            .unwrap_err();
        assert!(err.to_string().contains("set AWS_ACCESS_KEY_ID"), "{err}");
        assert!(!err.to_string().contains(SECRET));
    }

    #[test]
    fn temporary_key_without_session_token_is_refused() {
        let err = env(&[
            ("AWS_ACCESS_KEY_ID", "ASIAIOSFODNN7EXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
        ])
        .resolve()
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("AWS_SESSION_TOKEN"), "{text}");
        assert!(text.contains("ASIA"), "{text}");
        assert!(
            !text.contains("ASIAIOSFODNN7EXAMPLE"),
            "key is masked: {text}"
        );
    }

    #[test]
    fn debug_and_display_never_show_secret_or_token() {
        let creds = Credentials::new("AKIAIOSFODNN7EXAMPLE", SECRET).with_session_token("tok-123");
        for text in [
            format!("{creds:?}"),
            format!("{creds}"),
            format!("{:?}", StaticProvider::new(creds.clone())),
        ] {
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains("tok-123"), "{text}");
            assert!(!text.contains("AKIAIOSFODNN7EXAMPLE"), "{text}");
        }
    }

    #[test]
    fn every_new_credentials_value_gets_a_new_generation_and_clones_keep_it() {
        let a = Credentials::new("AKIAIOSFODNN7EXAMPLE", SECRET);
        let b = Credentials::new("AKIAIOSFODNN7EXAMPLE", SECRET);
        assert_ne!(a.generation(), b.generation());
        assert_eq!(a.clone().generation(), a.generation());
    }

    #[tokio::test]
    async fn anonymous_provider_resolves_to_no_credentials() {
        assert!(AnonymousProvider.provide().await.unwrap().is_none());
    }
}
