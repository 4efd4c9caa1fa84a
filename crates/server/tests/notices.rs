//! The notification lifecycle on both backends: a feed run recorded with owners, notices issued
//! per contact language with an acknowledgement link, not repeated before the re-notify
//! interval, reminders and escalation after it, remediation when complete runs no longer list
//! the items, the review queue of unowned items, and who may read or change what over the API.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use axum::http::StatusCode;
use common::{Backend, hub, req, send};
use mamori_model::{Contact, Lang, Org, OrgId};
use mamori_server::notices::{self, NoticeSettings};
use mamori_server::ops::{self, Actor};
use mamori_store::orgs::OrgPatch;
use serde_json::json;

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

async fn lifecycle(backend: Backend) {
    let h = hub(backend).await;
    let sys = Actor::system();
    let mine: OrgId = h.member_org.parse().unwrap();
    ops::update_org(
        &h.store,
        &sys,
        mine,
        &OrgPatch {
            cidrs: Some(vec!["203.0.113.0/24".parse().unwrap()]),
            contacts: Some(vec![Contact {
                name: "情報システム課".into(),
                email: "csirt@mine.example.jp".into(),
                lang: Lang::Ja,
            }]),
            ..OrgPatch::default()
        },
    )
    .await
    .unwrap();
    let orgs: Vec<Org> = vec![
        h.store.get_org(mine).await.unwrap(),
        h.store.get_org(h.other_org.parse().unwrap()).await.unwrap(),
    ];
    let index = mamori_notify::OwnerIndex::build(orgs.iter());
    let settings = NoticeSettings {
        hub_name: "守りハブ".into(),
        public_url: Some("https://hub.example.go.jp/".into()),
        renotify_ms: 86_400_000,
        escalate_after: 2,
    };
    let t0 = 1_795_600_000_000;
    let all = [
        "http://203.0.113.7/bins/x86",
        "http://203.0.113.8/a.sh",
        "http://unowned.example/x",
    ];

    // First run: three new items, two owned; one notice in Japanese with an ack link.
    let run = notices::record_feed(&h.store, &sys, &index, &feed(&all), true, t0)
        .await
        .unwrap();
    assert_eq!((run.items, run.owned, run.unowned), (3, 2, 1));
    assert_eq!(run.outcome.new, 3);
    let issued = notices::issue_notices(&h.store, &sys, &orgs, &settings, t0)
        .await
        .unwrap();
    assert_eq!(issued.len(), 1);
    let n = &issued[0];
    assert_eq!((n.record.kind.as_str(), n.record.items), ("notice", 2));
    assert_eq!(n.record.status, "queued");
    assert!(
        n.record.subject.contains("【守りハブ】"),
        "{}",
        n.record.subject
    );
    let link = n
        .record
        .body
        .split_whitespace()
        .find(|w| w.starts_with("https://hub.example.go.jp/notices/ack/mma_"))
        .expect("acknowledgement link in the body")
        .to_owned();
    assert!(n.message.csv.contains("203.0.113.7"));

    // Not due again before the interval; the same run again changes nothing.
    let run = notices::record_feed(&h.store, &sys, &index, &feed(&all), true, t0 + 1000)
        .await
        .unwrap();
    assert_eq!(run.outcome.seen_again, 3);
    assert!(
        notices::issue_notices(&h.store, &sys, &orgs, &settings, t0 + 1000)
            .await
            .unwrap()
            .is_empty()
    );

    // Over the API: the member sees their notice and its CSV; only administrators see the
    // review queue and change statuses.
    let r = send(
        &h.app,
        req("GET", "/api/v1/notices", Some(&h.member_token), None),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    let id = n.record.id.clone();
    let r = send(
        &h.app,
        req(
            "GET",
            &format!("/api/v1/notices/{id}"),
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json()["csv"].as_str().unwrap().contains("203.0.113.8"));
    let r = send(
        &h.app,
        req(
            "GET",
            "/api/v1/feed-items/review",
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        &h.app,
        req(
            "GET",
            "/api/v1/feed-items/review",
            Some(&h.admin_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let queue = r.json();
    assert_eq!(queue.as_array().unwrap().len(), 1);
    assert_eq!(queue[0]["value"], "http://unowned.example/x");
    let status = |s: &str| json!({"status": s});
    let r = send(
        &h.app,
        req(
            "POST",
            &format!("/api/v1/notices/{id}/status"),
            Some(&h.member_token),
            Some(status("sent")),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        &h.app,
        req(
            "POST",
            &format!("/api/v1/notices/{id}/status"),
            Some(&h.admin_token),
            Some(status("lost")),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = send(
        &h.app,
        req(
            "POST",
            &format!("/api/v1/notices/{id}/status"),
            Some(&h.admin_token),
            Some(status("sent")),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.json()["sent_at"].is_i64());

    // The console: the member's notices page in Japanese, with the chart; no review queue.
    let cookie = common::login_cookie(&h.app, "member", "member-password-123").await;
    let page = send(
        &h.app,
        axum::http::Request::builder()
            .uri("/notices")
            .header(axum::http::header::COOKIE, &cookie)
            .header(axum::http::header::ACCEPT_LANGUAGE, "ja")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("通知と未割当て項目"), "{}", page.body);
    assert!(page.body.contains("送信済み") && page.body.contains("<svg"));
    assert!(page.body.contains("【守りハブ】"));
    assert!(
        !page.body.contains("unowned.example"),
        "the review queue is for administrators"
    );

    // The recipient opens the link, without logging in.
    let path = link.trim_start_matches("https://hub.example.go.jp");
    let r = send(&h.app, req("GET", path, None, None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("acknowledged"), "{}", r.body);
    assert_eq!(
        h.store.notice(&id).await.unwrap().unwrap().status,
        "acknowledged"
    );
    let r = send(
        &h.app,
        req("GET", "/notices/ack/mma_not-a-token", None, None),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // After the interval the persisting items are notified again as a reminder, then
    // escalated once they were notified `escalate_after` times.
    let t1 = t0 + 2 * 86_400_000;
    notices::record_feed(&h.store, &sys, &index, &feed(&all), true, t1)
        .await
        .unwrap();
    let again = notices::issue_notices(&h.store, &sys, &orgs, &settings, t1)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].record.kind, "reminder");
    assert!(!again[0].record.escalated);
    assert!(again[0].record.subject.contains("【再通知】"));
    let t2 = t1 + 2 * 86_400_000;
    let third = notices::issue_notices(&h.store, &sys, &orgs, &settings, t2)
        .await
        .unwrap();
    assert!(third[0].record.escalated);

    // One item disappears from a complete run: remediated; then the other: the notices whose
    // items are all gone are remediated too (the queued ones stay queued).
    let t3 = t2 + 1000;
    let run = notices::record_feed(&h.store, &sys, &index, &feed(&[all[1], all[2]]), true, t3)
        .await
        .unwrap();
    assert_eq!(run.outcome.remediated, 1);
    assert_eq!(run.outcome.notices_remediated, 0);
    let run = notices::record_feed(&h.store, &sys, &index, &feed(&[all[2]]), true, t3 + 1000)
        .await
        .unwrap();
    assert_eq!(run.outcome.remediated, 1);
    assert_eq!(run.outcome.notices_remediated, 1, "the acknowledged notice");
    assert_eq!(
        h.store.notice(&id).await.unwrap().unwrap().status,
        "remediated"
    );
    assert!(
        notices::issue_notices(&h.store, &sys, &orgs, &settings, t3 + 10 * 86_400_000)
            .await
            .unwrap()
            .is_empty(),
        "nothing open is owned any more"
    );
    // Listed again later: reopened and notified afresh.
    let t4 = t3 + 20 * 86_400_000;
    let run = notices::record_feed(&h.store, &sys, &index, &feed(&all), false, t4)
        .await
        .unwrap();
    assert_eq!(run.outcome.reopened, 2);
    let fresh = notices::issue_notices(&h.store, &sys, &orgs, &settings, t4)
        .await
        .unwrap();
    assert_eq!(fresh.len(), 1);
    assert_eq!(fresh[0].record.items, 2);
    // A takedown request to a CSIRT about the unowned item, in its own template.
    ops::update_org(
        &h.store,
        &sys,
        h.other_org.parse().unwrap(),
        &OrgPatch {
            contacts: Some(vec![Contact {
                name: "Incident desk".into(),
                email: "incident@csirt.example.org".into(),
                lang: Lang::En,
            }]),
            ..OrgPatch::default()
        },
    )
    .await
    .unwrap();
    let unowned_id = queue[0]["id"].as_str().unwrap().to_owned();
    let body = json!({"org": h.other_org, "items": [unowned_id]});
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/notices/takedown",
            Some(&h.member_token),
            Some(body.clone()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/notices/takedown",
            Some(&h.admin_token),
            Some(body),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let t = &r.json()[0];
    assert_eq!(t["kind"], "takedown");
    assert_eq!(t["status"], "queued");
    assert!(
        t["subject"]
            .as_str()
            .unwrap()
            .starts_with("[Mamori] Takedown request to")
    );
    assert!(t["body"].as_str().unwrap().contains("taken down"));
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/notices/takedown",
            Some(&h.admin_token),
            Some(json!({"org": h.other_org, "items": []})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Collector state is for administrators.
    h.store
        .save_feed_source(&mamori_store::notices::FeedSource {
            name: "urlhaus".into(),
            location: "https://urlhaus.abuse.ch/downloads/csv_online/".into(),
            etag: Some("\"abc\"".into()),
            last_status: Some("fetched".into()),
            last_items: Some(3),
            ..Default::default()
        })
        .await
        .unwrap();
    let r = send(
        &h.app,
        req("GET", "/api/v1/feed-sources", Some(&h.admin_token), None),
    )
    .await;
    assert_eq!(r.json()[0]["last_items"], 3, "{}", r.body);
    let r = send(
        &h.app,
        req("GET", "/api/v1/feed-sources", Some(&h.member_token), None),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Every step is in the audit chain, and the chain holds.
    let v = h.store.verify_audit().await.unwrap();
    assert!(v.first_broken.is_none());
    let r = send(
        &h.app,
        req(
            "GET",
            "/api/v1/audit?action=notice.acknowledge",
            Some(&h.admin_token),
            None,
        ),
    )
    .await;
    assert!(r.body.contains("notice.acknowledge"), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notice_lifecycle_sqlite() {
    lifecycle(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notice_lifecycle_postgres() {
    lifecycle(Backend::Postgres).await;
}
