//! FAT disk images end to end: the LNK + DLL lure inside a FAT `.img` (long Japanese names),
//! the same volume behind an MBR partition table, the member cap, a directory whose cluster
//! chain loops back on itself (the walk stops at a limit instead of running for ever), NTFS
//! not taken for FAT, and damaged images reported without a panic. Images are written by
//! `fatfs`'s formatter, so the tests need no external tool.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Cursor, Write};

use common::{DLL, LNK, attachment, message, sha256};
use mamori_mail::{Limits, Options, analyze, analyze_with};
use proptest::prelude::*;

const MIB: usize = 1024 * 1024;

/// A FAT16 volume of 4 MiB (512-byte clusters) holding `files` (paths with `/`; parent
/// directories are created first).
fn fat(files: &[(&str, &[u8])]) -> Vec<u8> {
    fat_of(fatfs::FatType::Fat16, 4 * MIB, files)
}

fn fat_of(kind: fatfs::FatType, size: usize, files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut image = Cursor::new(vec![0u8; size]);
    fatfs::format_volume(
        &mut image,
        fatfs::FormatVolumeOptions::new()
            .fat_type(kind)
            .bytes_per_cluster(512),
    )
    .unwrap();
    image.set_position(0);
    {
        let fs = fatfs::FileSystem::new(&mut image, fatfs::FsOptions::new()).unwrap();
        let root = fs.root_dir();
        for (path, data) in files {
            if let Some((dir, _)) = path.rsplit_once('/')
                && root.open_dir(dir).is_err()
            {
                root.create_dir(dir).unwrap();
            }
            let mut f = root.create_file(path).unwrap();
            f.write_all(data).unwrap();
        }
    }
    image.into_inner()
}

const LURE: &[(&str, &[u8])] = &[("請求書.pdf.lnk", LNK), ("data/data.dll", DLL)];

fn lure() -> Vec<u8> {
    fat(LURE)
}

#[test]
fn lnk_and_dll_inside_a_fat_image_are_analysed() {
    let image = lure();
    assert!(mamori_mail::fat::is_fat_boot_sector(&image));
    assert!(!mamori_mail::iso::is_iso(&image) && !mamori_mail::udf::is_udf(&image));
    let a = analyze(&message("請求書.img", &image));
    common::assert_lure_opened(&a, "fat");
    assert!(a.files().iter().any(|f| f.sha256 == sha256(DLL)));
    // Named as anything else, it is still found by its content.
    let renamed = analyze(&message("scan.dat", &image));
    assert_eq!(
        attachment(&renamed)
            .archive
            .as_ref()
            .map(|a| a.kind.as_str()),
        Some("fat")
    );
}

#[test]
fn a_disk_with_an_mbr_partition_table_is_read_from_its_fat_partition() {
    let volume = lure();
    let start = 2048usize; // sectors, as partitioning tools align
    let mut disk = vec![0u8; start * 512];
    let entry = &mut disk[446..462];
    entry[4] = 0x0e; // FAT16 (LBA)
    entry[8..12].copy_from_slice(&(start as u32).to_le_bytes());
    entry[12..16].copy_from_slice(&((volume.len() / 512) as u32).to_le_bytes());
    disk[510] = 0x55;
    disk[511] = 0xaa;
    disk.extend_from_slice(&volume);
    assert!(!mamori_mail::fat::is_fat_boot_sector(&disk));
    assert_eq!(
        mamori_mail::fat::fat_volume(&disk).map(<[u8]>::len),
        Some(volume.len())
    );
    let a = analyze(&message("disk.img", &disk));
    let ar = attachment(&a).archive.as_ref().expect("partition opened");
    assert_eq!(ar.kind, "fat");
    assert_eq!(ar.entries.len(), 2, "{:?}", a.findings);
}

#[test]
fn files_over_the_member_cap_are_listed_not_read() {
    let big = vec![b'A'; 300 * 1024];
    let image = fat(&[("big.bin", &big), ("small.txt", b"hello")]);
    let opts = Options {
        limits: Limits {
            max_entry_bytes: 100 * 1024,
            ..Limits::default()
        },
        ..Options::default()
    };
    let a = analyze_with(&message("x.img", &image), &opts);
    let ar = attachment(&a).archive.as_ref().unwrap();
    assert_eq!(ar.entry_names.len(), 2);
    let read: Vec<_> = ar
        .entries
        .iter()
        .filter_map(|e| e.name.as_deref())
        .collect();
    assert_eq!(read, ["small.txt"]);
    assert!(
        a.findings
            .iter()
            .any(|f| f.id == "limit.decompressed" && f.detail.starts_with("big.bin")),
        "{:?}",
        a.findings
    );
}

/// Bytes per sector, reserved sectors and sectors per FAT of a FAT16 boot sector.
fn layout(image: &[u8]) -> (usize, usize, usize) {
    let u16_at = |at: usize| usize::from(u16::from_le_bytes([image[at], image[at + 1]]));
    (u16_at(11), u16_at(14), u16_at(22))
}

/// An image whose LOOP directory's first cluster chains back to itself (40 files fill that
/// cluster, 16 entries of 32 bytes, and go on into others). With `deleted`, every entry of
/// that cluster is marked deleted too, so the endless walk lists nothing new.
fn looping_image(deleted: bool) -> Vec<u8> {
    let names: Vec<String> = (0..40).map(|i| format!("loop/F{i:02}.TXT")).collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    let mut image = fat(&files);
    let (sector, reserved, per_fat) = layout(&image);
    // The LOOP directory's short entry in the root directory (just after the FATs).
    let root = (reserved + 2 * per_fat) * sector;
    let at = (0..512)
        .map(|i| root + i * 32)
        .find(|&at| &image[at..at + 11] == b"LOOP       ")
        .expect("the directory's entry");
    let cluster = usize::from(u16::from_le_bytes([image[at + 26], image[at + 27]]));
    for copy in 0..2 {
        let fat_entry = (reserved + copy * per_fat) * sector + 2 * cluster;
        image[fat_entry..fat_entry + 2].copy_from_slice(&(cluster as u16).to_le_bytes());
    }
    if deleted {
        // Data starts after the 512-entry root directory; clusters are one 512-byte sector.
        let first = root + 512 * 32 + (cluster - 2) * 512;
        for e in 0..16 {
            image[first + e * 32] = 0xe5;
        }
    }
    image
}

#[test]
fn a_directory_whose_cluster_chain_loops_is_stopped_by_a_limit() {
    let a = analyze(&message("x.img", &looping_image(false)));
    let ar = attachment(&a).archive.as_ref().expect("opened");
    assert!(
        a.findings.iter().any(|f| f.id == "limit.archive_entries"),
        "{:?}",
        a.findings
    );
    assert_eq!(ar.entry_names.len(), Limits::default().max_archive_entries);
}

#[test]
fn a_loop_of_deleted_entries_is_stopped_by_the_read_budget() {
    // Nothing new is ever listed, so only the bytes read can end the walk.
    let opts = Options {
        limits: Limits {
            max_decompressed_total: 1024 * 1024,
            ..Limits::default()
        },
        ..Options::default()
    };
    let a = analyze_with(&message("x.img", &looping_image(true)), &opts);
    let ar = attachment(&a).archive.as_ref().expect("opened");
    assert_eq!(ar.entry_names, ["loop"]);
    assert!(
        a.findings
            .iter()
            .any(|f| f.id == "limit.decompressed" && f.detail.contains("budget")),
        "{:?}",
        a.findings
    );
}

#[test]
fn ntfs_and_exfat_boot_sectors_are_not_taken_for_fat() {
    let mut ntfs = vec![0u8; 4096];
    ntfs[..11].copy_from_slice(b"\xeb\x52\x90NTFS    ");
    ntfs[11..13].copy_from_slice(&512u16.to_le_bytes());
    ntfs[13] = 8; // sectors per cluster; reserved sectors and FAT count stay 0
    ntfs[510] = 0x55;
    ntfs[511] = 0xaa;
    assert!(!mamori_mail::fat::is_fat_boot_sector(&ntfs));
    let mut exfat = vec![0u8; 4096];
    exfat[..11].copy_from_slice(b"\xeb\x76\x90EXFAT   ");
    exfat[510] = 0x55;
    exfat[511] = 0xaa;
    assert!(mamori_mail::fat::fat_volume(&exfat).is_none());
}

#[test]
fn a_truncated_fat_image_is_reported() {
    let image = lure();
    let a = analyze(&message("x.img", &image[..4096]));
    let f = attachment(&a);
    assert!(f.flags.disk_image);
    assert!(
        a.findings.iter().any(|f| f.id == "fat.truncated"),
        "{:?}",
        a.findings
    );
    assert!(!a.findings.iter().any(|f| f.id == "parse.panic"));
    // The whole image says nothing of the kind.
    let whole = analyze(&message("x.img", &image));
    assert!(
        !whole.findings.iter().any(|f| f.id.starts_with("fat.")),
        "{:?}",
        whole.findings
    );
}

/// A small FAT12 image of the lure, so that each case hashes little.
static DAMAGE_BASE: std::sync::LazyLock<Vec<u8>> =
    std::sync::LazyLock::new(|| fat_of(fatfs::FatType::Fat12, 512 * 1024, LURE));

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Damaged images (boot sector, FATs, directories and data all in reach of the edits)
    /// never panic and always end.
    #[test]
    fn damaged_fat_images_never_panic(edits in proptest::collection::vec((0usize..64 * 1024, any::<u8>()), 1..40)) {
        let mut image = DAMAGE_BASE.clone();
        let len = image.len();
        for (at, b) in edits {
            image[at % len] = b;
        }
        let a = analyze(&message("x.img", &image));
        prop_assert!(!a.findings.iter().any(|f| f.id == "parse.panic"));
    }
}
