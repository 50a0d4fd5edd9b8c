//! Where the shared files are, and which profile is selected.
//!
//! * config: `AWS_CONFIG_FILE`, else `~/.aws/config`;
//! * credentials: `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`;
//! * `~` is the home directory: `HOME`; on Windows, when `HOME` is unset, `USERPROFILE`, then
//!   `HOMEDRIVE` + `HOMEPATH`;
//! * the profile: the one asked for, else `AWS_PROFILE`, else `default`.
//!
//! The platform is a parameter so that the Windows rules can be tested anywhere; callers use
//! [`Platform::current`].

use crate::env::Environment;
use std::path::PathBuf;

/// The variable that overrides the config file's location.
pub const CONFIG_FILE_ENV: &str = "AWS_CONFIG_FILE";
/// The variable that overrides the credentials file's location.
pub const CREDENTIALS_FILE_ENV: &str = "AWS_SHARED_CREDENTIALS_FILE";
/// The variable that selects a profile.
pub const PROFILE_ENV: &str = "AWS_PROFILE";
/// The profile used when none is selected.
pub const DEFAULT_PROFILE: &str = "default";

/// The platform whose home-directory and path rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Linux, macOS and other Unix-likes: home is `HOME`, paths use `/`.
    Unix,
    /// Windows: home is `HOME`, `USERPROFILE` or `HOMEDRIVE`+`HOMEPATH`, paths use `\`.
    Windows,
}

impl Platform {
    /// The platform this program runs on.
    pub fn current() -> Self {
        if cfg!(windows) {
            Self::Windows
        } else {
            Self::Unix
        }
    }

    fn separator(self) -> char {
        match self {
            Self::Unix => '/',
            Self::Windows => '\\',
        }
    }

    fn is_separator(self, c: char) -> bool {
        c == '/' || (self == Self::Windows && c == '\\')
    }
}

/// The paths of the two shared files (they may not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLocations {
    /// The config file.
    pub config: PathBuf,
    /// The credentials file.
    pub credentials: PathBuf,
}

impl FileLocations {
    /// The locations on this platform.
    pub fn from_env(env: &Environment) -> Self {
        Self::for_platform(env, Platform::current())
    }

    /// The locations under the given platform's rules.
    pub fn for_platform(env: &Environment, platform: Platform) -> Self {
        Self {
            config: locate(env, platform, CONFIG_FILE_ENV, "config"),
            credentials: locate(env, platform, CREDENTIALS_FILE_ENV, "credentials"),
        }
    }
}

/// One file: the variable's value if set, else `~/.aws/NAME`; `~` expanded either way.
fn locate(env: &Environment, platform: Platform, variable: &str, file: &str) -> PathBuf {
    let sep = platform.separator();
    let path = env
        .get(variable)
        .unwrap_or_else(|| format!("~{sep}.aws{sep}{file}"));
    PathBuf::from(expand_home(&path, env, platform))
}

/// The home directory under the platform's rules, if the environment gives one.
pub fn home_dir(env: &Environment, platform: Platform) -> Option<String> {
    if let Some(home) = env.get("HOME") {
        return Some(home);
    }
    match platform {
        Platform::Unix => None,
        Platform::Windows => env.get("USERPROFILE").or_else(|| {
            let drive = env.get("HOMEDRIVE")?;
            let path = env.get("HOMEPATH")?;
            Some(format!("{drive}{path}"))
        }),
    }
}

/// Replaces a leading `~` (alone, or followed by a separator) with the home directory.
/// `~user/…` is left alone, and so is `~` when no home directory is known (the file will
/// then simply not be found).
pub fn expand_home(path: &str, env: &Environment, platform: Platform) -> String {
    let Some(rest) = path.strip_prefix('~') else {
        return path.to_owned();
    };
    if !(rest.is_empty() || rest.starts_with(|c| platform.is_separator(c))) {
        return path.to_owned();
    }
    match home_dir(env, platform) {
        Some(home) => {
            let home = home.trim_end_matches(|c| platform.is_separator(c));
            format!("{home}{rest}")
        }
        None => {
            tracing::warn!(
                path,
                "no home directory is set (HOME), so `~` cannot be expanded"
            );
            path.to_owned()
        }
    }
}

/// The selected profile: `explicit` (e.g. `--profile`), else `AWS_PROFILE`, else `default`.
pub fn profile_name(env: &Environment, explicit: Option<&str>) -> String {
    selected_profile(env, explicit).unwrap_or_else(|| DEFAULT_PROFILE.to_owned())
}

/// The profile the user chose (`explicit`, else `AWS_PROFILE`), or `None` when the default
/// applies because nothing was chosen.
pub fn selected_profile(env: &Environment, explicit: Option<&str>) -> Option<String> {
    explicit
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .or_else(|| env.get(PROFILE_ENV))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn tilde_in_an_override_is_expanded() {
        let env = env(&[("HOME", "/home/u/"), (CONFIG_FILE_ENV, "~/cfg/aws")]);
        let locations = FileLocations::for_platform(&env, Platform::Unix);
        assert_eq!(locations.config, PathBuf::from("/home/u/cfg/aws"));
    }

    #[test]
    fn tilde_of_another_user_is_not_expanded() {
        let env = env(&[("HOME", "/home/u")]);
        assert_eq!(
            expand_home("~bob/x", &env, Platform::Unix),
            "~bob/x".to_owned()
        );
    }

    #[test]
    fn backslash_after_tilde_is_a_separator_only_on_windows() {
        let env = env(&[("HOME", "H")]);
        assert_eq!(expand_home("~\\x", &env, Platform::Windows), "H\\x");
        assert_eq!(expand_home("~\\x", &env, Platform::Unix), "~\\x");
    }

    #[test]
    fn without_a_home_the_tilde_path_is_kept_so_the_file_is_not_found() {
        let locations = FileLocations::for_platform(&env(&[]), Platform::Unix);
        assert_eq!(locations.config, PathBuf::from("~/.aws/config"));
    }

    #[test]
    fn userprofile_is_not_used_on_unix() {
        let env = env(&[("USERPROFILE", "/u")]);
        assert_eq!(home_dir(&env, Platform::Unix), None);
        assert_eq!(home_dir(&env, Platform::Windows), Some("/u".into()));
    }

    #[test]
    fn explicit_profile_beats_aws_profile_which_beats_default() {
        let with = env(&[(PROFILE_ENV, "env")]);
        assert_eq!(profile_name(&with, Some("cli")), "cli");
        assert_eq!(profile_name(&with, None), "env");
        assert_eq!(profile_name(&env(&[]), None), "default");
        assert_eq!(selected_profile(&env(&[]), None), None);
    }
}
