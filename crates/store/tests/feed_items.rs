//! Feed runs recorded on both backends, in runs larger than one multi-row statement: new,
//! seen-again, reopened and remediated counts; the same item twice in one run counted once;
//! reopened items notified afresh; a notice over more items than one statement takes links
//! and counts every item exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use common::{Db, postgres, sqlite};
use mamori_model::{Contact, Lang, OrgId, OrgKind};
use mamori_store::Store;
use mamori_store::notices::{FeedItemInput, FeedRunOutcome, NewNotice, new_ack_token};
use mamori_store::orgs::NewOrg;

async fn org(s: &Store) -> OrgId {
    s.create_org(&NewOrg {
        slug: "aoba".into(),
        name_ja: "青葉".into(),
        name_en: "Aoba".into(),
        kind: OrgKind::Isp,
        sector: None,
        cidrs: vec![],
        domains: vec![],
        contacts: vec![Contact {
            name: "CSIRT".into(),
            email: "csirt@aoba.example.jp".into(),
            lang: Lang::Ja,
        }],
    })
    .await
    .unwrap()
    .id
}

fn item(n: usize, owner: Option<OrgId>) -> FeedItemInput {
    FeedItemInput {
        source: "urlhaus".into(),
        kind: "url".into(),
        value: format!("http://host{n}.example/x"),
        category: "malware-distribution:malware_download".into(),
        owner_org: owner,
        owner_reason: owner.map(|_| "range".to_owned()),
        observation: format!("{{\"n\":{n}}}"),
    }
}

/// 1,234 items (more than two multi-row statements' worth).
const N: usize = 1234;

async fn feed_runs_in_bulk(db: Db) {
    let s = &db.store;
    let aoba = org(s).await;
    let mut first: Vec<FeedItemInput> = (0..N).map(|n| item(n, Some(aoba))).collect();
    // The same item twice in one run: counted once, the last copy's observation kept.
    let mut dup = item(7, Some(aoba));
    dup.observation = "{\"n\":7,\"copy\":2}".into();
    first.push(dup);
    let o = s
        .record_feed_items("urlhaus", 1000, &first, true)
        .await
        .unwrap();
    assert_eq!(
        o,
        FeedRunOutcome {
            new: N as u64,
            ..FeedRunOutcome::default()
        }
    );
    let due = s.feed_items_due(0, 1000).await.unwrap();
    assert_eq!(due.len(), N);
    let seven = due
        .iter()
        .find(|i| i.value == "http://host7.example/x")
        .unwrap();
    assert_eq!(seven.observation["copy"], 2);

    // One notice over every item: each linked and counted once.
    let ids: Vec<String> = due.iter().map(|i| i.id.clone()).collect();
    let notice = s
        .create_notice(
            &NewNotice {
                org_id: aoba,
                kind: "notice".into(),
                lang: "ja".into(),
                recipients: vec!["csirt@aoba.example.jp".into()],
                subject: "s".into(),
                body: "b".into(),
                csv_name: "items.csv".into(),
                csv: "kind,value\n".into(),
                item_ids: ids.clone(),
                escalated: false,
                channel: "email".into(),
                payload: None,
            },
            &new_ack_token().unwrap(),
            1500,
        )
        .await
        .unwrap();
    assert_eq!(notice.items, N as i64);
    assert!(s.feed_items_due(0, 1499).await.unwrap().is_empty());
    let after = s.feed_item(&ids[0]).await.unwrap().unwrap();
    assert_eq!((after.notify_count, after.notified_at), (1, Some(1500)));
    let last = s.feed_item(&ids[N - 1]).await.unwrap().unwrap();
    assert_eq!((last.notify_count, last.notified_at), (1, Some(1500)));

    // A complete run without the first 100 items remediates them.
    let second: Vec<FeedItemInput> = (100..N).map(|n| item(n, Some(aoba))).collect();
    let o = s
        .record_feed_items("urlhaus", 2000, &second, true)
        .await
        .unwrap();
    assert_eq!(
        (o.new, o.seen_again, o.remediated),
        (0, (N - 100) as u64, 100)
    );

    // They come back with one new item: reopened, and notified afresh.
    let third: Vec<FeedItemInput> = (0..101)
        .map(|n| item(n, Some(aoba)))
        .chain(std::iter::once(item(N + 1, None)))
        .collect();
    let o = s
        .record_feed_items("urlhaus", 3000, &third, false)
        .await
        .unwrap();
    assert_eq!((o.new, o.seen_again, o.reopened), (1, 1, 100));
    let due = s.feed_items_due(7 * 86_400_000, 3000).await.unwrap();
    assert_eq!(
        due.len(),
        100,
        "reopened items are due, the unowned one never"
    );
    assert!(
        due.iter()
            .all(|i| i.status == "open" && i.notified_at.is_none())
    );
}

/// Two hub processes record a run of the same feed at the same time, listing its items in
/// opposite orders: both succeed (no deadlock between their upserts).
async fn concurrent_runs_never_deadlock(db: Db) {
    let s = &db.store;
    let aoba = org(s).await;
    for round in 0..5 {
        let forward: Vec<FeedItemInput> = (0..600).map(|n| item(n, Some(aoba))).collect();
        let mut backward = forward.clone();
        backward.reverse();
        let at = 10_000 + round;
        let (a, b) = tokio::join!(
            s.record_feed_items("urlhaus", at, &forward, false),
            s.record_feed_items("urlhaus", at, &backward, false)
        );
        a.unwrap();
        b.unwrap();
    }
}

macro_rules! both {
    ($backend:ident) => {
        mod $backend {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn feed_runs_in_bulk() {
                super::feed_runs_in_bulk(super::$backend().await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_runs_never_deadlock() {
                super::concurrent_runs_never_deadlock(super::$backend().await).await;
            }
        }
    };
}

both!(sqlite);
both!(postgres);
