//! Indicator decay: a score that falls with age and rises again with new sightings.
//!
//! ```text
//! score = base × 0.5 ^ (age_days / half_life(kind)) × 0.5 ^ false_positives
//!   base            = the indicator's confidence, else its report's, else 50
//!   age_days        = days since the last activity: the newest of valid_from and the newest
//!                     member or detection sighting
//!   half_life(kind) = IPv4/IPv6 30 d, URL 60 d, CIDR 60 d, domain 90 d, e-mail 180 d,
//!                     file hashes 730 d, everything else 180 d
//!   false_positives = sightings marked false-positive since the last activity
//! ```
//! A fresh sighting resets the age; each false-positive report halves the score. The result is
//! rounded and clamped to 0–100; past `valid_until` the score is 0.

use mamori_model::ValueKind;

const DAY_MS: f64 = 86_400_000.0;

/// Half-life in days for a kind of value.
pub fn half_life_days(kind: Option<ValueKind>) -> f64 {
    match kind {
        Some(ValueKind::Ipv4 | ValueKind::Ipv6) => 30.0,
        Some(ValueKind::Url | ValueKind::Cidr) => 60.0,
        Some(ValueKind::Domain) => 90.0,
        Some(ValueKind::Email) => 180.0,
        Some(
            ValueKind::Md5
            | ValueKind::Sha1
            | ValueKind::Sha256
            | ValueKind::Ssdeep
            | ValueKind::Tlsh,
        ) => 730.0,
        _ => 180.0,
    }
}

/// What the score depends on.
#[derive(Debug, Clone, Copy)]
pub struct DecayInput {
    pub kind: Option<ValueKind>,
    pub base_confidence: Option<u8>,
    pub valid_from: i64,
    pub valid_until: Option<i64>,
    pub last_sighting: Option<i64>,
    pub false_positives: u32,
}

/// The score now, 0–100.
pub fn score(i: &DecayInput, now: i64) -> u8 {
    if i.valid_until.is_some_and(|u| now >= u) {
        return 0;
    }
    let base = f64::from(i.base_confidence.unwrap_or(50).min(100));
    let last = i
        .last_sighting
        .map_or(i.valid_from, |s| s.max(i.valid_from));
    let age_days = ((now - last) as f64 / DAY_MS).max(0.0);
    let s = base
        * 0.5f64.powf(age_days / half_life_days(i.kind))
        * 0.5f64.powi(i.false_positives.min(30) as i32);
    s.round().clamp(0.0, 100.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> DecayInput {
        DecayInput {
            kind: Some(ValueKind::Ipv4),
            base_confidence: Some(80),
            valid_from: 0,
            valid_until: None,
            last_sighting: None,
            false_positives: 0,
        }
    }

    #[test]
    fn halves_every_half_life_and_sightings_refresh() {
        let d = DAY_MS as i64;
        assert_eq!(score(&input(), 0), 80);
        assert_eq!(score(&input(), 30 * d), 40);
        assert_eq!(score(&input(), 60 * d), 20);
        let seen = DecayInput {
            last_sighting: Some(59 * d),
            ..input()
        };
        assert_eq!(score(&seen, 60 * d), 78);
        let fp = DecayInput {
            false_positives: 1,
            ..input()
        };
        assert_eq!(score(&fp, 0), 40);
        let expired = DecayInput {
            valid_until: Some(d),
            ..input()
        };
        assert_eq!(score(&expired, 2 * d), 0);
        let hash = DecayInput {
            kind: Some(ValueKind::Sha256),
            ..input()
        };
        assert_eq!(score(&hash, 30 * d), 78);
    }
}
