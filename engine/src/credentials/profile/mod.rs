//! Shared configuration and credentials files (`~/.aws/config`, `~/.aws/credentials`).
//!
//! * [`parse`] turns the two files' text into a [`ProfileSet`] following the cross-SDK
//!   specification (comments, continuation lines, sub-properties, `[profile NAME]` in the
//!   config file and `[NAME]` in the credentials file, `[sso-session NAME]`, merging);
//! * [`FileLocations`] and [`profile_name`] say where the files are and which profile is
//!   selected (`AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`, `AWS_PROFILE`, `~`);
//! * [`load`] reads both files, and [`load_profile`] gives one profile, e.g. for its `region`
//!   or `endpoint_url`;
//! * [`ProfileProvider`] resolves the static keys of the selected profile, or follows a role
//!   profile's `source_profile` links ([`resolve_chain`]) and assumes its roles.

mod location;
mod parser;
mod provider;
pub mod role_chain;
mod role_provider;

pub use location::{
    CONFIG_FILE_ENV, CREDENTIALS_FILE_ENV, DEFAULT_PROFILE, FileLocations, PROFILE_ENV, Platform,
    expand_home, home_dir, profile_name, selected_profile,
};
pub use parser::{FileKind, Profile, ProfileSet, is_valid_identifier, parse};
pub use provider::{ProfileProvider, static_keys};
pub use role_chain::{BaseSource, ProfileChain, RoleHop, resolve_chain};
pub use role_provider::{RoleContext, base_description, role_chain_provider};

use super::CredentialsError;
use crate::env::Environment;
use std::io;
use std::path::{Path, PathBuf};

/// The shared files as read from disk.
#[derive(Debug, Clone)]
pub struct LoadedProfiles {
    /// Every profile of both files, merged.
    pub profiles: ProfileSet,
    /// The config file's path (whether or not it exists).
    pub config: PathBuf,
    /// The credentials file's path (whether or not it exists).
    pub credentials: PathBuf,
    /// True when the config file exists.
    pub config_found: bool,
    /// True when the credentials file exists.
    pub credentials_found: bool,
}

impl LoadedProfiles {
    /// True when at least one of the two files exists.
    pub fn any_file_found(&self) -> bool {
        self.config_found || self.credentials_found
    }

    /// The path of the given file.
    pub fn path(&self, kind: FileKind) -> &Path {
        match kind {
            FileKind::Config => &self.config,
            FileKind::Credentials => &self.credentials,
        }
    }
}

/// Reads and parses both shared files at the locations the environment gives. Missing files
/// count as empty; unreadable or malformed ones are a [`CredentialsError::ProfileFile`].
pub fn load(env: &Environment) -> Result<LoadedProfiles, CredentialsError> {
    load_from(&FileLocations::from_env(env))
}

/// Reads and parses both shared files at the given locations.
pub fn load_from(locations: &FileLocations) -> Result<LoadedProfiles, CredentialsError> {
    let config = read_file(&locations.config, FileKind::Config)?;
    let credentials = read_file(&locations.credentials, FileKind::Credentials)?;
    let profiles = parse(
        config
            .as_deref()
            .map(|text| (locations.config.as_path(), text)),
        credentials
            .as_deref()
            .map(|text| (locations.credentials.as_path(), text)),
    )?;
    Ok(LoadedProfiles {
        profiles,
        config: locations.config.clone(),
        credentials: locations.credentials.clone(),
        config_found: config.is_some(),
        credentials_found: credentials.is_some(),
    })
}

/// The selected profile (`name`, else `AWS_PROFILE`, else `default`) from both files, or
/// `None` when no file defines it. For settings such as [`Profile::region`] and
/// [`Profile::endpoint_url`].
pub fn load_profile(
    env: &Environment,
    name: Option<&str>,
) -> Result<Option<Profile>, CredentialsError> {
    let name = profile_name(env, name);
    Ok(load(env)?.profiles.get(&name).cloned())
}

/// Shared config and credentials files read by this process so far.
static FILE_READS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many times this process has read `~/.aws/config` or `~/.aws/credentials` (or the files
/// their variables name). Diagnostic: a run resolves its credentials once, so this stays at a
/// few reads however many requests are sent.
pub fn profile_file_reads() -> u64 {
    FILE_READS.load(std::sync::atomic::Ordering::Relaxed)
}

/// A file's text, `None` when it does not exist. A leading UTF-8 byte-order mark (as some
/// Windows editors write) is dropped.
fn read_file(path: &Path, kind: FileKind) -> Result<Option<String>, CredentialsError> {
    FILE_READS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(unreadable(path, kind, &err)),
    };
    let text = String::from_utf8(bytes).map_err(|_| CredentialsError::ProfileFile {
        path: path.to_path_buf(),
        message: format!(
            "the {kind} file is not UTF-8 text; save it as UTF-8 (or point {} at another file)",
            override_variable(kind)
        ),
    })?;
    Ok(Some(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    }))
}

fn unreadable(path: &Path, kind: FileKind, err: &io::Error) -> CredentialsError {
    CredentialsError::ProfileFile {
        path: path.to_path_buf(),
        message: format!(
            "cannot read the {kind} file ({err}); check that it is a readable file, or point {} at another file",
            override_variable(kind)
        ),
    }
}

/// The variable that moves a file.
fn override_variable(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Config => CONFIG_FILE_ENV,
        FileKind::Credentials => CREDENTIALS_FILE_ENV,
    }
}
