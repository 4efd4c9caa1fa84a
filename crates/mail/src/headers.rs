//! Identity headers: From/Sender/Reply-To/Return-Path/To/Cc, Subject (re-decoded when the MIME
//! parser leaves mojibake), Date and its time zone, Message-ID and its domain, mailer headers,
//! and the domain mismatches between the identity headers.

use mail_parser::{Address, Message};

use crate::decode;
use crate::report::{Headers, Mailbox, Mismatch};

/// Raw bytes of the first header named `name` (case-insensitive), unfolded.
pub fn raw_header(msg: &Message<'_>, name: &str) -> Option<Vec<u8>> {
    raw_headers(msg, name).into_iter().next()
}

/// Raw bytes of every header named `name`, in order of appearance (topmost first), unfolded.
pub fn raw_headers(msg: &Message<'_>, name: &str) -> Vec<Vec<u8>> {
    let raw = msg.raw_message();
    let Some(root) = msg.parts.first() else {
        return Vec::new();
    };
    root.headers
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case(name))
        .filter_map(|h| {
            let start = usize::try_from(h.offset_start()).ok()?;
            let end = usize::try_from(h.offset_end()).ok()?;
            raw.get(start..end).map(unfold)
        })
        .collect()
}

/// Removes CR/LF line folding.
pub fn unfold(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for &b in bytes {
        if b != b'\r' && b != b'\n' {
            out.push(b);
        }
    }
    while out.last().is_some_and(u8::is_ascii_whitespace) {
        out.pop();
    }
    let lead = out.iter().take_while(|b| b.is_ascii_whitespace()).count();
    out.drain(..lead);
    out
}

/// A decoded raw header as text.
pub fn header_text(msg: &Message<'_>, name: &str) -> Option<String> {
    raw_header(msg, name)
        .map(|b| decode::header_value(&b).text)
        .filter(|s| !s.is_empty())
}

pub fn extract(msg: &Message<'_>) -> Headers {
    let mut h = Headers {
        from: mailboxes(msg.from()),
        sender: mailboxes(msg.sender()).into_iter().next(),
        reply_to: mailboxes(msg.reply_to()),
        to: mailboxes(msg.to()),
        cc: mailboxes(msg.cc()),
        ..Headers::default()
    };
    repair_names(msg, "From", &mut h.from);

    let raw_subject = raw_header(msg, "Subject");
    let ours = raw_subject.as_deref().map(decode::header_value);
    let theirs = msg.subject().map(str::to_owned);
    let raw_is_8bit = raw_subject.as_deref().is_some_and(|r| !r.is_ascii());
    h.subject = match (&theirs, &ours) {
        (Some(t), Some(o)) if !raw_is_8bit && !decode::looks_mojibake(t) => {
            let _ = o;
            Some(t.clone())
        }
        (_, Some(o)) => Some(o.text.clone()),
        (t, None) => t.clone(),
    };
    h.subject_charset = ours.and_then(|o| o.charset);

    h.return_path = msg
        .return_address()
        .map(|s| s.trim_matches(['<', '>', ' ']).to_owned())
        .filter(|s| !s.is_empty());
    h.return_path_domain = h.return_path.as_deref().and_then(domain_of);

    if let Some(d) = msg.date().filter(|d| d.is_valid()) {
        h.date = Some(d.to_rfc3339());
        h.timezone = Some(format!(
            "{}{:02}:{:02}",
            if d.tz_before_gmt { '-' } else { '+' },
            d.tz_hour,
            d.tz_minute
        ));
    }
    h.message_id = msg.message_id().map(str::to_owned);
    h.message_id_domain = h
        .message_id
        .as_deref()
        .and_then(|id| id.rsplit_once('@'))
        .map(|(_, d)| d.trim_matches(['>', ' ', '.']).to_ascii_lowercase())
        .filter(|d| !d.is_empty());
    h.x_mailer = header_text(msg, "X-Mailer");
    h.user_agent = header_text(msg, "User-Agent");
    h.x_originating_ip =
        header_text(msg, "X-Originating-IP").map(|s| s.trim_matches(['[', ']', ' ']).to_owned());
    h
}

fn mailboxes(addr: Option<&Address<'_>>) -> Vec<Mailbox> {
    let Some(addr) = addr else {
        return Vec::new();
    };
    addr.iter()
        .map(|a| {
            let address = a.address().map(|s| s.trim().to_owned());
            Mailbox {
                name: a
                    .name()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty()),
                domain: address.as_deref().and_then(domain_of),
                address,
            }
        })
        .collect()
}

/// When the parser's display name still shows charset residue, re-decode the raw header.
fn repair_names(msg: &Message<'_>, header: &str, boxes: &mut [Mailbox]) {
    let needs = boxes
        .iter()
        .any(|b| b.name.as_deref().is_some_and(decode::looks_mojibake));
    let raw_8bit = raw_header(msg, header).is_some_and(|r| !r.is_ascii());
    if !(needs || raw_8bit) || boxes.len() != 1 {
        return;
    }
    if let Some(raw) = raw_header(msg, header) {
        let text = decode::header_value(&raw).text;
        if let Some((name, _)) = text.rsplit_once('<') {
            let name = name.trim().trim_matches('"').trim();
            if !name.is_empty() {
                boxes[0].name = Some(name.to_owned());
            }
        }
    }
}

/// Lower-cased domain of an address (`user@Example.COM` → `example.com`).
pub fn domain_of(address: &str) -> Option<String> {
    let (_, d) = address.rsplit_once('@')?;
    let d = d
        .trim_matches(['>', ' ', '.', ']', '['])
        .to_ascii_lowercase();
    (!d.is_empty()).then_some(d)
}

/// Registrable ("organisational") domain by a small heuristic: two labels, three under
/// well-known second-level suffixes such as `co.jp` or `ac.uk`. Not a Public Suffix List.
pub fn org_domain(domain: &str) -> String {
    let labels: Vec<&str> = domain.trim_end_matches('.').split('.').collect();
    let n = labels.len();
    if n <= 2 {
        return domain.to_owned();
    }
    let sld = labels[n - 2];
    let tld = labels[n - 1];
    let take = if tld.len() == 2
        && matches!(
            sld,
            "co" | "ne"
                | "or"
                | "ac"
                | "go"
                | "ad"
                | "ed"
                | "gr"
                | "lg"
                | "com"
                | "net"
                | "org"
                | "gov"
                | "edu"
                | "ltd"
                | "plc"
        ) {
        3
    } else {
        2
    };
    labels[n.saturating_sub(take)..].join(".")
}

/// Domain mismatches between From and Return-Path, Reply-To and Sender.
pub fn mismatches(h: &Headers) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let Some(from) = h.from.first().and_then(|m| m.domain.clone()) else {
        return out;
    };
    let mut check = |name: &str, other: Option<&String>| {
        if let Some(other) = other
            && org_domain(other) != org_domain(&from)
        {
            out.push(Mismatch {
                first: "from".into(),
                first_domain: from.clone(),
                second: name.into(),
                second_domain: other.clone(),
            });
        }
    };
    check("return_path", h.return_path_domain.as_ref());
    check(
        "reply_to",
        h.reply_to.first().and_then(|m| m.domain.as_ref()),
    );
    check("sender", h.sender.as_ref().and_then(|m| m.domain.as_ref()));
    out
}

/// Milliseconds since the epoch of a Date header as [`Headers::date`] holds it (RFC 3339).
pub fn date_millis(date: &str) -> Option<i64> {
    mail_parser::DateTime::parse_rfc3339(date)
        .filter(|d| d.is_valid())
        .map(|d| d.to_timestamp().saturating_mul(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_domains() {
        assert_eq!(org_domain("mail.example.co.jp"), "example.co.jp");
        assert_eq!(org_domain("a.b.example.com"), "example.com");
        assert_eq!(org_domain("example.com"), "example.com");
    }

    #[test]
    fn finds_mismatch() {
        let h = Headers {
            from: vec![Mailbox {
                domain: Some("bank.co.jp".into()),
                ..Mailbox::default()
            }],
            return_path_domain: Some("mx.bank.co.jp".into()),
            reply_to: vec![Mailbox {
                domain: Some("evil.example".into()),
                ..Mailbox::default()
            }],
            ..Headers::default()
        };
        let m = mismatches(&h);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].second, "reply_to");
    }
}
