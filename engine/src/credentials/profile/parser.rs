//! Parsing the shared files into a [`ProfileSet`], as every AWS SDK does.
//!
//! Two steps, following the cross-SDK specification (and its conformance tests):
//!
//! 1. **Raw parsing** of each file into sections in file order. Only the structure is checked
//!    here: a section header must end with `]`, a property needs a name and an `=`, a
//!    continuation line must follow a property, and the continuation lines of a property whose
//!    value is empty (a property with sub-properties) must each read `name = value`. These are
//!    errors, reported with the file and line (never the line's text, which may hold a secret).
//! 2. **Normalization**: section headers become profiles (`[default]` and `[profile NAME]` in
//!    the config file, `[NAME]` in the credentials file), `[sso-session NAME]` and
//!    `[services NAME]` sections of the config file are kept apart, names that are not valid
//!    identifiers are ignored with a warning, and the two files are merged (a property in the
//!    credentials file wins over the same property in the config file).
//!
//! Property names are case-insensitive: they are stored in lowercase, and
//! [`Profile::get`] looks them up in lowercase too. Profile names are case-sensitive.

use crate::credentials::CredentialsError;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// The only characters the specification treats as whitespace (not `\r`, not Unicode spaces).
const WHITESPACE: &[char] = &[' ', '\t'];
/// Characters that start a comment.
const COMMENT: &[char] = &['#', ';'];
/// Words in a property name whose values `Debug` never shows.
const SENSITIVE: &[&str] = &["secret", "token", "password"];

/// Which of the two shared files a section or property came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// The config file (`~/.aws/config`, `AWS_CONFIG_FILE`): `[default]`, `[profile NAME]`.
    Config,
    /// The credentials file (`~/.aws/credentials`, `AWS_SHARED_CREDENTIALS_FILE`): `[NAME]`.
    Credentials,
}

impl FileKind {
    /// "config" or "credentials".
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Credentials => "credentials",
        }
    }

    /// The header a profile of this name has in this kind of file: `[profile dev]` or
    /// `[default]` in the config file, `[dev]` in the credentials file.
    pub fn section_header(self, profile: &str) -> String {
        match self {
            Self::Config if profile != "default" => format!("[profile {profile}]"),
            _ => format!("[{profile}]"),
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One property's value and the file it was read from.
#[derive(Clone, PartialEq, Eq)]
struct Property {
    value: String,
    origin: FileKind,
}

/// A named set of properties: a profile, an `sso-session` or a `services` section.
///
/// `Debug` shows every property name, but redacts the values of those whose name contains
/// `secret`, `token` or `password`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Profile {
    name: String,
    properties: BTreeMap<String, Property>,
}

impl Profile {
    fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            properties: BTreeMap::new(),
        }
    }

    /// The profile's name (`default`, `dev`, …), without any `profile ` prefix.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A property's value (an empty string when the file says `key =`). Property names are
    /// case-insensitive.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.property(key).map(|p| p.value.as_str())
    }

    /// A property's value, treating an empty value as unset.
    pub fn get_non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    /// Which file a property's value came from.
    pub fn origin(&self, key: &str) -> Option<FileKind> {
        self.property(key).map(|p| p.origin)
    }

    /// A sub-property: for
    /// ```ini
    /// s3 =
    ///   endpoint_url = http://localhost:9000
    /// ```
    /// `sub_property("s3", "endpoint_url")` is `Some("http://localhost:9000")`. Names are
    /// case-insensitive.
    pub fn sub_property(&self, key: &str, sub: &str) -> Option<&str> {
        let value = self.get(key)?;
        value.lines().find_map(|line| {
            let (name, value) = line.split_once('=')?;
            let name = name.trim_matches(WHITESPACE);
            name.eq_ignore_ascii_case(sub)
                .then(|| value.trim_matches(WHITESPACE))
        })
    }

    /// The `region` property (empty values count as unset).
    pub fn region(&self) -> Option<&str> {
        self.get_non_empty("region")
    }

    /// The `endpoint_url` property (empty values count as unset).
    pub fn endpoint_url(&self) -> Option<&str> {
        self.get_non_empty("endpoint_url")
    }

    /// The property names, in lowercase and sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.properties.keys().map(String::as_str)
    }

    /// The properties as `(name, value)` pairs, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.properties
            .iter()
            .map(|(k, p)| (k.as_str(), p.value.as_str()))
    }

    /// True when the profile has no properties at all.
    pub fn is_empty(&self) -> bool {
        self.properties.is_empty()
    }

    /// The number of properties.
    pub fn len(&self) -> usize {
        self.properties.len()
    }

    fn property(&self, key: &str) -> Option<&Property> {
        match self.properties.get(key) {
            Some(p) => Some(p),
            None if key.bytes().any(|b| b.is_ascii_uppercase()) => {
                self.properties.get(&key.to_ascii_lowercase())
            }
            None => None,
        }
    }

    fn insert(&mut self, key: String, value: String, origin: FileKind) {
        self.properties.insert(key, Property { value, origin });
    }
}

/// True when a property of this name must never be shown.
fn is_sensitive(key: &str) -> bool {
    SENSITIVE.iter().any(|word| key.contains(word))
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (key, property) in &self.properties {
            if is_sensitive(key) {
                map.entry(key, &"** redacted **");
            } else {
                map.entry(key, &property.value);
            }
        }
        map.finish()?;
        Ok(())
    }
}

/// Everything the shared files define, merged.
#[derive(Debug, Clone, Default)]
pub struct ProfileSet {
    profiles: BTreeMap<String, Profile>,
    sso_sessions: BTreeMap<String, Profile>,
    services: BTreeMap<String, Profile>,
    warnings: Vec<String>,
}

impl ProfileSet {
    /// The profile of that name, from either file.
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    /// The profile names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }

    /// True when neither file defines a profile.
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    /// The `[sso-session NAME]` section of that name (config file only).
    pub fn sso_session(&self, name: &str) -> Option<&Profile> {
        self.sso_sessions.get(name)
    }

    /// The `sso-session` names, sorted.
    pub fn sso_session_names(&self) -> impl Iterator<Item = &str> {
        self.sso_sessions.keys().map(String::as_str)
    }

    /// The `[services NAME]` section of that name (config file only), whose properties carry
    /// per-service sub-properties such as `s3 =\n  endpoint_url = …`.
    pub fn services(&self, name: &str) -> Option<&Profile> {
        self.services.get(name)
    }

    /// What was ignored while reading the files (invalid names, misplaced sections), with file
    /// and line, for the caller to show. Never contains a property value.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn warn(&mut self, message: String) {
        tracing::warn!("{message}");
        self.warnings.push(message);
    }
}

/// Parses the contents of the config file and of the credentials file (each with the path it
/// was read from, for messages) into one [`ProfileSet`]. A missing file is `None`.
///
/// Returns [`CredentialsError::ProfileFile`] naming the file and line when a file is malformed.
pub fn parse(
    config: Option<(&Path, &str)>,
    credentials: Option<(&Path, &str)>,
) -> Result<ProfileSet, CredentialsError> {
    let config = config
        .map(|(path, text)| RawFile::parse(path, text, FileKind::Config))
        .transpose()?;
    let credentials = credentials
        .map(|(path, text)| RawFile::parse(path, text, FileKind::Credentials))
        .transpose()?;
    let mut set = ProfileSet::default();
    for file in config.iter().chain(credentials.iter()) {
        file.merge_into(&mut set);
    }
    Ok(set)
}

/// True for names made only of ASCII letters, digits and `- / . % @ _ : +`.
pub fn is_valid_identifier(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-/.%@_:+".contains(c))
}

// ---------------------------------------------------------------------------------------------
// Step 1: raw parsing
// ---------------------------------------------------------------------------------------------

/// A section as written: the text between the brackets, and its properties in file order.
#[derive(Debug)]
struct RawSection<'a> {
    header: &'a str,
    line: usize,
    properties: Vec<RawProperty>,
}

/// A property as written: the lowercased name, the value with continuations joined by `\n`.
#[derive(Debug)]
struct RawProperty {
    key: String,
    value: String,
    line: usize,
    /// The value was empty on the `key =` line, so continuation lines are sub-properties.
    has_sub_properties: bool,
}

/// One file, split into sections.
#[derive(Debug)]
struct RawFile<'a> {
    path: &'a Path,
    kind: FileKind,
    sections: Vec<RawSection<'a>>,
}

/// A structural error on one line; becomes a [`CredentialsError::ProfileFile`].
struct LineError {
    line: usize,
    message: String,
}

impl<'a> RawFile<'a> {
    fn parse(path: &'a Path, text: &'a str, kind: FileKind) -> Result<Self, CredentialsError> {
        let mut file = Self {
            path,
            kind,
            sections: Vec::new(),
        };
        for (index, line) in text.lines().enumerate() {
            file.read_line(index + 1, line)
                .map_err(|err| file.error(err))?;
        }
        Ok(file)
    }

    fn error(&self, err: LineError) -> CredentialsError {
        CredentialsError::ProfileFile {
            path: self.path.to_path_buf(),
            message: format!("line {}: {}", err.line, err.message),
        }
    }

    fn read_line(&mut self, number: usize, line: &'a str) -> Result<(), LineError> {
        if line.trim_matches(WHITESPACE).is_empty() || line.starts_with(COMMENT) {
            return Ok(());
        }
        if line.starts_with('[') {
            self.read_header(number, line)
        } else if line.starts_with(WHITESPACE) {
            self.read_continuation(number, line)
        } else {
            self.read_property(number, line)
        }
    }

    fn read_header(&mut self, number: usize, line: &'a str) -> Result<(), LineError> {
        let line = strip_comment(line, false);
        let header = line
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .ok_or_else(|| LineError {
                line: number,
                message: "Profile definition must end with ']'".into(),
            })?;
        self.sections.push(RawSection {
            header,
            line: number,
            properties: Vec::new(),
        });
        Ok(())
    }

    fn read_property(&mut self, number: usize, line: &str) -> Result<(), LineError> {
        let section = self.sections.last_mut().ok_or_else(|| LineError {
            line: number,
            message: "Expected a profile definition before this property (add a section \
                      header such as [default] above it)"
                .into(),
        })?;
        let (key, value) = split_property(line).map_err(|e| e.at(number, "property"))?;
        section.properties.push(RawProperty {
            key: key.to_ascii_lowercase(),
            value: value.to_owned(),
            line: number,
            has_sub_properties: value.is_empty(),
        });
        Ok(())
    }

    fn read_continuation(&mut self, number: usize, line: &str) -> Result<(), LineError> {
        let section = self.sections.last_mut().ok_or_else(|| LineError {
            line: number,
            message: "Expected a profile definition, found an indented line (remove the \
                      leading whitespace or add a section header above it)"
                .into(),
        })?;
        let property = section.properties.last_mut().ok_or_else(|| LineError {
            line: number,
            message: "Expected a property definition, found continuation (an indented line \
                      continues the property above it; remove the leading whitespace)"
                .into(),
        })?;
        if property.has_sub_properties {
            split_property(line).map_err(|e| e.at(number, "sub-property"))?;
        }
        property.value.push('\n');
        property.value.push_str(line.trim_matches(WHITESPACE));
        Ok(())
    }
}

/// Why a `key = value` line is malformed.
enum PropertyError {
    NoEquals,
    NoName,
}

impl PropertyError {
    fn at(self, line: usize, what: &str) -> LineError {
        let message = match self {
            Self::NoEquals => format!("Expected an '=' sign defining a {what}"),
            Self::NoName => {
                let mut what = what.to_owned();
                if let Some(first) = what.get_mut(..1) {
                    first.make_ascii_uppercase();
                }
                format!("{what} did not have a name")
            }
        };
        LineError { line, message }
    }
}

/// Splits `key = value # comment` into its trimmed name and value.
fn split_property(line: &str) -> Result<(&str, &str), PropertyError> {
    let line = strip_comment(line, true);
    let (key, value) = line.split_once('=').ok_or(PropertyError::NoEquals)?;
    let key = key.trim_matches(WHITESPACE);
    if key.is_empty() {
        return Err(PropertyError::NoName);
    }
    Ok((key, value.trim_matches(WHITESPACE)))
}

/// Trims the line and cuts a trailing comment. On property lines a comment character only
/// starts a comment after whitespace (`value;x` keeps the `;x`); on header lines it always
/// does.
fn strip_comment(line: &str, needs_whitespace: bool) -> &str {
    let line = line.trim_matches(WHITESPACE);
    let mut after_whitespace = false;
    for (index, c) in line.char_indices() {
        if COMMENT.contains(&c) && (after_whitespace || !needs_whitespace) {
            return line[..index].trim_matches(WHITESPACE);
        }
        after_whitespace = c.is_whitespace();
    }
    line
}

// ---------------------------------------------------------------------------------------------
// Step 2: normalization and merging
// ---------------------------------------------------------------------------------------------

/// What a section header means.
#[derive(Debug, PartialEq, Eq)]
enum SectionKind<'a> {
    /// A profile; `prefixed` is true for `[profile NAME]` in the config file.
    Profile { name: &'a str, prefixed: bool },
    /// `[sso-session NAME]` in the config file.
    SsoSession(&'a str),
    /// `[services NAME]` in the config file.
    Services(&'a str),
    /// Anything else: ignored, with the reason.
    Ignored(String),
}

/// Reads a header of the config file.
fn config_section(header: &str) -> SectionKind<'_> {
    let header = header.trim_matches(WHITESPACE);
    if header == "default" {
        return SectionKind::Profile {
            name: header,
            prefixed: false,
        };
    }
    if let Some(name) = after_prefix(header, "profile") {
        return SectionKind::Profile {
            name,
            prefixed: true,
        };
    }
    if let Some(name) = after_prefix(header, "sso-session") {
        return SectionKind::SsoSession(name);
    }
    if let Some(name) = after_prefix(header, "services") {
        return SectionKind::Services(name);
    }
    SectionKind::Ignored(format!(
        "named profiles in the config file need the `profile ` prefix; write [profile {header}] \
         (or move the section to the credentials file)"
    ))
}

/// Reads a header of the credentials file.
fn credentials_section(header: &str) -> SectionKind<'_> {
    let name = header.trim_matches(WHITESPACE);
    if after_prefix(name, "profile").is_some() {
        return SectionKind::Ignored(
            "the credentials file takes plain [NAME] headers, without the `profile ` prefix".into(),
        );
    }
    SectionKind::Profile {
        name,
        prefixed: false,
    }
}

/// `"profile  dev"` with prefix `"profile"` gives `Some("dev")`; the prefix must be followed by
/// whitespace (`[profiledev]` is not a profile).
fn after_prefix<'a>(header: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = header.strip_prefix(prefix)?;
    rest.starts_with(WHITESPACE)
        .then(|| rest.trim_matches(WHITESPACE))
}

impl RawFile<'_> {
    fn section_kind<'h>(&self, header: &'h str) -> SectionKind<'h> {
        match self.kind {
            FileKind::Config => config_section(header),
            FileKind::Credentials => credentials_section(header),
        }
    }

    /// True when the config file has a `[profile default]`, which makes every plain
    /// `[default]` section of it ignored.
    fn has_prefixed_default(&self) -> bool {
        self.sections.iter().any(|s| {
            self.section_kind(s.header)
                == SectionKind::Profile {
                    name: "default",
                    prefixed: true,
                }
        })
    }

    fn merge_into(&self, set: &mut ProfileSet) {
        let prefixed_default = self.kind == FileKind::Config && self.has_prefixed_default();
        for section in &self.sections {
            let kind = self.section_kind(section.header);
            let target = match kind {
                SectionKind::Profile {
                    name: "default",
                    prefixed: false,
                } if prefixed_default => {
                    set.warn(self.warning(
                        section.line,
                        "[default] ignored because the file also has [profile default]; merge \
                         the two sections",
                    ));
                    continue;
                }
                SectionKind::Profile { name, .. } => {
                    self.target(set, Target::Profile, name, section)
                }
                SectionKind::SsoSession(name) => {
                    self.target(set, Target::SsoSession, name, section)
                }
                SectionKind::Services(name) => self.target(set, Target::Services, name, section),
                SectionKind::Ignored(reason) => {
                    set.warn(self.warning(section.line, &format!("section ignored: {reason}")));
                    continue;
                }
            };
            if let Some((target, name)) = target {
                self.merge_section(set, target, &name, section);
            }
        }
    }

    /// Validates the section's name; `None` (with a warning) when it is not valid.
    fn target(
        &self,
        set: &mut ProfileSet,
        target: Target,
        name: &str,
        section: &RawSection<'_>,
    ) -> Option<(Target, String)> {
        if is_valid_identifier(name) {
            return Some((target, name.to_owned()));
        }
        set.warn(self.warning(
            section.line,
            &format!(
                "section ignored: `{name}` is not a valid name (use letters, digits and - / . % @ _ : +)"
            ),
        ));
        None
    }

    fn merge_section(
        &self,
        set: &mut ProfileSet,
        target: Target,
        name: &str,
        section: &RawSection<'_>,
    ) {
        let mut warnings = Vec::new();
        let map = match target {
            Target::Profile => &mut set.profiles,
            Target::SsoSession => &mut set.sso_sessions,
            Target::Services => &mut set.services,
        };
        let profile = map
            .entry(name.to_owned())
            .or_insert_with(|| Profile::named(name));
        for property in &section.properties {
            if is_valid_identifier(&property.key) {
                profile.insert(property.key.clone(), property.value.clone(), self.kind);
            } else {
                warnings.push(self.warning(
                    property.line,
                    &format!(
                        "property ignored: `{}` is not a valid name (use letters, digits and - / . % @ _ : +)",
                        property.key
                    ),
                ));
            }
        }
        for warning in warnings {
            set.warn(warning);
        }
    }

    fn warning(&self, line: usize, message: &str) -> String {
        format!(
            "{} ({} file) line {line}: {message}",
            self.path.display(),
            self.kind
        )
    }
}

/// Which map of the [`ProfileSet`] a section goes into.
#[derive(Debug, Clone, Copy)]
enum Target {
    Profile,
    SsoSession,
    Services,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn config(text: &str) -> Result<ProfileSet, CredentialsError> {
        parse(Some((Path::new("/home/u/.aws/config"), text)), None)
    }

    fn both(config: &str, credentials: &str) -> ProfileSet {
        parse(
            Some((Path::new("/home/u/.aws/config"), config)),
            Some((Path::new("/home/u/.aws/credentials"), credentials)),
        )
        .unwrap()
    }

    #[test]
    fn parse_error_names_the_file_and_line() {
        let err = config("[default]\nregion = us-east-1\n[profile dev\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("/home/u/.aws/config: line 3: "), "{text}");
        assert!(text.contains("must end with ']'"), "{text}");
    }

    #[test]
    fn parse_error_never_echoes_the_offending_line() {
        let err = config(&format!("[default]\naws_secret_access_key {SECRET}")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("line 2"), "{text}");
        assert!(text.contains("Expected an '=' sign"), "{text}");
        assert!(!text.contains(SECRET), "{text}");
    }

    #[test]
    fn property_before_any_section_says_to_add_a_header() {
        let text = config("region = us-east-1").unwrap_err().to_string();
        assert!(text.contains("Expected a profile definition"), "{text}");
        assert!(text.contains("[default]"), "{text}");
    }

    #[test]
    fn property_names_are_case_insensitive_and_profile_names_are_not() {
        let set = config("[profile Dev]\nRegion = eu-west-1").unwrap();
        let dev = set.get("Dev").unwrap();
        assert_eq!(dev.get("region"), Some("eu-west-1"));
        assert_eq!(dev.get("REGION"), Some("eu-west-1"));
        assert!(set.get("dev").is_none());
    }

    #[test]
    fn credentials_file_wins_and_origin_is_tracked() {
        let set = both(
            "[profile dev]\nregion = eu-west-1\naws_access_key_id = AKIACONFIG",
            "[dev]\naws_access_key_id = AKIACREDS",
        );
        let dev = set.get("dev").unwrap();
        assert_eq!(dev.get("aws_access_key_id"), Some("AKIACREDS"));
        assert_eq!(dev.origin("aws_access_key_id"), Some(FileKind::Credentials));
        assert_eq!(dev.origin("region"), Some(FileKind::Config));
    }

    #[test]
    fn sub_properties_are_looked_up_by_name() {
        let set = config("[profile dev]\ns3 =\n  endpoint_url = http://localhost:9000\n  addressing_style = path").unwrap();
        let dev = set.get("dev").unwrap();
        assert_eq!(
            dev.sub_property("s3", "endpoint_url"),
            Some("http://localhost:9000")
        );
        assert_eq!(dev.sub_property("s3", "ADDRESSING_STYLE"), Some("path"));
        assert_eq!(dev.sub_property("s3", "missing"), None);
        assert_eq!(dev.sub_property("sts", "endpoint_url"), None);
    }

    #[test]
    fn region_and_endpoint_url_accessors_treat_empty_as_unset() {
        let set = config("[default]\nregion =\nendpoint_url = http://localhost:9000").unwrap();
        let default = set.get("default").unwrap();
        assert_eq!(default.region(), None);
        assert_eq!(default.endpoint_url(), Some("http://localhost:9000"));
    }

    #[test]
    fn services_and_sso_session_sections_are_kept_apart_from_profiles() {
        let set = config(
            "[profile dev]\nservices = local\n[services local]\ns3 =\n endpoint_url = http://x\n[sso-session corp]\nsso_region = us-east-1",
        )
        .unwrap();
        assert_eq!(set.names().collect::<Vec<_>>(), ["dev"]);
        let local = set.services("local").unwrap();
        assert_eq!(local.sub_property("s3", "endpoint_url"), Some("http://x"));
        assert_eq!(
            set.sso_session("corp").unwrap().get("sso_region"),
            Some("us-east-1")
        );
    }

    #[test]
    fn ignored_sections_and_properties_are_reported_as_warnings_without_values() {
        let set = config(&format!(
            "[dev]\nregion = x\n[profile ok]\nbad key = {SECRET}"
        ))
        .unwrap();
        let warnings = set.warnings().join("\n");
        assert!(warnings.contains("line 1"), "{warnings}");
        assert!(warnings.contains("[profile dev]"), "{warnings}");
        assert!(warnings.contains("line 4"), "{warnings}");
        assert!(!warnings.contains(SECRET), "{warnings}");
    }

    #[test]
    fn profile_prefix_in_the_credentials_file_is_warned_about() {
        let set = both("", "[profile dev]\naws_access_key_id = x");
        assert!(set.is_empty());
        assert!(set.warnings()[0].contains("without the `profile ` prefix"));
    }

    #[test]
    fn debug_redacts_secret_and_token_values_but_shows_names() {
        let set = both(
            "[default]\nregion = us-east-1",
            &format!(
                "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = {SECRET}\naws_session_token = tok-123"
            ),
        );
        for text in [
            format!("{set:?}"),
            format!("{:?}", set.get("default").unwrap()),
        ] {
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains("tok-123"), "{text}");
            assert!(text.contains("aws_secret_access_key"), "{text}");
            assert!(text.contains("us-east-1"), "{text}");
        }
    }

    #[test]
    fn non_ascii_whitespace_is_not_trimmed() {
        let set = config("[default]\nname = \u{a0}value\u{a0}").unwrap();
        assert_eq!(
            set.get("default").unwrap().get("name"),
            Some("\u{a0}value\u{a0}")
        );
    }
}
