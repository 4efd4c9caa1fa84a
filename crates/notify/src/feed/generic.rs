//! Generic feeds: CSV, a JSON array or JSON lines, read through a declared mapping (a small
//! TOML file) that names the column holding the value and, optionally, its kind, time,
//! category, address, port, AS number and host name. New feeds are configuration, not code.
//!
//! ```toml
//! name = "partner-c2"          # the observation source, shown in notices
//! format = "csv"               # csv | json | jsonl
//! value = "indicator"          # column (CSV) or top-level key (JSON) of the value
//! kind = "auto"                # auto | url | domain | ipv4 | ipv6
//! category = "c2-server"       # fixed category ...
//! category_column = "type"     # ... or taken from a column (the fixed one is the fallback)
//! time = "first_seen"          # optional; feed times, RFC 3339 or epoch seconds/ms
//! ip = "ip"                    # optional columns
//! port = "port"
//! asn = "asn"
//! hostname = "host"
//! delimiter = ";"              # CSV only, default ","
//! items = "/data"              # JSON only: JSON pointer to the array, default the document
//! ```

use std::collections::BTreeMap;

use mamori_model::ValueKind;
use serde::Deserialize;

use super::{FeedError, FeedReport, LineProblem, MAX_FEED_BYTES, time};
use crate::Observation;

/// How a generic feed is read.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FeedMapping {
    pub name: String,
    pub format: GenericFormat,
    pub value: String,
    #[serde(default)]
    pub kind: MappedKind,
    #[serde(default = "default_category")]
    pub category: String,
    pub category_column: Option<String>,
    pub time: Option<String>,
    pub ip: Option<String>,
    pub port: Option<String>,
    pub asn: Option<String>,
    pub hostname: Option<String>,
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    pub items: Option<String>,
}

fn default_category() -> String {
    "listed".into()
}

fn default_delimiter() -> char {
    ','
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum GenericFormat {
    Csv,
    Json,
    Jsonl,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MappedKind {
    #[default]
    Auto,
    Url,
    Domain,
    Ipv4,
    Ipv6,
}

impl FeedMapping {
    /// Reads a mapping file's text; errors name the line and the key.
    pub fn from_toml(text: &str) -> Result<FeedMapping, FeedError> {
        let m: FeedMapping = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| {
                text[..s.start.min(text.len())].lines().count().max(1)
            });
            FeedError::Mapping {
                line,
                message: e.message().to_owned(),
            }
        })?;
        if m.name.trim().is_empty() || m.value.trim().is_empty() {
            return Err(FeedError::Mapping {
                line: 0,
                message: "`name` and `value` must not be empty".into(),
            });
        }
        if !m.delimiter.is_ascii() {
            return Err(FeedError::Mapping {
                line: 0,
                message: "`delimiter` must be one ASCII character".into(),
            });
        }
        Ok(m)
    }

    fn columns(&self) -> Vec<&str> {
        let mut c = vec![self.value.as_str()];
        c.extend(self.time.as_deref());
        c.extend(self.category_column.as_deref());
        c
    }
}

/// The kind of a value when the mapping says `auto`.
fn guess_kind(v: &str) -> ValueKind {
    let t = v.trim();
    if t.contains("://") || t.contains("[:]//") || t.starts_with("hxxp") {
        ValueKind::Url
    } else if t.parse::<std::net::Ipv4Addr>().is_ok() {
        ValueKind::Ipv4
    } else if t.parse::<std::net::Ipv6Addr>().is_ok() {
        ValueKind::Ipv6
    } else {
        ValueKind::Domain
    }
}

/// Reads a generic feed through its mapping.
pub fn parse_generic(mapping: &FeedMapping, bytes: &[u8]) -> Result<FeedReport, FeedError> {
    let feed = mapping.name.clone();
    if bytes.len() > MAX_FEED_BYTES {
        return Err(FeedError::TooLarge {
            feed,
            limit: MAX_FEED_BYTES,
        });
    }
    let rows: Rows = match mapping.format {
        GenericFormat::Csv => csv_rows(mapping, bytes)?,
        GenericFormat::Json => json_rows(mapping, bytes)?,
        GenericFormat::Jsonl => jsonl_rows(bytes),
    };
    let mut report = FeedReport::default();
    let mut checked = mapping.format == GenericFormat::Csv;
    for row in rows {
        report.lines += 1;
        let (line, fields) = match row {
            Ok(r) => r,
            Err(p) => {
                report.problems.push(p);
                continue;
            }
        };
        if !checked {
            // JSON: the first object stands for the header.
            let keys: Vec<String> = fields.keys().cloned().collect();
            super::require_columns(&feed, &keys, &mapping.columns())?;
            checked = true;
        }
        match observation(mapping, line, fields) {
            Ok(o) => report.observations.push(o),
            Err(message) => report.problems.push(LineProblem { line, message }),
        }
    }
    Ok(report)
}

fn observation(
    m: &FeedMapping,
    line: usize,
    fields: BTreeMap<String, String>,
) -> Result<Observation, String> {
    let get = |c: &Option<String>| {
        c.as_ref()
            .and_then(|c| fields.get(c))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let raw = fields
        .get(&m.value)
        .map(|v| v.trim().to_owned())
        .unwrap_or_default();
    if raw.is_empty() {
        return Err(format!("no value in `{}`", m.value));
    }
    let kind = match m.kind {
        MappedKind::Auto => guess_kind(&raw),
        MappedKind::Url => ValueKind::Url,
        MappedKind::Domain => ValueKind::Domain,
        MappedKind::Ipv4 => ValueKind::Ipv4,
        MappedKind::Ipv6 => ValueKind::Ipv6,
    };
    let category = get(&m.category_column).unwrap_or_else(|| m.category.clone());
    let seen = get(&m.time).and_then(|t| time::parse(&t));
    let mut o = if kind == ValueKind::Url {
        super::url_observation(&raw, &m.name, category, seen, Default::default(), line)?
    } else {
        let value = mamori_share::normalise::normalise(kind, &raw).map_err(|e| e.to_string())?;
        Observation {
            kind,
            ip: match kind {
                ValueKind::Ipv4 | ValueKind::Ipv6 => value.parse().ok(),
                _ => None,
            },
            hostname: (kind == ValueKind::Domain).then(|| value.clone()),
            value,
            seen_at: seen,
            source: m.name.clone(),
            category,
            port: None,
            asn: None,
            evidence: Default::default(),
            line,
        }
    };
    if let Some(ip) = get(&m.ip) {
        o.ip = Some(
            ip.parse()
                .map_err(|_| format!("`{ip}` is not an IP address"))?,
        );
    }
    if let Some(p) = get(&m.port) {
        o.port = Some(p.parse().map_err(|_| format!("`{p}` is not a port"))?);
    }
    if let Some(a) = get(&m.asn) {
        let digits = a.trim_start_matches(['A', 'S', 'a', 's']);
        o.asn = Some(
            digits
                .parse()
                .map_err(|_| format!("`{a}` is not an AS number"))?,
        );
    }
    if let Some(h) = get(&m.hostname) {
        o.hostname = Some(h.to_ascii_lowercase());
    }
    o.evidence = fields.into_iter().collect();
    Ok(o)
}

type Rows = Vec<Result<(usize, BTreeMap<String, String>), LineProblem>>;

fn csv_rows(m: &FeedMapping, bytes: &[u8]) -> Result<Rows, FeedError> {
    let feed = m.name.clone();
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(m.delimiter as u8)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(bytes);
    let header = super::csv_header(&feed, &mut rdr, &m.columns())?;
    let mut out = Vec::new();
    for rec in rdr.records() {
        out.push(match rec {
            Ok(rec) => {
                let line = rec.position().map_or(0, |p| p.line() as usize);
                Ok((
                    line,
                    header
                        .iter()
                        .enumerate()
                        .map(|(i, h)| (h.clone(), rec.get(i).unwrap_or("").to_owned()))
                        .collect(),
                ))
            }
            Err(e) => Err(LineProblem {
                line: e.position().map_or(0, |p| p.line() as usize),
                message: e.to_string(),
            }),
        });
    }
    Ok(out)
}

fn object_row(
    line: usize,
    v: &serde_json::Value,
) -> Result<(usize, BTreeMap<String, String>), LineProblem> {
    let obj = v.as_object().ok_or_else(|| LineProblem {
        line,
        message: "item is not an object".into(),
    })?;
    Ok((
        line,
        obj.iter()
            .filter_map(|(k, v)| super::scalar(v).map(|s| (k.clone(), s)))
            .collect(),
    ))
}

fn json_rows(m: &FeedMapping, bytes: &[u8]) -> Result<Rows, FeedError> {
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| FeedError::Csv {
        feed: m.name.clone(),
        line: e.line(),
        message: e.to_string(),
    })?;
    let items = match &m.items {
        Some(p) => doc.pointer(p),
        None => Some(&doc),
    }
    .and_then(serde_json::Value::as_array)
    .ok_or_else(|| FeedError::Csv {
        feed: m.name.clone(),
        line: 1,
        message: format!(
            "no array at {}",
            m.items.as_deref().unwrap_or("the document root")
        ),
    })?;
    Ok(items
        .iter()
        .enumerate()
        .map(|(i, v)| object_row(i + 1, v))
        .collect())
}

fn jsonl_rows(bytes: &[u8]) -> Rows {
    String::from_utf8_lossy(bytes)
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str::<serde_json::Value>(l)
                .map_err(|e| LineProblem {
                    line: i + 1,
                    message: e.to_string(),
                })
                .and_then(|v| object_row(i + 1, &v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(extra: &str) -> FeedMapping {
        FeedMapping::from_toml(&format!(
            "name = \"partner\"\nvalue = \"indicator\"\n{extra}"
        ))
        .unwrap()
    }

    #[test]
    fn csv_with_columns_and_auto_kinds() {
        let m = mapping(
            "format = \"csv\"\ndelimiter = \";\"\ntime = \"first_seen\"\ncategory_column = \"type\"\nport = \"port\"\nasn = \"asn\"\n",
        );
        let feed = "# partner feed\nindicator;first_seen;type;port;asn\n\
hxxp://evil[.]example/a;2026-11-25 12:00:00;c2;443;AS64500\n\
198.51.100.7;1795608000;scanner;23;64501\n\
bad..domain..;;;;\n\
evil.example.jp;;;99999;\n";
        let r = parse_generic(&m, feed.as_bytes()).unwrap();
        assert_eq!(r.lines, 4);
        assert_eq!(r.observations.len(), 2, "{:?}", r.problems);
        assert_eq!(r.problems.len(), 2);
        let u = &r.observations[0];
        assert_eq!(u.kind, ValueKind::Url);
        assert_eq!(u.value, "http://evil.example/a");
        assert_eq!(u.category, "c2");
        assert_eq!(u.port, Some(443));
        assert_eq!(u.asn, Some(64500));
        assert_eq!(u.seen_at, Some(1_795_608_000_000));
        let ip = &r.observations[1];
        assert_eq!(ip.kind, ValueKind::Ipv4);
        assert_eq!(ip.ip, Some("198.51.100.7".parse().unwrap()));
        assert_eq!(ip.evidence.get("type"), Some("scanner"));
    }

    #[test]
    fn json_and_jsonl() {
        let m = mapping(
            "format = \"json\"\nitems = \"/data\"\nkind = \"domain\"\ncategory = \"phishing\"\n",
        );
        let r = parse_generic(
            &m,
            br#"{"data":[{"indicator":"Login.Example.JP","n":1},{"indicator":""},3]}"#,
        )
        .unwrap();
        assert_eq!(r.observations.len(), 1);
        assert_eq!(r.observations[0].value, "login.example.jp");
        assert_eq!(
            r.observations[0].hostname.as_deref(),
            Some("login.example.jp")
        );
        assert_eq!(r.problems.len(), 2);
        let l = mapping("format = \"jsonl\"\n");
        let r = parse_generic(&l, b"{\"indicator\":\"2001:db8::1\"}\nnot json\n\n").unwrap();
        assert_eq!(r.observations[0].kind, ValueKind::Ipv6);
        assert_eq!(r.problems[0].line, 2);
    }

    #[test]
    fn bad_mappings_and_changed_feeds_are_refused() {
        match FeedMapping::from_toml("name = \"x\"\nvalue = \"v\"\nformat = \"xml\"\n") {
            Err(FeedError::Mapping { line, .. }) => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
        assert!(
            FeedMapping::from_toml("name = \"x\"\nvalue = \"v\"\nformat = \"csv\"\ncolour = 1\n")
                .is_err()
        );
        let m = mapping("format = \"csv\"\n");
        assert!(matches!(
            parse_generic(&m, b"ioc,when\nx,y\n"),
            Err(FeedError::Header { .. })
        ));
        let j = mapping("format = \"json\"\n");
        assert!(matches!(
            parse_generic(&j, b"{\"a\":1}"),
            Err(FeedError::Csv { .. })
        ));
    }
}
