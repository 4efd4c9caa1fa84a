//! Campaign clustering: a synthetic campaign (same mailer, same subject template with other
//! numbers and names, same URL host, same attachment name pattern, different sending IPs)
//! clusters together and apart from unrelated mail (the fixtures and, when present, corpus mail).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use mamori_mail::campaign::{DEFAULT_THRESHOLD, LINK_WEIGHT, Tokens, best_match};
use mamori_mail::{CampaignIndex, Features, analyze};

fn campaign_message(n: usize) -> String {
    let names = ["山田", "佐藤", "鈴木", "高橋", "田中"];
    format!(
        "Received: from h{n}.example ([198.51.100.{ip}]) by mx.victim.example.jp; Tue, 1 Apr 2025 10:00:0{n} +0900\r\n\
         From: billing{n}@sender{n}.example\r\n\
         To: user{n}@victim.example.jp\r\n\
         Subject: 【至急】 請求書 No.{num} {name}様\r\n\
         Date: Tue, 1 Apr 2025 10:00:0{n} +0900\r\n\
         X-Mailer: Foxmail 7.2.{n}\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=B\r\n\r\n\
         --B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         ご確認ください https://invoice-check.example/v/{num}\r\n\
         --B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"請求書_{num}.zip\"\r\n\r\n\
         {body}\r\n--B--\r\n",
        ip = 10 + n,
        num = 1000 + n * 7,
        name = names[n % names.len()],
        body = "x".repeat(40 + n),
    )
}

#[test]
fn related_messages_cluster_together() {
    let mut index = CampaignIndex::default();
    let related: Vec<_> = (0..5)
        .map(|n| {
            index.add(&Features::from_analysis(&analyze(
                campaign_message(n).as_bytes(),
            )))
        })
        .collect();
    assert!(related.iter().all(|c| *c == related[0]), "{related:?}");
    assert_eq!(index.size(related[0]), 5);

    let mut unrelated = Vec::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut files: Vec<_> = [
        "ppap_jp.eml",
        "html_phish.eml",
        "attachments.eml",
        "ppap_password_only.eml",
    ]
    .iter()
    .map(|f| dir.join(f))
    .collect();
    if let Some(corpus) = common::corpus_dir("related_messages_cluster_together (corpus part)") {
        files.extend(common::eml_files(&corpus).into_iter().step_by(20));
    }
    for f in &files {
        let a = analyze(&std::fs::read(f).unwrap());
        unrelated.push((f.clone(), index.add(&Features::from_analysis(&a))));
    }
    for (f, c) in &unrelated {
        assert_ne!(
            *c,
            related[0],
            "{} joined the synthetic campaign",
            f.display()
        );
    }
    assert_eq!(index.size(related[0]), 5);
    eprintln!(
        "campaign test: {} unrelated messages, {} campaigns in all",
        unrelated.len(),
        index.campaigns()
    );
}

/// `best_match` over candidates kept elsewhere (as the hub keeps them) assigns exactly as the
/// in-memory index does.
#[test]
fn best_match_assigns_like_the_index() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut raws: Vec<Vec<u8>> = (0..5).map(|n| campaign_message(n).into_bytes()).collect();
    for f in [
        "ppap_jp.eml",
        "html_phish.eml",
        "attachments.eml",
        "ppap_password_only.eml",
    ] {
        raws.push(std::fs::read(dir.join(f)).unwrap());
    }
    raws.push(campaign_message(7).into_bytes());
    let mut index = CampaignIndex::default();
    let mut kept: Vec<(Tokens, u32)> = Vec::new();
    let mut campaigns = 0;
    for raw in &raws {
        let f = Features::from_analysis(&analyze(raw));
        let by_index = index.add(&f);
        let t = f.token_map();
        let candidates = kept
            .iter()
            .filter(|(k, _)| {
                t.iter()
                    .any(|(tok, w)| *w >= LINK_WEIGHT && k.contains_key(tok))
            })
            .map(|(k, c)| (k, *c));
        let ours = best_match(&t, candidates, DEFAULT_THRESHOLD).unwrap_or_else(|| {
            campaigns += 1;
            campaigns - 1
        });
        kept.push((t, ours));
        assert_eq!(by_index.0, ours);
    }
    assert_eq!(index.campaigns(), campaigns as usize);
}
