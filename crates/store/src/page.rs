//! Cursor pagination. Lists are ordered by id (UUIDv7, so creation order); the cursor is the last
//! id of the previous page, opaque to clients.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::StoreError;

/// A page request: where to start and how many.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub after: Option<String>,
    pub limit: u32,
}

impl PageRequest {
    pub const MAX_LIMIT: u32 = 500;
    pub const DEFAULT_LIMIT: u32 = 50;

    /// Builds a request from an opaque cursor and a limit as given by a client.
    pub fn from_cursor(cursor: Option<&str>, limit: Option<u32>) -> Result<Self, StoreError> {
        let after = match cursor {
            None | Some("") => None,
            Some(c) => {
                let raw = URL_SAFE_NO_PAD
                    .decode(c)
                    .map_err(|_| StoreError::Invalid("malformed cursor".into()))?;
                let s = String::from_utf8(raw)
                    .map_err(|_| StoreError::Invalid("malformed cursor".into()))?;
                if s.len() > 64 {
                    return Err(StoreError::Invalid("malformed cursor".into()));
                }
                Some(s)
            }
        };
        Ok(Self {
            after,
            limit: limit
                .unwrap_or(Self::DEFAULT_LIMIT)
                .clamp(1, Self::MAX_LIMIT),
        })
    }

    pub(crate) fn after_key(&self) -> &str {
        self.after.as_deref().unwrap_or("")
    }

    /// The SQL LIMIT: one more than asked, to learn whether another page follows.
    pub(crate) fn fetch_limit(&self) -> i64 {
        i64::from(self.limit.max(1)) + 1
    }
}

/// One page of results and the cursor of the next page, if any.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub(crate) fn from_rows(
        mut rows: Vec<T>,
        req: &PageRequest,
        key: impl Fn(&T) -> String,
    ) -> Self {
        let limit = req.limit.max(1) as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|r| URL_SAFE_NO_PAD.encode(key(r)))
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}
