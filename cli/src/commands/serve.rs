//! `ferry serve`: a local directory as an S3 endpoint (s3s-fs), until Ctrl-C.
//!
//! The endpoint URL and how to use it go to stdout; the secret is printed there once when it
//! was generated, and never logged.

use crate::args::ServeArgs;
use crate::exit::ExitCode;
use crate::output::CliError;
use ferry::serve::{LocalEndpoint, SHUTDOWN_GRACE, ServeConfig, ServeError};
use std::time::Duration;

/// Where the key pair came from, which decides what the banner shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keys {
    /// Generated at start: printed once, secret included.
    Generated,
    /// Given by flags or environment: the secret is not echoed.
    Given,
}

pub fn run(args: ServeArgs) -> Result<ExitCode, CliError> {
    let (config, keys) = config(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| failure(format!("cannot start the async runtime: {e}"), None))?;
    let result = runtime.block_on(serve(config, keys));
    // Requests still running after the graceful shutdown (or a second Ctrl-C) are dropped.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

/// Builds the endpoint configuration from the flags, generating keys when none were given.
fn config(args: ServeArgs) -> Result<(ServeConfig, Keys), CliError> {
    let ServeArgs {
        root,
        address,
        access_key,
        secret_key,
    } = args;
    match (access_key, secret_key) {
        (Some(access_key), Some(secret_key)) => Ok((
            ServeConfig::new(root, address, access_key, secret_key),
            Keys::Given,
        )),
        (None, None) => ServeConfig::with_random_keys(root, address)
            .map(|config| (config, Keys::Generated))
            .map_err(|e| serve_error(&e)),
        (Some(_), None) => Err(CliError::usage(
            "--access-key was given without --secret-key",
            "give both (the secret preferably as FERRY_SERVE_SECRET_KEY), or neither to get a random pair",
        )),
        (None, Some(_)) => Err(CliError::usage(
            "--secret-key was given without --access-key",
            "give both, or neither to get a random pair",
        )),
    }
}

async fn serve(config: ServeConfig, keys: Keys) -> Result<ExitCode, CliError> {
    let access_key = config.access_key.clone();
    let secret = (keys == Keys::Generated).then(|| config.secret_key.clone());
    let endpoint = LocalEndpoint::start(config)
        .await
        .map_err(|e| serve_error(&e))?;
    print!(
        "{}",
        banner(
            &endpoint,
            &access_key,
            secret.as_ref().map(ferry::credentials::Secret::expose)
        )
    );
    drop(secret);

    stop_signal().await?;
    tracing::info!(
        "stopping: no new connections; requests in flight get up to {} s",
        SHUTDOWN_GRACE.as_secs()
    );
    tokio::select! {
        () = endpoint.shutdown() => {}
        _ = tokio::signal::ctrl_c() => {
            tracing::warn!("second interrupt: stopping without waiting for requests in flight");
        }
    }
    Ok(ExitCode::Success)
}

/// What `ferry serve` prints on stdout once it listens.
fn banner(endpoint: &LocalEndpoint, access_key: &str, generated_secret: Option<&str>) -> String {
    let url = endpoint.url();
    let mut out = format!(
        "Serving {} as S3 at {url}\n  (buckets are its sub-directories; path-style: {url}/BUCKET/KEY)\n\n",
        endpoint.root().display()
    );
    let secret_line = match generated_secret {
        Some(secret) => {
            out.push_str("Generated credentials for this run (shown once, not stored):\n");
            out.push_str(&format!(
                "  access key  {access_key}\n  secret key  {secret}\n\n"
            ));
            format!("export AWS_SECRET_ACCESS_KEY={}", shell_quote(secret))
        }
        None => {
            out.push_str(&format!(
                "Credentials: access key {access_key} with the secret key you gave.\n\n"
            ));
            "export AWS_SECRET_ACCESS_KEY='…'   # the secret key you gave".to_owned()
        }
    };
    out.push_str("Use it from a shell (any region is accepted):\n");
    out.push_str(&format!("  export AWS_ENDPOINT_URL={url}\n"));
    out.push_str(&format!(
        "  export AWS_ACCESS_KEY_ID={}\n",
        shell_quote(access_key)
    ));
    out.push_str(&format!("  {secret_line}\n"));
    out.push_str("  export AWS_REGION=us-east-1\n");
    out.push_str(&format!(
        "or pass the endpoint as a flag, e.g. `aws --endpoint-url {url} s3 ls`.\n\n"
    ));
    out.push_str("Press Ctrl-C to stop.\n");
    out
}

/// `value` as one shell word: unchanged when it is plain, single-quoted otherwise.
fn shell_quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:+=@%".contains(&b));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// Waits for Ctrl-C (SIGINT) or, on Unix, SIGTERM.
async fn stop_signal() -> Result<(), CliError> {
    let no_handler = |e: std::io::Error| failure(format!("cannot listen for Ctrl-C: {e}"), None);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).map_err(no_handler)?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.map_err(no_handler),
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map_err(no_handler)
    }
}

fn failure(message: String, hint: Option<String>) -> CliError {
    CliError {
        message,
        hint,
        code: ExitCode::Failure,
    }
}

/// A configuration problem is a usage error (exit 2); the rest are failures (exit 3).
fn serve_error(err: &ServeError) -> CliError {
    let usage = matches!(
        err,
        ServeError::RootMissing { .. }
            | ServeError::RootNotDirectory { .. }
            | ServeError::RootUnusable { .. }
            | ServeError::AddressInUse { .. }
            | ServeError::AddressUnavailable { .. }
            | ServeError::InvalidAccessKey
            | ServeError::EmptySecretKey
    ) || matches!(err, ServeError::Bind { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied);
    let code = if usage {
        ExitCode::Usage
    } else {
        ExitCode::Failure
    };
    CliError {
        message: err.to_string(),
        hint: crate::hints::serve(err),
        code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn args(access_key: Option<&str>, secret_key: Option<&str>) -> ServeArgs {
        ServeArgs {
            root: PathBuf::from("/tmp"),
            address: ferry::serve::DEFAULT_ADDRESS,
            access_key: access_key.map(str::to_owned),
            secret_key: secret_key.map(str::to_owned),
        }
    }

    #[test]
    fn no_keys_means_a_generated_pair() {
        let (config, keys) = config(args(None, None)).unwrap();
        assert_eq!(keys, Keys::Generated);
        assert_eq!(config.access_key.len(), 20);
        assert_eq!(config.secret_key.expose().len(), 40);
    }

    #[test]
    fn given_keys_are_used_as_they_are() {
        let (config, keys) = config(args(Some("AKID"), Some("sekrit"))).unwrap();
        assert_eq!(keys, Keys::Given);
        assert_eq!(config.access_key, "AKID");
        assert_eq!(config.secret_key.expose(), "sekrit");
    }

    #[test]
    fn one_key_without_the_other_is_a_usage_error_with_a_hint() {
        for (a, s) in [(Some("AKID"), None), (None, Some("sekrit"))] {
            let err = config(args(a, s)).unwrap_err();
            assert_eq!(err.code, ExitCode::Usage);
            assert!(err.hint.is_some());
            assert!(!err.message.contains("sekrit"));
        }
    }

    #[test]
    fn a_missing_root_is_a_usage_error_telling_how_to_create_it() {
        let err = serve_error(&ServeError::RootMissing {
            root: PathBuf::from("/no/such/dir"),
        });
        assert_eq!(err.code, ExitCode::Usage);
        assert!(err.message.contains("/no/such/dir"), "{}", err.message);
        assert!(err.hint.unwrap().contains("mkdir -p /no/such/dir"));
    }

    #[test]
    fn shell_quoting_leaves_plain_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("FERRYABC123"), "FERRYABC123");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[tokio::test]
    async fn the_banner_shows_a_generated_secret_and_never_a_given_one() {
        let dir = tempfile_dir();
        let config = ServeConfig::new(&dir, "127.0.0.1:0".parse().unwrap(), "AKID", "sekrit");
        let endpoint = LocalEndpoint::start(config).await.unwrap();
        let given = banner(&endpoint, "AKID", None);
        assert!(given.contains(&endpoint.url()), "{given}");
        assert!(given.contains("AWS_ACCESS_KEY_ID=AKID"), "{given}");
        assert!(!given.contains("sekrit"), "{given}");
        let generated = banner(&endpoint, "AKID", Some("GeneratedSecret123"));
        assert!(
            generated.contains("secret key  GeneratedSecret123"),
            "{generated}"
        );
        assert!(
            generated.contains("AWS_SECRET_ACCESS_KEY=GeneratedSecret123"),
            "{generated}"
        );
        endpoint.shutdown().await;
        let _ = std::fs::remove_dir(&dir);
    }

    /// A fresh empty directory (the CLI crate has no tempfile dependency).
    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "ferry-serve-banner-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
