//! Normalisation: each line goes through the shared parser ([`mamori_parse::LineParser`],
//! one per stream so Zeek TSV headers stay with their file or connection). A parsed event
//! gets `log.file.path` (and `log.offset` for lines) or `log.source.address` (syslog),
//! `observer.name` and `@timestamp` when it has none; a line that does not parse becomes a
//! dead letter `{"mamori.dead_letter": {reason, source, text}}`.

use std::collections::HashMap;
use std::time::SystemTime;

use mamori_parse::{Event, LineParser};
use serde_json::{Value, json};

use crate::record::{Origin, Payload, Record};

/// The result of normalising one record.
#[derive(Debug)]
pub enum Normalised {
    Event(Event),
    /// The line did not parse; the object is the dead letter to forward.
    DeadLetter(Event),
    /// Nothing to forward (a blank line or a header).
    Nothing,
}

/// Parsers per stream plus the sensor's name.
#[derive(Debug)]
pub struct Normaliser {
    observer: String,
    parsers: HashMap<String, LineParser>,
}

/// Parser states kept at most (UDP peers come and go).
const MAX_STREAMS: usize = 10_000;

impl Normaliser {
    pub fn new(observer: impl Into<String>) -> Self {
        Normaliser {
            observer: observer.into(),
            parsers: HashMap::new(),
        }
    }

    /// Normalises one record.
    pub fn normalise(&mut self, rec: Record) -> Normalised {
        let Record {
            payload, origin, ..
        } = rec;
        let is_line = matches!(payload, Payload::Line { .. });
        let mut event = match payload {
            Payload::Event(e) => e,
            Payload::Position => return Normalised::Nothing,
            Payload::Rejected { reason, text } => {
                return Normalised::DeadLetter(dead_letter(&reason, &origin, text));
            }
            Payload::Line { text, format } => {
                if self.parsers.len() >= MAX_STREAMS && !self.parsers.contains_key(origin.stream())
                {
                    self.parsers.clear();
                }
                if !self.parsers.contains_key(origin.stream()) {
                    self.parsers
                        .insert(origin.stream().to_owned(), LineParser::new(format));
                }
                let Some(parser) = self.parsers.get_mut(origin.stream()) else {
                    return Normalised::Nothing;
                };
                match parser.line(&text) {
                    Ok(Some(e)) => e,
                    Ok(None) => return Normalised::Nothing,
                    Err(e) => {
                        return Normalised::DeadLetter(dead_letter(&e.to_string(), &origin, text));
                    }
                }
            }
        };
        match &origin {
            Origin::File { path, offset, .. } => {
                event.insert("log.file.path".into(), Value::String(path.to_string()));
                if is_line {
                    event.insert("log.offset".into(), Value::from(*offset));
                }
            }
            Origin::Peer { addr, .. } => {
                event.insert("log.source.address".into(), Value::String(addr.to_string()));
            }
        }
        event.insert("observer.name".into(), Value::String(self.observer.clone()));
        if !event.contains_key("@timestamp") {
            event.insert(
                "@timestamp".into(),
                Value::String(rfc3339(SystemTime::now())),
            );
        }
        Normalised::Event(event)
    }
}

/// A dead letter for a line that could not be used.
pub fn dead_letter(reason: &str, origin: &Origin, text: String) -> Event {
    let mut e = Event::new();
    e.insert(
        "mamori.dead_letter".into(),
        json!({"reason": reason, "source": origin.describe(), "text": text}),
    );
    e
}

/// `t` as RFC 3339 UTC with milliseconds.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    mamori_detect::hunt::ms_to_rfc3339(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_709_210_096_123);
        assert_eq!(rfc3339(t), "2024-02-29T12:34:56.123Z");
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn lines_and_dead_letters() {
        let mut n = Normaliser::new("s1");
        let origin = Origin::File {
            path: "/var/log/a".into(),
            offset: 10,
            line: 2,
        };
        let rec = |text: &str, format| Record {
            payload: Payload::Line {
                text: text.into(),
                format,
            },
            origin: origin.clone(),
            cursor: None,
        };
        let Normalised::Event(e) = n.normalise(rec(
            "<34>1 2024-01-02T03:04:05Z host app - - - hello",
            mamori_parse::Format::Syslog,
        )) else {
            panic!("not parsed");
        };
        assert_eq!(e["observer.name"], "s1");
        assert_eq!(e["log.file.path"], "/var/log/a");
        assert_eq!(e["log.offset"], 10);
        let mut n = Normaliser::new("s1");
        let Normalised::DeadLetter(d) = n.normalise(rec("not cef", mamori_parse::Format::Cef))
        else {
            panic!("parsed");
        };
        assert_eq!(d["mamori.dead_letter"]["source"], "/var/log/a:2");
        assert_eq!(d["mamori.dead_letter"]["text"], "not cef");
    }
}
