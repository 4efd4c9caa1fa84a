//! Property: however a stream of events is cut into batches and in whatever order the batches
//! arrive, the commit-time evaluation of STIX patterns' cross-event parts raises a match in
//! some batch exactly when the whole stream's observations satisfy the part. The store is
//! simulated as the commit uses it: the observations stored before the batch, in the window
//! around the batch's own, handed to `process::evaluate_pattern` with the batch's.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use mamori_detect::event::EventView;
use mamori_model::{Marking, OrgId, Tlp};
use mamori_patterns::set::BuildOptions;
use mamori_pipeline::OrgTable;
use mamori_pipeline::patterns::PatternSet;
use mamori_pipeline::process::evaluate_pattern;
use mamori_stix::pattern::Observation;
use mamori_store::ingest::{ObservationRow, PatternObservation};
use proptest::prelude::*;

const PATTERNS: &[&str] = &[
    "([url:value LIKE '%/a/%'] FOLLOWEDBY [url:value LIKE '%/b/%']) WITHIN 20 SECONDS",
    "[url:value LIKE '%/c/%'] REPEATS 3 TIMES",
    "[url:value LIKE '%/a/%'] AND [url:value LIKE '%/c/%']",
    "([url:value LIKE '%/b/%'] FOLLOWEDBY [url:value LIKE '%/b/%']) WITHIN 5 SECONDS",
];
const PATHS: &[&str] = &["/a/", "/b/", "/c/", "/x/"];
/// The window of parts without a `WITHIN`.
const WINDOW_MS: i64 = 30_000;

fn marking() -> Marking {
    Marking {
        tlp: Tlp::Green,
        owner_org: OrgId::new(),
        sharing_group: None,
        recipients: vec![],
    }
}

fn to_observation(ts: i64, objects: &str) -> Observation {
    let t = mamori_stix::Timestamp::from_unix_millis(ts);
    Observation {
        first_observed: t.clone(),
        last_observed: t,
        number_observed: 1,
        objects: serde_json::from_str(objects).unwrap(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn batches_raise_a_match_exactly_when_the_stream_matches(
        events in proptest::collection::vec((0usize..4, 0i64..120), 1..60),
        cuts in proptest::collection::vec(1usize..8, 1..20),
        order in any::<u64>(),
    ) {
        let set: PatternSet<Marking> = PatternSet::build_with(
            PATTERNS.iter().map(|p| ((*p).to_owned(), marking())),
            BuildOptions { default_window_ms: WINDOW_MS, key: str::to_owned },
        );
        let org = OrgId::new();
        let orgs = OrgTable::default();
        // Events as (time, the cross parts they are observations of, objects JSON).
        let mut scanned = Vec::new();
        for (p, secs) in &events {
            let mut v = EventView::new();
            v.push_str("url.full", &format!("http://h.test{}z", PATHS[*p]));
            let ts = secs * 1000;
            let hits = set.scan(&v, ts);
            let objects = hits
                .observation
                .map(|o| serde_json::to_string(&o.objects).unwrap())
                .unwrap_or_default();
            scanned.push((ts, hits.cross, objects));
        }
        // Cut into batches, then shuffle the batches (deterministically from `order`).
        let mut batches = Vec::new();
        let mut rest = scanned.as_slice();
        for c in cuts.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let n = (*c).min(rest.len());
            batches.push(rest[..n].to_vec());
            rest = &rest[n..];
        }
        let mut x = order | 1;
        for i in (1..batches.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            batches.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut stored: Vec<Vec<(i64, String)>> = vec![Vec::new(); PATTERNS.len()];
        let mut raised = vec![false; PATTERNS.len()];
        for batch in &batches {
            for (ci, part) in (0..PATTERNS.len()).filter_map(|i| Some((i, set.cross(i as u32)?))) {
                let group: Vec<PatternObservation> = batch
                    .iter()
                    .filter(|(_, cross, _)| cross.contains(&(ci as u32)))
                    .map(|(ts, _, objects)| PatternObservation {
                        pattern: part.key.clone(),
                        org_id: org,
                        route: "sensor".into(),
                        ts: *ts,
                        host: None,
                        objects: objects.clone(),
                        window_ms: part.window_ms,
                    })
                    .collect();
                if group.is_empty() {
                    continue;
                }
                let lo = group.iter().map(|o| o.ts).min().unwrap() - part.window_ms;
                let hi = group.iter().map(|o| o.ts).max().unwrap() + part.window_ms;
                let mut rows: Vec<ObservationRow> = stored[ci]
                    .iter()
                    .filter(|(ts, _)| *ts >= lo && *ts <= hi)
                    .map(|(ts, objects)| ObservationRow {
                        ts: *ts,
                        rule_pos: 0,
                        value: Some(objects.clone()),
                    })
                    .collect();
                rows.sort_by_key(|r| r.ts);
                let refs: Vec<&PatternObservation> = group.iter().collect();
                if evaluate_pattern(&set, &orgs, &refs, &rows).is_some() {
                    raised[ci] = true;
                }
                stored[ci].extend(group.iter().map(|o| (o.ts, o.objects.clone())));
            }
        }
        for (ci, was_raised) in raised.iter().enumerate() {
            let part = set.cross(ci as u32).unwrap();
            let all: Vec<Observation> = stored[ci]
                .iter()
                .map(|(ts, o)| to_observation(*ts, o))
                .collect();
            prop_assert_eq!(*was_raised, part.matches(&all), "{}", PATTERNS[ci]);
        }
    }
}
