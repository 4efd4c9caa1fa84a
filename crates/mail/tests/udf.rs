//! UDF-only disk images end to end: the LNK + DLL lure inside a UDF image (no ISO 9660 tree
//! for a scanner that reads only ISO 9660) opened and analysed, nested directories, the member
//! cap, a file entry whose extents add up to far more than its image (the reader's budget stops
//! it), and damaged images reported without a panic. Images are written by `hadris-udf`'s
//! writer, so the tests need no external tool.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Cursor;

use common::{DLL, LNK, attachment, message, sha256, signal_ids};
use hadris_udf::sync::write::{SimpleDir, SimpleFile, UdfWriteOptions, UdfWriter};
use mamori_mail::{Limits, Options, analyze, analyze_with};
use proptest::prelude::*;

/// A UDF 1.02 image of `root`, cut to the sectors the writer used.
fn udf(root: &SimpleDir) -> Vec<u8> {
    let options = UdfWriteOptions {
        volume_id: "INVOICE".into(),
        ..UdfWriteOptions::default()
    };
    let out = UdfWriter::create(Cursor::new(vec![0u8; 8 * 1024 * 1024]), root, options).unwrap();
    let sectors = out.sectors_written as usize;
    let mut image = out.into_inner().into_inner();
    image.truncate(sectors.max(300) * 2048);
    image
}

fn lure() -> SimpleDir {
    let mut root = SimpleDir::root();
    root.add_file(SimpleFile::new("請求書.pdf.lnk", LNK.to_vec()));
    let mut data = SimpleDir::new("data");
    data.add_file(SimpleFile::new("data.dll", DLL.to_vec()));
    root.add_dir(data);
    root
}

#[test]
fn lnk_and_dll_inside_a_udf_image_are_analysed() {
    let image = udf(&lure());
    assert!(mamori_mail::udf::is_udf(&image));
    assert!(!mamori_mail::iso::is_iso(&image));
    // Named .img, as the lures were: found by content.
    let a = analyze(&message("請求書.img", &image));
    common::assert_lure_opened(&a, "udf");
    // The members count as files of the message (indicator matching and sharing use these).
    assert!(a.files().iter().any(|f| f.sha256 == sha256(DLL)));
}

#[test]
fn files_over_the_member_cap_are_listed_not_read() {
    let mut root = SimpleDir::root();
    root.add_file(SimpleFile::new("big.bin", vec![b'A'; 300 * 1024]));
    root.add_file(SimpleFile::new("small.txt", b"hello".to_vec()));
    let opts = Options {
        limits: Limits {
            max_entry_bytes: 100 * 1024,
            ..Limits::default()
        },
        ..Options::default()
    };
    let a = analyze_with(&message("x.iso", &udf(&root)), &opts);
    let ar = attachment(&a).archive.as_ref().unwrap();
    assert_eq!(ar.entry_names.len(), 2);
    let read: Vec<_> = ar
        .entries
        .iter()
        .filter_map(|e| e.name.as_deref())
        .collect();
    assert_eq!(read, ["small.txt"]);
    assert!(
        a.findings.iter().any(|f| f.id == "limit.decompressed"),
        "{:?}",
        a.findings
    );
}

/// Offsets of the descriptors with tag `id` (one per 2,048-byte sector).
fn descriptors(image: &[u8], id: u16) -> impl Iterator<Item = usize> + '_ {
    (0..image.len() / 2048)
        .map(|s| s * 2048)
        .filter(move |&at| u16::from_le_bytes([image[at], image[at + 1]]) == id)
}

/// The partition's first sector (Partition Descriptor, tag 5, starting location at 188).
fn partition_start(image: &[u8]) -> usize {
    let at = descriptors(image, 5)
        .next()
        .expect("a partition descriptor");
    u32::from_le_bytes(image[at + 188..at + 192].try_into().unwrap()) as usize
}

/// Offset of the File Entry (tag 261) whose information length (at 56) is `len`.
fn file_entry_of_len(image: &[u8], len: u64) -> usize {
    descriptors(image, 261)
        .find(|&at| u64::from_le_bytes(image[at + 56..at + 64].try_into().unwrap()) == len)
        .expect("the file's File Entry")
}

#[test]
fn a_file_entry_chaining_huge_extents_is_stopped_by_the_budget() {
    let mut root = SimpleDir::root();
    let payload = b"UNIQUE-PAYLOAD-0123456789".repeat(4);
    root.add_file(SimpleFile::new("a.bin", payload.clone()));
    root.add_file(SimpleFile::new("b.txt", b"still listed".to_vec()));
    let mut image = udf(&root);
    let fe = file_entry_of_len(&image, payload.len() as u64);
    let start = partition_start(&image);
    // Rewrite the allocation descriptors: as many short ADs as fit, each the whole image long.
    let ea = u32::from_le_bytes(image[fe + 168..fe + 172].try_into().unwrap()) as usize;
    let ad_start = fe + 176 + ea;
    let n = (2048 - 176 - ea) / 8;
    // Each extent stays inside the image, so only the sum is out of proportion.
    let len = ((image.len() - start * 2048) as u32) & 0x3fff_f800;
    for i in 0..n {
        let at = ad_start + i * 8;
        image[at..at + 4].copy_from_slice(&len.to_le_bytes());
        image[at + 4..at + 8].copy_from_slice(&0u32.to_le_bytes());
    }
    image[fe + 172..fe + 176].copy_from_slice(&((n * 8) as u32).to_le_bytes());
    // The tag's CRC covers the descriptor: recompute it so the reader accepts the entry.
    fix_tag(&mut image[fe..fe + 2048], 176 + ea + n * 8);
    let opts = Options {
        limits: Limits {
            max_decompressed_total: 4 * 1024 * 1024,
            ..Limits::default()
        },
        ..Options::default()
    };
    let a = analyze_with(&message("x.img", &image), &opts);
    let ar = attachment(&a).archive.as_ref().expect("opened");
    assert!(ar.entry_names.contains(&"a.bin".to_owned()), "{ar:?}");
    assert!(
        !ar.entries
            .iter()
            .any(|e| e.name.as_deref() == Some("a.bin")),
        "the chained file must not be read whole"
    );
    assert!(
        a.findings
            .iter()
            .any(|f| f.id == "limit.decompressed" && f.detail.starts_with("a.bin: its extents")),
        "{:?}",
        a.findings
    );
}

/// Recomputes a descriptor tag's CRC (CRC-16/XMODEM over `len - 16` bytes after the tag) and
/// its checksum.
fn fix_tag(d: &mut [u8], len: usize) {
    let body_len = len - 16;
    let mut crc: u16 = 0;
    for &b in &d[16..16 + body_len] {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    d[8..10].copy_from_slice(&crc.to_le_bytes());
    d[10..12].copy_from_slice(&(body_len as u16).to_le_bytes());
    let sum = d[..16]
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 4)
        .fold(0u8, |s, (_, b)| s.wrapping_add(*b));
    d[4] = sum;
}

#[test]
fn a_truncated_udf_image_is_reported() {
    let image = udf(&lure());
    let a = analyze(&message("x.img", &image[..20 * 2048]));
    let f = attachment(&a);
    assert!(f.archive.is_none());
    assert!(
        a.findings.iter().any(|f| f.id == "udf.open"),
        "{:?}",
        a.findings
    );
    assert!(signal_ids(&a).contains(&"att.disk_image"));
}

static DAMAGE_BASE: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| udf(&lure()));

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Damaged images never panic and never cost more than the budget.
    #[test]
    fn damaged_udf_images_never_panic(edits in proptest::collection::vec((0usize..700 * 1024, any::<u8>()), 1..40)) {
        let mut image = DAMAGE_BASE.clone();
        let len = image.len();
        for (at, b) in edits {
            image[at % len] = b;
        }
        let a = analyze(&message("x.img", &image));
        prop_assert!(!a.findings.iter().any(|f| f.id == "parse.panic"));
    }
}
