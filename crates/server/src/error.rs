//! The one place where failures become HTTP responses: RFC 9457 `application/problem+json` with a
//! stable `type` per error code. Clients never see internal error text.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mamori_store::StoreError;
use serde::Serialize;

/// An error as the API reports it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error("authentication required")]
    Unauthenticated,
    #[error("wrong username or password")]
    BadCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    /// A rule that does not compile, located in its source.
    #[error("{0}")]
    InvalidRule(Box<RuleProblem>),
    #[error("the request body is too large")]
    TooLarge,
    #[error("the CSRF token is missing or wrong")]
    Csrf,
    #[error("too many requests; try again in {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error("storage is unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The stable, machine-readable code (also the last segment of the problem `type`).
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::BadCredentials => "bad-credentials",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict(_) => "conflict",
            ApiError::Invalid(_) => "invalid",
            ApiError::InvalidRule(_) => "invalid-rule",
            ApiError::Csrf => "csrf",
            ApiError::TooLarge => "too-large",
            ApiError::RateLimited { .. } => "rate-limited",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated | ApiError::BadCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::Csrf => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Invalid(_) | ApiError::InvalidRule(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "Authentication required",
            ApiError::BadCredentials => "Wrong username or password",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::NotFound(_) => "Not found",
            ApiError::Conflict(_) => "Conflict",
            ApiError::Invalid(_) => "Invalid request",
            ApiError::InvalidRule(_) => "Invalid rule",
            ApiError::Csrf => "CSRF check failed",
            ApiError::TooLarge => "Request body too large",
            ApiError::RateLimited { .. } => "Too many requests",
            ApiError::Unavailable => "Service unavailable",
            ApiError::Internal(_) => "Internal error",
        }
    }

    pub fn forbidden(what: &str) -> Self {
        ApiError::Forbidden(format!("you may not {what}"))
    }
}

/// The RFC 9457 body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the error kind, e.g. `/problems/not-found`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// `invalid-rule` only: the rule set (or file) the error is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_set: Option<String>,
    /// `invalid-rule` only: 1-based line in that source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// `invalid-rule` only: 1-based column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// `invalid-rule` only: the compiler's error code, e.g. `E009`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_error: Option<String>,
    /// `invalid-rule` only: the compiler's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Where a rule failed to compile and why (the extension members of an `invalid-rule`
/// problem).
#[derive(Debug, Clone)]
pub struct RuleProblem {
    /// The rule set (or file) the error is in.
    pub rule_set: String,
    /// 1-based line in that source.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The compiler's error code, e.g. `E009`.
    pub rule_error: String,
    /// The compiler's message.
    pub message: String,
}

impl std::fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} line {}, column {}: {} {}",
            self.rule_set, self.line, self.column, self.rule_error, self.message
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(what.to_owned()),
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::Invalid(m) => ApiError::Invalid(m),
            StoreError::Reference(m) => ApiError::Conflict(m),
            StoreError::Unavailable { .. } => ApiError::Unavailable,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            ApiError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                "the hub could not complete the request; the error was logged".to_owned()
            }
            other => other.to_string(),
        };
        let body = Problem {
            kind: format!("/problems/{}", self.code()),
            title: self.title().to_owned(),
            status: status.as_u16(),
            detail,
            rule_set: None,
            line: None,
            column: None,
            rule_error: None,
            message: None,
        };
        let body = match &self {
            ApiError::InvalidRule(p) => Problem {
                rule_set: Some(p.rule_set.clone()),
                line: Some(p.line),
                column: Some(p.column),
                rule_error: Some(p.rule_error.clone()),
                message: Some(p.message.clone()),
                ..body
            },
            _ => body,
        };
        let mut resp = (status, axum::Json(body)).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let ApiError::RateLimited { retry_after } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if matches!(self, ApiError::Unauthenticated) {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"mamori\""),
            );
        }
        resp
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    /// Bad JSON, a wrong content type or an oversized body, as problems.
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        use axum::extract::rejection::JsonRejection as J;
        match r {
            J::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::TooLarge
            }
            other => ApiError::Invalid(other.body_text()),
        }
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(r: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::Invalid(r.body_text())
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(r: axum::extract::rejection::PathRejection) -> Self {
        ApiError::Invalid(r.body_text())
    }
}

/// A JSON body whose rejections are problems.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Query parameters whose rejections are problems.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Path parameters whose rejections are problems.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);
