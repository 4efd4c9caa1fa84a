//! The visibility decision is on every read path: how long does one decision take, and a
//! filter over a page of 10,000 markings?

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use mamori_access::{VisibilityFilter, may_see};
use mamori_model::{GroupId, Marking, OrgId, Principal, Role, Scope, Tlp, UserId};
use uuid::Uuid;

fn world() -> (Principal, Vec<Marking>) {
    let orgs: Vec<OrgId> = (0..50).map(|i| OrgId(Uuid::from_u128(i))).collect();
    let groups: Vec<GroupId> = (0..10)
        .map(|i| GroupId(Uuid::from_u128(1000 + i)))
        .collect();
    let p = Principal {
        user_id: UserId::new(),
        username: "bench".into(),
        org_id: orgs[7],
        role: Role::Analyst,
        groups: groups[..4].to_vec(),
        scopes: vec![Scope::Read],
    };
    let markings = (0..10_000usize)
        .map(|i| Marking {
            tlp: Tlp::ALL[i % 5],
            owner_org: orgs[i % 50],
            sharing_group: (i % 3 == 0).then(|| groups[i % 10]),
            recipients: if i % 7 == 0 {
                vec![orgs[(i + 1) % 50], orgs[7]]
            } else {
                vec![]
            },
        })
        .collect();
    (p, markings)
}

fn bench(c: &mut Criterion) {
    let (p, markings) = world();
    c.bench_function("may_see one marking", |b| {
        let m = &markings[4242];
        b.iter(|| may_see(Some(std::hint::black_box(&p)), std::hint::black_box(m)))
    });
    c.bench_function("filter 10k markings", |b| {
        let f = VisibilityFilter::for_principal(&p);
        b.iter(|| markings.iter().filter(|m| f.admits(m)).count())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
