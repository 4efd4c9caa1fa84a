//! URLhaus CSV (`csv.txt` / `csv_online.txt`): `#` comment lines, the header as the last comment
//! (`# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter`), then quoted
//! CSV rows. Each row becomes a URL observation (`malware-distribution`).

use crate::evidence::{Columns, Evidence};

use super::{FeedError, FeedReport, LineProblem, MAX_FEED_BYTES, time, url_observation};

const REQUIRED: &[&str] = &["dateadded", "url", "url_status", "threat"];

pub fn parse_urlhaus(bytes: &[u8]) -> Result<FeedReport, FeedError> {
    let feed = "urlhaus".to_owned();
    if bytes.len() > MAX_FEED_BYTES {
        return Err(FeedError::TooLarge {
            feed,
            limit: MAX_FEED_BYTES,
        });
    }
    let text = String::from_utf8_lossy(bytes);
    // The header is the last comment line before the data.
    let mut header: Option<Vec<String>> = None;
    let mut first_data = 0usize;
    for (i, line) in text.lines().enumerate() {
        if let Some(c) = line.strip_prefix('#') {
            if c.contains(',') {
                header = Some(c.split(',').map(|h| h.trim().to_owned()).collect());
            }
        } else if !line.trim().is_empty() {
            first_data = i;
            break;
        }
    }
    let header = header.ok_or_else(|| FeedError::NoHeader { feed: feed.clone() })?;
    let missing: Vec<String> = REQUIRED
        .iter()
        .filter(|r| !header.iter().any(|h| h == *r))
        .map(|r| (*r).to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(FeedError::Header {
            feed,
            missing,
            found: header,
        });
    }
    let col = |name: &str| header.iter().position(|h| h == name);
    let (i_added, i_url, i_status, i_threat) = (
        col("dateadded"),
        col("url"),
        col("url_status"),
        col("threat"),
    );
    let columns: Columns = header.clone().into();
    let mut report = FeedReport::default();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(text.as_bytes());
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
            .map_or(first_data + report.lines, |p| p.line() as usize);
        let get = |i: Option<usize>| i.and_then(|i| rec.get(i)).unwrap_or("").trim().to_owned();
        let raw_url = get(i_url);
        let evidence = Evidence::new(&columns, rec.clone());
        let category = format!("malware-distribution:{}", get(i_threat));
        match url_observation(
            &raw_url,
            "urlhaus",
            category,
            time::parse(&get(i_added)),
            evidence,
            line,
        ) {
            Ok(o) => report.observations.push(o),
            Err(message) => report.problems.push(LineProblem { line, message }),
        }
        let _ = i_status;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEED: &str = "################################################################\n\
# abuse.ch URLhaus Database Dump (CSV)                          #\n\
################################################################\n\
#\n\
# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n\
\"3197501\",\"2026-11-25 10:12:03\",\"http://198.51.100.7:8080/bins/x86\",\"online\",\"2026-11-25 10:12:03\",\"malware_download\",\"elf,mirai\",\"https://urlhaus.abuse.ch/url/3197501/\",\"geenensp\"\n\
\"3197500\",\"2026-11-25 10:11:40\",\"https://dl.evil.example/load.exe\",\"online\",\"\",\"malware_download\",\"exe\",\"https://urlhaus.abuse.ch/url/3197500/\",\"anon\"\n\
\"3197499\",\"2026-11-25 10:11:00\",\"not a url\",\"offline\",\"\",\"malware_download\",\"\",\"x\",\"y\"\n";

    #[test]
    fn reads_rows_and_counts_bad_lines() {
        let r = parse_urlhaus(FEED.as_bytes()).unwrap();
        assert_eq!(r.observations.len(), 2);
        assert_eq!(r.problems.len(), 1);
        let o = &r.observations[0];
        assert_eq!(o.value, "http://198.51.100.7:8080/bins/x86");
        assert_eq!(o.ip, Some("198.51.100.7".parse().unwrap()));
        assert_eq!(o.category, "malware-distribution:malware_download");
        assert_eq!(o.evidence.get("tags"), Some("elf,mirai"));
        assert_eq!(
            r.observations[1].hostname.as_deref(),
            Some("dl.evil.example")
        );
    }

    #[test]
    fn changed_format_is_refused_whole() {
        let bad = "# id,when,link\n\"1\",\"x\",\"http://a.example/\"\n";
        match parse_urlhaus(bad.as_bytes()) {
            Err(FeedError::Header { missing, .. }) => assert!(missing.contains(&"url".to_owned())),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_urlhaus(b"no header"),
            Err(FeedError::NoHeader { .. })
        ));
    }
}
