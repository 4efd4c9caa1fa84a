//! Random secrets (API tokens, session ids, CSRF tokens) and the hashes under which they are
//! stored. Secrets are 256 random bits, so a plain SHA-256 is the right hash: nothing to brute
//! force, and lookups by hash stay constant-time with respect to the secret.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::StoreError;

/// A fresh secret with the given prefix, e.g. `mmr_...`.
pub fn generate(prefix: &str) -> Result<String, StoreError> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| StoreError::Database(format!("no randomness: {e}")))?;
    Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(buf)))
}

/// The stored form of a secret.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}
