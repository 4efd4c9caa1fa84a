//! Rules from the hub against a fake hub on 127.0.0.1 that signs its bundles with a test key
//! and can be told to flip a byte after signing or drop the signature: a good bundle is
//! applied and matches; a tampered or unsigned one is refused and the cache stays as it was.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use mamori_sensor::bundle::{BundleError, HubRules, Indicator, content_version};
use mamori_sensor::hub::Hub;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::json;

#[derive(Default)]
struct Fake {
    tamper: bool,
    unsigned: bool,
    rule: String,
    issued_at: i64,
}

struct Srv {
    pair: Ed25519KeyPair,
    fake: Mutex<Fake>,
}

fn sha(b: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, b)
        .as_ref()
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

async fn key(State(s): State<Arc<Srv>>) -> impl IntoResponse {
    axum::Json(
        json!({"algorithm": "ed25519", "public_key": B64.encode(s.pair.public_key().as_ref()), "key_id": "k"}),
    )
}

async fn bundle(State(s): State<Arc<Srv>>) -> impl IntoResponse {
    let f = s.fake.lock().unwrap();
    let rules: BTreeMap<String, String> = [("t/r.yml".to_owned(), sha(f.rule.as_bytes()))].into();
    let inds: BTreeSet<Indicator> = [Indicator {
        kind: "ipv4".into(),
        value: "203.0.113.9".into(),
    }]
    .into();
    let body = serde_json::to_vec(&json!({
        "format": 1, "version": content_version("o", &rules, &inds), "since": null, "full": true,
        "sensor_id": "s", "org_id": "o", "issued_at": f.issued_at, "key_id": "k",
        "rules": [{"path": "t/r.yml", "sha256": sha(f.rule.as_bytes()), "text": f.rule}],
        "removed_rules": [], "indicators": inds, "removed_indicators": [],
    }))
    .unwrap();
    let sig = B64.encode(s.pair.sign(&body).as_ref());
    let mut body = body;
    if f.tamper {
        // Turn "mimikatz" into "mimikatx" in the rule text after signing.
        let at = body.windows(8).position(|w| w == b"mimikatz").unwrap();
        body[at + 7] = b'x';
    }
    let mut h = HeaderMap::new();
    if !f.unsigned {
        h.insert("x-mamori-signature", sig.parse().unwrap());
    }
    (h, body)
}

const RULE: &str = "title: Tool\nid: 6f0a3c1e-0000-4000-8000-000000000002\nlevel: high\nlogsource:\n  category: test\ndetection:\n  s:\n    message|contains: mimikatz\n  condition: s\n";

#[tokio::test]
async fn good_bundles_apply_and_tampered_ones_are_refused() {
    let rng = ring::rand::SystemRandom::new();
    let doc = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let srv = Arc::new(Srv {
        pair: Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap(),
        fake: Mutex::new(Fake {
            rule: RULE.into(),
            issued_at: 1,
            ..Fake::default()
        }),
    });
    let app = Router::new()
        .route("/api/v1/sensor/key", get(key))
        .route("/api/v1/sensor/bundle", get(bundle))
        .with_state(srv.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://{addr}");

    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::new(&url, "mms_t".into(), None).unwrap();
    let cache_dir = dir.path().join("hub-rules");
    let mut rules = HubRules::new(hub.clone(), dir.path(), &cache_dir, None).unwrap();
    assert!(rules.sync().await.unwrap());
    assert!(dir.path().join("hub-key.pub").is_file());
    let applied = rules.cache().manifest().unwrap();
    let m = mamori_sensor::matcher::Matcher::load(&rules.cache().local_source()).unwrap();
    let mut ev = serde_json::Map::new();
    ev.insert("message".into(), json!("ran mimikatz"));
    assert!(m.annotate(&mut ev));
    let mut ev = serde_json::Map::new();
    ev.insert("source.ip".into(), json!("203.0.113.9"));
    assert!(m.annotate(&mut ev));

    // A new version, tampered after signing: refused, naming the hub; the cache stays.
    {
        let mut f = srv.fake.lock().unwrap();
        f.rule = RULE.replace("Tool", "Tool 2");
        f.issued_at = 2;
        f.tamper = true;
    }
    let e = rules.sync().await.unwrap_err();
    assert!(matches!(e, BundleError::Signature { .. }), "{e}");
    assert!(e.to_string().contains(&url), "{e}");
    assert_eq!(rules.cache().manifest().unwrap(), applied);
    // Unsigned: refused too.
    {
        let mut f = srv.fake.lock().unwrap();
        f.tamper = false;
        f.unsigned = true;
    }
    let e = rules.sync().await.unwrap_err();
    assert!(matches!(e, BundleError::Signature { .. }), "{e}");
    assert_eq!(rules.cache().manifest().unwrap(), applied);
    // Signed properly again: applied. The stored key is used on a restart (no new TOFU),
    // and a pinned key that is not the hub's refuses the bundle.
    srv.fake.lock().unwrap().unsigned = false;
    let mut again = HubRules::new(hub.clone(), dir.path(), &cache_dir, None).unwrap();
    assert!(again.sync().await.unwrap());
    assert_ne!(again.cache().manifest().unwrap(), applied);
    let other = dir.path().join("other");
    let mut pinned = HubRules::new(
        hub,
        &other,
        &other.join("hub-rules"),
        Some(&B64.encode([7u8; 32])),
    )
    .unwrap();
    let e = pinned.sync().await.unwrap_err();
    assert!(matches!(e, BundleError::Signature { .. }), "{e}");
    assert!(pinned.cache().manifest().is_none());
}
