//! MISP attribute types ↔ Mamori value kinds. Composite MISP types (`filename|sha256`,
//! `ip-dst|port`) split into their parts; the port of an address is kept in the comment.

use mamori_model::ValueKind;

/// The Mamori values carried by one MISP attribute (empty when the type has no mapping).
pub fn to_kinds(misp_type: &str, value: &str) -> Vec<(ValueKind, String)> {
    let ip_kind = |v: &str| match v.trim().parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => Some(ValueKind::Ipv4),
        Ok(std::net::IpAddr::V6(_)) => Some(ValueKind::Ipv6),
        Err(_) if v.contains('/') => Some(ValueKind::Cidr),
        Err(_) => None,
    };
    let single = |k: ValueKind| vec![(k, value.trim().to_owned())];
    match misp_type {
        "ip-src" | "ip-dst" => ip_kind(value)
            .map(|k| vec![(k, value.trim().to_owned())])
            .unwrap_or_default(),
        "ip-src|port" | "ip-dst|port" => {
            let ip = value.rsplit_once('|').map_or(value, |(ip, _)| ip);
            ip_kind(ip)
                .map(|k| vec![(k, ip.trim().to_owned())])
                .unwrap_or_default()
        }
        "domain" | "hostname" => single(ValueKind::Domain),
        "domain|ip" => {
            let mut out = Vec::new();
            if let Some((d, ip)) = value.split_once('|') {
                out.push((ValueKind::Domain, d.trim().to_owned()));
                if let Some(k) = ip_kind(ip) {
                    out.push((k, ip.trim().to_owned()));
                }
            }
            out
        }
        "url" | "link" => single(ValueKind::Url),
        "email" | "email-src" | "email-dst" | "email-reply-to" | "target-email" => {
            single(ValueKind::Email)
        }
        "md5" => single(ValueKind::Md5),
        "sha1" => single(ValueKind::Sha1),
        "sha256" => single(ValueKind::Sha256),
        "ssdeep" => single(ValueKind::Ssdeep),
        "tlsh" => single(ValueKind::Tlsh),
        "filename" => single(ValueKind::FileName),
        "mutex" => single(ValueKind::Mutex),
        "regkey" => single(ValueKind::RegistryKey),
        "user-agent" => single(ValueKind::UserAgent),
        "AS" => single(ValueKind::Asn),
        "vulnerability" => single(ValueKind::Cve),
        t if t.starts_with("filename|") => {
            let hash = match &t["filename|".len()..] {
                "md5" => Some(ValueKind::Md5),
                "sha1" => Some(ValueKind::Sha1),
                "sha256" => Some(ValueKind::Sha256),
                "ssdeep" => Some(ValueKind::Ssdeep),
                "tlsh" => Some(ValueKind::Tlsh),
                _ => None,
            };
            match (value.split_once('|'), hash) {
                (Some((f, h)), Some(k)) => vec![
                    (ValueKind::FileName, f.to_owned()),
                    (k, h.trim().to_owned()),
                ],
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

/// The MISP type and category for a Mamori value kind.
pub fn from_kind(kind: ValueKind) -> (&'static str, &'static str) {
    match kind {
        ValueKind::Ipv4 | ValueKind::Ipv6 | ValueKind::Cidr => ("ip-dst", "Network activity"),
        ValueKind::Domain => ("domain", "Network activity"),
        ValueKind::Url => ("url", "Network activity"),
        ValueKind::Email => ("email-src", "Payload delivery"),
        ValueKind::Md5 => ("md5", "Payload delivery"),
        ValueKind::Sha1 => ("sha1", "Payload delivery"),
        ValueKind::Sha256 => ("sha256", "Payload delivery"),
        ValueKind::Ssdeep => ("ssdeep", "Payload delivery"),
        ValueKind::Tlsh => ("tlsh", "Payload delivery"),
        ValueKind::FileName => ("filename", "Payload delivery"),
        ValueKind::Mutex => ("mutex", "Artifacts dropped"),
        ValueKind::RegistryKey => ("regkey", "Persistence mechanism"),
        ValueKind::UserAgent => ("user-agent", "Network activity"),
        ValueKind::Asn => ("AS", "Network activity"),
        ValueKind::Cve => ("vulnerability", "External analysis"),
    }
}
