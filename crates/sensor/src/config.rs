//! The sensor's typed configuration ([`SensorConfig`]): what to read, how to forward, where to
//! keep state. Read from a TOML file (errors name the key and line) and overlaid by the
//! command line; also the small value types ([`ForwardMode`], [`TailSpec`], [`Secret`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use mamori_parse::Format;
use serde::Deserialize;

use crate::error::SensorError;

/// Which events go to the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardMode {
    /// Every event (and every dead letter).
    #[default]
    All,
    /// One event in N; events with local matches are always kept.
    Sampled(u64),
    /// Only events with local matches (raw logs stay home; dead letters are counted only).
    Alerts,
}

impl FromStr for ForwardMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s {
            "all" => Ok(ForwardMode::All),
            "alerts" => Ok(ForwardMode::Alerts),
            _ => match s.strip_prefix("sampled:").map(|n| n.trim().parse::<u64>()) {
                Some(Ok(n)) if n >= 1 => Ok(ForwardMode::Sampled(n)),
                _ => Err(format!(
                    "{s:?} is not a forward mode; use all, sampled:N (N >= 1) or alerts"
                )),
            },
        }
    }
}

/// A file (or glob) to tail, with the format of its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailSpec {
    pub path: String,
    /// `None`: the sensor-wide format.
    pub format: Option<Format>,
}

impl FromStr for TailSpec {
    type Err = String;
    /// `PATH` or `PATH:FORMAT` (the suffix counts only when it is a known format name).
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Err("empty path".into());
        }
        if let Some((path, fmt)) = s.rsplit_once(':')
            && let Ok(format) = fmt.parse::<Format>()
            && !path.is_empty()
        {
            return Ok(TailSpec {
                path: path.to_owned(),
                format: Some(format),
            });
        }
        Ok(TailSpec {
            path: s.to_owned(),
            format: None,
        })
    }
}

/// A secret given as `env:NAME`, `file:PATH` or the literal value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// Resolves the reference to the secret's value.
    pub fn resolve(&self, key: &'static str) -> Result<String, SensorError> {
        let s = self.0.trim();
        let value = if let Some(name) = s.strip_prefix("env:") {
            std::env::var(name).map_err(|_| SensorError::Setting {
                key,
                message: format!("environment variable {name} is not set"),
            })?
        } else if let Some(path) = s.strip_prefix("file:") {
            std::fs::read_to_string(path).map_err(|e| SensorError::io(path, e))?
        } else {
            s.to_owned()
        };
        let value = value.trim().to_owned();
        if value.is_empty() {
            return Err(SensorError::Setting {
                key,
                message: "is empty".into(),
            });
        }
        Ok(value)
    }
}

/// Where the rules and indicators for local matching come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSource {
    /// Sigma rule directories, an indicator file and a STIX pattern file (one pattern a
    /// line) on this machine.
    Local {
        dirs: Vec<PathBuf>,
        ioc: Option<PathBuf>,
        patterns: Option<PathBuf>,
    },
    /// Signed bundles pulled from the hub every `interval` ([`crate::bundle`]).
    Hub {
        /// The hub's public key (base64); `None`: trust the key the hub gives on first use.
        pin: Option<String>,
        interval: Duration,
        /// `None`: `<state>/hub-rules`.
        cache_dir: Option<PathBuf>,
    },
}

impl RuleSource {
    /// Pull rules from the hub every 5 minutes, trusting its key on first use.
    pub fn hub() -> Self {
        RuleSource::Hub {
            pin: None,
            interval: Duration::from_secs(300),
            cache_dir: None,
        }
    }
}

/// Everything the sensor needs to run.
#[derive(Debug, Clone)]
pub struct SensorConfig {
    pub hub: String,
    /// Forward batches over NATS JetStream (`nats://h:p[,…]`, `tls://…`) instead of HTTPS;
    /// `hub` is then needed only to pull rule bundles.
    pub nats: Option<String>,
    pub token: Secret,
    pub name: String,
    pub tail: Vec<TailSpec>,
    pub evtx: Vec<PathBuf>,
    pub syslog_udp: Option<SocketAddr>,
    pub syslog_tcp: Option<SocketAddr>,
    pub syslog_tls: Option<SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub format: Format,
    pub forward: ForwardMode,
    pub rules: RuleSource,
    pub ca: Option<PathBuf>,
    pub state: PathBuf,
    pub buffer_max_bytes: u64,
    pub from_start: bool,
    pub once: bool,
    pub batch_max_events: usize,
    pub batch_max_bytes: usize,
    pub batch_linger: Duration,
    pub poll_interval: Duration,
    pub retry_min: Duration,
    pub retry_max: Duration,
    pub max_message: usize,
    pub max_connections: usize,
    pub idle_timeout: Duration,
}

impl SensorConfig {
    /// Defaults for everything but the hub and the token.
    pub fn new(hub: impl Into<String>, token: Secret) -> Self {
        SensorConfig {
            hub: hub.into(),
            nats: None,
            token,
            name: default_name(),
            tail: Vec::new(),
            evtx: Vec::new(),
            syslog_udp: None,
            syslog_tcp: None,
            syslog_tls: None,
            tls_cert: None,
            tls_key: None,
            format: Format::Auto,
            forward: ForwardMode::All,
            rules: RuleSource::Local {
                dirs: Vec::new(),
                ioc: None,
                patterns: None,
            },
            ca: None,
            state: PathBuf::from("mamori-sensor-state"),
            buffer_max_bytes: 1 << 30,
            from_start: false,
            once: false,
            batch_max_events: 1000,
            batch_max_bytes: 4 << 20,
            batch_linger: Duration::from_secs(1),
            poll_interval: Duration::from_millis(250),
            retry_min: Duration::from_millis(500),
            retry_max: Duration::from_secs(60),
            max_message: mamori_parse::MAX_LINE,
            max_connections: 256,
            idle_timeout: Duration::from_secs(300),
        }
    }

    /// Checks the combinations a type cannot.
    pub fn validate(&self) -> Result<(), SensorError> {
        let bad = |key, message: &str| {
            Err(SensorError::Setting {
                key,
                message: message.to_owned(),
            })
        };
        let http_hub = self.hub.starts_with("https://") || self.hub.starts_with("http://");
        match &self.nats {
            Some(n) if !(n.starts_with("nats://") || n.starts_with("tls://")) => {
                return bad("nats", "must be a nats:// or tls:// URL");
            }
            Some(_) if self.hub.is_empty() && !matches!(self.rules, RuleSource::Hub { .. }) => {}
            Some(_) if !http_hub => {
                return bad(
                    "hub",
                    "must be an http:// or https:// URL (rules from the hub are pulled over HTTPS)",
                );
            }
            None if !http_hub => return bad("hub", "must be an http:// or https:// URL"),
            _ => {}
        }
        if self.syslog_tls.is_some() && (self.tls_cert.is_none() || self.tls_key.is_none()) {
            return bad("syslog_tls", "needs tls_cert and tls_key");
        }
        if self.batch_max_events == 0 || self.batch_max_bytes == 0 {
            return bad("batch_max_events", "batch limits must be at least 1");
        }
        if self.name.is_empty()
            || self.name.len() > 60
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return bad(
                "name",
                "must be 1-60 letters, digits, '-', '_' or '.' (it starts every batch id)",
            );
        }
        if self.tail.is_empty()
            && self.evtx.is_empty()
            && self.syslog_udp.is_none()
            && self.syslog_tcp.is_none()
            && self.syslog_tls.is_none()
        {
            return bad(
                "tail",
                "nothing to read: give tail, evtx or a syslog listener",
            );
        }
        Ok(())
    }
}

/// The host name, or `sensor`.
fn default_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "sensor".to_owned())
}

/// The keys of a sensor TOML file (top level, or under `[sensor]`). Every key is optional;
/// the command line overrides them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub hub: Option<String>,
    /// Forward over NATS JetStream instead of HTTPS.
    pub nats: Option<String>,
    pub token: Option<String>,
    pub name: Option<String>,
    pub tail: Option<Vec<String>>,
    pub evtx: Option<Vec<PathBuf>>,
    pub syslog_udp: Option<SocketAddr>,
    pub syslog_tcp: Option<SocketAddr>,
    pub syslog_tls: Option<SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub format: Option<String>,
    pub forward: Option<String>,
    pub rules: Option<Vec<PathBuf>>,
    pub ioc: Option<PathBuf>,
    /// STIX patterns to match locally, one a line.
    pub patterns: Option<PathBuf>,
    /// Pull signed rule bundles from the hub instead of `rules`/`ioc`/`patterns`.
    pub rules_from_hub: Option<bool>,
    /// The hub's public key (base64) to pin.
    pub hub_key: Option<String>,
    pub rules_interval_secs: Option<u64>,
    pub ca: Option<PathBuf>,
    pub state: Option<PathBuf>,
    pub buffer_max_bytes: Option<u64>,
    pub from_start: Option<bool>,
    pub batch_max_events: Option<usize>,
    pub batch_max_bytes: Option<usize>,
    pub batch_linger_ms: Option<u64>,
    pub poll_interval_ms: Option<u64>,
    pub retry_min_ms: Option<u64>,
    pub retry_max_ms: Option<u64>,
    pub max_message: Option<usize>,
    pub max_connections: Option<usize>,
    pub idle_timeout_secs: Option<u64>,
}

impl FileConfig {
    /// Reads a sensor TOML file. A file with a `[sensor]` table (e.g. the hub's
    /// `mamori.toml`) contributes that table only.
    pub fn load(path: &Path) -> Result<Self, SensorError> {
        let text = std::fs::read_to_string(path).map_err(|e| SensorError::io(path, e))?;
        Self::parse(path, &text)
    }

    /// Parses the text of a sensor TOML file named `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, SensorError> {
        let err = |e: toml::de::Error| SensorError::Config {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        };
        let table: toml::Table = toml::from_str(text).map_err(err)?;
        if let Some(toml::Value::Table(t)) = table.get("sensor") {
            return toml::Value::Table(t.clone()).try_into().map_err(err);
        }
        toml::from_str(text).map_err(err)
    }

    /// Applies the file's keys onto `cfg`.
    pub fn apply(self, cfg: &mut SensorConfig) -> Result<(), SensorError> {
        fn set<T>(slot: &mut T, v: Option<T>) {
            if let Some(v) = v {
                *slot = v;
            }
        }
        let setting =
            |key: &'static str| move |message: String| SensorError::Setting { key, message };
        set(&mut cfg.hub, self.hub);
        if self.nats.is_some() {
            cfg.nats = self.nats;
        }
        set(&mut cfg.token, self.token.map(Secret));
        set(&mut cfg.name, self.name);
        if let Some(t) = self.tail {
            cfg.tail = t
                .iter()
                .map(|s| s.parse())
                .collect::<Result<_, _>>()
                .map_err(setting("tail"))?;
        }
        set(&mut cfg.evtx, self.evtx);
        cfg.syslog_udp = self.syslog_udp.or(cfg.syslog_udp);
        cfg.syslog_tcp = self.syslog_tcp.or(cfg.syslog_tcp);
        cfg.syslog_tls = self.syslog_tls.or(cfg.syslog_tls);
        cfg.tls_cert = self.tls_cert.or(cfg.tls_cert.take());
        cfg.tls_key = self.tls_key.or(cfg.tls_key.take());
        if let Some(f) = self.format {
            cfg.format = f
                .parse()
                .map_err(|e: mamori_parse::UnknownFormat| setting("format")(e.to_string()))?;
        }
        if let Some(f) = self.forward {
            cfg.forward = f.parse().map_err(setting("forward"))?;
        }
        let hub_keys = self.hub_key.is_some() || self.rules_interval_secs.is_some();
        if self.rules_from_hub == Some(true) || hub_keys {
            if self.rules.is_some() || self.ioc.is_some() {
                return Err(setting("rules_from_hub")(
                    "give rules/ioc or rules_from_hub, not both".into(),
                ));
            }
            if self.rules_from_hub == Some(false) {
                return Err(setting("hub_key")("needs rules_from_hub = true".into()));
            }
            if !matches!(cfg.rules, RuleSource::Hub { .. }) {
                cfg.rules = RuleSource::hub();
            }
            if let RuleSource::Hub { pin, interval, .. } = &mut cfg.rules {
                *pin = self.hub_key.or(pin.take());
                set(
                    interval,
                    self.rules_interval_secs
                        .map(|s| Duration::from_secs(s.max(1))),
                );
            }
        } else if self.rules.is_some() || self.ioc.is_some() || self.patterns.is_some() {
            if let RuleSource::Local {
                dirs,
                ioc,
                patterns,
            } = &mut cfg.rules
            {
                set(dirs, self.rules);
                *ioc = self.ioc.or(ioc.take());
                *patterns = self.patterns.or(patterns.take());
            } else {
                cfg.rules = RuleSource::Local {
                    dirs: self.rules.unwrap_or_default(),
                    ioc: self.ioc,
                    patterns: self.patterns,
                };
            }
        }
        cfg.ca = self.ca.or(cfg.ca.take());
        set(&mut cfg.state, self.state);
        set(&mut cfg.buffer_max_bytes, self.buffer_max_bytes);
        set(&mut cfg.from_start, self.from_start);
        set(&mut cfg.batch_max_events, self.batch_max_events);
        set(&mut cfg.batch_max_bytes, self.batch_max_bytes);
        let ms = |v: Option<u64>| v.map(Duration::from_millis);
        set(&mut cfg.batch_linger, ms(self.batch_linger_ms));
        set(&mut cfg.poll_interval, ms(self.poll_interval_ms));
        set(&mut cfg.retry_min, ms(self.retry_min_ms));
        set(&mut cfg.retry_max, ms(self.retry_max_ms));
        set(&mut cfg.max_message, self.max_message);
        set(&mut cfg.max_connections, self.max_connections);
        set(
            &mut cfg.idle_timeout,
            self.idle_timeout_secs.map(Duration::from_secs),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_modes() {
        assert_eq!("all".parse(), Ok(ForwardMode::All));
        assert_eq!("sampled:10".parse(), Ok(ForwardMode::Sampled(10)));
        assert_eq!("alerts".parse(), Ok(ForwardMode::Alerts));
        assert!("sampled:0".parse::<ForwardMode>().is_err());
        assert!("some".parse::<ForwardMode>().is_err());
    }

    #[test]
    fn tail_specs() {
        let t: TailSpec = "/var/log/x.log:cef".parse().unwrap();
        assert_eq!(t.format, Some(Format::Cef));
        assert_eq!(t.path, "/var/log/x.log");
        let t: TailSpec = "/var/log/a:b.log".parse().unwrap();
        assert_eq!((t.path.as_str(), t.format), ("/var/log/a:b.log", None));
    }

    #[test]
    fn file_errors_name_the_key() {
        let p = Path::new("sensor.toml");
        let e = FileConfig::parse(p, "hub = \"http://x\"\nforwrd = \"all\"\n").unwrap_err();
        assert!(e.to_string().contains("forwrd"), "{e}");
        let e = FileConfig::parse(p, "buffer_max_bytes = \"lots\"\n").unwrap_err();
        assert!(e.to_string().contains("buffer_max_bytes"), "{e}");
        let f = FileConfig::parse(p, "[sensor]\nforward = \"sampled:5\"\n").unwrap();
        let mut cfg = SensorConfig::new("http://h", Secret("t".into()));
        f.apply(&mut cfg).unwrap();
        assert_eq!(cfg.forward, ForwardMode::Sampled(5));
        let f = FileConfig::parse(p, "forward = \"most\"\n").unwrap();
        let e = f.apply(&mut cfg).unwrap_err();
        assert!(e.to_string().contains("forward"), "{e}");
    }

    #[test]
    fn nats_forwarding_needs_no_hub_url_unless_rules_come_from_the_hub() {
        let mut cfg = SensorConfig::new("", Secret("t".into()));
        cfg.tail.push("x.log".parse().unwrap());
        assert!(cfg.validate().is_err(), "neither hub nor nats");
        cfg.nats = Some("nats://127.0.0.1:4222".into());
        cfg.validate().unwrap();
        cfg.rules = RuleSource::hub();
        let e = cfg.validate().unwrap_err();
        assert!(e.to_string().contains("pulled over HTTPS"), "{e}");
        cfg.hub = "https://hub".into();
        cfg.validate().unwrap();
        cfg.nats = Some("http://127.0.0.1:4222".into());
        let e = cfg.validate().unwrap_err();
        assert!(e.to_string().contains("nats://"), "{e}");
        let f = FileConfig::parse(Path::new("s.toml"), "nats = \"nats://n:4222\"\n").unwrap();
        let mut c = SensorConfig::new("", Secret("t".into()));
        f.apply(&mut c).unwrap();
        assert_eq!(c.nats.as_deref(), Some("nats://n:4222"));
    }

    #[test]
    fn rules_from_the_hub_in_the_file() {
        let p = Path::new("sensor.toml");
        let mut cfg = SensorConfig::new("http://h", Secret("t".into()));
        let f = FileConfig::parse(
            p,
            "rules_from_hub = true\nhub_key = \"AAAA\"\nrules_interval_secs = 60\n",
        )
        .unwrap();
        f.apply(&mut cfg).unwrap();
        assert_eq!(
            cfg.rules,
            RuleSource::Hub {
                pin: Some("AAAA".into()),
                interval: Duration::from_secs(60),
                cache_dir: None,
            }
        );
        let f = FileConfig::parse(p, "rules_from_hub = true\nrules = [\"r\"]\n").unwrap();
        let e = f.apply(&mut cfg).unwrap_err();
        assert!(e.to_string().contains("rules_from_hub"), "{e}");
        let f = FileConfig::parse(p, "rules = [\"r\"]\n").unwrap();
        f.apply(&mut cfg).unwrap();
        assert_eq!(
            cfg.rules,
            RuleSource::Local {
                dirs: vec![PathBuf::from("r")],
                ioc: None,
                patterns: None
            }
        );
    }
}
