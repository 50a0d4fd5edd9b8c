//! The default credentials chain, in the AWS CLI's order, over real files in a temporary home.

use ferry::credentials::{ChainOptions, Credentials, ProvideCredentials, default_chain};
use ferry::env::Environment;
use std::path::Path;

const SECRET_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SECRET_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn write_credentials(dir: &Path, text: &str) -> String {
    let path = dir.join("credentials");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn env(pairs: Vec<(&str, String)>) -> Environment {
    Environment::from_pairs(pairs)
}

async fn resolve(env: Environment, options: ChainOptions) -> Result<Option<Credentials>, String> {
    default_chain(env, options)
        .provide()
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn environment_keys_come_before_the_default_profile() {
    let home = tempfile::tempdir().unwrap();
    let file = write_credentials(
        home.path(),
        &format!(
            "[default]\naws_access_key_id = AKIAFILEFILEFILEFILE\naws_secret_access_key = {SECRET_B}\n"
        ),
    );
    let e = env(vec![
        ("HOME", home.path().display().to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", file),
        ("AWS_ACCESS_KEY_ID", "AKIAENVENVENVENVENVE".into()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_A.into()),
    ]);
    let creds = resolve(e, ChainOptions::default()).await.unwrap().unwrap();
    assert_eq!(creds.access_key_id(), "AKIAENVENVENVENVENVE");
}

#[tokio::test]
async fn without_environment_keys_the_default_profile_is_used() {
    let home = tempfile::tempdir().unwrap();
    let file = write_credentials(
        home.path(),
        &format!(
            "[default]\naws_access_key_id = AKIAFILEFILEFILEFILE\naws_secret_access_key = {SECRET_B}\n"
        ),
    );
    let e = env(vec![
        ("HOME", home.path().display().to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", file),
    ]);
    let creds = resolve(e, ChainOptions::default()).await.unwrap().unwrap();
    assert_eq!(creds.access_key_id(), "AKIAFILEFILEFILEFILE");
    assert_eq!(creds.secret_access_key(), SECRET_B);
}

#[tokio::test]
async fn a_profile_named_on_the_command_line_beats_environment_keys() {
    let home = tempfile::tempdir().unwrap();
    let file = write_credentials(
        home.path(),
        &format!(
            "[dev]\naws_access_key_id = AKIADEVDEVDEVDEVDEVD\naws_secret_access_key = {SECRET_B}\n"
        ),
    );
    let e = env(vec![
        ("HOME", home.path().display().to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", file),
        ("AWS_ACCESS_KEY_ID", "AKIAENVENVENVENVENVE".into()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_A.into()),
    ]);
    let options = ChainOptions {
        profile: Some("dev".into()),
        ..ChainOptions::default()
    };
    let creds = resolve(e, options).await.unwrap().unwrap();
    assert_eq!(creds.access_key_id(), "AKIADEVDEVDEVDEVDEVD");
}

#[tokio::test]
async fn a_missing_named_profile_is_an_error_listing_the_profiles_there_are() {
    let home = tempfile::tempdir().unwrap();
    let file = write_credentials(
        home.path(),
        &format!(
            "[prod]\naws_access_key_id = AKIAPRODPRODPRODPROD\naws_secret_access_key = {SECRET_B}\n"
        ),
    );
    let e = env(vec![
        ("HOME", home.path().display().to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", file),
    ]);
    let options = ChainOptions {
        profile: Some("staging".into()),
        ..ChainOptions::default()
    };
    let err = resolve(e, options).await.unwrap_err();
    assert!(err.contains("staging") && err.contains("prod"), "{err}");
    assert!(!err.contains(SECRET_B));
}

#[tokio::test]
async fn a_broken_environment_stops_the_chain_instead_of_falling_through() {
    let home = tempfile::tempdir().unwrap();
    let file = write_credentials(
        home.path(),
        &format!(
            "[default]\naws_access_key_id = AKIAFILEFILEFILEFILE\naws_secret_access_key = {SECRET_B}\n"
        ),
    );
    let e = env(vec![
        ("HOME", home.path().display().to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", file),
        ("AWS_ACCESS_KEY_ID", "AKIAENVENVENVENVENVE".into()),
    ]);
    let err = resolve(e, ChainOptions::default()).await.unwrap_err();
    assert!(err.contains("AWS_SECRET_ACCESS_KEY"), "{err}");
}

#[tokio::test]
async fn nothing_configured_anywhere_says_every_way_to_fix_it() {
    let home = tempfile::tempdir().unwrap();
    // IMDS is asked on a loopback port nobody listens on (never the real address).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let imds = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let e = env(vec![
        ("HOME", home.path().display().to_string()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds),
    ]);
    let err = resolve(e, ChainOptions::default()).await.unwrap_err();
    assert!(
        err.contains("AWS_ACCESS_KEY_ID") && err.contains("unsigned requests"),
        "{err}"
    );
    for tried in [
        "environment",
        "container credentials",
        "EC2 instance metadata",
    ] {
        assert!(err.contains(tried), "{tried}: {err}");
    }
}

#[tokio::test]
async fn no_sign_request_resolves_to_anonymous_even_with_keys_around() {
    let e = env(vec![
        ("AWS_ACCESS_KEY_ID", "AKIAENVENVENVENVENVE".into()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_A.into()),
    ]);
    let options = ChainOptions {
        anonymous: true,
        ..ChainOptions::default()
    };
    assert!(resolve(e, options).await.unwrap().is_none());
}

#[tokio::test]
async fn keys_given_explicitly_beat_every_other_source() {
    let e = env(vec![
        ("AWS_ACCESS_KEY_ID", "AKIAENVENVENVENVENVE".into()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_A.into()),
    ]);
    let options = ChainOptions {
        static_credentials: Some(Credentials::new("AKIAFLAGFLAGFLAGFLAG", SECRET_B)),
        ..ChainOptions::default()
    };
    let creds = resolve(e, options).await.unwrap().unwrap();
    assert_eq!(creds.access_key_id(), "AKIAFLAGFLAGFLAGFLAG");
}
