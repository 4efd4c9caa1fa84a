//! Canonical forms of shared values. Two members writing `HXXP://Evil.Example[.]com:80/a#x` and
//! `http://evil.example.com/a` share the same URL; hashes are lower-case hex of the right length;
//! addresses are parsed and printed back; domains are lower case without the trailing dot.

use std::net::IpAddr;

use mamori_model::ValueKind;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} value {value:?} is invalid: {reason}")]
pub struct InvalidValue {
    pub kind: ValueKind,
    pub value: String,
    pub reason: &'static str,
}

const MAX_LEN: usize = 4096;

/// Removes the usual defanging: `hxxp`, `[.]`, `(.)`, `{.}`, `[:]`, `[@]`.
pub fn refang(s: &str) -> String {
    let mut out = s.trim().to_owned();
    for (from, to) in [
        ("[.]", "."),
        ("(.)", "."),
        ("{.}", "."),
        ("[dot]", "."),
        ("[:]", ":"),
        ("[@]", "@"),
        ("[at]", "@"),
    ] {
        out = out.replace(from, to);
    }
    let lower = out.to_ascii_lowercase();
    for (from, to) in [
        ("hxxps://", "https://"),
        ("hxxp://", "http://"),
        ("fxp://", "ftp://"),
    ] {
        if lower.starts_with(from) {
            out = format!("{to}{}", &out[from.len()..]);
            break;
        }
    }
    out
}

fn err(kind: ValueKind, value: &str, reason: &'static str) -> InvalidValue {
    InvalidValue {
        kind,
        value: value.chars().take(200).collect(),
        reason,
    }
}

fn hex_of_len(kind: ValueKind, v: &str, len: usize) -> Result<String, InvalidValue> {
    let h = v.trim().to_ascii_lowercase();
    if h.len() == len && h.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(h)
    } else {
        Err(err(kind, v, "not a hexadecimal hash of the right length"))
    }
}

/// Lower-cases a domain, strips the trailing dot and checks its labels.
pub fn domain(v: &str) -> Result<String, InvalidValue> {
    let d = refang(v).trim_end_matches('.').to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if ok {
        Ok(d)
    } else {
        Err(err(
            ValueKind::Domain,
            v,
            "not a domain name (use punycode for IDNs)",
        ))
    }
}

/// Canonical URL: refanged, scheme and host lower-case, default port and fragment removed.
pub fn url(v: &str) -> Result<String, InvalidValue> {
    let r = refang(v);
    let (scheme, rest) = r
        .split_once("://")
        .ok_or_else(|| err(ValueKind::Url, v, "no scheme"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
    {
        return Err(err(ValueKind::Url, v, "bad scheme"));
    }
    let rest = rest.split('#').next().unwrap_or("");
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (host, port) = if hostport.starts_with('[') {
        match hostport.find(']') {
            Some(i) => (&hostport[..=i], hostport[i + 1..].strip_prefix(':')),
            None => return Err(err(ValueKind::Url, v, "unclosed IPv6 host")),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(err(ValueKind::Url, v, "no host"));
    }
    let host = host.to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    let port = match (port, scheme.as_str()) {
        (Some("80"), "http")
        | (Some("443"), "https")
        | (Some("21"), "ftp")
        | (Some(""), _)
        | (None, _) => None,
        (Some(p), _) if p.bytes().all(|b| b.is_ascii_digit()) => Some(p),
        _ => return Err(err(ValueKind::Url, v, "bad port")),
    };
    let mut out = format!("{scheme}://");
    if let Some(u) = userinfo {
        out.push_str(u);
        out.push('@');
    }
    out.push_str(host);
    if let Some(p) = port {
        out.push(':');
        out.push_str(p);
    }
    out.push_str(if path.is_empty() { "/" } else { path });
    Ok(out)
}

/// The canonical form of a value of the given kind.
pub fn normalise(kind: ValueKind, v: &str) -> Result<String, InvalidValue> {
    if v.len() > MAX_LEN {
        return Err(err(kind, v, "too long"));
    }
    let t = v.trim();
    if t.is_empty() {
        return Err(err(kind, v, "empty"));
    }
    match kind {
        ValueKind::Ipv4 => match refang(t).parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => Ok(a.to_string()),
            _ => Err(err(kind, v, "not an IPv4 address")),
        },
        ValueKind::Ipv6 => match refang(t).parse::<IpAddr>() {
            Ok(IpAddr::V6(a)) => Ok(a.to_string()),
            _ => Err(err(kind, v, "not an IPv6 address")),
        },
        ValueKind::Cidr => refang(t)
            .parse::<ipnet::IpNet>()
            .map(|n| n.trunc().to_string())
            .map_err(|_| err(kind, v, "not a CIDR block")),
        ValueKind::Domain => domain(t),
        ValueKind::Url => url(t),
        ValueKind::Email => {
            let r = refang(t).to_ascii_lowercase();
            match r.rsplit_once('@') {
                Some((local, d)) if !local.is_empty() => Ok(format!("{local}@{}", domain(d)?)),
                _ => Err(err(kind, v, "not an e-mail address")),
            }
        }
        ValueKind::Md5 => hex_of_len(kind, t, 32),
        ValueKind::Sha1 => hex_of_len(kind, t, 40),
        ValueKind::Sha256 => hex_of_len(kind, t, 64),
        ValueKind::Tlsh => {
            let h = t.to_ascii_uppercase();
            let body = h.strip_prefix("T1").unwrap_or(&h);
            if (body.len() == 70 || body.len() == 72) && body.bytes().all(|b| b.is_ascii_hexdigit())
            {
                Ok(h)
            } else {
                Err(err(kind, v, "not a TLSH digest"))
            }
        }
        ValueKind::Asn => {
            let n = t.to_ascii_uppercase();
            let digits = n.strip_prefix("AS").unwrap_or(&n);
            digits
                .parse::<u32>()
                .map(|a| format!("AS{a}"))
                .map_err(|_| err(kind, v, "not an AS number"))
        }
        ValueKind::Cve => {
            let c = t.to_ascii_uppercase();
            let mut parts = c.splitn(3, '-');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("CVE"), Some(y), Some(n))
                    if y.len() == 4
                        && y.bytes().all(|b| b.is_ascii_digit())
                        && n.len() >= 4
                        && n.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    Ok(c)
                }
                _ => Err(err(kind, v, "not a CVE id (CVE-YYYY-NNNN)")),
            }
        }
        ValueKind::RegistryKey => Ok(t.to_owned()),
        ValueKind::Ssdeep | ValueKind::FileName | ValueKind::Mutex | ValueKind::UserAgent => {
            Ok(t.to_owned())
        }
    }
}

/// Guesses the kind of a bare value (for search boxes and imports without types).
pub fn guess_kind(v: &str) -> Option<ValueKind> {
    let r = refang(v);
    let t = r.trim();
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Some(if ip.is_ipv4() {
            ValueKind::Ipv4
        } else {
            ValueKind::Ipv6
        });
    }
    if t.parse::<ipnet::IpNet>().is_ok() {
        return Some(ValueKind::Cidr);
    }
    if t.contains("://") {
        return Some(ValueKind::Url);
    }
    if t.to_ascii_uppercase().starts_with("CVE-") {
        return Some(ValueKind::Cve);
    }
    if t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return match t.len() {
            32 => Some(ValueKind::Md5),
            40 => Some(ValueKind::Sha1),
            64 => Some(ValueKind::Sha256),
            _ => None,
        };
    }
    if t.contains('@') {
        return Some(ValueKind::Email);
    }
    if domain(t).is_ok() {
        return Some(ValueKind::Domain);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonical_forms() {
        assert_eq!(
            normalise(ValueKind::Url, "HXXP://Evil.Example[.]com:80/a?b=1#frag").unwrap(),
            "http://evil.example.com/a?b=1"
        );
        assert_eq!(
            normalise(ValueKind::Url, "https://EXAMPLE.jp").unwrap(),
            "https://example.jp/"
        );
        assert_eq!(
            normalise(ValueKind::Url, "http://[2001:DB8::1]:8080/x").unwrap(),
            "http://[2001:db8::1]:8080/x"
        );
        assert_eq!(
            normalise(ValueKind::Domain, "Phish.Example.JP.").unwrap(),
            "phish.example.jp"
        );
        assert_eq!(
            normalise(ValueKind::Ipv4, "192.0.2[.]1").unwrap(),
            "192.0.2.1"
        );
        assert_eq!(
            normalise(ValueKind::Ipv6, "2001:DB8:0:0::1").unwrap(),
            "2001:db8::1"
        );
        assert_eq!(
            normalise(ValueKind::Cidr, "192.0.2.77/24").unwrap(),
            "192.0.2.0/24"
        );
        assert_eq!(
            normalise(ValueKind::Email, "Taro@Example.JP").unwrap(),
            "taro@example.jp"
        );
        assert_eq!(
            normalise(ValueKind::Sha256, &"AB".repeat(32)).unwrap(),
            "ab".repeat(32)
        );
        assert_eq!(normalise(ValueKind::Asn, "as2497").unwrap(), "AS2497");
        assert_eq!(
            normalise(ValueKind::Cve, "cve-2024-3400").unwrap(),
            "CVE-2024-3400"
        );
        assert!(normalise(ValueKind::Md5, "xyz").is_err());
        assert!(normalise(ValueKind::Ipv4, "2001:db8::1").is_err());
        assert!(normalise(ValueKind::Url, "no scheme").is_err());
        assert!(normalise(ValueKind::Domain, "").is_err());
    }

    #[test]
    fn guesses() {
        assert_eq!(guess_kind("8.8.8.8"), Some(ValueKind::Ipv4));
        assert_eq!(guess_kind("hxxps://x.example/"), Some(ValueKind::Url));
        assert_eq!(guess_kind(&"a".repeat(64)), Some(ValueKind::Sha256));
        assert_eq!(guess_kind("evil.example[.]com"), Some(ValueKind::Domain));
        assert_eq!(guess_kind("a@b.example"), Some(ValueKind::Email));
        assert_eq!(guess_kind("hello world"), None);
    }

    proptest! {
        #[test]
        fn never_panics_and_is_idempotent(kind in prop::sample::select(ValueKind::ALL.to_vec()), s in ".{0,80}") {
            if let Ok(n) = normalise(kind, &s) {
                prop_assert_eq!(normalise(kind, &n), Ok(n.clone()));
            }
            let _ = guess_kind(&s);
        }
    }
}
