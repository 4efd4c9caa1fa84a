//! The hub's ingestion endpoint as seen by the sensor: `POST {hub}/api/v1/events` with a
//! bearer token, a zstd NDJSON body and `X-Mamori-Batch`, over rustls (ring, web PKI roots
//! plus an optional private CA). Answers are classified ([`SendError`]); a 413 splits the
//! batch in two and sends the halves.
//!
//! With [`Hub::forward_over_nats`] batches go to NATS JetStream instead (subject
//! [`mamori_bus::intake::INTAKE_SUBJECT`], each in an envelope signed with a key derived from
//! the token, never the token itself); a batch counts as acknowledged once JetStream stored
//! it. Rule bundles are still pulled over HTTPS.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use mamori_bus::intake::{INTAKE_SUBJECT, IntakeKey};

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
    nats: Option<Arc<NatsOut>>,
}

/// Batches forwarded over NATS JetStream.
struct NatsOut {
    url: String,
    bus: mamori_bus::Bus,
    key: IntakeKey,
}

impl std::fmt::Debug for NatsOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsOut")
            .field("url", &self.url)
            .field("key", &self.key)
            .finish()
    }
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
            nats: None,
        })
    }

    /// Forwards batches over NATS JetStream (`nats://h:p[,…]` or `tls://…`) from now on.
    pub async fn forward_over_nats(mut self, url: &str) -> Result<Self, SensorError> {
        let bus = match mamori_bus::Bus::open(url, mamori_bus::BusOptions::default()).await {
            Ok(b) => b,
            // Start even when NATS is down: batches spool until it is reachable.
            Err(mamori_bus::BusError::NatsConnect { message, .. }) => {
                tracing::warn!("NATS {url} unreachable ({message}); buffering until it is up");
                let opts = mamori_bus::BusOptions {
                    connect_in_background: true,
                    ..mamori_bus::BusOptions::default()
                };
                mamori_bus::Bus::open(url, opts)
                    .await
                    .map_err(|e| SensorError::Nats {
                        url: url.to_owned(),
                        message: e.to_string(),
                    })?
            }
            Err(e) => {
                return Err(SensorError::Nats {
                    url: url.to_owned(),
                    message: e.to_string(),
                });
            }
        };
        if !matches!(bus, mamori_bus::Bus::Nats(_)) {
            return Err(SensorError::Setting {
                key: "nats",
                message: "must be a nats:// or tls:// URL".into(),
            });
        }
        self.endpoint = format!("{url} ({INTAKE_SUBJECT})");
        self.nats = Some(Arc::new(NatsOut {
            url: url.to_owned(),
            key: IntakeKey::from_token(&self.token),
            bus,
        }));
        Ok(self)
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
        if let Some(n) = &self.nats {
            return Self::publish(n, b).await;
        }
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

impl Hub {
    /// Publishes one sealed batch and waits for JetStream's acknowledgement.
    async fn publish(n: &NatsOut, b: &Batch) -> Result<(), PostError> {
        let sealed = n.key.seal(&b.id, "zstd", "json", &b.zstd).map_err(|e| {
            PostError::Send(SendError::Refused {
                url: n.url.clone(),
                batch: b.id.clone(),
                status: 0,
                body: e.to_string(),
            })
        })?;
        match n.bus.max_payload() {
            // Not connected yet: the server's limit is unknown.
            0 => {
                return Err(PostError::Send(SendError::Retry {
                    why: format!("{}: not connected", n.url),
                    after: None,
                }));
            }
            max if sealed.len() > max => return Err(PostError::TooLarge),
            _ => {}
        }
        let msg_id = format!("{}:{}", n.key.id(), b.id);
        n.bus
            .publish(INTAKE_SUBJECT, &msg_id, sealed.into())
            .await
            .map(|_| ())
            .map_err(|e| {
                PostError::Send(SendError::Retry {
                    why: format!("{} ({INTAKE_SUBJECT}): {e}", n.url),
                    after: None,
                })
            })
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
