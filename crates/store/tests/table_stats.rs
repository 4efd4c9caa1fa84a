//! After a bulk load of posted STIX objects, PostgreSQL's planner statistics are refreshed by
//! the store itself (autovacuum would take a minute or more), so a TAXII page is planned as an
//! ordered index scan; SQLite needs nothing and the same writes work there.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use std::time::{Duration, Instant};

use mamori_model::{OrgId, Tlp};
use mamori_store::Db as Pool;
use mamori_store::stix::NewStixRow;

fn rows(from: usize, n: usize, org: OrgId) -> Vec<NewStixRow> {
    (from..from + n)
        .map(|i| NewStixRow {
            id: format!("indicator--00000000-0000-4000-8000-{i:012}"),
            version: "2026-01-01T00:00:00.000Z".into(),
            version_micros: 1_767_225_600_000_000,
            object_type: "indicator".into(),
            spec_version: "2.1".into(),
            json: format!("{{\"type\":\"indicator\",\"n\":{i}}}"),
            tlp: Tlp::Clear,
            owner_org: org,
            sharing_group: None,
            indicator: None,
        })
        .collect()
}

async fn org(db: &common::Db) -> OrgId {
    db.store
        .create_org(&mamori_store::orgs::NewOrg {
            slug: "bench".into(),
            name_ja: "ベンチ".into(),
            name_en: "Bench".into(),
            kind: mamori_model::OrgKind::Csirt,
            sector: None,
            cidrs: vec![],
            domains: vec![],
            contacts: vec![],
        })
        .await
        .unwrap()
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_statistics_follow_a_bulk_load() {
    let db = common::postgres().await;
    let org = org(&db).await;
    for k in 0..7 {
        let added = db
            .store
            .insert_posted_objects("community", &rows(k * 1000, 1000, org))
            .await
            .unwrap();
        assert_eq!(added, 1000);
    }
    let Pool::Postgres(pool) = db.store.db() else {
        unreachable!()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'stix_objects'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        let (tuples,): (f32,) =
            sqlx::query_as("SELECT reltuples FROM pg_class WHERE relname = 'stix_objects'")
                .fetch_one(pool)
                .await
                .unwrap();
        if n > 0 && tuples >= 5000.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no ANALYZE after 7,000 rows (analyze_count {n}, reltuples {tuples})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn sqlite_bulk_load_needs_no_statistics() {
    let db = common::sqlite().await;
    let org = org(&db).await;
    for k in 0..6 {
        db.store
            .insert_posted_objects("community", &rows(k * 1000, 1000, org))
            .await
            .unwrap();
    }
}

/// Two federation pushes of the same objects in opposite orders, at the same time: both
/// succeed (no deadlock between their inserts) and every object is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_of_the_same_objects_never_deadlock() {
    let db = common::postgres().await;
    let org = org(&db).await;
    for round in 0..10 {
        let forward = rows(round * 200, 200, org);
        let mut backward = forward.clone();
        backward.reverse();
        let (a, b) = tokio::join!(
            db.store.insert_posted_objects("community", &forward),
            db.store.insert_posted_objects("community", &backward)
        );
        assert_eq!(a.unwrap() + b.unwrap(), 200, "round {round}");
    }
}
