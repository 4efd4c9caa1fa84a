//! Two more ways a case opens besides by hand and from alerts: from a suspicious mail (analysed
//! by `mamori-mail`; the message becomes evidence, its sender domain, URLs and attachment hashes
//! observables, the verdict a timeline entry, under the targeted-mail playbook) and from a
//! member's incident report (a case owned by the hub operator's organisation with the reporting
//! organisation taking part as the victim, so that members who may not work cases can still
//! raise one).

use mamori_model::{Role, Scope, Tlp};
use mamori_store::cases::NewCase;
use serde::Deserialize;
use serde_json::json;

use crate::ApiError;
use crate::case_notify::CaseEvent;
use crate::cases::{self, CaseCtx, CaseInput, CaseView};
use crate::evidence::{self, EvidenceMeta};
use crate::ops::{Actor, audit};

/// Opens a case from a raw message (RFC 5322) for the actor's organisation.
pub async fn from_mail(
    cx: &CaseCtx<'_>,
    mail: &crate::mail::MailCtx<'_>,
    actor: &Actor,
    raw: Vec<u8>,
    tlp: Tlp,
) -> Result<CaseView, ApiError> {
    cases::require_write(actor)?;
    // Stored like any submitted message: it joins the sample store and the campaigns, and
    // the case links to it.
    let result = crate::mail_store::submit(
        mail,
        actor,
        raw.clone(),
        &crate::mail_store::Submission {
            tlp: Some(tlp),
            sharing_group: None,
        },
    )
    .await?;
    let stored = result.stored.as_ref().map(|s| s.id.clone());
    let a = &result.analysis;
    let score = a.verdict.score;
    let severity = match score {
        70.. => "high",
        40.. => "medium",
        _ => "low",
    };
    let subject = a
        .headers
        .subject
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "(件名なし / no subject)".into());
    let title: String = format!("標的型メール / Targeted mail: {subject}")
        .chars()
        .take(500)
        .collect();
    let description = a
        .verdict
        .signals
        .iter()
        .map(|s| format!("- {} / {}", s.ja, s.en))
        .collect::<Vec<_>>()
        .join("\n");
    let view = cases::create(
        cx,
        actor,
        &CaseInput {
            title,
            description,
            severity: severity.into(),
            tlp,
            playbook: Some("targeted-mail".into()),
        },
    )
    .await?;
    let case = view.case;
    // The message itself, as evidence with its chain of custody.
    let (c, mut writer) = evidence::begin_upload(cx, actor, &case.id).await?;
    writer.write(&raw).await?;
    evidence::finish_upload(
        cx,
        actor,
        &c,
        writer,
        &EvidenceMeta {
            filename: "message.eml".into(),
            content_type: "message/rfc822".into(),
            description: subject.clone(),
        },
    )
    .await?;
    let values = crate::mail::lookups(a);
    for (kind, value) in &values {
        cx.store
            .add_case_observable(&case.id, kind.as_str(), value, "mail", &actor.name)
            .await?;
    }
    let mut text = format!(
        "メール解析: スコア {score}/100、URL {} 件、添付 {} 件、共有情報との一致 {} 件 / Mail analysed: score {score}/100, {} URLs, {} attachments, {} matches in shared information",
        a.urls.len(),
        a.attachments.len(),
        result.matches.len(),
        a.urls.len(),
        a.attachments.len(),
        result.matches.len(),
    );
    if let Some(id) = &stored {
        text.push_str(&format!("\n解析結果 / Analysis: /mail/analyses/{id}"));
    }
    cx.store
        .add_timeline_entry(
            &case.id,
            mamori_store::now_millis(),
            "mail",
            &text,
            actor.principal.as_ref().map(|p| p.user_id),
        )
        .await?;
    audit(
        cx.store,
        actor,
        "case.from_mail",
        "case",
        &case.id,
        Some(case.tlp),
        json!({"mail": a.sha256, "score": score, "observables": values.len(), "analysis": stored}),
    )
    .await?;
    cases::get(cx, actor, &case.id).await
}

/// A member's incident report.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentReport {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// An incident type (playbook name) whose tasks the case starts with.
    pub category: Option<String>,
    /// low, medium, high, critical (default medium).
    pub severity: Option<String>,
    /// Default AMBER.
    pub tlp: Option<Tlp>,
    /// When it happened (ms since the epoch); default now.
    pub occurred_at: Option<i64>,
}

/// Opens a case for the hub operator from a member's report; the reporting organisation takes
/// part as the victim. Any user with write access may report (members too); auditors may not.
pub async fn report_incident(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    input: &IncidentReport,
) -> Result<CaseView, ApiError> {
    let Some(p) = &actor.principal else {
        return Err(ApiError::Invalid(
            "incidents are reported by a user of a member organisation".into(),
        ));
    };
    if p.role == Role::Auditor || !p.has_scope(Scope::Write) {
        return Err(ApiError::forbidden("report incidents"));
    }
    let severity = input.severity.clone().unwrap_or_else(|| "medium".into());
    if !cases::SEVERITIES.contains(&severity.as_str()) {
        return Err(ApiError::Invalid(format!(
            "severity must be one of {:?}",
            cases::SEVERITIES
        )));
    }
    let now = mamori_store::now_millis();
    let tasks = match &input.category {
        Some(name) if !name.is_empty() => crate::playbooks::find(cx.store, name)
            .await?
            .ok_or_else(|| ApiError::Invalid(format!("unknown incident type {name:?}")))?
            .tasks
            .into_iter()
            .map(|t| (t.title, Some(now + i64::from(t.hours) * 3_600_000)))
            .collect(),
        _ => Vec::new(),
    };
    let hub = cx
        .store
        .get_org_by_slug(crate::bootstrap::HUB_ORG)
        .await
        .map_err(|_| ApiError::Unavailable)?;
    let case = cx
        .store
        .create_case(&NewCase {
            title: input.title.clone(),
            description: input.description.clone(),
            severity,
            tlp: input.tlp.unwrap_or(Tlp::Amber),
            owner_org: hub.id,
            created_by: Some(p.user_id),
            tasks,
            incident_type: input.category.clone().unwrap_or_default(),
        })
        .await?;
    if p.org_id != hub.id {
        cx.store
            .add_case_participant(&case.id, p.org_id, "victim")
            .await?;
    }
    let reporter = cx
        .store
        .get_org(p.org_id)
        .await
        .map(|o| format!("{} / {}", o.name_ja, o.name_en))
        .unwrap_or_else(|_| p.org_id.to_string());
    cx.store
        .add_timeline_entry(
            &case.id,
            input.occurred_at.unwrap_or(now),
            "report",
            &format!(
                "インシデント報告 / Incident reported by {} ({reporter})",
                p.username
            ),
            Some(p.user_id),
        )
        .await?;
    audit(
        cx.store,
        actor,
        "case.report_incident",
        "case",
        &case.id,
        Some(case.tlp),
        json!({"category": input.category}),
    )
    .await?;
    cx.notifier.send(
        cx.store,
        &case,
        vec![hub.id],
        Vec::new(),
        CaseEvent::Reported { by: reporter },
    );
    cases::get(cx, actor, &case.id).await
}
