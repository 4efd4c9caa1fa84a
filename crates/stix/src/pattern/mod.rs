//! The STIX 2.1 patterning language: [`Pattern::parse`] builds a syntax tree ([`ast`]),
//! [`Pattern::matches`] evaluates it against observations with the semantics of the OASIS
//! reference matcher (`stix2-matcher`), and [`Pattern::simple_equalities`] extracts the plain
//! `path = 'value'` tests that an IOC index can use.

pub mod ast;
mod check;
mod cidr;
mod compare;
mod eval;
mod lexer;
mod observation;
mod parser;
mod simple;

pub use ast::{
    ComparisonExpr, Literal, ObjectPath, ObservationExpr, Op, PathStep, PropTest, Qualifier,
    TextRegex,
};
pub use eval::{MAX_BINDINGS, MAX_WORK};
pub use observation::Observation;
pub use parser::MAX_NESTING;

/// Why a pattern was refused. Offsets are byte offsets into the pattern text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatternError {
    /// Unexpected input: what the grammar expected and what was found.
    #[error("at byte {offset}: expected {expected}, found {found}")]
    Syntax {
        offset: usize,
        expected: String,
        found: String,
    },
    /// A literal that is well placed but invalid (bad timestamp, hex, base64, regex, number).
    #[error("at byte {offset}: {message}")]
    Literal { offset: usize, message: String },
    /// Parentheses or brackets nested deeper than [`MAX_NESTING`].
    #[error("at byte {offset}: nesting deeper than {max}")]
    TooDeep { offset: usize, max: usize },
}

impl PatternError {
    pub(crate) fn syntax(offset: usize, expected: &str, found: &str) -> PatternError {
        PatternError::Syntax {
            offset,
            expected: expected.to_owned(),
            found: found.to_owned(),
        }
    }

    pub(crate) fn literal(offset: usize, message: impl Into<String>) -> PatternError {
        PatternError::Literal {
            offset,
            message: message.into(),
        }
    }

    /// The byte offset the error points at.
    pub fn offset(&self) -> usize {
        match self {
            PatternError::Syntax { offset, .. }
            | PatternError::Literal { offset, .. }
            | PatternError::TooDeep { offset, .. } => *offset,
        }
    }
}

/// A parsed STIX pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    root: ObservationExpr,
}

impl Pattern {
    /// Parses a pattern.
    pub fn parse(src: &str) -> Result<Pattern, PatternError> {
        let toks = lexer::tokenize(src)?;
        let root = parser::Parser::new(toks).pattern()?;
        Ok(Pattern { root })
    }

    /// The syntax tree.
    pub fn root(&self) -> &ObservationExpr {
        &self.root
    }

    /// True if the observations satisfy the pattern (STIX 2.1 section 9 semantics, as
    /// implemented by `stix2-matcher`).
    pub fn matches(&self, observations: &[Observation]) -> bool {
        eval::matches(&self.root, observations)
    }

    /// The `path = value` tests of a pattern that is one observation expression, without
    /// qualifiers, whose comparisons are only `=` against a string or integer, joined by AND
    /// or OR. Paths are written as in patterns (`file:hashes.'SHA-256'`). Empty for any other
    /// pattern. A hit on one of them is sufficient for a match when
    /// [`Pattern::is_simple_disjunction`] holds, and only necessary otherwise.
    pub fn simple_equalities(&self) -> Vec<(String, String)> {
        simple::simple_equalities(&self.root).unwrap_or_default()
    }

    /// True when the pattern is a single observation made only of `=` tests joined by OR, so
    /// that any one of [`Pattern::simple_equalities`] matching an object means a match.
    pub fn is_simple_disjunction(&self) -> bool {
        simple::is_simple_disjunction(&self.root)
    }

    /// The `path = value` tests of a pattern that any one of them matching satisfies: one
    /// observation or several joined by OR, each made only of `=` tests joined by OR
    /// (`[a:value = 'x'] OR [b:value = 'y' OR c:value = 'z']`). Empty for any other pattern
    /// (AND, FOLLOWEDBY, qualifiers, other operators).
    pub fn alternative_equalities(&self) -> Vec<(String, String)> {
        simple::alternative_equalities(&self.root).unwrap_or_default()
    }
}

/// The pattern `[<path> = '<value>']` for one indicator value, e.g.
/// `equality_pattern("file:hashes.'SHA-256'", "aec0…")`. The value is quoted and escaped; the
/// path must be a valid object path.
pub fn equality_pattern(path: &str, value: &str) -> Result<Pattern, PatternError> {
    let p = Pattern::parse(&format!("[{path} = {}]", ast::quote(value)))?;
    let single = matches!(&p.root, ObservationExpr::Simple(ComparisonExpr::Test(t))
        if !t.negated && matches!(&t.op, Op::Eq(Literal::Str(v)) if v == value));
    if !single {
        return Err(PatternError::literal(
            1,
            format!("{path:?} is not a single object path"),
        ));
    }
    Ok(p)
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.root)
    }
}

impl std::str::FromStr for Pattern {
    type Err = PatternError;
    fn from_str(s: &str) -> Result<Pattern, PatternError> {
        Pattern::parse(s)
    }
}
