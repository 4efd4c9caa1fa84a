//! STIX pattern indicators in `mamori hunt` ([`PatternHunt`], a
//! [`mamori_detect::hunt::ExtraScanner`]): an event matching a pattern on its own is one
//! detection; the events satisfying a leaf of a pattern that needs several events are kept,
//! and once every file was read each such pattern is evaluated over its observations, one
//! detection at the event that first completes it (the shortest time-ordered prefix of its
//! observations that matches; adding observations never removes a match, so the prefix is
//! found by bisection). Collected logs span any time, so a part without a `WITHIN` is
//! evaluated over [`crate::set::MAX_CROSS_WINDOW_MS`].

use std::sync::Mutex;

use mamori_detect::EventView;
use mamori_detect::Level;
use mamori_detect::hunt::{Detection, ExtraScanner, Source};
use mamori_stix::pattern::Observation;

use crate::set::{BuildOptions, MAX_CROSS_WINDOW_MS, PatternSet};

/// Most observations kept per cross-event pattern; later ones are not kept (a leaf that
/// common is no indicator, and the evaluation's cost grows with them).
pub const MAX_KEPT_PER_PATTERN: usize = 50_000;

/// Where a pattern indicator came from.
#[derive(Debug, Clone, Default)]
pub struct PatternSource {
    /// The STIX indicator's id, if it came from a bundle.
    pub id: Option<String>,
    /// The indicator's name, if any.
    pub name: Option<String>,
}

/// Pattern indicators over the events of a hunt.
pub struct PatternHunt {
    set: PatternSet<PatternSource>,
    /// Per cross-event part: (time, observation, the event's detection).
    kept: Mutex<Vec<Vec<(i64, Observation, Detection)>>>,
}

impl PatternHunt {
    /// Compiles the patterns (text and where each came from).
    pub fn new(items: impl IntoIterator<Item = (String, PatternSource)>) -> PatternHunt {
        let set = PatternSet::build_with(
            items,
            BuildOptions {
                default_window_ms: MAX_CROSS_WINDOW_MS,
                key: str::to_owned,
            },
        );
        PatternHunt {
            kept: Mutex::new(Vec::new()),
            set,
        }
    }

    /// The compiled set (for its statistics).
    pub fn set(&self) -> &PatternSet<PatternSource> {
        &self.set
    }
}

/// A detection of `ev` for a pattern.
fn detection(ev_det: Detection, text: &str, sources: &[PatternSource]) -> Detection {
    let mut d = ev_det;
    let src = sources.first();
    d.rule_id = match src.and_then(|s| s.id.clone()) {
        Some(id) => id,
        None => format!("stix-pattern:{text}"),
    };
    d.rule_title = match src.and_then(|s| s.name.clone()) {
        Some(n) => format!("STIX indicator {n}"),
        None => format!("STIX pattern {text}"),
    };
    d.level = Level::High;
    d.source = Source::Pattern;
    d.matched = vec![("pattern".into(), text.to_owned())];
    d
}

impl ExtraScanner for PatternHunt {
    fn scan(&self, ev: &EventView) -> Vec<Detection> {
        let ts = ev.timestamp_ms.unwrap_or(0);
        let hits = self.set.scan(ev, ts);
        let mut out = Vec::new();
        for i in hits.whole {
            if let Some(p) = self.set.get(i) {
                out.push(detection(Detection::of_event(ev), &p.text, &p.marks));
            }
        }
        if let Some(o) = hits.observation
            && let Ok(mut kept) = self.kept.lock()
        {
            for i in hits.cross {
                let i = i as usize;
                if kept.len() <= i {
                    kept.resize_with(i + 1, Vec::new);
                }
                if let Some(k) = kept.get_mut(i)
                    && k.len() < MAX_KEPT_PER_PATTERN
                {
                    k.push((ts, o.clone(), Detection::of_event(ev)));
                }
            }
        }
        out
    }

    fn finish(&self) -> Vec<Detection> {
        let Ok(mut kept) = self.kept.lock() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, mut k) in std::mem::take(&mut *kept).into_iter().enumerate() {
            let Some(part) = u32::try_from(i).ok().and_then(|i| self.set.cross(i)) else {
                continue;
            };
            k.sort_by_key(|(ts, _, _)| *ts);
            let obs: Vec<Observation> = k.iter().map(|(_, o, _)| o.clone()).collect();
            if !part.matches(&obs) {
                continue;
            }
            // The shortest prefix that matches: matches(obs[..hi]) holds, (..lo) does not.
            let (mut lo, mut hi) = (0usize, obs.len());
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if part.matches(&obs[..mid]) {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            let Some((_, _, at)) = k.get(hi - 1) else {
                continue;
            };
            let mut d = detection(at.clone(), &part.text, &part.marks);
            d.matched.push(("observations".into(), hi.to_string()));
            out.push(d);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ev(fields: &[(&str, &str)], ts: i64) -> EventView {
        let mut v = EventView::new();
        for (k, x) in fields {
            v.push_str(k, x);
        }
        v.timestamp_ms = Some(ts);
        v
    }

    #[test]
    fn single_and_sequence_detections() {
        let h = PatternHunt::new([
            (
                "[domain-name:value = 'c2.example.org']".to_owned(),
                PatternSource {
                    id: Some("indicator--11111111-1111-4111-8111-111111111111".into()),
                    name: Some("C2 domain".into()),
                },
            ),
            (
                "[url:value LIKE '%/stage1/%'] FOLLOWEDBY [url:value LIKE '%/stage2/%']".to_owned(),
                PatternSource::default(),
            ),
        ]);
        let d = h.scan(&ev(&[("dns.question.name", "c2.example.org")], 5));
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].rule_id,
            "indicator--11111111-1111-4111-8111-111111111111"
        );
        assert_eq!(d[0].rule_title, "STIX indicator C2 domain");
        assert_eq!(d[0].source, Source::Pattern);
        // Stage 2 seen first, then stage 1, then stage 2 again: complete at the third event.
        for (u, t) in [
            ("/stage2/a", 10),
            ("/stage1/b", 20),
            ("/x", 25),
            ("/stage2/c", 30),
        ] {
            assert!(
                h.scan(&ev(&[("url.full", &format!("http://d.test{u}"))], t))
                    .is_empty()
            );
        }
        let done = h.finish();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].ts_ms, Some(30));
        assert!(done[0].rule_id.starts_with("stix-pattern:[url:value"));
        assert!(
            done[0]
                .matched
                .contains(&("observations".into(), "3".into()))
        );
        // Nothing kept twice.
        assert!(h.finish().is_empty());
    }
}
