//! Rate limiting of failed logins, per account and per client address: after `max_failures`
//! failures within `window`, further attempts are refused until the window has passed. Kept in
//! memory: each hub process counts its own attempts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct LoginLimiter {
    max_failures: u32,
    window: Duration,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimiter {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures: max_failures.max(1),
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(username: &str, addr: &str) -> [String; 2] {
        [
            format!("user:{}", username.to_lowercase()),
            format!("addr:{addr}"),
        ]
    }

    /// `Err(seconds to wait)` when this account or address is locked out now.
    pub fn check(&self, username: &str, addr: &str) -> Result<(), u64> {
        let now = Instant::now();
        let Ok(mut map) = self.failures.lock() else {
            return Ok(());
        };
        let mut wait = 0u64;
        for key in Self::keys(username, addr) {
            if let Some(list) = map.get_mut(&key) {
                list.retain(|t| now.duration_since(*t) < self.window);
                if list.len() >= self.max_failures as usize
                    && let Some(oldest) = list.first()
                {
                    let left = self.window.saturating_sub(now.duration_since(*oldest));
                    wait = wait.max(left.as_secs().max(1));
                }
            }
        }
        if wait > 0 { Err(wait) } else { Ok(()) }
    }

    pub fn record_failure(&self, username: &str, addr: &str) {
        let now = Instant::now();
        if let Ok(mut map) = self.failures.lock() {
            if map.len() > 100_000 {
                map.retain(|_, v| {
                    v.last()
                        .is_some_and(|t| now.duration_since(*t) < self.window)
                });
            }
            for key in Self::keys(username, addr) {
                map.entry(key).or_default().push(now);
            }
        }
    }

    /// A successful login clears the account's failures (not the address's).
    pub fn record_success(&self, username: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&format!("user:{}", username.to_lowercase()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_per_account_and_address() {
        let l = LoginLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(l.check("alice", "10.0.0.1").is_ok());
            l.record_failure("alice", "10.0.0.1");
        }
        assert!(
            l.check("alice", "10.0.0.2").is_err(),
            "account locked from any address"
        );
        assert!(
            l.check("bob", "10.0.0.1").is_err(),
            "address locked for any account"
        );
        assert!(l.check("bob", "10.0.0.3").is_ok());
    }
}
