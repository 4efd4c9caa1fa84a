//! Shared helpers for the integration tests: where the mail corpus is and how to list it, and
//! what the archive tests ask of an analysis.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The shared mail corpus (`../shared/corpora/mail` next to the repository), or `None` with a
/// SKIPPED notice when it is absent. `MAMORI_MAIL_CORPUS` overrides the location.
pub fn corpus_dir(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("MAMORI_MAIL_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/mail"),
        PathBuf::from,
    );
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED {test}: mail corpus not found at {}", dir.display());
        None
    }
}

/// Every `.eml` file under `dir`, sorted.
pub fn eml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "eml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

pub fn has_cjk(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c, '\u{3040}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}'))
}

/// The only attachment of a message (fails, showing the findings, when there is not one).
pub fn attachment(a: &mamori_mail::Analysis) -> &mamori_mail::report::FileReport {
    assert_eq!(a.attachments.len(), 1, "{:?}", a.findings);
    &a.attachments[0]
}

pub fn signal_ids(a: &mamori_mail::Analysis) -> Vec<&str> {
    a.verdict.signals.iter().map(|s| s.id.as_str()).collect()
}

pub fn sha256(d: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(d))
}

/// A Windows shortcut that starts `rundll32.exe data.dll` (the disk-image lure's first half).
pub const LNK: &[u8] = b"\x4c\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46 rundll32.exe data.dll,DllRegisterServer";
/// A file that sniffs as a Windows executable (the lure's DLL).
pub const DLL: &[u8] =
    b"MZ\x90\x00\x03\x00\x00\x00 this program cannot be run in DOS mode, padding padding";

/// Checks the disk-image lure (`請求書.pdf.lnk` at the root, `data/data.dll` below it) was
/// opened as an image of `kind` and both files analysed; returns the image's report.
pub fn assert_lure_opened<'a>(
    a: &'a mamori_mail::Analysis,
    kind: &str,
) -> &'a mamori_mail::report::ArchiveReport {
    let f = attachment(a);
    assert!(f.flags.disk_image);
    let ar = f.archive.as_ref().expect("image opened");
    assert_eq!(ar.kind, kind);
    let mut names = ar.entry_names.clone();
    names.sort();
    assert_eq!(
        names,
        ["data", "data/data.dll", "請求書.pdf.lnk"],
        "{:?}",
        a.findings
    );
    let lnk = ar
        .entries
        .iter()
        .find(|e| e.name.as_deref() == Some("請求書.pdf.lnk"))
        .expect("LNK analysed");
    assert!(lnk.flags.lnk && lnk.flags.executable);
    let dll = ar
        .entries
        .iter()
        .find(|e| e.name.as_deref() == Some("data/data.dll"))
        .expect("DLL analysed");
    assert_eq!(dll.sha256, sha256(DLL));
    let ids = signal_ids(a);
    assert!(ids.contains(&"att.disk_image"), "{ids:?}");
    ar
}

/// An invoice message with `attachment` as a binary part named `name`.
pub fn message(name: &str, attachment: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "From: keiri@example.net\r\nTo: soumu@example.go.jp\r\nSubject: invoice\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n\
         Please open the attached invoice.\r\n--B\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: binary\r\n\r\n"
    )
    .into_bytes();
    m.extend_from_slice(attachment);
    m.extend_from_slice(b"\r\n--B--\r\n");
    m
}
