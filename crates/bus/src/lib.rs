//! The Mamori message bus: publish, consume with acknowledgement, queue groups.
//!
//! [`Bus::Local`] is a durable queue in a directory on one machine (segment files with CRC-framed
//! records, fsync before `publish` returns); [`Bus::Nats`] is NATS JetStream for more than one
//! machine. Both give the same promise: once [`Bus::publish`] returns, the message survives a
//! crash; a message is delivered to one member of a consumer group at a time and again (at least
//! once) until some member acknowledges it; a re-published message with the same message id
//! inside the duplicate window is stored once and reported as a duplicate.
//!
//! ```no_run
//! # async fn demo() -> Result<(), mamori_bus::BusError> {
//! use mamori_bus::{Bus, BusOptions};
//! let bus = Bus::open("local:/var/lib/mamori/bus", BusOptions::default()).await?;
//! bus.publish("ingest", "batch-0001", bytes::Bytes::from_static(b"{}")).await?;
//! let mut consumer = bus.consumer("ingest", "workers").await?;
//! for delivery in consumer.next_batch(64, std::time::Duration::from_secs(1)).await? {
//!     // process delivery.payload(), then:
//!     delivery.ack().await?;
//! }
//! # Ok(()) }
//! ```

mod error;
pub mod intake;
mod local;
mod names;
mod nats;

use std::time::Duration;

use bytes::Bytes;

pub use error::BusError;
pub use local::{LocalBus, LocalConsumer, LocalDelivery, LocalStats};
pub use nats::{NatsBus, NatsConsumer, NatsDelivery};

/// Settings shared by both kinds of bus; each field says which kind reads it.
#[derive(Clone, Debug)]
pub struct BusOptions {
    /// How long a delivered message may stay unacknowledged before it is delivered again.
    pub ack_wait: Duration,
    /// Deliveries after which an unacknowledged message is given up (logged and dropped);
    /// `None` redelivers for ever.
    pub max_deliver: Option<u32>,
    /// How long a message id is remembered for de-duplication (JetStream `duplicate_window`).
    pub duplicate_window: Duration,
    /// Largest payload `publish` accepts (Local; NATS enforces the server's `max_payload`).
    pub max_payload: usize,
    /// Local: a segment file is closed and a new one started beyond this size.
    pub segment_bytes: u64,
    /// NATS: stream replicas; `None` means min(3, servers in the cluster).
    pub replicas: Option<usize>,
    /// NATS: how long `publish` waits for the PubAck of one attempt.
    pub publish_timeout: Duration,
    /// NATS: return from `open` at once and connect in the background (publishes fail until
    /// connected); otherwise `open` fails when no server answers.
    pub connect_in_background: bool,
    /// NATS: how long `publish` keeps re-sending (with the same message id, so never storing
    /// twice) after failures such as a stream leader election or a reconnect.
    pub publish_retry_for: Duration,
}

impl Default for BusOptions {
    fn default() -> Self {
        BusOptions {
            ack_wait: Duration::from_secs(30),
            max_deliver: None,
            duplicate_window: Duration::from_secs(120),
            max_payload: 64 << 20,
            segment_bytes: 64 << 20,
            replicas: None,
            publish_timeout: Duration::from_secs(5),
            publish_retry_for: Duration::from_secs(15),
            connect_in_background: false,
        }
    }
}

/// The result of a publish: the message's sequence in its subject's stream, and whether it was a
/// duplicate of a message published earlier with the same id (then `seq` is the earlier one's
/// on the local bus; JetStream reports it too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Published {
    pub seq: u64,
    pub duplicate: bool,
}

/// A message bus: a local durable queue or NATS JetStream.
#[derive(Clone)]
pub enum Bus {
    Local(LocalBus),
    Nats(NatsBus),
}

impl Bus {
    /// Opens a bus: `local:/path/dir` or a plain directory path opens (creating) a local bus;
    /// `nats://host:port[,nats://host2:port2…]` connects to NATS JetStream.
    pub async fn open(url: &str, opts: BusOptions) -> Result<Bus, BusError> {
        let url = url.trim();
        if url.starts_with("nats://") || url.starts_with("tls://") {
            Ok(Bus::Nats(NatsBus::connect(url, opts).await?))
        } else if url.contains("://") {
            Err(BusError::InvalidUrl {
                url: url.to_owned(),
                reason: "expected local:DIR, a directory path, or nats://host:port".into(),
            })
        } else {
            let dir = url.strip_prefix("local:").unwrap_or(url);
            if dir.is_empty() {
                return Err(BusError::InvalidUrl {
                    url: url.to_owned(),
                    reason: "no directory".into(),
                });
            }
            Ok(Bus::Local(LocalBus::open(dir, opts).await?))
        }
    }

    /// Stores `payload` under `subject` and returns once it is durable (local: fsync'd, with
    /// concurrent publishers sharing one fsync; NATS: the JetStream PubAck arrived, i.e. stored
    /// on a quorum of replicas). `msg_id` de-duplicates re-publishes within the duplicate window;
    /// an empty `msg_id` turns de-duplication off for this message.
    pub async fn publish(
        &self,
        subject: &str,
        msg_id: &str,
        payload: Bytes,
    ) -> Result<Published, BusError> {
        match self {
            Bus::Local(b) => b.publish(subject, msg_id, payload).await,
            Bus::Nats(b) => b.publish(subject, msg_id, payload).await,
        }
    }

    /// The largest payload `publish` can carry (NATS: the server's `max_payload`).
    pub fn max_payload(&self) -> usize {
        match self {
            Bus::Local(b) => b.max_payload(),
            Bus::Nats(b) => b.max_payload(),
        }
    }

    /// A member of the durable queue group `group` on `subject`: each message goes to one member
    /// of the group (members in this process and, on NATS, in other processes).
    pub async fn consumer(&self, subject: &str, group: &str) -> Result<Consumer, BusError> {
        match self {
            Bus::Local(b) => Ok(Consumer::Local(b.consumer(subject, group).await?)),
            Bus::Nats(b) => Ok(Consumer::Nats(b.consumer(subject, group).await?)),
        }
    }
}

/// A member of a consumer group; see [`Bus::consumer`].
pub enum Consumer {
    Local(LocalConsumer),
    Nats(NatsConsumer),
}

impl Consumer {
    /// Up to `max` messages, waiting at most `wait` for the first; an empty batch means none came.
    pub async fn next_batch(
        &mut self,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Delivery>, BusError> {
        match self {
            Consumer::Local(c) => Ok(c
                .next_batch(max, wait)
                .await?
                .into_iter()
                .map(Delivery::Local)
                .collect()),
            Consumer::Nats(c) => Ok(c
                .next_batch(max, wait)
                .await?
                .into_iter()
                .map(Delivery::Nats)
                .collect()),
        }
    }
}

/// One delivered message; acknowledge it with [`Delivery::ack`] once processed.
pub enum Delivery {
    Local(LocalDelivery),
    Nats(NatsDelivery),
}

impl Delivery {
    pub fn payload(&self) -> &Bytes {
        match self {
            Delivery::Local(d) => d.payload(),
            Delivery::Nats(d) => d.payload(),
        }
    }

    /// The id it was published with (`None` when published with an empty id).
    pub fn msg_id(&self) -> Option<&str> {
        match self {
            Delivery::Local(d) => d.msg_id(),
            Delivery::Nats(d) => d.msg_id(),
        }
    }

    /// Its sequence number in the subject's stream.
    pub fn seq(&self) -> u64 {
        match self {
            Delivery::Local(d) => d.seq(),
            Delivery::Nats(d) => d.seq(),
        }
    }

    /// Whether it was delivered before (unacknowledged then, or the process restarted).
    pub fn redelivered(&self) -> bool {
        match self {
            Delivery::Local(d) => d.redelivered(),
            Delivery::Nats(d) => d.redelivered(),
        }
    }

    /// Marks it processed; returns once the bus has durably recorded that (local: the group's
    /// ack file is rewritten, batched across concurrent acks; NATS: the server confirmed).
    pub async fn ack(self) -> Result<(), BusError> {
        match self {
            Delivery::Local(d) => d.ack().await,
            Delivery::Nats(d) => d.ack().await,
        }
    }

    /// Gives it back for redelivery after `delay` (to any member of the group).
    pub async fn nak(self, delay: Duration) -> Result<(), BusError> {
        match self {
            Delivery::Local(d) => d.nak(delay).await,
            Delivery::Nats(d) => d.nak(delay).await,
        }
    }
}
