//! `credential_process`: a command the profile names prints credentials as JSON
//! (`{"Version": 1, "AccessKeyId": …, "SecretAccessKey": …, "SessionToken": …,
//! "Expiration": "…"}`).
//!
//! The command line is split as the AWS CLI splits it (POSIX shell words: quotes and
//! backslashes, no variables, globs or pipes) and run without a shell. It must finish within
//! the timeout (60 s), else it is killed. Its standard output holds secrets and never appears
//! in a message; a failure shows its exit status and the end of its standard error.

use super::provider::build_checked;
use super::{Credentials, CredentialsError, ProvideCredentials, ProvideFuture};
use crate::time::parse_iso8601_time;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long the command may run.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Output past this is cut (credentials are a few KiB).
const MAX_OUTPUT: u64 = 1024 * 1024;
/// How much of standard error a message shows.
const STDERR_SHOWN: usize = 500;

/// Runs `credential_process` for a profile.
#[derive(Debug, Clone)]
pub struct ProcessProvider {
    command: String,
    profile: String,
    timeout: Duration,
}

impl ProcessProvider {
    /// The command line of `profile`'s `credential_process`.
    pub fn new(command: impl Into<String>, profile: impl Into<String>) -> Self {
        Self {
            command: command.into(),
            profile: profile.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Kills the command after `timeout` instead of 60 s.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn source_name(&self) -> String {
        format!("profile `{}` (credential_process)", self.profile)
    }

    fn error(&self, message: String) -> CredentialsError {
        CredentialsError::Provider {
            source_name: self.source_name(),
            message,
        }
    }

    /// Runs the command (on the blocking pool) and reads its answer.
    pub async fn fetch(&self) -> Result<Credentials, CredentialsError> {
        let words = split_command(&self.command).map_err(|why| {
            self.error(format!(
                "cannot split credential_process `{}`: {why}",
                self.command
            ))
        })?;
        let timeout = self.timeout;
        let ran = tokio::task::spawn_blocking(move || run(&words, timeout))
            .await
            .map_err(|e| self.error(format!("the command could not be waited for: {e}")))?;
        let program = split_command(&self.command)
            .ok()
            .and_then(|w| w.into_iter().next())
            .unwrap_or_default();
        let output = ran.map_err(|why| self.error(format!("`{program}` {why}")))?;
        parse_output(&output, &self.source_name()).map_err(|why| {
            self.error(format!(
                "`{program}` printed no usable credentials: {why}; it must print JSON with Version 1, AccessKeyId, SecretAccessKey (and SessionToken, Expiration for temporary keys)"
            ))
        })
    }
}

/// Runs `words`, returning its standard output, or why it failed.
fn run(words: &[String], timeout: Duration) -> Result<Vec<u8>, String> {
    let (program, args) = words.split_first().ok_or("is empty")?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not be started ({e}); check the path in credential_process"))?;
    let mut stdout = child.stdout.take().ok_or("has no standard output")?;
    let mut stderr = child.stderr.take().ok_or("has no standard error")?;
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stdout).take(MAX_OUTPUT).read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stderr).take(MAX_OUTPUT).read_to_end(&mut buf);
        buf
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "did not finish within {} s and was killed; check that it does not wait for input (it runs without a terminal)",
                    timeout.as_secs_f32()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("could not be waited for ({e})")),
        }
    };
    let out = out_reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    if !status.success() {
        let text = String::from_utf8_lossy(&err);
        let text = text.trim();
        let shown: String = if text.chars().count() > STDERR_SHOWN {
            let skip = text.chars().count() - STDERR_SHOWN;
            format!("…{}", text.chars().skip(skip).collect::<String>())
        } else {
            text.to_owned()
        };
        let code = status
            .code()
            .map_or_else(|| "a signal".to_owned(), |c| format!("status {c}"));
        return Err(if shown.is_empty() {
            format!("exited with {code} (nothing on standard error)")
        } else {
            format!("exited with {code}: {}", shown.replace('\n', " | "))
        });
    }
    Ok(out)
}

/// The credentials in the command's output. Messages never quote the output.
fn parse_output(output: &[u8], source_name: &str) -> Result<Credentials, String> {
    let doc: serde_json::Value = serde_json::from_slice(output).map_err(|e| {
        format!(
            "the output is not JSON (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    match doc.get("Version").and_then(serde_json::Value::as_u64) {
        Some(1) => {}
        Some(v) => return Err(format!("Version is {v}, and only Version 1 is understood")),
        None => return Err("Version (1) is missing".into()),
    }
    let field = |name: &str| {
        doc.get(name)
            .and_then(serde_json::Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let key = field("AccessKeyId").ok_or("AccessKeyId is missing")?;
    let secret = field("SecretAccessKey").ok_or("SecretAccessKey is missing")?;
    let credentials = build_checked(
        source_name,
        key,
        secret,
        field("SessionToken"),
        "SessionToken in the command's output",
    )
    .map_err(|e| e.to_string())?;
    match field("Expiration") {
        None => Ok(credentials),
        Some(text) => parse_iso8601_time(&text)
            .map(|expiry| credentials.with_expiry(expiry))
            .ok_or_else(|| format!("Expiration `{text}` is not an ISO-8601 time")),
    }
}

/// Splits a command line into words as a POSIX shell would, without expanding anything:
/// whitespace separates words, `'…'` is literal, `"…"` keeps `\"`, `\\`, `\$` and `` \` ``
/// escapes, and a backslash outside quotes takes the next character literally.
pub fn split_command(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("a single quote is not closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("a double quote is not closed".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("a double quote is not closed".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(c) => word.push(c),
                    None => return Err("it ends with a lone backslash".into()),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    if words.is_empty() {
        return Err("it is empty".into());
    }
    Ok(words)
}

impl ProvideCredentials for ProcessProvider {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(async move { self.fetch().await.map(Some) })
    }

    fn name(&self) -> String {
        self.source_name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_split_like_a_posix_shell_without_expansion() {
        let split = |s: &str| split_command(s).unwrap();
        assert_eq!(split("/bin/creds --a b"), ["/bin/creds", "--a", "b"]);
        assert_eq!(
            split(r#"prog 'one two' "three \"four\"" five\ six $HOME"#),
            ["prog", "one two", r#"three "four""#, "five six", "$HOME"]
        );
        assert_eq!(split(r#"prog "" ''"#), ["prog", "", ""]);
        assert!(split_command("prog 'open").is_err());
        assert!(split_command("   ").is_err());
    }

    #[test]
    fn output_is_read_and_never_quoted_in_errors() {
        let good = br#"{"Version":1,"AccessKeyId":"ASIAPROC","SecretAccessKey":"sekret","SessionToken":"tok","Expiration":"2030-01-01T00:00:00Z"}"#;
        let creds = parse_output(good, "p").unwrap();
        assert_eq!(creds.session_token(), Some("tok"));
        assert!(creds.expiry().is_some());
        let bad = br#"{"Version":2,"AccessKeyId":"AKIA","SecretAccessKey":"sekret"}"#;
        let err = parse_output(bad, "p").unwrap_err();
        assert!(err.contains("Version 1"), "{err}");
        let err = parse_output(b"sekret-not-json", "p").unwrap_err();
        assert!(!err.contains("sekret"), "{err}");
    }

    #[tokio::test]
    async fn a_failing_command_shows_its_stderr_and_not_its_stdout() {
        let provider = ProcessProvider::new(
            "sh -c 'echo SECRETOUT; echo token expired >&2; exit 3'",
            "dev",
        );
        let err = provider.fetch().await.unwrap_err().to_string();
        assert!(err.contains("status 3"), "{err}");
        assert!(err.contains("token expired"), "{err}");
        assert!(!err.contains("SECRETOUT"), "{err}");
        assert!(err.contains("profile `dev`"), "{err}");
    }

    #[tokio::test]
    async fn a_hanging_command_is_killed_at_the_timeout() {
        let provider =
            ProcessProvider::new("sleep 30", "dev").with_timeout(Duration::from_millis(300));
        let err = provider.fetch().await.unwrap_err().to_string();
        assert!(err.contains("was killed"), "{err}");
    }

    #[tokio::test]
    async fn a_good_command_gives_its_credentials() {
        let provider = ProcessProvider::new(
            r#"printf '{"Version": 1, "AccessKeyId": "AKIAPROCESS", "SecretAccessKey": "s"}'"#,
            "dev",
        );
        let creds = provider.fetch().await.unwrap();
        assert_eq!(creds.access_key_id(), "AKIAPROCESS");
    }
}
