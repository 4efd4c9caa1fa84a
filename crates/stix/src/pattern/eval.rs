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

use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use base64::Engine as _;
use serde_json::Value;

use super::Observation;
use super::ast::{ComparisonExpr, Literal, ObservationExpr, Op, PathStep, PropTest, Qualifier};
use super::lexer::decode_hex;
use crate::Timestamp;

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
    !ctx.bindings(root).is_empty()
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

    fn bindings(&self, e: &ObservationExpr) -> Vec<Binding> {
        match e {
            ObservationExpr::Simple(c) => self
                .observations
                .iter()
                .enumerate()
                .filter(|(_, o)| o.number_observed > 0 && any_root(c, o))
                .take(MAX_BINDINGS)
                .map(|(idx, _)| vec![(idx as u32, 1)])
                .collect(),
            ObservationExpr::Or(a, b) => {
                let mut set: BTreeSet<Binding> = self.bindings(a).into_iter().collect();
                for x in self.bindings(b) {
                    if set.len() >= MAX_BINDINGS {
                        break;
                    }
                    set.insert(x);
                }
                set.into_iter().collect()
            }
            ObservationExpr::And(a, b) => {
                let (l, r) = (self.bindings(a), self.bindings(b));
                self.join(&l, &r, |_, _| true)
            }
            ObservationExpr::FollowedBy(a, b) => {
                let (l, r) = (self.bindings(a), self.bindings(b));
                self.join(&l, &r, |x, y| {
                    let latest_first = x.iter().map(|i| self.interval(i.0).0).max();
                    let earliest_last = y.iter().map(|i| self.interval(i.0).1).min();
                    match (latest_first, earliest_last) {
                        (Some(f), Some(l)) => f <= l,
                        _ => true,
                    }
                })
            }
            ObservationExpr::Qualified(inner, q) => {
                let list = self.bindings(inner);
                match q {
                    Qualifier::Repeats(n) => self.repeats(&list, *n as usize),
                    Qualifier::Within(secs) => {
                        let d = (secs * 1e9) as i128;
                        list.into_iter().filter(|b| self.within(b, d)).collect()
                    }
                    Qualifier::StartStop(start, stop) => {
                        let (s, t) = (start.unix_nanos(), stop.unix_nanos());
                        if s >= t {
                            return Vec::new();
                        }
                        list.into_iter()
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
        ok: impl Fn(&Binding, &Binding) -> bool,
    ) -> Vec<Binding> {
        let mut set = BTreeSet::new();
        'outer: for x in l {
            for y in r {
                if set.len() >= MAX_BINDINGS || !self.spend() {
                    break 'outer;
                }
                if ok(x, y)
                    && let Some(u) = self.combine(x, y)
                {
                    set.insert(u);
                }
            }
        }
        set.into_iter().collect()
    }

    fn within(&self, b: &Binding, d: i128) -> bool {
        let Some(earliest_last) = b.iter().map(|i| self.interval(i.0).1).min() else {
            return true;
        };
        let end = earliest_last.saturating_add(d);
        b.iter().all(|i| self.interval(i.0).0 <= end)
    }

    /// Combinations (with repetition, as long as instances last) of `n` bindings.
    fn repeats(&self, list: &[Binding], n: usize) -> Vec<Binding> {
        if n <= 1 {
            return list.to_vec();
        }
        let mut out = BTreeSet::new();
        // Backtracking over non-decreasing indices (each frame: next index to try, the union
        // so far); the lowest index is tried first, so a binding that can simply be repeated
        // is found in n steps. Memory is O(n) frames.
        let mut frames: Vec<(usize, Binding)> = vec![(0, Vec::new())];
        loop {
            if out.len() >= MAX_BINDINGS || !self.spend() {
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
            if let Some(u) = self.combine(acc, candidate) {
                frames.push((i, u));
            }
        }
        out.into_iter().collect()
    }
}

/// A value reached by walking an object path.
#[derive(Debug, Clone)]
enum Val<'a> {
    Json(&'a Value),
    Bytes(Vec<u8>),
    List(Vec<Val<'a>>),
}

fn any_root(c: &ComparisonExpr, o: &Observation) -> bool {
    roots(c, o).iter().any(|b| *b)
}

/// For each object of the observation, whether it satisfies `c` as a root.
fn roots(c: &ComparisonExpr, o: &Observation) -> Vec<bool> {
    match c {
        ComparisonExpr::And(a, b) => {
            let (x, y) = (roots(a, o), roots(b, o));
            x.iter().zip(y).map(|(p, q)| *p && q).collect()
        }
        ComparisonExpr::Or(a, b) => {
            let (x, y) = (roots(a, o), roots(b, o));
            x.iter().zip(y).map(|(p, q)| *p || q).collect()
        }
        ComparisonExpr::Test(t) => o
            .objects
            .values()
            .map(|obj| {
                obj.get("type").and_then(Value::as_str) == Some(t.path.object_type.as_str())
                    && test_root(t, obj, o)
            })
            .collect(),
    }
}

fn test_root(t: &PropTest, root: &Value, o: &Observation) -> bool {
    let mut vals = vec![Val::Json(root)];
    for step in &t.path.steps {
        vals = step_all(vals, step, o);
        if vals.is_empty() {
            // NOT EXISTS holds for a root object where the path leads nowhere.
            return t.op == Op::Exists && t.negated;
        }
    }
    if t.op == Op::Exists {
        return !t.negated;
    }
    vals.iter().any(|v| predicate(&t.op, v) != t.negated)
}

fn step_all<'a>(vals: Vec<Val<'a>>, step: &PathStep, o: &'a Observation) -> Vec<Val<'a>> {
    let mut out = Vec::new();
    for v in vals {
        match step {
            PathStep::Key(k) => {
                let Val::Json(Value::Object(m)) = v else {
                    continue;
                };
                let Some(x) = m.get(k) else { continue };
                let x = if k.ends_with("_hex") {
                    match x.as_str().and_then(decode_hex) {
                        Some(b) => Val::Bytes(b),
                        None => continue,
                    }
                } else if k.ends_with("_bin") {
                    match x
                        .as_str()
                        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
                    {
                        Some(b) => Val::Bytes(b),
                        None => continue,
                    }
                } else {
                    Val::Json(x)
                };
                if k.ends_with("_ref") {
                    if let Val::Json(Value::String(r)) = x {
                        out.extend(resolve(o, r).into_iter().map(Val::Json));
                    }
                } else if k.ends_with("_refs") {
                    if let Val::Json(Value::Array(a)) = x {
                        let list: Vec<Val<'a>> = a
                            .iter()
                            .filter_map(Value::as_str)
                            .flat_map(|r| resolve(o, r))
                            .map(Val::Json)
                            .collect();
                        if !list.is_empty() {
                            out.push(Val::List(list));
                        }
                    }
                } else {
                    out.push(x);
                }
            }
            PathStep::Index(i) => {
                let Ok(i) = usize::try_from(*i) else { continue };
                match v {
                    Val::Json(Value::Array(a)) => {
                        if let Some(x) = a.get(i) {
                            out.push(Val::Json(x));
                        }
                    }
                    Val::List(l) => {
                        if let Some(x) = l.into_iter().nth(i) {
                            out.push(x);
                        }
                    }
                    _ => {}
                }
            }
            PathStep::AnyIndex => match v {
                Val::Json(Value::Array(a)) => out.extend(a.iter().map(Val::Json)),
                Val::List(l) => out.extend(l),
                _ => {}
            },
        }
    }
    out
}

fn resolve<'a>(o: &'a Observation, r: &str) -> Vec<&'a Value> {
    if let Some(x) = o.objects.get(r) {
        return vec![x];
    }
    o.objects
        .values()
        .filter(|x| x.get("id").and_then(Value::as_str) == Some(r))
        .collect()
}

/// A comparable scalar.
enum Scalar<'a> {
    Int(i64),
    Float(f64),
    Str(&'a str),
    Bool(bool),
    Bytes(&'a [u8]),
    Ts(i128),
}

fn scalar<'a>(v: &'a Val<'_>) -> Option<Scalar<'a>> {
    match v {
        Val::Bytes(b) => Some(Scalar::Bytes(b)),
        Val::List(_) => None,
        Val::Json(j) => match j {
            Value::String(s) => Some(Scalar::Str(s)),
            Value::Bool(b) => Some(Scalar::Bool(*b)),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Some(Scalar::Int(i))
                } else {
                    n.as_f64().map(Scalar::Float)
                }
            }
            _ => None,
        },
    }
}

fn lit_scalar(l: &Literal) -> Scalar<'_> {
    match l {
        Literal::Str(s) => Scalar::Str(s),
        Literal::Int(i) => Scalar::Int(*i),
        Literal::Float(f) => Scalar::Float(*f),
        Literal::Bool(b) => Scalar::Bool(*b),
        Literal::Timestamp(t) => Scalar::Ts(t.unix_nanos()),
        Literal::Hex(b) | Literal::Binary(b) => Scalar::Bytes(b),
    }
}

/// Latin-1 bytes of `s`, if every character is below 256.
fn latin1(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

/// Orders a value against a literal; `None` when the types cannot be compared.
fn compare(v: &Val<'_>, lit: &Literal, allow_bool: bool) -> Option<Ordering> {
    let l = lit_scalar(lit);
    let v = scalar(v)?;
    match (v, l) {
        (Scalar::Str(s), Scalar::Ts(t)) => {
            let ts = Timestamp::parse(s).ok()?;
            Some(ts.unix_nanos().cmp(&t))
        }
        (Scalar::Int(a), Scalar::Int(b)) => Some(a.cmp(&b)),
        (Scalar::Int(a), Scalar::Float(b)) => (a as f64).partial_cmp(&b),
        (Scalar::Float(a), Scalar::Int(b)) => a.partial_cmp(&(b as f64)),
        (Scalar::Float(a), Scalar::Float(b)) => a.partial_cmp(&b),
        (Scalar::Str(a), Scalar::Str(b)) => Some(a.cmp(b)),
        (Scalar::Bytes(a), Scalar::Bytes(b)) => Some(a.cmp(b)),
        (Scalar::Bytes(a), Scalar::Str(b)) => Some(a.cmp(latin1(b)?.as_slice())),
        (Scalar::Str(a), Scalar::Bytes(b)) => Some(latin1(a)?.as_slice().cmp(b)),
        (Scalar::Bool(a), Scalar::Bool(b)) if allow_bool => Some(a.cmp(&b)),
        _ => None,
    }
}

fn equal(v: &Val<'_>, lit: &Literal) -> bool {
    compare(v, lit, true) == Some(Ordering::Equal)
}

fn predicate(op: &Op, v: &Val<'_>) -> bool {
    match op {
        Op::Eq(l) => equal(v, l),
        Op::Ne(l) => !equal(v, l),
        Op::Lt(l) => compare(v, l, false) == Some(Ordering::Less),
        Op::Le(l) => matches!(compare(v, l, false), Some(Ordering::Less | Ordering::Equal)),
        Op::Gt(l) => compare(v, l, false) == Some(Ordering::Greater),
        Op::Ge(l) => matches!(
            compare(v, l, false),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        Op::In(set) => set.iter().any(|l| equal(v, l)),
        Op::Like(r) => match v {
            Val::Json(Value::String(s)) => r.re.is_match(s),
            Val::Bytes(b) => std::str::from_utf8(b).is_ok_and(|s| r.re.is_match(s)),
            _ => false,
        },
        Op::Matches(r) => match v {
            Val::Json(Value::String(s)) => r.re.is_match(s),
            Val::Bytes(b) => r.re_bytes.as_ref().is_some_and(|re| re.is_match(b)),
            _ => false,
        },
        Op::IsSubset(net) => match v {
            Val::Json(Value::String(s)) => ip_in_subnet(s, net),
            _ => false,
        },
        Op::IsSuperset(ip) => match v {
            Val::Json(Value::String(s)) => ip_in_subnet(ip, s),
            _ => false,
        },
        Op::Exists => true,
    }
}

/// An address or CIDR block as (bits, prefix length, width).
fn parse_net(s: &str, require_prefix: bool) -> Option<(u128, u32, u32)> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => {
            if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            (a, Some(p.parse::<u32>().ok()?))
        }
        None if require_prefix => return None,
        None => (s, None),
    };
    let (bits, width) = if let Ok(v4) = addr.parse::<Ipv4Addr>() {
        (u128::from(u32::from(v4)), 32)
    } else {
        (u128::from(addr.parse::<Ipv6Addr>().ok()?), 128)
    };
    let prefix = prefix.unwrap_or(width);
    (prefix <= width).then_some((bits, prefix, width))
}

/// True if the address or block `inner` lies within the block `outer` (same IP version).
fn ip_in_subnet(inner: &str, outer: &str) -> bool {
    let (Some((ib, ip, iw)), Some((ob, op, ow))) =
        (parse_net(inner, false), parse_net(outer, true))
    else {
        return false;
    };
    if iw != ow || op > ip {
        return false;
    }
    let shift = ow - op;
    let mask = if shift >= 128 {
        0
    } else {
        (u128::MAX << shift)
            & (if ow == 32 {
                u128::from(u32::MAX)
            } else {
                u128::MAX
            })
    };
    ib & mask == ob & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets() {
        assert!(ip_in_subnet("198.51.100.7", "198.51.100.0/24"));
        assert!(!ip_in_subnet("198.51.101.7", "198.51.100.0/24"));
        assert!(ip_in_subnet("198.51.100.0/25", "198.51.100.0/24"));
        assert!(!ip_in_subnet("198.51.100.0/23", "198.51.100.0/24"));
        assert!(ip_in_subnet("10.1.2.3", "0.0.0.0/0"));
        assert!(ip_in_subnet("2001:db8::1", "2001:db8::/32"));
        assert!(!ip_in_subnet("2001:db9::1", "2001:db8::/32"));
        assert!(!ip_in_subnet("2001:db8::1", "10.0.0.0/8"));
        assert!(!ip_in_subnet("nonsense", "10.0.0.0/8"));
        assert!(!ip_in_subnet("10.0.0.1", "10.0.0.0/33"));
    }
}
