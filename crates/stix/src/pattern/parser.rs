//! Recursive-descent parser for the STIX 2.1 patterning grammar (OASIS `STIXPattern.g4`):
//!
//! ```text
//! pattern      := obsFollowed EOF
//! obsFollowed  := obsOr ('FOLLOWEDBY' obsOr)*
//! obsOr        := obsAnd ('OR' obsAnd)*
//! obsAnd       := obsQualified ('AND' obsQualified)*
//! obsQualified := obsAtom qualifier*
//! obsAtom      := '[' cmpOr ']' | '(' obsFollowed ')'
//! cmpOr        := cmpAnd ('OR' cmpAnd)*
//! cmpAnd       := propTest ('AND' propTest)*
//! propTest     := '(' cmpOr ')' | 'NOT'? 'EXISTS' path | path 'NOT'? op operand
//! ```
//!
//! Nesting is bounded ([`MAX_NESTING`]) so hostile input cannot exhaust the stack.

use super::PatternError;
use super::ast::{
    ComparisonExpr, Literal, ObjectPath, ObservationExpr, Op, PathStep, PropTest, Qualifier,
    TextRegex,
};
use super::lexer::{Spanned, Tok};

/// Deepest accepted nesting of parentheses and brackets.
pub const MAX_NESTING: usize = 100;

pub(super) struct Parser {
    toks: Vec<Spanned>,
    pos: usize,
    depth: usize,
}

impl Parser {
    pub(super) fn new(toks: Vec<Spanned>) -> Parser {
        Parser {
            toks,
            pos: 0,
            depth: 0,
        }
    }

    fn peek(&self) -> &Tok {
        self.toks.get(self.pos).map_or(&Tok::Eof, |s| &s.tok)
    }

    fn offset(&self) -> usize {
        self.toks
            .get(self.pos)
            .or_else(|| self.toks.last())
            .map_or(0, |s| s.offset)
    }

    fn bump(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn err(&self, expected: &str) -> PatternError {
        PatternError::syntax(self.offset(), expected, &self.peek().describe())
    }

    fn expect(&mut self, t: &Tok, expected: &str) -> Result<(), PatternError> {
        if self.peek() == t {
            self.bump();
            Ok(())
        } else {
            Err(self.err(expected))
        }
    }

    fn is_kw(&self, k: &str) -> bool {
        matches!(self.peek(), Tok::Kw(x) if *x == k)
    }

    fn enter(&mut self) -> Result<(), PatternError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(PatternError::TooDeep {
                offset: self.offset(),
                max: MAX_NESTING,
            });
        }
        Ok(())
    }

    pub(super) fn pattern(&mut self) -> Result<ObservationExpr, PatternError> {
        let e = self.obs_followed()?;
        if *self.peek() != Tok::Eof {
            return Err(self.err("AND, OR, FOLLOWEDBY, a qualifier or end of pattern"));
        }
        Ok(e)
    }

    /// Parses `item (KW item)*` and joins the items into a balanced tree, so that long
    /// chains (thousands of OR'ed indicators) stay shallow. AND, OR and FOLLOWEDBY are all
    /// associative under the matching semantics, so the grouping does not change meaning.
    fn chain<T>(
        &mut self,
        kw: &str,
        item: fn(&mut Parser) -> Result<T, PatternError>,
        join: fn(Box<T>, Box<T>) -> T,
    ) -> Result<T, PatternError> {
        let first = item(self)?;
        if !self.is_kw(kw) {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.is_kw(kw) {
            self.bump();
            items.push(item(self)?);
        }
        balance(items, join).ok_or_else(|| self.err("an expression"))
    }

    fn obs_followed(&mut self) -> Result<ObservationExpr, PatternError> {
        self.chain("FOLLOWEDBY", Parser::obs_or, ObservationExpr::FollowedBy)
    }

    fn obs_or(&mut self) -> Result<ObservationExpr, PatternError> {
        self.chain("OR", Parser::obs_and, ObservationExpr::Or)
    }

    fn obs_and(&mut self) -> Result<ObservationExpr, PatternError> {
        self.chain("AND", Parser::obs_qualified, ObservationExpr::And)
    }

    fn obs_qualified(&mut self) -> Result<ObservationExpr, PatternError> {
        let mut e = self.obs_atom()?;
        let depth_before = self.depth;
        loop {
            if self.is_kw("WITHIN") || self.is_kw("REPEATS") || self.is_kw("START") {
                // Each qualifier wraps the expression once more: bound them like nesting.
                self.enter()?;
            }
            let q = if self.is_kw("WITHIN") {
                self.bump();
                let at = self.offset();
                let secs = match self.bump() {
                    Tok::Int(n) if n > 0 => n as f64,
                    Tok::Float(x) if x > 0.0 && x.is_finite() => x,
                    Tok::Int(_) | Tok::Float(_) => {
                        return Err(PatternError::literal(
                            at,
                            "WITHIN needs a positive number of seconds",
                        ));
                    }
                    other => {
                        return Err(PatternError::syntax(
                            at,
                            "a positive number of seconds",
                            &other.describe(),
                        ));
                    }
                };
                if !self.is_kw("SECONDS") {
                    return Err(self.err("SECONDS"));
                }
                self.bump();
                Qualifier::Within(secs)
            } else if self.is_kw("REPEATS") {
                self.bump();
                let at = self.offset();
                let n = match self.bump() {
                    Tok::Int(n) if n > 0 => u32::try_from(n)
                        .map_err(|_| PatternError::literal(at, "REPEATS count is too large"))?,
                    Tok::Int(_) => {
                        return Err(PatternError::literal(
                            at,
                            "REPEATS needs a positive integer",
                        ));
                    }
                    other => {
                        return Err(PatternError::syntax(
                            at,
                            "a positive integer",
                            &other.describe(),
                        ));
                    }
                };
                if !self.is_kw("TIMES") {
                    return Err(self.err("TIMES"));
                }
                self.bump();
                Qualifier::Repeats(n)
            } else if self.is_kw("START") {
                self.bump();
                let Tok::Ts(start) = self.peek().clone() else {
                    return Err(self.err("a t'…' timestamp"));
                };
                self.bump();
                if !self.is_kw("STOP") {
                    return Err(self.err("STOP"));
                }
                self.bump();
                let Tok::Ts(stop) = self.peek().clone() else {
                    return Err(self.err("a t'…' timestamp"));
                };
                self.bump();
                Qualifier::StartStop(start, stop)
            } else {
                self.depth = depth_before;
                return Ok(e);
            };
            e = ObservationExpr::Qualified(Box::new(e), q);
        }
    }

    fn obs_atom(&mut self) -> Result<ObservationExpr, PatternError> {
        self.enter()?;
        let e = match self.peek() {
            Tok::LBrack => {
                self.bump();
                let c = self.cmp_or()?;
                self.expect(&Tok::RBrack, "']', AND or OR")?;
                ObservationExpr::Simple(c)
            }
            Tok::LParen => {
                self.bump();
                let e = self.obs_followed()?;
                self.expect(&Tok::RParen, "')'")?;
                e
            }
            _ => return Err(self.err("'[' or '('")),
        };
        self.depth -= 1;
        Ok(e)
    }

    fn cmp_or(&mut self) -> Result<ComparisonExpr, PatternError> {
        self.chain("OR", Parser::cmp_and, ComparisonExpr::Or)
    }

    fn cmp_and(&mut self) -> Result<ComparisonExpr, PatternError> {
        self.chain("AND", Parser::prop_test, ComparisonExpr::And)
    }

    fn prop_test(&mut self) -> Result<ComparisonExpr, PatternError> {
        if *self.peek() == Tok::LParen {
            self.enter()?;
            self.bump();
            let e = self.cmp_or()?;
            self.expect(&Tok::RParen, "')', AND or OR")?;
            self.depth -= 1;
            return Ok(e);
        }
        let not_exists = self.is_kw("NOT")
            && matches!(
                self.toks.get(self.pos + 1).map(|t| &t.tok),
                Some(Tok::Kw("EXISTS"))
            );
        if not_exists {
            self.bump();
        }
        if self.is_kw("EXISTS") {
            self.bump();
            let path = self.object_path()?;
            return Ok(ComparisonExpr::Test(PropTest {
                path,
                negated: not_exists,
                op: Op::Exists,
            }));
        }
        let path = self.object_path()?;
        let negated = self.is_kw("NOT");
        if negated {
            self.bump();
        }
        let op_at = self.offset();
        let lit_at = self.toks.get(self.pos + 1).map_or(op_at, |t| t.offset);
        let op = match self.bump() {
            Tok::Eq => Op::Eq(self.literal(true)?),
            Tok::Ne => Op::Ne(self.literal(true)?),
            Tok::Lt => Op::Lt(self.literal(false)?),
            Tok::Le => Op::Le(self.literal(false)?),
            Tok::Gt => Op::Gt(self.literal(false)?),
            Tok::Ge => Op::Ge(self.literal(false)?),
            Tok::Kw("IN") => Op::In(self.set_literal()?),
            Tok::Kw("LIKE") => {
                let at = self.offset();
                let s = self.string()?;
                Op::Like(
                    TextRegex::like(&s)
                        .map_err(|m| PatternError::literal(at, format!("bad LIKE operand: {m}")))?,
                )
            }
            Tok::Kw("MATCHES") => {
                let at = self.offset();
                let s = self.string()?;
                Op::Matches(TextRegex::matches(&s).map_err(|m| {
                    PatternError::literal(at, format!("bad regular expression: {m}"))
                })?)
            }
            Tok::Kw("ISSUBSET") => Op::IsSubset(self.string()?),
            Tok::Kw("ISSUPERSET") => Op::IsSuperset(self.string()?),
            other => {
                return Err(PatternError::syntax(
                    op_at,
                    "a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)",
                    &other.describe(),
                ));
            }
        };
        let test = PropTest { path, negated, op };
        if let Some(message) = super::check::hash_error(&test) {
            return Err(PatternError::literal(lit_at, message));
        }
        Ok(ComparisonExpr::Test(test))
    }

    fn string(&mut self) -> Result<String, PatternError> {
        match self.peek().clone() {
            Tok::Str(s) => {
                self.bump();
                Ok(s)
            }
            _ => Err(self.err("a string literal")),
        }
    }

    fn literal(&mut self, allow_bool: bool) -> Result<Literal, PatternError> {
        let lit = match self.peek().clone() {
            Tok::Str(s) => Literal::Str(s),
            Tok::Int(n) => Literal::Int(n),
            Tok::Float(x) => Literal::Float(x),
            Tok::Bool(b) if allow_bool => Literal::Bool(b),
            Tok::Ts(t) => Literal::Timestamp(t),
            Tok::Hex(h) => Literal::Hex(h),
            Tok::Bin(b) => Literal::Binary(b),
            _ => return Err(self.err("a literal")),
        };
        self.bump();
        Ok(lit)
    }

    fn set_literal(&mut self) -> Result<Vec<Literal>, PatternError> {
        self.expect(&Tok::LParen, "'(' starting a set")?;
        let mut out = Vec::new();
        if *self.peek() == Tok::RParen {
            self.bump();
            return Ok(out);
        }
        loop {
            out.push(self.literal(true)?);
            match self.bump() {
                Tok::Comma => continue,
                Tok::RParen => return Ok(out),
                _ => {
                    self.pos = self.pos.saturating_sub(1);
                    return Err(self.err("',' or ')'"));
                }
            }
        }
    }

    fn object_path(&mut self) -> Result<ObjectPath, PatternError> {
        let object_type = match self.peek().clone() {
            Tok::Ident { name, .. } => name,
            _ => return Err(self.err("an object type such as ipv4-addr")),
        };
        self.bump();
        self.expect(&Tok::Colon, "':' after the object type")?;
        let mut steps = vec![self.key("a property name")?];
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.bump();
                    steps.push(self.key("a property name after '.'")?);
                }
                Tok::LBrack => {
                    self.bump();
                    let step = match self.bump() {
                        Tok::Int(n) => PathStep::Index(n),
                        Tok::Star => PathStep::AnyIndex,
                        _ => {
                            self.pos = self.pos.saturating_sub(1);
                            return Err(self.err("a list index or '*'"));
                        }
                    };
                    self.expect(&Tok::RBrack, "']' closing the list index")?;
                    steps.push(step);
                }
                _ => return Ok(ObjectPath { object_type, steps }),
            }
        }
    }

    fn key(&mut self, expected: &str) -> Result<PathStep, PatternError> {
        match self.peek().clone() {
            Tok::Ident {
                name,
                hyphen: false,
            } => {
                self.bump();
                Ok(PathStep::Key(name))
            }
            Tok::Str(s) => {
                self.bump();
                Ok(PathStep::Key(s))
            }
            Tok::Ident { hyphen: true, .. } => {
                Err(self.err("a property name without '-' (quote names with hyphens: 'SHA-256')"))
            }
            _ => Err(self.err(expected)),
        }
    }
}

/// Joins items pairwise into a tree of depth ⌈log2 n⌉, keeping their left-to-right order.
fn balance<T>(mut items: Vec<T>, join: fn(Box<T>, Box<T>) -> T) -> Option<T> {
    if items.len() <= 1 {
        return items.pop();
    }
    let right = items.split_off(items.len() / 2);
    Some(join(
        Box::new(balance(items, join)?),
        Box::new(balance(right, join)?),
    ))
}
