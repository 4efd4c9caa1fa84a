//! Zeek logs: JSON (one object per line, as with `LogAscii::use_json`) and the default TSV format
//! with its `#separator`, `#fields` and `#types` header. Connection, DNS, HTTP, SSL and files
//! fields map to ECS; the rest stays under `raw.zeek.*`.

use serde_json::{Value, json};

use crate::{Event, MAX_LINE, ParseError};

const FORMAT: &str = "zeek";

fn ecs(field: &str) -> Option<&'static str> {
    Some(match field {
        "ts" => "@timestamp",
        "uid" => "zeek.session_id",
        "id.orig_h" => "source.ip",
        "id.orig_p" => "source.port",
        "id.resp_h" => "destination.ip",
        "id.resp_p" => "destination.port",
        "proto" => "network.transport",
        "service" => "network.protocol",
        "orig_bytes" => "source.bytes",
        "resp_bytes" => "destination.bytes",
        "query" => "dns.question.name",
        "qtype_name" => "dns.question.type",
        "host" => "url.domain",
        "uri" => "url.path",
        "method" => "http.request.method",
        "user_agent" => "user_agent.original",
        "status_code" => "http.response.status_code",
        "server_name" => "tls.client.server_name",
        "sha256" => "file.hash.sha256",
        "md5" => "file.hash.md5",
        "mime_type" => "file.mime_type",
        _ => return None,
    })
}

fn put(ev: &mut Event, field: &str, v: Value) {
    if v.is_null() || v.as_str() == Some("-") || v.as_str() == Some("(empty)") {
        return;
    }
    let v = match (field, &v) {
        // Zeek `ts` is seconds since the epoch: store milliseconds.
        ("ts", Value::Number(n)) => n
            .as_f64()
            .map_or(v.clone(), |s| json!((s * 1000.0).round() as i64)),
        ("ts", Value::String(s)) => s
            .parse::<f64>()
            .map_or(v.clone(), |s| json!((s * 1000.0).round() as i64)),
        _ => v,
    };
    match ecs(field) {
        Some(name) => {
            ev.insert(name.to_owned(), v);
        }
        None => {
            ev.insert(format!("raw.zeek.{field}"), v);
        }
    }
}

/// One JSON log line.
pub fn parse_json(line: &str) -> Result<Event, ParseError> {
    ParseError::check_len(FORMAT, line)?;
    let v: Value = serde_json::from_str(line)
        .map_err(|e| ParseError::at(FORMAT, e.column().saturating_sub(1), "a JSON object"))?;
    let Value::Object(m) = v else {
        return Err(ParseError::at(FORMAT, 0, "a JSON object"));
    };
    let mut ev = Event::new();
    for (k, v) in m {
        put(&mut ev, &k, v);
    }
    Ok(ev)
}

/// The TSV header state: the fields of the log being read.
#[derive(Debug, Default, Clone)]
pub struct TsvReader {
    separator: String,
    fields: Vec<String>,
    types: Vec<String>,
}

impl TsvReader {
    pub fn new() -> Self {
        TsvReader {
            separator: "\t".into(),
            fields: Vec::new(),
            types: Vec::new(),
        }
    }

    /// Feeds one line: header lines update the state and yield `None`; data lines yield an event.
    pub fn line(&mut self, line: &str) -> Result<Option<Event>, ParseError> {
        if line.len() > MAX_LINE {
            return Err(ParseError::TooLong {
                format: FORMAT,
                max: MAX_LINE,
            });
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(sep) = line.strip_prefix("#separator ") {
            self.separator = match sep
                .strip_prefix("\\x")
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(b) => (b as char).to_string(),
                None => sep.to_owned(),
            };
            return Ok(None);
        }
        if let Some(rest) = line.strip_prefix('#') {
            let mut it = rest.split(self.separator.as_str());
            match it.next() {
                Some("fields") => self.fields = it.map(str::to_owned).collect(),
                Some("types") => self.types = it.map(str::to_owned).collect(),
                _ => {}
            }
            return Ok(None);
        }
        if line.is_empty() {
            return Ok(None);
        }
        if self.fields.is_empty() {
            return Err(ParseError::at(FORMAT, 0, "a #fields header before data"));
        }
        let mut ev = Event::new();
        for (i, value) in line.split(self.separator.as_str()).enumerate() {
            let Some(field) = self.fields.get(i) else {
                return Err(ParseError::at(
                    FORMAT,
                    0,
                    "no more values than #fields names",
                ));
            };
            let ty = self.types.get(i).map(String::as_str).unwrap_or("string");
            let v = match ty {
                "count" | "port" | "int" => value
                    .parse::<i64>()
                    .map_or_else(|_| json!(value), |n| json!(n)),
                "double" | "time" | "interval" => value
                    .parse::<f64>()
                    .map_or_else(|_| json!(value), |n| json!(n)),
                _ => json!(value),
            };
            put(&mut ev, field, v);
        }
        Ok(Some(ev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_tsv() {
        let e = parse_json(r#"{"ts":1795640055.5,"uid":"C1","id.orig_h":"192.0.2.10","id.orig_p":53000,"id.resp_h":"192.0.2.53","id.resp_p":53,"proto":"udp","query":"evil.example","qtype_name":"A","rcode_name":"NOERROR"}"#).unwrap();
        assert_eq!(
            (e["@timestamp"].as_i64(), e["dns.question.name"].as_str()),
            (Some(1_795_640_055_500), Some("evil.example"))
        );
        assert_eq!(e["raw.zeek.rcode_name"], "NOERROR");
        let mut r = TsvReader::new();
        let lines = [
            "#separator \\x09",
            "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\thost\turi\tuser_agent",
            "#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring",
            "1795640055.123456\tC2\t192.0.2.10\t51515\t203.0.113.5\t80\tdl.example\t/a.exe\t-",
        ];
        let mut events = Vec::new();
        for l in lines {
            if let Some(e) = r.line(l).unwrap() {
                events.push(e);
            }
        }
        assert_eq!(events.len(), 1);
        assert_eq!(
            (
                events[0]["destination.port"].as_i64(),
                events[0]["url.domain"].as_str()
            ),
            (Some(80), Some("dl.example"))
        );
        assert!(
            !events[0].contains_key("user_agent.original"),
            "'-' is absent"
        );
        assert!(TsvReader::new().line("data without header").is_err());
    }
}
