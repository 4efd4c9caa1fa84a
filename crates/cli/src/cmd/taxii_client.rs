//! A TAXII 2.1 client for federation: page through a remote collection's objects, and post
//! envelopes to one. Used by `mamori share pull|push` and `mamori notify collect --taxii`.

use anyhow::{Context, bail};
use serde_json::{Value, json};

const MEDIA: &str = "application/taxii+json;version=2.1";

/// Largest TAXII response read (one page of at most 500 objects).
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Credentials for a remote TAXII server.
#[derive(Debug, Clone)]
pub enum Credential {
    Bearer(String),
    Basic { user: String, password: String },
}

pub struct Remote {
    http: reqwest::Client,
    base: String,
    cred: Credential,
}

impl Remote {
    /// `base` is the API root URL, e.g. `https://hub.example/taxii2/api/`.
    pub fn new(base: &str, cred: Credential) -> anyhow::Result<Remote> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .context("cannot build the HTTP client")?;
        let base = if base.ends_with('/') {
            base.to_owned()
        } else {
            format!("{base}/")
        };
        Ok(Remote { http, base, cred })
    }

    fn auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cred {
            Credential::Bearer(t) => rb.bearer_auth(t),
            Credential::Basic { user, password } => rb.basic_auth(user, Some(password)),
        }
    }

    async fn check(resp: reqwest::Response) -> anyhow::Result<Value> {
        let status = resp.status();
        let body = super::feed_source::bounded(resp, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| anyhow::anyhow!("reading the TAXII response: {e}"))?;
        let body = String::from_utf8_lossy(&body);
        if !status.is_success() {
            let detail = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| {
                    v.get("description")
                        .and_then(|d| d.as_str())
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| body.chars().take(300).collect());
            bail!("TAXII server answered {status}: {detail}");
        }
        serde_json::from_str(&body).context("the TAXII server sent invalid JSON")
    }

    /// Every object of a collection (latest versions), paging with `next`; `added_after` limits
    /// the pull to what is new.
    pub async fn objects(
        &self,
        collection: &str,
        added_after: Option<&str>,
    ) -> anyhow::Result<Vec<Value>> {
        Ok(self.objects_since(collection, added_after).await?.0)
    }

    /// Like [`Remote::objects`], with the date the server added the last object listed (its
    /// `X-TAXII-Date-Added-Last` header): the `added_after` of the next pull.
    pub async fn objects_since(
        &self,
        collection: &str,
        added_after: Option<&str>,
    ) -> anyhow::Result<(Vec<Value>, Option<String>)> {
        let mut out = Vec::new();
        let mut last_added = None;
        let mut next: Option<String> = None;
        loop {
            let mut url = format!("{}collections/{collection}/objects/?limit=500", self.base);
            if let Some(a) = added_after {
                url.push_str(&format!("&added_after={a}"));
            }
            if let Some(n) = &next {
                url.push_str(&format!("&next={n}"));
            }
            let resp = self
                .auth(self.http.get(&url).header("Accept", MEDIA))
                .send()
                .await
                .with_context(|| format!("GET {url}"))?;
            if let Some(v) = resp
                .headers()
                .get("x-taxii-date-added-last")
                .and_then(|v| v.to_str().ok())
            {
                last_added = Some(v.to_owned());
            }
            let env = Self::check(resp).await?;
            if let Some(objs) = env.get("objects").and_then(|o| o.as_array()) {
                out.extend(objs.iter().cloned());
            }
            match (
                env.get("more").and_then(|m| m.as_bool()),
                env.get("next").and_then(|n| n.as_str()),
            ) {
                (Some(true), Some(n)) => next = Some(n.to_owned()),
                _ => return Ok((out, last_added)),
            }
        }
    }

    /// Posts objects in envelopes of `batch`; returns how many the server reported stored.
    pub async fn post(
        &self,
        collection: &str,
        objects: &[Value],
        batch: usize,
    ) -> anyhow::Result<u64> {
        let url = format!("{}collections/{collection}/objects/", self.base);
        let mut ok = 0;
        for chunk in objects.chunks(batch.max(1)) {
            let resp = self
                .auth(
                    self.http
                        .post(&url)
                        .header("Accept", MEDIA)
                        .header("Content-Type", MEDIA),
                )
                .body(json!({"objects": chunk}).to_string())
                .send()
                .await
                .with_context(|| format!("POST {url}"))?;
            let status = Self::check(resp).await?;
            ok += status
                .get("success_count")
                .and_then(|c| c.as_u64())
                .unwrap_or(0);
        }
        Ok(ok)
    }
}
