//! `mamori admin`: organisations, users, API tokens and sharing groups from the command line. It
//! acts as the local operator (recorded as `cli:<user>` in the audit log) through the same
//! operations as the API and console.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, bail};
use mamori_model::{Contact, Lang, OrgKind, Role, Scope};
use mamori_server::ops::{self, Actor};
use mamori_store::groups::NewGroup;
use mamori_store::orgs::{NewOrg, OrgPatch};
use mamori_store::users::{NewUser, UserPatch};
use mamori_store::{PageRequest, Store};

use super::GlobalArgs;

#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Users.
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Sharing groups.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Sensors of member organisations.
    #[command(subcommand)]
    Sensor(SensorCommand),
    /// YARA rule sets that mail analysis scans with.
    #[command(subcommand)]
    Yara(super::yara_admin::YaraCommand),
    /// The latest retro-hunts (newly shared indicators searched for in the stored events by
    /// `mamori serve`): when, how many indicators, events read, alerts and sightings.
    RetroHunts {
        #[arg(long)]
        json: bool,
        /// How many, newest first.
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Print the hub's public key that signs sensor rule bundles (creating the key on first
    /// use), for `mamori sensor --hub-key`.
    HubKey {
        #[arg(long)]
        json: bool,
        /// Retire the key and make a new one, endorsed by the old one: sensors that trust the
        /// old key follow the endorsement (a running hub signs with the new key at once).
        #[arg(long)]
        rotate: bool,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum SensorCommand {
    /// Register a sensor for an organisation; prints its token once.
    Add {
        /// The organisation (id or slug).
        #[arg(long)]
        org: String,
        /// A name unique in the organisation (letters, digits, '-', '_', '.').
        name: String,
    },
    /// List sensors.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a sensor's token by sensor id.
    Revoke { id: String },
}

#[derive(Debug, clap::Subcommand)]
pub enum OrgCommand {
    /// Create an organisation.
    Create {
        /// Short unique handle (a-z, 0-9, -), e.g. `mic` or `city-sendai`.
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name_ja: Option<String>,
        #[arg(long)]
        name_en: Option<String>,
        /// ministry, agency, municipality, university, critical-infrastructure, isp, csirt, vendor
        #[arg(long)]
        kind: OrgKind,
        #[arg(long)]
        sector: Option<String>,
        /// An owned IP range (repeatable).
        #[arg(long = "cidr")]
        cidrs: Vec<ipnet::IpNet>,
        /// An owned domain (repeatable).
        #[arg(long = "domain")]
        domains: Vec<String>,
        /// A notice contact as `Name <address>` (repeatable).
        #[arg(long = "contact")]
        contacts: Vec<String>,
        /// Language of the contacts given.
        #[arg(long, default_value = "ja")]
        contact_lang: Lang,
        #[arg(long)]
        json: bool,
    },
    /// List organisations.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one organisation (id or slug).
    Show { org: String },
    /// Change an organisation.
    Update {
        org: String,
        #[arg(long)]
        name_ja: Option<String>,
        #[arg(long)]
        name_en: Option<String>,
        #[arg(long)]
        kind: Option<OrgKind>,
        #[arg(long)]
        sector: Option<String>,
        /// Replace the owned IP ranges (repeatable).
        #[arg(long = "cidr")]
        cidrs: Vec<ipnet::IpNet>,
        /// Replace the owned domains (repeatable).
        #[arg(long = "domain")]
        domains: Vec<String>,
    },
    /// Delete an organisation without users.
    Delete { org: String },
    /// Keep this organisation's stored events for DAYS days (`default`: the hub's setting).
    Retention { org: String, days: String },
    /// Set the webhook case notifications and notices are POSTed to (JSON), or remove it.
    Webhook {
        org: String,
        /// http:// or https:// URL.
        #[arg(long, required_unless_present = "remove")]
        url: Option<String>,
        #[arg(long, conflicts_with = "url")]
        remove: bool,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from stdin (`--password-stdin`) or generated and
    /// printed once (`--generate-password`); without either the user can only use tokens.
    Create {
        #[arg(long)]
        org: String,
        #[arg(long)]
        username: String,
        /// admin, analyst, member, auditor
        #[arg(long)]
        role: Role,
        #[arg(long, default_value = "")]
        display_name: String,
        #[arg(long, default_value = "")]
        email: String,
        #[arg(long, default_value = "ja")]
        lang: Lang,
        #[arg(long, conflicts_with = "generate_password")]
        password_stdin: bool,
        #[arg(long)]
        generate_password: bool,
    },
    /// List users.
    List {
        /// Only this organisation's users.
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Set a password (from stdin, or generated and printed once).
    SetPassword {
        user: String,
        #[arg(long, conflicts_with = "generate")]
        stdin: bool,
        #[arg(long)]
        generate: bool,
    },
    /// Change a user's role.
    SetRole { user: String, role: Role },
    /// Disable a user (ends their sessions; tokens stop working).
    Disable { user: String },
    /// Enable a disabled user.
    Enable { user: String },
}

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create an API token; its secret is printed once.
    Create {
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: String,
        /// Comma-separated: read, write, admin.
        #[arg(long, value_delimiter = ',', default_value = "read")]
        scope: Vec<Scope>,
        /// Expire after this many days (default: never).
        #[arg(long)]
        expires_days: Option<u32>,
    },
    /// List a user's tokens.
    List {
        #[arg(long)]
        user: String,
    },
    /// Revoke a token by id.
    Revoke { id: String },
}

#[derive(Debug, clap::Subcommand)]
pub enum GroupCommand {
    /// Create a sharing group run by an organisation.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// The organisation that runs it (id or slug).
        #[arg(long)]
        owner: String,
        /// A member organisation (repeatable).
        #[arg(long = "member")]
        members: Vec<String>,
    },
    /// List sharing groups with their members.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add an organisation to a group.
    AddMember { group: String, org: String },
    /// Remove an organisation from a group.
    RemoveMember { group: String, org: String },
    /// Delete a group.
    Delete { group: String },
}

pub async fn run(global: &GlobalArgs, cmd: AdminCommand) -> anyhow::Result<ExitCode> {
    if let AdminCommand::HubKey { json, rotate } = cmd {
        let config = global.load(None)?;
        if rotate {
            let r = mamori_server::key_rotation::rotate(&config.data_dir)
                .context("rotating the hub signing key")?;
            let (_, store) = global.open_store().await?;
            let recorded = ops::audit(
                &store,
                &Actor::cli(),
                "hub_key.rotate",
                "hub_key",
                r.new.id(),
                None,
                serde_json::json!({"previous": r.old_id, "retired_file": r.retired.display().to_string()}),
            )
            .await;
            store.close().await;
            recorded?;
            eprintln!(
                "rotated: {} → {} (the old key endorses the new one; retired key in {})",
                r.old_id,
                r.new.id(),
                r.retired.display()
            );
        }
        let key = mamori_server::bundle::HubKey::load_or_create(&config.data_dir)
            .context("hub signing key")?;
        if json {
            println!("{}", serde_json::to_string_pretty(&key.public())?);
        } else {
            println!("{}", key.public_b64());
            eprintln!("key id {} (ed25519)", key.id());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (_, store) = global.open_store().await?;
    let actor = Actor::cli();
    let result = match cmd {
        AdminCommand::Org(c) => org(&store, &actor, c).await,
        AdminCommand::User(c) => user(&store, &actor, c).await,
        AdminCommand::Token(c) => token(&store, &actor, c).await,
        AdminCommand::Group(c) => group(&store, &actor, c).await,
        AdminCommand::Sensor(c) => sensor(&store, &actor, c).await,
        AdminCommand::Yara(c) => super::yara_admin::run(&store, &actor, c).await,
        AdminCommand::RetroHunts { json, limit } => retro_hunts(&store, json, limit).await,
        AdminCommand::HubKey { .. } => Ok(()),
    };
    store.close().await;
    result.map(|()| ExitCode::SUCCESS)
}

fn parse_contact(s: &str, lang: Lang) -> anyhow::Result<Contact> {
    let (name, email) = match (s.find('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => (s[..a].trim(), s[a + 1..b].trim()),
        _ => ("", s.trim()),
    };
    if !email.contains('@') {
        bail!("contact {s:?}: expected `Name <address>`");
    }
    Ok(Contact {
        name: name.to_owned(),
        email: email.to_owned(),
        lang,
    })
}

async fn all_orgs(store: &Store) -> anyhow::Result<Vec<mamori_model::Org>> {
    Ok(store.all_orgs().await?)
}

async fn org(store: &Store, actor: &Actor, cmd: OrgCommand) -> anyhow::Result<()> {
    match cmd {
        OrgCommand::Retention { org, days } => {
            let o = store.find_org(&org).await?;
            let days =
                match days.as_str() {
                    "default" => None,
                    d => Some(d.parse::<i64>().map_err(|_| {
                        anyhow::anyhow!("days must be a number of days or `default`")
                    })?),
                };
            mamori_server::monitor::set_retention(store, actor, o.id, days).await?;
            match days {
                Some(d) => println!("{} keeps its events for {d} days", o.slug),
                None => println!("{} keeps its events for the hub's default time", o.slug),
            }
        }
        OrgCommand::Create {
            slug,
            name_ja,
            name_en,
            kind,
            sector,
            cidrs,
            domains,
            contacts,
            contact_lang,
            json,
        } => {
            let contacts = contacts
                .iter()
                .map(|c| parse_contact(c, contact_lang))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let org = ops::create_org(
                store,
                actor,
                &NewOrg {
                    slug,
                    name_ja: name_ja.unwrap_or_default(),
                    name_en: name_en.unwrap_or_default(),
                    kind,
                    sector,
                    cidrs,
                    domains,
                    contacts,
                },
            )
            .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&org)?);
            } else {
                println!("created organisation {} ({})", org.slug, org.id);
            }
        }
        OrgCommand::List { json } => {
            let orgs = all_orgs(store).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&orgs)?);
            } else {
                println!("{:<16} {:<24} {:<36} NAME", "SLUG", "KIND", "ID");
                for o in orgs {
                    println!(
                        "{:<16} {:<24} {:<36} {} / {}",
                        o.slug, o.kind, o.id, o.name_ja, o.name_en
                    );
                }
            }
        }
        OrgCommand::Show { org } => {
            let org = store.find_org(&org).await?;
            println!("{}", serde_json::to_string_pretty(&org)?);
        }
        OrgCommand::Update {
            org,
            name_ja,
            name_en,
            kind,
            sector,
            cidrs,
            domains,
        } => {
            let id = store.find_org(&org).await?.id;
            let patch = OrgPatch {
                name_ja,
                name_en,
                kind,
                sector: sector.map(Some),
                cidrs: (!cidrs.is_empty()).then_some(cidrs),
                domains: (!domains.is_empty()).then_some(domains),
                contacts: None,
            };
            let org = ops::update_org(store, actor, id, &patch).await?;
            println!("updated organisation {} ({})", org.slug, org.id);
        }
        OrgCommand::Webhook { org, url, remove } => {
            let o = store.find_org(&org).await?;
            let url = if remove { None } else { url };
            ops::set_org_webhook(store, actor, o.id, url.as_deref()).await?;
            match url {
                Some(u) => println!("{} webhook: {u}", o.slug),
                None => println!("{} has no webhook", o.slug),
            }
        }
        OrgCommand::Delete { org } => {
            let org = store.find_org(&org).await?;
            ops::delete_org(store, actor, org.id).await?;
            println!("deleted organisation {}", org.slug);
        }
    }
    Ok(())
}

fn read_password_stdin() -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut s)
        .context("cannot read the password from stdin")?;
    Ok(s.trim_end_matches(['\r', '\n']).to_owned())
}

async fn user(store: &Store, actor: &Actor, cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Create {
            org,
            username,
            role,
            display_name,
            email,
            lang,
            password_stdin,
            generate_password,
        } => {
            let org = store.find_org(&org).await?;
            let password = if password_stdin {
                Some(read_password_stdin()?)
            } else if generate_password {
                Some(mamori_server::password::generate()?)
            } else {
                None
            };
            let user = ops::create_user(
                store,
                actor,
                &NewUser {
                    org_id: org.id,
                    username,
                    display_name,
                    email,
                    role,
                    lang,
                },
                password.as_deref(),
            )
            .await?;
            println!(
                "created user {} ({}) in {}",
                user.username, user.id, org.slug
            );
            if generate_password && let Some(p) = password {
                println!("password (shown once): {p}");
            }
        }
        UserCommand::List { org, json } => {
            let org = match org {
                Some(o) => Some(store.find_org(&o).await?.id),
                None => None,
            };
            let mut users = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = store
                    .list_users(
                        org,
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
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                println!(
                    "{:<24} {:<8} {:<8} {:<36} ORG",
                    "USERNAME", "ROLE", "STATUS", "ID"
                );
                for u in users {
                    let status = if u.disabled { "disabled" } else { "active" };
                    println!(
                        "{:<24} {:<8} {:<8} {:<36} {}",
                        u.username, u.role, status, u.id, u.org_id
                    );
                }
            }
        }
        UserCommand::SetPassword {
            user,
            stdin,
            generate,
        } => {
            let u = store.find_user(&user).await?;
            let password = if stdin {
                read_password_stdin()?
            } else if generate {
                mamori_server::password::generate()?
            } else {
                bail!("give --stdin or --generate");
            };
            ops::set_password(store, actor, u.id, &password, None).await?;
            println!("password set for {}", u.username);
            if generate {
                println!("password (shown once): {password}");
            }
        }
        UserCommand::SetRole { user, role } => {
            let u = store.find_user(&user).await?;
            let patch = UserPatch {
                role: Some(role),
                ..Default::default()
            };
            ops::update_user(store, actor, u.id, &patch).await?;
            println!("{} is now {role}", u.username);
        }
        UserCommand::Disable { user } => set_disabled(store, actor, &user, true).await?,
        UserCommand::Enable { user } => set_disabled(store, actor, &user, false).await?,
    }
    Ok(())
}

async fn set_disabled(
    store: &Store,
    actor: &Actor,
    user: &str,
    disabled: bool,
) -> anyhow::Result<()> {
    let u = store.find_user(user).await?;
    let patch = UserPatch {
        disabled: Some(disabled),
        ..Default::default()
    };
    ops::update_user(store, actor, u.id, &patch).await?;
    println!(
        "{} is {}",
        u.username,
        if disabled { "disabled" } else { "enabled" }
    );
    Ok(())
}

async fn token(store: &Store, actor: &Actor, cmd: TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Create {
            user,
            name,
            scope,
            expires_days,
        } => {
            let u = store.find_user(&user).await?;
            let expires_at = expires_days
                .map(|d| mamori_store::now_millis() + i64::from(d.clamp(1, 3650)) * 86_400_000);
            let (token, secret) =
                ops::create_token(store, actor, u.id, &name, &scope, expires_at).await?;
            eprintln!(
                "created token {} for {} (scopes: {:?})",
                token.id, u.username, token.scopes
            );
            eprintln!("the secret below is shown once:");
            println!("{secret}");
        }
        TokenCommand::List { user } => {
            let u = store.find_user(&user).await?;
            let now = mamori_store::now_millis();
            for t in ops::list_tokens(store, actor, u.id).await? {
                let state = if t.is_live(now) { "live" } else { "dead" };
                println!("{}  {:<5} {:<20} {:?}", t.id, state, t.name, t.scopes);
            }
        }
        TokenCommand::Revoke { id } => {
            let id = id.parse().context("not a token id")?;
            let t = ops::revoke_token(store, actor, id).await?;
            println!("revoked token {} ({})", t.id, t.name);
        }
    }
    Ok(())
}

async fn group(store: &Store, actor: &Actor, cmd: GroupCommand) -> anyhow::Result<()> {
    match cmd {
        GroupCommand::Create {
            name,
            description,
            owner,
            members,
        } => {
            let owner = store.find_org(&owner).await?.id;
            let mut ids = Vec::new();
            for m in members {
                ids.push(store.find_org(&m).await?.id);
            }
            let g = ops::create_group(
                store,
                actor,
                &NewGroup {
                    name,
                    description,
                    owner_org: owner,
                    members: ids,
                },
            )
            .await?;
            println!(
                "created sharing group {} ({}) with {} members",
                g.name,
                g.id,
                g.members.len()
            );
        }
        GroupCommand::List { json } => {
            let groups = store.list_groups().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&groups)?);
            } else {
                let orgs = all_orgs(store).await?;
                for g in groups {
                    let slugs: Vec<&str> = g
                        .members
                        .iter()
                        .filter_map(|m| orgs.iter().find(|o| o.id == *m).map(|o| o.slug.as_str()))
                        .collect();
                    println!("{}  {}  [{}]", g.id, g.name, slugs.join(", "));
                }
            }
        }
        GroupCommand::AddMember { group, org } => {
            let g = store.find_group(&group).await?;
            let o = store.find_org(&org).await?;
            ops::add_group_member(store, actor, g.id, o.id).await?;
            println!("{} joined {}", o.slug, g.name);
        }
        GroupCommand::RemoveMember { group, org } => {
            let g = store.find_group(&group).await?;
            let o = store.find_org(&org).await?;
            ops::remove_group_member(store, actor, g.id, o.id).await?;
            println!("{} left {}", o.slug, g.name);
        }
        GroupCommand::Delete { group } => {
            let g = store.find_group(&group).await?;
            ops::delete_group(store, actor, g.id).await?;
            println!("deleted sharing group {}", g.name);
        }
    }
    Ok(())
}

async fn retro_hunts(store: &Store, json: bool, limit: i64) -> anyhow::Result<()> {
    let hunts = store.list_retro_hunts(limit).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&hunts)?);
        return Ok(());
    }
    println!("started\tindicators\tevents\talerts\tsightings\tstate\tid");
    for h in hunts {
        let state = match h.finished_at {
            _ if h.id == mamori_store::retro::BASELINE => "baseline (not hunted)".to_owned(),
            Some(_) => "finished".to_owned(),
            None => format!("running ({} blocks, {})", h.blocks, h.claimed_by),
        };
        println!(
            "{}\t{}\t{}\t{}\t{}\t{state}\t{}",
            mamori_server::fmt_time(h.created_at),
            h.indicators,
            h.events,
            h.alerts,
            h.sightings,
            h.id
        );
    }
    Ok(())
}

async fn sensor(store: &Store, actor: &Actor, cmd: SensorCommand) -> anyhow::Result<()> {
    match cmd {
        SensorCommand::Add { org, name } => {
            let org = store.find_org(&org).await?;
            let out = mamori_server::monitor::create_sensor(store, actor, org.id, &name).await?;
            println!(
                "registered sensor {} ({}) for {}",
                out.sensor.name, out.sensor.id, org.slug
            );
            println!("token (shown once): {}", out.token);
        }
        SensorCommand::List { json } => {
            let sensors = store.list_sensors(None).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&sensors)?);
            } else {
                for s in sensors {
                    let state = if s.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    println!("{}\t{}\t{}\t{state}", s.id, s.org_id, s.name);
                }
            }
        }
        SensorCommand::Revoke { id } => {
            let s = mamori_server::monitor::revoke_sensor(store, actor, &id).await?;
            println!("revoked sensor {} ({})", s.name, s.id);
        }
    }
    Ok(())
}
