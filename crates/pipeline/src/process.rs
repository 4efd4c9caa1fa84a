//! One batch through the path: lines parsed (bad ones become dead letters with the reason),
//! normalised, scanned by the engine, alerts routed to their organisation and aggregated
//! (same rule, host and window: one alert), indicator hits (values and STIX patterns) turned
//! into sightings, and the whole committed to the store in one transaction.

use std::collections::HashMap;

use mamori_detect::event::EventView;
use mamori_detect::ioc::IocHit;
use mamori_detect::{CompiledRule, FindingSink};
use mamori_model::{Marking, OrgId};
use mamori_parse::LineParser;
use mamori_store::ingest::{
    AlertHit, IngestBatch, NewDeadLetter, NewEvent, NewObservation, ObservationRow, PatternMatch,
    PatternObservation, SightingHit,
};
use mamori_store::reports::PATTERN_SIGHTING_KIND;
use serde_json::Value;

use crate::batch::{RawBatch, Routing};
use crate::engine::Indicators;
use crate::normalise::{normalise, normalise_flat, normalise_line};
use crate::orgs::OrgTable;
use crate::{Engine, Settings};
use mamori_patterns::PatternSet;

/// Evidence events copied per alert per batch.
const EVIDENCE_PER_BATCH: usize = 5;

#[derive(Default)]
struct Findings {
    /// (rule index, id, title, level)
    rules: Vec<(usize, String, String, String)>,
    iocs: Vec<(String, String)>,
}

impl FindingSink for Findings {
    fn on_match(&mut self, i: usize, rule: &CompiledRule, _: &EventView) -> bool {
        let id = if rule.meta.id.is_empty() {
            rule.meta.title.clone()
        } else {
            rule.meta.id.clone()
        };
        self.rules
            .push((i, id, rule.meta.title.clone(), rule.meta.level.to_string()));
        true
    }
    fn on_ioc(&mut self, hit: &IocHit<'_>, _: &EventView) -> bool {
        self.iocs.push((hit.ioc.value.clone(), hit.field.clone()));
        true
    }
}

/// Where an event's alerts go, and why.
fn route(
    org_table: &OrgTable,
    batch_org: OrgId,
    routing: Routing,
    ev: &NewEvent,
) -> (OrgId, &'static str) {
    if routing == Routing::Sensor {
        return (batch_org, "sensor");
    }
    for ip in [&ev.destination_ip, &ev.source_ip].into_iter().flatten() {
        if let Ok(ip) = ip.parse()
            && let Some(m) = org_table.owners.owner_of_ip(ip)
        {
            return (m.org, "ip");
        }
    }
    if let Some(h) = &ev.host
        && let Some(m) = org_table.owners.owner_of_domain(h)
    {
        return (m.org, "domain");
    }
    (org_table.hub.unwrap_or(batch_org), "unrouted")
}

/// The CPU part: parse, normalise, detect, route, aggregate. Pure apart from reading the
/// engine's current indicators.
pub fn prepare(
    engine: &Engine,
    org_table: &OrgTable,
    settings: &Settings,
    batch: &RawBatch,
) -> IngestBatch {
    prepare_with(engine, org_table, settings, batch, true)
}

/// [`prepare`]; with `encode` false the events are not encoded into blocks (a retro-hunt
/// re-reads stored events and keeps only what matched).
pub fn prepare_with(
    engine: &Engine,
    org_table: &OrgTable,
    settings: &Settings,
    batch: &RawBatch,
    encode: bool,
) -> IngestBatch {
    let h = &batch.header;
    let mut parser = LineParser::new(batch.format());
    let json_lines = batch.format() == mamori_parse::Format::Json;
    let indicators: std::sync::Arc<Indicators> = engine.indicators();
    let mut events = Vec::new();
    let mut dead = Vec::new();
    let mut alerts: HashMap<String, AlertHit> = HashMap::new();
    let mut sightings: HashMap<(String, String), SightingHit> = HashMap::new();
    let mut observations: Vec<NewObservation> = Vec::new();
    let mut pattern_observations: Vec<PatternObservation> = Vec::new();
    let rs = engine.ruleset();
    let window = settings.alert_window_ms.max(1);
    // Valid UTF-8 (nearly every batch) is checked by the standard library's fast path; the
    // lossy conversion, several times slower per byte, only runs on a batch that needs it.
    let text = match std::str::from_utf8(&batch.body) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(&batch.body),
    };
    for (n, line) in text.split('\n').enumerate() {
        let origin = || format!("{}#{}:{}", h.source, h.batch_id, n + 1);
        let claim_refused = |claimed: &str| {
            (claimed != h.org_id.to_string()).then(|| NewDeadLetter {
                origin: origin(),
                reason: format!(
                    "the event claims organisation {claimed}, but its sender belongs to {}",
                    h.org_id
                ),
                text: clip(line),
            })
        };
        // Flat JSON lines (what sensors send) take the direct path; everything else, and every
        // error, goes through the general parser.
        let flat = json_lines
            .then(|| crate::flat::parse(line.strip_suffix('\r').unwrap_or(line)))
            .flatten()
            .filter(|f| f.get("mamori.dead_letter").is_none());
        let mut norm = if let Some(flat) = flat {
            if let Some(d) = flat.get_str("organization.id").and_then(claim_refused) {
                dead.push(d);
                continue;
            }
            normalise_flat(&flat, line, h.received_at)
        } else {
            let parsed = match parser.line(line) {
                Ok(Some(ev)) => ev,
                Ok(None) => continue,
                Err(e) => {
                    dead.push(NewDeadLetter {
                        origin: origin(),
                        reason: e.to_string(),
                        text: clip(line),
                    });
                    continue;
                }
            };
            if let Some(d) = parsed.get("mamori.dead_letter") {
                dead.push(dead_letter_from_sensor(d, origin()));
                continue;
            }
            if let Some(d) = parsed
                .get("organization.id")
                .and_then(Value::as_str)
                .and_then(claim_refused)
            {
                dead.push(d);
                continue;
            }
            if json_lines {
                normalise_line(parsed, Some(line), h.received_at)
            } else {
                normalise(parsed, h.received_at)
            }
        };
        rs.prepare(&mut norm.view);
        if norm.view.timestamp_ms.is_none() {
            norm.view.timestamp_ms = Some(norm.stored.ts);
        }
        let mut f = Findings::default();
        rs.scan(&norm.view, &mut f);
        if !indicators.set.is_empty() {
            for hit in indicators.set.scan(&norm.view) {
                f.on_ioc(&hit, &norm.view);
            }
        }
        let pattern_hits = indicators.patterns.scan(&norm.view, norm.stored.ts);
        if !f.rules.is_empty() || !f.iocs.is_empty() || !pattern_hits.is_empty() {
            let (org, why) = route(org_table, h.org_id, h.routing, &norm.stored);
            let host = norm.stored.host.clone().unwrap_or_else(|| "-".into());
            let ts = norm.stored.ts;
            let bucket = ts.div_euclid(window);
            let mut add = |kind: &str, rule_id: String, title: String, level: String| {
                let key = format!("{kind}|{org}|{rule_id}|{host}|{bucket}");
                let a = alerts.entry(key.clone()).or_insert_with(|| AlertHit {
                    dedup_key: key,
                    org_id: org,
                    route: why.into(),
                    kind: kind.into(),
                    rule_id,
                    title,
                    level,
                    host: host.clone(),
                    first_seen: ts,
                    last_seen: ts,
                    count: 0,
                    evidence: vec![],
                });
                a.count += 1;
                a.first_seen = a.first_seen.min(ts);
                a.last_seen = a.last_seen.max(ts);
                if a.evidence.len() < EVIDENCE_PER_BATCH {
                    a.evidence.push((ts, norm.stored.doc.clone()));
                }
            };
            for (i, id, title, level) in f.rules {
                for &ci in rs.correlations_of(i) {
                    let Some(c) = rs.correlations().get(ci) else {
                        continue;
                    };
                    if let Some(o) = c.observe(i, &norm.view, 0) {
                        observations.push(NewObservation {
                            corr_index: ci,
                            corr_id: if c.meta.id.is_empty() {
                                c.meta.title.clone()
                            } else {
                                c.meta.id.clone()
                            },
                            timespan_ms: c.timespan_ms,
                            org_id: org,
                            grp: o.key.join("\u{1f}"),
                            ts: o.ts,
                            rule_pos: o.rule_pos as i64,
                            value: o.value,
                        });
                    }
                }
                // Rules with `generate: false` only feed correlations.
                if !rs.is_suppressed(i) {
                    add("sigma", id, title, level);
                }
            }
            let filter = org_table.filter(org);
            // One event is one sighting and one alert event per value, however many of its
            // fields (or aliases of one field) hold the value.
            let mut iocs = f.iocs;
            let mut seen_values = std::collections::HashSet::new();
            iocs.retain(|(value, _)| seen_values.insert(value.clone()));
            for (value, field) in iocs {
                let Some(marks) = indicators.marks.get(&value) else {
                    continue;
                };
                let kind = marks[0].0.to_string();
                let s = sightings
                    .entry((kind.clone(), value.clone()))
                    .or_insert_with(|| SightingHit {
                        kind: kind.clone(),
                        value: value.clone(),
                        count: 0,
                        seen_at: ts,
                    });
                s.count += 1;
                s.seen_at = s.seen_at.max(ts);
                // The policy decides whether the owning organisation may learn of this
                // indicator; if not, the sighting is recorded but no alert is raised.
                if marks.iter().any(|(_, m)| filter.admits(m)) {
                    add(
                        "ioc",
                        ioc_rule_id(&kind, &value),
                        format!("Shared indicator {value} in {field}"),
                        "high".into(),
                    );
                }
            }
            // Leaves of patterns' cross-event parts: the event is kept as an observation of
            // the pattern, evaluated at commit over the organisation's stored ones.
            if let Some(o) = &pattern_hits.observation
                && let Ok(objects) = serde_json::to_string(&o.objects)
            {
                for &i in &pattern_hits.cross {
                    if let Some(c) = indicators.patterns.cross(i) {
                        pattern_observations.push(PatternObservation {
                            pattern: c.key.clone(),
                            org_id: org,
                            route: why.into(),
                            ts,
                            host: norm.stored.host.clone(),
                            objects: objects.clone(),
                            window_ms: c.window_ms,
                        });
                    }
                }
            }
            // Pattern indicators: the same, keyed by the pattern's sighting value.
            for i in pattern_hits.whole {
                let Some(p) = indicators.patterns.get(i) else {
                    continue;
                };
                let kind = PATTERN_SIGHTING_KIND;
                let value = &p.key;
                let s = sightings
                    .entry((kind.to_owned(), value.clone()))
                    .or_insert_with(|| SightingHit {
                        kind: kind.to_owned(),
                        value: value.clone(),
                        count: 0,
                        seen_at: ts,
                    });
                s.count += 1;
                s.seen_at = s.seen_at.max(ts);
                if p.marks.iter().any(|m| filter.admits(m)) {
                    add(
                        "ioc",
                        ioc_rule_id(kind, value),
                        format!("Shared indicator pattern {}", clip_to(&p.text, 200)),
                        "high".into(),
                    );
                }
            }
        }
        events.push(norm.stored);
    }
    // Encoding (compression and index terms) is CPU work: do it here, on the caller's pool,
    // not in the store's transaction. On failure the store encodes at commit and reports it.
    let blocks = if encode {
        mamori_store::blocks::encode(&events).unwrap_or_default()
    } else {
        Vec::new()
    };
    IngestBatch {
        source: h.source.clone(),
        batch_id: h.batch_id.clone(),
        org_id: h.org_id,
        events,
        blocks,
        dead_letters: dead,
        alerts: alerts.into_values().collect(),
        sightings: sightings.into_values().collect(),
        observations,
        pattern_observations,
        cross_org: settings
            .cross_org
            .as_ref()
            .zip(org_table.hub)
            .map(|(c, hub)| mamori_store::ingest::CrossOrgRule {
                min_orgs: c.min_orgs,
                window_ms: c.window_ms,
                hub_org: hub,
            }),
    }
}

/// The rule id of the alerts a shared indicator raises: `ioc:<kind>:<value>` (the value
/// normalised, or a STIX pattern's sighting value).
pub fn ioc_rule_id(kind: &str, value: &str) -> String {
    format!("ioc:{kind}:{value}")
}

/// The indicator value of an [`ioc_rule_id`].
pub fn ioc_rule_value(rule_id: &str) -> Option<&str> {
    rule_id
        .strip_prefix("ioc:")
        .and_then(|r| r.split_once(':'))
        .map(|(_, v)| v)
}

fn dead_letter_from_sensor(d: &Value, origin: String) -> NewDeadLetter {
    let get = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let src = get("source");
    NewDeadLetter {
        origin: if src.is_empty() { origin } else { src },
        reason: format!("sensor: {}", get("reason")),
        text: clip(&get("text")),
    }
}

/// Dead letters keep at most 8 KiB of the line.
fn clip(s: &str) -> String {
    clip_to(s, 8192)
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn clip_to(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// Evaluates a Sigma correlation over a group's stored observations; each firing window is one
/// alert (keyed by its first observation, so re-evaluation updates rather than repeats it).
pub fn evaluate_correlation(
    engine: &Engine,
    group: &NewObservation,
    rows: &[ObservationRow],
) -> Vec<AlertHit> {
    let rs = engine.ruleset();
    let Some(c) = rs.correlations().get(group.corr_index) else {
        return Vec::new();
    };
    if rs.is_correlation_suppressed(group.corr_index) {
        return Vec::new();
    }
    let key: Vec<String> = group.grp.split('\u{1f}').map(str::to_owned).collect();
    let obs = rows
        .iter()
        .map(|r| mamori_detect::correlation::Observation {
            ts: r.ts,
            rule_pos: usize::try_from(r.rule_pos).unwrap_or(usize::MAX),
            key: key.clone(),
            value: r.value.clone(),
            detection: 0,
        })
        .collect();
    c.evaluate(group.corr_index, obs)
        .into_iter()
        .map(|hit| {
            let shown: Vec<String> = hit.key.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let host = hit
                .key
                .iter()
                .find(|(k, _)| {
                    let k = k.to_ascii_lowercase();
                    k == "computer" || k == "host.name" || k == "hostname" || k == "workstationname"
                })
                .map_or_else(|| "*".to_owned(), |(_, v)| v.clone());
            AlertHit {
                dedup_key: format!(
                    "corr|{}|{}|{}|{}",
                    group.org_id, group.corr_id, group.grp, hit.first_ts
                ),
                org_id: group.org_id,
                route: "sensor".into(),
                kind: "correlation".into(),
                rule_id: group.corr_id.clone(),
                title: c.meta.title.clone(),
                level: c.meta.level.to_string(),
                host,
                first_seen: hit.first_ts,
                last_seen: hit.last_ts,
                count: hit.count as i64,
                evidence: vec![(
                    hit.last_ts,
                    serde_json::json!({"correlation": c.meta.title, "group": shown, "count": hit.count,
                                       "first": hit.first_ts, "last": hit.last_ts})
                    .to_string(),
                )],
            }
        })
        .collect()
}

/// Evaluates a STIX pattern's cross-event part for one organisation over the stored
/// observations before the batch's (`rows`) and the batch's own. A match is reported only when
/// the batch completes one: if the stored ones already match, the alert raised then stands.
/// The match is a sighting of the pattern, and an `ioc` alert (rule id as for per-event hits,
/// so a false-positive suppression covers both) when the organisation may see the indicator.
pub fn evaluate_pattern(
    patterns: &PatternSet<Marking>,
    org_table: &OrgTable,
    batch: &[&PatternObservation],
    rows: &[ObservationRow],
) -> Option<PatternMatch> {
    let first = batch.first()?;
    let c = patterns.cross_by_key(&first.pattern)?;
    let observation = |ts: i64, objects: &str| {
        let objects: serde_json::Map<String, Value> = serde_json::from_str(objects).ok()?;
        let t = mamori_stix::Timestamp::from_unix_millis(ts);
        Some(mamori_stix::pattern::Observation {
            first_observed: t.clone(),
            last_observed: t,
            number_observed: 1,
            objects,
        })
    };
    let mut all: Vec<_> = rows
        .iter()
        .filter_map(|r| observation(r.ts, r.value.as_deref()?))
        .collect();
    if c.matches(&all) {
        return None;
    }
    let before = all.len();
    all.extend(batch.iter().filter_map(|o| observation(o.ts, &o.objects)));
    if all.len() == before || !c.matches(&all) {
        return None;
    }
    let (lo, hi) = batch.iter().fold((i64::MAX, i64::MIN), |(lo, hi), o| {
        (lo.min(o.ts), hi.max(o.ts))
    });
    let first_seen = rows.first().map_or(lo, |r| r.ts.min(lo));
    let kind = PATTERN_SIGHTING_KIND;
    let value = &c.key;
    let sighting = SightingHit {
        kind: kind.to_owned(),
        value: value.clone(),
        count: 1,
        seen_at: hi,
    };
    let filter = org_table.filter(first.org_id);
    if !c.marks.iter().any(|m| filter.admits(m)) {
        return Some(PatternMatch {
            sighting,
            alert: None,
        });
    }
    let host = match &first.host {
        Some(h) if batch.iter().all(|o| o.host.as_ref() == Some(h)) => h.clone(),
        _ => "*".to_owned(),
    };
    // The latest observations in the window, as evidence.
    let evidence = rows
        .iter()
        .map(|r| (r.ts, r.value.as_deref().unwrap_or("{}")))
        .chain(batch.iter().map(|o| (o.ts, o.objects.as_str())))
        .filter(|(ts, _)| *ts >= hi.saturating_sub(c.window_ms))
        .collect::<Vec<_>>();
    let evidence = evidence
        .iter()
        .skip(evidence.len().saturating_sub(EVIDENCE_PER_BATCH))
        .map(|(ts, objects)| {
            let objects: Value = serde_json::from_str(objects).unwrap_or(Value::Null);
            (
                *ts,
                serde_json::json!({"stix.pattern": c.text, "@timestamp": ts, "stix.objects": objects})
                    .to_string(),
            )
        })
        .collect();
    Some(PatternMatch {
        sighting,
        alert: Some(AlertHit {
            dedup_key: format!("stixpat|{}|{value}|{lo}", first.org_id),
            org_id: first.org_id,
            route: first.route.clone(),
            kind: "ioc".into(),
            rule_id: ioc_rule_id(kind, value),
            title: format!(
                "Shared indicator pattern across events {}",
                clip_to(&c.text, 200)
            ),
            level: "high".into(),
            host,
            first_seen,
            last_seen: hi,
            count: all.len() as i64,
            evidence,
        }),
    })
}
