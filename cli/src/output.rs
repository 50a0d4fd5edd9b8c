//! Where things are printed: data on stdout, logs and errors on stderr, errors in one line
//! with a `hint:` line after.

use crate::exit::ExitCode;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing_subscriber::EnvFilter;

/// Set once stdout's reader has gone (`ferry ls | head`): nothing more is written there.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Prints a line on stdout, as `println!` would, without its panic when the reader has gone:
/// a closed pipe ends the output quietly (see [`stdout_closed`]).
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::print_line(&format!($($arg)*))
    };
}

/// Prints a line on stderr, as `eprintln!` would, ignoring a closed stderr instead of
/// panicking.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::print_error_line(&format!($($arg)*))
    };
}

/// Writes `line` and a newline to stdout; once the reader is gone, nothing.
pub fn print_line(line: &str) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    let written = out
        .write_all(line.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if written.is_err() {
        // Broken pipe (or a full disk behind a redirect): stop writing, keep working.
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Writes `line` and a newline to stderr, ignoring failures.
pub fn print_error_line(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err
        .write_all(line.as_bytes())
        .and_then(|()| err.write_all(b"\n"));
}

/// Whether stdout's reader has gone (listings stop early then).
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

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
    errln!("error: {}", err.message);
    if let Some(hint) = &err.hint {
        errln!("hint: {hint}");
    }
    err.code
}

impl From<ferry::config::ConfigError> for CliError {
    fn from(error: ferry::config::ConfigError) -> Self {
        let hint = match &error {
            ferry::config::ConfigError::Credentials(_) => {
                "see docs/credentials.md for where ferry looks for keys"
            }
            ferry::config::ConfigError::Endpoint(_) => {
                "see docs/endpoints.md for regions, endpoints and addressing"
            }
            _ => "check --ca-bundle / AWS_CA_BUNDLE",
        };
        Self::usage(error.to_string(), hint)
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
