//! Web identity (IRSA on EKS, GitHub Actions OIDC, …): an OpenID Connect token in a file,
//! traded for a role's credentials by STS `AssumeRoleWithWebIdentity` (an unsigned call).
//!
//! From the environment: `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN` and optionally
//! `AWS_ROLE_SESSION_NAME`; from a profile: `web_identity_token_file`, `role_arn`,
//! `role_session_name`. The file is read again at every refresh (EKS rotates it).

use super::sts::{AssumeRole, AssumeRoleWithWebIdentity, StsClient, StsError};
use super::{Credentials, CredentialsError, ProvideCredentials, ProvideFuture, Secret};
use crate::env::Environment;
use std::path::PathBuf;

/// How the environment source is named in messages.
pub const NAME: &str = "web identity token";

/// The token file variable.
pub const TOKEN_FILE_ENV: &str = "AWS_WEB_IDENTITY_TOKEN_FILE";
/// The role variable.
pub const ROLE_ARN_ENV: &str = "AWS_ROLE_ARN";
/// The session name variable.
pub const SESSION_NAME_ENV: &str = "AWS_ROLE_SESSION_NAME";

/// What the role is assumed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebIdentitySettings {
    /// The file holding the token.
    pub token_file: PathBuf,
    /// The role to assume.
    pub role_arn: String,
    /// The session name (else `ferry-<unix seconds>`).
    pub role_session_name: Option<String>,
}

impl WebIdentitySettings {
    /// The environment's settings: `Ok(None)` when `AWS_WEB_IDENTITY_TOKEN_FILE` is unset.
    pub fn from_env(env: &Environment) -> Result<Option<Self>, CredentialsError> {
        let Some(file) = env.get(TOKEN_FILE_ENV) else {
            return Ok(None);
        };
        let Some(role_arn) = env.get(ROLE_ARN_ENV) else {
            return Err(CredentialsError::Provider {
                source_name: NAME.into(),
                message: format!(
                    "{TOKEN_FILE_ENV} is set but {ROLE_ARN_ENV} is not; set {ROLE_ARN_ENV} to the role to assume with the token"
                ),
            });
        };
        Ok(Some(Self {
            token_file: PathBuf::from(file.trim()),
            role_arn: role_arn.trim().to_owned(),
            role_session_name: env.get(SESSION_NAME_ENV),
        }))
    }
}

/// The role's credentials for the token; every call asks STS again (wrap it in a cache).
#[derive(Debug, Clone)]
pub struct WebIdentityProvider {
    settings: Option<WebIdentitySettings>,
    env: Option<Environment>,
    sts: StsClient,
    source_name: String,
}

impl WebIdentityProvider {
    /// The environment's web identity (`NotConfigured` when its variables are unset).
    pub fn from_env(env: Environment, sts: StsClient) -> Self {
        Self {
            settings: None,
            env: Some(env),
            sts,
            source_name: NAME.into(),
        }
    }

    /// Fixed settings (a profile's), named `source_name` in messages.
    pub fn new(settings: WebIdentitySettings, sts: StsClient, source_name: String) -> Self {
        Self {
            settings: Some(settings),
            env: None,
            sts,
            source_name,
        }
    }

    fn error(&self, message: String) -> CredentialsError {
        CredentialsError::Provider {
            source_name: self.source_name.clone(),
            message,
        }
    }

    async fn fetch(&self, settings: &WebIdentitySettings) -> Result<Credentials, CredentialsError> {
        let path = &settings.token_file;
        let token = std::fs::read_to_string(path).map_err(|e| {
            self.error(format!(
                "cannot read the web identity token file {} ({e}); check {TOKEN_FILE_ENV} / web_identity_token_file and that the token is mounted",
                path.display()
            ))
        })?;
        let token = token.trim();
        if token.is_empty() {
            return Err(self.error(format!(
                "the web identity token file {} is empty; it must hold the OIDC token (a JWT)",
                path.display()
            )));
        }
        let request = AssumeRoleWithWebIdentity {
            role_arn: settings.role_arn.clone(),
            role_session_name: settings
                .role_session_name
                .clone()
                .unwrap_or_else(AssumeRole::default_session_name),
            web_identity_token: Secret::new(token.to_owned()),
            duration_seconds: None,
        };
        match self.sts.assume_role_with_web_identity(&request).await {
            Ok(assumed) => {
                tracing::debug!(
                    role = %settings.role_arn,
                    arn = assumed.arn.as_deref().unwrap_or("?"),
                    "assumed role with web identity"
                );
                Ok(assumed.credentials)
            }
            Err(error) => {
                let mut message = error.to_string();
                let refused_token = matches!(
                    error.code(),
                    Some("InvalidIdentityToken" | "IDPRejectedClaim" | "ExpiredTokenException")
                );
                if refused_token && !looks_like_jwt(token) {
                    message.push_str(&format!(
                        " (the token in {} is not a JWT: three base64url parts separated by `.`)",
                        path.display()
                    ));
                }
                if matches!(error, StsError::Invalid(_)) {
                    message.push_str(" (check role_arn / AWS_ROLE_ARN and role_session_name / AWS_ROLE_SESSION_NAME)");
                }
                Err(self.error(format!(
                    "AssumeRoleWithWebIdentity for {}: {message}",
                    settings.role_arn
                )))
            }
        }
    }
}

/// Three non-empty base64url segments separated by dots.
pub fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts.iter().take(2).all(|p| !p.is_empty())
        && parts.iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
        })
}

impl ProvideCredentials for WebIdentityProvider {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(async move {
            let settings = match (&self.settings, &self.env) {
                (Some(settings), _) => settings.clone(),
                (None, Some(env)) => match WebIdentitySettings::from_env(env)? {
                    Some(settings) => settings,
                    None => {
                        return Err(CredentialsError::NotConfigured {
                            source_name: NAME,
                            reason: format!("{TOKEN_FILE_ENV} is not set"),
                        });
                    }
                },
                (None, None) => {
                    return Err(CredentialsError::NotConfigured {
                        source_name: NAME,
                        reason: "no token file is configured".into(),
                    });
                }
            };
            self.fetch(&settings).await.map(Some)
        })
    }

    fn name(&self) -> String {
        self.source_name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwts_are_told_from_other_text() {
        assert!(looks_like_jwt(
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig-_x"
        ));
        assert!(!looks_like_jwt("sometoken"));
        assert!(!looks_like_jwt("a.b"));
        assert!(!looks_like_jwt("a b.c.d"));
    }

    #[test]
    fn a_token_file_without_a_role_names_the_variable_to_set() {
        let env = Environment::from_pairs([(TOKEN_FILE_ENV, "/var/run/token")]);
        let err = WebIdentitySettings::from_env(&env).unwrap_err().to_string();
        assert!(err.contains(ROLE_ARN_ENV), "{err}");
        let none = Environment::from_pairs([(ROLE_ARN_ENV, "arn:aws:iam::123456789012:role/r")]);
        assert_eq!(WebIdentitySettings::from_env(&none).unwrap(), None);
    }
}
