//! Mail analysis in the hub: the API and the console upload, with matches against shared
//! indicators the caller may see, and the audit record.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Backend, hub, req, send};
use futures_util::StreamExt as _;
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

/// A console form posted as multipart to `uri`, one part per field (a field named `message`
/// is sent as a file).
async fn multipart_post(
    h: &common::Hub,
    uri: &str,
    cookie: &str,
    fields: &[(&str, &[u8])],
) -> common::Resp {
    let b = "XBOUNDARYX";
    let mut body = Vec::new();
    for (name, value) in fields {
        let file = if *name == "message" {
            "; filename=\"m.eml\"\r\nContent-Type: message/rfc822"
        } else {
            ""
        };
        body.extend_from_slice(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"{name}\"{file}\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{b}--\r\n").as_bytes());
    send(
        &h.app,
        Request::builder()
            .method("POST")
            .uri(uri)
            .header(header::COOKIE, cookie)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={b}"),
            )
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

/// The console's upload form, posted as multipart with `raw` as the message file.
async fn console_upload(h: &common::Hub, cookie: &str, csrf: &str, raw: &[u8]) -> common::Resp {
    multipart_post(
        h,
        "/mail",
        cookie,
        &[("csrf", csrf.as_bytes()), ("message", raw)],
    )
    .await
}

/// Gives `username` the analyst role (who may share).
async fn make_analyst(h: &common::Hub, username: &str) {
    let u = h.store.find_user(username).await.unwrap();
    let patch = mamori_store::users::UserPatch {
        role: Some(mamori_model::Role::Analyst),
        ..Default::default()
    };
    h.store.update_user(u.id, &patch).await.unwrap();
}

/// A GREEN report with one indicator, shared by the hub admin.
async fn share_indicator(h: &common::Hub, title: &str, kind: &str, value: &str) {
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/reports",
            Some(&h.admin_token),
            Some(json!({
                "title": title, "tlp": "GREEN",
                "indicators": [{"kind": kind, "value": value}]
            })),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

/// `POST /api/v1/mail` as the member organisation's analyst.
async fn post_mail(h: &common::Hub, raw: Vec<u8>) -> common::Resp {
    send(
        &h.app,
        Request::builder()
            .method("POST")
            .uri("/api/v1/mail")
            .header(header::AUTHORIZATION, format!("Bearer {}", h.member_token))
            .header(header::CONTENT_TYPE, "message/rfc822")
            .body(Body::from(raw))
            .unwrap(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_and_console_analyse_mail_and_match_shared_indicators() {
    let h = hub(Backend::Sqlite).await;
    share_indicator(&h, "Phishing domain", "domain", "login.phish.example").await;

    let r = post_mail(&h, MESSAGE.as_bytes().to_vec()).await;
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
    let cookie = common::login_cookie(&h.app, "member", "member-password-123").await;
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
    let csrf = common::csrf_of(&page.body);
    let r = console_upload(&h, &cookie, "wrong", MESSAGE.as_bytes()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = console_upload(&h, &cookie, &csrf, MESSAGE.as_bytes()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("id=\"mail-score\"") && r.body.contains("【重要】アカウント確認"));
    assert!(r.body.contains("login.phish.example"));
    // A member may not share; an analyst gets the share form and shares the mail's indicators.
    assert!(!r.body.contains("id=\"mail-share\""));
    make_analyst(&h, "member").await;
    let r = console_upload(&h, &cookie, &csrf, MESSAGE.as_bytes()).await;
    let i = r.body.find("name=\"indicators\" rows=\"5\">").unwrap() + 27;
    let values = r.body[i..].split("</textarea>").next().unwrap().to_owned();
    assert!(
        values.contains("domain phish.example")
            && values.contains("url http://login.phish.example/verify"),
        "{values}"
    );
    let form = format!(
        "csrf={csrf}&title=%E6%A8%99%E7%9A%84%E5%9E%8B&tlp=AMBER&indicators={}",
        values
            .replace('\n', "%0A")
            .replace(' ', "+")
            .replace(':', "%3A")
            .replace('/', "%2F")
    );
    let r = send(
        &h.app,
        Request::builder()
            .method("POST")
            .uri("/mail/share")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let location = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    let rid = location
        .trim_start_matches("/reports/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let r = send(
        &h.app,
        req(
            "GET",
            &format!("/api/v1/reports/{rid}"),
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    let v = r.json();
    assert_eq!(
        (v["report"]["title"].as_str(), v["report"]["tlp"].as_str()),
        (Some("標的型"), Some("AMBER"))
    );
    assert!(
        v["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["value"] == "http://login.phish.example/verify")
    );

    // The author edits the report in the console.
    let form =
        format!("csrf={csrf}&title=Edited&tlp=GREEN&description=now+public&labels=phishing+mail");
    let r = send(
        &h.app,
        Request::builder()
            .method("POST")
            .uri(format!("/reports/{rid}/edit"))
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap(),
    )
    .await;
    assert!(
        r.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .contains("ok="),
        "{:?}",
        r.headers
    );
    let r = send(
        &h.app,
        req(
            "GET",
            &format!("/api/v1/reports/{rid}"),
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    let v = r.json();
    assert_eq!(
        (v["report"]["title"].as_str(), v["report"]["tlp"].as_str()),
        (Some("Edited"), Some("GREEN"))
    );
    assert_eq!(v["report"]["labels"], json!(["phishing", "mail"]));
}

/// A mail whose ZIP holds the file a member shared: the match is found inside the archive, not
/// only among the attachments.
async fn archive_members_match_shared_hashes(backend: Backend) {
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    let dll = b"MZ\x90\x00 payload dropped by the lure, shared by a member".to_vec();
    let dll_sha256 = {
        use sha2::{Digest, Sha256};
        Sha256::digest(&dll)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("invoice/data.dll", SimpleFileOptions::default())
        .unwrap();
    zip.write_all(&dll).unwrap();
    let zip = zip.finish().unwrap().into_inner();
    let mut message = b"From: keiri@example.net\r\nTo: soumu@example.go.jp\r\nSubject: invoice\r\n\
        MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n\
        Content-Type: text/plain\r\n\r\nsee attached\r\n--B\r\n\
        Content-Type: application/zip; name=\"invoice.zip\"\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        .to_vec();
    message.extend_from_slice(&zip);
    message.extend_from_slice(b"\r\n--B--\r\n");

    let h = hub(backend).await;
    share_indicator(&h, "Loader DLL", "sha256", &dll_sha256).await;
    let r = post_mail(&h, message.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert!(
        v["matches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["value"] == dll_sha256.as_str()),
        "{}",
        v["matches"]
    );

    // The console shows the member under its archive and offers its hash for sharing.
    make_analyst(&h, "member").await;
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
    let csrf = common::csrf_of(&page.body);
    let r = console_upload(&h, &cookie, &csrf, &message).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let table = r
        .body
        .split("id=\"mail-files\"")
        .nth(1)
        .expect("file table");
    assert!(
        table.contains("class=\"depth-1\"") && table.contains("invoice/data.dll"),
        "{table}"
    );
    assert!(table.contains("zip · 1 件のファイル"), "{table}");
    let i = r.body.find("name=\"indicators\" rows=\"5\">").unwrap() + 27;
    let values = r.body[i..].split("</textarea>").next().unwrap();
    assert!(values.contains(&format!("sha256 {dll_sha256}")), "{values}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_members_match_shared_hashes_sqlite() {
    archive_members_match_shared_hashes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_members_match_shared_hashes_postgres() {
    archive_members_match_shared_hashes(Backend::Postgres).await;
}

/// `[mail]` limits reach the hub's analyses: with a 1 KiB member cap a 2 KiB member is listed
/// but not read; with the default cap it is analysed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_mail_limits_apply_to_hub_analyses() {
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("big.txt", SimpleFileOptions::default())
        .unwrap();
    zip.write_all(&[b'x'; 2048]).unwrap();
    let zip = zip.finish().unwrap().into_inner();
    let mut message = b"From: a@example.net\r\nSubject: x\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n\
        password: Qw8rTy2u\r\n--B\r\nContent-Type: application/zip; name=\"a.zip\"\r\n\
        Content-Transfer-Encoding: binary\r\n\r\n"
        .to_vec();
    message.extend_from_slice(&zip);
    message.extend_from_slice(b"\r\n--B--\r\n");

    let h = common::hub_configured(Backend::Sqlite, mamori_server::Monitoring::default(), |c| {
        c.mail.max_archive_member_bytes = 1024;
    })
    .await;
    let v = post_mail(&h, message.clone()).await.json();
    let archive = &v["analysis"]["attachments"][0]["archive"];
    assert_eq!(archive["entry_names"][0], "big.txt", "{v}");
    assert_eq!(archive["entries"].as_array().unwrap().len(), 0, "{archive}");
    assert!(
        v["analysis"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "limit.decompressed"),
        "{}",
        v["analysis"]["findings"]
    );

    let h = hub(Backend::Sqlite).await;
    let v = post_mail(&h, message).await.json();
    let archive = &v["analysis"]["attachments"][0]["archive"];
    assert_eq!(archive["entries"].as_array().unwrap().len(), 1, "{archive}");
}

/// A message of `len` bytes (a text body of `x`).
fn message_of(len: usize) -> Vec<u8> {
    let mut m = b"From: a@example.net\r\nSubject: size\r\n\r\n".to_vec();
    m.resize(len, b'x');
    m
}

/// `[mail] max_message_bytes` is the cap of all four upload routes (API and console, mail and
/// case intake), above the API's general body limit (64 KiB in the tests); a larger message
/// is refused with 413 and nothing of it is stored.
async fn configured_upload_cap(backend: Backend) {
    let h = common::hub_configured(backend, mamori_server::Monitoring::default(), |c| {
        c.mail.max_message_bytes = 256 * 1024;
    })
    .await;
    let over = message_of(300 * 1024);
    let r = post_mail(&h, message_of(100 * 1024)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = post_mail(&h, over.clone()).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(r.json()["type"], "/problems/too-large", "{}", r.body);

    let r = send(
        &h.app,
        Request::builder()
            .method("POST")
            .uri("/api/v1/cases/from-mail")
            .header(header::AUTHORIZATION, format!("Bearer {}", h.admin_token))
            .header(header::CONTENT_TYPE, "message/rfc822")
            .body(Body::from(over.clone()))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);

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
    let csrf = common::csrf_of(&page.body);
    let r = console_upload(&h, &cookie, &csrf, &over).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    let r = console_upload(&h, &cookie, &csrf, &message_of(100 * 1024)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A text field is not a place for a message either.
    let big_text = vec![b'a'; 70 * 1024];
    let r = multipart_post(
        &h,
        "/mail",
        &cookie,
        &[("csrf", csrf.as_bytes()), ("tlp", &big_text)],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("too large"), "{}", r.body);

    // Case intake from the console: refused, back to the cases page with the reason.
    let r = multipart_post(
        &h,
        "/cases/from-mail",
        &cookie,
        &[("csrf", csrf.as_bytes()), ("message", &over)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let location = r.headers[header::LOCATION].to_str().unwrap();
    assert!(location.starts_with("/cases?err="), "{location}");

    // Two messages analysed (API and console); the refused ones left nothing.
    let stored = send(
        &h.app,
        req("GET", "/api/v1/mail/analyses", Some(&h.admin_token), None),
    )
    .await
    .json();
    assert_eq!(stored["items"].as_array().unwrap().len(), 2, "{stored}");
    let cases = send(
        &h.app,
        req("GET", "/api/v1/cases", Some(&h.admin_token), None),
    )
    .await
    .json();
    assert_eq!(cases.as_array().unwrap().len(), 0, "{cases}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_upload_cap_sqlite() {
    configured_upload_cap(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_upload_cap_postgres() {
    configured_upload_cap(Backend::Postgres).await;
}

/// A message that arrives in two halves 1.5 s apart, as over a slow link.
fn slow_upload(h: &common::Hub, raw: Vec<u8>) -> Request<Body> {
    let (a, b) = raw.split_at(raw.len() / 2);
    let (a, b) = (a.to_vec(), b.to_vec());
    let chunks = futures_util::stream::iter([a, b]).then(|chunk| async move {
        if chunk.first() != Some(&b'F') {
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        }
        Ok::<_, std::io::Error>(chunk)
    });
    Request::builder()
        .method("POST")
        .uri("/api/v1/mail")
        .header(header::AUTHORIZATION, format!("Bearer {}", h.member_token))
        .header(header::CONTENT_TYPE, "message/rfc822")
        .body(Body::from_stream(chunks))
        .unwrap()
}

/// A slow upload of a message is held to `[mail] upload_timeout_secs`, not to the general
/// request deadline: with one second for requests it still arrives; with one second for
/// uploads it is answered 408.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_have_their_own_deadline() {
    let raw = message_of(8 * 1024);
    assert_eq!(
        raw.first(),
        Some(&b'F'),
        "the message starts with its From header"
    );
    let h = common::hub_configured(Backend::Sqlite, mamori_server::Monitoring::default(), |c| {
        c.http.request_timeout_secs = 1;
        c.mail.upload_timeout_secs = 20;
    })
    .await;
    let r = send(&h.app, slow_upload(&h, raw.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let h = common::hub_configured(Backend::Sqlite, mamori_server::Monitoring::default(), |c| {
        c.http.request_timeout_secs = 20;
        c.mail.upload_timeout_secs = 1;
    })
    .await;
    let r = send(&h.app, slow_upload(&h, raw)).await;
    assert_eq!(r.status, StatusCode::REQUEST_TIMEOUT, "{}", r.body);
}

/// A report forwarded as an attachment: the outer message carries an attached message whose
/// ZIP holds an executable.
fn forwarded_message() -> Vec<u8> {
    use base64::Engine;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("請求書.exe", SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"MZ\x90\x00 not really a program").unwrap();
    let zip = zip.finish().unwrap().into_inner();
    let b64 = base64::engine::general_purpose::STANDARD.encode(zip);
    format!(
        "From: user@victim.example.jp\r\nTo: csirt@victim.example.jp\r\nSubject: Fw: suspicious\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=OUT\r\n\r\n\
         --OUT\r\nContent-Type: text/plain\r\n\r\nPlease look at the attached mail.\r\n\
         --OUT\r\nContent-Type: message/rfc822\r\n\r\n\
         From: billing@sender.example\r\nSubject: 請求書の送付\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=IN\r\n\r\n\
         --IN\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nご確認ください\r\n\
         --IN\r\nContent-Type: application/zip; name=\"invoice.zip\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--IN--\r\n\
         \r\n--OUT--\r\n"
    )
    .into_bytes()
}

/// The console shows the attachment tree on the upload result and on the stored-analysis page
/// (read back from the stored JSON): an attached message is a row of its own, its ZIP below
/// it and the ZIP's member below that.
async fn attachment_tree_on_console_pages(backend: Backend) {
    let h = hub(backend).await;
    let cookie = common::login_cookie(&h.app, "member", "member-password-123").await;
    let get_page = |uri: String| {
        Request::builder()
            .uri(uri)
            .header(header::COOKIE, &cookie)
            .header(header::ACCEPT_LANGUAGE, "ja")
            .body(Body::empty())
            .unwrap()
    };
    let page = send(&h.app, get_page("/mail".into())).await;
    let csrf = common::csrf_of(&page.body);
    let r = console_upload(&h, &cookie, &csrf, &forwarded_message()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = r
        .body
        .split("/mail/analyses/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let stored = send(&h.app, get_page(format!("/mail/analyses/{id}"))).await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.body);
    for body in [&r.body, &stored.body] {
        // The heading counts the files of the whole tree (the ZIP and the EXE inside the
        // attached message), not the message's own attachments (none).
        assert!(
            body.contains(r#"<h2 id="mail-files-heading">添付ファイル (2)</h2>"#)
                || body.contains(r#"<h2 id="mail-files-heading">Attachments (2)</h2>"#),
            "{body}"
        );
        let table = body
            .split("id=\"mail-files\"")
            .nth(1)
            .and_then(|s| s.split("</table>").next())
            .unwrap_or_else(|| panic!("no attachment tree in {body}"));
        let rows: Vec<&str> = table.split("<tr>").skip(2).collect();
        assert_eq!(rows.len(), 3, "{table}");
        assert!(
            rows[0].contains("depth-0")
                && rows[0].contains("請求書の送付")
                && rows[0].contains("添付されたメール"),
            "{}",
            rows[0]
        );
        assert!(
            rows[1].contains("depth-1") && rows[1].contains("invoice.zip"),
            "{}",
            rows[1]
        );
        assert!(
            rows[2].contains("depth-2")
                && rows[2].contains("請求書.exe")
                && rows[2].contains("executable"),
            "{}",
            rows[2]
        );
    }

    // A message without attachments says so on the stored page.
    let r = console_upload(&h, &cookie, &csrf, MESSAGE.as_bytes()).await;
    let id = r
        .body
        .split("/mail/analyses/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let stored = send(&h.app, get_page(format!("/mail/analyses/{id}"))).await;
    assert!(
        stored.body.contains("id=\"analysis-no-files\""),
        "{}",
        stored.body
    );
    assert!(!stored.body.contains("id=\"mail-files\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachment_tree_on_console_pages_sqlite() {
    attachment_tree_on_console_pages(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachment_tree_on_console_pages_postgres() {
    attachment_tree_on_console_pages(Backend::Postgres).await;
}
