//! HTML to PDF with headless Chromium (Debian's `chromium`, installed by `.ci/setup`), for the
//! after-action report. The page is written to a private temporary directory and printed with
//! networking and extensions off; nothing is fetched. Japanese needs a CJK font on the machine
//! (Debian `fonts-noto-cjk`).

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    #[error("no chromium found (install Debian's chromium, or set MAMORI_CHROMIUM)")]
    NoChromium,
    #[error("PDF rendering: {0}")]
    Io(#[from] std::io::Error),
    #[error("chromium failed: {0}")]
    Failed(String),
    #[error("chromium took longer than {0:?}")]
    Timeout(Duration),
}

/// The Chromium binary: `$MAMORI_CHROMIUM`, else the first of chromium, chromium-browser,
/// google-chrome on the PATH.
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MAMORI_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Prints `html` to PDF bytes.
pub async fn render(html: &str) -> Result<Vec<u8>, PdfError> {
    let bin = chromium().ok_or(PdfError::NoChromium)?;
    let dir = tempdir()?;
    let page = dir.0.join("report.html");
    let out = dir.0.join("report.pdf");
    tokio::fs::write(&page, html).await?;
    let limit = Duration::from_secs(90);
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-dev-shm-usage",
        "--no-pdf-header-footer",
        "--run-all-compositor-stages-before-draw",
    ])
    .arg(format!(
        "--user-data-dir={}",
        dir.0.join("profile").display()
    ))
    .arg(format!("--print-to-pdf={}", out.display()))
    .arg(format!("file://{}", page.display()))
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped())
    .kill_on_drop(true);
    let child = cmd.spawn()?;
    let output = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .map_err(|_| PdfError::Timeout(limit))??;
    let pdf = tokio::fs::read(&out).await.unwrap_or_default();
    if !output.status.success() || !pdf.starts_with(b"%PDF") {
        let err = String::from_utf8_lossy(&output.stderr);
        let tail: String = err.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
        return Err(PdfError::Failed(format!("{}: {tail}", output.status)));
    }
    Ok(pdf)
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

fn tempdir() -> std::io::Result<TempDir> {
    let p = std::env::temp_dir().join(format!("mamori-pdf-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir(&p)?;
    Ok(TempDir(p))
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
