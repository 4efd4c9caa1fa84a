//! Loading: defaults, precedence, secrets and error reporting.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use common::{errors, load_with, write_file};
use mamori_config::{ErrorSource, ExposeSecret, LogFormat, Overrides, check_file};

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[test]
fn defaults_with_nothing() {
    let config = load_with(None, &[], Overrides::default()).unwrap();
    assert_eq!(config.data_dir, PathBuf::from("./mamori-data"));
    assert_eq!(config.listen, local(8080));
    assert!(config.database.url.is_none());
    assert_eq!(
        config.database_url(),
        "sqlite://./mamori-data/mamori.db?mode=rwc"
    );
    assert_eq!(config.http.body_limit_bytes, 2 * 1024 * 1024);
    assert_eq!(config.http.request_timeout_secs, 30);
    assert_eq!(config.auth.session_ttl_minutes, 720);
    assert_eq!(config.auth.secure_cookies, None);
    assert!(!config.secure_cookies());
    assert_eq!(config.auth.login_max_failures, 5);
    assert_eq!(config.auth.login_window_secs, 900);
    assert_eq!(config.public_url, None);
    assert_eq!(config.log.level, "info");
    assert_eq!(config.log.format, LogFormat::Text);
}

const FILE: &str = r#"
data_dir = "/file/data"
listen = "127.0.0.1:1111"
[database]
url = "postgres://file@h/db"
"#;

const ENV: [(&str, &str); 3] = [
    ("MAMORI_DATA_DIR", "/env/data"),
    ("MAMORI_LISTEN", "127.0.0.1:2222"),
    ("MAMORI_DATABASE_URL", "postgres://env@h/db"),
];

fn cli() -> Overrides {
    Overrides {
        listen: Some(local(3333)),
        data_dir: Some(PathBuf::from("/cli/data")),
        database_url: Some("postgres://cli@h/db".to_owned()),
    }
}

#[test]
fn file_alone() {
    let (_dir, path) = write_file(FILE);
    let config = load_with(Some(&path), &[], Overrides::default()).unwrap();
    assert_eq!(config.data_dir, Path::new("/file/data"));
    assert_eq!(config.listen, local(1111));
    assert_eq!(config.database_url(), "postgres://file@h/db");
}

#[test]
fn env_beats_file() {
    let (_dir, path) = write_file(FILE);
    let config = load_with(Some(&path), &ENV, Overrides::default()).unwrap();
    assert_eq!(config.data_dir, Path::new("/env/data"));
    assert_eq!(config.listen, local(2222));
    assert_eq!(config.database_url(), "postgres://env@h/db");
}

#[test]
fn cli_beats_env_and_file() {
    let (_dir, path) = write_file(FILE);
    let config = load_with(Some(&path), &ENV, cli()).unwrap();
    assert_eq!(config.data_dir, Path::new("/cli/data"));
    assert_eq!(config.listen, local(3333));
    assert_eq!(config.database_url(), "postgres://cli@h/db");
}

#[test]
fn each_key_can_come_from_a_different_layer() {
    let (_dir, path) = write_file(FILE);
    let env = [("MAMORI_LISTEN", "127.0.0.1:2222")];
    let overrides = Overrides {
        data_dir: Some(PathBuf::from("/cli/data")),
        ..Overrides::default()
    };
    let config = load_with(Some(&path), &env, overrides).unwrap();
    assert_eq!(config.data_dir, Path::new("/cli/data"));
    assert_eq!(config.listen, local(2222));
    assert_eq!(config.database_url(), "postgres://file@h/db");
}

#[test]
fn default_database_follows_data_dir() {
    let env = [("MAMORI_DATA_DIR", "/srv/mamori")];
    let config = load_with(None, &env, Overrides::default()).unwrap();
    assert_eq!(
        config.database_url(),
        "sqlite:///srv/mamori/mamori.db?mode=rwc"
    );
}

#[test]
fn every_nested_env_var_is_read() {
    let env = [
        ("MAMORI_PUBLIC_URL", "https://hub.example.go.jp"),
        ("MAMORI_HTTP__BODY_LIMIT_BYTES", "4096"),
        ("MAMORI_HTTP__REQUEST_TIMEOUT_SECS", "5"),
        ("MAMORI_AUTH__SESSION_TTL_MINUTES", "60"),
        ("MAMORI_AUTH__SECURE_COOKIES", "auto"),
        ("MAMORI_AUTH__LOGIN_MAX_FAILURES", "3"),
        ("MAMORI_AUTH__LOGIN_WINDOW_SECS", "120"),
        ("MAMORI_LOG__LEVEL", "warn,mamori_detect=debug"),
        ("MAMORI_LOG__FORMAT", "json"),
        ("MAMORI_CASES__EVIDENCE_MAX_BYTES", "1048576"),
        (
            "MAMORI_CASES__SLA_ACKNOWLEDGE_MINUTES",
            "low=600, medium=120,high=30,critical=5",
        ),
        (
            "MAMORI_CASES__SLA_CONTAIN_MINUTES",
            "critical=60,high=120,medium=240,low=480",
        ),
        ("MAMORI_NOTIFY__SMTP_URL", "smtp://127.0.0.1:2525"),
        ("MAMORI_NOTIFY__FROM", "守り <hub@example.jp>"),
        ("MAMORI_UNKNOWN__THING", "ignored"),
    ];
    let config = load_with(None, &env, Overrides::default()).unwrap();
    assert_eq!(
        config.public_url.as_deref(),
        Some("https://hub.example.go.jp")
    );
    assert!(config.secure_cookies());
    assert_eq!(config.http.body_limit_bytes, 4096);
    assert_eq!(config.http.request_timeout_secs, 5);
    assert_eq!(config.auth.session_ttl_minutes, 60);
    assert_eq!(config.auth.login_max_failures, 3);
    assert_eq!(config.auth.login_window_secs, 120);
    assert_eq!(config.log.level, "warn,mamori_detect=debug");
    assert_eq!(config.log.format, LogFormat::Json);
    assert_eq!(config.cases.evidence_max_bytes, 1_048_576);
    assert_eq!(
        config.cases.sla_acknowledge_minutes.get("critical"),
        Some(5)
    );
    assert_eq!(config.cases.sla_acknowledge_minutes.get("low"), Some(600));
    assert_eq!(config.cases.sla_contain_minutes.get("high"), Some(120));
    assert_eq!(
        config.notify.smtp_url.as_deref(),
        Some("smtp://127.0.0.1:2525")
    );
    assert_eq!(config.notify.from, "守り <hub@example.jp>");

    let env = [
        ("MAMORI_PUBLIC_URL", "https://hub.example.go.jp"),
        ("MAMORI_AUTH__SECURE_COOKIES", "false"),
    ];
    let config = load_with(None, &env, Overrides::default()).unwrap();
    assert!(!config.secure_cookies());
}

#[test]
fn empty_env_value_counts_as_unset() {
    let config = load_with(None, &[("MAMORI_LISTEN", "")], Overrides::default()).unwrap();
    assert_eq!(config.listen, local(8080));
}

#[test]
fn unknown_key_reports_key_and_line() {
    let (_dir, path) = write_file("listen = \"127.0.0.1:9000\"\n\n[http]\nbody_limit = 4096\n");
    let errs = errors(load_with(Some(&path), &[], Overrides::default()));
    assert_eq!(errs.len(), 1);
    let e = &errs.0[0];
    assert_eq!(e.key, "http.body_limit");
    assert_eq!(
        e.source,
        ErrorSource::File {
            path: path.clone(),
            line: Some(4),
            column: Some(1)
        }
    );
    assert!(e.message.contains("unknown key"), "{}", e.message);
    assert!(e.message.contains("body_limit_bytes"), "{}", e.message);
    let shown = errs.to_string();
    assert!(
        shown.starts_with(&format!(
            "{}:4: http.body_limit: unknown key",
            path.display()
        )),
        "{shown}"
    );
}

#[test]
fn unknown_top_level_key_and_table() {
    let (_dir, path) = write_file("dta_dir = \"x\"\n[htp]\nbody_limit_bytes = 4096\n");
    let errs = errors(load_with(Some(&path), &[], Overrides::default()));
    let found: Vec<(&str, Option<usize>)> = errs
        .iter()
        .map(|e| match &e.source {
            ErrorSource::File { line, .. } => (e.key.as_str(), *line),
            other => panic!("unexpected source {other:?}"),
        })
        .collect();
    assert_eq!(found, [("dta_dir", Some(1)), ("htp", Some(2))]);
}

#[test]
fn all_bad_values_are_reported_with_lines() {
    let text = "\
listen = \"abc\"
[http]
request_timeout_secs = 0
[auth]
secure_cookies = \"maybe\"
[log]
level = \"loud\"
format = 3
[http.more]
x = 1
";
    let (_dir, path) = write_file(text);
    let errs = errors(load_with(Some(&path), &[], Overrides::default()));
    let lines: Vec<String> = errs.to_string().lines().map(str::to_owned).collect();
    let p = path.display();
    assert_eq!(errs.len(), 6, "{errs}");
    assert_eq!(
        lines[0],
        format!(
            "{p}:1: listen: invalid socket address \"abc\" (expected e.g. 127.0.0.1:8080 or [::]:8080)"
        )
    );
    assert_eq!(
        lines[1],
        format!(
            "{p}:3: http.request_timeout_secs: must be between 1 and 18446744073709551615, got 0"
        )
    );
    assert!(
        lines[2].starts_with(&format!("{p}:5: auth.secure_cookies: ")),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with(&format!("{p}:7: log.level: invalid log directive")),
        "{}",
        lines[3]
    );
    assert_eq!(
        lines[4],
        format!("{p}:8: log.format: expected a string, got integer")
    );
    assert!(
        lines[5].starts_with(&format!("{p}:9: http.more: unknown key")),
        "{}",
        lines[5]
    );
}

#[test]
fn body_limit_range_message() {
    let (_dir, path) = write_file("\n\n\n\n\n\n[http]\nbody_limit_bytes = 12\n");
    let errs = errors(load_with(Some(&path), &[], Overrides::default()));
    assert_eq!(
        errs.to_string(),
        format!(
            "{}:8: http.body_limit_bytes: must be between 1024 and 1073741824, got 12",
            path.display()
        )
    );
}

#[test]
fn syntax_error_has_its_line() {
    let (_dir, path) = write_file("listen = \"127.0.0.1:1\"\n[http]\nbody_limit_bytes = = 3\n");
    let errs = errors(load_with(Some(&path), &[], Overrides::default()));
    let e = &errs.0[0];
    assert!(
        matches!(e.source, ErrorSource::File { line: Some(3), .. }),
        "{errs}"
    );
    assert!(e.message.contains("syntax"), "{}", e.message);
}

#[test]
fn duplicate_key_is_a_syntax_error() {
    let (_dir, path) = write_file("listen = \"127.0.0.1:1\"\nlisten = \"127.0.0.1:2\"\n");
    let errs = errors(load_with(Some(&path), &[], Overrides::default()));
    assert!(
        matches!(errs.0[0].source, ErrorSource::File { line: Some(2), .. }),
        "{errs}"
    );
}

#[test]
fn bad_env_value_names_the_variable() {
    let env = [
        ("MAMORI_LISTEN", "abc"),
        ("MAMORI_HTTP__BODY_LIMIT_BYTES", "lots"),
        ("MAMORI_LOG__FORMAT", "xml"),
    ];
    let errs = errors(load_with(None, &env, Overrides::default()));
    let shown = errs.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 3, "{shown}");
    assert!(
        lines[0].starts_with("environment MAMORI_LISTEN: invalid socket address \"abc\""),
        "{shown}"
    );
    assert!(
        lines[1].starts_with("environment MAMORI_HTTP__BODY_LIMIT_BYTES: "),
        "{shown}"
    );
    assert!(
        lines[2].starts_with("environment MAMORI_LOG__FORMAT: "),
        "{shown}"
    );
    assert_eq!(
        errs.0[0].source,
        ErrorSource::Env {
            var: "MAMORI_LISTEN".to_owned()
        }
    );
    assert_eq!(errs.0[0].key, "listen");
}

#[test]
fn errors_from_all_layers_are_collected() {
    let (_dir, path) = write_file("[http]\nbody_limit_bytes = 1\n");
    let overrides = Overrides {
        database_url: Some("env:MISSING_DB_URL".to_owned()),
        ..Overrides::default()
    };
    let errs = errors(load_with(Some(&path), &[("MAMORI_LISTEN", "x")], overrides));
    assert_eq!(errs.len(), 3, "{errs}");
    assert!(matches!(
        errs.0[0].source,
        ErrorSource::File { line: Some(2), .. }
    ));
    assert!(matches!(errs.0[1].source, ErrorSource::Env { .. }));
    assert_eq!(
        errs.0[2].source,
        ErrorSource::Cli {
            flag: "--database-url".to_owned()
        }
    );
    assert!(errs.0[2].message.contains("MISSING_DB_URL"));
}

#[test]
fn env_secret_indirection() {
    let (_dir, path) = write_file("[database]\nurl = \"env:PG_URL\"\n");
    let env = [("PG_URL", "postgres://mamori:s3cret@db/mamori")];
    let config = load_with(Some(&path), &env, Overrides::default()).unwrap();
    assert_eq!(config.database_url(), "postgres://mamori:s3cret@db/mamori");

    let env = [
        ("MAMORI_DATABASE_URL", "env:PG_URL"),
        ("PG_URL", "sqlite://x.db"),
    ];
    let config = load_with(None, &env, Overrides::default()).unwrap();
    assert_eq!(config.database_url(), "sqlite://x.db");

    let errs = errors(load_with(Some(&path), &[], Overrides::default()));
    assert!(matches!(
        errs.0[0].source,
        ErrorSource::File { line: Some(2), .. }
    ));
    assert!(errs.0[0].message.contains("PG_URL"), "{errs}");
}

#[test]
fn file_secret_indirection() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("db_url");
    std::fs::write(&secret, "postgres://mamori:fromfile@db/mamori\n").unwrap();
    let (_d, path) = write_file(&format!(
        "[database]\nurl = \"file:{}\"\n",
        secret.display()
    ));
    let config = load_with(Some(&path), &[], Overrides::default()).unwrap();
    assert_eq!(
        config.database_url(),
        "postgres://mamori:fromfile@db/mamori"
    );
    assert_eq!(
        config
            .database
            .url
            .as_ref()
            .map(|s| s.expose_secret().len()),
        Some("postgres://mamori:fromfile@db/mamori".len())
    );

    let overrides = Overrides {
        database_url: Some(format!("file:{}", dir.path().join("absent").display())),
        ..Overrides::default()
    };
    let errs = errors(load_with(None, &[], overrides));
    assert!(
        errs.to_string()
            .starts_with("command-line flag --database-url: secret file"),
        "{errs}"
    );
}

#[test]
fn debug_redacts_the_database_password() {
    let env = [("MAMORI_DATABASE_URL", "postgres://mamori:hunter2@db/mamori")];
    let config = load_with(None, &env, Overrides::default()).unwrap();
    let shown = format!("{config:?} {config:#?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("REDACTED"), "{shown}");

    let overrides = Overrides {
        database_url: Some("postgres://mamori:hunter2@db/mamori".to_owned()),
        ..Overrides::default()
    };
    assert!(!format!("{overrides:?}").contains("hunter2"));
}

#[test]
fn bad_database_url_is_not_echoed() {
    let (_dir, path) = write_file("[database]\nurl = \"hunter2 not a url\"\n");
    let errs = errors(load_with(Some(&path), &[], Overrides::default()));
    assert!(!errs.to_string().contains("hunter2"), "{errs}");
}

#[test]
fn missing_required_file_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let errs = errors(load_with(Some(&path), &[], Overrides::default()));
    assert_eq!(
        errs.to_string(),
        format!("{}: file not found", path.display())
    );

    let lookup = |_: &str| None;
    let config = mamori_config::load(mamori_config::LoadOptions {
        file: Some(&path),
        file_required: false,
        env: &lookup,
        overrides: Overrides::default(),
    });
    assert!(config.is_ok());
}

#[test]
fn oversize_file_is_refused() {
    let mut text = String::from("# padding\n");
    while text.len() <= 1024 * 1024 {
        text.push_str("# ................................................................\n");
    }
    let (_dir, path) = write_file(&text);
    let errs = errors(load_with(Some(&path), &[], Overrides::default()));
    assert_eq!(errs.len(), 1);
    assert!(errs.to_string().contains("larger than"), "{errs}");
    assert!(
        errs.to_string().starts_with(&path.display().to_string()),
        "{errs}"
    );
}

#[test]
fn non_utf8_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mamori.toml");
    std::fs::write(&path, b"listen = \"\xff\"\n").unwrap();
    let errs = errors(load_with(Some(&path), &[], Overrides::default()));
    assert!(errs.to_string().contains("UTF-8"), "{errs}");
}

#[test]
fn check_file_ignores_mamori_env_and_reports_errors() {
    let (_dir, path) = write_file("listen = \"127.0.0.1:7000\"\n");
    let config = check_file(&path).unwrap();
    assert_eq!(config.listen, local(7000));

    let (_dir2, bad) = write_file("[log]\nformat = \"xml\"\n");
    let errs = check_file(&bad).unwrap_err();
    assert!(matches!(
        errs.0[0].source,
        ErrorSource::File { line: Some(2), .. }
    ));
}

#[test]
fn inline_tables_and_dotted_keys_work() {
    let (_dir, path) = write_file("http = { body_limit_bytes = 2048 }\nlog.format = \"json\"\n");
    let config = load_with(Some(&path), &[], Overrides::default()).unwrap();
    assert_eq!(config.http.body_limit_bytes, 2048);
    assert_eq!(config.log.format, LogFormat::Json);

    let (_dir, path) = write_file("\nhttp = 5\n");
    let errs = errors(load_with(Some(&path), &[], Overrides::default()));
    assert!(
        errs.to_string()
            .ends_with(":2: http: expected a table, got integer"),
        "{errs}"
    );
}

#[test]
fn negative_and_huge_integers() {
    let (_dir, path) =
        write_file("[auth]\nlogin_max_failures = -1\nlogin_window_secs = 99999999999999999999\n");
    let errs = errors(load_with(Some(&path), &[], Overrides::default()));
    assert_eq!(errs.len(), 2, "{errs}");
}

#[test]
fn mail_limits_come_from_file_and_env_and_are_range_checked() {
    let (_dir, path) =
        write_file("[mail]\nmax_decompressed_bytes = 1073741824\nmax_passwords = 8\n");
    let env = [
        ("MAMORI_MAIL__MAX_ARCHIVE_MEMBER_BYTES", "2048"),
        ("MAMORI_MAIL__MAX_MESSAGE_BYTES", "4096"),
        ("MAMORI_MAIL__UPLOAD_TIMEOUT_SECS", "900"),
    ];
    let config = load_with(Some(&path), &env, Overrides::default()).unwrap();
    assert_eq!(config.mail.max_decompressed_bytes, 1 << 30);
    assert_eq!(config.mail.max_passwords, 8);
    assert_eq!(config.mail.max_archive_member_bytes, 2048);
    assert_eq!(config.mail.max_message_bytes, 4096);
    assert_eq!(config.mail.upload_timeout_secs, 900);
    assert_eq!(
        config.mail.max_decoder_memory_bytes,
        mamori_config::MailConfig::default().max_decoder_memory_bytes
    );

    let (_dir, path) = write_file(
        "[mail]\nmax_passwords = 100000\nmax_decoder_memory_bytes = 1\nmax_message_bytes = 2147483648\nupload_timeout_secs = 0\n",
    );
    let errs = errors(load_with(Some(&path), &[], Overrides::default()));
    let text = errs.to_string();
    let p = path.display();
    assert_eq!(errs.len(), 4, "{text}");
    assert!(
        text.contains(&format!(
            "{p}:5: mail.upload_timeout_secs: must be between 1 and 3600"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{p}:4: mail.max_message_bytes: must be between 1024 and 1073741824"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{p}:2: mail.max_passwords: must be between 0 and 1000"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{p}:3: mail.max_decoder_memory_bytes: must be between"
        )),
        "{text}"
    );
}
