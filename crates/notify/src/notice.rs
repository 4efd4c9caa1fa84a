//! Notices: one per owner and language, from templates (Japanese and English shipped, chosen by
//! each contact's language), with the owner's items as a CSV attachment; delivered by SMTP (plain
//! on loopback, STARTTLS or TLS) with retries and back-off. [`render_in`] renders one in a given
//! language, for a webhook (`crate::webhook` posts it).

use std::collections::BTreeMap;
use std::time::Duration;

use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use mamori_model::{Lang, Org, OrgId};
use serde::Serialize;

use crate::{Observation, OwnerIndex};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NoticeError {
    #[error("template: {0}")]
    Template(String),
    #[error("address {0:?}: {1}")]
    Address(String, String),
    #[error("SMTP URL {0:?}: use smtp://host:port, smtp+starttls://host:port or smtps://host:port")]
    Url(String),
    #[error("SMTP delivery to {to} failed after {attempts} attempts: {message}")]
    Delivery {
        to: String,
        attempts: u32,
        message: String,
    },
}

/// A notice ready to send.
#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    pub org: OrgId,
    pub org_name: String,
    pub lang: Lang,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    pub csv_name: String,
    pub csv: String,
    pub items: usize,
}

/// What a notice asks of its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// To the owner: please check and fix.
    Notice,
    /// To the owner again: the items persist.
    Reminder,
    /// To a (foreign) CSIRT: please have these taken down.
    Takedown,
}

impl NoticeKind {
    /// The name stored with a notice: `notice`, `reminder` or `takedown`.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Notice => "notice",
            NoticeKind::Reminder => "reminder",
            NoticeKind::Takedown => "takedown",
        }
    }
}

fn template(lang: Lang, kind: NoticeKind) -> &'static str {
    match (lang, kind) {
        (Lang::Ja, NoticeKind::Takedown) => include_str!("../templates/takedown.ja.txt"),
        (Lang::En, NoticeKind::Takedown) => include_str!("../templates/takedown.en.txt"),
        (Lang::Ja, _) => include_str!("../templates/notice.ja.txt"),
        (Lang::En, _) => include_str!("../templates/notice.en.txt"),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn items_csv(items: &[&Observation]) -> String {
    let mut out = String::from("kind,value,category,source,seen_at,ip,port,hostname\n");
    for o in items {
        let row = [
            o.kind.as_str().to_owned(),
            o.value.clone(),
            o.category.clone(),
            o.source.clone(),
            o.seen_at.map(|t| t.to_string()).unwrap_or_default(),
            o.ip.map(|i| i.to_string()).unwrap_or_default(),
            o.port.map(|p| p.to_string()).unwrap_or_default(),
            o.hostname.clone().unwrap_or_default(),
        ];
        out.push_str(
            &row.iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

/// Groups observations by owner and renders one notice per owner and contact language.
/// Returns the notices and the observations no member owns (the review queue).
pub fn build<'a>(
    orgs: &[Org],
    index: &OwnerIndex,
    observations: &'a [Observation],
    hub_name: &str,
    date: &str,
) -> Result<(Vec<Notice>, Vec<&'a Observation>), NoticeError> {
    let mut by_owner: BTreeMap<OrgId, Vec<&Observation>> = BTreeMap::new();
    let mut unowned = Vec::new();
    for o in observations {
        match index.owner_of(o) {
            Some(m) => by_owner.entry(m.org).or_default().push(o),
            None => unowned.push(o),
        }
    }
    let mut notices = Vec::new();
    for (org_id, items) in by_owner {
        let Some(org) = orgs.iter().find(|o| o.id == org_id) else {
            continue;
        };
        notices.extend(render(org, &items, hub_name, date, NoticeKind::Notice)?);
    }
    Ok((notices, unowned))
}

/// Renders one organisation's notices (one per contact language) about `items`.
pub fn render(
    org: &Org,
    items: &[&Observation],
    hub_name: &str,
    date: &str,
    kind: NoticeKind,
) -> Result<Vec<Notice>, NoticeError> {
    let mut notices = Vec::new();
    for lang in [Lang::Ja, Lang::En] {
        let to: Vec<String> = org
            .contacts
            .iter()
            .filter(|c| c.lang == lang)
            .map(|c| c.email.clone())
            .collect();
        if to.is_empty() {
            continue;
        }
        notices.push(render_in(org, items, hub_name, date, kind, lang, to)?);
    }
    Ok(notices)
}

/// The language an organisation is written to when no contact's language decides it (a
/// webhook): its first contact's, else Japanese.
pub fn org_lang(org: &Org) -> Lang {
    org.contacts.first().map_or(Lang::Ja, |c| c.lang)
}

/// Renders one notice in `lang` to `to` (e-mail addresses, or the webhook URL).
pub fn render_in(
    org: &Org,
    items: &[&Observation],
    hub_name: &str,
    date: &str,
    kind: NoticeKind,
    lang: Lang,
    to: Vec<String>,
) -> Result<Notice, NoticeError> {
    let env = minijinja::Environment::new();
    let mut categories: BTreeMap<&str, usize> = BTreeMap::new();
    for o in items {
        *categories.entry(o.category.as_str()).or_default() += 1;
    }
    let cats: Vec<_> = categories
        .iter()
        .map(|(n, c)| minijinja::context! { name => n, count => c })
        .collect();
    let csv_name = match kind {
        NoticeKind::Takedown => format!("mamori-takedown-{}-{date}.csv", org.slug),
        _ => format!("mamori-notice-{}-{date}.csv", org.slug),
    };
    let name = org.name(lang).to_owned();
    let body = env
        .render_str(template(lang, kind), minijinja::context! { org => name, hub => hub_name, count => items.len(), categories => cats, file => csv_name })
        .map_err(|e| NoticeError::Template(e.to_string()))?;
    let n = items.len();
    let subject = match (lang, kind) {
        (Lang::Ja, NoticeKind::Takedown) => {
            format!("【{hub_name}】{name} 御中: 不正リソースの削除ご協力のお願い ({n} 件)")
        }
        (Lang::En, NoticeKind::Takedown) => {
            format!("[{hub_name}] Takedown request to {name} ({n} items)")
        }
        (Lang::Ja, k) => format!(
            "【{hub_name}】{}{name} 様: 貴組織に関するセキュリティ上の通知 ({n} 件)",
            if k == NoticeKind::Reminder {
                "【再通知】"
            } else {
                ""
            },
        ),
        (Lang::En, k) => format!(
            "[{hub_name}] {}Security notice for {name} ({n} items)",
            if k == NoticeKind::Reminder {
                "Reminder: "
            } else {
                ""
            },
        ),
    };
    Ok(Notice {
        org: org.id,
        org_name: name,
        lang,
        to,
        subject,
        body,
        csv_name,
        csv: items_csv(items),
        items: items.len(),
    })
}

/// An SMTP sender built from a URL.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Smtp {
    pub fn new(url: &str, from: &str) -> Result<Smtp, NoticeError> {
        let bad = || NoticeError::Url(url.to_owned());
        let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
        let (host, port) = match rest.trim_end_matches('/').rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.parse::<u16>().map_err(|_| bad())?),
            None => (
                rest.trim_end_matches('/').to_owned(),
                if scheme == "smtps" { 465 } else { 25 },
            ),
        };
        let transport = match scheme {
            "smtp" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
                .port(port)
                .build(),
            "smtp+starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)
                .map_err(|_| bad())?
                .port(port)
                .build(),
            "smtps" => AsyncSmtpTransport::<Tokio1Executor>::relay(&host)
                .map_err(|_| bad())?
                .port(port)
                .build(),
            _ => return Err(bad()),
        };
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| NoticeError::Address(from.to_owned(), e.to_string()))?;
        Ok(Smtp { transport, from })
    }

    /// Sends a notice, retrying with back-off (1 s, 2 s, 4 s) on failure.
    pub async fn send(&self, n: &Notice) -> Result<(), NoticeError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(n.subject.clone());
        for to in &n.to {
            builder = builder.to(to
                .parse::<Mailbox>()
                .map_err(|e| NoticeError::Address(to.clone(), e.to_string()))?);
        }
        let msg = builder
            .multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(n.body.clone()))
                    .singlepart(
                        Attachment::new(n.csv_name.clone()).body(
                            n.csv.clone(),
                            ContentType::parse("text/csv; charset=utf-8")
                                .unwrap_or(ContentType::TEXT_PLAIN),
                        ),
                    ),
            )
            .map_err(|e| NoticeError::Template(e.to_string()))?;
        self.deliver(msg, &n.to).await
    }

    /// Sends a plain-text message (UTF-8) to `to`, with the same retries as notices.
    pub async fn send_text(
        &self,
        to: &[String],
        subject: &str,
        body: &str,
    ) -> Result<(), NoticeError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject.to_owned());
        for t in to {
            builder = builder.to(t
                .parse::<Mailbox>()
                .map_err(|e| NoticeError::Address(t.clone(), e.to_string()))?);
        }
        let msg = builder
            .singlepart(SinglePart::plain(body.to_owned()))
            .map_err(|e| NoticeError::Template(e.to_string()))?;
        self.deliver(msg, to).await
    }

    /// Sends with back-off (1 s, 2 s, 4 s) between attempts.
    async fn deliver(&self, msg: Message, to: &[String]) -> Result<(), NoticeError> {
        let mut wait = Duration::from_secs(1);
        let attempts = 4;
        for attempt in 1..=attempts {
            match self.transport.send(msg.clone()).await {
                Ok(_) => return Ok(()),
                Err(e) if attempt == attempts => {
                    return Err(NoticeError::Delivery {
                        to: to.join(", "),
                        attempts,
                        message: e.to_string(),
                    });
                }
                Err(_) => {
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
            }
        }
        Ok(())
    }
}
