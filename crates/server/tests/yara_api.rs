//! YARA rule sets managed in the hub, on both storage backends: the API (create, refuse a bad
//! rule with its line, replace, enable, disable, delete) under the role model and the audit
//! log; mail analysed through the API and the console scanned with the enabled sets; another
//! hub process over the same storage picking changes up; the console page and its forms.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Backend, Hub, hub, req, send};
use serde_json::{Value, json};

const RULES: &str = r#"rule PpapLure : ppap japanese {
    meta:
        description = "password line of a PPAP mail"
        score = 70
    strings:
        $pw = "解凍パスワード"
    condition:
        $pw
}
"#;

const RULES_V2: &str = r#"rule LoaderUrl {
    strings:
        $u = "loader.evil.example"
    condition:
        $u
}
"#;

const BAD: &str =
    "rule Fine { condition: true }\n\nrule Broken {\n  condition: undefined_thing\n}\n";

// Body "解凍パスワード: x7Kp2 ... http://loader.evil.example/a" in UTF-8.
const MESSAGE: &str = "From: keiri@partner.example\r\n\
To: taro@example.go.jp\r\n\
Subject: invoice\r\n\
Date: Wed, 25 Nov 2026 09:00:00 +0900\r\n\
Message-ID: <yara-1@partner.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
\u{89e3}\u{51cd}\u{30d1}\u{30b9}\u{30ef}\u{30fc}\u{30c9}: x7Kp2\r\nhttp://loader.evil.example/a\r\n";

async fn analyse(app: &axum::Router, token: &str) -> Value {
    let r = send(
        app,
        Request::builder()
            .method("POST")
            .uri("/api/v1/mail")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "message/rfc822")
            .body(Body::from(MESSAGE))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

fn rules_hit(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v["analysis"]["scan_matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}:{}",
                m["namespace"].as_str().unwrap(),
                m["rule"].as_str().unwrap()
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn signal<'a>(v: &'a Value, id: &str) -> Option<&'a Value> {
    v["analysis"]["verdict"]["signals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
}

async fn set_role(h: &Hub, role: mamori_model::Role) {
    let u = h.store.find_user("member").await.unwrap();
    let patch = mamori_store::users::UserPatch {
        role: Some(role),
        ..Default::default()
    };
    h.store.update_user(u.id, &patch).await.unwrap();
}

async fn api_rule_sets(backend: Backend) {
    let h = hub(backend).await;
    let admin = h.admin_token.as_str();
    let create = |name: &str, source: &str| json!({"name": name, "description": "PPAP 対策 / PPAP", "source": source});

    // Without rule sets, mail is analysed as before.
    let v = analyse(&h.app, &h.member_token).await;
    assert!(rules_hit(&v).is_empty());
    let before = v["analysis"]["verdict"]["score"].as_u64().unwrap();

    // Members may neither read nor change rule sets.
    let r = send(
        &h.app,
        req("GET", "/api/v1/yara-rule-sets", Some(&h.member_token), None),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/yara-rule-sets",
            Some(&h.member_token),
            Some(create("ppap", RULES)),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // A bad rule is refused with its line, column and the compiler's message; nothing is stored.
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/yara-rule-sets",
            Some(admin),
            Some(create("ppap", BAD)),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.content_type(), "application/problem+json");
    let p = r.json();
    assert_eq!(p["type"], "/problems/invalid-rule");
    assert_eq!(
        (
            p["rule_set"].as_str(),
            p["line"].as_u64(),
            p["column"].as_u64(),
            p["rule_error"].as_str()
        ),
        (Some("ppap"), Some(4), Some(14), Some("E009")),
        "{p}"
    );
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .contains("unknown identifier `undefined_thing`")
    );
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .starts_with("ppap line 4, column 14: E009"),
        "{p}"
    );
    for (name, source) in [
        ("bad name", RULES),
        ("empty", "/* nothing */"),
        ("inc", "include \"x.yar\""),
    ] {
        let r = send(
            &h.app,
            req(
                "POST",
                "/api/v1/yara-rule-sets",
                Some(admin),
                Some(create(name, source)),
            ),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {}",
            r.body
        );
    }

    // An administrator creates a set; it is enabled and scans the next mail.
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/yara-rule-sets",
            Some(admin),
            Some(create("ppap", RULES)),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let s = r.json();
    assert_eq!(
        (
            s["name"].as_str(),
            s["rule_count"].as_i64(),
            s["enabled"].as_bool()
        ),
        (Some("ppap"), Some(1), Some(true))
    );
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/yara-rule-sets",
            Some(admin),
            Some(create("ppap", RULES)),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    let v = analyse(&h.app, &h.member_token).await;
    assert_eq!(rules_hit(&v), ["ppap:PpapLure"]);
    // The 8-bit body matches both in the raw message and as the decoded body part.
    let targets: Vec<&str> = v["analysis"]["scan_matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["message", "body"]);
    assert_eq!(
        v["analysis"]["scan_matches"][1]["tags"],
        json!(["ppap", "japanese"])
    );
    let sig = signal(&v, "scan.yara").expect("YARA signal");
    assert_eq!(sig["weight"], 70);
    assert!(sig["ja"].as_str().unwrap().contains("ppap:PpapLure"));
    assert!(v["analysis"]["verdict"]["score"].as_u64().unwrap() > before);

    // Analysts read sets and sources but may not change them.
    set_role(&h, mamori_model::Role::Analyst).await;
    let r = send(
        &h.app,
        req("GET", "/api/v1/yara-rule-sets", Some(&h.member_token), None),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let l = r.json();
    assert_eq!(l["items"][0]["name"], "ppap");
    assert_eq!(
        (
            l["compiled"]["sets"].as_u64(),
            l["compiled"]["rules"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let r = send(
        &h.app,
        req(
            "GET",
            "/api/v1/yara-rule-sets/ppap",
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.json()["source"], RULES);
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/yara-rule-sets/ppap/disable",
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Another hub process over the same storage picks the set up (and later changes).
    let other = mamori_server::AppState::new(h.store.clone(), common::config(), None);
    let other_app = mamori_server::app(other);
    assert_eq!(
        rules_hit(&analyse(&other_app, &h.member_token).await),
        ["ppap:PpapLure"]
    );

    // Disabled: kept but not scanned with, here and in the other process.
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/yara-rule-sets/ppap/disable",
            Some(admin),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["enabled"], false);
    assert!(rules_hit(&analyse(&h.app, &h.member_token).await).is_empty());
    assert!(rules_hit(&analyse(&other_app, &h.member_token).await).is_empty());
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/yara-rule-sets/ppap/enable",
            Some(admin),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        rules_hit(&analyse(&other_app, &h.member_token).await),
        ["ppap:PpapLure"]
    );

    // Replacing the source: a bad one changes nothing, a good one takes effect.
    let r = send(
        &h.app,
        req(
            "PUT",
            "/api/v1/yara-rule-sets/ppap",
            Some(admin),
            Some(json!({"source": BAD})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["line"], 4);
    assert_eq!(
        rules_hit(&analyse(&h.app, &h.member_token).await),
        ["ppap:PpapLure"]
    );
    let r = send(
        &h.app,
        req(
            "PUT",
            "/api/v1/yara-rule-sets/ppap",
            Some(admin),
            Some(json!({"source": RULES_V2, "description": "v2"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["description"], "v2");
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/yara-rule-sets",
            Some(admin),
            Some(create("lure", RULES)),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let v = analyse(&other_app, &h.member_token).await;
    assert_eq!(rules_hit(&v), ["lure:PpapLure", "ppap:LoaderUrl"]);
    // Without score metadata the default weight applies; the highest score wins.
    assert_eq!(signal(&v, "scan.yara").unwrap()["weight"], 70);

    // Deleting.
    let r = send(
        &h.app,
        req("DELETE", "/api/v1/yara-rule-sets/ppap", Some(admin), None),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = send(
        &h.app,
        req("DELETE", "/api/v1/yara-rule-sets/ppap", Some(admin), None),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(
        &h.app,
        req("GET", "/api/v1/yara-rule-sets/ppap", Some(admin), None),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        rules_hit(&analyse(&other_app, &h.member_token).await),
        ["lure:PpapLure"]
    );

    // Every change is in the audit log, by the administrator.
    let audit = h.store.list_audit(None, 200).await.unwrap();
    let mut actions: Vec<&str> = audit
        .items
        .iter()
        .filter(|e| e.object_type == "yara_rule_set")
        .map(|e| e.action.as_str())
        .collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        [
            "yara.create",
            "yara.create",
            "yara.delete",
            "yara.disable",
            "yara.enable",
            "yara.update"
        ]
    );
    assert!(audit.items.iter().any(|e| e.action == "mail.analyze"
        && serde_json::from_str::<Value>(&e.detail).unwrap()["yara"] == json!(["lure:PpapLure"])),);

    // The OpenAPI document describes the endpoints.
    let doc = serde_json::to_value(mamori_server::openapi()).unwrap();
    for path in [
        "/api/v1/yara-rule-sets",
        "/api/v1/yara-rule-sets/{name}",
        "/api/v1/yara-rule-sets/{name}/enable",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
}

async fn console_rule_sets(backend: Backend) {
    let h = hub(backend).await;
    let cookie = common::login_cookie(&h.app, "member", "member-password-123").await;
    let get = |uri: &str| {
        Request::builder()
            .uri(uri)
            .header(header::COOKIE, &cookie)
            .header(header::ACCEPT_LANGUAGE, "ja")
            .body(Body::empty())
            .unwrap()
    };
    // A member gets no link and a refusal.
    let page = send(&h.app, get("/mail")).await;
    assert!(!page.body.contains("href=\"/yara\""));
    let csrf = common::csrf_of(&page.body);
    assert_eq!(
        send(&h.app, get("/yara")).await.status,
        StatusCode::FORBIDDEN
    );

    set_role(&h, mamori_model::Role::Admin).await;
    let page = send(&h.app, get("/yara")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("YARAルールセット") && page.body.contains("id=\"yara-form\""));

    let multipart = |uri: &str, csrf: &str, name: &str, typed: &str, file: &str| {
        let b = "YARABOUNDARY";
        let body = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n{name}\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nコンソール\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\n{typed}\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: text/plain\r\n\r\n{file}\r\n\
             --{b}--\r\n",
            if file.is_empty() { "" } else { "rules.yar" }
        );
        Request::builder()
            .method("POST")
            .uri(uri)
            .header(header::COOKIE, &cookie)
            .header(header::ACCEPT_LANGUAGE, "en")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={b}"),
            )
            .body(Body::from(body))
            .unwrap()
    };
    // Wrong CSRF token: refused.
    let r = send(&h.app, multipart("/yara", "wrong", "console", RULES, "")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A bad rule: the page comes back with the line and the source as typed.
    let r = send(&h.app, multipart("/yara", &csrf, "console", BAD, "")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("console line 4, column 14: E009"),
        "{}",
        r.body
    );
    assert!(r.body.contains("undefined_thing"));
    // An uploaded file wins over the text box.
    let r = send(&h.app, multipart("/yara", &csrf, "console", "", RULES)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        r.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/yara?edit=console")
    );
    let page = send(&h.app, get("/yara?edit=console")).await;
    assert!(page.body.contains("PpapLure") && page.body.contains("/yara/console/disable"));
    assert!(page.body.contains("id=\"yara-in-use\""));

    // The console's mail upload shows the match.
    let b = "MAILBOUNDARY";
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{b}\r\nContent-Disposition: form-data; name=\"message\"; filename=\"m.eml\"\r\nContent-Type: message/rfc822\r\n\r\n{MESSAGE}\r\n--{b}--\r\n"
    );
    let r = send(
        &h.app,
        Request::builder()
            .method("POST")
            .uri("/mail")
            .header(header::COOKIE, &cookie)
            .header(header::ACCEPT_LANGUAGE, "ja")
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
        r.body.contains("id=\"mail-yara\"") && r.body.contains("console:PpapLure"),
        "{}",
        r.body
    );
    assert!(r.body.contains("YARA ルールに一致しました"));

    // Replace, disable and delete through the forms.
    let r = send(&h.app, multipart("/yara/console", &csrf, "", RULES_V2, "")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let form = |uri: &str| {
        Request::builder()
            .method("POST")
            .uri(uri)
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("csrf={csrf}")))
            .unwrap()
    };
    let r = send(&h.app, form("/yara/console/disable")).await;
    assert!(
        r.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .contains("ok=yara%2Edisabled%5Fok"),
        "{:?} {}",
        r.headers,
        r.body
    );
    let set = h.store.yara_rule_set("console").await.unwrap().unwrap();
    assert!(!set.info.enabled && set.source.contains("LoaderUrl"));
    let r = send(&h.app, form("/yara/console/delete")).await;
    assert!(
        r.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .contains("ok=yara%2Edeleted")
    );
    assert!(h.store.yara_rule_set("console").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yara_rule_sets_api_sqlite() {
    api_rule_sets(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yara_rule_sets_api_postgres() {
    api_rule_sets(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yara_rule_sets_console_sqlite() {
    console_rule_sets(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yara_rule_sets_console_postgres() {
    console_rule_sets(Backend::Postgres).await;
}
