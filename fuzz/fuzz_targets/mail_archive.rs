//! Fuzz target: archive attachments (ZIP, 7z, ISO 9660, UDF, FAT) must never panic or abort.
//! The first byte chooses the container: a signature put in front of the rest (ZIP, 7z), the
//! 16 empty system sectors of an ISO image, those followed by a UDF volume recognition
//! sequence (`BEA01`, `NSR02`, `TEA01`), or a small FAT12 boot sector (the rest is the FATs,
//! the root directory and the data), so the fuzzer spends its time inside the readers
//! rather than finding the signatures; the password `pw` is in the body, so encrypted archives
//! are opened too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let iso_system_area = [0u8; 16 * 2048];
    let mut udf_start = vec![0u8; 19 * 2048];
    for (i, id) in [b"BEA01", b"NSR02", b"TEA01"].into_iter().enumerate() {
        let at = (16 + i) * 2048;
        udf_start[at + 1..at + 6].copy_from_slice(id);
    }
    // 512-byte sectors, 1 per cluster, 1 reserved, 2 FATs of 1 sector, 16 root entries, 64
    // sectors in all.
    let mut fat_boot = vec![0u8; 512];
    fat_boot[..11].copy_from_slice(b"\xeb\x3c\x90MSDOS5.0");
    fat_boot[11..13].copy_from_slice(&512u16.to_le_bytes());
    fat_boot[13] = 1;
    fat_boot[14..16].copy_from_slice(&1u16.to_le_bytes());
    fat_boot[16] = 2;
    fat_boot[17..19].copy_from_slice(&16u16.to_le_bytes());
    fat_boot[19..21].copy_from_slice(&64u16.to_le_bytes());
    fat_boot[21] = 0xf8;
    fat_boot[22..24].copy_from_slice(&1u16.to_le_bytes());
    fat_boot[510..512].copy_from_slice(&[0x55, 0xaa]);
    let signature: &[u8] = match first % 5 {
        0 => b"PK\x03\x04",
        1 => b"7z\xbc\xaf\x27\x1c",
        2 => &iso_system_area,
        3 => &udf_start,
        _ => &fat_boot,
    };
    let mut msg = b"From: a@example.jp\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n\
        --B\r\nContent-Type: text/plain\r\n\r\npassword: pw\r\n--B\r\n\
        Content-Type: application/octet-stream; name=\"a.bin\"\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        .to_vec();
    msg.extend_from_slice(signature);
    msg.extend_from_slice(rest);
    msg.extend_from_slice(b"\r\n--B--\r\n");
    let a = mamori_mail::analyze(&msg);
    assert!(!a.findings.iter().any(|f| f.id == "parse.panic"));
});
