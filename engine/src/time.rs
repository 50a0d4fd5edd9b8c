//! Every timestamp the engine reads or writes, in one place:
//!
//! - ISO 8601 / RFC 3339 ([`parse_iso8601`], [`parse_iso8601_time`]): credential expirations
//!   (environment, `credential_process`, IMDS, containers, SSO and CLI caches, STS answers), an
//!   object's `LastModified` and an upload's `Initiated` in S3's XML listings;
//! - HTTP dates ([`parse_http_date`]): the `Last-Modified` and `Date` headers (RFC 9110's
//!   IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`, and its two obsolete forms);
//! - output ([`format_utc`]): `2026-11-29T12:00:00Z`, as expirations are shown and cached;
//! - the civil calendar ([`days_from_civil`], [`civil_from_days`]) the signer's `x-amz-date`
//!   is formatted with.
//!
//! A parser refuses what is no date: February 30th, the 31st of a 30-day month, February 29th
//! outside a leap year, hour 24, minute 60, second 61, a zone offset of 24 hours or more. This
//! module uses nothing else of the crate.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds in a day.
const DAY: i64 = 86_400;

/// Whether `year` (proleptic Gregorian) has a February 29th.
pub fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// How many days `month` (1-12) of `year` has; 0 for a month that does not exist.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (negative before it), for a valid
/// date (see [`days_in_month`]); Howard Hinnant's algorithm.
#[inline]
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Year, month (1-12) and day (1-31) of a day count since 1970-01-01; the inverse of
/// [`days_from_civil`] (Howard Hinnant's algorithm).
#[inline]
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Whole seconds since the epoch (negative before it), rounded down.
pub fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let d = before.duration();
            -i64::try_from(d.as_secs()).unwrap_or(i64::MAX) - i64::from(d.subsec_nanos() > 0)
        }
    }
}

/// The moment `seconds` (negative: before the epoch) and `nanos` after the epoch; `None`
/// when the platform's clock cannot hold it.
pub fn from_unix(seconds: i64, nanos: u32) -> Option<SystemTime> {
    let whole = Duration::from_secs(seconds.unsigned_abs());
    let whole = if seconds >= 0 {
        UNIX_EPOCH.checked_add(whole)
    } else {
        UNIX_EPOCH.checked_sub(whole)
    };
    whole?.checked_add(Duration::from_nanos(u64::from(nanos)))
}

/// An ISO 8601 / RFC 3339 time → (whole seconds since the epoch, negative before it;
/// nanoseconds), or `None` when the text is not one or names no real moment.
///
/// Read: `YYYY-MM-DD`, then `T` (or `t`, or a space), `hh:mm:ss`, an optional fraction of a
/// second (`.123`, digits past the ninth are dropped), and a zone: `Z` (or `z`), `UTC` or
/// `GMT` (as botocore's caches write it, perhaps after a space), `±hh:mm`, `±hhmm` or `±hh`; no zone means UTC.
/// Surrounding white space is ignored. A leap second (`:60`) counts as the next second's
/// start.
pub fn parse_iso8601(text: &str) -> Option<(i64, u32)> {
    let text = text.trim();
    let (date, rest) = (text.get(..10)?, text.get(10..)?);
    let (year, month, day) = parse_date(date)?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let (clock, rest) = (rest.get(..8)?, rest.get(8..)?);
    let (hour, minute, second) = parse_clock(clock)?;
    let (fraction, zone) = match rest.strip_prefix(['.', ',']) {
        Some(fraction) => {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            fraction.split_at(digits)
        }
        None => ("", rest),
    };
    let offset = parse_zone(zone)?;
    let nanos = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
    let days = days_from_civil(year, month, day);
    let seconds = days * DAY + hour * 3600 + minute * 60 + second - offset;
    Some((seconds, nanos))
}

/// [`parse_iso8601`] as a [`SystemTime`].
pub fn parse_iso8601_time(text: &str) -> Option<SystemTime> {
    let (seconds, nanos) = parse_iso8601(text)?;
    from_unix(seconds, nanos)
}

/// An HTTP date (`Last-Modified`, `Date`): RFC 9110's IMF-fixdate (`Sun, 06 Nov 1994
/// 08:49:37 GMT`) or its obsolete RFC 850 and asctime forms, read by the `httpdate` crate,
/// which also refuses a day the month does not have and a weekday that does not match the
/// date; `None` for anything else, or a time before 1970.
pub fn parse_http_date(text: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(text.trim()).ok()
}

/// A time as ISO 8601 in UTC to the second (`2026-11-29T12:00:00Z`), as expirations are
/// shown and written to caches; times before 1970 are shown as the epoch.
pub fn format_utc(time: SystemTime) -> String {
    let seconds = unix_seconds(time).max(0);
    let (year, month, day) = civil_from_days(seconds.div_euclid(DAY));
    let of_day = seconds.rem_euclid(DAY);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// `YYYY-MM-DD` of a real day.
fn parse_date(text: &str) -> Option<(i64, u32, u32)> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i64::from(digits(&b[0..4])?);
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    (day >= 1 && day <= days_in_month(year, month)).then_some((year, month, day))
}

/// `hh:mm:ss` of a real time of day (second 60: a leap second).
fn parse_clock(text: &str) -> Option<(i64, i64, i64)> {
    let b = text.as_bytes();
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let hour = digits(&b[0..2])?;
    let minute = digits(&b[3..5])?;
    let second = digits(&b[6..8])?;
    (hour <= 23 && minute <= 59 && second <= 60).then_some((
        i64::from(hour),
        i64::from(minute),
        i64::from(second),
    ))
}

/// A zone designator → its offset east of UTC in seconds.
fn parse_zone(zone: &str) -> Option<i64> {
    if matches!(zone, "" | "Z" | "z") || matches!(zone.trim_start(), "UTC" | "GMT") {
        return Some(0);
    }
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let b = &zone.as_bytes()[1..];
    let (hours, minutes) = match b.len() {
        2 => (digits(b)?, 0),
        4 => (digits(&b[..2])?, digits(&b[2..])?),
        5 if b[2] == b':' => (digits(&b[..2])?, digits(&b[3..])?),
        _ => return None,
    };
    (hours <= 23 && minutes <= 59).then_some(sign * i64::from(hours * 3600 + minutes * 60))
}

/// ASCII digits only (no sign, no space) as a number.
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
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
        assert_eq!(parse_iso8601("1969-12-31T23:59:59Z"), Some((-1, 0)));
    }

    #[test]
    fn zone_offsets_are_subtracted_in_every_spelling() {
        let utc = Some((951_825_600, 0));
        for text in [
            "2000-02-29T14:00:00+02:00",
            "2000-02-29T14:00:00+0200",
            "2000-02-29T14:00:00+02",
            "2000-02-29T10:30:00-01:30",
            "2000-02-29T12:00:00UTC",
            "2000-02-29T12:00:00GMT",
            "2000-02-29t12:00:00z",
            "2000-02-29 12:00:00",
            "  2000-02-29T12:00:00Z\n",
        ] {
            assert_eq!(parse_iso8601(text), utc, "{text}");
        }
    }

    #[test]
    fn fractions_are_read_to_the_nanosecond_and_longer_ones_truncated() {
        assert_eq!(
            parse_iso8601("2011-07-11T19:55:29.611Z"),
            Some((1_310_414_129, 611_000_000))
        );
        assert_eq!(
            parse_iso8601("2011-07-11T19:55:29.123456789123+00:00"),
            Some((1_310_414_129, 123_456_789))
        );
        assert_eq!(parse_iso8601("2011-07-11T19:55:29.Z"), None);
    }

    #[test]
    fn february_thirty_first_is_rejected() {
        assert_eq!(parse_iso8601("2026-02-31T00:00:00Z"), None);
        assert_eq!(parse_iso8601("2026-02-30T00:00:00Z"), None);
    }

    #[test]
    fn the_thirty_first_of_a_thirty_day_month_is_rejected() {
        for month in ["04", "06", "09", "11"] {
            assert_eq!(parse_iso8601(&format!("2026-{month}-31T00:00:00Z")), None);
            assert!(parse_iso8601(&format!("2026-{month}-30T00:00:00Z")).is_some());
        }
    }

    #[test]
    fn february_twenty_ninth_only_in_leap_years() {
        assert!(parse_iso8601("2024-02-29T00:00:00Z").is_some());
        assert!(parse_iso8601("2000-02-29T00:00:00Z").is_some());
        assert_eq!(parse_iso8601("2026-02-29T00:00:00Z"), None);
        assert_eq!(parse_iso8601("1900-02-29T00:00:00Z"), None);
    }

    #[test]
    fn out_of_range_fields_are_rejected() {
        for text in [
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "2026-01-32T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T23:60:00Z",
            "2026-01-01T23:59:61Z",
            "2026-01-01T00:00:00+24:00",
            "2026-01-01T00:00:00+01:60",
        ] {
            assert_eq!(parse_iso8601(text), None, "{text}");
        }
    }

    #[test]
    fn malformed_text_is_rejected() {
        for text in [
            "",
            "yesterday",
            "2026-1-01T00:00:00Z",
            "2026-01-01",
            "2026-01-01T00:00Z",
            "2026-01-01X00:00:00Z",
            "2026-01-01T00:00:00 Z",
            "2026-01-01T00:00:00PST",
            "2026-01-01T00:00:00+2",
            "+2026-01-01T00:00:00Z",
            "2026-01-01T0a:00:00Z",
            "2026-01-01T00:00:00.5.5Z",
        ] {
            assert_eq!(parse_iso8601(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_leap_second_is_the_next_second() {
        assert_eq!(
            parse_iso8601("2016-12-31T23:59:60Z"),
            parse_iso8601("2017-01-01T00:00:00Z")
        );
    }

    #[test]
    fn iso8601_times_become_system_times_on_both_sides_of_the_epoch() {
        assert_eq!(
            parse_iso8601_time("2011-07-11T19:55:29.611Z"),
            Some(UNIX_EPOCH + Duration::new(1_310_414_129, 611_000_000))
        );
        assert_eq!(
            parse_iso8601_time("1969-12-31T23:59:59.5Z"),
            Some(UNIX_EPOCH - Duration::from_millis(500))
        );
        assert_eq!(parse_iso8601_time("2026-02-31T00:00:00Z"), None);
    }

    #[test]
    fn http_dates_parse_in_all_three_forms() {
        let want = Some(UNIX_EPOCH + Duration::from_secs(784_111_777));
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), want);
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), want);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), want);
        assert_eq!(parse_http_date(" Sun, 06 Nov 1994 08:49:37 GMT "), want);
    }

    #[test]
    fn an_http_date_on_a_day_the_month_lacks_is_rejected() {
        assert_eq!(parse_http_date("Tue, 31 Feb 2026 00:00:00 GMT"), None);
        assert_eq!(parse_http_date("Thu, 31 Apr 2026 00:00:00 GMT"), None);
        assert_eq!(parse_http_date("Sun, 29 Feb 2026 00:00:00 GMT"), None);
        assert_eq!(parse_http_date("Tue, 01 Dec 2026 24:00:00 GMT"), None);
        assert_eq!(parse_http_date("Tue, 01 Dec 2026 23:60:00 GMT"), None);
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn utc_formatting_round_trips_through_the_parser() {
        for seconds in [0, 951_868_799, 1_709_251_199, 1_795_385_580, 4_102_444_800] {
            let time = UNIX_EPOCH + Duration::from_secs(seconds);
            let text = format_utc(time);
            assert_eq!(parse_iso8601(&text), Some((seconds as i64, 0)), "{text}");
        }
        assert_eq!(
            format_utc(UNIX_EPOCH + Duration::from_secs(951_868_799)),
            "2000-02-29T23:59:59Z"
        );
        assert_eq!(
            format_utc(UNIX_EPOCH + Duration::from_millis(1_999)),
            "1970-01-01T00:00:01Z"
        );
        assert_eq!(
            format_utc(UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn civil_dates_and_day_counts_agree_across_four_centuries() {
        let mut days = days_from_civil(1900, 1, 1);
        for year in 1900..2300 {
            for month in 1..=12 {
                for day in 1..=days_in_month(year, month) {
                    assert_eq!(days_from_civil(year, month, day), days);
                    assert_eq!(civil_from_days(days), (year, month, day));
                    days += 1;
                }
            }
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn unix_seconds_round_down_before_the_epoch() {
        assert_eq!(unix_seconds(UNIX_EPOCH + Duration::from_millis(1_500)), 1);
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_millis(500)), -1);
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_secs(2)), -2);
        assert_eq!(
            from_unix(-2, 500_000_000),
            Some(UNIX_EPOCH - Duration::from_millis(1_500))
        );
    }
}
