//! ISO 9660 disk images (`.iso`, and the `.img` files that are ISO images inside): the file
//! tree listed with Joliet (UTF-16) or Rock Ridge names where the image has them, and every file
//! analysed like an archive member, within the per-message budget. Images of this kind carried
//! LNK + DLL pairs past Mark-of-the-Web in the 2022 Emotet, Qakbot and IcedID waves.
//!
//! The reader is `hadris-iso`, which bounds every read by the image's size. On top of it, the
//! walk visits each directory extent once (a directory pointing at an ancestor is not followed),
//! goes at most [`MAX_DEPTH`] levels deep and lists at most `Limits::max_archive_entries`
//! entries; a file is read only when its size fits the member cap.

use std::collections::HashSet;
use std::io::Cursor;

use hadris_iso::file::EntryType;
use hadris_iso::read::{DirEntry, IsoImage};

use crate::attachment::{self, Ctx};
use crate::report::{ArchiveReport, Finding};

/// Offset of the first volume descriptor's standard identifier.
const DESCRIPTOR_ID_OFFSET: usize = 16 * 2048 + 1;

/// Directory levels followed below the root.
pub const MAX_DEPTH: usize = 16;

/// Largest path table accepted (bytes). The reader parses the whole table when it opens an
/// image, one allocation per entry, so a crafted size would cost memory in proportion to the
/// image; real tables take a few dozen bytes per directory.
pub const MAX_PATH_TABLE: u32 = 1 << 20;

/// The path table size the primary volume descriptor declares (its little-endian copy).
fn path_table_size(data: &[u8]) -> Option<u32> {
    // Volume descriptors start at sector 16; a boot record may come before the primary one.
    for sector in 16..48 {
        let at = sector * 2048;
        match data.get(at) {
            Some(1) => {
                let b = data.get(at + 132..at + 136)?;
                return Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            }
            Some(255) | None => return None,
            Some(_) => {}
        }
    }
    None
}

/// True when `data` is an ISO 9660 image (`CD001` in the first volume descriptor).
pub fn is_iso(data: &[u8]) -> bool {
    data.get(DESCRIPTOR_ID_OFFSET..DESCRIPTOR_ID_OFFSET + 5) == Some(b"CD001")
}

pub fn open_iso(data: &[u8], ctx: &mut Ctx<'_>, depth: usize) -> Option<ArchiveReport> {
    if let Some(n) = path_table_size(data)
        && n > MAX_PATH_TABLE
    {
        ctx.findings.push(Finding::new(
            "iso.open",
            format!("path table of {n} bytes declared (more than {MAX_PATH_TABLE})"),
        ));
        return None;
    }
    let image = match IsoImage::open(Cursor::new(data)) {
        Ok(i) => i,
        Err(e) => {
            ctx.findings.push(Finding::new("iso.open", e.to_string()));
            return None;
        }
    };
    let Some(root) = image.root_dirs().try_best_choice() else {
        ctx.findings
            .push(Finding::new("iso.open", "no directory tree in the image"));
        return None;
    };
    let joliet = matches!(root.entry_type(), EntryType::Joliet { .. });
    let mut rep = ArchiveReport {
        kind: "iso".into(),
        opened: true,
        ..ArchiveReport::default()
    };
    let max_entries = ctx.limits.max_archive_entries;
    let mut seen = HashSet::new();
    let mut stack = vec![(root.dir_ref(), String::new(), 0usize)];
    let mut truncated = false;
    while let Some((dir, prefix, level)) = stack.pop() {
        if !seen.insert((dir.extent.0, dir.size)) {
            ctx.findings.push(Finding::new(
                "iso.loop",
                format!("{prefix}: directory already visited"),
            ));
            continue;
        }
        let listing = image.open_dir(dir);
        for entry in listing.entries() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    ctx.findings
                        .push(Finding::new("iso.entry", format!("{prefix}: {e}")));
                    break;
                }
            };
            if entry.is_special() {
                continue;
            }
            if rep.entry_names.len() >= max_entries {
                truncated = true;
                break;
            }
            let name = format!("{prefix}{}", entry_name(&entry, joliet));
            rep.entry_names.push(name.clone());
            if entry.is_directory() {
                if level + 1 > MAX_DEPTH {
                    ctx.findings.push(Finding::new(
                        "iso.depth",
                        format!("{name}: deeper than {MAX_DEPTH} levels, not listed"),
                    ));
                    continue;
                }
                match entry.as_dir_ref(&image) {
                    Ok(sub) => stack.push((sub, format!("{name}/"), level + 1)),
                    Err(e) => ctx
                        .findings
                        .push(Finding::new("iso.entry", format!("{name}: {e}"))),
                }
                continue;
            }
            let size = entry.total_size();
            let cap = ctx.member_cap();
            if size > cap {
                ctx.findings.push(Finding::new(
                    "limit.decompressed",
                    format!("{name}: {size} bytes exceeds the remaining budget of {cap}"),
                ));
                continue;
            }
            match image.read_file(&entry) {
                Ok(bytes) => {
                    ctx.decompressed += bytes.len() as u64;
                    let r = attachment::analyze(Some(name), None, &bytes, ctx, depth + 1);
                    rep.entries.push(r);
                }
                Err(e) => ctx
                    .findings
                    .push(Finding::new("iso.entry", format!("{name}: {e}"))),
            }
        }
        if truncated {
            break;
        }
    }
    if truncated {
        ctx.findings.push(Finding::new(
            "limit.archive_entries",
            format!("more than {max_entries} entries, first {max_entries} listed"),
        ));
    }
    Some(rep)
}

/// The entry's name: Rock Ridge's when present, else Joliet's UTF-16BE or the ISO 9660 name,
/// without the `;1` version and the trailing dot of a name without extension.
fn entry_name(entry: &DirEntry, joliet: bool) -> String {
    let raw = entry.name();
    let decoded = if joliet && raw.len().is_multiple_of(2) {
        let units = raw
            .chunks_exact(2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]));
        char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect()
    } else {
        entry.display_name().into_owned()
    };
    let mut name = match decoded.rsplit_once(';') {
        Some((base, version)) if version.bytes().all(|b| b.is_ascii_digit()) => base.to_owned(),
        _ => decoded,
    };
    if name.ends_with('.') {
        name.pop();
    }
    name.retain(|c| c != '\0');
    name
}
