//! One object of a plan, and its line in a shard file: a JSON object per line
//! (`{"key":"a/b.txt","size":123,"tag":"\"9b2c…\""}`), so any key, newlines and tabs
//! included, crosses unchanged.

use super::ShardError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One object to move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The key below the source prefix (or the path below the source directory, `/`-separated);
    /// the destination name is the destination prefix followed by it.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// What identifies this version: the ETag of an S3 object (quotes as sent), the
    /// modification time of a local file (`SECONDS.NANOS`); empty when unknown.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tag: String,
}

impl Entry {
    /// The entry's line (no newline). Serializing a string and a number cannot fail.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses line `number` of `path`.
    pub fn from_line(line: &str, path: &Path, number: u64) -> Result<Self, ShardError> {
        serde_json::from_str(line)
            .map_err(|e| ShardError::malformed(path, number, format!("not a plan entry: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_newlines_tabs_and_quotes_survive_a_line() {
        let entry = Entry {
            key: "a\nb\tc\"d\\e".into(),
            size: 7,
            tag: "\"abc\"".into(),
        };
        let line = entry.to_line();
        assert!(!line.contains('\n'));
        assert_eq!(Entry::from_line(&line, Path::new("x"), 1).unwrap(), entry);
    }

    #[test]
    fn a_torn_line_is_a_malformed_entry_not_a_panic() {
        let error = Entry::from_line("{\"key\":\"a\",\"si", Path::new("s"), 3).unwrap_err();
        assert!(error.to_string().starts_with("s:3:"), "{error}");
    }
}
