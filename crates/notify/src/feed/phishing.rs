//! Phishing feeds: PhishTank (`online-valid.csv` with the header
//! `phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target`, or
//! `online-valid.json`, an array of objects with the same names) and OpenPhish (`feed.txt`, one
//! URL per line). Each item becomes a URL observation (`phishing`, with the targeted brand when
//! the feed names one).

use std::collections::BTreeMap;

use super::{FeedError, FeedReport, LineProblem, MAX_FEED_BYTES, time, url_observation};

const PHISHTANK_REQUIRED: &[&str] = &["phish_id", "url", "submission_time"];

fn too_large(feed: &str, bytes: &[u8]) -> Result<(), FeedError> {
    if bytes.len() > MAX_FEED_BYTES {
        return Err(FeedError::TooLarge {
            feed: feed.into(),
            limit: MAX_FEED_BYTES,
        });
    }
    Ok(())
}

/// PhishTank CSV or JSON (told apart by the first non-blank byte).
pub fn parse_phishtank(bytes: &[u8]) -> Result<FeedReport, FeedError> {
    too_large("phishtank", bytes)?;
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => phishtank_json(bytes),
        _ => phishtank_csv(bytes),
    }
}

fn phishtank_item(report: &mut FeedReport, line: usize, fields: BTreeMap<String, String>) {
    let get = |k: &str| {
        fields
            .get(k)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    let target = get("target");
    let category = if target.is_empty() || target.eq_ignore_ascii_case("other") {
        "phishing".to_owned()
    } else {
        format!("phishing:{target}")
    };
    let seen = time::parse(&get("submission_time"));
    match url_observation(
        &get("url"),
        "phishtank",
        category,
        seen,
        fields.into_iter().collect(),
        line,
    ) {
        Ok(o) => report.observations.push(o),
        Err(message) => report.problems.push(LineProblem { line, message }),
    }
}

fn phishtank_csv(bytes: &[u8]) -> Result<FeedReport, FeedError> {
    let feed = "phishtank".to_owned();
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header = super::csv_header(&feed, &mut rdr, PHISHTANK_REQUIRED)?;
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
        let fields = header
            .iter()
            .enumerate()
            .map(|(i, h)| (h.clone(), rec.get(i).unwrap_or("").to_owned()))
            .collect();
        phishtank_item(&mut report, line, fields);
    }
    Ok(report)
}

fn phishtank_json(bytes: &[u8]) -> Result<FeedReport, FeedError> {
    let feed = "phishtank".to_owned();
    let items: Vec<serde_json::Value> =
        serde_json::from_slice(bytes).map_err(|e| FeedError::Csv {
            feed: feed.clone(),
            line: e.line(),
            message: e.to_string(),
        })?;
    let mut report = FeedReport::default();
    for (i, item) in items.iter().enumerate() {
        report.lines += 1;
        let Some(obj) = item.as_object() else {
            report.problems.push(LineProblem {
                line: i + 1,
                message: "item is not an object".into(),
            });
            continue;
        };
        if i == 0 {
            let keys: Vec<String> = obj.keys().cloned().collect();
            super::require_columns(&feed, &keys, PHISHTANK_REQUIRED)?;
        }
        let fields = obj
            .iter()
            .filter_map(|(k, v)| super::scalar(v).map(|s| (k.clone(), s)))
            .collect();
        // JSON has no line numbers worth giving: the item's position stands in.
        phishtank_item(&mut report, i + 1, fields);
    }
    Ok(report)
}

/// OpenPhish `feed.txt`: one URL per line; blank lines and `#` comments are skipped.
pub fn parse_openphish(bytes: &[u8]) -> Result<FeedReport, FeedError> {
    too_large("openphish", bytes)?;
    let text = String::from_utf8_lossy(bytes);
    let mut report = FeedReport::default();
    for (i, raw) in text.lines().enumerate() {
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        report.lines += 1;
        if report.lines == 1 && !t.contains("://") {
            return Err(FeedError::Header {
                feed: "openphish".into(),
                missing: vec!["url".into()],
                found: vec![t.chars().take(80).collect()],
            });
        }
        let evidence = [("url", t)].into_iter().collect();
        match url_observation(t, "openphish", "phishing".into(), None, evidence, i + 1) {
            Ok(o) => report.observations.push(o),
            Err(message) => report.problems.push(LineProblem {
                line: i + 1,
                message,
            }),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target\n\
8812345,https://login.example-bank.test/jp/verify,http://www.phishtank.com/phish_detail.php?phish_id=8812345,2026-11-25T01:02:03+00:00,yes,2026-11-25T02:00:00+00:00,yes,Example Bank\n\
8812346,\"http://203.0.113.9/amazon/\",http://x,2026-11-25T01:05:00+00:00,yes,2026-11-25T02:00:00+00:00,yes,Other\n\
8812347,not a url,http://x,2026-11-25T01:05:00+00:00,yes,,yes,Other\n";

    #[test]
    fn phishtank_csv_rows_become_url_observations() {
        let r = parse_phishtank(CSV.as_bytes()).unwrap();
        assert_eq!(r.lines, 3);
        assert_eq!(r.observations.len(), 2);
        assert_eq!(r.problems.len(), 1);
        assert_eq!(r.problems[0].line, 4);
        let o = &r.observations[0];
        assert_eq!(o.value, "https://login.example-bank.test/jp/verify");
        assert_eq!(o.category, "phishing:Example Bank");
        assert_eq!(o.hostname.as_deref(), Some("login.example-bank.test"));
        assert_eq!(o.seen_at, Some(1_795_568_523_000));
        assert_eq!(o.line, 2);
        assert_eq!(r.observations[1].category, "phishing");
        assert_eq!(r.observations[1].ip, Some("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn phishtank_json_items_and_changed_formats() {
        let json = r#"[{"phish_id":1,"url":"https://a.example/x","submission_time":"2026-11-25T01:02:03+00:00","target":"Other"},
                      {"phish_id":2,"url":"","submission_time":""}, 7]"#;
        let r = parse_phishtank(json.as_bytes()).unwrap();
        assert_eq!(r.observations.len(), 1);
        assert_eq!(r.problems.len(), 2);
        assert!(matches!(
            parse_phishtank(b"[{\"id\":1}]"),
            Err(FeedError::Header { .. })
        ));
        assert!(matches!(
            parse_phishtank(b"id,link\n1,http://a.example/\n"),
            Err(FeedError::Header { .. })
        ));
    }

    #[test]
    fn openphish_lines() {
        let r = parse_openphish(
            b"https://a.example/login\n\n# comment\nhttp://198.51.100.3/x\nnot a url\n",
        )
        .unwrap();
        assert_eq!(r.observations.len(), 2);
        assert_eq!(r.problems.len(), 1);
        assert_eq!(r.problems[0].line, 5);
        assert!(matches!(
            parse_openphish(b"<html>blocked</html>\n"),
            Err(FeedError::Header { .. })
        ));
    }
}
