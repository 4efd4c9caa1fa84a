//! Resource limits for parsing untrusted STIX documents, and the depth pre-check that runs on
//! the raw bytes before any JSON parser sees them.

use crate::StixError;

/// Bounds applied by [`crate::Bundle::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted document, in bytes.
    pub max_bytes: usize,
    /// Most objects in one bundle.
    pub max_objects: usize,
    /// Deepest nesting of JSON arrays and objects (the bundle itself is depth 1).
    pub max_depth: usize,
}

impl Default for Limits {
    /// 64 MiB, 200,000 objects, depth 64.
    fn default() -> Limits {
        Limits {
            max_bytes: 64 * 1024 * 1024,
            max_objects: 200_000,
            max_depth: 64,
        }
    }
}

/// Fails with [`StixError::TooDeep`] if `bytes`, read as JSON, nests arrays/objects deeper than
/// `max`. Brackets inside strings are skipped; malformed JSON is left for the parser to report.
pub fn check_depth(bytes: &[u8], max: usize) -> Result<(), StixError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, &b) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(StixError::TooDeep { max, offset });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth() {
        assert!(check_depth(br#"{"a":[1,{"b":"[[[[["}]}"#, 3).is_ok());
        assert_eq!(
            check_depth(b"[[[[", 3),
            Err(StixError::TooDeep { max: 3, offset: 3 })
        );
        assert!(check_depth(br#"["\"[[[["]"#, 1).is_ok());
    }
}
