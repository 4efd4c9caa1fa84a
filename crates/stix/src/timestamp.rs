//! STIX timestamps: RFC 3339 in UTC with an upper-case `T` and `Z`
//! (`2016-05-12T08:17:27.000Z`). The text is kept exactly as given, so a millisecond value
//! written as `.000` comes back as `.000`; comparisons use the instant.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A STIX timestamp: the original text and the instant it denotes (nanosecond resolution;
/// further digits are kept in the text but ignored for comparisons).
#[derive(Debug, Clone)]
pub struct Timestamp {
    text: String,
    secs: i64,
    nanos: u32,
}

/// Why a string is not a STIX timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid STIX timestamp {given:?}: {reason} (expected YYYY-MM-DDTHH:MM:SS[.sss]Z)")]
pub struct TimestampError {
    pub given: String,
    pub reason: &'static str,
}

impl Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z`.
    pub fn parse(s: &str) -> Result<Timestamp, TimestampError> {
        let err = |reason| TimestampError {
            given: s.chars().take(64).collect(),
            reason,
        };
        let b = s.as_bytes();
        if b.len() < 20 {
            return Err(err("too short"));
        }
        let num = |from: usize, len: usize| -> Option<i64> {
            let part = b.get(from..from + len)?;
            part.iter().try_fold(0i64, |acc, c| {
                c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
            })
        };
        let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
        if seps.iter().any(|(i, c)| b.get(*i) != Some(c)) {
            return Err(err("bad separators"));
        }
        let (Some(year), Some(month), Some(day), Some(hour), Some(min), Some(sec)) = (
            num(0, 4),
            num(5, 2),
            num(8, 2),
            num(11, 2),
            num(14, 2),
            num(17, 2),
        ) else {
            return Err(err("non-digit in date or time"));
        };
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(err("no such date"));
        }
        if hour > 23 || min > 59 || sec > 60 {
            return Err(err("no such time"));
        }
        let rest = &b[19..];
        let mut nanos: u32 = 0;
        let tail = if let Some(frac) = rest.strip_prefix(b".") {
            let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return Err(err("empty fraction"));
            }
            for (i, c) in frac[..digits].iter().enumerate().take(9) {
                nanos += u32::from(c - b'0') * 10u32.pow(8 - i as u32);
            }
            &frac[digits..]
        } else {
            rest
        };
        if tail != b"Z" {
            return Err(err("must end in Z (UTC)"));
        }
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + min * 60 + sec.min(59);
        Ok(Timestamp {
            text: s.to_owned(),
            secs,
            nanos,
        })
    }

    /// A timestamp for the Unix time `millis`, written with millisecond precision.
    pub fn from_unix_millis(millis: i64) -> Timestamp {
        let secs = millis.div_euclid(1000);
        let ms = millis.rem_euclid(1000);
        let days = secs.div_euclid(86_400);
        let tod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let text = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
            tod / 3600,
            tod / 60 % 60,
            tod % 60
        );
        Timestamp {
            text,
            secs,
            nanos: (ms as u32) * 1_000_000,
        }
    }

    /// The text exactly as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Seconds since the Unix epoch and the nanoseconds within that second.
    pub fn instant(&self) -> (i64, u32) {
        (self.secs, self.nanos)
    }

    /// Milliseconds since the Unix epoch (the unit of `mamori_model::UnixMillis`).
    pub fn unix_millis(&self) -> i64 {
        self.secs
            .saturating_mul(1000)
            .saturating_add(i64::from(self.nanos / 1_000_000))
    }

    /// Nanoseconds since the Unix epoch.
    pub fn unix_nanos(&self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)
    }

    /// Orders two timestamps by the instant they denote.
    pub fn cmp_instant(&self, other: &Timestamp) -> Ordering {
        self.instant().cmp(&other.instant())
    }
}

/// Equality is textual, so that round trips are lossless; use [`Timestamp::cmp_instant`] to
/// compare instants.
impl PartialEq for Timestamp {
    fn eq(&self, other: &Timestamp) -> bool {
        self.text == other.text
    }
}
impl Eq for Timestamp {}

impl std::hash::Hash for Timestamp {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.text.hash(h);
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Timestamp, TimestampError> {
        Timestamp::parse(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_keeps_text() {
        let t = Timestamp::parse("2016-05-12T08:17:27.000Z").unwrap();
        assert_eq!(t.as_str(), "2016-05-12T08:17:27.000Z");
        assert_eq!(t.unix_millis(), 1_463_041_047_000);
        let u = Timestamp::parse("2016-05-12T08:17:27Z").unwrap();
        assert_eq!(t.cmp_instant(&u), Ordering::Equal);
        assert_ne!(t, u);
        let n = Timestamp::parse("2016-05-12T08:17:27.123456789123Z").unwrap();
        assert_eq!(n.instant().1, 123_456_789);
    }

    #[test]
    fn rejects() {
        for bad in [
            "2016-05-12T08:17:27.000",
            "2016-05-12t08:17:27Z",
            "2016-05-12T08:17:27+00:00",
            "2016-02-30T08:17:27Z",
            "2016-05-12T24:00:00Z",
            "2016-05-12T08:17:27.Z",
            "2016-05-12",
            "2016-05-12T08:17:2€Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn millis_round_trip() {
        for ms in [0, 1, 1_463_041_047_123, -1, 253_402_300_799_999] {
            let t = Timestamp::from_unix_millis(ms);
            assert_eq!(
                Timestamp::parse(t.as_str()).unwrap().unix_millis(),
                ms,
                "{t}"
            );
        }
    }
}
