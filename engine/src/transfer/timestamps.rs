//! Times as sync compares them: a file's mtime and an object's `LastModified`, both in whole
//! seconds since the epoch.

use super::TransferError;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Whole seconds since the epoch (negative before it), rounded down.
pub(crate) fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let d = before.duration();
            -i64::try_from(d.as_secs()).unwrap_or(i64::MAX) - i64::from(d.subsec_nanos() > 0)
        }
    }
}

/// Sets the file's mtime to `seconds`.`nanos` after the epoch.
pub(crate) fn set_mtime(path: &Path, seconds: i64, nanos: u32) -> Result<(), TransferError> {
    let offset = Duration::new(seconds.unsigned_abs(), 0);
    let whole = if seconds >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    };
    match whole.and_then(|t| t.checked_add(Duration::from_nanos(u64::from(nanos)))) {
        Some(time) => super::download::set_modified(path, time),
        None => Ok(()),
    }
}

/// An ISO-8601 UTC time as S3 lists it (`2026-11-22T22:13:00.123Z`; a `+00:00` zone, no
/// fraction or a lowercase `t`/`z` also do) → (seconds since the epoch, nanoseconds).
pub fn parse_iso8601(text: &str) -> Option<(i64, u32)> {
    let text = text.trim();
    let (date, rest) = text.split_once(['T', 't', ' '])?;
    let mut date = date.splitn(3, '-');
    let year: i64 = date.next()?.parse().ok()?;
    let month: u32 = date.next()?.parse().ok()?;
    let day: u32 = date.next()?.parse().ok()?;
    let (time, zone_offset) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
        (t, 0)
    } else if let Some(index) = rest.rfind(['+', '-']) {
        let (t, zone) = rest.split_at(index);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (h, m) = zone[1..].split_once(':').unwrap_or((&zone[1..], "0"));
        let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
        (t, sign * (h * 3600 + m * 60))
    } else {
        (rest, 0)
    };
    let (hms, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut hms = hms.splitn(3, ':');
    let hour: i64 = hms.next()?.parse().ok()?;
    let minute: i64 = hms.next()?.parse().ok()?;
    let second: i64 = hms.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - zone_offset;
    Some((seconds, nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_listing_times_parse_to_unix_seconds() {
        assert_eq!(parse_iso8601("1970-01-01T00:00:00.000Z"), Some((0, 0)));
        assert_eq!(
            parse_iso8601("2026-11-22T22:13:00.123Z"),
            Some((1_795_385_580, 123_000_000))
        );
        assert_eq!(
            parse_iso8601("2000-02-29T12:00:00Z"),
            Some((951_825_600, 0))
        );
        assert_eq!(
            parse_iso8601("2000-02-29T14:00:00+02:00"),
            Some((951_825_600, 0))
        );
        assert_eq!(parse_iso8601("1969-12-31T23:59:59Z"), Some((-1, 0)));
        assert_eq!(parse_iso8601("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_iso8601("yesterday"), None);
    }
}
