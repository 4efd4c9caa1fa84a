//! The block-list page: the profiles devices poll, and for the chosen one (`?profile=NAME`,
//! default `default`) a preview of what it gives the reader now: entries by kind and by
//! format, the first entries of each export, the ETag and the polling URLs. The preview comes
//! from `blocklist_profiles::preview`, the selection devices are served by, so it shows only
//! what the reader's organisation may see.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{Console, Flash, Frame, fmt_time, render};
use crate::AppState;
use crate::blocklist_profiles::{self, Preview};
use crate::ops::Actor;

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
        preview,
    })
}
