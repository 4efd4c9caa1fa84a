//! Aho-Corasick prefilter. For each rule we derive, from its condition, a conjunction of
//! clauses; each clause lists (field, literal) pairs of which at least one must occur in
//! that field's lowercased value for the rule to possibly match (field "" = any field,
//! for keyword searches). Per event, one automaton per field runs over the field's
//! values; rules with an unsatisfied clause are skipped without evaluation. Rules without
//! such a guarantee (negations only, regexes, null checks, ...) are always evaluated.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::event::{EventView, FxMap};
use crate::sigma::compile::CompiledRule;
use crate::sigma::eval::{CondKind, Expr, FieldCond, Matcher, Search};

/// (lowercased field, lowercased literal)
type Lit = (String, String);
/// At least one literal must be present.
type Clause = Vec<Lit>;
/// All clauses must hold; `None` = no guarantee.
type Cnf = Option<Vec<Clause>>;

const MAX_CLAUSES: usize = 4;

/// Fields with at most this many literals get a full DFA: about twice as fast to scan as the
/// default NFA (PowerShell script blocks: 5.5 → 3.4 ns per byte) for about 33 MB more with the
/// SigmaHQ Windows rules (`ScriptBlockText`'s 1,082 literals take 6 MB). Larger sets
/// (`Hashes`, `CommandLine`) stay NFAs, whose DFAs would take tens of MB each.
const DFA_MAX_PATTERNS: usize = 1_200;

/// Joins the values an automaton scans in one call; no literal of it contains this byte,
/// so no match can span two values (checked when the automaton is built).
const JOIN: char = '\0';

fn clause_score(c: &Clause) -> (usize, std::cmp::Reverse<usize>) {
    let min = c.iter().map(|l| l.1.len()).min().unwrap_or(usize::MAX);
    (min, std::cmp::Reverse(c.len()))
}

fn best_clause(cnf: &[Clause]) -> Option<&Clause> {
    cnf.iter().max_by_key(|c| clause_score(c))
}

fn and(parts: impl Iterator<Item = Cnf>) -> Cnf {
    let mut out: Vec<Clause> = parts.flatten().flatten().collect();
    if out.is_empty() {
        return None;
    }
    out.sort_by_key(|c| std::cmp::Reverse(clause_score(c)));
    out.truncate(MAX_CLAUSES);
    Some(out)
}

fn or(parts: impl Iterator<Item = Cnf>) -> Cnf {
    let mut clause = Vec::new();
    for p in parts {
        let p = p?;
        clause.extend(best_clause(&p)?.iter().cloned());
    }
    Some(vec![clause])
}

fn cond_cnf(c: &FieldCond) -> Cnf {
    let CondKind::Values { matchers, all } = &c.kind else {
        return None;
    };
    // The literals one of which a matcher needs.
    let lits = |m: &Matcher| -> Option<Clause> {
        match m {
            Matcher::Str(s) => s.required_literal().map(|l| vec![(c.field.clone(), l)]),
            Matcher::AnyContains { lits, .. } => lits
                .iter()
                .map(|l| {
                    (!l.is_empty() && l.is_ascii())
                        .then(|| (c.field.clone(), l.to_ascii_lowercase()))
                })
                .collect(),
            _ => None,
        }
    };
    if *all {
        and(matchers.iter().map(|m| lits(m).map(|l| vec![l])))
    } else {
        let clause: Option<Vec<Clause>> = matchers.iter().map(lits).collect();
        clause.map(|cs| vec![cs.into_iter().flatten().collect()])
    }
}

fn search_cnf(s: &Search) -> Cnf {
    match s {
        Search::And(conds) => and(conds.iter().map(cond_cnf)),
        Search::Or(items) => or(items.iter().map(search_cnf)),
    }
}

fn expr_cnf(e: &Expr, searches: &[Search]) -> Cnf {
    match e {
        Expr::Ref(i) => searches.get(*i).and_then(search_cnf),
        Expr::Not(_) | Expr::Const(true) => None,
        Expr::And(es) => and(es.iter().map(|e| expr_cnf(e, searches))),
        Expr::Or(es) => or(es.iter().map(|e| expr_cnf(e, searches))),
        Expr::Const(false) => Some(vec![Vec::new()]),
    }
}

/// One automaton and the literal id of each of its patterns.
#[derive(Debug, Clone)]
struct Automaton {
    ac: AhoCorasick,
    ids: Vec<u32>,
    /// The shortest literal: a shorter value cannot hold any.
    min_len: usize,
    /// Whether no literal contains [`JOIN`] (values may then be scanned joined by it).
    joinable: bool,
}

impl Automaton {
    fn build(patterns: Vec<(String, u32)>) -> Option<Self> {
        let (lits, ids): (Vec<String>, Vec<u32>) = patterns.into_iter().unzip();
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind((lits.len() <= DFA_MAX_PATTERNS).then_some(AhoCorasickKind::DFA))
            .build(&lits)
            .ok()?;
        Some(Automaton {
            ac,
            ids,
            min_len: lits.iter().map(String::len).min().unwrap_or(0),
            joinable: !lits.iter().any(|l| l.contains(JOIN)),
        })
    }

    fn scan(&self, text: &str, bits: &mut [u64]) {
        if text.len() < self.min_len {
            return;
        }
        for m in self.ac.find_overlapping_iter(text) {
            if let Some(&id) = self.ids.get(m.pattern().as_usize()) {
                let id = id as usize;
                if let Some(w) = bits.get_mut(id / 64) {
                    *w |= 1 << (id % 64);
                }
            }
        }
    }
}

/// The compiled prefilter of a ruleset.
#[derive(Debug, Clone)]
pub struct Prefilter {
    by_field: FxMap<String, Automaton>,
    /// [`EventView::name_bit`] of every field in `by_field`: most of an event's fields have
    /// no automaton, and a clear bit says so without hashing the name.
    field_bits: u64,
    any_field: Option<Automaton>,
    words: usize,
    /// Per rule: where its clauses start in `cnf`, or [`ALWAYS`] (no literal guarantee).
    starts: Vec<u32>,
    /// Every rule's clauses in one array (rules that share a route are checked one after
    /// another, so their clauses are read from neighbouring memory): the clause count, then
    /// per clause its literal count and literal ids, each clause needing one present.
    cnf: Vec<u32>,
}

/// A rule without literal guarantee: always evaluated.
const ALWAYS: u32 = u32::MAX;

/// Lays the rules' clauses out as [`Prefilter::cnf`] wants them.
fn flatten(reqs: &[Option<Vec<Vec<u32>>>]) -> (Vec<u32>, Vec<u32>) {
    let mut starts = Vec::with_capacity(reqs.len());
    let mut cnf = Vec::new();
    for r in reqs {
        match r {
            Some(clauses) if cnf.len() < ALWAYS as usize => {
                starts.push(cnf.len() as u32);
                cnf.push(clauses.len() as u32);
                for c in clauses {
                    cnf.push(c.len() as u32);
                    cnf.extend_from_slice(c);
                }
            }
            _ => starts.push(ALWAYS),
        }
    }
    (starts, cnf)
}

/// Literals found in one event.
#[derive(Debug, Clone)]
pub struct Found(Vec<u64>);

impl Found {
    #[inline]
    fn has(&self, id: u32) -> bool {
        let id = id as usize;
        self.0
            .get(id / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }
}

impl Prefilter {
    /// Builds the prefilter for the rules.
    pub fn new(rules: &[CompiledRule]) -> Self {
        let mut index: HashMap<Lit, u32> = HashMap::new();
        let mut reqs = Vec::with_capacity(rules.len());
        for r in rules {
            let cnf = expr_cnf(&r.cond, &r.searches);
            reqs.push(cnf.map(|clauses| {
                clauses
                    .into_iter()
                    .map(|c| {
                        let mut ids: Vec<u32> = c
                            .into_iter()
                            .map(|l| {
                                let n = index.len() as u32;
                                *index.entry(l).or_insert(n)
                            })
                            .collect();
                        ids.sort_unstable();
                        ids.dedup();
                        ids
                    })
                    .collect()
            }));
        }
        let mut per_field: HashMap<String, Vec<(String, u32)>> = HashMap::new();
        for ((field, lit), id) in &index {
            per_field
                .entry(field.clone())
                .or_default()
                .push((lit.clone(), *id));
        }
        // Keyword literals (any field) also go into every field's automaton, so that each
        // value is scanned once: by its field's automaton, or by the keyword one when its
        // field has none.
        let keywords = per_field.remove("").unwrap_or_default();
        for pats in per_field.values_mut() {
            pats.extend(keywords.iter().cloned());
        }
        let mut ok = true;
        let any_field = if keywords.is_empty() {
            None
        } else {
            let a = Automaton::build(keywords);
            ok = a.is_some();
            a
        };
        let mut by_field = FxMap::default();
        for (f, pats) in per_field {
            match Automaton::build(pats) {
                Some(a) => {
                    by_field.insert(f, a);
                }
                None => ok = false,
            }
        }
        if !ok {
            // An automaton failed to build: never skip anything.
            reqs.iter_mut().for_each(|r| *r = None);
        }
        let (starts, cnf) = flatten(&reqs);
        Prefilter {
            field_bits: by_field.keys().fold(0, |m, f| m | EventView::name_bit(f)),
            by_field,
            any_field,
            words: index.len().div_ceil(64),
            starts,
            cnf,
        }
    }

    /// Heap bytes used by the automata.
    pub fn memory_usage(&self) -> usize {
        self.by_field
            .values()
            .chain(self.any_field.as_ref())
            .map(|a| a.ac.memory_usage() + a.ids.len() * 4)
            .sum()
    }

    /// Number of rules that can be skipped by the prefilter.
    pub fn guarded_rules(&self) -> usize {
        self.starts.iter().filter(|s| **s != ALWAYS).count()
    }

    /// Runs the automata over the values of the event.
    pub fn scan(&self, ev: &EventView) -> Found {
        let mut bits = vec![0u64; self.words];
        // The values of fields without an automaton of their own are scanned for the keyword
        // literals in one call: an event has a dozen of them, mostly short, and the cost of a
        // call is most of the cost of scanning a short value.
        let join = self.any_field.as_ref().filter(|a| a.joinable);
        let mut joined = String::with_capacity(if join.is_some() { 1024 } else { 0 });
        for (key, values) in ev.fields_lower() {
            let own = if self.field_bits & EventView::name_bit(key) != 0 {
                self.by_field.get(key)
            } else {
                None
            };
            if let Some(a) = own {
                values.iter().for_each(|v| a.scan(v.lower(), &mut bits));
            } else if join.is_some() {
                for v in values {
                    joined.push_str(v.lower());
                    joined.push(JOIN);
                }
            } else if let Some(a) = &self.any_field {
                values.iter().for_each(|v| a.scan(v.lower(), &mut bits));
            }
        }
        if let Some(a) = join {
            a.scan(&joined, &mut bits);
        }
        Found(bits)
    }

    /// Whether rule `i` has literals to check (otherwise it may always match).
    #[inline]
    pub fn needs_scan(&self, i: usize) -> bool {
        self.starts.get(i).is_some_and(|s| *s != ALWAYS)
    }

    /// Whether rule `i` may match given the literals found.
    #[inline]
    pub fn may_match(&self, i: usize, found: &Found) -> bool {
        let Some(&start) = self.starts.get(i).filter(|s| **s != ALWAYS) else {
            return true;
        };
        let Some((&count, mut rest)) = self
            .cnf
            .get(start as usize..)
            .and_then(<[u32]>::split_first)
        else {
            return true;
        };
        for _ in 0..count {
            let Some((&len, after)) = rest.split_first() else {
                return true;
            };
            let Some((ids, next)) = after.split_at_checked(len as usize) else {
                return true;
            };
            if !ids.iter().any(|&id| found.has(id)) {
                return false;
            }
            rest = next;
        }
        true
    }
}
