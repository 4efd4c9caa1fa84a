//! UDF disk images (`.iso`/`.img` files with a UDF file system and no ISO 9660 one): the file
//! tree listed and every file analysed like an archive member, within the per-message budget.
//! Windows mounts such images with a double-click like ISO 9660 ones, and UDF-only images have
//! been used to get past scanners that read only ISO 9660.
//!
//! The reader is `hadris-udf`, which bounds each extent it reads by the image's size. A file
//! entry may still chain many extents, each up to the image's size, and the reader gathers a
//! whole file or directory before it returns; so the image is read through `budgeted::Budgeted`, which
//! fails a read once the bytes read pass what the message may still decompress (reported as
//! `limit.decompressed`, and the rest of the image is not read). The walk
//! visits each directory once (by its ICB), goes at most [`MAX_DEPTH`] levels deep and lists
//! at most `Limits::max_archive_entries` entries; a file is read only when its declared size
//! fits the member cap.

use std::cell::Cell;
use std::collections::HashSet;
use std::rc::Rc;

use hadris_udf::sync::UdfVolume;

use crate::attachment::{self, Ctx};
use crate::budgeted::Budgeted;
use crate::report::{ArchiveReport, Finding};

/// Directory levels followed below the root.
pub const MAX_DEPTH: usize = 16;

/// Bytes of directory data the walk may read, beside the files' budget.
const DIRECTORY_BUDGET: u64 = 16 * 1024 * 1024;

const SECTOR: usize = 2048;

/// True when `data` carries a UDF volume recognition sequence (`NSR02`/`NSR03` in one of the
/// descriptors from sector 16 on). Callers test [`crate::iso::is_iso`] first: a hybrid image
/// is read as ISO 9660.
pub fn is_udf(data: &[u8]) -> bool {
    (16..32).any(|sector| {
        let at = sector * SECTOR + 1;
        matches!(data.get(at..at + 5), Some(b"NSR02" | b"NSR03"))
    })
}

/// Opens a UDF image and analyses its files.
pub fn open_udf(data: &[u8], ctx: &mut Ctx<'_>, depth: usize) -> Option<ArchiveReport> {
    let budget = Rc::new(Cell::new(
        ctx.remaining_budget().saturating_add(DIRECTORY_BUDGET),
    ));
    let reader = Budgeted::new(data, budget.clone());
    let volume = match UdfVolume::open(reader) {
        Ok(v) => v,
        Err(e) => {
            ctx.findings.push(Finding::new("udf.open", e.to_string()));
            return None;
        }
    };
    let root = match volume.root_dir() {
        Ok(r) => r,
        Err(e) => {
            ctx.findings.push(Finding::new("udf.open", e.to_string()));
            return None;
        }
    };
    let mut rep = ArchiveReport {
        kind: "udf".into(),
        opened: true,
        ..ArchiveReport::default()
    };
    let max_entries = ctx.limits.max_archive_entries;
    let mut seen: HashSet<(u16, u32)> = HashSet::new();
    let mut stack = vec![(root, String::new(), 0usize)];
    let mut truncated = false;
    let mut spent = false;
    while let Some((dir, prefix, level)) = stack.pop() {
        for entry in dir.entries() {
            if entry.is_parent() {
                continue;
            }
            if rep.entry_names.len() >= max_entries {
                truncated = true;
                break;
            }
            let name = format!("{prefix}{}", entry.name().trim_end_matches('\0'));
            rep.entry_names.push(name.clone());
            if entry.is_dir() {
                let icb = (entry.icb.partition_ref_num, entry.icb.logical_block_num);
                if !seen.insert(icb) {
                    ctx.findings.push(Finding::new(
                        "udf.loop",
                        format!("{name}: directory already visited"),
                    ));
                    continue;
                }
                if level + 1 > MAX_DEPTH {
                    ctx.findings.push(Finding::new(
                        "udf.depth",
                        format!("{name}: deeper than {MAX_DEPTH} levels, not listed"),
                    ));
                    continue;
                }
                match volume.read_directory(&entry.icb) {
                    Ok(sub) => stack.push((sub, format!("{name}/"), level + 1)),
                    Err(e) => ctx
                        .findings
                        .push(Finding::new("udf.entry", format!("{name}: {e}"))),
                }
                continue;
            }
            let cap = ctx.member_cap();
            if entry.size > cap {
                ctx.findings.push(Finding::new(
                    "limit.decompressed",
                    format!(
                        "{name}: {} bytes exceeds the remaining budget of {cap}",
                        entry.size
                    ),
                ));
                continue;
            }
            match volume.read_file(entry) {
                Ok(bytes) if bytes.len() as u64 <= cap => {
                    ctx.decompressed += bytes.len() as u64;
                    let r = attachment::analyze(Some(name), None, &bytes, ctx, depth + 1);
                    rep.entries.push(r);
                }
                Ok(bytes) => ctx.findings.push(Finding::new(
                    "limit.decompressed",
                    format!(
                        "{name}: {} bytes exceeds the remaining budget of {cap}",
                        bytes.len()
                    ),
                )),
                Err(_) if budget.get() == 0 => {
                    ctx.findings.push(Finding::new(
                        "limit.decompressed",
                        format!(
                            "{name}: its extents add up to more than the remaining budget; \
                             the rest of the image is not read"
                        ),
                    ));
                    spent = true;
                    break;
                }
                Err(e) => ctx
                    .findings
                    .push(Finding::new("udf.entry", format!("{name}: {e}"))),
            }
        }
        if truncated || spent {
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
