//! The attribution record of a message: sending IPs, mailer, time zone, charset, language,
//! subject template (digits and addressee names normalised), attachment name templates and
//! TLSH digests, URL hosts, From domain and the content-scanner (YARA) rules it matched; and its
//! weighted token set for [`crate::CampaignIndex`].
//!
//! Token weights: subject template, attachment name template, attachment TLSH and matched
//! YARA rule 3 (a rule written for one actor's payload or lure links its messages); sending IP,
//! mailer and URL host 2; From domain 1; time zone, charset and language 0.5 (weak, shared by
//! most Japanese mail, so they never link messages on their own).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::report::Analysis;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Features {
    pub sending_ips: BTreeSet<String>,
    pub mailer: Option<String>,
    pub timezone: Option<String>,
    pub charset: Option<String>,
    pub language: String,
    pub subject_template: Option<String>,
    pub from_domain: Option<String>,
    pub attachment_names: BTreeSet<String>,
    pub attachment_tlsh: BTreeSet<String>,
    pub url_hosts: BTreeSet<String>,
    /// Rules that matched (`scanner:namespace:rule`, e.g. `yara:apt:LureDoc`).
    pub scan_rules: BTreeSet<String>,
}

impl Features {
    pub fn from_analysis(a: &Analysis) -> Self {
        let mut f = Features {
            mailer: a
                .headers
                .x_mailer
                .as_deref()
                .or(a.headers.user_agent.as_deref())
                .map(|m| digits_to_hash(&m.to_lowercase())),
            timezone: a.headers.timezone.clone(),
            charset: a
                .headers
                .subject_charset
                .clone()
                .or_else(|| a.bodies.iter().find_map(|b| b.charset.clone())),
            language: a.language.clone(),
            subject_template: a
                .headers
                .subject
                .as_deref()
                .map(subject_template)
                .filter(|s| !s.is_empty()),
            from_domain: a.headers.from.first().and_then(|m| m.domain.clone()),
            ..Features::default()
        };
        for hop in &a.received {
            if let Some(ip) = hop.ip.as_deref().filter(|ip| is_public(ip)) {
                f.sending_ips.insert(ip.to_owned());
            }
        }
        if let Some(ip) = a
            .headers
            .x_originating_ip
            .as_deref()
            .filter(|ip| is_public(ip))
        {
            f.sending_ips.insert(ip.to_owned());
        }
        for u in &a.urls {
            if let Some(h) = &u.host {
                f.url_hosts.insert(h.clone());
            }
        }
        for m in &a.scan_matches {
            f.scan_rules
                .insert(format!("{}:{}", m.scanner, m.qualified_rule()));
        }
        for (_, file) in a.file_tree() {
            if let Some(n) = &file.name {
                f.attachment_names.insert(digits_to_hash(&n.to_lowercase()));
            }
            if let Some(t) = &file.tlsh {
                f.attachment_tlsh.insert(t.clone());
            }
        }
        f
    }

    /// The tokens as [`crate::campaign`] compares them.
    pub fn token_map(&self) -> crate::campaign::Tokens {
        self.tokens().into_iter().collect()
    }

    /// The weighted tokens compared by the campaign index.
    pub fn tokens(&self) -> Vec<(String, f64)> {
        let mut t = Vec::new();
        for ip in &self.sending_ips {
            t.push((format!("ip:{ip}"), 2.0));
        }
        if let Some(m) = &self.mailer {
            t.push((format!("mailer:{m}"), 2.0));
        }
        if let Some(z) = &self.timezone {
            t.push((format!("tz:{z}"), 0.5));
        }
        if let Some(c) = &self.charset {
            t.push((format!("charset:{c}"), 0.5));
        }
        t.push((format!("lang:{}", self.language), 0.5));
        if let Some(s) = &self.subject_template {
            t.push((format!("subject:{s}"), 3.0));
        }
        if let Some(d) = &self.from_domain {
            t.push((format!("from:{d}"), 1.0));
        }
        for n in &self.attachment_names {
            t.push((format!("att:{n}"), 3.0));
        }
        for h in &self.attachment_tlsh {
            t.push((format!("tlsh:{h}"), 3.0));
        }
        for h in &self.url_hosts {
            t.push((format!("host:{h}"), 2.0));
        }
        for r in &self.scan_rules {
            t.push((format!("rule:{r}"), 3.0));
        }
        t
    }
}

fn is_public(ip: &str) -> bool {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => {
            !(v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified())
        }
        Ok(std::net::IpAddr::V6(v6)) => {
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80)
        }
        Err(_) => false,
    }
}

/// Replaces each run of digits (ASCII or full-width) with `#`.
pub fn digits_to_hash(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_digits = false;
    for c in s.chars() {
        if c.is_ascii_digit() || ('０'..='９').contains(&c) {
            if !in_digits {
                out.push('#');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

/// Subject template: reply/forward prefixes removed, addresses → `<addr>`, the name before
/// 様/さん/殿 → `<name>`, digits → `#`, lower case, whitespace collapsed.
pub fn subject_template(subject: &str) -> String {
    let mut s = subject.trim().to_lowercase();
    loop {
        let before = s.len();
        for p in [
            "re:",
            "fw:",
            "fwd:",
            "転送:",
            "返信:",
            "re：",
            "fw：",
            "fwd：",
            "[external]",
        ] {
            if let Some(rest) = s.strip_prefix(p) {
                s = rest.trim_start().to_owned();
            }
        }
        if s.len() == before {
            break;
        }
    }
    let words: Vec<String> = s
        .split_whitespace()
        .map(|w| {
            if w.contains('@') && w.contains('.') {
                return "<addr>".to_owned();
            }
            for honorific in ["様", "さん", "殿"] {
                if let Some(pos) = w.find(honorific) {
                    let after = &w[pos..];
                    return format!("<name>{after}");
                }
            }
            w.to_owned()
        })
        .collect();
    digits_to_hash(&words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert_eq!(
            subject_template("Re: 【重要】 ご請求書 No.20251101 山田様"),
            "【重要】 ご請求書 no.# <name>様"
        );
        assert_eq!(
            subject_template("FW: Invoice 4431 for bob@example.com"),
            "invoice # for <addr>"
        );
        assert_eq!(digits_to_hash("請求書_２０２５.zip"), "請求書_#.zip");
    }
}
