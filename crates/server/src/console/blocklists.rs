//! The block-list page: the profiles devices poll, and for the chosen one (`?profile=NAME`,
//! default `default`) a preview of what it gives the reader now: entries by kind and by
//! format, the first entries of each export, the ETag and the polling URLs. The preview comes
//! from `blocklist_profiles::preview`, the selection devices are served by, so it shows only
//! what the reader's organisation may see. Hub administrators create, change and delete
//! profiles with the forms on the page.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{Console, Flash, Frame, back, fmt_time, render, urlencode};
use crate::blocklist_profiles::{self, Preview, ProfileInput};
use crate::ops::Actor;
use crate::{ApiError, AppState};

/// Entries shown per format.
const PREVIEW_ENTRIES: usize = 10;

/// One profile as the page lists it.
struct ProfileLine {
    name: String,
    description: String,
    max_tlp: String,
    min_score: u8,
    kinds: String,
    allow: usize,
    updated: String,
}

#[derive(Template)]
#[template(path = "blocklists.html")]
struct BlocklistsPage {
    f: Frame,
    profiles: Vec<ProfileLine>,
    preview: Preview,
    /// (kind, entries)
    by_kind: Vec<(String, usize)>,
    shown: usize,
    /// The previewed profile's kinds and allow-list as the form shows them.
    kinds_text: String,
    allow_text: String,
    /// TLP ceilings a profile may have.
    tlps: &'static [&'static str],
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    profile: Option<String>,
    #[serde(flatten)]
    flash: Flash,
}

pub async fn page(
    State(state): State<AppState>,
    c: Console,
    Query(q): Query<PageQuery>,
) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let actor = Actor::from_auth(auth);
    let profiles = match blocklist_profiles::list(&state.store).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let name = q
        .profile
        .unwrap_or_else(|| blocklist_profiles::DEFAULT_PROFILE.to_owned());
    let base = state.config.public_url.clone().unwrap_or_default();
    let preview =
        match blocklist_profiles::preview(&state.share(), &actor, &name, PREVIEW_ENTRIES, &base)
            .await
        {
            Ok(p) => p,
            Err(e) => return e.into_response(),
        };
    let all = c.t.get("blocklist.all_kinds").to_owned();
    render(BlocklistsPage {
        f: c.frame("blocklists", q.flash),
        profiles: profiles
            .into_iter()
            .map(|p| ProfileLine {
                kinds: if p.kinds.is_empty() {
                    all.clone()
                } else {
                    p.kinds
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                max_tlp: p.max_tlp.as_str().to_owned(),
                min_score: p.min_score,
                allow: p.allow.len(),
                updated: if p.updated_at > 0 {
                    fmt_time(p.updated_at)
                } else {
                    String::new()
                },
                description: p.description,
                name: p.name,
            })
            .collect(),
        by_kind: preview
            .by_kind
            .iter()
            .map(|(k, n)| (k.as_str().to_owned(), *n))
            .collect(),
        shown: PREVIEW_ENTRIES,
        kinds_text: preview
            .profile
            .kinds
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        allow_text: preview.profile.allow.join("\n"),
        tlps: &["CLEAR", "GREEN", "AMBER"],
        preview,
    })
}

#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    max_tlp: String,
    #[serde(default)]
    min_score: String,
    /// Comma-separated kinds; empty for all.
    #[serde(default)]
    kinds: String,
    /// One value per line.
    #[serde(default)]
    allow: String,
}

fn input(form: &ProfileForm) -> Result<ProfileInput, ApiError> {
    let bad = |what: &str| ApiError::Invalid(what.to_owned());
    Ok(ProfileInput {
        description: form.description.clone(),
        max_tlp: form
            .max_tlp
            .parse()
            .map_err(|_| bad("TLP ceiling: CLEAR, GREEN or AMBER"))?,
        min_score: form
            .min_score
            .trim()
            .parse()
            .map_err(|_| bad("minimum score: 0-100"))?,
        kinds: form
            .kinds
            .split([',', ' '])
            .filter(|k| !k.is_empty())
            .map(|k| {
                k.parse()
                    .map_err(|_| bad(&format!("kind {k:?}: domain, url, ipv4, ipv6 or cidr")))
            })
            .collect::<Result<_, _>>()?,
        allow: form.allow.lines().map(str::to_owned).collect(),
    })
}

/// Creates or replaces a profile (hub administrators), then shows its preview.
pub async fn save(
    State(state): State<AppState>,
    c: Console,
    Form(form): Form<ProfileForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let name = form.name.trim().to_owned();
    let r = match input(&form) {
        Ok(i) => blocklist_profiles::save(
            &state.store,
            &Actor::from_auth(auth),
            &name,
            i,
            mamori_store::now_millis(),
        )
        .await
        .map(|_| "blocklist.saved"),
        Err(e) => Err(e),
    };
    match r {
        Ok(key) => axum::response::Redirect::to(&format!(
            "/blocklists?profile={}&ok={key}",
            urlencode(&name)
        ))
        .into_response(),
        Err(e) => back("/blocklists", Err(e)),
    }
}

/// Deletes a profile (hub administrators).
pub async fn delete(
    State(state): State<AppState>,
    c: Console,
    Path(name): Path<String>,
    Form(form): Form<super::CsrfOnly>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let r = blocklist_profiles::delete(&state.store, &Actor::from_auth(auth), &name)
        .await
        .map(|()| "blocklist.deleted");
    back("/blocklists", r)
}
