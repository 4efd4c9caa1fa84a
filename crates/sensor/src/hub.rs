//! The hub's ingestion endpoint as seen by the sensor: `POST {hub}/api/v1/events` with a
//! bearer token, a zstd NDJSON body and `X-Mamori-Batch`, over rustls (ring, web PKI roots
//! plus an optional private CA). Answers are classified ([`SendError`]); a 413 splits the
//! batch in two and sends the halves.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::batch::Batch;
use crate::error::SensorError;

/// Why a batch was not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Try again later (connection failure, 5xx, 429); `after` from `Retry-After`.
    #[error("{why}")]
    Retry {
        why: String,
        after: Option<Duration>,
    },
    /// 401/403: the token is not accepted.
    #[error("{url} refused the sensor token (HTTP {status}); check --token")]
    Auth { url: String, status: u16 },
    /// Any other 4xx (or a single event too large): retrying cannot help.
    #[error("{url} refused batch {batch} with HTTP {status}: {body}")]
    Refused {
        url: String,
        batch: String,
        status: u16,
        body: String,
    },
}

/// A connection to the hub.
#[derive(Debug, Clone)]
pub struct Hub {
    base: String,
    endpoint: String,
    token: String,
    client: reqwest::Client,
}

impl Hub {
    /// A client for `hub` (base URL) with `token`, trusting the web PKI roots and `ca`.
    pub fn new(hub: &str, token: String, ca: Option<&Path>) -> Result<Self, SensorError> {
        let client_err = |message: String| SensorError::Client {
            url: hub.to_owned(),
            message,
        };
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(ca) = ca {
            let tls = |message: String| SensorError::Tls {
                path: ca.to_owned(),
                message,
            };
            let mut n = 0;
            for cert in CertificateDer::pem_file_iter(ca).map_err(|e| tls(e.to_string()))? {
                roots
                    .add(cert.map_err(|e| tls(e.to_string()))?)
                    .map_err(|e| tls(e.to_string()))?;
                n += 1;
            }
            if n == 0 {
                return Err(tls("no certificate in the file".into()));
            }
        }
        let mut tls = rustls::ClientConfig::builder_with_provider(crate::syslog::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| client_err(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .user_agent(concat!("mamori-sensor/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| client_err(e.to_string()))?;
        Ok(Hub {
            base: hub.trim_end_matches('/').to_owned(),
            endpoint: format!("{}/api/v1/events", hub.trim_end_matches('/')),
            token,
            client,
        })
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The hub's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The URL of `path` (starting with `/`) on the hub.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path` (with the sensor token when `auth`); the status, headers and body, or the
    /// URL and why there is no answer.
    pub async fn get(
        &self,
        path: &str,
        auth: bool,
    ) -> Result<(u16, reqwest::header::HeaderMap, Vec<u8>), (String, String)> {
        let url = self.url(path);
        let mut req = self.client.get(&url);
        if auth {
            req = req.bearer_auth(&self.token);
        }
        let resp = req.send().await.map_err(|e| (url.clone(), chain(&e)))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|e| (url.clone(), chain(&e)))?;
        Ok((status, headers, body.to_vec()))
    }

    /// Sends a batch until it is acknowledged (whole, or as halves after 413s).
    pub async fn send(&self, batch: &Batch) -> Result<(), SendError> {
        let mut stack = vec![batch.clone()];
        while let Some(b) = stack.pop() {
            match self.post(&b).await {
                Ok(()) => {}
                Err(PostError::TooLarge) => {
                    let split = b.split().map_err(|e| SendError::Refused {
                        url: self.endpoint.clone(),
                        batch: b.id.clone(),
                        status: 413,
                        body: e.to_string(),
                    })?;
                    let Some((x, y)) = split else {
                        return Err(SendError::Refused {
                            url: self.endpoint.clone(),
                            batch: b.id.clone(),
                            status: 413,
                            body: "a single event is larger than the hub accepts".into(),
                        });
                    };
                    tracing::info!("hub: batch {} too large; sending it in two halves", b.id);
                    stack.push(y);
                    stack.push(x);
                }
                Err(PostError::Send(e)) => return Err(e),
            }
        }
        Ok(())
    }

    async fn post(&self, b: &Batch) -> Result<(), PostError> {
        let resp = self
            .client
            .post(&self.endpoint)
            .bearer_auth(&self.token)
            .header("content-type", "application/x-ndjson")
            .header("content-encoding", "zstd")
            .header("x-mamori-batch", &b.id)
            .body(b.zstd.clone())
            .send()
            .await
            .map_err(|e| {
                PostError::Send(SendError::Retry {
                    why: format!("{}: {}", self.endpoint, chain(&e)),
                    after: None,
                })
            })?;
        let status = resp.status().as_u16();
        let after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        match status {
            200..=299 => Ok(()),
            // 422 on a batch with valid headers means more events than the hub's per-sender
            // burst: smaller batches pass, so split as for 413.
            413 | 422 => Err(PostError::TooLarge),
            401 | 403 => Err(PostError::Send(SendError::Auth {
                url: self.endpoint.clone(),
                status,
            })),
            429 | 500..=599 | 408 => Err(PostError::Send(SendError::Retry {
                why: format!("{} answered HTTP {status}", self.endpoint),
                after,
            })),
            _ => {
                let body = resp.text().await.unwrap_or_default();
                Err(PostError::Send(SendError::Refused {
                    url: self.endpoint.clone(),
                    batch: b.id.clone(),
                    status,
                    body: body.chars().take(300).collect(),
                }))
            }
        }
    }
}

enum PostError {
    TooLarge,
    Send(SendError),
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Exponential backoff with jitter (each wait between half and all of the current step).
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    step: u32,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Backoff { min, max, step: 0 }
    }

    pub fn reset(&mut self) {
        self.step = 0;
    }

    /// The next wait.
    pub fn next_wait(&mut self) -> Duration {
        let base = self
            .min
            .saturating_mul(1u32 << self.step.min(20))
            .min(self.max);
        self.step = self.step.saturating_add(1);
        let half = base / 2;
        half + half.mul_f64(fastrand::f64())
    }

    /// The longest wait.
    pub fn max(&self) -> Duration {
        self.max
    }
}

/// Shared so the token is not copied around.
pub type SharedHub = Arc<Hub>;
