//! Exit codes, as documented in `docs/usage.md`.

/// How `ferry` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything asked for was done.
    Success = 0,
    /// The command ran but some objects failed or were skipped with a warning (each named on
    /// stderr and in `--json`).
    Partial = 1,
    /// Bad usage or configuration (flags, credentials, endpoint): nothing was done.
    Usage = 2,
    /// A failure while running (network, server, I/O).
    Failure = 3,
    /// Interrupted by SIGINT (Ctrl-C): open multipart uploads were aborted.
    Interrupted = 130,
    /// Terminated by SIGTERM (`timeout`, systemd, Kubernetes): as `Interrupted`.
    Terminated = 143,
    /// Ended by SIGHUP (the terminal closed): as `Interrupted`.
    HungUp = 129,
}

impl ExitCode {
    /// `Partial` when an object failed or was skipped with a warning, else `Success`.
    pub fn for_summary(summary: &ferry::transfer::TransferSummary) -> Self {
        if summary.failed > 0 || !summary.warnings.is_empty() {
            Self::Partial
        } else {
            Self::Success
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}
