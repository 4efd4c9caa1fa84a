//! IPv4/IPv6 address and CIDR containment for `ISSUBSET` and `ISSUPERSET`.

use std::net::{Ipv4Addr, Ipv6Addr};

/// An address or CIDR block as (bits, prefix length, width).
fn parse_net(s: &str, require_prefix: bool) -> Option<(u128, u32, u32)> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => {
            if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            (a, Some(p.parse::<u32>().ok()?))
        }
        None if require_prefix => return None,
        None => (s, None),
    };
    let (bits, width) = if let Ok(v4) = addr.parse::<Ipv4Addr>() {
        (u128::from(u32::from(v4)), 32)
    } else {
        (u128::from(addr.parse::<Ipv6Addr>().ok()?), 128)
    };
    let prefix = prefix.unwrap_or(width);
    (prefix <= width).then_some((bits, prefix, width))
}

/// True if the address or block `inner` lies within the block `outer` (same IP version).
pub(super) fn ip_in_subnet(inner: &str, outer: &str) -> bool {
    let (Some((ib, ip, iw)), Some((ob, op, ow))) =
        (parse_net(inner, false), parse_net(outer, true))
    else {
        return false;
    };
    if iw != ow || op > ip {
        return false;
    }
    let shift = ow - op;
    let mask = if shift >= 128 {
        0
    } else {
        (u128::MAX << shift)
            & (if ow == 32 {
                u128::from(u32::MAX)
            } else {
                u128::MAX
            })
    };
    ib & mask == ob & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets() {
        assert!(ip_in_subnet("198.51.100.7", "198.51.100.0/24"));
        assert!(!ip_in_subnet("198.51.101.7", "198.51.100.0/24"));
        assert!(ip_in_subnet("198.51.100.0/25", "198.51.100.0/24"));
        assert!(!ip_in_subnet("198.51.100.0/23", "198.51.100.0/24"));
        assert!(ip_in_subnet("10.1.2.3", "0.0.0.0/0"));
        assert!(ip_in_subnet("2001:db8::1", "2001:db8::/32"));
        assert!(!ip_in_subnet("2001:db9::1", "2001:db8::/32"));
        assert!(!ip_in_subnet("2001:db8::1", "10.0.0.0/8"));
        assert!(!ip_in_subnet("nonsense", "10.0.0.0/8"));
        assert!(!ip_in_subnet("10.0.0.1", "10.0.0.0/33"));
    }
}
