//! Local matching: a [`mamori_detect::Detector`] and a [`mamori_patterns::PatternSet`] built
//! from a local [`RuleSource`] (Sigma rule directories, an indicator file and a STIX pattern
//! file; for rules from the hub, the cache the verified bundles are written to,
//! [`crate::bundle::Cache::local_source`]), rebuilt on request (SIGHUP, or when
//! [`Fingerprint`] sees the files change). Matching events get `mamori.sensor.matches`:
//! `[{"rule", "id", "level"} | {"ioc", "kind", "field"} | {"pattern"} | {"pattern_leaf"}]`.
//! `pattern_leaf` marks an event that satisfies one `[…]` of a pattern that needs several
//! events (`AND`, `FOLLOWEDBY`, `REPEATS`): it is forwarded even with `--forward alerts`, so
//! the hub, which keeps the cross-event state, can complete the pattern.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use mamori_detect::input::json::event_from_value;
use mamori_detect::ioc::{IocHit, IocSet};
use mamori_detect::{CompiledRule, Detector, EventView, FindingSink, RulesetBuilder};
use mamori_parse::Event;
use mamori_patterns::PatternSet;
use serde_json::{Value, json};

use crate::config::RuleSource;
use crate::error::SensorError;

/// The compiled rules, indicators and patterns, or nothing to match.
#[derive(Debug, Default, Clone)]
pub struct Matcher {
    detector: Option<Arc<Detector>>,
    patterns: Option<Arc<PatternSet<()>>>,
}

/// Reads a pattern file: one STIX pattern a line, blank lines and `#` lines skipped.
fn load_patterns(path: &Path) -> Result<Option<Arc<PatternSet<()>>>, SensorError> {
    let text = std::fs::read_to_string(path).map_err(|e| SensorError::io(path, e))?;
    let set =
        PatternSet::build(mamori_patterns::set::pattern_lines(&text).map(|l| (l.to_owned(), ())));
    let st = set.stats();
    if st.invalid + st.unmapped + st.over_cap > 0 {
        tracing::warn!(
            invalid = st.invalid,
            unmapped_types = st.unmapped,
            over_cap = st.over_cap,
            "{}: some STIX patterns are not matched",
            path.display()
        );
    }
    if set.is_empty() {
        return Ok(None);
    }
    tracing::info!(
        "local matching: {} STIX patterns from {} ({} across events)",
        set.len(),
        path.display(),
        st.cross_event
    );
    Ok(Some(Arc::new(set)))
}

impl Matcher {
    /// Loads the rules, indicators and patterns of a local `source` (None when it names
    /// none).
    pub fn load(source: &RuleSource) -> Result<Self, SensorError> {
        let RuleSource::Local {
            dirs,
            ioc,
            patterns,
        } = source
        else {
            return Err(SensorError::Rules(
                "rules from the hub are matched from their local cache".into(),
            ));
        };
        let patterns = match patterns {
            Some(p) => load_patterns(p)?,
            None => None,
        };
        if dirs.is_empty() && ioc.is_none() {
            return Ok(Matcher {
                detector: None,
                patterns,
            });
        }
        let mut b = RulesetBuilder::new();
        for d in dirs {
            if !d.exists() {
                return Err(SensorError::Rules(format!(
                    "{}: no such directory",
                    d.display()
                )));
            }
            b.add_path(d);
        }
        let (ruleset, errors) = b.build();
        for e in errors.iter().take(20) {
            tracing::warn!("rules: {e}");
        }
        let detector = Detector::new(Arc::new(ruleset));
        if let Some(path) = ioc {
            let text = std::fs::read_to_string(path).map_err(|e| SensorError::io(path, e))?;
            let set = IocSet::parse(&path.display().to_string(), &text)
                .map_err(|e| SensorError::Rules(format!("{}: {e}", path.display())))?;
            detector.swap_iocs(set);
        }
        tracing::info!(
            "local matching: {} rules{}",
            detector.ruleset().rules().len(),
            ioc.as_ref()
                .map(|p| format!(", indicators from {}", p.display()))
                .unwrap_or_default()
        );
        Ok(Matcher {
            detector: Some(Arc::new(detector)),
            patterns,
        })
    }

    /// Whether there is anything to match.
    pub fn is_active(&self) -> bool {
        self.detector.is_some() || self.patterns.is_some()
    }

    /// Scans `event`; on matches, adds `mamori.sensor.matches` and returns true.
    pub fn annotate(&self, event: &mut Event) -> bool {
        if !self.is_active() {
            return false;
        }
        let value = Value::Object(std::mem::take(event));
        let mut view = event_from_value(&value);
        let Value::Object(map) = value else {
            return false;
        };
        *event = map;
        let mut sink = Collect(Vec::new());
        if let Some(d) = &self.detector {
            d.prepare(&mut view);
            d.scan(&view, &mut sink);
        }
        if let Some(p) = &self.patterns {
            let ts = view.timestamp_ms.unwrap_or_else(now_ms);
            let hits = p.scan(&view, ts);
            for i in hits.whole {
                if let Some(x) = p.get(i) {
                    sink.0.push(json!({ "pattern": x.text }));
                }
            }
            for i in hits.cross {
                if let Some(x) = p.cross(i) {
                    sink.0.push(json!({ "pattern_leaf": x.text }));
                }
            }
        }
        if sink.0.is_empty() {
            return false;
        }
        event.insert("mamori.sensor.matches".into(), Value::Array(sink.0));
        true
    }
}

struct Collect(Vec<Value>);

impl FindingSink for Collect {
    fn on_match(&mut self, _: usize, rule: &CompiledRule, _: &EventView) -> bool {
        self.0.push(json!({
            "rule": rule.meta.title,
            "id": rule.meta.id,
            "level": rule.meta.level.to_string(),
        }));
        true
    }

    fn on_ioc(&mut self, hit: &IocHit<'_>, _: &EventView) -> bool {
        self.0.push(json!({
            "ioc": hit.ioc.value,
            "kind": hit.ioc.kind.name(),
            "field": hit.field,
        }));
        true
    }
}

/// A cheap summary of the rule files and the indicator file (paths, sizes, modification
/// times) to notice changes by polling.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fingerprint(Vec<(PathBuf, u64, Option<SystemTime>)>);

impl Fingerprint {
    pub fn of(source: &RuleSource) -> Self {
        let mut out = Vec::new();
        let RuleSource::Local {
            dirs,
            ioc,
            patterns,
        } = source
        else {
            return Fingerprint(out);
        };
        for d in dirs {
            walk(d, &mut out);
        }
        for p in [ioc, patterns].into_iter().flatten() {
            stamp(p, &mut out);
        }
        out.sort();
        Fingerprint(out)
    }
}

fn stamp(p: &Path, out: &mut Vec<(PathBuf, u64, Option<SystemTime>)>) {
    if let Ok(m) = std::fs::metadata(p) {
        out.push((p.to_owned(), m.len(), m.modified().ok()));
    }
}

fn walk(d: &Path, out: &mut Vec<(PathBuf, u64, Option<SystemTime>)>) {
    let Ok(entries) = std::fs::read_dir(d) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if mamori_detect::ruleset::is_rule_file(&p) {
            stamp(&p, out);
        }
    }
}

/// Now, in milliseconds since the Unix epoch (an event without a time is observed now).
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn event(v: Value) -> Event {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn pattern_file_marks_matches_and_leaves() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("patterns.txt");
        std::fs::write(
            &f,
            "# shared by the hub\n\
             [domain-name:value = 'C2.example.org']\n\
             \n\
             [url:value LIKE '%/stage1/%'] FOLLOWEDBY [url:value LIKE '%/stage2/%']\n\
             [not a pattern\n",
        )
        .unwrap();
        let source = RuleSource::Local {
            dirs: vec![],
            ioc: None,
            patterns: Some(f.clone()),
        };
        let m = Matcher::load(&source).unwrap();
        assert!(m.is_active());
        let mut dns = event(json!({"dns.question.name": "c2.example.org"}));
        assert!(m.annotate(&mut dns));
        assert_eq!(
            dns["mamori.sensor.matches"],
            json!([{"pattern": "[domain-name:value = 'C2.example.org']"}])
        );
        // One step of the sequence: marked as a leaf, so it is forwarded for the hub.
        let mut url = event(json!({"url.full": "http://x.test/stage1/a"}));
        assert!(m.annotate(&mut url));
        assert!(
            url["mamori.sensor.matches"][0]["pattern_leaf"]
                .as_str()
                .unwrap()
                .contains("FOLLOWEDBY")
        );
        let mut quiet = event(json!({"url.full": "http://x.test/ok"}));
        assert!(!m.annotate(&mut quiet));
        assert!(!quiet.contains_key("mamori.sensor.matches"));
        // The file is part of the fingerprint: editing it triggers a reload.
        let before = Fingerprint::of(&source);
        std::fs::write(&f, "[ipv4-addr:value = '203.0.113.1']\n").unwrap();
        assert_ne!(before, Fingerprint::of(&source));
        // An empty file matches nothing.
        std::fs::write(&f, "# nothing\n").unwrap();
        assert!(!Matcher::load(&source).unwrap().is_active());
    }
}
