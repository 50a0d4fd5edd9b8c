//! IAM Identity Center (SSO): the role credentials of a profile's account and role, bought with
//! the access token `aws sso login` left in `~/.aws/sso/cache/`.
//!
//! A profile names the account and role (`sso_account_id`, `sso_role_name`) and either an
//! `[sso-session NAME]` section (`sso_session = NAME`, holding `sso_start_url` and
//! `sso_region`) or, in the legacy form, `sso_start_url` and `sso_region` itself. The token is
//! in `~/.aws/sso/cache/SHA1.json`, SHA1 being the hex SHA-1 of the session name (or of the
//! start URL, legacy). With an `[sso-session]`, a token with less than 15 minutes left is
//! refreshed with its cached refresh token and written back, as the SDKs do
//! ([`super::sso_refresh`]). ferry never opens a browser: when the token is missing, or expired
//! and not refreshable, the message says to run `aws sso login --profile NAME`.
//!
//! The credentials come from the portal's `GetRoleCredentials`
//! (`GET https://portal.sso.REGION.amazonaws.com/federation/credentials`), or from
//! `AWS_ENDPOINT_URL_SSO` when set.

use super::profile::{Platform, Profile, ProfileSet, home_dir};
use super::sso_refresh;
use super::{Credentials, CredentialsError, ProvideCredentials, ProvideFuture};
use crate::env::Environment;
use crate::http::{HttpClient, HttpConfig, RequestBody};
use crate::sign::encode::encode_query_component;
use sha1::{Digest, Sha1};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The variable that moves the portal (tests, private endpoints).
pub const ENDPOINT_ENV: &str = "AWS_ENDPOINT_URL_SSO";
const ATTEMPTS: u32 = 3;
const MAX_ANSWER: usize = 64 * 1024;

/// What a profile says about its IAM Identity Center role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoSettings {
    /// The profile.
    pub profile: String,
    /// `sso_session`, when the profile uses one.
    pub session: Option<String>,
    /// The portal's start URL.
    pub start_url: String,
    /// The portal's region.
    pub region: String,
    /// The account.
    pub account_id: String,
    /// The role in it.
    pub role_name: String,
    /// `use_fips_endpoint`.
    pub fips: bool,
    /// `use_dualstack_endpoint`.
    pub dual_stack: bool,
}

impl SsoSettings {
    /// Reads `profile`'s settings (and its `[sso-session]` section from `profiles`).
    pub fn from_profile(
        profile: &Profile,
        profiles: &ProfileSet,
        env: &Environment,
    ) -> Result<Self, String> {
        let name = profile.name();
        let get = |key: &str| profile.get_non_empty(key).map(str::to_owned);
        let need = |value: Option<String>, key: &str| {
            value.ok_or_else(|| format!("{key} is missing; add it to [profile {name}]"))
        };
        let session = get("sso_session");
        let (start_url, region) = match &session {
            Some(session_name) => {
                let section = profiles.sso_session(session_name).ok_or_else(|| {
                    format!("its sso_session `{session_name}` has no [sso-session {session_name}] section; add it")
                })?;
                let from = |key: &str| {
                    section
                        .get_non_empty(key)
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            format!("{key} is missing from [sso-session {session_name}]")
                        })
                };
                let start_url = from("sso_start_url")?;
                if let Some(own) = get("sso_start_url")
                    && own != start_url
                {
                    return Err(format!(
                        "its sso_start_url differs from the one in [sso-session {session_name}]; remove it from the profile"
                    ));
                }
                (start_url, from("sso_region")?)
            }
            None => (
                need(get("sso_start_url"), "sso_start_url")?,
                need(get("sso_region"), "sso_region")?,
            ),
        };
        let flag = |variable: &str, key: &str| {
            env.get(variable)
                .or_else(|| get(key))
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        };
        Ok(Self {
            profile: name.to_owned(),
            session,
            start_url,
            region,
            account_id: need(get("sso_account_id"), "sso_account_id")?,
            role_name: need(get("sso_role_name"), "sso_role_name")?,
            fips: flag("AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint"),
            dual_stack: flag("AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint"),
        })
    }

    /// The token cache file's name: the SHA-1 of the session name, or of the start URL.
    pub fn cache_file_name(&self) -> String {
        let key = self.session.as_deref().unwrap_or(&self.start_url);
        let digest = Sha1::digest(key.as_bytes());
        let mut name: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        name.push_str(".json");
        name
    }

    /// The portal's URL (no trailing `/`).
    pub fn portal(&self) -> String {
        let region = &self.region;
        match (self.fips, self.dual_stack) {
            (true, true) => format!("https://portal.sso-fips.{region}.api.aws"),
            (true, false) => format!("https://portal.sso-fips.{region}.amazonaws.com"),
            (false, true) => format!("https://portal.sso.{region}.api.aws"),
            (false, false) => format!("https://portal.sso.{region}.amazonaws.com"),
        }
    }
}

/// The role credentials of an IAM Identity Center profile.
#[derive(Debug, Clone)]
pub struct SsoProvider {
    settings: SsoSettings,
    env: Environment,
    ca_bundle: Option<PathBuf>,
    http: Arc<OnceLock<HttpClient>>,
}

impl SsoProvider {
    /// The provider for `settings`, with the home directory and endpoint from `env`.
    pub fn new(settings: SsoSettings, env: Environment) -> Self {
        Self {
            settings,
            env,
            ca_bundle: None,
            http: Arc::default(),
        }
    }

    /// Trusts only the certificates in `ca_bundle` (PEM) for the portal and the OIDC service.
    pub fn with_ca_bundle(mut self, ca_bundle: Option<PathBuf>) -> Self {
        self.ca_bundle = ca_bundle;
        self
    }

    fn error(&self, message: String) -> CredentialsError {
        CredentialsError::Provider {
            source_name: format!("profile `{}` (IAM Identity Center)", self.settings.profile),
            message,
        }
    }

    fn login(&self) -> String {
        format!("run `aws sso login --profile {}`", self.settings.profile)
    }

    fn cache_path(&self) -> Result<PathBuf, CredentialsError> {
        let home = home_dir(&self.env, Platform::current()).ok_or_else(|| {
            self.error("the home directory is unknown (HOME is not set), so the SSO token cache cannot be found; set HOME".into())
        })?;
        Ok(PathBuf::from(home)
            .join(".aws/sso/cache")
            .join(self.settings.cache_file_name()))
    }

    fn http(&self) -> Result<&HttpClient, CredentialsError> {
        if let Some(http) = self.http.get() {
            return Ok(http);
        }
        let http = HttpClient::new(&HttpConfig {
            max_connections: 1,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(10),
            ca_bundle: self.ca_bundle.clone(),
            ..HttpConfig::default()
        })
        .map_err(|e| self.error(format!("could not set up HTTP: {e}")))?;
        Ok(self.http.get_or_init(|| http))
    }

    /// The cached access token, checked for expiry, and refreshed when it is close to it
    /// (see [`super::sso_refresh`]).
    async fn token(&self) -> Result<(String, SystemTime), CredentialsError> {
        let path = self.cache_path()?;
        let text = std::fs::read_to_string(&path).map_err(|e| {
            self.error(format!(
                "failed to read `{}`: {e}; {} to sign in",
                path.display(),
                self.login()
            ))
        })?;
        let doc: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&text).map_err(|e| {
                self.error(format!(
                    "the SSO token cache `{}` is not a JSON object ({e}); {} again",
                    path.display(),
                    self.login()
                ))
            })?;
        let field = |name: &str| doc.get(name).and_then(serde_json::Value::as_str);
        let token = field("accessToken")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                self.error(format!(
                    "the SSO token cache `{}` has no accessToken; {} again",
                    path.display(),
                    self.login()
                ))
            })?;
        let expires = field("expiresAt").ok_or_else(|| {
            self.error(format!(
                "the SSO token cache `{}` has no expiresAt; {} again",
                path.display(),
                self.login()
            ))
        })?;
        let expiry = crate::time::parse_iso8601_time(expires).ok_or_else(|| {
            self.error(format!(
                "the SSO token cache `{}` has an unreadable expiresAt `{expires}`; {} again",
                path.display(),
                self.login()
            ))
        })?;
        let now = SystemTime::now();
        if expiry.duration_since(now).unwrap_or_default() >= sso_refresh::REFRESH_WINDOW {
            return Ok((token.to_owned(), expiry));
        }
        let why_not = match self.refresh(&path, &doc, now).await {
            Ok(refreshed) => return Ok(refreshed),
            Err(why) => why,
        };
        tracing::debug!(profile = %self.settings.profile, reason = %why_not, "the SSO token was not refreshed");
        if expiry > now {
            return Ok((token.to_owned(), expiry));
        }
        Err(self.error(format!(
            "the SSO session expired at {expires} and could not be refreshed ({why_not}); {} (ferry never opens a browser)",
            self.login()
        )))
    }

    /// A new access token from the cached refresh token, written back to the cache.
    async fn refresh(
        &self,
        path: &std::path::Path,
        doc: &serde_json::Map<String, serde_json::Value>,
        now: SystemTime,
    ) -> Result<(String, SystemTime), String> {
        if self.settings.session.is_none() {
            return Err(
                "the profile names sso_start_url itself, not an [sso-session], and such tokens are not refreshed".into(),
            );
        }
        if let Some(why) = sso_refresh::not_refreshable(doc, now) {
            return Err(why);
        }
        let http = self.http().map_err(|e| e.to_string())?;
        let endpoint = self.env.get(sso_refresh::OIDC_ENDPOINT_ENV);
        let session = sso_refresh::Session {
            start_url: &self.settings.start_url,
            region: &self.settings.region,
        };
        let new = sso_refresh::refresh(http, endpoint.as_deref(), &session, doc, now).await?;
        if let Err(e) = sso_refresh::save(path, &new) {
            tracing::warn!(
                "could not write the refreshed SSO token back to {}: {e}",
                path.display()
            );
        }
        tracing::debug!(profile = %self.settings.profile, "refreshed the SSO token");
        let expiry = new["expiresAt"]
            .as_str()
            .and_then(crate::time::parse_iso8601_time)
            .unwrap_or(now);
        Ok((
            new["accessToken"].as_str().unwrap_or_default().to_owned(),
            expiry,
        ))
    }

    async fn fetch(&self) -> Result<Credentials, CredentialsError> {
        let (token, _) = self.token().await?;
        let http = self.http()?;
        let base = self.env.get(ENDPOINT_ENV).map_or_else(
            || self.settings.portal(),
            |url| url.trim_end_matches('/').to_owned(),
        );
        let mut url = format!("{base}/federation/credentials?account_id=");
        encode_query_component(&self.settings.account_id, &mut url);
        url.push_str("&role_name=");
        encode_query_component(&self.settings.role_name, &mut url);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = http::Request::builder()
                .method(http::Method::GET)
                .uri(&url)
                .header("x-amz-sso_bearer_token", &token)
                .body(RequestBody::empty())
                .map_err(|e| self.error(format!("could not build the request to {base}: {e}")))?;
            let answer = match http.send(request).await {
                Ok(response) => {
                    let status = response.status.as_u16();
                    response.body.collect(MAX_ANSWER).await.map(|b| (status, b))
                }
                Err(e) => Err(e),
            };
            let retry = match &answer {
                Ok((status, _)) => *status >= 500 || *status == 429,
                Err(e) => e.retry_reason().is_some(),
            };
            if retry && attempt < ATTEMPTS {
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                continue;
            }
            return match answer {
                Ok((200, body)) => parse_role_credentials(&body)
                    .map_err(|why| self.error(format!("GetRoleCredentials: {why}"))),
                Ok((401 | 403, _)) => Err(self.error(format!(
                    "the portal refused the SSO token (expired or revoked); {}",
                    self.login()
                ))),
                Ok((status, body)) => Err(self.error(format!(
                    "an error occurred while loading credentials: GetRoleCredentials at {base} answered HTTP {status} {}; check sso_account_id {} and sso_role_name {}",
                    String::from_utf8_lossy(&body[..body.len().min(200)]).trim(),
                    self.settings.account_id,
                    self.settings.role_name
                ))),
                Err(e) => Err(self.error(format!(
                    "an error occurred while loading credentials: GetRoleCredentials at {base}: {e}"
                ))),
            };
        }
    }
}

/// An IAM Identity Center access token (the SDKs' SSO token provider), never shown by `Debug`.
#[derive(Debug, Clone)]
pub struct SsoToken {
    /// The bearer token.
    pub token: super::Secret,
    /// When it expires.
    pub expiry: SystemTime,
}

/// The access token of the selected profile's `sso_session` (`explicit`, else `AWS_PROFILE`,
/// else `default`), from `~/.aws/sso/cache`, refreshed when it has less than 15 minutes left
/// as for credentials. `Ok(None)` when the profile names no `sso_session`.
pub async fn session_token(
    env: &Environment,
    explicit: Option<&str>,
) -> Result<Option<SsoToken>, CredentialsError> {
    let loaded = super::profile::load(env)?;
    let name = super::profile::profile_name(env, explicit);
    let Some(profile) = loaded.profiles.get(&name) else {
        return Ok(None);
    };
    let Some(session) = profile.get_non_empty("sso_session") else {
        return Ok(None);
    };
    let error = |message: String| CredentialsError::Provider {
        source_name: format!("profile `{name}` (IAM Identity Center)"),
        message,
    };
    let section = loaded.profiles.sso_session(session).ok_or_else(|| {
        error(format!(
            "its sso_session `{session}` has no [sso-session {session}] section; add it"
        ))
    })?;
    let get = |key: &str| {
        section
            .get_non_empty(key)
            .map(str::to_owned)
            .ok_or_else(|| error(format!("{key} is missing from [sso-session {session}]")))
    };
    let settings = SsoSettings {
        profile: name.clone(),
        session: Some(session.to_owned()),
        start_url: get("sso_start_url")?,
        region: get("sso_region")?,
        account_id: String::new(),
        role_name: String::new(),
        fips: false,
        dual_stack: false,
    };
    let (token, expiry) = SsoProvider::new(settings, env.clone()).token().await?;
    Ok(Some(SsoToken {
        token: super::Secret::new(token),
        expiry,
    }))
}

/// `{"roleCredentials": {"accessKeyId", "secretAccessKey", "sessionToken", "expiration"}}`,
/// the expiration in milliseconds since the epoch. Values never appear in messages.
fn parse_role_credentials(body: &[u8]) -> Result<Credentials, String> {
    let doc: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON ({e})"))?;
    let creds = doc
        .get("roleCredentials")
        .ok_or("the answer has no roleCredentials")?;
    let field = |name: &str| {
        creds
            .get(name)
            .and_then(serde_json::Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("the answer has no {name}"))
    };
    let expiration = creds
        .get("expiration")
        .and_then(serde_json::Value::as_u64)
        .ok_or("the answer has no expiration")?;
    Ok(
        Credentials::new(field("accessKeyId")?, field("secretAccessKey")?)
            .with_session_token(field("sessionToken")?)
            .with_expiry(UNIX_EPOCH + Duration::from_millis(expiration)),
    )
}

impl ProvideCredentials for SsoProvider {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(async move { self.fetch().await.map(Some) })
    }

    fn name(&self) -> String {
        format!("profile `{}` (IAM Identity Center)", self.settings.profile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(session: Option<&str>) -> SsoSettings {
        SsoSettings {
            profile: "p".into(),
            session: session.map(str::to_owned),
            start_url: "https://ssotest.awsapps.com/start".into(),
            region: "us-east-2".into(),
            account_id: "123456789".into(),
            role_name: "MySsoRole".into(),
            fips: false,
            dual_stack: false,
        }
    }

    #[test]
    fn the_cache_file_is_named_by_the_sha1_of_the_start_url_or_session() {
        assert_eq!(
            settings(None).cache_file_name(),
            "dace00cba5f8355ec9d274ceb2bcebdfbeed0e12.json"
        );
        // The SDKs' documented example: sha1("admin").
        assert_eq!(
            settings(Some("admin")).cache_file_name(),
            "d033e22ae348aeb5660fc2140aec35850c4da997.json"
        );
    }

    #[test]
    fn fips_and_dual_stack_pick_the_portal_host() {
        let mut s = settings(None);
        assert_eq!(s.portal(), "https://portal.sso.us-east-2.amazonaws.com");
        s.fips = true;
        s.dual_stack = true;
        assert_eq!(s.portal(), "https://portal.sso-fips.us-east-2.api.aws");
    }

    #[test]
    fn role_credentials_parse_with_a_millisecond_expiry() {
        let creds = parse_role_credentials(
            br#"{"roleCredentials":{"accessKeyId":"ASIAX","secretAccessKey":"s","sessionToken":"t","expiration":1234567890000}}"#,
        )
        .unwrap();
        assert_eq!(
            creds.expiry(),
            Some(UNIX_EPOCH + Duration::from_secs(1_234_567_890))
        );
    }
}
