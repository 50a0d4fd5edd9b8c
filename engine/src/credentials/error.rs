//! Why credentials could not be had, and what to do about it.

use std::path::PathBuf;

/// Why a credentials source gave no usable credentials. Every message names the source and
/// says what to change.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// The source has nothing configured; a chain moves on to the next source.
    #[error("{source_name}: not configured ({reason})")]
    NotConfigured {
        /// Which source (e.g. "environment").
        source_name: &'static str,
        /// Why (for `-v`): what is missing, or what stands in the way. Never a secret.
        reason: String,
    },
    /// An access key id was given without its secret.
    #[error(
        "{source_name}: the access key id is set but the secret access key is missing; set {fix}"
    )]
    MissingSecret {
        /// Which source.
        source_name: String,
        /// What to set.
        fix: String,
    },
    /// A secret was given without its access key id.
    #[error(
        "{source_name}: the secret access key is set but the access key id is missing; set {fix}"
    )]
    MissingAccessKeyId {
        /// Which source.
        source_name: String,
        /// What to set.
        fix: String,
    },
    /// A temporary (`ASIA…`) access key id came without the session token it needs.
    #[error(
        "{source_name}: access key id {masked_key} is temporary (ASIA…) but no session token was given; set {fix}"
    )]
    MissingSessionToken {
        /// Which source.
        source_name: String,
        /// The key, masked.
        masked_key: String,
        /// What to set.
        fix: String,
    },
    /// The named profile is in neither shared file.
    #[error(
        "profile `{profile}` was not found in {config} or {credentials}; create it (aws configure --profile {profile}) or pick another (AWS_PROFILE, or the profile the client is given){available}"
    )]
    ProfileNotFound {
        /// The profile asked for.
        profile: String,
        /// The config file looked at.
        config: PathBuf,
        /// The credentials file looked at.
        credentials: PathBuf,
        /// ", available: a, b" or empty.
        available: String,
    },
    /// The profile exists but holds no credentials.
    #[error(
        "profile `{profile}` has no credentials: add aws_access_key_id and aws_secret_access_key to it (in {credentials})"
    )]
    EmptyProfile {
        /// The profile.
        profile: String,
        /// The credentials file to edit.
        credentials: PathBuf,
    },
    /// A shared file could not be read or parsed.
    #[error("{path}: {message}")]
    ProfileFile {
        /// The file.
        path: PathBuf,
        /// What went wrong there.
        message: String,
    },
    /// No source in the chain had credentials.
    #[error(
        "no credentials found (tried {tried}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, configure a profile with `aws configure`, or send unsigned requests for public buckets"
    )]
    NoneFound {
        /// The sources tried, in order.
        tried: String,
    },
    /// A provider that calls a service (STS) failed.
    #[error("{source_name}: {message}")]
    Provider {
        /// Which provider.
        source_name: String,
        /// What went wrong, with the fix.
        message: String,
    },
}

impl CredentialsError {
    /// True when the source simply has nothing configured, so a chain may try the next one.
    pub fn is_not_configured(&self) -> bool {
        matches!(self, Self::NotConfigured { .. })
    }

    /// What to do about it.
    pub fn advice(&self) -> crate::Advice {
        match self {
            Self::NoneFound { .. } => crate::Advice::GiveCredentialsOrGoAnonymous,
            Self::ProfileNotFound { .. } => crate::Advice::PickAnotherProfile,
            _ => crate::Advice::ReviewCredentialSources,
        }
    }
}
