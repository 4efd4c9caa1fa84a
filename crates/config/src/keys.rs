//! The registry of configuration keys: dotted path and environment variable.

/// One settable configuration key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Key {
    DataDir,
    Listen,
    PublicUrl,
    DatabaseUrl,
    HttpBodyLimitBytes,
    HttpRequestTimeoutSecs,
    AuthSessionTtlMinutes,
    AuthSecureCookies,
    AuthLoginMaxFailures,
    AuthLoginWindowSecs,
    LogLevel,
    LogFormat,
    CasesEvidenceMaxBytes,
    CasesSlaAcknowledgeMinutes,
    CasesSlaContainMinutes,
    NotifySmtpUrl,
    NotifyFrom,
    MailMaxDecompressedBytes,
    MailMaxArchiveMemberBytes,
    MailMaxPasswords,
    MailMaxDecoderMemoryBytes,
    MailMaxMessageBytes,
    MailUploadTimeoutSecs,
}

/// The tables of the file, in the order they are documented.
pub(crate) const TABLES: [&str; 7] = ["database", "http", "auth", "log", "cases", "notify", "mail"];

impl Key {
    pub(crate) const ALL: [Key; 23] = [
        Key::DataDir,
        Key::Listen,
        Key::PublicUrl,
        Key::DatabaseUrl,
        Key::HttpBodyLimitBytes,
        Key::HttpRequestTimeoutSecs,
        Key::AuthSessionTtlMinutes,
        Key::AuthSecureCookies,
        Key::AuthLoginMaxFailures,
        Key::AuthLoginWindowSecs,
        Key::LogLevel,
        Key::LogFormat,
        Key::CasesEvidenceMaxBytes,
        Key::CasesSlaAcknowledgeMinutes,
        Key::CasesSlaContainMinutes,
        Key::NotifySmtpUrl,
        Key::NotifyFrom,
        Key::MailMaxDecompressedBytes,
        Key::MailMaxArchiveMemberBytes,
        Key::MailMaxPasswords,
        Key::MailMaxDecoderMemoryBytes,
        Key::MailMaxMessageBytes,
        Key::MailUploadTimeoutSecs,
    ];

    /// Dotted path, as in the file and in error messages.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Key::DataDir => "data_dir",
            Key::Listen => "listen",
            Key::PublicUrl => "public_url",
            Key::DatabaseUrl => "database.url",
            Key::HttpBodyLimitBytes => "http.body_limit_bytes",
            Key::HttpRequestTimeoutSecs => "http.request_timeout_secs",
            Key::AuthSessionTtlMinutes => "auth.session_ttl_minutes",
            Key::AuthSecureCookies => "auth.secure_cookies",
            Key::AuthLoginMaxFailures => "auth.login_max_failures",
            Key::AuthLoginWindowSecs => "auth.login_window_secs",
            Key::LogLevel => "log.level",
            Key::LogFormat => "log.format",
            Key::CasesEvidenceMaxBytes => "cases.evidence_max_bytes",
            Key::CasesSlaAcknowledgeMinutes => "cases.sla_acknowledge_minutes",
            Key::CasesSlaContainMinutes => "cases.sla_contain_minutes",
            Key::NotifySmtpUrl => "notify.smtp_url",
            Key::NotifyFrom => "notify.from",
            Key::MailMaxDecompressedBytes => "mail.max_decompressed_bytes",
            Key::MailMaxArchiveMemberBytes => "mail.max_archive_member_bytes",
            Key::MailMaxPasswords => "mail.max_passwords",
            Key::MailMaxDecoderMemoryBytes => "mail.max_decoder_memory_bytes",
            Key::MailMaxMessageBytes => "mail.max_message_bytes",
            Key::MailUploadTimeoutSecs => "mail.upload_timeout_secs",
        }
    }

    /// The environment variable that sets this key.
    pub(crate) fn env_var(self) -> &'static str {
        match self {
            Key::DataDir => "MAMORI_DATA_DIR",
            Key::Listen => "MAMORI_LISTEN",
            Key::PublicUrl => "MAMORI_PUBLIC_URL",
            Key::DatabaseUrl => "MAMORI_DATABASE_URL",
            Key::HttpBodyLimitBytes => "MAMORI_HTTP__BODY_LIMIT_BYTES",
            Key::HttpRequestTimeoutSecs => "MAMORI_HTTP__REQUEST_TIMEOUT_SECS",
            Key::AuthSessionTtlMinutes => "MAMORI_AUTH__SESSION_TTL_MINUTES",
            Key::AuthSecureCookies => "MAMORI_AUTH__SECURE_COOKIES",
            Key::AuthLoginMaxFailures => "MAMORI_AUTH__LOGIN_MAX_FAILURES",
            Key::AuthLoginWindowSecs => "MAMORI_AUTH__LOGIN_WINDOW_SECS",
            Key::LogLevel => "MAMORI_LOG__LEVEL",
            Key::LogFormat => "MAMORI_LOG__FORMAT",
            Key::CasesEvidenceMaxBytes => "MAMORI_CASES__EVIDENCE_MAX_BYTES",
            Key::CasesSlaAcknowledgeMinutes => "MAMORI_CASES__SLA_ACKNOWLEDGE_MINUTES",
            Key::CasesSlaContainMinutes => "MAMORI_CASES__SLA_CONTAIN_MINUTES",
            Key::NotifySmtpUrl => "MAMORI_NOTIFY__SMTP_URL",
            Key::NotifyFrom => "MAMORI_NOTIFY__FROM",
            Key::MailMaxDecompressedBytes => "MAMORI_MAIL__MAX_DECOMPRESSED_BYTES",
            Key::MailMaxArchiveMemberBytes => "MAMORI_MAIL__MAX_ARCHIVE_MEMBER_BYTES",
            Key::MailMaxPasswords => "MAMORI_MAIL__MAX_PASSWORDS",
            Key::MailMaxDecoderMemoryBytes => "MAMORI_MAIL__MAX_DECODER_MEMORY_BYTES",
            Key::MailMaxMessageBytes => "MAMORI_MAIL__MAX_MESSAGE_BYTES",
            Key::MailUploadTimeoutSecs => "MAMORI_MAIL__UPLOAD_TIMEOUT_SECS",
        }
    }

    /// The table holding this key (`None` for top-level keys) and its name there.
    pub(crate) fn split(self) -> (Option<&'static str>, &'static str) {
        match self.path().split_once('.') {
            Some((table, name)) => (Some(table), name),
            None => (None, self.path()),
        }
    }

    /// The key called `name` inside `table` (`None` = top level).
    pub(crate) fn lookup(table: Option<&str>, name: &str) -> Option<Key> {
        Key::ALL
            .into_iter()
            .find(|key| key.split() == (table, name))
    }

    /// The names valid inside `table` (`None` = top level, including tables).
    pub(crate) fn names_in(table: Option<&str>) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = Key::ALL
            .into_iter()
            .filter_map(|key| match key.split() {
                (t, name) if t == table => Some(name),
                _ => None,
            })
            .collect();
        if table.is_none() {
            names.extend(TABLES);
            names.push("share");
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_follow_the_double_underscore_rule() {
        for key in Key::ALL {
            let expected = match key {
                // The one documented exception: the flat, conventional name.
                Key::DatabaseUrl => "MAMORI_DATABASE_URL".to_owned(),
                _ => format!("MAMORI_{}", key.path().replace('.', "__").to_uppercase()),
            };
            assert_eq!(key.env_var(), expected);
        }
    }

    #[test]
    fn lookup_round_trips() {
        for key in Key::ALL {
            let (table, name) = key.split();
            assert_eq!(Key::lookup(table, name), Some(key));
        }
        assert_eq!(Key::lookup(None, "http.body_limit_bytes"), None);
    }
}
