//! `/api/v1/mail`: analyse a suspicious message (raw RFC 5322 bytes in the body) and store it;
//! list and read stored analyses, download their samples as an encrypted ZIP, and read the
//! campaigns they cluster into.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use mamori_model::Tlp;
use mamori_store::PageRequest;
use mamori_store::mail_analyses::{MailAnalysisQuery, MailAnalysisSummary};
use mamori_store::mail_campaigns::CampaignSummary;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::PageOf;
use crate::auth::Auth;
use crate::error::{ApiPath, ApiQuery, Problem};
use crate::mail::MailResult;
use crate::mail_campaigns::{self, CampaignView};
use crate::mail_samples::{self, SampleZip};
use crate::mail_store::{self, MailAnalysisView, Submission};
use crate::ops::Actor;
use crate::{ApiError, AppState};

/// Analyses one message: headers, Received chain, authentication results, URLs, attachments
/// (recursively, PPAP zips included), the hub's enabled YARA rule sets over every part, a
/// verdict with reasons in Japanese and English, and the shared indicators it touches. The
/// analysis is stored under the caller's organisation with
/// the given marking (default TLP:AMBER), the message and every extracted file go to the sample
/// store, and the analysis joins (or starts) a campaign; `stored` names both.
#[utoipa::path(post, path = "/api/v1/mail", tag = "mail", params(Submission),
    request_body(content = String, content_type = "message/rfc822"),
    responses((status = 200, body = MailResult), (status = 403, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
async fn analyze_mail(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(sub): ApiQuery<Submission>,
    body: Body,
) -> Result<Json<MailResult>, ApiError> {
    let mcx = state.mail();
    let raw = crate::mail_upload::read_body(body, mcx.limits.max_message_bytes).await?;
    Ok(Json(
        mail_store::submit(&mcx, &Actor::from_auth(&auth), raw, &sub).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AnalysisListQuery {
    /// Text to find in subject or From (substring, any case).
    pub q: Option<String>,
    /// Only this TLP level.
    #[param(value_type = Option<String>)]
    pub tlp: Option<Tlp>,
    /// Only members of this campaign.
    pub campaign: Option<String>,
    /// Only analyses scoring at least this.
    pub min_score: Option<i64>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Stored analyses the caller may see under TLP and sharing groups, oldest first.
#[utoipa::path(get, path = "/api/v1/mail/analyses", tag = "mail", params(AnalysisListQuery),
    responses((status = 200, body = PageOf<MailAnalysisSummary>), (status = 401, body = Problem)))]
async fn list_analyses(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<AnalysisListQuery>,
) -> Result<Json<PageOf<MailAnalysisSummary>>, ApiError> {
    let page = PageRequest::from_cursor(q.cursor.as_deref(), q.limit)?;
    let query = MailAnalysisQuery {
        text: q.q,
        tlp: q.tlp,
        campaign: q.campaign,
        min_score: q.min_score,
    };
    let page = mail_store::list(&state.mail(), &Actor::from_auth(&auth), &query, &page).await?;
    Ok(Json(page.into()))
}

/// One stored analysis with its feature record, the full analysis and its sample files. An
/// analysis the caller may not see is reported as not found.
#[utoipa::path(get, path = "/api/v1/mail/analyses/{id}", tag = "mail", params(("id" = String, Path)),
    responses((status = 200, body = MailAnalysisView), (status = 404, body = Problem)))]
async fn get_analysis(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MailAnalysisView>, ApiError> {
    Ok(Json(
        mail_store::get(&state.mail(), &Actor::from_auth(&auth), &id).await?,
    ))
}

/// The original message and every extracted file of an analysis as a ZIP whose entries are
/// AES-256 encrypted with the password `infected` (audited; 404 for readers who may not see
/// the analysis).
#[utoipa::path(get, path = "/api/v1/mail/analyses/{id}/samples.zip", tag = "mail", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/zip", body = Vec<u8>), (status = 404, body = Problem)))]
async fn download_samples(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let z = mail_samples::download(&state.mail(), &Actor::from_auth(&auth), &id).await?;
    Ok(zip_response(z))
}

/// A sample ZIP as an attachment response (also used by the console).
pub(crate) fn zip_response(z: SampleZip) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", z.name),
            ),
            (header::CONTENT_LENGTH, z.size.to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(tokio_util::io::ReaderStream::new(z.file)),
    )
        .into_response()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CampaignListQuery {
    /// Only campaigns with at least this many members the caller may see (default 1).
    pub min_members: Option<i64>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Campaigns with members the caller may see; sizes and first/last sighting count only those.
#[utoipa::path(get, path = "/api/v1/mail/campaigns", tag = "mail", params(CampaignListQuery),
    responses((status = 200, body = PageOf<CampaignSummary>), (status = 401, body = Problem)))]
async fn list_campaigns(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<CampaignListQuery>,
) -> Result<Json<PageOf<CampaignSummary>>, ApiError> {
    let page = PageRequest::from_cursor(q.cursor.as_deref(), q.limit)?;
    let page = mail_campaigns::list(
        &state.mail(),
        &Actor::from_auth(&auth),
        q.min_members.unwrap_or(1),
        &page,
    )
    .await?;
    Ok(Json(page.into()))
}

/// One campaign: the members the caller may see, the features they share, first and last
/// seen. A campaign with no member the caller may see is reported as not found.
#[utoipa::path(get, path = "/api/v1/mail/campaigns/{id}", tag = "mail", params(("id" = String, Path)),
    responses((status = 200, body = CampaignView), (status = 404, body = Problem)))]
async fn get_campaign(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CampaignView>, ApiError> {
    Ok(Json(
        mail_campaigns::get(&state.mail(), &Actor::from_auth(&auth), &id).await?,
    ))
}

pub fn router() -> OpenApiRouter<AppState> {
    // Messages with attachments exceed the API's general body limit; the handler stops at
    // `[mail] max_message_bytes` instead.
    OpenApiRouter::new()
        .routes(routes!(analyze_mail))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .routes(routes!(list_analyses))
        .routes(routes!(get_analysis))
        .routes(routes!(download_samples))
        .routes(routes!(list_campaigns))
        .routes(routes!(get_campaign))
}
