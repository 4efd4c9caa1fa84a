//! Secret values: literal, `env:NAME` or `file:PATH`.

use std::path::Path;

use secrecy::SecretString;

use crate::read::read_text;

/// Largest secret file accepted (64 KiB).
pub(crate) const SECRET_FILE_LIMIT: u64 = 64 * 1024;

/// Resolves a secret reference. `env` answers `env:NAME` look-ups. Error
/// messages never contain the secret itself.
pub(crate) fn resolve(
    value: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SecretString, String> {
    let secret = if let Some(name) = value.strip_prefix("env:") {
        let name = name.trim();
        if name.is_empty() {
            return Err("env: needs a variable name, as in env:DATABASE_URL".to_owned());
        }
        env(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("environment variable {name} (named by env:) is not set"))?
    } else if let Some(path) = value.strip_prefix("file:") {
        let path = path.trim();
        if path.is_empty() {
            return Err("file: needs a path, as in file:/run/secrets/db_url".to_owned());
        }
        let mut text = read_text(Path::new(path), SECRET_FILE_LIMIT)
            .map_err(|e| format!("secret file {path}: {e}"))?;
        let trimmed = text.trim_end_matches(['\n', '\r']).len();
        text.truncate(trimmed);
        if text.is_empty() {
            return Err(format!("secret file {path} is empty"));
        }
        text
    } else {
        if value.is_empty() {
            return Err("must not be empty".to_owned());
        }
        value.to_owned()
    };
    Ok(SecretString::from(secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn env(name: &str) -> Option<String> {
        (name == "DB").then(|| "postgres://u:pw@h/db".to_owned())
    }

    #[test]
    fn literal_env_and_file() {
        assert_eq!(resolve("x://y", &env).unwrap().expose_secret(), "x://y");
        assert_eq!(
            resolve("env:DB", &env).unwrap().expose_secret(),
            "postgres://u:pw@h/db"
        );
        assert!(resolve("env:NOPE", &env).unwrap_err().contains("NOPE"));
        assert!(resolve("env:", &env).is_err());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "sqlite://s.db\r\n").unwrap();
        let reference = format!("file:{}", path.display());
        assert_eq!(
            resolve(&reference, &env).unwrap().expose_secret(),
            "sqlite://s.db"
        );

        std::fs::write(&path, vec![b'a'; 64 * 1024 + 1]).unwrap();
        assert!(resolve(&reference, &env).unwrap_err().contains("larger"));
        std::fs::write(&path, "\n").unwrap();
        assert!(resolve(&reference, &env).unwrap_err().contains("empty"));
    }
}
