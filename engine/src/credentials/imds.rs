//! EC2 instance metadata (IMDS): the credentials of the instance profile's role.
//!
//! IMDSv2: `PUT /latest/api/token` (header `x-aws-ec2-metadata-token-ttl-seconds: 21600`),
//! then `GET /latest/meta-data/iam/security-credentials/` (the role's name) and
//! `GET …/security-credentials/ROLE` (the keys, as JSON) with the token in
//! `x-aws-ec2-metadata-token`. When the token request is refused (403, 404, 405: IMDSv1
//! only), the GETs go without a token, unless `AWS_EC2_METADATA_V1_DISABLED` or the
//! profile's `ec2_metadata_v1_disabled` forbids it.
//!
//! Timeouts are short (1 s to connect, 1 s to answer) and an unreachable service is tried
//! once, so that a machine outside EC2 passes on to "no credentials found" within seconds.
//! A service that answers 5xx is tried up to three times.

use super::profile::{self, Profile};
use super::{Credentials, CredentialsError, ProvideCredentials, ProvideFuture};
use crate::env::Environment;
use crate::http::{HttpClient, HttpConfig, HttpError, RequestBody};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// How the source is named in messages.
pub const NAME: &str = "EC2 instance metadata";

/// IMDS over IPv4.
pub const IPV4_ENDPOINT: &str = "http://169.254.169.254";
/// IMDS over IPv6.
pub const IPV6_ENDPOINT: &str = "http://[fd00:ec2::254]";

const TOKEN_PATH: &str = "/latest/api/token";
const ROLES_PATH: &str = "/latest/meta-data/iam/security-credentials/";
const REGION_PATH: &str = "/latest/meta-data/placement/region";
const TOKEN_TTL: &str = "21600";
const TIMEOUT: Duration = Duration::from_secs(1);
/// Tries for an answer of 5xx.
const ATTEMPTS: u32 = 3;
/// Metadata answers are small.
const MAX_ANSWER: usize = 64 * 1024;

/// Where IMDS is and how it may be spoken to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImdsConfig {
    /// The base URL (`http://169.254.169.254`), without a trailing `/`.
    pub endpoint: String,
    /// IMDSv1 (no token) is allowed when the token request is refused.
    pub v1_allowed: bool,
}

/// True when `AWS_EC2_METADATA_DISABLED` is `true` (any case).
pub fn disabled(env: &Environment) -> bool {
    env.get("AWS_EC2_METADATA_DISABLED")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Resolves the endpoint as the SDKs do: an explicit endpoint (`endpoint_override`, then
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT`, then the profile's `ec2_metadata_service_endpoint`),
/// else the mode's address (`mode_override`, `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE`, the
/// profile's `ec2_metadata_service_endpoint_mode`: `IPv4` (default) or `IPv6`).
pub fn resolve_config(
    env: &Environment,
    profile: Option<&Profile>,
    endpoint_override: Option<&str>,
    mode_override: Option<&str>,
) -> Result<ImdsConfig, String> {
    let get = |key: &str| {
        profile
            .and_then(|p| p.get_non_empty(key))
            .map(str::to_owned)
    };
    let v1_disabled = env
        .get("AWS_EC2_METADATA_V1_DISABLED")
        .or_else(|| get("ec2_metadata_v1_disabled"))
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let explicit = endpoint_override
        .map(str::to_owned)
        .or_else(|| env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT"))
        .or_else(|| get("ec2_metadata_service_endpoint"));
    let endpoint = match explicit {
        Some(url) => check_url(url.trim())?,
        None => {
            let mode = mode_override
                .map(str::to_owned)
                .or_else(|| env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"))
                .or_else(|| get("ec2_metadata_service_endpoint_mode"));
            match mode.as_deref().map(str::trim) {
                None => IPV4_ENDPOINT.to_owned(),
                Some(m) if m.eq_ignore_ascii_case("ipv4") => IPV4_ENDPOINT.to_owned(),
                Some(m) if m.eq_ignore_ascii_case("ipv6") => IPV6_ENDPOINT.to_owned(),
                Some(m) => {
                    return Err(format!(
                        "`{m}` is not a valid endpoint mode; set AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE (or ec2_metadata_service_endpoint_mode) to IPv4 or IPv6"
                    ));
                }
            }
        }
    };
    Ok(ImdsConfig {
        endpoint,
        v1_allowed: !v1_disabled,
    })
}

fn check_url(url: &str) -> Result<String, String> {
    let parsed: Result<http::Uri, _> = url.parse();
    match parsed {
        Ok(uri)
            if matches!(uri.scheme_str(), Some("http" | "https")) && uri.authority().is_some() =>
        {
            Ok(url.trim_end_matches('/').to_owned())
        }
        Ok(_) => Err(format!(
            "the IMDS endpoint `{url}` is not an http:// or https:// URL; fix AWS_EC2_METADATA_SERVICE_ENDPOINT (or ec2_metadata_service_endpoint)"
        )),
        Err(e) => Err(format!(
            "the IMDS endpoint `{url}` is not a URL ({}: invalid uri character?); fix AWS_EC2_METADATA_SERVICE_ENDPOINT (or ec2_metadata_service_endpoint)",
            e
        )),
    }
}

/// The EC2 instance's region from IMDS (`GET /latest/meta-data/placement/region`, with an
/// IMDSv2 token), for when no flag, variable or profile names one. `None` when IMDS is
/// disabled (`AWS_EC2_METADATA_DISABLED`), unreachable (a laptop: one try, 1 s to connect,
/// 1 s to answer) or answers something else; why is logged at debug level only.
pub async fn region(env: &Environment, profile: Option<&str>) -> Option<String> {
    if disabled(env) {
        tracing::debug!("no region from IMDS: AWS_EC2_METADATA_DISABLED is true");
        return None;
    }
    let provider = ImdsProvider::new(env.clone(), profile.map(str::to_owned));
    match provider.fetch_region().await {
        Ok(region) => {
            tracing::debug!(%region, "region from EC2 instance metadata");
            Some(region)
        }
        Err(Failure::Absent(why) | Failure::Broken(why)) => {
            tracing::debug!(reason = %why, "no region from IMDS");
            None
        }
    }
}

/// Credentials of the EC2 instance's role, from IMDS. Each call fetches them again: wrap it in
/// a [`super::sts::CachingProvider`] (the chain's remembering cache, or a role chain's).
#[derive(Debug, Clone)]
pub struct ImdsProvider {
    env: Environment,
    profile: Option<String>,
    /// Named by `credential_source = Ec2InstanceMetadata`: a missing role is an error.
    explicit: bool,
    http: Arc<OnceLock<HttpClient>>,
    role: Arc<Mutex<Option<String>>>,
}

/// Why a fetch failed: IMDS is not there (the chain moves on), or it answered wrongly.
enum Failure {
    Absent(String),
    Broken(String),
}

impl ImdsProvider {
    /// IMDS as the environment and `profile` (else `AWS_PROFILE`, `default`) configure it.
    pub fn new(env: Environment, profile: Option<String>) -> Self {
        Self {
            env,
            profile,
            explicit: false,
            http: Arc::default(),
            role: Arc::default(),
        }
    }

    /// For `credential_source = Ec2InstanceMetadata`: an instance without a role, or no IMDS
    /// at all, is an error rather than "not configured".
    pub fn explicit(mut self) -> Self {
        self.explicit = true;
        self
    }

    /// The role whose credentials were last fetched.
    pub fn role_name(&self) -> Option<String> {
        self.role.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn http(&self) -> Result<&HttpClient, Failure> {
        if let Some(http) = self.http.get() {
            return Ok(http);
        }
        let http = HttpClient::new(&HttpConfig {
            max_connections: 1,
            connect_timeout: TIMEOUT,
            read_timeout: TIMEOUT,
            ..HttpConfig::default()
        })
        .map_err(|e| Failure::Broken(format!("could not set up HTTP: {e}")))?;
        Ok(self.http.get_or_init(|| http))
    }

    fn config(&self) -> Result<ImdsConfig, Failure> {
        let profile = profile::load_profile(&self.env, self.profile.as_deref())
            .map_err(|e| Failure::Broken(e.to_string()))?;
        resolve_config(&self.env, profile.as_ref(), None, None).map_err(Failure::Broken)
    }

    /// The IMDSv2 session token (`None`: refused, IMDSv1 allowed), and the status of a refusal.
    async fn token(
        http: &HttpClient,
        config: &ImdsConfig,
    ) -> Result<(Option<String>, Option<u16>), Failure> {
        let base = &config.endpoint;
        match send(
            http,
            http::Method::PUT,
            &format!("{base}{TOKEN_PATH}"),
            None,
        )
        .await?
        {
            (200, body) => Ok((Some(body.trim().to_owned()), None)),
            (status @ 403..=405, _) if config.v1_allowed => {
                tracing::debug!(status, "IMDSv2 token refused; using IMDSv1");
                Ok((None, Some(status)))
            }
            (403..=405, _) => Err(Failure::Broken(
                "IMDS refused a session token (IMDSv2) and IMDSv1 is disabled (AWS_EC2_METADATA_V1_DISABLED / ec2_metadata_v1_disabled); enable IMDSv2 on the instance (or allow IMDSv1)".into(),
            )),
            (status, _) => Err(Failure::Broken(format!(
                "IMDS answered HTTP {status} to the session token request (PUT {TOKEN_PATH})"
            ))),
        }
    }

    /// The instance's region (`/latest/meta-data/placement/region`).
    async fn fetch_region(&self) -> Result<String, Failure> {
        let config = self.config()?;
        let http = self.http()?;
        let (token, _) = Self::token(http, &config).await?;
        let url = format!("{}{REGION_PATH}", config.endpoint);
        match send(http, http::Method::GET, &url, token.as_deref()).await? {
            (200, body) => {
                let region = body.trim();
                let ok = !region.is_empty()
                    && region.len() <= 63
                    && region
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                if ok {
                    Ok(region.to_owned())
                } else {
                    Err(Failure::Broken(
                        "IMDS answered something that is not a region name".into(),
                    ))
                }
            }
            (status, _) => Err(Failure::Broken(format!(
                "IMDS answered HTTP {status} when asked for the instance's region"
            ))),
        }
    }

    async fn fetch(&self) -> Result<Credentials, Failure> {
        let config = self.config()?;
        let http = self.http()?;
        let base = &config.endpoint;
        // The status of a refused token request, said with what IMDSv1 then answered.
        let (token, refused) = Self::token(http, &config).await?;
        let token = token.as_deref();
        let role = match send(
            http,
            http::Method::GET,
            &format!("{base}{ROLES_PATH}"),
            token,
        )
        .await?
        {
            (200, body) => body.lines().next().unwrap_or_default().trim().to_owned(),
            (404, _) => String::new(),
            (status, _) => {
                return Err(Failure::Broken(format!(
                    "IMDS answered HTTP {status} when asked for the instance's role{}",
                    if refused.is_some() {
                        " (without a session token: the token request was refused)"
                    } else {
                        ""
                    }
                )));
            }
        };
        if role.is_empty() {
            return Err(Failure::Absent(match refused {
                // 403 to the token request is what an instance with IMDS turned off answers.
                Some(403) => "IMDS refused a session token (HTTP 403: IMDS is disabled on the instance, or blocked) and without one named no IAM role; enable the instance metadata service, or use another source".into(),
                _ => "the instance has no IAM role (no instance profile is attached); attach one, or use another source".into(),
            }));
        }
        let url = format!("{base}{ROLES_PATH}{role}");
        let body = match send(http, http::Method::GET, &url, token).await? {
            (200, body) => body,
            (status, _) => {
                return Err(Failure::Broken(format!(
                    "IMDS answered HTTP {status} when asked for the credentials of role `{role}`"
                )));
            }
        };
        let credentials = parse_role_credentials(&body)
            .map_err(|why| Failure::Broken(format!("role `{role}`: {why}")))?;
        *self.role.lock().unwrap_or_else(|e| e.into_inner()) = Some(role);
        Ok(credentials)
    }
}

/// One request with retries for 5xx; an unreachable service is [`Failure::Absent`].
async fn send(
    http: &HttpClient,
    method: http::Method,
    url: &str,
    token: Option<&str>,
) -> Result<(u16, String), Failure> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut builder = http::Request::builder().method(method.clone()).uri(url);
        builder = match token {
            Some(token) => builder.header("x-aws-ec2-metadata-token", token),
            None if method == http::Method::PUT => {
                builder.header("x-aws-ec2-metadata-token-ttl-seconds", TOKEN_TTL)
            }
            None => builder,
        };
        let request = builder
            .body(RequestBody::empty())
            .map_err(|e| Failure::Broken(format!("could not build the request to {url}: {e}")))?;
        let answer = match http.send(request).await {
            Ok(response) => {
                let status = response.status.as_u16();
                match response.body.collect(MAX_ANSWER).await {
                    Ok(body) => Ok((status, String::from_utf8_lossy(&body).into_owned())),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        match answer {
            Ok((status, _)) if status >= 500 && attempt < ATTEMPTS => {
                tracing::debug!(status, url, "IMDS answered a server error; trying again");
                tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
            }
            Ok(answer) => return Ok(answer),
            Err(HttpError::Connect { message }) => {
                return Err(Failure::Absent(format!(
                    "IMDS is not reachable at {url} ({message})"
                )));
            }
            Err(HttpError::Timeout { .. }) => {
                return Err(Failure::Absent(format!(
                    "IMDS did not answer at {url} within {TIMEOUT:?}"
                )));
            }
            Err(e) => return Err(Failure::Absent(format!("IMDS at {url}: {e}"))),
        }
    }
}

/// Reads the role credentials document (`Code`, `AccessKeyId`, `SecretAccessKey`, `Token`,
/// `Expiration`). Values are never put in messages.
pub(crate) fn parse_role_credentials(body: &str) -> Result<Credentials, String> {
    let doc: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| format!("the credentials document is not JSON ({e})"))?;
    let field = |name: &str| doc.get(name).and_then(serde_json::Value::as_str);
    if let Some(code) = field("Code")
        && code != "Success"
    {
        return Err(format!("IMDS reported `{code}` instead of Success"));
    }
    let required = |name: &str| {
        field(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("the credentials document has no {name}"))
    };
    let credentials = Credentials::new(required("AccessKeyId")?, required("SecretAccessKey")?)
        .with_session_token(required("Token")?);
    let expiration = required("Expiration")?;
    let expiry = crate::time::parse_iso8601_time(expiration)
        .ok_or_else(|| format!("Expiration `{expiration}` is not an ISO-8601 time"))?;
    Ok(credentials.with_expiry(expiry))
}

impl ProvideCredentials for ImdsProvider {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(async move {
            if disabled(&self.env) {
                return Err(if self.explicit {
                    self.error("it is disabled by AWS_EC2_METADATA_DISABLED=true; unset it, or use another credential_source".into())
                } else {
                    CredentialsError::NotConfigured {
                        source_name: NAME,
                        reason: "AWS_EC2_METADATA_DISABLED is true".into(),
                    }
                });
            }
            match self.fetch().await {
                Ok(credentials) => Ok(Some(credentials)),
                // In the default chain any failure passes on (a laptop, a proxy answering
                // for 169.254.169.254): `-v` says why.
                Err(Failure::Absent(why) | Failure::Broken(why)) if !self.explicit => {
                    Err(CredentialsError::NotConfigured {
                        source_name: NAME,
                        reason: why,
                    })
                }
                Err(Failure::Absent(why) | Failure::Broken(why)) => Err(self.error(why)),
            }
        })
    }

    fn name(&self) -> String {
        match self.role_name() {
            Some(role) => format!("{NAME} (role {role})"),
            None => NAME.into(),
        }
    }
}

impl ImdsProvider {
    fn error(&self, message: String) -> CredentialsError {
        CredentialsError::Provider {
            source_name: NAME.into(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn the_endpoint_comes_from_the_variable_then_the_mode() {
        let config = |pairs: &[(&str, &str)]| resolve_config(&env(pairs), None, None, None);
        assert_eq!(config(&[]).unwrap().endpoint, IPV4_ENDPOINT);
        assert_eq!(
            config(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ipV6")])
                .unwrap()
                .endpoint,
            IPV6_ENDPOINT
        );
        assert_eq!(
            config(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9/")])
                .unwrap()
                .endpoint,
            "http://127.0.0.1:9"
        );
        let err = config(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv7")]).unwrap_err();
        assert!(err.contains("`IPv7` is not a valid endpoint mode"), "{err}");
        assert!(config(&[]).unwrap().v1_allowed);
        assert!(
            !config(&[("AWS_EC2_METADATA_V1_DISABLED", "true")])
                .unwrap()
                .v1_allowed
        );
    }

    #[test]
    fn a_role_document_parses_and_its_secrets_stay_out_of_errors() {
        let creds = parse_role_credentials(
            r#"{"Code":"Success","AccessKeyId":"ASIAX","SecretAccessKey":"s3cr3t","Token":"t0k","Expiration":"2021-09-21T04:16:53Z"}"#,
        )
        .unwrap();
        assert_eq!(creds.session_token(), Some("t0k"));
        assert!(creds.expiry().is_some());
        let err = parse_role_credentials(r#"{"AccessKeyId":"ASIAX","SecretAccessKey":"s3cr3t"}"#)
            .unwrap_err();
        assert!(err.contains("no Token"), "{err}");
        assert!(!err.contains("s3cr3t"), "{err}");
    }
}
