//! One place that turns what the user said (flags), the environment and the profile files
//! into a ready [`S3Client`]: endpoint, credentials chain, TLS roots, pool size, retries.

mod builder;
mod credentials;

pub use builder::ClientBuilder;
pub use credentials::{CredentialSetup, TemporaryOptions, credentials_provider};

use crate::Advice;
use crate::credentials::imds;
use crate::credentials::profile::{self, Profile};
use crate::credentials::validate::aws_format_warnings;
use crate::credentials::{ChainOptions, Credentials, CredentialsError, SourceOptions};
use crate::endpoint::{
    AddressingStyle, ConfigSources, EndpointConfig, EndpointError, FlagValues, ProfileValues,
    Source,
};
use crate::env::Environment;
use crate::http::{HttpClient, HttpConfig, HttpError, RetryConfig, RetryState};
use crate::s3::S3Client;
use std::path::PathBuf;

/// What the command line says about where and how to connect.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// `--region`.
    pub region: Option<String>,
    /// `--endpoint-url`.
    pub endpoint_url: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--no-sign-request`.
    pub no_sign_request: bool,
    /// `--path-style`.
    pub path_style: bool,
    /// `--dualstack`.
    pub dualstack: bool,
    /// `--ca-bundle`.
    pub ca_bundle: Option<PathBuf>,
    /// Requests in flight (sizes the connection pool).
    pub concurrency: usize,
    /// Keys given explicitly (by a program embedding the engine).
    pub credentials: Option<Credentials>,
    /// Retry policy.
    pub retry: RetryConfig,
    /// `--max-bandwidth`: bytes per second shared by all transfers; `None`: unlimited.
    pub max_bandwidth: Option<u64>,
    /// Temporary credentials: `--assume-role`, `--mfa-serial`, `--session-token`, ….
    pub temporary: TemporaryOptions,
    /// `--stall-timeout`: how long a request's bytes may stop moving before it is abandoned
    /// and retried; `None`: [`crate::http::HttpConfig`]'s default (10 s).
    pub stall_timeout: Option<std::time::Duration>,
}

/// Why a client could not be set up. Each message says what to change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The endpoint settings are invalid.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// Credentials could not be had.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The HTTP client (TLS, CA bundle) could not be built.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The options contradict each other or are out of range; the message says which.
    #[error("{0}")]
    Options(String),
    /// The endpoint URL has a path (`http://host:9000/bucket`).
    #[error(
        "the endpoint URL {url} has a path; an endpoint URL has no path: put the bucket in s3://BUCKET/KEY"
    )]
    EndpointPath {
        /// The URL as given (its path included).
        url: String,
    },
    /// A temporary-credential flag (`--assume-role`, `--mfa-serial`, `--session-duration`,
    /// `--role-session-name`, `--sts-endpoint-url`) is not valid.
    #[error("{0}")]
    Sts(String),
    /// A [`ClientBuilder`] was given neither keys nor `anonymous()`, and was not asked to
    /// look for them.
    #[error(
        "no credentials: give the builder .credentials(...), or .anonymous() for public buckets, or .from_environment() to find them as the AWS CLI does"
    )]
    NoCredentialsGiven,
}

impl ConfigError {
    /// What can be done about it, where advice adds to the message (each message of
    /// [`ConfigError::Options`] already says what to change: no advice).
    pub fn advice(&self) -> Option<Advice> {
        match self {
            Self::Endpoint(_) => Some(Advice::ReviewEndpointSettings),
            Self::Credentials(error) => Some(error.advice()),
            Self::Http(HttpError::CaBundle { .. } | HttpError::Tls { .. }) => {
                Some(Advice::CheckCaBundle)
            }
            Self::Http(_) | Self::Options(_) | Self::EndpointPath { .. } => None,
            Self::NoCredentialsGiven => None,
            Self::Sts(message) => Some(sts_advice(message)),
        }
    }
}

/// The advice for invalid temporary-credential settings, by what the message names.
fn sts_advice(message: &str) -> Advice {
    if message.contains("DurationSeconds") {
        Advice::SessionDurationRange
    } else if message.contains("MFA") {
        Advice::MfaDeviceAndCode
    } else if message.contains("role ARN") {
        Advice::RoleArnFormat
    } else if message.contains("session name") {
        Advice::RoleSessionNameFormat
    } else {
        Advice::ReviewTemporaryCredentials
    }
}

/// A client, with what was learned while building it.
#[derive(Debug)]
pub struct ClientSetup {
    /// The client.
    pub client: S3Client,
    /// Where each endpoint setting came from (for `-v`).
    pub sources: ConfigSources,
    /// The credentials resolved at start (`None`: anonymous).
    pub credentials: Option<Credentials>,
    /// Where they come from, and the STS client (for `whoami`).
    pub credential_setup: CredentialSetup,
    /// Things worth a warning (e.g. keys that do not look like AWS keys on an AWS endpoint).
    pub warnings: Vec<String>,
}

/// Builds a client from `options`, `env` and the profile files.
pub async fn build_client(
    options: &ClientOptions,
    env: &Environment,
) -> Result<ClientSetup, ConfigError> {
    build_client_reading(options, env, true).await
}

/// [`build_client`]; without `read_files`, the profile files are not read at all (a client
/// from settings given in code: [`ClientBuilder`]).
async fn build_client_reading(
    options: &ClientOptions,
    env: &Environment,
    read_files: bool,
) -> Result<ClientSetup, ConfigError> {
    let loaded = if read_files {
        Some(profile::load(env)?)
    } else {
        None
    };
    let profile_name = profile::profile_name(env, options.profile.as_deref());
    let profile = loaded.as_ref().and_then(|l| l.profiles.get(&profile_name));
    let services = profile
        .and_then(|p| p.get("services"))
        .and_then(|name| loaded.as_ref()?.profiles.services(name));
    let mut endpoint = resolve_endpoint(options, env, profile, services)?;
    let imds_region = region_from_imds(options, env, &endpoint.1).await;
    if let Some(region) = &imds_region {
        let with_region = ClientOptions {
            region: Some(region.clone()),
            ..options.clone()
        };
        endpoint = resolve_endpoint(&with_region, env, profile, services)?;
        endpoint.1.region = Source::InstanceMetadata;
    }
    if !endpoint.0.base_path().is_empty() {
        // S3 endpoints have no path: a bucket written there would be taken for a prefix of
        // every key, and the store's answers would read "no such key".
        return Err(ConfigError::EndpointPath {
            url: endpoint.0.service_url(),
        });
    }
    let defaults = HttpConfig::default();
    let ca_bundle = ca_bundle(options, env, profile);
    let process_timeout =
        SourceOptions::process_timeout_from_env(env).map_err(ConfigError::Options)?;
    let http = HttpClient::new(&HttpConfig {
        max_connections: options.concurrency.max(1),
        ca_bundle: ca_bundle.clone(),
        max_bandwidth: options.max_bandwidth,
        stall_timeout: options.stall_timeout.unwrap_or(defaults.stall_timeout),
        ..defaults
    })?;
    let credential_setup = credentials_provider(
        ChainOptions {
            static_credentials: options.credentials.clone(),
            profile: options.profile.clone(),
            anonymous: options.no_sign_request,
            sources: SourceOptions {
                ca_bundle,
                process_timeout,
            },
            ..ChainOptions::default()
        },
        &options.temporary,
        env,
        &http,
        credentials::sts_region(
            options.region.as_deref().or(imds_region.as_deref()),
            env,
            profile,
        ),
    )?;
    let credentials = credential_setup.provider.provide().await?;
    if let Some(creds) = &credentials {
        tracing::debug!(
            source = %credential_setup.source(),
            credentials = %creds,
            "credentials resolved"
        );
    }
    let mut warnings = Vec::new();
    if let Some(creds) = &credentials
        && !endpoint.0.is_custom()
    {
        warnings.extend(aws_format_warnings(creds).iter().map(ToString::to_string));
    }
    let client = S3Client::new(
        http,
        endpoint.0,
        credential_setup.provider.clone(),
        RetryState::new(options.retry.clone()),
    );
    Ok(ClientSetup {
        client,
        sources: endpoint.1,
        credentials,
        credential_setup,
        warnings,
    })
}

/// The instance's region from EC2 instance metadata, when nothing else names one (no
/// `--region`, `AWS_REGION`/`AWS_DEFAULT_REGION` or profile `region`) and the endpoint is
/// AWS's (an S3-compatible store at `--endpoint-url` takes its region from configuration, and
/// a machine outside EC2 is not kept waiting for it). Quiet and bounded: see [`imds::region`].
async fn region_from_imds(
    options: &ClientOptions,
    env: &Environment,
    sources: &ConfigSources,
) -> Option<String> {
    if sources.region != Source::Default || sources.endpoint_url != Source::Default {
        return None;
    }
    imds::region(env, options.profile.as_deref()).await
}

fn resolve_endpoint(
    options: &ClientOptions,
    env: &Environment,
    profile: Option<&Profile>,
    services: Option<&Profile>,
) -> Result<(crate::endpoint::Endpoint, ConfigSources), EndpointError> {
    let flags = FlagValues {
        region: options.region.as_deref(),
        endpoint_url: options.endpoint_url.as_deref(),
        use_dualstack: options.dualstack.then_some(true),
        addressing: options.path_style.then_some(AddressingStyle::Path),
        ..FlagValues::default()
    };
    let get = |key: &str| profile.and_then(|p| p.get_non_empty(key));
    let values = ProfileValues {
        region: get("region"),
        endpoint_url: services
            .and_then(|s| s.sub_property("s3", "endpoint_url"))
            .or_else(|| get("endpoint_url")),
        use_dualstack_endpoint: get("use_dualstack_endpoint"),
        use_fips_endpoint: get("use_fips_endpoint"),
        s3_us_east_1_regional_endpoint: get("s3_us_east_1_regional_endpoint"),
        addressing_style: profile.and_then(|p| p.sub_property("s3", "addressing_style")),
        use_accelerate_endpoint: profile
            .and_then(|p| p.sub_property("s3", "use_accelerate_endpoint")),
        ignore_configured_endpoint_urls: get("ignore_configured_endpoint_urls"),
    };
    let loaded = EndpointConfig::from_sources(&flags, env, &values)?;
    Ok((loaded.config.resolve()?, loaded.sources))
}

/// `--ca-bundle`, else `AWS_CA_BUNDLE`, else the profile's `ca_bundle`.
fn ca_bundle(
    options: &ClientOptions,
    env: &Environment,
    profile: Option<&Profile>,
) -> Option<PathBuf> {
    options
        .ca_bundle
        .clone()
        .or_else(|| env.get("AWS_CA_BUNDLE").map(PathBuf::from))
        .or_else(|| {
            profile
                .and_then(|p| p.get_non_empty("ca_bundle"))
                .map(PathBuf::from)
        })
}

#[cfg(test)]
mod advice_tests {
    use super::*;

    #[test]
    fn sts_setting_mistakes_get_sts_advice_not_the_ca_bundle_one() {
        let duration = ConfigError::Sts(
            "invalid STS request: AssumeRole DurationSeconds must be between 900 and 43200 \
             seconds (default 3600), not 10"
                .into(),
        );
        assert_eq!(duration.advice(), Some(Advice::SessionDurationRange));
        let mfa =
            ConfigError::Sts("invalid STS request: MFA serial number `x` is not valid".into());
        assert_eq!(mfa.advice(), Some(Advice::MfaDeviceAndCode));
        let options = ConfigError::Options("the MFA device needs its current code".into());
        assert_eq!(
            options.advice(),
            None,
            "the message already says what to do"
        );
    }

    #[test]
    fn only_tls_and_ca_bundle_failures_point_at_the_ca_bundle() {
        let bundle = ConfigError::Http(HttpError::CaBundle {
            path: "/etc/ca.pem".into(),
            message: "no certificate".into(),
        });
        assert_eq!(bundle.advice(), Some(Advice::CheckCaBundle));
        let other = ConfigError::Http(HttpError::Request {
            message: "bad".into(),
        });
        assert_eq!(other.advice(), None);
        assert_eq!(
            ConfigError::Endpoint(EndpointError::MissingRegion).advice(),
            Some(Advice::ReviewEndpointSettings)
        );
    }
}
