//! One layer of settings (file, environment or command line): each key set at
//! most once, validated on the way in, then laid over the configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::SecretString;

use crate::config::{
    BODY_LIMIT_MAX, BODY_LIMIT_MIN, Config, EVIDENCE_MAX, LogFormat, MAIL_DECODER_MEMORY,
    MAIL_DECOMPRESSED, MAIL_MEMBER, MAIL_MESSAGE, MAIL_PASSWORDS_MAX, MAIL_UPLOAD_TIMEOUT,
    SESSION_TTL_MAX, SeverityMinutes,
};
use crate::keys::Key;
use crate::value::{Raw, bool_or_auto, in_range, string, unsigned};
use crate::{secret, validate};

/// The values one source sets.
#[derive(Default)]
pub(crate) struct Layer {
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    public_url: Option<String>,
    database_url: Option<SecretString>,
    body_limit_bytes: Option<usize>,
    request_timeout_secs: Option<u64>,
    session_ttl_minutes: Option<u64>,
    secure_cookies: Option<Option<bool>>,
    login_max_failures: Option<u32>,
    login_window_secs: Option<u64>,
    log_level: Option<String>,
    log_format: Option<LogFormat>,
    evidence_max_bytes: Option<u64>,
    sla_acknowledge: Option<SeverityMinutes>,
    sla_contain: Option<SeverityMinutes>,
    smtp_url: Option<String>,
    notify_from: Option<String>,
    share: Option<crate::feeds::ShareConfig>,
    mail_max_decompressed: Option<u64>,
    mail_max_member: Option<u64>,
    mail_max_passwords: Option<u32>,
    mail_max_decoder_memory: Option<u64>,
    mail_max_message: Option<u64>,
    mail_upload_timeout: Option<u64>,
}

/// Who answers `env:NAME` secret references.
pub(crate) type EnvFn<'a> = &'a dyn Fn(&str) -> Option<String>;

impl Layer {
    /// Validates `raw` for `key` and records it; the error is a bare message.
    pub(crate) fn set(
        &mut self,
        key: Key,
        raw: Raw<'_>,
        secret_env: EnvFn<'_>,
    ) -> Result<(), String> {
        match key {
            Key::DataDir => self.data_dir = Some(data_dir(string(raw)?)?),
            Key::Listen => self.listen = Some(listen(string(raw)?)?),
            Key::PublicUrl => self.public_url = Some(validate::public_url(string(raw)?)?),
            Key::DatabaseUrl => {
                self.database_url = Some(database_url(string(raw)?, secret_env)?);
            }
            Key::HttpBodyLimitBytes => {
                let n = in_range(unsigned(raw)?, BODY_LIMIT_MIN, BODY_LIMIT_MAX)?;
                self.body_limit_bytes = Some(usize::try_from(n).map_err(|e| e.to_string())?);
            }
            Key::HttpRequestTimeoutSecs => {
                self.request_timeout_secs = Some(in_range(unsigned(raw)?, 1, u64::MAX)?);
            }
            Key::AuthSessionTtlMinutes => {
                self.session_ttl_minutes = Some(in_range(unsigned(raw)?, 1, SESSION_TTL_MAX)?);
            }
            Key::AuthSecureCookies => self.secure_cookies = Some(bool_or_auto(raw)?),
            Key::AuthLoginMaxFailures => {
                let n = in_range(unsigned(raw)?, 1, u64::from(u32::MAX))?;
                self.login_max_failures = Some(u32::try_from(n).map_err(|e| e.to_string())?);
            }
            Key::AuthLoginWindowSecs => {
                self.login_window_secs = Some(in_range(unsigned(raw)?, 1, u64::MAX)?);
            }
            Key::LogLevel => self.log_level = Some(validate::log_level(string(raw)?)?),
            Key::LogFormat => self.log_format = Some(validate::log_format(string(raw)?)?),
            Key::CasesEvidenceMaxBytes => {
                self.evidence_max_bytes =
                    Some(in_range(unsigned(raw)?, BODY_LIMIT_MIN, EVIDENCE_MAX)?);
            }
            Key::CasesSlaAcknowledgeMinutes => {
                self.sla_acknowledge = Some(validate::severity_minutes(string(raw)?)?);
            }
            Key::CasesSlaContainMinutes => {
                self.sla_contain = Some(validate::severity_minutes(string(raw)?)?);
            }
            Key::NotifySmtpUrl => self.smtp_url = Some(validate::smtp_url(string(raw)?)?),
            Key::NotifyFrom => self.notify_from = Some(validate::mailbox(string(raw)?)?),
            Key::MailMaxDecompressedBytes => {
                let (lo, hi) = MAIL_DECOMPRESSED;
                self.mail_max_decompressed = Some(in_range(unsigned(raw)?, lo, hi)?);
            }
            Key::MailMaxArchiveMemberBytes => {
                let (lo, hi) = MAIL_MEMBER;
                self.mail_max_member = Some(in_range(unsigned(raw)?, lo, hi)?);
            }
            Key::MailMaxPasswords => {
                let n = in_range(unsigned(raw)?, 0, MAIL_PASSWORDS_MAX)?;
                self.mail_max_passwords = Some(u32::try_from(n).map_err(|e| e.to_string())?);
            }
            Key::MailMaxDecoderMemoryBytes => {
                let (lo, hi) = MAIL_DECODER_MEMORY;
                self.mail_max_decoder_memory = Some(in_range(unsigned(raw)?, lo, hi)?);
            }
            Key::MailMaxMessageBytes => {
                let (lo, hi) = MAIL_MESSAGE;
                self.mail_max_message = Some(in_range(unsigned(raw)?, lo, hi)?);
            }
            Key::MailUploadTimeoutSecs => {
                let (lo, hi) = MAIL_UPLOAD_TIMEOUT;
                self.mail_upload_timeout = Some(in_range(unsigned(raw)?, lo, hi)?);
            }
        }
        Ok(())
    }

    /// Sets an already-parsed listen address (from a typed CLI flag).
    pub(crate) fn set_listen(&mut self, addr: SocketAddr) {
        self.listen = Some(addr);
    }

    /// Sets a data directory given as a path (from a CLI flag; may be non-UTF-8).
    pub(crate) fn set_data_dir(&mut self, dir: PathBuf) {
        self.data_dir = Some(dir);
    }

    /// Sets an already-resolved database URL.
    pub(crate) fn set_database_url(&mut self, url: SecretString) {
        self.database_url = Some(url);
    }

    /// Sets the `[share]` table (only the file has one).
    pub(crate) fn set_share(&mut self, share: crate::feeds::ShareConfig) {
        self.share = Some(share);
    }

    /// Lays this layer's values over `config`.
    pub(crate) fn apply(self, config: &mut Config) {
        fn put<T>(slot: &mut T, value: Option<T>) {
            if let Some(value) = value {
                *slot = value;
            }
        }
        put(&mut config.data_dir, self.data_dir);
        put(&mut config.listen, self.listen);
        if self.public_url.is_some() {
            config.public_url = self.public_url;
        }
        if self.database_url.is_some() {
            config.database.url = self.database_url;
        }
        put(&mut config.http.body_limit_bytes, self.body_limit_bytes);
        put(
            &mut config.http.request_timeout_secs,
            self.request_timeout_secs,
        );
        put(
            &mut config.auth.session_ttl_minutes,
            self.session_ttl_minutes,
        );
        put(&mut config.auth.secure_cookies, self.secure_cookies);
        put(&mut config.auth.login_max_failures, self.login_max_failures);
        put(&mut config.auth.login_window_secs, self.login_window_secs);
        put(&mut config.log.level, self.log_level);
        put(&mut config.log.format, self.log_format);
        put(
            &mut config.cases.evidence_max_bytes,
            self.evidence_max_bytes,
        );
        put(
            &mut config.cases.sla_acknowledge_minutes,
            self.sla_acknowledge,
        );
        put(&mut config.cases.sla_contain_minutes, self.sla_contain);
        if self.smtp_url.is_some() {
            config.notify.smtp_url = self.smtp_url;
        }
        put(&mut config.notify.from, self.notify_from);
        put(&mut config.share, self.share);
        put(
            &mut config.mail.max_decompressed_bytes,
            self.mail_max_decompressed,
        );
        put(
            &mut config.mail.max_archive_member_bytes,
            self.mail_max_member,
        );
        put(&mut config.mail.max_passwords, self.mail_max_passwords);
        put(
            &mut config.mail.max_decoder_memory_bytes,
            self.mail_max_decoder_memory,
        );
        put(&mut config.mail.max_message_bytes, self.mail_max_message);
        put(
            &mut config.mail.upload_timeout_secs,
            self.mail_upload_timeout,
        );
    }
}

pub(crate) fn data_dir(s: &str) -> Result<PathBuf, String> {
    if s.trim().is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(PathBuf::from(s))
    }
}

fn listen(s: &str) -> Result<SocketAddr, String> {
    s.trim().parse().map_err(|_| {
        format!("invalid socket address {s:?} (expected e.g. 127.0.0.1:8080 or [::]:8080)")
    })
}

pub(crate) fn database_url(s: &str, secret_env: EnvFn<'_>) -> Result<SecretString, String> {
    validate::database_url(secret::resolve(s.trim(), secret_env)?)
}
