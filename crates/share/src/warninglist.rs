//! Warning lists: known-benign values (private and reserved ranges, public resolvers, very popular
//! domains, cloud provider ranges) that flag a shared value as a likely false positive. Three lists
//! ship inside the binary; administrators add or override lists as text files in the data
//! directory's `warninglists/` folder (one entry per line, `#` comments; a header
//! `# name:`, `# description:`, `# type: cidr|domain|string`). Cloud ranges change weekly, so
//! they are not built in: drop the provider's list into that folder.

use std::path::Path;

use ipnet::IpNet;
use mamori_model::ValueKind;
use serde::Serialize;

use crate::normalise;

const BUILT_IN: &[&str] = &[
    include_str!("../warninglists/private-ranges.txt"),
    include_str!("../warninglists/public-resolvers.txt"),
    include_str!("../warninglists/popular-domains.txt"),
];

/// Largest warning-list file read.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WarningListError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("{path}:{line}: {message}")]
    Entry {
        path: String,
        line: usize,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListType {
    Cidr,
    Domain,
    String,
}

#[derive(Debug, Clone)]
struct List {
    name: String,
    description: String,
    cidrs: Vec<IpNet>,
    domains: Vec<String>,
    strings: Vec<String>,
}

/// A match of a value against a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WarningHit {
    pub list: String,
    pub description: String,
    /// The entry that matched (a range, a parent domain or the value).
    pub entry: String,
}

/// The loaded lists.
#[derive(Debug, Clone, Default)]
pub struct WarningLists {
    lists: Vec<List>,
}

fn parse(text: &str, origin: &str) -> Result<List, WarningListError> {
    let mut list = List {
        name: origin.to_owned(),
        description: String::new(),
        cidrs: Vec::new(),
        domains: Vec::new(),
        strings: Vec::new(),
    };
    let mut ty = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(meta) = line.strip_prefix('#') {
            let meta = meta.trim();
            if let Some(v) = meta.strip_prefix("name:") {
                list.name = v.trim().to_owned();
            } else if let Some(v) = meta.strip_prefix("description:") {
                list.description = v.trim().to_owned();
            } else if let Some(v) = meta.strip_prefix("type:") {
                ty = Some(match v.trim() {
                    "cidr" => ListType::Cidr,
                    "domain" => ListType::Domain,
                    "string" => ListType::String,
                    other => {
                        return Err(WarningListError::Entry {
                            path: origin.to_owned(),
                            line: i + 1,
                            message: format!("unknown type {other:?} (cidr, domain, string)"),
                        });
                    }
                });
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let entry_err = |message: String| WarningListError::Entry {
            path: origin.to_owned(),
            line: i + 1,
            message,
        };
        match ty {
            None => return Err(entry_err("entries before the `# type:` header".into())),
            Some(ListType::Cidr) => {
                let net = line
                    .parse::<IpNet>()
                    .or_else(|_| line.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| entry_err(format!("{line:?} is not an address or range")))?;
                list.cidrs.push(net.trunc());
            }
            Some(ListType::Domain) => list
                .domains
                .push(normalise::domain(line).map_err(|e| entry_err(e.to_string()))?),
            Some(ListType::String) => list.strings.push(line.to_owned()),
        }
    }
    Ok(list)
}

fn host_of(kind: ValueKind, value: &str) -> Option<String> {
    match kind {
        ValueKind::Domain => Some(value.to_owned()),
        ValueKind::Email => value.rsplit_once('@').map(|(_, d)| d.to_owned()),
        ValueKind::Url => {
            let rest = value.split_once("://")?.1;
            let auth = rest.split(['/', '?']).next()?;
            let host = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
            let host = if host.starts_with('[') {
                host.split(']').next()?.trim_start_matches('[')
            } else {
                host.split(':').next()?
            };
            Some(host.to_owned())
        }
        _ => None,
    }
}

impl WarningLists {
    /// The lists shipped in the binary.
    pub fn built_in() -> Self {
        let mut lists = Vec::new();
        for (i, text) in BUILT_IN.iter().enumerate() {
            if let Ok(l) = parse(text, &format!("built-in #{i}")) {
                lists.push(l);
            }
        }
        WarningLists { lists }
    }

    /// The built-in lists plus every `*.txt` in `dir` (a file whose `# name:` equals a built-in
    /// list's name replaces it). A missing directory is not an error.
    pub fn load(dir: &Path) -> Result<Self, WarningListError> {
        let mut me = Self::built_in();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(me);
        };
        let mut paths: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .collect();
        paths.sort();
        for path in paths {
            let shown = path.display().to_string();
            let file_err = |message: String| WarningListError::File {
                path: shown.clone(),
                message,
            };
            let meta = std::fs::metadata(&path).map_err(|e| file_err(e.to_string()))?;
            if meta.len() > MAX_FILE_BYTES {
                return Err(file_err(format!("larger than {MAX_FILE_BYTES} bytes")));
            }
            let text = std::fs::read_to_string(&path).map_err(|e| file_err(e.to_string()))?;
            let list = parse(&text, &shown)?;
            me.lists.retain(|l| l.name != list.name);
            me.lists.push(list);
        }
        Ok(me)
    }

    /// Names and entry counts, for display.
    pub fn summary(&self) -> Vec<(String, usize)> {
        self.lists
            .iter()
            .map(|l| {
                (
                    l.name.clone(),
                    l.cidrs.len() + l.domains.len() + l.strings.len(),
                )
            })
            .collect()
    }

    /// The lists a normalised value appears on.
    pub fn check(&self, kind: ValueKind, value: &str) -> Vec<WarningHit> {
        let mut hits = Vec::new();
        let ip_net: Option<IpNet> = match kind {
            ValueKind::Ipv4 | ValueKind::Ipv6 => {
                value.parse::<std::net::IpAddr>().ok().map(IpNet::from)
            }
            ValueKind::Cidr => value.parse().ok(),
            _ => None,
        };
        let host = host_of(kind, value);
        for l in &self.lists {
            let mut hit = |entry: String| {
                hits.push(WarningHit {
                    list: l.name.clone(),
                    description: l.description.clone(),
                    entry,
                });
            };
            if let Some(net) = ip_net
                && let Some(c) = l.cidrs.iter().find(|c| c.contains(&net))
            {
                hit(c.to_string());
                continue;
            }
            if let Some(h) = &host {
                let h = h.to_ascii_lowercase();
                if let Some(d) = l
                    .domains
                    .iter()
                    .find(|d| h == **d || h.ends_with(&format!(".{d}")))
                {
                    hit(d.clone());
                    continue;
                }
            }
            if l.strings.iter().any(|s| s == value) {
                hit(value.to_owned());
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_lists_flag_the_usual_suspects() {
        let w = WarningLists::built_in();
        assert_eq!(w.summary().len(), 3);
        assert_eq!(
            w.check(ValueKind::Ipv4, "10.1.2.3")[0].list,
            "private-and-reserved-ranges"
        );
        assert_eq!(
            w.check(ValueKind::Ipv4, "8.8.8.8")[0].list,
            "public-dns-resolvers"
        );
        assert_eq!(
            w.check(ValueKind::Domain, "login.microsoftonline.com")[0].entry,
            "microsoftonline.com"
        );
        assert_eq!(
            w.check(ValueKind::Url, "https://www.google.com/search?q=x")[0].list,
            "popular-domains"
        );
        assert!(w.check(ValueKind::Domain, "notgoogle.com").is_empty());
        assert!(w.check(ValueKind::Ipv4, "45.33.32.156").is_empty());
        assert!(w.check(ValueKind::Cidr, "10.0.0.0/24").len() == 1);
    }

    #[test]
    fn admin_files_add_and_replace_lists_and_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("cloud.txt"),
            "# name: example-cloud\n# type: cidr\n203.0.113.0/25\n",
        )
        .unwrap();
        let w = WarningLists::load(dir.path()).unwrap();
        assert!(
            w.check(ValueKind::Ipv4, "203.0.113.5")
                .iter()
                .any(|h| h.list == "example-cloud")
        );
        std::fs::write(
            dir.path().join("bad.txt"),
            "# type: cidr\n10.0.0.0/8\nnot-an-ip\n",
        )
        .unwrap();
        let e = WarningLists::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("bad.txt:3"), "{e}");
    }
}
