//! The file layer: parse TOML, walk its keys with their spans, and report
//! unknown keys, wrong types and bad values with line numbers.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use crate::error::{ConfigError, ErrorSource};
use crate::keys::{Key, TABLES};
use crate::layer::{EnvFn, Layer};
use crate::value::Raw;

/// Reads the settings in `text` (the contents of `path`) into a layer. Problems
/// are appended to `errors`, ordered by position.
pub(crate) fn parse(
    path: &Path,
    text: &str,
    secret_env: EnvFn<'_>,
    errors: &mut Vec<ConfigError>,
) -> Layer {
    let mut walker = Walker {
        path,
        text,
        secret_env,
        layer: Layer::default(),
        errors: Vec::new(),
    };
    let (doc, syntax_errors) = DeTable::parse_recoverable(text);
    if syntax_errors.is_empty() {
        walker.table(None, doc.get_ref());
    } else {
        // A recovered document could yield misleading follow-up errors.
        for e in syntax_errors {
            let message = e.message().trim().to_owned();
            walker.error(e.span(), "", format!("TOML syntax error: {message}"));
        }
    }
    walker.errors.sort_by_key(|e| match &e.source {
        ErrorSource::File { line, column, .. } => (*line, *column),
        _ => (None, None),
    });
    errors.append(&mut walker.errors);
    walker.layer
}

struct Walker<'a> {
    path: &'a Path,
    text: &'a str,
    secret_env: EnvFn<'a>,
    layer: Layer,
    errors: Vec<ConfigError>,
}

impl Walker<'_> {
    fn table(&mut self, table: Option<&str>, entries: &DeTable<'_>) {
        for (name, value) in entries.iter() {
            self.entry(table, name, value);
        }
    }

    fn entry(
        &mut self,
        table: Option<&str>,
        name: &Spanned<DeString<'_>>,
        value: &Spanned<DeValue<'_>>,
    ) {
        let key_name: &str = name.get_ref();
        let path = match table {
            Some(table) => format!("{table}.{key_name}"),
            None => key_name.to_owned(),
        };
        if let Some(key) = Key::lookup(table, key_name) {
            if let Err(message) = self
                .layer
                .set(key, Raw::Toml(value.get_ref()), self.secret_env)
            {
                self.error(Some(value.span()), &path, message);
            }
        } else if table.is_none() && key_name == "share" {
            let mut problems = Vec::new();
            let share = crate::feeds::parse_share(value, self.secret_env, &mut problems);
            for (span, key, message) in problems {
                self.error(span, &key, message);
            }
            self.layer.set_share(share);
        } else if table.is_none() && TABLES.contains(&key_name) {
            match value.get_ref() {
                DeValue::Table(entries) => self.table(Some(key_name), entries),
                other => {
                    let message = format!("expected a table, got {}", other.type_str());
                    self.error(Some(value.span()), &path, message);
                }
            }
        } else {
            let message = format!(
                "unknown key; expected one of: {}",
                Key::names_in(table).join(", ")
            );
            self.error(Some(name.span()), &path, message);
        }
    }

    fn error(&mut self, span: Option<Range<usize>>, key: &str, message: String) {
        let (line, column) = match span {
            Some(span) => {
                let (line, column) = line_column(self.text, span.start);
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        let source = ErrorSource::File {
            path: self.path.to_path_buf(),
            line,
            column,
        };
        self.errors.push(ConfigError::new(source, key, message));
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let column = text
        .get(line_start..offset)
        .map_or(offset - line_start, |s| s.chars().count());
    (line, column + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        let text = "a\nbc\né=1";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 2));
        assert_eq!(line_column(text, 7), (3, 2));
        assert_eq!(line_column(text, 999), (3, 4));
    }
}
