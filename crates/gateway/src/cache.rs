//! The answer cache: upstream responses by (name, type, class), kept for the smallest TTL of
//! their records (negative answers for the SOA minimum), at most an hour, bounded in size.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Longest time an answer is kept.
pub const MAX_TTL: Duration = Duration::from_secs(3600);

/// Cached responses (their ID bytes are rewritten per query).
#[derive(Debug)]
pub struct Cache {
    entries: HashMap<(String, u16, u16), (Vec<u8>, Instant)>,
    capacity: usize,
}

impl Cache {
    pub fn new(capacity: usize) -> Cache {
        Cache {
            entries: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// A fresh copy of the cached response for the key, with the query's ID.
    pub fn get(&mut self, key: &(String, u16, u16), id: u16, now: Instant) -> Option<Vec<u8>> {
        match self.entries.get(key) {
            Some((bytes, until)) if *until > now => {
                let mut b = bytes.clone();
                if b.len() >= 2 {
                    b[..2].copy_from_slice(&id.to_be_bytes());
                }
                Some(b)
            }
            Some(_) => {
                self.entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Keeps a response for `ttl` (capped at [`MAX_TTL`]); when full, expired entries go
    /// first, then an arbitrary one.
    pub fn put(&mut self, key: (String, u16, u16), bytes: Vec<u8>, ttl: Duration, now: Instant) {
        if ttl.is_zero() {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            self.entries.retain(|_, (_, until)| *until > now);
            if self.entries.len() >= self.capacity
                && let Some(k) = self.entries.keys().next().cloned()
            {
                self.entries.remove(&k);
            }
        }
        self.entries.insert(key, (bytes, now + ttl.min(MAX_TTL)));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_expire_and_take_the_query_id() {
        let mut c = Cache::new(2);
        let t0 = Instant::now();
        let k = ("a.example".to_owned(), 1, 1);
        c.put(k.clone(), vec![0, 0, 9, 9], Duration::from_secs(10), t0);
        assert_eq!(c.get(&k, 0x1234, t0), Some(vec![0x12, 0x34, 9, 9]));
        assert_eq!(c.get(&k, 1, t0 + Duration::from_secs(11)), None);
        assert!(c.is_empty());
        for i in 0..5 {
            c.put(
                (format!("{i}"), 1, 1),
                vec![0, 0],
                Duration::from_secs(10),
                t0,
            );
        }
        assert_eq!(c.len(), 2, "bounded");
    }
}
