//! Where things are printed: data on stdout, logs and errors on stderr, errors in one line
//! with a `hint:` line after.

use crate::exit::ExitCode;
use tracing_subscriber::EnvFilter;

/// A user-facing error: what went wrong, what to do, and how the process should exit.
#[derive(Debug)]
pub struct CliError {
    /// One readable line.
    pub message: String,
    /// What to do about it, if there is something to say.
    pub hint: Option<String>,
    /// The exit code.
    pub code: ExitCode,
}

impl CliError {
    /// A usage or configuration error.
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: Some(hint.into()),
            code: ExitCode::Usage,
        }
    }
}

/// Logs go to stderr; `-v` shows debug, `-vv` trace, `-q` errors only. `RUST_LOG` overrides.
pub fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    // s3s logs every error answer it serves (404s included) at ERROR; the embedded endpoint
    // logs requests itself and warns on 5xx.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},s3s::ops=off")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::env::var_os("NO_COLOR").is_none())
        .try_init();
}

/// Prints `error: …` and `hint: …` on stderr and returns the exit code.
pub fn report_error(err: &CliError) -> ExitCode {
    eprintln!("error: {}", err.message);
    if let Some(hint) = &err.hint {
        eprintln!("hint: {hint}");
    }
    err.code
}

impl From<ferry::config::ConfigError> for CliError {
    fn from(error: ferry::config::ConfigError) -> Self {
        let hint = error.hint();
        Self {
            hint,
            ..Self::usage(error.to_string(), "")
        }
    }
}

impl From<ferry::s3::Error> for CliError {
    fn from(error: ferry::s3::Error) -> Self {
        Self {
            hint: error.hint(),
            message: error.to_string(),
            code: ExitCode::Failure,
        }
    }
}

impl From<ferry::transfer::TransferError> for CliError {
    fn from(error: ferry::transfer::TransferError) -> Self {
        Self {
            hint: error.hint(),
            message: error.to_string(),
            code: ExitCode::Failure,
        }
    }
}
