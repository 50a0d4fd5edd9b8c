//! `ferry::Client::builder()`: settings given in code, and nothing else. One test per
//! process (this binary), because it sets the process's HOME and AWS variables.

use ferry::credentials::profile::profile_file_reads;
use ferry::transfer::{Progress, TransferConfig};
use ferry::{Client, Transfers};
use ferry_tests::embedded::Embedded;

#[tokio::test]
async fn the_builder_reads_no_aws_file_or_variable_unless_asked_and_sizes_the_engine_once() {
    let server = Embedded::start("127.0.0.1:0").await;
    // A host whose AWS files are broken and whose variables name other keys: a program that
    // brings its own keys must not notice.
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".aws")).unwrap();
    std::fs::write(
        home.path().join(".aws/config"),
        "[profile broken\nregion = \n",
    )
    .unwrap();
    // SAFETY: this binary runs this one test, and no other thread reads the environment
    // while it is being set (the server's threads do not read it).
    unsafe {
        std::env::set_var("HOME", home.path());
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG0");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "wrong");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }

    let reads = profile_file_reads();
    let client = Client::builder()
        .endpoint_url(server.endpoint.url())
        .credentials(server.endpoint.credentials().clone())
        .concurrency(8)
        .build()
        .await
        .expect("a client from settings in code");
    assert_eq!(profile_file_reads(), reads, "no AWS file was read");
    // The server checks the signature: the keys given, not the variables', signed it.
    client
        .create_bucket("builder", None)
        .await
        .expect("signed with the keys given");

    let engine = Transfers::for_client(client, TransferConfig::default(), Progress::silent());
    assert_eq!(
        engine.config().request_concurrency,
        8,
        "sized once, by the client"
    );
    assert!(engine.config().concurrency <= 8);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.bin");
    std::fs::write(&file, b"built").unwrap();
    engine.upload_file(&file, "builder", "f.bin").await.unwrap();

    // Asked to read the environment, it does: the broken file is reported.
    let error = Client::builder()
        .endpoint_url(server.endpoint.url())
        .from_environment()
        .build()
        .await
        .expect_err("the broken config is read");
    assert!(error.to_string().contains("config"), "{error}");
    assert!(
        profile_file_reads() > reads,
        "the files were read when asked"
    );
}
