//! End-to-end checks over the synthetic fixtures in `testdata/` (see `make_fixtures.py`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use mamori_mail::{Analysis, Limits, Options, analyze, analyze_with};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(name),
    )
    .unwrap()
}

fn signal_ids(a: &Analysis) -> Vec<&str> {
    a.verdict.signals.iter().map(|s| s.id.as_str()).collect()
}

#[test]
fn ppap_japanese_invoice() {
    let a = analyze(&fixture("ppap_jp.eml"));
    let h = &a.headers;
    assert_eq!(
        h.subject.as_deref(),
        Some("【請求書】 No.12345 ご確認のお願い")
    );
    assert_eq!(h.subject_charset.as_deref(), Some("iso-2022-jp"));
    assert_eq!(h.from[0].name.as_deref(), Some("経理部 山田"));
    assert_eq!(h.timezone.as_deref(), Some("+09:00"));
    assert_eq!(h.message_id_domain.as_deref(), Some("mailer.example.net"));
    assert_eq!(h.x_mailer.as_deref(), Some("Microsoft Outlook 16.0"));
    // Received: delivery order, IPs, delays.
    assert_eq!(a.received.len(), 2);
    assert_eq!(a.received[0].ip.as_deref(), Some("198.51.100.23"));
    assert_eq!(a.received[1].delay_secs, Some(25));
    assert_eq!(a.auth.spf.as_deref(), Some("softfail"));
    assert_eq!(a.auth.dmarc.as_deref(), Some("fail"));
    let mism: Vec<&str> = a.mismatches.iter().map(|m| m.second.as_str()).collect();
    assert_eq!(mism, ["return_path", "reply_to"]);
    assert_eq!(a.language, "ja");
    assert!(a.bodies[0].text.contains("請求書を送付"));
    // Defanged URL in the Japanese text.
    let u = &a.urls[0];
    assert_eq!(u.url, "http://invoice-check.example/view");
    assert!(u.defanged);
    // RFC 2231 name; the encrypted zip opened with the password from the body.
    let z = &a.attachments[0];
    assert_eq!(z.name.as_deref(), Some("請求書.zip"));
    assert_eq!(z.true_type.as_deref(), Some("application/zip"));
    let ar = z.archive.as_ref().unwrap();
    assert!(ar.encrypted && ar.opened);
    assert_eq!(ar.password.as_deref(), Some("Zx81pQ7m"));
    assert_eq!(ar.entries.len(), 2);
    let exe = &ar.entries[0];
    assert_eq!(exe.name.as_deref(), Some("invoice.pdf.exe"));
    assert!(exe.flags.double_extension && exe.flags.executable);
    assert_eq!(exe.sha256.len(), 64);
    assert!(exe.tlsh.as_deref().is_some_and(|t| t.starts_with("T1")));
    assert!(ar.entries[1].flags.pdf_active);
    let ids = signal_ids(&a);
    for id in [
        "auth.spf_fail",
        "auth.dmarc_fail",
        "hdr.reply_to_mismatch",
        "att.ppap",
        "att.double_extension",
        "att.pdf_active",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    assert!(a.verdict.score >= 90, "score {}", a.verdict.score);
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(
        json["verdict"]["signals"][0]["ja"],
        "SPF 認証に失敗しています"
    );
}

#[test]
fn ppap_password_in_companion_message() {
    let archive = fixture("ppap_archive_only.eml");
    let alone = analyze(&archive);
    let ar = alone.attachments[0].archive.as_ref().unwrap();
    assert!(ar.encrypted && !ar.opened && ar.password.is_none());
    assert!(signal_ids(&alone).contains(&"att.archive_unopened"));

    let companion = analyze(&fixture("ppap_password_only.eml"));
    assert_eq!(
        companion.headers.subject.as_deref(),
        Some("パスワードのお知らせ")
    );
    let opts = Options {
        companion_texts: vec![companion.bodies[0].text.clone()],
        ..Options::default()
    };
    let with = analyze_with(&archive, &opts);
    let ar = with.attachments[0].archive.as_ref().unwrap();
    assert_eq!(ar.password.as_deref(), Some("k9Rt2wQa"));
    assert_eq!(ar.entries[0].name.as_deref(), Some("memo.txt"));
}

#[test]
fn html_phishing_links_and_forms() {
    let a = analyze(&fixture("html_phish.eml"));
    let find = |u: &str| {
        a.urls
            .iter()
            .find(|r| r.url == u)
            .unwrap_or_else(|| panic!("{u} not in {:#?}", a.urls))
    };
    let m = find("https://evil-login.example/bank");
    assert!(m.text_mismatch);
    assert_eq!(
        m.link_text.as_deref(),
        Some("https://www.bank.example.jp/login")
    );
    assert!(find("http://bit.ly/3abcDEF").shortener);
    assert_eq!(find("javascript:alert(1)").scheme, "javascript");
    assert!(find("http://192.0.2.44/login").ip_host);
    assert!(find("https://www.bank.example.jp@evil.example/").userinfo);
    assert_eq!(
        find("https://www.bank.example.jp@evil.example/")
            .host
            .as_deref(),
        Some("evil.example")
    );
    assert_eq!(find("https://collect.evil.example/post").source, "form");
    assert!(a.forms[0].has_password);
    assert_eq!(a.auth.dkim.as_deref(), Some("fail"));
    assert_eq!(a.auth.arc.as_deref(), Some("none"));
    assert_eq!(a.headers.user_agent.as_deref(), Some("PhishKit/2.1"));
    assert_eq!(a.headers.x_originating_ip.as_deref(), Some("203.0.113.77"));
    assert_eq!(a.mismatches[0].second, "sender");
    assert_eq!(a.language, "en");
    let ids = signal_ids(&a);
    for id in [
        "url.text_mismatch",
        "url.shortener",
        "url.script",
        "url.ip_host",
        "url.userinfo",
        "url.password_form",
        "auth.dmarc_fail",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
}

#[test]
fn risky_attachment_kinds() {
    let a = analyze(&fixture("attachments.eml"));
    let by = |n: &str| {
        a.attachments
            .iter()
            .find(|f| f.name.as_deref() == Some(n))
            .unwrap_or_else(|| panic!("{n}"))
    };
    assert!(by("shortcut.lnk").flags.lnk);
    let rtf = by("report.doc");
    assert!(rtf.flags.rtf_object);
    assert!(rtf.markers.contains(&"rtf:\\object".to_owned()));
    let docm = by("plan.docm");
    assert!(docm.flags.macros);
    assert_eq!(docm.archive.as_ref().unwrap().kind, "ooxml");
    assert!(by("old.doc").flags.macros);
    let rlo = a.attachments.iter().find(|f| f.flags.rlo).unwrap();
    assert_eq!(rlo.name.as_deref(), Some("photo\u{202e}gpj.exe"));
    assert_eq!(a.nested.len(), 1);
    assert_eq!(
        a.nested[0].headers.subject.as_deref(),
        Some("転送されたメール")
    );
    assert_eq!(a.nested[0].headers.from[0].name.as_deref(), Some("転送元"));
    assert_eq!(a.nested[0].urls[0].host.as_deref(), Some("inner.example"));
    let ids = signal_ids(&a);
    for id in [
        "att.lnk",
        "att.rtf_object",
        "att.macro",
        "att.rlo",
        "att.executable",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
}

#[test]
fn zip_bomb_is_refused() {
    let a = analyze(&fixture("zipbomb.eml"));
    assert!(signal_ids(&a).contains(&"att.bomb"));
    assert!(
        a.findings.iter().any(|f| f.id == "zip.bomb"),
        "{:?}",
        a.findings
    );
    assert!(
        a.attachments[0]
            .archive
            .as_ref()
            .unwrap()
            .entries
            .is_empty()
    );
}

#[test]
fn limits_give_header_only_reports() {
    // 30 nested multiparts.
    let mut m = String::from(
        "From: a@example.com\r\nSubject: deep\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n",
    );
    for i in 1..30 {
        m.push_str(&format!(
            "--b{}\r\nContent-Type: multipart/mixed; boundary=b{i}\r\n\r\n",
            i - 1
        ));
    }
    m.push_str("--b29\r\n\r\ntext\r\n");
    let a = analyze(m.as_bytes());
    assert!(a.findings.iter().any(|f| f.id == "limit.mime_depth"));
    assert_eq!(a.headers.subject.as_deref(), Some("deep"));

    let small = Options {
        limits: Limits {
            max_message_bytes: 100,
            ..Limits::default()
        },
        ..Options::default()
    };
    let a = analyze_with(&fixture("html_phish.eml"), &small);
    assert!(a.findings.iter().any(|f| f.id == "limit.size"));
    assert!(a.urls.is_empty());
    assert_eq!(
        a.headers.subject.as_deref(),
        Some("Please verify your account")
    );

    let many = "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"
        .to_owned()
        + &"--x\r\n\r\np\r\n".repeat(1500);
    assert!(
        analyze(many.as_bytes())
            .findings
            .iter()
            .any(|f| f.id == "limit.parts")
    );
}

#[test]
fn nested_messages_stop_at_the_limit() {
    let mut m =
        String::from("From: inner@example.com\r\nSubject: level 9\r\n\r\nhttp://deep.example/\r\n");
    for level in (0..9).rev() {
        m = format!(
            "From: l{level}@example.com\r\nSubject: level {level}\r\nContent-Type: message/rfc822\r\n\r\n{m}"
        );
    }
    let a = analyze(m.as_bytes());
    let mut depth = 0;
    let mut cur = &a;
    while let Some(n) = cur.nested.first() {
        depth += 1;
        cur = n;
    }
    assert_eq!(
        depth,
        Limits::default().max_nested_messages,
        "{}",
        cur.headers.subject.as_deref().unwrap_or("")
    );
    assert!(cur.findings.iter().any(|f| f.id == "limit.nested_messages"));
}

#[test]
fn hostile_headers_stay_linear() {
    let mut m = b"Subject: ".to_vec();
    m.extend(b"=?utf-8?B?".repeat(100_000));
    m.extend(b"\r\nFrom: ");
    m.extend(b"=?x?Q?".repeat(100_000));
    m.extend(b"\r\n\r\nbody\r\n");
    let started = std::time::Instant::now();
    let a = analyze(&m);
    assert!(a.headers.subject.is_some());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn mislabelled_body_charset_is_redecoded() {
    let mut m =
        b"From: a@example.jp\r\nSubject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            .to_vec();
    // "請求書を送付します" in Shift_JIS, declared as UTF-8.
    m.extend(encoding_rs::SHIFT_JIS.encode("請求書を送付します").0.iter());
    let a = analyze(&m);
    assert_eq!(a.bodies[0].text.trim(), "請求書を送付します");
    assert_eq!(a.language, "ja");
    assert!(a.findings.iter().any(|f| f.id == "charset.mislabelled"));
}

#[test]
fn garbage_yields_a_report() {
    for input in [
        &b""[..],
        b"\x00\x01\x02",
        b"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n",
        b"From: =?x?B?!!!?=\r\n\r\n",
    ] {
        let a = analyze(input);
        assert_eq!(a.size, input.len());
    }
}

#[test]
fn analyze_keeping_returns_every_extracted_file_once() {
    use mamori_mail::{FileRole, analyze_keeping};
    use sha2::{Digest, Sha256};
    let raw = fixture("ppap_jp.eml");
    let (a, kept) = analyze_keeping(&raw, &Options::default(), u64::MAX);
    assert_eq!(kept.dropped, 0);
    let kept = kept.files;
    assert_eq!(a.sha256, analyze(&raw).sha256);
    let zip = &a.attachments[0];
    let members = &zip.archive.as_ref().unwrap().entries;
    let roles: Vec<(FileRole, &str)> = kept.iter().map(|f| (f.role, f.sha256.as_str())).collect();
    assert_eq!(
        roles,
        [
            (FileRole::Attachment, zip.sha256.as_str()),
            (FileRole::ArchiveMember, members[0].sha256.as_str()),
            (FileRole::ArchiveMember, members[1].sha256.as_str()),
        ]
    );
    for f in &kept {
        assert_eq!(hex::encode(Sha256::digest(&f.data)), f.sha256);
    }
    assert_eq!(kept[1].name.as_deref(), Some("invoice.pdf.exe"));

    // An attached message is kept as a message, and what it carries as well.
    let inner = "From: a@example.com\r\nSubject: inner\r\nContent-Type: multipart/mixed; boundary=I\r\n\r\n--I\r\nContent-Type: text/plain\r\n\r\nhi\r\n--I\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"x.bin\"\r\n\r\nPAYLOAD\r\n--I--\r\n";
    let outer = format!(
        "From: b@example.com\r\nSubject: fwd\r\nContent-Type: multipart/mixed; boundary=O\r\n\r\n--O\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--O\r\nContent-Type: message/rfc822\r\n\r\n{inner}\r\n--O--\r\n"
    );
    let (a, kept) = analyze_keeping(outer.as_bytes(), &Options::default(), u64::MAX);
    let kept = kept.files;
    assert_eq!(a.nested.len(), 1);
    let roles: Vec<FileRole> = kept.iter().map(|f| f.role).collect();
    assert_eq!(roles, [FileRole::Message, FileRole::Attachment], "{kept:?}");
    assert_eq!(kept[0].sha256, a.nested[0].sha256);
    assert_eq!(kept[1].data, b"PAYLOAD");

    // Over the budget, files are counted as dropped, not kept.
    let (_, kept) = analyze_keeping(outer.as_bytes(), &Options::default(), 10);
    assert_eq!((kept.files.len(), kept.dropped), (1, 1));
    assert_eq!(kept.bytes(), 7);
}

#[test]
fn rar_and_unreadable_7z_are_flagged_as_not_inspected() {
    let mut msg: Vec<u8> = b"From: a@example.jp\r\nTo: b@example.go.jp\r\nSubject: x\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
        --B\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        .to_vec();
    msg.extend_from_slice(b"7z\xbc\xaf\x27\x1c\x00\x04 not really an archive\r\n");
    msg.extend_from_slice(
        "--B\r\nContent-Type: application/octet-stream; name=\"請求書.rar\"\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            .as_bytes(),
    );
    msg.extend_from_slice(b"Rar!\x1a\x07\x01\x00 not really an archive\r\n--B--\r\n");
    let a = analyze(&msg);
    assert_eq!(a.attachments.len(), 2);
    for f in &a.attachments {
        assert!(f.flags.opaque_archive, "{:?}", f.name);
        assert!(f.markers.contains(&"archive:not-opened".to_owned()));
    }
    assert!(signal_ids(&a).contains(&"att.opaque_archive"));
    let s = a
        .verdict
        .signals
        .iter()
        .find(|s| s.id == "att.opaque_archive")
        .unwrap();
    assert!(s.ja.contains("RAR") && s.en.contains("not inspected"));
}
