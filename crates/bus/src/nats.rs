//! `Bus::Nats`: NATS JetStream.
//!
//! One stream per subject (name: the subject upper-cased with `.`/`-` as `_`, e.g. `ingest.batches`
//! → `INGEST_BATCHES`), file storage, work-queue retention (a message is removed once its group
//! acknowledges it, so a subject has one group on NATS), `duplicate_window` from the options and
//! `replicas` = the option or min(3, servers in the cluster). A group is a durable pull consumer
//! with explicit acknowledgement, `ack_wait` and `max_deliver`; every process that asks for the
//! same group shares its work. `publish` sets `Nats-Msg-Id` and waits for the PubAck, re-sending
//! with the same id (so never storing twice) for up to `publish_retry_for` after a failure, e.g.
//! during a stream leader election.
//! The client reconnects by itself, without limit, to any server of the cluster.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::pull, stream};
use bytes::Bytes;
use futures_util::StreamExt;

use crate::names::{check_msg_id, check_name};
use crate::{BusError, BusOptions, Published};

/// A connection to NATS JetStream; cheap to clone.
#[derive(Clone)]
pub struct NatsBus {
    inner: Arc<NatsInner>,
}

struct NatsInner {
    js: jetstream::Context,
    client: async_nats::Client,
    opts: BusOptions,
    /// Streams created or updated by this handle.
    ready: Mutex<HashSet<String>>,
}

/// The stream that holds `subject`.
pub fn stream_name(subject: &str) -> String {
    subject
        .chars()
        .map(|c| match c {
            '.' | '-' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.trim_end_matches('/').to_ascii_lowercase()
}

impl NatsBus {
    /// Connects to `nats://h:p[,nats://h2:p2…]`.
    pub async fn connect(url: &str, opts: BusOptions) -> Result<NatsBus, BusError> {
        let urls: Vec<&str> = url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .collect();
        let addrs = urls
            .iter()
            .map(|u| {
                u.parse::<async_nats::ServerAddr>()
                    .map_err(|e| BusError::InvalidUrl {
                        url: (*u).to_owned(),
                        reason: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if addrs.is_empty() {
            return Err(BusError::InvalidUrl {
                url: url.to_owned(),
                reason: "no server".into(),
            });
        }
        let mut options = async_nats::ConnectOptions::new();
        if opts.connect_in_background {
            options = options.retry_on_initial_connect();
        }
        let client = options
            .name("mamori")
            .max_reconnects(None)
            .connection_timeout(Duration::from_secs(5))
            .event_callback(|event| async move {
                match event {
                    async_nats::Event::Connected => tracing::info!("nats: connected"),
                    other => tracing::warn!("nats: {other}"),
                }
            })
            .connect(addrs)
            .await
            .map_err(|e| BusError::NatsConnect {
                url: url.to_owned(),
                message: e.to_string(),
            })?;
        let js = jetstream::ContextBuilder::new()
            .timeout(opts.publish_timeout)
            .build(client.clone());
        Ok(NatsBus {
            inner: Arc::new(NatsInner {
                js,
                client,
                opts,
                ready: Mutex::new(HashSet::new()),
            }),
        })
    }

    /// The largest payload the connected server accepts.
    pub fn max_payload(&self) -> usize {
        self.inner.client.server_info().max_payload
    }

    /// The replicas new streams get: the option, else min(3, servers this client knows of).
    fn replicas(&self) -> usize {
        if let Some(r) = self.inner.opts.replicas {
            return r.max(1);
        }
        let info = self.inner.client.server_info();
        let mut servers: HashSet<String> = info.connect_urls.iter().map(|u| host_port(u)).collect();
        servers.insert(format!("{}:{}", info.host, info.port).to_ascii_lowercase());
        servers.len().clamp(1, 3)
    }

    /// Creates the subject's stream, or updates it to the current options.
    async fn ensure_stream(&self, subject: &str) -> Result<String, BusError> {
        let name = stream_name(subject);
        let known = self
            .inner
            .ready
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&name);
        if known {
            return Ok(name);
        }
        let config = stream::Config {
            name: name.clone(),
            subjects: vec![subject.to_owned()],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            num_replicas: self.replicas(),
            duplicate_window: self.inner.opts.duplicate_window,
            ..Default::default()
        };
        self.inner
            .js
            .create_or_update_stream(config)
            .await
            .map_err(|e| BusError::NatsSetup {
                what: "stream",
                name: name.clone(),
                message: e.to_string(),
            })?;
        self.inner
            .ready
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.clone());
        Ok(name)
    }

    /// See [`crate::Bus::publish`]: returns once the PubAck arrived.
    pub async fn publish(
        &self,
        subject: &str,
        msg_id: &str,
        payload: Bytes,
    ) -> Result<Published, BusError> {
        check_name("subject", subject)?;
        check_msg_id(msg_id)?;
        self.ensure_stream(subject).await?;
        let give_up = tokio::time::Instant::now() + self.inner.opts.publish_retry_for;
        let mut backoff = Duration::from_millis(100);
        let mut attempt = 0u32;
        let last = loop {
            attempt += 1;
            let mut msg = jetstream::message::PublishMessage::build().payload(payload.clone());
            if !msg_id.is_empty() {
                msg = msg.message_id(msg_id);
            }
            let sent = match self.inner.js.send_publish(subject.to_owned(), msg).await {
                Ok(ack) => ack.await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match sent {
                Ok(ack) => {
                    return Ok(Published {
                        seq: ack.sequence,
                        duplicate: ack.duplicate,
                    });
                }
                Err(e) => {
                    tracing::warn!(subject, attempt, "jetstream publish failed: {e}");
                    if tokio::time::Instant::now() + backoff > give_up {
                        break e;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        };
        Err(BusError::NatsPublish {
            subject: subject.to_owned(),
            message: last,
        })
    }

    /// See [`crate::Bus::consumer`]: the durable pull consumer `group` on the subject's stream.
    pub async fn consumer(&self, subject: &str, group: &str) -> Result<NatsConsumer, BusError> {
        check_name("subject", subject)?;
        check_name("group", group)?;
        if group.contains('.') {
            return Err(BusError::InvalidName {
                what: "group",
                value: group.to_owned(),
                reason: "NATS consumer names cannot contain '.'",
            });
        }
        let name = self.ensure_stream(subject).await?;
        let setup = |message: String| BusError::NatsSetup {
            what: "consumer",
            name: format!("{name}/{group}"),
            message,
        };
        let stream = self
            .inner
            .js
            .get_stream(&name)
            .await
            .map_err(|e| setup(e.to_string()))?;
        let config = pull::Config {
            durable_name: Some(group.to_owned()),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ack_wait: self.inner.opts.ack_wait,
            max_deliver: self.inner.opts.max_deliver.map_or(-1, i64::from),
            filter_subject: subject.to_owned(),
            ..Default::default()
        };
        let consumer = stream
            .get_or_create_consumer(group, config)
            .await
            .map_err(|e| setup(e.to_string()))?;
        Ok(NatsConsumer {
            consumer: Box::new(consumer),
            name: format!("{name}/{group}"),
        })
    }
}

/// A member of a JetStream consumer group.
pub struct NatsConsumer {
    consumer: Box<jetstream::consumer::Consumer<pull::Config>>,
    name: String,
}

impl NatsConsumer {
    /// See [`crate::Consumer::next_batch`]: one pull request for up to `max` messages that
    /// returns with what is there, waiting up to `wait` (at least 1 s: the server's minimum
    /// useful pull expiry) when nothing is.
    pub async fn next_batch(
        &mut self,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<NatsDelivery>, BusError> {
        let fetch_err = |message: String| BusError::NatsFetch {
            consumer: self.name.clone(),
            message,
        };
        let mut batch = self
            .consumer
            .fetch()
            .max_messages(max.max(1))
            .expires(wait.max(Duration::from_secs(1)))
            .messages()
            .await
            .map_err(|e| fetch_err(e.to_string()))?;
        let mut out = Vec::new();
        while let Some(m) = batch.next().await {
            let message = m.map_err(|e| fetch_err(e.to_string()))?;
            let (seq, redelivered) = message
                .info()
                .map(|i| (i.stream_sequence, i.delivered > 1))
                .unwrap_or((0, false));
            let msg_id = message
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Msg-Id"))
                .map(|v| v.as_str().to_owned());
            out.push(NatsDelivery {
                message: Box::new(message),
                seq,
                redelivered,
                msg_id,
            });
        }
        Ok(out)
    }
}

/// A message delivered by JetStream.
pub struct NatsDelivery {
    message: Box<jetstream::Message>,
    seq: u64,
    redelivered: bool,
    msg_id: Option<String>,
}

impl NatsDelivery {
    pub fn payload(&self) -> &Bytes {
        &self.message.payload
    }

    pub fn msg_id(&self) -> Option<&str> {
        self.msg_id.as_deref()
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn redelivered(&self) -> bool {
        self.redelivered
    }

    /// Acknowledges and waits for the server to confirm it (a "double ack").
    pub async fn ack(self) -> Result<(), BusError> {
        self.message
            .double_ack()
            .await
            .map_err(|e| BusError::NatsAck {
                what: "ack",
                message: e.to_string(),
            })
    }

    /// Asks for redelivery after `delay`.
    pub async fn nak(self, delay: Duration) -> Result<(), BusError> {
        self.message
            .ack_with(AckKind::Nak(Some(delay)))
            .await
            .map_err(|e| BusError::NatsAck {
                what: "nak",
                message: e.to_string(),
            })
    }
}
