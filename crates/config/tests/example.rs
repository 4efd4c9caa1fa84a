//! The example file parses and equals the defaults.

mod common;

use common::{load_with, write_file};
use mamori_config::{Config, EXAMPLE, Overrides};

#[test]
fn example_parses_and_equals_the_defaults() {
    let (_dir, path) = write_file(EXAMPLE);
    let loaded = load_with(Some(&path), &[], Overrides::default()).unwrap();
    let defaults = Config::default();
    assert_eq!(loaded.data_dir, defaults.data_dir);
    assert_eq!(loaded.listen, defaults.listen);
    assert!(loaded.database.url.is_none());
    assert_eq!(loaded.database_url(), defaults.database_url());
    assert_eq!(loaded.http, defaults.http);
    assert_eq!(loaded.auth, defaults.auth);
    assert_eq!(loaded.public_url, defaults.public_url);
    assert_eq!(loaded.log, defaults.log);
    assert_eq!(loaded.cases, defaults.cases);
    assert_eq!(loaded.notify, defaults.notify);
    assert_eq!(loaded.mail, defaults.mail);
}

#[test]
fn example_mentions_every_env_var_and_key() {
    for needle in [
        "data_dir",
        "listen",
        "public_url",
        "[database]",
        "url",
        "[http]",
        "body_limit_bytes",
        "request_timeout_secs",
        "[auth]",
        "session_ttl_minutes",
        "secure_cookies",
        "login_max_failures",
        "login_window_secs",
        "[log]",
        "level",
        "format",
        "MAMORI_DATA_DIR",
        "MAMORI_LISTEN",
        "MAMORI_PUBLIC_URL",
        "MAMORI_DATABASE_URL",
        "MAMORI_HTTP__BODY_LIMIT_BYTES",
        "MAMORI_HTTP__REQUEST_TIMEOUT_SECS",
        "MAMORI_AUTH__SESSION_TTL_MINUTES",
        "MAMORI_AUTH__SECURE_COOKIES",
        "MAMORI_AUTH__LOGIN_MAX_FAILURES",
        "MAMORI_AUTH__LOGIN_WINDOW_SECS",
        "MAMORI_LOG__LEVEL",
        "MAMORI_LOG__FORMAT",
        "[cases]",
        "evidence_max_bytes",
        "sla_acknowledge_minutes",
        "sla_contain_minutes",
        "[notify]",
        "smtp_url",
        "MAMORI_CASES__EVIDENCE_MAX_BYTES",
        "MAMORI_CASES__SLA_ACKNOWLEDGE_MINUTES",
        "MAMORI_CASES__SLA_CONTAIN_MINUTES",
        "MAMORI_NOTIFY__SMTP_URL",
        "MAMORI_NOTIFY__FROM",
        "[mail]",
        "max_decompressed_bytes",
        "max_archive_member_bytes",
        "max_passwords",
        "max_decoder_memory_bytes",
        "MAMORI_MAIL__MAX_DECOMPRESSED_BYTES",
        "MAMORI_MAIL__MAX_ARCHIVE_MEMBER_BYTES",
        "MAMORI_MAIL__MAX_PASSWORDS",
        "MAMORI_MAIL__MAX_DECODER_MEMORY_BYTES",
        "max_message_bytes",
        "MAMORI_MAIL__MAX_MESSAGE_BYTES",
        "upload_timeout_secs",
        "MAMORI_MAIL__UPLOAD_TIMEOUT_SECS",
    ] {
        assert!(EXAMPLE.contains(needle), "EXAMPLE lacks {needle}");
    }
}
