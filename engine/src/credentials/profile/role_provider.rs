//! Turns a resolved [`ProfileChain`] into providers: the base source's credentials, then one
//! [`AssumeRoleProvider`] per hop, the outermost wrapped in a [`CachingProvider`] so that it
//! refreshes before expiry, once for all workers.

use super::LoadedProfiles;
use super::provider::static_keys;
use super::role_chain::{BaseSource, ProfileChain, RoleHop};
use crate::credentials::sts::{
    AssumeRole, AssumeRoleProvider, CachingProvider, Mfa, StsClient, TokenCodeSource,
};
use crate::credentials::{
    CredentialsError, Environment, EnvironmentProvider, ProvideCredentials, StaticProvider,
};
use std::fmt;
use std::sync::Arc;

/// What role profiles need to assume their roles: an STS client and, for `mfa_serial`, a way
/// to ask for the device's current code.
#[derive(Clone)]
pub struct RoleContext {
    /// The STS endpoint to call.
    pub sts: StsClient,
    /// Where MFA codes come from (the CLI: `--mfa-code`, or a prompt on the terminal).
    pub token_codes: Option<TokenCodeSource>,
}

impl fmt::Debug for RoleContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoleContext")
            .field("sts", &self.sts.endpoint().url())
            .field("token_codes", &self.token_codes.is_some())
            .finish()
    }
}

/// The provider for `chain`: credentials of its last role, cached and refreshed.
pub fn role_chain_provider(
    chain: &ProfileChain,
    loaded: &LoadedProfiles,
    env: &Environment,
    context: &RoleContext,
) -> Result<Arc<dyn ProvideCredentials>, CredentialsError> {
    let mut provider = base_provider(&chain.base, loaded, env)?;
    for hop in &chain.roles {
        provider = Arc::new(assume(hop, provider, context)?);
    }
    Ok(Arc::new(CachingProvider::new(provider)))
}

fn base_provider(
    base: &BaseSource,
    loaded: &LoadedProfiles,
    env: &Environment,
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
        BaseSource::NamedSource { profile, name } => Err(unsupported(
            profile,
            &format!(
                "credential_source = {name} is not supported by ferry (only Environment is); use source_profile with keys"
            ),
        )),
        BaseSource::WebIdentity { profile, .. } => Err(unsupported(
            profile,
            "web identity tokens (web_identity_token_file) are not supported by ferry yet",
        )),
        BaseSource::Sso { profile } => Err(unsupported(
            profile,
            "IAM Identity Center (SSO) is not supported by ferry yet",
        )),
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
    let provider =
        AssumeRoleProvider::new(context.sts.clone(), source, request).map_err(in_profile)?;
    match (&hop.mfa_serial, &context.token_codes) {
        (None, _) => Ok(provider),
        (Some(_), Some(codes)) => Ok(provider.with_token_codes(codes.clone())),
        (Some(serial), None) => Err(CredentialsError::Provider {
            source_name: format!("profile `{}`", hop.profile),
            message: format!(
                "the role needs a code from MFA device {serial} (mfa_serial), and there is no terminal to ask on; pass --mfa-code CODE"
            ),
        }),
    }
}

fn unsupported(profile: &str, why: &str) -> CredentialsError {
    CredentialsError::Provider {
        source_name: format!("profile `{profile}`"),
        message: format!(
            "{why}; export temporary keys into the environment instead (`eval \"$(aws configure export-credentials --profile {profile} --format env)\"`)"
        ),
    }
}
