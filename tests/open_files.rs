//! The engine under a low limit on open files. One test per process (this binary), because
//! it lowers the process's soft limit. Linux only (the limits differ elsewhere).
#![cfg(target_os = "linux")]

use ferry::Client;
use ferry::credentials::Credentials;

/// A client built with the builder's defaults but for its endpoint and keys (nothing is
/// sent: building it opens no connection).
async fn default_client(concurrency: Option<usize>) -> Client {
    let builder = Client::builder()
        .endpoint_url("http://127.0.0.1:9")
        .credentials(Credentials::new(
            "AKIDOPENFILESTEST000",
            "open-files-test-secret",
        ));
    let builder = match concurrency {
        Some(n) => builder.concurrency(n),
        None => builder,
    };
    builder.build().await.expect("a client")
}

#[tokio::test]
#[allow(clippy::useless_conversion)] // `rlim_t` is narrower than u64 on some 32-bit targets
async fn a_client_built_under_a_low_open_file_limit_keeps_its_requests_in_flight_within_it() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through a pointer to a live value.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    let original = limit;
    if u64::from(limit.rlim_max) < 2_048 {
        eprintln!(
            "skipped: the hard limit on open files ({}) is below the 2,048 this test raises to",
            limit.rlim_max
        );
        return;
    }
    // The 1,024 many Linux systems give a process, and less.
    for (soft, expected) in [(1_024, 307), (600, 137), (300, 17), (100, 16)] {
        limit.rlim_cur = soft;
        // SAFETY: setrlimit reads one `rlimit` through a pointer to a live value; lowering
        // the soft limit is always allowed.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
        // Two fifths of what the limit leaves after 256 kept aside: a connection and a
        // quarter and a file for each request in flight, never fewer than 16.
        assert_eq!(
            default_client(None).await.max_connections(),
            expected,
            "soft limit {soft}"
        );
        assert_eq!(
            default_client(Some(300)).await.max_connections(),
            300,
            "a concurrency set in code is used as it is"
        );
    }
    // Raised back to the hard one, as the `ferry` command does at start: 512 again.
    let raised = ferry::open_files::raise_limit().expect("the limit is readable");
    assert!(raised >= 2_048, "{raised}");
    assert_eq!(default_client(None).await.max_connections(), 512);
    // SAFETY: as above; the original soft limit is at most the hard one.
    assert_eq!(
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &original) },
        0
    );
}
