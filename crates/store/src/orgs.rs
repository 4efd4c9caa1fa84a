//! Organisations: create, read, list, update, delete.

use ipnet::IpNet;
use mamori_model::{Contact, Org, OrgId, OrgKind};
use serde::Deserialize;

use crate::{Page, PageRequest, Store, StoreError, now_millis, on_pool};

/// What is needed to create an organisation (from the API, the CLI or the demo loader).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrg {
    pub slug: String,
    #[serde(default)]
    pub name_ja: String,
    #[serde(default)]
    pub name_en: String,
    pub kind: OrgKind,
    #[serde(default)]
    pub sector: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub cidrs: Vec<IpNet>,
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
}

/// A partial update: fields left out stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgPatch {
    pub name_ja: Option<String>,
    pub name_en: Option<String>,
    pub kind: Option<OrgKind>,
    pub sector: Option<Option<String>>,
    #[schema(value_type = Option<Vec<String>>)]
    pub cidrs: Option<Vec<IpNet>>,
    pub domains: Option<Vec<String>>,
    pub contacts: Option<Vec<Contact>>,
}

/// Checks a slug: 2–64 characters of `a-z`, `0-9` and `-`, not starting or ending with `-`.
pub fn validate_slug(slug: &str) -> Result<(), StoreError> {
    let ok = (2..=64).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "slug {slug:?}: use 2-64 characters a-z, 0-9 and '-'"
        )))
    }
}

/// Normalises a domain name (lower case, no trailing dot) and checks its shape.
pub fn normalise_domain(d: &str) -> Result<String, StoreError> {
    let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if ok {
        Ok(d)
    } else {
        Err(StoreError::Invalid(format!(
            "domain {d:?} is not a valid domain name (use punycode for IDNs)"
        )))
    }
}

fn validate_contacts(contacts: &[Contact]) -> Result<(), StoreError> {
    for c in contacts {
        let email_ok = c.email.len() <= 254
            && c.email
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
        if !email_ok {
            return Err(StoreError::Invalid(format!(
                "contact e-mail {:?} is not an address",
                c.email
            )));
        }
    }
    Ok(())
}

fn validate_names(ja: &str, en: &str) -> Result<(), StoreError> {
    if ja.trim().is_empty() && en.trim().is_empty() {
        return Err(StoreError::Invalid(
            "an organisation needs a Japanese or an English name".into(),
        ));
    }
    if ja.chars().count() > 200 || en.chars().count() > 200 {
        return Err(StoreError::Invalid(
            "names are limited to 200 characters".into(),
        ));
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct OrgRow {
    id: String,
    slug: String,
    name_ja: String,
    name_en: String,
    kind: String,
    sector: Option<String>,
    cidrs: String,
    domains: String,
    contacts: String,
    created_at: i64,
}

impl OrgRow {
    fn into_org(self) -> Result<Org, StoreError> {
        Ok(Org {
            id: self
                .id
                .parse()
                .map_err(|e| StoreError::corrupt("orgs.id", e))?,
            slug: self.slug,
            name_ja: self.name_ja,
            name_en: self.name_en,
            kind: self
                .kind
                .parse()
                .map_err(|e| StoreError::corrupt("orgs.kind", e))?,
            sector: self.sector,
            cidrs: serde_json::from_str(&self.cidrs)
                .map_err(|e| StoreError::corrupt("orgs.cidrs", e))?,
            domains: serde_json::from_str(&self.domains)
                .map_err(|e| StoreError::corrupt("orgs.domains", e))?,
            contacts: serde_json::from_str(&self.contacts)
                .map_err(|e| StoreError::corrupt("orgs.contacts", e))?,
            created_at: self.created_at,
        })
    }
}

const COLUMNS: &str =
    "id, slug, name_ja, name_en, kind, sector, cidrs, domains, contacts, created_at";

fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(e.to_string()))
}

impl Store {
    pub async fn create_org(&self, new: &NewOrg) -> Result<Org, StoreError> {
        validate_slug(&new.slug)?;
        validate_names(&new.name_ja, &new.name_en)?;
        validate_contacts(&new.contacts)?;
        let domains = new
            .domains
            .iter()
            .map(|d| normalise_domain(d))
            .collect::<Result<Vec<_>, _>>()?;
        let org = Org {
            id: OrgId::new(),
            slug: new.slug.clone(),
            name_ja: new.name_ja.trim().to_owned(),
            name_en: new.name_en.trim().to_owned(),
            kind: new.kind,
            sector: new.sector.clone().filter(|s| !s.trim().is_empty()),
            cidrs: new.cidrs.iter().map(IpNet::trunc).collect(),
            domains,
            contacts: new.contacts.clone(),
            created_at: now_millis(),
        };
        const SQL: &str = "INSERT INTO orgs (id, slug, name_ja, name_en, kind, sector, cidrs, \
            domains, contacts, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$10)";
        let (cidrs, domains, contacts) =
            (json(&org.cidrs)?, json(&org.domains)?, json(&org.contacts)?);
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(org.id.to_string())
            .bind(&org.slug)
            .bind(&org.name_ja)
            .bind(&org.name_en)
            .bind(org.kind.as_str())
            .bind(&org.sector)
            .bind(&cidrs)
            .bind(&domains)
            .bind(&contacts)
            .bind(org.created_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("an organisation with slug {:?} exists", org.slug))
            }
            other => other,
        })?;
        Ok(org)
    }

    pub async fn get_org(&self, id: OrgId) -> Result<Org, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM orgs WHERE id = $1");
        let row: Option<OrgRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(id.to_string())
        .fetch_optional(pool)
        .await)?;
        row.ok_or(StoreError::NotFound("organisation"))?.into_org()
    }

    pub async fn get_org_by_slug(&self, slug: &str) -> Result<Org, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM orgs WHERE slug = $1");
        let row: Option<OrgRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(slug)
        .fetch_optional(pool)
        .await)?;
        row.ok_or(StoreError::NotFound("organisation"))?.into_org()
    }

    /// Resolves an organisation given by id or by slug.
    pub async fn find_org(&self, id_or_slug: &str) -> Result<Org, StoreError> {
        match id_or_slug.parse::<OrgId>() {
            Ok(id) => self.get_org(id).await,
            Err(_) => self.get_org_by_slug(id_or_slug).await,
        }
    }

    pub async fn list_orgs(&self, page: &PageRequest) -> Result<Page<Org>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM orgs WHERE id > $1 ORDER BY id LIMIT $2");
        let rows: Vec<OrgRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(page.after_key())
        .bind(page.fetch_limit())
        .fetch_all(pool)
        .await)?;
        let orgs = rows
            .into_iter()
            .map(OrgRow::into_org)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(orgs, page, |o| o.id.to_string()))
    }

    /// Every organisation, ordered by id (the registry is small: one query, no paging).
    pub async fn all_orgs(&self) -> Result<Vec<Org>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM orgs ORDER BY id");
        let rows: Vec<OrgRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(OrgRow::into_org).collect()
    }

    pub async fn count_orgs(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = on_pool!(self, |pool| sqlx::query_as("SELECT COUNT(*) FROM orgs")
            .fetch_one(pool)
            .await)?;
        Ok(n)
    }

    pub async fn update_org(&self, id: OrgId, patch: &OrgPatch) -> Result<Org, StoreError> {
        let mut org = self.get_org(id).await?;
        if let Some(v) = &patch.name_ja {
            org.name_ja = v.trim().to_owned();
        }
        if let Some(v) = &patch.name_en {
            org.name_en = v.trim().to_owned();
        }
        if let Some(v) = patch.kind {
            org.kind = v;
        }
        if let Some(v) = &patch.sector {
            org.sector = v.clone().filter(|s| !s.trim().is_empty());
        }
        if let Some(v) = &patch.cidrs {
            org.cidrs = v.iter().map(IpNet::trunc).collect();
        }
        if let Some(v) = &patch.domains {
            org.domains = v
                .iter()
                .map(|d| normalise_domain(d))
                .collect::<Result<Vec<_>, _>>()?;
        }
        if let Some(v) = &patch.contacts {
            validate_contacts(v)?;
            org.contacts = v.clone();
        }
        validate_names(&org.name_ja, &org.name_en)?;
        const SQL: &str = "UPDATE orgs SET name_ja=$1, name_en=$2, kind=$3, sector=$4, cidrs=$5, \
            domains=$6, contacts=$7, updated_at=$8 WHERE id=$9";
        let (cidrs, domains, contacts) =
            (json(&org.cidrs)?, json(&org.domains)?, json(&org.contacts)?);
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(&org.name_ja)
            .bind(&org.name_en)
            .bind(org.kind.as_str())
            .bind(&org.sector)
            .bind(&cidrs)
            .bind(&domains)
            .bind(&contacts)
            .bind(now_millis())
            .bind(id.to_string())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(org)
    }

    /// Deletes an organisation that has no users and runs no sharing group.
    pub async fn delete_org(&self, id: OrgId) -> Result<(), StoreError> {
        let done = on_pool!(self, |pool| sqlx::query("DELETE FROM orgs WHERE id = $1")
            .bind(id.to_string())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| match StoreError::from(e) {
            StoreError::Reference(_) => StoreError::Conflict(
                "the organisation still has users or runs a sharing group".into(),
            ),
            other => other,
        })?;
        if done == 0 {
            return Err(StoreError::NotFound("organisation"));
        }
        Ok(())
    }
}
