//! Rotating the hub's bundle signing key without re-pinning every sensor.
//!
//! `mamori admin hub-key rotate` retires `<data_dir>/hub-signing.key` (renamed to
//! `hub-signing.<old id>.retired.key`, kept 0600 for the record), generates a new key, and
//! appends an **endorsement** to `<data_dir>/hub-key-endorsements.json`: the new public key
//! signed by the old one over `mamori-hub-key-endorsement/1\n` followed by the 32 raw bytes
//! of the new key. `GET /api/v1/sensor/key` publishes the chain of endorsements with the
//! current key. A sensor whose trusted key no longer verifies a bundle fetches the key and
//! follows the chain from its trusted key to the current one, each link verified with the
//! key before it ([`mamori_sensor::key_chain::follow`]); a key that is not endorsed that way
//! is refused and the sensor keeps its rules. A running hub notices a rotation made by the CLI on the next bundle it signs (the
//! key file is read again when it changes).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::bundle::{HubKey, KEY_FILE, KeyError};

/// The file holding the endorsement chain, oldest first.
pub const ENDORSEMENTS_FILE: &str = "hub-key-endorsements.json";
/// What an endorsement signs, before the new key's 32 bytes.
pub use mamori_sensor::key_chain::ENDORSEMENT_CONTEXT;

/// One link of the chain: `key` endorsed by the key `endorsed_by`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Endorsement {
    /// The endorsed (newer) public key, base64.
    pub key: String,
    pub key_id: String,
    /// The id of the (older) key that signed.
    pub endorsed_by: String,
    /// Base64 Ed25519 signature by `endorsed_by` over the context and the new key's bytes.
    pub signature: String,
    /// When the rotation happened (ms since the epoch).
    pub at: i64,
}

/// The outcome of a rotation.
#[derive(Debug)]
pub struct Rotated {
    pub old_id: String,
    pub new: HubKey,
    pub retired: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The chain of endorsements under `dir` (empty when the key was never rotated).
pub fn endorsements(dir: &Path) -> Result<Vec<Endorsement>, KeyError> {
    let path = dir.join(ENDORSEMENTS_FILE);
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| KeyError::Invalid {
            path,
            message: format!("not an endorsement list: {e}"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io(&path)(e)),
    }
}

/// Retires the current key (creating one first if there is none), makes a new one and
/// records the old key's endorsement of it.
pub fn rotate(dir: &Path) -> Result<Rotated, KeyError> {
    let old = HubKey::load_or_create(dir)?;
    let mut chain = endorsements(dir)?;
    let current = dir.join(KEY_FILE);
    let retired = dir.join(format!("hub-signing.{}.retired.key", old.id()));
    std::fs::rename(&current, &retired).map_err(io(&current))?;
    let new = match HubKey::load_or_create(dir) {
        Ok(k) => k,
        Err(e) => {
            // Put the old key back rather than leave the hub without one.
            let _ = std::fs::rename(&retired, &current);
            return Err(e);
        }
    };
    let mut msg = ENDORSEMENT_CONTEXT.to_vec();
    msg.extend_from_slice(&new.public_raw());
    chain.push(Endorsement {
        key: new.public_b64(),
        key_id: new.id().to_owned(),
        endorsed_by: old.id().to_owned(),
        signature: old.sign(&msg),
        at: mamori_store::now_millis(),
    });
    let path = dir.join(ENDORSEMENTS_FILE);
    let tmp = dir.join(format!("{ENDORSEMENTS_FILE}.tmp"));
    let json = serde_json::to_vec_pretty(&chain).map_err(|e| KeyError::Invalid {
        path: path.clone(),
        message: e.to_string(),
    })?;
    std::fs::write(&tmp, json).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    tracing::info!(
        "rotated the hub signing key {} to {} (retired key kept in {})",
        old.id(),
        new.id(),
        retired.display()
    );
    Ok(Rotated {
        old_id: old.id().to_owned(),
        new,
        retired,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn follow(trusted: &[u8], target: &[u8], chain: &[Endorsement]) -> Result<Vec<String>, String> {
        let chain: Vec<mamori_sensor::key_chain::Endorsement> =
            serde_json::from_value(serde_json::to_value(chain).unwrap()).unwrap();
        mamori_sensor::key_chain::follow(trusted, target, &chain)
    }

    #[test]
    fn two_rotations_chain_from_the_first_key_to_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let first = HubKey::load_or_create(dir.path()).unwrap();
        let r1 = rotate(dir.path()).unwrap();
        let r2 = rotate(dir.path()).unwrap();
        assert_eq!(r1.old_id, first.id());
        assert_eq!(r2.old_id, r1.new.id());
        assert!(r1.retired.exists() && r2.retired.exists());
        let now = HubKey::load_or_create(dir.path()).unwrap();
        assert_eq!(now.id(), r2.new.id());
        let chain = endorsements(dir.path()).unwrap();
        assert_eq!(chain.len(), 2);
        let path = follow(&first.public_raw(), &now.public_raw(), &chain).unwrap();
        assert_eq!(path, vec![first.id(), r1.new.id(), now.id()]);
        // From the middle key too; and the current key trusts itself.
        follow(&r1.new.public_raw(), &now.public_raw(), &chain).unwrap();
        follow(&now.public_raw(), &now.public_raw(), &[]).unwrap();
    }

    #[test]
    fn a_key_not_endorsed_by_the_trusted_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = HubKey::load_or_create(dir.path()).unwrap();
        rotate(dir.path()).unwrap();
        let mut chain = endorsements(dir.path()).unwrap();
        let other = tempfile::tempdir().unwrap();
        let stranger = HubKey::load_or_create(other.path()).unwrap();
        // A stranger's key swapped into the link: the old key's signature no longer covers it.
        chain[0].key = stranger.public_b64();
        let e = follow(&first.public_raw(), &stranger.public_raw(), &chain).unwrap_err();
        assert!(e.contains("does not verify"), "{e}");
        // A chain that does not start at the trusted key.
        let e = follow(&stranger.public_raw(), &first.public_raw(), &[]).unwrap_err();
        assert!(e.contains("no endorsement"), "{e}");
    }
}
