//! Stored mail analyses on both backends: store and fetch with files and documents; lists and
//! campaigns narrowed by the visibility filter (another organisation sees neither an AMBER
//! analysis nor its share of a campaign); the campaign assignment joins the campaign the
//! chooser names and starts one otherwise; concurrent assignments of related analyses end up
//! in one campaign.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use common::{Db, postgres, sqlite};
use mamori_access::VisibilityFilter;
use mamori_model::{OrgId, OrgKind, Tlp};
use mamori_store::PageRequest;
use mamori_store::Store;
use mamori_store::groups::NewGroup;
use mamori_store::mail_analyses::{
    CampaignCandidate, MailAnalysisQuery, NewMailAnalysis, SampleFile,
};
use mamori_store::orgs::NewOrg;

async fn org(s: &Store, slug: &str) -> OrgId {
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

fn new(owner: OrgId, tlp: Tlp, subject: &str, tokens: &[(&str, f64)]) -> NewMailAnalysis {
    NewMailAnalysis {
        owner_org: owner,
        submitted_by: None,
        submitter_name: "tester".into(),
        tlp,
        sharing_group: None,
        seen_at: 1_700_000_000_000,
        subject: subject.into(),
        mail_from: "a@b.example".into(),
        score: 42,
        sha256: "a".repeat(64),
        size: 10,
        samples_dropped: 0,
        features: "{}".into(),
        analysis: format!("{{\"subject\":{subject:?}}}"),
        files: vec![
            SampleFile {
                sha256: "a".repeat(64),
                role: "original".into(),
                name: None,
                size: 10,
            },
            SampleFile {
                sha256: "b".repeat(64),
                role: "attachment".into(),
                name: Some("請求書.zip".into()),
                size: 5,
            },
        ],
        tokens: tokens.iter().map(|(t, w)| ((*t).to_owned(), *w)).collect(),
    }
}

/// Joins the campaign of any candidate sharing the subject token (a stand-in for
/// `mamori_mail::campaign::best_match`).
fn by_subject(subject: &'static str) -> impl FnOnce(&[CampaignCandidate]) -> Option<String> {
    move |c: &[CampaignCandidate]| {
        c.iter()
            .rev()
            .find(|c| c.tokens.iter().any(|(t, _)| t == subject))
            .map(|c| c.campaign_id.clone())
    }
}

fn reader(org: OrgId) -> VisibilityFilter {
    VisibilityFilter {
        org: Some(org),
        groups: vec![],
        admin: false,
    }
}

async fn store_list_and_campaigns(db: Db) {
    let s = &db.store;
    let mine = org(s, "mine").await;
    let other = org(s, "other").await;
    let t = |n: &'static str| [(n, 3.0), ("lang:ja", 0.5)];
    let a1 = s
        .record_mail_analysis(
            &new(mine, Tlp::Amber, "請求書 1", &t("subject:x")),
            1.0,
            |c| {
                assert!(c.is_empty());
                None
            },
        )
        .await
        .unwrap();
    let a2 = s
        .record_mail_analysis(
            &new(other, Tlp::Amber, "請求書 2", &t("subject:x")),
            1.0,
            by_subject("subject:x"),
        )
        .await
        .unwrap();
    assert_eq!(a1.campaign_id, a2.campaign_id, "joined the named campaign");
    // The weak token alone finds no candidates.
    let a3 = s
        .record_mail_analysis(&new(mine, Tlp::Green, "other", &t("subject:y")), 1.0, |c| {
            assert!(c.is_empty(), "{c:?}");
            None
        })
        .await
        .unwrap();
    assert_ne!(a3.campaign_id, a1.campaign_id);

    let got = s.get_mail_analysis(&a1.id).await.unwrap();
    assert_eq!(got.summary, a1);
    assert_eq!(got.analysis, "{\"subject\":\"請求書 1\"}");
    assert_eq!(
        got.files
            .iter()
            .map(|f| f.role.as_str())
            .collect::<Vec<_>>(),
        ["original", "attachment"]
    );
    assert_eq!(got.files[1].name.as_deref(), Some("請求書.zip"));
    assert!(matches!(
        s.get_mail_analysis("nope").await,
        Err(mamori_store::StoreError::NotFound(_))
    ));

    // Lists: the other organisation sees its own AMBER analysis and the GREEN one.
    let page = PageRequest::from_cursor(None, None).unwrap();
    let ids = |p: mamori_store::Page<mamori_store::mail_analyses::MailAnalysisSummary>| {
        p.items.into_iter().map(|a| a.id).collect::<Vec<_>>()
    };
    let all = MailAnalysisQuery::default();
    assert_eq!(
        ids(s
            .list_mail_analyses(&reader(other), &all, &page)
            .await
            .unwrap()),
        [a2.id.clone(), a3.id.clone()]
    );
    assert_eq!(
        ids(s
            .list_mail_analyses(&reader(mine), &all, &page)
            .await
            .unwrap()),
        [a1.id.clone(), a3.id.clone()]
    );
    let q = MailAnalysisQuery {
        text: Some("請求書".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(s
            .list_mail_analyses(&reader(mine), &q, &page)
            .await
            .unwrap()),
        [a1.id.as_str()]
    );
    let q = MailAnalysisQuery {
        campaign: Some(a3.campaign_id.clone()),
        ..Default::default()
    };
    assert_eq!(
        ids(s
            .list_mail_analyses(&reader(other), &q, &page)
            .await
            .unwrap()),
        [a3.id.as_str()]
    );
    let small = PageRequest::from_cursor(None, Some(1)).unwrap();
    let p1 = s
        .list_mail_analyses(&reader(mine), &all, &small)
        .await
        .unwrap();
    let next = PageRequest::from_cursor(p1.next_cursor.as_deref(), Some(1)).unwrap();
    assert_eq!(
        ids(s
            .list_mail_analyses(&reader(mine), &all, &next)
            .await
            .unwrap()),
        [a3.id.as_str()]
    );

    // Campaigns: each organisation sees one member of the shared campaign, an administrator
    // both, and the shared features only among the members the reader sees.
    let admin = VisibilityFilter {
        org: Some(mine),
        groups: vec![],
        admin: true,
    };
    let c = s.list_mail_campaigns(&admin, 2, &page).await.unwrap().items;
    assert_eq!(c.len(), 1);
    assert_eq!(
        (c[0].id.as_str(), c[0].members),
        (a1.campaign_id.as_str(), 2)
    );
    assert!(
        s.list_mail_campaigns(&reader(mine), 2, &page)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let mine_c = s
        .list_mail_campaigns(&reader(mine), 1, &page)
        .await
        .unwrap()
        .items;
    assert_eq!(mine_c.len(), 2);
    let members = s
        .mail_campaign_members(&reader(mine), &a1.campaign_id)
        .await
        .unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0], a1);
    assert!(
        s.mail_campaign_shared_features(&reader(mine), &a1.campaign_id)
            .await
            .unwrap()
            .is_empty()
    );
    let shared = s
        .mail_campaign_shared_features(&admin, &a1.campaign_id)
        .await
        .unwrap();
    let tokens: Vec<(&str, i64)> = shared
        .iter()
        .map(|f| (f.token.as_str(), f.members))
        .collect();
    assert_eq!(tokens, [("subject:x", 2), ("lang:ja", 2)]);

    // A sharing group widens an AMBER analysis to its members.
    let g = s
        .create_group(&NewGroup {
            name: "g".into(),
            description: String::new(),
            owner_org: mine,
            members: vec![other],
        })
        .await
        .unwrap();
    let mut in_group = new(mine, Tlp::Amber, "group", &t("subject:g"));
    in_group.sharing_group = Some(g.id);
    let a4 = s
        .record_mail_analysis(&in_group, 1.0, |_| None)
        .await
        .unwrap();
    let f = VisibilityFilter {
        org: Some(other),
        groups: vec![g.id],
        admin: false,
    };
    assert!(
        ids(s.list_mail_analyses(&f, &all, &page).await.unwrap()).contains(&a4.id),
        "group member sees it"
    );
    assert!(
        !ids(s
            .list_mail_analyses(&reader(other), &all, &page)
            .await
            .unwrap())
        .contains(&a4.id)
    );
}

/// Related analyses recorded at the same time from many tasks end up in one campaign: the
/// assignment is serialised (IMMEDIATE on SQLite, an advisory lock on PostgreSQL).
async fn concurrent_assignment(db: Db) {
    let s = db.store.clone();
    let owner = org(&s, "mine").await;
    let mut tasks = Vec::new();
    for n in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.record_mail_analysis(
                &new(
                    owner,
                    Tlp::Amber,
                    &format!("m{n}"),
                    &[("subject:same", 3.0)],
                ),
                1.0,
                by_subject("subject:same"),
            )
            .await
            .unwrap()
            .campaign_id
        }));
    }
    let mut campaigns = Vec::new();
    for t in tasks {
        campaigns.push(t.await.unwrap());
    }
    campaigns.dedup();
    assert_eq!(campaigns.len(), 1, "{campaigns:?}");
}

macro_rules! both {
    ($backend:ident) => {
        mod $backend {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn store_list_and_campaigns() {
                super::store_list_and_campaigns(super::$backend().await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_assignment() {
                super::concurrent_assignment(super::$backend().await).await;
            }
        }
    };
}

both!(sqlite);
both!(postgres);
