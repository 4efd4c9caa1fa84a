//! What the pipeline needs to know about organisations: each one's visibility filter (its
//! sharing groups), the owner index for routing by address and domain, and the hub's own
//! organisation. Rebuilt from the store by [`OrgTable::load`] and swapped as a whole.

use std::collections::HashMap;

use mamori_access::VisibilityFilter;
use mamori_model::OrgId;
use mamori_notify::owner::OwnerIndex;
use mamori_store::{Store, StoreError};

#[derive(Debug, Default)]
pub struct OrgTable {
    pub filters: HashMap<OrgId, VisibilityFilter>,
    pub owners: OwnerIndex,
    /// Unrouted and cross-organisation alerts go here.
    pub hub: Option<OrgId>,
}

impl OrgTable {
    pub async fn load(store: &Store, hub_slug: &str) -> Result<OrgTable, StoreError> {
        let orgs = store.all_orgs().await?;
        let mut filters = HashMap::new();
        for o in &orgs {
            filters.insert(
                o.id,
                VisibilityFilter {
                    org: Some(o.id),
                    groups: store.groups_of_org(o.id).await?,
                    admin: false,
                },
            );
        }
        Ok(OrgTable {
            owners: OwnerIndex::build(orgs.iter()),
            hub: orgs.iter().find(|o| o.slug == hub_slug).map(|o| o.id),
            filters,
        })
    }

    /// The filter of an organisation (an unknown one sees CLEAR only).
    pub fn filter(&self, org: OrgId) -> VisibilityFilter {
        self.filters.get(&org).cloned().unwrap_or(VisibilityFilter {
            org: Some(org),
            groups: vec![],
            admin: false,
        })
    }
}
