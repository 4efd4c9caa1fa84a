//! Suricata EVE JSON (one object per line). Common fields map to ECS; the event-type sections
//! (`alert`, `dns`, `http`, `tls`, `flow`, `fileinfo`...) map what ECS names and keep the rest
//! under `raw.eve.*`.

use serde_json::{Value, json};

use crate::{Event, ParseError};

const FORMAT: &str = "suricata-eve";

fn flatten(prefix: &str, v: &Value, out: &mut Event, depth: usize) {
    match v {
        Value::Object(m) if depth < 8 => {
            for (k, v) in m {
                flatten(&format!("{prefix}.{k}"), v, out, depth + 1);
            }
        }
        other => {
            out.insert(prefix.to_owned(), other.clone());
        }
    }
}

pub fn parse(line: &str) -> Result<Event, ParseError> {
    ParseError::check_len(FORMAT, line)?;
    let v: Value = serde_json::from_str(line)
        .map_err(|e| ParseError::at(FORMAT, e.column().saturating_sub(1), "a JSON object"))?;
    let Value::Object(m) = v else {
        return Err(ParseError::at(FORMAT, 0, "a JSON object"));
    };
    let mut ev = Event::new();
    let map = [
        ("timestamp", "@timestamp"),
        ("src_ip", "source.ip"),
        ("src_port", "source.port"),
        ("dest_ip", "destination.ip"),
        ("dest_port", "destination.port"),
        ("proto", "network.transport"),
        ("app_proto", "network.protocol"),
        ("event_type", "event.dataset"),
        ("community_id", "network.community_id"),
        ("in_iface", "observer.ingress.interface.name"),
    ];
    for (k, v) in &m {
        if let Some((_, ecs)) = map.iter().find(|(from, _)| from == k) {
            let v = if *ecs == "network.transport" {
                json!(v.as_str().unwrap_or("").to_ascii_lowercase())
            } else {
                v.clone()
            };
            ev.insert((*ecs).to_owned(), v);
            continue;
        }
        match (k.as_str(), v) {
            ("alert", Value::Object(a)) => {
                for (from, to) in [
                    ("signature", "rule.name"),
                    ("signature_id", "rule.id"),
                    ("category", "rule.category"),
                    ("severity", "event.severity"),
                    ("action", "event.action"),
                ] {
                    if let Some(x) = a.get(from) {
                        ev.insert(to.into(), x.clone());
                    }
                }
                ev.insert("event.kind".into(), json!("alert"));
                flatten("raw.eve.alert", v, &mut ev, 0);
            }
            ("dns", Value::Object(d)) => {
                if let Some(x) = d.get("rrname").or_else(|| {
                    d.get("queries")
                        .and_then(|q| q.get(0))
                        .and_then(|q| q.get("rrname"))
                }) {
                    ev.insert("dns.question.name".into(), x.clone());
                }
                if let Some(x) = d.get("rrtype") {
                    ev.insert("dns.question.type".into(), x.clone());
                }
                flatten("raw.eve.dns", v, &mut ev, 0);
            }
            ("http", Value::Object(h)) => {
                for (from, to) in [
                    ("hostname", "url.domain"),
                    ("url", "url.path"),
                    ("http_user_agent", "user_agent.original"),
                    ("http_method", "http.request.method"),
                    ("status", "http.response.status_code"),
                    ("http_refer", "http.request.referrer"),
                ] {
                    if let Some(x) = h.get(from) {
                        ev.insert(to.into(), x.clone());
                    }
                }
                flatten("raw.eve.http", v, &mut ev, 0);
            }
            ("tls", Value::Object(t)) => {
                if let Some(x) = t.get("sni") {
                    ev.insert("tls.client.server_name".into(), x.clone());
                }
                if let Some(x) = t.get("ja3").and_then(|j| j.get("hash")) {
                    ev.insert("tls.client.ja3".into(), x.clone());
                }
                flatten("raw.eve.tls", v, &mut ev, 0);
            }
            (other, v) => flatten(&format!("raw.eve.{other}"), v, &mut ev, 0),
        }
    }
    Ok(ev)
}

#[cfg(test)]
mod tests {
    #[test]
    fn alert_and_dns() {
        let e = super::parse(r#"{"timestamp":"2026-11-25T22:14:15.123456+0900","event_type":"alert","src_ip":"192.0.2.10","src_port":51515,"dest_ip":"203.0.113.5","dest_port":443,"proto":"TCP","alert":{"action":"allowed","signature_id":2030001,"signature":"ET MALWARE C2","category":"A Network Trojan was detected","severity":1},"tls":{"sni":"c2.example"}}"#).unwrap();
        assert_eq!(
            (e["rule.id"].as_u64(), e["network.transport"].as_str()),
            (Some(2_030_001), Some("tcp"))
        );
        assert_eq!(e["tls.client.server_name"], "c2.example");
        let e = super::parse(r#"{"event_type":"dns","dns":{"type":"query","rrname":"evil.example","rrtype":"A"},"flow_id":7}"#).unwrap();
        assert_eq!(e["dns.question.name"], "evil.example");
        assert_eq!(e["raw.eve.flow_id"], 7);
        assert!(super::parse("[1,2]").is_err() && super::parse("{").is_err());
    }
}
