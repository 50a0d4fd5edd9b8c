//! Building a client from flags, environment and profile files, then using it for real.

use ferry::config::{ClientOptions, build_client};
use ferry::env::Environment;
use ferry_tests::embedded::Embedded;

#[tokio::test]
async fn endpoint_and_keys_from_the_environment_reach_the_embedded_endpoint() {
    let server = Embedded::start("127.0.0.1:0").await;
    let home = tempfile::tempdir().unwrap();
    let creds = server.endpoint.credentials();
    let env = Environment::from_pairs([
        ("HOME", home.path().display().to_string()),
        ("AWS_ENDPOINT_URL_S3", server.endpoint.url()),
        ("AWS_ACCESS_KEY_ID", creds.access_key_id().to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY",
            creds.secret_access_key().to_owned(),
        ),
        ("AWS_REGION", "eu-west-1".to_owned()),
    ]);
    let setup = build_client(
        &ClientOptions {
            concurrency: 4,
            ..ClientOptions::default()
        },
        &env,
    )
    .await
    .expect("client");
    assert!(
        setup.warnings.is_empty(),
        "custom endpoints get no AWS key-format warning: {:?}",
        setup.warnings
    );
    setup
        .client
        .create_bucket("from-env", None)
        .await
        .expect("create bucket");
    let names: Vec<String> = setup
        .client
        .list_buckets()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(names, vec!["from-env".to_string()]);
    assert_eq!(setup.client.endpoint().signing_region(), "eu-west-1");
}

#[tokio::test]
async fn the_profile_supplies_region_endpoint_and_keys() {
    let server = Embedded::start("127.0.0.1:0").await;
    let home = tempfile::tempdir().unwrap();
    let creds = server.endpoint.credentials();
    let config = home.path().join("config");
    std::fs::write(
        &config,
        format!(
            "[profile local]\nregion = ap-south-1\nendpoint_url = {}\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            server.endpoint.url(),
            creds.access_key_id(),
            creds.secret_access_key()
        ),
    )
    .unwrap();
    let env = Environment::from_pairs([
        ("HOME", home.path().display().to_string()),
        ("AWS_CONFIG_FILE", config.display().to_string()),
    ]);
    let options = ClientOptions {
        profile: Some("local".into()),
        concurrency: 2,
        ..ClientOptions::default()
    };
    let setup = build_client(&options, &env).await.expect("client");
    assert_eq!(setup.client.endpoint().signing_region(), "ap-south-1");
    setup
        .client
        .list_buckets()
        .await
        .expect("signed with the profile's keys");
}

#[tokio::test]
async fn keys_that_do_not_look_like_aws_keys_get_a_warning_on_aws_endpoints() {
    let home = tempfile::tempdir().unwrap();
    let env = Environment::from_pairs([
        ("HOME", home.path().display().to_string()),
        ("AWS_ACCESS_KEY_ID", "minio-user".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "short-secret".to_owned()),
    ]);
    let setup = build_client(
        &ClientOptions {
            region: Some("us-east-1".into()),
            ..ClientOptions::default()
        },
        &env,
    )
    .await
    .expect("a warning, not an error");
    assert_eq!(setup.warnings.len(), 2, "{:?}", setup.warnings);
    assert!(setup.warnings.iter().all(|w| !w.contains("short-secret")));
}

#[tokio::test]
async fn a_missing_ca_bundle_is_an_error_naming_the_file() {
    let home = tempfile::tempdir().unwrap();
    let env = Environment::from_pairs([
        ("HOME", home.path().display().to_string()),
        ("AWS_CA_BUNDLE", "/nonexistent/ca.pem".to_owned()),
    ]);
    let options = ClientOptions {
        no_sign_request: true,
        ..ClientOptions::default()
    };
    let err = build_client(&options, &env).await.unwrap_err();
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
}

#[tokio::test]
async fn dual_stack_with_a_custom_endpoint_is_refused_before_any_request() {
    let home = tempfile::tempdir().unwrap();
    let env = Environment::from_pairs([("HOME", home.path().display().to_string())]);
    let options = ClientOptions {
        endpoint_url: Some("http://127.0.0.1:9".into()),
        dualstack: true,
        no_sign_request: true,
        ..ClientOptions::default()
    };
    let err = build_client(&options, &env).await.unwrap_err();
    assert!(err.to_string().to_lowercase().contains("dual"), "{err}");
}

#[tokio::test]
async fn an_endpoint_url_with_a_path_is_refused_before_anything_is_sent() {
    let server = Embedded::start("127.0.0.1:0").await;
    let home = tempfile::tempdir().unwrap();
    let creds = server.endpoint.credentials();
    let env = Environment::from_pairs([
        ("HOME", home.path().display().to_string()),
        ("AWS_ACCESS_KEY_ID", creds.access_key_id().to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY",
            creds.secret_access_key().to_owned(),
        ),
    ]);
    for path in ["/foo", "/foo/"] {
        let err = build_client(
            &ClientOptions {
                endpoint_url: Some(format!("{}{path}", server.endpoint.url())),
                concurrency: 1,
                ..ClientOptions::default()
            },
            &env,
        )
        .await
        .expect_err("a path in the endpoint URL is refused");
        let message = err.to_string();
        assert!(
            message.contains("an endpoint URL has no path") && message.contains("s3://BUCKET/KEY"),
            "{message}"
        );
    }
    let root_slash = build_client(
        &ClientOptions {
            endpoint_url: Some(format!("{}/", server.endpoint.url())),
            concurrency: 1,
            ..ClientOptions::default()
        },
        &env,
    )
    .await;
    assert!(root_slash.is_ok(), "a trailing / alone is no path");
}
