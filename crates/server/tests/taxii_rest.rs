//! TAXII, the rest of issue 4, over real storage on both backends: indicators posted to a
//! collection become detection input with their collection's marking (and the policy still
//! decides who may learn of a hit); the read-only "all" collection lists each (id, version)
//! once, with paging, `added_after` and the date headers consistent; concurrent posts (many
//! clients at once, as a federation burst) are all stored, each object once, with an unbroken
//! audit chain.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use std::collections::HashSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Backend, Hub, hub, send};
use mamori_access::VisibilityFilter;
use mamori_model::{Marking, OrgId, Tlp, ValueKind};
use mamori_store::reports::{DetectionIndicator, DetectionMatch};
use serde_json::{Value, json};

const MEDIA: &str = "application/taxii+json;version=2.1";
const ALL: &str = "6d616d6f-7269-4a11-8000-000000000001";
const COMMUNITY: &str = "6d616d6f-7269-4c0a-8000-000000000002";
const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const AMBER: &str = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";

fn t(method: &str, uri: &str, token: &str, body: Option<Value>) -> Request<Body> {
    let b = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::ACCEPT, MEDIA)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, MEDIA)
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

fn indicator(id: &str, modified: &str, pattern: &str, marking: &str) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1", "id": id,
        "created": "2026-11-25T01:00:00.000Z", "modified": modified,
        "pattern": pattern, "pattern_type": "stix",
        "valid_from": "2026-11-25T01:00:00Z", "object_marking_refs": [marking]
    })
}

async fn make_analyst(h: &Hub) {
    let u = h.store.find_user("member").await.unwrap();
    let patch = mamori_store::users::UserPatch {
        role: Some(mamori_model::Role::Analyst),
        ..Default::default()
    };
    h.store.update_user(u.id, &patch).await.unwrap();
}

async fn post(h: &Hub, collection: &str, objects: Vec<Value>) {
    let r = send(
        &h.app,
        t(
            "POST",
            &format!("/taxii2/api/collections/{collection}/objects/"),
            &h.member_token,
            Some(json!({"objects": objects})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
}

fn value_of<'a>(list: &'a [DetectionIndicator], v: &str) -> Vec<&'a DetectionIndicator> {
    list.iter()
        .filter(|d| matches!(&d.matches, DetectionMatch::Value { value, .. } if value == v))
        .collect()
}

fn reader(org: &str) -> VisibilityFilter {
    VisibilityFilter {
        org: Some(org.parse::<OrgId>().unwrap()),
        groups: vec![],
        admin: false,
    }
}

async fn posted_indicators_are_detection_input(h: Hub) {
    make_analyst(&h).await;
    let now = mamori_store::now_millis();
    let green_id = "indicator--6d616d6f-7269-4000-8000-00000000a001";
    let amber_id = "indicator--6d616d6f-7269-4000-8000-00000000a002";
    let pat_id = "indicator--6d616d6f-7269-4000-8000-00000000a003";
    post(
        &h,
        COMMUNITY,
        vec![
            indicator(
                green_id,
                "2026-11-25T01:00:00.000Z",
                "[domain-name:value = 'Posted-C2.example']",
                GREEN,
            ),
            indicator(
                pat_id,
                "2026-11-25T01:00:00.000Z",
                "[ipv4-addr:value = '198.51.100.7'] AND [domain-name:value = 'two.example']",
                GREEN,
            ),
        ],
    )
    .await;
    post(
        &h,
        &h.member_org.clone(),
        vec![indicator(
            amber_id,
            "2026-11-25T01:00:00.000Z",
            "[ipv4-addr:value = '198.51.100.99']",
            AMBER,
        )],
    )
    .await;

    let list = h.store.detection_indicators(now).await.unwrap();
    let member: OrgId = h.member_org.parse().unwrap();
    let green = value_of(&list, "posted-c2.example");
    assert_eq!(green.len(), 1, "{list:?}");
    assert!(matches!(
        &green[0].matches,
        DetectionMatch::Value {
            kind: ValueKind::Domain,
            ..
        }
    ));
    assert_eq!(
        green[0].marking,
        Marking {
            tlp: Tlp::Green,
            owner_org: member,
            sharing_group: None,
            recipients: vec![]
        }
    );
    let amber = value_of(&list, "198.51.100.99");
    assert_eq!(amber.len(), 1);
    assert_eq!(amber[0].marking.tlp, Tlp::Amber);
    assert!(
        list.iter()
            .any(|d| matches!(&d.matches, DetectionMatch::Pattern(p) if p.contains("two.example")))
    );

    // The policy still decides who may learn of a hit: the other organisation may see the
    // GREEN community indicator, not the AMBER one of the member's own collection.
    let other = reader(&h.other_org);
    assert!(other.admits(&green[0].marking));
    assert!(!other.admits(&amber[0].marking));
    assert!(reader(&h.member_org).admits(&amber[0].marking));

    // The pipeline reloads when posted indicators change.
    let before = h.store.sharing_version().await.unwrap();
    // A newer version that revokes it takes it out of detection.
    let mut revoked = indicator(
        green_id,
        "2026-11-25T02:00:00.000Z",
        "[domain-name:value = 'posted-c2.example']",
        GREEN,
    );
    revoked["revoked"] = json!(true);
    post(&h, COMMUNITY, vec![revoked]).await;
    assert_ne!(before, h.store.sharing_version().await.unwrap());
    let list = h.store.detection_indicators(now).await.unwrap();
    assert!(value_of(&list, "posted-c2.example").is_empty(), "{list:?}");
    // Deleting the object over TAXII removes it too.
    let r = send(
        &h.app,
        t(
            "DELETE",
            &format!(
                "/taxii2/api/collections/{}/objects/{amber_id}/",
                h.member_org
            ),
            &h.member_token,
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = h.store.detection_indicators(now).await.unwrap();
    assert!(value_of(&list, "198.51.100.99").is_empty());
    // Expired indicators are not matched.
    let mut old = indicator(
        "indicator--6d616d6f-7269-4000-8000-00000000a004",
        "2026-11-25T01:00:00.000Z",
        "[url:value = 'http://expired.example/x']",
        GREEN,
    );
    old["valid_until"] = json!("2026-11-25T01:00:01Z");
    post(&h, COMMUNITY, vec![old]).await;
    let list = h.store.detection_indicators(now).await.unwrap();
    assert!(list.iter().all(
        |d| !matches!(&d.matches, DetectionMatch::Value { value, .. } if value.contains("expired"))
    ));

    // An imported bundle's loose indicator is matchable once (report and kept copy merge).
    let bundle = json!({"type": "bundle", "id": "bundle--6d616d6f-7269-4000-8000-00000000b001",
        "objects": [indicator("indicator--6d616d6f-7269-4000-8000-00000000a005",
            "2026-11-25T01:00:00.000Z", "[domain-name:value = 'bundle-c2.example']", AMBER)]});
    let r = send(
        &h.app,
        Request::builder()
            .method("POST")
            .uri("/api/v1/import/stix")
            .header(header::AUTHORIZATION, format!("Bearer {}", h.member_token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(bundle.to_string()))
            .unwrap(),
    )
    .await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    let list = h.store.detection_indicators(now).await.unwrap();
    let b = value_of(&list, "bundle-c2.example");
    assert!(!b.is_empty() && b.iter().all(|d| d.marking.tlp == Tlp::Amber));
    assert!(b.iter().all(|d| !other.admits(&d.marking)));
}

async fn get(h: &Hub, uri: &str) -> common::Resp {
    let r = send(&h.app, t("GET", uri, &h.member_token, None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r
}

async fn all_lists_each_object_once(h: Hub) {
    make_analyst(&h).await;
    // A GREEN report the member may see (derived objects) ...
    let r = send(
        &h.app,
        common::req(
            "POST",
            "/api/v1/reports",
            Some(&h.admin_token),
            Some(json!({
                "title": "all-collection report", "tlp": "GREEN",
                "indicators": [{"kind": "domain", "value": "derived.example"}]
            })),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    // ... and the same objects posted to two collections the member may see.
    let shared: Vec<Value> = (0..5)
        .map(|i| {
            indicator(
                &format!("indicator--6d616d6f-7269-4000-8000-0000000c000{i}"),
                "2026-11-25T01:00:00.000Z",
                &format!("[domain-name:value = 'dup{i}.example']"),
                GREEN,
            )
        })
        .collect();
    post(&h, COMMUNITY, shared.clone()).await;
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(15));
    pause().await;
    let r = get(
        &h,
        &format!("/taxii2/api/collections/{COMMUNITY}/objects/?limit=1000&match[type]=indicator"),
    )
    .await;
    let first_post = r.headers["x-taxii-date-added-last"]
        .to_str()
        .unwrap()
        .to_owned();
    pause().await;
    post(&h, &h.member_org.clone(), shared.clone()).await;
    pause().await;
    // A second version of one of them, in one collection only.
    post(
        &h,
        &h.member_org.clone(),
        vec![indicator(
            "indicator--6d616d6f-7269-4000-8000-0000000c0000",
            "2026-11-25T03:00:00.000Z",
            "[domain-name:value = 'dup0.example']",
            GREEN,
        )],
    )
    .await;

    for q in ["", "&match[version]=all"] {
        let one_page = get(
            &h,
            &format!("/taxii2/api/collections/{ALL}/objects/?limit=1000{q}"),
        )
        .await
        .json();
        let expected: Vec<(String, String)> = one_page["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["id"].as_str().unwrap().to_owned(),
                    o["modified"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        let distinct: HashSet<_> = expected.iter().cloned().collect();
        assert_eq!(
            distinct.len(),
            expected.len(),
            "duplicates in {q}: {expected:?}"
        );
        // Posted objects: 5 (latest) or 6 (all versions), plus the report's objects.
        let posted = expected
            .iter()
            .filter(|(id, _)| id.contains("-0000000c000"))
            .count();
        assert_eq!(posted, if q.is_empty() { 5 } else { 6 }, "{expected:?}");

        // Paging with limit=2 gives the same list in the same order, no repeats.
        let mut paged = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let uri = match &next {
                Some(n) => format!("/taxii2/api/collections/{ALL}/objects/?limit=2&next={n}{q}"),
                None => format!("/taxii2/api/collections/{ALL}/objects/?limit=2{q}"),
            };
            let r = get(&h, &uri).await;
            let env = r.json();
            let objs = env["objects"].as_array().cloned().unwrap_or_default();
            assert!(objs.len() <= 2);
            if !objs.is_empty() {
                assert!(r.headers.contains_key("x-taxii-date-added-first"));
                assert!(r.headers.contains_key("x-taxii-date-added-last"));
            }
            paged.extend(objs.iter().map(|o| {
                (
                    o["id"].as_str().unwrap().to_owned(),
                    o["modified"].as_str().unwrap_or("").to_owned(),
                )
            }));
            if env["more"] == true {
                next = Some(env["next"].as_str().unwrap().to_owned());
            } else {
                break;
            }
        }
        assert_eq!(paged, expected);

        // The manifest agrees.
        let m = get(
            &h,
            &format!("/taxii2/api/collections/{ALL}/manifest/?limit=1000{q}"),
        )
        .await
        .json();
        assert_eq!(m["objects"].as_array().unwrap().len(), expected.len());
    }

    // One object by id: one entry; its versions: two, each once.
    let id = "indicator--6d616d6f-7269-4000-8000-0000000c0001";
    let r = get(&h, &format!("/taxii2/api/collections/{ALL}/objects/{id}/"))
        .await
        .json();
    assert_eq!(r["objects"].as_array().unwrap().len(), 1);
    let v = get(&h, &format!("/taxii2/api/collections/{ALL}/objects/indicator--6d616d6f-7269-4000-8000-0000000c0000/versions/")).await.json();
    assert_eq!(v["versions"].as_array().unwrap().len(), 2, "{v}");

    // added_after: the second post of the same objects adds nothing new to "all" (the first
    // copy's date stands), so after the first post only the later version is new.
    let r = get(
        &h,
        &format!(
            "/taxii2/api/collections/{ALL}/objects/?added_after={first_post}&match[version]=all"
        ),
    )
    .await;
    let after = r.json()["objects"].as_array().cloned().unwrap_or_default();
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0]["modified"], "2026-11-25T03:00:00.000Z");
}

/// Eight clients post at once, 5 envelopes of 30 objects each, some objects repeated within
/// an envelope and across clients. On SQLite a deferred transaction that read before writing
/// used to fail with "database is locked" (HTTP 500) under this load, and audit appends ran
/// out of retries.
async fn concurrent_posts_all_land(h: Hub) {
    make_analyst(&h).await;
    let h = std::sync::Arc::new(h);
    let mut tasks = Vec::new();
    for client in 0..8u32 {
        let h = std::sync::Arc::clone(&h);
        tasks.push(tokio::spawn(async move {
            for round in 0..5u32 {
                let mut objects: Vec<Value> = (0..30u32)
                    .map(|i| {
                        // Objects 0..5 of every envelope are shared by all clients.
                        let n = if i < 5 {
                            i
                        } else {
                            1000 + client * 1000 + round * 100 + i
                        };
                        indicator(
                            &format!("indicator--00000000-0000-4000-8000-{n:012}"),
                            "2026-11-25T01:00:00.000Z",
                            &format!("[domain-name:value = 'c{n}.concurrent.example']"),
                            GREEN,
                        )
                    })
                    .collect();
                objects.push(objects[7].clone());
                let r = send(
                    &h.app,
                    t(
                        "POST",
                        &format!("/taxii2/api/collections/{COMMUNITY}/objects/"),
                        &h.member_token,
                        Some(json!({"objects": objects})),
                    ),
                )
                .await;
                assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut ids = HashSet::new();
    let mut next: Option<String> = None;
    loop {
        let uri = match &next {
            Some(n) => format!("/taxii2/api/collections/{COMMUNITY}/objects/?limit=100&next={n}"),
            None => format!("/taxii2/api/collections/{COMMUNITY}/objects/?limit=100"),
        };
        let page: Value = serde_json::from_str(&get(&h, &uri).await.body).unwrap();
        for o in page["objects"].as_array().into_iter().flatten() {
            assert!(
                ids.insert(o["id"].as_str().unwrap().to_owned()),
                "listed twice: {}",
                o["id"]
            );
        }
        match page["next"].as_str() {
            Some(n) => next = Some(n.to_owned()),
            None => break,
        }
    }
    assert_eq!(ids.len(), 5 + 8 * 5 * 25, "every object stored once");
    let audit = h.store.verify_audit().await.unwrap();
    assert!(audit.first_broken.is_none(), "{:?}", audit.first_broken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_on_sqlite() {
    concurrent_posts_all_land(hub(Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_on_postgres() {
    concurrent_posts_all_land(hub(Backend::Postgres).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posted_indicators_on_sqlite() {
    posted_indicators_are_detection_input(hub(Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posted_indicators_on_postgres() {
    posted_indicators_are_detection_input(hub(Backend::Postgres).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_collection_on_sqlite() {
    all_lists_each_object_once(hub(Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_collection_on_postgres() {
    all_lists_each_object_once(hub(Backend::Postgres).await).await;
}
