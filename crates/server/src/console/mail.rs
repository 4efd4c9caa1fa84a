//! The mail analysis page: upload a message, see the verdict with its reasons in the reader's
//! language, the URLs, attachments and matches with shared information.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Response};
use mamori_model::Lang;

use super::{Console, Flash, Frame, render};
use crate::mail::{self, MailResult};
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
}

pub async fn page(c: Console) -> Response {
    if let Err(r) = c.require_login() {
        return r;
    }
    render(MailPage {
        f: c.frame("mail", Flash::default()),
        result: None,
        signals: vec![],
        from: String::new(),
        bar: 0,
    })
}

pub async fn upload(State(state): State<AppState>, c: Console, mut form: Multipart) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut csrf = String::new();
    let mut message: Option<Vec<u8>> = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_owned();
                match field.bytes().await {
                    Ok(b) if name == "csrf" => csrf = String::from_utf8_lossy(&b).into_owned(),
                    Ok(b) if name == "message" => message = Some(b.to_vec()),
                    Ok(_) => {}
                    Err(e) => return ApiError::Invalid(format!("upload: {e}")).into_response(),
                }
            }
            Ok(None) => break,
            Err(e) => return ApiError::Invalid(format!("upload: {e}")).into_response(),
        }
    }
    if let Err(r) = c.check_csrf(&csrf) {
        return r;
    }
    let Some(raw) = message else {
        return ApiError::Invalid("choose a message file".into()).into_response();
    };
    let result = match mail::analyze(&state.share(), &Actor::from_auth(auth), raw).await {
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
            });
        }
    };
    let signals = result
        .analysis
        .verdict
        .signals
        .iter()
        .map(|s| {
            let text = if c.t.lang == Lang::Ja { &s.ja } else { &s.en };
            format!("+{} {}", s.weight, text)
        })
        .collect();
    let from = result
        .analysis
        .headers
        .from
        .iter()
        .map(|m| match (&m.name, &m.address) {
            (Some(n), Some(a)) => format!("{n} <{a}>"),
            (None, Some(a)) => a.clone(),
            (Some(n), None) => n.clone(),
            (None, None) => String::new(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let bar = u32::from(result.analysis.verdict.score) * 16 / 10;
    render(MailPage {
        f: c.frame("mail", Flash::default()),
        result: Some(result),
        signals,
        from,
        bar,
    })
}
