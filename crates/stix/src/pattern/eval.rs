//! Evaluation of patterns against observations, following the OASIS `stix2-matcher`:
//!
//! * A comparison expression is evaluated per observation and per *root* object (an object of
//!   the path's type): AND intersects the sets of roots, OR unites them, so the tests joined by
//!   AND must hold for the same object.
//! * An observation with `number_observed = n` counts as n instances. Observation-level AND,
//!   FOLLOWEDBY and REPEATS need distinct instances (counted, see [`Binding`]); FOLLOWEDBY also needs the left side's latest
//!   `first_observed` ≤ the right side's earliest `last_observed`. `REPEATS n` needs n
//!   disjoint bindings; `WITHIN` needs a window of that length touching every bound
//!   observation; `START/STOP` needs every bound observation to overlap `[start, stop)`.
//! * Path steps into `*_hex` / `*_bin` properties give bytes; `*_ref(s)` steps resolve to the
//!   referenced objects of the same observation; `[*]` fans out over list elements.
//!
//! Enumeration of bindings is bounded ([`MAX_BINDINGS`] per node, [`MAX_WORK`] per call);
//! beyond that some bindings are not explored, which can only turn a match into a non-match,
//! and only for patterns and inputs far larger than real indicators and sightings.
//!
//! Two things keep the enumeration small without changing the answer ([`Need`]): only
//! whether a binding exists is asked of the root, so a node whose bindings are not combined
//! further up stops at the first; and an enclosing `WITHIN`'s window is checked on every
//! partial combination, since a binding whose part is outside the window is outside it too.
//! `REPEATS 5 TIMES` over a few hundred observations (the monitoring stream's case) thus
//! finds a match, or its absence, without listing the millions of combinations.

use std::cell::Cell;
use std::collections::BTreeSet;

use super::Observation;
use super::ast::{ObservationExpr, Qualifier};
use super::compare::any_root;

/// Most bindings kept at any node of the observation-expression tree.
pub const MAX_BINDINGS: usize = 50_000;

/// Most pair checks and search steps in one [`super::Pattern::matches`] call; beyond it the
/// remaining combinations are not explored (bounded time on hostile patterns and inputs).
pub const MAX_WORK: u64 = 20_000_000;

/// A binding: how many instances of which observations are bound, as `(observation index,
/// count)` sorted by index. The instances of one observation are interchangeable (same
/// window, same objects), so counting them is equivalent to the reference matcher's
/// enumeration of instance ids, and much smaller.
type Binding = Vec<(u32, u64)>;

pub(super) fn matches(root: &ObservationExpr, observations: &[Observation]) -> bool {
    if let ObservationExpr::Simple(c) = root {
        // The common indicator shape: one observation with any matching object suffices.
        return observations
            .iter()
            .any(|o| o.number_observed > 0 && any_root(c, o));
    }
    let ctx = Ctx {
        work: Cell::new(0),
        observations,
        intervals: observations
            .iter()
            .map(|o| (o.first_observed.unix_nanos(), o.last_observed.unix_nanos()))
            .collect(),
    };
    !ctx.bindings(
        root,
        Need {
            limit: 1,
            within: None,
        },
    )
    .is_empty()
}

/// What a node's caller needs of its bindings.
#[derive(Debug, Clone, Copy)]
struct Need {
    /// Most bindings that are of use (1 where only existence matters).
    limit: usize,
    /// The narrowest enclosing `WITHIN` (nanoseconds): every binding of use satisfies it,
    /// and so does every part of one.
    within: Option<i128>,
}

impl Need {
    /// All bindings (to be combined or filtered), under the same window.
    fn all(self) -> Need {
        Need {
            limit: MAX_BINDINGS,
            within: self.within,
        }
    }

    fn cap(self) -> usize {
        self.limit.min(MAX_BINDINGS)
    }
}

struct Ctx<'a> {
    /// Pair checks and search steps done so far; see [`MAX_WORK`].
    work: Cell<u64>,
    observations: &'a [Observation],
    intervals: Vec<(i128, i128)>,
}

impl Ctx<'_> {
    /// Counts one unit of work; false once the budget is exhausted.
    fn spend(&self) -> bool {
        let w = self.work.get() + 1;
        self.work.set(w);
        w <= MAX_WORK
    }

    fn interval(&self, obs: u32) -> (i128, i128) {
        self.intervals.get(obs as usize).copied().unwrap_or((0, 0))
    }

    fn capacity(&self, obs: u32) -> u64 {
        self.observations
            .get(obs as usize)
            .map_or(0, |o| o.number_observed)
    }

    /// The union of two bindings, if the observations have enough instances for both.
    fn combine(&self, a: &Binding, b: &Binding) -> Option<Binding> {
        let mut out = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        loop {
            match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) if x.0 == y.0 => {
                    let n = x.1.checked_add(y.1)?;
                    if n > self.capacity(x.0) {
                        return None;
                    }
                    out.push((x.0, n));
                    i += 1;
                    j += 1;
                }
                (Some(x), Some(y)) if x.0 < y.0 => {
                    out.push(*x);
                    i += 1;
                }
                (Some(_), Some(y)) | (None, Some(y)) => {
                    out.push(*y);
                    j += 1;
                }
                (Some(x), None) => {
                    out.push(*x);
                    i += 1;
                }
                (None, None) => return Some(out),
            }
        }
    }

    /// True when the binding fits the enclosing window, if any.
    fn fits(&self, b: &Binding, need: Need) -> bool {
        need.within.is_none_or(|d| self.within(b, d))
    }

    fn bindings(&self, e: &ObservationExpr, need: Need) -> Vec<Binding> {
        match e {
            ObservationExpr::Simple(c) => self
                .observations
                .iter()
                .enumerate()
                .filter(|(_, o)| o.number_observed > 0 && any_root(c, o))
                .take(need.cap())
                .map(|(idx, _)| vec![(idx as u32, 1)])
                .collect(),
            ObservationExpr::Or(a, b) => {
                let mut set: BTreeSet<Binding> = self.bindings(a, need).into_iter().collect();
                if set.len() < need.cap() {
                    for x in self.bindings(b, need) {
                        if set.len() >= need.cap() {
                            break;
                        }
                        set.insert(x);
                    }
                }
                set.into_iter().collect()
            }
            ObservationExpr::And(a, b) => {
                let (l, r) = (self.bindings(a, need.all()), self.bindings(b, need.all()));
                self.join(&l, &r, need, |_, _| true)
            }
            ObservationExpr::FollowedBy(a, b) => {
                let (l, r) = (self.bindings(a, need.all()), self.bindings(b, need.all()));
                self.join(&l, &r, need, |x, y| {
                    let latest_first = x.iter().map(|i| self.interval(i.0).0).max();
                    let earliest_last = y.iter().map(|i| self.interval(i.0).1).min();
                    match (latest_first, earliest_last) {
                        (Some(f), Some(l)) => f <= l,
                        _ => true,
                    }
                })
            }
            ObservationExpr::Qualified(inner, q) => {
                match q {
                    Qualifier::Repeats(n) => {
                        let list = self.bindings(inner, need.all());
                        self.repeats(&list, *n as usize, need)
                    }
                    Qualifier::Within(secs) => {
                        let d = (secs * 1e9) as i128;
                        // The inner bindings are all checked against the narrower window,
                        // so as many as are needed here can be asked of them.
                        let inner_need = Need {
                            limit: need.limit,
                            within: Some(need.within.map_or(d, |w| w.min(d))),
                        };
                        self.bindings(inner, inner_need)
                            .into_iter()
                            .filter(|b| self.within(b, d))
                            .collect()
                    }
                    Qualifier::StartStop(start, stop) => {
                        let (s, t) = (start.unix_nanos(), stop.unix_nanos());
                        if s >= t {
                            return Vec::new();
                        }
                        self.bindings(inner, need.all())
                            .into_iter()
                            .filter(|b| {
                                b.iter().all(|i| {
                                    let (f, l) = self.interval(i.0);
                                    if t == f {
                                        false
                                    } else {
                                        l == s || (f <= t && s <= l)
                                    }
                                })
                            })
                            .take(need.cap())
                            .collect()
                    }
                }
            }
        }
    }

    fn join(
        &self,
        l: &[Binding],
        r: &[Binding],
        need: Need,
        ok: impl Fn(&Binding, &Binding) -> bool,
    ) -> Vec<Binding> {
        let mut set = BTreeSet::new();
        'outer: for x in l {
            for y in r {
                if set.len() >= need.cap() || !self.spend() {
                    break 'outer;
                }
                if ok(x, y)
                    && let Some(u) = self.combine(x, y)
                    && self.fits(&u, need)
                {
                    set.insert(u);
                }
            }
        }
        set.into_iter().collect()
    }

    /// `REPEATS n` when one binding is all that is wanted and each binding is one instance of
    /// one observation (a `[…]` over a stream of events): `n` instances, an observation used
    /// at most as often as it was observed, within the window. Exact in O(k²) for k
    /// observations: if such instances exist, the observation among them that ends first
    /// (the anchor) has every other ending no earlier and starting within the window of its
    /// end, so trying each observation as the anchor with everything that qualifies finds
    /// them.
    fn repeats_of_single(
        &self,
        list: &[Binding],
        n: usize,
        within: Option<i128>,
    ) -> Option<Binding> {
        let mut obs: Vec<u32> = list.iter().filter_map(|b| b.first().map(|x| x.0)).collect();
        obs.sort_unstable();
        obs.dedup();
        let want = n as u64;
        let anchors: Vec<Option<u32>> = match within {
            None => vec![None],
            Some(_) => obs.iter().copied().map(Some).collect(),
        };
        for anchor in anchors {
            if !self.spend() {
                return None;
            }
            let mut picked: Binding = Vec::new();
            let mut total = 0u64;
            for &o in &obs {
                if let (Some(a), Some(d)) = (anchor, within) {
                    let (_, anchor_last) = self.interval(a);
                    let (first, last) = self.interval(o);
                    if last < anchor_last || first > anchor_last.saturating_add(d) {
                        continue;
                    }
                }
                let take = self.capacity(o).min(want - total);
                if take > 0 {
                    picked.push((o, take));
                    total += take;
                }
                if total >= want {
                    return Some(picked);
                }
            }
        }
        None
    }

    fn within(&self, b: &Binding, d: i128) -> bool {
        let Some(earliest_last) = b.iter().map(|i| self.interval(i.0).1).min() else {
            return true;
        };
        let end = earliest_last.saturating_add(d);
        b.iter().all(|i| self.interval(i.0).0 <= end)
    }

    /// Combinations (with repetition, as long as instances last) of `n` bindings; a partial
    /// combination outside the enclosing window is not extended.
    fn repeats(&self, list: &[Binding], n: usize, need: Need) -> Vec<Binding> {
        if n <= 1 {
            return list.iter().take(need.cap()).cloned().collect();
        }
        if need.limit == 1 && list.iter().all(|b| matches!(b.as_slice(), [(_, 1)])) {
            return self
                .repeats_of_single(list, n, need.within)
                .into_iter()
                .collect();
        }
        let mut out = BTreeSet::new();
        // Backtracking over non-decreasing indices (each frame: next index to try, the union
        // so far); the lowest index is tried first, so a binding that can simply be repeated
        // is found in n steps. Memory is O(n) frames.
        let mut frames: Vec<(usize, Binding)> = vec![(0, Vec::new())];
        loop {
            if out.len() >= need.cap() || !self.spend() {
                break;
            }
            let depth = frames.len() - 1;
            let Some((next, acc)) = frames.last_mut() else {
                break;
            };
            if depth == n {
                out.insert(acc.clone());
                frames.pop();
                continue;
            }
            let i = *next;
            let Some(candidate) = list.get(i) else {
                frames.pop();
                if frames.is_empty() {
                    break;
                }
                continue;
            };
            *next += 1;
            if let Some(u) = self.combine(acc, candidate)
                && self.fits(&u, need)
            {
                frames.push((i, u));
            }
        }
        out.into_iter().collect()
    }
}
