//! `[[share.feeds]]`: remote TAXII 2.1 collections the hub keeps in step with on a schedule.
//! Each entry is read from the file with its own line numbers; secrets are `env:`/`file:`
//! references resolved at load (never written back or logged).

use std::ops::Range;

use secrecy::SecretString;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::secret;
use crate::value::{Raw, in_range, string, unsigned};

/// Which way a feed moves objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedDirection {
    Pull,
    Push,
    Both,
}

impl FeedDirection {
    pub fn pulls(self) -> bool {
        matches!(self, FeedDirection::Pull | FeedDirection::Both)
    }
    pub fn pushes(self) -> bool {
        matches!(self, FeedDirection::Push | FeedDirection::Both)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            FeedDirection::Pull => "pull",
            FeedDirection::Push => "push",
            FeedDirection::Both => "both",
        }
    }
}

/// How the hub authenticates to the remote server.
#[derive(Clone, Debug)]
pub enum FeedCredential {
    Bearer(SecretString),
    Basic {
        user: String,
        password: SecretString,
    },
}

/// One `[[share.feeds]]` entry.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FeedConfig {
    /// Unique name (status and logs use it).
    pub name: String,
    /// The remote API root, e.g. `https://partner.example/taxii2/api/`.
    pub url: String,
    /// The remote collection id.
    pub collection: String,
    pub credential: FeedCredential,
    pub direction: FeedDirection,
    /// Seconds between runs (1 s ..= 7 days; default 300).
    pub interval_secs: u64,
    /// The local user the feed acts as (their organisation owns what is pulled).
    pub user: String,
    /// The local collection: `community`, `org`, a sharing group's name or a collection id.
    pub local: String,
}

/// `[share]`
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ShareConfig {
    pub feeds: Vec<FeedConfig>,
}

/// Shortest and longest accepted interval, in seconds.
pub(crate) const INTERVAL_MIN: u64 = 1;
pub(crate) const INTERVAL_MAX: u64 = 7 * 24 * 3600;

/// A problem at a span of the file, with the key path.
pub(crate) type FeedError = (Option<Range<usize>>, String, String);

const KEYS: [&str; 10] = [
    "name",
    "url",
    "collection",
    "token",
    "basic_user",
    "password",
    "direction",
    "interval_secs",
    "as",
    "local_collection",
];

/// Reads the `share` table.
pub(crate) fn parse_share(
    value: &Spanned<DeValue<'_>>,
    secret_env: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<FeedError>,
) -> ShareConfig {
    let mut out = ShareConfig::default();
    let DeValue::Table(t) = value.get_ref() else {
        errors.push((
            Some(value.span()),
            "share".into(),
            "expected a table".into(),
        ));
        return out;
    };
    for (k, v) in t.iter() {
        let name: &str = k.get_ref();
        if name != "feeds" {
            errors.push((
                Some(k.span()),
                format!("share.{name}"),
                "unknown key; expected one of: feeds".into(),
            ));
            continue;
        }
        let DeValue::Array(items) = v.get_ref() else {
            errors.push((
                Some(v.span()),
                "share.feeds".into(),
                "expected an array of tables ([[share.feeds]])".into(),
            ));
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let path = format!("share.feeds[{i}]");
            match item.get_ref() {
                DeValue::Table(t) => {
                    if let Some(f) = feed(&path, item.span(), t, secret_env, errors) {
                        if out.feeds.iter().any(|o| o.name == f.name) {
                            errors.push((
                                Some(item.span()),
                                format!("{path}.name"),
                                format!("a feed named {:?} is defined twice", f.name),
                            ));
                        } else {
                            out.feeds.push(f);
                        }
                    }
                }
                _ => errors.push((Some(item.span()), path, "expected a table".into())),
            }
        }
    }
    out
}

fn feed(
    path: &str,
    span: Range<usize>,
    t: &DeTable<'_>,
    secret_env: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<FeedError>,
) -> Option<FeedConfig> {
    let before = errors.len();
    let get = |key: &str| -> Option<(&Spanned<DeValue<'_>>, String)> {
        t.iter()
            .find(|(k, _)| AsRef::<str>::as_ref(k.get_ref()) == key)
            .map(|(_, v)| (v, format!("{path}.{key}")))
    };
    for (k, _) in t.iter() {
        let name: &str = k.get_ref();
        if !KEYS.contains(&name) {
            errors.push((
                Some(k.span()),
                format!("{path}.{name}"),
                format!("unknown key; expected one of: {}", KEYS.join(", ")),
            ));
        }
    }
    let text = |key: &str, required: bool, errors: &mut Vec<FeedError>| -> Option<String> {
        match get(key) {
            Some((v, p)) => match string(Raw::Toml(v.get_ref())) {
                Ok(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                Ok(_) => {
                    errors.push((Some(v.span()), p, "must not be empty".into()));
                    None
                }
                Err(m) => {
                    errors.push((Some(v.span()), p, m));
                    None
                }
            },
            None if required => {
                errors.push((
                    Some(span.clone()),
                    format!("{path}.{key}"),
                    "is required".into(),
                ));
                None
            }
            None => None,
        }
    };
    let name = text("name", true, errors);
    let url = text("url", true, errors);
    if let Some(u) = &url {
        let lower = u.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            let s = t
                .iter()
                .find(|(k, _)| AsRef::<str>::as_ref(k.get_ref()) == "url")
                .map(|(_, v)| v.span());
            errors.push((
                s,
                format!("{path}.url"),
                "must be an http:// or https:// URL".into(),
            ));
        }
    }
    let collection = text("collection", true, errors);
    let user = text("as", true, errors);
    let local = text("local_collection", false, errors).unwrap_or_else(|| "community".into());
    let direction = match text("direction", false, errors).as_deref() {
        None | Some("pull") => FeedDirection::Pull,
        Some("push") => FeedDirection::Push,
        Some("both") => FeedDirection::Both,
        Some(other) => {
            errors.push((
                Some(span.clone()),
                format!("{path}.direction"),
                format!("expected pull, push or both, got {other:?}"),
            ));
            FeedDirection::Pull
        }
    };
    let interval_secs = match get("interval_secs") {
        Some((v, p)) => match unsigned(Raw::Toml(v.get_ref()))
            .and_then(|n| in_range(n, INTERVAL_MIN, INTERVAL_MAX))
        {
            Ok(n) => n,
            Err(m) => {
                errors.push((Some(v.span()), p, m));
                300
            }
        },
        None => 300,
    };
    let secret_of = |key: &str, errors: &mut Vec<FeedError>| -> Option<SecretString> {
        let (v, p) = get(key)?;
        match string(Raw::Toml(v.get_ref())).and_then(|s| {
            if s.starts_with("env:") || s.starts_with("file:") {
                secret::resolve(s.trim(), secret_env)
            } else {
                Err("give the secret as env:NAME or file:PATH, not in the file".into())
            }
        }) {
            Ok(s) => Some(s),
            Err(m) => {
                errors.push((Some(v.span()), p, m));
                None
            }
        }
    };
    let token = secret_of("token", errors);
    let basic_user = text("basic_user", false, errors);
    let password = secret_of("password", errors);
    let credential = match (token, basic_user, password) {
        (Some(t), None, None) => Some(FeedCredential::Bearer(t)),
        (None, Some(user), Some(password)) => Some(FeedCredential::Basic { user, password }),
        _ => {
            if errors.len() == before {
                errors.push((
                    Some(span.clone()),
                    format!("{path}.token"),
                    "give token = \"env:NAME\", or basic_user with password = \"env:NAME\"".into(),
                ));
            }
            None
        }
    };
    if errors.len() != before {
        return None;
    }
    Some(FeedConfig {
        name: name?,
        url: url?,
        collection: collection?,
        credential: credential?,
        direction,
        interval_secs,
        user: user?,
        local,
    })
}
