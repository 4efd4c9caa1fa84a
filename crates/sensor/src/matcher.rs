//! Local matching: a [`mamori_detect::Detector`] built from a local [`RuleSource`] (Sigma rule
//! directories and an indicator file; for rules from the hub, the cache the verified bundles
//! are written to, [`crate::bundle::Cache::local_source`]), rebuilt on
//! request (SIGHUP, or when [`Fingerprint`] sees the files change). Matching events get
//! `mamori.sensor.matches`: `[{"rule", "id", "level"} | {"ioc", "field"}]`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use mamori_detect::input::json::event_from_value;
use mamori_detect::ioc::{IocHit, IocSet};
use mamori_detect::{CompiledRule, Detector, EventView, FindingSink, RulesetBuilder};
use mamori_parse::Event;
use serde_json::{Value, json};

use crate::config::RuleSource;
use crate::error::SensorError;

/// The compiled rules and indicators, or nothing to match.
#[derive(Debug, Default, Clone)]
pub struct Matcher {
    detector: Option<Arc<Detector>>,
}

impl Matcher {
    /// Loads the rules and indicators of a local `source` (None when it names none).
    pub fn load(source: &RuleSource) -> Result<Self, SensorError> {
        let RuleSource::Local { dirs, ioc } = source else {
            return Err(SensorError::Rules(
                "rules from the hub are matched from their local cache".into(),
            ));
        };
        if dirs.is_empty() && ioc.is_none() {
            return Ok(Matcher::default());
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
        })
    }

    /// Whether there is anything to match.
    pub fn is_active(&self) -> bool {
        self.detector.is_some()
    }

    /// Scans `event`; on matches, adds `mamori.sensor.matches` and returns true.
    pub fn annotate(&self, event: &mut Event) -> bool {
        let Some(d) = &self.detector else {
            return false;
        };
        let value = Value::Object(std::mem::take(event));
        let mut view = event_from_value(&value);
        let Value::Object(map) = value else {
            return false;
        };
        *event = map;
        d.prepare(&mut view);
        let mut sink = Collect(Vec::new());
        d.scan(&view, &mut sink);
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
        let RuleSource::Local { dirs, ioc } = source else {
            return Fingerprint(out);
        };
        for d in dirs {
            walk(d, &mut out);
        }
        if let Some(p) = ioc {
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
