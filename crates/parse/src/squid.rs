//! Squid's native access log: `time elapsed client code/status bytes method URL user hier/peer
//! type` (whitespace separated, `time` in seconds with milliseconds).

use serde_json::json;

use crate::{Event, ParseError};

const FORMAT: &str = "squid";

pub fn parse(line: &str) -> Result<Event, ParseError> {
    ParseError::check_len(FORMAT, line)?;
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 7 {
        return Err(ParseError::at(
            FORMAT,
            line.len(),
            "at least 7 fields: time elapsed client code/status bytes method URL",
        ));
    }
    let ts: f64 = f[0]
        .parse()
        .map_err(|_| ParseError::at(FORMAT, 0, "a UNIX time in seconds"))?;
    let mut ev = Event::new();
    ev.insert("@timestamp".into(), json!((ts * 1000.0).round() as i64));
    if let Ok(ms) = f[1].parse::<u64>() {
        ev.insert("event.duration".into(), json!(ms * 1_000_000));
    }
    ev.insert("source.ip".into(), json!(f[2]));
    match f[3].split_once('/') {
        Some((code, status)) => {
            ev.insert("event.action".into(), json!(code));
            if let Ok(s) = status.parse::<u16>() {
                ev.insert("http.response.status_code".into(), json!(s));
            }
        }
        None => {
            ev.insert("event.action".into(), json!(f[3]));
        }
    }
    if let Ok(b) = f[4].parse::<u64>() {
        ev.insert("http.response.bytes".into(), json!(b));
    }
    ev.insert("http.request.method".into(), json!(f[5]));
    ev.insert("url.original".into(), json!(f[6]));
    if let Some(u) = f.get(7).filter(|u| **u != "-") {
        ev.insert("user.name".into(), json!(u));
    }
    if let Some(h) = f.get(8) {
        if let Some((_, peer)) = h.split_once('/') {
            ev.insert("destination.address".into(), json!(peer));
        }
        ev.insert("raw.squid.hierarchy".into(), json!(h));
    }
    if let Some(t) = f.get(9) {
        ev.insert("http.response.mime_type".into(), json!(t));
    }
    Ok(ev)
}

#[cfg(test)]
mod tests {
    #[test]
    fn native_format() {
        let e = super::parse("1795640055.123    245 10.1.2.3 TCP_MISS/200 5120 GET http://update.example.com/a.bin - HIER_DIRECT/203.0.113.8 application/octet-stream").unwrap();
        assert_eq!(e["@timestamp"], 1_795_640_055_123i64);
        assert_eq!(e["event.action"], "TCP_MISS");
        assert_eq!(e["http.response.status_code"], 200);
        assert_eq!(e["destination.address"], "203.0.113.8");
        assert!(super::parse("short line").is_err());
    }
}
