//! Providers that trade a source's credentials for temporary ones from STS.

use super::cli_cache::CliRoleCache;
use super::ops::{AssumeRole, GetSessionToken, StsOperation};
use super::{StsClient, StsError};
use crate::credentials::{Credentials, CredentialsError, ProvideCredentials, ProvideFuture};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Asks for the current code of the MFA device whose serial number (or ARN) it is given, when
/// a provider (re)fetches credentials (the CLI prompts on the terminal). MFA codes are
/// single-use, so a refresh needs a new one.
pub type TokenCodeSource = Arc<dyn Fn(&str) -> Result<String, String> + Send + Sync>;

/// An STS failure as a credentials error naming what was being done. A failure of the
/// source's own credentials (an inner hop of a role chain) passes through unchanged, so a
/// chain's message names the hop that failed, once.
fn named(error: StsError, doing: &str) -> CredentialsError {
    match error {
        StsError::Source(inner) => inner,
        other => CredentialsError::Provider {
            source_name: doing.to_owned(),
            message: other.to_string(),
        },
    }
}

/// The source's credentials, refusing anonymous.
async fn source_credentials(source: &dyn ProvideCredentials) -> Result<Credentials, StsError> {
    source
        .provide()
        .await?
        .ok_or_else(|| StsError::Anonymous(source.name()))
}

/// Fills in the MFA code from `codes`, if a device is configured and a source given. The
/// code is asked for on the blocking pool: a prompt may wait on the terminal for a long time,
/// and must not hold up a runtime thread (and the transfers on it) meanwhile.
async fn with_code<T: Clone>(
    request: &T,
    mfa: impl FnOnce(&mut T) -> Option<&mut super::Mfa>,
    codes: Option<&TokenCodeSource>,
) -> Result<T, StsError> {
    let mut request = request.clone();
    if let (Some(device), Some(codes)) = (mfa(&mut request), codes) {
        let (codes, serial) = (codes.clone(), device.serial_number.clone());
        let asked = tokio::task::spawn_blocking(move || codes(&serial))
            .await
            .map_err(|e| StsError::Invalid(format!("MFA code: the prompt failed: {e}")))?;
        device.token_code = asked.map_err(|e| StsError::Invalid(format!("MFA code: {e}")))?;
    }
    Ok(request)
}

/// Temporary credentials of an IAM role, assumed with a source's credentials. Every call
/// assumes the role again: wrap it in a [`super::CachingProvider`].
#[derive(Clone)]
pub struct AssumeRoleProvider {
    client: StsClient,
    source: Arc<dyn ProvideCredentials>,
    request: AssumeRole,
    token_codes: Option<TokenCodeSource>,
    cli_cache: Option<CliRoleCache>,
    /// Set when a service rejected credentials: the next fetch asks STS, not the cache.
    bypass_cache: Arc<AtomicBool>,
}

impl AssumeRoleProvider {
    /// Assumes `request.role_arn` through `client`, signing with `source`'s credentials.
    /// The request is validated now (a code from [`Self::with_token_codes`] is checked when
    /// it is asked for).
    pub fn new(
        client: StsClient,
        source: Arc<dyn ProvideCredentials>,
        request: AssumeRole,
    ) -> Result<Self, StsError> {
        let mut check = request.clone();
        if let Some(mfa) = &mut check.mfa
            && mfa.token_code.is_empty()
        {
            mfa.token_code = "000000".into();
        }
        check.validate()?;
        Ok(Self {
            client,
            source,
            request,
            token_codes: None,
            cli_cache: None,
            bypass_cache: Arc::default(),
        })
    }

    /// Shares the AWS CLI's role cache entry `cache`: an unexpired entry is used instead of
    /// calling STS (no MFA code is asked for), and what STS answers is written there.
    pub fn with_cli_cache(mut self, cache: CliRoleCache) -> Self {
        self.cli_cache = Some(cache);
        self
    }

    /// Asks `codes` for the MFA code each time the role is assumed.
    pub fn with_token_codes(mut self, codes: TokenCodeSource) -> Self {
        self.token_codes = Some(codes);
        self
    }

    /// The request sent.
    pub fn request(&self) -> &AssumeRole {
        &self.request
    }

    async fn fetch(&self) -> Result<Credentials, StsError> {
        let cache = self.cli_cache.as_ref();
        if let Some(cache) = cache
            && !self.bypass_cache.swap(false, Ordering::SeqCst)
            && let Some(credentials) = cache.load(std::time::SystemTime::now())
        {
            tracing::debug!(
                role = %self.request.role_arn,
                path = %cache.path().display(),
                "using the role's credentials from the AWS CLI cache"
            );
            return Ok(credentials);
        }
        // The code first: without one nothing is sent, not even an inner hop's request.
        let request =
            with_code(&self.request, |r| r.mfa.as_mut(), self.token_codes.as_ref()).await?;
        let source = source_credentials(self.source.as_ref()).await?;
        let assumed = self.client.assume_role(&source, &request).await?;
        tracing::debug!(
            role = %self.request.role_arn,
            arn = assumed.arn.as_deref().unwrap_or("?"),
            "assumed role"
        );
        if let Some(cache) = cache
            && let Err(error) = cache.store(
                &assumed.credentials,
                assumed.arn.as_deref(),
                assumed.assumed_role_id.as_deref(),
            )
        {
            tracing::warn!("{error}");
        }
        Ok(assumed.credentials)
    }
}

impl fmt::Debug for AssumeRoleProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssumeRoleProvider")
            .field("endpoint", &self.client.endpoint().url())
            .field("source", &self.source)
            .field("request", &self.request)
            .finish()
    }
}

impl ProvideCredentials for AssumeRoleProvider {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(async move {
            self.fetch()
                .await
                .map(Some)
                .map_err(|e| named(e, &format!("assuming role {}", self.request.role_arn)))
        })
    }

    fn name(&self) -> String {
        format!("assume role {}", self.request.role_arn)
    }

    fn invalidate(&self, _generation: u64) -> bool {
        // Rejected credentials may be the cache's: the next fetch asks STS.
        self.bypass_cache.store(true, Ordering::SeqCst);
        true
    }
}

/// Temporary credentials for a source's own identity (GetSessionToken), optionally with MFA.
/// Every call asks STS again: wrap it in a [`super::CachingProvider`].
#[derive(Clone)]
pub struct SessionTokenProvider {
    client: StsClient,
    source: Arc<dyn ProvideCredentials>,
    request: GetSessionToken,
    token_codes: Option<TokenCodeSource>,
}

impl SessionTokenProvider {
    /// Calls GetSessionToken through `client`, signing with `source`'s credentials. The
    /// request is validated now.
    pub fn new(
        client: StsClient,
        source: Arc<dyn ProvideCredentials>,
        request: GetSessionToken,
    ) -> Result<Self, StsError> {
        let mut check = request.clone();
        if let Some(mfa) = &mut check.mfa
            && mfa.token_code.is_empty()
        {
            mfa.token_code = "000000".into();
        }
        check.validate()?;
        Ok(Self {
            client,
            source,
            request,
            token_codes: None,
        })
    }

    /// Asks `codes` for the MFA code each time a session token is fetched.
    pub fn with_token_codes(mut self, codes: TokenCodeSource) -> Self {
        self.token_codes = Some(codes);
        self
    }

    async fn fetch(&self) -> Result<Credentials, StsError> {
        let source = source_credentials(self.source.as_ref()).await?;
        let request =
            with_code(&self.request, |r| r.mfa.as_mut(), self.token_codes.as_ref()).await?;
        self.client.get_session_token(&source, &request).await
    }
}

impl fmt::Debug for SessionTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionTokenProvider")
            .field("endpoint", &self.client.endpoint().url())
            .field("source", &self.source)
            .field("request", &self.request)
            .finish()
    }
}

impl ProvideCredentials for SessionTokenProvider {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(async move {
            self.fetch()
                .await
                .map(Some)
                .map_err(|e| named(e, "STS GetSessionToken"))
        })
    }

    fn name(&self) -> String {
        "STS session token".into()
    }
}
