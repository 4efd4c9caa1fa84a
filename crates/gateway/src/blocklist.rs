//! The names the gateway blocks: a set of lower-case domain names, each blocking itself and
//! every subdomain. Built from the hub's plain-text block list (URLs and addresses in it are
//! not names and are skipped) and updated by its incremental diffs (`+name` / `-name`).

use std::collections::HashSet;

/// Names blocked with their subdomains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockSet {
    names: HashSet<String>,
}

/// A block-list line as a domain name, if it is one.
fn as_name(line: &str) -> Option<String> {
    let t = line.trim().trim_end_matches('.');
    if t.is_empty()
        || t.starts_with('#')
        || t.contains("://")
        || t.contains('/')
        || t.parse::<std::net::IpAddr>().is_ok()
        || !t.contains('.')
        || t.len() > 253
    {
        return None;
    }
    if !t
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    {
        return None;
    }
    Some(t.to_ascii_lowercase())
}

impl BlockSet {
    /// From the hub's `txt` block list (one value per line).
    pub fn from_text(text: &str) -> BlockSet {
        BlockSet {
            names: text.lines().filter_map(as_name).collect(),
        }
    }

    /// Adds the names of another `txt` block list.
    pub fn add_text(&mut self, text: &str) {
        self.names.extend(text.lines().filter_map(as_name));
    }

    /// Applies an incremental diff (`+value` adds, `-value` removes).
    pub fn apply_diff(&mut self, diff: &str) {
        for line in diff.lines() {
            if let Some(v) = line.strip_prefix('+') {
                if let Some(n) = as_name(v) {
                    self.names.insert(n);
                }
            } else if let Some(v) = line.strip_prefix('-')
                && let Some(n) = as_name(v)
            {
                self.names.remove(&n);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The listed name that blocks `qname` (itself or a parent), if any.
    pub fn blocks(&self, qname: &str) -> Option<&str> {
        let mut name = qname.trim_end_matches('.');
        loop {
            if let Some(n) = self.names.get(name) {
                return Some(n.as_str());
            }
            name = name.split_once('.')?.1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_block_themselves_and_subdomains_only() {
        let mut b = BlockSet::from_text(
            "malware.example\nhttp://dl.example/x.exe\n198.51.100.7\nEvil.Example.JP.\n# comment\nlocalhost\n",
        );
        assert_eq!(b.len(), 2);
        assert_eq!(b.blocks("malware.example"), Some("malware.example"));
        assert_eq!(b.blocks("cdn.malware.example."), Some("malware.example"));
        assert_eq!(b.blocks("notmalware.example"), None);
        assert_eq!(b.blocks("evil.example.jp"), Some("evil.example.jp"));
        assert_eq!(
            b.blocks("dl.example"),
            None,
            "a URL does not block its host"
        );
        b.apply_diff("+fresh.example\n-malware.example\n+http://x.example/\n");
        assert_eq!(b.blocks("a.fresh.example"), Some("fresh.example"));
        assert_eq!(b.blocks("malware.example"), None);
        assert_eq!(b.len(), 2);
    }
}
