//! The notification lifecycle as operations, shared by `mamori notify run`, the API and the
//! console: a feed run is recorded (items with their owners; with a complete run, what the
//! feed no longer lists is remediated), owners with items due get one notice per contact
//! language (a reminder when the items were notified before and persist; escalated after
//! `escalate_after` notices), each with an acknowledgement link, and notices are delivered by
//! SMTP with their status kept. An organisation with a webhook gets one more notice per issue,
//! channel `webhook`, posted as JSON (`notice_webhook`) beside the e-mail to its contacts (an
//! organisation without contacts but with a webhook is still notified). Every change is
//! audited.

use std::collections::BTreeMap;

use mamori_model::{Org, OrgId};
use mamori_notify::notice::{Notice, NoticeKind, Smtp};
use mamori_notify::webhook::Webhook;
use mamori_notify::{FeedReport, Observation, OwnerIndex};
use mamori_store::Store;
use mamori_store::notices::{FeedItemInput, FeedRunOutcome, NewNotice, NoticeRecord};

use crate::error::ApiError;
use crate::ops::{Actor, audit};

/// How notices are issued.
#[derive(Debug, Clone)]
pub struct NoticeSettings {
    /// The hub's name in subjects and signatures.
    pub hub_name: String,
    /// Where acknowledgement links point (`{public_url}/notices/ack/{token}`); no link without.
    pub public_url: Option<String>,
    /// Items still open are notified again after this long.
    pub renotify_ms: i64,
    /// A notice about items already notified this many times is marked escalated.
    pub escalate_after: i64,
}

impl Default for NoticeSettings {
    fn default() -> Self {
        NoticeSettings {
            hub_name: "Mamori".into(),
            public_url: None,
            renotify_ms: 7 * 86_400_000,
            escalate_after: 3,
        }
    }
}

/// What a recorded feed run contained.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct FeedRun {
    pub items: usize,
    pub owned: usize,
    pub unowned: usize,
    /// Lines the parser skipped.
    pub problems: usize,
    pub outcome: FeedRunOutcome,
}

/// Records a parsed feed: each item with its owner. `complete` says the run lists everything
/// its feed currently reports, so open items it no longer lists are remediated.
pub async fn record_feed(
    store: &Store,
    actor: &Actor,
    index: &OwnerIndex,
    report: &FeedReport,
    complete: bool,
    now: i64,
) -> Result<FeedRun, ApiError> {
    let mut by_source: BTreeMap<&str, Vec<FeedItemInput>> = BTreeMap::new();
    let mut run = FeedRun {
        items: report.observations.len(),
        problems: report.problems.len(),
        ..FeedRun::default()
    };
    for o in &report.observations {
        let owner = index.owner_of(o);
        if owner.is_some() {
            run.owned += 1;
        } else {
            run.unowned += 1;
        }
        by_source.entry(&o.source).or_default().push(FeedItemInput {
            source: o.source.clone(),
            kind: o.kind.as_str().to_owned(),
            value: o.value.clone(),
            category: o.category.clone(),
            owner_org: owner.as_ref().map(|m| m.org),
            owner_reason: owner.map(|m| m.reason),
            observation: serde_json::to_string(o)
                .map_err(|e| ApiError::Internal(format!("observation as JSON: {e}")))?,
        });
    }
    for (source, items) in by_source {
        let o = store
            .record_feed_items(source, now, &items, complete)
            .await?;
        run.outcome.new += o.new;
        run.outcome.seen_again += o.seen_again;
        run.outcome.reopened += o.reopened;
        run.outcome.remediated += o.remediated;
        run.outcome.notices_remediated += o.notices_remediated;
        audit(
            store,
            actor,
            "feed.run",
            "feed",
            source,
            None,
            serde_json::json!({"items": items.len(), "complete": complete, "outcome": o}),
        )
        .await?;
    }
    Ok(run)
}

/// A stored notice with the rendered message to deliver.
#[derive(Debug, Clone)]
pub struct Issued {
    pub record: NoticeRecord,
    pub message: Notice,
    /// What a webhook notice posts (without its id).
    pub payload: Option<serde_json::Value>,
}

/// How notices are delivered: e-mail notices by `smtp` (left queued without it), webhook
/// notices by `webhook` (left queued without it).
#[derive(Clone, Copy, Default)]
pub struct Senders<'a> {
    pub smtp: Option<&'a Smtp>,
    pub webhook: Option<&'a Webhook>,
}

/// What a delivery run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    pub sent: usize,
    pub failed: usize,
    /// Left queued: no sender for their channel.
    pub queued: usize,
}

fn ack_line(lang: mamori_model::Lang, url: &str) -> String {
    match lang {
        mamori_model::Lang::Ja => format!("\n受領確認のため、次のリンクを開いてください: {url}\n"),
        mamori_model::Lang::En => format!("\nPlease acknowledge receipt by opening: {url}\n"),
    }
}

/// Issues notices for every owner with items due, and stores them as queued.
pub async fn issue_notices(
    store: &Store,
    actor: &Actor,
    orgs: &[Org],
    settings: &NoticeSettings,
    now: i64,
) -> Result<Vec<Issued>, ApiError> {
    let due = store.feed_items_due(settings.renotify_ms, now).await?;
    let mut by_owner: BTreeMap<OrgId, Vec<(String, i64, Observation)>> = BTreeMap::new();
    for item in due {
        let Some(owner) = item.owner_org else {
            continue;
        };
        let obs: Observation = serde_json::from_value(item.observation)
            .map_err(|e| ApiError::Internal(format!("stored observation {}: {e}", item.id)))?;
        by_owner
            .entry(owner)
            .or_default()
            .push((item.id, item.notify_count, obs));
    }
    let mut out = Vec::new();
    for (org_id, items) in by_owner {
        let Some(org) = orgs.iter().find(|o| o.id == org_id) else {
            continue;
        };
        let reminder = items.iter().any(|(_, n, _)| *n > 0);
        let escalated = items.iter().any(|(_, n, _)| *n >= settings.escalate_after);
        let obs: Vec<&Observation> = items.iter().map(|(_, _, o)| o).collect();
        let ids: Vec<String> = items.iter().map(|(id, _, _)| id.clone()).collect();
        let kind = if reminder {
            NoticeKind::Reminder
        } else {
            NoticeKind::Notice
        };
        out.extend(
            store_notices(
                store, actor, org, &obs, &ids, kind, escalated, settings, now,
            )
            .await?,
        );
    }
    Ok(out)
}

/// Renders and stores one organisation's notices about the items: one per contact language
/// by e-mail, and one by webhook when the organisation has one.
#[allow(clippy::too_many_arguments)]
async fn store_notices(
    store: &Store,
    actor: &Actor,
    org: &Org,
    obs: &[&Observation],
    ids: &[String],
    kind: NoticeKind,
    escalated: bool,
    settings: &NoticeSettings,
    now: i64,
) -> Result<Vec<Issued>, ApiError> {
    let date = mamori_model::date::civil_date(now);
    let date = format!("{:04}{:02}{:02}", date.0, date.1, date.2);
    let mut messages: Vec<(Notice, &str)> =
        mamori_notify::notice::render(org, obs, &settings.hub_name, &date, kind)
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .into_iter()
            .map(|m| (m, "email"))
            .collect();
    if let Some(url) = store.org_webhook(org.id).await? {
        let lang = mamori_notify::notice::org_lang(org);
        let m = mamori_notify::notice::render_in(
            org,
            obs,
            &settings.hub_name,
            &date,
            kind,
            lang,
            vec![crate::notice_webhook::shown_url(&url)],
        )
        .map_err(|e| ApiError::Internal(e.to_string()))?;
        messages.push((m, "webhook"));
    }
    let mut out = Vec::new();
    for (mut m, channel) in messages {
        let token = mamori_store::notices::new_ack_token()?;
        let ack_url = settings
            .public_url
            .as_ref()
            .map(|base| format!("{}/notices/ack/{token}", base.trim_end_matches('/')));
        if let Some(url) = &ack_url {
            m.body.push_str(&ack_line(m.lang, url));
        }
        let payload = if channel == "webhook" {
            Some(crate::notice_webhook::payload(
                &crate::notice_webhook::PayloadInput {
                    org,
                    message: &m,
                    kind,
                    escalated,
                    hub_name: &settings.hub_name,
                    date: &date,
                    item_ids: ids,
                    observations: obs,
                    ack_url: ack_url.as_deref(),
                    now,
                },
            )?)
        } else {
            None
        };
        let record = store
            .create_notice(
                &NewNotice {
                    org_id: org.id,
                    kind: kind.as_str().into(),
                    lang: m.lang.as_str().into(),
                    recipients: m.to.clone(),
                    subject: m.subject.clone(),
                    body: m.body.clone(),
                    csv_name: m.csv_name.clone(),
                    csv: m.csv.clone(),
                    item_ids: ids.to_vec(),
                    escalated,
                    channel: channel.into(),
                    payload: payload.as_ref().map(|p| p.to_string()),
                },
                &token,
                now,
            )
            .await?;
        audit(
            store,
            actor,
            "notice.create",
            "notice",
            &record.id,
            Some(mamori_model::Tlp::Amber),
            serde_json::json!({"org": org.id, "items": ids.len(), "kind": record.kind, "channel": channel, "escalated": escalated}),
        )
        .await?;
        out.push(Issued {
            record,
            message: m,
            payload,
        });
    }
    Ok(out)
}

/// A takedown request to a CSIRT (an organisation with contacts, typically foreign) about
/// items it is asked to act on, e.g. from the review queue (hub administrators). The notice
/// is queued; `deliver` sends it.
pub async fn request_takedown(
    store: &Store,
    actor: &Actor,
    csirt: &Org,
    item_ids: &[String],
    settings: &NoticeSettings,
    now: i64,
) -> Result<Vec<Issued>, ApiError> {
    crate::monitor::require_admin(actor, "takedown requests")?;
    if item_ids.is_empty() {
        return Err(ApiError::Invalid("a takedown request needs items".into()));
    }
    let mut obs = Vec::new();
    for id in item_ids {
        let item = store
            .feed_item(id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("feed item {id}")))?;
        let o: Observation = serde_json::from_value(item.observation)
            .map_err(|e| ApiError::Internal(format!("stored observation {id}: {e}")))?;
        obs.push(o);
    }
    let refs: Vec<&Observation> = obs.iter().collect();
    let out = store_notices(
        store,
        actor,
        csirt,
        &refs,
        item_ids,
        NoticeKind::Takedown,
        false,
        settings,
        now,
    )
    .await?;
    if out.is_empty() {
        return Err(ApiError::Invalid(format!(
            "{} has no contact or webhook to send the request to",
            csirt.slug
        )));
    }
    Ok(out)
}

/// The message of a stored notice, to deliver it again (queued or failed ones).
pub async fn message_of(store: &Store, n: &NoticeRecord) -> Result<Notice, ApiError> {
    let csv = store.notice_csv(&n.id).await?.unwrap_or_default();
    let org = store.get_org(n.org_id).await?;
    let lang: mamori_model::Lang = n
        .lang
        .parse()
        .map_err(|_| ApiError::Internal(format!("notice {} has language {:?}", n.id, n.lang)))?;
    Ok(Notice {
        org: n.org_id,
        org_name: org.name(lang).to_owned(),
        lang,
        to: n.recipients.clone(),
        subject: n.subject.clone(),
        body: n.body.clone(),
        csv_name: n.csv_name.clone(),
        csv,
        items: usize::try_from(n.items).unwrap_or(0),
    })
}

/// A stored notice ready to deliver again: its message and, for a webhook notice, its document.
pub async fn issued_of(store: &Store, record: NoticeRecord) -> Result<Issued, ApiError> {
    let message = message_of(store, &record).await?;
    let payload = match store.notice_payload(&record.id).await? {
        Some(text) => Some(
            serde_json::from_str(&text)
                .map_err(|e| ApiError::Internal(format!("notice {} payload: {e}", record.id)))?,
        ),
        None => None,
    };
    Ok(Issued {
        record,
        message,
        payload,
    })
}

/// Delivers issued notices, each by its channel (e-mail by SMTP, webhook by a JSON POST to
/// the organisation's webhook, both retried with back-off); each becomes `sent` or `failed`
/// (with the error, and the time its next attempt is due: [`retry_delay_ms`]), or stays
/// `queued` when there is no sender for its channel.
pub async fn deliver(
    store: &Store,
    actor: &Actor,
    senders: Senders<'_>,
    issued: &[Issued],
    now: i64,
) -> Result<Delivered, ApiError> {
    let mut d = Delivered::default();
    for i in issued {
        let result = match (i.record.channel.as_str(), senders.smtp, senders.webhook) {
            ("webhook", _, Some(w)) => {
                crate::notice_webhook::post(store, w, &i.record, i.payload.as_ref())
                    .await
                    .map(|url| vec![url])
            }
            ("email", Some(smtp), _) => smtp
                .send(&i.message)
                .await
                .map(|()| i.message.to.clone())
                .map_err(|e| e.to_string()),
            _ => {
                d.queued += 1;
                continue;
            }
        };
        let (status, to, error) = match result {
            Ok(to) => {
                d.sent += 1;
                ("sent", to, None)
            }
            Err(e) => {
                d.failed += 1;
                ("failed", i.message.to.clone(), Some(e))
            }
        };
        let retry_at = now + retry_delay_ms(i.record.attempts + 1);
        let outcome = match &error {
            None => Ok(()),
            Some(e) => Err(e.as_str()),
        };
        store
            .record_delivery(&i.record.id, outcome, now, retry_at)
            .await?;
        audit(
            store,
            actor,
            &format!("notice.{status}"),
            "notice",
            &i.record.id,
            Some(mamori_model::Tlp::Amber),
            serde_json::json!({"channel": i.record.channel, "to": to, "error": error}),
        )
        .await?;
    }
    Ok(d)
}

/// How long a notice that failed its `attempts`-th delivery waits before the next: 5 minutes,
/// doubling with every failed attempt, at most 6 hours.
pub fn retry_delay_ms(attempts: i64) -> i64 {
    const FIRST: i64 = 5 * 60_000;
    const MAX: i64 = 6 * 3_600_000;
    let doublings = u32::try_from((attempts - 1).clamp(0, 16)).unwrap_or(16);
    (FIRST << doublings).min(MAX)
}

/// Failed notices whose next attempt is due, ready to deliver again.
pub async fn due_for_retry(store: &Store, now: i64) -> Result<Vec<Issued>, ApiError> {
    let mut out = Vec::new();
    for record in store.notices_due_for_retry(now, 1000).await? {
        out.push(issued_of(store, record).await?);
    }
    Ok(out)
}

/// Sets a notice's status by hand (e.g. `bounced` from a returned mail, `remediated`).
pub async fn set_status(
    store: &Store,
    actor: &Actor,
    id: &str,
    status: &str,
    now: i64,
) -> Result<NoticeRecord, ApiError> {
    let n = store.set_notice_status(id, status, None, now).await?;
    audit(
        store,
        actor,
        "notice.status",
        "notice",
        id,
        Some(mamori_model::Tlp::Amber),
        serde_json::json!({"status": status}),
    )
    .await?;
    Ok(n)
}

/// The acknowledgement link: anyone holding the token may acknowledge its notice.
pub async fn acknowledge(
    store: &Store,
    actor: &Actor,
    token: &str,
    now: i64,
) -> Result<Option<NoticeRecord>, ApiError> {
    let Some(n) = store.acknowledge_notice(token, now).await? else {
        return Ok(None);
    };
    audit(
        store,
        actor,
        "notice.acknowledge",
        "notice",
        &n.id,
        Some(mamori_model::Tlp::Amber),
        serde_json::json!({"status": n.status}),
    )
    .await?;
    Ok(Some(n))
}

/// Notices the actor may read: their organisation's (hub administrators: all), newest first.
pub async fn list(store: &Store, actor: &Actor, limit: i64) -> Result<Vec<NoticeRecord>, ApiError> {
    Ok(store
        .list_notices(crate::monitor::org_scope(actor), limit)
        .await?)
}

/// One notice and its CSV, if the actor may read it.
pub async fn get(
    store: &Store,
    actor: &Actor,
    id: &str,
) -> Result<(NoticeRecord, String), ApiError> {
    let n = store
        .notice(id)
        .await?
        .ok_or_else(|| ApiError::NotFound("notice".into()))?;
    if crate::monitor::org_scope(actor).is_some_and(|o| o != n.org_id) {
        return Err(ApiError::NotFound("notice".into()));
    }
    crate::ops::audit_read(store, actor, "notice", id, mamori_model::Tlp::Amber).await?;
    let csv = store.notice_csv(id).await?.unwrap_or_default();
    Ok((n, csv))
}

/// Sets a notice's status by hand (hub administrators).
pub async fn set_status_checked(
    store: &Store,
    actor: &Actor,
    id: &str,
    status: &str,
    now: i64,
) -> Result<NoticeRecord, ApiError> {
    crate::monitor::require_admin(actor, "notices")?;
    set_status(store, actor, id, status, now).await
}

/// Open items no member owns (hub administrators).
pub async fn review_queue(
    store: &Store,
    actor: &Actor,
    limit: i64,
) -> Result<Vec<mamori_store::notices::FeedItem>, ApiError> {
    crate::monitor::require_admin(actor, "the review queue")?;
    Ok(store.feed_review_queue(limit).await?)
}
