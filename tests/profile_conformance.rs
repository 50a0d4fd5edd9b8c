//! ferry's shared-file support against the cross-SDK conformance suites (copied under
//! `fixtures/profile/`, sources and licence in `fixtures/profile/SOURCES.md`):
//!
//! * `profile-parser-tests.json`: how the text of a config file and a credentials file becomes
//!   profiles (sections, comments, continuations, sub-properties, merging, `sso-session`), and
//!   which inputs are errors;
//! * `file-location-tests.json`: where the two files are and which profile is selected, from
//!   the environment, on Linux and on Windows.
//!
//! Every case runs; none is skipped (see [`SKIPPED_PARSER_CASES`]). Each test asserts how many
//! cases it ran, so none can pass vacuously, and reports every failing case at once.

use ferry::credentials::profile::{self, FileLocations, Platform, Profile, ProfileSet};
use ferry::env::Environment;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Parser cases that are not run, with the reason. Empty: ferry passes all of them.
const SKIPPED_PARSER_CASES: &[(&str, &str)] = &[];
/// How many cases `profile-parser-tests.json` holds, of which this many expect an error.
const PARSER_CASES: usize = 65;
const PARSER_ERROR_CASES: usize = 10;
/// How many cases `file-location-tests.json` holds, of which this many are Windows cases.
const LOCATION_CASES: usize = 9;
const WINDOWS_LOCATION_CASES: usize = 5;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/profile")
        .join(name)
}

fn read_suite<T: for<'de> Deserialize<'de>>(name: &str) -> T {
    let path = fixture(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// Collects mismatches so that one run reports all of them.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn push(&mut self, case: &str, message: String) {
        self.0.push(format!("{case}: {message}"));
    }

    fn assert_none(&self) {
        assert!(
            self.0.is_empty(),
            "{} case(s) failed:\n  {}",
            self.0.len(),
            self.0.join("\n  ")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// profile-parser-tests.json
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct ParserSuite {
    tests: Vec<ParserCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParserCase {
    name: String,
    input: ParserInput,
    output: ParserOutput,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ParserInput {
    config_file: Option<String>,
    credentials_file: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ParserOutput {
    config: Option<ExpectedSet>,
    error_containing: Option<String>,
}

type Properties = BTreeMap<String, String>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedSet {
    profiles: BTreeMap<String, Properties>,
    sso_sessions: Option<BTreeMap<String, Properties>>,
}

impl ParserCase {
    fn parse(&self) -> Result<ProfileSet, ferry::credentials::CredentialsError> {
        profile::parse(
            self.input
                .config_file
                .as_deref()
                .map(|text| (Path::new("/home/user/.aws/config"), text)),
            self.input
                .credentials_file
                .as_deref()
                .map(|text| (Path::new("/home/user/.aws/credentials"), text)),
        )
    }

    fn check(&self, failures: &mut Failures) {
        let result = self.parse();
        match (&self.output.error_containing, &self.output.config, result) {
            (Some(expected), _, Err(err)) if err.to_string().contains(expected.as_str()) => {}
            (Some(expected), _, Err(err)) => failures.push(
                &self.name,
                format!("error {err:?} does not contain {expected:?}"),
            ),
            (Some(expected), _, Ok(set)) => failures.push(
                &self.name,
                format!("expected an error containing {expected:?}, parsed {set:?}"),
            ),
            (None, Some(expected), Ok(set)) => compare_set(&self.name, expected, &set, failures),
            (None, Some(_), Err(err)) => failures.push(&self.name, format!("unexpected {err}")),
            (None, None, _) => failures.push(&self.name, "case expects nothing".into()),
        }
    }
}

/// The properties of a parsed profile, as the suite writes them.
fn properties(profile: &Profile) -> Properties {
    profile
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn compare_set(case: &str, expected: &ExpectedSet, set: &ProfileSet, failures: &mut Failures) {
    let profiles: BTreeMap<String, Properties> = set
        .names()
        .filter_map(|name| Some((name.to_owned(), properties(set.get(name)?))))
        .collect();
    if profiles != expected.profiles {
        failures.push(
            case,
            format!("profiles {profiles:?}, expected {:?}", expected.profiles),
        );
    }
    let Some(expected_sessions) = &expected.sso_sessions else {
        return;
    };
    let sessions: BTreeMap<String, Properties> = set
        .sso_session_names()
        .filter_map(|name| Some((name.to_owned(), properties(set.sso_session(name)?))))
        .collect();
    if &sessions != expected_sessions {
        failures.push(
            case,
            format!("sso_sessions {sessions:?}, expected {expected_sessions:?}"),
        );
    }
}

#[test]
fn every_cross_sdk_profile_parser_case_passes() {
    let suite: ParserSuite = read_suite("profile-parser-tests.json");
    assert_eq!(suite.tests.len(), PARSER_CASES, "the fixture changed");
    let mut failures = Failures::default();
    let mut ran = 0;
    for case in &suite.tests {
        if SKIPPED_PARSER_CASES
            .iter()
            .any(|(name, _)| *name == case.name)
        {
            continue;
        }
        case.check(&mut failures);
        ran += 1;
    }
    failures.assert_none();
    assert_eq!(ran, PARSER_CASES - SKIPPED_PARSER_CASES.len());
}

#[test]
fn parser_suite_exercises_errors_both_files_and_sso_sessions() {
    let suite: ParserSuite = read_suite("profile-parser-tests.json");
    let errors = suite
        .tests
        .iter()
        .filter(|c| c.output.error_containing.is_some())
        .count();
    let with_credentials = suite
        .tests
        .iter()
        .filter(|c| c.input.credentials_file.is_some())
        .count();
    let with_sessions = suite
        .tests
        .iter()
        .filter_map(|c| c.output.config.as_ref()?.sso_sessions.as_ref())
        .count();
    assert_eq!(errors, PARSER_ERROR_CASES);
    assert!(with_credentials >= 5, "{with_credentials}");
    assert!(with_sessions >= 3, "{with_sessions}");
}

#[test]
fn skipped_parser_cases_exist_in_the_suite() {
    let suite: ParserSuite = read_suite("profile-parser-tests.json");
    for (name, reason) in SKIPPED_PARSER_CASES {
        assert!(
            suite.tests.iter().any(|c| c.name == *name),
            "skipped case {name:?} ({reason}) is not in the suite"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// file-location-tests.json
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct LocationSuite {
    tests: Vec<LocationCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LocationCase {
    name: String,
    environment: BTreeMap<String, String>,
    platform: String,
    profile: Option<String>,
    config_location: String,
    credentials_location: String,
}

impl LocationCase {
    fn platform(&self) -> Option<Platform> {
        match self.platform.as_str() {
            "linux" | "macos" => Some(Platform::Unix),
            "windows" => Some(Platform::Windows),
            _ => None,
        }
    }

    fn check(&self, failures: &mut Failures) {
        let Some(platform) = self.platform() else {
            failures.push(&self.name, format!("unknown platform {:?}", self.platform));
            return;
        };
        let env = Environment::from_pairs(self.environment.clone());
        let got = FileLocations::for_platform(&env, platform);
        let expected = FileLocations {
            config: PathBuf::from(&self.config_location),
            credentials: PathBuf::from(&self.credentials_location),
        };
        if got != expected {
            failures.push(&self.name, format!("{got:?}, expected {expected:?}"));
        }
        let name = profile::profile_name(&env, None);
        if let Some(expected) = &self.profile
            && &name != expected
        {
            failures.push(
                &self.name,
                format!("profile {name:?}, expected {expected:?}"),
            );
        }
    }
}

#[test]
fn every_cross_sdk_file_location_case_passes_on_both_platforms() {
    let suite: LocationSuite = read_suite("file-location-tests.json");
    assert_eq!(suite.tests.len(), LOCATION_CASES, "the fixture changed");
    let windows = suite
        .tests
        .iter()
        .filter(|c| c.platform() == Some(Platform::Windows))
        .count();
    assert_eq!(windows, WINDOWS_LOCATION_CASES);
    let mut failures = Failures::default();
    for case in &suite.tests {
        case.check(&mut failures);
    }
    failures.assert_none();
}
