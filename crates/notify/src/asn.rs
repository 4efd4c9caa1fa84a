//! The ASN-to-organisation table an administrator imports: CSV lines `asn,organisation`, the
//! AS number with or without its `AS` prefix, the organisation by slug; `#` comments and a
//! header line `asn,org...` are allowed. Every bad line is reported with its number; nothing
//! is half-loaded.

use mamori_model::{Org, OrgId};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum AsnTableError {
    #[error("{}", .0.iter().map(|(l, m)| format!("line {l}: {m}")).collect::<Vec<_>>().join("; "))]
    Lines(Vec<(usize, String)>),
}

/// Parses the table against the known organisations.
pub fn parse_asn_table(text: &str, orgs: &[Org]) -> Result<Vec<(u32, OrgId)>, AsnTableError> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let Some((asn, org)) = t.split_once([',', '\t']) else {
            bad.push((line, "expected `asn,organisation`".to_owned()));
            continue;
        };
        let (asn, org) = (asn.trim(), org.trim().trim_matches('"'));
        if line == 1 && asn.eq_ignore_ascii_case("asn") {
            continue;
        }
        let digits = asn
            .strip_prefix("AS")
            .or_else(|| asn.strip_prefix("as"))
            .unwrap_or(asn);
        let Ok(n) = digits.parse::<u32>() else {
            bad.push((line, format!("`{asn}` is not an AS number")));
            continue;
        };
        match orgs.iter().find(|o| o.slug == org) {
            Some(o) => out.push((n, o.id)),
            None => bad.push((line, format!("no organisation `{org}`"))),
        }
    }
    if bad.is_empty() {
        Ok(out)
    } else {
        Err(AsnTableError::Lines(bad))
    }
}
