//! The closed set of line formats by name, and [`LineParser`]: one parser per stream that
//! turns each line of a named (or auto-detected) format into an [`Event`]. The sensor, the
//! hub's ingestion and `mamori parse` all choose parsers here, so a format name means the same
//! thing everywhere.

use std::fmt;
use std::str::FromStr;

use crate::{Event, ParseError};

/// A log format a stream of lines is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Decide per line: JSON objects (EVE and Zeek JSON recognised by their keys), `CEF:`,
    /// `LEEF:`, otherwise syslog.
    Auto,
    /// One JSON object per line, kept as it is (ECS, winlogbeat, anything else).
    Json,
    Syslog,
    Cef,
    Leef,
    /// Apache/nginx combined access log.
    Access,
    Squid,
    /// BIND/Unbound query logs.
    Dns,
    /// Suricata EVE JSON.
    Eve,
    ZeekJson,
    ZeekTsv,
}

impl Format {
    /// Every format with its name, in the order help texts list them.
    pub const ALL: [Format; 11] = [
        Format::Auto,
        Format::Json,
        Format::Syslog,
        Format::Cef,
        Format::Leef,
        Format::Access,
        Format::Squid,
        Format::Dns,
        Format::Eve,
        Format::ZeekJson,
        Format::ZeekTsv,
    ];

    /// The name used in URLs, configuration and the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Json => "json",
            Format::Syslog => "syslog",
            Format::Cef => "cef",
            Format::Leef => "leef",
            Format::Access => "access",
            Format::Squid => "squid",
            Format::Dns => "dns",
            Format::Eve => "eve",
            Format::ZeekJson => "zeek-json",
            Format::ZeekTsv => "zeek-tsv",
        }
    }

    /// The names joined by ", " (for error messages).
    pub fn names() -> String {
        Format::ALL.map(Format::name).join(", ")
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown format name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown log format {0:?}; known: {names}", names = Format::names())]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// Parses the lines of one stream. Zeek TSV needs the stream's header lines, so keep one
/// parser per file or connection.
#[derive(Debug)]
pub struct LineParser {
    format: Format,
    tsv: crate::zeek::TsvReader,
}

impl LineParser {
    pub fn new(format: Format) -> Self {
        LineParser {
            format,
            tsv: crate::zeek::TsvReader::new(),
        }
    }

    /// The format this parser reads.
    pub fn format(&self) -> Format {
        self.format
    }

    /// One line (without its line break). `Ok(None)` for lines that carry no event (blank
    /// lines, Zeek headers).
    pub fn line(&mut self, line: &str) -> Result<Option<Event>, ParseError> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            return Ok(None);
        }
        let format = match self.format {
            Format::Auto => sniff(line),
            f => f,
        };
        match format {
            Format::Json | Format::Auto => json_object(line).map(Some),
            Format::Syslog => crate::syslog::parse(line).map(Some),
            Format::Cef => crate::cef::parse(line).map(Some),
            Format::Leef => crate::leef::parse(line).map(Some),
            Format::Access => crate::access_log::parse(line).map(Some),
            Format::Squid => crate::squid::parse(line).map(Some),
            Format::Dns => crate::dns_query::parse(line).map(Some),
            Format::Eve => crate::eve::parse(line).map(Some),
            Format::ZeekJson => crate::zeek::parse_json(line).map(Some),
            Format::ZeekTsv => self.tsv.line(line),
        }
    }
}

/// The format of one line when none was named.
pub fn sniff(line: &str) -> Format {
    let t = line.trim_start();
    if t.starts_with('{') {
        // Cheap key checks on the text; the chosen parser validates the JSON.
        let head = &t[..t.len().min(512)];
        if head.contains("\"event_type\"") && head.contains("\"timestamp\"") {
            Format::Eve
        } else if head.contains("\"uid\"") && head.contains("\"id.orig_h\"") {
            Format::ZeekJson
        } else {
            Format::Json
        }
    } else if t.starts_with("CEF:") {
        Format::Cef
    } else if t.starts_with("LEEF:") {
        Format::Leef
    } else {
        Format::Syslog
    }
}

/// A JSON object line, kept as it is.
fn json_object(line: &str) -> Result<Event, ParseError> {
    const FORMAT: &str = "json";
    ParseError::check_len(FORMAT, line)?;
    match serde_json::from_str::<serde_json::Value>(line) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err(ParseError::at(FORMAT, 0, "a JSON object")),
        Err(e) => Err(ParseError::at(
            FORMAT,
            e.column().saturating_sub(1),
            "a JSON object",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>(), Ok(f));
        }
        assert!("nope".parse::<Format>().is_err());
    }

    #[test]
    fn auto_sniffs_each_kind() {
        let mut p = LineParser::new(Format::Auto);
        let ev = p
            .line("CEF:0|V|P|1|100|name|5|src=10.0.0.1")
            .unwrap()
            .unwrap();
        assert_eq!(ev["source.ip"], "10.0.0.1");
        let ev = p
            .line("<34>1 2026-11-25T10:00:00Z host app - - - hello")
            .unwrap()
            .unwrap();
        assert_eq!(ev["host.name"], "host");
        let ev = p.line(r#"{"a":{"b":1}}"#).unwrap().unwrap();
        assert_eq!(ev["a"]["b"], 1);
        assert!(p.line("  ").unwrap().is_none());
        assert!(LineParser::new(Format::Json).line("[1]").is_err());
    }
}
