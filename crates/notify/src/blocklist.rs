//! Block-list exports: the indicators a consumer may block, rendered for each kind of device.
//! A [`Profile`] chooses the TLP ceiling, the kinds, a score threshold and allow-list exceptions;
//! [`render`] writes plain text, CSV, a hosts file, a DNS RPZ zone, Suricata rules, an nftables
//! set or a Squid ACL. Output is sorted and deterministic, so an ETag over it changes only when
//! the list does.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use mamori_model::{Tlp, ValueKind};
use serde::{Deserialize, Serialize};

/// One blockable value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Entry {
    pub kind: ValueKind,
    pub value: String,
    pub score: u8,
    pub tlp: Tlp,
}

/// What a consumer wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Profile {
    /// Most restrictive TLP to include (devices are shared infrastructure: default GREEN).
    #[serde(default = "green")]
    pub max_tlp: Tlp,
    /// Lowest decayed score to include (0-100, default 30).
    #[serde(default = "thirty")]
    pub min_score: u8,
    /// Values never to block (exact, or parent domains).
    #[serde(default)]
    pub allow: Vec<String>,
    /// The kinds to include (`domain`, `url`, `ipv4`, `ipv6`, `cidr`); empty: all of them.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub kinds: Vec<ValueKind>,
}

fn green() -> Tlp {
    Tlp::Green
}
fn thirty() -> u8 {
    30
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            max_tlp: Tlp::Green,
            min_score: 30,
            allow: vec![],
            kinds: vec![],
        }
    }
}

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Csv,
    Hosts,
    Rpz,
    Suricata,
    Nftables,
    Squid,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "txt" | "text" => Format::Text,
            "csv" => Format::Csv,
            "hosts" => Format::Hosts,
            "rpz" => Format::Rpz,
            "suricata" => Format::Suricata,
            "nft" | "nftables" => Format::Nftables,
            "squid" => Format::Squid,
            other => {
                return Err(format!(
                    "unknown format {other:?}: txt, csv, hosts, rpz, suricata, nftables, squid"
                ));
            }
        })
    }
}

impl Format {
    /// Every format, in the order pages list them.
    pub const ALL: [Format; 7] = [
        Format::Text,
        Format::Csv,
        Format::Hosts,
        Format::Rpz,
        Format::Suricata,
        Format::Nftables,
        Format::Squid,
    ];

    /// The name in URLs (`/api/v1/blocklists/{name}`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "txt",
            Format::Csv => "csv",
            Format::Hosts => "hosts",
            Format::Rpz => "rpz",
            Format::Suricata => "suricata",
            Format::Nftables => "nftables",
            Format::Squid => "squid",
        }
    }

    /// Whether the format lists values of this kind (a hosts file or an RPZ zone only names,
    /// an nftables set only addresses, ...).
    pub fn includes(self, kind: ValueKind) -> bool {
        match self {
            Format::Text | Format::Csv => true,
            Format::Hosts | Format::Rpz => is_name(kind),
            Format::Suricata => is_name(kind) || is_addr(kind),
            Format::Nftables => is_addr(kind),
            Format::Squid => is_name(kind) || is_addr(kind) || kind == ValueKind::Url,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            _ => "text/plain; charset=utf-8",
        }
    }
}

fn allowed(profile: &Profile, e: &Entry) -> bool {
    let host = match e.kind {
        ValueKind::Url => e
            .value
            .split_once("://")
            .and_then(|(_, r)| r.split(['/', '?', ':']).next())
            .unwrap_or(""),
        _ => e.value.as_str(),
    };
    profile.allow.iter().any(|a| {
        let a = a.trim().to_ascii_lowercase();
        !a.is_empty() && (e.value == a || host == a || host.ends_with(&format!(".{a}")))
    })
}

/// The entries a profile selects, de-duplicated and sorted.
pub fn select(profile: &Profile, entries: impl IntoIterator<Item = Entry>) -> Vec<Entry> {
    let mut seen = BTreeSet::new();
    let mut out: Vec<Entry> = entries
        .into_iter()
        .filter(|e| {
            e.tlp <= profile.max_tlp
                && e.score >= profile.min_score
                && (profile.kinds.is_empty() || profile.kinds.contains(&e.kind))
                && !allowed(profile, e)
        })
        .filter(|e| seen.insert((e.kind, e.value.clone())))
        .collect();
    out.sort_by(|a, b| (a.kind.as_str(), &a.value).cmp(&(b.kind.as_str(), &b.value)));
    out
}

fn is_name(k: ValueKind) -> bool {
    k == ValueKind::Domain
}

fn is_addr(k: ValueKind) -> bool {
    matches!(k, ValueKind::Ipv4 | ValueKind::Ipv6 | ValueKind::Cidr)
}

/// Quotes a value for Suricata rule content.
fn suricata_escape(v: &str) -> String {
    v.chars()
        .map(|c| match c {
            ';' | '"' | '\\' | '|' => format!("|{:02X}|", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// Renders the selected entries. `serial` is the zone serial for RPZ (e.g. a timestamp).
pub fn render(format: Format, entries: &[Entry], serial: u32) -> String {
    let mut out = String::new();
    match format {
        Format::Text => {
            for e in entries {
                let _ = writeln!(out, "{}", e.value);
            }
        }
        Format::Csv => {
            out.push_str("kind,value,score,tlp\n");
            for e in entries {
                let v = e.value.replace('"', "\"\"");
                let _ = writeln!(out, "{},\"{}\",{},{}", e.kind, v, e.score, e.tlp.as_str());
            }
        }
        Format::Hosts => {
            out.push_str("# Mamori block list (hosts format)\n");
            for e in entries.iter().filter(|e| is_name(e.kind)) {
                let _ = writeln!(out, "0.0.0.0 {}", e.value);
            }
        }
        Format::Rpz => {
            let _ = writeln!(out, "$TTL 300");
            let _ = writeln!(
                out,
                "@ SOA localhost. hostmaster.localhost. {serial} 3600 600 86400 300"
            );
            let _ = writeln!(out, "@ NS localhost.");
            for e in entries.iter().filter(|e| is_name(e.kind)) {
                let _ = writeln!(out, "{} CNAME .", e.value);
                let _ = writeln!(out, "*.{} CNAME .", e.value);
            }
        }
        Format::Suricata => {
            let mut sid = 9_100_000u32;
            for e in entries {
                sid += 1;
                let v = suricata_escape(&e.value);
                let rule = match e.kind {
                    ValueKind::Domain => format!(
                        "alert dns any any -> any any (msg:\"Mamori blocked domain {v}\"; dns.query; content:\"{v}\"; nocase; endswith; sid:{sid}; rev:1;)\n\
                         alert tls any any -> any any (msg:\"Mamori blocked SNI {v}\"; tls.sni; content:\"{v}\"; nocase; endswith; sid:{}; rev:1;)\n\
                         alert http any any -> any any (msg:\"Mamori blocked host {v}\"; http.host; content:\"{v}\"; nocase; endswith; sid:{}; rev:1;)",
                        sid + 1_000_000,
                        sid + 2_000_000
                    ),
                    ValueKind::Ipv4 | ValueKind::Ipv6 | ValueKind::Cidr => format!(
                        "alert ip any any -> [{}] any (msg:\"Mamori blocked address {}\"; sid:{sid}; rev:1;)",
                        e.value, e.value
                    ),
                    _ => continue,
                };
                out.push_str(&rule);
                out.push('\n');
            }
        }
        // `auto-merge`: an address inside a listed range (or overlapping ranges) would make
        // `nft` refuse the whole set as "conflicting intervals".
        Format::Nftables => {
            let v4: Vec<&str> = entries
                .iter()
                .filter(|e| {
                    matches!(e.kind, ValueKind::Ipv4)
                        || (e.kind == ValueKind::Cidr && !e.value.contains(':'))
                })
                .map(|e| e.value.as_str())
                .collect();
            let v6: Vec<&str> = entries
                .iter()
                .filter(|e| {
                    matches!(e.kind, ValueKind::Ipv6)
                        || (e.kind == ValueKind::Cidr && e.value.contains(':'))
                })
                .map(|e| e.value.as_str())
                .collect();
            out.push_str("table inet mamori {\n");
            let _ = writeln!(
                out,
                "  set blocked4 {{\n    type ipv4_addr\n    flags interval\n    auto-merge\n{}  }}",
                if v4.is_empty() {
                    String::new()
                } else {
                    format!("    elements = {{ {} }}\n", v4.join(", "))
                }
            );
            let _ = writeln!(
                out,
                "  set blocked6 {{\n    type ipv6_addr\n    flags interval\n    auto-merge\n{}  }}",
                if v6.is_empty() {
                    String::new()
                } else {
                    format!("    elements = {{ {} }}\n", v6.join(", "))
                }
            );
            out.push_str("}\n");
        }
        Format::Squid => {
            for e in entries {
                match e.kind {
                    ValueKind::Domain => {
                        let _ = writeln!(out, "acl mamori_blocked dstdomain .{}", e.value);
                    }
                    ValueKind::Url => {
                        let _ = writeln!(
                            out,
                            "acl mamori_blocked_url url_regex -i ^{}",
                            regex_escape(&e.value)
                        );
                    }
                    k if is_addr(k) => {
                        let _ = writeln!(out, "acl mamori_blocked dst {}", e.value);
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if "\\.+*?()|[]{}^$#&-~".contains(c) {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(kind: ValueKind, v: &str, score: u8, tlp: Tlp) -> Entry {
        Entry {
            kind,
            value: v.into(),
            score,
            tlp,
        }
    }

    #[test]
    fn profile_selects_and_formats_render() {
        let all = vec![
            e(ValueKind::Domain, "evil.example", 80, Tlp::Green),
            e(ValueKind::Domain, "evil.example", 60, Tlp::Clear),
            e(ValueKind::Domain, "amber.example", 90, Tlp::Amber),
            e(ValueKind::Domain, "old.example", 10, Tlp::Green),
            e(ValueKind::Domain, "cdn.partner.example", 90, Tlp::Green),
            e(ValueKind::Ipv4, "198.51.100.7", 70, Tlp::Clear),
            e(ValueKind::Url, "http://x.example/a.exe", 70, Tlp::Clear),
        ];
        let p = Profile {
            max_tlp: Tlp::Green,
            min_score: 30,
            allow: vec!["partner.example".into()],
            kinds: vec![],
        };
        let sel = select(&p, all);
        let values: Vec<&str> = sel.iter().map(|e| e.value.as_str()).collect();
        assert_eq!(
            values,
            vec!["evil.example", "198.51.100.7", "http://x.example/a.exe"]
        );
        assert_eq!(
            render(Format::Hosts, &sel, 1)
                .lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>(),
            vec!["0.0.0.0 evil.example"]
        );
        let rpz = render(Format::Rpz, &sel, 7);
        assert!(
            rpz.contains("evil.example CNAME .")
                && rpz.contains("*.evil.example CNAME .")
                && rpz.contains(" 7 ")
        );
        let sur = render(Format::Suricata, &sel, 1);
        assert!(
            sur.contains("dns.query; content:\"evil.example\"") && sur.contains("[198.51.100.7]")
        );
        assert!(render(Format::Nftables, &sel, 1).contains("elements = { 198.51.100.7 }"));
        assert!(render(Format::Squid, &sel, 1).contains("dstdomain .evil.example"));
        assert!(render(Format::Csv, &sel, 1).starts_with("kind,value,score,tlp\n"));
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>(), Ok(f));
            let listed = sel.iter().filter(|e| f.includes(e.kind));
            for e in listed {
                let shown = if f == Format::Squid && e.kind == ValueKind::Url {
                    regex_escape(&e.value)
                } else {
                    e.value.clone()
                };
                assert!(render(f, &sel, 1).contains(&shown), "{f:?} {shown}");
            }
        }
        let only_addresses = Profile {
            kinds: vec![ValueKind::Ipv4],
            ..p
        };
        let sel = select(&only_addresses, sel);
        assert_eq!(sel.len(), 1);
        assert_eq!(sel[0].value, "198.51.100.7");
        assert_eq!(
            render(Format::Text, &sel, 1),
            render(Format::Text, &sel, 1),
            "deterministic"
        );
    }
}
