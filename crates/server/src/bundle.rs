//! Signed rule bundles for sensors: the hub's Ed25519 signing key ([`HubKey`]) and the
//! per-organisation bundle of Sigma rules and shared indicators ([`Bundles`]) a sensor pulls
//! with `GET /api/v1/sensor/bundle?since=VERSION`.
//!
//! **Key.** Generated on first use (at `mamori serve` start) with `ring`'s system random
//! generator and stored as a PKCS#8 v2 DER document (Ed25519, as written by
//! `ring::signature::Ed25519KeyPair::generate_pkcs8`) in `<data_dir>/hub-signing.key`, mode
//! 0600. The key id is the first 8 bytes of SHA-256 over the 32-byte public key, in hex.
//! `GET /api/v1/sensor/key` and `mamori admin hub-key` publish the public key (base64).
//!
//! **Content.** The rules the hub was started with (`--rules`, path relative to the directory
//! given, prefixed by that directory's name) and the valid indicators the hub's detection
//! matches (live reports, and indicators posted over TAXII or pulled by feeds) that the
//! sensor's organisation may see under the visibility policy (never any other): typed values,
//! and STIX patterns (kind `stix-pattern`, the value the pattern) that are more than one value.
//!
//! **Version.** Lowercase hex SHA-256 over `mamori-bundle-v1\n`, `org\t<org id>\n`, then one
//! `r\t<path>\t<sha256 of text>\n` line per rule sorted by path and one `i\t<kind>\t<value>\n`
//! line per indicator sorted by (kind, value). The organisation is part of the version, so a
//! version names one organisation's content.
//!
//! **Increments.** The hub remembers the content of the last [`KEEP_VERSIONS`] versions it
//! served (in this process, per organisation). A `since` it remembers for the sensor's
//! organisation gets a diff (`full: false`: changed or new rules, removed rule paths, added and
//! removed indicators); any other `since` gets everything (`full: true`). `since` equal to the
//! current version gets an empty diff with that version: a signed "unchanged".
//!
//! **Signature.** The response body is the JSON [`BundlePayload`]; the header
//! `X-Mamori-Signature` carries the base64 (standard, padded) Ed25519 signature over exactly
//! those body bytes, and `X-Mamori-Key-Id` the key id. The payload names the sensor, the `since`
//! it answers and when it was issued, so a bundle cannot be replayed to another sensor, applied
//! to another base, or rolled back by a replay of an older one.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use mamori_access::VisibilityFilter;
use mamori_model::OrgId;
use mamori_store::reports::{DetectionMatch, PATTERN_SIGHTING_KIND};
use mamori_store::sensors::Sensor;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{ApiError, AppState};

/// The key file's name under the data directory.
pub const KEY_FILE: &str = "hub-signing.key";
/// How many served versions the hub remembers to answer `since` with a diff.
pub const KEEP_VERSIONS: usize = 64;
/// Response header: base64 Ed25519 signature over the body bytes.
pub const SIGNATURE_HEADER: &str = "x-mamori-signature";
/// Response header: the signing key's id.
pub const KEY_ID_HEADER: &str = "x-mamori-key-id";

/// Why the signing key is not available.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not an Ed25519 PKCS#8 key: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("cannot generate a key: {0}")]
    Generate(String),
}

/// The hub's Ed25519 signing key.
#[derive(Debug)]
pub struct HubKey {
    pair: Ed25519KeyPair,
    id: String,
}

/// The published form of the public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublicKeyOut {
    /// Always `ed25519`.
    pub algorithm: String,
    /// The 32-byte public key, base64.
    pub public_key: String,
    /// First 8 bytes of SHA-256 over the public key, hex.
    pub key_id: String,
    /// How this key descends from earlier ones (oldest first; empty when never rotated): a
    /// sensor that trusts an earlier key follows it (see [`crate::key_rotation`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endorsements: Vec<crate::key_rotation::Endorsement>,
}

/// The key id of a public key: hex of the first 8 bytes of its SHA-256.
pub fn key_id(public: &[u8]) -> String {
    hex(&Sha256::digest(public)[..8])
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl HubKey {
    /// Loads `<dir>/hub-signing.key`, or generates and stores it (mode 0600) when absent.
    pub fn load_or_create(dir: &Path) -> Result<HubKey, KeyError> {
        let path = dir.join(KEY_FILE);
        let io = |source| KeyError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::read(&path) {
            Ok(der) => return Self::from_pkcs8(&path, &der),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        std::fs::create_dir_all(dir).map_err(|source| KeyError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let rng = ring::rand::SystemRandom::new();
        let doc =
            Ed25519KeyPair::generate_pkcs8(&rng).map_err(|e| KeyError::Generate(e.to_string()))?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        match opts.open(&path) {
            Ok(mut f) => {
                f.write_all(doc.as_ref()).map_err(io)?;
                f.sync_all().map_err(io)?;
                tracing::info!("generated the hub signing key {}", path.display());
                Self::from_pkcs8(&path, doc.as_ref())
            }
            // Another hub process on the same data directory was first: use its key.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let der = std::fs::read(&path).map_err(io)?;
                Self::from_pkcs8(&path, &der)
            }
            Err(e) => Err(io(e)),
        }
    }

    fn from_pkcs8(path: &Path, der: &[u8]) -> Result<HubKey, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8(der).map_err(|e| KeyError::Invalid {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let id = key_id(pair.public_key().as_ref());
        Ok(HubKey { pair, id })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The public key, base64.
    pub fn public_b64(&self) -> String {
        B64.encode(self.pair.public_key().as_ref())
    }

    /// The 32 raw bytes of the public key.
    pub fn public_raw(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    pub fn public(&self) -> PublicKeyOut {
        PublicKeyOut {
            algorithm: "ed25519".into(),
            public_key: self.public_b64(),
            key_id: self.id.clone(),
            endorsements: Vec::new(),
        }
    }

    /// The base64 signature over `msg`.
    pub fn sign(&self, msg: &[u8]) -> String {
        B64.encode(self.pair.sign(msg).as_ref())
    }
}

/// One rule file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleFile {
    /// Relative, `/`-separated.
    pub path: String,
    /// SHA-256 of `text`, hex.
    pub sha256: String,
    pub text: String,
}

impl RuleFile {
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> RuleFile {
        let text = text.into();
        RuleFile {
            path: path.into(),
            sha256: hex(&Sha256::digest(text.as_bytes())),
            text,
        }
    }
}

/// One indicator of a bundle.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
pub struct BundleIndicator {
    /// The value kind (ipv4, domain, url, sha256, ...).
    pub kind: String,
    pub value: String,
}

/// The signed body of `GET /api/v1/sensor/bundle`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BundlePayload {
    /// Always 1.
    pub format: u32,
    /// The content version after applying this bundle.
    pub version: String,
    /// The version this answers (`since` as sent, or null).
    pub since: Option<String>,
    /// Everything (replace the local copy) rather than a diff against `since`.
    pub full: bool,
    /// The sensor this was issued to and its organisation (part of the version).
    pub sensor_id: String,
    pub org_id: String,
    /// Milliseconds since the epoch.
    pub issued_at: i64,
    pub key_id: String,
    /// New or changed rules (all rules when `full`).
    pub rules: Vec<RuleFile>,
    pub removed_rules: Vec<String>,
    /// Added indicators (all when `full`).
    pub indicators: Vec<BundleIndicator>,
    pub removed_indicators: Vec<BundleIndicator>,
}

/// One version's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub org: OrgId,
    pub version: String,
    /// By path.
    pub rules: BTreeMap<String, RuleFile>,
    pub indicators: BTreeSet<BundleIndicator>,
}

impl Content {
    pub fn new(org: OrgId, rules: &[RuleFile], indicators: BTreeSet<BundleIndicator>) -> Content {
        let rules: BTreeMap<String, RuleFile> =
            rules.iter().map(|r| (r.path.clone(), r.clone())).collect();
        let version = mamori_sensor::bundle::version_of(
            &org.to_string(),
            rules.values().map(|r| (r.path.as_str(), r.sha256.as_str())),
            indicators
                .iter()
                .map(|i| (i.kind.as_str(), i.value.as_str())),
        );
        Content {
            org,
            version,
            rules,
            indicators,
        }
    }

    /// What turns `base` (or nothing) into this content.
    fn diff(
        &self,
        base: Option<&Content>,
    ) -> (
        Vec<RuleFile>,
        Vec<String>,
        Vec<BundleIndicator>,
        Vec<BundleIndicator>,
    ) {
        let Some(base) = base else {
            return (
                self.rules.values().cloned().collect(),
                Vec::new(),
                self.indicators.iter().cloned().collect(),
                Vec::new(),
            );
        };
        let rules = self
            .rules
            .values()
            .filter(|r| base.rules.get(&r.path).is_none_or(|b| b.sha256 != r.sha256))
            .cloned()
            .collect();
        let removed_rules = base
            .rules
            .keys()
            .filter(|p| !self.rules.contains_key(*p))
            .cloned()
            .collect();
        let added = self
            .indicators
            .difference(&base.indicators)
            .cloned()
            .collect();
        let removed = base
            .indicators
            .difference(&self.indicators)
            .cloned()
            .collect();
        (rules, removed_rules, added, removed)
    }
}

/// The hub's bundle service: the key (created on first use), the rule files, and the recent
/// versions.
#[derive(Debug)]
pub struct Bundles {
    data_dir: PathBuf,
    /// The key and the modification time of its file when it was read.
    key: Mutex<Option<(Arc<HubKey>, Option<std::time::SystemTime>)>>,
    rules: Vec<RuleFile>,
    recent: Mutex<VecDeque<Arc<Content>>>,
}

impl Bundles {
    pub fn new(data_dir: PathBuf, rules: Vec<RuleFile>) -> Bundles {
        Bundles {
            data_dir,
            key: Mutex::new(None),
            rules,
            recent: Mutex::new(VecDeque::new()),
        }
    }

    /// The signing key, loaded or generated on the first call (retried after a failure), and
    /// read again when its file changed (a rotation by `mamori admin hub-key rotate`).
    pub fn key(&self) -> Result<Arc<HubKey>, KeyError> {
        let modified = || {
            std::fs::metadata(self.data_dir.join(KEY_FILE))
                .and_then(|m| m.modified())
                .ok()
        };
        let mut slot = self.key.lock().unwrap_or_else(|p| p.into_inner());
        let now = modified();
        if let Some((k, at)) = &*slot
            && (now.is_none() || *at == now)
        {
            return Ok(k.clone());
        }
        let k = Arc::new(HubKey::load_or_create(&self.data_dir)?);
        *slot = Some((k.clone(), modified()));
        Ok(k)
    }

    /// The published key with its endorsement chain.
    pub fn public_key(&self) -> Result<PublicKeyOut, KeyError> {
        let mut out = self.key()?.public();
        out.endorsements = crate::key_rotation::endorsements(&self.data_dir)?;
        Ok(out)
    }

    pub fn rules(&self) -> &[RuleFile] {
        &self.rules
    }

    fn remember(&self, c: &Arc<Content>) -> Option<Arc<Content>> {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = recent.iter().position(|x| x.version == c.version) {
            let hit = recent.remove(i);
            recent.push_back(c.clone());
            return hit;
        }
        recent.push_back(c.clone());
        while recent.len() > KEEP_VERSIONS {
            recent.pop_front();
        }
        None
    }

    fn lookup(&self, org: OrgId, version: &str) -> Option<Arc<Content>> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent
            .iter()
            .find(|c| c.org == org && c.version == version)
            .cloned()
    }
}

/// Reads the rule files under `paths` as `mamori serve --rules` loads them (a file, or every
/// `.yml`/`.yaml` below a directory). Paths are `<dir name>/<relative path>`; unreadable files
/// are logged and left out (the engine reports them too).
pub fn read_rule_files(paths: &[PathBuf]) -> Vec<RuleFile> {
    let mut out: Vec<RuleFile> = Vec::new();
    let mut seen = BTreeSet::new();
    for p in paths {
        let prefix = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "rules".into());
        let mut files = Vec::new();
        if p.is_dir() {
            walk(p, &mut files);
            files.sort();
        } else {
            files.push(p.clone());
        }
        for f in files {
            let rel = if p.is_dir() {
                let r = f.strip_prefix(p).unwrap_or(&f);
                let parts: Vec<String> = r
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                format!("{prefix}/{}", parts.join("/"))
            } else {
                prefix.clone()
            };
            let mut name = rel.clone();
            let mut n = 1;
            while !seen.insert(name.clone()) {
                n += 1;
                name = format!("{n}-{rel}");
            }
            match std::fs::read_to_string(&f) {
                Ok(text) => out.push(RuleFile::new(name, text)),
                Err(e) => tracing::warn!("rule bundle: {}: {e}", f.display()),
            }
        }
    }
    out
}

fn walk(d: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(d) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if mamori_detect::ruleset::is_rule_file(&p) {
            out.push(p);
        }
    }
}

/// The indicators `org` may see: the valid value and pattern indicators the hub's own
/// detection matches (live reports, and indicators posted over TAXII or pulled by feeds),
/// each kept only when the visibility policy admits its marking for `org`.
pub async fn visible_indicators(
    state: &AppState,
    org: OrgId,
) -> Result<BTreeSet<BundleIndicator>, ApiError> {
    let filter = VisibilityFilter {
        org: Some(org),
        groups: state.store.groups_of_org(org).await?,
        admin: false,
    };
    let now = mamori_store::now_millis();
    let mut out = BTreeSet::new();
    for d in state.store.detection_indicators(now).await? {
        if !filter.admits(&d.marking) {
            continue;
        }
        let (kind, value) = match d.matches {
            DetectionMatch::Value { kind, value } => (kind.as_str().to_owned(), value),
            DetectionMatch::Pattern(p) => (PATTERN_SIGHTING_KIND.to_owned(), p),
        };
        out.insert(BundleIndicator { kind, value });
    }
    Ok(out)
}

/// A signed bundle: the body bytes and their base64 signature.
#[derive(Debug)]
pub struct Signed {
    pub body: Vec<u8>,
    pub signature: String,
    pub key_id: String,
}

/// Builds and signs the bundle for `sensor` answering `since`.
pub async fn bundle_for(
    state: &AppState,
    sensor: &Sensor,
    since: Option<&str>,
) -> Result<Signed, ApiError> {
    let bundles = &state.bundles;
    let key = bundles.key().map_err(|e| {
        tracing::error!("sensor bundle: {e}");
        ApiError::Unavailable
    })?;
    let indicators = visible_indicators(state, sensor.org_id).await?;
    let current = Arc::new(Content::new(sensor.org_id, bundles.rules(), indicators));
    let base = since.and_then(|s| bundles.lookup(sensor.org_id, s));
    bundles.remember(&current);
    let (rules, removed_rules, indicators, removed_indicators) = current.diff(base.as_deref());
    let payload = BundlePayload {
        format: 1,
        version: current.version.clone(),
        since: since.map(str::to_owned),
        full: base.is_none(),
        sensor_id: sensor.id.clone(),
        org_id: sensor.org_id.to_string(),
        issued_at: mamori_store::now_millis(),
        key_id: key.id().to_owned(),
        rules,
        removed_rules,
        indicators,
        removed_indicators,
    };
    let body = serde_json::to_vec(&payload).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Signed {
        signature: key.sign(&body),
        key_id: key.id().to_owned(),
        body,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn key_is_created_once_with_mode_0600_and_signs() {
        let dir = tempfile::tempdir().unwrap();
        let k = HubKey::load_or_create(dir.path()).unwrap();
        let again = HubKey::load_or_create(dir.path()).unwrap();
        assert_eq!(k.public_b64(), again.public_b64());
        assert_eq!(k.id().len(), 16);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let m = std::fs::metadata(dir.path().join(KEY_FILE)).unwrap();
            assert_eq!(m.permissions().mode() & 0o777, 0o600);
        }
        let sig = B64.decode(k.sign(b"body")).unwrap();
        let public = B64.decode(k.public_b64()).unwrap();
        let pk = ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &public);
        assert!(pk.verify(b"body", &sig).is_ok());
        assert!(pk.verify(b"bodY", &sig).is_err());
        std::fs::write(dir.path().join(KEY_FILE), b"junk").unwrap();
        assert!(HubKey::load_or_create(dir.path()).is_err());
    }

    #[test]
    fn versions_and_diffs() {
        let org = OrgId::new();
        let ind = |v: &str| BundleIndicator {
            kind: "domain".into(),
            value: v.into(),
        };
        let a = Content::new(
            org,
            &[RuleFile::new("r/a.yml", "a"), RuleFile::new("r/b.yml", "b")],
            [ind("x.example"), ind("y.example")].into(),
        );
        let b = Content::new(
            org,
            &[
                RuleFile::new("r/a.yml", "a2"),
                RuleFile::new("r/c.yml", "c"),
            ],
            [ind("y.example"), ind("z.example")].into(),
        );
        assert_ne!(a.version, b.version);
        let other = Content::new(OrgId::new(), &[], BTreeSet::new());
        assert_ne!(
            other.version,
            Content::new(org, &[], BTreeSet::new()).version
        );
        let (rules, removed, added, gone) = b.diff(Some(&a));
        let paths: Vec<_> = rules.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["r/a.yml", "r/c.yml"]);
        assert_eq!(removed, ["r/b.yml"]);
        assert_eq!(added, [ind("z.example")]);
        assert_eq!(gone, [ind("x.example")]);
        let (rules, removed, added, gone) = b.diff(Some(&b));
        assert!(rules.is_empty() && removed.is_empty() && added.is_empty() && gone.is_empty());
    }

    #[test]
    fn rule_files_are_read_like_the_engine_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("sigma");
        std::fs::create_dir_all(rules.join("win")).unwrap();
        std::fs::write(rules.join("win/a.yml"), "title: a").unwrap();
        std::fs::write(rules.join("b.yaml"), "title: b").unwrap();
        std::fs::write(rules.join("notes.txt"), "x").unwrap();
        let single = dir.path().join("one.yml");
        std::fs::write(&single, "title: one").unwrap();
        let files = read_rule_files(&[rules, single]);
        let paths: Vec<_> = files.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["sigma/b.yaml", "sigma/win/a.yml", "one.yml"]);
        assert_eq!(files[2].sha256, hex(&Sha256::digest(b"title: one")));
    }
}
