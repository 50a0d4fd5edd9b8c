//! [`ProfileProvider`]: the static keys of the selected profile, or the role it names.

use super::role_chain::resolve_chain;
use super::role_provider::{RoleContext, base_description, role_chain_provider};
use super::{FileKind, LoadedProfiles, Profile, load, profile_name, selected_profile};
use crate::credentials::SourceOptions;
use crate::credentials::provider::build_checked;
use crate::credentials::{
    Credentials, CredentialsError, ProvideCredentials, ProvideFuture, Secret,
};
use crate::env::Environment;
use std::sync::{Arc, OnceLock};

/// The name used when the shared files simply are not there.
const NOT_CONFIGURED: &str = "shared config files";
/// At most this many profile names are listed when a profile is not found.
const MAX_LISTED: usize = 20;

/// The access key properties of a profile.
const ACCESS_KEY_ID: &str = "aws_access_key_id";
const SECRET_ACCESS_KEY: &str = "aws_secret_access_key";
const SESSION_TOKEN: &str = "aws_session_token";

/// Credentials from the selected profile of the shared files: `aws_access_key_id`,
/// `aws_secret_access_key` and `aws_session_token`, from the credentials file or the config
/// file (the credentials file wins where both set a key).
///
/// The profile is the one given to [`ProfileProvider::new`], else `AWS_PROFILE`, else
/// `default`. When no profile was chosen and the files are missing, or hold no `default`
/// profile, or a `default` profile without keys, the provider reports
/// [`CredentialsError::NotConfigured`] so that a chain moves on, as the AWS CLI does. A
/// profile that was chosen must exist and hold keys.
///
/// A role profile (`role_arn` with `source_profile` or `credential_source`) is followed to its
/// keys and its roles are assumed through STS, given a [`RoleContext`]
/// ([`ProfileProvider::with_roles`]); the role's credentials are cached and refreshed before
/// they expire.
///
/// The files are read on every call (they are small), so edits take effect at once; a role
/// chain is built once.
#[derive(Debug, Clone)]
pub struct ProfileProvider {
    env: Environment,
    profile: Option<String>,
    roles: Option<RoleContext>,
    sources: SourceOptions,
    assumed: Arc<OnceLock<Arc<dyn ProvideCredentials>>>,
    /// What `assumed` does, for the source's name ("assume role ARN with …").
    described: Arc<OnceLock<String>>,
    session_token: Option<Secret>,
}

impl ProfileProvider {
    /// A provider for `profile`, or when `None` for `AWS_PROFILE` or `default`; file
    /// locations and `AWS_PROFILE` come from `env`. Role profiles are refused unless
    /// [`Self::with_roles`] is given.
    pub fn new(env: Environment, profile: Option<String>) -> Self {
        Self {
            env,
            profile,
            roles: None,
            sources: SourceOptions::default(),
            assumed: Arc::new(OnceLock::new()),
            described: Arc::new(OnceLock::new()),
            session_token: None,
        }
    }

    /// Uses `token` (`--session-token`) as the session token of the profile's keys.
    pub fn with_session_token(mut self, token: Option<Secret>) -> Self {
        self.session_token = token;
        self
    }

    /// Sets up the base sources' own clients and commands (SSO, container,
    /// `credential_process`) with `sources`.
    pub fn with_sources(mut self, sources: SourceOptions) -> Self {
        self.sources = sources;
        self
    }

    /// Assumes the roles of role profiles through `context`.
    pub fn with_roles(mut self, context: RoleContext) -> Self {
        self.roles = Some(context);
        self
    }

    /// The provider of a profile whose credentials come from elsewhere than its own keys (a
    /// role, web identity, IAM Identity Center, `credential_process`; built on first use),
    /// `None` for a profile of static keys.
    fn role_provider(&self) -> Result<Option<Arc<dyn ProvideCredentials>>, CredentialsError> {
        if let Some(provider) = self.assumed.get() {
            return Ok(Some(provider.clone()));
        }
        let loaded = load(&self.env)?;
        let name = self.profile_name();
        let Some(profile) = loaded.profiles.get(&name) else {
            return Ok(None);
        };
        if !is_sourced(profile) {
            return Ok(None);
        }
        let chain = resolve_chain(&loaded, &name)?;
        tracing::debug!(
            profile = %name,
            hops = chain.roles.len(),
            base = ?chain.base,
            "profile whose credentials come from another source"
        );
        let base = base_description(&chain.base);
        let described = match chain.roles.last() {
            Some(role) => format!("assume role {} with {base}", role.role_arn),
            None => base,
        };
        let provider = role_chain_provider(
            &chain,
            &loaded,
            &self.env,
            self.roles.as_ref(),
            &self.sources,
        )?;
        let _ = self.described.set(described);
        Ok(Some(self.assumed.get_or_init(|| provider).clone()))
    }

    /// The profile this provider reads.
    pub fn profile_name(&self) -> String {
        profile_name(&self.env, self.profile.as_deref())
    }

    /// Reads the files and resolves now, without a runtime.
    pub fn resolve(&self) -> Result<Credentials, CredentialsError> {
        self.resolve_from(&load(&self.env)?)
    }

    /// Resolves from files already read.
    pub fn resolve_from(&self, loaded: &LoadedProfiles) -> Result<Credentials, CredentialsError> {
        let chosen = selected_profile(&self.env, self.profile.as_deref());
        let name = self.profile_name();
        let explicit = chosen.is_some();
        if !loaded.any_file_found() && !explicit {
            return Err(not_configured(format!(
                "neither {} nor {} exists",
                loaded.config.display(),
                loaded.credentials.display()
            )));
        }
        let Some(profile) = loaded.profiles.get(&name) else {
            return Err(if explicit {
                not_found(&name, loaded)
            } else {
                not_configured(format!("there is no profile `{name}`"))
            });
        };
        refuse_role_profile(profile)?;
        let mut keys = StaticKeys::read(profile, loaded);
        if let Some(token) = &self.session_token {
            keys.token = Some(token.expose());
        }
        keys.build(explicit)
    }
}

impl ProvideCredentials for ProfileProvider {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(async move {
            match self.role_provider()? {
                Some(role) => role.provide().await,
                None => self.resolve().map(Some),
            }
        })
    }

    fn name(&self) -> String {
        match self.described.get() {
            Some(described) => format!("{} ({described})", source_name(&self.profile_name())),
            None => source_name(&self.profile_name()),
        }
    }

    fn invalidate(&self, generation: u64) -> bool {
        self.assumed
            .get()
            .is_some_and(|role| role.invalidate(generation))
    }
}

/// True when the profile's credentials come from elsewhere than its own keys: a role
/// (`role_arn` wins over keys), or, without keys, IAM Identity Center or `credential_process`.
fn is_sourced(profile: &Profile) -> bool {
    if profile.get_non_empty("role_arn").is_some() {
        return true;
    }
    let has_key = [ACCESS_KEY_ID, SECRET_ACCESS_KEY]
        .iter()
        .any(|key| profile.get_non_empty(key).is_some());
    !has_key
        && [
            "sso_session",
            "sso_start_url",
            "sso_account_id",
            "credential_process",
            "web_identity_token_file",
        ]
        .iter()
        .any(|key| profile.get_non_empty(key).is_some())
}

/// The static keys of `profile` (a role chain's base), with the same messages as a profile
/// of keys: a key without its secret, a secret without its key, an `ASIA…` key without a
/// session token.
pub fn static_keys(
    profile: &Profile,
    loaded: &LoadedProfiles,
) -> Result<Credentials, CredentialsError> {
    StaticKeys::read(profile, loaded).build(true)
}

/// "profile `dev`", as messages name the source.
fn source_name(profile: &str) -> String {
    format!("profile `{profile}`")
}

fn not_configured(reason: String) -> CredentialsError {
    CredentialsError::NotConfigured {
        source_name: NOT_CONFIGURED,
        reason,
    }
}

fn not_found(name: &str, loaded: &LoadedProfiles) -> CredentialsError {
    let names: Vec<&str> = loaded.profiles.names().collect();
    let available = match names.len() {
        0 => String::new(),
        n if n > MAX_LISTED => format!(
            ", available: {}, … ({n} in all)",
            names[..MAX_LISTED].join(", ")
        ),
        _ => format!(", available: {}", names.join(", ")),
    };
    CredentialsError::ProfileNotFound {
        profile: name.to_owned(),
        config: loaded.config.clone(),
        credentials: loaded.credentials.clone(),
        available,
    }
}

/// Refuses role profiles on the synchronous path (which cannot call STS). `role_arn` wins
/// over keys in the same profile (they belong to the role's `source_profile` chain), so it
/// is checked first.
fn refuse_role_profile(profile: &Profile) -> Result<(), CredentialsError> {
    if profile.get_non_empty("role_arn").is_some() {
        return Err(unsupported(
            profile,
            "it is a role profile (role_arn), whose roles are assumed through STS only when credentials are provided asynchronously",
        ));
    }
    Ok(())
}

/// Refuses a keyless profile that names another credential source.
fn refuse_other_sources(profile: &Profile) -> Result<(), CredentialsError> {
    let sources = [
        ("credential_process", "it uses credential_process"),
        ("sso_session", "it uses IAM Identity Center (sso_session)"),
        (
            "sso_start_url",
            "it uses IAM Identity Center (sso_start_url)",
        ),
        (
            "web_identity_token_file",
            "it uses a web identity token (web_identity_token_file)",
        ),
    ];
    for (key, what) in sources {
        if profile.get_non_empty(key).is_some() {
            return Err(unsupported(
                profile,
                &format!(
                    "{what}, whose credentials are fetched only when credentials are provided asynchronously"
                ),
            ));
        }
    }
    Ok(())
}

fn unsupported(profile: &Profile, why: &str) -> CredentialsError {
    let name = profile.name();
    CredentialsError::Provider {
        source_name: source_name(name),
        message: format!(
            "{why}; use a profile with aws_access_key_id and aws_secret_access_key, or export \
             temporary keys into the environment (`eval \"$(aws configure export-credentials \
             --profile {name} --format env)\"`)"
        ),
    }
}

/// The key properties of one profile, with where to tell the user to set a missing one.
struct StaticKeys<'a> {
    profile: &'a Profile,
    loaded: &'a LoadedProfiles,
    key: Option<&'a str>,
    secret: Option<&'a str>,
    token: Option<&'a str>,
}

impl<'a> StaticKeys<'a> {
    fn read(profile: &'a Profile, loaded: &'a LoadedProfiles) -> Self {
        Self {
            profile,
            loaded,
            key: profile.get_non_empty(ACCESS_KEY_ID),
            secret: profile.get_non_empty(SECRET_ACCESS_KEY),
            token: profile.get_non_empty(SESSION_TOKEN),
        }
    }

    fn build(self, explicit: bool) -> Result<Credentials, CredentialsError> {
        let source = source_name(self.profile.name());
        match (self.key, self.secret) {
            (None, None) => Err(self.empty(explicit)),
            (Some(_), None) => Err(CredentialsError::MissingSecret {
                source_name: source,
                fix: self.where_to_set(SECRET_ACCESS_KEY, ACCESS_KEY_ID),
            }),
            (None, Some(_)) => Err(CredentialsError::MissingAccessKeyId {
                source_name: source,
                fix: self.where_to_set(ACCESS_KEY_ID, SECRET_ACCESS_KEY),
            }),
            (Some(key), Some(secret)) => build_checked(
                &source,
                key.to_owned(),
                secret.to_owned(),
                self.token.map(str::to_owned),
                &self.where_to_set(SESSION_TOKEN, ACCESS_KEY_ID),
            ),
        }
    }

    /// No keys: another source ferry lacks, an empty chosen profile, or (for the implicit
    /// `default` profile, often there only for `region`) nothing configured.
    fn empty(&self, explicit: bool) -> CredentialsError {
        if let Err(err) = refuse_other_sources(self.profile) {
            return err;
        }
        if !explicit {
            return not_configured(format!("profile `{}` holds no keys", self.profile.name()));
        }
        CredentialsError::EmptyProfile {
            profile: self.profile.name().to_owned(),
            credentials: self.loaded.credentials.clone(),
        }
    }

    /// "aws_secret_access_key under [dev] in /home/u/.aws/credentials": the section of the
    /// file that holds `beside`, the key that is there.
    fn where_to_set(&self, missing: &str, beside: &str) -> String {
        let kind = self.profile.origin(beside).unwrap_or(FileKind::Credentials);
        format!(
            "{missing} under {} in {}",
            kind.section_header(self.profile.name()),
            self.loaded.path(kind).display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::profile::{CONFIG_FILE_ENV, CREDENTIALS_FILE_ENV, PROFILE_ENV};
    use std::path::{Path, PathBuf};

    const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const TEMP_KEY: &str = "ASIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    /// A home directory with optional config and credentials files.
    struct Home {
        dir: tempfile::TempDir,
    }

    impl Home {
        fn new(config: Option<&str>, credentials: Option<&str>) -> Self {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir(dir.path().join(".aws")).unwrap();
            if let Some(text) = config {
                std::fs::write(dir.path().join(".aws/config"), text).unwrap();
            }
            if let Some(text) = credentials {
                std::fs::write(dir.path().join(".aws/credentials"), text).unwrap();
            }
            Self { dir }
        }

        fn path(&self, file: &str) -> PathBuf {
            self.dir.path().join(".aws").join(file)
        }

        fn env(&self, extra: &[(&str, &str)]) -> Environment {
            let home = self.dir.path().to_str().unwrap().to_owned();
            let mut pairs = vec![("HOME".to_owned(), home)];
            pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            Environment::from_pairs(pairs)
        }

        fn provider(&self, profile: Option<&str>) -> ProfileProvider {
            ProfileProvider::new(self.env(&[]), profile.map(str::to_owned))
        }

        fn error(&self, profile: Option<&str>) -> String {
            let err = self.provider(profile).resolve().unwrap_err();
            let text = err.to_string();
            assert!(!text.contains(SECRET), "secret leaked: {text}");
            text
        }
    }

    fn keys(profile_header: &str) -> String {
        format!("{profile_header}\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n")
    }

    fn contains(text: &str, path: &Path) -> bool {
        text.contains(path.to_str().unwrap())
    }

    #[test]
    fn default_profile_keys_come_from_the_credentials_file() {
        let home = Home::new(None, Some(&keys("[default]")));
        let creds = home.provider(None).resolve().unwrap();
        assert_eq!(creds.access_key_id(), KEY);
        assert_eq!(creds.secret_access_key(), SECRET);
        assert_eq!(creds.session_token(), None);
    }

    #[test]
    fn keys_in_the_config_file_are_used_too() {
        let home = Home::new(Some(&keys("[profile dev]")), None);
        let creds = home.provider(Some("dev")).resolve().unwrap();
        assert_eq!(creds.access_key_id(), KEY);
    }

    #[test]
    fn credentials_file_keys_win_over_config_file_keys() {
        let config = "[profile dev]\naws_access_key_id = AKIACONFIGONLY000000\naws_secret_access_key = config-secret";
        let home = Home::new(Some(config), Some(&keys("[dev]")));
        let creds = home.provider(Some("dev")).resolve().unwrap();
        assert_eq!(creds.access_key_id(), KEY);
        assert_eq!(creds.secret_access_key(), SECRET);
    }

    #[test]
    fn session_token_is_read_for_temporary_keys() {
        let text = format!(
            "[dev]\naws_access_key_id = {TEMP_KEY}\naws_secret_access_key = {SECRET}\naws_session_token = tok-123"
        );
        let home = Home::new(None, Some(&text));
        let creds = home.provider(Some("dev")).resolve().unwrap();
        assert_eq!(creds.session_token(), Some("tok-123"));
    }

    #[test]
    fn aws_profile_selects_the_profile_and_the_argument_beats_it() {
        let text = format!(
            "{}{}",
            keys("[dev]"),
            keys("[prod]").replace("AKIA", "AKIB")
        );
        let home = Home::new(None, Some(&text));
        let env = home.env(&[(PROFILE_ENV, "prod")]);
        let by_env = ProfileProvider::new(env.clone(), None);
        assert_eq!(by_env.name(), "profile `prod`");
        assert!(
            by_env
                .resolve()
                .unwrap()
                .access_key_id()
                .starts_with("AKIB")
        );
        let by_arg = ProfileProvider::new(env, Some("dev".into()));
        assert_eq!(by_arg.name(), "profile `dev`");
        assert_eq!(by_arg.resolve().unwrap().access_key_id(), KEY);
    }

    #[test]
    fn file_locations_come_from_the_override_variables() {
        let home = Home::new(None, None);
        let elsewhere = home.dir.path().join("elsewhere");
        std::fs::write(&elsewhere, keys("[default]")).unwrap();
        let env = home.env(&[(CREDENTIALS_FILE_ENV, elsewhere.to_str().unwrap())]);
        let creds = ProfileProvider::new(env, None).resolve().unwrap();
        assert_eq!(creds.access_key_id(), KEY);
    }

    #[test]
    fn missing_files_without_a_chosen_profile_are_not_configured_so_a_chain_moves_on() {
        let home = Home::new(None, None);
        let err = home.provider(None).resolve().unwrap_err();
        assert!(err.is_not_configured(), "{err}");
    }

    #[test]
    fn missing_default_profile_without_a_chosen_profile_is_not_configured() {
        let home = Home::new(None, Some(&keys("[dev]")));
        assert!(
            home.provider(None)
                .resolve()
                .unwrap_err()
                .is_not_configured()
        );
    }

    #[test]
    fn default_profile_with_only_a_region_is_not_configured() {
        let home = Home::new(Some("[default]\nregion = eu-west-1"), None);
        assert!(
            home.provider(None)
                .resolve()
                .unwrap_err()
                .is_not_configured()
        );
    }

    #[test]
    fn chosen_profile_missing_with_no_files_names_both_paths() {
        let home = Home::new(None, None);
        let text = home.error(Some("dev"));
        assert!(text.contains("profile `dev` was not found"), "{text}");
        assert!(contains(&text, &home.path("config")), "{text}");
        assert!(contains(&text, &home.path("credentials")), "{text}");
        assert!(text.contains("aws configure --profile dev"), "{text}");
    }

    #[test]
    fn chosen_profile_missing_lists_the_available_profiles() {
        let home = Home::new(Some("[profile b]\n[default]"), Some(&keys("[a]")));
        let text = home.error(Some("dev"));
        assert!(text.contains("available: a, b, default"), "{text}");
        assert!(text.contains("AWS_PROFILE"), "{text}");
    }

    #[test]
    fn profile_from_aws_profile_must_exist() {
        let home = Home::new(None, Some(&keys("[default]")));
        let env = home.env(&[(PROFILE_ENV, "typo")]);
        let err = ProfileProvider::new(env, None).resolve().unwrap_err();
        assert!(
            matches!(err, CredentialsError::ProfileNotFound { .. }),
            "{err}"
        );
    }

    #[test]
    fn chosen_profile_without_keys_says_which_keys_to_add_where() {
        let home = Home::new(Some("[profile dev]\nregion = eu-west-1"), None);
        let text = home.error(Some("dev"));
        assert!(text.contains("profile `dev` has no credentials"), "{text}");
        assert!(
            text.contains("aws_access_key_id and aws_secret_access_key"),
            "{text}"
        );
        assert!(contains(&text, &home.path("credentials")), "{text}");
    }

    #[test]
    fn key_without_secret_names_the_profile_section_and_file() {
        let home = Home::new(None, Some(&format!("[dev]\naws_access_key_id = {KEY}")));
        let text = home.error(Some("dev"));
        assert!(text.starts_with("profile `dev`: "), "{text}");
        assert!(
            text.contains("set aws_secret_access_key under [dev] in "),
            "{text}"
        );
        assert!(contains(&text, &home.path("credentials")), "{text}");
    }

    #[test]
    fn key_without_secret_in_the_config_file_points_at_the_config_section() {
        let home = Home::new(
            Some(&format!("[profile dev]\naws_access_key_id = {KEY}")),
            None,
        );
        let text = home.error(Some("dev"));
        assert!(text.contains("under [profile dev] in "), "{text}");
        assert!(contains(&text, &home.path("config")), "{text}");
    }

    #[test]
    fn secret_without_key_names_the_key_to_set_and_hides_the_secret() {
        let home = Home::new(
            None,
            Some(&format!("[default]\naws_secret_access_key = {SECRET}")),
        );
        let text = home.error(None);
        assert!(text.contains("access key id is missing"), "{text}");
        assert!(
            text.contains("set aws_access_key_id under [default] in "),
            "{text}"
        );
    }

    #[test]
    fn temporary_key_without_session_token_names_the_token_property() {
        let text =
            format!("[dev]\naws_access_key_id = {TEMP_KEY}\naws_secret_access_key = {SECRET}");
        let home = Home::new(None, Some(&text));
        let text = home.error(Some("dev"));
        assert!(
            text.contains("set aws_session_token under [dev] in "),
            "{text}"
        );
        assert!(!text.contains(TEMP_KEY), "key must be masked: {text}");
    }

    #[test]
    fn role_profile_on_the_synchronous_path_is_refused_with_the_reason() {
        let text = format!(
            "{}role_arn = arn:aws:iam::123456789012:role/r\nsource_profile = base",
            keys("[profile dev]")
        );
        let home = Home::new(Some(&text), None);
        let err = home.provider(Some("dev")).resolve().unwrap_err();
        assert!(matches!(err, CredentialsError::Provider { .. }), "{err}");
        let text = home.error(Some("dev"));
        assert!(text.contains("role_arn"), "{text}");
        assert!(text.contains("STS"), "{text}");
        assert!(text.contains("export-credentials --profile dev"), "{text}");
    }

    #[test]
    fn credential_process_profile_is_refused_with_the_reason() {
        let home = Home::new(Some("[default]\ncredential_process = /bin/creds"), None);
        let text = home.error(None);
        assert!(text.contains("credential_process"), "{text}");
        assert!(text.contains("provided asynchronously"), "{text}");
    }

    #[test]
    fn malformed_file_is_reported_with_path_and_line_and_no_secret() {
        let text = format!("[default]\naws_secret_access_key: {SECRET}");
        let home = Home::new(None, Some(&text));
        let text = home.error(None);
        assert!(contains(&text, &home.path("credentials")), "{text}");
        assert!(text.contains("line 2"), "{text}");
    }

    #[test]
    fn unreadable_file_says_which_variable_moves_it() {
        let home = Home::new(None, None);
        std::fs::create_dir(home.path("config")).unwrap();
        let text = home.error(None);
        assert!(text.contains("cannot read the config file"), "{text}");
        assert!(text.contains("AWS_CONFIG_FILE"), "{text}");
    }

    #[test]
    fn non_utf8_file_is_reported_not_panicked_on() {
        let home = Home::new(None, None);
        std::fs::write(home.path("credentials"), b"[default]\n\xff\xfe = x").unwrap();
        let text = home.error(None);
        assert!(text.contains("not UTF-8"), "{text}");
    }

    #[test]
    fn byte_order_mark_at_the_start_of_a_file_is_ignored() {
        let home = Home::new(None, Some(&format!("\u{feff}{}", keys("[default]"))));
        assert_eq!(home.provider(None).resolve().unwrap().access_key_id(), KEY);
    }

    #[test]
    fn load_profile_exposes_region_and_endpoint_url() {
        let config = "[profile dev]\nregion = eu-west-1\nendpoint_url = http://localhost:9000";
        let home = Home::new(Some(config), None);
        let env = home.env(&[(PROFILE_ENV, "dev")]);
        let profile = super::super::load_profile(&env, None).unwrap().unwrap();
        assert_eq!(profile.region(), Some("eu-west-1"));
        assert_eq!(profile.endpoint_url(), Some("http://localhost:9000"));
        assert!(
            super::super::load_profile(&env, Some("other"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn load_reports_which_files_exist() {
        let home = Home::new(Some("[default]"), None);
        let loaded =
            load(&home.env(&[(CONFIG_FILE_ENV, home.path("config").to_str().unwrap())])).unwrap();
        assert!(loaded.config_found);
        assert!(!loaded.credentials_found);
        assert_eq!(loaded.credentials, home.path("credentials"));
    }

    #[tokio::test]
    async fn provide_wraps_resolve() {
        let home = Home::new(None, Some(&keys("[default]")));
        let creds = home.provider(None).provide().await.unwrap().unwrap();
        assert_eq!(creds.access_key_id(), KEY);
    }
}
