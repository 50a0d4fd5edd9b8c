//! The AWS CLI's cache of assumed-role credentials, `~/.aws/cli/cache/KEY.json`, shared with
//! `aws` (botocore's `AssumeRoleCredentialFetcher` with a `JSONFileCache`): a role that `aws`
//! assumed (an MFA code typed once) is used by ferry until it nears expiry, and the roles
//! ferry assumes are found there by `aws`.
//!
//! * The key is the SHA-1 (hex) of the AssumeRole arguments a role profile configures, as
//!   Python's `json.dumps(args, sort_keys=True)` writes them (separators `, ` and `: `, non-ASCII
//!   as `\uXXXX`): `RoleArn`, and when configured `RoleSessionName`, `ExternalId`,
//!   `SerialNumber` (`mfa_serial`) and `DurationSeconds` (a number). A session name ferry picks
//!   itself is left out, as botocore leaves out the one it generates.
//! * The file holds the AssumeRole answer: `{"Credentials": {"AccessKeyId",
//!   "SecretAccessKey", "SessionToken", "Expiration", "AccountId"}, "AssumedRoleUser": {…}}`,
//!   `Expiration` in ISO 8601 as the AWS CLI writes it (`2026-12-01T18:00:00Z`); the form a
//!   botocore program's `JSONFileCache` writes (`2026-12-01T18:00:00UTC`) is read too.
//! * An entry is used while at least 15 minutes of it are left (botocore's window).
//! * ferry writes a new entry into a temporary file of mode 0600 in the same directory and
//!   renames it over the old one.

use super::AssumeRole;
use crate::credentials::Credentials;
use crate::credentials::private_file::write_atomically;
use crate::credentials::profile::{Platform, home_dir};
use crate::env::Environment;
use crate::time::{format_utc, parse_iso8601_time};
use sha1::{Digest, Sha1};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// An entry with less than this left is not used (botocore's `DEFAULT_EXPIRY_WINDOW_SECONDS`).
pub const EXPIRY_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Cache files are small; a larger one is not read.
const MAX_ENTRY: u64 = 64 * 1024;

/// Why an entry could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CliCacheError {
    /// The directory or file could not be written.
    #[error("could not write the AWS CLI role cache {path}: {source}; check its permissions")]
    Write {
        /// The file (or directory) being written.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// One role's entry in the AWS CLI cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliRoleCache {
    path: PathBuf,
}

impl CliRoleCache {
    /// `~/.aws/cli/cache`, when the environment gives a home directory.
    pub fn default_dir(env: &Environment) -> Option<PathBuf> {
        let platform = Platform::current();
        let home = home_dir(env, platform)?;
        Some(Path::new(&home).join(".aws").join("cli").join("cache"))
    }

    /// The entry in `dir` for `request`; `session_name_configured` says whether its session
    /// name came from the profile (it is then part of the key). `None` for a request with a
    /// session policy (role profiles have none; botocore would key it by the parsed policy).
    pub fn for_request(
        dir: impl Into<PathBuf>,
        request: &AssumeRole,
        session_name_configured: bool,
    ) -> Option<Self> {
        if request.policy.is_some() {
            return None;
        }
        let key = cache_key(request, session_name_configured);
        Some(Self {
            path: dir.into().join(format!("{key}.json")),
        })
    }

    /// The entry's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entry's credentials, when it exists, is well formed and has at least
    /// [`EXPIRY_WINDOW`] left at `now`. Anything else is no entry (said at debug level).
    pub fn load(&self, now: SystemTime) -> Option<Credentials> {
        let text = match read_small(&self.path) {
            Ok(text) => text,
            Err(why) => {
                tracing::debug!(path = %self.path.display(), reason = %why, "no usable AWS CLI role cache entry");
                return None;
            }
        };
        match parse_entry(&text) {
            Ok(credentials) => {
                let expiry = credentials.expiry()?;
                if expiry.duration_since(now).unwrap_or_default() < EXPIRY_WINDOW {
                    tracing::debug!(path = %self.path.display(), expiry = %format_utc(expiry), "the AWS CLI role cache entry expires within 15 minutes; not used");
                    return None;
                }
                Some(credentials)
            }
            Err(why) => {
                tracing::debug!(path = %self.path.display(), reason = %why, "the AWS CLI role cache entry is not usable");
                None
            }
        }
    }

    /// Writes `credentials` (which must have an expiry) with the assumed role's `arn` and id,
    /// as botocore does: into a temporary file (mode 0600) renamed over the entry.
    pub fn store(
        &self,
        credentials: &Credentials,
        arn: Option<&str>,
        assumed_role_id: Option<&str>,
    ) -> Result<(), CliCacheError> {
        let Some(expiry) = credentials.expiry() else {
            return Ok(());
        };
        let text = entry_json(credentials, expiry, arn, assumed_role_id);
        write_atomically(&self.path, text.as_bytes()).map_err(|source| CliCacheError::Write {
            path: self.path.clone(),
            source,
        })
    }
}

/// The cache key: SHA-1 hex of the Python `json.dumps(args, sort_keys=True)` of the request's
/// configured arguments.
pub fn cache_key(request: &AssumeRole, session_name_configured: bool) -> String {
    let mut args: Vec<(&str, String)> = Vec::new();
    if let Some(seconds) = request.duration_seconds {
        args.push(("DurationSeconds", seconds.to_string()));
    }
    if let Some(id) = &request.external_id {
        args.push(("ExternalId", python_json_string(id)));
    }
    args.push(("RoleArn", python_json_string(&request.role_arn)));
    if session_name_configured {
        args.push((
            "RoleSessionName",
            python_json_string(&request.role_session_name),
        ));
    }
    if let Some(mfa) = &request.mfa {
        args.push(("SerialNumber", python_json_string(&mfa.serial_number)));
    }
    // Already in sorted order (the names are ASCII, sorted by code point).
    let body: Vec<String> = args
        .iter()
        .map(|(name, value)| format!("\"{name}\": {value}"))
        .collect();
    let json = format!("{{{}}}", body.join(", "));
    let digest = Sha1::digest(json.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A string as Python's `json.dumps` (with `ensure_ascii`) writes it.
fn python_json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

fn read_small(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut text = String::new();
    file.take(MAX_ENTRY)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    Ok(text)
}

/// Reads an entry's credentials. Messages never hold its values.
fn parse_entry(text: &str) -> Result<Credentials, String> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
    let creds = doc
        .get("Credentials")
        .ok_or("it has no Credentials object")?;
    let field = |name: &str| {
        creds
            .get(name)
            .and_then(serde_json::Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("Credentials has no {name}"))
    };
    let expiration = field("Expiration")?;
    let expiry = parse_iso8601_time(expiration)
        .ok_or_else(|| format!("Expiration `{expiration}` is not a time"))?;
    Ok(
        Credentials::new(field("AccessKeyId")?, field("SecretAccessKey")?)
            .with_session_token(field("SessionToken")?)
            .with_expiry(expiry),
    )
}

/// The entry botocore would write for this AssumeRole answer.
fn entry_json(
    credentials: &Credentials,
    expiry: SystemTime,
    arn: Option<&str>,
    assumed_role_id: Option<&str>,
) -> String {
    let expiration = format_utc(expiry);
    let mut creds = serde_json::json!({
        "AccessKeyId": credentials.access_key_id(),
        "SecretAccessKey": credentials.secret_access_key(),
        "SessionToken": credentials.session_token().unwrap_or_default(),
        "Expiration": expiration,
    });
    if let Some(account) = arn
        .and_then(|a| a.split(':').nth(4))
        .filter(|a| !a.is_empty())
    {
        creds["AccountId"] = account.into();
    }
    let mut doc = serde_json::json!({ "Credentials": creds });
    if let Some(arn) = arn {
        doc["AssumedRoleUser"] = serde_json::json!({
            "AssumedRoleId": assumed_role_id.unwrap_or_default(),
            "Arn": arn,
        });
    }
    doc.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::sts::Mfa;

    #[test]
    fn python_json_strings_escape_like_json_dumps() {
        assert_eq!(python_json_string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(python_json_string("é/\u{1}"), r#""\u00e9/\u0001""#);
        assert_eq!(python_json_string("😀"), r#""\ud83d\ude00""#);
    }

    #[test]
    fn the_key_is_botocores_and_leaves_out_a_session_name_ferry_picked() {
        let mut request = AssumeRole::new("arn:aws:iam::123456789012:role/r", "ferry-1");
        // Python: sha1(json.dumps({"RoleArn": "arn:aws:iam::123456789012:role/r"},
        // sort_keys=True).encode()).hexdigest()
        assert_eq!(
            cache_key(&request, false),
            "6dc9e6e1e186b9f293814df3266de783142c48a2"
        );
        request.mfa = Some(Mfa::new("arn:aws:iam::123456789012:mfa/me", ""));
        request.duration_seconds = Some(900);
        request.external_id = Some("ext-\u{e9}".into());
        // With SerialNumber, DurationSeconds (a number), ExternalId and RoleSessionName.
        assert_eq!(
            cache_key(&request, true),
            "edb4f370d5056dc7286d849b7e0987548c974585"
        );
    }

    #[test]
    fn an_entry_round_trips_and_expires_fifteen_minutes_early() {
        let dir = tempfile::tempdir().unwrap();
        let request = AssumeRole::new("arn:aws:iam::123456789012:role/r", "s1");
        let cache = CliRoleCache::for_request(dir.path().join("cache"), &request, true).unwrap();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let creds = Credentials::new("ASIAEXAMPLE", "s3cr3t")
            .with_session_token("t0k")
            .with_expiry(now + Duration::from_secs(3600));
        cache
            .store(
                &creds,
                Some("arn:aws:sts::123456789012:assumed-role/r/s1"),
                Some("AROAX:s1"),
            )
            .unwrap();
        let text = std::fs::read_to_string(cache.path()).unwrap();
        assert!(
            text.contains("\"Expiration\":\"2027-01-15T09:00:00Z\""),
            "{text}"
        );
        assert!(text.contains("\"AccountId\":\"123456789012\""), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(cache.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let loaded = cache.load(now).unwrap();
        assert_eq!(loaded.secret_access_key(), "s3cr3t");
        assert_eq!(loaded.expiry(), creds.expiry());
        assert!(
            cache
                .load(now + Duration::from_secs(3600 - 14 * 60))
                .is_none()
        );
    }

    #[test]
    fn iso_and_botocore_expirations_parse() {
        let want = parse_iso8601_time("2026-12-01T18:00:00Z");
        assert!(want.is_some());
        assert_eq!(parse_iso8601_time("2026-12-01T18:00:00UTC"), want);
        assert_eq!(parse_iso8601_time("2026-12-01T18:00:00 UTC"), want);
        assert_eq!(parse_iso8601_time("2026-12-01T18:00:00+00:00"), want);
        assert!(parse_iso8601_time("tomorrow").is_none());
    }
}
