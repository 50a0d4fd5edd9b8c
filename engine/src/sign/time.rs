//! The signing time: `x-amz-date` (`20130524T000000Z`) and the scope's date (`20130524`),
//! formatted without allocation.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A moment to sign at, pre-formatted as SigV4 needs it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SigningTime {
    unix_seconds: u64,
    amz_date: [u8; 16],
}

impl SigningTime {
    /// The current time.
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// A given time (times before 1970 are clamped to the epoch).
    pub fn from_system_time(time: SystemTime) -> Self {
        let secs = time
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        Self::from_unix_seconds(secs)
    }

    /// Seconds since the Unix epoch.
    pub fn from_unix_seconds(unix_seconds: u64) -> Self {
        Self {
            unix_seconds,
            amz_date: format_amz_date(unix_seconds),
        }
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> u64 {
        self.unix_seconds
    }

    /// Days since the Unix epoch (the signing key changes when this does).
    pub fn day(&self) -> u32 {
        (self.unix_seconds / 86_400) as u32
    }

    /// `YYYYMMDDTHHMMSSZ`, the `x-amz-date` value.
    pub fn amz_date(&self) -> &str {
        // The buffer holds ASCII digits and the letters T and Z only.
        std::str::from_utf8(&self.amz_date).unwrap_or("19700101T000000Z")
    }

    /// `YYYYMMDD`, the date in the credential scope.
    pub fn date_stamp(&self) -> &str {
        &self.amz_date()[..8]
    }
}

impl std::fmt::Debug for SigningTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningTime({})", self.amz_date())
    }
}

fn format_amz_date(unix_seconds: u64) -> [u8; 16] {
    let days = (unix_seconds / 86_400) as i64;
    let secs_of_day = unix_seconds % 86_400;
    let (year, month, day) = crate::time::civil_from_days(days);
    let mut out = *b"00000000T000000Z";
    write_digits(&mut out[0..4], year as u64);
    write_digits(&mut out[4..6], month as u64);
    write_digits(&mut out[6..8], day as u64);
    write_digits(&mut out[9..11], secs_of_day / 3600);
    write_digits(&mut out[11..13], secs_of_day / 60 % 60);
    write_digits(&mut out[13..15], secs_of_day % 60);
    out
}

fn write_digits(out: &mut [u8], mut value: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_the_s3_documentation_example_date() {
        let t = SigningTime::from_unix_seconds(1_369_353_600);
        assert_eq!(t.amz_date(), "20130524T000000Z");
        assert_eq!(t.date_stamp(), "20130524");
    }

    #[test]
    fn formats_leap_days_and_the_last_second_of_a_day() {
        assert_eq!(
            SigningTime::from_unix_seconds(951_868_799).amz_date(),
            "20000229T235959Z"
        );
        assert_eq!(
            SigningTime::from_unix_seconds(1_709_251_199).amz_date(),
            "20240229T235959Z"
        );
        assert_eq!(
            SigningTime::from_unix_seconds(0).amz_date(),
            "19700101T000000Z"
        );
    }

    #[test]
    fn day_changes_exactly_at_utc_midnight() {
        let before = SigningTime::from_unix_seconds(1_369_439_999);
        let after = SigningTime::from_unix_seconds(1_369_440_000);
        assert_eq!(before.date_stamp(), "20130524");
        assert_eq!(after.date_stamp(), "20130525");
        assert_eq!(before.day() + 1, after.day());
    }
}
