//! Compiling rule sources into one [`RuleSet`], once. Each [`Source`] becomes a YARA namespace
//! named after it (so two rule sets may both have a rule `Lure`); `include` is refused (rules
//! from the hub must not read the hub's files); sizes are bounded by [`Limits`]; the first
//! error names its source, line and column with yara-x's code and message.

use std::time::Duration;

use crate::error::YaraError;

/// One named piece of YARA source: a file, or a rule set stored in the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Names the source in errors and becomes the namespace of its rules.
    pub name: String,
    pub text: String,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Source {
            name: name.into(),
            text: text.into(),
        }
    }
}

/// Bounds on what is compiled and on each scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest single source (default 2 MiB).
    pub max_source_bytes: usize,
    /// Largest total of all sources (default 32 MiB).
    pub max_total_bytes: usize,
    /// Most sources (default 1,000).
    pub max_sources: usize,
    /// Time one scan may take before it is abandoned (default 5 s; yara-x checks about once a
    /// second, so the effective bound is this rounded up to whole seconds).
    pub scan_timeout: Duration,
    /// Bytes of one part that are scanned (default 64 MiB; the rest is ignored).
    pub max_scan_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_source_bytes: 2 * 1024 * 1024,
            max_total_bytes: 32 * 1024 * 1024,
            max_sources: 1000,
            scan_timeout: Duration::from_secs(5),
            max_scan_bytes: 64 * 1024 * 1024,
        }
    }
}

/// A compiler warning, located like an error.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub source_name: String,
    pub line: usize,
    pub column: usize,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {} {}",
            self.source_name, self.line, self.column, self.code, self.message
        )
    }
}

/// What was compiled from one source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceSummary {
    pub name: String,
    /// Rules (public and private) the source defines.
    pub rules: usize,
}

/// Compiled rules: build once, scan many times from any thread.
pub struct RuleSet {
    pub(crate) rules: yara_x::Rules,
    pub(crate) limits: Limits,
    sources: Vec<SourceSummary>,
    warnings: Vec<Diagnostic>,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("sources", &self.sources)
            .field("warnings", &self.warnings.len())
            .finish_non_exhaustive()
    }
}

impl RuleSet {
    /// Compiles `sources` with the default limits.
    pub fn compile(sources: &[Source]) -> Result<RuleSet, YaraError> {
        Self::compile_with(sources, Limits::default())
    }

    /// Compiles `sources`; the first error (in source order) is returned.
    pub fn compile_with(sources: &[Source], limits: Limits) -> Result<RuleSet, YaraError> {
        check_sizes(sources, &limits)?;
        let mut compiler = yara_x::Compiler::new();
        compiler.enable_includes(false);
        let mut summaries = Vec::with_capacity(sources.len());
        for src in sources {
            compiler.new_namespace(&src.name);
            if let Err(e) = compiler.add_source(
                yara_x::SourceCode::from(src.text.as_str()).with_origin(src.name.as_str()),
            ) {
                let (line, column) = e
                    .labels()
                    .next()
                    .map_or((1, 1), |l| line_col(&src.text, l.span().start()));
                let label = e.labels().next().map(|l| l.text().to_owned());
                return Err(YaraError::Compile {
                    source_name: src.name.clone(),
                    line,
                    column,
                    code: e.code().to_owned(),
                    message: match label {
                        Some(l) if !l.is_empty() && l != e.title() => {
                            format!("{}: {l}", e.title())
                        }
                        _ => e.title().to_owned(),
                    },
                });
            }
            summaries.push(SourceSummary {
                name: src.name.clone(),
                rules: 0,
            });
        }
        let warnings = compiler
            .warnings()
            .iter()
            .map(|w| {
                let label = w.labels().next();
                let origin = label
                    .as_ref()
                    .and_then(|l| l.origin())
                    .unwrap_or_default()
                    .to_owned();
                let (line, column) =
                    match (label.as_ref(), sources.iter().find(|s| s.name == origin)) {
                        (Some(l), Some(s)) => line_col(&s.text, l.span().start()),
                        _ => (1, 1),
                    };
                Diagnostic {
                    source_name: origin,
                    line,
                    column,
                    code: w.code().to_owned(),
                    message: w.title().to_owned(),
                }
            })
            .collect();
        let rules = compiler.build();
        for r in rules.iter() {
            if let Some(s) = summaries.iter_mut().find(|s| s.name == r.namespace()) {
                s.rules += 1;
            }
        }
        Ok(RuleSet {
            rules,
            limits,
            sources: summaries,
            warnings,
        })
    }

    /// The sources compiled, with their rule counts.
    pub fn sources(&self) -> &[SourceSummary] {
        &self.sources
    }

    /// Rules in the set.
    pub fn rule_count(&self) -> usize {
        self.sources.iter().map(|s| s.rules).sum()
    }

    /// Compiler warnings (slow patterns, unused... ) located by source and line.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

/// Checks one source alone (what the hub does before storing a rule set): its rule count, or
/// the error with its line.
pub fn check(source: &Source) -> Result<usize, YaraError> {
    RuleSet::compile(std::slice::from_ref(source)).map(|r| r.rule_count())
}

fn check_sizes(sources: &[Source], limits: &Limits) -> Result<(), YaraError> {
    if sources.len() > limits.max_sources {
        return Err(YaraError::TooMany {
            what: format!("{} rule sources", sources.len()),
            max: limits.max_sources,
        });
    }
    let mut total = 0usize;
    for (i, s) in sources.iter().enumerate() {
        if s.name.is_empty() || s.name.chars().count() > 100 || s.name.chars().any(char::is_control)
        {
            return Err(YaraError::BadName(s.name.clone()));
        }
        if sources[..i].iter().any(|o| o.name == s.name) {
            return Err(YaraError::DuplicateName(s.name.clone()));
        }
        if s.text.len() > limits.max_source_bytes {
            return Err(YaraError::SourceTooLarge {
                source_name: s.name.clone(),
                size: s.text.len(),
                max: limits.max_source_bytes,
            });
        }
        total = total.saturating_add(s.text.len());
    }
    if total > limits.max_total_bytes {
        return Err(YaraError::TooMany {
            what: format!("{total} bytes of rules"),
            max: limits.max_total_bytes,
        });
    }
    Ok(())
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const GOOD: &str = r#"
rule Lure : phishing japanese {
    meta:
        description = "password in the body"
        score = 70
    strings:
        $a = "解凍パスワード"
    condition:
        $a
}
private rule Helper { condition: filesize > 0 }
"#;

    #[test]
    fn compiles_named_sources_as_namespaces() {
        let set = RuleSet::compile(&[
            Source::new("ppap", GOOD),
            // The same identifiers in another source do not clash: each source is a namespace.
            Source::new("other", GOOD),
        ])
        .unwrap();
        assert_eq!(set.rule_count(), 4);
        assert_eq!(
            set.sources(),
            [
                SourceSummary {
                    name: "ppap".into(),
                    rules: 2
                },
                SourceSummary {
                    name: "other".into(),
                    rules: 2
                }
            ]
        );
        assert_eq!(check(&Source::new("x", GOOD)), Ok(2));
    }

    #[test]
    fn bad_rule_names_source_line_and_message() {
        let src = "rule ok { condition: true }\n\nrule bad {\n  condition: foo and true\n}\n";
        let err = RuleSet::compile(&[Source::new("fine", GOOD), Source::new("team/bad.yar", src)])
            .unwrap_err();
        match &err {
            YaraError::Compile {
                source_name,
                line,
                column,
                code,
                message,
            } => {
                assert_eq!(source_name, "team/bad.yar");
                assert_eq!((*line, *column), (4, 14));
                assert_eq!(code, "E009");
                assert!(message.contains("unknown identifier `foo`"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            err.to_string()
                .starts_with("team/bad.yar:4:14: E009 unknown identifier"),
            "{err}"
        );
        let syntax = RuleSet::compile(&[Source::new("s", "rule x {\n condition:\n}")]).unwrap_err();
        assert!(
            matches!(&syntax, YaraError::Compile { line: 3, code, .. } if code == "E001"),
            "{syntax:?}"
        );
    }

    #[test]
    fn includes_are_refused() {
        let err = RuleSet::compile(&[Source::new(
            "inc",
            "include \"/etc/passwd\"\nrule a { condition: true }",
        )])
        .unwrap_err();
        assert!(
            matches!(&err, YaraError::Compile { line: 1, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn limits_on_sources() {
        let limits = Limits {
            max_source_bytes: 100,
            max_total_bytes: 120,
            max_sources: 2,
            ..Limits::default()
        };
        let big = "rule a { condition: true }".repeat(5);
        assert!(matches!(
            RuleSet::compile_with(&[Source::new("big", big)], limits.clone()),
            Err(YaraError::SourceTooLarge {
                size: 130,
                max: 100,
                ..
            })
        ));
        let r = "rule a { condition: true } /* padding padding padding padding */";
        assert!(matches!(
            RuleSet::compile_with(
                &[
                    Source::new("a", r),
                    Source::new("b", r),
                    Source::new("c", r)
                ],
                limits.clone()
            ),
            Err(YaraError::TooMany { max: 2, .. })
        ));
        assert!(matches!(
            RuleSet::compile_with(&[Source::new("a", r), Source::new("b", r)], limits.clone()),
            Err(YaraError::TooMany { max: 120, .. })
        ));
        assert_eq!(
            RuleSet::compile(&[Source::new("a", r), Source::new("a", r)]).unwrap_err(),
            YaraError::DuplicateName("a".into())
        );
        assert_eq!(
            RuleSet::compile(&[Source::new("", r)]).unwrap_err(),
            YaraError::BadName(String::new())
        );
    }

    #[test]
    fn lines_and_columns() {
        assert_eq!(line_col("abc", 0), (1, 1));
        assert_eq!(line_col("ab\ncd\né f", 9), (3, 3));
        assert_eq!(line_col("ab", 99), (1, 3));
    }
}
