//! Where things are printed: data on stdout, logs and errors on stderr, errors in one line
//! with a `hint:` line after.

use crate::exit::ExitCode;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

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

/// Whether `error` is a download to standard output whose reader closed the pipe
/// (`ferry cp s3://b/k - | head`): the reader took what it wanted, which ends the command
/// quietly, as it ends `cat` (and ferry's own listings); it is no failure to report.
pub fn reader_went_away(error: &ferry::transfer::TransferError) -> bool {
    let stdout_closed = matches!(
        error,
        ferry::transfer::TransferError::Io { path, source, .. }
            if path.as_os_str() == ferry::transfer::STANDARD_OUTPUT
                && source.kind() == std::io::ErrorKind::BrokenPipe
    );
    if stdout_closed {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
    stdout_closed
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
///
/// On a terminal, or with `-v`/`-vv`, lines carry the time, the level and the module (in
/// colour on a terminal unless `NO_COLOR` is set). When stderr is not a terminal (a pipe, a
/// log file, CI) and no `-v` is given, a line is just `warning: …` or `error: …`, like the
/// other messages ferry prints, without escape codes.
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
    let terminal = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if terminal || verbose > 0 {
        builder
            .with_ansi(terminal && std::env::var_os("NO_COLOR").is_none())
            .try_init()
    } else {
        builder.with_ansi(false).event_format(Plain).try_init()
    };
}

/// `warning: message field=value`: a log line for a reader, not for a log collector.
struct Plain;

impl<S, N> FormatEvent<S, N> for Plain
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        write!(writer, "{}: ", plain_label(*event.metadata().level()))?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// The word a plain log line starts with.
fn plain_label(level: tracing::Level) -> &'static str {
    match level {
        tracing::Level::ERROR => "error",
        tracing::Level::WARN => "warning",
        tracing::Level::INFO => "info",
        tracing::Level::DEBUG => "debug",
        tracing::Level::TRACE => "trace",
    }
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
        let hint = crate::hints::config(&error);
        Self {
            hint,
            ..Self::usage(error.to_string(), "")
        }
    }
}

impl From<ferry::s3::Error> for CliError {
    fn from(error: ferry::s3::Error) -> Self {
        Self {
            hint: crate::hints::s3(&error),
            message: error.to_string(),
            code: ExitCode::Failure,
        }
    }
}

impl From<ferry::transfer::TransferError> for CliError {
    fn from(error: ferry::transfer::TransferError) -> Self {
        Self {
            hint: crate::hints::transfer(&error),
            message: error.to_string(),
            code: ExitCode::Failure,
        }
    }
}

impl From<ferry::shard::ShardError> for CliError {
    fn from(error: ferry::shard::ShardError) -> Self {
        use ferry::shard::ShardError as E;
        let code = match &error {
            E::NoPlan(_) | E::NoSuchShard { .. } | E::PlanExists(_) | E::Invalid(_) => {
                ExitCode::Usage
            }
            _ => ExitCode::Failure,
        };
        Self {
            hint: crate::hints::shard(&error),
            message: error.to_string(),
            code,
        }
    }
}
