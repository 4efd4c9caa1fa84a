//! One pull or push between a local TAXII collection and a remote one, as `mamori share
//! pull|push` and the scheduled feeds run them. Pulled objects go through the same ingest as a
//! TAXII POST (validation, marking, all or nothing); objects already here by id and version
//! are not stored again, and the remote does the same, so federation never duplicates or loops.

use anyhow::bail;
use mamori_model::Principal;
use mamori_server::ops::Actor;
use mamori_server::taxii::handlers::Collection;
use mamori_store::Store;

use super::taxii_client::Remote;

/// Pulls the remote collection into `local`; returns (objects fetched, objects new here).
pub async fn pull_once(
    store: &Store,
    principal: &Principal,
    actor: &Actor,
    local: &Collection,
    remote: &Remote,
    remote_collection: &str,
    added_after: Option<&str>,
) -> anyhow::Result<(usize, usize)> {
    let objects = remote.objects(remote_collection, added_after).await?;
    if objects.is_empty() {
        return Ok((0, 0));
    }
    let body = serde_json::json!({"objects": objects}).to_string();
    let (_, added) =
        mamori_server::taxii::handlers::ingest(store, principal, actor, local, body.as_bytes())
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.describe()))?;
    Ok((objects.len(), added))
}

/// Pushes `local` as `principal` sees it (never AMBER+STRICT or RED) to the remote collection;
/// returns (objects sent, objects the remote accepted).
pub async fn push_once(
    store: &Store,
    principal: &Principal,
    local: &Collection,
    remote: &Remote,
    remote_collection: &str,
) -> anyhow::Result<(usize, usize)> {
    let filter = mamori_access::VisibilityFilter::for_principal(principal);
    let mut objects = Vec::new();
    let mut after = 0;
    loop {
        let (rows, more) = store
            .list_stix_objects(&filter, local.scope, &Default::default(), after, 1000)
            .await?;
        after = rows.last().map_or(after, |r| r.seq);
        for r in rows {
            let v: serde_json::Value = serde_json::from_str(&r.json)?;
            // TLP 2.0: AMBER+STRICT and RED never leave the hub.
            let tlp = v
                .get("object_marking_refs")
                .and_then(|m| m.as_array())
                .and_then(|m| {
                    let ids: Vec<&str> = m.iter().filter_map(|x| x.as_str()).collect();
                    mamori_stix::tlp::tlp_of_refs(&ids)
                });
            if tlp.is_none_or(mamori_server::interchange::exportable) {
                objects.push(v);
            }
        }
        if !more {
            break;
        }
    }
    if objects.is_empty() {
        return Ok((0, 0));
    }
    let stored = remote.post(remote_collection, &objects, 500).await?;
    Ok((objects.len(), usize::try_from(stored).unwrap_or(usize::MAX)))
}

/// The principal of an actor made for a local user.
pub fn principal_of(actor: &Actor) -> anyhow::Result<Principal> {
    match actor.principal.clone() {
        Some(p) => Ok(p),
        None => bail!("no principal"),
    }
}
