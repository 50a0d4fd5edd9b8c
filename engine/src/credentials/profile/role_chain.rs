//! Role profiles: from the selected profile, follow `source_profile` links to where the first
//! credentials come from, collecting the roles to assume on the way back.
//!
//! The rules are the AWS SDKs' (the conformance cases of `assume-role-tests.json` pass):
//! * in the selected profile, `role_arn` wins over keys in the same profile;
//! * in a source profile, static keys win over its `role_arn` (the chain stops there);
//! * a profile that names itself as `source_profile` uses its own keys for its role;
//! * `credential_source` (a named source such as `Environment`) ends the chain instead of a
//!   `source_profile`; both at once is an error, and so is neither;
//! * `web_identity_token_file` with `role_arn` is a source of its own;
//! * a profile without keys or role may be IAM Identity Center or `credential_process`;
//! * a profile visited twice is a loop.

use super::{LoadedProfiles, Profile};
use crate::credentials::CredentialsError;

/// One role to assume, as a profile describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleHop {
    /// The profile that names the role.
    pub profile: String,
    /// `role_arn`.
    pub role_arn: String,
    /// `role_session_name`.
    pub role_session_name: Option<String>,
    /// `external_id`.
    pub external_id: Option<String>,
    /// `mfa_serial`: the MFA device whose code the trust policy asks for.
    pub mfa_serial: Option<String>,
    /// `duration_seconds`, in seconds.
    pub duration_seconds: Option<u32>,
}

/// Where the first credentials of a chain come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseSource {
    /// The static keys of this profile.
    AccessKey {
        /// The profile holding `aws_access_key_id` and `aws_secret_access_key`.
        profile: String,
    },
    /// `credential_source = NAME` (`Environment`, `Ec2InstanceMetadata`, `EcsContainer`).
    NamedSource {
        /// The profile naming the source.
        profile: String,
        /// The source's name.
        name: String,
    },
    /// `role_arn` with `web_identity_token_file`.
    WebIdentity {
        /// The profile.
        profile: String,
        /// The role assumed with the token.
        role_arn: String,
        /// The token file.
        token_file: String,
        /// `role_session_name`.
        role_session_name: Option<String>,
    },
    /// IAM Identity Center (`sso_session` or `sso_start_url`).
    Sso {
        /// The profile.
        profile: String,
    },
    /// `credential_process`: a command that prints credentials.
    Process {
        /// The profile.
        profile: String,
        /// The command line.
        command: String,
    },
}

/// A resolved chain: the base source, then the roles to assume from it, innermost first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileChain {
    /// Where the first credentials come from.
    pub base: BaseSource,
    /// The roles, in the order they are assumed (the selected profile's role last).
    pub roles: Vec<RoleHop>,
}

impl ProfileChain {
    /// True when the chain assumes at least one role.
    pub fn has_roles(&self) -> bool {
        !self.roles.is_empty()
    }
}

/// At most this many profiles in one chain (a guard besides loop detection).
const MAX_HOPS: usize = 32;

/// Follows the chain from `selected`. Static keys are not checked here (the provider reads
/// them with their own messages); a profile with no usable source is an error.
pub fn resolve_chain(
    loaded: &LoadedProfiles,
    selected: &str,
) -> Result<ProfileChain, CredentialsError> {
    let profiles = &loaded.profiles;
    if profiles.is_empty() {
        return Err(error(
            selected,
            format!(
                "no profiles are defined (looked in {} and {}); create one with `aws configure --profile {selected}`",
                loaded.config.display(),
                loaded.credentials.display()
            ),
        ));
    }
    let mut visited: Vec<String> = Vec::new();
    let mut roles = Vec::new();
    let mut name = selected.to_owned();
    loop {
        let Some(profile) = profiles.get(&name) else {
            let referrer = visited.last().map_or(selected, String::as_str);
            return Err(error(
                referrer,
                format!(
                    "its source_profile `{name}` does not exist; define [profile {name}] in {} or fix source_profile",
                    loaded.config.display()
                ),
            ));
        };
        if visited.iter().any(|v| v == &name) || visited.len() >= MAX_HOPS {
            visited.push(name.clone());
            return Err(error(
                selected,
                format!(
                    "source_profile links form a loop ({}); make the last profile hold keys or a credential_source",
                    visited.join(" → ")
                ),
            ));
        }
        visited.push(name.clone());
        let is_source = visited.len() > 1;
        if is_source && has_static_keys(profile) {
            return Ok(finish(BaseSource::AccessKey { profile: name }, roles));
        }
        let Some(role_arn) = profile.get_non_empty("role_arn") else {
            return base_without_role(profile, loaded).map(|base| finish(base, roles));
        };
        if let Some(token_file) = profile.get_non_empty("web_identity_token_file") {
            let base = BaseSource::WebIdentity {
                profile: name.clone(),
                role_arn: role_arn.to_owned(),
                token_file: token_file.to_owned(),
                role_session_name: owned(profile, "role_session_name"),
            };
            return Ok(finish(base, roles));
        }
        roles.push(hop(profile, role_arn)?);
        let source = profile.get_non_empty("source_profile");
        let named = profile.get_non_empty("credential_source");
        match (source, named) {
            (Some(_), Some(_)) => {
                return Err(error(
                    &name,
                    "it sets both source_profile and credential_source; keep one of them".into(),
                ));
            }
            (None, None) => {
                return Err(error(
                    &name,
                    "it has role_arn but neither source_profile nor credential_source; add source_profile = PROFILE_WITH_KEYS".into(),
                ));
            }
            (None, Some(named)) => {
                let base = BaseSource::NamedSource {
                    profile: name.clone(),
                    name: named.to_owned(),
                };
                return Ok(finish(base, roles));
            }
            (Some(source), None) if source == name => {
                if !has_static_keys(profile) {
                    return Err(error(
                        &name,
                        "it is its own source_profile but holds no keys; add aws_access_key_id and aws_secret_access_key to it".into(),
                    ));
                }
                return Ok(finish(BaseSource::AccessKey { profile: name }, roles));
            }
            (Some(source), None) => name = source.to_owned(),
        }
    }
}

/// The chain's roles are collected outermost first; they are assumed innermost first.
fn finish(base: BaseSource, mut roles: Vec<RoleHop>) -> ProfileChain {
    roles.reverse();
    ProfileChain { base, roles }
}

/// A profile without `role_arn`: keys, IAM Identity Center, or nothing usable.
fn base_without_role(
    profile: &Profile,
    loaded: &LoadedProfiles,
) -> Result<BaseSource, CredentialsError> {
    let name = profile.name().to_owned();
    if profile.get_non_empty("web_identity_token_file").is_some() {
        return Err(error(
            &name,
            "it has web_identity_token_file but no role_arn; add the role_arn to assume with the token".into(),
        ));
    }
    if has_any_key(profile) {
        return Ok(BaseSource::AccessKey { profile: name });
    }
    if let Some(sso) = sso_base(profile, loaded)? {
        return Ok(sso);
    }
    if let Some(command) = profile.get_non_empty("credential_process") {
        return Ok(BaseSource::Process {
            profile: name,
            command: command.to_owned(),
        });
    }
    Err(error(
        &name,
        "it holds no credentials (no aws_access_key_id/aws_secret_access_key, role_arn or other source); add keys, or role_arn with source_profile".into(),
    ))
}

/// IAM Identity Center settings, checked the way the SDKs check them.
fn sso_base(
    profile: &Profile,
    loaded: &LoadedProfiles,
) -> Result<Option<BaseSource>, CredentialsError> {
    let name = profile.name();
    let account = profile.get_non_empty("sso_account_id");
    let role = profile.get_non_empty("sso_role_name");
    let session = profile.get_non_empty("sso_session");
    let start_url = profile.get_non_empty("sso_start_url");
    match (account, role) {
        (Some(_), None) => {
            return Err(error(
                name,
                "sso_account_id is set but sso_role_name is not; set both".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(error(
                name,
                "sso_role_name is set but sso_account_id is not; set both".into(),
            ));
        }
        _ => {}
    }
    if session.is_some() && profile.get_non_empty("sso_region").is_some() {
        return Err(error(
            name,
            "sso_region belongs in the [sso-session] section when sso_session is used; move it there".into(),
        ));
    }
    if let Some(session) = session
        && loaded.profiles.sso_session(session).is_none()
    {
        return Err(error(
            name,
            format!(
                "its sso_session `{session}` has no [sso-session {session}] section in {}; add it or fix sso_session",
                loaded.config.display()
            ),
        ));
    }
    Ok(
        (session.is_some() || start_url.is_some() || account.is_some()).then(|| BaseSource::Sso {
            profile: name.to_owned(),
        }),
    )
}

fn hop(profile: &Profile, role_arn: &str) -> Result<RoleHop, CredentialsError> {
    let duration_seconds = match profile.get_non_empty("duration_seconds") {
        None => None,
        Some(text) => Some(text.trim().parse::<u32>().map_err(|_| {
            error(
                profile.name(),
                format!("duration_seconds `{text}` is not a whole number of seconds; e.g. duration_seconds = 3600"),
            )
        })?),
    };
    Ok(RoleHop {
        profile: profile.name().to_owned(),
        role_arn: role_arn.to_owned(),
        role_session_name: owned(profile, "role_session_name"),
        external_id: owned(profile, "external_id"),
        mfa_serial: owned(profile, "mfa_serial"),
        duration_seconds,
    })
}

fn owned(profile: &Profile, key: &str) -> Option<String> {
    profile.get_non_empty(key).map(str::to_owned)
}

/// Both keys set (a source profile with only one of them is not taken as a key source, so the
/// error is reported where the keys are read).
fn has_static_keys(profile: &Profile) -> bool {
    profile.get_non_empty("aws_access_key_id").is_some()
        && profile.get_non_empty("aws_secret_access_key").is_some()
}

fn has_any_key(profile: &Profile) -> bool {
    profile.get_non_empty("aws_access_key_id").is_some()
        || profile.get_non_empty("aws_secret_access_key").is_some()
}

fn error(profile: &str, message: String) -> CredentialsError {
    CredentialsError::Provider {
        source_name: format!("profile `{profile}`"),
        message,
    }
}
