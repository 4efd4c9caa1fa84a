//! The TAXII 2.1 server at `/taxii2/`: discovery, one API root, collections (one per sharing view
//! the caller may use: everything visible, the community, each sharing group of the caller's
//! organisation, the organisation itself), objects (GET with `limit`/`next`/`added_after`/
//! `match[...]`, POST with a status resource), object by id, versions, manifest and DELETE.
//! Callers authenticate with a bearer API token or HTTP Basic; every answer passes the
//! visibility policy. Posted envelopes are validated by `mamori-stix` and stored all or nothing.

pub mod export;
pub mod handlers;
pub mod indicators;
pub mod sync;

use axum::Router;
use axum::routing::get;

use crate::AppState;

/// The TAXII media type.
pub const TAXII_MEDIA: &str = "application/taxii+json;version=2.1";
/// The STIX media type in manifests.
pub const STIX_MEDIA: &str = "application/stix+json;version=2.1";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/taxii2/", get(handlers::discovery))
        .route("/taxii2/api/", get(handlers::api_root))
        .route("/taxii2/api/collections/", get(handlers::collections))
        .route("/taxii2/api/collections/{cid}/", get(handlers::collection))
        .route(
            "/taxii2/api/collections/{cid}/objects/",
            get(handlers::get_objects).post(handlers::add_objects),
        )
        .route(
            "/taxii2/api/collections/{cid}/objects/{oid}/",
            get(handlers::get_object).delete(handlers::delete_object),
        )
        .route(
            "/taxii2/api/collections/{cid}/objects/{oid}/versions/",
            get(handlers::versions),
        )
        .route(
            "/taxii2/api/collections/{cid}/manifest/",
            get(handlers::manifest),
        )
        .route("/taxii2/api/status/{sid}/", get(handlers::status))
}
