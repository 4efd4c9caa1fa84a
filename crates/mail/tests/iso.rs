//! ISO 9660 attachments end to end: the 2022 "ISO with LNK + DLL" lure opened and its files
//! analysed, Japanese Joliet names, an `.img` that is an ISO inside, nested directories, the
//! member cap, and damaged images reported without a panic. Images are written by
//! `hadris-iso`'s writer, so the tests need no external tool.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Cursor;
use std::sync::Arc;

use common::{DLL, LNK, attachment, message, signal_ids};
use hadris_iso::joliet::JolietLevel;
use hadris_iso::read::PathSeparator;
use hadris_iso::write::options::{BaseIsoLevel, CreationFeatures, IsoFormatOptions};
use hadris_iso::write::{File as IsoFile, InputFiles, IsoImageWriter};
use mamori_mail::{Limits, Options, analyze, analyze_with};
use proptest::prelude::*;

fn file(name: &str, contents: &[u8]) -> IsoFile {
    IsoFile::File {
        name: Arc::new(name.to_owned()),
        contents: contents.to_vec(),
    }
}

fn dir(name: &str, children: Vec<IsoFile>) -> IsoFile {
    IsoFile::Directory {
        name: Arc::new(name.to_owned()),
        children,
    }
}

/// An ISO image with a Joliet tree (the way Windows and most tools write them).
fn iso(files: Vec<IsoFile>) -> Vec<u8> {
    let files = InputFiles {
        path_separator: PathSeparator::ForwardSlash,
        files,
    };
    let options = IsoFormatOptions {
        volume_name: "INVOICE".to_owned(),
        system_id: None,
        volume_set_id: None,
        publisher_id: None,
        preparer_id: None,
        application_id: None,
        sector_size: 2048,
        path_separator: PathSeparator::ForwardSlash,
        features: CreationFeatures {
            filenames: BaseIsoLevel::Level1 {
                supports_lowercase: false,
                supports_rrip: false,
            },
            joliet: Some(JolietLevel::Level3),
            ..CreationFeatures::default()
        },
        strict_charset: false,
    };
    let mut out = Cursor::new(vec![0u8; 2 * 1024 * 1024]);
    IsoImageWriter::create(&mut out, files, options).unwrap();
    let mut image = out.into_inner();
    // Keep the volume as recorded (its space size, in 2,048-byte blocks), not the whole buffer.
    let at = 16 * 2048 + 80;
    let blocks = u32::from_le_bytes(image[at..at + 4].try_into().unwrap()) as usize;
    image.truncate(blocks * 2048);
    image
}

#[test]
fn lnk_and_dll_inside_an_iso_are_analysed() {
    let image = iso(vec![
        file("請求書.pdf.lnk", LNK),
        dir("data", vec![file("data.dll", DLL)]),
    ]);
    let a = analyze(&message("請求書.iso", &image));
    common::assert_lure_opened(&a, "iso");
}

#[test]
fn an_img_that_is_an_iso_is_opened_by_its_content() {
    let image = iso(vec![file("setup.exe", DLL)]);
    let a = analyze(&message("photo.img", &image));
    let ar = attachment(&a).archive.as_ref().expect("opened by content");
    assert_eq!(ar.kind, "iso");
    assert_eq!(ar.entries.len(), 1);
    assert!(ar.entries[0].flags.executable);
}

#[test]
fn files_over_the_member_cap_are_listed_not_read() {
    let big = vec![b'A'; 300 * 1024];
    let image = iso(vec![file("big.bin", &big), file("small.txt", b"hello")]);
    let opts = Options {
        limits: Limits {
            max_entry_bytes: 100 * 1024,
            ..Limits::default()
        },
        ..Options::default()
    };
    let a = analyze_with(&message("x.iso", &image), &opts);
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

#[test]
fn a_truncated_iso_is_reported() {
    let image = iso(vec![file("a.txt", b"hello")]);
    let a = analyze(&message("x.iso", &image[..16 * 2048 + 10]));
    let f = attachment(&a);
    assert!(f.archive.is_none());
    assert!(
        a.findings.iter().any(|f| f.id == "iso.open"),
        "{:?}",
        a.findings
    );
    // The name alone still marks it as a disk image.
    assert!(signal_ids(&a).contains(&"att.disk_image"));
}

static DAMAGE_BASE: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
    iso(vec![
        file("a.lnk", LNK),
        dir(
            "d",
            vec![file("b.dll", DLL), dir("e", vec![file("c.txt", b"text")])],
        ),
    ])
});

#[test]
fn a_huge_declared_path_table_is_refused_before_parsing() {
    let mut image = iso(vec![file("a.txt", b"hello")]);
    // The primary volume descriptor's path table size, both-endian at offset 132.
    let at = 16 * 2048 + 132;
    image[at..at + 4].copy_from_slice(&0x4000_0000u32.to_le_bytes());
    image[at + 4..at + 8].copy_from_slice(&0x4000_0000u32.to_be_bytes());
    let a = analyze(&message("x.iso", &image));
    assert!(attachment(&a).archive.is_none());
    assert!(
        a.findings
            .iter()
            .any(|f| f.id == "iso.open" && f.detail.contains("path table")),
        "{:?}",
        a.findings
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Byte changes in the descriptors and directory records give a report, never a panic.
    #[test]
    fn damaged_iso_never_panics(changes in proptest::collection::vec((0usize..64 * 1024, any::<u8>()), 1..16)) {
        let mut image = DAMAGE_BASE.clone();
        for (pos, byte) in changes {
            // Aim at the metadata: the descriptors from sector 16 on and what follows.
            let p = 16 * 2048 + pos % (image.len() - 16 * 2048);
            image[p] = byte;
        }
        let a = analyze(&message("x.iso", &image));
        prop_assert_eq!(a.attachments.len(), 1);
    }
}
