//! The hunt pipeline behind `mamori hunt`: files in parallel (rayon; one EVTX file is parsed
//! on several threads when there are fewer files than threads), every event mapped, routed,
//! scanned by the [`Ruleset`], the optional [`IocSet`] and the optional [`ExtraScanner`] (STIX
//! pattern indicators, from `mamori-patterns`); then correlation rules run over the base
//! matches, and the extra scanner's cross-event pass. Output is a list of [`Detection`]s
//! sorted by time.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::correlation::Observation;
use crate::event::EventView;
use crate::input::{Format, ReadStats, detect_format};
use crate::ioc::IocSet;
use crate::ruleset::Ruleset;
use crate::sigma::ast::Level;

/// What produced a detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A Sigma detection rule.
    Sigma,
    /// A Sigma correlation rule.
    Correlation,
    /// An indicator.
    Ioc,
    /// A STIX pattern indicator.
    Pattern,
}

/// More matching on every event, from outside this crate (STIX pattern indicators): per
/// event, and once all events were read (patterns that need several events).
pub trait ExtraScanner: Send + Sync {
    /// The detections of one event (already prepared by the rule set); may keep what
    /// [`ExtraScanner::finish`] needs.
    fn scan(&self, ev: &EventView) -> Vec<Detection>;
    /// The detections that need all events, after every file was read.
    fn finish(&self) -> Vec<Detection>;
}

/// One detection: a (rule, event) pair, or a fired correlation.
#[derive(Debug, Clone)]
pub struct Detection {
    /// Event time as found in the source.
    pub timestamp: String,
    /// Event time, ms since epoch.
    pub ts_ms: Option<i64>,
    /// `Computer`.
    pub computer: String,
    /// `Channel`.
    pub channel: String,
    /// `EventID`.
    pub event_id: String,
    /// `EventRecordID`.
    pub record_id: String,
    /// Input file.
    pub file: Arc<str>,
    /// Rule id (or `ioc:<kind>`).
    pub rule_id: String,
    /// Rule title.
    pub rule_title: String,
    /// Level.
    pub level: Level,
    /// Tags.
    pub tags: Vec<String>,
    /// Fields the rule looks at, with the event's values.
    pub matched: Vec<(String, String)>,
    /// What produced it.
    pub source: Source,
    suppressed: bool,
}

/// Summary counters of a hunt.
#[derive(Debug, Clone, Default)]
pub struct HuntStats {
    /// Files read.
    pub files: u64,
    /// Events scanned.
    pub events: u64,
    /// Corrupt records/lines skipped.
    pub skipped: u64,
    /// Warnings (skipped records, unreadable files), capped per file.
    pub warnings: Vec<String>,
    /// Files that could not be read at all.
    pub failed_files: u64,
}

/// Hunt configuration.
#[derive(Clone)]
pub struct Hunter {
    /// Compiled rules.
    pub ruleset: Arc<Ruleset>,
    /// Indicators, if any.
    pub iocs: Option<Arc<IocSet>>,
    /// Detections below this level are dropped.
    pub min_level: Level,
    /// More matching on every event, if any.
    pub extra: Option<Arc<dyn ExtraScanner>>,
}

fn first(ev: &EventView, f: &str) -> String {
    ev.first(f).unwrap_or("").to_owned()
}

impl Detection {
    /// A detection of `ev` with its time, host and record fields filled in; the caller sets
    /// the rule, level, matched fields and source.
    pub fn of_event(ev: &EventView) -> Detection {
        base_detection(ev)
    }
}

fn base_detection(ev: &EventView) -> Detection {
    Detection {
        timestamp: ev.timestamp.clone().unwrap_or_default(),
        ts_ms: ev.timestamp_ms,
        computer: first(ev, "Computer"),
        channel: first(ev, "Channel"),
        event_id: first(ev, "EventID"),
        record_id: first(ev, "EventRecordID"),
        file: ev.source.clone().unwrap_or_else(|| Arc::from("")),
        rule_id: String::new(),
        rule_title: String::new(),
        level: Level::Informational,
        tags: Vec::new(),
        matched: Vec::new(),
        source: Source::Sigma,
        suppressed: false,
    }
}

impl Detection {
    /// The detection as a JSON object (the `jsonl` output format).
    pub fn to_json(&self) -> serde_json::Value {
        let matched: serde_json::Map<String, serde_json::Value> = self
            .matched
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        serde_json::json!({
            "timestamp": self.timestamp,
            "computer": self.computer,
            "channel": self.channel,
            "event_id": self.event_id,
            "record_id": self.record_id,
            "file": &*self.file,
            "rule_id": self.rule_id,
            "rule_title": self.rule_title,
            "level": self.level.to_string(),
            "tags": self.tags,
            "matched": matched,
            "source": match self.source {
                Source::Sigma => "sigma",
                Source::Correlation => "correlation",
                Source::Ioc => "ioc",
                Source::Pattern => "pattern",
            },
        })
    }

    /// `k=v; k=v` rendering of the matched fields.
    pub fn matched_text(&self) -> String {
        self.matched
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

type Found = (Detection, Vec<(usize, Observation)>);

impl Hunter {
    /// Scans one (unmapped) event; returns its detections and correlation observations.
    pub fn scan_event(&self, mut ev: EventView) -> Option<Vec<Found>> {
        let rs = &self.ruleset;
        rs.prepare(&mut ev);
        let mut out: Vec<Found> = Vec::new();
        rs.scan(&ev, &mut |i: usize,
                           r: &crate::CompiledRule,
                           e: &EventView| {
            let suppressed = rs.is_suppressed(i);
            let corrs = rs.correlations_of(i);
            if r.meta.level < self.min_level && !suppressed && corrs.is_empty() {
                return true;
            }
            let mut d = base_detection(e);
            d.rule_id = r.meta.id.clone();
            d.rule_title = r.meta.title.clone();
            d.level = r.meta.level;
            d.tags = r.meta.tags.clone();
            d.matched = r
                .fields
                .iter()
                .filter_map(|f| {
                    let vals = e.get(f)?;
                    let joined: Vec<&str> = vals.iter().map(|v| v.raw.as_str()).collect();
                    Some((f.clone(), joined.join(" | ")))
                })
                .collect();
            d.suppressed = suppressed || r.meta.level < self.min_level;
            let obs = corrs
                .iter()
                .filter_map(|&ci| {
                    rs.correlations()
                        .get(ci)
                        .and_then(|c| c.observe(i, e, 0))
                        .map(|o| (ci, o))
                })
                .collect();
            out.push((d, obs));
            true
        });
        if let Some(iocs) = &self.iocs {
            for h in iocs.scan(&ev) {
                let mut d = base_detection(&ev);
                d.rule_id = format!("ioc:{}", h.ioc.kind.name());
                d.rule_title = match &h.ioc.note {
                    Some(n) => format!("IOC {} ({n})", h.ioc.value),
                    None => format!("IOC {}", h.ioc.value),
                };
                d.level = Level::High;
                d.matched = vec![(h.field, h.value)];
                d.source = Source::Ioc;
                d.suppressed = Level::High < self.min_level;
                out.push((d, Vec::new()));
            }
        }
        if let Some(extra) = &self.extra {
            for mut d in extra.scan(&ev) {
                d.suppressed = d.level < self.min_level;
                out.push((d, Vec::new()));
            }
        }
        (!out.is_empty()).then_some(out)
    }

    /// Reads and scans one file.
    pub fn scan_file(
        &self,
        path: &std::path::Path,
        threads: usize,
        events: &AtomicU64,
    ) -> Result<(Vec<Found>, ReadStats), crate::InputError> {
        let io = |e| crate::InputError::Io {
            path: path.display().to_string(),
            source: e,
        };
        let mut found = Vec::new();
        let stats = match detect_format(path).map_err(io)? {
            Some(Format::Evtx) => {
                let me = self.clone();
                crate::input::evtx::read_evtx(
                    path,
                    threads,
                    move |ev| me.scan_event(ev),
                    &mut |f: Vec<Found>| found.extend(f),
                )?
            }
            Some(Format::Json) => crate::input::json::read_json(path, &mut |ev| {
                if let Some(f) = self.scan_event(ev) {
                    found.extend(f);
                }
            })?,
            None => {
                return Err(crate::InputError::Evtx {
                    path: path.display().to_string(),
                    message: "unknown format (neither EVTX nor JSON)".into(),
                });
            }
        };
        events.fetch_add(stats.events, Ordering::Relaxed);
        Ok((found, stats))
    }

    /// Hunts over files; `progress` is called after each file with (files done, events).
    pub fn run(
        &self,
        files: &[PathBuf],
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> (Vec<Detection>, HuntStats) {
        let events = AtomicU64::new(0);
        let done = AtomicU64::new(0);
        let threads = rayon::current_num_threads();
        let one = |p: &PathBuf, t: usize| {
            let r = self.scan_file(p, t, &events);
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress(n, events.load(Ordering::Relaxed));
            r
        };
        // Few files: parse each with all threads; many files: one thread per file.
        let results: Vec<_> = if files.len() < threads {
            files.iter().map(|p| one(p, threads)).collect()
        } else {
            files.par_iter().map(|p| one(p, 1)).collect()
        };
        let mut stats = HuntStats {
            files: files.len() as u64,
            ..HuntStats::default()
        };
        let mut dets: Vec<Detection> = Vec::new();
        let mut obs: Vec<Vec<Observation>> = vec![Vec::new(); self.ruleset.correlations().len()];
        for r in results {
            match r {
                Ok((found, st)) => {
                    stats.events += st.events;
                    stats.skipped += st.skipped;
                    stats.warnings.extend(st.warnings);
                    for (d, o) in found {
                        let id = dets.len();
                        for (ci, mut ob) in o {
                            ob.detection = id;
                            if let Some(v) = obs.get_mut(ci) {
                                v.push(ob);
                            }
                        }
                        dets.push(d);
                    }
                }
                Err(e) => {
                    stats.failed_files += 1;
                    stats.warnings.push(e.to_string());
                }
            }
        }
        // Correlations are sorted so that each comes after those it refers to: evaluate in
        // order, feeding each hit to the correlations that refer to it.
        let rs = &self.ruleset;
        for (ci, c) in rs.correlations().iter().enumerate() {
            let o = obs.get_mut(ci).map(std::mem::take).unwrap_or_default();
            for hit in c.evaluate(ci, o) {
                let Some(last) = hit.detections.last().and_then(|&i| dets.get(i)) else {
                    continue;
                };
                let mut d = last.clone();
                d.rule_id = c.meta.id.clone();
                d.rule_title = c.meta.title.clone();
                d.level = c.meta.level;
                d.tags = c.meta.tags.clone();
                d.source = Source::Correlation;
                d.suppressed = rs.is_correlation_suppressed(ci) || c.meta.level < self.min_level;
                d.matched = hit.key.clone();
                d.matched.push(("count".into(), hit.count.to_string()));
                d.matched
                    .push(("window_start".into(), ms_to_rfc3339(hit.first_ts)));
                let idx = dets.len();
                dets.push(d);
                for &dep in rs.correlation_dependents(ci) {
                    let ob = rs
                        .correlations()
                        .get(dep)
                        .and_then(|dc| dc.observe_hit(ci, &hit, idx));
                    if let (Some(ob), Some(v)) = (ob, obs.get_mut(dep)) {
                        v.push(ob);
                    }
                }
            }
        }
        if let Some(extra) = &self.extra {
            for mut d in extra.finish() {
                d.suppressed = d.level < self.min_level;
                dets.push(d);
            }
        }
        dets.retain(|d| !d.suppressed);
        dets.sort_by(|a, b| {
            (a.ts_ms, &a.file, &a.record_id, &a.rule_id).cmp(&(
                b.ts_ms,
                &b.file,
                &b.record_id,
                &b.rule_id,
            ))
        });
        (dets, stats)
    }
}

/// The header line of `mamori hunt --format csv`; case timeline imports recognise it.
pub const CSV_HEADER: &str =
    "timestamp,computer,channel,event_id,record_id,file,rule_id,rule_title,level,tags,matched";

/// Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn ms_to_rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // civil_from_days
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_roundtrip() {
        let t = "2025-11-26T05:11:27.927Z";
        let ms = crate::time::parse_timestamp_ms(t).unwrap();
        assert_eq!(ms_to_rfc3339(ms), t);
        assert_eq!(ms_to_rfc3339(0), "1970-01-01T00:00:00.000Z");
    }
}
