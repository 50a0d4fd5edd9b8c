//! Credentials are resolved once per run, not once per request: over a real directory upload
//! of thousands of files through the embedded endpoint, with keys read from a shared
//! credentials file by the default chain (as `ferry` builds it), the profile files are read a
//! fixed number of times and the signer derives its key about once per thread.
//!
//! One test in its own binary: the counters are process-wide.

use ferry::config::{ClientOptions, build_client};
use ferry::credentials::profile::profile_file_reads;
use ferry::env::Environment;
use ferry::sign::key_derivations_in_process;
use ferry::transfer::{Progress, TransferConfig, Transfers};
use ferry_tests::embedded::Embedded;

/// Files uploaded: each one PutObject, each signed.
const FILES: usize = 2000;
/// Runtime threads that sign.
const WORKERS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_directory_upload_reads_the_profile_files_once_and_derives_one_key_per_thread() {
    let server = Embedded::start("127.0.0.1:0").await;
    let home = tempfile::tempdir().unwrap();
    let aws = home.path().join(".aws");
    std::fs::create_dir(&aws).unwrap();
    let keys = server.endpoint.credentials();
    std::fs::write(
        aws.join("credentials"),
        format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            keys.access_key_id(),
            keys.secret_access_key()
        ),
    )
    .unwrap();
    std::fs::write(aws.join("config"), "[default]\nregion = us-east-1\n").unwrap();
    let env = Environment::from_pairs([("HOME", home.path().to_string_lossy().into_owned())]);
    let options = ClientOptions {
        endpoint_url: Some(server.endpoint.url()),
        concurrency: 16,
        ..ClientOptions::default()
    };
    let setup = build_client(&options, &env).await.expect("client");
    let engine = Transfers::new(setup.client, TransferConfig::default(), Progress::silent());
    engine.client().create_bucket("once", None).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    for i in 0..FILES {
        std::fs::write(dir.path().join(format!("f{i:05}")), [i as u8; 64]).unwrap();
    }
    let (reads_before, derivations_before) = (profile_file_reads(), key_derivations_in_process());
    let summary = engine.upload_dir(dir.path(), "once", "p").await;
    assert_eq!(summary.objects, FILES as u64, "{summary:?}");

    assert_eq!(
        profile_file_reads(),
        reads_before,
        "no profile file is read again while {FILES} requests are signed"
    );
    let derived = key_derivations_in_process() - derivations_before;
    assert!(
        derived <= WORKERS as u64 + 1,
        "{derived} signing keys derived for {FILES} requests on {WORKERS} threads"
    );
}
