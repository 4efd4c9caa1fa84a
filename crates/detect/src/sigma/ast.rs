//! Rule documents after YAML parsing: metadata, logsource and the raw detection/correlation/
//! filter sections, with Sigma collection handling (`action: global|reset|repeat`).

use std::fmt;
use std::sync::Arc;

use super::yaml::{Node, Value};

/// Sigma severity level, ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// informational
    Informational,
    /// low
    Low,
    /// medium
    Medium,
    /// high
    High,
    /// critical
    Critical,
}

impl Level {
    /// Parses a level name (case-insensitive; `info` accepted).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "informational" | "info" => Level::Informational,
            "low" => Level::Low,
            "medium" | "med" => Level::Medium,
            "high" => Level::High,
            "critical" | "crit" => Level::Critical,
            _ => return None,
        })
    }

    /// All levels, lowest first.
    pub const ALL: [Level; 5] = [
        Level::Informational,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ];
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        })
    }
}

/// Metadata shared by detection, correlation and filter rules.
#[derive(Debug, Clone)]
pub struct RuleMeta {
    /// `id` (may be empty).
    pub id: String,
    /// `name` (used for references).
    pub name: Option<String>,
    /// `title`.
    pub title: String,
    /// `level` (medium when absent).
    pub level: Level,
    /// `status`.
    pub status: Option<String>,
    /// `tags`.
    pub tags: Vec<String>,
    /// Source file.
    pub file: Arc<str>,
    /// First line of the document.
    pub line: u32,
}

/// What kind of Sigma document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// A detection rule.
    Detection,
    /// A correlation rule.
    Correlation,
    /// A meta filter rule.
    Filter,
}

/// One rule document (collections already merged).
#[derive(Debug, Clone)]
pub struct RawDoc {
    /// The merged YAML.
    pub node: Node,
    /// Source file.
    pub file: Arc<str>,
    /// Line where the document starts.
    pub line: u32,
}

impl RawDoc {
    /// The kind of document.
    pub fn kind(&self) -> Option<DocKind> {
        if self.node.get("correlation").is_some() {
            Some(DocKind::Correlation)
        } else if self.node.get("filter").is_some() && self.node.get("detection").is_none() {
            Some(DocKind::Filter)
        } else if self.node.get("detection").is_some() {
            Some(DocKind::Detection)
        } else {
            None
        }
    }

    /// Metadata of the document.
    pub fn meta(&self) -> RuleMeta {
        let s = |k: &str| self.node.get(k).and_then(Node::as_scalar_string);
        RuleMeta {
            id: s("id").unwrap_or_default(),
            name: s("name"),
            title: s("title").unwrap_or_else(|| "(untitled)".to_owned()),
            level: s("level")
                .and_then(|l| Level::parse(&l))
                .unwrap_or(Level::Medium),
            status: s("status"),
            tags: self
                .node
                .get("tags")
                .map(Node::string_list)
                .unwrap_or_default(),
            file: self.file.clone(),
            line: self.line,
        }
    }

    /// Lowercased `logsource` product/category/service.
    pub fn logsource(&self) -> [Option<String>; 3] {
        let ls = self.node.get("logsource");
        let g = |k: &str| {
            ls.and_then(|l| l.get(k))
                .and_then(Node::as_scalar_string)
                .map(|s| s.to_lowercase())
        };
        [g("product"), g("category"), g("service")]
    }
}

/// Deep merge: entries of `over` replace or extend those of `base`.
fn merge(base: &Node, over: &Node) -> Node {
    match (&base.value, &over.value) {
        (Value::Map(b), Value::Map(o)) => {
            let mut out = b.clone();
            for (k, v) in o {
                match out.iter_mut().find(|(bk, _)| bk == k) {
                    Some((_, bv)) => *bv = merge(bv, v),
                    None => out.push((k.clone(), v.clone())),
                }
            }
            Node {
                line: over.line,
                value: Value::Map(out),
            }
        }
        _ => over.clone(),
    }
}

fn without_action(n: &Node) -> Node {
    match &n.value {
        Value::Map(m) => Node {
            line: n.line,
            value: Value::Map(m.iter().filter(|(k, _)| k != "action").cloned().collect()),
        },
        _ => n.clone(),
    }
}

/// Applies Sigma collection semantics to the documents of one file.
pub fn collect_docs(file: &Arc<str>, docs: Vec<Node>) -> Result<Vec<RawDoc>, (u32, String)> {
    let mut out = Vec::new();
    let mut global: Option<Node> = None;
    let mut previous: Option<Node> = None;
    for d in docs {
        if !matches!(d.value, Value::Map(_)) {
            return Err((d.line, "a rule document must be a map".into()));
        }
        let action = d.get("action").and_then(Node::as_scalar_string);
        let line = d.line;
        match action.as_deref() {
            Some("global") => {
                global = Some(match &global {
                    Some(g) => merge(g, &without_action(&d)),
                    None => without_action(&d),
                });
                continue;
            }
            Some("reset") => {
                global = None;
                continue;
            }
            Some("repeat") => {
                let Some(prev) = &previous else {
                    return Err((line, "'action: repeat' without a previous rule".into()));
                };
                let merged = merge(prev, &without_action(&d));
                previous = Some(merged.clone());
                out.push(RawDoc {
                    node: merged,
                    file: file.clone(),
                    line,
                });
            }
            Some(other) => return Err((line, format!("unknown collection action '{other}'"))),
            None => {
                let merged = match &global {
                    Some(g) => merge(g, &d),
                    None => d,
                };
                previous = Some(merged.clone());
                out.push(RawDoc {
                    node: merged,
                    file: file.clone(),
                    line,
                });
            }
        }
    }
    Ok(out)
}
