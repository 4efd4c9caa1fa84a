//! Where `mamori share import-misp-feed` reads a MISP feed from: a local directory, or an
//! `http(s)://` base URL (optionally with a bearer token). Both refuse files over the size the
//! importer allows; HTTP bodies are read in chunks and abandoned past the limit.

use std::path::PathBuf;

use anyhow::{Context, bail};
use mamori_server::misp_feed_import::FeedSource;

/// A feed in a directory or behind an HTTP(S) URL.
pub enum Feed {
    Dir(PathBuf),
    Http {
        client: reqwest::Client,
        base: reqwest::Url,
        token: Option<String>,
    },
}

impl Feed {
    /// `dir_or_url` is a directory, or an `http://` / `https://` URL of the feed's directory.
    pub fn open(dir_or_url: &str, token: Option<String>) -> anyhow::Result<Feed> {
        if let Some((scheme, _)) = dir_or_url.split_once("://") {
            let scheme = scheme.to_ascii_lowercase();
            if scheme != "http" && scheme != "https" {
                bail!("{dir_or_url}: only http:// and https:// feeds can be fetched");
            }
            let mut base = reqwest::Url::parse(dir_or_url)
                .with_context(|| format!("{dir_or_url}: not a URL"))?;
            if !base.path().ends_with('/') {
                base.set_path(&format!("{}/", base.path()));
            }
            let client = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(120))
                .redirect(reqwest::redirect::Policy::limited(5))
                .build()
                .context("cannot build the HTTP client")?;
            return Ok(Feed::Http {
                client,
                base,
                token,
            });
        }
        let dir = PathBuf::from(dir_or_url);
        if !dir.join("manifest.json").is_file() {
            bail!("{dir_or_url}: not a MISP feed (no manifest.json)");
        }
        Ok(Feed::Dir(dir))
    }
}

/// Reads a response body, refusing more than `max` bytes.
pub(crate) async fn bounded(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(format!("larger than {max} bytes"));
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
        if out.len() + chunk.len() > max {
            return Err(format!("larger than {max} bytes"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

impl FeedSource for Feed {
    async fn read(&self, name: &str, max: usize) -> Result<Vec<u8>, String> {
        match self {
            Feed::Dir(dir) => {
                let path = dir.join(name);
                let meta = std::fs::metadata(&path).map_err(|e| e.to_string())?;
                if meta.len() > max as u64 {
                    return Err(format!("larger than {max} bytes"));
                }
                std::fs::read(&path).map_err(|e| e.to_string())
            }
            Feed::Http {
                client,
                base,
                token,
            } => {
                let url = base.join(name).map_err(|e| e.to_string())?;
                let mut rb = client.get(url).header("Accept", "application/json");
                if let Some(t) = token {
                    rb = rb.bearer_auth(t);
                }
                let resp = rb.send().await.map_err(|e| e.to_string())?;
                let status = resp.status();
                if !status.is_success() {
                    return Err(format!("the server answered {status}"));
                }
                bounded(resp, max).await
            }
        }
    }
}
