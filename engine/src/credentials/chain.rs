//! The default chain of sources, in the AWS SDKs' order.

use super::container::ContainerProvider;
use super::imds::ImdsProvider;
use super::profile::{ProfileProvider, RoleContext};
use super::sts::{CliRoleCache, EndpointParams, StsClient, resolve_endpoint};
use super::web_identity::WebIdentityProvider;
use super::{
    AnonymousProvider, Credentials, CredentialsError, EnvironmentProvider, ProvideCredentials,
    ProvideFuture, Secret, SourceOptions, StaticProvider,
};
use crate::env::Environment;
use crate::http::{HttpClient, HttpConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Tries providers in order: a provider with nothing configured passes to the next; any other
/// error stops the chain (a broken configuration is reported, never silently skipped).
#[derive(Debug, Clone)]
pub struct ChainProvider {
    providers: Vec<Arc<dyn ProvideCredentials>>,
    /// Index of the provider that gave the last answer, plus one (0: none yet).
    answered_by: Arc<AtomicUsize>,
}

impl ChainProvider {
    /// A chain of the given providers, tried in order.
    pub fn new(providers: Vec<Arc<dyn ProvideCredentials>>) -> Self {
        Self {
            providers,
            answered_by: Arc::default(),
        }
    }

    /// The name of the provider that gave the last answer (`None` before the first).
    pub fn answered_by(&self) -> Option<String> {
        let index = self.answered_by.load(Ordering::Relaxed).checked_sub(1)?;
        self.providers.get(index).map(|p| p.name())
    }

    async fn resolve(&self) -> Result<Option<Credentials>, CredentialsError> {
        for (index, provider) in self.providers.iter().enumerate() {
            match provider.provide().await {
                Err(CredentialsError::NotConfigured { reason, .. }) => {
                    tracing::debug!(source = %provider.name(), %reason, "skipped (no credentials there); trying the next source");
                }
                Ok(found) => {
                    // Asked on every request: no allocation, no lock.
                    self.answered_by.store(index + 1, Ordering::Relaxed);
                    return Ok(found);
                }
                Err(err) => return Err(err),
            }
        }
        let tried: Vec<String> = self.providers.iter().map(|p| p.name()).collect();
        Err(CredentialsError::NoneFound {
            tried: tried.join(", "),
        })
    }
}

impl ProvideCredentials for ChainProvider {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(self.resolve())
    }
    fn name(&self) -> String {
        let names: Vec<String> = self.providers.iter().map(|p| p.name()).collect();
        format!("chain ({})", names.join(" → "))
    }

    fn invalidate(&self, generation: u64) -> bool {
        // Every provider is told (not just the first that can refresh).
        let mut refreshes = false;
        for provider in &self.providers {
            refreshes |= provider.invalidate(generation);
        }
        refreshes
    }
}

/// What the user chose on the command line, which comes before the environment.
#[derive(Debug, Clone, Default)]
pub struct ChainOptions {
    /// Keys given as flags (`--access-key`/`--secret-key`/`--session-token`).
    pub static_credentials: Option<Credentials>,
    /// `--profile NAME`: use that profile, ignoring the environment's keys.
    pub profile: Option<String>,
    /// `--no-sign-request`: anonymous requests.
    pub anonymous: bool,
    /// How role profiles assume their roles; without it they are refused.
    pub roles: Option<RoleContext>,
    /// `--session-token`: the token of the temporary keys the environment or profile gives.
    pub session_token: Option<Secret>,
    /// The CA bundle and command timeout of the sources' own clients and commands (SSO,
    /// container agents, `credential_process`, and STS when [`ChainOptions::roles`] is not
    /// given).
    pub sources: SourceOptions,
}

/// The AWS SDKs' order: flags; then, unless a profile was named on the command line, the
/// environment's keys (`AWS_ACCESS_KEY_ID`, …); then the shared files (`AWS_PROFILE` or
/// `default`: static keys, role profiles, web identity, IAM Identity Center,
/// `credential_process`); then the environment's web identity token
/// (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`); then the ECS/EKS container endpoint
/// (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` / `_FULL_URI`); then EC2 instance metadata
/// (unless `AWS_EC2_METADATA_DISABLED=true`).
///
/// Without [`ChainOptions::roles`], roles are assumed through an STS client for the
/// environment's region and endpoint (`AWS_REGION`, `AWS_ENDPOINT_URL_STS`; `us-east-1`).
pub fn default_chain(env: Environment, options: ChainOptions) -> ChainProvider {
    if options.anonymous {
        return ChainProvider::new(vec![Arc::new(AnonymousProvider)]);
    }
    if let Some(credentials) = options.static_credentials {
        return ChainProvider::new(vec![Arc::new(StaticProvider::new(credentials))]);
    }
    let mut providers: Vec<Arc<dyn ProvideCredentials>> = Vec::new();
    if options.profile.is_none() {
        providers.push(Arc::new(
            EnvironmentProvider::new(env.clone()).with_session_token(options.session_token.clone()),
        ));
    }
    let roles = options
        .roles
        .or_else(|| environment_roles(&env, options.sources.clone()));
    let sources = options.sources;
    let profile = ProfileProvider::new(env.clone(), options.profile.clone())
        .with_session_token(options.session_token)
        .with_sources(sources.clone());
    providers.push(Arc::new(match &roles {
        Some(roles) => profile.with_roles(roles.clone()),
        None => profile,
    }));
    if let Some(roles) = &roles {
        providers.push(Arc::new(WebIdentityProvider::from_env(
            env.clone(),
            roles.sts.clone(),
        )));
    }
    providers.push(Arc::new(
        ContainerProvider::new(env.clone()).with_ca_bundle(sources.ca_bundle),
    ));
    providers.push(Arc::new(ImdsProvider::new(env, options.profile)));
    ChainProvider::new(providers)
}

/// An STS client for the environment's region and endpoint, for role profiles and web
/// identity when the caller gave none.
fn environment_roles(env: &Environment, sources: SourceOptions) -> Option<RoleContext> {
    let mut params = EndpointParams::from_env(env, None);
    if params.region.is_none() {
        params.region = Some("us-east-1".into());
    }
    let endpoint = resolve_endpoint(&params).ok()?;
    let http = HttpClient::new(&HttpConfig {
        ca_bundle: sources.ca_bundle.clone(),
        ..HttpConfig::default()
    })
    .ok()?;
    Some(RoleContext {
        sts: StsClient::new(http, endpoint),
        token_codes: None,
        cli_cache_dir: CliRoleCache::default_dir(env),
    })
}
