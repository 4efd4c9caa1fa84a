//! Visibility of marked objects: [`may_see`] for one object, [`VisibilityFilter`] for lists.

use mamori_model::{GroupId, Marking, OrgId, Principal, Role, Tlp};

/// A principal's reach, in the form a storage backend turns into a `WHERE` clause. Its
/// [`admits`](Self::admits) is the one definition of visibility; [`may_see`] calls it, and each
/// backend's SQL rendering is tested against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisibilityFilter {
    /// The reader's organisation; `None` for an anonymous reader.
    pub org: Option<OrgId>,
    /// Sharing groups the reader's organisation belongs to.
    pub groups: Vec<GroupId>,
    /// The reader is a hub administrator.
    pub admin: bool,
}

impl VisibilityFilter {
    /// The filter for an anonymous reader: CLEAR only.
    pub fn anonymous() -> Self {
        Self {
            org: None,
            groups: Vec::new(),
            admin: false,
        }
    }

    /// The filter for a principal.
    pub fn for_principal(p: &Principal) -> Self {
        Self {
            org: Some(p.org_id),
            groups: p.groups.clone(),
            admin: p.role == Role::Admin,
        }
    }

    /// Whether an object with this marking passes the filter.
    pub fn admits(&self, m: &Marking) -> bool {
        if m.tlp == Tlp::Clear {
            return true;
        }
        let Some(org) = self.org else {
            return false;
        };
        let owner_or_recipient = m.owner_org == org || m.recipients.contains(&org);
        if owner_or_recipient {
            return true;
        }
        if m.tlp == Tlp::Red {
            return false;
        }
        if self.admin {
            return true;
        }
        let in_group = m.sharing_group.is_some_and(|g| self.groups.contains(&g));
        match m.tlp {
            Tlp::Green => in_group || (m.sharing_group.is_none() && m.recipients.is_empty()),
            Tlp::Amber | Tlp::AmberStrict => in_group,
            Tlp::Clear | Tlp::Red => false,
        }
    }
}

/// May this principal (or an anonymous reader, `None`) see an object with this marking?
pub fn may_see(p: Option<&Principal>, m: &Marking) -> bool {
    p.map_or_else(VisibilityFilter::anonymous, VisibilityFilter::for_principal)
        .admits(m)
}
