//! Rules from the hub ([`crate::RuleSource::Hub`]): the sensor pulls a signed bundle of Sigma
//! rules and indicators (`GET {hub}/api/v1/sensor/bundle?since=VERSION`), verifies the
//! Ed25519 signature (`X-Mamori-Signature`, base64, over the exact body bytes) with the hub's
//! key **before parsing anything**, applies the full bundle or the diff to a local cache and
//! asks the matcher to reload.
//!
//! The hub key is pinned (`--hub-key`) or fetched once from `GET {hub}/api/v1/sensor/key` and
//! kept in `<state>/hub-key.pub` (trust on first use); afterwards the stored key is used. A
//! bundle with a bad signature, for another base, older than the one applied, or whose
//! content does not hash to the version it names is refused and the current rules stay.
//!
//! Cache layout (`<state>/hub-rules` by default): `current/rules/<path>` (one file per rule),
//! `current/indicators.txt` (an IOC list, one value a line), `current/patterns.txt` (the STIX
//! pattern indicators, kind [`PATTERN_KIND`], one a line) and `current/manifest.json`
//! (version, issue time, rule hashes, indicators). An update is written to `next/` and
//! swapped in by renames; an interrupted swap is finished on the next start. The matcher
//! reads `current/` as a local rule source, so the sensor works offline from the cache.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::config::RuleSource;
use crate::hub::Hub;

/// The file under the state directory holding the trusted hub key (base64).
pub const KEY_FILE: &str = "hub-key.pub";

/// The indicator kind of STIX pattern indicators in a bundle (the value is the pattern).
pub const PATTERN_KIND: &str = "stix-pattern";
/// The response header with the signature.
pub const SIGNATURE_HEADER: &str = "x-mamori-signature";

/// Why a bundle was not applied.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{url}: {message}")]
    Fetch { url: String, message: String },
    #[error("bundle from {hub}: bad signature ({message}); keeping the current rules")]
    Signature { hub: String, message: String },
    #[error("hub key: {0}")]
    Key(String),
    #[error("bundle from {hub}: {message}; keeping the current rules")]
    Invalid { hub: String, message: String },
    #[error("rule cache {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |source| BundleError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A rule of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleFile {
    pub path: String,
    pub sha256: String,
    pub text: String,
}

/// An indicator of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Indicator {
    pub kind: String,
    pub value: String,
}

/// The signed body the hub sends (see the hub's `bundle` module).
#[derive(Debug, Clone, Deserialize)]
pub struct Payload {
    pub format: u32,
    pub version: String,
    pub since: Option<String>,
    pub full: bool,
    pub sensor_id: String,
    pub org_id: String,
    pub issued_at: i64,
    pub key_id: String,
    pub rules: Vec<RuleFile>,
    pub removed_rules: Vec<String>,
    pub indicators: Vec<Indicator>,
    pub removed_indicators: Vec<Indicator>,
}

/// What the cache holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: String,
    pub org_id: String,
    pub issued_at: i64,
    pub key_id: String,
    /// Path → SHA-256 of the text.
    pub rules: BTreeMap<String, String>,
    pub indicators: BTreeSet<Indicator>,
}

fn sha256_hex(b: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, b)
        .as_ref()
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// The key id of a public key: hex of the first 8 bytes of its SHA-256 (as the hub names it).
pub fn key_id(public: &[u8]) -> String {
    sha256_hex(public)[..16].to_owned()
}

/// Decodes a base64 Ed25519 public key.
pub fn parse_key(b64: &str) -> Result<Vec<u8>, BundleError> {
    let k = B64
        .decode(b64.trim())
        .map_err(|e| BundleError::Key(format!("not base64: {e}")))?;
    if k.len() != 32 {
        return Err(BundleError::Key(format!(
            "an Ed25519 public key has 32 bytes, not {}",
            k.len()
        )));
    }
    Ok(k)
}

/// Checks `signature` (base64) over `body` with `public`.
pub fn verify(public: &[u8], body: &[u8], signature: &str) -> Result<(), String> {
    let sig = B64
        .decode(signature.trim())
        .map_err(|e| format!("signature is not base64: {e}"))?;
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public)
        .verify(body, &sig)
        .map_err(|_| format!("does not verify with the hub key {}", key_id(public)))
}

/// The version the hub computes for this content (see the hub's `bundle` module).
pub fn content_version(
    org: &str,
    rules: &BTreeMap<String, String>,
    indicators: &BTreeSet<Indicator>,
) -> String {
    version_of(
        org,
        rules.iter().map(|(p, h)| (p.as_str(), h.as_str())),
        indicators
            .iter()
            .map(|i| (i.kind.as_str(), i.value.as_str())),
    )
}

/// The version formula itself, shared with the hub (which signs what this names): `rules`
/// as (path, sha256) sorted by path, `indicators` as (kind, value) sorted.
pub fn version_of<'a>(
    org: &str,
    rules: impl IntoIterator<Item = (&'a str, &'a str)>,
    indicators: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut s = format!("mamori-bundle-v1\norg\t{org}\n");
    for (path, sha) in rules {
        s.push_str(&format!("r\t{path}\t{sha}\n"));
    }
    for (kind, value) in indicators {
        s.push_str(&format!("i\t{kind}\t{value}\n"));
    }
    sha256_hex(s.as_bytes())
}

/// A relative path with normal components only.
fn safe_path(p: &str) -> Option<PathBuf> {
    let path = Path::new(p);
    let ok = !p.is_empty()
        && !p.contains('\\')
        && path.components().all(|c| matches!(c, Component::Normal(_)));
    ok.then(|| path.to_owned())
}

/// The local copy of the last applied bundle.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// Opens (creating an empty one, or finishing an interrupted swap) the cache in `dir`.
    pub fn open(dir: &Path) -> Result<Cache, BundleError> {
        let c = Cache {
            dir: dir.to_owned(),
        };
        let (cur, old) = (c.current(), dir.join("old"));
        if !cur.exists() && old.exists() {
            std::fs::rename(&old, &cur).map_err(io(&cur))?;
        }
        let _ = std::fs::remove_dir_all(&old);
        let _ = std::fs::remove_dir_all(dir.join("next"));
        std::fs::create_dir_all(cur.join("rules")).map_err(io(&cur))?;
        for f in ["indicators.txt", "patterns.txt"] {
            let f = cur.join(f);
            if !f.exists() {
                std::fs::write(&f, "").map_err(io(&f))?;
            }
        }
        Ok(c)
    }

    fn current(&self) -> PathBuf {
        self.dir.join("current")
    }

    /// The cache as a local rule source for the matcher.
    pub fn local_source(&self) -> RuleSource {
        RuleSource::Local {
            dirs: vec![self.current().join("rules")],
            ioc: Some(self.current().join("indicators.txt")),
            patterns: Some(self.current().join("patterns.txt")),
        }
    }

    /// The applied manifest (None before the first bundle or when unreadable).
    pub fn manifest(&self) -> Option<Manifest> {
        let text = std::fs::read_to_string(self.current().join("manifest.json")).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Applies a verified payload; returns whether anything changed.
    pub fn apply(&self, hub: &str, p: &Payload) -> Result<bool, BundleError> {
        let bad = |message: String| BundleError::Invalid {
            hub: hub.to_owned(),
            message,
        };
        if p.format != 1 {
            return Err(bad(format!("unknown bundle format {}", p.format)));
        }
        let old = self.manifest();
        if let Some(m) = &old {
            if p.issued_at < m.issued_at {
                return Err(bad("older than the bundle applied (a replay?)".into()));
            }
            if m.version == p.version && m.org_id == p.org_id {
                return Ok(false);
            }
        }
        let mut rules: BTreeMap<String, String> = BTreeMap::new();
        let mut indicators: BTreeSet<Indicator> = BTreeSet::new();
        if !p.full {
            let Some(m) = old
                .as_ref()
                .filter(|m| p.since.as_deref() == Some(&m.version))
            else {
                return Err(bad(
                    "a diff against a version this sensor does not have".into()
                ));
            };
            for path in m.rules.keys() {
                let f = self.current().join("rules").join(path);
                rules.insert(path.clone(), std::fs::read_to_string(&f).map_err(io(&f))?);
            }
            indicators = m.indicators.clone();
            for r in &p.removed_rules {
                rules.remove(r);
            }
            for i in &p.removed_indicators {
                indicators.remove(i);
            }
        }
        for r in &p.rules {
            if safe_path(&r.path).is_none()
                || !mamori_detect::ruleset::is_rule_file(Path::new(&r.path))
            {
                return Err(bad(format!("unsafe rule path {:?}", r.path)));
            }
            if sha256_hex(r.text.as_bytes()) != r.sha256 {
                return Err(bad(format!(
                    "{}: the text does not match its SHA-256",
                    r.path
                )));
            }
            rules.insert(r.path.clone(), r.text.clone());
        }
        indicators.extend(p.indicators.iter().cloned());
        let hashes: BTreeMap<String, String> = rules
            .iter()
            .map(|(k, v)| (k.clone(), sha256_hex(v.as_bytes())))
            .collect();
        let version = content_version(&p.org_id, &hashes, &indicators);
        if version != p.version {
            return Err(bad(format!(
                "the content hashes to {version}, not to the version {} it names",
                p.version
            )));
        }
        let manifest = Manifest {
            version,
            org_id: p.org_id.clone(),
            issued_at: p.issued_at,
            key_id: p.key_id.clone(),
            rules: hashes,
            indicators,
        };
        self.write(&rules, &manifest)?;
        Ok(true)
    }

    fn write(
        &self,
        rules: &BTreeMap<String, String>,
        manifest: &Manifest,
    ) -> Result<(), BundleError> {
        let next = self.dir.join("next");
        let _ = std::fs::remove_dir_all(&next);
        std::fs::create_dir_all(next.join("rules")).map_err(io(&next))?;
        for (path, text) in rules {
            let rel = safe_path(path).ok_or_else(|| BundleError::Invalid {
                hub: String::new(),
                message: format!("unsafe rule path {path:?}"),
            })?;
            let f = next.join("rules").join(rel);
            if let Some(parent) = f.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            std::fs::write(&f, text).map_err(io(&f))?;
        }
        let mut ioc = String::new();
        let mut patterns = String::new();
        for i in &manifest.indicators {
            if i.kind == PATTERN_KIND {
                // One pattern a line: a pattern written over several lines is left out.
                let p = i.value.trim();
                if !p.is_empty() && !p.starts_with('#') && !p.contains(['\n', '\r']) {
                    patterns.push_str(p);
                    patterns.push('\n');
                }
                continue;
            }
            // The IOC list holds what the matcher can match; other kinds (file names,
            // mutexes...) stay in the manifest only.
            let v = i.value.trim();
            if v.contains(['\t', '\n', '\r']) || v.contains(" #") || v.starts_with('#') {
                continue;
            }
            if mamori_detect::ioc::classify(v).is_some() {
                ioc.push_str(v);
                ioc.push('\n');
            }
        }
        let f = next.join("indicators.txt");
        std::fs::write(&f, ioc).map_err(io(&f))?;
        let f = next.join("patterns.txt");
        std::fs::write(&f, patterns).map_err(io(&f))?;
        let f = next.join("manifest.json");
        let json = serde_json::to_vec_pretty(manifest).map_err(|e| BundleError::Io {
            path: f.clone(),
            source: std::io::Error::other(e),
        })?;
        std::fs::write(&f, json).map_err(io(&f))?;
        let (cur, old) = (self.current(), self.dir.join("old"));
        let _ = std::fs::remove_dir_all(&old);
        if cur.exists() {
            std::fs::rename(&cur, &old).map_err(io(&cur))?;
        }
        std::fs::rename(&next, &cur).map_err(io(&next))?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }
}

/// Pulls bundles from the hub into the cache.
#[derive(Debug)]
pub struct HubRules {
    hub: Hub,
    state: PathBuf,
    key: Option<Vec<u8>>,
    cache: Cache,
}

impl HubRules {
    /// `pin`: the hub's public key (base64); without it the key stored in `state` is used,
    /// or fetched from the hub on the first sync.
    pub fn new(
        hub: Hub,
        state: &Path,
        cache_dir: &Path,
        pin: Option<&str>,
    ) -> Result<HubRules, BundleError> {
        let pin = pin.map(parse_key).transpose()?;
        let cache = Cache::open(cache_dir)?;
        let stored = std::fs::read_to_string(state.join(KEY_FILE))
            .ok()
            .map(|s| parse_key(&s))
            .transpose()?;
        if let (Some(p), Some(s)) = (&pin, &stored)
            && p != s
        {
            tracing::warn!(
                "--hub-key {} differs from the stored hub key {}: using the pinned key",
                key_id(p),
                key_id(s)
            );
        }
        Ok(HubRules {
            hub,
            state: state.to_owned(),
            key: pin.or(stored),
            cache,
        })
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The trusted key: pinned, stored, or fetched now and stored (trust on first use).
    async fn key(&mut self) -> Result<Vec<u8>, BundleError> {
        if let Some(k) = &self.key {
            return Ok(k.clone());
        }
        let (status, _, body) = self
            .hub
            .get("/api/v1/sensor/key", false)
            .await
            .map_err(|(url, message)| BundleError::Fetch { url, message })?;
        let url = self.hub.url("/api/v1/sensor/key");
        if status != 200 {
            return Err(BundleError::Fetch {
                url,
                message: format!("HTTP {status}"),
            });
        }
        #[derive(Deserialize)]
        struct Out {
            public_key: String,
        }
        let out: Out = serde_json::from_slice(&body).map_err(|e| BundleError::Fetch {
            url: url.clone(),
            message: format!("not a key: {e}"),
        })?;
        let key = parse_key(&out.public_key)?;
        let f = self.state.join(KEY_FILE);
        std::fs::create_dir_all(&self.state).map_err(io(&self.state))?;
        std::fs::write(&f, format!("{}\n", B64.encode(&key))).map_err(io(&f))?;
        tracing::warn!(
            "trusting the hub key {} from {url} on first use (stored in {}; pin it with --hub-key {})",
            key_id(&key),
            f.display(),
            out.public_key
        );
        self.key = Some(key.clone());
        Ok(key)
    }

    /// Fetches the hub's key; when it differs from `trusted` and its endorsement chain leads
    /// there from `trusted`, stores and returns it (`None`: the hub's key is `trusted`).
    async fn follow_rotation(&mut self, trusted: &[u8]) -> Result<Option<Vec<u8>>, String> {
        let (status, _, body) = self
            .hub
            .get("/api/v1/sensor/key", false)
            .await
            .map_err(|(url, message)| format!("{url}: {message}"))?;
        if status != 200 {
            return Err(format!("the key endpoint answered HTTP {status}"));
        }
        #[derive(Deserialize)]
        struct Out {
            public_key: String,
            #[serde(default)]
            endorsements: Vec<crate::key_chain::Endorsement>,
        }
        let out: Out = serde_json::from_slice(&body).map_err(|e| format!("not a key: {e}"))?;
        let new = parse_key(&out.public_key).map_err(|e| e.to_string())?;
        if new == trusted {
            return Ok(None);
        }
        let path = crate::key_chain::follow(trusted, &new, &out.endorsements)?;
        let f = self.state.join(KEY_FILE);
        std::fs::create_dir_all(&self.state).map_err(|e| e.to_string())?;
        std::fs::write(&f, format!("{}\n", B64.encode(&new))).map_err(|e| e.to_string())?;
        tracing::warn!(
            "the hub rotated its key: now trusting {} (endorsed along {}; stored in {}; update any --hub-key pin to {})",
            key_id(&new),
            path.join(" → "),
            f.display(),
            out.public_key
        );
        self.key = Some(new.clone());
        Ok(Some(new))
    }

    /// Fetches, verifies and applies the current bundle; returns whether the rules changed.
    pub async fn sync(&mut self) -> Result<bool, BundleError> {
        let key = self.key().await?;
        let manifest = self.cache.manifest();
        let mut path = "/api/v1/sensor/bundle".to_owned();
        if let Some(m) = &manifest {
            path.push_str("?since=");
            path.push_str(&m.version);
        }
        let url = self.hub.url(&path);
        let (status, headers, body) = self
            .hub
            .get(&path, true)
            .await
            .map_err(|(url, message)| BundleError::Fetch { url, message })?;
        if status != 200 {
            return Err(BundleError::Fetch {
                url,
                message: format!(
                    "HTTP {status}: {}",
                    String::from_utf8_lossy(&body)
                        .chars()
                        .take(200)
                        .collect::<String>()
                ),
            });
        }
        let hub = self.hub.base().to_owned();
        let sig = headers
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| BundleError::Signature {
                hub: hub.clone(),
                message: "no X-Mamori-Signature header".into(),
            })?;
        if let Err(message) = verify(&key, &body, sig) {
            // The hub may have rotated its key: follow its endorsements from ours.
            let rotated = self.follow_rotation(&key).await;
            match rotated {
                Ok(Some(new)) if verify(&new, &body, sig).is_ok() => {}
                Ok(_) => {
                    return Err(BundleError::Signature {
                        hub: hub.clone(),
                        message,
                    });
                }
                Err(why) => {
                    return Err(BundleError::Signature {
                        hub: hub.clone(),
                        message: format!("{message}; the hub's new key is not trusted: {why}"),
                    });
                }
            }
        }
        let payload: Payload = serde_json::from_slice(&body).map_err(|e| BundleError::Invalid {
            hub: hub.clone(),
            message: format!("not a bundle: {e}"),
        })?;
        let changed = self.cache.apply(&hub, &payload)?;
        if changed {
            tracing::info!(
                "rules from {hub}: version {} ({}, {} rules, {} indicators{})",
                &payload.version[..payload.version.len().min(12)],
                if payload.full { "full" } else { "diff" },
                payload.rules.len(),
                payload.indicators.len(),
                if payload.full {
                    String::new()
                } else {
                    format!(
                        "; {} rules and {} indicators removed",
                        payload.removed_rules.len(),
                        payload.removed_indicators.len()
                    )
                }
            );
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ring::signature::{Ed25519KeyPair, KeyPair};

    fn rule(path: &str, text: &str) -> RuleFile {
        RuleFile {
            path: path.into(),
            sha256: sha256_hex(text.as_bytes()),
            text: text.into(),
        }
    }

    fn payload(
        since: Option<&str>,
        issued_at: i64,
        rules: Vec<RuleFile>,
        base: (&BTreeMap<String, String>, &BTreeSet<Indicator>),
        indicators: Vec<Indicator>,
    ) -> Payload {
        let mut all_rules = base.0.clone();
        for r in &rules {
            all_rules.insert(r.path.clone(), r.sha256.clone());
        }
        let mut all_ind = base.1.clone();
        all_ind.extend(indicators.iter().cloned());
        Payload {
            format: 1,
            version: content_version("org1", &all_rules, &all_ind),
            since: since.map(str::to_owned),
            full: since.is_none(),
            sensor_id: "s".into(),
            org_id: "org1".into(),
            issued_at,
            key_id: "k".into(),
            rules,
            removed_rules: vec![],
            indicators,
            removed_indicators: vec![],
        }
    }

    fn ind(v: &str) -> Indicator {
        Indicator {
            kind: "domain".into(),
            value: v.into(),
        }
    }

    #[test]
    fn signatures_verify_and_tampering_fails() {
        let rng = ring::rand::SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
        let public = pair.public_key().as_ref().to_vec();
        let body = br#"{"version":"x"}"#.to_vec();
        let sig = B64.encode(pair.sign(&body).as_ref());
        assert!(verify(&public, &body, &sig).is_ok());
        let mut tampered = body.clone();
        tampered[3] ^= 1;
        assert!(verify(&public, &tampered, &sig).is_err());
        let other = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let other = Ed25519KeyPair::from_pkcs8(other.as_ref()).unwrap();
        assert!(verify(other.public_key().as_ref(), &body, &sig).is_err());
        assert!(verify(&public, &body, "***").is_err());
        assert!(parse_key(&B64.encode([0u8; 31])).is_err());
        assert_eq!(parse_key(&B64.encode(&public)).unwrap(), public);
    }

    #[test]
    fn full_then_diff_then_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        assert!(cache.manifest().is_none());
        let empty = (&BTreeMap::new(), &BTreeSet::new());
        let full = payload(
            None,
            10,
            vec![rule("r/a.yml", "title: a"), rule("r/sub/b.yml", "title: b")],
            empty,
            vec![ind("evil.example"), ind("C:\\not-an-ioc.exe")],
        );
        assert!(cache.apply("h", &full).unwrap());
        let m = cache.manifest().unwrap();
        assert_eq!(m.version, full.version);
        let cur = dir.path().join("current");
        assert_eq!(
            std::fs::read_to_string(cur.join("rules/r/sub/b.yml")).unwrap(),
            "title: b"
        );
        assert_eq!(
            std::fs::read_to_string(cur.join("indicators.txt")).unwrap(),
            "evil.example\n"
        );
        // The same version again changes nothing.
        assert!(!cache.apply("h", &full).unwrap());
        // A diff: one rule changed, one removed, an indicator removed, one added.
        let mut base_rules = m.rules.clone();
        base_rules.remove("r/sub/b.yml");
        let mut base_ind = m.indicators.clone();
        base_ind.remove(&ind("evil.example"));
        let mut diff = payload(
            Some(&m.version),
            20,
            vec![rule("r/a.yml", "title: a2")],
            (&base_rules, &base_ind),
            vec![ind("worse.example")],
        );
        diff.removed_rules = vec!["r/sub/b.yml".into()];
        diff.removed_indicators = vec![ind("evil.example")];
        // A diff whose content does not hash to its version is refused.
        let mut wrong = diff.clone();
        wrong.removed_rules.clear();
        assert!(cache.apply("h", &wrong).is_err());
        assert!(cache.apply("h", &diff).unwrap());
        assert!(!cur.join("rules/r/sub/b.yml").exists());
        assert_eq!(
            std::fs::read_to_string(cur.join("rules/r/a.yml")).unwrap(),
            "title: a2"
        );
        assert_eq!(
            std::fs::read_to_string(cur.join("indicators.txt")).unwrap(),
            "worse.example\n"
        );
        // A replay of the older full bundle, a diff against an unknown base, a bad hash and
        // an escaping path are refused; the cache stays.
        let now = cache.manifest().unwrap();
        assert!(cache.apply("h", &full).is_err());
        let mut unknown = diff.clone();
        unknown.since = Some("nope".into());
        unknown.version = "another".into();
        unknown.issued_at = 30;
        assert!(cache.apply("h", &unknown).is_err());
        let mut hash = payload(None, 40, vec![rule("x.yml", "a")], empty, vec![]);
        hash.rules[0].text = "b".into();
        assert!(cache.apply("h", &hash).is_err());
        let escape = payload(None, 40, vec![rule("../x.yml", "a")], empty, vec![]);
        assert!(cache.apply("h", &escape).is_err());
        assert_eq!(cache.manifest().unwrap(), now);
        // Reopening keeps the cache.
        let again = Cache::open(dir.path()).unwrap();
        assert_eq!(again.manifest().unwrap(), now);
    }
}
