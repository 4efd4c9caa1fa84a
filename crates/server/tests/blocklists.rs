//! Block lists through the API: profile, warning lists, TLP ceiling, formats, ETag/304, the
//! RPZ zone checked by BIND's `named-checkzone` and loaded by Unbound, and the nftables set
//! checked by `nft -c`, each when installed (a skip says so).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Backend, hub, req, send};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocklists_follow_profile_policy_and_etag() {
    let h = hub(Backend::Sqlite).await;
    for (tlp, values) in [
        (
            "GREEN",
            vec![
                ("domain", "malware.example"),
                ("ipv4", "8.8.8.8"),
                ("ipv4", "198.18.7.7"),
                ("url", "http://dl.example/x.exe"),
            ],
        ),
        ("AMBER", vec![("domain", "amber.example")]),
        ("AMBER+STRICT", vec![("domain", "strict.example")]),
    ] {
        let inds: Vec<_> = values
            .iter()
            .map(|(k, v)| json!({"kind": k, "value": v}))
            .collect();
        let r = send(
            &h.app,
            req(
                "POST",
                "/api/v1/reports",
                Some(&h.admin_token),
                Some(json!({"title": tlp, "tlp": tlp, "confidence": 80, "indicators": inds})),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = send(
        &h.app,
        req("GET", "/api/v1/blocklists/txt", Some(&h.admin_token), None),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let lines: Vec<&str> = r.body.lines().collect();
    assert!(
        lines.contains(&"malware.example") && lines.contains(&"http://dl.example/x.exe"),
        "{lines:?}"
    );
    assert!(
        !lines.contains(&"8.8.8.8"),
        "warning-listed values are never blocked"
    );
    assert!(
        !lines.contains(&"198.18.7.7"),
        "benchmarking range is on the reserved warning list"
    );
    assert!(
        !lines.contains(&"amber.example"),
        "GREEN is the default ceiling"
    );
    let r = send(
        &h.app,
        req(
            "GET",
            "/api/v1/blocklists/txt?max_tlp=AMBER%2BSTRICT&allow=dl.example",
            Some(&h.admin_token),
            None,
        ),
    )
    .await;
    assert!(
        r.body.contains("amber.example") && !r.body.contains("strict.example"),
        "AMBER+STRICT never leaves: {}",
        r.body
    );
    assert!(!r.body.contains("dl.example"), "allow-list exception");

    // ETag: the same list answers 304.
    let r = send(
        &h.app,
        req("GET", "/api/v1/blocklists/rpz", Some(&h.member_token), None),
    )
    .await;
    let etag = r.headers[header::ETAG].to_str().unwrap().to_owned();
    let zone = r.body.clone();
    assert!(zone.contains("malware.example CNAME ."), "{zone}");
    let r = send(
        &h.app,
        Request::builder()
            .uri("/api/v1/blocklists/rpz")
            .header(header::AUTHORIZATION, format!("Bearer {}", h.member_token))
            .header(header::IF_NONE_MATCH, &etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    for f in ["csv", "hosts", "suricata", "nftables", "squid"] {
        let r = send(
            &h.app,
            req(
                "GET",
                &format!("/api/v1/blocklists/{f}"),
                Some(&h.member_token),
                None,
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{f}");
        assert!(
            r.body.contains("malware.example") || f == "nftables",
            "{f}: {}",
            r.body
        );
    }
    let r = send(
        &h.app,
        req("GET", "/api/v1/blocklists/pdf", Some(&h.member_token), None),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Incremental: a device holding the txt list asks what changed since; a new indicator
    // shows as `+`, a revoked report's values as `-`; an unknown version gets the full list;
    // another caller's version is not usable.
    let r = send(
        &h.app,
        req("GET", "/api/v1/blocklists/txt", Some(&h.member_token), None),
    )
    .await;
    let v1 = r.headers[header::ETAG].to_str().unwrap().to_owned();
    assert_eq!(r.headers["x-mamori-diff"], "full");
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/reports",
            Some(&h.admin_token),
            Some(json!({"title": "new", "tlp": "GREEN", "confidence": 80,
                        "indicators": [{"kind": "domain", "value": "fresh.example"}]})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let since = format!("/api/v1/blocklists/txt?since={}", v1.trim_matches('"'));
    let r = send(&h.app, req("GET", &since, Some(&h.member_token), None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["x-mamori-diff"], "incremental");
    assert_eq!(r.body, "+fresh.example\n");
    let v2 = r.headers[header::ETAG].to_str().unwrap().to_owned();
    assert_ne!(v1, v2);
    let r = send(
        &h.app,
        req(
            "GET",
            "/api/v1/blocklists/txt?since=unknown",
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.headers["x-mamori-diff"], "full");
    assert!(r.body.contains("fresh.example") && r.body.contains("malware.example"));
    let r = send(
        &h.app,
        req(
            "GET",
            &format!("{since}&max_tlp=AMBER"),
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(
        r.headers["x-mamori-diff"], "full",
        "a version is only compared within the same profile (and caller)"
    );

    // BIND accepts the RPZ zone.
    let Some(checkzone) = ["/usr/bin/named-checkzone", "/usr/sbin/named-checkzone"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        eprintln!(
            "SKIPPED: named-checkzone (bind9-utils) is not installed; the RPZ zone was not checked by BIND"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rpz.zone");
    std::fs::write(&file, zone).unwrap();
    let out = std::process::Command::new(checkzone)
        .arg("rpz.mamori")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // A real Unbound loads the zone as an RPZ and blocks the name; dig asks it.
    let (Some(unbound), Some(dig)) = (
        ["/usr/sbin/unbound", "/usr/bin/unbound"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists()),
        ["/usr/bin/dig"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists()),
    ) else {
        eprintln!(
            "SKIPPED: unbound or dig (bind9-dnsutils) is not installed; the RPZ was not loaded by Unbound"
        );
        return;
    };
    let port = mamori_testkit::free_port();
    let conf = dir.path().join("unbound.conf");
    std::fs::write(
        &conf,
        format!(
            "server:\n  interface: 127.0.0.1\n  port: {port}\n  do-daemonize: no\n  use-syslog: no\n  logfile: \"\"\n\
  chroot: \"\"\n  username: \"\"\n  directory: \"{d}\"\n  pidfile: \"\"\n  do-ip6: no\n\
  access-control: 127.0.0.0/8 allow\n  module-config: \"respip iterator\"\n  do-not-query-localhost: no\n\
  local-zone: \"ok.test.\" static\n  local-data: \"www.ok.test. 300 IN A 192.0.2.80\"\n\
rpz:\n  name: rpz.mamori\n  zonefile: \"{z}\"\n  rpz-log: yes\n",
            d = dir.path().display(),
            z = file.display()
        ),
    )
    .unwrap();
    let mut server = std::process::Command::new(unbound)
        .args(["-d", "-c"])
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let ask = |name: &str| {
        std::process::Command::new(dig)
            .args([
                "@127.0.0.1",
                "-p",
                &port.to_string(),
                "+time=2",
                "+tries=1",
                name,
                "A",
            ])
            .output()
            .unwrap()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let ok = loop {
        let o = ask("www.ok.test");
        let t = String::from_utf8_lossy(&o.stdout).into_owned();
        if t.contains("192.0.2.80") || std::time::Instant::now() > deadline {
            break t;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let blocked = String::from_utf8_lossy(&ask("malware.example").stdout).into_owned();
    let sub = String::from_utf8_lossy(&ask("cdn.malware.example").stdout).into_owned();
    let _ = server.kill();
    let mut err = String::new();
    if let Some(mut e) = server.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    let _ = server.wait();
    assert!(ok.contains("192.0.2.80"), "unbound answers: {ok}\n{err}");
    assert!(
        blocked.contains("status: NXDOMAIN"),
        "blocked by the RPZ: {blocked}\n{err}"
    );
    assert!(sub.contains("status: NXDOMAIN"), "subdomains too: {sub}");
}

/// The nftables export, as a device fetches it, is accepted by `nft -c -f` (a check that
/// changes nothing). Addresses inside listed ranges and overlapping ranges, IPv4 and IPv6, are
/// in it on purpose: without `auto-merge` nft refuses them as conflicting intervals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nftables_export_passes_nft_check() {
    let h = hub(Backend::Sqlite).await;
    let inds: Vec<_> = [
        ("ipv4", "45.9.148.7"),
        ("cidr", "45.9.148.0/24"),
        ("cidr", "45.9.0.0/16"),
        ("ipv4", "185.220.101.4"),
        ("ipv6", "2a0d:5600:24::7"),
        ("cidr", "2a0d:5600::/32"),
        ("domain", "malware.example"),
    ]
    .iter()
    .map(|(k, v)| json!({"kind": k, "value": v}))
    .collect();
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/reports",
            Some(&h.admin_token),
            Some(
                json!({"title": "addresses", "tlp": "GREEN", "confidence": 80, "indicators": inds}),
            ),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = send(
        &h.app,
        req(
            "GET",
            "/api/v1/blocklists/nftables",
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("45.9.148.7") && r.body.contains("2a0d:5600::/32"),
        "{}",
        r.body
    );
    let Some(nft) = ["/usr/sbin/nft", "/usr/bin/nft", "/sbin/nft"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        eprintln!(
            "SKIPPED: nft (nftables) is not installed (.ci/setup installs it); the nftables export was not checked by nft"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mamori.nft");
    std::fs::write(&file, &r.body).unwrap();
    let out = std::process::Command::new(nft)
        .arg("-c")
        .arg("-f")
        .arg(&file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success()
        && (err.contains("Operation not permitted") || err.contains("Permission denied"))
    {
        eprintln!(
            "SKIPPED: nft -c needs CAP_NET_ADMIN (run the tests as root); it answered: {}",
            err.trim()
        );
        return;
    }
    assert!(
        out.status.success(),
        "nft -c -f refused the export: {err}\n{}",
        r.body
    );
}
