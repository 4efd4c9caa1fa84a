//! Property tests inside `[...]`: walking object paths through an observation's objects
//! (with `*_ref(s)` resolution, `*_hex`/`*_bin` decoding and `[*]` fan-out) and comparing the
//! values reached with the literal, with the type rules of `stix2-matcher`.

use std::cmp::Ordering;

use base64::Engine as _;
use serde_json::Value;

use super::Observation;
use super::ast::{ComparisonExpr, Literal, Op, PathStep, PropTest};
use super::cidr::ip_in_subnet;
use super::lexer::decode_hex;
use crate::Timestamp;

/// A value reached by walking an object path.
#[derive(Debug, Clone)]
enum Val<'a> {
    Json(&'a Value),
    Bytes(Vec<u8>),
    List(Vec<Val<'a>>),
}

pub(super) fn any_root(c: &ComparisonExpr, o: &Observation) -> bool {
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
