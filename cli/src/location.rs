//! `s3://bucket/key` or a local path.

use crate::output::CliError;
use std::path::PathBuf;

/// Where a transfer reads or writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local file or directory.
    Local(PathBuf),
    /// A bucket and a key (or prefix; empty for the whole bucket).
    S3 {
        /// The bucket.
        bucket: String,
        /// The key or prefix.
        key: String,
    },
}

impl Location {
    /// Parses an argument: `s3://…` is S3, anything else a local path.
    pub fn parse(text: &str) -> Result<Self, CliError> {
        let Some(rest) = text.strip_prefix("s3://") else {
            return Ok(Self::Local(PathBuf::from(text)));
        };
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(CliError::usage(
                format!("`{text}` names no bucket"),
                "write S3 locations as s3://BUCKET/KEY",
            ));
        }
        Ok(Self::S3 {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local(path) => write!(f, "{}", path.display()),
            Self::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

/// A key or prefix taken as a "directory", as `aws s3` takes the S3 side of a recursive
/// command: `logs` → `logs/` (so `logs-archive/` is not included), `` → `` (the bucket).
pub fn dir_prefix(key: &str) -> String {
    if key.is_empty() || key.ends_with('/') {
        key.to_owned()
    } else {
        format!("{key}/")
    }
}

/// Parses ages like `7d`, `12h`, `30m`, `90s` (a bare number is seconds).
pub fn parse_age(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not an age (e.g. 7d, 12h, 30m, 90s)"))?;
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}` (use s, m, h, d or w)"
            ));
        }
    };
    Ok(std::time::Duration::from_secs(
        number.saturating_mul(seconds),
    ))
}

/// Parses sizes like `8MiB`, `5MB`, `1048576`, `1.5GiB`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size (e.g. 8MiB, 64MB, 1048576)"))?;
    let multiplier = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "unknown size unit `{other}` (use B, KiB, MiB, GiB, KB, MB, GB)"
            ));
        }
    };
    Ok((number * multiplier).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_locations_split_into_bucket_and_key() {
        assert_eq!(
            Location::parse("s3://b/a/b c").unwrap(),
            Location::S3 {
                bucket: "b".into(),
                key: "a/b c".into()
            }
        );
        assert_eq!(
            Location::parse("s3://b").unwrap(),
            Location::S3 {
                bucket: "b".into(),
                key: String::new()
            }
        );
        assert!(Location::parse("s3:///k").is_err());
        assert_eq!(
            Location::parse("./x").unwrap(),
            Location::Local("./x".into())
        );
    }

    #[test]
    fn ages_take_seconds_minutes_hours_days_and_weeks() {
        assert_eq!(parse_age("90s").unwrap().as_secs(), 90);
        assert_eq!(parse_age("30m").unwrap().as_secs(), 1800);
        assert_eq!(parse_age("7d").unwrap().as_secs(), 604_800);
        assert_eq!(parse_age("2w").unwrap().as_secs(), 1_209_600);
        assert_eq!(parse_age("45").unwrap().as_secs(), 45);
        assert!(parse_age("7 days").is_err());
        assert!(parse_age("d").is_err());
    }

    #[test]
    fn a_recursive_prefix_is_a_directory() {
        assert_eq!(dir_prefix("logs"), "logs/");
        assert_eq!(dir_prefix("logs/"), "logs/");
        assert_eq!(dir_prefix(""), "");
    }

    #[test]
    fn sizes_accept_binary_and_decimal_units() {
        assert_eq!(parse_size("8MiB"), Ok(8 * 1024 * 1024));
        assert_eq!(parse_size("5MB"), Ok(5_000_000));
        assert_eq!(parse_size("1.5GiB"), Ok(1_610_612_736));
        assert_eq!(parse_size("42"), Ok(42));
        assert!(parse_size("8 parsecs").is_err());
    }
}
