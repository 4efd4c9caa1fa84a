//! One file (attachment or archive member): hashes (MD5, SHA-1, SHA-256, TLSH), true type,
//! name tricks, active-content markers, and archives opened recursively through
//! [`crate::archive`] (ZIP), [`crate::sevenz`] (7z) and [`crate::iso`] (ISO 9660 images)
//! within the per-message budget in [`Ctx`]; each file is handed to the content scanner, if
//! any ([`crate::scanning`]).

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::archive;
use crate::extract::{FileRole, Kept};
use crate::fat;
use crate::filetype;
use crate::iso;
use crate::limits::Limits;
use crate::report::{FileReport, Finding};
use crate::scanner::TargetKind;
use crate::scanning::ScanRun;
use crate::sevenz;
use crate::udf;

/// Per-message state shared by every file: limits, password candidates, decompression budget,
/// content scanning.
#[derive(Debug)]
pub struct Ctx<'a> {
    pub limits: &'a Limits,
    pub passwords: Vec<String>,
    pub decompressed: u64,
    pub findings: Vec<Finding>,
    /// Where to keep the bytes of every file met, when the caller asked for them.
    pub kept: Option<&'a mut Kept>,
    pub scan: ScanRun<'a>,
}

impl Ctx<'_> {
    /// Bytes the message's archives and disk images may still decompress to.
    pub fn remaining_budget(&self) -> u64 {
        self.limits
            .max_decompressed_total
            .saturating_sub(self.decompressed)
    }

    /// Largest member that may be read now: the member limit or what is left of the budget.
    pub fn member_cap(&self) -> u64 {
        self.limits.max_entry_bytes.min(self.remaining_budget())
    }
}

pub fn analyze(
    name: Option<String>,
    claimed_type: Option<String>,
    data: &[u8],
    ctx: &mut Ctx<'_>,
    depth: usize,
) -> FileReport {
    let sniffed = filetype::sniff(data);
    let mut rep = FileReport {
        claimed_type,
        true_type: sniffed.as_ref().map(|(m, _)| m.clone()),
        true_extension: sniffed.as_ref().map(|(_, e)| e.clone()),
        size: data.len(),
        md5: hex::encode(Md5::digest(data)),
        sha1: hex::encode(Sha1::digest(data)),
        sha256: hex::encode(Sha256::digest(data)),
        tlsh: tlsh(data),
        ..FileReport::default()
    };
    if let Some(k) = ctx.kept.as_deref_mut() {
        let role = if depth == 0 {
            FileRole::Attachment
        } else {
            FileRole::ArchiveMember
        };
        k.keep(role, name.as_deref(), &rep.sha256, data);
    }
    if let Some(n) = &name {
        filetype::name_flags(n, &mut rep.flags);
    }
    filetype::content_flags(
        name.as_deref(),
        data,
        rep.true_extension.as_deref(),
        &mut rep.flags,
        &mut rep.markers,
    );
    let kind = if depth == 0 {
        TargetKind::Attachment
    } else {
        TargetKind::ArchiveMember
    };
    ctx.scan.scan(kind, name.as_deref(), &rep.sha256, data);
    rep.name = name;
    let zip = data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06");
    let seven_zip = data.starts_with(sevenz::SIGNATURE);
    let disk = iso::is_iso(data);
    // A hybrid image (ISO 9660 and UDF) is read as ISO 9660.
    let udf_disk = !disk && udf::is_udf(data);
    let fat_disk = if zip || seven_zip || disk || udf_disk {
        None
    } else {
        fat::fat_volume(data)
    };
    if zip || seven_zip || disk || udf_disk || fat_disk.is_some() {
        if depth < ctx.limits.max_archive_depth {
            if zip {
                let ar = archive::open_zip(data, ctx, depth);
                if let Some(ar) = &ar {
                    archive::office_markers(ar, &mut rep.flags, &mut rep.markers);
                }
                rep.archive = ar;
            } else if disk {
                rep.archive = iso::open_iso(data, ctx, depth);
                rep.flags.disk_image = true;
            } else if udf_disk {
                rep.archive = udf::open_udf(data, ctx, depth);
                rep.flags.disk_image = true;
            } else if let Some(volume) = fat_disk {
                rep.archive = fat::open_fat(volume, ctx, depth);
                rep.flags.disk_image = true;
            } else {
                rep.archive = sevenz::open_7z(data, ctx, depth);
                if rep.archive.is_none() {
                    // Not readable as 7z: say so, as for RAR.
                    rep.flags.opaque_archive = true;
                    rep.markers.push("archive:not-opened".into());
                }
            }
        } else {
            ctx.findings.push(Finding::new(
                "limit.archive_depth",
                format!(
                    "archive nested deeper than {} not opened",
                    ctx.limits.max_archive_depth
                ),
            ));
        }
    }
    rep
}

fn tlsh(data: &[u8]) -> Option<String> {
    if data.len() < 50 {
        return None;
    }
    let t = tlsh2::TlshDefaultBuilder::build_from(data)?;
    String::from_utf8(t.hash().to_vec()).ok()
}
