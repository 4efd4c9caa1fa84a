//! Indicator (IOC) matching: an immutable compiled [`IocSet`] (hashes, IPs, emails exact;
//! CIDR longest-prefix; domains including subdomains; normalised URLs), published through
//! [`SharedIocs`] so a new set can be swapped in atomically while scans run.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use ipnet::IpNet;

use crate::error::ConfigError;
use crate::event::EventView;

/// Kind of indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IocKind {
    /// MD5/SHA1/SHA256/SHA512 (hex).
    Hash,
    /// A single IP address.
    Ip,
    /// A network (longest prefix wins).
    Cidr,
    /// A domain; subdomains match too.
    Domain,
    /// A URL (normalised).
    Url,
    /// An e-mail address.
    Email,
}

impl IocKind {
    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            IocKind::Hash => "hash",
            IocKind::Ip => "ip",
            IocKind::Cidr => "cidr",
            IocKind::Domain => "domain",
            IocKind::Url => "url",
            IocKind::Email => "email",
        }
    }
}

/// One indicator as loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ioc {
    /// Kind.
    pub kind: IocKind,
    /// Normalised value.
    pub value: String,
    /// Free-text comment from the file (after `#` or a tab), if any.
    pub note: Option<String>,
}

/// A hit of an indicator in an event field.
#[derive(Debug, Clone)]
pub struct IocHit<'a> {
    /// The field.
    pub field: String,
    /// The field value that matched.
    pub value: String,
    /// The indicator.
    pub ioc: &'a Ioc,
}

/// An immutable, compiled set of indicators.
/// Event values are looked up in these maps (every value of every event while a feed is
/// loaded): foldhash, seeded per map, hashes a short key several times faster than std's
/// SipHash and still keeps the layout unpredictable to whoever writes the events.
type Map<K> = HashMap<K, Ioc, foldhash::fast::RandomState>;

#[derive(Debug, Default)]
pub struct IocSet {
    /// Hashes, e-mail addresses and normalised URLs.
    exact: Map<String>,
    /// Single addresses.
    ips: Map<IpAddr>,
    domains: Map<String>,
    /// (prefix length, v4?, network -> ioc), longest prefix first.
    nets: Vec<(u8, bool, Map<IpNet>)>,
    /// The lengths of `exact`'s and `domains`' keys: a name of another length is not
    /// hashed at all.
    exact_lens: Lengths,
    domain_lens: Lengths,
}

/// A set of string lengths (255 stands for every longer one).
#[derive(Debug, Default, Clone)]
struct Lengths([u64; 4]);

impl Lengths {
    fn slot(len: usize) -> (usize, u64) {
        let l = len.min(255);
        (l / 64, 1 << (l % 64))
    }

    fn insert(&mut self, len: usize) {
        let (w, b) = Self::slot(len);
        self.0[w] |= b;
    }

    #[inline]
    fn has(&self, len: usize) -> bool {
        let (w, b) = Self::slot(len);
        self.0[w] & b != 0
    }
}

/// Normalises a URL: lowercase scheme and host, default port and fragment dropped, trailing
/// `/` removed.
pub fn normalize_url(u: &str) -> Option<String> {
    let u = u.trim();
    let (scheme, rest) = u.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let rest = rest.split('#').next().unwrap_or("");
    let (host, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host = host.rsplit('@').next().unwrap_or(host).to_ascii_lowercase();
    let host = match (scheme.as_str(), host.rsplit_once(':')) {
        ("http", Some((h, "80"))) | ("https", Some((h, "443"))) => h.to_owned(),
        _ => host,
    };
    if host.is_empty() {
        return None;
    }
    let path = path.strip_suffix('/').unwrap_or(path);
    Some(format!("{scheme}://{host}{path}"))
}

/// The kind and normalised form of one indicator value (the form [`IocSet`] stores and
/// [`Ioc::value`] holds), or `None` when the value is no indicator the set can match.
pub fn classify(v: &str) -> Option<(IocKind, String)> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    if matches!(v.len(), 32 | 40 | 64 | 128) && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some((IocKind::Hash, v.to_ascii_lowercase()));
    }
    if let Ok(ip) = v.parse::<IpAddr>() {
        return Some((IocKind::Ip, ip.to_string()));
    }
    if let Ok(net) = v.parse::<IpNet>() {
        return Some((IocKind::Cidr, net.trunc().to_string()));
    }
    if v.contains("://") {
        return normalize_url(v).map(|u| (IocKind::Url, u));
    }
    if v.contains('@') {
        return Some((IocKind::Email, v.to_lowercase()));
    }
    let d = v.trim_end_matches('.').to_lowercase();
    let host_chars = d.trim_start_matches("*.").chars().all(is_host_char);
    if d.contains('.') && host_chars && !d.starts_with('.') && !d.contains("..") {
        return Some((IocKind::Domain, d.trim_start_matches("*.").to_owned()));
    }
    None
}

/// The tokens of a value split on `,` `;` `=` `|` space and tab (all ASCII, so a byte loop
/// splits on character boundaries; a `[char]` pattern decodes every character).
fn tokens(v: &str) -> impl Iterator<Item = &str> {
    let mut rest = v;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        match rest
            .bytes()
            .position(|b| matches!(b, b',' | b';' | b'=' | b'|' | b' ' | b'\t'))
        {
            Some(i) => {
                let t = &rest[..i];
                rest = &rest[i + 1..];
                Some(t)
            }
            None => {
                done = true;
                Some(rest)
            }
        }
    })
}

/// A character a stored domain may hold.
fn is_host_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | '.')
}

impl IocSet {
    /// Parses a list: one indicator per line, optionally `kind:value` (kinds as in
    /// [`IocKind::name`]); `#` starts a comment; a tab separates a note.
    pub fn parse(name: &str, text: &str) -> Result<Self, ConfigError> {
        let mut set = IocSet::default();
        let mut nets: HashMap<(u8, bool), Map<IpNet>> = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let (body, note) = match line.split_once('\t').or_else(|| line.split_once(" #")) {
                Some((b, n)) => (b, Some(n.trim().trim_start_matches('#').trim().to_owned())),
                None => (line, None),
            };
            let body = body.trim();
            if body.is_empty() || body.starts_with('#') {
                continue;
            }
            let invalid = || ConfigError::Invalid {
                path: name.to_owned(),
                message: format!("line {}: not an indicator: '{body}'", i + 1),
            };
            let (kind, value) = match body.split_once(':') {
                Some((k, v)) if ["hash", "ip", "cidr", "domain", "url", "email"].contains(&k) => {
                    let (ck, cv) = classify(v).ok_or_else(invalid)?;
                    // Explicit kinds must agree with the value's shape (ip/cidr interchangeable).
                    let ok = ck.name() == k || (k == "cidr" && ck == IocKind::Ip);
                    if !ok {
                        return Err(invalid());
                    }
                    if k == "cidr" && ck == IocKind::Ip {
                        let net = IpNet::from(cv.parse::<IpAddr>().map_err(|_| invalid())?);
                        (IocKind::Cidr, net.to_string())
                    } else {
                        (ck, cv)
                    }
                }
                _ => classify(body).ok_or_else(invalid)?,
            };
            let ioc = Ioc {
                kind,
                value: value.clone(),
                note: note.filter(|n| !n.is_empty()),
            };
            match kind {
                IocKind::Domain => {
                    set.domain_lens.insert(value.len());
                    set.domains.insert(value, ioc);
                }
                IocKind::Cidr => {
                    let net: IpNet = value.parse().map_err(|_| invalid())?;
                    nets.entry((net.prefix_len(), matches!(net, IpNet::V4(_))))
                        .or_default()
                        .insert(net, ioc);
                }
                IocKind::Ip => {
                    let ip: IpAddr = value.parse().map_err(|_| invalid())?;
                    set.ips.insert(ip, ioc);
                }
                _ => {
                    set.exact_lens.insert(value.len());
                    set.exact.insert(value, ioc);
                }
            }
        }
        let mut v: Vec<_> = nets.into_iter().map(|((p, v4), m)| (p, v4, m)).collect();
        v.sort_by_key(|n| std::cmp::Reverse(n.0));
        set.nets = v;
        Ok(set)
    }

    /// Builds a set from values (any mix of kinds), skipping those that are no indicator;
    /// returns the set and how many were skipped.
    pub fn from_values<'a>(values: impl IntoIterator<Item = &'a str>) -> (Self, usize) {
        let mut text = String::new();
        let mut skipped = 0;
        for v in values {
            let v = v.trim();
            if v.starts_with('#')
                || v.contains(['\n', '\r', '\t'])
                || v.contains(" #")
                || classify(v).is_none()
            {
                skipped += 1;
                continue;
            }
            text.push_str(v);
            text.push('\n');
        }
        match IocSet::parse("indicators", &text) {
            Ok(set) => (set, skipped),
            // Every line was classified above, so this does not happen; fail safe.
            Err(_) => (IocSet::default(), skipped + text.lines().count()),
        }
    }

    /// Number of indicators.
    pub fn len(&self) -> usize {
        self.exact.len()
            + self.ips.len()
            + self.domains.len()
            + self.nets.iter().map(|n| n.2.len()).sum::<usize>()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Looks up one value (hash, IP, e-mail, URL or domain).
    pub fn lookup(&self, value: &str) -> Option<&Ioc> {
        let v = value.trim();
        if v.is_empty() {
            return None;
        }
        // Every indicator but a hash holds '.', ':' or '@' (addresses, URLs, e-mail, domains);
        // a hash has one of four lengths. Most values and tokens (words, numbers, GUIDs) are
        // neither and need no further look.
        if !matches!(v.len(), 32 | 40 | 64 | 128)
            && memchr::memchr3(b'.', b':', b'@', v.as_bytes()).is_none()
        {
            return None;
        }
        if let Ok(ip) = v.parse::<IpAddr>() {
            if let Some(i) = self.ips.get(&ip) {
                return Some(i);
            }
            for (plen, v4, map) in &self.nets {
                if *v4 != ip.is_ipv4() {
                    continue;
                }
                if let Ok(net) = IpNet::new(ip, *plen)
                    && let Some(i) = map.get(&net.trunc())
                {
                    return Some(i);
                }
            }
            return None;
        }
        let lower: Cow<'_, str> = if v.is_ascii() && !v.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Borrowed(v)
        } else {
            Cow::Owned(v.to_lowercase())
        };
        if self.exact_lens.has(lower.len())
            && let Some(i) = self.exact.get(lower.as_ref())
        {
            return Some(i);
        }
        if lower.contains("://") {
            if let Some(i) = normalize_url(v).and_then(|u| self.exact.get(&u)) {
                return Some(i);
            }
            return None;
        }
        if !self.domains.is_empty() && lower.contains('.') {
            let mut d = lower.trim_end_matches('.');
            // A stored domain holds only host characters: the names that still hold a
            // character before the last one that is not (a path's `C:\`, a user's `\`) are
            // no key, so the walk starts after the first dot past it.
            if let Some((p, c)) = d.char_indices().rfind(|(_, c)| !is_host_char(*c)) {
                let after = p + c.len_utf8();
                match d[after..].find('.') {
                    Some(q) => d = &d[after + q + 1..],
                    None => return None,
                }
            }
            let key = |d: &str| {
                self.domain_lens
                    .has(d.len())
                    .then(|| self.domains.get(d))
                    .flatten()
            };
            loop {
                if let Some(i) = key(d) {
                    return Some(i);
                }
                match d.split_once('.') {
                    Some((_, rest)) if rest.contains('.') || key(rest).is_some() => {
                        d = rest;
                    }
                    _ => break,
                }
            }
        }
        None
    }

    /// Finds indicators in an event: whole values, and tokens of values split on
    /// `,` `;` `=` `|` and whitespace (e.g. Sysmon `Hashes`).
    pub fn scan<'a>(&'a self, ev: &EventView) -> Vec<IocHit<'a>> {
        let mut hits = Vec::new();
        if self.is_empty() {
            return hits;
        }
        for (field, v) in ev.iter() {
            if v.raw.is_empty() {
                continue;
            }
            let mut found = self.lookup(&v.raw);
            if found.is_none() {
                found = tokens(&v.raw)
                    .filter(|t| t.len() >= 4 && t.len() != v.raw.len())
                    .find_map(|t| self.lookup(t));
            }
            if let Some(ioc) = found {
                hits.push(IocHit {
                    field: field.to_owned(),
                    value: v.raw.to_string(),
                    ioc,
                });
            }
        }
        hits
    }
}

/// An atomically swappable indicator set.
#[derive(Debug, Default)]
pub struct SharedIocs(ArcSwap<IocSet>);

impl SharedIocs {
    /// Wraps a set.
    pub fn new(set: IocSet) -> Self {
        SharedIocs(ArcSwap::from_pointee(set))
    }

    /// The current set (cheap; stays valid while held even if swapped).
    pub fn load(&self) -> Arc<IocSet> {
        self.0.load_full()
    }

    /// Publishes a new set.
    pub fn swap(&self, set: IocSet) {
        self.0.store(Arc::new(set));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "# comment\n\
        44d88612fea8a8f36de82e1278abb02f\tEICAR md5\n\
        10.0.0.0/8\n\
        10.1.0.0/16 # narrower\n\
        198.51.100.7\n\
        evil.example\n\
        url:HTTP://Bad.Example:80/path/\n\
        mallory@evil.example\n";

    #[test]
    fn kinds_and_lookup() {
        let s = IocSet::parse("l", LIST).unwrap();
        assert_eq!(s.len(), 7);
        assert_eq!(
            s.lookup("44D88612FEA8A8F36DE82E1278ABB02F").unwrap().kind,
            IocKind::Hash
        );
        assert_eq!(s.lookup("10.1.2.3").unwrap().value, "10.1.0.0/16");
        assert_eq!(s.lookup("10.2.2.3").unwrap().value, "10.0.0.0/8");
        assert!(s.lookup("11.0.0.1").is_none());
        assert_eq!(s.lookup("198.51.100.7").unwrap().kind, IocKind::Ip);
        assert!(s.lookup("a.b.evil.example").is_some());
        assert!(s.lookup("notevil.example").is_none());
        assert!(s.lookup("http://bad.example/path").is_some());
        assert!(s.lookup("http://bad.example/other").is_none());
        assert!(s.lookup("Mallory@Evil.Example").is_some());
        assert!(IocSet::parse("l", "hash:nothex\n").is_err());
    }

    /// The lookup as first written (every value lowercased and hashed, the domain walk from
    /// the whole value): the fast paths must agree with it.
    fn reference_lookup<'a>(set: &'a IocSet, value: &str) -> Option<&'a Ioc> {
        let v = value.trim();
        if v.is_empty() {
            return None;
        }
        if let Ok(ip) = v.parse::<IpAddr>() {
            if let Some(i) = set.ips.get(&ip) {
                return Some(i);
            }
            for (plen, v4, map) in &set.nets {
                if *v4 != ip.is_ipv4() {
                    continue;
                }
                if let Ok(net) = IpNet::new(ip, *plen)
                    && let Some(i) = map.get(&net.trunc())
                {
                    return Some(i);
                }
            }
            return None;
        }
        let lower = v.to_lowercase();
        if let Some(i) = set.exact.get(&lower) {
            return Some(i);
        }
        if lower.contains("://") {
            return normalize_url(v).and_then(|u| set.exact.get(&u));
        }
        if !set.domains.is_empty() && lower.contains('.') {
            let mut d = lower.trim_end_matches('.');
            loop {
                if let Some(i) = set.domains.get(d) {
                    return Some(i);
                }
                match d.split_once('.') {
                    Some((_, rest)) if rest.contains('.') || set.domains.contains_key(rest) => {
                        d = rest;
                    }
                    _ => break,
                }
            }
        }
        None
    }

    const PROP_LIST: &str = "44d88612fea8a8f36de82e1278abb02f\n\
        10.0.0.0/8\n198.51.100.7\n2001:db8::1\nevil.example\nsvchost.exe\nx.y.example.jp\n\
        http://bad.example/path\nmallory@evil.example\nroot@localhost\n日本.example\n";

    use proptest::prelude::*;

    proptest::proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn lookup_agrees_with_the_reference(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(vec![
                        "44D88612FEA8A8F36DE82E1278ABB02F", "10.1.2.3", "198.51.100.7",
                        "2001:DB8::1", "Evil.Example", "evil.example.", "svchost.exe", "exe", "x.y.example.jp",
                        "HTTP://Bad.Example:80/path/", "Mallory@evil.example", "Root@Localhost", "日本.example",
                        "C:\\", "\\", "/", ".", ":", "@", " ", "a", "Z", "-", "_", "İ", "K",
                    ]).prop_map(str::to_owned),
                    "[a-zA-Z0-9.:@/\\\\ _-]{0,6}",
                ],
                0..5,
            )
        ) {
            let set = IocSet::parse("l", PROP_LIST).unwrap();
            let v: String = parts.concat();
            proptest::prop_assert_eq!(
                set.lookup(&v).map(|i| &i.value),
                reference_lookup(&set, &v).map(|i| &i.value),
                "{:?}", v
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn tokens_split_like_the_char_pattern(v in "[a-z,;=| \t日=]{0,12}") {
            let want: Vec<&str> = v.split([',', ';', '=', '|', ' ', '\t']).collect();
            let got: Vec<&str> = tokens(&v).collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn scan_and_swap() {
        let shared = SharedIocs::new(IocSet::default());
        let mut ev = EventView::new();
        ev.push_str("Hashes", "MD5=44D88612FEA8A8F36DE82E1278ABB02F,SHA256=00");
        ev.push_str("DestinationIp", "10.9.9.9");
        assert!(shared.load().scan(&ev).is_empty());
        let old = shared.load();
        shared.swap(IocSet::parse("l", LIST).unwrap());
        assert_eq!(shared.load().scan(&ev).len(), 2);
        assert!(old.is_empty());
    }
}
