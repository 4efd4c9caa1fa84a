//! The sharing model: a [`Report`] is the unit of sharing; it holds [`Indicator`]s (a typed value
//! or a STIX pattern to detect) and [`Observable`]s (values seen), and members add [`Sighting`]s.

use serde::{Deserialize, Serialize};

use crate::string_enum::string_enum;
use crate::{GroupId, Marking, OrgId, Tlp, UnixMillis, UserId};

macro_rules! sharing_id {
    ($($name:ident),+) => {$(
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }
    )+};
}

sharing_id!(ReportId, IndicatorId, ObservableId, SightingId);

string_enum!(
    /// The kinds of value the hub shares, correlates and matches.
    ValueKind, "value kind" {
        Ipv4 = "ipv4",
        Ipv6 = "ipv6",
        Cidr = "cidr",
        Domain = "domain",
        Url = "url",
        Email = "email",
        Md5 = "md5",
        Sha1 = "sha1",
        Sha256 = "sha256",
        Ssdeep = "ssdeep",
        Tlsh = "tlsh",
        FileName = "file-name",
        Mutex = "mutex",
        RegistryKey = "registry-key",
        UserAgent = "user-agent",
        Asn = "asn",
        Cve = "cve",
    }
);

/// A report: what a member organisation shares, with its reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Report {
    pub id: ReportId,
    pub title: String,
    pub description: String,
    /// The authoring organisation; `None` in what recipients see of an anonymous submission.
    #[schema(value_type = Option<String>)]
    pub author_org: Option<OrgId>,
    /// The author asked to stay anonymous to recipients (hub admins and the audit log still know).
    pub anonymous: bool,
    pub tlp: Tlp,
    #[schema(value_type = Option<String>)]
    pub sharing_group: Option<GroupId>,
    #[schema(value_type = Vec<String>)]
    pub recipients: Vec<OrgId>,
    /// 0-100.
    pub confidence: Option<u8>,
    pub labels: Vec<String>,
    /// MITRE ATT&CK technique ids such as `T1566.001`.
    pub attack_techniques: Vec<String>,
    pub revoked: bool,
    #[schema(value_type = Option<String>)]
    pub created_by: Option<UserId>,
    pub created_at: UnixMillis,
    pub modified_at: UnixMillis,
}

impl Report {
    /// The marking the visibility policy judges. `owner` is the real author, which the stored
    /// report always knows even when `author_org` is hidden from the reader.
    pub fn marking(&self, owner: OrgId) -> Marking {
        Marking {
            tlp: self.tlp,
            owner_org: owner,
            sharing_group: self.sharing_group,
            recipients: self.recipients.clone(),
        }
    }
}

/// Something to detect: a typed value, or a STIX pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Indicator {
    pub id: IndicatorId,
    #[schema(value_type = String)]
    pub report_id: ReportId,
    pub kind: Option<ValueKind>,
    pub value: Option<String>,
    /// A STIX 2.1 pattern, for indicators that are more than one value.
    pub pattern: Option<String>,
    pub description: String,
    pub valid_from: UnixMillis,
    pub valid_until: Option<UnixMillis>,
    pub kill_chain_phases: Vec<String>,
    pub confidence: Option<u8>,
    pub created_at: UnixMillis,
}

/// A value seen, without a claim that it is malicious.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Observable {
    pub id: ObservableId,
    #[schema(value_type = String)]
    pub report_id: ReportId,
    pub kind: ValueKind,
    pub value: String,
    pub comment: String,
    pub created_at: UnixMillis,
}

string_enum!(
    /// Where a sighting came from.
    SightingSource, "sighting source" {
        /// Reported by a member.
        Member = "member",
        /// Raised by the detection engine on a sensor or the hub.
        Detection = "detection",
        /// Refuted: the member says it is a false positive.
        FalsePositive = "false-positive",
    }
);

/// "We saw this value": by a member or by the detection engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Sighting {
    pub id: SightingId,
    pub kind: ValueKind,
    pub value: String,
    #[schema(value_type = String)]
    pub org_id: OrgId,
    pub source: SightingSource,
    pub count: u32,
    pub seen_at: UnixMillis,
    pub created_at: UnixMillis,
}
