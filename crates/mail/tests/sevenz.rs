//! 7z attachments end to end: members analysed like ZIP members, solid blocks, PPAP passwords
//! for encrypted data and encrypted headers, bombs stopped by the budget, and broken archives
//! reported without a panic. Archives are written by `sevenz-rust2`'s own writer (the format
//! 7-Zip reads), so the tests need no external tool.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Cursor;

use common::{attachment, sha256, signal_ids};
use mamori_mail::{Limits, Options, analyze, analyze_with};
use proptest::prelude::*;
use sevenz_rust2::encoder_options::AesEncoderOptions;
use sevenz_rust2::{ArchiveEntry, ArchiveWriter, EncoderMethod, Password, SourceReader};

const EXE: &[u8] =
    b"MZ\x90\x00\x03\x00\x00\x00 this program cannot be run in DOS mode, padding padding";

/// A 7z archive of `files`, one block per file, or one solid block.
fn seven_zip(
    files: &[(&str, &[u8])],
    password: Option<&str>,
    solid: bool,
    hide_names: bool,
) -> Vec<u8> {
    let mut w = ArchiveWriter::new(Cursor::new(Vec::new())).unwrap();
    let mut methods = Vec::new();
    if let Some(pw) = password {
        methods.push(AesEncoderOptions::new(Password::from(pw)).into());
    }
    methods.push(EncoderMethod::LZMA2.into());
    w.set_content_methods(methods);
    // The writer hides names whenever a password is set, unless told otherwise.
    w.set_encrypt_header(hide_names);
    if solid {
        let entries = files
            .iter()
            .map(|(n, _)| ArchiveEntry::new_file(n))
            .collect();
        let readers = files
            .iter()
            .map(|(_, d)| SourceReader::new(Cursor::new(d.to_vec())))
            .collect();
        w.push_archive_entries(entries, readers).unwrap();
    } else {
        for (n, d) in files {
            w.push_archive_entry(ArchiveEntry::new_file(n), Some(Cursor::new(d.to_vec())))
                .unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

/// A message with `body` as text and `archive` attached under `name` (base64).
fn message(body: &str, name: &str, archive: &[u8]) -> Vec<u8> {
    use std::fmt::Write;
    let mut b64 = String::new();
    for chunk in base64_lines(archive) {
        writeln!(b64, "{chunk}\r").unwrap();
    }
    format!(
        "From: =?UTF-8?B?57WM55CG6YOo?= <keiri@example.net>\r\nTo: soumu@example.go.jp\r\n\
         Subject: =?UTF-8?B?6KuL5rGC5pu4?=\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n\
         Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n\
         --B\r\nContent-Type: application/x-7z-compressed; name=\"{name}\"\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{b64}--B--\r\n"
    )
    .into_bytes()
}

fn base64_lines(data: &[u8]) -> Vec<String> {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s.as_bytes()
        .chunks(76)
        .map(|l| String::from_utf8(l.to_vec()).unwrap())
        .collect()
}

#[test]
fn members_of_a_7z_are_listed_hashed_and_flagged() {
    for solid in [false, true] {
        let z = seven_zip(
            &[
                ("請求書.pdf.exe", EXE),
                ("readme.txt", "ご確認ください".as_bytes()),
                ("empty.txt", b""),
            ],
            None,
            solid,
            false,
        );
        let a = analyze(&message("添付をご確認ください。", "請求書.7z", &z));
        let f = attachment(&a);
        assert!(!f.flags.opaque_archive, "solid={solid}");
        let ar = f.archive.as_ref().expect("7z opened");
        assert_eq!(ar.kind, "7z");
        assert!(ar.opened && !ar.encrypted);
        assert_eq!(
            ar.entry_names,
            ["請求書.pdf.exe", "readme.txt", "empty.txt"]
        );
        assert_eq!(ar.entries.len(), 3, "solid={solid} {:?}", a.findings);
        let exe = ar
            .entries
            .iter()
            .find(|e| e.name.as_deref() == Some("請求書.pdf.exe"))
            .unwrap();
        assert_eq!(exe.sha256, sha256(EXE));
        assert!(exe.flags.double_extension && exe.flags.executable);
        assert!(
            signal_ids(&a).contains(&"att.double_extension"),
            "{:?}",
            signal_ids(&a)
        );
        assert!(!signal_ids(&a).contains(&"att.opaque_archive"));
    }
}

#[test]
fn ppap_7z_opens_with_the_password_from_the_body() {
    let z = seven_zip(
        &[("見積書.docm", b"PK\x03\x04 pretend macro document")],
        Some("Hq7#tR2v"),
        false,
        false,
    );
    let body = "お世話になっております。\r\n添付ファイルのパスワードは別途お送りします。\r\n\r\nパスワード: Hq7#tR2v\r\n";
    let a = analyze(&message(body, "見積書.7z", &z));
    let ar = attachment(&a).archive.as_ref().unwrap();
    assert!(ar.encrypted && ar.opened, "{ar:?}");
    assert_eq!(ar.password.as_deref(), Some("Hq7#tR2v"));
    assert_eq!(ar.entries.len(), 1);
    assert_eq!(
        ar.entries[0].sha256,
        sha256(b"PK\x03\x04 pretend macro document")
    );
    let ids = signal_ids(&a);
    assert!(
        ids.contains(&"att.encrypted_archive") && ids.contains(&"att.ppap"),
        "{ids:?}"
    );

    // Without the password in the text: listed, reported as not opened.
    let a = analyze(&message(
        "パスワードは後ほどお送りします。",
        "見積書.7z",
        &z,
    ));
    let ar = attachment(&a).archive.as_ref().unwrap();
    assert!(ar.encrypted && !ar.opened && ar.password.is_none());
    assert_eq!(ar.entry_names, ["見積書.docm"]);
    assert!(ar.entries.is_empty());
    assert!(signal_ids(&a).contains(&"att.archive_unopened"));
}

#[test]
fn encrypted_names_are_read_once_a_candidate_opens_the_header() {
    let z = seven_zip(
        &[("invoice.pdf.exe", EXE), ("note.txt", b"see invoice")],
        Some("k9Rt2wQa"),
        true,
        true,
    );
    let a = analyze(&message("Password: k9Rt2wQa", "invoice.7z", &z));
    let ar = attachment(&a).archive.as_ref().unwrap();
    assert!(ar.encrypted && ar.opened, "{ar:?} {:?}", a.findings);
    assert_eq!(ar.password.as_deref(), Some("k9Rt2wQa"));
    assert_eq!(ar.entry_names, ["invoice.pdf.exe", "note.txt"]);
    assert!(ar.entries.iter().any(|e| e.flags.double_extension));

    let a = analyze(&message("no password here", "invoice.7z", &z));
    let ar = attachment(&a).archive.as_ref().unwrap();
    assert!(ar.encrypted && !ar.opened && ar.entry_names.is_empty());
    assert!(signal_ids(&a).contains(&"att.archive_unopened"));
}

#[test]
fn a_7z_bomb_is_stopped_at_the_member_cap() {
    let zeros = vec![0u8; 3 * 1024 * 1024];
    let z = seven_zip(
        &[("a.bin", &zeros), ("b.txt", b"after the bomb")],
        None,
        false,
        false,
    );
    assert!(z.len() < 10_000, "{}", z.len());
    let opts = Options {
        limits: Limits {
            max_entry_bytes: 1024 * 1024,
            ..Limits::default()
        },
        ..Options::default()
    };
    let a = analyze_with(&message("x", "a.7z", &z), &opts);
    assert!(
        a.findings.iter().any(|f| f.id == "zip.bomb"),
        "{:?}",
        a.findings
    );
    assert!(signal_ids(&a).contains(&"att.bomb"));
    let ar = attachment(&a).archive.as_ref().unwrap();
    // The other block is still read.
    assert_eq!(ar.entries.len(), 1);
    assert_eq!(ar.entries[0].name.as_deref(), Some("b.txt"));
}

#[test]
fn a_corrupt_block_costs_only_its_own_members() {
    let z = seven_zip(
        &[("a.txt", &[b'a'; 4000]), ("b.txt", &[b'b'; 4000])],
        None,
        false,
        false,
    );
    // Flip a byte inside the first packed stream (right after the 32-byte signature header).
    let mut bad = z.clone();
    bad[40] ^= 0xff;
    let a = analyze(&message("x", "ab.7z", &bad));
    let ar = attachment(&a).archive.as_ref().unwrap();
    assert!(
        a.findings.iter().any(|f| f.id == "7z.block"),
        "{:?}",
        a.findings
    );
    let names: Vec<_> = ar
        .entries
        .iter()
        .filter_map(|e| e.name.as_deref())
        .collect();
    assert_eq!(names, ["b.txt"]);
}

#[test]
fn an_unreadable_7z_is_reported_not_opened() {
    let z = seven_zip(&[("a.txt", b"hello")], None, false, false);
    let a = analyze(&message("x", "a.7z", &z[..z.len() - 5]));
    let f = attachment(&a);
    assert!(f.archive.is_none() && f.flags.opaque_archive);
    assert!(
        a.findings.iter().any(|f| f.id == "7z.open"),
        "{:?}",
        a.findings
    );
    assert!(signal_ids(&a).contains(&"att.opaque_archive"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any truncation or byte change of a valid archive gives a report, never a panic.
    #[test]
    fn damaged_7z_never_panics(cut in 0usize..400, pos in 0usize..400, byte in any::<u8>()) {
        let z = seven_zip(
            &[("x.exe", EXE), ("y.txt", b"some text some text some text")],
            Some("pw"),
            true,
            false,
        );
        let mut d = z[..z.len().saturating_sub(cut % z.len())].to_vec();
        if !d.is_empty() {
            let p = pos % d.len();
            d[p] = byte;
        }
        let a = analyze(&message("password: pw", "x.7z", &d));
        prop_assert_eq!(a.attachments.len(), 1);
    }
}
