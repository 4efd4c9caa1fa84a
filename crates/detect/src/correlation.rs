//! Sigma correlation rules (`event_count`, `value_count`, `temporal`, `temporal_ordered`)
//! evaluated over the base-rule matches of a whole hunt, grouped by `group-by` fields and
//! windowed by `timespan`.

use std::collections::{HashMap, HashSet};

use crate::event::EventView;
use crate::sigma::ast::{RawDoc, RuleMeta};
use crate::sigma::yaml::{Node, Value};
use crate::time::parse_timespan_ms;

/// Correlation type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationType {
    /// Number of matching events.
    EventCount,
    /// Number of distinct values of a field.
    ValueCount,
    /// All referenced rules matched within the timespan.
    Temporal,
    /// All referenced rules matched within the timespan, in order.
    TemporalOrdered,
}

/// What a correlation refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ref {
    /// A detection rule (index into the ruleset's rules).
    Rule(usize),
    /// Another correlation (index into the ruleset's correlations).
    Corr(usize),
}

/// Threshold condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    op: &'static str,
    n: f64,
}

impl Threshold {
    fn holds(&self, x: f64) -> bool {
        match self.op {
            "gt" => x > self.n,
            "gte" => x >= self.n,
            "lt" => x < self.n,
            "lte" => x <= self.n,
            _ => x == self.n,
        }
    }
}

/// A compiled correlation rule.
#[derive(Debug, Clone)]
pub struct Correlation {
    /// Metadata.
    pub meta: RuleMeta,
    /// Type.
    pub kind: CorrelationType,
    /// Referenced rules and correlations, in the order given.
    pub rules: Vec<Ref>,
    /// `group-by` fields (after alias resolution per rule: `per_rule[rule][i]`).
    pub group_by: Vec<String>,
    per_rule_fields: HashMap<Ref, Vec<String>>,
    value_field: Option<String>,
    /// Window length.
    pub timespan_ms: i64,
    threshold: Option<Threshold>,
    /// Whether the referenced rules also report their own matches.
    pub generate: bool,
}

/// One base match seen by a correlation.
#[derive(Debug, Clone)]
pub struct Observation {
    /// Time (ms since epoch).
    pub ts: i64,
    /// Position of the base rule in the correlation's `rules`.
    pub rule_pos: usize,
    /// Group key values.
    pub key: Vec<String>,
    /// value_count field value.
    pub value: Option<String>,
    /// Caller's identifier of the detection (e.g. index into its detection list).
    pub detection: usize,
}

/// A fired correlation.
#[derive(Debug, Clone)]
pub struct CorrelationHit {
    /// Index of the correlation.
    pub correlation: usize,
    /// Group key (`field=value`).
    pub key: Vec<(String, String)>,
    /// First and last timestamp of the window.
    pub first_ts: i64,
    /// Last timestamp.
    pub last_ts: i64,
    /// The measured count (events, distinct values, or rules).
    pub count: usize,
    /// Detections that contributed.
    pub detections: Vec<usize>,
}

fn cerr(line: u32, m: impl Into<String>) -> (u32, String) {
    (line, m.into())
}

/// Compiles a correlation document; `lookup` resolves a rule or correlation id or name.
pub fn compile_correlation(
    doc: &RawDoc,
    lookup: &dyn Fn(&str) -> Option<Ref>,
) -> Result<Correlation, (u32, String)> {
    let meta = doc.meta();
    let Some(c) = doc.node.get("correlation") else {
        return Err(cerr(doc.line, "no correlation section"));
    };
    let ty = c
        .get("type")
        .and_then(Node::as_scalar_string)
        .unwrap_or_default();
    let kind = match ty.as_str() {
        "event_count" => CorrelationType::EventCount,
        "value_count" => CorrelationType::ValueCount,
        "temporal" => CorrelationType::Temporal,
        "temporal_ordered" => CorrelationType::TemporalOrdered,
        other => {
            return Err(cerr(
                c.line,
                format!("unsupported correlation type '{other}'"),
            ));
        }
    };
    let refs = c.get("rules").map(Node::string_list).unwrap_or_default();
    if refs.is_empty() {
        return Err(cerr(c.line, "correlation lists no rules"));
    }
    let mut rules = Vec::new();
    for r in &refs {
        match lookup(r) {
            Some(i) => rules.push(i),
            None => {
                return Err(cerr(
                    c.get("rules").map_or(c.line, |n| n.line),
                    format!("correlation refers to unknown rule '{r}'"),
                ));
            }
        }
    }
    let group_by = c.get("group-by").map(Node::string_list).unwrap_or_default();
    let ts_node = c.get("timespan").or_else(|| c.get("timeframe"));
    let timespan_ms = ts_node
        .and_then(Node::as_scalar_string)
        .and_then(|s| parse_timespan_ms(&s))
        .ok_or_else(|| cerr(c.line, "correlation needs a valid timespan (e.g. 5m)"))?;
    // aliases: {alias: {rule_ref: field}}
    let mut per_rule_fields: HashMap<Ref, Vec<String>> = HashMap::new();
    let aliases = c.get("aliases");
    for &ri in &rules {
        let fields = group_by
            .iter()
            .map(|g| {
                aliases
                    .and_then(|a| a.get(g))
                    .and_then(|m| match &m.value {
                        Value::Map(entries) => entries
                            .iter()
                            .find(|(k, _)| lookup(k) == Some(ri))
                            .and_then(|(_, v)| v.as_scalar_string()),
                        _ => None,
                    })
                    .unwrap_or_else(|| g.clone())
                    .to_lowercase()
            })
            .collect();
        per_rule_fields.insert(ri, fields);
    }
    let mut threshold = None;
    let mut value_field = None;
    if let Some(cond) = c.get("condition") {
        let Value::Map(entries) = &cond.value else {
            return Err(cerr(cond.line, "correlation condition must be a map"));
        };
        for (k, v) in entries {
            match k.as_str() {
                "field" => value_field = v.as_scalar_string().map(|s| s.to_lowercase()),
                "gt" | "gte" | "lt" | "lte" | "eq" => {
                    let n = v
                        .as_scalar_string()
                        .and_then(|s| s.parse::<f64>().ok())
                        .ok_or_else(|| cerr(v.line, format!("'{k}' needs a number")))?;
                    let op = match k.as_str() {
                        "gt" => "gt",
                        "gte" => "gte",
                        "lt" => "lt",
                        "lte" => "lte",
                        _ => "eq",
                    };
                    threshold = Some(Threshold { op, n });
                }
                other => {
                    return Err(cerr(
                        v.line,
                        format!("unsupported correlation condition '{other}'"),
                    ));
                }
            }
        }
    }
    match kind {
        CorrelationType::EventCount if threshold.is_none() => {
            return Err(cerr(c.line, "event_count needs a condition"));
        }
        CorrelationType::ValueCount if threshold.is_none() || value_field.is_none() => {
            return Err(cerr(c.line, "value_count needs a condition with 'field'"));
        }
        _ => {}
    }
    let generate = c
        .get("generate")
        .or_else(|| doc.node.get("generate"))
        .is_some_and(|g| g.value == Value::Bool(true));
    Ok(Correlation {
        meta,
        kind,
        rules,
        group_by,
        per_rule_fields,
        value_field,
        timespan_ms,
        threshold,
        generate,
    })
}

impl Correlation {
    /// Builds the observation for a base match of rule `rule_idx`, if it is referenced and
    /// the event has a timestamp and the group-by fields.
    pub fn observe(
        &self,
        rule_idx: usize,
        ev: &EventView,
        detection: usize,
    ) -> Option<Observation> {
        let r = Ref::Rule(rule_idx);
        let rule_pos = self.rules.iter().position(|x| *x == r)?;
        let ts = ev.timestamp_ms?;
        let fields = self.per_rule_fields.get(&r)?;
        let mut key = Vec::with_capacity(fields.len());
        for f in fields {
            key.push(ev.get_lower(f)?.first()?.raw.to_string());
        }
        let value = match &self.value_field {
            Some(f) => Some(ev.get_lower(f)?.first()?.raw.to_string()),
            None => None,
        };
        Some(Observation {
            ts,
            rule_pos,
            key,
            value,
            detection,
        })
    }

    /// Renumbers references to correlations (after rejected ones are dropped and the rest
    /// sorted so that a correlation comes after those it refers to).
    pub fn remap_correlations(&mut self, map: &dyn Fn(usize) -> usize) {
        let m = |r: Ref| match r {
            Ref::Corr(i) => Ref::Corr(map(i)),
            other => other,
        };
        self.rules = self.rules.iter().map(|r| m(*r)).collect();
        self.per_rule_fields = std::mem::take(&mut self.per_rule_fields)
            .into_iter()
            .map(|(k, v)| (m(k), v))
            .collect();
    }

    /// Builds the observation for a hit of correlation `corr_idx` that this one refers to:
    /// group-by values come from the hit's group key.
    pub fn observe_hit(
        &self,
        corr_idx: usize,
        hit: &CorrelationHit,
        detection: usize,
    ) -> Option<Observation> {
        let r = Ref::Corr(corr_idx);
        let rule_pos = self.rules.iter().position(|x| *x == r)?;
        let fields = self.per_rule_fields.get(&r)?;
        let value_of = |f: &str| {
            hit.key
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(f))
                .map(|(_, v)| v.clone())
        };
        let key = fields
            .iter()
            .map(|f| value_of(f))
            .collect::<Option<Vec<_>>>()?;
        let value = match &self.value_field {
            Some(f) => Some(value_of(f)?),
            None => None,
        };
        Some(Observation {
            ts: hit.last_ts,
            rule_pos,
            key,
            value,
            detection,
        })
    }

    /// Evaluates over all observations (any order); `index` is this correlation's index.
    pub fn evaluate(&self, index: usize, mut obs: Vec<Observation>) -> Vec<CorrelationHit> {
        obs.sort_by_key(|o| o.ts);
        let mut groups: HashMap<Vec<String>, Vec<Observation>> = HashMap::new();
        for o in obs {
            groups.entry(o.key.clone()).or_default().push(o);
        }
        let mut keys: Vec<_> = groups.keys().cloned().collect();
        keys.sort();
        let mut hits = Vec::new();
        for k in keys {
            let Some(g) = groups.get(&k) else { continue };
            let mut start = 0;
            for end in 0..g.len() {
                while g[end].ts - g[start].ts > self.timespan_ms {
                    start += 1;
                }
                let window = &g[start..=end];
                if let Some(count) = self.fires(window) {
                    hits.push(CorrelationHit {
                        correlation: index,
                        key: self
                            .group_by
                            .iter()
                            .cloned()
                            .zip(k.iter().cloned())
                            .collect(),
                        first_ts: window[0].ts,
                        last_ts: g[end].ts,
                        count,
                        detections: window.iter().map(|o| o.detection).collect(),
                    });
                    start = end + 1;
                }
                if start > end {
                    start = end + 1;
                    if start >= g.len() {
                        break;
                    }
                }
            }
        }
        hits
    }

    fn fires(&self, w: &[Observation]) -> Option<usize> {
        let t = self.threshold;
        match self.kind {
            CorrelationType::EventCount => {
                let n = w.len();
                t.is_some_and(|t| t.holds(n as f64)).then_some(n)
            }
            CorrelationType::ValueCount => {
                let n = w
                    .iter()
                    .filter_map(|o| o.value.as_deref())
                    .collect::<HashSet<_>>()
                    .len();
                t.is_some_and(|t| t.holds(n as f64)).then_some(n)
            }
            CorrelationType::Temporal => {
                let n = w.iter().map(|o| o.rule_pos).collect::<HashSet<_>>().len();
                let ok = match t {
                    Some(t) => t.holds(n as f64),
                    None => n == self.rules.len(),
                };
                ok.then_some(n)
            }
            CorrelationType::TemporalOrdered => {
                let mut next = 0;
                for o in w {
                    if o.rule_pos == next {
                        next += 1;
                        if next == self.rules.len() {
                            return Some(next);
                        }
                    }
                }
                None
            }
        }
    }
}
