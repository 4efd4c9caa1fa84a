//! TAXII 2.1 request handlers, their authentication and their error bodies.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use mamori_access::{VisibilityFilter, may_write};
use mamori_model::{Marking, OrgId, Principal, Role, Tlp};
use mamori_stix::timestamp::Timestamp;
use mamori_stix::{Bundle, Limits};
use mamori_store::stix::{CollectionScope, StixPage, StixQuery, StixRow, VersionMatch};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{STIX_MEDIA, TAXII_MEDIA};
use crate::auth::{Auth, RequestCtx};
use crate::ops::{self, Actor};
use crate::{ApiError, AppState};

/// The collection of everything the caller may see (read-only).
const ALL_COLLECTION: Uuid = Uuid::from_u128(0x6d61_6d6f_7269_4a11_8000_0000_0000_0001);
/// The community collection (CLEAR and GREEN for everyone).
const COMMUNITY_COLLECTION: Uuid = Uuid::from_u128(0x6d61_6d6f_7269_4c0a_8000_0000_0000_0002);
const MAX_PAGE: u32 = 1000;

/// A TAXII error: the spec's error body with the TAXII media type.
pub struct TaxiiError(StatusCode, String, String);

impl From<ApiError> for TaxiiError {
    fn from(e: ApiError) -> Self {
        let status = e.status();
        let title = match &e {
            ApiError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                "Internal error".to_owned()
            }
            _ => status.canonical_reason().unwrap_or("Error").to_owned(),
        };
        let description = match e {
            ApiError::Internal(_) => {
                "the hub could not complete the request; the error was logged".to_owned()
            }
            other => other.to_string(),
        };
        TaxiiError(status, title, description)
    }
}

impl TaxiiError {
    /// The error as one line for a command line.
    pub fn describe(&self) -> String {
        format!("{} ({}): {}", self.1, self.0.as_u16(), self.2)
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let body = json!({"title": self.1, "description": self.2, "http_status": self.0.as_u16().to_string()});
        let mut r = taxii(self.0, body);
        if self.0 == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"mamori\", Bearer"),
            );
        }
        r
    }
}

impl From<mamori_store::StoreError> for TaxiiError {
    fn from(e: mamori_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

fn err(status: StatusCode, description: impl Into<String>) -> TaxiiError {
    TaxiiError(
        status,
        status.canonical_reason().unwrap_or("Error").to_owned(),
        description.into(),
    )
}

fn taxii(status: StatusCode, body: Value) -> Response {
    taxii_text(status, body.to_string())
}

/// A TAXII response whose body is already JSON text.
fn taxii_text(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII_MEDIA));
    r
}

/// The caller: a bearer API token (as for the JSON API) or HTTP Basic with a user's password.
pub struct TaxiiUser {
    pub principal: Principal,
    pub actor: Actor,
}

impl FromRequestParts<AppState> for TaxiiUser {
    type Rejection = TaxiiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, TaxiiError> {
        check_accept(&parts.headers)?;
        let basic = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Basic ")
                    .or_else(|| v.strip_prefix("basic "))
            })
            .map(str::to_owned);
        if let Some(b64) = basic {
            let ctx = RequestCtx::from_parts(parts);
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| err(StatusCode::UNAUTHORIZED, "malformed Basic credentials"))?;
            let (user, pass) = decoded
                .split_once(':')
                .ok_or_else(|| err(StatusCode::UNAUTHORIZED, "malformed Basic credentials"))?;
            let user = ops::login(state, &ctx, user, pass).await?;
            let principal = crate::auth::principal_for(
                &state.store,
                &user,
                mamori_access::role_scopes(user.role),
            )
            .await?;
            let actor = Actor {
                principal: Some(principal.clone()),
                name: user.username.clone(),
                source: ctx.source,
                request_id: ctx.request_id,
            };
            return Ok(TaxiiUser { principal, actor });
        }
        let auth = Auth::from_request_parts(parts, state).await?;
        Ok(TaxiiUser {
            actor: Actor::from_auth(&auth),
            principal: auth.principal,
        })
    }
}

fn check_accept(headers: &HeaderMap) -> Result<(), TaxiiError> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let ok = accept.split(',').any(|a| {
        let a = a.trim().to_ascii_lowercase().replace(' ', "");
        a.starts_with("application/taxii+json")
            && (!a.contains("version=") || a.contains("version=2.1"))
            || a.starts_with("*/*")
            || a.starts_with("application/*")
    });
    if ok {
        Ok(())
    } else {
        Err(err(
            StatusCode::NOT_ACCEPTABLE,
            format!("this server speaks {TAXII_MEDIA}"),
        ))
    }
}

pub async fn discovery(_u: TaxiiUser) -> Response {
    taxii(
        StatusCode::OK,
        json!({
            "title": "Mamori TAXII 2.1",
            "description": "Threat information shared through the Mamori hub, as the caller may see it.",
            "default": "/taxii2/api/",
            "api_roots": ["/taxii2/api/"]
        }),
    )
}

pub async fn api_root(State(state): State<AppState>, _u: TaxiiUser) -> Response {
    taxii(
        StatusCode::OK,
        json!({
            "title": "Mamori",
            "versions": [TAXII_MEDIA],
            "max_content_length": state.config.http.body_limit_bytes
        }),
    )
}

/// A collection the caller may use.
pub struct Collection {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub scope: CollectionScope,
    pub can_write: bool,
    /// The key stored with posted objects.
    pub key: String,
    pub default_tlp: Tlp,
}

/// The collections the caller may use, decided from the principal alone (its organisation
/// and sharing groups) with empty titles: all the object endpoints need, without a store
/// round trip. [`collections_of`] adds the titles for the listings.
pub fn usable_collections(p: &Principal) -> Vec<Collection> {
    let writer = may_write(p);
    let mut out = vec![
        Collection {
            id: ALL_COLLECTION,
            title: String::new(),
            description: String::new(),
            scope: CollectionScope::All,
            can_write: false,
            key: "all".into(),
            default_tlp: Tlp::Green,
        },
        Collection {
            id: COMMUNITY_COLLECTION,
            title: String::new(),
            description: String::new(),
            scope: CollectionScope::Community,
            can_write: writer,
            key: "community".into(),
            default_tlp: Tlp::Green,
        },
    ];
    for g in &p.groups {
        out.push(Collection {
            id: g.0,
            title: String::new(),
            description: String::new(),
            scope: CollectionScope::Group(*g),
            can_write: writer,
            key: format!("group:{g}"),
            default_tlp: Tlp::Amber,
        });
    }
    out.push(Collection {
        id: p.org_id.0,
        title: String::new(),
        description: String::new(),
        scope: CollectionScope::Org(p.org_id),
        can_write: writer,
        key: format!("org:{}", p.org_id),
        default_tlp: Tlp::Amber,
    });
    out
}

/// [`usable_collections`] with titles and descriptions, for the collection listings.
pub async fn collections_of(
    store: &mamori_store::Store,
    p: &Principal,
) -> Result<Vec<Collection>, ApiError> {
    let org = store.get_org(p.org_id).await?;
    let groups = store.list_groups().await?;
    let mut out = usable_collections(p);
    for c in &mut out {
        let (title, description) = match c.scope {
            CollectionScope::All => (
                "Everything you may see / 閲覧可能なすべて".to_owned(),
                "Every object the caller may see under TLP and sharing groups (read-only)."
                    .to_owned(),
            ),
            CollectionScope::Community => (
                "Community / コミュニティ".to_owned(),
                "TLP:CLEAR and TLP:GREEN material for every member.".to_owned(),
            ),
            CollectionScope::Group(id) => {
                let name = groups
                    .iter()
                    .find(|g| g.id == id)
                    .map_or_else(|| id.to_string(), |g| g.name.clone());
                let description = format!("Material released to the sharing group {name}");
                (name, description)
            }
            CollectionScope::Org(_) => (
                format!("{} / {}", org.name_ja, org.name_en),
                "Material owned by the caller's organisation.".to_owned(),
            ),
        };
        c.title = title;
        c.description = description;
    }
    // Listed in the store's group order, as before.
    out.sort_by_key(|c| match c.scope {
        CollectionScope::All => 0,
        CollectionScope::Community => 1,
        CollectionScope::Group(id) => 2 + groups.iter().position(|g| g.id == id).unwrap_or(0),
        CollectionScope::Org(_) => usize::MAX,
    });
    Ok(out)
}

fn collection_json(c: &Collection) -> Value {
    json!({
        "id": c.id.to_string(),
        "title": c.title,
        "description": c.description,
        "can_read": true,
        "can_write": c.can_write,
        "media_types": [STIX_MEDIA]
    })
}

/// The collection `cid` as the caller may use it (scope, key, write right; no title), or 404.
fn find_collection(p: &Principal, cid: &str) -> Result<Collection, TaxiiError> {
    let id = Uuid::parse_str(cid).map_err(|_| err(StatusCode::NOT_FOUND, "no such collection"))?;
    usable_collections(p)
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| err(StatusCode::NOT_FOUND, "no such collection"))
}

pub async fn collections(
    State(state): State<AppState>,
    u: TaxiiUser,
) -> Result<Response, TaxiiError> {
    let cs = collections_of(&state.store, &u.principal).await?;
    Ok(taxii(
        StatusCode::OK,
        json!({"collections": cs.iter().map(collection_json).collect::<Vec<_>>()}),
    ))
}

pub async fn collection(
    State(state): State<AppState>,
    u: TaxiiUser,
    Path(cid): Path<String>,
) -> Result<Response, TaxiiError> {
    let id = find_collection(&u.principal, &cid)?.id;
    let c = collections_of(&state.store, &u.principal)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| err(StatusCode::NOT_FOUND, "no such collection"))?;
    Ok(taxii(StatusCode::OK, collection_json(&c)))
}

fn split(v: Option<&String>) -> Vec<String> {
    v.map(|s| {
        s.split(',')
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

/// Parses `limit`, `next`, `added_after` and `match[...]`.
fn parse_query(
    q: &HashMap<String, String>,
    default_versions: VersionMatch,
) -> Result<(StixQuery, i64, u32), TaxiiError> {
    let limit = match q.get("limit") {
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| *l > 0)
            .ok_or_else(|| err(StatusCode::BAD_REQUEST, "limit must be a positive integer"))?,
        None => 100,
    }
    .min(MAX_PAGE);
    let after = match q.get("next") {
        Some(n) => n
            .parse::<i64>()
            .map_err(|_| err(StatusCode::BAD_REQUEST, "malformed next"))?,
        None => 0,
    };
    let added_after = match q.get("added_after") {
        Some(t) => Some(
            Timestamp::parse(t)
                .map_err(|e| err(StatusCode::BAD_REQUEST, format!("added_after: {e}")))?
                .unix_millis(),
        ),
        None => None,
    };
    let versions = match split(q.get("match[version]")).as_slice() {
        [] => default_versions,
        [v] if v == "last" => VersionMatch::Last,
        [v] if v == "first" => VersionMatch::First,
        [v] if v == "all" => VersionMatch::All,
        list => {
            for v in list {
                Timestamp::parse(v)
                    .map_err(|e| err(StatusCode::BAD_REQUEST, format!("match[version]: {e}")))?;
            }
            VersionMatch::These(list.to_vec())
        }
    };
    Ok((
        StixQuery {
            added_after,
            ids: split(q.get("match[id]")),
            types: split(q.get("match[type]")),
            spec_versions: split(q.get("match[spec_version]")),
            versions,
        },
        after,
        limit,
    ))
}

fn date_added(ms: i64) -> String {
    Timestamp::from_unix_millis(ms).as_str().to_owned()
}

fn with_date_headers(r: Response, rows: &[StixRow]) -> Response {
    with_added_range(
        r,
        rows.first().map(|f| f.date_added),
        rows.last().map(|l| l.date_added),
    )
}

/// The `X-TAXII-Date-Added-First/Last` headers, when the response holds any object.
fn with_added_range(mut r: Response, first: Option<i64>, last: Option<i64>) -> Response {
    if let (Some(first), Some(last)) = (first, last) {
        for (name, ms) in [
            ("x-taxii-date-added-first", first),
            ("x-taxii-date-added-last", last),
        ] {
            if let Ok(v) = HeaderValue::from_str(&date_added(ms)) {
                r.headers_mut().insert(name, v);
            }
        }
    }
    r
}

async fn fetch(
    state: &AppState,
    u: &TaxiiUser,
    c: &Collection,
    q: &HashMap<String, String>,
    extra_id: Option<&str>,
    default_versions: VersionMatch,
) -> Result<(Vec<StixRow>, bool), TaxiiError> {
    let (mut query, after, limit) = parse_query(q, default_versions)?;
    if let Some(id) = extra_id {
        query.ids = vec![id.to_owned()];
    }
    let filter = VisibilityFilter::for_principal(&u.principal);
    Ok(state
        .store
        .list_stix_objects(&filter, c.scope, &query, after, limit)
        .await?)
}

pub async fn get_objects(
    State(state): State<AppState>,
    u: TaxiiUser,
    Path(cid): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, TaxiiError> {
    let c = find_collection(&u.principal, &cid)?;
    let page = fetch_page(&state, &u, &c, &q, None).await?;
    Ok(envelope(page))
}

/// [`fetch`] for the object endpoints: the page comes from the store as one row with the
/// objects' JSON already joined.
async fn fetch_page(
    state: &AppState,
    u: &TaxiiUser,
    c: &Collection,
    q: &HashMap<String, String>,
    extra_id: Option<&str>,
) -> Result<StixPage, TaxiiError> {
    let (mut query, after, limit) = parse_query(q, VersionMatch::Last)?;
    if let Some(id) = extra_id {
        query.ids = vec![id.to_owned()];
    }
    let filter = VisibilityFilter::for_principal(&u.principal);
    Ok(state
        .store
        .stix_page(&filter, c.scope, &query, after, limit)
        .await?)
}

/// A page of objects: the stored JSON of each object goes into the body as it is, joined by
/// the store (the JSON was validated when it was stored), not parsed and written again.
fn envelope(page: StixPage) -> Response {
    let mut text = String::with_capacity(page.objects_json.len() + 64);
    text.push_str(if page.more {
        "{\"more\":true"
    } else {
        "{\"more\":false"
    });
    if page.more
        && let Some(seq) = page.last_seq
    {
        text.push_str(",\"next\":\"");
        text.push_str(&seq.to_string());
        text.push('"');
    }
    if !page.objects_json.is_empty() {
        text.push_str(",\"objects\":[");
        text.push_str(&page.objects_json);
        text.push(']');
    }
    text.push('}');
    with_added_range(
        taxii_text(StatusCode::OK, text),
        page.first_added,
        page.last_added,
    )
}

pub async fn get_object(
    State(state): State<AppState>,
    u: TaxiiUser,
    Path((cid, oid)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, TaxiiError> {
    let c = find_collection(&u.principal, &cid)?;
    let page = fetch_page(&state, &u, &c, &q, Some(&oid)).await?;
    if page.count == 0 {
        return Err(err(
            StatusCode::NOT_FOUND,
            "no such object in this collection",
        ));
    }
    Ok(envelope(page))
}

pub async fn versions(
    State(state): State<AppState>,
    u: TaxiiUser,
    Path((cid, oid)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, TaxiiError> {
    let c = find_collection(&u.principal, &cid)?;
    let (rows, more) = fetch(&state, &u, &c, &q, Some(&oid), VersionMatch::All).await?;
    if rows.is_empty() {
        return Err(err(
            StatusCode::NOT_FOUND,
            "no such object in this collection",
        ));
    }
    let mut body = json!({"more": more, "versions": rows.iter().map(|r| r.version.clone()).collect::<Vec<_>>()});
    if more && let Some(last) = rows.last() {
        body["next"] = json!(last.seq.to_string());
    }
    Ok(with_date_headers(taxii(StatusCode::OK, body), &rows))
}

pub async fn manifest(
    State(state): State<AppState>,
    u: TaxiiUser,
    Path(cid): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, TaxiiError> {
    let c = find_collection(&u.principal, &cid)?;
    let (rows, more) = fetch(&state, &u, &c, &q, None, VersionMatch::Last).await?;
    let objects: Vec<Value> = rows
        .iter()
        .map(|r| json!({"id": r.id, "date_added": date_added(r.date_added), "version": r.version, "media_type": STIX_MEDIA}))
        .collect();
    let mut body = json!({"more": more});
    if more && let Some(last) = rows.last() {
        body["next"] = json!(last.seq.to_string());
    }
    if !objects.is_empty() {
        body["objects"] = Value::Array(objects);
    }
    Ok(with_date_headers(taxii(StatusCode::OK, body), &rows))
}

/// The marking a posted object gets in a collection, or why it can not go there.
fn marking_for(
    c: &Collection,
    p: &Principal,
    refs: Option<&Vec<mamori_stix::StixId>>,
) -> Result<Marking, String> {
    let tlp = refs
        .and_then(|r| {
            mamori_stix::tlp::tlp_of_refs(&r.iter().map(|i| i.as_str()).collect::<Vec<_>>())
        })
        .unwrap_or(c.default_tlp);
    let group = match c.scope {
        CollectionScope::Community if tlp > Tlp::Green => {
            return Err(format!(
                "TLP:{} can not go to the community collection",
                tlp.as_str()
            ));
        }
        CollectionScope::Group(_) if tlp == Tlp::Red => {
            return Err("TLP:RED goes to named recipients only, not to a sharing group".into());
        }
        CollectionScope::Group(g) => Some(g),
        _ => None,
    };
    Ok(Marking {
        tlp,
        owner_org: p.org_id,
        sharing_group: group,
        recipients: vec![],
    })
}

pub async fn add_objects(
    State(state): State<AppState>,
    u: TaxiiUser,
    Path(cid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, TaxiiError> {
    let c = find_collection(&u.principal, &cid)?;
    if !c.can_write {
        return Err(err(
            StatusCode::FORBIDDEN,
            "you may not write to this collection",
        ));
    }
    if let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        let ct = ct.to_ascii_lowercase().replace(' ', "");
        if !(ct.starts_with("application/taxii+json") || ct.starts_with("application/json")) {
            return Err(err(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("send {TAXII_MEDIA}"),
            ));
        }
    }
    let (status, _) = ingest(&state.store, &u.principal, &u.actor, &c, &body).await?;
    Ok(taxii(StatusCode::ACCEPTED, status))
}

pub async fn delete_object(
    State(state): State<AppState>,
    u: TaxiiUser,
    Path((cid, oid)): Path<(String, String)>,
) -> Result<Response, TaxiiError> {
    let c = find_collection(&u.principal, &cid)?;
    if !c.can_write {
        return Err(err(
            StatusCode::FORBIDDEN,
            "you may not delete from this collection",
        ));
    }
    let owner: Option<OrgId> = (u.principal.role != Role::Admin).then_some(u.principal.org_id);
    let n = state
        .store
        .delete_posted_object(&c.key, &oid, owner)
        .await?;
    if n == 0 {
        return Err(err(
            StatusCode::NOT_FOUND,
            "no object of yours with that id in this collection",
        ));
    }
    ops::audit(
        &state.store,
        &u.actor,
        "taxii.objects.delete",
        "stix",
        &oid,
        None,
        json!({"collection": c.id}),
    )
    .await?;
    Ok(taxii(StatusCode::OK, json!({})))
}

pub async fn status(
    State(state): State<AppState>,
    u: TaxiiUser,
    Path(sid): Path<String>,
) -> Result<Response, TaxiiError> {
    let body = state
        .store
        .get_taxii_status(&sid, &u.principal.user_id.to_string())
        .await?
        .ok_or_else(|| err(StatusCode::NOT_FOUND, "no such status"))?;
    let v: Value = serde_json::from_str(&body)
        .map_err(|e| TaxiiError::from(ApiError::Internal(e.to_string())))?;
    Ok(taxii(StatusCode::OK, v))
}

/// Validates an envelope's objects with `mamori-stix`, marks each for the collection and stores
/// them all or none; returns the status resource (also stored for `GET status/{id}/`) and how
/// many objects were new here.
pub async fn ingest(
    store: &mamori_store::Store,
    principal: &Principal,
    actor: &Actor,
    c: &Collection,
    body: &[u8],
) -> Result<(Value, usize), TaxiiError> {
    if !c.can_write {
        return Err(err(
            StatusCode::FORBIDDEN,
            "you may not write to this collection",
        ));
    }
    let request_timestamp = Timestamp::from_unix_millis(mamori_store::now_millis());
    mamori_stix::limits::check_depth(body, Limits::default().max_depth)
        .map_err(|e| err(StatusCode::BAD_REQUEST, e.to_string()))?;
    let envelope: Value = serde_json::from_slice(body)
        .map_err(|e| err(StatusCode::BAD_REQUEST, format!("not JSON: {e}")))?;
    let objects = envelope.get("objects").cloned().ok_or_else(|| {
        err(
            StatusCode::BAD_REQUEST,
            "an envelope needs an objects array",
        )
    })?;
    let bundle_value =
        json!({"type": "bundle", "id": format!("bundle--{}", Uuid::new_v4()), "objects": objects});
    let bundle = Bundle::from_json_value(bundle_value, Limits::default())
        .map_err(|e| err(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    let mut rows = Vec::new();
    let mut refusals = Vec::new();
    for o in bundle.objects() {
        match marking_for(c, principal, o.object_marking_refs.as_ref()) {
            Ok(m) => rows.push(super::sync::row(o, &m, request_timestamp.as_str())),
            Err(why) => refusals.push(format!("{}: {why}", o.id.as_str())),
        }
    }
    if !refusals.is_empty() {
        return Err(err(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("nothing was stored: {}", refusals.join("; ")),
        ));
    }
    let added = store.insert_posted_objects(&c.key, &rows).await?;
    ops::audit(
        store,
        actor,
        "taxii.objects.add",
        "collection",
        &c.id.to_string(),
        rows.iter().map(|r| r.tlp).max(),
        json!({"objects": rows.len()}),
    )
    .await?;
    let status_id = Uuid::new_v4().to_string();
    let status = json!({
        "id": status_id,
        "status": "complete",
        "request_timestamp": request_timestamp.as_str(),
        "total_count": rows.len(),
        "success_count": rows.len(),
        "successes": rows.iter().map(|r| json!({"id": r.id, "version": r.version, "message": "stored"})).collect::<Vec<_>>(),
        "failure_count": 0,
        "pending_count": 0
    });
    store
        .put_taxii_status(
            &status_id,
            &principal.user_id.to_string(),
            &status.to_string(),
        )
        .await?;
    Ok((status, added))
}
