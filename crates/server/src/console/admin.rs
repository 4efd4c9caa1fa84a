//! Organisation, user and sharing-group management pages.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use mamori_model::{Contact, GroupId, Lang, Org, OrgId, OrgKind, Role, SharingGroup, User};
use mamori_store::PageRequest;
use mamori_store::groups::NewGroup;
use mamori_store::orgs::NewOrg;
use mamori_store::users::NewUser;
use serde::Deserialize;

use super::{Console, CsrfOnly, Flash, Frame, back, fmt_time, render, role_key};
use crate::ops::{self, Actor};
use crate::{ApiError, AppState};

/// All organisations.
async fn all_orgs(state: &AppState) -> Result<Vec<Org>, ApiError> {
    Ok(state.store.all_orgs().await?)
}

pub struct OrgRow {
    pub org: Org,
    pub kind: String,
    pub cidrs: String,
}

#[derive(Template)]
#[template(path = "orgs.html")]
struct OrgsPage {
    f: Frame,
    rows: Vec<OrgRow>,
    kinds: Vec<(&'static str, String)>,
}

pub async fn orgs_page(
    State(state): State<AppState>,
    c: Console,
    Query(flash): Query<Flash>,
) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let actor = Actor::from_auth(auth);
    let orgs = match all_orgs(&state).await {
        Ok(o) => o,
        Err(e) => return axum::response::IntoResponse::into_response(e),
    };
    let t = c.t;
    let rows = orgs
        .into_iter()
        .map(|o| ops::redact_org(&actor, o))
        .map(|o| OrgRow {
            kind: t.get(&format!("kind.{}", o.kind.as_str())).to_owned(),
            cidrs: o
                .cidrs
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            org: o,
        })
        .collect();
    let kinds = OrgKind::ALL
        .iter()
        .map(|k| {
            (
                k.as_str(),
                t.get(&format!("kind.{}", k.as_str())).to_owned(),
            )
        })
        .collect();
    render(OrgsPage {
        f: c.frame("orgs", flash),
        rows,
        kinds,
    })
}

#[derive(Debug, Deserialize)]
pub struct OrgForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name_ja: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    sector: String,
    #[serde(default)]
    cidrs: String,
    #[serde(default)]
    domains: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_email: String,
    #[serde(default)]
    contact_lang: String,
}

fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
}

fn org_from_form(f: &OrgForm) -> Result<NewOrg, ApiError> {
    let kind = f
        .kind
        .parse()
        .map_err(|e: mamori_model::ParseEnumError| ApiError::Invalid(e.to_string()))?;
    let cidrs = words(&f.cidrs)
        .map(|w| {
            w.parse()
                .map_err(|_| ApiError::Invalid(format!("{w:?} is not an IP range (CIDR)")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let contacts = if f.contact_email.trim().is_empty() {
        vec![]
    } else {
        vec![Contact {
            name: f.contact_name.trim().to_owned(),
            email: f.contact_email.trim().to_owned(),
            lang: f.contact_lang.parse().unwrap_or(Lang::Ja),
        }]
    };
    Ok(NewOrg {
        slug: f.slug.trim().to_owned(),
        name_ja: f.name_ja.clone(),
        name_en: f.name_en.clone(),
        kind,
        sector: Some(f.sector.trim().to_owned()).filter(|s| !s.is_empty()),
        cidrs,
        domains: words(&f.domains).map(str::to_owned).collect(),
        contacts,
    })
}

pub async fn create_org(
    State(state): State<AppState>,
    c: Console,
    Form(form): Form<OrgForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let result = match org_from_form(&form) {
        Ok(new) => ops::create_org(&state.store, &Actor::from_auth(auth), &new)
            .await
            .map(|_| "org.created"),
        Err(e) => Err(e),
    };
    back("/orgs", result)
}

pub async fn delete_org(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let result = match id.parse::<OrgId>() {
        Ok(id) => ops::delete_org(&state.store, &Actor::from_auth(auth), id)
            .await
            .map(|()| "org.deleted"),
        Err(_) => Err(ApiError::NotFound("organisation".into())),
    };
    back("/orgs", result)
}

pub struct UserRow {
    pub user: User,
    pub org: String,
    pub role: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    f: Frame,
    rows: Vec<UserRow>,
    orgs: Vec<(String, String)>,
    roles: Vec<(&'static str, String)>,
}

pub async fn users_page(
    State(state): State<AppState>,
    c: Console,
    Query(flash): Query<Flash>,
) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let actor = Actor::from_auth(auth);
    let t = c.t;
    let result: Result<UsersPage, ApiError> = async {
        let orgs = all_orgs(&state).await?;
        let scope = (!ops::may_list_all_users(&actor)).then_some(auth.user.org_id);
        let mut users = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = state
                .store
                .list_users(
                    scope,
                    &PageRequest::from_cursor(cursor.as_deref(), Some(500))?,
                )
                .await?;
            let done = page.next_cursor.is_none() || page.items.is_empty();
            users.extend(page.items);
            if done {
                break;
            }
            cursor = page.next_cursor;
        }
        let org_name = |id: OrgId| {
            orgs.iter()
                .find(|o| o.id == id)
                .map_or_else(|| id.to_string(), |o| o.name(t.lang).to_owned())
        };
        let rows = users
            .into_iter()
            .map(|u| UserRow {
                org: org_name(u.org_id),
                role: t.get(role_key(u.role)).to_owned(),
                created: fmt_time(u.created_at),
                user: u,
            })
            .collect();
        Ok(UsersPage {
            f: c.frame("users", flash),
            rows,
            orgs: orgs
                .iter()
                .map(|o| (o.id.to_string(), o.name(t.lang).to_owned()))
                .collect(),
            roles: Role::ALL
                .iter()
                .map(|r| (r.as_str(), t.get(role_key(*r)).to_owned()))
                .collect(),
        })
    }
    .await;
    match result {
        Ok(p) => render(p),
        Err(e) => axum::response::IntoResponse::into_response(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    org_id: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    password: String,
}

pub async fn create_user(
    State(state): State<AppState>,
    c: Console,
    Form(form): Form<UserForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let parsed = (|| -> Result<NewUser, ApiError> {
        Ok(NewUser {
            org_id: form
                .org_id
                .parse()
                .map_err(|_| ApiError::Invalid("choose an organisation".into()))?,
            username: form.username.trim().to_lowercase(),
            display_name: form.display_name.clone(),
            email: form.email.clone(),
            role: form
                .role
                .parse()
                .map_err(|e: mamori_model::ParseEnumError| ApiError::Invalid(e.to_string()))?,
            lang: form.lang.parse().unwrap_or(Lang::Ja),
        })
    })();
    let result = match parsed {
        Ok(new) => {
            let pass = Some(form.password.as_str()).filter(|p| !p.is_empty());
            ops::create_user(&state.store, &Actor::from_auth(auth), &new, pass)
                .await
                .map(|_| "user.created")
        }
        Err(e) => Err(e),
    };
    back("/users", result)
}

pub struct GroupRow {
    pub group: SharingGroup,
    pub owner: String,
    pub members: Vec<String>,
    pub can_manage: bool,
}

#[derive(Template)]
#[template(path = "groups.html")]
struct GroupsPage {
    f: Frame,
    rows: Vec<GroupRow>,
    orgs: Vec<(String, String)>,
    can_create: bool,
}

pub async fn groups_page(
    State(state): State<AppState>,
    c: Console,
    Query(flash): Query<Flash>,
) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let t = c.t;
    let result: Result<GroupsPage, ApiError> = async {
        let orgs = all_orgs(&state).await?;
        let groups = state.store.list_groups().await?;
        let name = |id: OrgId| {
            orgs.iter()
                .find(|o| o.id == id)
                .map_or_else(|| id.to_string(), |o| o.name(t.lang).to_owned())
        };
        let admin = mamori_access::may_administer(&auth.principal);
        let writer = mamori_access::may_write(&auth.principal);
        let rows = groups
            .into_iter()
            .map(|g| GroupRow {
                owner: name(g.owner_org),
                members: g.members.iter().map(|m| name(*m)).collect(),
                can_manage: admin || (writer && g.owner_org == auth.user.org_id),
                group: g,
            })
            .collect();
        let selectable: Vec<(String, String)> = orgs
            .iter()
            .filter(|o| admin || o.id == auth.user.org_id)
            .map(|o| (o.id.to_string(), o.name(t.lang).to_owned()))
            .collect();
        Ok(GroupsPage {
            f: c.frame("groups", flash),
            rows,
            orgs: if admin {
                selectable
            } else {
                orgs.iter()
                    .map(|o| (o.id.to_string(), o.name(t.lang).to_owned()))
                    .collect()
            },
            can_create: admin || writer,
        })
    }
    .await;
    match result {
        Ok(p) => render(p),
        Err(e) => axum::response::IntoResponse::into_response(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct GroupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    owner_org: String,
}

pub async fn create_group(
    State(state): State<AppState>,
    c: Console,
    Form(form): Form<GroupForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let owner = form.owner_org.parse::<OrgId>().unwrap_or(auth.user.org_id);
    let result = ops::create_group(
        &state.store,
        &Actor::from_auth(auth),
        &NewGroup {
            name: form.name.clone(),
            description: form.description.clone(),
            owner_org: owner,
            members: vec![],
        },
    )
    .await
    .map(|_| "group.created");
    back("/groups", result)
}

#[derive(Debug, Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    org_id: String,
}

pub async fn add_member(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Form(form): Form<MemberForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (Ok(group), Ok(org)) = (id.parse::<GroupId>(), form.org_id.parse::<OrgId>()) else {
        return back(
            "/groups",
            Err(ApiError::Invalid("choose an organisation".into())),
        );
    };
    let result = ops::add_group_member(&state.store, &Actor::from_auth(auth), group, org)
        .await
        .map(|_| "group.updated");
    back("/groups", result)
}
