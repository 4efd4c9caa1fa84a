//! Calendar dates of Unix times in UTC, for names and labels (day partitions, MISP dates)
//! without a date-time dependency.

/// (year, month 1-12, day 1-31) of epoch milliseconds, UTC.
pub fn civil_date(ms: i64) -> (i64, i64, i64) {
    // Howard Hinnant's civil_from_days.
    let z = ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::civil_date;

    #[test]
    fn dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(-1), (1969, 12, 31));
        assert_eq!(civil_date(1_795_651_200_000), (2026, 11, 26));
        assert_eq!(civil_date(951_782_400_000), (2000, 2, 29));
    }
}
