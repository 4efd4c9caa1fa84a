//! Coordination requests inside a case: from one participating organisation to another (support,
//! log collection, takedown, information), with a status, a due date, an optimistic version and a
//! message thread. Lists are narrowed in SQL to the requests an organisation sends or receives.

use mamori_model::{OrgId, UserId};
use serde::Serialize;

use crate::{Store, StoreError, now_millis, on_pool};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CaseRequest {
    pub id: String,
    pub case_id: String,
    #[schema(value_type = String)]
    pub from_org: OrgId,
    #[schema(value_type = String)]
    pub to_org: OrgId,
    /// support, log_collection, takedown, information
    pub kind: String,
    /// open, accepted, declined, in_progress, done, cancelled
    pub status: String,
    pub title: String,
    pub body: String,
    pub due_at: Option<i64>,
    pub created_by: Option<String>,
    /// Incremented on every change; send it back to change the request safely.
    pub version: i64,
    pub created_at: i64,
    pub modified_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct RequestMessage {
    pub id: String,
    pub request_id: String,
    pub author: String,
    pub author_org: Option<String>,
    pub body: String,
    pub created_at: i64,
}

/// A new request.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub case_id: String,
    pub from_org: OrgId,
    pub to_org: OrgId,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub due_at: Option<i64>,
    pub created_by: Option<UserId>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    case_id: String,
    from_org: String,
    to_org: String,
    kind: String,
    status: String,
    title: String,
    body: String,
    due_at: Option<i64>,
    created_by: Option<String>,
    version: i64,
    created_at: i64,
    modified_at: i64,
}

const COLUMNS: &str = "id, case_id, from_org, to_org, kind, status, title, body, due_at, created_by, version, created_at, modified_at";

impl TryFrom<Row> for CaseRequest {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(CaseRequest {
            from_org: r
                .from_org
                .parse()
                .map_err(|e| StoreError::corrupt("case_requests.from_org", e))?,
            to_org: r
                .to_org
                .parse()
                .map_err(|e| StoreError::corrupt("case_requests.to_org", e))?,
            id: r.id,
            case_id: r.case_id,
            kind: r.kind,
            status: r.status,
            title: r.title,
            body: r.body,
            due_at: r.due_at,
            created_by: r.created_by,
            version: r.version,
            created_at: r.created_at,
            modified_at: r.modified_at,
        })
    }
}

impl Store {
    pub async fn create_request(&self, new: &NewRequest) -> Result<CaseRequest, StoreError> {
        if new.title.trim().is_empty() || new.title.chars().count() > 500 {
            return Err(StoreError::Invalid(
                "a request needs a title of 1-500 characters".into(),
            ));
        }
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_millis();
        let body: String = new.body.chars().take(20_000).collect();
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO case_requests (id, case_id, from_org, to_org, kind, status, title, body, due_at, created_by, version, created_at, modified_at) \
             VALUES ($1,$2,$3,$4,$5,'open',$6,$7,$8,$9,1,$10,$10)"
        )
        .bind(&id)
        .bind(&new.case_id)
        .bind(new.from_org.to_string())
        .bind(new.to_org.to_string())
        .bind(&new.kind)
        .bind(new.title.trim())
        .bind(&body)
        .bind(new.due_at)
        .bind(new.created_by.map(|u| u.to_string()))
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(|e| match StoreError::from(e) {
            StoreError::Reference(_) => StoreError::NotFound("case or organisation"),
            other => other,
        })?;
        self.get_request(&new.case_id, &id).await
    }

    pub async fn get_request(&self, case: &str, id: &str) -> Result<CaseRequest, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM case_requests WHERE case_id = $1 AND id = $2");
        let row: Option<Row> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(case)
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        row.ok_or(StoreError::NotFound("request"))?.try_into()
    }

    /// The requests of a case that `org` sends or receives (all of them for `None`).
    pub async fn list_requests(
        &self,
        case: &str,
        org: Option<OrgId>,
    ) -> Result<Vec<CaseRequest>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM case_requests WHERE case_id = $1 AND ($2 = '' OR from_org = $2 OR to_org = $2) ORDER BY created_at, id"
        );
        let rows: Vec<Row> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(case)
        .bind(org.map(|o| o.to_string()).unwrap_or_default())
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Sets a request's status if it is still at `expected_version` (any version for `None`);
    /// a request changed in between is a conflict.
    pub async fn set_request_status(
        &self,
        case: &str,
        id: &str,
        status: &str,
        expected_version: Option<i64>,
    ) -> Result<CaseRequest, StoreError> {
        let n = on_pool!(self, |pool| sqlx::query(
            "UPDATE case_requests SET status = $1, version = version + 1, modified_at = $2 \
             WHERE case_id = $3 AND id = $4 AND ($5 < 0 OR version = $5)"
        )
        .bind(status)
        .bind(now_millis())
        .bind(case)
        .bind(id)
        .bind(expected_version.unwrap_or(-1))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 0 {
            let current = self.get_request(case, id).await?;
            return Err(StoreError::Conflict(format!(
                "the request was changed meanwhile (now version {}, status {})",
                current.version, current.status
            )));
        }
        self.get_request(case, id).await
    }

    pub async fn add_request_message(
        &self,
        request: &str,
        author: &str,
        author_org: Option<OrgId>,
        body: &str,
    ) -> Result<RequestMessage, StoreError> {
        let m = RequestMessage {
            id: uuid::Uuid::now_v7().to_string(),
            request_id: request.to_owned(),
            author: author.to_owned(),
            author_org: author_org.map(|o| o.to_string()),
            body: body.chars().take(20_000).collect(),
            created_at: now_millis(),
        };
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO case_request_messages (id, request_id, author, author_org, body, created_at) VALUES ($1,$2,$3,$4,$5,$6)"
        )
        .bind(&m.id)
        .bind(&m.request_id)
        .bind(&m.author)
        .bind(&m.author_org)
        .bind(&m.body)
        .bind(m.created_at)
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(|e| match StoreError::from(e) {
            StoreError::Reference(_) => StoreError::NotFound("request"),
            other => other,
        })?;
        Ok(m)
    }

    /// The thread of a request, oldest first.
    pub async fn request_messages(&self, request: &str) -> Result<Vec<RequestMessage>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, request_id, author, author_org, body, created_at FROM case_request_messages WHERE request_id = $1 ORDER BY created_at, id"
        )
        .bind(request)
        .fetch_all(pool)
        .await
        })?)
    }
}
