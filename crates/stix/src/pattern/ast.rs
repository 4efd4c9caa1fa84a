//! The syntax tree of a STIX pattern. `Display` prints a canonical pattern that parses back to
//! an equal tree.

use std::fmt;

use base64::Engine as _;

use crate::Timestamp;

/// An observation expression: what must be observed, and how observations combine.
#[derive(Debug, Clone, PartialEq)]
pub enum ObservationExpr {
    /// `[ comparison ]`: one observation satisfying the comparison.
    Simple(ComparisonExpr),
    And(Box<ObservationExpr>, Box<ObservationExpr>),
    Or(Box<ObservationExpr>, Box<ObservationExpr>),
    FollowedBy(Box<ObservationExpr>, Box<ObservationExpr>),
    Qualified(Box<ObservationExpr>, Qualifier),
}

/// A qualifier applied to an observation expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Qualifier {
    /// `WITHIN n SECONDS` (n > 0, integer or decimal).
    Within(f64),
    /// `REPEATS n TIMES` (n ≥ 1).
    Repeats(u32),
    /// `START t'…' STOP t'…'`.
    StartStop(Timestamp, Timestamp),
}

/// A comparison expression inside `[...]`.
#[derive(Debug, Clone, PartialEq)]
pub enum ComparisonExpr {
    And(Box<ComparisonExpr>, Box<ComparisonExpr>),
    Or(Box<ComparisonExpr>, Box<ComparisonExpr>),
    Test(PropTest),
}

/// One property test: `path [NOT] op operand`, or `[NOT] EXISTS path`.
#[derive(Debug, Clone, PartialEq)]
pub struct PropTest {
    pub path: ObjectPath,
    pub negated: bool,
    pub op: Op,
}

/// A comparison operator with its operand.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Op {
    Eq(Literal),
    Ne(Literal),
    Lt(Literal),
    Le(Literal),
    Gt(Literal),
    Ge(Literal),
    In(Vec<Literal>),
    /// `LIKE`: SQL wildcards `%` (any run) and `_` (one character), whole value.
    Like(TextRegex),
    /// `MATCHES`: a regular expression searched anywhere in the value (linear-time engine).
    Matches(TextRegex),
    IsSubset(String),
    IsSuperset(String),
    Exists,
}

/// The operand of `LIKE` or `MATCHES`: the text as written and its compiled form.
#[derive(Debug, Clone)]
pub struct TextRegex {
    source: String,
    pub(crate) re: regex::Regex,
    pub(crate) re_bytes: Option<regex::bytes::Regex>,
}

/// Largest compiled program accepted for one regular expression (protects against
/// patterns that would take much memory to compile).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl TextRegex {
    /// A `MATCHES` operand. Fails when the regex syntax is not supported (e.g. look-around or
    /// back-references, which a linear-time engine cannot run).
    pub fn matches(source: &str) -> Result<TextRegex, String> {
        TextRegex::compile(source, source)
    }

    /// A `LIKE` operand.
    pub fn like(source: &str) -> Result<TextRegex, String> {
        let mut re = String::from("^");
        for c in source.chars() {
            match c {
                '%' => re.push_str(".*"),
                '_' => re.push('.'),
                other => re.push_str(&regex::escape(&other.to_string())),
            }
        }
        re.push('$');
        TextRegex::compile(source, &re)
    }

    fn compile(source: &str, re: &str) -> Result<TextRegex, String> {
        let compiled = regex::RegexBuilder::new(re)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| e.to_string())?;
        let re_bytes = if re.is_ascii() {
            regex::bytes::RegexBuilder::new(re)
                .unicode(false)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .ok()
        } else {
            None
        };
        Ok(TextRegex {
            source: source.to_owned(),
            re: compiled,
            re_bytes,
        })
    }

    /// The operand as written in the pattern.
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl PartialEq for TextRegex {
    fn eq(&self, other: &TextRegex) -> bool {
        self.source == other.source
    }
}

/// `object-type:property.step[0].'quoted key'[*]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectPath {
    pub object_type: String,
    /// At least one step; the first is always a [`PathStep::Key`].
    pub steps: Vec<PathStep>,
}

/// One step of an object path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathStep {
    Key(String),
    Index(i64),
    AnyIndex,
}

/// A constant in a pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Timestamp(Timestamp),
    /// `h'…'`.
    Hex(Vec<u8>),
    /// `b'…'`.
    Binary(Vec<u8>),
}

fn is_plain_identifier(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
        && !matches!(s, "true" | "false")
        && !s.bytes().all(|c| c.is_ascii_uppercase())
}

/// Writes `s` as a pattern string literal.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.object_type)?;
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                PathStep::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if is_plain_identifier(k) {
                        f.write_str(k)?;
                    } else {
                        f.write_str(&quote(k))?;
                    }
                }
                PathStep::Index(n) => write!(f, "[{n}]")?,
                PathStep::AnyIndex => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => f.write_str(&quote(s)),
            Literal::Int(n) => write!(f, "{n}"),
            Literal::Float(x) => {
                let s = format!("{x:?}");
                if s.contains('e') || s.contains("inf") || s.contains("NaN") {
                    // Not expressible in the grammar; print with a fixed point.
                    write!(f, "{x:.1}")
                } else {
                    f.write_str(&s)
                }
            }
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Timestamp(t) => write!(f, "t'{t}'"),
            Literal::Hex(bytes) => {
                f.write_str("h'")?;
                for b in bytes {
                    write!(f, "{b:02x}")?;
                }
                f.write_str("'")
            }
            Literal::Binary(bytes) => write!(
                f,
                "b'{}'",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            ),
        }
    }
}

impl fmt::Display for PropTest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.op == Op::Exists {
            let not = if self.negated { "NOT " } else { "" };
            return write!(f, "{not}EXISTS {}", self.path);
        }
        write!(f, "{}", self.path)?;
        if self.negated {
            f.write_str(" NOT")?;
        }
        match &self.op {
            Op::Eq(l) => write!(f, " = {l}"),
            Op::Ne(l) => write!(f, " != {l}"),
            Op::Lt(l) => write!(f, " < {l}"),
            Op::Le(l) => write!(f, " <= {l}"),
            Op::Gt(l) => write!(f, " > {l}"),
            Op::Ge(l) => write!(f, " >= {l}"),
            Op::In(set) => {
                f.write_str(" IN (")?;
                for (i, l) in set.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{l}")?;
                }
                f.write_str(")")
            }
            Op::Like(r) => write!(f, " LIKE {}", quote(r.source())),
            Op::Matches(r) => write!(f, " MATCHES {}", quote(r.source())),
            Op::IsSubset(s) => write!(f, " ISSUBSET {}", quote(s)),
            Op::IsSuperset(s) => write!(f, " ISSUPERSET {}", quote(s)),
            Op::Exists => Ok(()),
        }
    }
}

impl fmt::Display for ComparisonExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComparisonExpr::Test(t) => write!(f, "{t}"),
            ComparisonExpr::And(a, b) => write!(f, "({a} AND {b})"),
            ComparisonExpr::Or(a, b) => write!(f, "({a} OR {b})"),
        }
    }
}

impl fmt::Display for ObservationExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObservationExpr::Simple(c) => write!(f, "[{c}]"),
            ObservationExpr::And(a, b) => write!(f, "({a} AND {b})"),
            ObservationExpr::Or(a, b) => write!(f, "({a} OR {b})"),
            ObservationExpr::FollowedBy(a, b) => write!(f, "({a} FOLLOWEDBY {b})"),
            ObservationExpr::Qualified(e, q) => match q {
                Qualifier::Within(s) => {
                    let lit = Literal::Float(*s);
                    if s.fract() == 0.0 && *s < 1e15 {
                        write!(f, "{e} WITHIN {} SECONDS", *s as i64)
                    } else {
                        write!(f, "{e} WITHIN {lit} SECONDS")
                    }
                }
                Qualifier::Repeats(n) => write!(f, "{e} REPEATS {n} TIMES"),
                Qualifier::StartStop(a, b) => write!(f, "{e} START t'{a}' STOP t'{b}'"),
            },
        }
    }
}
