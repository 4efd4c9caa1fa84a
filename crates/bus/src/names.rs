//! Validation of the names the bus carries: subjects, groups and message ids.

use crate::BusError;

/// Subjects and groups: 1–128 of `A–Z a–z 0–9 . _ -`, not starting with `.`, no empty
/// `.`-separated token. They become directory and file names on the local bus and subject and
/// consumer names on JetStream (where `.` is not allowed in a consumer name: checked there).
pub(crate) fn check_name(what: &'static str, value: &str) -> Result<(), BusError> {
    let bad = |reason| {
        Err(BusError::InvalidName {
            what,
            value: value.to_owned(),
            reason,
        })
    };
    if value.is_empty() || value.len() > 128 {
        return bad("must be 1 to 128 characters");
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return bad("only letters, digits, '.', '_' and '-' are allowed");
    }
    if value.split('.').any(str::is_empty) {
        return bad("empty '.'-separated token");
    }
    Ok(())
}

/// Message ids: up to 256 bytes of printable ASCII without spaces (they travel in a header).
pub(crate) fn check_msg_id(value: &str) -> Result<(), BusError> {
    if value.len() > 256 || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(BusError::InvalidName {
            what: "message id",
            value: value.chars().take(64).collect(),
            reason: "at most 256 printable ASCII characters without spaces",
        });
    }
    Ok(())
}
