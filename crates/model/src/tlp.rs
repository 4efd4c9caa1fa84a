//! TLP 2.0 markings (FIRST, 2022) and the marking every shared object carries.

use serde::{Deserialize, Serialize};

use crate::{GroupId, OrgId, ParseEnumError};

/// The Traffic Light Protocol 2.0 levels, ordered from least to most restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub enum Tlp {
    /// Recipients can spread this to the world; there is no limit on disclosure.
    #[serde(rename = "CLEAR")]
    Clear,
    /// Recipients can spread this within their community.
    #[serde(rename = "GREEN")]
    Green,
    /// Limited disclosure: recipients' organisations and their clients on a need-to-know basis.
    #[serde(rename = "AMBER")]
    Amber,
    /// Limited disclosure: recipients' organisations only.
    #[serde(rename = "AMBER+STRICT")]
    AmberStrict,
    /// For the eyes and ears of individual recipients only.
    #[serde(rename = "RED")]
    Red,
}

impl Tlp {
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    /// The canonical label, e.g. `TLP:AMBER+STRICT` without the prefix.
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "CLEAR",
            Tlp::Green => "GREEN",
            Tlp::Amber => "AMBER",
            Tlp::AmberStrict => "AMBER+STRICT",
            Tlp::Red => "RED",
        }
    }

    /// The level as a number, 0 (CLEAR) to 4 (RED), as stored in `tlp_rank` columns.
    pub fn rank(self) -> i64 {
        self as i64
    }

    /// The level for a stored rank.
    pub fn from_rank(rank: i64) -> Option<Tlp> {
        usize::try_from(rank)
            .ok()
            .and_then(|r| Tlp::ALL.get(r).copied())
    }

    /// Whether reading material at this level must be written to the audit log.
    pub fn read_is_audited(self) -> bool {
        self >= Tlp::Amber
    }
}

impl std::fmt::Display for Tlp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TLP:{}", self.as_str())
    }
}

impl std::str::FromStr for Tlp {
    type Err = ParseEnumError;
    /// Accepts `AMBER+STRICT`, `amber+strict`, `TLP:AMBER+STRICT`, and TLP 1.0's `WHITE` as CLEAR.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let t = t
            .strip_prefix("TLP:")
            .or_else(|| t.strip_prefix("tlp:"))
            .unwrap_or(t);
        match t
            .to_ascii_uppercase()
            .replace(['_', '-', ' '], "+")
            .as_str()
        {
            "CLEAR" | "WHITE" => Ok(Tlp::Clear),
            "GREEN" => Ok(Tlp::Green),
            "AMBER" => Ok(Tlp::Amber),
            "AMBER+STRICT" => Ok(Tlp::AmberStrict),
            "RED" => Ok(Tlp::Red),
            _ => Err(ParseEnumError {
                what: "TLP",
                given: s.to_owned(),
                expected: "CLEAR, GREEN, AMBER, AMBER+STRICT, RED",
            }),
        }
    }
}

impl<'de> Deserialize<'de> for Tlp {
    /// Accepts what [`FromStr`](std::str::FromStr) accepts, so that `AMBER+STRICT` survives a
    /// query string (where `+` arrives as a space) and `TLP:GREEN` works as well as `GREEN`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Who may see an object: its TLP level, the organisation that owns (authored) it, an optional
/// sharing group it was released to, and organisations named as recipients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Marking {
    pub tlp: Tlp,
    pub owner_org: OrgId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing_group: Option<GroupId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<OrgId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_labels() {
        assert_eq!("TLP:AMBER+STRICT".parse::<Tlp>(), Ok(Tlp::AmberStrict));
        assert_eq!("amber_strict".parse::<Tlp>(), Ok(Tlp::AmberStrict));
        assert_eq!("white".parse::<Tlp>(), Ok(Tlp::Clear));
        assert_eq!("AMBER STRICT".parse::<Tlp>(), Ok(Tlp::AmberStrict));
        assert!("purple".parse::<Tlp>().is_err());
        for t in Tlp::ALL {
            assert_eq!(t.as_str().parse::<Tlp>(), Ok(t));
        }
    }

    #[test]
    fn order_is_restrictiveness() {
        assert!(
            Tlp::Clear < Tlp::Green && Tlp::Amber < Tlp::AmberStrict && Tlp::AmberStrict < Tlp::Red
        );
        assert!(!Tlp::Green.read_is_audited());
        assert!(Tlp::Amber.read_is_audited() && Tlp::Red.read_is_audited());
    }
}
