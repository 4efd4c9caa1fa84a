//! The UDP server: each query is parsed (a malformed one is dropped and counted), checked
//! against the block set, answered from the cache, or forwarded to the upstream resolver
//! (one socket per query, so answers cannot be confused; the answer must carry the query's
//! ID) and cached.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::{BlockSet, Cache};

/// Largest DNS message over UDP accepted (EDNS allows up to 4096 in practice).
const MAX_UDP: usize = 4096;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    #[error("listening on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("receiving: {0}")]
    Io(#[from] std::io::Error),
}

/// How the gateway answers.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub upstream: SocketAddr,
    /// Answer blocked A/AAAA queries with this address instead of NXDOMAIN.
    pub sinkhole: Option<IpAddr>,
    /// How long to wait for the upstream resolver.
    pub upstream_timeout: Duration,
    /// Cached answers at most.
    pub cache_entries: usize,
}

/// One blocked query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub client: SocketAddr,
    /// The name asked for (lower case, no trailing dot).
    pub name: String,
    pub qtype: String,
    /// The listed name that blocked it (the name or a parent).
    pub listed: String,
    /// When, ms since the epoch.
    pub at_ms: i64,
}

/// Counters.
#[derive(Debug, Default)]
pub struct Stats {
    pub queries: AtomicU64,
    pub blocked: AtomicU64,
    pub forwarded: AtomicU64,
    pub cache_hits: AtomicU64,
    pub malformed: AtomicU64,
    pub upstream_failures: AtomicU64,
    /// Blocked reports dropped because the reporter fell behind.
    pub reports_dropped: AtomicU64,
}

/// A running gateway's shared state.
pub struct Gateway {
    settings: Settings,
    blocks: RwLock<BlockSet>,
    cache: Mutex<Cache>,
    reports: mpsc::Sender<Blocked>,
    pub stats: Stats,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Gateway {
    /// A gateway that hands blocked queries to `reports`.
    pub fn new(settings: Settings, blocks: BlockSet, reports: mpsc::Sender<Blocked>) -> Arc<Self> {
        Arc::new(Gateway {
            cache: Mutex::new(Cache::new(settings.cache_entries)),
            settings,
            blocks: RwLock::new(blocks),
            reports,
            stats: Stats::default(),
        })
    }

    /// Replaces the block set (or changes it in place).
    pub fn update_blocks(&self, f: impl FnOnce(&mut BlockSet)) {
        if let Ok(mut b) = self.blocks.write() {
            f(&mut b);
        }
    }

    pub fn blocked_names(&self) -> usize {
        self.blocks.read().map_or(0, |b| b.len())
    }

    /// Binds the listening socket.
    pub async fn bind(&self) -> Result<UdpSocket, GatewayError> {
        UdpSocket::bind(self.settings.listen)
            .await
            .map_err(|source| GatewayError::Bind {
                addr: self.settings.listen,
                source,
            })
    }

    /// Serves queries on `socket` until it fails.
    pub async fn serve(self: &Arc<Self>, socket: UdpSocket) -> Result<(), GatewayError> {
        let socket = Arc::new(socket);
        let mut buf = vec![0u8; MAX_UDP];
        loop {
            let (n, client) = socket.recv_from(&mut buf).await?;
            let packet = buf[..n].to_vec();
            let me = Arc::clone(self);
            let sock = Arc::clone(&socket);
            tokio::spawn(async move {
                if let Some(answer) = me.answer(&packet, client).await {
                    let _ = sock.send_to(&answer, client).await;
                }
            });
        }
    }

    /// The answer to one query packet (`None`: drop it).
    pub async fn answer(&self, packet: &[u8], client: SocketAddr) -> Option<Vec<u8>> {
        self.stats.queries.fetch_add(1, Ordering::Relaxed);
        let Ok(query) = Message::from_vec(packet) else {
            self.stats.malformed.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        if query.message_type() != MessageType::Query {
            self.stats.malformed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let Some(q) = query.queries().first() else {
            return respond(&query, ResponseCode::FormErr, None);
        };
        let name = q.name().to_ascii().to_ascii_lowercase();
        let name = name.trim_end_matches('.').to_owned();
        let listed = self
            .blocks
            .read()
            .ok()
            .and_then(|b| b.blocks(&name).map(str::to_owned));
        if let Some(listed) = listed {
            self.stats.blocked.fetch_add(1, Ordering::Relaxed);
            let report = Blocked {
                client,
                name,
                qtype: q.query_type().to_string(),
                listed,
                at_ms: now_ms(),
            };
            if self.reports.try_send(report).is_err() {
                self.stats.reports_dropped.fetch_add(1, Ordering::Relaxed);
            }
            let sink = match (self.settings.sinkhole, q.query_type()) {
                (Some(IpAddr::V4(a)), RecordType::A) => Some(RData::A(a.into())),
                (Some(IpAddr::V6(a)), RecordType::AAAA) => Some(RData::AAAA(a.into())),
                _ => None,
            };
            return match sink {
                Some(rdata) => respond(
                    &query,
                    ResponseCode::NoError,
                    Some(Record::from_rdata(q.name().clone(), 60, rdata)),
                ),
                None => respond(&query, ResponseCode::NXDomain, None),
            };
        }
        let key = (name, u16::from(q.query_type()), u16::from(q.query_class()));
        if let Some(hit) = self
            .cache
            .lock()
            .ok()
            .and_then(|mut c| c.get(&key, query.id(), Instant::now()))
        {
            self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Some(hit);
        }
        match self.forward(packet, query.id()).await {
            Some((bytes, ttl)) => {
                self.stats.forwarded.fetch_add(1, Ordering::Relaxed);
                if let (Some(ttl), Ok(mut c)) = (ttl, self.cache.lock()) {
                    c.put(key, bytes.clone(), ttl, Instant::now());
                }
                Some(bytes)
            }
            None => {
                self.stats.upstream_failures.fetch_add(1, Ordering::Relaxed);
                respond(&query, ResponseCode::ServFail, None)
            }
        }
    }

    /// Asks the upstream resolver; returns its answer and how long it may be cached (`None`:
    /// not at all).
    async fn forward(&self, packet: &[u8], id: u16) -> Option<(Vec<u8>, Option<Duration>)> {
        let local: SocketAddr = if self.settings.upstream.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let sock = UdpSocket::bind(local).await.ok()?;
        sock.connect(self.settings.upstream).await.ok()?;
        sock.send(packet).await.ok()?;
        let mut buf = vec![0u8; MAX_UDP];
        let deadline = Instant::now() + self.settings.upstream_timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let n = tokio::time::timeout(left, sock.recv(&mut buf))
                .await
                .ok()?
                .ok()?;
            let Ok(answer) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            if answer.id() != id || answer.message_type() != MessageType::Response {
                continue;
            }
            return Some((buf[..n].to_vec(), cache_ttl(&answer)));
        }
    }
}

/// How long an upstream answer may be cached: the smallest TTL of its answers, or for a
/// negative answer the SOA minimum; errors and truncated answers are not cached.
fn cache_ttl(m: &Message) -> Option<Duration> {
    if m.truncated() {
        return None;
    }
    match m.response_code() {
        ResponseCode::NoError | ResponseCode::NXDomain => {}
        _ => return None,
    }
    let ttl = match m.answers().iter().map(Record::ttl).min() {
        Some(t) => t,
        None => m
            .name_servers()
            .iter()
            .find_map(|r| match r.data() {
                RData::SOA(soa) => Some(soa.minimum().min(r.ttl())),
                _ => None,
            })
            .unwrap_or(60),
    };
    Some(Duration::from_secs(u64::from(ttl)))
}

/// A response to `query` with the code and, optionally, one answer.
fn respond(query: &Message, code: ResponseCode, answer: Option<Record>) -> Option<Vec<u8>> {
    let mut m = Message::new();
    m.set_id(query.id())
        .set_message_type(MessageType::Response)
        .set_op_code(query.op_code())
        .set_recursion_desired(query.recursion_desired())
        .set_recursion_available(true)
        .set_response_code(code);
    m.add_queries(query.queries().iter().cloned());
    if let Some(a) = answer {
        m.add_answer(a);
    }
    m.to_vec().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;
    use hickory_proto::rr::Name;

    fn settings() -> Settings {
        Settings {
            listen: ([127, 0, 0, 1], 0).into(),
            // Nothing listens here: forwarded queries fail fast.
            upstream: ([127, 0, 0, 1], 9).into(),
            sinkhole: None,
            upstream_timeout: Duration::from_millis(200),
            cache_entries: 100,
        }
    }

    fn query(name: &str, t: RecordType) -> Vec<u8> {
        let mut m = Message::new();
        m.set_id(0xbeef).set_recursion_desired(true);
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
        m.to_vec().unwrap()
    }

    #[tokio::test]
    async fn blocked_names_get_nxdomain_or_the_sinkhole_and_are_reported() {
        let (tx, mut rx) = mpsc::channel(8);
        let g = Gateway::new(
            settings(),
            BlockSet::from_text("malware.example\n"),
            tx.clone(),
        );
        let client: SocketAddr = ([192, 0, 2, 10], 5300).into();
        let a = g
            .answer(&query("CDN.Malware.Example.", RecordType::A), client)
            .await
            .unwrap();
        let m = Message::from_vec(&a).unwrap();
        assert_eq!(m.id(), 0xbeef);
        assert_eq!(m.response_code(), ResponseCode::NXDomain);
        let r = rx.recv().await.unwrap();
        assert_eq!(
            (r.name.as_str(), r.listed.as_str()),
            ("cdn.malware.example", "malware.example")
        );
        assert_eq!(r.client, client);
        let mut s = settings();
        s.sinkhole = Some("0.0.0.0".parse().unwrap());
        let g = Gateway::new(s, BlockSet::from_text("malware.example\n"), tx);
        let a = g
            .answer(&query("malware.example.", RecordType::A), client)
            .await
            .unwrap();
        let m = Message::from_vec(&a).unwrap();
        assert_eq!(m.response_code(), ResponseCode::NoError);
        assert_eq!(m.answers().len(), 1);
    }

    #[tokio::test]
    async fn garbage_is_dropped_and_upstream_failure_is_servfail() {
        let (tx, _rx) = mpsc::channel(8);
        let g = Gateway::new(settings(), BlockSet::default(), tx);
        let client: SocketAddr = ([127, 0, 0, 1], 1).into();
        assert!(g.answer(b"\x00\x01garbage", client).await.is_none());
        let a = g
            .answer(&query("ok.example.", RecordType::A), client)
            .await
            .unwrap();
        assert_eq!(
            Message::from_vec(&a).unwrap().response_code(),
            ResponseCode::ServFail
        );
        assert_eq!(g.stats.malformed.load(Ordering::Relaxed), 1);
        assert_eq!(g.stats.upstream_failures.load(Ordering::Relaxed), 1);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let (tx, _rx) = mpsc::channel(8);
            let mut s = settings();
            s.upstream_timeout = Duration::from_millis(1);
            let g = Gateway::new(s, BlockSet::from_text("malware.example\n"), tx);
            let _ = rt.block_on(g.answer(&bytes, ([127, 0, 0, 1], 1).into()));
        }
    }
}
