//! Authentication verdicts: the topmost Authentication-Results header (the one the receiving
//! side added; lower ones may be forged), Received-SPF, and ARC (`cv=` of the newest ARC-Seal,
//! or `arc=` in the results).

use mail_parser::Message;

use crate::headers::raw_headers;
use crate::report::AuthResults;

pub fn extract(msg: &Message<'_>) -> AuthResults {
    let results = raw_headers(msg, "Authentication-Results");
    let mut out = AuthResults {
        headers: results.len(),
        ..AuthResults::default()
    };
    if let Some(top) = results.first() {
        let text = String::from_utf8_lossy(top).to_ascii_lowercase();
        out.spf = method(&text, "spf");
        out.dkim = method(&text, "dkim");
        out.dmarc = method(&text, "dmarc");
        out.arc = method(&text, "arc");
    }
    if let Some(spf) = raw_headers(msg, "Received-SPF").first() {
        let text = String::from_utf8_lossy(spf).to_ascii_lowercase();
        out.received_spf = text
            .split_whitespace()
            .next()
            .map(|s| s.trim_matches([';', '(']).to_owned());
        if out.spf.is_none() {
            out.spf.clone_from(&out.received_spf);
        }
    }
    if out.arc.is_none()
        && let Some(seal) = raw_headers(msg, "ARC-Seal").first()
    {
        let text = String::from_utf8_lossy(seal).to_ascii_lowercase();
        out.arc = method(&text, "cv");
    }
    out
}

/// The result of `name=result` in a results header, e.g. `dkim=pass` → `pass`. When a method
/// occurs several times (several DKIM signatures), a `pass` wins, else the first.
pub fn method(text: &str, name: &str) -> Option<String> {
    let mut first: Option<String> = None;
    let needle = format!("{name}=");
    let mut start = 0;
    while let Some(pos) = text.get(start..).and_then(|t| t.find(&needle)) {
        let at = start + pos;
        let boundary = at == 0
            || text[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_whitespace() || c == ';' || c == '(');
        start = at + needle.len();
        if !boundary {
            continue;
        }
        let value: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if value.is_empty() {
            continue;
        }
        if value == "pass" {
            return Some(value);
        }
        first.get_or_insert(value);
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_results() {
        let t = "mx.example; spf=softfail smtp.mailfrom=x; dkim=fail header.d=a; dkim=none; dmarc=fail (p=reject) header.from=bank.jp";
        assert_eq!(method(t, "spf").as_deref(), Some("softfail"));
        assert_eq!(method(t, "dkim").as_deref(), Some("fail"));
        assert_eq!(method(t, "dmarc").as_deref(), Some("fail"));
        assert_eq!(method(t, "arc"), None);
    }
}
