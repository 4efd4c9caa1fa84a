//! The member organisations a stored message was addressed to: the domains of its To and Cc
//! addresses matched against the organisations' registered domains with the owner index that
//! notices use (a subdomain belongs to its parent's owner). An analysis shows its targets, and a
//! campaign the targets of the members the reader may see, so an analyst sees at once that the
//! same sender reached three ministries. Computed on read from the stored analysis: a domain
//! registered later still counts.

use std::collections::BTreeMap;

use mamori_model::{Org, OrgId};
use mamori_notify::OwnerIndex;
use mamori_store::Store;
use serde::{Deserialize, Serialize};

use crate::ApiError;

/// A member organisation the message was addressed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TargetOrg {
    #[schema(value_type = String)]
    pub id: OrgId,
    pub slug: String,
    pub name_ja: String,
    pub name_en: String,
    /// How many recipient addresses (To and Cc, over the messages counted) belong to it.
    pub addresses: usize,
}

#[derive(Deserialize)]
struct Envelope {
    headers: Recipients,
}

#[derive(Deserialize)]
struct Recipients {
    #[serde(default)]
    to: Vec<Mailbox>,
    #[serde(default)]
    cc: Vec<Mailbox>,
}

#[derive(Deserialize)]
struct Mailbox {
    address: Option<String>,
}

impl TargetOrg {
    /// `name (n)` in the reader's language, as the console lists it.
    pub fn shown(&self, lang: mamori_model::Lang) -> String {
        let name = match lang {
            mamori_model::Lang::Ja => &self.name_ja,
            mamori_model::Lang::En => &self.name_en,
        };
        format!("{name} ({})", self.addresses)
    }
}

/// The domains of the To and Cc addresses of a stored analysis (JSON), one per address.
pub fn recipient_domains(analysis_json: &str) -> Vec<String> {
    let Ok(e) = serde_json::from_str::<Envelope>(analysis_json) else {
        return Vec::new();
    };
    e.headers
        .to
        .iter()
        .chain(&e.headers.cc)
        .filter_map(|m| m.address.as_deref())
        .filter_map(|a| {
            a.rsplit_once('@')
                .map(|(_, d)| d.trim().to_ascii_lowercase())
        })
        .filter(|d| !d.is_empty())
        .collect()
}

/// Every organisation and the owner index over their domains.
pub struct OrgDirectory {
    index: OwnerIndex,
    orgs: BTreeMap<OrgId, Org>,
}

impl OrgDirectory {
    /// Reads every organisation.
    pub async fn load(store: &Store) -> Result<OrgDirectory, ApiError> {
        let orgs = store.all_orgs().await?;
        Ok(OrgDirectory {
            index: OwnerIndex::build(orgs.iter()),
            orgs: orgs.into_iter().map(|o| (o.id, o)).collect(),
        })
    }

    /// The organisations owning `domains`, most addresses first, then by slug.
    pub fn targets<'a>(&self, domains: impl IntoIterator<Item = &'a str>) -> Vec<TargetOrg> {
        let mut counts: BTreeMap<OrgId, usize> = BTreeMap::new();
        for d in domains {
            if let Some(m) = self.index.owner_of_domain(d) {
                *counts.entry(m.org).or_default() += 1;
            }
        }
        let mut out: Vec<TargetOrg> = counts
            .into_iter()
            .filter_map(|(id, addresses)| {
                self.orgs.get(&id).map(|o| TargetOrg {
                    id,
                    slug: o.slug.clone(),
                    name_ja: o.name_ja.clone(),
                    name_en: o.name_en.clone(),
                    addresses,
                })
            })
            .collect();
        out.sort_by(|a, b| b.addresses.cmp(&a.addresses).then(a.slug.cmp(&b.slug)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_come_from_to_and_cc() {
        let json = r#"{"headers":{"to":[{"address":"taro@Mail.MOD.go.jp"},{"name":"x"}],
                       "cc":[{"address":"hanako@mic.go.jp"}],"from":[]},"urls":[]}"#;
        assert_eq!(recipient_domains(json), ["mail.mod.go.jp", "mic.go.jp"]);
        assert!(recipient_domains("not json").is_empty());
    }
}
