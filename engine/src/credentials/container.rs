//! Container credentials: the ECS task role (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, served
//! at `http://169.254.170.2`) and EKS Pod Identity or any other local agent
//! (`AWS_CONTAINER_CREDENTIALS_FULL_URI`, with `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` or
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN` sent as `Authorization`).
//!
//! A full URI must be https, or http to a loopback address, the ECS address 169.254.170.2 or
//! the EKS addresses 169.254.170.23 / fd00:ec2::23 (the SDKs' rule: credentials never travel
//! in clear text off the host). The token file is read again at every fetch (EKS rotates it).
//!
//! `FERRY_CONTAINER_ENDPOINT` (scheme://host:port) replaces the scheme and authority of the
//! URI after those checks: for tests and local proxies.

use super::imds::parse_role_credentials;
use super::{Credentials, CredentialsError, ProvideCredentials, ProvideFuture};
use crate::env::Environment;
use crate::http::{HttpClient, HttpConfig, RequestBody};
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How the source is named in messages.
pub const NAME: &str = "container credentials";

/// The ECS agent's address, for a relative URI.
pub const ECS_HOST: &str = "http://169.254.170.2";

/// The ECS agent's path for this task.
pub const RELATIVE_URI_ENV: &str = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
/// A full URL of a credentials agent (EKS Pod Identity, a local agent).
pub const FULL_URI_ENV: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
/// The `Authorization` value for a full URI.
pub const TOKEN_ENV: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
/// A file holding the `Authorization` value (read at every fetch).
pub const TOKEN_FILE_ENV: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
/// ferry's own: replaces scheme://host:port of the container URI (tests, proxies).
pub const ENDPOINT_OVERRIDE_ENV: &str = "FERRY_CONTAINER_ENDPOINT";

const TIMEOUT: Duration = Duration::from_secs(2);
const ATTEMPTS: u32 = 3;
const MAX_ANSWER: usize = 64 * 1024;

/// The URI to ask, from the environment: `Ok(None)` when neither variable is set.
pub fn resolve_uri(env: &Environment) -> Result<Option<String>, String> {
    let uri = if let Some(relative) = env.get(RELATIVE_URI_ENV) {
        let relative = relative.trim();
        if !relative.starts_with('/') {
            return Err(format!(
                "{RELATIVE_URI_ENV} `{relative}` must be a path starting with `/`"
            ));
        }
        format!("{ECS_HOST}{relative}")
    } else if let Some(full) = env.get(FULL_URI_ENV) {
        let full = full.trim().to_owned();
        check_full_uri(&full)?;
        full
    } else {
        return Ok(None);
    };
    Ok(Some(match env.get(ENDPOINT_OVERRIDE_ENV) {
        Some(base) => {
            let parsed: http::Uri = uri.parse().map_err(|e| format!("`{uri}`: {e}"))?;
            let path = parsed.path_and_query().map_or("/", |p| p.as_str());
            format!("{}{path}", base.trim_end_matches('/'))
        }
        None => uri,
    }))
}

/// The SDKs' host rule for a full URI.
pub fn check_full_uri(uri: &str) -> Result<(), String> {
    let parsed: http::Uri = uri
        .parse()
        .map_err(|e| format!("{FULL_URI_ENV} `{uri}` is not a URL ({e})"))?;
    let host = parsed
        .host()
        .ok_or_else(|| format!("{FULL_URI_ENV} `{uri}` has no host"))?;
    match parsed.scheme_str() {
        Some("https") => return Ok(()),
        Some("http") => {}
        _ => {
            return Err(format!(
                "{FULL_URI_ENV} `{uri}` must be an http:// or https:// URL"
            ));
        }
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let allowed = bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| {
            ip.is_loopback()
                || ip == IpAddr::from([169, 254, 170, 2])
                || ip == IpAddr::from([169, 254, 170, 23])
                || ip == "fd00:ec2::23".parse::<IpAddr>().unwrap_or(ip)
        });
    if allowed {
        Ok(())
    } else {
        Err(format!(
            "{FULL_URI_ENV} `{uri}` is plain http to `{host}`, which is neither a loopback address nor the ECS/EKS agent (169.254.170.2, 169.254.170.23, fd00:ec2::23); use https, or one of those hosts"
        ))
    }
}

/// Credentials from the ECS or EKS agent the container environment names.
#[derive(Debug, Clone)]
pub struct ContainerProvider {
    env: Environment,
    explicit: bool,
    ca_bundle: Option<std::path::PathBuf>,
    http: Arc<OnceLock<HttpClient>>,
}

impl ContainerProvider {
    /// The agent the environment names, if any.
    pub fn new(env: Environment) -> Self {
        Self {
            env,
            explicit: false,
            ca_bundle: None,
            http: Arc::default(),
        }
    }

    /// Trusts only the certificates in `ca_bundle` (PEM) for an `https://` agent.
    pub fn with_ca_bundle(mut self, ca_bundle: Option<std::path::PathBuf>) -> Self {
        self.ca_bundle = ca_bundle;
        self
    }

    /// For `credential_source = EcsContainer`: no agent configured is an error.
    pub fn explicit(mut self) -> Self {
        self.explicit = true;
        self
    }

    fn error(message: String) -> CredentialsError {
        CredentialsError::Provider {
            source_name: NAME.into(),
            message,
        }
    }

    /// The `Authorization` value: the token file (read now), else the token variable.
    fn authorization(&self) -> Result<Option<String>, CredentialsError> {
        let token = if let Some(path) = self.env.get(TOKEN_FILE_ENV) {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Self::error(format!(
                    "cannot read {TOKEN_FILE_ENV} `{path}` ({e}); check that the pod identity agent mounted it, or unset the variable"
                ))
            })?;
            Some(text.trim().to_owned())
        } else {
            self.env.get(TOKEN_ENV).map(|t| t.trim().to_owned())
        };
        if let Some(token) = &token
            && (token.contains(['\r', '\n']) || token.is_empty())
        {
            return Err(Self::error(format!(
                "the authorization token ({TOKEN_FILE_ENV} / {TOKEN_ENV}) is empty or spans lines; it must be one line"
            )));
        }
        Ok(token)
    }

    async fn fetch(&self, uri: &str) -> Result<Credentials, CredentialsError> {
        let http = match self.http.get() {
            Some(http) => http,
            None => {
                let http = HttpClient::new(&HttpConfig {
                    max_connections: 1,
                    connect_timeout: TIMEOUT,
                    read_timeout: TIMEOUT,
                    ca_bundle: self.ca_bundle.clone(),
                    ..HttpConfig::default()
                })
                .map_err(|e| Self::error(format!("could not set up HTTP: {e}")))?;
                self.http.get_or_init(|| http)
            }
        };
        let authorization = self.authorization()?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut builder = http::Request::builder()
                .method(http::Method::GET)
                .uri(uri)
                .header("accept", "application/json");
            if let Some(token) = &authorization {
                builder = builder.header("authorization", token);
            }
            let request = builder
                .body(RequestBody::empty())
                .map_err(|e| Self::error(format!("could not build the request to {uri}: {e}")))?;
            let answer = match http.send(request).await {
                Ok(response) => {
                    let status = response.status.as_u16();
                    response
                        .body
                        .collect(MAX_ANSWER)
                        .await
                        .map(|body| (status, body))
                }
                Err(e) => Err(e),
            };
            match answer {
                Ok((200, body)) => {
                    return parse_role_credentials(&String::from_utf8_lossy(&body))
                        .map_err(|why| Self::error(format!("{uri}: {why}")));
                }
                Ok((status, _)) if (status >= 500 || status == 429) && attempt < ATTEMPTS => {}
                Ok((status, body)) => {
                    // Error answers hold a code and a message, never credentials.
                    let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
                    return Err(Self::error(format!(
                        "{uri} answered HTTP {status}: {}; check the task role / pod identity association",
                        text.trim()
                    )));
                }
                Err(e) if e.retry_reason().is_some() && attempt < ATTEMPTS => {}
                Err(e) => {
                    return Err(Self::error(format!(
                        "the agent at {uri} did not answer ({e}); is this running in the container the variables describe?"
                    )));
                }
            }
            tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
        }
    }
}

impl ProvideCredentials for ContainerProvider {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(async move {
            let uri = match resolve_uri(&self.env) {
                Ok(Some(uri)) => uri,
                Ok(None) if !self.explicit => {
                    return Err(CredentialsError::NotConfigured {
                        source_name: NAME,
                        reason: format!("neither {RELATIVE_URI_ENV} nor {FULL_URI_ENV} is set"),
                    });
                }
                Ok(None) => {
                    return Err(Self::error(format!(
                        "credential_source = EcsContainer, but neither {RELATIVE_URI_ENV} nor {FULL_URI_ENV} is set; run in ECS/EKS or use another credential_source"
                    )));
                }
                Err(why) => return Err(Self::error(why)),
            };
            self.fetch(&uri).await.map(Some)
        })
    }

    fn name(&self) -> String {
        NAME.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_uris_follow_the_sdk_host_rules() {
        for good in [
            "http://127.0.0.1:8080/creds",
            "http://127.1.2.3/creds",
            "http://localhost/creds",
            "http://[::1]/creds",
            "http://169.254.170.2/v2/x",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials",
            "https://creds.example.com/x",
        ] {
            check_full_uri(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in [
            "http://192.168.1.1/creds",
            "http://example.com/creds",
            "http://169.254.169.254/latest",
            "ftp://127.0.0.1/x",
        ] {
            let err = check_full_uri(bad).unwrap_err();
            assert!(err.contains(FULL_URI_ENV), "{err}");
        }
    }

    #[test]
    fn a_relative_uri_goes_to_the_ecs_agent_and_the_override_moves_it() {
        let env = Environment::from_pairs([(RELATIVE_URI_ENV, "/v2/credentials/abc")]);
        assert_eq!(
            resolve_uri(&env).unwrap().as_deref(),
            Some("http://169.254.170.2/v2/credentials/abc")
        );
        let env = Environment::from_pairs([
            (RELATIVE_URI_ENV, "/v2/credentials/abc"),
            (ENDPOINT_OVERRIDE_ENV, "http://127.0.0.1:9"),
        ]);
        assert_eq!(
            resolve_uri(&env).unwrap().as_deref(),
            Some("http://127.0.0.1:9/v2/credentials/abc")
        );
        assert_eq!(
            resolve_uri(&Environment::from_pairs::<&str, &str>([])).unwrap(),
            None
        );
    }
}
