//! Playbooks: task templates per incident type (targeted mail, ransomware, web defacement, DDoS,
//! data leak, IoT botnet are built in). Hub administrators edit them: a stored playbook replaces
//! the built-in one of the same name or adds a new incident type, and resetting brings the
//! built-in back. Opening a case from a playbook instantiates its tasks with due times.

use mamori_store::Store;
use mamori_store::playbooks::PlaybookTask;
use serde::Serialize;
use serde_json::json;

use crate::ApiError;
use crate::ops::{Actor, audit};

/// Built-in playbooks: incident type → tasks (Japanese / English) with due times in hours.
pub const BUILT_IN: &[(&str, &[(&str, u32)])] = &[
    (
        "targeted-mail",
        &[
            (
                "受信者と開封状況を特定 / Identify recipients and who opened it",
                2,
            ),
            (
                "送信元・URL・添付のインジケータを抽出し共有 / Extract and share sender, URL and attachment indicators",
                4,
            ),
            (
                "同一メールの受信箱からの削除 / Purge the mail from all mailboxes",
                4,
            ),
            (
                "開封端末の調査と隔離 / Investigate and isolate hosts that opened it",
                8,
            ),
            ("利用者への注意喚起 / Warn users", 24),
        ],
    ),
    (
        "ransomware",
        &[
            (
                "感染端末のネットワーク隔離 / Isolate infected hosts from the network",
                1,
            ),
            (
                "影響範囲とバックアップの確認 / Scope the impact and check backups",
                4,
            ),
            ("侵入経路の特定 / Identify the initial access vector", 24),
            ("関係機関への報告 / Report to the authorities", 72),
            ("復旧と再発防止策 / Recover and prevent recurrence", 168),
        ],
    ),
    (
        "web-defacement",
        &[
            ("改ざんページの公開停止 / Take the defaced pages offline", 2),
            (
                "改ざん箇所と侵入経路の調査 / Find what was changed and how",
                24,
            ),
            ("復旧と脆弱性の修正 / Restore and fix the vulnerability", 72),
        ],
    ),
    (
        "ddos",
        &[
            (
                "攻撃トラフィックの特徴把握 / Characterise the attack traffic",
                1,
            ),
            (
                "ISP・CDNへの緩和要請 / Request mitigation from the ISP or CDN",
                2,
            ),
            ("サービス状況の周知 / Communicate service status", 4),
        ],
    ),
    (
        "data-leak",
        &[
            (
                "漏えいデータと範囲の特定 / Identify the leaked data and its scope",
                24,
            ),
            (
                "個人情報保護委員会等への報告判断 / Decide on notification to the regulator",
                72,
            ),
            (
                "本人通知と問い合わせ窓口 / Notify data subjects and open a help desk",
                120,
            ),
        ],
    ),
    (
        "iot-botnet",
        &[
            (
                "感染機器の特定とISPへの通知 / Identify infected devices and notify ISPs",
                24,
            ),
            ("C2の共有とブロック / Share and block the C2 servers", 24),
            (
                "機器所有者への対策案内 / Guide device owners to remediation",
                72,
            ),
        ],
    ),
];

/// A playbook as cases see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Playbook {
    pub name: String,
    pub tasks: Vec<PlaybookTask>,
    /// One of the playbooks shipped with Mamori.
    pub built_in: bool,
    /// Changed by an administrator (for a built-in: differs from the shipped version).
    pub edited: bool,
    pub updated_by: Option<String>,
}

fn built_in(name: &str) -> Option<Playbook> {
    BUILT_IN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, tasks)| Playbook {
            name: (*n).to_owned(),
            tasks: tasks
                .iter()
                .map(|(t, h)| PlaybookTask {
                    title: (*t).to_owned(),
                    hours: *h,
                })
                .collect(),
            built_in: true,
            edited: false,
            updated_by: None,
        })
}

/// Every playbook: the built-in ones (as edited) and the added ones, by name.
pub async fn list(store: &Store) -> Result<Vec<Playbook>, ApiError> {
    let mut out: Vec<Playbook> = BUILT_IN.iter().filter_map(|(n, _)| built_in(n)).collect();
    for s in store.stored_playbooks().await? {
        let p = Playbook {
            built_in: built_in(&s.name).is_some(),
            edited: true,
            name: s.name,
            tasks: s.tasks,
            updated_by: Some(s.updated_by),
        };
        match out.iter_mut().find(|o| o.name == p.name) {
            Some(slot) => *slot = p,
            None => out.push(p),
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The playbook called `name`, if there is one.
pub async fn find(store: &Store, name: &str) -> Result<Option<Playbook>, ApiError> {
    Ok(list(store).await?.into_iter().find(|p| p.name == name))
}

fn validate(name: &str, tasks: &[PlaybookTask]) -> Result<(), ApiError> {
    let name_ok = (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !name_ok {
        return Err(ApiError::Invalid(
            "a playbook name has 2-64 characters a-z, 0-9 and '-'".into(),
        ));
    }
    if tasks.is_empty() || tasks.len() > 50 {
        return Err(ApiError::Invalid("a playbook has 1-50 tasks".into()));
    }
    for t in tasks {
        if t.title.trim().is_empty() || t.title.chars().count() > 500 {
            return Err(ApiError::Invalid(
                "a task title has 1-500 characters".into(),
            ));
        }
        if t.hours > 24 * 365 {
            return Err(ApiError::Invalid(
                "a task is due within a year (8760 hours)".into(),
            ));
        }
    }
    Ok(())
}

fn require_admin(actor: &Actor) -> Result<(), ApiError> {
    match &actor.principal {
        Some(p) if !mamori_access::may_administer(p) => Err(ApiError::forbidden(
            "edit playbooks (hub administrators may)",
        )),
        _ => Ok(()),
    }
}

/// Creates or replaces a playbook (hub administrators).
pub async fn put(
    store: &Store,
    actor: &Actor,
    name: &str,
    tasks: &[PlaybookTask],
) -> Result<Playbook, ApiError> {
    require_admin(actor)?;
    let tasks: Vec<PlaybookTask> = tasks
        .iter()
        .map(|t| PlaybookTask {
            title: t.title.trim().to_owned(),
            hours: t.hours,
        })
        .collect();
    validate(name, &tasks)?;
    store.put_playbook(name, &tasks, &actor.name).await?;
    audit(
        store,
        actor,
        "playbook.put",
        "playbook",
        name,
        None,
        json!({"tasks": tasks.len()}),
    )
    .await?;
    find(store, name)
        .await?
        .ok_or_else(|| ApiError::Internal("playbook vanished".into()))
}

/// Removes an administrator's version: a built-in playbook returns to its shipped tasks, an
/// added one disappears (hub administrators).
pub async fn reset(store: &Store, actor: &Actor, name: &str) -> Result<(), ApiError> {
    require_admin(actor)?;
    if !store.delete_playbook(name).await? {
        return Err(ApiError::NotFound("edited playbook".into()));
    }
    audit(
        store,
        actor,
        "playbook.reset",
        "playbook",
        name,
        None,
        json!({}),
    )
    .await?;
    Ok(())
}
