//! FAT12/16/32 disk images (`.img` attachments, as in the 2022 lure waves that mailed IMG
//! files holding an LNK and a DLL): the file tree listed, long (VFAT) names included, and every
//! file analysed like an archive member, within the per-message budget. Both bare volumes
//! (a boot sector at offset 0, as `mkfs.fat` writes an image) and disks with an MBR partition
//! table (the first FAT partition) are read.
//!
//! The reader is `fatfs`, which follows cluster chains as the image states them: a cyclic
//! chain in a directory would be followed for ever. So the image is read through `budgeted::Budgeted`,
//! which fails a read once the bytes read pass what the message may still decompress
//! (reported as `limit.decompressed`, and the rest of the image is not read); the walk goes at
//! most [`MAX_DEPTH`] levels deep and lists at most `Limits::max_archive_entries` entries; a
//! file is read only when its declared size fits the member cap. `fatfs` is not hardened
//! against hostile images the way the other readers are, so its part — listing and reading —
//! runs under `catch_unwind` (a panic becomes the finding `fat.open`), and the files it read are
//! analysed afterwards, outside it.

use std::cell::Cell;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use crate::attachment::{self, Ctx};
use crate::budgeted::Budgeted;
use crate::report::{ArchiveReport, Finding};

/// Directory levels followed below the root.
pub const MAX_DEPTH: usize = 16;

/// Bytes of directory data the walk may read, beside the files' budget.
const DIRECTORY_BUDGET: u64 = 16 * 1024 * 1024;

/// MBR partition types of FAT volumes: FAT12, FAT16 (< 32 MiB), FAT16, FAT32 (CHS), FAT32
/// (LBA), FAT16 (LBA).
const FAT_PARTITION_TYPES: &[u8] = &[0x01, 0x04, 0x06, 0x0b, 0x0c, 0x0e];

/// The FAT volume inside `data`, if any: `data` itself when it starts with a FAT boot sector,
/// else the first FAT partition of an MBR partition table. Callers test ISO 9660 and UDF
/// first.
pub fn fat_volume(data: &[u8]) -> Option<&[u8]> {
    if is_fat_boot_sector(data) {
        return Some(data);
    }
    if data.get(510..512) != Some(&[0x55, 0xaa]) {
        return None;
    }
    (0..4).find_map(|i| {
        let entry = data.get(446 + 16 * i..446 + 16 * (i + 1))?;
        if !FAT_PARTITION_TYPES.contains(&entry[4]) {
            return None;
        }
        let lba = u32::from_le_bytes([entry[8], entry[9], entry[10], entry[11]]);
        let start = usize::try_from(lba).ok()?.checked_mul(512)?;
        let volume = data.get(start..)?;
        is_fat_boot_sector(volume).then_some(volume)
    })
}

/// True when `data` starts with what a FAT boot sector must hold: a jump instruction, the
/// 0x55AA signature, a power-of-two sector size of 512–4,096 bytes and sectors per cluster,
/// reserved sectors and one or two FATs. NTFS and exFAT boot sectors have no reserved sectors
/// there and do not pass.
pub fn is_fat_boot_sector(data: &[u8]) -> bool {
    let Some(b) = data.get(..512) else {
        return false;
    };
    let jump = b[0] == 0xe9 || (b[0] == 0xeb && b[2] == 0x90);
    let bytes_per_sector = u16::from_le_bytes([b[11], b[12]]);
    let sectors_per_cluster = b[13];
    let reserved = u16::from_le_bytes([b[14], b[15]]);
    jump && b[510..512] == [0x55, 0xaa]
        && matches!(bytes_per_sector, 512 | 1024 | 2048 | 4096)
        && sectors_per_cluster.is_power_of_two()
        && reserved >= 1
        && matches!(b[16], 1 | 2)
}

/// The volume's size as its boot sector declares it (total sectors × bytes per sector).
fn declared_size(boot: &[u8]) -> Option<u64> {
    let b = boot.get(..40)?;
    let sector = u64::from(u16::from_le_bytes([b[11], b[12]]));
    let small = u64::from(u16::from_le_bytes([b[19], b[20]]));
    let large = u64::from(u32::from_le_bytes([b[32], b[33], b[34], b[35]]));
    Some(if small != 0 { small } else { large } * sector)
}

/// What the FAT reader gave: every path listed, the files read, and what went wrong.
#[derive(Default)]
struct Listing {
    names: Vec<String>,
    files: Vec<(String, Vec<u8>)>,
    findings: Vec<Finding>,
}

/// Lists and reads the volume (the `fatfs` part, run under `catch_unwind` by the caller).
fn list(
    volume: &[u8],
    budget: &Rc<Cell<u64>>,
    max_entries: usize,
    member_max: u64,
    mut remaining: u64,
) -> Listing {
    let mut out = Listing::default();
    let reader = Budgeted::new(volume, budget.clone());
    let fs = match fatfs::FileSystem::new(reader, fatfs::FsOptions::new()) {
        Ok(fs) => fs,
        Err(e) => {
            out.findings.push(Finding::new("fat.open", e.to_string()));
            return out;
        }
    };
    let spent = |budget: &Rc<Cell<u64>>| budget.get() == 0;
    let mut stack = vec![(fs.root_dir(), String::new(), 0usize)];
    let mut truncated = false;
    'walk: while let Some((dir, prefix, level)) = stack.pop() {
        for entry in dir.iter() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    if spent(budget) {
                        out.findings.push(Finding::new(
                            "limit.decompressed",
                            format!(
                                "{prefix}: reading the image passed the remaining budget; \
                                 the rest of the image is not read"
                            ),
                        ));
                        break 'walk;
                    }
                    out.findings
                        .push(Finding::new("fat.entry", format!("{prefix}: {e}")));
                    break;
                }
            };
            let base = entry.file_name();
            if base == "."
                || base == ".."
                || entry
                    .attributes()
                    .contains(fatfs::FileAttributes::VOLUME_ID)
            {
                continue;
            }
            if out.names.len() >= max_entries {
                truncated = true;
                break 'walk;
            }
            let name = format!("{prefix}{base}");
            out.names.push(name.clone());
            if entry.is_dir() {
                if level + 1 > MAX_DEPTH {
                    out.findings.push(Finding::new(
                        "fat.depth",
                        format!("{name}: deeper than {MAX_DEPTH} levels, not listed"),
                    ));
                    continue;
                }
                stack.push((entry.to_dir(), format!("{name}/"), level + 1));
                continue;
            }
            let size = entry.len();
            let cap = member_max.min(remaining);
            if size > cap {
                out.findings.push(Finding::new(
                    "limit.decompressed",
                    format!("{name}: {size} bytes exceeds the remaining budget of {cap}"),
                ));
                continue;
            }
            let mut bytes = Vec::new();
            match entry.to_file().take(size).read_to_end(&mut bytes) {
                Ok(_) => {
                    remaining = remaining.saturating_sub(bytes.len() as u64);
                    out.files.push((name, bytes));
                }
                Err(_) if spent(budget) => {
                    out.findings.push(Finding::new(
                        "limit.decompressed",
                        format!(
                            "{name}: reading it passed the remaining budget; \
                             the rest of the image is not read"
                        ),
                    ));
                    break 'walk;
                }
                Err(e) => out
                    .findings
                    .push(Finding::new("fat.entry", format!("{name}: {e}"))),
            }
        }
    }
    if truncated {
        out.findings.push(Finding::new(
            "limit.archive_entries",
            format!("more than {max_entries} entries, first {max_entries} listed"),
        ));
    }
    out
}

/// Opens a FAT volume (see [`fat_volume`]) and analyses its files.
pub fn open_fat(volume: &[u8], ctx: &mut Ctx<'_>, depth: usize) -> Option<ArchiveReport> {
    let budget = Rc::new(Cell::new(
        ctx.remaining_budget().saturating_add(DIRECTORY_BUDGET),
    ));
    let (max_entries, member_max, remaining) = (
        ctx.limits.max_archive_entries,
        ctx.limits.max_entry_bytes,
        ctx.remaining_budget(),
    );
    let listing = match catch_unwind(AssertUnwindSafe(|| {
        list(volume, &budget, max_entries, member_max, remaining)
    })) {
        Ok(l) => l,
        Err(_) => {
            ctx.findings.push(Finding::new(
                "fat.open",
                "the FAT reader failed on this image (a panic, caught)",
            ));
            return None;
        }
    };
    if let Some(declared) = declared_size(volume)
        && (volume.len() as u64) < declared
    {
        ctx.findings.push(Finding::new(
            "fat.truncated",
            format!(
                "the image holds {} bytes, its boot sector declares {declared}: files past the \
                 end are missing or cut short",
                volume.len()
            ),
        ));
    }
    let opened = !listing.findings.iter().any(|f| f.id == "fat.open");
    ctx.findings.extend(listing.findings);
    if !opened {
        return None;
    }
    let mut rep = ArchiveReport {
        kind: "fat".into(),
        opened: true,
        entry_names: listing.names,
        ..ArchiveReport::default()
    };
    for (name, bytes) in listing.files {
        ctx.decompressed += bytes.len() as u64;
        let r = attachment::analyze(Some(name), None, &bytes, ctx, depth + 1);
        rep.entries.push(r);
    }
    Some(rep)
}
