//! Campaigns of stored mail analyses as a reader sees them. The store computes members, first
//! and last sighting and shared features from the member analyses the access policy's filter
//! admits; a campaign none of whose members the reader may see is "not found".

use mamori_store::mail_analyses::MailAnalysisSummary;
use mamori_store::mail_campaigns::{CampaignSummary, SharedFeature};
use mamori_store::{Page, PageRequest};
use serde::Serialize;

use crate::ApiError;
use crate::mail::MailCtx;
use crate::mail_targets::{OrgDirectory, TargetOrg, recipient_domains};
use crate::ops::{Actor, audit_read};
use crate::sharing;

/// Members whose recipients are read for a campaign's targets (the first in order of sighting).
const MAX_MEMBERS_FOR_TARGETS: usize = 500;

/// One campaign: the visible members in order of sighting and what they share.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CampaignView {
    pub id: String,
    /// Earliest and latest `seen_at` of the visible members (ms since the epoch).
    pub first_seen: i64,
    pub last_seen: i64,
    pub members: Vec<MailAnalysisSummary>,
    /// Feature tokens shared by at least two visible members.
    pub shared_features: Vec<SharedFeature>,
    /// Member organisations the visible members were addressed to, with how many recipient
    /// addresses (over those members) each had.
    pub target_orgs: Vec<TargetOrg>,
}

/// Campaigns with at least `min_members` members the actor may see.
pub async fn list(
    cx: &MailCtx<'_>,
    actor: &Actor,
    min_members: i64,
    page: &PageRequest,
) -> Result<Page<CampaignSummary>, ApiError> {
    Ok(cx
        .share
        .store
        .list_mail_campaigns(&sharing::filter(actor), min_members, page)
        .await?)
}

/// One campaign as the actor may see it.
pub async fn get(cx: &MailCtx<'_>, actor: &Actor, id: &str) -> Result<CampaignView, ApiError> {
    let filter = sharing::filter(actor);
    let members = cx.share.store.mail_campaign_members(&filter, id).await?;
    let (Some(first), Some(last)) = (
        members.iter().map(|m| m.seen_at).min(),
        members.iter().map(|m| m.seen_at).max(),
    ) else {
        return Err(ApiError::NotFound("campaign".into()));
    };
    // A campaign shows its members' subjects and senders: its read is audited like theirs,
    // at the most restrictive marking among the members shown.
    if let Some(strictest) = members.iter().map(|m| m.tlp).max() {
        audit_read(cx.share.store, actor, "mail_campaign", id, strictest).await?;
    }
    let shared_features = cx
        .share
        .store
        .mail_campaign_shared_features(&filter, id)
        .await?;
    let directory = OrgDirectory::load(cx.share.store).await?;
    let mut domains = Vec::new();
    for m in members.iter().take(MAX_MEMBERS_FOR_TARGETS) {
        let stored = cx.share.store.get_mail_analysis(&m.id).await?;
        domains.extend(recipient_domains(&stored.analysis));
    }
    Ok(CampaignView {
        id: id.to_owned(),
        first_seen: first,
        last_seen: last,
        members,
        shared_features,
        target_orgs: directory.targets(domains.iter().map(String::as_str)),
    })
}
