//! Administrative operations shared by the API, the console and the command line. Each checks the
//! actor's rights through the access policy, changes storage, and writes the audit log; none of
//! the three front ends does any of that itself.

use mamori_access::{may_administer, may_read_audit, role_scopes};
use mamori_model::{
    ApiToken, GroupId, Org, OrgId, Principal, Role, Scope, SharingGroup, Tlp, TokenId, User, UserId,
};
use mamori_store::Store;
use mamori_store::audit::AuditEntry;
use mamori_store::groups::NewGroup;
use mamori_store::orgs::{NewOrg, OrgPatch};
use mamori_store::users::{NewUser, UserPatch};
use serde_json::json;

use crate::auth::{Auth, RequestCtx};
use crate::{ApiError, password};

/// Who performs an operation.
#[derive(Debug, Clone)]
pub struct Actor {
    /// `None` for the local command line and the hub itself, which act with full rights (anyone
    /// who can run them can open the database directly).
    pub principal: Option<Principal>,
    pub name: String,
    pub source: String,
    pub request_id: String,
}

impl Actor {
    /// The local operator running `mamori` on the hub's machine.
    pub fn cli() -> Actor {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".to_owned());
        Actor {
            principal: None,
            name: format!("cli:{user}"),
            source: "local".into(),
            request_id: String::new(),
        }
    }

    /// The hub itself (first run, demo data).
    pub fn system() -> Actor {
        Actor {
            principal: None,
            name: "system".into(),
            source: "local".into(),
            request_id: String::new(),
        }
    }

    pub fn from_auth(auth: &Auth) -> Actor {
        Actor {
            principal: Some(auth.principal.clone()),
            name: auth.principal.username.clone(),
            source: auth.ctx.source.clone(),
            request_id: auth.ctx.request_id.clone(),
        }
    }

    fn is_admin(&self) -> bool {
        self.principal.as_ref().is_none_or(may_administer)
    }

    fn require_admin(&self, what: &str) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden(what))
        }
    }

    fn is_user(&self, id: UserId) -> bool {
        self.principal.as_ref().is_some_and(|p| p.user_id == id)
    }

    fn require_scope(&self, scope: Scope) -> Result<(), ApiError> {
        match &self.principal {
            Some(p) if !p.has_scope(scope) => Err(ApiError::Forbidden(format!(
                "this credential lacks the {scope} scope"
            ))),
            _ => Ok(()),
        }
    }
}

/// Appends an audit entry for an action by `actor`.
pub async fn audit(
    store: &Store,
    actor: &Actor,
    action: &str,
    object_type: &str,
    object_id: &str,
    tlp: Option<Tlp>,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    store
        .append_audit(&AuditEntry {
            actor_user: actor.principal.as_ref().map(|p| p.user_id),
            actor_org: actor.principal.as_ref().map(|p| p.org_id),
            actor_name: actor.name.clone(),
            action: action.to_owned(),
            object_type: object_type.to_owned(),
            object_id: object_id.to_owned(),
            tlp,
            source: actor.source.clone(),
            request_id: actor.request_id.clone(),
            detail,
        })
        .await?;
    Ok(())
}

/// Records a read of marked material when its level requires it (AMBER and above). Every read
/// path of shared material calls this after the policy has allowed the read.
pub async fn audit_read(
    store: &Store,
    actor: &Actor,
    object_type: &str,
    object_id: &str,
    tlp: Tlp,
) -> Result<(), ApiError> {
    if tlp.read_is_audited() {
        audit(
            store,
            actor,
            &format!("{object_type}.read"),
            object_type,
            object_id,
            Some(tlp),
            json!({}),
        )
        .await?;
    }
    Ok(())
}

// ---- organisations ----

pub async fn create_org(store: &Store, actor: &Actor, new: &NewOrg) -> Result<Org, ApiError> {
    actor.require_admin("create organisations")?;
    let org = store.create_org(new).await?;
    audit(
        store,
        actor,
        "org.create",
        "org",
        &org.id.to_string(),
        None,
        json!({"slug": org.slug}),
    )
    .await?;
    Ok(org)
}

pub async fn update_org(
    store: &Store,
    actor: &Actor,
    id: OrgId,
    patch: &OrgPatch,
) -> Result<Org, ApiError> {
    actor.require_admin("change organisations")?;
    let org = store.update_org(id, patch).await?;
    audit(
        store,
        actor,
        "org.update",
        "org",
        &id.to_string(),
        None,
        json!({"slug": org.slug}),
    )
    .await?;
    Ok(org)
}

/// Sets (or with `None` removes) the webhook an organisation's case notifications and notices
/// are POSTed to.
pub async fn set_org_webhook(
    store: &Store,
    actor: &Actor,
    id: OrgId,
    url: Option<&str>,
) -> Result<(), ApiError> {
    actor.require_admin("set organisation webhooks")?;
    let url = url.map(str::trim).filter(|u| !u.is_empty());
    if let Some(u) = url
        && (!(u.starts_with("http://") || u.starts_with("https://"))
            || u.len() > 2000
            || u.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(ApiError::Invalid(
            "a webhook is an http:// or https:// URL".into(),
        ));
    }
    store.set_org_webhook(id, url).await?;
    audit(
        store,
        actor,
        "org.webhook",
        "org",
        &id.to_string(),
        None,
        json!({"url": url}),
    )
    .await?;
    Ok(())
}

pub async fn delete_org(store: &Store, actor: &Actor, id: OrgId) -> Result<(), ApiError> {
    actor.require_admin("delete organisations")?;
    store.delete_org(id).await?;
    audit(
        store,
        actor,
        "org.delete",
        "org",
        &id.to_string(),
        None,
        json!({}),
    )
    .await
}

/// An organisation as `actor` may see it: contacts and address ranges of other organisations are
/// for administrators only.
pub fn redact_org(actor: &Actor, mut org: Org) -> Org {
    let own = actor.principal.as_ref().is_some_and(|p| p.org_id == org.id);
    if !own && !actor.is_admin() {
        org.contacts.clear();
        org.cidrs.clear();
    }
    org
}

// ---- users ----

pub async fn create_user(
    store: &Store,
    actor: &Actor,
    new: &NewUser,
    password: Option<&str>,
) -> Result<User, ApiError> {
    actor.require_admin("create users")?;
    let hash = match password {
        Some(p) => {
            password::check_rules(p)?;
            Some(password::hash(p)?)
        }
        None => None,
    };
    store.get_org(new.org_id).await?;
    let user = store.create_user(new, hash.as_deref()).await?;
    audit(
        store,
        actor,
        "user.create",
        "user",
        &user.id.to_string(),
        None,
        json!({"username": user.username, "org": user.org_id, "role": user.role}),
    )
    .await?;
    Ok(user)
}

pub async fn update_user(
    store: &Store,
    actor: &Actor,
    id: UserId,
    patch: &UserPatch,
) -> Result<User, ApiError> {
    let self_service = patch.role.is_none() && patch.disabled.is_none() && actor.is_user(id);
    if !self_service {
        actor.require_admin("change other users, roles or account status")?;
    }
    actor.require_scope(Scope::Write)?;
    let user = store.update_user(id, patch).await?;
    audit(
        store,
        actor,
        "user.update",
        "user",
        &id.to_string(),
        None,
        json!({"role": patch.role, "disabled": patch.disabled}),
    )
    .await?;
    Ok(user)
}

/// Sets a password: administrators for anyone, users for themselves given their current one.
pub async fn set_password(
    store: &Store,
    actor: &Actor,
    id: UserId,
    new_password: &str,
    current: Option<&str>,
) -> Result<(), ApiError> {
    let user = store.get_user(id).await?;
    if !actor.is_admin() {
        if !actor.is_user(id) {
            return Err(ApiError::forbidden("set other users' passwords"));
        }
        let (_, stored) = store
            .get_user_for_login(&user.username)
            .await?
            .ok_or(ApiError::NotFound("user".into()))?;
        let ok = match (current, stored) {
            (Some(c), Some(h)) => password::verify(c, &h),
            _ => false,
        };
        if !ok {
            return Err(ApiError::Forbidden("the current password is wrong".into()));
        }
    }
    password::check_rules(new_password)?;
    store
        .set_password_hash(id, &password::hash(new_password)?)
        .await?;
    audit(
        store,
        actor,
        "user.password",
        "user",
        &id.to_string(),
        None,
        json!({}),
    )
    .await
}

pub fn may_list_all_users(actor: &Actor) -> bool {
    actor.is_admin()
        || actor
            .principal
            .as_ref()
            .is_some_and(|p| p.role == Role::Auditor && may_read_audit(p))
}

// ---- tokens ----

pub async fn create_token(
    store: &Store,
    actor: &Actor,
    user_id: UserId,
    name: &str,
    scopes: &[Scope],
    expires_at: Option<i64>,
) -> Result<(ApiToken, String), ApiError> {
    if !actor.is_user(user_id) {
        actor.require_admin("create tokens for other users")?;
    }
    let user = store.get_user(user_id).await?;
    let allowed = role_scopes(user.role);
    if let Some(s) = scopes.iter().find(|s| !allowed.contains(s)) {
        return Err(ApiError::Forbidden(format!(
            "a {} may not hold a token with the {s} scope",
            user.role
        )));
    }
    // A credential can not mint a token broader than itself.
    if let Some(p) = &actor.principal
        && let Some(s) = scopes.iter().find(|s| !p.has_scope(**s))
    {
        return Err(ApiError::Forbidden(format!(
            "this credential lacks the {s} scope it would grant"
        )));
    }
    let (token, secret) = store
        .create_token(user_id, name, scopes, expires_at)
        .await?;
    audit(
        store,
        actor,
        "token.create",
        "token",
        &token.id.to_string(),
        None,
        json!({"user": user_id, "name": token.name, "scopes": token.scopes, "expires_at": token.expires_at}),
    )
    .await?;
    Ok((token, secret))
}

pub async fn revoke_token(store: &Store, actor: &Actor, id: TokenId) -> Result<ApiToken, ApiError> {
    let token = store.get_token(id).await?;
    if !actor.is_user(token.user_id) {
        actor.require_admin("revoke other users' tokens")?;
    }
    let token = store.revoke_token(id).await?;
    audit(
        store,
        actor,
        "token.revoke",
        "token",
        &id.to_string(),
        None,
        json!({}),
    )
    .await?;
    Ok(token)
}

pub async fn list_tokens(
    store: &Store,
    actor: &Actor,
    user_id: UserId,
) -> Result<Vec<ApiToken>, ApiError> {
    if !actor.is_user(user_id) {
        actor.require_admin("list other users' tokens")?;
    }
    Ok(store.list_tokens(user_id).await?)
}

// ---- sharing groups ----

/// Administrators manage every group; analysts manage the groups their organisation runs.
fn require_group_manager(actor: &Actor, owner: OrgId) -> Result<(), ApiError> {
    if actor.is_admin() {
        return Ok(());
    }
    match &actor.principal {
        Some(p) if p.org_id == owner && mamori_access::may_write(p) => Ok(()),
        _ => Err(ApiError::forbidden("manage this sharing group")),
    }
}

pub async fn create_group(
    store: &Store,
    actor: &Actor,
    new: &NewGroup,
) -> Result<SharingGroup, ApiError> {
    require_group_manager(actor, new.owner_org)?;
    let g = store.create_group(new).await?;
    audit(
        store,
        actor,
        "group.create",
        "group",
        &g.id.to_string(),
        None,
        json!({"name": g.name, "members": g.members}),
    )
    .await?;
    Ok(g)
}

pub async fn add_group_member(
    store: &Store,
    actor: &Actor,
    group: GroupId,
    org: OrgId,
) -> Result<SharingGroup, ApiError> {
    let g = store.get_group(group).await?;
    require_group_manager(actor, g.owner_org)?;
    store.get_org(org).await?;
    store.add_group_member(group, org).await?;
    audit(
        store,
        actor,
        "group.member.add",
        "group",
        &group.to_string(),
        None,
        json!({"org": org}),
    )
    .await?;
    Ok(store.get_group(group).await?)
}

pub async fn remove_group_member(
    store: &Store,
    actor: &Actor,
    group: GroupId,
    org: OrgId,
) -> Result<SharingGroup, ApiError> {
    let g = store.get_group(group).await?;
    require_group_manager(actor, g.owner_org)?;
    store.remove_group_member(group, org).await?;
    audit(
        store,
        actor,
        "group.member.remove",
        "group",
        &group.to_string(),
        None,
        json!({"org": org}),
    )
    .await?;
    Ok(store.get_group(group).await?)
}

pub async fn delete_group(store: &Store, actor: &Actor, group: GroupId) -> Result<(), ApiError> {
    let g = store.get_group(group).await?;
    require_group_manager(actor, g.owner_org)?;
    store.delete_group(group).await?;
    audit(
        store,
        actor,
        "group.delete",
        "group",
        &group.to_string(),
        None,
        json!({"name": g.name}),
    )
    .await
}

// ---- login ----

/// Checks a username and password with rate limiting, and audits the outcome. The same error is
/// returned for an unknown user, a wrong password and a disabled account.
pub async fn login(
    state: &crate::AppState,
    ctx: &RequestCtx,
    username: &str,
    pass: &str,
) -> Result<User, ApiError> {
    let username = username.trim().to_lowercase();
    if let Err(retry_after) = state.limiter.check(&username, &ctx.source) {
        return Err(ApiError::RateLimited { retry_after });
    }
    let found = state.store.get_user_for_login(&username).await?;
    let verified = match &found {
        Some((user, Some(hash))) if !user.disabled => password::verify(pass, hash),
        _ => {
            password::burn_time(pass);
            false
        }
    };
    let actor = Actor {
        principal: None,
        name: username.clone(),
        source: ctx.source.clone(),
        request_id: ctx.request_id.clone(),
    };
    match found {
        Some((user, _)) if verified => {
            state.limiter.record_success(&username);
            let mut actor = actor;
            actor.principal = Some(crate::auth::principal_for(&state.store, &user, &[]).await?);
            audit(
                &state.store,
                &actor,
                "session.login",
                "user",
                &user.id.to_string(),
                None,
                json!({}),
            )
            .await?;
            Ok(user)
        }
        _ => {
            state.limiter.record_failure(&username, &ctx.source);
            audit(
                &state.store,
                &actor,
                "session.login_failed",
                "user",
                &username,
                None,
                json!({}),
            )
            .await?;
            Err(ApiError::BadCredentials)
        }
    }
}
