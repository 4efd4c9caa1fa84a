//! IBM QRadar LEEF 1.0/2.0: `LEEF:Version|Vendor|Product|Version|EventID|[delimiter|]key=value...`
//! with tab (1.0) or a declared delimiter (2.0, a character or `x09`-style hex). Keys map to ECS
//! like CEF's; the rest is kept under `raw.leef.*`.

use serde_json::json;

use crate::{Event, ParseError};

const FORMAT: &str = "leef";

fn ecs_name(key: &str) -> Option<&'static str> {
    Some(match key {
        "src" => "source.ip",
        "dst" => "destination.ip",
        "srcPort" => "source.port",
        "dstPort" => "destination.port",
        "usrName" => "user.name",
        "proto" => "network.transport",
        "sev" => "event.severity",
        "devTime" => "@timestamp",
        "url" => "url.original",
        "action" => "event.action",
        "srcBytes" => "source.bytes",
        "dstBytes" => "destination.bytes",
        _ => return None,
    })
}

pub fn parse(line: &str) -> Result<Event, ParseError> {
    ParseError::check_len(FORMAT, line)?;
    let line = line.trim_end_matches(['\r', '\n']);
    let start = line
        .find("LEEF:")
        .ok_or_else(|| ParseError::at(FORMAT, 0, "'LEEF:'"))?;
    let body = &line[start + 5..];
    let mut parts = body.splitn(6, '|');
    let version = parts.next().unwrap_or("");
    let fields: Vec<&str> = (0..4)
        .map(|_| parts.next())
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            ParseError::at(
                FORMAT,
                start + 5,
                "Version|Vendor|Product|Version|EventID| header",
            )
        })?;
    let mut rest = parts.next().unwrap_or("");
    let mut delim = '\t';
    if version.starts_with('2') {
        // LEEF 2.0: an optional delimiter field before the attributes.
        if let Some((d, r)) = rest.split_once('|') {
            let d = d.trim();
            let parsed = if let Some(hex) = d.strip_prefix("x").or_else(|| d.strip_prefix("0x")) {
                u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
            } else {
                d.chars().next().filter(|_| d.chars().count() == 1)
            };
            if let Some(c) = parsed {
                delim = c;
                rest = r;
            }
        }
    }
    let mut ev = Event::new();
    ev.insert("leef.version".into(), json!(version));
    ev.insert("observer.vendor".into(), json!(fields[0]));
    ev.insert("observer.product".into(), json!(fields[1]));
    ev.insert("observer.version".into(), json!(fields[2]));
    ev.insert("event.code".into(), json!(fields[3]));
    for pair in rest.split(delim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(ParseError::at(
                FORMAT,
                start + 5 + body.len() - rest.len(),
                "key=value attributes",
            ));
        };
        match ecs_name(k) {
            Some(name)
                if name.ends_with(".port")
                    || name.ends_with(".bytes")
                    || name == "event.severity" =>
            {
                match v.parse::<u64>() {
                    Ok(n) => ev.insert(name.into(), json!(n)),
                    Err(_) => ev.insert(name.into(), json!(v)),
                };
            }
            Some(name) => {
                ev.insert(name.into(), json!(v));
            }
            None => {
                ev.insert(format!("raw.leef.{k}"), json!(v));
            }
        }
    }
    Ok(ev)
}

#[cfg(test)]
mod tests {
    #[test]
    fn leef_1_and_2() {
        let e = super::parse("LEEF:1.0|Microsoft|MSExchange|2016|15345|src=192.0.2.1\tdst=203.0.113.2\tdstPort=25\tusrName=taro\tcustom=x").unwrap();
        assert_eq!(
            (e["source.ip"].as_str(), e["destination.port"].as_u64()),
            (Some("192.0.2.1"), Some(25))
        );
        assert_eq!(e["raw.leef.custom"], "x");
        let e =
            super::parse("LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5")
                .unwrap();
        assert_eq!(e["event.severity"], 5);
        assert!(super::parse("LEEF:1.0|a|b").is_err());
    }
}
