//! STIX pattern indicators in the stream: each pattern is compiled once with `mamori-stix`
//! and indexed by the literals of its `=` and `IN` tests, so that an event evaluates only the
//! patterns one of whose literals is among its mapped values ([`crate::observe`]), one hash
//! lookup per value. Patterns without such a literal but with a `LIKE` operand holding a
//! literal run of at least three ASCII characters are found by one Aho-Corasick search of
//! those runs over the event's (lower-cased) values. The rest (only `MATCHES`, `>`, `NOT`, …)
//! sit in a short list (at most [`MAX_ALWAYS`]) evaluated on events that carry an object type
//! they refer to.
//!
//! Each event is one observation (`number_observed` 1, at the event's time), so a pattern is
//! evaluated per event when one observation can satisfy it: comparison expressions, `OR` of
//! observations, `WITHIN` and `START … STOP` (which then check the event's time).
//!
//! `AND` and `FOLLOWEDBY` of observations and `REPEATS n` with n > 1 need several events.
//! Those branches form the pattern's *cross-event part* ([`CrossPattern`]): each of its
//! observation expressions (`[…]`, a *leaf*) is indexed like a pattern, an event satisfying a
//! leaf is kept as an observation of the pattern (per organisation, in the store, so every
//! worker sees the same state), and the part is evaluated over the organisation's
//! observations in its window (the hub: `mamori_pipeline::process::evaluate_pattern`, at
//! commit). A part without a `WITHIN` over it is evaluated as if it had one of
//! [`BuildOptions::default_window_ms`]: that much state is what the hub keeps.
//!
//! Each pattern carries the caller's tags (the hub: the markings it came under) and key (the
//! hub: its sighting value), so the set itself knows nothing of storage or sharing.
//!
//! Literals of hash, domain-name and e-mail-address paths are lower-cased when compiled, as
//! the observation holds those values lower-cased (the hub's normalisation).

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;

use aho_corasick::AhoCorasick;

use mamori_detect::event::{EventView, FxHasher};
use mamori_stix::pattern::{
    ComparisonExpr, Literal, ObjectPath, Observation, ObservationExpr, Op, PathStep, Pattern,
    PatternError, Qualifier,
};

use crate::observe::{Observables, type_bit};

/// Most patterns or leaves without an indexable literal evaluated on every event of their
/// types; the rest are counted in [`PatternStats::over_cap`] and left out.
pub const MAX_ALWAYS: usize = 256;

/// Longest window a cross-event part is evaluated over, whatever its `WITHIN` says (the
/// observations it needs are kept that long).
pub const MAX_CROSS_WINDOW_MS: i64 = 31 * 86_400_000;

/// The window of a cross-event part without a `WITHIN` of its own, unless configured
/// ([`BuildOptions::default_window_ms`]).
pub const DEFAULT_PATTERN_WINDOW_MS: i64 = 86_400_000;

/// How a set is built.
#[derive(Debug, Clone, Copy)]
pub struct BuildOptions {
    /// [`CrossPattern::window_ms`] of parts without a `WITHIN`.
    pub default_window_ms: i64,
    /// Each pattern's key ([`PatternIndicator::key`], [`PatternSet::cross_by_key`]) from its
    /// text.
    pub key: fn(&str) -> String,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            default_window_ms: DEFAULT_PATTERN_WINDOW_MS,
            key: str::to_owned,
        }
    }
}

/// One compiled pattern indicator, evaluated per event.
#[derive(Debug)]
pub struct PatternIndicator<M> {
    /// The pattern as given.
    pub text: String,
    /// Its key ([`BuildOptions::key`]; the hub: what its sightings are recorded under).
    pub key: String,
    /// The tags it was given with (the hub: the markings of the reports and collections it
    /// came from).
    pub marks: Vec<M>,
    pattern: Pattern,
}

/// The cross-event part of a pattern indicator: its branches that only several events can
/// satisfy, evaluated over an organisation's stored observations of its leaves.
#[derive(Debug)]
pub struct CrossPattern<M> {
    /// The whole pattern as given.
    pub text: String,
    /// The whole pattern's key (the hub stores observations under it).
    pub key: String,
    /// The tags it was given with.
    pub marks: Vec<M>,
    /// The window its observations are evaluated over: the part's own `WITHIN`, else the
    /// hub's default (milliseconds, at most [`MAX_CROSS_WINDOW_MS`]).
    pub window_ms: i64,
    /// The part, under `WITHIN window_ms` when it had no `WITHIN` of its own.
    part: Pattern,
}

impl<M> CrossPattern<M> {
    /// True if the observations satisfy the cross-event part.
    pub fn matches(&self, observations: &[Observation]) -> bool {
        self.part.matches(observations)
    }
}

/// How the pattern indicators were taken in (distinct pattern texts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PatternStats {
    /// Evaluated per event through the literal index.
    pub indexed: usize,
    /// Evaluated per event, found by a literal run of a `LIKE` operand contained in an
    /// event's value.
    pub by_substring: usize,
    /// Evaluated per event on every event carrying one of their object types.
    pub always: usize,
    /// With a cross-event part evaluated over stored observations (a pattern with per-event
    /// branches too is also counted above).
    pub cross_event: usize,
    /// Nothing of it evaluated: without an indexable literal, beyond [`MAX_ALWAYS`].
    pub over_cap: usize,
    /// Not parseable.
    pub invalid: usize,
    /// Evaluated, but with branches left out (unmapped object types, over the cap).
    pub partly: usize,
    /// With both per-event branches and a cross-event part in the stream.
    pub mixed: usize,
    /// Nothing of it evaluated: referring only to object types no event maps to.
    pub unmapped: usize,
}

impl PatternStats {
    /// Patterns evaluated in the stream (per event, across events, or both).
    pub fn streamed(&self) -> usize {
        self.indexed + self.by_substring + self.always + self.cross_only()
    }

    /// Patterns not evaluated in the stream.
    pub fn skipped(&self) -> usize {
        self.over_cap + self.invalid + self.unmapped
    }

    fn cross_only(&self) -> usize {
        self.cross_event.saturating_sub(self.mixed)
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// What an index entry stands for.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// A pattern evaluated per event: an index into `list`.
    Whole(u32),
    /// A leaf of a cross-event part: an index into `leaves`.
    Leaf(u32),
}

/// One observation expression (`[…]`) of a cross-event part.
#[derive(Debug)]
struct Leaf {
    pattern: Pattern,
    /// Index into `cross`.
    cross: u32,
}

/// An indexed pattern or leaf.
#[derive(Debug)]
struct Entry {
    target: Target,
    /// The object types its tests refer to ([`type_bit`]).
    types: u32,
}

/// The pattern indicators in force.
#[derive(Debug)]
pub struct PatternSet<M> {
    list: Vec<PatternIndicator<M>>,
    cross: Vec<CrossPattern<M>>,
    leaves: Vec<Leaf>,
    entries: Vec<Entry>,
    /// Lower-cased literal → the entries it may satisfy.
    by_literal: FxMap<String, Vec<u32>>,
    /// Lower-cased literal runs of `LIKE` operands, and per run the entries it may satisfy.
    substrings: Option<AhoCorasick>,
    by_substring: Vec<Vec<u32>>,
    always: Vec<u32>,
    /// Key → index into `cross`.
    cross_by_key: HashMap<String, u32>,
    stats: PatternStats,
}

impl<M> Default for PatternSet<M> {
    fn default() -> Self {
        PatternSet {
            list: Vec::new(),
            cross: Vec::new(),
            leaves: Vec::new(),
            entries: Vec::new(),
            by_literal: FxMap::default(),
            substrings: None,
            by_substring: Vec::new(),
            always: Vec::new(),
            cross_by_key: HashMap::new(),
            stats: PatternStats::default(),
        }
    }
}

/// What an event matched: patterns (per event) and cross-event parts one of whose leaves
/// it satisfies, with the event's observation when there are such parts.
#[derive(Debug, Default)]
pub struct PatternHits {
    /// Indexes for [`PatternSet::get`].
    pub whole: Vec<u32>,
    /// Indexes for [`PatternSet::cross`].
    pub cross: Vec<u32>,
    /// The event as a STIX observation, when `cross` is not empty.
    pub observation: Option<Observation>,
}

impl PatternHits {
    pub fn is_empty(&self) -> bool {
        self.whole.is_empty() && self.cross.is_empty()
    }
}

/// What must be among an event's values for a pattern to match it.
enum Need {
    /// No single event can satisfy it.
    Never,
    /// No literal to index.
    Unindexed,
    /// One of these (lower-cased) literals.
    Any(Vec<String>),
    /// A value containing one of these (lower-cased, ASCII) runs.
    Contains(Vec<String>),
}

/// Shortest `LIKE` run worth a substring search.
const MIN_RUN: usize = 3;

/// Why part of a pattern is not evaluated.
enum Left {
    Unmapped,
    OverCap,
}

/// Collects the index while the set is built.
struct Builder<M> {
    set: PatternSet<M>,
    runs: HashMap<String, usize>,
    options: BuildOptions,
}

impl<M: Clone> Builder<M> {
    /// Indexes an entry under what it needs; false if it cannot be (over the cap, or more
    /// entries than an index holds).
    fn index(&mut self, need: Need, target: Target, types: u32) -> bool {
        let set = &mut self.set;
        if matches!(need, Need::Unindexed) && set.always.len() >= MAX_ALWAYS {
            return false;
        }
        let Ok(idx) = u32::try_from(set.entries.len()) else {
            return false;
        };
        match need {
            Need::Any(literals) => {
                for l in literals {
                    let v = set.by_literal.entry(l).or_default();
                    if v.last() != Some(&idx) {
                        v.push(idx);
                    }
                }
            }
            Need::Contains(list) => {
                for r in list {
                    let n = self.runs.len();
                    let at = *self.runs.entry(r).or_insert(n);
                    if at == set.by_substring.len() {
                        set.by_substring.push(Vec::new());
                    }
                    if let Some(v) = set.by_substring.get_mut(at)
                        && v.last() != Some(&idx)
                    {
                        v.push(idx);
                    }
                }
            }
            Need::Unindexed => set.always.push(idx),
            Need::Never => return false,
        }
        set.entries.push(Entry { target, types });
        true
    }

    /// Takes in the per-event branches of a pattern.
    fn add_whole(&mut self, text: &str, pattern: &Pattern, marking: &M) -> Result<(), Left> {
        let types = types_of(pattern.root());
        if types == 0 {
            return Err(Left::Unmapped);
        }
        let need = index_need(pattern.root());
        let kind = match &need {
            Need::Any(_) => 0,
            Need::Contains(_) => 1,
            _ => 2,
        };
        let Ok(at) = u32::try_from(self.set.list.len()) else {
            return Err(Left::OverCap);
        };
        if !self.index(need, Target::Whole(at), types) {
            return Err(Left::OverCap);
        }
        let st = &mut self.set.stats;
        match kind {
            0 => st.indexed += 1,
            1 => st.by_substring += 1,
            _ => st.always += 1,
        }
        self.set.list.push(PatternIndicator {
            key: (self.options.key)(text),
            text: text.to_owned(),
            marks: vec![marking.clone()],
            pattern: pattern.clone(),
        });
        Ok(())
    }

    /// Takes in a cross-event part: every leaf is indexed, or none is.
    fn add_cross(&mut self, text: &str, part: ObservationExpr, marking: &M) -> Result<(), Left> {
        let mut leaves: Vec<(Pattern, u32, Need)> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for leaf in leaves_of(&part) {
            let expr = ObservationExpr::Simple(leaf.clone());
            let Ok(p) = Pattern::parse(&expr.to_string()) else {
                return Err(Left::OverCap);
            };
            if !seen.insert(p.to_string()) {
                continue;
            }
            let types = types_of(p.root());
            if types == 0 {
                return Err(Left::Unmapped);
            }
            let need = index_need(p.root());
            leaves.push((p, types, need));
        }
        let unindexed = leaves
            .iter()
            .filter(|(_, _, n)| matches!(n, Need::Unindexed))
            .count();
        if self.set.always.len() + unindexed > MAX_ALWAYS {
            return Err(Left::OverCap);
        }
        let Ok(at) = u32::try_from(self.set.cross.len()) else {
            return Err(Left::OverCap);
        };
        let (window_ms, bounded) = match within_ms(&part) {
            Some(ms) => (ms, part),
            None => {
                let ms = self.options.default_window_ms.clamp(1, MAX_CROSS_WINDOW_MS);
                let secs = ms as f64 / 1000.0;
                (
                    ms,
                    ObservationExpr::Qualified(Box::new(part), Qualifier::Within(secs)),
                )
            }
        };
        // `Display` prints a pattern that parses back to an equal tree.
        let Ok(part_pattern) = Pattern::parse(&bounded.to_string()) else {
            return Err(Left::OverCap);
        };
        for (p, types, need) in leaves {
            let Ok(li) = u32::try_from(self.set.leaves.len()) else {
                return Err(Left::OverCap);
            };
            if self.index(need, Target::Leaf(li), types) {
                self.set.leaves.push(Leaf {
                    pattern: p,
                    cross: at,
                });
            }
        }
        let key = (self.options.key)(text);
        self.set.cross_by_key.insert(key.clone(), at);
        self.set.cross.push(CrossPattern {
            text: text.to_owned(),
            key,
            marks: vec![marking.clone()],
            window_ms,
            part: part_pattern,
        });
        self.set.stats.cross_event += 1;
        Ok(())
    }
}

impl<M: Clone> PatternSet<M> {
    /// Compiles and indexes the patterns, each with a tag (the hub: the marking it comes
    /// under); the same text given twice is one pattern with both tags. Keys are the texts;
    /// cross-event parts without a `WITHIN` get [`DEFAULT_PATTERN_WINDOW_MS`].
    pub fn build(items: impl IntoIterator<Item = (String, M)>) -> PatternSet<M> {
        PatternSet::build_with(items, BuildOptions::default())
    }

    /// [`PatternSet::build`] with the given options.
    pub fn build_with(
        items: impl IntoIterator<Item = (String, M)>,
        options: BuildOptions,
    ) -> PatternSet<M> {
        let mut b = Builder {
            set: PatternSet::default(),
            runs: HashMap::new(),
            options,
        };
        // Text → (index in `list`, index in `cross`) of a pattern taken in.
        let mut by_text: HashMap<String, (Option<usize>, Option<usize>)> = HashMap::new();
        let mut refused: HashSet<String> = HashSet::new();
        for (text, marking) in items {
            if let Some(&(w, c)) = by_text.get(&text) {
                if let Some(p) = w.and_then(|i| b.set.list.get_mut(i)) {
                    p.marks.push(marking.clone());
                }
                if let Some(p) = c.and_then(|i| b.set.cross.get_mut(i)) {
                    p.marks.push(marking);
                }
                continue;
            }
            if refused.contains(&text) {
                continue;
            }
            let pattern = match compile(&text) {
                Ok(p) => p,
                Err(_) => {
                    b.set.stats.invalid += 1;
                    refused.insert(text);
                    continue;
                }
            };
            let (list_len, cross_len) = (b.set.list.len(), b.set.cross.len());
            let single = !matches!(need(pattern.root()), Need::Never);
            let whole = single.then(|| b.add_whole(&text, &pattern, &marking));
            let cross = cross_part(pattern.root()).map(|part| b.add_cross(&text, part, &marking));
            let taken = |r: &Option<Result<(), Left>>| matches!(r, Some(Ok(())));
            let left = |r: &Option<Result<(), Left>>| matches!(r, Some(Err(_)));
            let st = &mut b.set.stats;
            if taken(&whole) || taken(&cross) {
                if left(&whole) || left(&cross) {
                    st.partly += 1;
                }
                if taken(&whole) && taken(&cross) {
                    st.mixed += 1;
                }
                by_text.insert(
                    text,
                    (
                        taken(&whole).then_some(list_len),
                        taken(&cross).then_some(cross_len),
                    ),
                );
                continue;
            }
            if matches!(whole, Some(Err(Left::OverCap)))
                || matches!(cross, Some(Err(Left::OverCap)))
            {
                st.over_cap += 1;
            } else {
                st.unmapped += 1;
            }
            refused.insert(text);
        }
        let mut set = b.set;
        if !b.runs.is_empty() {
            let mut list: Vec<(String, usize)> = b.runs.into_iter().collect();
            list.sort_by_key(|(_, i)| *i);
            // Built from at most the patterns' own text; a failure (size limits) leaves those
            // entries unmatched, counted as over the cap.
            match AhoCorasick::new(list.iter().map(|(r, _)| r.as_str())) {
                Ok(ac) => set.substrings = Some(ac),
                Err(_) => {
                    set.stats.over_cap += set.stats.by_substring;
                    set.stats.by_substring = 0;
                    set.by_substring.clear();
                }
            }
        }
        set
    }
}

impl<M> PatternSet<M> {
    /// How the patterns were taken in.
    pub fn stats(&self) -> PatternStats {
        self.stats
    }

    /// Patterns evaluated in the stream (per event, across events, or both).
    pub fn len(&self) -> usize {
        self.stats.streamed()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A per-event pattern by the index [`PatternSet::scan`] returned.
    pub fn get(&self, i: u32) -> Option<&PatternIndicator<M>> {
        self.list.get(i as usize)
    }

    /// A cross-event part by the index [`PatternSet::scan`] returned.
    pub fn cross(&self, i: u32) -> Option<&CrossPattern<M>> {
        self.cross.get(i as usize)
    }

    /// A cross-event part by its pattern's key.
    pub fn cross_by_key(&self, key: &str) -> Option<&CrossPattern<M>> {
        self.cross_by_key.get(key).and_then(|&i| self.cross(i))
    }

    /// The longest window of the cross-event parts in force (0 when there are none).
    pub fn longest_window_ms(&self) -> i64 {
        self.cross.iter().map(|c| c.window_ms).max().unwrap_or(0)
    }

    /// The patterns the event (observed at `ts_ms`) matches and the cross-event parts one of
    /// whose leaves it satisfies. Builds the event's observation only when some pattern or
    /// leaf is a candidate.
    pub fn scan(&self, view: &EventView, ts_ms: i64) -> PatternHits {
        let mut hits = PatternHits::default();
        if self.entries.is_empty() {
            return hits;
        }
        let obs = Observables::extract(view);
        if obs.is_empty() {
            return hits;
        }
        let mut candidates: Vec<u32> = Vec::new();
        if !self.by_literal.is_empty() {
            for k in obs.keys() {
                if let Some(v) = self.by_literal.get(k.as_ref()) {
                    candidates.extend_from_slice(v);
                }
            }
        }
        if let Some(ac) = &self.substrings {
            for k in obs.keys() {
                for m in ac.find_overlapping_iter(k.as_ref()) {
                    if let Some(v) = self.by_substring.get(m.pattern().as_usize()) {
                        candidates.extend_from_slice(v);
                    }
                }
            }
        }
        let mask = obs.mask();
        candidates.extend(self.always.iter().copied().filter(|&i| {
            self.entries
                .get(i as usize)
                .is_some_and(|e| e.types & mask != 0)
        }));
        if candidates.is_empty() {
            return hits;
        }
        candidates.sort_unstable();
        candidates.dedup();
        let observation = [obs.observation(ts_ms)];
        for i in candidates {
            match self.entries.get(i as usize).map(|e| e.target) {
                Some(Target::Whole(w))
                    if self
                        .list
                        .get(w as usize)
                        .is_some_and(|p| p.pattern.matches(&observation)) =>
                {
                    hits.whole.push(w);
                }
                Some(Target::Leaf(l)) => {
                    if let Some(leaf) = self.leaves.get(l as usize)
                        && !hits.cross.contains(&leaf.cross)
                        && leaf.pattern.matches(&observation)
                    {
                        hits.cross.push(leaf.cross);
                    }
                }
                _ => {}
            }
        }
        if !hits.cross.is_empty() {
            let [o] = observation;
            hits.observation = Some(o);
        }
        hits
    }
}

/// Parses a pattern and lower-cases the literals of paths whose values the observation holds
/// in lower case.
fn compile(text: &str) -> Result<Pattern, PatternError> {
    let p = Pattern::parse(text)?;
    let mut root = p.root().clone();
    if !lower_literals(&mut root) {
        return Ok(p);
    }
    // `Display` prints a pattern that parses back to an equal tree.
    Pattern::parse(&root.to_string())
}

fn lower_literals(e: &mut ObservationExpr) -> bool {
    match e {
        ObservationExpr::Simple(c) => lower_in_comparison(c),
        ObservationExpr::And(a, b)
        | ObservationExpr::Or(a, b)
        | ObservationExpr::FollowedBy(a, b) => {
            let x = lower_literals(a);
            lower_literals(b) || x
        }
        ObservationExpr::Qualified(inner, _) => lower_literals(inner),
    }
}

fn lower_in_comparison(c: &mut ComparisonExpr) -> bool {
    match c {
        ComparisonExpr::And(a, b) | ComparisonExpr::Or(a, b) => {
            let x = lower_in_comparison(a);
            lower_in_comparison(b) || x
        }
        ComparisonExpr::Test(t) => {
            if !case_insensitive(&t.path) {
                return false;
            }
            let mut changed = false;
            let mut lower = |l: &mut Literal| {
                if let Literal::Str(s) = l {
                    let low = s.to_lowercase();
                    if low != *s {
                        *s = low;
                        changed = true;
                    }
                }
            };
            match &mut t.op {
                Op::Eq(l) | Op::Ne(l) => lower(l),
                Op::In(list) => list.iter_mut().for_each(lower),
                _ => {}
            }
            changed
        }
    }
}

/// Hashes, domain names and e-mail addresses: values the observation holds in lower case.
fn case_insensitive(path: &ObjectPath) -> bool {
    let keys: Vec<&str> = path
        .steps
        .iter()
        .filter_map(|s| match s {
            PathStep::Key(k) => Some(k.as_str()),
            _ => None,
        })
        .collect();
    if keys.len() >= 2 && keys[keys.len() - 2] == "hashes" {
        return true;
    }
    match path.object_type.as_str() {
        "domain-name" | "email-addr" => keys == ["value"],
        "email-message" => keys.len() == 2 && keys[1] == "value",
        _ => false,
    }
}

/// The object types a pattern's tests refer to.
fn types_of(e: &ObservationExpr) -> u32 {
    fn cmp(c: &ComparisonExpr) -> u32 {
        match c {
            ComparisonExpr::And(a, b) | ComparisonExpr::Or(a, b) => cmp(a) | cmp(b),
            ComparisonExpr::Test(t) => type_bit(&t.path.object_type).unwrap_or(0),
        }
    }
    match e {
        ObservationExpr::Simple(c) => cmp(c),
        ObservationExpr::And(a, b)
        | ObservationExpr::Or(a, b)
        | ObservationExpr::FollowedBy(a, b) => types_of(a) | types_of(b),
        ObservationExpr::Qualified(inner, _) => types_of(inner),
    }
}

/// What a single event must carry to satisfy the expression.
fn need(e: &ObservationExpr) -> Need {
    match e {
        ObservationExpr::Simple(c) => cmp_need(c).map_or(Need::Unindexed, Need::Any),
        ObservationExpr::Or(a, b) => match (need(a), need(b)) {
            (Need::Never, x) | (x, Need::Never) => x,
            (Need::Any(mut x), Need::Any(y)) => {
                x.extend(y);
                Need::Any(x)
            }
            _ => Need::Unindexed,
        },
        // Two distinct observations: never one event.
        ObservationExpr::And(..) | ObservationExpr::FollowedBy(..) => Need::Never,
        ObservationExpr::Qualified(_, Qualifier::Repeats(n)) if *n > 1 => Need::Never,
        ObservationExpr::Qualified(inner, _) => need(inner),
    }
}

/// What an event must carry for the expression: its literals, else its `LIKE` runs, else
/// nothing to index.
fn index_need(e: &ObservationExpr) -> Need {
    match need(e) {
        Need::Unindexed => substring_need(e),
        n => n,
    }
}

/// Text lines that are patterns in a pattern file (one a line): trimmed, blank lines and
/// `#` comment lines skipped.
pub fn pattern_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// For a pattern without an indexable literal: the runs one of which a value must contain
/// (`=`, `IN` and `LIKE` tests), else [`Need::Unindexed`].
fn substring_need(e: &ObservationExpr) -> Need {
    match e {
        ObservationExpr::Simple(c) => cmp_runs(c).map_or(Need::Unindexed, Need::Contains),
        ObservationExpr::Or(a, b) => match (substring_need(a), substring_need(b)) {
            (Need::Never, x) | (x, Need::Never) => x,
            (Need::Contains(mut x), Need::Contains(y)) => {
                x.extend(y);
                Need::Contains(x)
            }
            _ => Need::Unindexed,
        },
        ObservationExpr::And(..) | ObservationExpr::FollowedBy(..) => Need::Never,
        ObservationExpr::Qualified(_, Qualifier::Repeats(n)) if *n > 1 => Need::Never,
        ObservationExpr::Qualified(inner, _) => substring_need(inner),
    }
}

fn cmp_runs(c: &ComparisonExpr) -> Option<Vec<String>> {
    match c {
        ComparisonExpr::Test(t) if !t.negated => match &t.op {
            Op::Like(r) => {
                // `%` and `_` are the only wildcards; the longest run between them must
                // appear in the value as written, so in lower case in its lower-cased form
                // (ASCII only: lower-casing elsewhere can depend on the neighbours).
                let run = r
                    .source()
                    .split(['%', '_'])
                    .max_by_key(|x| x.len())
                    .filter(|x| x.len() >= MIN_RUN && x.is_ascii())?;
                Some(vec![run.to_ascii_lowercase()])
            }
            Op::Eq(Literal::Str(_)) | Op::In(_) => {
                cmp_need(c).filter(|l| l.iter().all(|x| x.len() >= MIN_RUN))
            }
            _ => None,
        },
        ComparisonExpr::Test(_) => None,
        ComparisonExpr::And(a, b) => match (cmp_runs(a), cmp_runs(b)) {
            (Some(x), Some(y)) => Some(if y.len() < x.len() { y } else { x }),
            (x, None) | (None, x) => x,
        },
        ComparisonExpr::Or(a, b) => {
            let mut x = cmp_runs(a)?;
            x.extend(cmp_runs(b)?);
            Some(x)
        }
    }
}

/// The literals one of which a comparison's match implies among the values; `None` when
/// there is no such set.
fn cmp_need(c: &ComparisonExpr) -> Option<Vec<String>> {
    match c {
        ComparisonExpr::Test(t) if !t.negated => match &t.op {
            Op::Eq(Literal::Str(s)) => Some(vec![s.to_lowercase()]),
            Op::In(list) => list
                .iter()
                .map(|l| match l {
                    Literal::Str(s) => Some(s.to_lowercase()),
                    _ => None,
                })
                .collect(),
            _ => None,
        },
        ComparisonExpr::Test(_) => None,
        // Both must hold: either side's literals will do; take the smaller set.
        ComparisonExpr::And(a, b) => match (cmp_need(a), cmp_need(b)) {
            (Some(x), Some(y)) => Some(if y.len() < x.len() { y } else { x }),
            (x, None) | (None, x) => x,
        },
        ComparisonExpr::Or(a, b) => {
            let mut x = cmp_need(a)?;
            x.extend(cmp_need(b)?);
            Some(x)
        }
    }
}

/// The branches of a pattern only several events satisfy (`AND`, `FOLLOWEDBY`, `REPEATS n`
/// with n > 1), with the qualifiers above them; `None` when every branch is per event.
fn cross_part(e: &ObservationExpr) -> Option<ObservationExpr> {
    match e {
        ObservationExpr::Simple(_) => None,
        ObservationExpr::Or(a, b) => match (cross_part(a), cross_part(b)) {
            (Some(x), Some(y)) => Some(ObservationExpr::Or(Box::new(x), Box::new(y))),
            (x, None) | (None, x) => x,
        },
        ObservationExpr::And(..) | ObservationExpr::FollowedBy(..) => Some(e.clone()),
        ObservationExpr::Qualified(_, Qualifier::Repeats(n)) if *n > 1 => Some(e.clone()),
        ObservationExpr::Qualified(inner, q) => {
            cross_part(inner).map(|x| ObservationExpr::Qualified(Box::new(x), q.clone()))
        }
    }
}

/// The comparison expressions (`[…]`) of an observation expression.
fn leaves_of(e: &ObservationExpr) -> Vec<&ComparisonExpr> {
    fn walk<'a>(e: &'a ObservationExpr, out: &mut Vec<&'a ComparisonExpr>) {
        match e {
            ObservationExpr::Simple(c) => out.push(c),
            ObservationExpr::And(a, b)
            | ObservationExpr::Or(a, b)
            | ObservationExpr::FollowedBy(a, b) => {
                walk(a, out);
                walk(b, out);
            }
            ObservationExpr::Qualified(inner, _) => walk(inner, out),
        }
    }
    let mut out = Vec::new();
    walk(e, &mut out);
    out
}

/// The `WITHIN` that bounds every binding of the expression (milliseconds, rounded up), if
/// any: a qualifier over it, or over every branch of an `OR`.
fn within_ms(e: &ObservationExpr) -> Option<i64> {
    match e {
        ObservationExpr::Qualified(_, Qualifier::Within(secs)) => {
            // A finite positive number of seconds (the parser's rule); beyond the cap it is
            // the cap.
            let ms = (secs * 1000.0).ceil();
            Some(if ms.is_finite() && ms < MAX_CROSS_WINDOW_MS as f64 {
                (ms as i64).max(1)
            } else {
                MAX_CROSS_WINDOW_MS
            })
        }
        ObservationExpr::Qualified(inner, _) => within_ms(inner),
        ObservationExpr::Or(a, b) => Some(within_ms(a)?.max(within_ms(b)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The tag the tests give every pattern.
    fn marking() -> &'static str {
        "green"
    }

    fn set(patterns: &[&str]) -> PatternSet<&'static str> {
        PatternSet::build(patterns.iter().map(|p| ((*p).to_owned(), marking())))
    }

    fn view(fields: &[(&str, &str)]) -> EventView {
        let mut v = EventView::new();
        for (k, x) in fields {
            v.push_str(k, x);
        }
        v
    }

    fn texts(s: &PatternSet<&'static str>, hits: &[u32]) -> Vec<String> {
        hits.iter()
            .map(|&i| s.get(i).unwrap().text.clone())
            .collect()
    }

    #[test]
    fn index_and_classification() {
        let s = set(&[
            "[ipv4-addr:value = '198.51.100.7']",
            "[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 443]",
            "[url:value LIKE '%/evil/%']",
            "[file:hashes.'MD5' IN ('D41D8CD98F00B204E9800998ECF8427E', '0cc175b9c0f1b6a831c399e269772661')]",
            "[ipv4-addr:value = '1.1.1.1'] AND [domain-name:value = 'x.example']",
            "[ipv4-addr:value = '2.2.2.2'] OR ([file:name = 'a'] FOLLOWEDBY [file:name = 'b'])",
            "[domain-name:value = 'x.example'] REPEATS 2 TIMES",
            "[artifact:mime_type = 'x']",
            "[not a pattern",
            "[ipv4-addr:value = '198.51.100.7']",
        ]);
        let st = s.stats();
        assert_eq!(st.indexed, 4);
        assert_eq!((st.by_substring, st.always), (1, 0));
        assert_eq!(st.invalid, 1);
        // The AND, the REPEATS, and the FOLLOWEDBY branch of the OR (whose other branch is
        // per event: both parts are evaluated).
        assert_eq!((st.cross_event, st.mixed, st.partly), (3, 1, 0));
        assert_eq!(st.unmapped, 1);
        assert_eq!(s.len(), 7);
        assert_eq!(s.stats().skipped(), 2);
        assert_eq!(s.by_literal["198.51.100.7"].len(), 2);
        // The second pattern's AND picks one literal side: the address, not the port.
        assert!(!s.by_literal.contains_key("443"));
        assert!(
            s.by_literal
                .contains_key("d41d8cd98f00b204e9800998ecf8427e")
        );
    }

    #[test]
    fn events_match_only_their_patterns() {
        let s = set(&[
            "[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 443]",
            "[url:value LIKE '%/evil/%']",
            "[file:hashes.'SHA-256' = 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855']",
            "[domain-name:value = 'X.Example'] START t'2020-01-01T00:00:00Z' STOP t'2030-01-01T00:00:00Z'",
        ]);
        let mut net = view(&[
            ("source.ip", "192.0.2.1"),
            ("destination.ip", "198.51.100.7"),
        ]);
        net.push(
            "destination.port",
            mamori_detect::event::FieldValue::new("443", mamori_detect::event::ValueKind::Num),
        );
        assert_eq!(texts(&s, &s.scan(&net, 0).whole).len(), 1);
        let mut other_port = view(&[("destination.ip", "198.51.100.7")]);
        other_port.push_str("destination.port", "80");
        assert!(s.scan(&other_port, 0).is_empty());
        let web = view(&[("url.full", "http://a.example/evil/x.bin")]);
        assert_eq!(
            texts(&s, &s.scan(&web, 0).whole),
            ["[url:value LIKE '%/evil/%']"]
        );
        let file = view(&[(
            "file.hash.sha256",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        )]);
        assert_eq!(s.scan(&file, 0).whole.len(), 1);
        let dns = view(&[("dns.question.name", "x.EXAMPLE")]);
        let in_window = 1_700_000_000_000;
        assert_eq!(s.scan(&dns, in_window).whole.len(), 1);
        assert!(s.scan(&dns, 0).is_empty(), "outside START/STOP");
        assert!(s.scan(&view(&[("message", "198.51.100.7")]), 0).is_empty());
    }

    #[test]
    fn cross_event_parts_and_their_leaves() {
        let and = "[ipv4-addr:value = '198.51.100.7'] AND [domain-name:value = 'X.example']";
        let seq = "([url:value LIKE '%/stage1/%'] FOLLOWEDBY [url:value LIKE '%/stage2/%']) \
                   WITHIN 300 SECONDS";
        let mixed = "[ipv4-addr:value = '203.0.113.5'] OR ([file:name = 'a.exe'] REPEATS 3 TIMES)";
        let s = PatternSet::build_with(
            [and, seq, mixed].map(|p| (p.to_owned(), marking())),
            BuildOptions {
                default_window_ms: 3_600_000,
                key: |t| format!("key:{t}"),
            },
        );
        assert_eq!((s.stats().cross_event, s.stats().mixed), (3, 1));
        let by = |p: &str| s.cross_by_key(&format!("key:{p}")).unwrap();
        // No WITHIN: the default window is put over the part; WITHIN 300 s stays.
        assert_eq!(by(and).window_ms, 3_600_000);
        assert_eq!(by(seq).window_ms, 300_000);
        assert_eq!(s.longest_window_ms(), 3_600_000);

        // One event satisfies one leaf: it is an observation of the part, not a match.
        let ip = view(&[("destination.ip", "198.51.100.7")]);
        let h = s.scan(&ip, 1_000);
        assert!(h.whole.is_empty());
        assert_eq!(h.cross.len(), 1);
        let o = h.observation.unwrap();
        let dns = view(&[("dns.question.name", "x.example")]);
        let d = s.scan(&dns, 2_000).observation.unwrap();
        let part = s.cross(h.cross[0]).unwrap();
        assert!(!part.matches(std::slice::from_ref(&o)));
        assert!(part.matches(&[o.clone(), d.clone()]));
        // Beyond the window, no match.
        let late = s.scan(&dns, 1_000 + 3_600_001).observation.unwrap();
        assert!(!part.matches(&[o, late]));

        // The sequence's leaves are found by their LIKE runs; order matters.
        let url = |u: &str, t: i64| s.scan(&view(&[("url.full", u)]), t);
        let one = url("http://a.test/stage1/x", 10_000);
        let two = url("http://a.test/stage2/y", 20_000);
        let seq_part = by(seq);
        let (a, b) = (one.observation.unwrap(), two.observation.unwrap());
        assert!(seq_part.matches(&[a.clone(), b.clone()]));
        let early = url("http://a.test/stage2/y", 5_000).observation.unwrap();
        assert!(!seq_part.matches(&[a, early]));

        // The mixed pattern's per-event branch still matches on its own.
        let m = s.scan(&view(&[("source.ip", "203.0.113.5")]), 0);
        assert_eq!((m.whole.len(), m.cross.len()), (1, 0));
        assert!(m.observation.is_none());
        let f = s.scan(&view(&[("file.name", "a.exe")]), 0);
        assert_eq!((f.whole.len(), f.cross.len()), (0, 1));
    }

    #[test]
    fn always_list_is_capped() {
        let many: Vec<String> = (0..MAX_ALWAYS + 3)
            .map(|i| format!("[url:value MATCHES '/p{i}/']"))
            .collect();
        let s = PatternSet::build(many.into_iter().map(|p| (p, marking())));
        assert_eq!((s.stats().always, s.stats().over_cap), (MAX_ALWAYS, 3));
    }

    #[test]
    fn like_runs_and_the_always_list() {
        let s = set(&[
            "[url:value LIKE '%/Evil/%']",
            "[url:value LIKE '%a%' OR url:value LIKE 'http://x.example/%']",
            "[url:value LIKE '%b_%']",
            "[process:pid > 4]",
        ]);
        // An OR needs a run on both sides ('a' is too short): the second is in the list.
        assert_eq!((s.stats().by_substring, s.stats().always), (1, 3));
        let hit = |url: &str| texts(&s, &s.scan(&view(&[("url.full", url)]), 0).whole);
        assert_eq!(hit("http://q.test/Evil/x"), ["[url:value LIKE '%/Evil/%']"]);
        // The run is only a filter: LIKE itself is case-sensitive.
        assert_eq!(hit("http://q.test/evil/x"), Vec::<String>::new());
        assert_eq!(hit("http://x.example/zz").len(), 1);
        assert_eq!(hit("http://bz.test/"), ["[url:value LIKE '%b_%']"]);
        let mut proc_ev = view(&[("process.name", "x")]);
        proc_ev.push(
            "process.pid",
            mamori_detect::event::FieldValue::new("9", mamori_detect::event::ValueKind::Num),
        );
        assert_eq!(texts(&s, &s.scan(&proc_ev, 0).whole), ["[process:pid > 4]"]);
    }

    #[test]
    fn same_text_twice_is_one_pattern_with_both_markings() {
        let p = "[ipv4-addr:value = '203.0.113.9']";
        let s = PatternSet::build([(p.to_owned(), marking()), (p.to_owned(), marking())]);
        assert_eq!(s.len(), 1);
        assert_eq!(s.get(0).unwrap().marks.len(), 2);
        assert_eq!(s.get(0).unwrap().key, p);
    }
}
