//! The hub's detection engine: compiled Sigma rules (fixed for the process's life, reloaded by
//! building a new engine) and the shared indicators with the marking of the report each came
//! from, swapped atomically when the sharing data changes. An indicator hit becomes an alert
//! only for an organisation the visibility policy lets see that indicator. STIX pattern
//! indicators are compiled and indexed by [`crate::patterns`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use mamori_detect::ioc::{IocSet, classify};
use mamori_detect::{RuleError, Ruleset, RulesetBuilder};
use mamori_model::{Marking, ValueKind};
use mamori_store::reports::{DetectionIndicator, DetectionMatch};

use mamori_patterns::PatternSet;
use mamori_patterns::set::BuildOptions;
use mamori_store::reports::pattern_sighting_value;

/// The indicators in force: the compiled set and, per normalised value, where each came from;
/// and the STIX pattern indicators.
#[derive(Debug, Default)]
pub struct Indicators {
    pub set: IocSet,
    pub marks: HashMap<String, Vec<(ValueKind, Marking)>>,
    /// Tagged with the markings they came under, keyed by their sighting value.
    pub patterns: PatternSet<Marking>,
}

impl Indicators {
    /// Builds the set from the store's detection indicators; returns it and how many could
    /// not be matched (file names, mutexes... which the IOC matcher does not cover, and the
    /// pattern indicators [`PatternSet`] leaves out: invalid, unmapped, over its cap; see
    /// `patterns.stats()`).
    pub fn build(list: Vec<DetectionIndicator>) -> (Indicators, usize) {
        Indicators::build_with_window(list, mamori_patterns::set::DEFAULT_PATTERN_WINDOW_MS)
    }

    /// [`Indicators::build`], with the window of STIX patterns' cross-event parts that have
    /// no `WITHIN` ([`crate::Settings::pattern_window_ms`]).
    pub fn build_with_window(
        list: Vec<DetectionIndicator>,
        pattern_window_ms: i64,
    ) -> (Indicators, usize) {
        let mut marks: HashMap<String, Vec<(ValueKind, Marking)>> = HashMap::new();
        let mut patterns = Vec::new();
        let mut skipped = 0;
        for d in list {
            let (kind, value) = match d.matches {
                DetectionMatch::Value { kind, value } => (kind, value),
                DetectionMatch::Pattern(p) => {
                    patterns.push((p, d.marking));
                    continue;
                }
            };
            match classify(&value) {
                Some((_, norm)) => marks.entry(norm).or_default().push((kind, d.marking)),
                None => skipped += 1,
            }
        }
        let (set, rejected) = IocSet::from_values(marks.keys().map(String::as_str));
        let patterns = PatternSet::build_with(
            patterns,
            BuildOptions {
                default_window_ms: pattern_window_ms,
                key: pattern_sighting_value,
            },
        );
        let skipped = skipped + rejected + patterns.stats().skipped();
        (
            Indicators {
                set,
                marks,
                patterns,
            },
            skipped,
        )
    }
}

/// Rules plus indicators.
#[derive(Debug)]
pub struct Engine {
    ruleset: Arc<Ruleset>,
    indicators: ArcSwap<Indicators>,
}

impl Engine {
    pub fn new(ruleset: Ruleset) -> Engine {
        Engine {
            ruleset: Arc::new(ruleset),
            indicators: ArcSwap::from_pointee(Indicators::default()),
        }
    }

    /// Compiles every rule under the directories; returns the engine and the problems found
    /// (the caller reports them; rules with errors are left out).
    pub fn from_rule_dirs(dirs: &[PathBuf]) -> (Engine, Vec<RuleError>) {
        let mut b = RulesetBuilder::new();
        for d in dirs {
            b.add_path(d);
        }
        let (rules, errors) = b.build();
        (Engine::new(rules), errors)
    }

    pub fn ruleset(&self) -> &Ruleset {
        &self.ruleset
    }

    pub fn indicators(&self) -> Arc<Indicators> {
        self.indicators.load_full()
    }

    pub fn set_indicators(&self, i: Indicators) {
        self.indicators.store(Arc::new(i));
    }
}
