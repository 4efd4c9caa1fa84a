//! The compiled detection IR and its evaluation against an [`EventView`].
//! Everything here is immutable after compilation and allocation-free at scan time.

use std::net::IpAddr;

use ipnet::IpNet;
use regex::Regex;

use crate::event::{EventView, FieldValue, ValueKind};

/// How a literal string is compared.
#[derive(Debug, Clone)]
pub enum StrMatch {
    /// Whole value equals.
    Exact(String),
    /// Value contains (with a precompiled substring searcher).
    Contains(String, Box<memchr::memmem::Finder<'static>>),
    /// Value starts with.
    Prefix(String),
    /// Value ends with.
    Suffix(String),
    /// `*`-only wildcard pattern: literals that must appear in order.
    Seq(Box<LitSeq>),
    /// Other wildcard pattern (with `?`) compiled to an anchored regex over the compared
    /// text; the longest literal it needs, for the prefilter.
    Glob(Regex, Option<String>),
    /// `*`: any value, including empty.
    Any,
}

/// A wildcard pattern of literals and `*` only: `head*middle₁*…*tail`, matched by finding each
/// literal after the previous one (leftmost-first is exact for `*`-only patterns).
#[derive(Debug, Clone)]
pub struct LitSeq {
    /// The value starts with this (the pattern does not begin with `*`).
    pub head: Option<String>,
    /// Literals in between, in order, with their substring searchers.
    pub middle: Vec<memchr::memmem::Finder<'static>>,
    /// The value ends with this (the pattern does not end with `*`).
    pub tail: Option<String>,
}

impl LitSeq {
    /// Whether `s` matches the pattern.
    #[inline]
    pub fn matches(&self, s: &str) -> bool {
        let b = s.as_bytes();
        let mut pos = 0;
        if let Some(h) = &self.head {
            if !b.starts_with(h.as_bytes()) {
                return false;
            }
            pos = h.len();
        }
        let mut end = b.len();
        if let Some(t) = &self.tail {
            if b.len() < pos + t.len() || !b.ends_with(t.as_bytes()) {
                return false;
            }
            end = b.len() - t.len();
        }
        for f in &self.middle {
            let Some(hay) = b.get(pos..end) else {
                return false;
            };
            match f.find(hay) {
                Some(i) => pos += i + f.needle().len(),
                None => return false,
            }
        }
        true
    }

    /// The longest literal of the pattern (every match contains it).
    fn longest(&self) -> &str {
        let mut best = "";
        let middle = self
            .middle
            .iter()
            .filter_map(|f| std::str::from_utf8(f.needle()).ok());
        for l in self
            .head
            .as_deref()
            .into_iter()
            .chain(middle)
            .chain(self.tail.as_deref())
        {
            if l.len() > best.len() {
                best = l;
            }
        }
        best
    }
}

/// A string comparison; literals are lowercased at compile time unless `cased`.
#[derive(Debug, Clone)]
pub struct StrMatcher {
    /// The comparison.
    pub m: StrMatch,
    /// Case-sensitive (`cased` modifier).
    pub cased: bool,
}

impl StrMatcher {
    /// The literal every matching value contains (lowercased), if there is one.
    pub fn required_literal(&self) -> Option<String> {
        let l = match &self.m {
            StrMatch::Exact(l)
            | StrMatch::Contains(l, _)
            | StrMatch::Prefix(l)
            | StrMatch::Suffix(l) => l,
            StrMatch::Seq(q) => q.longest(),
            StrMatch::Glob(_, l) => l.as_deref().unwrap_or(""),
            StrMatch::Any => return None,
        };
        (!l.is_empty() && l.is_ascii()).then(|| l.to_ascii_lowercase())
    }

    /// Tests one value.
    #[inline]
    pub fn matches(&self, v: &FieldValue) -> bool {
        let s: &str = if self.cased { &v.raw } else { v.lower() };
        match &self.m {
            StrMatch::Exact(l) => s == l,
            StrMatch::Contains(_, f) => f.find(s.as_bytes()).is_some(),
            StrMatch::Prefix(l) => s.starts_with(l.as_str()),
            StrMatch::Suffix(l) => s.ends_with(l.as_str()),
            StrMatch::Seq(q) => q.matches(s),
            StrMatch::Glob(re, _) => re.is_match(s),
            StrMatch::Any => true,
        }
    }
}

/// Numeric comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `gt`
    Gt,
    /// `gte`
    Gte,
    /// `lt`
    Lt,
    /// `lte`
    Lte,
}

/// How `fieldref` compares the two fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefMode {
    /// Equal.
    Eq,
    /// Contains.
    Contains,
    /// Starts with.
    Prefix,
    /// Ends with.
    Suffix,
}

/// One value test of a field.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// `null`: field absent, null or empty.
    Null,
    /// A string comparison.
    Str(StrMatcher),
    /// Many `contains` literals of one field, searched at once.
    AnyContains {
        /// Automaton over `lits`.
        ac: Box<aho_corasick::AhoCorasick>,
        /// The literals (lowercased unless `cased`).
        lits: Vec<String>,
        /// Case-sensitive.
        cased: bool,
    },
    /// `re` (on the raw value).
    Re(Regex),
    /// `cidr`.
    Cidr(IpNet),
    /// `gt`/`gte`/`lt`/`lte`.
    Cmp(CmpOp, f64),
    /// `fieldref`: compares with another field of the same event (lowercased name).
    FieldRef {
        /// Lowercased other field.
        field: String,
        /// Comparison.
        mode: RefMode,
        /// Case-sensitive.
        cased: bool,
    },
}

impl Matcher {
    #[inline]
    fn matches(&self, v: &FieldValue, ev: &EventView) -> bool {
        match self {
            Matcher::Null => v.is_empty_or_null(),
            // Null values only match an empty exact value; everything else needs text.
            Matcher::Str(s) => match v.kind {
                ValueKind::Null => matches!(&s.m, StrMatch::Exact(l) if l.is_empty()),
                _ => s.matches(v),
            },
            Matcher::AnyContains { ac, cased, .. } => {
                v.kind != ValueKind::Null
                    && ac.is_match(if *cased { v.raw.as_str() } else { v.lower() })
            }
            Matcher::Re(re) => re.is_match(&v.raw),
            Matcher::Cidr(net) => v
                .raw
                .trim()
                .parse::<IpAddr>()
                .is_ok_and(|ip| net.contains(&ip)),
            Matcher::Cmp(op, n) => parse_number(&v.raw).is_some_and(|x| match op {
                CmpOp::Gt => x > *n,
                CmpOp::Gte => x >= *n,
                CmpOp::Lt => x < *n,
                CmpOp::Lte => x <= *n,
            }),
            Matcher::FieldRef { field, mode, cased } => ev.get_lower(field).is_some_and(|others| {
                others.iter().any(|o| {
                    let (a, b) = if *cased {
                        (v.raw.as_str(), o.raw.as_str())
                    } else {
                        (v.lower(), o.lower())
                    };
                    match mode {
                        RefMode::Eq => a == b,
                        RefMode::Contains => a.contains(b),
                        RefMode::Prefix => a.starts_with(b),
                        RefMode::Suffix => a.ends_with(b),
                    }
                })
            }),
        }
    }
}

/// Parses decimal or `0x` hex numbers.
pub fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).ok().map(|v| v as f64);
    }
    s.parse::<f64>().ok()
}

/// What a field condition tests.
#[derive(Debug, Clone)]
pub enum CondKind {
    /// Value tests, OR-ed (AND-ed with `all`).
    Values {
        /// The tests.
        matchers: Vec<Matcher>,
        /// `all` modifier.
        all: bool,
    },
    /// `exists: true|false`.
    Exists(bool),
}

/// One `field|modifiers: values` entry. An empty field name means a keyword search over
/// every value of the event.
#[derive(Debug, Clone)]
pub struct FieldCond {
    /// Lowercased field name ("" = keyword).
    pub field: String,
    /// The test.
    pub kind: CondKind,
}

impl FieldCond {
    /// Evaluates against an event.
    pub fn eval(&self, ev: &EventView) -> bool {
        let (matchers, all) = match &self.kind {
            CondKind::Exists(want) => {
                let present = ev.get_lower(&self.field).is_some_and(|v| !v.is_empty());
                return present == *want;
            }
            CondKind::Values { matchers, all } => (matchers, *all),
        };
        if self.field.is_empty() {
            let one = |m: &Matcher| ev.iter().any(|(_, v)| m.matches(v, ev));
            return if all {
                matchers.iter().all(one)
            } else {
                matchers.iter().any(one)
            };
        }
        let values = ev.get_lower(&self.field);
        let one = |m: &Matcher| match values {
            None => matches!(m, Matcher::Null),
            Some(vals) => {
                if matches!(m, Matcher::Null) && vals.is_empty() {
                    return true;
                }
                vals.iter().any(|v| m.matches(v, ev))
            }
        };
        if all {
            matchers.iter().all(one)
        } else {
            matchers.iter().any(one)
        }
    }
}

/// A named search identifier of the `detection` section.
#[derive(Debug, Clone)]
pub enum Search {
    /// A map: all its conditions must hold.
    And(Vec<FieldCond>),
    /// A list of maps or keyword groups: any must hold.
    Or(Vec<Search>),
}

impl Search {
    /// Evaluates against an event.
    pub fn eval(&self, ev: &EventView) -> bool {
        match self {
            Search::And(conds) => conds.iter().all(|c| c.eval(ev)),
            Search::Or(items) => items.iter().any(|s| s.eval(ev)),
        }
    }
}

/// A compiled condition over search indices.
#[derive(Debug, Clone)]
pub enum Expr {
    /// A search.
    Ref(usize),
    /// Negation.
    Not(Box<Expr>),
    /// Conjunction.
    And(Vec<Expr>),
    /// Disjunction.
    Or(Vec<Expr>),
    /// A constant (e.g. `1 of` an empty set is false).
    Const(bool),
}

impl Expr {
    /// Evaluates with short-circuiting.
    pub fn eval(&self, searches: &[Search], ev: &EventView) -> bool {
        match self {
            Expr::Ref(i) => searches.get(*i).is_some_and(|s| s.eval(ev)),
            Expr::Not(e) => !e.eval(searches, ev),
            Expr::And(es) => es.iter().all(|e| e.eval(searches, ev)),
            Expr::Or(es) => es.iter().any(|e| e.eval(searches, ev)),
            Expr::Const(b) => *b,
        }
    }
}
