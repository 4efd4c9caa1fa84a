//! The storage conformance suite: every test runs against a real SQLite file and a real
//! PostgreSQL server started by the test kit, through the same `Store` API.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use std::collections::BTreeSet;

use common::{Db, postgres, sqlite};
use mamori_access::VisibilityFilter;
use mamori_model::{Contact, GroupId, Lang, OrgId, OrgKind, Role, Scope, Tlp};
use mamori_model::{SightingSource, ValueKind};
use mamori_store::audit::AuditEntry;
use mamori_store::groups::NewGroup;
use mamori_store::orgs::{NewOrg, OrgPatch};
use mamori_store::reports::{
    NewIndicator, NewObservable, NewReport, ReportPatch, ReportQuery, StoredReport,
};
use mamori_store::users::{NewUser, UserPatch};
use mamori_store::visibility::{MarkingColumns, predicate};
use mamori_store::{ConnectOptions, Db as Pool, PageRequest, Store, StoreError};

fn new_org(slug: &str) -> NewOrg {
    NewOrg {
        slug: slug.into(),
        name_ja: format!("{slug} 省"),
        name_en: format!("Ministry {slug}"),
        kind: OrgKind::Ministry,
        sector: Some("government".into()),
        cidrs: vec!["192.0.2.0/24".parse().unwrap()],
        domains: vec!["Example.GO.JP.".into()],
        contacts: vec![Contact {
            name: "担当者".into(),
            email: "csirt@example.go.jp".into(),
            lang: Lang::Ja,
        }],
    }
}

fn new_user(org: OrgId, name: &str, role: Role) -> NewUser {
    NewUser {
        org_id: org,
        username: name.into(),
        display_name: String::new(),
        email: format!("{name}@example.go.jp"),
        role,
        lang: Lang::En,
    }
}

fn entry(action: &str) -> AuditEntry {
    AuditEntry {
        actor_user: None,
        actor_org: None,
        actor_name: "system".into(),
        action: action.into(),
        object_type: "org".into(),
        object_id: "x".into(),
        tlp: Some(Tlp::Amber),
        source: "127.0.0.1".into(),
        request_id: "r".into(),
        detail: serde_json::json!({"k": "値"}),
    }
}

async fn migrations_are_idempotent(db: Db) {
    let again = db.store.migrate().await.unwrap();
    assert!(again.applied.is_empty());
    assert!(again.current >= 1);
    db.store.ping().await.unwrap();
}

async fn org_lifecycle(db: Db) {
    let s = &db.store;
    let org = s.create_org(&new_org("mic")).await.unwrap();
    assert_eq!(org.domains, vec!["example.go.jp"]);
    assert_eq!(s.get_org(org.id).await.unwrap(), org);
    assert_eq!(s.get_org_by_slug("mic").await.unwrap().name_ja, "mic 省");
    assert_eq!(s.find_org(&org.id.to_string()).await.unwrap().id, org.id);
    assert!(matches!(
        s.create_org(&new_org("mic")).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.create_org(&new_org("Bad Slug")).await,
        Err(StoreError::Invalid(_))
    ));
    let mut bad = new_org("bad-domain");
    bad.domains = vec!["not a domain".into()];
    assert!(matches!(
        s.create_org(&bad).await,
        Err(StoreError::Invalid(_))
    ));

    let patched = s
        .update_org(
            org.id,
            &OrgPatch {
                name_en: Some("MIC".into()),
                kind: Some(OrgKind::Agency),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (patched.name_en.as_str(), patched.kind),
        ("MIC", OrgKind::Agency)
    );
    assert_eq!(s.get_org(org.id).await.unwrap(), patched);

    // An organisation with users can not be deleted; an empty one can.
    s.create_user(&new_user(org.id, "alice", Role::Member), None)
        .await
        .unwrap();
    let del = s.delete_org(org.id).await;
    assert!(matches!(del, Err(StoreError::Conflict(_))), "{del:?}");
    let empty = s.create_org(&new_org("empty")).await.unwrap();
    s.delete_org(empty.id).await.unwrap();
    assert!(matches!(
        s.get_org(empty.id).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn org_pagination(db: Db) {
    let s = &db.store;
    for i in 0..7 {
        s.create_org(&new_org(&format!("org-{i}"))).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let req = PageRequest::from_cursor(cursor.as_deref(), Some(3)).unwrap();
        let page = s.list_orgs(&req).await.unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.into_iter().map(|o| o.slug));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 7);
    assert!(PageRequest::from_cursor(Some("!!!"), None).is_err());
}

async fn users_and_sessions(db: Db) {
    let s = &db.store;
    let org = s.create_org(&new_org("npa")).await.unwrap();
    let u = s
        .create_user(&new_user(org.id, "bob", Role::Analyst), Some("hash"))
        .await
        .unwrap();
    assert!(matches!(
        s.create_user(&new_user(org.id, "bob", Role::Member), None)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.create_user(&new_user(OrgId::new(), "carol", Role::Member), None)
            .await,
        Err(StoreError::NotFound(_))
    ));
    let (found, hash) = s.get_user_for_login("bob").await.unwrap().unwrap();
    assert_eq!((found.id, hash.as_deref()), (u.id, Some("hash")));
    assert!(s.get_user_for_login("nobody").await.unwrap().is_none());
    assert_eq!(
        s.list_users(Some(org.id), &PageRequest::from_cursor(None, None).unwrap())
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    let sess = s
        .create_session(u.id, 60_000, "127.0.0.1", "test")
        .await
        .unwrap();
    let info = s.resolve_session(&sess.secret).await.unwrap().unwrap();
    assert_eq!(
        (info.user.id, info.csrf_token),
        (u.id, sess.csrf_token.clone())
    );
    assert!(s.resolve_session("forged").await.unwrap().is_none());

    // Disabling a user ends their sessions.
    s.update_user(
        u.id,
        &UserPatch {
            disabled: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(s.resolve_session(&sess.secret).await.unwrap().is_none());

    // Expired sessions do not resolve and are purged.
    let short = s.create_session(u.id, -1, "127.0.0.1", "t").await.unwrap();
    assert!(s.resolve_session(&short.secret).await.unwrap().is_none());
    assert!(s.purge_expired_sessions().await.unwrap() >= 1);
}

async fn tokens(db: Db) {
    let s = &db.store;
    let org = s.create_org(&new_org("soumu")).await.unwrap();
    let u = s
        .create_user(&new_user(org.id, "dave", Role::Member), None)
        .await
        .unwrap();
    let (tok, secret) = s
        .create_token(u.id, "ci", &[Scope::Write, Scope::Read, Scope::Read], None)
        .await
        .unwrap();
    assert!(secret.starts_with("mmr_"));
    assert_eq!(tok.scopes, vec![Scope::Read, Scope::Write]);
    let (t2, user) = s.authenticate_token(&secret).await.unwrap().unwrap();
    assert_eq!((t2.id, user.id), (tok.id, u.id));
    assert!(s.get_token(tok.id).await.unwrap().last_used_at.is_some());
    assert!(s.authenticate_token("mmr_wrong").await.unwrap().is_none());
    assert!(
        s.create_token(u.id, "past", &[Scope::Read], Some(1))
            .await
            .is_err()
    );

    s.revoke_token(tok.id).await.unwrap();
    assert!(s.authenticate_token(&secret).await.unwrap().is_none());

    let (exp, exp_secret) = s
        .create_token(
            u.id,
            "soon",
            &[Scope::Read],
            Some(mamori_store::now_millis() + 60_000),
        )
        .await
        .unwrap();
    assert!(s.authenticate_token(&exp_secret).await.unwrap().is_some());
    s.execute_raw(&format!(
        "UPDATE api_tokens SET expires_at = 1 WHERE id = '{}'",
        exp.id
    ))
    .await
    .unwrap();
    assert!(s.authenticate_token(&exp_secret).await.unwrap().is_none());
    assert_eq!(s.list_tokens(u.id).await.unwrap().len(), 2);
}

async fn groups(db: Db) {
    let s = &db.store;
    let a = s.create_org(&new_org("isac-a")).await.unwrap();
    let b = s.create_org(&new_org("isac-b")).await.unwrap();
    let g = s
        .create_group(&NewGroup {
            name: "金融ISAC".into(),
            description: "Financial ISAC".into(),
            owner_org: a.id,
            members: vec![b.id],
        })
        .await
        .unwrap();
    assert_eq!(g.members.len(), 2);
    assert_eq!(s.groups_of_org(b.id).await.unwrap(), vec![g.id]);
    assert_eq!(s.find_group("金融ISAC").await.unwrap().id, g.id);
    assert!(s.remove_group_member(g.id, a.id).await.is_err());
    s.remove_group_member(g.id, b.id).await.unwrap();
    assert!(s.groups_of_org(b.id).await.unwrap().is_empty());
    assert!(matches!(
        s.add_group_member(g.id, OrgId::new()).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(s.list_groups().await.unwrap().len(), 1);
}

async fn audit_chain_and_tamper(db: Db) {
    let s = &db.store;
    for i in 0..10 {
        s.append_audit(&entry(&format!("test.{i}"))).await.unwrap();
    }
    let ok = s.verify_audit().await.unwrap();
    assert_eq!((ok.rows, ok.first_broken.clone()), (10, None));

    // The database itself refuses changes.
    assert!(
        s.execute_raw("UPDATE audit_log SET action = 'x' WHERE seq = 3")
            .await
            .is_err()
    );
    assert!(
        s.execute_raw("DELETE FROM audit_log WHERE seq = 3")
            .await
            .is_err()
    );

    // Someone with raw database access drops the guard and edits a row: verify names it.
    match s.db() {
        Pool::Sqlite(_) => {
            s.execute_raw("DROP TRIGGER audit_log_no_update")
                .await
                .unwrap();
            s.execute_raw("DROP TRIGGER audit_log_no_delete")
                .await
                .unwrap();
        }
        Pool::Postgres(_) => {
            s.execute_raw("DROP TRIGGER audit_log_no_change ON audit_log")
                .await
                .unwrap();
        }
    }
    s.execute_raw("UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 4")
        .await
        .unwrap();
    let bad = s.verify_audit().await.unwrap();
    let broken = bad.first_broken.unwrap();
    assert_eq!(broken.seq, 4, "{}", broken.reason);
    assert!(broken.reason.contains("altered"));

    // Restore that row's field, then remove a row instead.
    s.execute_raw("UPDATE audit_log SET actor_name = 'system' WHERE seq = 4")
        .await
        .unwrap();
    assert!(s.verify_audit().await.unwrap().first_broken.is_none());
    s.execute_raw("DELETE FROM audit_log WHERE seq = 7")
        .await
        .unwrap();
    let gap = s.verify_audit().await.unwrap().first_broken.unwrap();
    assert_eq!(gap.seq, 7, "{}", gap.reason);

    // Listing pages newest first.
    let page = s.list_audit(None, 3).await.unwrap();
    assert_eq!(
        page.items.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![10, 9, 8]
    );
}

/// Concurrent appends through two handles with their own group-commit queues (as two hub
/// processes would have): every append gets its own sequence number, the row at that number
/// is that append's, and the chain verifies.
async fn audit_concurrent_appends(db: Db) {
    let s = db.store.clone();
    let other = Store::from(s.db().clone());
    let mut tasks = Vec::new();
    for i in 0..120 {
        let s = if i % 2 == 0 { s.clone() } else { other.clone() };
        tasks.push(tokio::spawn(async move {
            (i, s.append_audit(&entry(&format!("c.{i}"))).await.unwrap())
        }));
    }
    let mut seqs = BTreeSet::new();
    let mut by_seq = std::collections::BTreeMap::new();
    for t in tasks {
        let (i, seq) = t.await.unwrap();
        seqs.insert(seq);
        by_seq.insert(seq, format!("c.{i}"));
    }
    assert_eq!(seqs, (1..=120).collect());
    let mut rows = Vec::new();
    let mut before = None;
    loop {
        let page = s.list_audit(before, 500).await.unwrap();
        rows.extend(page.items);
        match page.next_cursor {
            Some(c) => before = Some(c.parse().unwrap()),
            None => break,
        }
    }
    for r in rows {
        assert_eq!(by_seq.get(&r.seq), Some(&r.action), "row {}", r.seq);
    }
    let report = s.verify_audit().await.unwrap();
    assert_eq!((report.rows, report.first_broken), (120, None));
}

/// The SQL rendering of the visibility filter admits exactly what the policy admits, for every
/// reader over a spread of markings.
async fn visibility_sql_matches_policy(db: Db) {
    let s = &db.store;
    s.execute_raw(
        "CREATE TABLE marked_objects (id TEXT PRIMARY KEY, tlp_rank BIGINT NOT NULL, \
         owner_org TEXT NOT NULL, sharing_group TEXT)",
    )
    .await
    .unwrap();
    s.execute_raw(
        "CREATE TABLE marked_object_recipients (object_id TEXT NOT NULL, org_id TEXT NOT NULL)",
    )
    .await
    .unwrap();
    let orgs: Vec<OrgId> = (0..5)
        .map(|i| OrgId(uuid::Uuid::from_u128(100 + i)))
        .collect();
    let groups: Vec<GroupId> = (0..3)
        .map(|i| GroupId(uuid::Uuid::from_u128(200 + i)))
        .collect();
    // Deterministic spread: every TLP x owner x (no group | group) x (no recipient | one).
    let mut objects = Vec::new();
    let mut n = 0u128;
    for tlp in Tlp::ALL {
        for (oi, owner) in orgs.iter().enumerate() {
            for g in [None, Some(groups[oi % 3])] {
                for r in [None, Some(orgs[(oi + 2) % 5])] {
                    n += 1;
                    let id = format!("obj-{n}");
                    let m = mamori_model::Marking {
                        tlp,
                        owner_org: *owner,
                        sharing_group: g,
                        recipients: r.into_iter().collect(),
                    };
                    s.execute_raw(&format!(
                        "INSERT INTO marked_objects VALUES ('{id}', {}, '{owner}', {})",
                        tlp.rank(),
                        g.map_or("NULL".to_owned(), |g| format!("'{g}'"))
                    ))
                    .await
                    .unwrap();
                    if let Some(r) = r {
                        s.execute_raw(&format!(
                            "INSERT INTO marked_object_recipients VALUES ('{id}', '{r}')"
                        ))
                        .await
                        .unwrap();
                    }
                    objects.push((id, m));
                }
            }
        }
    }
    let cols = MarkingColumns {
        id: "o.id",
        tlp_rank: "o.tlp_rank",
        owner_org: "o.owner_org",
        sharing_group: "o.sharing_group",
        recipients_table: "marked_object_recipients",
    };
    let mut filters = vec![VisibilityFilter::anonymous()];
    for (i, org) in orgs.iter().enumerate() {
        for admin in [false, true] {
            let member_of: Vec<GroupId> = groups
                .iter()
                .enumerate()
                .filter(|(g, _)| (i + g) % 2 == 0)
                .map(|(_, g)| *g)
                .collect();
            filters.push(VisibilityFilter {
                org: Some(*org),
                groups: member_of,
                admin,
            });
            filters.push(VisibilityFilter {
                org: Some(*org),
                groups: vec![],
                admin,
            });
        }
    }
    for f in filters {
        let p = predicate(&f, &cols, 1);
        let sql = format!(
            "SELECT o.id FROM marked_objects o WHERE {} ORDER BY o.id",
            p.sql
        );
        let got: BTreeSet<String> = match s.db() {
            Pool::Sqlite(pool) => {
                let mut q = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql.as_str()));
                for b in &p.binds {
                    q = q.bind(b);
                }
                q.fetch_all(pool)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| r.0)
                    .collect()
            }
            Pool::Postgres(pool) => {
                let mut q = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql.as_str()));
                for b in &p.binds {
                    q = q.bind(b);
                }
                q.fetch_all(pool)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| r.0)
                    .collect()
            }
        };
        let want: BTreeSet<String> = objects
            .iter()
            .filter(|(_, m)| f.admits(m))
            .map(|(id, _)| id.clone())
            .collect();
        assert_eq!(got, want, "filter {f:?}");
    }
}

fn report(owner: OrgId, tlp: Tlp, title: &str, values: &[(ValueKind, &str)]) -> NewReport {
    NewReport {
        title: title.into(),
        description: "標的型メールによる攻撃。添付ファイルに注意".into(),
        owner_org: owner,
        anonymous: false,
        tlp,
        sharing_group: None,
        recipients: vec![],
        confidence: Some(80),
        labels: vec!["phishing".into()],
        attack_techniques: vec!["T1566.001".into()],
        created_by: None,
        indicators: values
            .iter()
            .map(|(k, v)| NewIndicator {
                kind: Some(*k),
                value: Some((*v).into()),
                ..Default::default()
            })
            .collect(),
        observables: vec![NewObservable {
            kind: ValueKind::Domain,
            value: "shared.example.jp".into(),
            comment: String::new(),
        }],
    }
}

async fn reports_visibility_search_and_correlation(db: Db) {
    let s = &db.store;
    let author = s.create_org(&new_org("author")).await.unwrap();
    let peer = s.create_org(&new_org("peer")).await.unwrap();
    let outsider = s.create_org(&new_org("outsider")).await.unwrap();
    let isac = s
        .create_group(&NewGroup {
            name: "isac".into(),
            description: String::new(),
            owner_org: author.id,
            members: vec![peer.id],
        })
        .await
        .unwrap();
    let mut amber = report(
        author.id,
        Tlp::Amber,
        "標的型メール 2026-11",
        &[(ValueKind::Ipv4, "198.51.100.7")],
    );
    amber.sharing_group = Some(isac.id);
    let amber = s.create_report(&amber).await.unwrap();
    let green = s
        .create_report(&report(
            peer.id,
            Tlp::Green,
            "Scanning from 198.51.100.7",
            &[(ValueKind::Ipv4, "198.51.100.7")],
        ))
        .await
        .unwrap();
    let red = s
        .create_report(&report(
            outsider.id,
            Tlp::Red,
            "red",
            &[(ValueKind::Ipv4, "198.51.100.7")],
        ))
        .await
        .unwrap();
    assert_eq!(s.report_indicators(amber.report.id).await.unwrap().len(), 1);
    assert_eq!(
        s.report_observables(amber.report.id).await.unwrap().len(),
        1
    );

    let viewer = |org: OrgId, groups: Vec<GroupId>| VisibilityFilter {
        org: Some(org),
        groups,
        admin: false,
    };
    let all = PageRequest::from_cursor(None, None).unwrap();
    let titles = |p: mamori_store::Page<StoredReport>| {
        p.items
            .into_iter()
            .map(|r| r.report.title)
            .collect::<BTreeSet<_>>()
    };
    let q = ReportQuery::default();
    let peer_sees = titles(
        s.list_reports(&viewer(peer.id, vec![isac.id]), &q, &all)
            .await
            .unwrap(),
    );
    assert_eq!(peer_sees.len(), 2, "{peer_sees:?}");
    let out_sees = titles(
        s.list_reports(&viewer(outsider.id, vec![]), &q, &all)
            .await
            .unwrap(),
    );
    assert_eq!(
        out_sees,
        ["Scanning from 198.51.100.7".to_owned(), "red".to_owned()].into()
    );
    assert!(
        s.list_reports(&VisibilityFilter::anonymous(), &q, &all)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // Japanese substring search, and LIKE wildcards in the query are literal.
    let jq = ReportQuery {
        text: Some("メール".into()),
        ..Default::default()
    };
    assert_eq!(
        titles(
            s.list_reports(&viewer(peer.id, vec![isac.id]), &jq, &all)
                .await
                .unwrap()
        )
        .len(),
        2
    );
    let pq = ReportQuery {
        text: Some("%".into()),
        ..Default::default()
    };
    assert!(
        s.list_reports(&viewer(author.id, vec![isac.id]), &pq, &all)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // Correlations only show reports the viewer may see.
    let c_author = s
        .correlations(amber.report.id, &viewer(author.id, vec![isac.id]))
        .await
        .unwrap();
    let linked: BTreeSet<_> = c_author.iter().map(|c| c.report_id).collect();
    assert_eq!(
        linked,
        [green.report.id].into(),
        "RED of another org leaked through correlation"
    );
    let hits = s
        .find_value(
            Some(ValueKind::Ipv4),
            "198.51.100.7",
            &viewer(outsider.id, vec![]),
            100,
        )
        .await
        .unwrap();
    let hit_reports: BTreeSet<_> = hits.iter().map(|h| h.report_id).collect();
    assert_eq!(hit_reports, [green.report.id, red.report.id].into());

    // Updating the reach moves visibility; revocation hides from default lists.
    s.update_report(
        amber.report.id,
        &ReportPatch {
            recipients: Some(vec![outsider.id]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        titles(
            s.list_reports(&viewer(outsider.id, vec![]), &q, &all)
                .await
                .unwrap()
        )
        .contains("標的型メール 2026-11")
    );
    s.revoke_report(green.report.id).await.unwrap();
    assert!(
        !titles(
            s.list_reports(&viewer(peer.id, vec![]), &q, &all)
                .await
                .unwrap()
        )
        .contains("Scanning from 198.51.100.7")
    );

    // Indicators list follows the same filter.
    let inds = s
        .list_indicators(&viewer(outsider.id, vec![]), &all)
        .await
        .unwrap();
    assert!(
        inds.items
            .iter()
            .all(|(i, _, _)| i.report_id != green.report.id)
    );

    // Sightings aggregate without naming who.
    s.add_sighting(
        ValueKind::Ipv4,
        "198.51.100.7",
        peer.id,
        SightingSource::Member,
        3,
        1_000,
    )
    .await
    .unwrap();
    s.add_sighting(
        ValueKind::Ipv4,
        "198.51.100.7",
        outsider.id,
        SightingSource::Detection,
        1,
        2_000,
    )
    .await
    .unwrap();
    s.add_sighting(
        ValueKind::Ipv4,
        "198.51.100.7",
        author.id,
        SightingSource::FalsePositive,
        1,
        3_000,
    )
    .await
    .unwrap();
    let st = s
        .sighting_stats(ValueKind::Ipv4, "198.51.100.7")
        .await
        .unwrap();
    assert_eq!(
        (st.count, st.organisations, st.last_seen, st.false_positives),
        (4, 3, Some(2_000), 1)
    );

    // All or nothing: a bad indicator stores no report at all.
    let before = s
        .list_reports(
            &viewer(author.id, vec![isac.id]),
            &ReportQuery {
                include_revoked: true,
                ..Default::default()
            },
            &all,
        )
        .await
        .unwrap()
        .items
        .len();
    let mut bad = report(author.id, Tlp::Green, "bad", &[]);
    bad.indicators.push(NewIndicator {
        kind: None,
        value: None,
        ..Default::default()
    });
    assert!(s.create_report(&bad).await.is_err());
    let mut bad = report(author.id, Tlp::Green, "bad group", &[]);
    bad.sharing_group = Some(GroupId::new());
    assert!(matches!(
        s.create_report(&bad).await,
        Err(StoreError::Invalid(_))
    ));
    let after = s
        .list_reports(
            &viewer(author.id, vec![isac.id]),
            &ReportQuery {
                include_revoked: true,
                ..Default::default()
            },
            &all,
        )
        .await
        .unwrap()
        .items
        .len();
    assert_eq!(before, after);
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
            case!(migrations_are_idempotent);
            case!(org_lifecycle);
            case!(org_pagination);
            case!(users_and_sessions);
            case!(tokens);
            case!(groups);
            case!(audit_chain_and_tamper);
            case!(audit_concurrent_appends);
            case!(visibility_sql_matches_policy);
            case!(reports_visibility_search_and_correlation);
        }
    };
}

conformance!(sqlite);
conformance!(postgres);

#[tokio::test]
async fn unreachable_database_is_a_clear_error() {
    let port = mamori_testkit::free_port();
    let opts = ConnectOptions {
        max_connections: 1,
        connect_timeout: std::time::Duration::from_secs(2),
    };
    let err = Store::connect(&format!("postgres://u:secret@127.0.0.1:{port}/x"), &opts)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
    assert!(!err.to_string().contains("secret"));
    let err = Store::connect("mysql://x", &opts).await.unwrap_err();
    assert!(matches!(err, StoreError::BadUrl(_)));
}
