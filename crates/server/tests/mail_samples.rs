//! Stored mail analyses, the sample store and campaigns through the API and the console, on
//! both backends: analyses are stored with their marking; the sample ZIP opens with `infected`
//! and holds the original bytes; a user of another organisation gets 404 for an AMBER
//! analysis and its samples and does not see it in a campaign; a demo campaign of related
//! messages clusters together apart from unrelated mail; the console pages render in Japanese
//! and English.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use std::io::{Cursor, Read};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Backend, Hub, hub, req, send};
use http_body_util::BodyExt;
use mamori_model::{Lang, OrgKind, Role, Scope};
use mamori_server::ops::{self, Actor};
use mamori_store::groups::NewGroup;
use mamori_store::orgs::NewOrg;
use mamori_store::users::NewUser;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

/// One message of the demo campaign: same mailer family, subject template, URL host and
/// attachment name pattern; different senders, numbers, names and sending IPs.
fn campaign_message(n: usize) -> String {
    let names = ["山田", "佐藤", "鈴木", "高橋", "田中"];
    format!(
        "Received: from h{n}.example ([198.51.100.{ip}]) by mx.victim.example.jp; Tue, 1 Apr 2025 1{n}:00:00 +0900\r\n\
         From: billing{n}@sender{n}.example\r\n\
         To: user{n}@victim.example.jp\r\n\
         Subject: 【至急】 請求書 No.{num} {name}様\r\n\
         Date: Tue, {day} Apr 2025 10:00:00 +0900\r\n\
         X-Mailer: Foxmail 7.2.{n}\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=B\r\n\r\n\
         --B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         ご確認ください https://invoice-check.example/v/{num}\r\n\
         --B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"請求書_{num}.zip\"\r\n\r\n\
         {body}\r\n--B--\r\n",
        ip = 10 + n,
        day = 1 + n,
        num = 1000 + n * 7,
        name = names[n % names.len()],
        body = "x".repeat(40 + n),
    )
}

/// Mail with nothing in common with the campaign or with each other.
fn unrelated_message(n: usize) -> String {
    let subjects = [
        "Weekly deals",
        "Meeting notes for Thursday",
        "Your parcel is on its way",
        "Quarterly report draft",
        "Lunch?",
        "Password expiry notice",
        "Conference registration",
        "Re: budget figures",
        "Holiday schedule",
        "New seminar announcement",
    ];
    let mailers = [
        "Thunderbird",
        "Outlook",
        "Apple Mail",
        "Gmail",
        "Becky!",
        "Sylpheed",
        "Evolution",
        "Mutt",
        "KMail",
        "Shuriken",
    ];
    format!(
        "From: someone@org{n}.example\r\nTo: a@example.jp\r\nSubject: {s}\r\n\
         Date: Mon, 3 Mar 2025 08:00:00 +0000\r\nX-Mailer: {m}\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\r\n\
         See https://site-{w}.example/page\r\n",
        s = subjects[n % subjects.len()],
        m = mailers[n % mailers.len()],
        w = mailers[n % mailers.len()]
            .to_lowercase()
            .replace([' ', '!'], ""),
    )
}

async fn post_mail(h: &Hub, token: &str, query: &str, message: &str) -> Value {
    let r = send(
        &h.app,
        Request::builder()
            .method("POST")
            .uri(format!("/api/v1/mail{query}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "message/rfc822")
            .body(Body::from(message.to_owned()))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

async fn get(h: &Hub, token: &str, uri: &str) -> common::Resp {
    send(&h.app, req("GET", uri, Some(token), None)).await
}

/// A user and token in the hub's second organisation.
async fn outsider(h: &Hub) -> String {
    let sys = Actor::system();
    let u = ops::create_user(
        &h.store,
        &sys,
        &NewUser {
            org_id: h.other_org.parse().unwrap(),
            username: "outsider".into(),
            display_name: "Outsider".into(),
            email: String::new(),
            role: Role::Analyst,
            lang: Lang::Ja,
        },
        Some("outsider-password-123"),
    )
    .await
    .unwrap();
    ops::create_token(
        &h.store,
        &sys,
        u.id,
        "t",
        &[Scope::Read, Scope::Write],
        None,
    )
    .await
    .unwrap()
    .1
}

async fn bytes_of(h: &Hub, token: &str, uri: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let resp = h
        .app
        .clone()
        .oneshot(req("GET", uri, Some(token), None))
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

async fn stored_samples_and_campaigns(backend: Backend) {
    let h = hub(backend).await;
    let other = outsider(&h).await;

    // The demo campaign (four messages from "mine") and unrelated mail.
    let mut campaign = Vec::new();
    let mut ids = Vec::new();
    for n in 0..4 {
        let v = post_mail(&h, &h.member_token, "", &campaign_message(n)).await;
        assert_eq!(v["stored"]["tlp"], "AMBER", "AMBER by default");
        assert_eq!(v["stored"]["owner_org"], h.member_org.as_str());
        campaign.push(v["stored"]["campaign_id"].as_str().unwrap().to_owned());
        ids.push(v["stored"]["id"].as_str().unwrap().to_owned());
    }
    assert!(campaign.iter().all(|c| *c == campaign[0]), "{campaign:?}");
    for n in 0..3 {
        let v = post_mail(&h, &h.member_token, "", &unrelated_message(n)).await;
        assert_ne!(v["stored"]["campaign_id"], campaign[0].as_str());
    }
    // A GREEN analysis is visible to the other organisation.
    let green = post_mail(&h, &h.member_token, "?tlp=GREEN", &unrelated_message(9)).await;
    let green_id = green["stored"]["id"].as_str().unwrap().to_owned();
    assert_eq!(green["stored"]["tlp"], "GREEN");
    // The other organisation's own message of the same campaign joins it (hub-wide clustering).
    let theirs = post_mail(&h, &other, "", &campaign_message(4)).await;
    assert_eq!(theirs["stored"]["campaign_id"], campaign[0].as_str());
    let theirs_id = theirs["stored"]["id"].as_str().unwrap().to_owned();

    // Fetch: the stored analysis, its features and files.
    let r = get(
        &h,
        &h.member_token,
        &format!("/api/v1/mail/analyses/{}", ids[0]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["subject"], "【至急】 請求書 No.1000 山田様");
    assert_eq!(v["analysis"]["headers"]["subject"], v["subject"]);
    assert_eq!(
        v["features"]["subject_template"],
        "【至急】 請求書 no.# <name>様"
    );
    let raw = campaign_message(0);
    let raw_sha = hex(&Sha256::digest(raw.as_bytes()));
    assert_eq!(v["sha256"], raw_sha.as_str());
    let files = v["files"].as_array().unwrap();
    assert_eq!(files[0]["role"], "original");
    assert_eq!(files[0]["sha256"], raw_sha.as_str());
    let att = files.iter().find(|f| f["role"] == "attachment").unwrap();
    assert_eq!(att["name"], "請求書_1000.zip");

    // Lists: pagination and filters.
    let r = get(&h, &h.member_token, "/api/v1/mail/analyses?limit=3").await;
    let page = r.json();
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let next = page["next_cursor"].as_str().unwrap();
    let r = get(
        &h,
        &h.member_token,
        &format!("/api/v1/mail/analyses?limit=50&cursor={next}"),
    )
    .await;
    assert_eq!(
        r.json()["items"].as_array().unwrap().len(),
        5,
        "8 of mine in all"
    );
    let r = get(
        &h,
        &h.member_token,
        &format!("/api/v1/mail/analyses?campaign={}", campaign[0]),
    )
    .await;
    let listed: Vec<String> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, ids);
    let r = get(&h, &h.member_token, "/api/v1/mail/analyses?q=weekly").await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);

    // The sample ZIP: an attachment, AES-encrypted with "infected", holding the original bytes.
    let zip_uri = format!("/api/v1/mail/analyses/{}/samples.zip", ids[0]);
    let (status, headers, body) = bytes_of(&h, &h.member_token, &zip_uri).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/zip");
    assert!(
        headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let mut zip = zip::ZipArchive::new(Cursor::new(body)).unwrap();
    assert!(
        zip.by_name(&format!("original/{raw_sha}")).is_err(),
        "entries need the password"
    );
    assert!(
        zip.by_name_decrypt(&format!("original/{raw_sha}"), b"wrong")
            .is_err()
    );
    let mut original = Vec::new();
    zip.by_name_decrypt(&format!("original/{raw_sha}"), b"infected")
        .unwrap()
        .read_to_end(&mut original)
        .unwrap();
    assert_eq!(original, raw.as_bytes());
    let mut payload = Vec::new();
    zip.by_name_decrypt(
        &format!("attachment/{}", att["sha256"].as_str().unwrap()),
        b"infected",
    )
    .unwrap()
    .read_to_end(&mut payload)
    .unwrap();
    assert_eq!(payload, "x".repeat(40).as_bytes());
    let mut manifest = String::new();
    zip.by_name_decrypt("manifest.json", b"infected")
        .unwrap()
        .read_to_string(&mut manifest)
        .unwrap();
    assert!(manifest.contains("請求書_1000.zip"), "{manifest}");
    let audit = h.store.list_audit(None, 100).await.unwrap();
    assert!(
        audit
            .items
            .iter()
            .any(|e| e.action == "mail_sample.download"
                && e.object_id == ids[0]
                && e.actor_name == "member")
    );
    assert!(
        audit
            .items
            .iter()
            .any(|e| e.action == "mail.analyze" && e.object_id == ids[0])
    );

    // Another organisation: 404 for the AMBER analysis and its samples, not in lists.
    let r = get(&h, &other, &format!("/api/v1/mail/analyses/{}", ids[0])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let (status, _, _) = bytes_of(&h, &other, &zip_uri).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let r = get(&h, &other, "/api/v1/mail/analyses").await;
    let seen: Vec<String> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, [green_id.clone(), theirs_id.clone()]);
    let r = get(&h, &other, &format!("/api/v1/mail/analyses/{green_id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    // ... and in the campaign only its own member, with nothing shared among what it sees.
    let r = get(
        &h,
        &other,
        &format!("/api/v1/mail/campaigns/{}", campaign[0]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let c = r.json();
    let members: Vec<&str> = c["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(members, [theirs_id.as_str()]);
    assert_eq!(c["shared_features"], serde_json::json!([]));
    assert!(!r.body.contains("sender0.example") && !r.body.contains("山田"));
    let r = get(&h, &other, "/api/v1/mail/campaigns?min_members=2").await;
    assert_eq!(r.json()["items"], serde_json::json!([]));

    // The member organisation sees its four members, what they share and the span.
    let r = get(
        &h,
        &h.member_token,
        &format!("/api/v1/mail/campaigns/{}", campaign[0]),
    )
    .await;
    let c = r.json();
    assert_eq!(c["members"].as_array().unwrap().len(), 4);
    let shared: Vec<&str> = c["shared_features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["token"].as_str().unwrap())
        .collect();
    for t in [
        "subject:【至急】 請求書 no.# <name>様",
        "host:invoice-check.example",
        "att:請求書_#.zip",
        "mailer:foxmail #.#.#",
    ] {
        assert!(shared.contains(&t), "{t} not in {shared:?}");
    }
    assert!(c["first_seen"].as_i64().unwrap() < c["last_seen"].as_i64().unwrap());
    let r = get(&h, &h.member_token, "/api/v1/mail/campaigns?min_members=2").await;
    let list = r.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["items"][0]["members"], 4);
    // A hub administrator sees all five.
    let r = get(
        &h,
        &h.admin_token,
        &format!("/api/v1/mail/campaigns/{}", campaign[0]),
    )
    .await;
    assert_eq!(r.json()["members"].as_array().unwrap().len(), 5);

    // Marking checks: an unknown sharing group is refused; unauthenticated lists too.
    let r = send(
        &h.app,
        Request::builder()
            .method("POST")
            .uri("/api/v1/mail?sharing_group=0190b4a0-0000-7000-8000-000000000000")
            .header(header::AUTHORIZATION, format!("Bearer {}", h.member_token))
            .body(Body::from(unrelated_message(1)))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = send(&h.app, req("GET", "/api/v1/mail/analyses", None, None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Console: the pages render in both languages; the upload links to the stored analysis.
    let cookie = common::login_cookie(&h.app, "member", "member-password-123").await;
    for (lang, words) in [
        (
            "ja",
            [
                "保存済みの解析",
                "キャンペーン",
                "共通する特徴",
                "検体をダウンロード",
            ],
        ),
        (
            "en",
            [
                "Stored analyses",
                "Campaign",
                "Shared features",
                "Download samples",
            ],
        ),
    ] {
        let page = |uri: String| {
            Request::builder()
                .uri(uri)
                .header(header::COOKIE, &cookie)
                .header(header::ACCEPT_LANGUAGE, lang)
                .body(Body::empty())
                .unwrap()
        };
        let r = send(&h.app, page("/mail/analyses".into())).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains(words[0]) && r.body.contains(&ids[2]));
        let r = send(&h.app, page(format!("/mail/analyses/{}", ids[0]))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains(words[3]) && r.body.contains(&zip_uri));
        assert!(r.body.contains("請求書_1000.zip"));
        let r = send(&h.app, page("/mail/campaigns".into())).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains(words[1]) && r.body.contains(&campaign[0]));
        let r = send(&h.app, page(format!("/mail/campaigns/{}", campaign[0]))).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains(words[2]) && r.body.contains("invoice-check.example"));
        assert!(r.body.contains("id=\"campaign-timeline\"><svg"));
        assert_eq!(r.body.matches("<circle").count(), 4);
        let r = send(&h.app, page(format!("/mail/campaigns/{}", "nope"))).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
    let other_cookie = common::login_cookie(&h.app, "outsider", "outsider-password-123").await;
    let r = send(
        &h.app,
        Request::builder()
            .uri(format!("/mail/analyses/{}", ids[0]))
            .header(header::COOKIE, &other_cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let page = send(
        &h.app,
        Request::builder()
            .uri("/mail")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let csrf = common::csrf_of(&page.body);
    let b = "XBOUNDARYX";
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{b}\r\nContent-Disposition: form-data; name=\"tlp\"\r\n\r\nRED\r\n--{b}\r\nContent-Disposition: form-data; name=\"message\"; filename=\"m.eml\"\r\nContent-Type: message/rfc822\r\n\r\n{}\r\n--{b}--\r\n",
        unrelated_message(7)
    );
    let r = send(
        &h.app,
        Request::builder()
            .method("POST")
            .uri("/mail")
            .header(header::COOKIE, &cookie)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={b}"),
            )
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("id=\"mail-stored-link\">TLP:RED"),
        "{}",
        r.body
    );
}

/// The member organisations a message was addressed to: its own analysis lists them with the
/// number of recipient addresses, a campaign sums them over its members, and the console
/// shows them in the reader's language.
async fn targeted_member_organisations(backend: Backend) {
    let h = hub(backend).await;
    for (slug, ja, en, domain) in [
        ("mod", "防衛省", "Ministry of Defense", "mod.go.jp"),
        (
            "mic",
            "総務省",
            "Ministry of Internal Affairs",
            "soumu.go.jp",
        ),
    ] {
        h.store
            .create_org(&NewOrg {
                slug: slug.into(),
                name_ja: ja.into(),
                name_en: en.into(),
                kind: OrgKind::Ministry,
                sector: None,
                cidrs: vec![],
                domains: vec![domain.into()],
                contacts: vec![],
            })
            .await
            .unwrap();
    }
    let addressed = |n: usize, to: &str, cc: &str| {
        campaign_message(n).replace(
            &format!("To: user{n}@victim.example.jp\r\n"),
            &format!("To: {to}\r\nCc: {cc}\r\n"),
        )
    };
    let first = post_mail(
        &h,
        &h.member_token,
        "",
        &addressed(0, "a@mail.mod.go.jp, b@MOD.go.jp", "c@soumu.go.jp"),
    )
    .await;
    let second = post_mail(
        &h,
        &h.member_token,
        "",
        &addressed(1, "d@soumu.go.jp", "e@elsewhere.example"),
    )
    .await;
    let campaign = first["stored"]["campaign_id"].as_str().unwrap().to_owned();
    assert_eq!(second["stored"]["campaign_id"], campaign.as_str());
    let slugs = |v: &Value| -> Vec<(String, u64)> {
        v["target_orgs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["slug"].as_str().unwrap().to_owned(),
                    t["addresses"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let id = first["stored"]["id"].as_str().unwrap();
    let r = get(&h, &h.member_token, &format!("/api/v1/mail/analyses/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        slugs(&r.json()),
        [("mod".to_owned(), 2), ("mic".to_owned(), 1)]
    );
    let r = get(
        &h,
        &h.member_token,
        &format!("/api/v1/mail/campaigns/{campaign}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        slugs(&r.json()),
        [("mic".to_owned(), 2), ("mod".to_owned(), 2)]
    );
    // Reading the campaign of AMBER analyses is audited like reading one of them.
    let audit = h.store.list_audit(None, 200).await.unwrap();
    let read = audit
        .items
        .iter()
        .find(|e| e.action == "mail_campaign.read" && e.object_id == campaign)
        .expect("campaign read audited");
    assert_eq!(read.tlp.as_deref(), Some("AMBER"));

    let cookie = common::login_cookie(&h.app, "member", "member-password-123").await;
    for (lang, want) in [("ja", "総務省 (2)"), ("en", "Ministry of Defense (2)")] {
        let r = send(
            &h.app,
            Request::builder()
                .uri(format!("/mail/campaigns/{campaign}"))
                .header(header::COOKIE, &cookie)
                .header(header::ACCEPT_LANGUAGE, lang)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains(want), "{lang}: {}", r.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targeted_member_organisations_sqlite() {
    targeted_member_organisations(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targeted_member_organisations_postgres() {
    targeted_member_organisations(Backend::Postgres).await;
}

/// The console upload offers the sharing groups of the user's organisation; an AMBER analysis
/// stored for a group is visible to the group's other members, and not before.
async fn console_upload_to_a_sharing_group(backend: Backend) {
    let h = hub(backend).await;
    let other = outsider(&h).await;
    let g = ops::create_group(
        &h.store,
        &Actor::system(),
        &NewGroup {
            name: "電力ISAC".into(),
            description: String::new(),
            owner_org: h.member_org.parse().unwrap(),
            members: vec![h.other_org.parse().unwrap()],
        },
    )
    .await
    .unwrap();
    let cookie = common::login_cookie(&h.app, "member", "member-password-123").await;
    let page = send(
        &h.app,
        Request::builder()
            .uri("/mail")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(page.body.contains("電力ISAC") && page.body.contains("id=\"mail-group\""));
    let csrf = common::csrf_of(&page.body);
    let upload = |group: String| {
        let b = "XBOUNDARYX";
        let body = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"tlp\"\r\n\r\nAMBER\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"sharing_group\"\r\n\r\n{group}\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"message\"; filename=\"m.eml\"\r\nContent-Type: message/rfc822\r\n\r\n{}\r\n--{b}--\r\n",
            campaign_message(2)
        );
        Request::builder()
            .method("POST")
            .uri("/mail")
            .header(header::COOKIE, &cookie)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={b}"),
            )
            .body(Body::from(body))
            .unwrap()
    };
    let r = send(&h.app, upload(g.id.to_string())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let listed = get(&h, &other, "/api/v1/mail/analyses").await;
    assert_eq!(listed.status, StatusCode::OK);
    let items = listed.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "{}", listed.body);
    assert_eq!(items[0]["sharing_group"], g.id.to_string().as_str());
    // A group id that is not a group id is refused.
    let r = send(&h.app, upload("not-a-group".into())).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_upload_to_a_sharing_group_sqlite() {
    console_upload_to_a_sharing_group(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_upload_to_a_sharing_group_postgres() {
    console_upload_to_a_sharing_group(Backend::Postgres).await;
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_samples_and_campaigns_sqlite() {
    stored_samples_and_campaigns(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_samples_and_campaigns_postgres() {
    stored_samples_and_campaigns(Backend::Postgres).await;
}
