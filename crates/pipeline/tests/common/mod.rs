//! Shared helpers of the pipeline's integration tests: one fresh store per backend, an
//! organisation, and a batch of flat JSON events from a sender that owns them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose
#![allow(dead_code)] // each test binary uses its own subset

use mamori_model::{OrgId, OrgKind};
use mamori_pipeline::{BatchHeader, RawBatch, Routing};
use mamori_store::orgs::NewOrg;
use mamori_store::{ConnectOptions, Store, now_millis};

/// A fresh SQLite store (with the directory that holds it) and a fresh PostgreSQL database.
pub async fn stores() -> Vec<(Store, Option<tempfile::TempDir>)> {
    let (dir, url) = mamori_testkit::fresh_sqlite_url();
    let sqlite = Store::connect(&url, &ConnectOptions::default())
        .await
        .unwrap();
    let pg_url = mamori_testkit::Postgres::shared().fresh_database_url();
    let pg = Store::connect(&pg_url, &ConnectOptions::default())
        .await
        .unwrap();
    vec![(sqlite, Some(dir)), (pg, None)]
}

/// A ministry with no address ranges or domains.
pub async fn org(s: &Store, slug: &str) -> OrgId {
    s.create_org(&NewOrg {
        slug: slug.into(),
        name_ja: slug.into(),
        name_en: slug.into(),
        kind: OrgKind::Ministry,
        sector: None,
        cidrs: vec![],
        domains: vec![],
        contacts: vec![],
    })
    .await
    .unwrap()
    .id
}

/// A batch of flat JSON lines from a sender of `org` (alerts go to `org`).
pub fn batch(org: OrgId, id: &str, lines: &[serde_json::Value]) -> RawBatch {
    RawBatch {
        header: BatchHeader {
            source: format!("test:{org}"),
            batch_id: id.into(),
            org_id: org,
            routing: Routing::Sensor,
            format: "json".into(),
            received_at: now_millis(),
        },
        body: lines
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes(),
    }
}

/// A report of `owner` under `tlp` sharing the indicators (what retro-hunts look for).
pub async fn report(
    s: &Store,
    owner: OrgId,
    tlp: mamori_model::Tlp,
    indicators: Vec<mamori_store::reports::NewIndicator>,
) {
    s.create_report(&mamori_store::reports::NewReport {
        title: "Retro".into(),
        description: String::new(),
        owner_org: owner,
        anonymous: false,
        tlp,
        sharing_group: None,
        recipients: vec![],
        confidence: Some(80),
        labels: vec![],
        attack_techniques: vec![],
        created_by: None,
        indicators,
        observables: vec![],
    })
    .await
    .unwrap();
}
