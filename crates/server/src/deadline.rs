//! Request deadlines: every request gets `http.request_timeout_secs`, except an upload of a
//! message for analysis (API, console, case intake), which gets `mail.upload_timeout_secs`:
//! a message of tens of megabytes over a slow link takes longer to arrive, and to analyse,
//! than other requests take to answer. Past its deadline a request is answered 408 with an
//! empty body, as tower-http's `TimeoutLayer` answers.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The routes that take a message upload (POST).
pub(crate) const UPLOAD_PATHS: [&str; 4] = [
    "/api/v1/mail",
    "/api/v1/cases/from-mail",
    "/mail",
    "/cases/from-mail",
];

/// The two deadlines.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadlines {
    pub request: Duration,
    pub upload: Duration,
}

impl Deadlines {
    /// The deadline of a request.
    pub(crate) fn of(&self, method: &Method, path: &str) -> Duration {
        if method == Method::POST && UPLOAD_PATHS.contains(&path) {
            self.upload
        } else {
            self.request
        }
    }
}

/// Runs the request under its deadline.
pub(crate) async fn limit(State(d): State<Deadlines>, req: Request, next: Next) -> Response {
    let t = d.of(req.method(), req.uri().path());
    match tokio::time::timeout(t, next.run(req)).await {
        Ok(r) => r,
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_get_their_own_deadline() {
        let d = Deadlines {
            request: Duration::from_secs(30),
            upload: Duration::from_secs(300),
        };
        for p in UPLOAD_PATHS {
            assert_eq!(d.of(&Method::POST, p), d.upload, "{p}");
            assert_eq!(d.of(&Method::GET, p), d.request, "{p}");
        }
        assert_eq!(d.of(&Method::POST, "/api/v1/reports"), d.request);
        assert_eq!(d.of(&Method::POST, "/api/v1/mail/x"), d.request);
    }
}
