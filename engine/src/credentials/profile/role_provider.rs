//! Turns a resolved [`ProfileChain`] into providers: the base source's credentials, then one
//! [`AssumeRoleProvider`] per hop, the outermost wrapped in a [`CachingProvider`] so that it
//! refreshes before expiry, once for all workers.

use super::LoadedProfiles;
use super::provider::static_keys;
use super::role_chain::{BaseSource, ProfileChain, RoleHop};
use super::{Platform, expand_home};
use crate::credentials::container::ContainerProvider;
use crate::credentials::imds::ImdsProvider;
use crate::credentials::process::ProcessProvider;
use crate::credentials::sso::{SsoProvider, SsoSettings};
use crate::credentials::sts::{
    AssumeRole, AssumeRoleProvider, CachingProvider, CliRoleCache, Mfa, StsClient, TokenCodeSource,
};
use crate::credentials::web_identity::{WebIdentityProvider, WebIdentitySettings};
use crate::credentials::{
    CredentialsError, EnvironmentProvider, ProvideCredentials, ProvideFuture, SourceOptions,
    StaticProvider,
};
use crate::env::Environment;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// What role profiles need to assume their roles: an STS client and, for `mfa_serial`, a way
/// to ask for the device's current code.
#[derive(Clone)]
pub struct RoleContext {
    /// The STS endpoint to call.
    pub sts: StsClient,
    /// Where MFA codes come from (the CLI: `--mfa-code`, or a prompt on the terminal).
    pub token_codes: Option<TokenCodeSource>,
    /// The AWS CLI's role cache directory (`~/.aws/cli/cache`), shared with `aws`; `None`
    /// leaves it alone.
    pub cli_cache_dir: Option<PathBuf>,
}

impl fmt::Debug for RoleContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoleContext")
            .field("sts", &self.sts.endpoint().url())
            .field("token_codes", &self.token_codes.is_some())
            .field("cli_cache_dir", &self.cli_cache_dir)
            .finish()
    }
}

/// The provider for `chain`: credentials of its last role (or of its base source when it
/// assumes no role), cached and refreshed. Roles and web identity need `context` (STS); the
/// base sources' own clients and commands are set up with `sources`.
pub fn role_chain_provider(
    chain: &ProfileChain,
    loaded: &LoadedProfiles,
    env: &Environment,
    context: Option<&RoleContext>,
    sources: &SourceOptions,
) -> Result<Arc<dyn ProvideCredentials>, CredentialsError> {
    let mut provider: Arc<dyn ProvideCredentials> = Arc::new(Required {
        inner: base_provider(&chain.base, loaded, env, context, sources)?,
        profile: base_profile(&chain.base).to_owned(),
    });
    for hop in &chain.roles {
        let Some(context) = context else {
            return Err(unsupported(
                &hop.profile,
                "it is a role profile (role_arn), and roles cannot be assumed here (no STS client)",
            ));
        };
        provider = Arc::new(assume(hop, provider, context)?);
    }
    Ok(Arc::new(CachingProvider::new(provider)))
}

/// A base source the profile names must have credentials: "not configured" there is an
/// error naming the profile, not a reason for the default chain to move on.
#[derive(Debug)]
struct Required {
    inner: Arc<dyn ProvideCredentials>,
    profile: String,
}

impl ProvideCredentials for Required {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(async move {
            match self.inner.provide().await {
                Err(error) if error.is_not_configured() => Err(CredentialsError::Provider {
                    source_name: format!("profile `{}`", self.profile),
                    message: format!(
                        "its credential source ({}) has no credentials: {error}; configure that source or change credential_source",
                        self.inner.name()
                    ),
                }),
                other => other,
            }
        })
    }

    fn name(&self) -> String {
        self.inner.name()
    }

    fn invalidate(&self, generation: u64) -> bool {
        self.inner.invalidate(generation)
    }
}

fn base_profile(base: &BaseSource) -> &str {
    match base {
        BaseSource::AccessKey { profile }
        | BaseSource::NamedSource { profile, .. }
        | BaseSource::WebIdentity { profile, .. }
        | BaseSource::Sso { profile }
        | BaseSource::Process { profile, .. } => profile,
    }
}

/// What the chain's base is, for messages and `whoami`: "IAM Identity Center",
/// "credential_process", "web identity", "EC2 instance metadata", ….
pub fn base_description(base: &BaseSource) -> String {
    match base {
        BaseSource::AccessKey { profile } => format!("keys of profile `{profile}`"),
        BaseSource::NamedSource { name, .. } => format!("credential_source {name}"),
        BaseSource::WebIdentity { .. } => "web identity token".into(),
        BaseSource::Sso { .. } => "IAM Identity Center".into(),
        BaseSource::Process { .. } => "credential_process".into(),
    }
}

fn base_provider(
    base: &BaseSource,
    loaded: &LoadedProfiles,
    env: &Environment,
    context: Option<&RoleContext>,
    sources: &SourceOptions,
) -> Result<Arc<dyn ProvideCredentials>, CredentialsError> {
    match base {
        BaseSource::AccessKey { profile } => {
            let profile = loaded
                .profiles
                .get(profile)
                .ok_or_else(|| unsupported(profile, "it vanished while being read"))?;
            Ok(Arc::new(StaticProvider::new(static_keys(profile, loaded)?)))
        }
        BaseSource::NamedSource { name, .. } if name == "Environment" => {
            Ok(Arc::new(EnvironmentProvider::new(env.clone())))
        }
        BaseSource::NamedSource { name, profile } if name == "Ec2InstanceMetadata" => Ok(Arc::new(
            ImdsProvider::new(env.clone(), Some(profile.clone())).explicit(),
        )),
        BaseSource::NamedSource { name, .. } if name == "EcsContainer" => Ok(Arc::new(
            ContainerProvider::new(env.clone())
                .explicit()
                .with_ca_bundle(sources.ca_bundle.clone()),
        )),
        BaseSource::NamedSource { profile, name } => Err(CredentialsError::Provider {
            source_name: format!("profile `{profile}`"),
            message: format!(
                "credential_source = {name} is not a source ferry knows; use Environment, Ec2InstanceMetadata or EcsContainer"
            ),
        }),
        BaseSource::WebIdentity {
            profile,
            role_arn,
            token_file,
            role_session_name,
        } => {
            let Some(context) = context else {
                return Err(unsupported(
                    profile,
                    "it uses a web identity token, and roles cannot be assumed here (no STS client)",
                ));
            };
            let settings = WebIdentitySettings {
                token_file: PathBuf::from(expand_home(token_file, env, Platform::current())),
                role_arn: role_arn.clone(),
                role_session_name: role_session_name.clone(),
            };
            Ok(Arc::new(WebIdentityProvider::new(
                settings,
                context.sts.clone(),
                format!("profile `{profile}` (web identity)"),
            )))
        }
        BaseSource::Sso { profile } => {
            let section = loaded
                .profiles
                .get(profile)
                .ok_or_else(|| unsupported(profile, "it vanished while being read"))?;
            let settings =
                SsoSettings::from_profile(section, &loaded.profiles, env).map_err(|why| {
                    CredentialsError::Provider {
                        source_name: format!("profile `{profile}`"),
                        message: why,
                    }
                })?;
            Ok(Arc::new(
                SsoProvider::new(settings, env.clone()).with_ca_bundle(sources.ca_bundle.clone()),
            ))
        }
        BaseSource::Process { profile, command } => {
            let provider = ProcessProvider::new(command.clone(), profile.clone());
            Ok(Arc::new(match sources.process_timeout {
                Some(timeout) => provider.with_timeout(timeout),
                None => provider,
            }))
        }
    }
}

fn assume(
    hop: &RoleHop,
    source: Arc<dyn ProvideCredentials>,
    context: &RoleContext,
) -> Result<AssumeRoleProvider, CredentialsError> {
    let request = AssumeRole {
        role_arn: hop.role_arn.clone(),
        role_session_name: hop
            .role_session_name
            .clone()
            .unwrap_or_else(AssumeRole::default_session_name),
        duration_seconds: hop.duration_seconds,
        external_id: hop.external_id.clone(),
        mfa: hop.mfa_serial.as_ref().map(|serial| Mfa::new(serial, "")),
        policy: None,
    };
    let in_profile = |error: crate::credentials::sts::StsError| CredentialsError::Provider {
        source_name: format!("profile `{}`", hop.profile),
        message: error.to_string(),
    };
    let cache = context
        .cli_cache_dir
        .as_ref()
        .and_then(|dir| CliRoleCache::for_request(dir, &request, hop.role_session_name.is_some()));
    let mut provider =
        AssumeRoleProvider::new(context.sts.clone(), source, request).map_err(in_profile)?;
    if let Some(cache) = cache.clone() {
        provider = provider.with_cli_cache(cache);
    }
    match (&hop.mfa_serial, &context.token_codes) {
        (None, _) => Ok(provider),
        (Some(_), Some(codes)) => Ok(provider.with_token_codes(codes.clone())),
        // An entry the AWS CLI cached (its code typed into `aws`) may do without a code.
        (Some(_), None) if cache.is_some() => {
            Ok(provider.with_token_codes(Arc::new(|serial: &str| Err(no_terminal(serial)))))
        }
        (Some(serial), None) => Err(CredentialsError::Provider {
            source_name: format!("profile `{}`", hop.profile),
            message: no_terminal(serial),
        }),
    }
}

fn no_terminal(serial: &str) -> String {
    format!(
        "the role needs a code from MFA device {serial} (mfa_serial), and there is no terminal to ask on; pass --mfa-code CODE (or assume the role with `aws` first, whose cached credentials ferry uses)"
    )
}

fn unsupported(profile: &str, why: &str) -> CredentialsError {
    CredentialsError::Provider {
        source_name: format!("profile `{profile}`"),
        message: format!(
            "{why}; export temporary keys into the environment instead (`eval \"$(aws configure export-credentials --profile {profile} --format env)\"`)"
        ),
    }
}
