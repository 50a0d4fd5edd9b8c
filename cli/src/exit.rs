//! Exit codes, as documented in `docs/usage.md`.

/// How `ferry` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything asked for was done.
    Success = 0,
    /// The command ran but some objects failed.
    Partial = 1,
    /// Bad usage or configuration (flags, credentials, endpoint): nothing was done.
    Usage = 2,
    /// A failure while running (network, server, I/O).
    Failure = 3,
    /// Interrupted (Ctrl-C): open multipart uploads were aborted.
    Interrupted = 130,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}
