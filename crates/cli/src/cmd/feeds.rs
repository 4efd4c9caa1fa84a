//! Scheduled TAXII feeds (`[[share.feeds]]`) inside `mamori serve`: one task per feed pulls
//! and/or pushes on its interval with the same code as `mamori share pull|push` (so the same
//! de-duplication and loop protection), acting as the configured local user, and records each
//! run (time, error, objects moved) in the store for `GET /api/v1/share/feeds`.

use std::time::Duration;

use mamori_config::{Config, ExposeSecret, FeedConfig, FeedCredential};
use mamori_store::{ConnectOptions, Store};

use super::federation::{principal_of, pull_once, push_once};
use super::share::{actor_for_user, local_collection};
use super::taxii_client::{Credential, Remote};

/// Starts one task per configured feed (none when there are none).
pub fn spawn(config: &Config) {
    if config.share.feeds.is_empty() {
        return;
    }
    let url = config.database_url();
    for feed in config.share.feeds.clone() {
        let url = url.clone();
        tokio::spawn(async move {
            let store = match Store::connect(&url, &ConnectOptions::default()).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(feed = %feed.name, error = %e, "feed: no storage");
                    return;
                }
            };
            tracing::info!(feed = %feed.name, direction = feed.direction.as_str(), every = feed.interval_secs, "scheduled feed");
            loop {
                let (error, pulled, pushed) = match run_once(&store, &feed).await {
                    Ok((pulled, pushed)) => (None, pulled, pushed),
                    Err(e) => {
                        tracing::warn!(feed = %feed.name, error = %e, "feed run failed");
                        (Some(format!("{e:#}")), 0, 0)
                    }
                };
                if let Err(e) = store
                    .record_feed_run(&feed.name, error.as_deref(), pulled, pushed)
                    .await
                {
                    tracing::error!(feed = %feed.name, error = %e, "feed: cannot record status");
                }
                tokio::time::sleep(Duration::from_secs(feed.interval_secs)).await;
            }
        });
    }
}

/// One run: (objects new here, objects the remote accepted).
async fn run_once(store: &Store, feed: &FeedConfig) -> anyhow::Result<(i64, i64)> {
    let actor = actor_for_user(store, &feed.user, &format!("feed:{}", feed.name)).await?;
    let principal = principal_of(&actor)?;
    let local = local_collection(store, &principal, &feed.local).await?;
    let cred = match &feed.credential {
        FeedCredential::Bearer(t) => Credential::Bearer(t.expose_secret().to_owned()),
        FeedCredential::Basic { user, password } => Credential::Basic {
            user: user.clone(),
            password: password.expose_secret().to_owned(),
        },
    };
    let remote = Remote::new(&feed.url, cred)?;
    let mut pulled = 0;
    let mut pushed = 0;
    if feed.direction.pulls() {
        let (_, added) = pull_once(
            store,
            &principal,
            &actor,
            &local,
            &remote,
            &feed.collection,
            None,
        )
        .await?;
        pulled = i64::try_from(added).unwrap_or(i64::MAX);
    }
    if feed.direction.pushes() {
        let (_, accepted) = push_once(store, &principal, &local, &remote, &feed.collection).await?;
        pushed = i64::try_from(accepted).unwrap_or(i64::MAX);
    }
    Ok((pulled, pushed))
}
