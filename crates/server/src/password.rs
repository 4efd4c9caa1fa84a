//! Password hashing with argon2id (RFC 9106 parameters of the `argon2` crate's defaults) and the
//! password rules.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::ApiError;

/// Shortest accepted password.
pub const MIN_LEN: usize = 12;

/// Checks the password rules.
pub fn check_rules(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_LEN {
        return Err(ApiError::Invalid(format!(
            "a password needs at least {MIN_LEN} characters"
        )));
    }
    if password.len() > 1024 {
        return Err(ApiError::Invalid(
            "a password may have at most 1024 bytes".into(),
        ));
    }
    Ok(())
}

/// The PHC string of an argon2id hash of the password.
pub fn hash(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(format!("argon2: {e}")))
}

/// Whether the password matches the stored hash. A malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Hashes a throwaway password so that logins for unknown users take as long as for known ones.
pub fn burn_time(password: &str) {
    let _ = hash(password);
}

/// A random password for first-run accounts: 20 characters from an unambiguous alphabet.
pub fn generate() -> Result<String, ApiError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut buf = [0u8; 20];
    getrandom::fill(&mut buf).map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
    Ok(buf
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("wrong horse battery", &h));
        assert!(!verify("x", "not a hash"));
        assert!(check_rules("short").is_err());
        assert_eq!(generate().unwrap().len(), 20);
    }
}
