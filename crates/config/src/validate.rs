//! Validation of values with a syntax of their own: log filters, the public
//! URL and the database URL.

use secrecy::{ExposeSecret, SecretString};

use crate::config::{LogFormat, SeverityMinutes};

const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// A tracing `EnvFilter`-style filter: comma-separated directives, each a level
/// or `target=level`. Bare targets are refused, so that a misspelt level
/// (`infoo`) is caught rather than read as a target.
pub(crate) fn log_level(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("must not be empty; use a level such as \"info\"".to_owned());
    }
    for directive in s.split(',').map(str::trim) {
        let ok = match directive.rsplit_once('=') {
            Some((target, level)) => {
                !target.trim().is_empty()
                    && !target.chars().any(char::is_whitespace)
                    && is_level(level)
            }
            None => is_level(directive),
        };
        if !ok {
            return Err(format!(
                "invalid log directive {directive:?}: expected a level ({}) or target=level",
                LEVELS.join(", ")
            ));
        }
    }
    Ok(s.to_owned())
}

fn is_level(s: &str) -> bool {
    LEVELS
        .iter()
        .any(|level| level.eq_ignore_ascii_case(s.trim()))
}

pub(crate) fn log_format(s: &str) -> Result<LogFormat, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err(format!("expected \"text\" or \"json\", got {s:?}")),
    }
}

/// An absolute `http`/`https` URL with a host, without credentials.
pub(crate) fn public_url(s: &str) -> Result<String, String> {
    let s = s.trim();
    let bad = |why: &str| Err(format!("invalid URL {s:?}: {why}"));
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("contains whitespace");
    }
    let Some((scheme, rest)) = s.split_once("://") else {
        return bad("expected http://HOST or https://HOST");
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return bad("scheme must be http or https");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return bad("must not contain credentials");
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((host, tail)) if host.parse::<std::net::Ipv6Addr>().is_ok() => {
                (host, tail.strip_prefix(':'))
            }
            _ => return bad("invalid IPv6 host"),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return bad("missing host");
    }
    if !host
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | ':'))
    {
        return bad("invalid host");
    }
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return bad("invalid port");
    }
    Ok(s.to_owned())
}

/// A URL with a scheme (`postgres://…`, `sqlite://…`). The value is never
/// echoed: it may hold a password.
pub(crate) fn database_url(url: SecretString) -> Result<SecretString, String> {
    let exposed = url.expose_secret();
    let scheme_ok = exposed.split_once(':').is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if scheme_ok && !exposed.chars().any(char::is_control) {
        Ok(url)
    } else {
        Err("must be a URL such as postgres://user:password@host/db or sqlite://path (value not shown)".to_owned())
    }
}

/// `critical=15,high=60,medium=240,low=1440`: all four severities, each 1 ..= 525600 minutes.
pub(crate) fn severity_minutes(s: &str) -> Result<SeverityMinutes, String> {
    let mut out = [None; 4];
    const NAMES: [&str; 4] = ["critical", "high", "medium", "low"];
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, minutes)) = part.split_once('=') else {
            return Err(format!("expected severity=minutes, got {part:?}"));
        };
        let Some(i) = NAMES.iter().position(|n| *n == name.trim()) else {
            return Err(format!(
                "unknown severity {:?} (critical, high, medium, low)",
                name.trim()
            ));
        };
        let m: u64 = minutes
            .trim()
            .parse()
            .map_err(|_| format!("{}: expected minutes, got {minutes:?}", name.trim()))?;
        if !(1..=525_600).contains(&m) {
            return Err(format!(
                "{}: must be 1 ..= 525600 minutes, got {m}",
                name.trim()
            ));
        }
        out[i] = Some(m);
    }
    match out {
        [Some(critical), Some(high), Some(medium), Some(low)] => Ok(SeverityMinutes {
            critical,
            high,
            medium,
            low,
        }),
        _ => Err("give all four severities: critical=M,high=M,medium=M,low=M".to_owned()),
    }
}

/// `smtp://host[:port]`, `smtp+starttls://host[:port]` or `smtps://host[:port]`.
pub(crate) fn smtp_url(s: &str) -> Result<String, String> {
    let s = s.trim();
    let ok = ["smtp://", "smtp+starttls://", "smtps://"].iter().any(|p| {
        s.strip_prefix(p)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(['@', '/', ' ']))
    });
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "invalid SMTP URL {s:?}: use smtp://host:port, smtp+starttls://host:port or smtps://host:port"
        ))
    }
}

/// A sender such as `Mamori <mamori@hub.example.jp>` or a bare address.
pub(crate) fn mailbox(s: &str) -> Result<String, String> {
    let s = s.trim();
    let addr = match (s.rfind('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        _ => s,
    };
    match addr.split_once('@') {
        Some((l, d)) if !l.is_empty() && !d.is_empty() && !addr.contains(' ') => Ok(s.to_owned()),
        _ => Err(format!("invalid sender address {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_settings() {
        let m = severity_minutes("critical=15,high=60,medium=240,low=1440").unwrap();
        assert_eq!((m.critical, m.low), (15, 1440));
        assert_eq!(
            severity_minutes(&m.to_string()).unwrap(),
            m,
            "Display round-trips"
        );
        for bad in [
            "critical=15,high=60,medium=240",
            "critical=0,high=60,medium=240,low=1440",
            "urgent=5,critical=15,high=60,medium=240,low=1440",
            "critical=x,high=60,medium=240,low=1440",
            "critical",
        ] {
            assert!(severity_minutes(bad).is_err(), "{bad}");
        }
        assert!(smtp_url("smtp+starttls://mail.example.jp:587").is_ok());
        for bad in ["http://x", "smtp://", "smtp://user@host", "smtp://a b"] {
            assert!(smtp_url(bad).is_err(), "{bad}");
        }
        assert!(mailbox("Mamori <hub@example.jp>").is_ok());
        assert!(mailbox("hub@example.jp").is_ok());
        assert!(mailbox("not an address").is_err());
    }

    #[test]
    fn log_levels() {
        for ok in [
            "info",
            "DEBUG",
            "warn,mamori_detect=trace",
            "a::b=error",
            "off",
        ] {
            assert!(log_level(ok).is_ok(), "{ok}");
        }
        for bad in ["", "infoo", "info,", "=info", "target=loud", "mamori"] {
            assert!(log_level(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn public_urls() {
        for ok in [
            "https://hub.example.go.jp",
            "http://localhost:8080/",
            "https://[::1]:8443/mamori",
            "HTTPS://Hub.Example",
        ] {
            assert!(public_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "hub.example",
            "ftp://hub",
            "https://",
            "https://u:p@hub",
            "https://hub:99999",
            "https://hu b",
            "https://[zz]",
        ] {
            assert!(public_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn database_urls_never_echo_the_value() {
        assert!(database_url(SecretString::from("postgres://u:p@h/db")).is_ok());
        assert!(database_url(SecretString::from("sqlite://./x.db?mode=rwc")).is_ok());
        let err = database_url(SecretString::from("hunter2-no-scheme")).err();
        assert!(err.is_some_and(|e| !e.contains("hunter2")));
    }
}
