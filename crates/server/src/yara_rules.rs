//! YARA rule sets managed in the hub: operations for the API and the console (list, read,
//! create, replace the source, enable, disable, delete), each checked against the role model
//! and audited, and [`HubYara`], the enabled sets compiled into one `mamori_yara::RuleSet` that
//! mail analysis scans with.
//!
//! Rights: hub administrators change rule sets (they apply to every organisation's mail, like
//! playbooks and block-list profiles); administrators and analysts may read them. A source is
//! compiled alone before it is stored, so a bad rule is refused with its line and yara-x's
//! message and nothing changes. Every set is its own YARA namespace, named after the set.
//!
//! Each hub process keeps its compiled rules with the (name, SHA-256) of the enabled sets they
//! came from and compares them with storage before each analysis (one small query), so a change
//! made through another hub process is picked up too; the process that made a change compiles
//! at once.

use std::sync::{Arc, RwLock};

use mamori_model::Role;
use mamori_store::Store;
use mamori_store::yara_rules::{YaraRuleSet, YaraRuleSetInfo, YaraRuleSetPatch, YaraSourceWrite};
use mamori_yara::{RuleSet, Source, YaraError, YaraScanner};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ApiError;
use crate::error::RuleProblem;
use crate::ops::{Actor, audit};

/// Largest rule-set source accepted (the adapter's per-source limit).
pub const MAX_SOURCE_BYTES: usize = 2 * 1024 * 1024;

/// The compiled enabled rule sets of this hub process.
#[derive(Default)]
pub struct HubYara {
    current: RwLock<Compiled>,
    compiling: tokio::sync::Mutex<()>,
}

#[derive(Default, Clone)]
struct Compiled {
    /// (name, sha256) of the enabled sets compiled; `None` before the first compile.
    stamps: Option<Vec<(String, String)>>,
    scanner: Option<Arc<YaraScanner>>,
    /// Why the last compile failed (the previous rules stay in use).
    error: Option<String>,
}

/// What the hub scans with now.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct CompiledStatus {
    /// Enabled sets compiled.
    pub sets: usize,
    /// Rules in them.
    pub rules: usize,
    /// Why the last compile of the enabled sets failed, if it did.
    pub error: Option<String>,
}

impl HubYara {
    /// The scanner over the enabled rule sets as stored now (`None` when none is enabled),
    /// compiled again when they changed.
    pub async fn scanner(&self, store: &Store) -> Result<Option<Arc<YaraScanner>>, ApiError> {
        let stamps = store.yara_stamps().await?;
        if let Some(s) = self.fresh(&stamps) {
            return Ok(s);
        }
        let _one = self.compiling.lock().await;
        let stamps = store.yara_stamps().await?;
        if let Some(s) = self.fresh(&stamps) {
            return Ok(s);
        }
        self.compile(store).await
    }

    fn fresh(&self, stamps: &[(String, String)]) -> Option<Option<Arc<YaraScanner>>> {
        let c = self.current.read().ok()?;
        (c.stamps.as_deref() == Some(stamps)).then(|| c.scanner.clone())
    }

    /// Compiles the enabled sets as stored now.
    async fn compile(&self, store: &Store) -> Result<Option<Arc<YaraScanner>>, ApiError> {
        let rows = store.enabled_yara_sources().await?;
        let stamps: Vec<(String, String)> = rows
            .iter()
            .map(|(n, _, h)| (n.clone(), h.clone()))
            .collect();
        let built = if rows.is_empty() {
            Ok(None)
        } else {
            let sources: Vec<Source> = rows
                .into_iter()
                .map(|(n, s, _)| Source::new(n, s))
                .collect();
            tokio::task::spawn_blocking(move || RuleSet::compile(&sources))
                .await
                .map_err(|e| ApiError::Internal(format!("YARA compile task: {e}")))?
                .map(|set| Some(Arc::new(YaraScanner::new(Arc::new(set)))))
        };
        let mut c = self
            .current
            .write()
            .map_err(|_| ApiError::Internal("YARA rules lock poisoned".into()))?;
        c.stamps = Some(stamps);
        match built {
            Ok(scanner) => {
                c.scanner = scanner;
                c.error = None;
            }
            Err(e) => {
                tracing::error!(error = %e, "YARA rule sets do not compile together; keeping the previous rules");
                c.error = Some(e.to_string());
            }
        }
        Ok(c.scanner.clone())
    }

    /// Forgets the compiled rules so the next use compiles (after a change in this process),
    /// then compiles.
    pub async fn reload(&self, store: &Store) -> Result<(), ApiError> {
        let _one = self.compiling.lock().await;
        self.compile(store).await.map(|_| ())
    }

    /// Sets and rules in use, and the last compile error.
    pub fn status(&self) -> CompiledStatus {
        match self.current.read() {
            Ok(c) => CompiledStatus {
                sets: c.scanner.as_ref().map_or(0, |s| s.rules().sources().len()),
                rules: c.scanner.as_ref().map_or(0, |s| s.rules().rule_count()),
                error: c.error.clone(),
            },
            Err(_) => CompiledStatus::default(),
        }
    }
}

fn sha256(s: &str) -> String {
    hex_lower(&Sha256::digest(s.as_bytes()))
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Hub administrators change rule sets.
fn require_admin(actor: &Actor) -> Result<(), ApiError> {
    match &actor.principal {
        Some(p) if !mamori_access::may_administer(p) => Err(ApiError::forbidden(
            "change YARA rule sets (hub administrators may)",
        )),
        _ => Ok(()),
    }
}

/// Administrators and analysts read rule sets.
pub fn may_read(actor: &Actor) -> bool {
    actor
        .principal
        .as_ref()
        .is_none_or(|p| matches!(p.role, Role::Admin | Role::Analyst))
}

fn require_read(actor: &Actor) -> Result<(), ApiError> {
    if may_read(actor) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "read YARA rule sets (administrators and analysts may)",
        ))
    }
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name.as_bytes()[0].is_ascii_alphanumeric()
}

/// A new rule set.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRuleSet {
    /// 1-64 letters, digits, `-`, `_` and `.`, starting with a letter or digit; also the YARA
    /// namespace of its rules.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// YARA source (`include` is refused).
    pub source: String,
}

/// A replacement source (and optionally description) for a rule set.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSetUpdate {
    pub source: String,
    pub description: Option<String>,
}

/// A rule set as saved, with the compiler's warnings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SavedRuleSet {
    #[serde(flatten)]
    pub rule_set: YaraRuleSetInfo,
    /// Compiler warnings as `name:line:column: code message`.
    pub warnings: Vec<String>,
}

/// Compiles one source alone: its rule count and warnings, or the problem with its line.
async fn check(name: &str, source: &str) -> Result<(YaraSourceWrite, Vec<String>), ApiError> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(ApiError::TooLarge);
    }
    let src = Source::new(name, source);
    let set = tokio::task::spawn_blocking(move || RuleSet::compile(std::slice::from_ref(&src)))
        .await
        .map_err(|e| ApiError::Internal(format!("YARA compile task: {e}")))?
        .map_err(rule_error)?;
    if set.rule_count() == 0 {
        return Err(ApiError::Invalid(format!(
            "{name}: the source defines no rule"
        )));
    }
    Ok((
        YaraSourceWrite {
            sha256: sha256(source),
            rule_count: i64::try_from(set.rule_count()).unwrap_or(i64::MAX),
            source: source.to_owned(),
        },
        set.warnings().iter().map(ToString::to_string).collect(),
    ))
}

/// A compile error as the API reports it.
pub fn rule_error(e: YaraError) -> ApiError {
    match e {
        YaraError::Compile {
            source_name,
            line,
            column,
            code,
            message,
        } => ApiError::InvalidRule(Box::new(RuleProblem {
            rule_set: source_name,
            line,
            column,
            rule_error: code,
            message,
        })),
        YaraError::SourceTooLarge { .. } => ApiError::TooLarge,
        other => ApiError::Invalid(other.to_string()),
    }
}

/// Every rule set (administrators and analysts).
pub async fn list(store: &Store, actor: &Actor) -> Result<Vec<YaraRuleSetInfo>, ApiError> {
    require_read(actor)?;
    Ok(store.yara_rule_sets().await?)
}

/// One rule set with its source (administrators and analysts).
pub async fn get(store: &Store, actor: &Actor, name: &str) -> Result<YaraRuleSet, ApiError> {
    require_read(actor)?;
    store
        .yara_rule_set(name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("YARA rule set {name}")))
}

async fn saved(store: &Store, name: &str, warnings: Vec<String>) -> Result<SavedRuleSet, ApiError> {
    let rs = store
        .yara_rule_set(name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("YARA rule set {name}")))?;
    Ok(SavedRuleSet {
        rule_set: rs.info,
        warnings,
    })
}

/// Creates a rule set, enabled, after compiling it (hub administrators).
pub async fn create(
    store: &Store,
    yara: &HubYara,
    actor: &Actor,
    input: &NewRuleSet,
) -> Result<SavedRuleSet, ApiError> {
    require_admin(actor)?;
    let name = input.name.trim();
    if !valid_name(name) {
        return Err(ApiError::Invalid(
            "a rule set name is 1-64 letters, digits, -, _ and ., starting with a letter or digit"
                .into(),
        ));
    }
    if input.description.chars().count() > 2000 {
        return Err(ApiError::Invalid(
            "a description has at most 2,000 characters".into(),
        ));
    }
    let (w, warnings) = check(name, &input.source).await?;
    store
        .create_yara_rule_set(
            name,
            input.description.trim(),
            &w,
            &actor.name,
            mamori_store::now_millis(),
        )
        .await?;
    audit(
        store,
        actor,
        "yara.create",
        "yara_rule_set",
        name,
        None,
        serde_json::json!({"sha256": w.sha256, "rules": w.rule_count}),
    )
    .await?;
    yara.reload(store).await?;
    saved(store, name, warnings).await
}

/// Replaces a rule set's source (and description when given), after compiling it (hub
/// administrators).
pub async fn update(
    store: &Store,
    yara: &HubYara,
    actor: &Actor,
    name: &str,
    input: &RuleSetUpdate,
) -> Result<SavedRuleSet, ApiError> {
    require_admin(actor)?;
    if store.yara_rule_set(name).await?.is_none() {
        return Err(ApiError::NotFound(format!("YARA rule set {name}")));
    }
    if input
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 2000)
    {
        return Err(ApiError::Invalid(
            "a description has at most 2,000 characters".into(),
        ));
    }
    let (w, warnings) = check(name, &input.source).await?;
    let detail = serde_json::json!({"sha256": w.sha256, "rules": w.rule_count});
    let patch = YaraRuleSetPatch {
        description: input.description.as_ref().map(|d| d.trim().to_owned()),
        source: Some(w),
        enabled: None,
    };
    if !store
        .update_yara_rule_set(name, &patch, &actor.name, mamori_store::now_millis())
        .await?
    {
        return Err(ApiError::NotFound(format!("YARA rule set {name}")));
    }
    audit(
        store,
        actor,
        "yara.update",
        "yara_rule_set",
        name,
        None,
        detail,
    )
    .await?;
    yara.reload(store).await?;
    saved(store, name, warnings).await
}

/// Enables or disables a rule set (hub administrators).
pub async fn set_enabled(
    store: &Store,
    yara: &HubYara,
    actor: &Actor,
    name: &str,
    enabled: bool,
) -> Result<SavedRuleSet, ApiError> {
    require_admin(actor)?;
    let patch = YaraRuleSetPatch {
        enabled: Some(enabled),
        ..YaraRuleSetPatch::default()
    };
    if !store
        .update_yara_rule_set(name, &patch, &actor.name, mamori_store::now_millis())
        .await?
    {
        return Err(ApiError::NotFound(format!("YARA rule set {name}")));
    }
    audit(
        store,
        actor,
        if enabled {
            "yara.enable"
        } else {
            "yara.disable"
        },
        "yara_rule_set",
        name,
        None,
        serde_json::json!({}),
    )
    .await?;
    yara.reload(store).await?;
    saved(store, name, vec![]).await
}

/// Deletes a rule set (hub administrators).
pub async fn delete(
    store: &Store,
    yara: &HubYara,
    actor: &Actor,
    name: &str,
) -> Result<(), ApiError> {
    require_admin(actor)?;
    if !store.delete_yara_rule_set(name).await? {
        return Err(ApiError::NotFound(format!("YARA rule set {name}")));
    }
    audit(
        store,
        actor,
        "yara.delete",
        "yara_rule_set",
        name,
        None,
        serde_json::json!({}),
    )
    .await?;
    yara.reload(store).await
}
