//! The hub's HTTP server: [`app`] builds the axum router (JSON API under `/api/v1`, the OpenAPI
//! document, health and metrics, the web console) over an [`AppState`]; [`serve`] runs it with
//! graceful shutdown. Failures become problem+json in [`error`] only; administrative operations
//! with their permission checks and audit records live in [`ops`], shared with the command line.

mod api;
pub mod auth;
pub mod blob;
pub mod blocklist_profiles;
pub mod blocklists;
pub mod bootstrap;
pub mod bundle;
pub mod case_intake;
pub mod case_metrics;
pub mod case_notify;
pub mod case_observables;
pub mod case_report;
pub mod case_requests;
pub mod case_timeline;
pub mod cases;
mod console;
mod deadline;
pub mod error;
pub mod evidence;
mod health;
pub mod hunt_import;
pub mod interchange;
pub mod key_rotation;
mod limiter;
pub mod mail;
pub mod mail_campaigns;
pub mod mail_samples;
pub mod mail_store;
pub mod mail_targets;
mod mail_upload;
pub mod misp_feed_import;
pub mod monitor;
pub mod nats_intake;
pub mod notice_webhook;
pub mod notices;
pub mod ops;
pub mod password;
pub mod pdf;
pub mod playbooks;
mod rejected;
pub mod report_extras;
mod serve;
pub mod sharing;
pub mod sla;
mod state;
pub mod stix_interchange;
pub mod syslog_intake;
pub mod taxii;
pub mod yara_rules;

use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use console::fmt_time;
pub use error::ApiError;
pub use serve::{ServeError, Started, open_store, serve};
pub use state::{AppState, Monitoring};

/// The process-wide Prometheus recorder (installed once; later calls share it).
pub fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .clone()
}

/// The OpenAPI 3.1 document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::router().split_for_parts().1
}

/// Builds the whole application.
pub fn app(state: AppState) -> Router {
    let (api_router, openapi) = api::router().split_for_parts();
    let openapi_json = serde_json::to_string_pretty(&openapi).unwrap_or_else(|_| "{}".to_owned());
    let body_limit = state.config.http.body_limit_bytes;
    let deadlines = deadline::Deadlines {
        request: Duration::from_secs(state.config.http.request_timeout_secs),
        upload: Duration::from_secs(state.config.mail.upload_timeout_secs),
    };
    let request_id = HeaderName::from_static("x-request-id");

    Router::new()
        .merge(api_router)
        .route(
            "/api/openapi.json",
            get(move || async move {
                ([(header::CONTENT_TYPE, "application/json")], openapi_json)
            }),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .merge(console::router())
        .merge(api::notices::public_router())
        .merge(taxii::router())
        .fallback(|| async { ApiError::NotFound("page".into()) })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rejected::record,
        ))
        .layer(axum::middleware::from_fn(health::track))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            deadlines,
            deadline::limit,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
            ),
        ))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}
