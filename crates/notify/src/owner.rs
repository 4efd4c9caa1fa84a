//! Who owns an observation: longest-prefix match of its address on member organisations' ranges,
//! else its host name matched against their domains, walking up to (never past) the registered
//! domain given by the public suffix list, so `example.co.jp` can not claim all of `co.jp`.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;
use mamori_model::{Org, OrgId, ValueKind};
use serde::Serialize;

use crate::Observation;

/// Why an organisation owns an observation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerMatch {
    pub org: OrgId,
    /// `cidr 192.0.2.0/24` or `domain example.go.jp`.
    pub reason: String,
}

/// An immutable lookup table built from the organisations.
#[derive(Debug, Default)]
pub struct OwnerIndex {
    v4: HashMap<(u8, u32), OrgId>,
    v6: HashMap<(u8, u128), OrgId>,
    v4_lens: Vec<u8>,
    v6_lens: Vec<u8>,
    domains: HashMap<String, OrgId>,
    asns: HashMap<u32, OrgId>,
}

fn mask4(a: u32, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        a & (u32::MAX << (32 - u32::from(len)))
    }
}

fn mask6(a: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        a & (u128::MAX << (128 - u32::from(len)))
    }
}

impl OwnerIndex {
    pub fn build<'a>(orgs: impl IntoIterator<Item = &'a Org>) -> OwnerIndex {
        let mut idx = OwnerIndex::default();
        for o in orgs {
            for net in &o.cidrs {
                match net {
                    IpNet::V4(n) => {
                        let len = n.prefix_len();
                        idx.v4
                            .entry((len, mask4(u32::from(n.network()), len)))
                            .or_insert(o.id);
                        idx.v4_lens.push(len);
                    }
                    IpNet::V6(n) => {
                        let len = n.prefix_len();
                        idx.v6
                            .entry((len, mask6(u128::from(n.network()), len)))
                            .or_insert(o.id);
                        idx.v6_lens.push(len);
                    }
                }
            }
            for d in &o.domains {
                idx.domains.entry(d.to_ascii_lowercase()).or_insert(o.id);
            }
        }
        for lens in [&mut idx.v4_lens, &mut idx.v6_lens] {
            lens.sort_unstable_by(|a, b| b.cmp(a));
            lens.dedup();
        }
        idx
    }

    /// Adds the imported ASN-to-organisation table (see [`crate::asn`]).
    pub fn with_asns(mut self, table: impl IntoIterator<Item = (u32, OrgId)>) -> OwnerIndex {
        for (asn, org) in table {
            self.asns.entry(asn).or_insert(org);
        }
        self
    }

    /// The owner of an AS number, from the imported table.
    pub fn owner_of_asn(&self, asn: u32) -> Option<OwnerMatch> {
        self.asns.get(&asn).map(|org| OwnerMatch {
            org: *org,
            reason: format!("asn AS{asn}"),
        })
    }

    /// The owner of an address: the most specific range that contains it.
    pub fn owner_of_ip(&self, ip: IpAddr) -> Option<OwnerMatch> {
        match ip {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                self.v4_lens.iter().find_map(|len| {
                    self.v4.get(&(*len, mask4(a, *len))).map(|org| OwnerMatch {
                        org: *org,
                        reason: format!("cidr {}/{len}", std::net::Ipv4Addr::from(mask4(a, *len))),
                    })
                })
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                self.v6_lens.iter().find_map(|len| {
                    self.v6.get(&(*len, mask6(a, *len))).map(|org| OwnerMatch {
                        org: *org,
                        reason: format!("cidr {}/{len}", std::net::Ipv6Addr::from(mask6(a, *len))),
                    })
                })
            }
        }
    }

    /// The owner of a host name: the name itself or a parent, up to its registered domain.
    pub fn owner_of_domain(&self, host: &str) -> Option<OwnerMatch> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let registered = psl::domain_str(&host)
            .map(str::to_owned)
            .unwrap_or_else(|| host.clone());
        let mut name = host.as_str();
        loop {
            if let Some(org) = self.domains.get(name) {
                return Some(OwnerMatch {
                    org: *org,
                    reason: format!("domain {name}"),
                });
            }
            if name.len() <= registered.len() {
                return None;
            }
            name = name.split_once('.').map(|(_, rest)| rest)?;
        }
    }

    /// The owner of an observation: by its address first (a member's own range is the most
    /// specific claim), then by its AS number, then by its host name.
    pub fn owner_of(&self, o: &Observation) -> Option<OwnerMatch> {
        if let Some(ip) = o.ip
            && let Some(m) = self.owner_of_ip(ip)
        {
            return Some(m);
        }
        if let Some(asn) = o.asn
            && let Some(m) = self.owner_of_asn(asn)
        {
            return Some(m);
        }
        let host = match o.kind {
            ValueKind::Domain => Some(o.value.clone()),
            ValueKind::Url => o
                .value
                .split_once("://")
                .and_then(|(_, r)| r.split(['/', '?', ':']).next())
                .map(str::to_owned),
            _ => o.hostname.clone(),
        };
        host.and_then(|h| self.owner_of_domain(&h))
            .or_else(|| o.hostname.as_deref().and_then(|h| self.owner_of_domain(h)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mamori_model::OrgKind;

    fn org(n: u128, cidrs: &[&str], domains: &[&str]) -> Org {
        Org {
            id: OrgId(uuid::Uuid::from_u128(n)),
            slug: format!("o{n}"),
            name_ja: String::new(),
            name_en: format!("o{n}"),
            kind: OrgKind::Isp,
            sector: None,
            cidrs: cidrs.iter().map(|c| c.parse().unwrap()).collect(),
            domains: domains.iter().map(|d| (*d).to_owned()).collect(),
            contacts: vec![],
            created_at: 0,
        }
    }

    #[test]
    fn longest_prefix_and_registered_domain() {
        let isp = org(1, &["203.0.113.0/24", "2001:db8::/32"], &["isp.example.jp"]);
        let customer = org(2, &["203.0.113.128/25"], &["city.sendai.example.jp"]);
        let coop = org(3, &[], &["example.co.jp"]);
        let idx = OwnerIndex::build([&isp, &customer, &coop]);
        assert_eq!(
            idx.owner_of_ip("203.0.113.200".parse().unwrap())
                .unwrap()
                .org,
            customer.id
        );
        assert_eq!(
            idx.owner_of_ip("203.0.113.5".parse().unwrap()).unwrap().org,
            isp.id
        );
        assert_eq!(
            idx.owner_of_ip("2001:db8:1::9".parse().unwrap())
                .unwrap()
                .org,
            isp.id
        );
        assert!(idx.owner_of_ip("198.51.100.1".parse().unwrap()).is_none());
        assert_eq!(
            idx.owner_of_domain("www.city.sendai.example.jp")
                .unwrap()
                .org,
            customer.id
        );
        assert_eq!(
            idx.owner_of_domain("mail.example.co.jp").unwrap().org,
            coop.id
        );
        assert!(
            idx.owner_of_domain("other.co.jp").is_none(),
            "a registered domain never claims its suffix"
        );
        assert!(idx.owner_of_domain("example.com").is_none());
    }

    #[test]
    fn asn_table_owns_what_no_range_claims() {
        let isp = org(1, &["203.0.113.0/24"], &[]);
        let carrier = org(2, &[], &["carrier.example.jp"]);
        let table = crate::asn::parse_asn_table(
            "asn,org\n# imported 2026-11\nAS64500,o2\n64501\to1\n",
            &[isp.clone(), carrier.clone()],
        )
        .unwrap();
        assert_eq!(table, vec![(64500, carrier.id), (64501, isp.id)]);
        let idx = OwnerIndex::build([&isp, &carrier]).with_asns(table);
        let obs = |ip: &str, asn: Option<u32>| Observation {
            kind: ValueKind::Ipv4,
            value: ip.into(),
            seen_at: None,
            source: "t".into(),
            category: "c".into(),
            ip: ip.parse().ok(),
            port: None,
            asn,
            hostname: None,
            evidence: Default::default(),
            line: 1,
        };
        // A member's own range beats the AS table; the AS table beats nothing.
        assert_eq!(
            idx.owner_of(&obs("203.0.113.9", Some(64500))).unwrap().org,
            isp.id
        );
        let m = idx.owner_of(&obs("198.51.100.9", Some(64500))).unwrap();
        assert_eq!((m.org, m.reason.as_str()), (carrier.id, "asn AS64500"));
        assert!(idx.owner_of(&obs("198.51.100.9", Some(1))).is_none());
        match crate::asn::parse_asn_table("AS1,o1\nASX,o1\n7,nobody\njunk\n", &[isp]) {
            Err(crate::asn::AsnTableError::Lines(l)) => {
                assert_eq!(l.iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![2, 3, 4]);
            }
            other => panic!("{other:?}"),
        }
    }
}
