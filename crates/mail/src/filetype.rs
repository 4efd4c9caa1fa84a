//! File-type facts from names and bytes: true type by magic (`infer`), risky and double
//! extensions, right-to-left override tricks, and active-content markers found by plain byte
//! search (no full parsers): OLE VBA storages and `Attribute VB_` source, PDF `/JavaScript`
//! `/JS` `/OpenAction` `/Launch` `/AA` `/EmbeddedFile`, Windows shortcuts (LNK), RTF `\object`,
//! HTML smuggling (`atob(` with `Blob`).

use crate::report::FileFlags;

pub const EXECUTABLE_EXT: &[&str] = &[
    "exe", "scr", "com", "pif", "bat", "cmd", "vbs", "vbe", "js", "jse", "wsf", "wsh", "hta",
    "ps1", "msi", "jar", "lnk", "cpl", "dll", "reg", "chm", "one", "iso", "img", "vhd", "vhdx",
    "xll", "msc", "appx", "url", "sys",
];
const SCRIPT_EXT: &[&str] = &[
    "js", "jse", "vbs", "vbe", "wsf", "wsh", "hta", "ps1", "bat", "cmd",
];
const DISK_EXT: &[&str] = &["iso", "img", "vhd", "vhdx"];
/// Archives whose members are not opened: RAR has no maintained pure-Rust reader (the
/// `unrar` crate wraps RARLAB's C++ library, which Mamori does not run on untrusted input in
/// its own process). Such an attachment is flagged so that the analyst knows its contents
/// were not inspected. A 7z archive is opened by [`crate::sevenz`] and flagged only when it
/// cannot be read.
const OPAQUE_ARCHIVE_EXT: &[&str] = &["rar"];
const DECOY_EXT: &[&str] = &[
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "jpg", "jpeg", "png", "gif", "csv",
    "rtf", "htm", "html", "zip", "mp3", "mp4",
];

/// Lower-cased last extension of a file name.
pub fn extension(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let (_, ext) = base.rsplit_once('.')?;
    let ext = ext.trim().to_ascii_lowercase();
    (!ext.is_empty() && ext.len() <= 8).then_some(ext)
}

/// Facts from the file name alone.
pub fn name_flags(name: &str, flags: &mut FileFlags) {
    flags.rlo = name.contains(['\u{202e}', '\u{202d}', '\u{200f}']);
    let clean: String = name
        .chars()
        .filter(|c| !matches!(c, '\u{202a}'..='\u{202e}' | '\u{200e}' | '\u{200f}'))
        .collect();
    let ext = extension(&clean);
    let risky = ext.as_deref().is_some_and(|e| EXECUTABLE_EXT.contains(&e));
    flags.executable |= risky;
    flags.script |= ext.as_deref().is_some_and(|e| SCRIPT_EXT.contains(&e));
    flags.disk_image |= ext.as_deref().is_some_and(|e| DISK_EXT.contains(&e));
    flags.opaque_archive |= ext
        .as_deref()
        .is_some_and(|e| OPAQUE_ARCHIVE_EXT.contains(&e));
    if risky {
        let stem = clean.rsplit_once('.').map_or("", |(s, _)| s);
        let padded = stem.ends_with("  ") || stem.ends_with('_');
        let decoy = extension(stem).is_some_and(|e| DECOY_EXT.contains(&e.as_str()));
        flags.double_extension = decoy || padded;
    }
}

/// True MIME type and extension by magic bytes.
pub fn sniff(data: &[u8]) -> Option<(String, String)> {
    if data.starts_with(&[0x4c, 0, 0, 0, 0x01, 0x14, 0x02, 0]) {
        return Some(("application/x-ms-shortcut".into(), "lnk".into()));
    }
    infer::get(data).map(|t| (t.mime_type().to_owned(), t.extension().to_owned()))
}

fn family(ext: &str) -> &str {
    match ext {
        "docx" | "xlsx" | "pptx" | "docm" | "xlsm" | "pptm" | "dotx" | "dotm" | "zip" | "jar"
        | "odt" | "ods" | "odp" | "epub" | "apk" | "xpi" | "vsdx" | "xps" => "zip",
        "doc" | "xls" | "ppt" | "msg" | "msi" | "dot" | "xlt" | "pps" | "ole" | "cfb" => "ole",
        "exe" | "dll" | "scr" | "com" | "cpl" | "sys" | "ocx" | "pif" | "xll" => "pe",
        "jpg" | "jpeg" | "jpe" | "jfif" => "jpg",
        "tif" | "tiff" => "tif",
        "htm" | "html" => "html",
        "gz" | "tgz" => "gz",
        "eml" | "txt" | "csv" | "log" => "text",
        other => other,
    }
}

/// Checks bytes for active content and for a type that contradicts the name.
pub fn content_flags(
    name: Option<&str>,
    data: &[u8],
    true_ext: Option<&str>,
    flags: &mut FileFlags,
    markers: &mut Vec<String>,
) {
    if data.starts_with(b"MZ") || data.starts_with(b"\x7fELF") {
        flags.executable = true;
    }
    // RAR 4 and 5 signatures.
    if data.starts_with(b"Rar!\x1a\x07") {
        flags.opaque_archive = true;
    }
    if flags.opaque_archive {
        markers.push("archive:not-opened".into());
    }
    if let (Some(name_ext), Some(true_ext)) = (name.and_then(extension), true_ext) {
        let exe = family(true_ext) == "pe" || true_ext == "elf" || true_ext == "lnk";
        flags.type_mismatch = family(&name_ext) != family(true_ext)
            && (exe || DECOY_EXT.contains(&name_ext.as_str()) || family(&name_ext) == "pe");
    }
    if data.starts_with(&[0x4c, 0, 0, 0]) {
        flags.lnk = true;
        flags.executable = true;
        markers.push("lnk".into());
    }
    if data.starts_with(&[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]) {
        if find(data, &utf16("_VBA_PROJECT"))
            || find(data, b"Attribute VB_")
            || find(data, b"Attribut\x00e VB_")
            || find(data, &utf16("VBA")) && find(data, &utf16("PROJECT"))
        {
            flags.macros = true;
            markers.push("ole:vba".into());
        }
        if find(data, &utf16("Equation Native")) {
            markers.push("ole:equation".into());
        }
    }
    let head = &data[..data.len().min(1024)];
    if find(head, b"%PDF") {
        for m in [
            "/JavaScript",
            "/JS",
            "/OpenAction",
            "/Launch",
            "/AA",
            "/EmbeddedFile",
            "/XFA",
            "/RichMedia",
        ] {
            if find_token(data, m.as_bytes()) {
                markers.push(format!("pdf:{m}"));
                if matches!(
                    m,
                    "/JavaScript" | "/JS" | "/Launch" | "/OpenAction" | "/AA" | "/EmbeddedFile"
                ) {
                    flags.pdf_active = true;
                }
            }
        }
    }
    if data.starts_with(b"{\\rt") {
        for m in ["\\object", "\\objdata", "\\objupdate", "\\objocx"] {
            if find(data, m.as_bytes()) {
                flags.rtf_object = true;
                markers.push(format!("rtf:{m}"));
            }
        }
    }
    let is_html = true_ext.is_none()
        && name
            .and_then(extension)
            .is_some_and(|e| family(&e) == "html");
    if is_html && find(data, b"atob(") && (find(data, b"Blob") || find(data, b"msSaveOrOpenBlob")) {
        markers.push("html:smuggling".into());
        flags.script = true;
    }
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

pub fn find(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memchr::memmem::find(hay, needle).is_some()
}

/// PDF name token: `/JS` must not be followed by another name character (`/JSFoo`).
fn find_token(hay: &[u8], needle: &[u8]) -> bool {
    let mut start = 0;
    while start + needle.len() <= hay.len() {
        let Some(pos) = memchr::memmem::find(&hay[start..], needle) else {
            return false;
        };
        let end = start + pos + needle.len();
        if hay.get(end).is_none_or(|c| !c.is_ascii_alphanumeric()) {
            return true;
        }
        start = end;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let mut f = FileFlags::default();
        name_flags("請求書.pdf.exe", &mut f);
        assert!(f.double_extension && f.executable);
        let mut f = FileFlags::default();
        name_flags("invoice\u{202e}fdp.exe", &mut f);
        assert!(f.rlo && f.executable);
        let mut f = FileFlags::default();
        name_flags("report.final.docx", &mut f);
        assert!(!f.double_extension && !f.executable);
    }

    #[test]
    fn markers() {
        let mut f = FileFlags::default();
        let mut m = Vec::new();
        content_flags(
            Some("a.pdf"),
            b"%PDF-1.7\n1 0 obj << /OpenAction 2 0 R /JS (app.alert(1)) >>",
            Some("pdf"),
            &mut f,
            &mut m,
        );
        assert!(f.pdf_active);
        assert_eq!(m, ["pdf:/JS", "pdf:/OpenAction"]);
        let mut f = FileFlags::default();
        content_flags(
            Some("x.doc"),
            b"{\\rtf1 {\\object\\objemb {\\objdata 0105}}}",
            None,
            &mut f,
            &mut m,
        );
        assert!(f.rtf_object);
        let mut f = FileFlags::default();
        content_flags(
            Some("photo.jpg"),
            b"MZ\x90\x00",
            Some("exe"),
            &mut f,
            &mut Vec::new(),
        );
        assert!(f.type_mismatch && f.executable);
    }
}
