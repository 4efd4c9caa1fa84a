//! Notices delivered by webhook, on both backends, to real HTTP receivers on 127.0.0.1: an
//! organisation with a webhook gets its notice as JSON beside the e-mail to its contacts (and
//! without contacts, by webhook alone); each receiver gets only its own organisation's items;
//! a failing receiver is retried with back-off, the notice is kept as failed with the error and
//! delivered unchanged once the webhook works; the acknowledgement URL in the document works;
//! a failed notice backs off (5 minutes, doubling) and is handed back when due.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use common::{Backend, hub, req, send};
use mamori_model::{Contact, Lang, Org, OrgId};
use mamori_notify::webhook::Webhook;
use mamori_server::notices::{self, Delivered, NoticeSettings, Senders};
use mamori_server::ops::{self, Actor};
use mamori_store::orgs::OrgPatch;
use serde_json::Value;

/// A receiver on 127.0.0.1 that answers `fail_first` POSTs with `fail_status`, then 204,
/// recording the bodies it accepted and counting every POST.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Value>>>,
    hits: Arc<Mutex<u32>>,
}

async fn receiver(fail_first: u32, fail_status: StatusCode) -> Receiver {
    let got = Arc::new(Mutex::new(Vec::new()));
    let hits = Arc::new(Mutex::new(0u32));
    let (g, n) = (got.clone(), hits.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::Json<Value>| {
            let (g, n) = (g.clone(), n.clone());
            async move {
                let count = {
                    let mut n = n.lock().unwrap();
                    *n += 1;
                    *n
                };
                if count <= fail_first {
                    return fail_status;
                }
                g.lock().unwrap().push(body.0);
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver {
        url: format!("http://{addr}/hook"),
        got,
        hits,
    }
}

fn feed(urls: &[&str]) -> mamori_notify::FeedReport {
    let mut text = String::from(
        "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n",
    );
    for (i, u) in urls.iter().enumerate() {
        text.push_str(&format!(
            "\"{i}\",\"2026-11-25 10:00:00\",\"{u}\",\"online\",\"\",\"malware_download\",\"\",\"x\",\"y\"\n"
        ));
    }
    mamori_notify::feed::parse_urlhaus(text.as_bytes()).unwrap()
}

fn values(doc: &Value) -> Vec<String> {
    let mut v: Vec<String> = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

async fn webhook_delivery(backend: Backend) {
    let h = hub(backend).await;
    let sys = Actor::system();
    let mine: OrgId = h.member_org.parse().unwrap();
    let other: OrgId = h.other_org.parse().unwrap();
    // "mine": a Japanese contact and a webhook; "other": a webhook and no contact at all.
    for (org, cidr, contacts) in [
        (
            mine,
            "203.0.113.0/24",
            vec![Contact {
                name: "情報システム課".into(),
                email: "csirt@mine.example.jp".into(),
                lang: Lang::Ja,
            }],
        ),
        (other, "198.51.100.0/24", vec![]),
    ] {
        ops::update_org(
            &h.store,
            &sys,
            org,
            &OrgPatch {
                cidrs: Some(vec![cidr.parse().unwrap()]),
                contacts: Some(contacts),
                ..OrgPatch::default()
            },
        )
        .await
        .unwrap();
    }
    // Mine's receiver fails once (retried); other's always fails at first.
    let rx_mine = receiver(1, StatusCode::INTERNAL_SERVER_ERROR).await;
    let rx_down = receiver(u32::MAX, StatusCode::SERVICE_UNAVAILABLE).await;
    ops::set_org_webhook(&h.store, &sys, mine, Some(rx_mine.url.as_str()))
        .await
        .unwrap();
    ops::set_org_webhook(&h.store, &sys, other, Some(rx_down.url.as_str()))
        .await
        .unwrap();

    let orgs: Vec<Org> = vec![
        h.store.get_org(mine).await.unwrap(),
        h.store.get_org(other).await.unwrap(),
    ];
    let index = mamori_notify::OwnerIndex::build(orgs.iter());
    let settings = NoticeSettings {
        hub_name: "守りハブ".into(),
        public_url: Some("https://hub.example.go.jp".into()),
        ..NoticeSettings::default()
    };
    let t0 = 1_795_600_000_000;
    let run = notices::record_feed(
        &h.store,
        &sys,
        &index,
        &feed(&[
            "http://203.0.113.7/bins/x86",
            "http://203.0.113.8/a.sh",
            "http://198.51.100.9/mozi.m",
            "http://unowned.example/x",
        ]),
        false,
        t0,
    )
    .await
    .unwrap();
    assert_eq!((run.owned, run.unowned), (3, 1));
    let issued = notices::issue_notices(&h.store, &sys, &orgs, &settings, t0)
        .await
        .unwrap();
    let mut shape: Vec<(OrgId, &str)> = issued
        .iter()
        .map(|i| (i.record.org_id, i.record.channel.as_str()))
        .collect();
    shape.sort();
    let mut want = vec![(mine, "email"), (mine, "webhook"), (other, "webhook")];
    want.sort();
    assert_eq!(shape, want, "e-mail to contacts and webhook beside it");

    // Without an SMTP sender the e-mail stays queued; the webhooks are posted.
    let fast = Webhook::new(3, Duration::from_millis(50)).unwrap();
    let d = notices::deliver(
        &h.store,
        &sys,
        Senders {
            smtp: None,
            webhook: Some(&fast),
        },
        &issued,
        t0,
    )
    .await
    .unwrap();
    assert_eq!(
        d,
        Delivered {
            sent: 1,
            failed: 1,
            queued: 1
        }
    );
    assert_eq!(*rx_mine.hits.lock().unwrap(), 2, "one 500, then accepted");
    assert_eq!(
        *rx_down.hits.lock().unwrap(),
        3,
        "503 retried until the attempts ran out"
    );
    let docs = rx_mine.got.lock().unwrap().clone();
    assert_eq!(docs.len(), 1);
    let doc = &docs[0];
    let hooked = issued
        .iter()
        .find(|i| i.record.org_id == mine && i.record.channel == "webhook")
        .unwrap();
    assert_eq!(doc["id"], hooked.record.id.as_str());
    assert_eq!(doc["type"], "mamori.notice");
    assert_eq!(doc["kind"], "notice");
    assert_eq!(doc["language"], "ja", "the first contact's language");
    assert_eq!(doc["organisation"]["slug"], "mine");
    assert_eq!(doc["period"]["date"].as_str().unwrap().len(), 8);
    assert!(doc["period"]["first_seen"].is_i64());
    assert!(doc["subject"].as_str().unwrap().contains("【守りハブ】"));
    assert!(doc["text"].as_str().unwrap().contains("/notices/ack/mma_"));
    assert_eq!(
        values(doc),
        vec!["http://203.0.113.7/bins/x86", "http://203.0.113.8/a.sh"],
        "only mine's items"
    );
    assert!(doc["items"][0]["id"].is_string() && doc["items"][0]["evidence"].is_object());
    let statuses = |id: &str| {
        let store = h.store.clone();
        let id = id.to_owned();
        async move { store.notice(&id).await.unwrap().unwrap() }
    };
    assert_eq!(statuses(&hooked.record.id).await.status, "sent");
    let down = issued
        .iter()
        .find(|i| i.record.org_id == other)
        .unwrap()
        .record
        .clone();
    let failed = statuses(&down.id).await;
    assert_eq!(failed.status, "failed");
    assert!(
        failed.error.as_deref().unwrap().contains("503"),
        "{:?}",
        failed.error
    );
    let queued_mail = issued.iter().find(|i| i.record.channel == "email").unwrap();
    assert_eq!(statuses(&queued_mail.record.id).await.status, "queued");

    // The administrator fixes other's webhook; the failed notice is delivered later from
    // storage, unchanged, and still carries only other's item.
    let rx_fixed = receiver(0, StatusCode::OK).await;
    ops::set_org_webhook(&h.store, &sys, other, Some(rx_fixed.url.as_str()))
        .await
        .unwrap();
    let mut again = Vec::new();
    for r in h
        .store
        .notices_with_status(&["queued", "failed"], 100)
        .await
        .unwrap()
    {
        again.push(notices::issued_of(&h.store, r).await.unwrap());
    }
    assert_eq!(again.len(), 2, "the failed webhook and the queued e-mail");
    let d = notices::deliver(
        &h.store,
        &sys,
        Senders {
            smtp: None,
            webhook: Some(&fast),
        },
        &again,
        t0 + 60_000,
    )
    .await
    .unwrap();
    assert_eq!((d.sent, d.failed, d.queued), (1, 0, 1));
    let docs = rx_fixed.got.lock().unwrap().clone();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["id"], down.id.as_str());
    assert_eq!(docs[0]["organisation"]["slug"], "other");
    assert_eq!(values(&docs[0]), vec!["http://198.51.100.9/mozi.m"]);
    assert_eq!(docs[0]["language"], "ja", "no contact: Japanese");
    let sent = statuses(&down.id).await;
    assert_eq!((sent.status.as_str(), sent.error), ("sent", None));
    assert_eq!(
        rx_mine.got.lock().unwrap().len(),
        1,
        "mine got nothing more"
    );

    // The acknowledgement URL in the document acknowledges that notice, without logging in.
    let ack = docs[0]["acknowledge_url"].as_str().unwrap();
    let path = ack.trim_start_matches("https://hub.example.go.jp");
    let r = send(&h.app, req("GET", path, None, None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(statuses(&down.id).await.status, "acknowledged");

    // A receiver that refuses the document (4xx) is not retried: the answer is final.
    let rx_refuse = receiver(u32::MAX, StatusCode::BAD_REQUEST).await;
    ops::set_org_webhook(&h.store, &sys, other, Some(rx_refuse.url.as_str()))
        .await
        .unwrap();
    let t1 = t0 + 8 * 86_400_000;
    notices::record_feed(
        &h.store,
        &sys,
        &index,
        &feed(&["http://198.51.100.9/mozi.m"]),
        false,
        t1,
    )
    .await
    .unwrap();
    // Mine's items are due again too (same interval); only other's reminder is delivered here.
    let reminder: Vec<_> = notices::issue_notices(&h.store, &sys, &orgs, &settings, t1)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.record.org_id == other)
        .collect();
    assert_eq!(reminder.len(), 1);
    assert_eq!(
        (
            reminder[0].record.kind.as_str(),
            reminder[0].record.channel.as_str()
        ),
        ("reminder", "webhook")
    );
    let d = notices::deliver(
        &h.store,
        &sys,
        Senders {
            smtp: None,
            webhook: Some(&fast),
        },
        &reminder,
        t1,
    )
    .await
    .unwrap();
    assert_eq!(d.failed, 1);
    assert_eq!(*rx_refuse.hits.lock().unwrap(), 1);

    // Members read their own notices with the channel; the audit chain holds.
    let r = send(
        &h.app,
        req("GET", "/api/v1/notices", Some(&h.member_token), None),
    )
    .await;
    let list = r.json();
    let list = list.as_array().unwrap();
    assert!(
        list.iter().all(|n| n["org_id"] == h.member_org.as_str()),
        "{}",
        r.body
    );
    let channels: Vec<&str> = list
        .iter()
        .map(|n| n["channel"].as_str().unwrap())
        .collect();
    assert!(channels.contains(&"webhook") && channels.contains(&"email"));
    assert!(h.store.verify_audit().await.unwrap().first_broken.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_by_webhook_sqlite() {
    webhook_delivery(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_by_webhook_postgres() {
    webhook_delivery(Backend::Postgres).await;
}

/// A failed notice waits before its next attempt, longer after each failure, and is never
/// dropped: `notices_due_for_retry` hands it back once its time has come.
async fn retry_back_off(backend: Backend) {
    let h = hub(backend).await;
    let sys = Actor::system();
    let other: OrgId = h.other_org.parse().unwrap();
    ops::update_org(
        &h.store,
        &sys,
        other,
        &OrgPatch {
            cidrs: Some(vec!["198.51.100.0/24".parse().unwrap()]),
            contacts: Some(vec![]),
            ..OrgPatch::default()
        },
    )
    .await
    .unwrap();
    let down = receiver(u32::MAX, StatusCode::BAD_GATEWAY).await;
    ops::set_org_webhook(&h.store, &sys, other, Some(down.url.as_str()))
        .await
        .unwrap();
    let orgs = vec![h.store.get_org(other).await.unwrap()];
    let index = mamori_notify::OwnerIndex::build(orgs.iter());
    let t0 = 1_795_600_000_000;
    notices::record_feed(
        &h.store,
        &sys,
        &index,
        &feed(&["http://198.51.100.9/mozi.m"]),
        false,
        t0,
    )
    .await
    .unwrap();
    let issued = notices::issue_notices(&h.store, &sys, &orgs, &NoticeSettings::default(), t0)
        .await
        .unwrap();
    assert_eq!(issued.len(), 1);
    let id = issued[0].record.id.clone();
    let fast = Webhook::new(1, Duration::from_millis(10)).unwrap();
    let senders = Senders {
        smtp: None,
        webhook: Some(&fast),
    };
    notices::deliver(&h.store, &sys, senders, &issued, t0)
        .await
        .unwrap();
    let n = h.store.notice(&id).await.unwrap().unwrap();
    assert_eq!((n.status.as_str(), n.attempts), ("failed", 1));
    assert_eq!(n.next_attempt_at, Some(t0 + 5 * 60_000));
    assert!(
        notices::due_for_retry(&h.store, t0 + 60_000)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    let t1 = t0 + 5 * 60_000;
    let due = notices::due_for_retry(&h.store, t1).await.unwrap();
    assert_eq!(due.len(), 1);
    notices::deliver(&h.store, &sys, senders, &due, t1)
        .await
        .unwrap();
    let n = h.store.notice(&id).await.unwrap().unwrap();
    assert_eq!(n.attempts, 2);
    assert_eq!(n.next_attempt_at, Some(t1 + 10 * 60_000), "doubled");
    assert_eq!(notices::retry_delay_ms(30), 6 * 3_600_000, "capped");

    // The receiver is back: the next due attempt delivers the same document.
    let up = receiver(0, StatusCode::OK).await;
    ops::set_org_webhook(&h.store, &sys, other, Some(up.url.as_str()))
        .await
        .unwrap();
    let t2 = t1 + 10 * 60_000;
    let due = notices::due_for_retry(&h.store, t2).await.unwrap();
    let d = notices::deliver(&h.store, &sys, senders, &due, t2)
        .await
        .unwrap();
    assert_eq!(d.sent, 1);
    let n = h.store.notice(&id).await.unwrap().unwrap();
    assert_eq!(
        (n.status.as_str(), n.attempts, n.next_attempt_at, n.sent_at),
        ("sent", 3, None, Some(t2))
    );
    assert_eq!(up.got.lock().unwrap()[0]["id"], id.as_str());
    assert_eq!(*down.hits.lock().unwrap(), 2, "one POST per attempt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_notices_back_off_sqlite() {
    retry_back_off(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_notices_back_off_postgres() {
    retry_back_off(Backend::Postgres).await;
}
