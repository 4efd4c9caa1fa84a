//! Fuzz target: archive attachments (ZIP, 7z, ISO 9660, UDF) must never panic or abort. The
//! first byte chooses the container: a signature put in front of the rest (ZIP, 7z), the 16
//! empty system sectors of an ISO image, or those followed by a UDF volume recognition
//! sequence (`BEA01`, `NSR02`, `TEA01`), so the fuzzer spends its time inside the readers
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
    let signature: &[u8] = match first % 4 {
        0 => b"PK\x03\x04",
        1 => b"7z\xbc\xaf\x27\x1c",
        2 => &iso_system_area,
        _ => &udf_start,
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
