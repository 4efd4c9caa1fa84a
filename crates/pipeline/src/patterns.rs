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
//! observations, `WITHIN` and `START … STOP` (which then check the event's time). `AND` and
//! `FOLLOWEDBY` of observations and `REPEATS n` with n > 1 need several events: those branches
//! are not evaluated in the stream, and a pattern made only of them is counted in
//! [`PatternStats::cross_event`].
//!
//! Literals of hash, domain-name and e-mail-address paths are lower-cased when compiled, as
//! the observation holds those values lower-cased (the hub's normalisation).

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;

use aho_corasick::AhoCorasick;

use mamori_detect::event::{EventView, FxHasher};
use mamori_model::Marking;
use mamori_stix::pattern::{
    ComparisonExpr, Literal, ObjectPath, ObservationExpr, Op, PathStep, Pattern, PatternError,
    Qualifier,
};
use mamori_store::reports::pattern_sighting_value;

use crate::observe::{Observables, type_bit};

/// Most patterns without an indexable literal evaluated on every event of their types; the
/// rest are counted in [`PatternStats::over_cap`] and left out.
pub const MAX_ALWAYS: usize = 256;

/// One compiled pattern indicator.
#[derive(Debug)]
pub struct PatternIndicator {
    /// The pattern as stored.
    pub text: String,
    /// What its sightings are recorded under (`mamori_store::reports::pattern_sighting_value`).
    pub sighting_value: String,
    /// The markings of the reports and collections it came from.
    pub marks: Vec<Marking>,
    pattern: Pattern,
    /// The object types its tests refer to ([`type_bit`]).
    types: u32,
}

/// How the pattern indicators were taken in (distinct pattern texts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PatternStats {
    /// Evaluated through the literal index.
    pub indexed: usize,
    /// Found by a literal run of a `LIKE` operand contained in an event's value.
    pub by_substring: usize,
    /// Evaluated on every event carrying one of their object types.
    pub always: usize,
    /// Without an indexable literal, beyond [`MAX_ALWAYS`]: left out.
    pub over_cap: usize,
    /// Not parseable.
    pub invalid: usize,
    /// Satisfiable only by several events: not evaluated in the stream.
    pub cross_event: usize,
    /// Evaluated per event, but with branches only several events satisfy (left out).
    pub partly: usize,
    /// Referring only to object types no event maps to.
    pub unmapped: usize,
}

impl PatternStats {
    /// Patterns evaluated in the stream.
    pub fn streamed(&self) -> usize {
        self.indexed + self.by_substring + self.always
    }

    /// Patterns not evaluated in the stream.
    pub fn skipped(&self) -> usize {
        self.over_cap + self.invalid + self.cross_event + self.unmapped
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The pattern indicators in force.
#[derive(Debug, Default)]
pub struct PatternSet {
    list: Vec<PatternIndicator>,
    /// Lower-cased literal → the patterns it may satisfy.
    by_literal: FxMap<String, Vec<u32>>,
    /// Lower-cased literal runs of `LIKE` operands, and per run the patterns it may satisfy.
    substrings: Option<AhoCorasick>,
    by_substring: Vec<Vec<u32>>,
    always: Vec<u32>,
    stats: PatternStats,
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

impl PatternSet {
    /// Compiles and indexes the patterns, each with the marking it comes under; the same text
    /// given twice is one pattern with both markings.
    pub fn build(items: impl IntoIterator<Item = (String, Marking)>) -> PatternSet {
        let mut set = PatternSet::default();
        let mut by_text: HashMap<String, usize> = HashMap::new();
        let mut refused: HashSet<String> = HashSet::new();
        let mut runs: HashMap<String, usize> = HashMap::new();
        for (text, marking) in items {
            if let Some(&i) = by_text.get(&text) {
                if let Some(p) = set.list.get_mut(i) {
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
                    set.stats.invalid += 1;
                    refused.insert(text);
                    continue;
                }
            };
            let types = types_of(pattern.root());
            let need = match need(pattern.root()) {
                Need::Unindexed => substring_need(pattern.root()),
                n => n,
            };
            if matches!(need, Need::Never) {
                set.stats.cross_event += 1;
                refused.insert(text);
                continue;
            }
            if types == 0 {
                set.stats.unmapped += 1;
                refused.insert(text);
                continue;
            }
            if matches!(need, Need::Unindexed) && set.always.len() >= MAX_ALWAYS {
                set.stats.over_cap += 1;
                refused.insert(text);
                continue;
            }
            if !fully_streamed(pattern.root()) {
                set.stats.partly += 1;
            }
            let Ok(idx) = u32::try_from(set.list.len()) else {
                set.stats.over_cap += 1;
                continue;
            };
            match need {
                Need::Any(literals) => {
                    set.stats.indexed += 1;
                    for l in literals {
                        let v = set.by_literal.entry(l).or_default();
                        if v.last() != Some(&idx) {
                            v.push(idx);
                        }
                    }
                }
                Need::Contains(list) => {
                    set.stats.by_substring += 1;
                    for r in list {
                        let n = runs.len();
                        let at = *runs.entry(r).or_insert(n);
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
                _ => {
                    set.stats.always += 1;
                    set.always.push(idx);
                }
            }
            by_text.insert(text.clone(), set.list.len());
            set.list.push(PatternIndicator {
                sighting_value: pattern_sighting_value(&text),
                text,
                marks: vec![marking],
                pattern,
                types,
            });
        }
        if !runs.is_empty() {
            let mut list: Vec<(String, usize)> = runs.into_iter().collect();
            list.sort_by_key(|(_, i)| *i);
            // Built from at most the patterns' own text; a failure (size limits) leaves those
            // patterns unmatched, counted as over the cap.
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

    /// How the patterns were taken in.
    pub fn stats(&self) -> PatternStats {
        self.stats
    }

    /// Patterns evaluated in the stream.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// A pattern by the index [`PatternSet::scan`] returned.
    pub fn get(&self, i: u32) -> Option<&PatternIndicator> {
        self.list.get(i as usize)
    }

    /// The patterns the event (observed at `ts_ms`) matches, as indexes for
    /// [`PatternSet::get`]. Builds the event's observation only when some pattern is a
    /// candidate.
    pub fn scan(&self, view: &EventView, ts_ms: i64) -> Vec<u32> {
        if self.list.is_empty() {
            return Vec::new();
        }
        let obs = Observables::extract(view);
        if obs.is_empty() {
            return Vec::new();
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
            self.list
                .get(i as usize)
                .is_some_and(|p| p.types & mask != 0)
        }));
        if candidates.is_empty() {
            return candidates;
        }
        candidates.sort_unstable();
        candidates.dedup();
        let observation = [obs.observation(ts_ms)];
        candidates.retain(|&i| {
            self.list
                .get(i as usize)
                .is_some_and(|p| p.pattern.matches(&observation))
        });
        candidates
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

/// True when every branch of the expression can be satisfied by one event.
fn fully_streamed(e: &ObservationExpr) -> bool {
    match e {
        ObservationExpr::Simple(_) => true,
        ObservationExpr::Or(a, b) => fully_streamed(a) && fully_streamed(b),
        ObservationExpr::And(..) | ObservationExpr::FollowedBy(..) => false,
        ObservationExpr::Qualified(_, Qualifier::Repeats(n)) if *n > 1 => false,
        ObservationExpr::Qualified(inner, _) => fully_streamed(inner),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use mamori_model::{OrgId, Tlp};

    fn marking() -> Marking {
        Marking {
            tlp: Tlp::Green,
            owner_org: OrgId::new(),
            sharing_group: None,
            recipients: vec![],
        }
    }

    fn set(patterns: &[&str]) -> PatternSet {
        PatternSet::build(patterns.iter().map(|p| ((*p).to_owned(), marking())))
    }

    fn view(fields: &[(&str, &str)]) -> EventView {
        let mut v = EventView::new();
        for (k, x) in fields {
            v.push_str(k, x);
        }
        v
    }

    fn texts(s: &PatternSet, hits: &[u32]) -> Vec<String> {
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
        assert_eq!(st.cross_event, 2);
        assert_eq!(st.partly, 1);
        assert_eq!(st.unmapped, 1);
        assert_eq!(s.len(), 5);
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
        assert_eq!(texts(&s, &s.scan(&net, 0)).len(), 1);
        let mut other_port = view(&[("destination.ip", "198.51.100.7")]);
        other_port.push_str("destination.port", "80");
        assert!(s.scan(&other_port, 0).is_empty());
        let web = view(&[("url.full", "http://a.example/evil/x.bin")]);
        assert_eq!(texts(&s, &s.scan(&web, 0)), ["[url:value LIKE '%/evil/%']"]);
        let file = view(&[(
            "file.hash.sha256",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        )]);
        assert_eq!(s.scan(&file, 0).len(), 1);
        let dns = view(&[("dns.question.name", "x.EXAMPLE")]);
        let in_window = 1_700_000_000_000;
        assert_eq!(s.scan(&dns, in_window).len(), 1);
        assert!(s.scan(&dns, 0).is_empty(), "outside START/STOP");
        assert!(s.scan(&view(&[("message", "198.51.100.7")]), 0).is_empty());
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
        let hit = |url: &str| texts(&s, &s.scan(&view(&[("url.full", url)]), 0));
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
        assert_eq!(texts(&s, &s.scan(&proc_ev, 0)), ["[process:pid > 4]"]);
    }

    #[test]
    fn same_text_twice_is_one_pattern_with_both_markings() {
        let p = "[ipv4-addr:value = '203.0.113.9']";
        let s = PatternSet::build([(p.to_owned(), marking()), (p.to_owned(), marking())]);
        assert_eq!(s.len(), 1);
        assert_eq!(s.get(0).unwrap().marks.len(), 2);
        assert_eq!(s.get(0).unwrap().sighting_value, p);
    }
}
