//! How the credential sources that run a command or call an HTTPS endpoint of their own (the
//! IAM Identity Center portal and OIDC service, the ECS/EKS agent, `credential_process`) are
//! set up: the CA bundle the rest of ferry trusts, and how long a command may run.

use crate::env::Environment;
use std::path::PathBuf;
use std::time::Duration;

/// The variable that sets how long a `credential_process` command may run, in seconds.
pub const PROCESS_TIMEOUT_ENV: &str = "FERRY_CREDENTIAL_PROCESS_TIMEOUT";

/// The longest [`PROCESS_TIMEOUT_ENV`] may ask for: a command that hangs is still killed.
pub const MAX_PROCESS_TIMEOUT: Duration = Duration::from_secs(3600);

/// Settings shared by the credential sources' own clients and commands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceOptions {
    /// Trust only the certificates in this PEM file (`--ca-bundle`, `AWS_CA_BUNDLE`,
    /// `ca_bundle`) for the SSO portal, the OIDC service and the container agent.
    pub ca_bundle: Option<PathBuf>,
    /// How long `credential_process` may run before it is killed (`None`: 60 s).
    pub process_timeout: Option<Duration>,
}

impl SourceOptions {
    /// The process timeout from [`PROCESS_TIMEOUT_ENV`] (whole seconds, 1-3600), if set.
    pub fn process_timeout_from_env(env: &Environment) -> Result<Option<Duration>, String> {
        let Some(text) = env.get(PROCESS_TIMEOUT_ENV) else {
            return Ok(None);
        };
        let max = MAX_PROCESS_TIMEOUT.as_secs();
        match text.trim().parse::<u64>() {
            Ok(seconds) if (1..=max).contains(&seconds) => Ok(Some(Duration::from_secs(seconds))),
            _ => Err(format!(
                "{PROCESS_TIMEOUT_ENV} `{text}` is not a whole number of seconds from 1 to {max}; e.g. {PROCESS_TIMEOUT_ENV}=120"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_timeout_is_whole_seconds_within_an_hour() {
        let env = |v: &str| Environment::from_pairs([(PROCESS_TIMEOUT_ENV, v)]);
        assert_eq!(
            SourceOptions::process_timeout_from_env(&env(" 120 ")).unwrap(),
            Some(Duration::from_secs(120))
        );
        for bad in ["0", "3601", "1.5", "soon"] {
            let err = SourceOptions::process_timeout_from_env(&env(bad)).unwrap_err();
            assert!(err.contains("1 to 3600"), "{err}");
        }
        assert_eq!(
            SourceOptions::process_timeout_from_env(&Environment::from_pairs(Vec::<(
                String,
                String
            )>::new(
            )))
            .unwrap(),
            None
        );
    }
}
