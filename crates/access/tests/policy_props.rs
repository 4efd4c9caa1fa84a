//! Property tests of the visibility policy over random worlds: organisations, sharing groups with
//! random memberships, random markings and random principals. The policy is compared with an
//! independent, set-based reading of TLP 2.0, and with the invariants any reading must keep.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::collections::BTreeSet;

use mamori_access::{VisibilityFilter, may_see};
use mamori_model::{GroupId, Marking, OrgId, Principal, Role, Scope, Tlp, UserId};
use proptest::prelude::*;
use uuid::Uuid;

const ORGS: u128 = 6;
const GROUPS: u128 = 3;

fn org(i: u128) -> OrgId {
    OrgId(Uuid::from_u128(1000 + i))
}
fn group(i: u128) -> GroupId {
    GroupId(Uuid::from_u128(2000 + i))
}

#[derive(Debug, Clone)]
struct World {
    /// membership[g] = the orgs in group g
    membership: Vec<BTreeSet<u128>>,
}

impl World {
    fn groups_of(&self, o: u128) -> Vec<GroupId> {
        (0..GROUPS)
            .filter(|g| self.membership[*g as usize].contains(&o))
            .map(group)
            .collect()
    }
}

fn world() -> impl Strategy<Value = World> {
    prop::collection::vec(
        prop::collection::btree_set(0..ORGS, 0..=ORGS as usize),
        GROUPS as usize,
    )
    .prop_map(|membership| World { membership })
}

fn tlp() -> impl Strategy<Value = Tlp> {
    prop::sample::select(Tlp::ALL.to_vec())
}

fn role() -> impl Strategy<Value = Role> {
    prop::sample::select(Role::ALL.to_vec())
}

#[derive(Debug, Clone)]
struct Case {
    world: World,
    tlp: Tlp,
    owner: u128,
    group: Option<u128>,
    recipients: BTreeSet<u128>,
    reader: Option<(u128, Role)>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        world(),
        tlp(),
        0..ORGS,
        prop::option::of(0..GROUPS),
        prop::collection::btree_set(0..ORGS, 0..3),
        prop::option::of((0..ORGS, role())),
    )
        .prop_map(|(world, tlp, owner, group, recipients, reader)| Case {
            world,
            tlp,
            owner,
            group,
            recipients,
            reader,
        })
}

impl Case {
    fn marking(&self) -> Marking {
        Marking {
            tlp: self.tlp,
            owner_org: org(self.owner),
            sharing_group: self.group.map(group),
            recipients: self.recipients.iter().map(|r| org(*r)).collect(),
        }
    }
    fn principal(&self) -> Option<Principal> {
        self.reader.map(|(o, role)| Principal {
            user_id: UserId(Uuid::from_u128(3000)),
            username: "reader".into(),
            org_id: org(o),
            role,
            groups: self.world.groups_of(o),
            scopes: vec![Scope::Read],
        })
    }

    /// TLP 2.0 read as sets of organisations, written independently of the policy module.
    fn reference(&self) -> bool {
        let everyone: BTreeSet<u128> = (0..ORGS).collect();
        let group_members = self
            .group
            .map(|g| self.world.membership[g as usize].clone())
            .unwrap_or_default();
        let mut audience: BTreeSet<u128> = [self.owner].into();
        audience.extend(&self.recipients);
        let named: BTreeSet<u128> = audience.clone();
        audience.extend(&group_members);
        let readers: BTreeSet<u128> = match self.tlp {
            Tlp::Clear => return true,
            Tlp::Green if self.group.is_none() && self.recipients.is_empty() => everyone,
            Tlp::Green | Tlp::Amber | Tlp::AmberStrict => audience,
            Tlp::Red => named.clone(),
        };
        match self.reader {
            None => false,
            Some((o, role)) => {
                readers.contains(&o)
                    || (role == Role::Admin && (self.tlp != Tlp::Red || named.contains(&o)))
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn policy_matches_set_reading_of_tlp(c in case()) {
        let p = c.principal();
        prop_assert_eq!(may_see(p.as_ref(), &c.marking()), c.reference(), "{:?}", c);
    }

    #[test]
    fn owner_and_named_recipients_always_see(c in case()) {
        let m = c.marking();
        for o in std::iter::once(c.owner).chain(c.recipients.iter().copied()) {
            let mut c2 = c.clone();
            c2.reader = Some((o, Role::Member));
            prop_assert!(may_see(c2.principal().as_ref(), &m));
        }
    }

    #[test]
    fn anonymous_sees_only_clear(c in case()) {
        prop_assert_eq!(may_see(None, &c.marking()), c.tlp == Tlp::Clear);
    }

    #[test]
    fn more_restrictive_never_shows_more(c in case()) {
        let p = c.principal();
        let m = c.marking();
        for looser in Tlp::ALL.into_iter().filter(|t| *t < c.tlp) {
            let mut lm = m.clone();
            lm.tlp = looser;
            if may_see(p.as_ref(), &m) {
                prop_assert!(may_see(p.as_ref(), &lm), "seen at {} but not at {}", c.tlp, looser);
            }
        }
    }

    #[test]
    fn leaving_groups_never_shows_more(c in case()) {
        if let Some(mut p) = c.principal() {
            let m = c.marking();
            let before = may_see(Some(&p), &m);
            p.groups.clear();
            prop_assert!(!may_see(Some(&p), &m) || before);
        }
    }

    #[test]
    fn red_reaches_no_one_unnamed(c in case()) {
        if c.tlp == Tlp::Red
            && let Some((o, _)) = c.reader
        {
            let named = o == c.owner || c.recipients.contains(&o);
            prop_assert_eq!(may_see(c.principal().as_ref(), &c.marking()), named);
        }
    }

    #[test]
    fn filter_and_decision_agree(c in case()) {
        let p = c.principal();
        let f = p.as_ref().map_or_else(VisibilityFilter::anonymous, VisibilityFilter::for_principal);
        prop_assert_eq!(f.admits(&c.marking()), may_see(p.as_ref(), &c.marking()));
    }
}
