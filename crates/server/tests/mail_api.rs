//! Mail analysis in the hub: the API and the console upload, with matches against shared
//! indicators the caller may see, and the audit record.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Backend, hub, req, send};
use serde_json::json;

// Subject: "【重要】アカウント確認" in ISO-2022-JP (RFC 2047, B encoding).
const MESSAGE: &str = "From: =?ISO-2022-JP?B?GyRCJCIkaiQsJEgkJhsoQg==?= <support@phish.example>\r\n\
To: taro@example.go.jp\r\n\
Subject: =?ISO-2022-JP?B?GyRCIVo9RU1XIVslIiUrJSYlcyVIM05HJxsoQg==?=\r\n\
Date: Wed, 25 Nov 2026 09:00:00 +0900\r\n\
Message-ID: <1@phish.example>\r\n\
Reply-To: collect@other.example\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Please verify: hxxp://login.phish[.]example/verify\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_and_console_analyse_mail_and_match_shared_indicators() {
    let h = hub(Backend::Sqlite).await;
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/reports",
            Some(&h.admin_token),
            Some(json!({
                "title": "Phishing domain", "tlp": "GREEN",
                "indicators": [{"kind": "domain", "value": "login.phish.example"}]
            })),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);

    let r = send(
        &h.app,
        Request::builder()
            .method("POST")
            .uri("/api/v1/mail")
            .header(header::AUTHORIZATION, format!("Bearer {}", h.member_token))
            .header(header::CONTENT_TYPE, "message/rfc822")
            .body(Body::from(MESSAGE))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(
        v["analysis"]["headers"]["subject"],
        "【重要】アカウント確認"
    );
    assert!(v["analysis"]["verdict"]["score"].as_u64().unwrap() > 0);
    assert!(
        v["matches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["value"] == "login.phish.example"),
        "{}",
        v["matches"]
    );
    let audit = h.store.list_audit(None, 50).await.unwrap();
    assert!(
        audit
            .items
            .iter()
            .any(|e| e.action == "mail.analyze" && e.actor_name == "member")
    );

    // Empty and unauthenticated requests are refused.
    let r = send(
        &h.app,
        Request::builder()
            .method("POST")
            .uri("/api/v1/mail")
            .header(header::AUTHORIZATION, format!("Bearer {}", h.member_token))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = send(
        &h.app,
        Request::builder()
            .method("POST")
            .uri("/api/v1/mail")
            .body(Body::from(MESSAGE))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // The console upload, in Japanese, with CSRF.
    let login = send(
        &h.app,
        Request::builder()
            .method("POST")
            .uri("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("username=member&password=member-password-123"))
            .unwrap(),
    )
    .await;
    let cookie = login
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("mamori_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = send(
        &h.app,
        Request::builder()
            .uri("/mail")
            .header(header::COOKIE, &cookie)
            .header(header::ACCEPT_LANGUAGE, "ja")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let i = page.body.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = page.body[i..].split('"').next().unwrap().to_owned();
    let multipart = |csrf: &str| {
        let b = "XBOUNDARYX";
        let body = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{b}\r\nContent-Disposition: form-data; name=\"message\"; filename=\"m.eml\"\r\nContent-Type: message/rfc822\r\n\r\n{MESSAGE}\r\n--{b}--\r\n"
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
    let r = send(&h.app, multipart("wrong")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(&h.app, multipart(&csrf)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("id=\"mail-score\"") && r.body.contains("【重要】アカウント確認"));
    assert!(r.body.contains("login.phish.example"));
}
