//! The JSON API under `/api/v1`. Handlers are thin: they resolve the caller ([`Auth`]), call an
//! operation in [`crate::ops`] and shape the answer; the OpenAPI document is generated from their
//! annotations.

mod audit;
mod blocklists;
mod case_evidence;
mod case_requests;
mod cases;
mod feeds;
mod groups;
mod indicators;
mod mail;
mod me;
mod misp;
mod monitor;
pub(crate) mod notices;
mod orgs;
mod playbooks;
mod report_extras;
mod reports;
mod stix;
mod tokens;
mod users;
mod yara;

use serde::{Deserialize, Serialize};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// Pagination parameters shared by list endpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<u32>,
}

/// A page of items with the cursor of the next page (absent on the last page).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PageOf<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> From<mamori_store::Page<T>> for PageOf<T> {
    fn from(p: mamori_store::Page<T>) -> Self {
        PageOf {
            items: p.items,
            next_cursor: p.next_cursor,
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Mamori API",
        description = "The JSON API of the Mamori cyber-defence hub. Authenticate with `Authorization: Bearer mmr_...` (an API token) or, from the console, the session cookie plus `X-CSRF-Token` on changes. Errors are RFC 9457 problem+json.",
        license(name = "Apache-2.0")
    ),
    components(schemas(crate::error::Problem)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API routes and their OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(me::router())
        .merge(monitor::router())
        .merge(orgs::router())
        .merge(users::router())
        .merge(tokens::router())
        .merge(groups::router())
        .merge(audit::router())
        .merge(reports::router())
        .merge(report_extras::router())
        .merge(feeds::router())
        .merge(indicators::router())
        .merge(misp::router())
        .merge(stix::router())
        .merge(mail::router())
        .merge(blocklists::router())
        .merge(cases::router())
        .merge(notices::router())
        .merge(case_evidence::router())
        .merge(case_requests::router())
        .merge(playbooks::router())
        .merge(yara::router())
}
