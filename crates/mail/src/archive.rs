//! ZIP archives (including OOXML documents): member listing with names decoded as UTF-8 or
//! Shift_JIS, zip-bomb defence (per-member ratio, per-member size and a per-message total, all
//! enforced on the bytes actually read, not on header claims), and encrypted archives opened
//! with candidate passwords from the message text (PPAP). OOXML gets macro (`vbaProject.bin`)
//! and embedded-object markers instead of a member-by-member analysis (a content scanner still
//! sees each OOXML member).

use std::io::{Cursor, Read};

use zip::ZipArchive;
use zip::result::ZipError;

use crate::attachment::{self, Ctx};
use crate::decode;
use crate::report::{ArchiveReport, FileFlags, Finding};
use crate::scanner::TargetKind;

struct Entry {
    index: usize,
    name: String,
    encrypted: bool,
    dir: bool,
    size: u64,
    compressed: u64,
}

pub fn open_zip(data: &[u8], ctx: &mut Ctx<'_>, depth: usize) -> Option<ArchiveReport> {
    let mut zip = match ZipArchive::new(Cursor::new(data)) {
        Ok(z) => z,
        Err(e) => {
            ctx.findings.push(Finding::new("zip.open", e.to_string()));
            return None;
        }
    };
    let mut entries = Vec::new();
    for index in 0..zip.len().min(ctx.limits.max_archive_entries) {
        if let Ok(f) = zip.by_index_raw(index) {
            entries.push(Entry {
                index,
                name: decode::guess_bytes(f.name_raw()).text,
                encrypted: f.encrypted(),
                dir: f.is_dir(),
                size: f.size(),
                compressed: f.compressed_size(),
            });
        }
    }
    if zip.len() > ctx.limits.max_archive_entries {
        ctx.findings.push(Finding::new(
            "limit.archive_entries",
            format!(
                "{} members, first {} listed",
                zip.len(),
                ctx.limits.max_archive_entries
            ),
        ));
    }
    let ooxml = entries
        .iter()
        .any(|e| e.name.eq_ignore_ascii_case("[Content_Types].xml"));
    let mut rep = ArchiveReport {
        kind: if ooxml { "ooxml" } else { "zip" }.into(),
        encrypted: entries.iter().any(|e| e.encrypted),
        entry_names: entries.iter().map(|e| e.name.clone()).collect(),
        opened: true,
        ..ArchiveReport::default()
    };
    let mut password: Option<Vec<u8>> = None;
    if rep.encrypted {
        rep.opened = false;
        let probe = entries
            .iter()
            .filter(|e| e.encrypted && !e.dir)
            .min_by_key(|e| e.size);
        if let Some(probe) = probe {
            let candidates: Vec<String> = ctx
                .passwords
                .iter()
                .take(ctx.limits.max_passwords)
                .cloned()
                .collect();
            for pw in candidates {
                rep.passwords_tried += 1;
                if read_entry(&mut zip, probe, Some(pw.as_bytes()), ctx, true).is_ok() {
                    rep.password = Some(pw.clone());
                    rep.opened = true;
                    password = Some(pw.into_bytes());
                    break;
                }
            }
        }
    }
    if ooxml {
        scan_ooxml_members(&mut zip, &entries, password.as_deref(), ctx);
        return Some(rep);
    }
    if !rep.opened {
        return Some(rep);
    }
    for e in entries.iter().filter(|e| !e.dir) {
        if e.size > 1024 * 1024 && e.compressed > 0 && e.size / e.compressed > ctx.limits.max_ratio
        {
            ctx.findings.push(Finding::new(
                "zip.bomb",
                format!(
                    "{}: {} bytes from {} (ratio over {})",
                    e.name, e.size, e.compressed, ctx.limits.max_ratio
                ),
            ));
            continue;
        }
        let pw = if e.encrypted {
            password.as_deref()
        } else {
            None
        };
        match read_entry(&mut zip, e, pw, ctx, false) {
            Ok(bytes) => {
                let r = attachment::analyze(Some(e.name.clone()), None, &bytes, ctx, depth + 1);
                rep.entries.push(r);
            }
            Err(msg) => ctx
                .findings
                .push(Finding::new("zip.entry", format!("{}: {msg}", e.name))),
        }
    }
    Some(rep)
}

/// OOXML members are not analysed one by one, but a content scanner sees each of them
/// (`vbaProject.bin`, the relationship files naming remote templates...), within the budget.
fn scan_ooxml_members(
    zip: &mut ZipArchive<Cursor<&[u8]>>,
    entries: &[Entry],
    password: Option<&[u8]>,
    ctx: &mut Ctx<'_>,
) {
    if !ctx.scan.active() {
        return;
    }
    for e in entries.iter().filter(|e| !e.dir) {
        let pw = if e.encrypted { password } else { None };
        if e.encrypted && pw.is_none() {
            continue;
        }
        if let Ok(bytes) = read_entry(zip, e, pw, ctx, false) {
            ctx.scan
                .scan_bytes(TargetKind::ArchiveMember, Some(&e.name), &bytes);
        }
    }
}

/// Reads one member within the budget. With `probe`, the bytes are checked (CRC/HMAC at end of
/// stream) but not counted against the budget.
fn read_entry(
    zip: &mut ZipArchive<Cursor<&[u8]>>,
    e: &Entry,
    password: Option<&[u8]>,
    ctx: &mut Ctx<'_>,
    probe: bool,
) -> Result<Vec<u8>, String> {
    let cap = ctx.member_cap();
    if e.size > cap {
        let msg = format!("{} bytes exceeds the remaining budget of {cap}", e.size);
        if !probe {
            ctx.findings.push(Finding::new(
                "limit.decompressed",
                format!("{}: {msg}", e.name),
            ));
        }
        return Err(msg);
    }
    let file = match password {
        Some(pw) => zip.by_index_decrypt(e.index, pw),
        None => zip.by_index(e.index),
    };
    let file = file.map_err(|err| match err {
        ZipError::InvalidPassword => "wrong password".to_owned(),
        other => other.to_string(),
    })?;
    let mut out = Vec::new();
    let ratio_cap = e
        .compressed
        .saturating_mul(ctx.limits.max_ratio)
        .max(1024 * 1024);
    let hard = cap.min(ratio_cap);
    let read = file
        .take(hard + 1)
        .read_to_end(&mut out)
        .map_err(|err| err.to_string())?;
    if read as u64 > hard {
        ctx.findings.push(Finding::new(
            "zip.bomb",
            format!("{}: more than {hard} bytes when decompressed", e.name),
        ));
        return Err("decompressed size over the limit".into());
    }
    if !probe {
        ctx.decompressed += read as u64;
    }
    Ok(out)
}

/// Macro and external-target markers for OOXML documents, from member names.
pub fn office_markers(ar: &ArchiveReport, flags: &mut FileFlags, markers: &mut Vec<String>) {
    if ar.kind != "ooxml" {
        return;
    }
    if ar
        .entry_names
        .iter()
        .any(|n| n.to_ascii_lowercase().ends_with("vbaproject.bin"))
    {
        flags.macros = true;
        markers.push("ooxml:vbaProject.bin".into());
    }
    if ar
        .entry_names
        .iter()
        .any(|n| n.to_ascii_lowercase().contains("/embeddings/"))
    {
        markers.push("ooxml:embedded-object".into());
    }
}
