//! Sharing groups: named sets of organisations (a sector ISAC, a J-CSIP circle, the government
//! CSIRTs) that material can be released to.

use serde::{Deserialize, Serialize};

use crate::{GroupId, OrgId, UnixMillis};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SharingGroup {
    pub id: GroupId,
    pub name: String,
    pub description: String,
    /// The organisation that runs the group.
    pub owner_org: OrgId,
    pub members: Vec<OrgId>,
    pub created_at: UnixMillis,
}
