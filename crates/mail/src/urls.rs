//! URLs in plain text (including defanged `hxxp://`, `[.]`, `(.)`, `[:]` forms and bare
//! `www.` hosts) and their classification: host, IP literal, user-info disguise, shorteners,
//! `data:` and `javascript:` schemes.

use aho_corasick::{AhoCorasick, Input, MatchKind};

use crate::report::UrlRecord;

/// URL shorteners we recognise (small list; extend as needed).
pub const SHORTENERS: &[&str] = &[
    "bit.ly",
    "tinyurl.com",
    "t.co",
    "goo.gl",
    "ow.ly",
    "is.gd",
    "buff.ly",
    "rebrand.ly",
    "cutt.ly",
    "t.ly",
    "shorturl.at",
    "rb.gy",
    "tiny.cc",
    "x.gd",
    "v.gd",
    "amzn.to",
    "lnkd.in",
    "s.id",
    "bit.do",
    "00m.in",
    "qr.paps.jp",
    "urx.nu",
    "is.gd",
    "forms.gle",
];

const STARTS: &[&str] = &[
    "https://",
    "http://",
    "hxxps://",
    "hxxp://",
    "hxxps[:]//",
    "hxxp[:]//",
    "https[:]//",
    "http[:]//",
    "h**ps://",
    "h**p://",
    "ftp://",
    "fxp://",
    "www.",
    "data:",
    "javascript:",
];

/// Most URLs taken from one text.
const MAX_URLS: usize = 2000;

/// Finds URLs in plain text.
pub fn from_text(text: &str) -> Vec<UrlRecord> {
    static STARTS_AC: std::sync::LazyLock<Option<AhoCorasick>> = std::sync::LazyLock::new(|| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .build(STARTS)
            .ok()
    });
    let Some(ac) = STARTS_AC.as_ref() else {
        return Vec::new();
    };
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // The leftmost start at or after `i`, preferring earlier entries of STARTS at the same
    // position (`https://` before `http://`), exactly as trying each in turn would.
    while out.len() < MAX_URLS
        && let Some(m) = ac.find(Input::new(bytes).span(i..bytes.len()))
    {
        let at = m.start();
        let boundary = at == 0 || !bytes[at - 1].is_ascii_alphanumeric();
        if boundary {
            let end = span_end(text, at);
            let raw = trim_trailing(&text[at..end]);
            if raw.len() > m.len() + 1 {
                out.push(classify(raw, "text"));
                i = at + raw.len();
                continue;
            }
        }
        i = at + 1;
    }
    out
}

/// End (exclusive) of a URL starting at `start`: stops at whitespace, quotes, angle brackets
/// and any non-ASCII character (Japanese text often abuts URLs).
fn span_end(text: &str, start: usize) -> usize {
    text[start..]
        .char_indices()
        .find(|(_, c)| {
            !c.is_ascii()
                || c.is_ascii_whitespace()
                || c.is_ascii_control()
                || matches!(
                    c,
                    '"' | '<' | '>' | '`' | '\'' | '{' | '}' | '|' | '\\' | '^'
                )
        })
        .map_or(text.len(), |(off, _)| start + off)
}

fn trim_trailing(mut s: &str) -> &str {
    // Footnote markers left by HTML-to-text conversion: `http://x/[3]`.
    if let Some(open) = s.rfind('[')
        && s.ends_with(']')
        && s.len() - open > 2
        && s[open + 1..s.len() - 1].chars().all(|c| c.is_ascii_digit())
    {
        s = &s[..open];
    }
    loop {
        let Some(last) = s.chars().last() else {
            return s;
        };
        let strip = match last {
            '.' | ',' | ';' | ':' | '!' | '?' | '*' => true,
            ')' => s.matches('(').count() < s.matches(')').count(),
            ']' => !s.ends_with("[.]") && s.matches('[').count() < s.matches(']').count(),
            _ => false,
        };
        if !strip {
            return s;
        }
        s = &s[..s.len() - last.len_utf8()];
    }
}

/// Undoes common defanging. Returns the re-fanged URL.
pub fn refang(raw: &str) -> String {
    let mut s = raw.to_owned();
    for (from, to) in [
        ("[.]", "."),
        ("(.)", "."),
        ("{.}", "."),
        ("[dot]", "."),
        ("[:]", ":"),
        ("[://]", "://"),
        ("[/]", "/"),
    ] {
        s = s.replace(from, to);
    }
    let lower = s.to_ascii_lowercase();
    for (from, to) in [
        ("hxxps", "https"),
        ("hxxp", "http"),
        ("h**ps", "https"),
        ("h**p", "http"),
        ("fxp", "ftp"),
    ] {
        if lower.starts_with(from) {
            s = format!("{to}{}", &s[from.len()..]);
            break;
        }
    }
    s
}

/// Builds a record for one URL as found (possibly defanged).
pub fn classify(raw: &str, source: &str) -> UrlRecord {
    // Control characters end a URL (broken quoted-printable leaves them inside hrefs).
    let raw = raw
        .split(|c: char| c.is_ascii_control())
        .next()
        .unwrap_or("");
    let url = refang(raw.trim());
    let defanged = url != raw.trim();
    let lower = url.to_ascii_lowercase();
    let (scheme, rest) = match lower.split_once(':') {
        Some((s, r))
            if s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.')
                && !s.is_empty()
                && !s.contains('.') =>
        {
            (s.to_owned(), r)
        }
        _ => ("http".to_owned(), lower.as_str()),
    };
    let mut rec = UrlRecord {
        scheme: scheme.clone(),
        source: source.to_owned(),
        defanged,
        ..UrlRecord::default()
    };
    if matches!(scheme.as_str(), "http" | "https" | "ftp") || lower.starts_with("www.") {
        let authority_start = rest.strip_prefix("//").unwrap_or(rest);
        let authority = authority_start
            .split(['/', '?', '#', '\\'])
            .next()
            .unwrap_or("");
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        rec.userinfo = userinfo.is_some();
        let host = if let Some(v6) = hostport.strip_prefix('[') {
            v6.split(']').next().unwrap_or("").to_owned()
        } else {
            hostport
                .split(':')
                .next()
                .unwrap_or("")
                .trim_end_matches('.')
                .to_owned()
        };
        if !host.is_empty() {
            rec.ip_host = host.parse::<std::net::IpAddr>().is_ok() || is_numeric_host(&host);
            rec.shortener = SHORTENERS.contains(&host.as_str());
            rec.host = Some(host);
        }
    }
    rec.url = if lower.starts_with("www.") {
        format!("http://{url}")
    } else {
        url
    };
    rec
}

/// Hosts like `3232235777` or `0xC0A80001` (IP addresses in disguise).
fn is_numeric_host(host: &str) -> bool {
    !host.is_empty()
        && (host.chars().all(|c| c.is_ascii_digit())
            || host
                .strip_prefix("0x")
                .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit())))
}

/// Host named by link text, when the text looks like a URL or a bare domain.
pub fn host_in_text(text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty() || t.contains(char::is_whitespace) || !t.contains('.') {
        return None;
    }
    let rec = classify(t, "text");
    let host = rec.host?;
    let labels: Vec<&str> = host.split('.').collect();
    let tld_ok = labels
        .last()
        .is_some_and(|l| l.len() >= 2 && l.chars().all(|c| c.is_ascii_alphabetic()));
    (labels.len() >= 2 && tld_ok || rec.ip_host).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_plain_and_defanged() {
        let urls =
            from_text("詳細はhttps://example.jp/a?b=1。また hxxp://evil[.]example/x, www.foo.com.");
        let got: Vec<_> = urls.iter().map(|u| u.url.as_str()).collect();
        assert_eq!(
            got,
            [
                "https://example.jp/a?b=1",
                "http://evil.example/x",
                "http://www.foo.com"
            ]
        );
        assert!(urls[1].defanged);
        assert_eq!(urls[1].host.as_deref(), Some("evil.example"));
    }

    #[test]
    fn classifies() {
        assert!(classify("http://bit.ly/x", "text").shortener);
        assert!(classify("http://192.0.2.1/x", "text").ip_host);
        assert!(classify("https://www.bank.jp@evil.example/", "text").userinfo);
        assert_eq!(classify("javascript:alert(1)", "href").scheme, "javascript");
        assert_eq!(
            classify("data:text/html;base64,AAAA", "href").scheme,
            "data"
        );
        assert_eq!(
            host_in_text("https://www.bank.co.jp/login").as_deref(),
            Some("www.bank.co.jp")
        );
        assert_eq!(host_in_text("こちら"), None);
    }
}
