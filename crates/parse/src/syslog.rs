//! Syslog: RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG`) and the BSD format of
//! RFC 3164 (`<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG`), told apart by the version digit after
//! the priority. Structured data elements become `raw.sd.<id>.<param>`.

use serde_json::{Value, json};

use crate::{Event, ParseError};

const FORMAT: &str = "syslog";

const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];
const SEVERITIES: [&str; 8] = [
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "informational",
    "debug",
];

/// Parses one syslog line.
pub fn parse(line: &str) -> Result<Event, ParseError> {
    ParseError::check_len(FORMAT, line)?;
    let line = line.trim_end_matches(['\r', '\n']);
    let rest = line
        .strip_prefix('<')
        .ok_or_else(|| ParseError::at(FORMAT, 0, "'<' starting the priority"))?;
    let end = rest
        .find('>')
        .filter(|e| (1..=3).contains(e))
        .ok_or_else(|| ParseError::at(FORMAT, 1, "a priority of 1-3 digits and '>'"))?;
    let pri: u16 = rest[..end]
        .parse()
        .map_err(|_| ParseError::at(FORMAT, 1, "a numeric priority"))?;
    if pri > 191 {
        return Err(ParseError::at(FORMAT, 1, "a priority of at most 191"));
    }
    let body = &rest[end + 1..];
    let offset = end + 2;
    let mut ev = Event::new();
    ev.insert("log.syslog.priority".into(), json!(pri));
    ev.insert("log.syslog.facility.code".into(), json!(pri / 8));
    ev.insert(
        "log.syslog.facility.name".into(),
        json!(FACILITIES[usize::from(pri / 8)]),
    );
    ev.insert("log.syslog.severity.code".into(), json!(pri % 8));
    ev.insert(
        "log.syslog.severity.name".into(),
        json!(SEVERITIES[usize::from(pri % 8)]),
    );
    if let Some(r) = body.strip_prefix("1 ") {
        rfc5424(r, offset + 2, &mut ev)?;
    } else {
        rfc3164(body, offset, &mut ev)?;
    }
    Ok(ev)
}

fn nil(s: &str) -> Option<&str> {
    (s != "-" && !s.is_empty()).then_some(s)
}

fn put(ev: &mut Event, k: &str, v: Option<&str>) {
    if let Some(v) = v {
        ev.insert(k.into(), Value::String(v.to_owned()));
    }
}

fn rfc5424(s: &str, base: usize, ev: &mut Event) -> Result<(), ParseError> {
    let mut it = s.splitn(6, ' ');
    let mut next = |what: &'static str| it.next().ok_or_else(|| ParseError::at(FORMAT, base, what));
    let ts = next("TIMESTAMP")?;
    let host = next("HOSTNAME")?;
    let app = next("APP-NAME")?;
    let proc = next("PROCID")?;
    let msgid = next("MSGID")?;
    let rest = it.next().unwrap_or("");
    ev.insert("log.syslog.version".into(), json!(1));
    put(ev, "@timestamp", nil(ts));
    put(ev, "host.name", nil(host));
    put(ev, "log.syslog.appname", nil(app));
    put(ev, "process.name", nil(app));
    if let Some(p) = nil(proc) {
        match p.parse::<u64>() {
            Ok(pid) => {
                ev.insert("process.pid".into(), json!(pid));
            }
            Err(_) => put(ev, "log.syslog.procid", Some(p)),
        }
    }
    put(ev, "log.syslog.msgid", nil(msgid));
    let sd_base = base + s.len() - rest.len();
    let msg = if let Some(r) = rest.strip_prefix('-') {
        r
    } else if rest.starts_with('[') {
        structured_data(rest, sd_base, ev)?
    } else {
        return Err(ParseError::at(
            FORMAT,
            sd_base,
            "'-' or '[' starting STRUCTURED-DATA",
        ));
    };
    let msg = msg.strip_prefix(' ').unwrap_or(msg);
    let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
    if !msg.is_empty() {
        ev.insert("message".into(), json!(msg));
    }
    Ok(())
}

/// Reads `[id k="v" ...][...]` and returns what follows.
fn structured_data<'a>(s: &'a str, base: usize, ev: &mut Event) -> Result<&'a str, ParseError> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i] == b'[' {
        i += 1;
        let id_start = i;
        while i < b.len() && !matches!(b[i], b' ' | b']') {
            i += 1;
        }
        let id = &s[id_start..i];
        if id.is_empty() {
            return Err(ParseError::at(FORMAT, base + i, "an SD-ID"));
        }
        loop {
            match b.get(i) {
                Some(b']') => {
                    i += 1;
                    break;
                }
                Some(b' ') => {
                    i += 1;
                    let k_start = i;
                    while i < b.len() && b[i] != b'=' && b[i] != b']' {
                        i += 1;
                    }
                    let key = &s[k_start..i];
                    if b.get(i) != Some(&b'=') || b.get(i + 1) != Some(&b'"') {
                        return Err(ParseError::at(
                            FORMAT,
                            base + i,
                            "=\"value\" in a structured-data parameter",
                        ));
                    }
                    i += 2;
                    let mut val = String::new();
                    loop {
                        match b.get(i) {
                            None => return Err(ParseError::at(FORMAT, base + i, "a closing '\"'")),
                            Some(b'\\') if matches!(b.get(i + 1), Some(b'"' | b'\\' | b']')) => {
                                val.push(b[i + 1] as char);
                                i += 2;
                            }
                            Some(b'"') => {
                                i += 1;
                                break;
                            }
                            Some(_) => {
                                let ch = s[i..].chars().next().unwrap_or('\u{fffd}');
                                val.push(ch);
                                i += ch.len_utf8();
                            }
                        }
                    }
                    ev.insert(format!("raw.sd.{id}.{key}"), json!(val));
                }
                _ => {
                    return Err(ParseError::at(
                        FORMAT,
                        base + i,
                        "' ' or ']' in structured data",
                    ));
                }
            }
        }
    }
    Ok(&s[i..])
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn rfc3164(s: &str, base: usize, ev: &mut Event) -> Result<(), ParseError> {
    // "Mmm dd hh:mm:ss " (dd may be space-padded).
    let month_ok = s.len() >= 16 && MONTHS.contains(&&s[..3.min(s.len())]);
    let rest = if month_ok && s.is_char_boundary(15) && s.as_bytes().get(15) == Some(&b' ') {
        ev.insert("log.syslog.timestamp".into(), json!(&s[..15]));
        &s[16..]
    } else {
        s
    };
    let (host, after_host) = match rest.split_once(' ') {
        Some((h, r)) if month_ok && !h.ends_with(':') && !h.contains('[') => (Some(h), r),
        _ => (None, rest),
    };
    put(ev, "host.name", host);
    let (tag, msg) = match after_host.split_once(": ") {
        Some((t, m)) if !t.is_empty() && t.len() <= 64 && !t.contains(' ') => (Some(t), m),
        _ => (None, after_host),
    };
    if let Some(t) = tag {
        match t.split_once('[') {
            Some((name, pid)) => {
                put(ev, "process.name", Some(name));
                if let Ok(p) = pid.trim_end_matches(']').parse::<u64>() {
                    ev.insert("process.pid".into(), json!(p));
                }
            }
            None => put(ev, "process.name", Some(t)),
        }
    }
    if msg.is_empty() && tag.is_none() && host.is_none() {
        return Err(ParseError::at(FORMAT, base, "a message after the priority"));
    }
    ev.insert("message".into(), json!(msg));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5424_with_structured_data() {
        let e = parse(r#"<165>1 2026-11-25T22:14:15.003Z fw01.city.example.jp sshd 4242 ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][meta seq="7\"x"] ログイン失敗 user=root"#).unwrap();
        assert_eq!(e["@timestamp"], "2026-11-25T22:14:15.003Z");
        assert_eq!(e["host.name"], "fw01.city.example.jp");
        assert_eq!(e["process.pid"], 4242);
        assert_eq!(e["log.syslog.facility.name"], "local4");
        assert_eq!(e["log.syslog.severity.name"], "notice");
        assert_eq!(e["raw.sd.exampleSDID@32473.eventID"], "1011");
        assert_eq!(e["raw.sd.meta.seq"], "7\"x");
        assert_eq!(e["message"], "ログイン失敗 user=root");
    }

    #[test]
    fn rfc5424_nil_values() {
        let e = parse("<13>1 - - - - - -").unwrap();
        assert!(!e.contains_key("host.name") && !e.contains_key("message"));
    }

    #[test]
    fn rfc3164() {
        let e = parse(
            "<34>Nov  5 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8",
        )
        .unwrap();
        assert_eq!(e["host.name"], "mymachine");
        assert_eq!(e["process.name"], "su");
        assert_eq!(e["process.pid"], 230);
        assert_eq!(e["log.syslog.timestamp"], "Nov  5 22:14:15");
        assert_eq!(e["message"], "'su root' failed for lonvick on /dev/pts/8");
    }

    #[test]
    fn errors_name_the_position() {
        assert_eq!(
            parse("no pri"),
            Err(ParseError::at(FORMAT, 0, "'<' starting the priority"))
        );
        assert!(matches!(
            parse("<999>x"),
            Err(ParseError::Syntax { offset: 1, .. })
        ));
        assert!(matches!(
            parse("<13>1 2026 host app 1 id [bad"),
            Err(ParseError::Syntax { .. })
        ));
        assert!(matches!(
            parse(&"x".repeat(crate::MAX_LINE + 1)),
            Err(ParseError::TooLong { .. })
        ));
    }
}
