//! Feed timestamps: `YYYY-MM-DD HH:MM:SS` (UTC, as URLhaus and Shadowserver write them), with an
//! optional `T`, fraction and `Z`/`UTC` suffix or a `±HH:MM` / `±HHMM` offset (PhishTank), or
//! seconds / milliseconds since the epoch (generic feeds).

/// Milliseconds since the epoch, if the text is such a timestamp.
pub fn parse(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches(" UTC").trim_end_matches('Z');
    if !s.is_empty() && s.len() <= 13 && s.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = s.parse().ok()?;
        return Some(if s.len() <= 10 { n * 1000 } else { n });
    }
    let (date, time) = s.split_once([' ', 'T'])?;
    // A trailing UTC offset: +09:00, -0500.
    let (time, offset_min) = match time.rfind(['+', '-']) {
        Some(i) => {
            let (t, off) = time.split_at(i);
            let sign = if off.starts_with('-') { -1 } else { 1 };
            let digits: String = off[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let h: i64 = digits[..2].parse().ok()?;
            let m: i64 = digits[2..].parse().ok()?;
            (t, sign * (h * 60 + m))
        }
        None => (time, 0),
    };
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, dd) = (d.next()??, d.next()??, d.next()??);
    let time = time.split('.').next()?;
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next().flatten().unwrap_or(0));
    if !(1..=12).contains(&m) || !(1..=31).contains(&dd) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + dd - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400) + hh * 3600 + mm * 60 + ss - offset_min * 60) * 1000)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_feed_times() {
        assert_eq!(super::parse("1970-01-01 00:00:00"), Some(0));
        assert_eq!(super::parse("2026-11-25 12:00:00"), Some(1_795_608_000_000));
        assert_eq!(
            super::parse("2026-11-25T12:00:00Z"),
            Some(1_795_608_000_000)
        );
        assert_eq!(
            super::parse("2026-11-25T21:00:00+09:00"),
            Some(1_795_608_000_000)
        );
        assert_eq!(
            super::parse("2026-11-25T07:00:00-0500"),
            Some(1_795_608_000_000)
        );
        assert_eq!(super::parse("1795608000"), Some(1_795_608_000_000));
        assert_eq!(super::parse("1795608000000"), Some(1_795_608_000_000));
        assert_eq!(super::parse("2026-11-25T12:00:00+9"), None);
        assert_eq!(super::parse("2026-13-25 12:00:00"), None);
        assert_eq!(super::parse("yesterday"), None);
    }
}
