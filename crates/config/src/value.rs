//! Raw values from the file (typed TOML) or from text (environment), and
//! coercion to the types the keys need. Errors are plain messages; the caller
//! adds where the value came from.

use toml::de::{DeInteger, DeValue};

/// A value before validation.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Raw<'a> {
    /// A typed TOML value: its type must match.
    Toml(&'a DeValue<'a>),
    /// Text from the environment: parsed into the type needed.
    Text(&'a str),
}

pub(crate) fn string<'a>(raw: Raw<'a>) -> Result<&'a str, String> {
    match raw {
        Raw::Toml(DeValue::String(s)) => Ok(s),
        Raw::Toml(other) => Err(format!("expected a string, got {}", other.type_str())),
        Raw::Text(s) => Ok(s),
    }
}

pub(crate) fn unsigned(raw: Raw<'_>) -> Result<u64, String> {
    match raw {
        Raw::Toml(DeValue::Integer(int)) => toml_unsigned(int),
        Raw::Toml(other) => Err(format!("expected an integer, got {}", other.type_str())),
        Raw::Text(s) => s
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("expected a non-negative integer, got {s:?}")),
    }
}

fn toml_unsigned(int: &DeInteger<'_>) -> Result<u64, String> {
    let digits: String = int.as_str().chars().filter(|c| *c != '_').collect();
    let digits = digits.strip_prefix('+').unwrap_or(&digits);
    if digits.starts_with('-') {
        return Err(format!("must not be negative, got {digits}"));
    }
    u64::from_str_radix(digits, int.radix()).map_err(|_| format!("integer out of range: {int}"))
}

/// `true`, `false`, or `"auto"` (= `None`). Text also accepts 1/0/yes/no/on/off.
pub(crate) fn bool_or_auto(raw: Raw<'_>) -> Result<Option<bool>, String> {
    const EXPECTED: &str = "expected true, false or \"auto\"";
    match raw {
        Raw::Toml(DeValue::Boolean(b)) => Ok(Some(*b)),
        Raw::Toml(DeValue::String(s)) if s.eq_ignore_ascii_case("auto") => Ok(None),
        Raw::Toml(DeValue::String(s)) => Err(format!("{EXPECTED}, got {s:?}")),
        Raw::Toml(other) => Err(format!("{EXPECTED}, got {}", other.type_str())),
        Raw::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(Some(true)),
            "false" | "0" | "no" | "off" => Ok(Some(false)),
            "auto" => Ok(None),
            _ => Err(format!("{EXPECTED}, got {s:?}")),
        },
    }
}

/// `n` must lie in `min..=max`.
pub(crate) fn in_range(n: u64, min: u64, max: u64) -> Result<u64, String> {
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(format!("must be between {min} and {max}, got {n}"))
    }
}
