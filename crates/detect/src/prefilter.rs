//! Aho-Corasick prefilter: for each rule, a set of literals at least one of which must occur
//! in the (lowercased) event text for the rule to possibly match. One automaton over all
//! literals runs once per event; rules whose literals are all absent are skipped without
//! evaluation. Rules without such a guarantee (negations only, regexes, null checks, ...)
//! are always evaluated.

use aho_corasick::{AhoCorasick, MatchKind};

use crate::event::EventView;
use crate::sigma::compile::CompiledRule;
use crate::sigma::eval::{CondKind, Expr, FieldCond, Matcher, Search};

type Req = Option<Vec<String>>;

fn best(reqs: impl Iterator<Item = Req>) -> Req {
    // Prefer the alternative whose shortest literal is longest (most selective).
    reqs.flatten().max_by_key(|r| {
        let min = r.iter().map(String::len).min().unwrap_or(usize::MAX);
        (min, std::cmp::Reverse(r.len()))
    })
}

fn union(reqs: impl Iterator<Item = Req>) -> Req {
    let mut out = Vec::new();
    for r in reqs {
        out.extend(r?);
    }
    Some(out)
}

fn cond_req(c: &FieldCond) -> Req {
    let CondKind::Values { matchers, all } = &c.kind else {
        return None;
    };
    let lit = |m: &Matcher| match m {
        Matcher::Str(s) => s.required_literal().map(|l| vec![l]),
        _ => None,
    };
    if *all {
        best(matchers.iter().map(lit))
    } else {
        union(matchers.iter().map(lit))
    }
}

fn search_req(s: &Search) -> Req {
    match s {
        Search::And(conds) => best(conds.iter().map(cond_req)),
        Search::Or(items) => union(items.iter().map(search_req)),
    }
}

fn expr_req(e: &Expr, searches: &[Search]) -> Req {
    match e {
        Expr::Ref(i) => searches.get(*i).and_then(search_req),
        Expr::Not(_) => None,
        Expr::And(es) => best(es.iter().map(|e| expr_req(e, searches))),
        Expr::Or(es) => union(es.iter().map(|e| expr_req(e, searches))),
        Expr::Const(false) => Some(Vec::new()),
        Expr::Const(true) => None,
    }
}

/// The compiled prefilter of a ruleset.
#[derive(Debug, Clone)]
pub struct Prefilter {
    ac: Option<AhoCorasick>,
    words: usize,
    /// Per rule: literal ids (one must be present), or `None` = always evaluate.
    reqs: Vec<Option<Vec<u32>>>,
}

/// Literals found in one event.
#[derive(Debug, Clone)]
pub struct Found(Vec<u64>);

impl Prefilter {
    /// Builds the prefilter for the rules.
    pub fn new(rules: &[CompiledRule]) -> Self {
        let mut lits: Vec<String> = Vec::new();
        let mut index: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
        let mut reqs = Vec::with_capacity(rules.len());
        for r in rules {
            let req = expr_req(&r.cond, &r.searches).map(|ls| {
                let mut ids: Vec<u32> = ls
                    .into_iter()
                    .map(|l| {
                        *index.entry(l.clone()).or_insert_with(|| {
                            lits.push(l);
                            (lits.len() - 1) as u32
                        })
                    })
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                ids
            });
            reqs.push(req);
        }
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&lits)
            .ok();
        // Without an automaton every rule is evaluated.
        if ac.is_none() {
            reqs.iter_mut().for_each(|r| *r = None);
        }
        Prefilter {
            ac,
            words: lits.len().div_ceil(64),
            reqs,
        }
    }

    /// Number of rules that can be skipped by the prefilter.
    pub fn guarded_rules(&self) -> usize {
        self.reqs.iter().filter(|r| r.is_some()).count()
    }

    /// Runs the automaton over every value of the event.
    pub fn scan(&self, ev: &EventView) -> Found {
        let mut bits = vec![0u64; self.words];
        if let Some(ac) = &self.ac {
            for (_, v) in ev.iter() {
                for m in ac.find_overlapping_iter(v.lower.as_str()) {
                    let id = m.pattern().as_usize();
                    if let Some(w) = bits.get_mut(id / 64) {
                        *w |= 1 << (id % 64);
                    }
                }
            }
        }
        Found(bits)
    }

    /// Whether rule `i` may match given the literals found.
    #[inline]
    pub fn may_match(&self, i: usize, found: &Found) -> bool {
        match self.reqs.get(i) {
            Some(Some(ids)) => ids.iter().any(|&id| {
                let id = id as usize;
                found
                    .0
                    .get(id / 64)
                    .is_some_and(|w| w & (1 << (id % 64)) != 0)
            }),
            _ => true,
        }
    }
}
