//! A small, forgiving HTML tag scanner for links: anchors (target and visible text), forms
//! (action, method, password inputs), `src` of frames/scripts/images and meta refresh. It is
//! linear, never fails, and does not build a DOM.

use crate::headers::org_domain;
use crate::report::{FormRecord, UrlRecord};
use crate::urls;

/// Links and forms found in one HTML document.
#[derive(Debug, Default)]
pub struct HtmlLinks {
    pub urls: Vec<UrlRecord>,
    pub forms: Vec<FormRecord>,
}

const MAX_LINKS: usize = 2000;
const MAX_LINK_TEXT: usize = 200;

pub fn scan(html: &str) -> HtmlLinks {
    let mut out = HtmlLinks::default();
    let b = html.as_bytes();
    let mut i = 0;
    // Open anchor: (href, text)
    let mut anchor: Option<(String, String)> = None;
    let mut skip_until: Option<&'static str> = None;
    while i < b.len() && out.urls.len() < MAX_LINKS {
        if b[i] != b'<' {
            let next = html[i..].find('<').map_or(html.len(), |p| i + p);
            if skip_until.is_none()
                && let Some((_, text)) = &mut anchor
                && text.len() < MAX_LINK_TEXT * 4
            {
                text.push_str(&decode_entities(&html[i..next]));
            }
            i = next;
            continue;
        }
        if html[i..].starts_with("<!--") {
            i = html[i..].find("-->").map_or(html.len(), |p| i + p + 3);
            continue;
        }
        let end = tag_end(b, i + 1);
        let tag = &html[i + 1..end.min(html.len())];
        i = (end + 1).min(html.len());
        let closing = tag.starts_with('/');
        let body = tag.trim_start_matches('/');
        let name_len = body
            .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
            .unwrap_or(body.len());
        let name = body[..name_len].to_ascii_lowercase();
        if let Some(until) = skip_until {
            if closing && name == until {
                skip_until = None;
            }
            continue;
        }
        if closing {
            if name == "a"
                && let Some((href, text)) = anchor.take()
            {
                out.urls.push(anchor_record(&href, &text));
            }
            continue;
        }
        let attrs = &body[name_len..];
        match name.as_str() {
            "a" | "area" => {
                if let Some((href, text)) = anchor.take() {
                    out.urls.push(anchor_record(&href, &text));
                }
                if let Some(href) = attr(attrs, "href") {
                    anchor = Some((href, String::new()));
                }
            }
            "form" => {
                let action = attr(attrs, "action");
                if let Some(a) = action.as_deref().filter(|a| !a.trim().is_empty()) {
                    out.urls.push(urls::classify(a, "form"));
                }
                out.forms.push(FormRecord {
                    action,
                    method: attr(attrs, "method").map(|m| m.to_ascii_lowercase()),
                    has_password: false,
                });
            }
            "input" => {
                if attr(attrs, "type").is_some_and(|t| t.eq_ignore_ascii_case("password"))
                    && let Some(f) = out.forms.last_mut()
                {
                    f.has_password = true;
                }
            }
            "iframe" | "frame" | "script" | "embed" | "img" => {
                if let Some(src) = attr(attrs, "src")
                    && is_remote(&src)
                {
                    out.urls.push(urls::classify(&src, "src"));
                }
                if name == "script" && !tag.ends_with('/') {
                    skip_until = Some("script");
                }
            }
            "style" => skip_until = Some("style"),
            "meta" => {
                if attr(attrs, "http-equiv").is_some_and(|v| v.eq_ignore_ascii_case("refresh"))
                    && let Some(content) = attr(attrs, "content")
                    && let Some(pos) = content.to_ascii_lowercase().find("url=")
                {
                    let target = content[pos + 4..].trim().trim_matches(['\'', '"']);
                    out.urls.push(urls::classify(target, "refresh"));
                }
            }
            _ => {}
        }
    }
    if let Some((href, text)) = anchor.take() {
        out.urls.push(anchor_record(&href, &text));
    }
    // Any other URL in the markup (data-* attributes, <link>, CSS url(), comments), except
    // the W3C/Microsoft schema identifiers every HTML mail carries.
    let mut known: std::collections::HashSet<String> =
        out.urls.iter().map(|u| u.url.clone()).collect();
    for mut u in urls::from_text(&decode_entities(html)) {
        if out.urls.len() >= MAX_LINKS {
            break;
        }
        let noise = u.host.as_deref().is_some_and(|h| {
            matches!(
                h,
                "www.w3.org" | "schemas.microsoft.com" | "schemas.openxmlformats.org"
            )
        });
        if !noise && known.insert(u.url.clone()) {
            u.source = "html".into();
            out.urls.push(u);
        }
    }
    out.urls
        .retain(|u| !u.url.is_empty() && !u.url.starts_with('#'));
    out
}

fn is_remote(src: &str) -> bool {
    let l = src.trim().to_ascii_lowercase();
    l.starts_with("http:") || l.starts_with("https:") || l.starts_with("//")
}

fn anchor_record(href: &str, text: &str) -> UrlRecord {
    let mut rec = urls::classify(href, "href");
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let text: String = text.chars().take(MAX_LINK_TEXT).collect();
    if let (Some(shown), Some(target)) = (urls::host_in_text(&text), rec.host.as_deref()) {
        rec.text_mismatch = org_domain(&shown) != org_domain(target);
    }
    if !text.is_empty() {
        rec.link_text = Some(text);
    }
    rec
}

/// Index of the `>` closing the tag that starts at `from`, honouring quotes.
fn tag_end(b: &[u8], from: usize) -> usize {
    let mut quote: Option<u8> = None;
    let mut i = from;
    while i < b.len() {
        match (quote, b[i]) {
            (None, b'"' | b'\'') => quote = Some(b[i]),
            (Some(q), c) if c == q => quote = None,
            (None, b'>') => return i,
            _ => {}
        }
        i += 1;
        if quote.is_some() && i - from > 8192 {
            quote = None;
        }
    }
    b.len()
}

/// Value of attribute `name` (case-insensitive), entity-decoded.
fn attr(attrs: &str, name: &str) -> Option<String> {
    let lower = attrs.to_ascii_lowercase();
    let mut start = 0;
    while let Some(pos) = lower.get(start..)?.find(name) {
        let at = start + pos;
        start = at + name.len();
        let before_ok = at == 0 || lower.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = lower[start..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value_start = attrs.len() - rest.len() + 1;
        let v = attrs[value_start..].trim_start();
        let value = match v.chars().next() {
            Some(q @ ('"' | '\'')) => v[1..].split(q).next().unwrap_or(""),
            _ => v
                .split(|c: char| c.is_ascii_whitespace() || c == '>')
                .next()
                .unwrap_or(""),
        };
        return Some(decode_entities(value.trim()));
    }
    None
}

/// Decodes the handful of entities that matter in URLs and link text.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        // Entities are short: look for the `;` in the next 10 bytes only (a search through the
        // whole rest made long texts with many bare `&` quadratic).
        let semi = rest.as_bytes().iter().take(11).position(|&b| b == b';');
        let decoded = semi.and_then(|p| {
            let ent = &rest[1..p];
            let c = match ent {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => ent
                    .strip_prefix("#x")
                    .or_else(|| ent.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| ent.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, p))
        });
        match decoded {
            Some((c, p)) => {
                out.push(c);
                rest = &rest[p + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_forms_and_mismatch() {
        let html = r#"<p>Hi</p><a href="https://evil.example/login?a=1&amp;b=2">https://www.bank.co.jp/</a>
            <A HREF=http://bit.ly/x>click</A><form action="https://collect.example/p" method=POST>
            <input type="password" name=pw></form><script>var a="<a href=x>";</script>
            <img src="https://track.example/p.gif"><meta http-equiv="refresh" content="0; url=https://r.example/">"#;
        let l = scan(html);
        let urls: Vec<_> = l
            .urls
            .iter()
            .map(|u| (u.source.as_str(), u.url.as_str()))
            .collect();
        assert_eq!(
            urls,
            [
                ("href", "https://evil.example/login?a=1&b=2"),
                ("href", "http://bit.ly/x"),
                ("form", "https://collect.example/p"),
                ("src", "https://track.example/p.gif"),
                ("refresh", "https://r.example/"),
                ("html", "https://www.bank.co.jp/"),
            ]
        );
        assert!(l.urls[0].text_mismatch);
        assert!(!l.urls[1].text_mismatch);
        assert!(l.urls[1].shortener);
        assert!(l.forms[0].has_password);
        assert_eq!(l.forms[0].method.as_deref(), Some("post"));
    }
}
