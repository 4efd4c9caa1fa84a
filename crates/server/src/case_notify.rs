//! Case notifications: on assignment, a new coordination request, a change of case or request
//! status and an SLA breach, the organisations concerned are told by e-mail (their contacts, in
//! each contact's language, through `mamori_notify`'s SMTP delivery) and by a JSON POST to their
//! webhook (`mamori_notify::webhook`, with retries). Delivery runs in the background so that the
//! request that caused it is not held up by retries; failures are logged.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use mamori_config::Config;
use mamori_model::{Lang, OrgId};
use mamori_notify::notice::Smtp;
use mamori_notify::webhook::Webhook;
use mamori_store::Store;
use mamori_store::cases::Case;
use serde_json::json;

/// What happened in a case.
#[derive(Debug, Clone)]
pub enum CaseEvent {
    Assigned { task: String, assignee: String },
    NewRequest { kind: String, title: String },
    RequestStatus { title: String, status: String },
    StatusChanged { status: String },
    SlaBreach { kind: String, due_at: i64 },
    Reported { by: String },
}

impl CaseEvent {
    /// The event name in webhook payloads.
    pub fn name(&self) -> &'static str {
        match self {
            CaseEvent::Assigned { .. } => "case.task.assigned",
            CaseEvent::NewRequest { .. } => "case.request.created",
            CaseEvent::RequestStatus { .. } => "case.request.status",
            CaseEvent::StatusChanged { .. } => "case.status",
            CaseEvent::SlaBreach { .. } => "case.sla_breach",
            CaseEvent::Reported { .. } => "case.reported",
        }
    }

    fn detail(&self) -> serde_json::Value {
        match self {
            CaseEvent::Assigned { task, assignee } => json!({"task": task, "assignee": assignee}),
            CaseEvent::NewRequest { kind, title } => json!({"kind": kind, "title": title}),
            CaseEvent::RequestStatus { title, status } => json!({"title": title, "status": status}),
            CaseEvent::StatusChanged { status } => json!({"status": status}),
            CaseEvent::SlaBreach { kind, due_at } => json!({"kind": kind, "due_at": due_at}),
            CaseEvent::Reported { by } => json!({"by": by}),
        }
    }

    /// One line saying what happened, in `lang`.
    fn line(&self, lang: Lang) -> String {
        match (self, lang) {
            (CaseEvent::Assigned { task, assignee }, Lang::Ja) => {
                format!("タスク「{task}」が {assignee} さんに割り当てられました。")
            }
            (CaseEvent::Assigned { task, assignee }, Lang::En) => {
                format!("Task \"{task}\" was assigned to {assignee}.")
            }
            (CaseEvent::NewRequest { kind, title }, Lang::Ja) => {
                format!("新しい調整依頼 ({kind}):「{title}」")
            }
            (CaseEvent::NewRequest { kind, title }, Lang::En) => {
                format!("New coordination request ({kind}): \"{title}\"")
            }
            (CaseEvent::RequestStatus { title, status }, Lang::Ja) => {
                format!("調整依頼「{title}」の状態が {status} になりました。")
            }
            (CaseEvent::RequestStatus { title, status }, Lang::En) => {
                format!("Coordination request \"{title}\" is now {status}.")
            }
            (CaseEvent::StatusChanged { status }, Lang::Ja) => {
                format!("インシデントの状態が {status} に変わりました。")
            }
            (CaseEvent::StatusChanged { status }, Lang::En) => {
                format!("The case status changed to {status}.")
            }
            (CaseEvent::SlaBreach { kind, .. }, Lang::Ja) => format!(
                "SLA超過: {}の期限を過ぎました。",
                if kind == "acknowledge" {
                    "受付"
                } else {
                    "封じ込め"
                }
            ),
            (CaseEvent::SlaBreach { kind, .. }, Lang::En) => {
                format!("SLA breach: the time to {kind} has run out.")
            }
            (CaseEvent::Reported { by }, Lang::Ja) => {
                format!("{by} からインシデントが報告されました。")
            }
            (CaseEvent::Reported { by }, Lang::En) => format!("{by} reported an incident."),
        }
    }
}

/// Sends case notifications. Without an SMTP URL only webhooks are sent.
#[derive(Clone)]
pub struct Notifier {
    smtp: Option<Arc<Smtp>>,
    webhook: Option<Webhook>,
    public_url: Option<String>,
}

impl Notifier {
    /// A notifier from `[notify]` and `public_url`; a broken SMTP setting is logged and leaves
    /// e-mail off (configuration validation already checked the syntax).
    pub fn from_config(config: &Config) -> Notifier {
        let smtp = config.notify.smtp_url.as_deref().and_then(|url| {
            match Smtp::new(url, &config.notify.from) {
                Ok(s) => Some(Arc::new(s)),
                Err(e) => {
                    tracing::error!(error = %e, "case e-mail notifications are off");
                    None
                }
            }
        });
        let webhook = match Webhook::new(4, Duration::from_millis(500)) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::error!(error = %e, "case webhook notifications are off");
                None
            }
        };
        Notifier {
            smtp,
            webhook,
            public_url: config.public_url.clone(),
        }
    }

    /// Notifies `orgs` (their contacts and webhooks) and `emails` about `event` in `case`, in
    /// the background.
    pub fn send(
        &self,
        store: &Store,
        case: &Case,
        orgs: Vec<OrgId>,
        emails: Vec<(String, Lang)>,
        event: CaseEvent,
    ) {
        let this = self.clone();
        let store = store.clone();
        let case = case.clone();
        tokio::spawn(async move { this.deliver(&store, &case, &orgs, emails, &event).await });
    }

    async fn deliver(
        &self,
        store: &Store,
        case: &Case,
        orgs: &[OrgId],
        emails: Vec<(String, Lang)>,
        event: &CaseEvent,
    ) {
        let mut to: BTreeSet<(String, Lang)> = emails.into_iter().collect();
        let mut hooks = Vec::new();
        for org in orgs {
            match store.get_org(*org).await {
                Ok(o) => to.extend(o.contacts.iter().map(|c| (c.email.clone(), c.lang))),
                Err(e) => tracing::warn!(error = %e, %org, "notification: organisation"),
            }
            match store.org_webhook(*org).await {
                Ok(Some(url)) => hooks.push(url),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, %org, "notification: webhook"),
            }
        }
        if let Some(smtp) = &self.smtp {
            for lang in [Lang::Ja, Lang::En] {
                let rcpt: Vec<String> = to
                    .iter()
                    .filter(|(_, l)| *l == lang)
                    .map(|(e, _)| e.clone())
                    .collect();
                if rcpt.is_empty() {
                    continue;
                }
                let (subject, body) = self.mail(case, event, lang);
                if let Err(e) = smtp.send_text(&rcpt, &subject, &body).await {
                    tracing::warn!(error = %e, case = %case.id, "case e-mail notification failed");
                }
            }
        }
        if let Some(w) = &self.webhook {
            let payload = json!({
                "event": event.name(),
                "at": mamori_store::now_millis(),
                "case": {
                    "id": case.id,
                    "title": case.title,
                    "severity": case.severity,
                    "tlp": case.tlp,
                    "status": case.status,
                    "url": self.case_url(case),
                },
                "detail": event.detail(),
            });
            for url in hooks {
                if let Err(e) = w.post(&url, &payload).await {
                    tracing::warn!(error = %e, case = %case.id, "case webhook notification failed");
                }
            }
        }
    }

    fn case_url(&self, case: &Case) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|u| format!("{}/cases/{}", u.trim_end_matches('/'), case.id))
    }

    fn mail(&self, case: &Case, event: &CaseEvent, lang: Lang) -> (String, String) {
        let tlp = case.tlp.as_str();
        let line = event.line(lang);
        let link = self.case_url(case).unwrap_or_default();
        match lang {
            Lang::Ja => (
                format!("【Mamori】[TLP:{tlp}] インシデント「{}」", case.title),
                format!(
                    "インシデント「{}」(深刻度 {}、状態 {})\n\n{line}\n\n{link}\n\nこの通知は TLP:{tlp} です。\n",
                    case.title, case.severity, case.status
                ),
            ),
            Lang::En => (
                format!("[Mamori] [TLP:{tlp}] Case \"{}\"", case.title),
                format!(
                    "Case \"{}\" (severity {}, status {})\n\n{line}\n\n{link}\n\nThis notification is TLP:{tlp}.\n",
                    case.title, case.severity, case.status
                ),
            ),
        }
    }
}
