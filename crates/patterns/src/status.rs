//! How the monitoring stream takes one pattern indicator ([`stream_status`]): per event,
//! across events and over which window, or not at all and why. For the people who read the
//! indicator (API, console), decided by the same code that builds the stream's set.

use crate::set::{BuildOptions, PatternSet};

/// Why a pattern, or part of it, is not matched in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Not a valid STIX pattern.
    Invalid,
    /// It refers only to object types no event maps to.
    UnmappedTypes,
    /// Some of its branches refer only to such types (the rest is matched).
    PartlyLeftOut,
}

impl Problem {
    /// A stable identifier (`invalid`, `unmapped_types`, `partly_left_out`).
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::Invalid => "invalid",
            Problem::UnmappedTypes => "unmapped_types",
            Problem::PartlyLeftOut => "partly_left_out",
        }
    }
}

/// How the stream takes a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamStatus {
    /// Some branch is satisfied by one event.
    pub per_event: bool,
    /// Some branch needs several events (`AND`, `FOLLOWEDBY`, `REPEATS`).
    pub cross_event: bool,
    /// The window those branches are evaluated over.
    pub window_ms: Option<i64>,
    pub problem: Option<Problem>,
}

/// How the stream takes `pattern` when cross-event parts without a `WITHIN` get
/// `default_window_ms`.
pub fn stream_status(pattern: &str, default_window_ms: i64) -> StreamStatus {
    let set: PatternSet<()> = PatternSet::build_with(
        [(pattern.to_owned(), ())],
        BuildOptions {
            default_window_ms,
            key: str::to_owned,
        },
    );
    let st = set.stats();
    let problem = if st.invalid > 0 {
        Some(Problem::Invalid)
    } else if st.unmapped > 0 || st.over_cap > 0 {
        Some(Problem::UnmappedTypes)
    } else if st.partly > 0 {
        Some(Problem::PartlyLeftOut)
    } else {
        None
    };
    StreamStatus {
        per_event: st.indexed + st.by_substring + st.always > 0,
        cross_event: st.cross_event > 0,
        window_ms: set.cross(0).map(|c| c.window_ms),
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let s = stream_status("[ipv4-addr:value = '198.51.100.1']", 3_600_000);
        assert!(s.per_event && !s.cross_event && s.problem.is_none());
        let s = stream_status(
            "[ipv4-addr:value = '1.2.3.4'] AND [url:value = 'x']",
            3_600_000,
        );
        assert_eq!(
            (s.per_event, s.cross_event, s.window_ms),
            (false, true, Some(3_600_000))
        );
        let s = stream_status(
            "([url:value = 'a'] FOLLOWEDBY [url:value = 'b']) WITHIN 90 SECONDS",
            1,
        );
        assert_eq!(s.window_ms, Some(90_000));
        let s = stream_status("[ipv4-addr:value = ", 1);
        assert_eq!(s.problem, Some(Problem::Invalid));
        let s = stream_status("[artifact:mime_type = 'x']", 1);
        assert_eq!(s.problem, Some(Problem::UnmappedTypes));
        assert!(!s.per_event && !s.cross_event);
        let s = stream_status(
            "[url:value = 'a'] OR ([artifact:mime_type = 'x'] AND [url:value = 'b'])",
            1,
        );
        assert_eq!(
            (s.per_event, s.problem),
            (true, Some(Problem::PartlyLeftOut))
        );
    }
}
