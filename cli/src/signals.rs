//! The signals that end a run early: SIGINT (Ctrl-C), SIGTERM (what `timeout`, systemd and
//! Kubernetes send) and SIGHUP (a closed terminal). All three are handled alike: the signal
//! trips the engine's cancellation token, open multipart uploads are aborted, partial
//! downloads are kept for a rerun to resume, and the process says which and exits with
//! 128 + the signal's number.

use crate::exit::ExitCode;
use ferry::transfer::{Cancelled, Transfers};
use std::future::Future;
use tokio::signal::unix::{Signal, SignalKind, signal};

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

/// The three signals' streams, installed once: from then on those signals no longer kill
/// the process, and each is seen once (a second signal while ferry aborts its uploads is a
/// new one, not the first seen again).
#[derive(Debug)]
pub struct Signals {
    interrupt: Option<Signal>,
    terminate: Option<Signal>,
    hang_up: Option<Signal>,
}

impl Signals {
    /// Installs the handlers. A signal whose handler could not be installed is never
    /// reported (the others still are).
    pub fn install() -> Self {
        Self {
            interrupt: signal(SignalKind::interrupt()).ok(),
            terminate: signal(SignalKind::terminate()).ok(),
            hang_up: signal(SignalKind::hangup()).ok(),
        }
    }

    /// Waits for the next SIGINT, SIGTERM or SIGHUP.
    pub async fn next(&mut self) -> Stop {
        async fn recv(stream: &mut Option<Signal>) {
            match stream {
                Some(stream) => {
                    stream.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            () = recv(&mut self.interrupt) => Stop::Interrupt,
            () = recv(&mut self.terminate) => Stop::Terminate,
            () = recv(&mut self.hang_up) => Stop::HangUp,
        }
    }
}

/// A run a signal cut short: which signal, and what the engine left behind (`None` when a
/// second signal stopped ferry from waiting for the wind-down).
#[derive(Debug)]
pub struct Interrupted {
    /// The signal.
    pub stop: Stop,
    /// What the cancelled run left: uploads aborted or open, partial downloads.
    pub left: Option<Cancelled>,
}

/// Runs `work` under `engine`'s cancellation token until it ends or a signal comes. On a
/// signal the token trips: the work stops and its open multipart uploads are aborted. A
/// second signal while that happens stops the waiting (the uploads are then left open for a
/// rerun to resume, and ferry says so).
pub async fn until_signal<T>(
    engine: &Transfers,
    signals: &mut Signals,
    work: impl Future<Output = T>,
) -> Result<T, Interrupted> {
    let run = engine.until_cancelled(work);
    tokio::pin!(run);
    let stop = tokio::select! {
        result = &mut run => {
            // Tripped by someone else: as if interrupted.
            return result.map_err(|left| Interrupted { stop: Stop::Interrupt, left: Some(left) });
        }
        stop = signals.next() => stop,
    };
    engine.cancel_token().cancel();
    tokio::select! {
        result = &mut run => result.map_err(|left| Interrupted { stop, left: Some(left) }),
        again = signals.next() => {
            errln!(
                "{} again: not waiting for the aborts; open multipart uploads are left for a rerun to resume",
                again.name()
            );
            Err(Interrupted { stop, left: None })
        }
    }
}
