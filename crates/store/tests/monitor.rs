//! Conformance of the monitoring storage (sensors, batches, events, dead letters, alerts,
//! suppressions, cross-organisation correlation) on a real SQLite file and a real PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use common::{Db, postgres, sqlite};
use mamori_model::{OrgId, OrgKind};
use mamori_store::alerts::{AlertChange, AlertQuery};
use mamori_store::events::EventQuery;
use mamori_store::ingest::{
    AlertHit, CrossOrgRule, IngestBatch, NewDeadLetter, NewEvent, SightingHit,
};
use mamori_store::orgs::NewOrg;
use mamori_store::{Db as Pool, Store, StoreError, now_millis};

async fn org(store: &Store, slug: &str) -> OrgId {
    store
        .create_org(&NewOrg {
            slug: slug.into(),
            name_ja: format!("{slug} 省"),
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

fn event(ts: i64, host: &str, msg: &str) -> NewEvent {
    let doc = serde_json::json!({"@timestamp": ts, "host.name": host, "message": msg, "process.name": "powershell.exe"});
    NewEvent {
        ts,
        dataset: Some("test".into()),
        host: Some(host.into()),
        source_ip: Some("192.0.2.7".into()),
        doc: doc.to_string(),
        text: format!("{host} {msg} powershell.exe"),
        ..NewEvent::default()
    }
}

fn batch(org: OrgId, id: &str, events: Vec<NewEvent>) -> IngestBatch {
    IngestBatch {
        source: "sensor:s1".into(),
        batch_id: id.into(),
        org_id: org,
        events,
        blocks: vec![],
        dead_letters: vec![],
        alerts: vec![],
        sightings: vec![],
        cross_org: None,
        observations: vec![],
        pattern_observations: vec![],
    }
}

fn hit(org: OrgId, key: &str, ts: i64, n: i64) -> AlertHit {
    AlertHit {
        dedup_key: key.into(),
        org_id: org,
        route: "sensor".into(),
        kind: "sigma".into(),
        rule_id: "rule-1".into(),
        title: "Suspicious PowerShell".into(),
        level: "high".into(),
        host: "ws01".into(),
        first_seen: ts,
        last_seen: ts,
        count: n,
        evidence: (0..n).map(|i| (ts + i, format!("{{\"n\":{i}}}"))).collect(),
    }
}

async fn sensors_and_tokens(db: Db) {
    let s = &db.store;
    let a = org(s, "moj").await;
    let (sensor, token) = s.create_sensor(a, "dc-01").await.unwrap();
    assert!(token.starts_with("mms_"));
    assert_eq!(
        s.sensor_by_token(&token).await.unwrap().unwrap().id,
        sensor.id
    );
    assert!(s.sensor_by_token("mms_nope").await.unwrap().is_none());
    assert!(matches!(
        s.create_sensor(a, "dc-01").await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.create_sensor(a, "bad name").await,
        Err(StoreError::Invalid(_))
    ));
    s.touch_sensor(&sensor.id).await.unwrap();
    assert_eq!(s.list_sensors(Some(a)).await.unwrap().len(), 1);
    s.revoke_sensor(&sensor.id).await.unwrap();
    assert!(s.sensor_by_token(&token).await.unwrap().is_none());
}

async fn batches_are_exactly_once(db: Db) {
    let s = &db.store;
    let a = org(s, "mof").await;
    let now = now_millis();
    let mut b = batch(
        a,
        "b-1",
        vec![
            event(now, "ws01", "hello 世界のログ"),
            event(now + 1, "ws02", "other"),
        ],
    );
    b.dead_letters.push(NewDeadLetter {
        origin: "app.log:3".into(),
        reason: "syslog: at byte 0: expected '<'".into(),
        text: "garbage".into(),
    });
    b.alerts.push(hit(a, "k1", now, 2));
    let out = s.commit_batch(&b).await.unwrap();
    assert!(!out.duplicate);
    assert_eq!((out.accepted, out.rejected, out.alerts_new), (2, 1, 1));
    // The same batch again (a retry, a redelivery): nothing is stored twice.
    let again = s.commit_batch(&b).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(s.count_events(Some(a)).await.unwrap(), 2);
    let alerts = s
        .list_alerts(&AlertQuery {
            org: Some(a),
            limit: 10,
            ..AlertQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].event_count, 2);
    assert_eq!(s.list_dead_letters(Some(a), 10).await.unwrap().len(), 1);
    // A later batch extends the same alert (same dedup key) and tops up its evidence.
    let mut b2 = batch(a, "b-2", vec![event(now + 5, "ws01", "x")]);
    b2.alerts.push(hit(a, "k1", now + 5, 30));
    let out = s.commit_batch(&b2).await.unwrap();
    assert_eq!((out.alerts_new, out.alerts_updated), (0, 1));
    let al = s.get_alert(&alerts[0].id).await.unwrap();
    assert_eq!(al.event_count, 32);
    assert_eq!(al.last_seen, now + 5);
    assert_eq!(s.alert_evidence(&al.id).await.unwrap().len(), 20);
}

/// A batch's alerts are upserted many to a statement: a batch with more alerts than one
/// statement takes, one of them hit twice in the batch and one already stored, counts and
/// numbers evidence exactly as one alert at a time did.
async fn many_alerts_in_one_batch(db: Db) {
    let s = &db.store;
    let a = org(s, "many").await;
    let now = now_millis();
    // Titled by their key, to find them again.
    let hit = |key: &str, ts: i64, n: i64| AlertHit {
        title: key.to_owned(),
        ..hit(a, key, ts, n)
    };
    let mut first = batch(a, "m-0", vec![event(now, "ws01", "x")]);
    first.alerts.push(hit("k-0007", now, 3));
    assert_eq!(s.commit_batch(&first).await.unwrap().alerts_new, 1);
    let mut b = batch(a, "m-1", vec![event(now + 1, "ws01", "y")]);
    for i in 0..700 {
        b.alerts.push(hit(&format!("k-{i:04}"), now + i, 1 + i % 3));
    }
    // The same alert twice in one batch (a Sigma hit and, say, a correlation of the same key).
    b.alerts.push(hit("k-0100", now + 5_000, 4));
    let out = s.commit_batch(&b).await.unwrap();
    assert_eq!((out.alerts_new, out.alerts_updated), (699, 2));
    let one = |key: &'static str| async move {
        let all = s
            .list_alerts(&AlertQuery {
                org: Some(a),
                limit: 1_000,
                ..AlertQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(all.len(), 700);
        all.into_iter().find(|x| x.title == key).expect("the alert")
    };
    // k-0007: 3 stored before, 1 + 7 % 3 = 2 now.
    let al = one("k-0007").await;
    assert_eq!(al.event_count, 5);
    let seqs: Vec<i64> = s
        .alert_evidence(&al.id)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4]);
    // k-0100: 1 + 100 % 3 = 2, then 4 more; its evidence numbered on.
    let al = one("k-0100").await;
    assert_eq!(
        (al.event_count, al.first_seen, al.last_seen),
        (6, now + 100, now + 5_000)
    );
    assert_eq!(s.alert_evidence(&al.id).await.unwrap().len(), 6);
}

async fn event_search(db: Db) {
    let s = &db.store;
    let a = org(s, "mic").await;
    let b_org = org(s, "mext").await;
    let now = now_millis();
    s.commit_batch(&batch(
        a,
        "1",
        vec![
            event(now - 10_000, "ws01", "ログオン失敗 user=taro"),
            event(now - 5_000, "ws02", "login ok"),
        ],
    ))
    .await
    .unwrap();
    s.commit_batch(&batch(
        b_org,
        "2",
        vec![event(now, "srv9", "ログオン失敗 elsewhere")],
    ))
    .await
    .unwrap();
    let q = |text: Option<&str>, org: Option<OrgId>| EventQuery {
        org,
        text: text.map(str::to_owned),
        limit: 100,
        ..EventQuery::default()
    };
    // Japanese substring, scoped to one organisation.
    let r = s
        .search_events(&q(Some("ログオン"), Some(a)))
        .await
        .unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].doc["host.name"], "ws01");
    assert_eq!(
        s.search_events(&q(Some("ログオン"), None))
            .await
            .unwrap()
            .len(),
        2
    );
    // Case-insensitive ASCII, short text.
    assert_eq!(
        s.search_events(&q(Some("LOGIN"), Some(a)))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.search_events(&q(Some("ok"), Some(a)))
            .await
            .unwrap()
            .len(),
        1
    );
    // Indexed field, any document field, time range, newest first, paging.
    let mut fq = q(None, Some(a));
    fq.fields = vec![("host.name".into(), "ws02".into())];
    assert_eq!(s.search_events(&fq).await.unwrap().len(), 1);
    fq.fields = vec![("process.name".into(), "powershell.exe".into())];
    let all = s.search_events(&fq).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all[0].ts > all[1].ts);
    fq.before = Some((all[0].ts, all[0].id));
    assert_eq!(s.search_events(&fq).await.unwrap().len(), 1);
    fq.before = None;
    fq.from = Some(now - 7_000);
    assert_eq!(s.search_events(&fq).await.unwrap().len(), 1);
    fq.fields = vec![("bad\"name".into(), "x".into())];
    assert!(matches!(
        s.search_events(&fq).await,
        Err(StoreError::Invalid(_))
    ));
    // Retention: an organisation's old events go, with their search entries.
    assert_eq!(s.purge_events(Some(a), now - 7_000).await.unwrap(), 1);
    assert_eq!(
        s.search_events(&q(Some("ログオン"), Some(a)))
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(s.count_events(None).await.unwrap(), 2);
}

async fn triage_and_suppression(db: Db) {
    let s = &db.store;
    let a = org(s, "mhlw").await;
    let now = now_millis();
    let mut b = batch(a, "t1", vec![event(now, "ws01", "x")]);
    b.alerts.push(hit(a, "k-t", now, 1));
    s.commit_batch(&b).await.unwrap();
    let id = s
        .list_alerts(&AlertQuery {
            limit: 10,
            ..AlertQuery::default()
        })
        .await
        .unwrap()[0]
        .id
        .clone();
    let al = s
        .update_alert(
            &id,
            &AlertChange {
                status: Some("acknowledged".into()),
                assignee: Some("analyst1".into()),
                case_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (al.status.as_str(), al.assignee.as_deref()),
        ("acknowledged", Some("analyst1"))
    );
    assert!(matches!(
        s.update_alert(
            &id,
            &AlertChange {
                status: Some("bogus".into()),
                ..AlertChange::default()
            }
        )
        .await,
        Err(StoreError::Invalid(_))
    ));
    let al = s
        .update_alert(
            &id,
            &AlertChange {
                assignee: Some(String::new()),
                ..AlertChange::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(al.assignee, None);
    // A false positive suppresses the rule on that host from now on.
    s.add_suppression(a, "rule-1", "ws01", "admin script", Some("analyst1"))
        .await
        .unwrap();
    let mut b = batch(a, "t2", vec![event(now + 1, "ws01", "x")]);
    b.alerts.push(hit(a, "k-t2", now + 1, 3));
    let out = s.commit_batch(&b).await.unwrap();
    assert_eq!((out.suppressed, out.alerts_new), (1, 0));
    assert_eq!(s.list_suppressions(Some(a)).await.unwrap()[0].hits, 3);
    assert_eq!(s.alert_counts_by_day(Some(a), 0).await.unwrap().len(), 1);
}

async fn cross_org_correlation(db: Db) {
    let s = &db.store;
    let hub = org(s, "nisc").await;
    let orgs = [org(s, "m1").await, org(s, "m2").await, org(s, "m3").await];
    let now = now_millis();
    let rule = CrossOrgRule {
        min_orgs: 3,
        window_ms: 3_600_000,
        hub_org: hub,
    };
    let mut outs = vec![];
    for (i, o) in orgs.iter().enumerate() {
        let mut b = batch(*o, &format!("x{i}"), vec![]);
        b.sightings.push(SightingHit {
            kind: "domain".into(),
            value: "evil.example".into(),
            count: 1,
            seen_at: now + i as i64,
        });
        b.cross_org = Some(rule.clone());
        outs.push(s.commit_batch(&b).await.unwrap().correlations);
    }
    assert_eq!(outs, [0, 0, 1]);
    let hub_alerts = s
        .list_alerts(&AlertQuery {
            org: Some(hub),
            limit: 10,
            ..AlertQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(hub_alerts.len(), 1);
    assert_eq!(hub_alerts[0].kind, "correlation");
    assert!(
        s.list_alerts(&AlertQuery {
            org: Some(orgs[0]),
            limit: 10,
            ..AlertQuery::default()
        })
        .await
        .unwrap()
        .is_empty()
    );
}

/// Sightings go in many to a statement and the organisations behind each value come from one
/// query: batches of 1,500 values (more than one statement takes) from three organisations,
/// where the third sights half of the values again, only some within the window of the
/// others' sightings. Exactly the values seen by all three within the hour correlate.
async fn many_sightings_in_one_batch(db: Db) {
    let s = &db.store;
    let hub = org(s, "nisc-many").await;
    let orgs = [org(s, "s1").await, org(s, "s2").await, org(s, "s3").await];
    let now = now_millis();
    let hour = 3_600_000;
    let rule = CrossOrgRule {
        min_orgs: 3,
        window_ms: hour,
        hub_org: hub,
    };
    let sight = |i: usize, seen_at: i64| SightingHit {
        kind: "ipv4".into(),
        value: format!("198.51.{}.{}", i / 256, i % 256),
        count: 1,
        seen_at,
    };
    let commit = |o: OrgId, id: &'static str, sightings: Vec<SightingHit>| {
        let rule = rule.clone();
        async move {
            let mut b = batch(o, id, vec![]);
            b.sightings = sightings;
            b.cross_org = Some(rule);
            s.commit_batch(&b).await.unwrap().correlations
        }
    };
    // s1 two hours ago, s2 now: values 0..1500.
    assert_eq!(
        commit(
            orgs[0],
            "m1",
            (0..1_500).map(|i| sight(i, now - 2 * hour)).collect()
        )
        .await,
        0
    );
    assert_eq!(
        commit(orgs[1], "m2", (0..1_500).map(|i| sight(i, now)).collect()).await,
        0
    );
    // s3: even values now (s1's sighting is out of the window), values < 300 also seen
    // by s1 again within the hour, in the same batch as other values.
    let mut third: Vec<SightingHit> = (0..1_500).step_by(2).map(|i| sight(i, now)).collect();
    let again: Vec<SightingHit> = (0..300).map(|i| sight(i, now - 60_000)).collect();
    assert_eq!(commit(orgs[0], "m1-again", again).await, 0);
    // An odd value s3 saw three hours ago: the window reaches back an hour from there, and
    // s1's sighting two hours ago and s2's now count.
    third.push(sight(1_499, now - 3 * hour));
    let correlated = commit(orgs[2], "m3", third).await;
    // Even values below 300: s1 (a minute ago), s2 and s3 within the hour; and 1,499.
    assert_eq!(correlated, 151);
    let alerts = s
        .list_alerts(&AlertQuery {
            org: Some(hub),
            limit: 1_000,
            ..AlertQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(alerts.len(), 151);
    assert!(
        alerts
            .iter()
            .all(|a| a.event_count == 3 && a.kind == "correlation")
    );
}

/// A busy feed sights the same values in batch after batch: one detection row per value,
/// organisation and hour holds them (counts added, the latest time kept), so the table grows
/// with hours, not batches; the statistics and the cross-organisation rule answer as before.
async fn detection_sightings_share_a_row_per_hour(db: Db) {
    let s = &db.store;
    let hub = org(s, "nisc-hour").await;
    let (a, b) = (org(s, "h1").await, org(s, "h2").await);
    let hour = mamori_store::ingest::SIGHTING_BUCKET_MS;
    // Two hours ago on an hour's boundary, so the offsets below stay inside their hours.
    let base = (now_millis() / hour - 2) * hour;
    let rule = CrossOrgRule {
        min_orgs: 2,
        window_ms: hour,
        hub_org: hub,
    };
    let sight = |value: &str, count: i64, seen_at: i64| SightingHit {
        kind: "domain".into(),
        value: value.into(),
        count,
        seen_at,
    };
    let commit = |o: OrgId, id: String, sightings: Vec<SightingHit>| {
        let rule = rule.clone();
        async move {
            let mut bt = batch(o, &id, vec![]);
            bt.sightings = sightings;
            bt.cross_org = Some(rule);
            s.commit_batch(&bt).await.unwrap().correlations
        }
    };
    // Twenty batches of a in the first hour, out of order, one of them naming the value twice.
    for i in 0..20 {
        let at = base + ((i * 7) % 20) * 60_000;
        let mut list = vec![sight("busy.example", 2, at)];
        if i == 5 {
            list.push(sight("busy.example", 1, at + 1));
        }
        assert_eq!(commit(a, format!("a{i}"), list).await, 0);
    }
    // One batch in the next hour.
    commit(
        a,
        "a-next".into(),
        vec![sight("busy.example", 1, base + hour + 5)],
    )
    .await;
    let rows = |value: &'static str| async move {
        let sql = "SELECT count, seen_at FROM sightings WHERE value = $1 ORDER BY seen_at";
        let r: Vec<(i64, i64)> = match s.db() {
            Pool::Sqlite(p) => sqlx::query_as(sql).bind(value).fetch_all(p).await.unwrap(),
            Pool::Postgres(p) => sqlx::query_as(sql).bind(value).fetch_all(p).await.unwrap(),
        };
        r
    };
    assert_eq!(
        rows("busy.example").await,
        vec![(41, base + 19 * 60_000), (1, base + hour + 5)]
    );
    let stats = s
        .sighting_stats(mamori_model::ValueKind::Domain, "busy.example")
        .await
        .unwrap();
    assert_eq!((stats.count, stats.organisations), (42, 1));
    assert_eq!(stats.last_seen, Some(base + hour + 5));
    // b within the hour after a's latest: the rule still sees a's latest sighting.
    assert_eq!(
        commit(
            b,
            "b1".into(),
            vec![sight("busy.example", 1, base + hour + 30)]
        )
        .await,
        1
    );
    // A member's sighting stays its own row beside the detection rows.
    s.add_sighting(
        mamori_model::ValueKind::Domain,
        "busy.example",
        b,
        mamori_model::SightingSource::Member,
        3,
        base + hour + 40,
    )
    .await
    .unwrap();
    assert_eq!(rows("busy.example").await.len(), 4);
}

/// Two workers commit batches that sight the same indicators and extend the same alerts (and
/// a suppression) in opposite orders, at the same time: the per-value locks and the alert rows
/// must never deadlock (PostgreSQL would abort one transaction).
async fn concurrent_sightings_never_deadlock(db: Db) {
    let s = &db.store;
    let hub = org(s, "nisc").await;
    let (a, b) = (org(s, "m1").await, org(s, "m2").await);
    let rule = CrossOrgRule {
        min_orgs: 2,
        window_ms: 3_600_000,
        hub_org: hub,
    };
    let now = now_millis();
    let values: Vec<String> = (0..12).map(|i| format!("v{i}.example")).collect();
    s.add_suppression(a, "rule-quiet", "*", "noisy", None)
        .await
        .unwrap();
    let with = |o: OrgId, id: String, order: Vec<&String>| {
        let mut x = batch(o, &id, vec![]);
        x.cross_org = Some(rule.clone());
        // The same alerts of one organisation (`a`), in the given order, some suppressed.
        x.alerts = order
            .iter()
            .map(|v| {
                let mut h = hit(a, &format!("sigma|{v}"), now, 1);
                let j: usize = v[1..v.find('.').unwrap()].parse().unwrap();
                if j.is_multiple_of(3) {
                    h.rule_id = "rule-quiet".into();
                    h.dedup_key = format!("quiet|{v}");
                }
                h
            })
            .collect();
        x.sightings = order
            .into_iter()
            .map(|v| SightingHit {
                kind: "domain".into(),
                value: v.clone(),
                count: 1,
                seen_at: now,
            })
            .collect();
        x
    };
    for round in 0..15 {
        let x = with(a, format!("a{round}"), values.iter().collect());
        let y = with(b, format!("b{round}"), values.iter().rev().collect());
        let (rx, ry) = tokio::join!(s.commit_batch(&x), s.commit_batch(&y));
        rx.unwrap();
        ry.unwrap();
        // The alerts alone (no lock of the batch serialises the two).
        let (mut x, mut y) = (x, y);
        for z in [&mut x, &mut y] {
            z.batch_id.push_str("-alerts");
            z.sightings.clear();
            z.cross_org = None;
        }
        let (rx, ry) = tokio::join!(s.commit_batch(&x), s.commit_batch(&y));
        rx.unwrap();
        ry.unwrap();
    }
    let quiet = s
        .list_alerts(&AlertQuery {
            org: Some(a),
            limit: 100,
            ..AlertQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        quiet.len(),
        8,
        "the suppressed rule's alerts are not stored"
    );
    assert!(quiet.iter().all(|x| x.event_count == 60), "{quiet:?}");
}

async fn retention_per_organisation(db: Db) {
    let s = &db.store;
    let a = org(s, "short").await;
    let b = org(s, "default").await;
    let c = org(s, "long").await;
    let now = now_millis();
    let day = 86_400_000;
    s.set_event_retention(a, Some(1)).await.unwrap();
    s.set_event_retention(c, Some(60)).await.unwrap();
    assert!(matches!(
        s.set_event_retention(a, Some(0)).await,
        Err(StoreError::Invalid(_))
    ));
    for (o, id) in [(a, "a"), (b, "b"), (c, "c")] {
        let evs = vec![
            event(now, "h", "new"),
            event(now - 2 * day, "h", "two days"),
            event(now - 40 * day, "h", "forty days"),
        ];
        s.commit_batch(&batch(o, id, evs)).await.unwrap();
    }
    // a keeps 1 day (loses 2), b the default 30 (loses 1), c 60 (loses none).
    assert_eq!(s.apply_retention(30, now).await.unwrap(), 3);
    assert_eq!(s.count_events(Some(a)).await.unwrap(), 1);
    assert_eq!(s.count_events(Some(b)).await.unwrap(), 2);
    assert_eq!(s.count_events(Some(c)).await.unwrap(), 3);
    s.set_event_retention(c, None).await.unwrap();
    assert!(
        s.event_retentions()
            .await
            .unwrap()
            .iter()
            .all(|(o, _)| *o != c)
    );
}

/// Events stored in blocks are found exactly as a scan over every event would find them:
/// text (words, prefixes, phrases, Japanese), fields, time ranges, limits and paging, across
/// many overlapping blocks and a batch larger than one block.
async fn block_search_matches_a_full_scan(db: Db) {
    let s = &db.store;
    let a = org(s, "blocks").await;
    let vocab = [
        "alpha",
        "alphabet",
        "beta",
        "gamma",
        "ログオン",
        "失敗",
        "delta",
        // Long numbers are not indexed as words; short ones are.
        "1795651200000",
        "4625",
        "46251234567",
    ];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let base = now_millis() - 3_600_000;
    // (ts, host, message) in insertion order.
    let mut all: Vec<(i64, String, String)> = Vec::new();
    let sizes = [1usize, 3, 600, 17, 4_100, 250, 2, 90];
    for (bi, n) in sizes.iter().enumerate() {
        let mut evs = Vec::new();
        for _ in 0..*n {
            let ts = base + (next() % 3_000_000) as i64;
            let host = format!("h{}", next() % 5);
            let words: Vec<&str> = (0..1 + next() % 4)
                .map(|_| vocab[(next() % vocab.len() as u64) as usize])
                .collect();
            let msg = words.join(" ");
            evs.push(event(ts, &host, &msg));
            all.push((ts, host, msg));
        }
        s.commit_batch(&batch(a, &format!("b{bi}"), evs))
            .await
            .unwrap();
    }
    assert_eq!(s.count_events(Some(a)).await.unwrap(), all.len() as i64);
    let matches_text = |msg: &str, q: &str| -> bool {
        let toks: Vec<&str> = msg.split(' ').collect();
        let qs: Vec<&str> = q.split(' ').collect();
        toks.windows(qs.len()).any(|w| {
            w.iter().zip(&qs).enumerate().all(|(i, (t, q))| {
                if i + 1 == qs.len() {
                    t.starts_with(q)
                } else {
                    t == q
                }
            })
        })
    };
    let texts = [
        None,
        Some("alpha"),
        Some("alpha beta"),
        Some("ログオン"),
        Some("失敗"),
        Some("gam"),
        Some("1795651200000"),
        Some("4625"),
        Some("alpha 1795651200000"),
        Some("46251234567 beta"),
    ];
    let hosts = [None, Some("h3")];
    let windows = [None, Some((base + 1_000_000, base + 2_000_000))];
    for text in texts {
        for host in hosts {
            for window in windows {
                let mut expect: Vec<(i64, usize)> = all
                    .iter()
                    .enumerate()
                    .filter(|(_, (ts, h, m))| {
                        text.is_none_or(|t| matches_text(m, t))
                            && host.is_none_or(|x| h == x)
                            && window.is_none_or(|(f, t)| *ts >= f && *ts < t)
                    })
                    .map(|(i, (ts, _, _))| (*ts, i))
                    .collect();
                expect.sort_by(|x, y| y.cmp(x));
                let expect_ts: Vec<i64> = expect.iter().map(|(ts, _)| *ts).collect();
                let q = EventQuery {
                    org: Some(a),
                    text: text.map(str::to_owned),
                    fields: host
                        .map(|h| vec![("host.name".to_owned(), h.to_owned())])
                        .unwrap_or_default(),
                    from: window.map(|w| w.0),
                    to: window.map(|w| w.1),
                    limit: 1000,
                    ..EventQuery::default()
                };
                for limit in [1usize, 7, 1000] {
                    let got = s
                        .search_events(&EventQuery {
                            limit: limit as i64,
                            ..q.clone()
                        })
                        .await
                        .unwrap();
                    let got_ts: Vec<i64> = got.iter().map(|e| e.ts).collect();
                    let want: Vec<i64> = expect_ts.iter().copied().take(limit).collect();
                    assert_eq!(
                        got_ts, want,
                        "text {text:?} host {host:?} window {window:?} limit {limit}"
                    );
                }
                // Paging 97 at a time walks every match once, in order.
                let mut paged: Vec<i64> = Vec::new();
                let mut ids = std::collections::HashSet::new();
                let mut before = None;
                loop {
                    let page = s
                        .search_events(&EventQuery {
                            limit: 97,
                            before,
                            ..q.clone()
                        })
                        .await
                        .unwrap();
                    let Some(last) = page.last() else { break };
                    before = Some((last.ts, last.id));
                    for e in &page {
                        assert!(ids.insert(e.id), "event {} twice", e.id);
                        paged.push(e.ts);
                    }
                }
                assert_eq!(
                    paged, expect_ts,
                    "paging: text {text:?} host {host:?} window {window:?}"
                );
            }
        }
    }
    // Event times are not indexed as field terms, yet a filter on one still finds its event.
    let (ts, host, _) = &all[700];
    let got = s
        .search_events(&EventQuery {
            org: Some(a),
            fields: vec![
                ("@timestamp".to_owned(), ts.to_string()),
                ("host.name".to_owned(), host.clone()),
            ],
            limit: 1000,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    let want = all.iter().filter(|(t, h, _)| t == ts && h == host).count();
    assert_eq!(got.len(), want);
    assert!(got.iter().all(|e| e.ts == *ts));
}

/// A database from before event blocks: its per-event rows are moved into blocks when the
/// store opens it, and stay searchable.
async fn old_event_rows_move_into_blocks(db: Db) {
    let s = &db.store;
    let a = org(s, "legacy").await;
    let now = now_millis();
    let create = "CREATE TABLE events (id BIGINT PRIMARY KEY, org_id TEXT NOT NULL, source TEXT NOT NULL, \
                  ts BIGINT NOT NULL, received_at BIGINT NOT NULL, dataset TEXT, host TEXT, source_ip TEXT, \
                  destination_ip TEXT, user_name TEXT, message TEXT, doc TEXT NOT NULL)";
    let insert = "INSERT INTO events (id, org_id, source, ts, received_at, host, doc) VALUES ($1,$2,$3,$4,$5,$6,$7)";
    let rows: Vec<(i64, &str, &str)> = vec![
        (
            1,
            "sensor:old",
            r#"{"host.name":"ws01","message":"ログオン失敗 taro"}"#,
        ),
        (
            2,
            "sensor:old",
            r#"{"host.name":"ws02","message":"login ok"}"#,
        ),
        (
            3,
            "syslog:udp",
            r#"{"host.name":"fw1","message":"deny tcp"}"#,
        ),
    ];
    macro_rules! legacy {
        ($pool:expr) => {{
            sqlx::query(create).execute($pool).await.unwrap();
            if matches!(s.db(), Pool::Sqlite(_)) {
                sqlx::query("CREATE VIRTUAL TABLE events_fts USING fts5(text, content='', contentless_delete=1)")
                    .execute($pool)
                    .await
                    .unwrap();
            }
            for (id, source, doc) in &rows {
                let v: serde_json::Value = serde_json::from_str(doc).unwrap();
                sqlx::query(insert)
                    .bind(id)
                    .bind(a.to_string())
                    .bind(*source)
                    .bind(now - 1000 + id)
                    .bind(now)
                    .bind(v["host.name"].as_str().unwrap())
                    .bind(*doc)
                    .execute($pool)
                    .await
                    .unwrap();
            }
        }};
    }
    match s.db() {
        Pool::Sqlite(p) => legacy!(p),
        Pool::Postgres(p) => legacy!(p),
    }
    s.migrate().await.unwrap();
    assert_eq!(s.count_events(Some(a)).await.unwrap(), 3);
    let found = s
        .search_events(&EventQuery {
            org: Some(a),
            text: Some("ログオン".into()),
            limit: 10,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].doc["host.name"], "ws01");
    assert_eq!(found[0].source, "sensor:old");
    let by_host = s
        .search_events(&EventQuery {
            org: Some(a),
            fields: vec![("host.name".into(), "fw1".into())],
            limit: 10,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(by_host.len(), 1);
    assert_eq!(by_host[0].source, "syslog:udp");
    // The old table is gone; opening again moves nothing.
    s.migrate().await.unwrap();
    assert_eq!(s.count_events(Some(a)).await.unwrap(), 3);
}

/// An exact filter on a single-word value finds blocks that hold the value's word without
/// its hashed term (flat events store none) and blocks that hold the hashed term without the
/// word (older blocks; a value past the kept search text), each batch its own block.
async fn single_word_field_filters_find_blocks_by_word_or_hash(db: Db) {
    use mamori_store::blocks::{TEXT_SEP, field_hash};
    let s = &db.store;
    let a = org(s, "mic").await;
    let now = now_millis();
    let ev = |n: i64, doc: serde_json::Value, text: &[&str], hashes: Vec<u64>| NewEvent {
        ts: now - n,
        doc: doc.to_string(),
        text: text.iter().map(|t| format!("{t}{TEXT_SEP}")).collect(),
        field_hashes: Some(hashes),
        ..NewEvent::default()
    };
    let image = "C:\\Windows\\a.exe";
    let events = [
        // The word only (what the flat path stores for `EventID`).
        ev(
            3,
            serde_json::json!({"EventID": 4625, "Image": image, "n": "one"}),
            &["4625", image, "one"],
            vec![field_hash("Image", image)],
        ),
        // The hashed term only.
        ev(
            2,
            serde_json::json!({"EventID": 4625, "n": "two"}),
            &["two"],
            vec![field_hash("EventID", "4625")],
        ),
        ev(
            1,
            serde_json::json!({"EventID": 4624, "n": "three"}),
            &["4624", "three"],
            vec![],
        ),
    ];
    for (i, e) in events.into_iter().enumerate() {
        s.commit_batch(&batch(a, &format!("w{i}"), vec![e]))
            .await
            .unwrap();
    }
    let search = |fields: &[(&str, &str)], text: Option<&str>| EventQuery {
        org: Some(a),
        text: text.map(str::to_owned),
        fields: fields
            .iter()
            .map(|(f, v)| (f.to_string(), v.to_string()))
            .collect(),
        limit: 100,
        ..EventQuery::default()
    };
    let found = |q: EventQuery| async move {
        let mut n: Vec<String> = s
            .search_events(&q)
            .await
            .unwrap()
            .iter()
            .map(|e| e.doc["n"].as_str().unwrap_or_default().to_owned())
            .collect();
        n.sort();
        n
    };
    assert_eq!(
        found(search(&[("EventID", "4625")], None)).await,
        ["one", "two"]
    );
    assert_eq!(found(search(&[("EventID", "4624")], None)).await, ["three"]);
    assert_eq!(
        found(search(&[("EventID", "4625")], Some("two"))).await,
        ["two"]
    );
    assert_eq!(
        found(search(
            &[("EventID", "4625"), ("n", "one"), ("Image", image)],
            None
        ))
        .await,
        ["one"]
    );
    // More single-word filters than narrow the blocks: the rest are checked exactly.
    assert_eq!(
        found(search(
            &[("n", "two"), ("EventID", "4625"), ("x", "1"), ("y", "2")],
            None
        ))
        .await,
        Vec::<String>::new()
    );
    assert_eq!(
        found(search(
            &[
                ("n", "two"),
                ("EventID", "4625"),
                ("n", "two"),
                ("n", "two")
            ],
            None
        ))
        .await,
        ["two"]
    );
}

macro_rules! conformance {
    ($backend:ident) => {
        mod $backend {
            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        super::$name(super::$backend().await).await;
                    }
                };
            }
            case!(sensors_and_tokens);
            case!(batches_are_exactly_once);
            case!(many_alerts_in_one_batch);
            case!(many_sightings_in_one_batch);
            case!(detection_sightings_share_a_row_per_hour);
            case!(event_search);
            case!(triage_and_suppression);
            case!(cross_org_correlation);
            case!(concurrent_sightings_never_deadlock);
            case!(retention_per_organisation);
            case!(block_search_matches_a_full_scan);
            case!(old_event_rows_move_into_blocks);
            case!(retro_blocks_report_an_unreadable_block_and_go_on);
            case!(single_word_field_filters_find_blocks_by_word_or_hash);
        }
    };
}

/// A retro-hunt's read of stored blocks: a block whose data is corrupt comes back marked
/// unreadable (the hunt skips it with a warning) and the blocks after it are read as usual.
async fn retro_blocks_report_an_unreadable_block_and_go_on(db: Db) {
    let s = &db.store;
    let a = org(s, "retro-read").await;
    let now = now_millis();
    for b in 0..3 {
        s.commit_batch(&batch(
            a,
            &format!("r{b}"),
            vec![event(now - b, "ws1", "evil")],
        ))
        .await
        .unwrap();
    }
    let scan = mamori_store::retro::RetroScan {
        from_ts: now - 60_000,
        until_received: now_millis(),
        after_id: 0,
        limit: 10,
        narrow: None,
    };
    let blocks = s.retro_blocks(&scan).await.unwrap();
    assert_eq!(blocks.len(), 3);
    let bad = blocks[1].id;
    let corrupt = "UPDATE event_blocks SET data = $1 WHERE id = $2";
    match s.db() {
        Pool::Sqlite(p) => {
            sqlx::query(corrupt)
                .bind(b"not zstd".to_vec())
                .bind(bad)
                .execute(p)
                .await
                .unwrap();
        }
        Pool::Postgres(p) => {
            sqlx::query(corrupt)
                .bind(b"not zstd".to_vec())
                .bind(bad)
                .execute(p)
                .await
                .unwrap();
        }
    }
    let blocks = s.retro_blocks(&scan).await.unwrap();
    let read: Vec<(usize, bool)> = blocks
        .iter()
        .map(|b| (b.docs.len(), b.unreadable.is_some()))
        .collect();
    assert_eq!(read, vec![(1, false), (0, true), (1, false)]);
    assert!(
        blocks[1]
            .unreadable
            .as_deref()
            .unwrap()
            .contains("event_blocks.data"),
        "{:?}",
        blocks[1].unreadable
    );
}

conformance!(sqlite);
conformance!(postgres);

/// A search of `org`'s events by text, optionally on one host.
fn text_query(org: OrgId, text: &str, host: Option<&str>, limit: i64) -> EventQuery {
    EventQuery {
        org: Some(org),
        text: Some(text.to_owned()),
        fields: host
            .map(|h| vec![("host.name".to_owned(), h.to_owned())])
            .unwrap_or_default(),
        limit,
        ..EventQuery::default()
    }
}

/// A SQLite database from before migration 0014 gets its block term index rebuilt without
/// positions when it is opened: every stored event is found again by text and by field.
#[tokio::test]
async fn sqlite_block_terms_are_rebuilt_after_migration_0014() {
    let db = sqlite().await;
    let s = &db.store;
    let a = org(s, "reindex").await;
    let now = now_millis();
    for b in 0..3 {
        let evs = (0..(1 + b * 2_100))
            .map(|i| event(now - i as i64, &format!("h{b}"), &format!("word{b} common")))
            .collect();
        s.commit_batch(&batch(a, &format!("r{b}"), evs))
            .await
            .unwrap();
    }
    let Pool::Sqlite(pool) = s.db() else {
        unreachable!()
    };
    // The state 0014 leaves: an empty index without positions and the blocks to index.
    let migration = include_str!("../migrations/sqlite/0014_block_terms_detail_none.sql");
    sqlx::raw_sql(sqlx::AssertSqlSafe(migration))
        .execute(pool)
        .await
        .unwrap();
    let search = |text: &str, host: Option<&str>| text_query(a, text, host, 1000);
    assert!(
        s.search_events(&search("word1", None))
            .await
            .unwrap()
            .is_empty()
    );
    s.migrate().await.unwrap();
    let (left,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM sqlite_master WHERE name = 'event_blocks_reindex'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(left, 0);
    assert_eq!(
        s.search_events(&search("word0", None)).await.unwrap().len(),
        1
    );
    assert_eq!(
        s.search_events(&search("word1", Some("h1")))
            .await
            .unwrap()
            .len(),
        1000
    );
    assert_eq!(
        s.search_events(&search("word2 comm", None))
            .await
            .unwrap()
            .len(),
        1000
    );
    // New batches are indexed as before.
    s.commit_batch(&batch(a, "after", vec![event(now, "h9", "fresh")]))
        .await
        .unwrap();
    assert_eq!(
        s.search_events(&search("fresh", Some("h9")))
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Migration 0015 sets the block term index to merge 16 segments at a time (FTS5 keeps the
/// setting in its `_config` table), and searches over many unmerged segments still find every
/// block.
#[tokio::test]
async fn sqlite_block_terms_merge_sixteen_segments_at_a_time() {
    let db = sqlite().await;
    let s = &db.store;
    let Pool::Sqlite(pool) = s.db() else {
        unreachable!()
    };
    let (automerge,): (i64,) =
        sqlx::query_as("SELECT v FROM event_blocks_fts_config WHERE k = 'automerge'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(automerge, 16);
    let a = org(s, "segments").await;
    let now = now_millis();
    // Each commit flushes one segment: 20 of them leave one merge of 16 and 4 unmerged.
    for b in 0..20 {
        s.commit_batch(&batch(
            a,
            &format!("seg{b}"),
            vec![event(
                now - b,
                &format!("host{b}"),
                &format!("segment{b} shared"),
            )],
        ))
        .await
        .unwrap();
    }
    let query = |text: &str| text_query(a, text, None, 100);
    assert_eq!(s.search_events(&query("shared")).await.unwrap().len(), 20);
    assert_eq!(s.search_events(&query("segment7")).await.unwrap().len(), 1);
}

/// Migration 0018 and the hub's connections: block data is stored without a second
/// compression, block terms with lz4 (the parent table, the partitions that existed and a day
/// partition created by a later commit), and a connection lets the GIN pending list grow to
/// 32MB. The blocks are still found by their terms.
#[tokio::test]
async fn postgres_event_blocks_are_stored_without_wasted_compression() {
    let db = postgres().await;
    let s = &db.store;
    let Pool::Postgres(pool) = s.db() else {
        unreachable!()
    };
    let (limit,): (String,) = sqlx::query_as("SHOW gin_pending_list_limit")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(limit, "32MB");
    let a = org(s, "lz4").await;
    let now = now_millis();
    s.commit_batch(&batch(a, "today", vec![event(now, "ws1", "packed words")]))
        .await
        .unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, a.attcompression::text \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         WHERE c.relname LIKE 'event_blocks%' AND c.relkind IN ('r', 'p') \
           AND a.attname = 'terms' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    // The parent, the default partition and today's.
    assert!(rows.len() >= 3, "{rows:?}");
    for (table, compression) in &rows {
        assert_eq!(compression, "l", "{table} compresses terms with pglz");
    }
    let data: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, a.attstorage::text FROM pg_attribute a \
         JOIN pg_class c ON c.oid = a.attrelid \
         WHERE c.relname LIKE 'event_blocks%' AND c.relkind IN ('r', 'p') AND a.attname = 'data'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(data.iter().all(|(_, st)| st == "e"), "{data:?}");
    let found = s
        .search_events(&text_query(a, "packed", Some("ws1"), 10))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
}
