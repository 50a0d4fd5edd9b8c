//! The credentials a client signs with: the default chain (flags, environment, profile,
//! role profiles), then what the temporary-credential options add on top (a session token,
//! `--assume-role`, GetSessionToken with MFA).

use super::ConfigError;
use crate::credentials::profile::{Profile, RoleContext};
use crate::credentials::sts::{
    AssumeRole, AssumeRoleProvider, CachingProvider, CliRoleCache, EndpointParams, GetSessionToken,
    Mfa, SessionTokenProvider, StsClient, StsError, TokenCodeSource, resolve_endpoint,
};
use crate::credentials::{ChainOptions, ChainProvider, ProvideCredentials, Secret, default_chain};
use crate::env::Environment;
use crate::http::HttpClient;
use std::fmt;
use std::sync::Arc;

/// The region STS is called in when none is configured.
const DEFAULT_STS_REGION: &str = "us-east-1";

/// Options for temporary credentials, as the command line gives them.
#[derive(Clone, Default)]
pub struct TemporaryOptions {
    /// `--assume-role ARN`: assume this role with the credentials found otherwise.
    pub assume_role: Option<String>,
    /// `--role-session-name`.
    pub role_session_name: Option<String>,
    /// `--session-duration SECONDS`, for AssumeRole or GetSessionToken.
    pub session_duration: Option<u32>,
    /// `--external-id`.
    pub external_id: Option<String>,
    /// `--mfa-serial`: the MFA device; without `--assume-role`, ferry calls GetSessionToken.
    pub mfa_serial: Option<String>,
    /// `--session-token`: the token of temporary keys found elsewhere (environment, profile).
    pub session_token: Option<Secret>,
    /// `--sts-endpoint-url`, else `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, the regional one.
    pub sts_endpoint_url: Option<String>,
    /// Where MFA codes come from (`--mfa-code`, or a prompt).
    pub token_codes: Option<TokenCodeSource>,
}

impl fmt::Debug for TemporaryOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemporaryOptions")
            .field("assume_role", &self.assume_role)
            .field("role_session_name", &self.role_session_name)
            .field("session_duration", &self.session_duration)
            .field("external_id", &self.external_id)
            .field("mfa_serial", &self.mfa_serial)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .field("sts_endpoint_url", &self.sts_endpoint_url)
            .field("token_codes", &self.token_codes.is_some())
            .finish()
    }
}

impl TemporaryOptions {
    /// True when STS is to be called on top of the chain.
    fn wants_sts(&self) -> bool {
        self.assume_role.is_some() || self.mfa_serial.is_some()
    }
}

/// What [`credentials_provider`] builds.
#[derive(Debug, Clone)]
pub struct CredentialSetup {
    /// The provider every request asks.
    pub provider: Arc<dyn ProvideCredentials>,
    /// The default chain under it (says which source answered).
    pub chain: ChainProvider,
    /// The STS client role profiles and `--assume-role` use (and `ferry whoami`).
    pub sts: StsClient,
    /// What is done on top of the chain: "assume role ARN", "STS session token", or `None`.
    pub layer: Option<String>,
}

impl CredentialSetup {
    /// Where the credentials come from, for `whoami` and `-v`: "environment", "profile `dev`",
    /// "assume role ARN (from environment)".
    pub fn source(&self) -> String {
        let chain = self.chain.answered_by().unwrap_or_else(|| "none".into());
        match &self.layer {
            Some(layer) => format!("{layer} (with credentials from {chain})"),
            None => chain,
        }
    }
}

/// Builds the provider for `chain` options and `temporary` options, calling STS through
/// `http`. `region` is the region STS is called in unless an endpoint is configured.
pub fn credentials_provider(
    chain: ChainOptions,
    temporary: &TemporaryOptions,
    env: &Environment,
    http: &HttpClient,
    region: Option<&str>,
) -> Result<CredentialSetup, ConfigError> {
    if chain.anonymous && (temporary.wants_sts() || temporary.session_token.is_some()) {
        return Err(invalid(
            "--no-sign-request cannot be combined with --assume-role, --mfa-serial or --session-token; drop one of them",
        ));
    }
    let sts = sts_client(temporary, env, http, region)?;
    let roles = RoleContext {
        sts: sts.clone(),
        token_codes: temporary.token_codes.clone(),
        cli_cache_dir: CliRoleCache::default_dir(env),
    };
    let chain = default_chain(
        env.clone(),
        ChainOptions {
            roles: Some(roles),
            session_token: temporary.session_token.clone(),
            ..chain
        },
    );
    // Resolved once per run (and near an expiry), not on every request.
    let provider: Arc<dyn ProvideCredentials> =
        Arc::new(CachingProvider::remembering(Arc::new(chain.clone())));
    let (provider, layer) = layer_sts(provider, temporary, &sts)?;
    Ok(CredentialSetup {
        provider,
        chain,
        sts,
        layer,
    })
}

/// `--assume-role` (AssumeRole), else `--mfa-serial` (GetSessionToken), each cached.
fn layer_sts(
    source: Arc<dyn ProvideCredentials>,
    temporary: &TemporaryOptions,
    sts: &StsClient,
) -> Result<(Arc<dyn ProvideCredentials>, Option<String>), ConfigError> {
    let mfa = temporary
        .mfa_serial
        .as_ref()
        .map(|serial| Mfa::new(serial, ""));
    if mfa.is_some() && temporary.token_codes.is_none() {
        return Err(invalid(
            "--mfa-serial needs the device's current code: pass --mfa-code CODE, or run ferry in a terminal to be asked for it",
        ));
    }
    let with_codes = |needed: bool| temporary.token_codes.clone().filter(|_| needed);
    if let Some(role_arn) = &temporary.assume_role {
        let request = AssumeRole {
            role_arn: role_arn.clone(),
            role_session_name: temporary
                .role_session_name
                .clone()
                .unwrap_or_else(AssumeRole::default_session_name),
            duration_seconds: temporary.session_duration,
            external_id: temporary.external_id.clone(),
            mfa: mfa.clone(),
            policy: None,
        };
        let mut provider =
            AssumeRoleProvider::new(sts.clone(), source, request).map_err(sts_invalid)?;
        if let Some(codes) = with_codes(mfa.is_some()) {
            provider = provider.with_token_codes(codes);
        }
        let layer = format!("assume role {role_arn}");
        return Ok((
            Arc::new(CachingProvider::new(Arc::new(provider))),
            Some(layer),
        ));
    }
    if temporary.role_session_name.is_some() || temporary.external_id.is_some() {
        return Err(invalid(
            "--role-session-name and --external-id apply to --assume-role ARN; add it, or drop them",
        ));
    }
    if mfa.is_none() {
        if temporary.session_duration.is_some() {
            return Err(invalid(
                "--session-duration applies to --assume-role or --mfa-serial; add one, or drop it",
            ));
        }
        return Ok((source, None));
    }
    let request = GetSessionToken {
        duration_seconds: temporary.session_duration,
        mfa,
    };
    let mut provider =
        SessionTokenProvider::new(sts.clone(), source, request).map_err(sts_invalid)?;
    if let Some(codes) = with_codes(true) {
        provider = provider.with_token_codes(codes);
    }
    Ok((
        Arc::new(CachingProvider::new(Arc::new(provider))),
        Some("STS session token".into()),
    ))
}

/// The STS client: `--sts-endpoint-url`, else the environment's, else the region's endpoint.
fn sts_client(
    temporary: &TemporaryOptions,
    env: &Environment,
    http: &HttpClient,
    region: Option<&str>,
) -> Result<StsClient, ConfigError> {
    let mut params = EndpointParams::from_env(env, region);
    if params.region.is_none() {
        params.region = Some(DEFAULT_STS_REGION.into());
    }
    if let Some(url) = &temporary.sts_endpoint_url {
        params.endpoint = Some(url.clone());
    }
    let endpoint = resolve_endpoint(&params).map_err(sts_invalid)?;
    Ok(StsClient::new(http.clone(), endpoint))
}

/// The region for STS from the flag, else (`None`) `AWS_REGION` / `AWS_DEFAULT_REGION` when
/// one is set (the STS endpoint reads them itself), else the profile's: the order the S3
/// endpoint's region follows, so both are called in the same region.
pub(super) fn sts_region<'a>(
    flag: Option<&'a str>,
    env: &Environment,
    profile: Option<&'a Profile>,
) -> Option<&'a str> {
    let from_env = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .any(|name| env.get(name).is_some());
    flag.or_else(|| {
        if from_env {
            None
        } else {
            profile.and_then(Profile::region)
        }
    })
}

fn invalid(message: &str) -> ConfigError {
    ConfigError::Options(message.to_owned())
}

fn sts_invalid(error: StsError) -> ConfigError {
    ConfigError::Sts(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpConfig;

    fn setup(chain: ChainOptions, temporary: TemporaryOptions) -> Result<CredentialSetup, String> {
        let env = Environment::from_pairs([
            ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
            (
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
        ]);
        let http = HttpClient::new(&HttpConfig::default()).expect("http client");
        credentials_provider(chain, &temporary, &env, &http, Some("eu-west-1"))
            .map_err(|e| e.to_string())
    }

    fn codes() -> Option<TokenCodeSource> {
        Some(Arc::new(|_: &str| Ok("123456".to_owned())))
    }

    #[test]
    fn contradicting_temporary_options_are_refused_with_the_fix() {
        let role = Some("arn:aws:iam::123456789012:role/reader".to_owned());
        let cases: Vec<(ChainOptions, TemporaryOptions, &str)> = vec![
            (
                ChainOptions {
                    anonymous: true,
                    ..ChainOptions::default()
                },
                TemporaryOptions {
                    assume_role: role.clone(),
                    ..TemporaryOptions::default()
                },
                "--no-sign-request",
            ),
            (
                ChainOptions::default(),
                TemporaryOptions {
                    role_session_name: Some("s".into()),
                    ..TemporaryOptions::default()
                },
                "--assume-role ARN",
            ),
            (
                ChainOptions::default(),
                TemporaryOptions {
                    session_duration: Some(900),
                    ..TemporaryOptions::default()
                },
                "--session-duration",
            ),
            (
                ChainOptions::default(),
                TemporaryOptions {
                    mfa_serial: Some("arn:aws:iam::123456789012:mfa/alice".into()),
                    ..TemporaryOptions::default()
                },
                "--mfa-code",
            ),
            (
                ChainOptions::default(),
                TemporaryOptions {
                    assume_role: role.clone(),
                    session_duration: Some(60),
                    ..TemporaryOptions::default()
                },
                "60",
            ),
            (
                ChainOptions::default(),
                TemporaryOptions {
                    assume_role: Some("arn:aws:iam::role/x".into()),
                    ..TemporaryOptions::default()
                },
                "malformed",
            ),
        ];
        for (chain, temporary, expected) in cases {
            let shown = format!("{temporary:?}");
            let err = setup(chain, temporary).expect_err(&shown);
            assert!(err.contains(expected), "{shown}: {err}");
        }
    }

    #[test]
    fn assume_role_and_mfa_session_layers_are_named_in_the_source() {
        let role = "arn:aws:iam::123456789012:role/reader";
        let assumed = setup(
            ChainOptions::default(),
            TemporaryOptions {
                assume_role: Some(role.into()),
                ..TemporaryOptions::default()
            },
        )
        .unwrap();
        assert_eq!(
            assumed.layer.as_deref(),
            Some(&*format!("assume role {role}"))
        );
        assert_eq!(
            assumed.sts.endpoint().url(),
            "https://sts.eu-west-1.amazonaws.com"
        );
        let session = setup(
            ChainOptions::default(),
            TemporaryOptions {
                mfa_serial: Some("arn:aws:iam::123456789012:mfa/alice".into()),
                token_codes: codes(),
                sts_endpoint_url: Some("http://127.0.0.1:5000".into()),
                ..TemporaryOptions::default()
            },
        )
        .unwrap();
        assert_eq!(session.layer.as_deref(), Some("STS session token"));
        assert!(
            session
                .sts
                .endpoint()
                .url()
                .starts_with("http://127.0.0.1:5000")
        );
        let plain = setup(ChainOptions::default(), TemporaryOptions::default()).unwrap();
        assert!(plain.layer.is_none());
    }

    #[tokio::test]
    async fn a_session_token_option_joins_the_keys_found_elsewhere_and_stays_hidden() {
        let setup = setup(
            ChainOptions::default(),
            TemporaryOptions {
                session_token: Some(Secret::new("FQoGZXIvYXdzEXAMPLETOKEN".into())),
                ..TemporaryOptions::default()
            },
        )
        .unwrap();
        let creds = setup.provider.provide().await.unwrap().unwrap();
        assert_eq!(creds.session_token(), Some("FQoGZXIvYXdzEXAMPLETOKEN"));
        assert_eq!(setup.source(), "environment");
        let shown = format!("{:?} {creds:?} {creds}", setup.provider);
        assert!(!shown.contains("FQoGZXIvYXdzEXAMPLETOKEN"), "{shown}");
    }

    #[test]
    fn sts_is_called_in_the_environments_region_before_the_profiles_as_s3_is() {
        let profiles = crate::credentials::profile::parse(
            Some((
                std::path::Path::new("/home/u/.aws/config"),
                "[default]\nregion = us-west-2\n",
            )),
            None,
        )
        .expect("parsed");
        let profile = profiles.get("default");
        let with_env = Environment::from_pairs([("AWS_REGION", "eu-west-1")]);
        let without = Environment::from_pairs([("HOME", "/home/u")]);
        // None: the STS endpoint takes AWS_REGION itself.
        assert_eq!(sts_region(None, &with_env, profile), None);
        assert_eq!(sts_region(None, &without, profile), Some("us-west-2"));
        assert_eq!(
            sts_region(Some("ap-south-1"), &with_env, profile),
            Some("ap-south-1")
        );
        let default_region = Environment::from_pairs([("AWS_DEFAULT_REGION", "eu-north-1")]);
        assert_eq!(sts_region(None, &default_region, profile), None);
    }
}
