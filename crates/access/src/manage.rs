//! Management rights: who may administer the hub, manage an organisation, write material or read
//! the audit log. Credentials narrow rights further through their scopes.

use mamori_model::{OrgId, Principal, Role, Scope};

/// Hub administration: organisations, users of any organisation, sharing groups.
pub fn may_administer(p: &Principal) -> bool {
    p.role == Role::Admin && p.has_scope(Scope::Admin)
}

/// Changing an organisation's profile or its users. Only hub administrators may; a member's
/// credential can never manage any organisation, its own included.
pub fn may_manage_org(p: &Principal, _org: OrgId) -> bool {
    may_administer(p)
}

/// Creating or changing shared material on behalf of one's own organisation.
pub fn may_write(p: &Principal) -> bool {
    matches!(p.role, Role::Admin | Role::Analyst) && p.has_scope(Scope::Write)
}

/// Reading and verifying the audit log.
pub fn may_read_audit(p: &Principal) -> bool {
    matches!(p.role, Role::Admin | Role::Auditor) && p.has_scope(Scope::Read)
}

/// The scopes a role's credentials may carry. A session gets all of them; a token gets the ones
/// it was created with, which must be among these.
pub fn role_scopes(role: Role) -> &'static [Scope] {
    match role {
        Role::Admin => &[Scope::Read, Scope::Write, Scope::Admin],
        Role::Analyst | Role::Member => &[Scope::Read, Scope::Write],
        Role::Auditor => &[Scope::Read],
    }
}
