//! Compiles a detection document into a [`CompiledRule`]: searches, condition, route,
//! and the list of fields the rule looks at (for output).

use super::ast::{RawDoc, RuleMeta};
use super::condition::{parse_condition, resolve};
use super::eval::{CondKind, Expr, FieldCond, Search};
use super::modifiers::{Placeholders, build_field_cond, build_keywords, parse_key};
use super::yaml::{Node, Value};
use crate::event::EventView;
use crate::mapping::{Route, route_for};

/// A compiled detection rule.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// Metadata.
    pub meta: RuleMeta,
    /// Which events it applies to.
    pub route: Route,
    /// Named searches.
    pub searches: Vec<Search>,
    /// The condition.
    pub cond: Expr,
    /// Fields referenced by the detection (original spelling, deduplicated).
    pub fields: Vec<String>,
    /// Meta filters (from filter rules) whose conditions are AND-ed to the rule's.
    pub filters: Vec<CompiledFilter>,
    /// Non-fatal problems found while compiling (line, message).
    pub warnings: Vec<(u32, String)>,
}

/// The detection part of a meta filter rule, attached to its target rules.
#[derive(Debug, Clone)]
pub struct CompiledFilter {
    /// Searches of the filter.
    pub searches: Vec<Search>,
    /// Condition of the filter.
    pub cond: Expr,
    /// Route of the filter's logsource.
    pub route: Route,
}

impl CompiledRule {
    /// Evaluates the rule against an event: its condition AND the condition of every meta
    /// filter attached to it (a filter's condition says what may still alert, e.g.
    /// `not selection`).
    pub fn matches(&self, ev: &EventView) -> bool {
        self.cond.eval(&self.searches, ev)
            && self.filters.iter().all(|f| f.cond.eval(&f.searches, ev))
    }
}

/// A compile error with its line.
#[derive(Debug, Clone)]
pub struct CompileError {
    /// Line (1-based, 0 unknown).
    pub line: u32,
    /// Message.
    pub message: String,
}

fn err(line: u32, message: impl Into<String>) -> CompileError {
    CompileError {
        line,
        message: message.into(),
    }
}

fn compile_search(
    name: &str,
    node: &Node,
    ph: &Placeholders,
    fields: &mut Vec<String>,
) -> Result<Search, CompileError> {
    let map_search = |entries: &[(String, Node)], fields: &mut Vec<String>| {
        if entries.is_empty() {
            return Err(err(node.line, format!("search '{name}' is an empty map")));
        }
        let mut conds: Vec<FieldCond> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let c = build_field_cond(k, v, ph).map_err(|m| err(v.line.max(node.line), m))?;
            if let Ok((f, _)) = parse_key(k)
                && !f.is_empty()
                && !fields.iter().any(|x| x.eq_ignore_ascii_case(&f))
            {
                fields.push(f);
            }
            if let CondKind::Values { matchers, .. } = &c.kind {
                for m in matchers {
                    if let super::eval::Matcher::FieldRef { field, .. } = m
                        && !fields.iter().any(|x| x.eq_ignore_ascii_case(field))
                    {
                        fields.push(field.clone());
                    }
                }
            }
            conds.push(c);
        }
        Ok(Search::And(conds))
    };
    match &node.value {
        Value::Map(entries) => map_search(entries, fields),
        Value::Seq(items) => {
            if items.is_empty() {
                return Err(err(node.line, format!("search '{name}' is an empty list")));
            }
            let mut alts = Vec::new();
            let mut keywords: Vec<&Node> = Vec::new();
            for it in items {
                match &it.value {
                    Value::Map(entries) => alts.push(map_search(entries, fields)?),
                    Value::Seq(_) => {
                        return Err(err(it.line, format!("search '{name}': nested list")));
                    }
                    _ => keywords.push(it),
                }
            }
            if !keywords.is_empty() {
                let c = build_keywords(&keywords, ph).map_err(|m| err(node.line, m))?;
                alts.push(Search::And(vec![c]));
            }
            Ok(if alts.len() == 1 {
                alts.remove(0)
            } else {
                Search::Or(alts)
            })
        }
        Value::Null => Err(err(node.line, format!("search '{name}' is empty"))),
        _ => {
            let c = build_keywords(&[node], ph).map_err(|m| err(node.line, m))?;
            Ok(Search::And(vec![c]))
        }
    }
}

/// Compiles the searches and condition of a `detection`-like section.
pub fn compile_detection_section(
    det: &Node,
    ph: &Placeholders,
    fields: &mut Vec<String>,
) -> Result<(Vec<Search>, Expr), CompileError> {
    let Value::Map(entries) = &det.value else {
        return Err(err(det.line, "detection must be a map"));
    };
    let mut names = Vec::new();
    let mut searches = Vec::new();
    let mut cond_node = None;
    for (k, v) in entries {
        match k.as_str() {
            "condition" => cond_node = Some(v),
            "timeframe" => {
                return Err(err(
                    v.line,
                    "'timeframe' in detection (deprecated aggregation) is unsupported; use a correlation rule",
                ));
            }
            _ => {
                searches.push(compile_search(k, v, ph, fields)?);
                names.push(k.clone());
            }
        }
    }
    let Some(cond_node) = cond_node else {
        return Err(err(det.line, "detection has no condition"));
    };
    let cond_strings: Vec<(u32, String)> = match &cond_node.value {
        Value::Seq(items) => items
            .iter()
            .map(|i| (i.line, i.as_scalar_string().unwrap_or_default()))
            .collect(),
        _ => vec![(
            cond_node.line,
            cond_node.as_scalar_string().unwrap_or_default(),
        )],
    };
    let mut exprs = Vec::new();
    for (line, c) in cond_strings {
        let ast = parse_condition(&c).map_err(|m| err(line, m))?;
        exprs.push(resolve(&ast, &names).map_err(|m| err(line, m))?);
    }
    let cond = if exprs.len() == 1 {
        exprs.remove(0)
    } else {
        Expr::Or(exprs)
    };
    Ok((searches, cond))
}

/// Route of a document's logsource.
pub fn doc_route(doc: &RawDoc) -> Route {
    let [p, c, s] = doc.logsource();
    route_for(p.as_deref(), c.as_deref(), s.as_deref())
}

/// Compiles a detection document.
pub fn compile_rule(doc: &RawDoc, ph: &Placeholders) -> Result<CompiledRule, CompileError> {
    let meta = doc.meta();
    if doc.node.get("title").is_none() {
        return Err(err(doc.line, "rule has no title"));
    }
    if doc.node.get("logsource").is_none() {
        return Err(err(doc.line, "rule has no logsource"));
    }
    let Some(det) = doc.node.get("detection") else {
        return Err(err(doc.line, "rule has no detection"));
    };
    if let Some(l) = doc.node.get("level")
        && l.as_scalar_string()
            .and_then(|s| super::ast::Level::parse(&s))
            .is_none()
    {
        return Err(err(l.line, "invalid level"));
    }
    let mut fields = Vec::new();
    let (searches, cond) = compile_detection_section(det, ph, &mut fields)?;
    let route = doc_route(doc);
    let mut warnings = placeholder_warnings(det, ph);
    if route == Route::AnyWindows {
        let [_, c, s] = doc.logsource();
        if c.is_some() || s.is_some() {
            let line = doc.node.get("logsource").map_or(doc.line, |n| n.line);
            warnings.push((
                line,
                format!(
                    "logsource {} has no known Windows channel; the rule runs on every Windows event",
                    [c.map(|c| format!("category '{c}'")), s.map(|s| format!("service '{s}'"))]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" + ")
                ),
            ));
        }
    }
    Ok(CompiledRule {
        meta,
        route,
        searches,
        cond,
        fields,
        filters: Vec::new(),
        warnings,
    })
}

/// Compiles a meta filter document; returns the filter and the rule references it targets.
pub fn compile_filter(
    doc: &RawDoc,
    ph: &Placeholders,
) -> Result<(CompiledFilter, Vec<String>), CompileError> {
    let Some(f) = doc.node.get("filter") else {
        return Err(err(doc.line, "filter rule has no 'filter' section"));
    };
    let targets = f.get("rules").map(Node::string_list).unwrap_or_default();
    if targets.is_empty() {
        return Err(err(f.line, "filter rule lists no 'rules'"));
    }
    let body = match &f.value {
        Value::Map(m) => Node {
            line: f.line,
            value: Value::Map(m.iter().filter(|(k, _)| k != "rules").cloned().collect()),
        },
        _ => return Err(err(f.line, "'filter' must be a map")),
    };
    let mut fields = Vec::new();
    let (searches, cond) = compile_detection_section(&body, ph, &mut fields)?;
    Ok((
        CompiledFilter {
            searches,
            cond,
            route: doc_route(doc),
        },
        targets,
    ))
}

/// Warnings for `expand` placeholders that have no configured values.
fn placeholder_warnings(det: &Node, ph: &Placeholders) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut visit = |key: &str, v: &Node| {
        if !key.split('|').any(|m| m == "expand") {
            return;
        }
        let vals: Vec<&Node> = match &v.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![v],
        };
        for n in vals {
            for name in n
                .as_scalar_string()
                .map(|s| super::modifiers::placeholder_names(&s))
                .unwrap_or_default()
            {
                if !ph.contains_key(&name) {
                    out.push((
                        n.line,
                        format!("placeholder %{name}% has no values (give --placeholders); it matches nothing"),
                    ));
                }
            }
        }
    };
    if let Value::Map(searches) = &det.value {
        for (_, s) in searches {
            let maps: Vec<&Node> = match &s.value {
                Value::Seq(items) => items.iter().collect(),
                _ => vec![s],
            };
            for m in maps {
                if let Value::Map(entries) = &m.value {
                    for (k, v) in entries {
                        visit(k, v);
                    }
                }
            }
        }
    }
    out
}
