//! Following a rotation of the hub's signing key: the hub publishes, with its current key, the
//! chain of endorsements from earlier keys (each newer key signed by the one before it over
//! [`ENDORSEMENT_CONTEXT`] and the new key's 32 bytes). A sensor accepts a new key only when
//! the chain leads there from the key it already trusts, every link verified.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::bundle::key_id;

/// What an endorsement signs, before the new key's 32 bytes.
pub const ENDORSEMENT_CONTEXT: &[u8] = b"mamori-hub-key-endorsement/1\n";

/// One link: `key` endorsed by the key with id `endorsed_by`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endorsement {
    /// The newer public key, base64.
    pub key: String,
    pub key_id: String,
    pub endorsed_by: String,
    /// Base64 Ed25519 signature by `endorsed_by`.
    pub signature: String,
}

/// Checks that `chain` leads from `trusted` to `target` (raw public keys), every link signed
/// by the key before it; returns the key ids along the way.
pub fn follow(trusted: &[u8], target: &[u8], chain: &[Endorsement]) -> Result<Vec<String>, String> {
    let mut current = trusted.to_vec();
    let mut path = vec![key_id(&current)];
    while current != target {
        let id = key_id(&current);
        let link = chain
            .iter()
            .find(|e| e.endorsed_by == id)
            .ok_or_else(|| format!("no endorsement by the trusted key {id}"))?;
        if path.len() > chain.len() {
            return Err("the endorsement chain does not reach the hub's key".into());
        }
        let next = B64
            .decode(link.key.trim())
            .map_err(|e| format!("endorsed key is not base64: {e}"))?;
        let sig = B64
            .decode(link.signature.trim())
            .map_err(|e| format!("endorsement signature is not base64: {e}"))?;
        let mut msg = ENDORSEMENT_CONTEXT.to_vec();
        msg.extend_from_slice(&next);
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &current)
            .verify(&msg, &sig)
            .map_err(|_| {
                format!(
                    "the endorsement of {} does not verify with {id}",
                    key_id(&next)
                )
            })?;
        current = next;
        path.push(key_id(&current));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ring::signature::{Ed25519KeyPair, KeyPair};

    fn pair() -> Ed25519KeyPair {
        let rng = ring::rand::SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap()
    }

    fn endorse(old: &Ed25519KeyPair, new: &Ed25519KeyPair) -> Endorsement {
        let mut msg = ENDORSEMENT_CONTEXT.to_vec();
        msg.extend_from_slice(new.public_key().as_ref());
        Endorsement {
            key: B64.encode(new.public_key().as_ref()),
            key_id: key_id(new.public_key().as_ref()),
            endorsed_by: key_id(old.public_key().as_ref()),
            signature: B64.encode(old.sign(&msg).as_ref()),
        }
    }

    #[test]
    fn chains_verify_and_loops_or_strangers_do_not() {
        let (a, b, c) = (pair(), pair(), pair());
        let chain = vec![endorse(&a, &b), endorse(&b, &c)];
        let pk = |k: &Ed25519KeyPair| k.public_key().as_ref().to_vec();
        assert_eq!(follow(&pk(&a), &pk(&c), &chain).unwrap().len(), 3);
        assert!(follow(&pk(&c), &pk(&a), &chain).is_err());
        let stranger = pair();
        let mut forged = endorse(&a, &b);
        forged.key = B64.encode(stranger.public_key().as_ref());
        let e = follow(&pk(&a), &pk(&stranger), &[forged]).unwrap_err();
        assert!(e.contains("does not verify"), "{e}");
        // a → b → a never reaches c.
        let looped = vec![endorse(&a, &b), endorse(&b, &a)];
        assert!(follow(&pk(&a), &pk(&c), &looped).is_err());
    }
}
