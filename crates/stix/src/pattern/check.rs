//! Semantic checks on parsed property tests, as the OASIS `stix2-patterns` validator does:
//! a value compared with `…hashes.<ALGORITHM>` must look like a hash of that algorithm.

use super::ast::{Literal, Op, PathStep, PropTest};

/// The error message when `t` compares a hash property with a malformed value.
pub(super) fn hash_error(t: &PropTest) -> Option<String> {
    let in_hashes = t
        .path
        .steps
        .iter()
        .any(|s| matches!(s, PathStep::Key(k) if k == "hashes"));
    let Some(PathStep::Key(algorithm)) = t.path.steps.last() else {
        return None;
    };
    if !in_hashes {
        return None;
    }
    let value = match &t.op {
        Op::Eq(Literal::Str(s))
        | Op::Ne(Literal::Str(s))
        | Op::Lt(Literal::Str(s))
        | Op::Le(Literal::Str(s))
        | Op::Gt(Literal::Str(s))
        | Op::Ge(Literal::Str(s)) => s,
        _ => return None,
    };
    let normalized: String = algorithm
        .chars()
        .filter(|c| *c != '-' && *c != '\'')
        .collect::<String>()
        .to_ascii_uppercase();
    let hex_lengths: &[usize] = match normalized.as_str() {
        "MD5" => &[32],
        "MD6" => &[32, 40, 56, 64, 96, 128],
        "RIPEMD160" | "SHA1" => &[40],
        "SHA224" | "SHA3224" => &[56],
        "SHA256" | "SHA3256" => &[64],
        "SHA384" | "SHA3384" => &[96],
        "SHA512" | "SHA3512" | "WHIRLPOOL" => &[128],
        "SSDEEP" => {
            let ok = (1..=128).contains(&value.len())
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'+' | b':' | b'.'));
            return (!ok).then(|| format!("{value:?} is not a valid {algorithm} hash"));
        }
        _ => return None,
    };
    let ok = hex_lengths.contains(&value.len()) && value.bytes().all(|b| b.is_ascii_hexdigit());
    (!ok).then(|| format!("{value:?} is not a valid {algorithm} hash"))
}
