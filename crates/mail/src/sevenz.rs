//! 7z archives: member listing, members analysed like ZIP members, encrypted archives (data or
//! headers) opened with the candidate passwords from the message text (PPAP), within the
//! per-message decompression budget.
//!
//! The reader is `sevenz-rust2`, bounded three ways: its header and each decoder's dictionary
//! or model may reserve at most [`Limits::max_decoder_memory`](crate::Limits); each member is
//! read through a cap (the member limit, what is left of the message's budget and of this
//! archive's ratio allowance) and its block is abandoned when the cap is reached, so a member
//! that declares or produces more is never decoded further; and one bad block (wrong CRC,
//! unsupported method) costs its own members, not the rest of the archive.

use std::io::{Cursor, Read};

use sevenz_rust2::{Archive, ArchiveEntry, BlockDecoder, Error as SevenZError, Password};

use crate::attachment::{self, Ctx};
use crate::report::{ArchiveReport, Finding};

/// The 7z signature (first six bytes of every archive).
pub const SIGNATURE: &[u8] = b"7z\xbc\xaf\x27\x1c";

/// Members of a block read before the block is abandoned.
enum Member {
    Data(Vec<u8>),
    /// Over the cap: the block stops here.
    TooBig(u64),
}

pub fn open_7z(data: &[u8], ctx: &mut Ctx<'_>, depth: usize) -> Option<ArchiveReport> {
    let memory_kb = usize::try_from(ctx.limits.max_decoder_memory / 1024).unwrap_or(usize::MAX);
    let mut rep = ArchiveReport {
        kind: "7z".into(),
        opened: true,
        ..ArchiveReport::default()
    };
    let mut password = Password::empty();
    let archive = match read_header(data, &password, memory_kb) {
        Ok(a) => a,
        Err(e) if needs_password(&e) => {
            // Encrypted headers: names are hidden until a candidate opens the header.
            rep.encrypted = true;
            let mut found = None;
            for pw in candidates(ctx) {
                rep.passwords_tried += 1;
                let p = Password::from(pw.as_str());
                if let Ok(a) = read_header(data, &p, memory_kb) {
                    rep.password = Some(pw);
                    password = p;
                    found = Some(a);
                    break;
                }
            }
            match found {
                Some(a) => a,
                None => {
                    rep.opened = false;
                    return Some(rep);
                }
            }
        }
        Err(e) => {
            ctx.findings.push(Finding::new("7z.open", e.to_string()));
            return None;
        }
    };
    let listed = archive.files.len().min(ctx.limits.max_archive_entries);
    rep.entry_names = archive.files[..listed]
        .iter()
        .map(|f| f.name.clone())
        .collect();
    if archive.files.len() > listed {
        ctx.findings.push(Finding::new(
            "limit.archive_entries",
            format!("{} members, first {listed} listed", archive.files.len()),
        ));
    }
    let encrypted_data = (0..archive.files.len()).any(|i| archive.is_file_encrypted(i));
    if encrypted_data && rep.password.is_none() {
        rep.encrypted = true;
        rep.opened = false;
        for pw in candidates(ctx) {
            rep.passwords_tried += 1;
            let p = Password::from(pw.as_str());
            if probe(data, &archive, &p, memory_kb, ctx) {
                rep.password = Some(pw);
                password = p;
                rep.opened = true;
                break;
            }
        }
        if !rep.opened {
            return Some(rep);
        }
    }
    let mut allowance = ratio_allowance(data, ctx);
    let mut source = Cursor::new(data);
    let mut analysed = 0usize;
    for block in 0..archive.blocks.len() {
        let mut members: Vec<(String, Member)> = Vec::new();
        let mut cap = member_cap(ctx, allowance);
        let result = BlockDecoder::new_with_memory_limit(
            1,
            memory_kb,
            block,
            &archive,
            &password,
            &mut source,
        )
        .for_each_entries(&mut |entry: &ArchiveEntry, reader: &mut dyn Read| {
            if entry.is_directory {
                return Ok(true);
            }
            let mut out = Vec::new();
            reader.take(cap + 1).read_to_end(&mut out)?;
            let read = out.len() as u64;
            if read > cap {
                members.push((entry.name.clone(), Member::TooBig(cap)));
                // Returning false abandons the block: the decoder must not drain the rest.
                return Ok(false);
            }
            cap -= read;
            allowance -= read;
            members.push((entry.name.clone(), Member::Data(out)));
            Ok(true)
        });
        let complete = result.is_ok();
        if let Err(e) = result {
            ctx.findings
                .push(Finding::new("7z.block", format!("block {block}: {e}")));
        }
        let last = members.len();
        for (i, (name, member)) in members.into_iter().enumerate() {
            match member {
                Member::TooBig(cap) => ctx.findings.push(Finding::new(
                    "zip.bomb",
                    format!("{name}: more than {cap} bytes when decompressed"),
                )),
                // A member whose read failed is the last one handed out and is not analysed:
                // its bytes did not pass the CRC check.
                Member::Data(_) if !complete && i + 1 == last => {}
                Member::Data(bytes) => {
                    ctx.decompressed += bytes.len() as u64;
                    if analysed < ctx.limits.max_archive_entries {
                        analysed += 1;
                        let r = attachment::analyze(Some(name), None, &bytes, ctx, depth + 1);
                        rep.entries.push(r);
                    }
                }
            }
        }
    }
    // Empty members (no stream) still carry names worth checking (`invoice.pdf.exe`).
    for f in archive
        .files
        .iter()
        .filter(|f| !f.has_stream && !f.is_directory)
    {
        if analysed >= ctx.limits.max_archive_entries {
            break;
        }
        analysed += 1;
        let r = attachment::analyze(Some(f.name.clone()), None, &[], ctx, depth + 1);
        rep.entries.push(r);
    }
    Some(rep)
}

fn read_header(data: &[u8], password: &Password, memory_kb: usize) -> Result<Archive, SevenZError> {
    Archive::read_with_memory_limit(&mut Cursor::new(data), password, memory_kb)
}

fn needs_password(e: &SevenZError) -> bool {
    matches!(
        e,
        SevenZError::PasswordRequired | SevenZError::MaybeBadPassword(_)
    )
}

fn candidates(ctx: &Ctx<'_>) -> Vec<String> {
    ctx.passwords
        .iter()
        .take(ctx.limits.max_passwords)
        .cloned()
        .collect()
}

/// What the whole archive may decompress to: its size times the ratio limit, at least 1 MiB.
fn ratio_allowance(data: &[u8], ctx: &Ctx<'_>) -> u64 {
    (data.len() as u64)
        .saturating_mul(ctx.limits.max_ratio)
        .max(1024 * 1024)
}

/// The largest member that may be read now.
fn member_cap(ctx: &Ctx<'_>, allowance: u64) -> u64 {
    ctx.member_cap().min(allowance)
}

/// Tries a password on the first member of the encrypted block whose first member is smallest:
/// the member must decode completely and pass its CRC. Probing is not counted in the budget
/// but is capped by it and by the archive's ratio allowance, so each wrong candidate costs at
/// most that much decoding.
fn probe(
    data: &[u8],
    archive: &Archive,
    password: &Password,
    memory_kb: usize,
    ctx: &Ctx<'_>,
) -> bool {
    // The first member with data of each block, in file order.
    let mut firsts: Vec<Option<(usize, u64)>> = vec![None; archive.blocks.len()];
    for (i, f) in archive.files.iter().enumerate() {
        if let Some(Some(b)) = archive.stream_map.file_block_index.get(i)
            && let Some(slot @ None) = firsts.get_mut(*b)
            && archive.is_file_encrypted(i)
        {
            *slot = Some((*b, f.size));
        }
    }
    let Some((block, _)) = firsts.into_iter().flatten().min_by_key(|&(_, size)| size) else {
        return false;
    };
    let cap = member_cap(ctx, ratio_allowance(data, ctx));
    let mut ok = false;
    let mut source = Cursor::new(data);
    let _ =
        BlockDecoder::new_with_memory_limit(1, memory_kb, block, archive, password, &mut source)
            .for_each_entries(&mut |entry: &ArchiveEntry, reader: &mut dyn Read| {
                if !entry.has_stream {
                    return Ok(true);
                }
                let mut sink = Vec::new();
                let read = reader.take(cap + 1).read_to_end(&mut sink)? as u64;
                // A complete read has passed the CRC check (when the archive has CRCs) and the
                // decoder's own checks; a wrong key fails one of them.
                ok = read == entry.size && read <= cap;
                Ok(false)
            });
    ok
}
