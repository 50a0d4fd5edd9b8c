//! Role profiles against the cross-SDK conformance suite `assume-role-tests.json` (copied under
//! `fixtures/profile/`, see `fixtures/profile/SOURCES.md`): which profile's keys a chain starts
//! from, which roles it assumes in which order with which settings, and which configurations
//! are errors (loops, a missing source profile, partial keys, …).
//!
//! Each case's profiles are written as a real config file and read back through ferry's
//! parser. Every case runs; the test asserts how many, and reports every failure at once.
//! ferry does not read `aws_account_id`, so the `account_id` of expected keys is not compared.

use ferry::credentials::profile::{
    self, BaseSource, FileLocations, ProfileChain, resolve_chain, static_keys,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// How many cases the suite holds, and how many of them expect an error.
const CASES: usize = 28;
const ERROR_CASES: usize = 15;

#[derive(Deserialize)]
struct Case {
    docs: String,
    input: Input,
    output: Output,
}

#[derive(Deserialize)]
struct Input {
    profiles: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    sso_sessions: BTreeMap<String, BTreeMap<String, String>>,
    selected_profile: String,
}

#[derive(Deserialize)]
enum Output {
    ProfileChain(Vec<Link>),
    Error(String),
}

/// One link of an expected chain. An SSO link's settings are not compared (ferry refuses
/// SSO profiles when it builds the provider).
#[derive(Deserialize, Debug)]
enum Link {
    AccessKey(BTreeMap<String, String>),
    AssumeRole(BTreeMap<String, String>),
    NamedSource(String),
    WebIdentityToken(BTreeMap<String, String>),
    Sso(serde::de::IgnoredAny),
}

/// The case's profiles as config file text.
fn config_text(input: &Input) -> String {
    let mut text = String::new();
    for (name, properties) in &input.profiles {
        let _ = writeln!(text, "[profile {name}]");
        for (key, value) in properties {
            let _ = writeln!(text, "{key} = {value}");
        }
    }
    for (name, properties) in &input.sso_sessions {
        let _ = writeln!(text, "[sso-session {name}]");
        for (key, value) in properties {
            let _ = writeln!(text, "{key} = {value}");
        }
    }
    text
}

/// What ferry resolves: the chain, and the base profile's keys when it starts from keys.
fn resolve(input: &Input, dir: &Path) -> Result<(ProfileChain, Option<(String, String)>), String> {
    let config = dir.join("config");
    std::fs::write(&config, config_text(input)).map_err(|e| e.to_string())?;
    let loaded = profile::load_from(&FileLocations {
        config,
        credentials: dir.join("credentials"),
    })
    .map_err(|e| e.to_string())?;
    let chain = resolve_chain(&loaded, &input.selected_profile).map_err(|e| e.to_string())?;
    let keys = match &chain.base {
        BaseSource::AccessKey { profile } => {
            let profile = loaded
                .profiles
                .get(profile)
                .ok_or("base profile vanished")?;
            let keys = static_keys(profile, &loaded).map_err(|e| e.to_string())?;
            Some((
                keys.access_key_id().to_owned(),
                keys.secret_access_key().to_owned(),
            ))
        }
        _ => None,
    };
    Ok((chain, keys))
}

/// Compares ferry's chain with the expected links; `Err` says how they differ.
fn compare(
    expected: &[Link],
    chain: &ProfileChain,
    keys: Option<&(String, String)>,
) -> Result<(), String> {
    let (first, roles) = expected.split_first().ok_or("empty expected chain")?;
    let get = |map: &BTreeMap<String, String>, key: &str| map.get(key).cloned();
    let base_ok = match (first, &chain.base) {
        (Link::AccessKey(want), BaseSource::AccessKey { .. }) => {
            keys.map(|(k, s)| (Some(k.clone()), Some(s.clone())))
                == Some((get(want, "access_key_id"), get(want, "secret_access_key")))
        }
        (Link::NamedSource(want), BaseSource::NamedSource { name, .. }) => want == name,
        (
            Link::WebIdentityToken(want),
            BaseSource::WebIdentity {
                role_arn,
                token_file,
                role_session_name,
                ..
            },
        ) => {
            get(want, "role_arn").as_ref() == Some(role_arn)
                && get(want, "web_identity_token_file").as_ref() == Some(token_file)
                && get(want, "role_session_name") == *role_session_name
        }
        (Link::Sso(_), BaseSource::Sso { .. }) => true,
        _ => false,
    };
    if !base_ok {
        return Err(format!(
            "base: expected {first:?}, got {:?} {keys:?}",
            chain.base
        ));
    }
    if roles.len() != chain.roles.len() {
        return Err(format!(
            "expected {} role(s), got {:?}",
            roles.len(),
            chain.roles
        ));
    }
    for (want, got) in roles.iter().zip(&chain.roles) {
        let Link::AssumeRole(want) = want else {
            return Err(format!("expected {want:?} after the base"));
        };
        let same = get(want, "role_arn").as_ref() == Some(&got.role_arn)
            && get(want, "role_session_name") == got.role_session_name
            && get(want, "external_id") == got.external_id;
        if !same {
            return Err(format!("role: expected {want:?}, got {got:?}"));
        }
    }
    Ok(())
}

#[test]
fn role_profiles_resolve_to_the_chains_and_errors_of_the_cross_sdk_suite() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/profile/assume-role-tests.json");
    let text = std::fs::read_to_string(&path).expect("read the suite");
    let cases: Vec<Case> = serde_json::from_str(&text).expect("parse the suite");
    assert_eq!(cases.len(), CASES);
    let mut failures = Vec::new();
    let mut errors = 0;
    for case in &cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let got = resolve(&case.input, dir.path());
        match (&case.output, got) {
            (Output::Error(_), Err(_)) => errors += 1,
            (Output::Error(want), Ok((chain, _))) => failures.push(format!(
                "{}: expected the error `{want}`, got {chain:?}",
                case.docs
            )),
            (Output::ProfileChain(_), Err(err)) => {
                failures.push(format!("{}: unexpected error: {err}", case.docs));
            }
            (Output::ProfileChain(links), Ok((chain, keys))) => {
                if let Err(why) = compare(links, &chain, keys.as_ref()) {
                    failures.push(format!("{}: {why}", case.docs));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    assert_eq!(errors, ERROR_CASES);
}

#[test]
fn a_role_profile_error_names_the_profile_and_the_fix() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = Input {
        profiles: BTreeMap::from([
            (
                "a".into(),
                BTreeMap::from([
                    ("role_arn".into(), "arn:aws:iam::123456789012:role/a".into()),
                    ("source_profile".into(), "b".into()),
                ]),
            ),
            (
                "b".into(),
                BTreeMap::from([
                    ("role_arn".into(), "arn:aws:iam::123456789012:role/b".into()),
                    ("source_profile".into(), "a".into()),
                ]),
            ),
        ]),
        sso_sessions: BTreeMap::new(),
        selected_profile: "a".into(),
    };
    let err = resolve(&input, dir.path()).unwrap_err();
    assert!(err.contains("profile `a`"), "{err}");
    assert!(err.contains("a → b → a"), "{err}");
    assert!(err.contains("loop"), "{err}");
}
