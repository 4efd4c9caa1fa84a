//! Users, their roles, API tokens and the [`Principal`]: the resolved "who is asking" that the
//! visibility policy judges.

use serde::{Deserialize, Serialize};

use crate::string_enum::string_enum;
use crate::{GroupId, Lang, OrgId, TokenId, UnixMillis, UserId};

string_enum!(
    /// What a user may do. Visibility of shared material is decided by TLP and groups, not by
    /// role, except that hub administrators see what is needed to run the hub.
    Role, "role" {
        /// Runs the hub: manages organisations, users, groups; sees all but RED material.
        Admin = "admin",
        /// Works material on behalf of their organisation (create, edit, share).
        Analyst = "analyst",
        /// Reads what their organisation may see; manages their own tokens.
        Member = "member",
        /// Reads the audit log and what their organisation may see.
        Auditor = "auditor",
    }
);

string_enum!(
    /// What an API token may be used for. A token never exceeds its user's role.
    Scope, "scope" {
        Read = "read",
        Write = "write",
        Admin = "admin",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub org_id: OrgId,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role: Role,
    pub lang: Lang,
    pub disabled: bool,
    pub created_at: UnixMillis,
}

/// An API token's metadata. The secret is shown once at creation and only its hash is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: TokenId,
    pub user_id: UserId,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: UnixMillis,
    pub expires_at: Option<UnixMillis>,
    pub revoked_at: Option<UnixMillis>,
    pub last_used_at: Option<UnixMillis>,
}

impl ApiToken {
    /// Usable now: not revoked and not expired.
    pub fn is_live(&self, now: UnixMillis) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

/// The resolved identity behind a request: the user, their organisation, role, the sharing groups
/// their organisation belongs to, and the scopes of the credential used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub user_id: UserId,
    pub username: String,
    pub org_id: OrgId,
    pub role: Role,
    pub groups: Vec<GroupId>,
    pub scopes: Vec<Scope>,
}

impl Principal {
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}
