//! Sharing through the API on real storage (SQLite and PostgreSQL): reports, anonymous
//! submission, correlation, warning lists, sightings and decay, bad input, and the leak matrix:
//! organisations x markings x groups x read paths, compared with the access policy.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use std::collections::{BTreeMap, BTreeSet};

use axum::http::StatusCode;
use common::{Backend, Hub, hub, req, send};
use mamori_model::{GroupId, Lang, Marking, OrgId, OrgKind, Principal, Role, Scope, Tlp, UserId};
use mamori_server::ops::{self, Actor};
use mamori_store::groups::NewGroup;
use mamori_store::orgs::NewOrg;
use mamori_store::users::NewUser;
use serde_json::{Value, json};

struct Member {
    token: String,
    principal: Principal,
}

async fn member(h: &Hub, slug: &str, role: Role) -> Member {
    let sys = Actor::system();
    let org = match h.store.get_org_by_slug(slug).await {
        Ok(o) => o,
        Err(_) => ops::create_org(
            &h.store,
            &sys,
            &NewOrg {
                slug: slug.into(),
                name_ja: format!("{slug} 機関"),
                name_en: slug.into(),
                kind: OrgKind::CriticalInfrastructure,
                sector: None,
                cidrs: vec![],
                domains: vec![],
                contacts: vec![],
            },
        )
        .await
        .unwrap(),
    };
    let user = ops::create_user(
        &h.store,
        &sys,
        &NewUser {
            org_id: org.id,
            username: format!("{slug}.{}", role.as_str()),
            display_name: String::new(),
            email: String::new(),
            role,
            lang: Lang::Ja,
        },
        None,
    )
    .await
    .unwrap();
    let scopes: Vec<Scope> = mamori_access::role_scopes(role).to_vec();
    let (_, token) = ops::create_token(&h.store, &sys, user.id, "t", &scopes, None)
        .await
        .unwrap();
    Member {
        token,
        principal: Principal {
            user_id: user.id,
            username: user.username,
            org_id: org.id,
            role,
            groups: vec![],
            scopes,
        },
    }
}

async fn sharing_flow(h: Hub) {
    let a = member(&h, "power-a", Role::Analyst).await;
    let b = member(&h, "power-b", Role::Analyst).await;
    let sys = Actor::system();
    let g = ops::create_group(
        &h.store,
        &sys,
        &NewGroup {
            name: "電力ISAC".into(),
            description: String::new(),
            owner_org: a.principal.org_id,
            members: vec![b.principal.org_id],
        },
    )
    .await
    .unwrap();

    // An anonymous AMBER report to the ISAC with defanged values.
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/reports",
            Some(&a.token),
            Some(json!({
                "title": "制御系ネットワークへの標的型メール",
                "description": "件名「電力需給の見通し」の添付ファイル",
                "tlp": "AMBER", "sharing_group": g.id, "anonymous": true, "confidence": 90,
                "labels": ["targeted-mail"], "attack_techniques": ["T1566.001"],
                "indicators": [
                    {"kind": "url", "value": "hxxp://update-check.example[.]com:80/a.zip"},
                    {"kind": "ipv4", "value": "8.8.8.8"},
                    {"pattern": "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']"}
                ],
                "observables": [{"kind": "email", "value": "Sender@Phish.Example"}]
            })),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let v = r.json();
    let rid = v["report"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        v["report"]["author_org"],
        a.principal.org_id.to_string(),
        "the author sees itself"
    );
    assert_eq!(
        v["indicators"][0]["value"],
        "http://update-check.example.com/a.zip"
    );
    assert_eq!(v["indicators"][0]["score"], 90);
    assert_eq!(
        v["indicators"][1]["warnings"][0]["list"],
        "public-dns-resolvers"
    );
    assert_eq!(v["observables"][0]["value"], "sender@phish.example");
    // A pattern indicator says how the monitoring stream matches it; a value says nothing.
    assert_eq!(
        v["indicators"][2]["stream"],
        json!({"per_event": true, "cross_event": false, "window_secs": null, "problem": null})
    );
    assert!(v["indicators"][0].get("stream").is_none());

    // The recipient sees the report but not who wrote it.
    let r = send(
        &h.app,
        req(
            "GET",
            &format!("/api/v1/reports/{rid}"),
            Some(&b.token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["report"]["author_org"], Value::Null);
    assert_eq!(r.json()["report"]["created_by"], Value::Null);
    assert_eq!(r.json()["editable"], false);
    // The hub administrator still sees the author; the audit log keeps it.
    let r = send(
        &h.app,
        req(
            "GET",
            &format!("/api/v1/reports/{rid}"),
            Some(&h.admin_token),
            None,
        ),
    )
    .await;
    assert_eq!(
        r.json()["report"]["author_org"],
        a.principal.org_id.to_string()
    );
    let audit = h.store.list_audit(None, 200).await.unwrap();
    let read = audit
        .items
        .iter()
        .find(|e| e.action == "report.read" && e.actor_name == "power-b.analyst")
        .expect("AMBER read audited");
    assert_eq!(read.tlp.as_deref(), Some("AMBER"));
    let create = audit
        .items
        .iter()
        .find(|e| e.action == "report.create")
        .unwrap();
    assert!(create.detail.contains(&a.principal.org_id.to_string()));

    // B's own GREEN report with the same URL correlates for both, but B may not edit A's report.
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/reports",
            Some(&b.token),
            Some(json!({
                "title": "Phishing wave", "tlp": "GREEN",
                "observables": [{"kind": "url", "value": "http://UPDATE-CHECK.example.com/a.zip#x"}]
            })),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let other = r.json()["report"]["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["correlations"][0]["report_id"], rid.as_str());
    let r = send(
        &h.app,
        req(
            "PATCH",
            &format!("/api/v1/reports/{rid}"),
            Some(&b.token),
            Some(json!({"tlp": "CLEAR"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Search by value with a defanged form; the member sees both reports.
    let r = send(
        &h.app,
        req(
            "GET",
            "/api/v1/search?value=hxxp://update-check.example%5B.%5Dcom/a.zip",
            Some(&b.token),
            None,
        ),
    )
    .await;
    let hits: BTreeSet<String> = r.json()["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["report_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(hits, [rid.clone(), other.clone()].into());

    // Sightings refresh the score; a false positive halves it.
    let r = send(&h.app, req("POST", "/api/v1/sightings", Some(&b.token), Some(json!({"kind": "url", "value": "http://update-check.example.com/a.zip", "count": 2})))).await;
    assert_eq!(
        (r.status, r.json()["count"].as_i64()),
        (StatusCode::CREATED, Some(2))
    );
    let r = send(&h.app, req("POST", "/api/v1/sightings", Some(&b.token), Some(json!({"kind": "url", "value": "http://update-check.example.com/a.zip", "source": "false-positive"})))).await;
    assert_eq!(r.json()["false_positives"], 1);
    let r = send(
        &h.app,
        req(
            "GET",
            &format!("/api/v1/reports/{rid}"),
            Some(&a.token),
            None,
        ),
    )
    .await;
    assert_eq!(r.json()["indicators"][0]["score"], 45);

    // TLP filter in the query string survives the `+` of AMBER+STRICT.
    let r = send(
        &h.app,
        req(
            "GET",
            "/api/v1/reports?tlp=AMBER+STRICT",
            Some(&a.token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Japanese full-text search.
    let r = send(
        &h.app,
        req(
            "GET",
            "/api/v1/reports?q=%E6%A8%99%E7%9A%84%E5%9E%8B",
            Some(&b.token),
            None,
        ),
    )
    .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);

    // Revocation by the author.
    let r = send(
        &h.app,
        req(
            "POST",
            &format!("/api/v1/reports/{rid}/revoke"),
            Some(&a.token),
            None,
        ),
    )
    .await;
    assert_eq!(r.json()["report"]["revoked"], true);
}

async fn bad_reports_change_nothing(h: Hub) {
    let a = member(&h, "power-a", Role::Analyst).await;
    let m = member(&h, "power-a", Role::Member).await;
    let count = || async {
        h.store
            .list_reports(
                &mamori_access::VisibilityFilter {
                    org: None,
                    groups: vec![],
                    admin: true,
                },
                &Default::default(),
                &mamori_store::PageRequest::from_cursor(None, Some(500)).unwrap(),
            )
            .await
            .unwrap()
            .items
            .len()
    };
    let before = count().await;
    for (body, want) in [
        (
            json!({"title": "x", "tlp": "AMBER", "indicators": [{"kind": "ipv4", "value": "999.1.1.1"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"title": "x", "tlp": "AMBER", "indicators": [{"value": "1.2.3.4"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"title": "x", "tlp": "PURPLE"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"title": "", "tlp": "GREEN"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"title": "x", "tlp": "RED", "sharing_group": GroupId::new()}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"title": "x", "tlp": "GREEN", "sharing_group": GroupId::new()}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"title": "x", "tlp": "GREEN", "recipients": [OrgId::new()]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        // Patterns that do not parse: syntax, and a hash that is not one.
        (
            json!({"title": "x", "tlp": "GREEN", "indicators": [{"pattern": "[ipv4-addr:value = "}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"title": "x", "tlp": "GREEN", "indicators": [{"pattern": "[file:hashes.'SHA-256' = 'aa']"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let r = send(
            &h.app,
            req(
                "POST",
                "/api/v1/reports",
                Some(&a.token),
                Some(body.clone()),
            ),
        )
        .await;
        assert_eq!(r.status, want, "{body}: {}", r.body);
        assert_eq!(r.content_type(), "application/problem+json");
        if body.to_string().contains("pattern") {
            let detail = r.json()["detail"].as_str().unwrap_or_default().to_owned();
            assert!(
                detail.starts_with("indicators[0].pattern: at byte "),
                "{detail}"
            );
        }
    }
    // A member (not an analyst) may not share.
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/reports",
            Some(&m.token),
            Some(json!({"title": "x", "tlp": "GREEN"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A group the author's organisation is not in.
    let other = member(&h, "other-co", Role::Analyst).await;
    let g = ops::create_group(
        &h.store,
        &Actor::system(),
        &NewGroup {
            name: "closed".into(),
            description: String::new(),
            owner_org: other.principal.org_id,
            members: vec![],
        },
    )
    .await
    .unwrap();
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/reports",
            Some(&a.token),
            Some(json!({"title": "x", "tlp": "AMBER", "sharing_group": g.id})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(count().await, before);
}

/// Every read path returns exactly the reports the policy allows, for every reader.
async fn leak_matrix(h: Hub) {
    let a = member(&h, "org-a", Role::Analyst).await;
    let b = member(&h, "org-b", Role::Member).await;
    let c = member(&h, "org-c", Role::Member).await;
    let d = member(&h, "org-d", Role::Auditor).await;
    let sys = Actor::system();
    let g = ops::create_group(
        &h.store,
        &sys,
        &NewGroup {
            name: "ab".into(),
            description: String::new(),
            owner_org: a.principal.org_id,
            members: vec![b.principal.org_id],
        },
    )
    .await
    .unwrap();
    let mut expected_markings: BTreeMap<String, Marking> = BTreeMap::new();
    let mut n = 0;
    for tlp in Tlp::ALL {
        for group in [None, Some(g.id)] {
            for recipient in [None, Some(c.principal.org_id)] {
                if tlp == Tlp::Red && group.is_some() {
                    continue; // refused at creation (tested above)
                }
                n += 1;
                let unique = format!("198.18.{}.{}", n / 200, n % 200);
                let r = send(&h.app, req("POST", "/api/v1/reports", Some(&a.token), Some(json!({
                    "title": format!("matrix {n} {tlp}"), "tlp": tlp, "sharing_group": group,
                    "recipients": recipient.into_iter().collect::<Vec<_>>(),
                    "indicators": [{"kind": "ipv4", "value": unique}, {"kind": "domain", "value": "shared.matrix.example"}]
                })))).await;
                assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
                let id = r.json()["report"]["id"].as_str().unwrap().to_owned();
                expected_markings.insert(
                    id,
                    Marking {
                        tlp,
                        owner_org: a.principal.org_id,
                        sharing_group: group,
                        recipients: recipient.into_iter().collect(),
                    },
                );
            }
        }
    }
    let mut readers: Vec<(&str, String, Principal)> = Vec::new();
    for (name, m) in [("a", &a), ("b", &b), ("c", &c), ("d", &d)] {
        let mut p = m.principal.clone();
        p.groups = h.store.groups_of_org(p.org_id).await.unwrap();
        readers.push((name, m.token.clone(), p));
    }
    let admin_user = h.store.find_user("admin").await.unwrap();
    readers.push((
        "admin",
        h.admin_token.clone(),
        Principal {
            user_id: admin_user.id,
            username: "admin".into(),
            org_id: admin_user.org_id,
            role: Role::Admin,
            groups: vec![],
            scopes: vec![Scope::Read, Scope::Write, Scope::Admin],
        },
    ));

    for (name, token, p) in &readers {
        let want: BTreeSet<String> = expected_markings
            .iter()
            .filter(|(_, m)| mamori_access::may_see(Some(p), m))
            .map(|(id, _)| id.clone())
            .collect();
        // Path 1: the list, all pages.
        let mut got = BTreeSet::new();
        let mut uri = "/api/v1/reports?limit=7".to_owned();
        loop {
            let page = send(&h.app, req("GET", &uri, Some(token), None))
                .await
                .json();
            got.extend(
                page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["id"].as_str().unwrap().to_owned()),
            );
            match page["next_cursor"].as_str() {
                Some(c) => uri = format!("/api/v1/reports?limit=7&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(got, want, "list leak/miss for {name}");
        // Path 2: by id.
        for id in expected_markings.keys() {
            let r = send(
                &h.app,
                req("GET", &format!("/api/v1/reports/{id}"), Some(token), None),
            )
            .await;
            assert_eq!(
                r.status == StatusCode::OK,
                want.contains(id),
                "get {id} by {name}: {}",
                r.status
            );
            // Path 3: correlations inside a visible report.
            if r.status == StatusCode::OK {
                for corr in r.json()["correlations"].as_array().unwrap() {
                    let other = corr["report_id"].as_str().unwrap();
                    assert!(want.contains(other), "correlation leaked {other} to {name}");
                }
            }
        }
        // Path 4: search by the shared value.
        let r = send(
            &h.app,
            req(
                "GET",
                "/api/v1/search?value=shared.matrix.example",
                Some(token),
                None,
            ),
        )
        .await;
        let hits: BTreeSet<String> = r.json()["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["report_id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(hits, want, "search leak/miss for {name}");
        // Path 5: the indicator list.
        let mut got = BTreeSet::new();
        let mut uri = "/api/v1/indicators?limit=50".to_owned();
        loop {
            let page = send(&h.app, req("GET", &uri, Some(token), None))
                .await
                .json();
            got.extend(
                page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["report_id"].as_str().unwrap().to_owned()),
            );
            match page["next_cursor"].as_str() {
                Some(c) => uri = format!("/api/v1/indicators?limit=50&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(got, want, "indicator list leak/miss for {name}");
        // Path 8: TAXII, the read-only collection of everything the reader may see.
        let all = "6d616d6f-7269-4a11-8000-000000000001";
        let mut got = BTreeSet::new();
        let mut uri = format!("/taxii2/api/collections/{all}/objects/?limit=13&match[type]=report");
        loop {
            let r = send(&h.app, req("GET", &uri, Some(token), None)).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            let env = r.json();
            for o in env["objects"].as_array().into_iter().flatten() {
                got.insert(o["id"].as_str().unwrap().to_owned());
            }
            match env["next"].as_str() {
                Some(n) => {
                    uri = format!(
                        "/taxii2/api/collections/{all}/objects/?limit=13&match[type]=report&next={n}"
                    )
                }
                None => break,
            }
        }
        let want_stix: BTreeSet<String> = want
            .iter()
            .map(|id| {
                mamori_server::taxii::export::report_stix_id(id.parse().unwrap())
                    .unwrap()
                    .as_str()
                    .to_owned()
            })
            .collect();
        assert_eq!(got, want_stix, "TAXII leak/miss for {name}");
        // Paths 6 and 7: the console's report list and report pages, through a session.
        let cookie = console_login(&h, &p.username).await;
        let html = send(&h.app, get_with_cookie("/reports", &cookie))
            .await
            .body;
        let got: BTreeSet<String> = html
            .split("data-id=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().to_owned())
            .collect();
        assert_eq!(got, want, "console list leak/miss for {name}");
        for id in expected_markings.keys() {
            let r = send(&h.app, get_with_cookie(&format!("/reports/{id}"), &cookie)).await;
            assert_eq!(
                r.status == StatusCode::OK,
                want.contains(id),
                "console page {id} for {name}"
            );
        }
    }
    let _ = UserId::new();
}

/// How the stream matches each pattern indicator, in the API and on the console's report page.
async fn pattern_stream_status(h: Hub) {
    let a = member(&h, "mhlw", Role::Analyst).await;
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/reports",
            Some(&a.token),
            Some(json!({
                "title": "段階的なダウンロード", "tlp": "GREEN",
                "indicators": [
                    {"pattern": "([url:value LIKE '%/stage1/%'] FOLLOWEDBY [url:value LIKE '%/stage2/%']) WITHIN 300 SECONDS"},
                    {"pattern": "[domain-name:value = 'c2.example.org'] OR ([ipv4-addr:value = '203.0.113.5'] REPEATS 3 TIMES)"},
                    {"pattern": "[artifact:mime_type = 'application/x-msdownload']"}
                ]
            })),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let v = r.json();
    let stream = |i: usize| v["indicators"][i]["stream"].clone();
    assert_eq!(
        stream(0),
        json!({"per_event": false, "cross_event": true, "window_secs": 300, "problem": null})
    );
    assert_eq!(
        stream(1),
        json!({"per_event": true, "cross_event": true, "window_secs": 86400, "problem": null})
    );
    assert_eq!(
        stream(2),
        json!({"per_event": false, "cross_event": false, "window_secs": null, "problem": "unmapped_types"})
    );
    let id = v["report"]["id"].as_str().unwrap();
    let cookie = console_login(&h, "mhlw.analyst").await;
    let page = send(&h.app, get_with_cookie(&format!("/reports/{id}"), &cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "複数イベントにわたり照合（5 min以内）",
        "イベント単位で照合 · 複数イベントにわたり照合（1 d以内）",
        "照合されません（イベントにないオブジェクト型）",
    ] {
        assert!(page.body.contains(text), "{text} not in {}", page.body);
    }
}

fn get_with_cookie(uri: &str, cookie: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::builder()
        .uri(uri)
        .header(axum::http::header::COOKIE, cookie)
        .body(axum::body::Body::empty())
        .unwrap()
}

/// Gives the user a password and signs in through the login form; returns the session cookie.
async fn console_login(h: &Hub, username: &str) -> String {
    let user = h.store.find_user(username).await.unwrap();
    let pass = "matrix-password-123";
    h.store
        .set_password_hash(user.id, &mamori_server::password::hash(pass).unwrap())
        .await
        .unwrap();
    common::login_cookie(&h.app, username, pass).await
}

macro_rules! suite {
    ($backend:ident, $variant:expr) => {
        mod $backend {
            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        super::$name(super::hub($variant).await).await;
                    }
                };
            }
            case!(sharing_flow);
            case!(bad_reports_change_nothing);
            case!(leak_matrix);
            case!(pattern_stream_status);
        }
    };
}

suite!(sqlite, super::Backend::Sqlite);
suite!(postgres, super::Backend::Postgres);
