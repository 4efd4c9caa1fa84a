//! Member organisations of the hub: who they are, what they own (address ranges, domains) and whom
//! to notify.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::string_enum::string_enum;
use crate::{OrgId, UnixMillis};

string_enum!(
    /// What kind of body an organisation is.
    OrgKind, "organisation kind" {
        Ministry = "ministry",
        Agency = "agency",
        Municipality = "municipality",
        University = "university",
        CriticalInfrastructure = "critical-infrastructure",
        Isp = "isp",
        Csirt = "csirt",
        Vendor = "vendor",
    }
);

string_enum!(
    /// A language that the console and notices are offered in.
    Lang, "language" {
        Ja = "ja",
        En = "en",
    }
);

/// Someone to send notices to, in their language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Contact {
    pub name: String,
    pub email: String,
    pub lang: Lang,
}

/// A member organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Org {
    pub id: OrgId,
    /// Short, unique, URL-safe handle, e.g. `mic` or `city-sendai`.
    pub slug: String,
    pub name_ja: String,
    pub name_en: String,
    pub kind: OrgKind,
    pub sector: Option<String>,
    /// Address ranges the organisation owns; alerts and notices for them go to it.
    #[schema(value_type = Vec<String>)]
    pub cidrs: Vec<IpNet>,
    /// Registered domains the organisation owns (subdomains included).
    pub domains: Vec<String>,
    pub contacts: Vec<Contact>,
    pub created_at: UnixMillis,
}

impl Org {
    /// The name to show in the given language, falling back to the other one when empty.
    pub fn name(&self, lang: Lang) -> &str {
        let (first, second) = match lang {
            Lang::Ja => (&self.name_ja, &self.name_en),
            Lang::En => (&self.name_en, &self.name_ja),
        };
        if first.is_empty() { second } else { first }
    }
}
