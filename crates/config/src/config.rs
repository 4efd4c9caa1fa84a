//! The validated configuration and its defaults.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

/// Smallest accepted `http.body_limit_bytes` (1 KiB).
pub(crate) const BODY_LIMIT_MIN: u64 = 1024;
/// Largest accepted `http.body_limit_bytes` (1 GiB).
pub(crate) const BODY_LIMIT_MAX: u64 = 1024 * 1024 * 1024;
/// Longest accepted `auth.session_ttl_minutes` (one year).
pub(crate) const SESSION_TTL_MAX: u64 = 365 * 24 * 60;

/// The complete, validated configuration of a Mamori hub.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Directory for all local state. Default `./mamori-data`.
    pub data_dir: PathBuf,
    /// Address the HTTP server binds. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Database connection.
    pub database: DatabaseConfig,
    /// HTTP server limits.
    pub http: HttpConfig,
    /// Login and session settings.
    pub auth: AuthConfig,
    /// The URL users reach the hub at, e.g. `https://hub.example.go.jp`.
    pub public_url: Option<String>,
    /// Logging.
    pub log: LogConfig,
    /// Incident-response cases: evidence size and SLA clocks.
    pub cases: CasesConfig,
    /// Outgoing notifications (case e-mail).
    pub notify: NotifyConfig,
    /// Threat-information sharing: scheduled TAXII feeds.
    pub share: crate::feeds::ShareConfig,
    /// Targeted-mail analysis: archive budgets.
    pub mail: MailConfig,
}

/// `[mail]`: how large an analysed message may be and how much its archives and disk images
/// may cost. The defaults
/// are `mamori_mail::Limits`'.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailConfig {
    /// Bytes all archives of one message may decompress to. Default 200 MiB, allowed
    /// 1 MiB ..= 16 GiB.
    pub max_decompressed_bytes: u64,
    /// Largest single archive member or disk-image file read. Default 50 MiB, allowed
    /// 1 KiB ..= 16 GiB.
    pub max_archive_member_bytes: u64,
    /// Candidate passwords tried per encrypted archive. Default 64, allowed 0 ..= 1,000
    /// (each wrong 7z candidate costs about 8 ms).
    pub max_passwords: u32,
    /// Memory one 7z decoder or archive header may reserve. Default 128 MiB, allowed
    /// 1 MiB ..= 4 GiB.
    pub max_decoder_memory_bytes: u64,
    /// Largest message accepted for analysis (API, console, case intake); the message is held
    /// in memory while it is analysed. Default 50 MiB, allowed 1 KiB ..= 1 GiB.
    pub max_message_bytes: u64,
    /// Time limit, in seconds, of one upload of a message for analysis (API, console, case
    /// intake), transfer and analysis together; other requests keep
    /// `http.request_timeout_secs`. Default 300, allowed 1 ..= 3600.
    pub upload_timeout_secs: u64,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            max_decompressed_bytes: 200 * 1024 * 1024,
            max_archive_member_bytes: 50 * 1024 * 1024,
            max_passwords: 64,
            max_decoder_memory_bytes: 128 * 1024 * 1024,
            max_message_bytes: 50 * 1024 * 1024,
            upload_timeout_secs: 300,
        }
    }
}

/// Ranges of the `[mail]` keys.
pub(crate) const MAIL_DECOMPRESSED: (u64, u64) = (1024 * 1024, 16 * 1024 * 1024 * 1024);
pub(crate) const MAIL_MEMBER: (u64, u64) = (1024, 16 * 1024 * 1024 * 1024);
pub(crate) const MAIL_PASSWORDS_MAX: u64 = 1000;
pub(crate) const MAIL_DECODER_MEMORY: (u64, u64) = (1024 * 1024, 4 * 1024 * 1024 * 1024);
pub(crate) const MAIL_MESSAGE: (u64, u64) = (1024, 1024 * 1024 * 1024);
pub(crate) const MAIL_UPLOAD_TIMEOUT: (u64, u64) = (1, 3600);

/// Largest accepted `cases.evidence_max_bytes` (64 GiB).
pub(crate) const EVIDENCE_MAX: u64 = 64 * 1024 * 1024 * 1024;

/// `[cases]`
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CasesConfig {
    /// Largest evidence file accepted. Default 256 MiB, allowed 1 KiB ..= 64 GiB.
    pub evidence_max_bytes: u64,
    /// Time to acknowledge (leave `new`) per severity, in minutes.
    pub sla_acknowledge_minutes: SeverityMinutes,
    /// Time to contain (reach `containment` or later) per severity, in minutes.
    pub sla_contain_minutes: SeverityMinutes,
}

/// Minutes per case severity, written `critical=15,high=60,medium=240,low=1440`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeverityMinutes {
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
}

impl SeverityMinutes {
    /// The minutes for a severity name (`None` for an unknown one).
    pub fn get(&self, severity: &str) -> Option<u64> {
        match severity {
            "critical" => Some(self.critical),
            "high" => Some(self.high),
            "medium" => Some(self.medium),
            "low" => Some(self.low),
            _ => None,
        }
    }
}

impl std::fmt::Display for SeverityMinutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "critical={},high={},medium={},low={}",
            self.critical, self.high, self.medium, self.low
        )
    }
}

impl Default for CasesConfig {
    fn default() -> Self {
        CasesConfig {
            evidence_max_bytes: 256 * 1024 * 1024,
            sla_acknowledge_minutes: SeverityMinutes {
                critical: 15,
                high: 60,
                medium: 240,
                low: 1440,
            },
            sla_contain_minutes: SeverityMinutes {
                critical: 240,
                high: 1440,
                medium: 4320,
                low: 10080,
            },
        }
    }
}

/// `[notify]`
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotifyConfig {
    /// `smtp://host:port`, `smtp+starttls://host:port` or `smtps://host:port`; unset = no e-mail.
    pub smtp_url: Option<String>,
    /// The sender of notification mail. Default `Mamori <mamori@localhost>`.
    pub from: String,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            smtp_url: None,
            from: "Mamori <mamori@localhost>".to_owned(),
        }
    }
}

/// `[database]`
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct DatabaseConfig {
    /// Connection URL; `None` means a SQLite file under `data_dir`.
    pub url: Option<SecretString>,
}

/// `[http]`
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpConfig {
    /// Largest accepted request body. Default 2 MiB, allowed 1 KiB ..= 1 GiB.
    pub body_limit_bytes: usize,
    /// Time limit for one request, in seconds. Default 30, must be > 0.
    pub request_timeout_secs: u64,
}

/// `[auth]`
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthConfig {
    /// Session lifetime in minutes. Default 720 (12 hours).
    pub session_ttl_minutes: u64,
    /// `Secure` cookie flag; `None` = automatic (on when `public_url` is https).
    pub secure_cookies: Option<bool>,
    /// Failed logins allowed within `login_window_secs`. Default 5.
    pub login_max_failures: u32,
    /// Window for counting failed logins, in seconds. Default 900.
    pub login_window_secs: u64,
}

/// `[log]`
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogConfig {
    /// A tracing filter such as `info` or `info,mamori_detect=debug`.
    pub level: String,
    /// Output format.
    pub format: LogFormat,
}

/// Log output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// The name used in the file and the environment.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./mamori-data"),
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
            database: DatabaseConfig::default(),
            http: HttpConfig::default(),
            auth: AuthConfig::default(),
            public_url: None,
            log: LogConfig::default(),
            cases: CasesConfig::default(),
            notify: NotifyConfig::default(),
            share: crate::feeds::ShareConfig::default(),
            mail: MailConfig::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            body_limit_bytes: 2 * 1024 * 1024,
            request_timeout_secs: 30,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            session_ttl_minutes: 720,
            secure_cookies: None,
            login_max_failures: 5,
            login_window_secs: 900,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

impl Config {
    /// The database URL to connect to. This exposes the secret: do not log it.
    ///
    /// Without a configured URL: `sqlite://{data_dir}/mamori.db?mode=rwc`.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.expose_secret().to_owned(),
            None => format!("sqlite://{}/mamori.db?mode=rwc", self.data_dir.display()),
        }
    }

    /// Whether cookies get the `Secure` flag: as configured, or else on exactly
    /// when `public_url` is an `https` URL.
    pub fn secure_cookies(&self) -> bool {
        self.auth.secure_cookies.unwrap_or_else(|| {
            self.public_url.as_deref().is_some_and(|url| {
                url.get(..8)
                    .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
            })
        })
    }
}
