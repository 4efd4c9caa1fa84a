//! The TLP 2.0 definitions as a table: one row per (marking, reader) case, with the answer the
//! definition gives.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use mamori_access::{VisibilityFilter, may_see};
use mamori_model::{GroupId, Marking, OrgId, Principal, Role, Scope, Tlp, UserId};

struct World {
    author: OrgId,
    recipient: OrgId,
    isac_member: OrgId,
    outsider: OrgId,
    hub: OrgId,
    isac: GroupId,
}

fn principal(org: OrgId, role: Role, groups: Vec<GroupId>) -> Principal {
    Principal {
        user_id: UserId::new(),
        username: "u".into(),
        org_id: org,
        role,
        groups,
        scopes: vec![Scope::Read, Scope::Write, Scope::Admin],
    }
}

#[test]
fn tlp_2_0_definitions() {
    let w = World {
        author: OrgId::new(),
        recipient: OrgId::new(),
        isac_member: OrgId::new(),
        outsider: OrgId::new(),
        hub: OrgId::new(),
        isac: GroupId::new(),
    };
    let readers = [
        (
            "author",
            Some(principal(w.author, Role::Member, vec![w.isac])),
        ),
        (
            "recipient",
            Some(principal(w.recipient, Role::Member, vec![])),
        ),
        (
            "isac member",
            Some(principal(w.isac_member, Role::Analyst, vec![w.isac])),
        ),
        (
            "outsider",
            Some(principal(w.outsider, Role::Analyst, vec![])),
        ),
        ("hub admin", Some(principal(w.hub, Role::Admin, vec![]))),
        ("anonymous", None),
    ];
    // Columns follow `readers`: author, recipient, isac member, outsider, hub admin, anonymous.
    #[rustfmt::skip]
    let table: &[(Tlp, bool, bool, [bool; 6])] = &[
        // tlp,            group, recipient named
        (Tlp::Clear,       false, false, [true, true, true, true, true, true]),
        (Tlp::Clear,       true,  true,  [true, true, true, true, true, true]),
        (Tlp::Green,       false, false, [true, true, true, true, true, false]),
        (Tlp::Green,       true,  false, [true, false, true, false, true, false]),
        (Tlp::Green,       false, true,  [true, true, false, false, true, false]),
        (Tlp::Amber,       false, false, [true, false, false, false, true, false]),
        (Tlp::Amber,       true,  false, [true, false, true, false, true, false]),
        (Tlp::Amber,       true,  true,  [true, true, true, false, true, false]),
        (Tlp::AmberStrict, false, true,  [true, true, false, false, true, false]),
        (Tlp::AmberStrict, true,  false, [true, false, true, false, true, false]),
        (Tlp::Red,         false, false, [true, false, false, false, false, false]),
        (Tlp::Red,         false, true,  [true, true, false, false, false, false]),
        // A sharing group never widens RED.
        (Tlp::Red,         true,  false, [true, false, false, false, false, false]),
    ];
    for (tlp, group, named, expected) in table {
        let marking = Marking {
            tlp: *tlp,
            owner_org: w.author,
            sharing_group: group.then_some(w.isac),
            recipients: if *named { vec![w.recipient] } else { vec![] },
        };
        for ((who, reader), want) in readers.iter().zip(expected) {
            assert_eq!(
                may_see(reader.as_ref(), &marking),
                *want,
                "{tlp} group={group} recipient={named}: {who}"
            );
        }
    }
}

#[test]
fn hub_admin_sees_red_only_when_addressed() {
    let hub = OrgId::new();
    let admin = principal(hub, Role::Admin, vec![]);
    let mut m = Marking {
        tlp: Tlp::Red,
        owner_org: OrgId::new(),
        sharing_group: None,
        recipients: vec![],
    };
    assert!(!VisibilityFilter::for_principal(&admin).admits(&m));
    m.recipients.push(hub);
    assert!(VisibilityFilter::for_principal(&admin).admits(&m));
}
