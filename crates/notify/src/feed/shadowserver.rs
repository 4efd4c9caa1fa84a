//! Shadowserver reports, driven by Mamori's mapping table (`data/shadowserver.json`, generated
//! from Shadowserver's published schema by `tools/shadowserver_table.py`): for each of ~170
//! report types, its classification, required columns and which column holds the address, port,
//! ASN, host name, domain, URL and time. New report types are data, not code.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use mamori_model::ValueKind;
use serde::Deserialize;

use super::{FeedError, FeedReport, LineProblem, MAX_FEED_BYTES, time};
use crate::Observation;
use crate::evidence::{Columns, Evidence};

/// One report type of the table.
#[derive(Debug, Clone, Deserialize)]
pub struct ShadowserverReport {
    pub feed: String,
    #[serde(rename = "type")]
    pub category: String,
    pub identifier: String,
    pub taxonomy: String,
    pub required: Vec<String>,
    pub columns: HashMap<String, String>,
}

fn table() -> &'static BTreeMap<String, ShadowserverReport> {
    static T: OnceLock<BTreeMap<String, ShadowserverReport>> = OnceLock::new();
    T.get_or_init(|| {
        serde_json::from_str(include_str!("../../data/shadowserver.json")).unwrap_or_default()
    })
}

/// The names of every report type known.
pub fn report_types() -> impl Iterator<Item = &'static str> {
    table().keys().map(String::as_str)
}

/// The report type a Shadowserver file name carries (`2026-11-25-scan_telnet-asn.csv` →
/// `scan_telnet`): the longest known name found in it.
pub fn shadowserver_report_for_file(file_name: &str) -> Option<&'static str> {
    let lower = file_name.to_ascii_lowercase();
    table()
        .keys()
        .filter(|k| lower.contains(k.as_str()))
        .max_by_key(|k| k.len())
        .map(String::as_str)
}

/// Parses a Shadowserver CSV report of the given type.
pub fn parse_shadowserver(report: &str, bytes: &[u8]) -> Result<FeedReport, FeedError> {
    let spec = table()
        .get(report)
        .ok_or_else(|| FeedError::UnknownReport(report.to_owned()))?;
    let feed = format!("shadowserver:{report}");
    if bytes.len() > MAX_FEED_BYTES {
        return Err(FeedError::TooLarge {
            feed,
            limit: MAX_FEED_BYTES,
        });
    }
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| FeedError::Csv {
            feed: feed.clone(),
            line: 1,
            message: e.to_string(),
        })?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
        .collect();
    if header.is_empty() || header.iter().all(String::is_empty) {
        return Err(FeedError::NoHeader { feed });
    }
    let missing: Vec<String> = spec
        .required
        .iter()
        .filter(|r| !header.contains(r))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(FeedError::Header {
            feed,
            missing,
            found: header,
        });
    }
    let idx = |role: &str| {
        spec.columns
            .get(role)
            .and_then(|c| header.iter().position(|h| h == c))
    };
    let (i_ip, i_port, i_asn, i_host, i_domain, i_url, i_time) = (
        idx("ip"),
        idx("port"),
        idx("asn"),
        idx("hostname"),
        idx("domain"),
        idx("url"),
        idx("timestamp"),
    );
    let columns: Columns = header.clone().into();
    let mut report = FeedReport::default();
    for rec in rdr.records() {
        report.lines += 1;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                report.problems.push(LineProblem {
                    line,
                    message: e.to_string(),
                });
                continue;
            }
        };
        let line = rec
            .position()
            .map_or(report.lines + 1, |p| p.line() as usize);
        let get = |i: Option<usize>| {
            i.and_then(|i| rec.get(i))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let ip = get(i_ip).and_then(|v| v.parse().ok());
        // The thing to notify about: the address, else the domain or URL the row names.
        let (kind, value) = if let Some(ip) = ip {
            (
                if matches!(ip, std::net::IpAddr::V4(_)) {
                    ValueKind::Ipv4
                } else {
                    ValueKind::Ipv6
                },
                ip.to_string(),
            )
        } else if let Some(u) =
            get(i_url).and_then(|u| mamori_share::normalise::normalise(ValueKind::Url, u).ok())
        {
            (ValueKind::Url, u)
        } else if let Some(d) = get(i_domain).and_then(|d| mamori_share::normalise::domain(d).ok())
        {
            (ValueKind::Domain, d)
        } else {
            report.problems.push(LineProblem {
                line,
                message: "no usable address, URL or domain".into(),
            });
            continue;
        };
        let evidence = Evidence::new(&columns, rec.clone());
        report.observations.push(Observation {
            kind,
            value,
            seen_at: get(i_time).and_then(time::parse),
            source: feed.clone(),
            category: format!("{}:{}", spec.category, spec.identifier),
            ip,
            port: get(i_port).and_then(|p| p.parse().ok()),
            asn: get(i_asn).and_then(|a| a.parse().ok()).filter(|a| *a != 0),
            hostname: get(i_host).map(str::to_owned),
            evidence,
            line,
        });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_loaded_and_file_names_pick_the_type() {
        assert!(report_types().count() >= 150);
        assert_eq!(
            shadowserver_report_for_file("2026-11-25-scan_telnet-jp-asn.csv"),
            Some("scan_telnet")
        );
        assert_eq!(shadowserver_report_for_file("whatever.csv"), None);
    }

    #[test]
    fn scan_telnet_rows_become_observations() {
        let csv = "\"timestamp\",\"ip\",\"protocol\",\"port\",\"hostname\",\"tag\",\"asn\",\"geo\",\"banner\"\n\
\"2026-11-25 03:14:15\",\"203.0.113.45\",\"tcp\",23,\"cam1.example.jp\",\"telnet\",64500,\"JP\",\"login:\"\n\
\"2026-11-25 03:14:16\",\"not-an-ip\",\"tcp\",23,,\"telnet\",0,\"JP\",\"\"\n";
        let r = parse_shadowserver("scan_telnet", csv.as_bytes()).unwrap();
        assert_eq!(r.observations.len(), 1);
        assert_eq!(r.problems.len(), 1);
        let o = &r.observations[0];
        assert_eq!(
            (o.kind, o.value.as_str(), o.port, o.asn),
            (ValueKind::Ipv4, "203.0.113.45", Some(23), Some(64500))
        );
        assert_eq!(o.category, "vulnerable-system:open-telnet");
        assert_eq!(o.evidence.get("banner"), Some("login:"));
    }

    #[test]
    fn a_changed_header_is_refused() {
        let csv = "\"time\",\"address\"\n\"x\",\"y\"\n";
        assert!(matches!(
            parse_shadowserver("scan_telnet", csv.as_bytes()),
            Err(FeedError::Header { .. })
        ));
        assert!(matches!(
            parse_shadowserver("nope", b""),
            Err(FeedError::UnknownReport(_))
        ));
    }
}
