//! The signals that end a run early: SIGINT (Ctrl-C), SIGTERM (what `timeout`, systemd and
//! Kubernetes send) and SIGHUP (a closed terminal). All three are handled alike: open
//! multipart uploads are aborted, partial downloads are kept for a rerun to resume, and the
//! process says so and exits with 128 + the signal's number.

use crate::exit::ExitCode;
use tokio::signal::unix::{SignalKind, signal};

/// Which signal asked ferry to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGINT.
    Interrupt,
    /// SIGTERM.
    Terminate,
    /// SIGHUP.
    HangUp,
}

impl Stop {
    /// The signal's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Interrupt => "SIGINT",
            Self::Terminate => "SIGTERM",
            Self::HangUp => "SIGHUP",
        }
    }

    /// The exit code: 128 + the signal's number, as a shell reports a process it killed.
    pub fn exit_code(self) -> ExitCode {
        match self {
            Self::Interrupt => ExitCode::Interrupted,
            Self::Terminate => ExitCode::Terminated,
            Self::HangUp => ExitCode::HungUp,
        }
    }
}

/// Waits for SIGINT, SIGTERM or SIGHUP. Once this has been called, those signals no longer
/// kill the process: the caller decides how to end. A signal whose handler could not be
/// installed is never reported (the others still are).
pub async fn stop_requested() -> Stop {
    let wait = |kind: SignalKind| async move {
        match signal(kind) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = wait(SignalKind::interrupt()) => Stop::Interrupt,
        () = wait(SignalKind::terminate()) => Stop::Terminate,
        () = wait(SignalKind::hangup()) => Stop::HangUp,
    }
}
