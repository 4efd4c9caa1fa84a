//! The mail analysis page: upload a message (stored with the TLP chosen on the form), see the
//! verdict with its reasons in the reader's language, the URLs, attachments and matches with
//! shared information, and a link to the stored analysis and its campaign.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Response};
use mamori_model::Lang;

use super::mail_files::{FileTree, file_lines};
use super::{Console, Flash, Frame, render};
use crate::mail::MailResult;
use crate::mail_store::{self, Submission};
use crate::ops::Actor;
use crate::{ApiError, AppState};

#[derive(Template)]
#[template(path = "mail.html")]
struct MailPage {
    f: Frame,
    result: Option<MailResult>,
    signals: Vec<String>,
    from: String,
    bar: u32,
    share_title: String,
    share_values: String,
    tlps: Vec<&'static str>,
    /// TLP levels offered for the stored analysis.
    upload_tlps: Vec<&'static str>,
    /// (id, name) of the sharing groups the analysis may also go to.
    groups: Vec<(String, String)>,
    /// Attachments and, indented below each, what its archive or disk image holds.
    files: FileTree,
}

/// The verdict's signals as `+weight reason` lines in the reader's language.
pub(super) fn signal_lines(verdict: &mamori_mail::verdict::Verdict, lang: Lang) -> Vec<String> {
    verdict
        .signals
        .iter()
        .map(|s| {
            let text = if lang == Lang::Ja { &s.ja } else { &s.en };
            format!("+{} {}", s.weight, text)
        })
        .collect()
}

fn tlp_names() -> Vec<&'static str> {
    mamori_model::Tlp::ALL.iter().map(|t| t.as_str()).collect()
}

pub async fn page(State(state): State<AppState>, c: Console) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let groups = match super::sharing::groups_of(&state, auth.user.org_id).await {
        Ok(g) => g,
        Err(e) => return e.into_response(),
    };
    render(MailPage {
        f: c.frame("mail", Flash::default()),
        result: None,
        signals: vec![],
        from: String::new(),
        bar: 0,
        share_title: String::new(),
        share_values: String::new(),
        tlps: vec![],
        upload_tlps: tlp_names(),
        groups,
        files: FileTree::empty(),
    })
}

pub async fn upload(State(state): State<AppState>, c: Console, form: Multipart) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut form =
        match crate::mail_upload::read_form(form, state.config.mail.max_message_bytes).await {
            Ok(f) => f,
            Err(e) => return e.into_response(),
        };
    if let Err(r) = c.check_csrf(form.get("csrf")) {
        return r;
    }
    let (tlp, group) = (
        form.get("tlp").to_owned(),
        form.get("sharing_group").to_owned(),
    );
    let Some(raw) = form.message.take() else {
        return ApiError::Invalid("choose a message file".into()).into_response();
    };
    let sub = Submission {
        tlp: match tlp.trim() {
            "" => None,
            t => match t.parse::<mamori_model::Tlp>() {
                Ok(t) => Some(t),
                Err(e) => return ApiError::Invalid(e.to_string()).into_response(),
            },
        },
        sharing_group: match group.trim() {
            "" => None,
            g => match g.parse::<mamori_model::GroupId>() {
                Ok(g) => Some(g),
                Err(_) => {
                    return ApiError::Invalid(format!("unknown sharing group {g:?}"))
                        .into_response();
                }
            },
        },
    };
    let groups = match super::sharing::groups_of(&state, auth.user.org_id).await {
        Ok(g) => g,
        Err(e) => return e.into_response(),
    };
    let result = match mail_store::submit(&state.mail(), &Actor::from_auth(auth), raw, &sub).await {
        Ok(r) => r,
        Err(e) => {
            return render(MailPage {
                f: c.frame(
                    "mail",
                    Flash {
                        ok: None,
                        err: Some(e.to_string()),
                    },
                ),
                result: None,
                signals: vec![],
                from: String::new(),
                bar: 0,
                share_title: String::new(),
                share_values: String::new(),
                tlps: vec![],
                upload_tlps: tlp_names(),
                groups,
                files: FileTree::empty(),
            });
        }
    };
    let signals = signal_lines(&result.analysis.verdict, c.t.lang);
    let from = mail_store::from_text(&result.analysis);
    let bar = u32::from(result.analysis.verdict.score) * 16 / 10;
    let a = &result.analysis;
    let mut values: Vec<String> = Vec::new();
    if let Some(d) = a.headers.from.first().and_then(|m| m.domain.clone()) {
        values.push(format!("domain {d}"));
    }
    for u in a.urls.iter().take(50) {
        values.push(format!("url {}", u.url));
    }
    for f in a.files() {
        let v = format!("sha256 {}", f.sha256);
        if !values.contains(&v) {
            values.push(v);
        }
    }
    values.dedup();
    let share_title = format!(
        "標的型メール / Targeted mail: {}",
        a.headers
            .subject
            .clone()
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect::<String>()
    );
    let may_share = mamori_access::may_write(&auth.principal);
    let files = file_lines(a, &c.t);
    render(MailPage {
        f: c.frame("mail", Flash::default()),
        signals,
        from,
        bar,
        share_title,
        share_values: if may_share {
            values.join("\n")
        } else {
            String::new()
        },
        tlps: tlp_names(),
        upload_tlps: tlp_names(),
        groups,
        files,
        result: Some(result),
    })
}

#[derive(Debug, serde::Deserialize)]
pub struct ShareForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    tlp: String,
    #[serde(default)]
    indicators: String,
    #[serde(default)]
    anonymous: Option<String>,
}

/// Shares the indicators of an analysed mail as a report (analysts).
pub async fn share(
    State(state): State<AppState>,
    c: Console,
    axum::Form(form): axum::Form<ShareForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let input = (|| -> Result<crate::sharing::ReportInput, ApiError> {
        let tlp = form
            .tlp
            .parse::<mamori_model::Tlp>()
            .map_err(|e| ApiError::Invalid(e.to_string()))?;
        let values = super::sharing::parse_values(&form.indicators, "indicators")?;
        Ok(crate::sharing::ReportInput {
            title: form.title.clone(),
            description: String::new(),
            tlp,
            sharing_group: None,
            recipients: vec![],
            confidence: None,
            labels: vec!["targeted-mail".into()],
            attack_techniques: vec!["T1566".into()],
            anonymous: form.anonymous.is_some(),
            indicators: values
                .into_iter()
                .map(|(kind, value)| crate::sharing::IndicatorInput {
                    kind: Some(kind),
                    value: Some(value),
                    pattern: None,
                    description: String::new(),
                    valid_from: None,
                    valid_until: None,
                    kill_chain_phases: vec![],
                    confidence: None,
                })
                .collect(),
            observables: vec![],
        })
    })();
    let result = match input {
        Ok(i) => crate::sharing::create_report(&state.share(), &Actor::from_auth(auth), &i).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(v) => {
            axum::response::Redirect::to(&format!("/reports/{}?ok=report.created", v.report.id))
                .into_response()
        }
        Err(e) => super::back("/reports", Err(e)),
    }
}
