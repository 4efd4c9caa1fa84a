//! Named block-list profiles as operations: listed for anyone signed in (devices and the
//! console need their names), changed by hub administrators (audited), resolved for
//! `/api/v1/blocklists/{format}?profile=NAME`, and previewed for the console: what each format
//! would give this reader now. The preview selects entries with `blocklists::select`, the same
//! path devices are served by, so a reader never sees an entry the visibility policy hides
//! from them.

use mamori_model::{Tlp, ValueKind};
use mamori_notify::blocklist::{self, Format, Profile};
use mamori_store::blocklist_profiles::BlocklistProfile;
use serde::Deserialize;

use crate::ApiError;
use crate::blocklists;
use crate::ops::{Actor, audit};
use crate::sharing::ShareCtx;

/// The profile used when none is named; a stored profile of this name replaces it.
pub const DEFAULT_PROFILE: &str = "default";

/// Kinds a profile may name.
pub const PROFILE_KINDS: &[ValueKind] = &[
    ValueKind::Domain,
    ValueKind::Url,
    ValueKind::Ipv4,
    ValueKind::Ipv6,
    ValueKind::Cidr,
];

/// The built-in default: the query parameters' defaults (GREEN, score 30, every kind).
pub fn builtin_default() -> BlocklistProfile {
    let p = Profile::default();
    BlocklistProfile {
        name: DEFAULT_PROFILE.into(),
        description: String::new(),
        max_tlp: p.max_tlp,
        min_score: p.min_score,
        kinds: p.kinds,
        allow: p.allow,
        updated_at: 0,
    }
}

/// What the selection needs of a stored profile.
pub fn to_profile(p: &BlocklistProfile) -> Profile {
    Profile {
        max_tlp: p.max_tlp,
        min_score: p.min_score,
        allow: p.allow.clone(),
        kinds: p.kinds.clone(),
    }
}

/// Every profile by name, the built-in default among them unless a stored one replaces it.
pub async fn list(store: &mamori_store::Store) -> Result<Vec<BlocklistProfile>, ApiError> {
    let mut all = store.blocklist_profiles().await?;
    if !all.iter().any(|p| p.name == DEFAULT_PROFILE) {
        all.push(builtin_default());
        all.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(all)
}

/// One profile by name (the built-in default when none is stored under that name).
pub async fn get(store: &mamori_store::Store, name: &str) -> Result<BlocklistProfile, ApiError> {
    match store.blocklist_profile(name).await? {
        Some(p) => Ok(p),
        None if name == DEFAULT_PROFILE => Ok(builtin_default()),
        None => Err(ApiError::NotFound(format!("block-list profile {name}"))),
    }
}

/// A profile as an administrator writes it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    #[serde(default)]
    pub description: String,
    /// CLEAR, GREEN or AMBER (block lists never carry AMBER+STRICT or RED).
    #[schema(value_type = String)]
    pub max_tlp: Tlp,
    /// 0-100.
    pub min_score: u8,
    /// Kinds to include: domain, url, ipv4, ipv6, cidr; empty for all.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub kinds: Vec<ValueKind>,
    /// Values (or parent domains) never to block.
    #[serde(default)]
    pub allow: Vec<String>,
}

fn valid_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
}

/// Creates or replaces a profile (hub administrators).
pub async fn save(
    store: &mamori_store::Store,
    actor: &Actor,
    name: &str,
    i: ProfileInput,
    now: i64,
) -> Result<BlocklistProfile, ApiError> {
    crate::monitor::require_admin(actor, "block-list profiles")?;
    if !valid_name(name) {
        return Err(ApiError::Invalid(
            "a profile name is 1-63 lower-case letters, digits and -".into(),
        ));
    }
    if i.max_tlp > Tlp::Amber {
        return Err(ApiError::Invalid(
            "block lists never carry AMBER+STRICT or RED: use CLEAR, GREEN or AMBER".into(),
        ));
    }
    if i.min_score > 100 {
        return Err(ApiError::Invalid("min_score is 0-100".into()));
    }
    if let Some(k) = i.kinds.iter().find(|k| !PROFILE_KINDS.contains(k)) {
        return Err(ApiError::Invalid(format!(
            "kind {k} is not blockable: use domain, url, ipv4, ipv6 or cidr"
        )));
    }
    let mut kinds = i.kinds;
    kinds.sort_by_key(|k| k.as_str());
    kinds.dedup();
    let allow: Vec<String> = i
        .allow
        .iter()
        .map(|a| a.trim().to_ascii_lowercase())
        .filter(|a| !a.is_empty())
        .collect();
    if allow.len() > 10_000 || i.description.len() > 2000 {
        return Err(ApiError::Invalid(
            "at most 10,000 allow-list values and 2,000 characters of description".into(),
        ));
    }
    let p = BlocklistProfile {
        name: name.to_owned(),
        description: i.description.trim().to_owned(),
        max_tlp: i.max_tlp,
        min_score: i.min_score,
        kinds,
        allow,
        updated_at: now,
    };
    store.save_blocklist_profile(&p).await?;
    audit(
        store,
        actor,
        "blocklist_profile.save",
        "blocklist_profile",
        name,
        None,
        serde_json::json!({"max_tlp": p.max_tlp, "min_score": p.min_score, "kinds": p.kinds, "allow": p.allow.len()}),
    )
    .await?;
    Ok(p)
}

/// Deletes a stored profile (hub administrators).
pub async fn delete(
    store: &mamori_store::Store,
    actor: &Actor,
    name: &str,
) -> Result<(), ApiError> {
    crate::monitor::require_admin(actor, "block-list profiles")?;
    if !store.delete_blocklist_profile(name).await? {
        return Err(ApiError::NotFound(format!("block-list profile {name}")));
    }
    audit(
        store,
        actor,
        "blocklist_profile.delete",
        "blocklist_profile",
        name,
        None,
        serde_json::json!({}),
    )
    .await
}

/// One format in a preview.
#[derive(Debug, Clone)]
pub struct FormatPreview {
    /// The name in URLs: txt, csv, hosts, rpz, suricata, nftables, squid.
    pub format: &'static str,
    /// Entries this format lists (a hosts file only names, an nftables set only addresses).
    pub entries: usize,
    /// The format's text for its first `n` entries.
    pub sample: String,
    /// Where devices poll it.
    pub url: String,
}

/// What a profile gives this reader now.
#[derive(Debug, Clone)]
pub struct Preview {
    pub profile: BlocklistProfile,
    /// Entries selected for this reader.
    pub total: usize,
    /// (kind, entries), for the kinds present.
    pub by_kind: Vec<(ValueKind, usize)>,
    pub formats: Vec<FormatPreview>,
    /// The ETag devices see (the same for every format).
    pub etag: String,
}

/// The preview of profile `name` for `actor`: counts by kind and by format, the first `n`
/// entries of each format, the ETag and the polling URLs (`base` is the hub's public URL, or
/// empty for paths).
pub async fn preview(
    cx: &ShareCtx<'_>,
    actor: &Actor,
    name: &str,
    n: usize,
    base: &str,
) -> Result<Preview, ApiError> {
    let profile = get(cx.store, name).await?;
    let mut p = to_profile(&profile);
    let selected = blocklists::select(cx, actor, &mut p, &format!("preview {name}")).await?;
    let mut by_kind: Vec<(ValueKind, usize)> = Vec::new();
    for e in &selected {
        match by_kind.iter_mut().find(|(k, _)| *k == e.kind) {
            Some((_, c)) => *c += 1,
            None => by_kind.push((e.kind, 1)),
        }
    }
    by_kind.sort_by_key(|(k, _)| k.as_str());
    let serial = u32::try_from(mamori_store::now_millis() / 1000).unwrap_or(u32::MAX);
    let base = base.trim_end_matches('/');
    let formats = Format::ALL
        .iter()
        .map(|f| {
            let listed: Vec<_> = selected
                .iter()
                .filter(|e| f.includes(e.kind))
                .cloned()
                .collect();
            let first: Vec<_> = listed.iter().take(n).cloned().collect();
            FormatPreview {
                format: f.name(),
                entries: listed.len(),
                sample: blocklist::render(*f, &first, serial),
                url: format!("{base}/api/v1/blocklists/{}?profile={name}", f.name()),
            }
        })
        .collect();
    Ok(Preview {
        etag: blocklists::etag(&selected),
        total: selected.len(),
        by_kind,
        formats,
        profile,
    })
}
