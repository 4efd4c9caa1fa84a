//! Syslog listeners on 127.0.0.1: UDP, TCP with newline and octet-counting framing (detected
//! per connection), TLS with a self-signed certificate, limits; and a sensor run that
//! forwards what its TCP listener received.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use mamori_sensor::syslog::{self, Limits, SyslogLine, Transport};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};

async fn recv(rx: &mut mpsc::Receiver<SyslogLine>, n: usize) -> Vec<SyslogLine> {
    let mut out = Vec::new();
    while out.len() < n {
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            Ok(Some(l)) => out.push(l),
            _ => break,
        }
    }
    out
}

fn texts(lines: &[SyslogLine]) -> Vec<Option<String>> {
    lines.iter().map(|l| l.text.clone()).collect()
}

fn limits() -> Limits {
    Limits {
        max_message: 64,
        max_connections: 2,
        idle_timeout: Duration::from_millis(500),
    }
}

#[tokio::test]
async fn udp_round_trip() {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let (_stop_tx, stop) = watch::channel(false);
    tokio::spawn(syslog::udp::serve(sock, limits(), tx, stop));
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client
        .send_to(b"<13>Jan  2 03:04:05 host app: one\n", addr)
        .await
        .unwrap();
    client.send_to(&[b'x'; 100], addr).await.unwrap();
    client
        .send_to(b"<13>Jan  2 03:04:05 host app: two", addr)
        .await
        .unwrap();
    let got = recv(&mut rx, 3).await;
    assert_eq!(
        texts(&got),
        [
            Some("<13>Jan  2 03:04:05 host app: one".into()),
            None,
            Some("<13>Jan  2 03:04:05 host app: two".into())
        ]
    );
    assert_eq!(got[0].peer, client.local_addr().unwrap());
    assert_eq!(got[0].transport, Transport::Udp);
}

#[tokio::test]
async fn tcp_newline_and_octet_counting() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let (_stop_tx, stop) = watch::channel(false);
    tokio::spawn(syslog::stream::serve(l, None, limits(), tx, stop));

    let mut a = TcpStream::connect(addr).await.unwrap();
    a.write_all(b"<13>a one\r\n<13>a tw").await.unwrap();
    a.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    a.write_all(b"o\n").await.unwrap();
    let got = recv(&mut rx, 2).await;
    assert_eq!(
        texts(&got),
        [Some("<13>a one".into()), Some("<13>a two".into())]
    );
    assert_eq!(got[0].peer, a.local_addr().unwrap());

    let mut b = TcpStream::connect(addr).await.unwrap();
    b.write_all(b"9 <13>b one10 <13>b tw").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    b.write_all(b"o\n").await.unwrap();
    let got = recv(&mut rx, 2).await;
    assert_eq!(
        texts(&got),
        [Some("<13>b one".into()), Some("<13>b two".into())]
    );

    // Oversized messages are reported, not delivered, and the stream goes on.
    let long = "x".repeat(100);
    b.write_all(format!("{} <13>{long}9 <13>b end", long.len() + 4).as_bytes())
        .await
        .unwrap();
    let got = recv(&mut rx, 2).await;
    assert_eq!(texts(&got), [None, Some("<13>b end".into())]);

    // The connection limit (2) closes a third connection at once.
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"<13>c refused\n").await.unwrap();
    assert!(recv_timeout(&mut rx, 300).await.is_none());
    drop((a, b, c));

    // The idle timeout closes silent connections (freeing slots).
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut d = TcpStream::connect(addr).await.unwrap();
    d.write_all(b"<13>d ok\n").await.unwrap();
    let got = recv(&mut rx, 1).await;
    assert_eq!(texts(&got), [Some("<13>d ok".into())]);
}

async fn recv_timeout(rx: &mut mpsc::Receiver<SyslogLine>, ms: u64) -> Option<SyslogLine> {
    tokio::time::timeout(Duration::from_millis(ms), rx.recv())
        .await
        .ok()
        .flatten()
}

#[tokio::test]
async fn tls_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let acceptor = syslog::tls::acceptor(&cert, &key).unwrap();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let (_stop_tx, stop) = watch::channel(false);
    tokio::spawn(syslog::stream::serve(l, Some(acceptor), limits(), tx, stop));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(syslog::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut s = connector.connect(name, tcp).await.unwrap();
    s.write_all(b"16 <13>over tls one16 <13>over tls two")
        .await
        .unwrap();
    s.flush().await.unwrap();
    let got = recv(&mut rx, 2).await;
    assert_eq!(
        texts(&got),
        [
            Some("<13>over tls one".into()),
            Some("<13>over tls two".into())
        ]
    );
    assert_eq!(got[0].transport, Transport::Tls);
}

#[tokio::test]
async fn sensor_forwards_what_it_hears() {
    let hub = common::Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut c = common::config(&hub.url(), &dir.path().join("state"));
    c.once = false;
    c.syslog_tcp = Some(port);
    let (stop_tx, stop) = watch::channel(false);
    let (_reload_tx, reload) = mpsc::channel(1);
    let task = tokio::spawn(mamori_sensor::run(
        c,
        mamori_sensor::Control { stop, reload },
    ));
    let mut conn = None;
    for _ in 0..50 {
        if let Ok(s) = TcpStream::connect(port).await {
            conn = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut conn = conn.unwrap();
    conn.write_all(b"<34>1 2024-01-02T03:04:05Z web01 sshd 42 - - Failed password\n<34>Oct 11 22:14:15 mymachine su: 'su root' failed\n")
        .await
        .unwrap();
    let got = hub.wait_lines(2).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["host.name"], "web01");
    assert_eq!(
        got[0]["log.source.address"],
        conn.local_addr().unwrap().to_string()
    );
    assert_eq!(got[0]["observer.name"], "test-sensor");
    stop_tx.send(true).unwrap();
    let s = task.await.unwrap().unwrap();
    assert_eq!((s.read, s.parsed, s.forwarded), (2, 2, 2));
}
