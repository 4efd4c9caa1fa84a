//! Participation in incident-response cases: a case, its evidence and timeline are for the
//! organisations taking part; a coordination request inside a case is for the organisation that
//! asked and the one asked. Hub administrators see every case and request so that they can run
//! the hub. Command-line and system actors have no principal and are checked by their callers.

use mamori_model::{OrgId, Principal, Role};

/// May this principal see a case (and its tasks, timeline and evidence) whose participating
/// organisations are `participants`?
pub fn may_see_case(p: &Principal, participants: &[OrgId]) -> bool {
    p.role == Role::Admin || participants.contains(&p.org_id)
}

/// May this principal see a coordination request from `from` to `to`?
pub fn may_see_request(p: &Principal, from: OrgId, to: OrgId) -> bool {
    p.role == Role::Admin || p.org_id == from || p.org_id == to
}

/// The organisation whose requests a principal's lists are narrowed to (`None`: all of them).
pub fn request_scope(p: &Principal) -> Option<OrgId> {
    (p.role != Role::Admin).then_some(p.org_id)
}
