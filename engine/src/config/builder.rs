//! [`ClientBuilder`]: an S3 client from settings given in code, for programs that embed the
//! engine. It reads no file and no environment variable unless asked
//! ([`ClientBuilder::from_environment`]), so a program that brings its own keys is not
//! broken by a malformed `~/.aws/config` on the host.

use super::{ClientOptions, ClientSetup, ConfigError, build_client_reading};
use crate::credentials::Credentials;
use crate::env::Environment;
use crate::http::RetryConfig;
use crate::s3::S3Client;
use std::path::PathBuf;
use std::time::Duration;

/// The fewest requests in flight the default leaves, however low the open-file limit: the
/// parts and ranges of one large object in flight by default.
const MIN_DEFAULT_CONCURRENCY: usize = 16;

/// Builds an [`S3Client`]: `ferry::Client::builder().region("eu-west-1").credentials(keys)
/// .build().await?`. Without [`Self::from_environment`] or [`Self::profile`], only what is
/// set here counts: no `AWS_*` variable, no profile file, no instance metadata.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    options: ClientOptions,
    environment: Option<Environment>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            options: ClientOptions {
                // Within what the open-file limit in force leaves: a program under a low
                // limit gets fewer requests in flight rather than "Too many open files".
                concurrency: crate::open_files::requests_within_limit(
                    crate::transfer::DEFAULT_REQUEST_CONCURRENCY,
                    MIN_DEFAULT_CONCURRENCY,
                ),
                ..ClientOptions::default()
            },
            environment: None,
        }
    }
}

impl S3Client {
    /// A [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }
}

impl ClientBuilder {
    /// A builder starting from `options` (the command line's flags, for the CLI).
    pub fn with_options(options: ClientOptions) -> Self {
        Self {
            options,
            environment: None,
        }
    }

    /// The region (default `us-east-1`, or what the environment says when read).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.options.region = Some(region.into());
        self
    }

    /// An S3-compatible store's URL (`http://127.0.0.1:9000`); path-style by default there.
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.options.endpoint_url = Some(url.into());
        self
    }

    /// Sign with these keys (long-term, or temporary with their session token).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.options.credentials = Some(credentials);
        self
    }

    /// Send requests unsigned (public buckets).
    pub fn anonymous(mut self) -> Self {
        self.options.no_sign_request = true;
        self
    }

    /// Path-style addressing (`https://host/BUCKET/KEY`).
    pub fn path_style(mut self, path_style: bool) -> Self {
        self.options.path_style = path_style;
        self
    }

    /// The dual-stack (IPv6) AWS endpoints.
    pub fn dualstack(mut self, dualstack: bool) -> Self {
        self.options.dualstack = dualstack;
        self
    }

    /// Trust only the CA certificates in this PEM file.
    pub fn ca_bundle(mut self, path: impl Into<PathBuf>) -> Self {
        self.options.ca_bundle = Some(path.into());
        self
    }

    /// Requests in flight at most, which sizes the connection pool (default 512, what a
    /// [`crate::transfer::Transfers`] grows to for small objects, or fewer where the
    /// process's soft limit on open files leaves room for fewer: see
    /// [`crate::open_files`]; a value set here is used as it is). Set it once here: an
    /// engine built with [`crate::transfer::Transfers::for_client`] takes it from the
    /// client.
    pub fn concurrency(mut self, requests: usize) -> Self {
        self.options.concurrency = requests.max(1);
        self
    }

    /// The retry policy (default: 10 attempts, full-jitter backoff up to 20 s, adaptive
    /// send rate).
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.options.retry = retry;
        self
    }

    /// Cap on the bytes per second of all request and response bodies together.
    pub fn max_bandwidth(mut self, bytes_per_second: u64) -> Self {
        self.options.max_bandwidth = Some(bytes_per_second);
        self
    }

    /// How long a request's bytes may stop moving before it is abandoned and retried
    /// (default 10 s).
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.options.stall_timeout = Some(timeout);
        self
    }

    /// Also read what the AWS CLI reads: `AWS_*` variables, `~/.aws/config` and
    /// `~/.aws/credentials`, and the default credential chain (web identity, container and
    /// instance credentials, SSO, `credential_process`). Settings made here still win.
    pub fn from_environment(mut self) -> Self {
        self.environment = Some(Environment::process());
        self
    }

    /// Read settings and credentials from this profile of the AWS files (implies
    /// [`Self::from_environment`]).
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.options.profile = Some(name.into());
        self.from_environment()
    }

    /// The client.
    pub async fn build(self) -> Result<S3Client, ConfigError> {
        Ok(self.build_setup().await?.client)
    }

    /// The client, with where each setting came from and the credentials resolved (what
    /// `ferry -v` and `ferry whoami` print).
    pub async fn build_setup(self) -> Result<ClientSetup, ConfigError> {
        match self.environment {
            Some(env) => build_client_reading(&self.options, &env, true).await,
            None => {
                if self.options.credentials.is_none() && !self.options.no_sign_request {
                    return Err(ConfigError::NoCredentialsGiven);
                }
                // Nothing from the process: no variable, no file, no instance metadata.
                let sealed = Environment::from_pairs([("AWS_EC2_METADATA_DISABLED", "true")]);
                build_client_reading(&self.options, &sealed, false).await
            }
        }
    }

    /// The options as [`super::build_client`] takes them.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }
}
