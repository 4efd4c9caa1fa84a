//! [`Detector`]: the engine's front door for embedders. It holds a compiled [`Ruleset`]
//! and an atomically swappable indicator set, and scans one event at a time into a
//! [`FindingSink`].

use std::sync::Arc;

use crate::event::EventView;
use crate::ioc::{IocSet, SharedIocs};
use crate::ruleset::{FindingSink, Ruleset};

/// Rules plus indicators; cheap to share between threads (`&Detector` is `Sync`).
#[derive(Debug)]
pub struct Detector {
    ruleset: Arc<Ruleset>,
    iocs: SharedIocs,
}

impl Detector {
    /// A detector over a compiled rule set, with no indicators.
    pub fn new(ruleset: Arc<Ruleset>) -> Self {
        Detector {
            ruleset,
            iocs: SharedIocs::new(IocSet::default()),
        }
    }

    /// The rules.
    pub fn ruleset(&self) -> &Arc<Ruleset> {
        &self.ruleset
    }

    /// Publishes a new indicator set; scans already running keep the old one.
    pub fn swap_iocs(&self, set: IocSet) {
        self.iocs.swap(set);
    }

    /// Applies the field mapping to an event; call once per event before [`Detector::scan`].
    pub fn prepare(&self, ev: &mut EventView) {
        self.ruleset.prepare(ev);
    }

    /// Scans a (prepared) event: rule matches first, then indicator hits. Stops as soon as
    /// the sink returns `false`.
    pub fn scan(&self, event: &EventView, sink: &mut dyn FindingSink) {
        let mut go_on = true;
        self.ruleset.scan(
            event,
            &mut |i: usize, r: &crate::CompiledRule, e: &EventView| {
                go_on = sink.on_match(i, r, e);
                go_on
            },
        );
        if !go_on {
            return;
        }
        let iocs = self.iocs.load();
        for hit in iocs.scan(event) {
            if !sink.on_ioc(&hit, event) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RulesetBuilder;
    use crate::ioc::IocHit;
    use crate::sigma::compile::CompiledRule;

    #[derive(Default)]
    struct Collect {
        rules: Vec<String>,
        iocs: Vec<String>,
    }

    impl FindingSink for Collect {
        fn on_match(&mut self, _: usize, rule: &CompiledRule, _: &EventView) -> bool {
            self.rules.push(rule.meta.title.clone());
            true
        }
        fn on_ioc(&mut self, hit: &IocHit<'_>, _: &EventView) -> bool {
            self.iocs.push(hit.ioc.value.clone());
            true
        }
    }

    #[test]
    fn rules_and_swappable_iocs() {
        let mut b = RulesetBuilder::new();
        b.add_source(
            "r.yml",
            "title: t\nlogsource:\n  product: windows\ndetection:\n  s:\n    DestinationIp|cidr: 10.0.0.0/8\n  condition: s\n",
        );
        let d = Detector::new(Arc::new(b.build().0));
        let mut ev = EventView::new();
        ev.push_str("Channel", "Security");
        ev.push_str("DestinationIp", "10.1.2.3");
        ev.finish();
        d.prepare(&mut ev);
        let mut c = Collect::default();
        d.scan(&ev, &mut c);
        assert_eq!(c.rules, ["t"]);
        assert!(c.iocs.is_empty());
        d.swap_iocs(IocSet::parse("l", "10.1.2.3\n").unwrap());
        let mut c = Collect::default();
        d.scan(&ev, &mut c);
        assert_eq!(c.iocs, ["10.1.2.3"]);
    }
}
