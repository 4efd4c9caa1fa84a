//! Incident-response storage on both backends: SLA clocks stamped by status changes, lessons,
//! task assignees, evidence with its append-only chain of custody, coordination requests with
//! optimistic versions and threads narrowed per organisation, SLA breaches recorded once, and
//! organisation webhooks, case observables and edited playbooks.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use common::{Db, postgres, sqlite};
use mamori_model::{Contact, Lang, OrgId, OrgKind, Tlp};
use mamori_store::case_requests::NewRequest;
use mamori_store::cases::NewCase;
use mamori_store::evidence::{Custodian, NewEvidence};
use mamori_store::orgs::NewOrg;
use mamori_store::{Store, StoreError};

async fn org(s: &Store, slug: &str) -> OrgId {
    s.create_org(&NewOrg {
        slug: slug.into(),
        name_ja: format!("{slug} 省"),
        name_en: format!("Ministry {slug}"),
        kind: OrgKind::Ministry,
        sector: None,
        cidrs: vec![],
        domains: vec![],
        contacts: vec![Contact {
            name: "担当".into(),
            email: format!("csirt@{slug}.example.jp"),
            lang: Lang::Ja,
        }],
    })
    .await
    .unwrap()
    .id
}

async fn new_case(s: &Store, owner: OrgId) -> String {
    s.create_case(&NewCase {
        title: "ランサムウェア感染".into(),
        description: String::new(),
        severity: "high".into(),
        tlp: Tlp::Amber,
        owner_org: owner,
        created_by: None,
        tasks: vec![("隔離 / Isolate".into(), Some(1))],
        incident_type: "ransomware".into(),
    })
    .await
    .unwrap()
    .id
}

async fn sla_clocks_lessons_and_assignees(db: Db) {
    let s = &db.store;
    let a = org(s, "aa").await;
    let id = new_case(s, a).await;
    let c = s.get_case(&id).await.unwrap();
    assert_eq!((c.acknowledged_at, c.contained_at), (None, None));
    let c = s.set_case_status(&id, "triage", None, None).await.unwrap();
    let ack = c.acknowledged_at.unwrap();
    assert_eq!(c.contained_at, None);
    let c = s
        .set_case_status(&id, "eradication", None, None)
        .await
        .unwrap();
    assert_eq!(
        c.acknowledged_at,
        Some(ack),
        "the first acknowledgement stays"
    );
    let contained = c.contained_at.unwrap();
    let c = s.set_case_status(&id, "triage", None, None).await.unwrap();
    assert_eq!(
        c.contained_at,
        Some(contained),
        "the clock does not restart"
    );
    let c = s
        .set_case_lessons(&id, "バックアップの定期検証", None)
        .await
        .unwrap();
    assert_eq!(c.lessons, "バックアップの定期検証");
    // Optimistic versions: every change counts; a writer holding an old version gets a conflict.
    let v = c.version;
    let c = s
        .set_case_status(&id, "containment", None, Some(v))
        .await
        .unwrap();
    assert_eq!(c.version, v + 1);
    assert!(matches!(
        s.set_case_lessons(&id, "上書き", Some(v)).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.set_case_status("missing", "triage", None, Some(1)).await,
        Err(StoreError::NotFound(_))
    ));
    let b = org(s, "bb").await;
    let c2 = s.add_case_participant(&id, b, "victim").await.unwrap();
    assert_eq!(c2.version, c.version + 1);

    let task = s.case_tasks(&id).await.unwrap()[0].id.clone();
    s.set_task_assignee(&id, &task, Some("a.analyst"))
        .await
        .unwrap();
    assert_eq!(
        s.case_tasks(&id).await.unwrap()[0].assignee.as_deref(),
        Some("a.analyst")
    );
    assert!(matches!(
        s.set_task_assignee("nope", &task, None).await,
        Err(StoreError::NotFound(_))
    ));

    // Breaches are recorded once; closed cases leave the SLA check.
    assert!(s.record_sla_breach(&id, "contain", 5).await.unwrap());
    assert!(!s.record_sla_breach(&id, "contain", 6).await.unwrap());
    assert_eq!(
        s.sla_breaches(&id).await.unwrap(),
        vec![("contain".to_owned(), 5)]
    );
    assert_eq!(s.open_cases().await.unwrap().len(), 1);
    let c = s
        .set_case_status(&id, "closed", Some("復旧"), None)
        .await
        .unwrap();
    assert!(c.closed_at.is_some());
    assert_eq!(c.incident_type, "ransomware");
    assert!(s.open_cases().await.unwrap().is_empty());
}

async fn evidence_and_custody(db: Db) {
    let s = &db.store;
    let a = org(s, "aa").await;
    let id = new_case(s, a).await;
    let new = NewEvidence {
        case_id: id.clone(),
        sha256: "ab".repeat(32),
        sha1: "cd".repeat(20),
        md5: "ef".repeat(16),
        size: 42,
        filename: "memory.raw".into(),
        content_type: "application/octet-stream".into(),
        description: "端末のメモリダンプ".into(),
    };
    let by = Custodian {
        actor: "a.analyst".into(),
        org: Some(a.to_string()),
        source: "192.0.2.7".into(),
    };
    let (e, fresh) = s.add_evidence(&new, &by).await.unwrap();
    assert!(fresh);
    assert_eq!((e.size, e.filename.as_str()), (42, "memory.raw"));
    let (again, fresh) = s.add_evidence(&new, &by).await.unwrap();
    assert!(!fresh);
    assert_eq!(again.id, e.id);
    s.add_custody(
        &e.id,
        "downloaded",
        &Custodian {
            actor: "b.analyst".into(),
            org: None,
            source: "198.51.100.9".into(),
        },
    )
    .await
    .unwrap();
    let chain = s.custody(&e.id).await.unwrap();
    let actions: Vec<_> = chain.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, ["added", "added-again", "downloaded"]);
    assert_eq!(chain[2].source, "198.51.100.9");
    assert_eq!(s.list_evidence(&id).await.unwrap().len(), 1);
    assert!(s.evidence_content_known(&new.sha256).await.unwrap());
    assert!(matches!(
        s.get_evidence("other-case", &e.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.add_evidence(
            &NewEvidence {
                case_id: "missing".into(),
                ..new.clone()
            },
            &by
        )
        .await,
        Err(StoreError::NotFound(_))
    ));
    // The chain of custody is append-only in the database itself.
    assert!(
        s.execute_raw("UPDATE case_custody SET actor = 'mallory'")
            .await
            .is_err()
    );
    assert!(s.execute_raw("DELETE FROM case_custody").await.is_err());
    assert_eq!(s.custody(&e.id).await.unwrap().len(), 3);
}

async fn requests_threads_and_versions(db: Db) {
    let s = &db.store;
    let (a, b, c) = (org(s, "aa").await, org(s, "bb").await, org(s, "cc").await);
    let id = new_case(s, a).await;
    let new = |from, to, title: &str| NewRequest {
        case_id: id.clone(),
        from_org: from,
        to_org: to,
        kind: "support".into(),
        title: title.into(),
        body: "現地支援をお願いします".into(),
        due_at: Some(1_800_000_000_000),
        created_by: None,
    };
    let r1 = s.create_request(&new(a, b, "支援要請")).await.unwrap();
    assert_eq!((r1.status.as_str(), r1.version), ("open", 1));
    let r2 = s.create_request(&new(c, a, "ログ提供")).await.unwrap();
    let ids = |v: Vec<mamori_store::case_requests::CaseRequest>| {
        v.into_iter().map(|r| r.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(s.list_requests(&id, Some(b)).await.unwrap()),
        [r1.id.as_str()]
    );
    assert_eq!(
        ids(s.list_requests(&id, Some(c)).await.unwrap()),
        [r2.id.as_str()]
    );
    assert_eq!(s.list_requests(&id, Some(a)).await.unwrap().len(), 2);
    assert_eq!(s.list_requests(&id, None).await.unwrap().len(), 2);

    let accepted = s
        .set_request_status(&id, &r1.id, "accepted", Some(1))
        .await
        .unwrap();
    assert_eq!(accepted.version, 2);
    // A second writer still holding version 1 loses with a conflict, not silently.
    let err = s
        .set_request_status(&id, &r1.id, "declined", Some(1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(s.get_request(&id, &r1.id).await.unwrap().status, "accepted");
    assert!(matches!(
        s.set_request_status(&id, "missing", "done", None).await,
        Err(StoreError::NotFound(_))
    ));

    s.add_request_message(&r1.id, "b.analyst", Some(b), "明朝伺います")
        .await
        .unwrap();
    s.add_request_message(&r1.id, "a.analyst", Some(a), "了解")
        .await
        .unwrap();
    let thread = s.request_messages(&r1.id).await.unwrap();
    assert_eq!(thread.len(), 2);
    assert_eq!(thread[0].body, "明朝伺います");
    assert!(matches!(
        s.add_request_message("missing", "x", None, "y").await,
        Err(StoreError::NotFound(_))
    ));
}

async fn webhooks(db: Db) {
    let s = &db.store;
    let a = org(s, "aa").await;
    assert_eq!(s.org_webhook(a).await.unwrap(), None);
    s.set_org_webhook(a, Some("http://127.0.0.1:9/hook"))
        .await
        .unwrap();
    s.set_org_webhook(a, Some("http://127.0.0.1:9/hook2"))
        .await
        .unwrap();
    assert_eq!(
        s.org_webhook(a).await.unwrap().as_deref(),
        Some("http://127.0.0.1:9/hook2")
    );
    s.set_org_webhook(a, None).await.unwrap();
    assert_eq!(s.org_webhook(a).await.unwrap(), None);
}

async fn observables(db: Db) {
    let s = &db.store;
    let a = org(s, "aa").await;
    let id = new_case(s, a).await;
    let (o, fresh) = s
        .add_case_observable(&id, "domain", "evil.example", "C2", "a.analyst")
        .await
        .unwrap();
    assert!(fresh);
    let (again, fresh) = s
        .add_case_observable(&id, "domain", "evil.example", "again", "b")
        .await
        .unwrap();
    assert!(!fresh);
    assert_eq!((again.id, again.note), (o.id, "C2".to_owned()));
    s.add_case_observable(&id, "ipv4", "198.51.100.7", "", "a")
        .await
        .unwrap();
    let all = s.case_observables(&id).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(matches!(
        s.add_case_observable("missing", "ipv4", "1.2.3.4", "", "a")
            .await,
        Err(StoreError::NotFound(_))
    ));
}

async fn playbooks(db: Db) {
    use mamori_store::playbooks::PlaybookTask;
    let s = &db.store;
    assert!(s.stored_playbooks().await.unwrap().is_empty());
    let tasks = vec![
        PlaybookTask {
            title: "隔離 / Isolate".into(),
            hours: 1,
        },
        PlaybookTask {
            title: "報告 / Report".into(),
            hours: 24,
        },
    ];
    s.put_playbook("ransomware", &tasks, "admin").await.unwrap();
    s.put_playbook("ransomware", &tasks[..1], "admin2")
        .await
        .unwrap();
    let all = s.stored_playbooks().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].tasks, tasks[..1]);
    assert_eq!(all[0].updated_by, "admin2");
    assert!(s.delete_playbook("ransomware").await.unwrap());
    assert!(!s.delete_playbook("ransomware").await.unwrap());
}

macro_rules! both {
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
            case!(sla_clocks_lessons_and_assignees);
            case!(evidence_and_custody);
            case!(requests_threads_and_versions);
            case!(webhooks);
            case!(observables);
            case!(playbooks);
        }
    };
}

both!(sqlite);
both!(postgres);
