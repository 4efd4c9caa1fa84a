//! Notes and attachments on reports. Both take the report's marking: callers check that the
//! reader may see the report before listing or reading them (rows here carry no marking of
//! their own). Attachment bytes are content-addressed files the server keeps under its data
//! directory; rows only name them by SHA-256.

use mamori_model::{OrgId, ReportId};
use serde::Serialize;

use crate::{Store, StoreError, now_millis, on_pool};

/// A note on a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Note {
    pub id: String,
    pub report_id: String,
    pub author_org: String,
    pub created_by: Option<String>,
    pub body: String,
    /// The STIX `note--` id it is exported as.
    pub stix_id: String,
    pub created_at: i64,
}

/// A file attached to a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Attachment {
    pub id: String,
    pub report_id: String,
    pub file_name: String,
    pub media_type: String,
    pub sha256: String,
    pub size: i64,
    pub created_by: Option<String>,
    pub created_at: i64,
}

impl Store {
    pub async fn add_note(
        &self,
        report: ReportId,
        author_org: OrgId,
        created_by: Option<&str>,
        body: &str,
        stix_id: &str,
    ) -> Result<Note, StoreError> {
        let n = Note {
            id: uuid::Uuid::now_v7().to_string(),
            report_id: report.to_string(),
            author_org: author_org.to_string(),
            created_by: created_by.map(str::to_owned),
            body: body.to_owned(),
            stix_id: stix_id.to_owned(),
            created_at: now_millis(),
        };
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO report_notes (id, report_id, author_org, created_by, body, stix_id, \
             created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)"
        )
        .bind(&n.id)
        .bind(&n.report_id)
        .bind(&n.author_org)
        .bind(&n.created_by)
        .bind(&n.body)
        .bind(&n.stix_id)
        .bind(n.created_at)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(n)
    }

    /// A report's notes, oldest first.
    pub async fn report_notes(&self, report: ReportId) -> Result<Vec<Note>, StoreError> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT id, report_id, author_org, created_by, body, stix_id, created_at \
             FROM report_notes WHERE report_id = $1 ORDER BY created_at, id"
        )
        .bind(report.to_string())
        .fetch_all(pool)
        .await)?)
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn add_attachment(
        &self,
        report: ReportId,
        file_name: &str,
        media_type: &str,
        sha256: &str,
        size: i64,
        created_by: Option<&str>,
    ) -> Result<Attachment, StoreError> {
        let a = Attachment {
            id: uuid::Uuid::now_v7().to_string(),
            report_id: report.to_string(),
            file_name: file_name.to_owned(),
            media_type: media_type.to_owned(),
            sha256: sha256.to_owned(),
            size,
            created_by: created_by.map(str::to_owned),
            created_at: now_millis(),
        };
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO report_attachments (id, report_id, file_name, media_type, sha256, size, \
             created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)"
        )
        .bind(&a.id)
        .bind(&a.report_id)
        .bind(&a.file_name)
        .bind(&a.media_type)
        .bind(&a.sha256)
        .bind(a.size)
        .bind(&a.created_by)
        .bind(a.created_at)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(a)
    }

    /// A report's attachments, oldest first.
    pub async fn report_attachments(
        &self,
        report: ReportId,
    ) -> Result<Vec<Attachment>, StoreError> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT id, report_id, file_name, media_type, sha256, size, created_by, created_at \
             FROM report_attachments WHERE report_id = $1 ORDER BY created_at, id"
        )
        .bind(report.to_string())
        .fetch_all(pool)
        .await)?)
    }

    /// One attachment of a report (`None` when the id names no attachment of that report).
    pub async fn report_attachment(
        &self,
        report: ReportId,
        id: &str,
    ) -> Result<Option<Attachment>, StoreError> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT id, report_id, file_name, media_type, sha256, size, created_by, created_at \
             FROM report_attachments WHERE report_id = $1 AND id = $2"
        )
        .bind(report.to_string())
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }
}
