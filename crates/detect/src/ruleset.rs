//! Loading rule files into an immutable [`Ruleset`] (compile once, scan many) and the
//! scanning entry point [`Ruleset::scan`] with its [`FindingSink`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::correlation::{Correlation, Ref, compile_correlation};
use crate::error::RuleError;
use crate::event::EventView;
use crate::mapping::{FieldMapping, Route, Router};
use crate::prefilter::Prefilter;
use crate::sigma::ast::{DocKind, RawDoc, collect_docs};
use crate::sigma::compile::{CompiledRule, compile_filter, compile_rule};
use crate::sigma::modifiers::Placeholders;
use crate::sigma::yaml::parse_documents;

/// Receives rule matches (and indicator hits); return `false` to stop scanning the current
/// event.
pub trait FindingSink {
    /// Called for each rule that matches `event`.
    fn on_match(&mut self, rule_index: usize, rule: &CompiledRule, event: &EventView) -> bool;

    /// Called for each indicator found in `event` (by [`crate::Detector::scan`]).
    fn on_ioc(&mut self, hit: &crate::ioc::IocHit<'_>, event: &EventView) -> bool {
        let _ = (hit, event);
        true
    }
}

impl<F: FnMut(usize, &CompiledRule, &EventView) -> bool> FindingSink for F {
    fn on_match(&mut self, rule_index: usize, rule: &CompiledRule, event: &EventView) -> bool {
        self(rule_index, rule, event)
    }
}

/// Collects rule documents and builds a [`Ruleset`].
#[derive(Debug, Default)]
pub struct RulesetBuilder {
    docs: Vec<RawDoc>,
    errors: Vec<RuleError>,
    placeholders: Placeholders,
    files: usize,
}

/// Whether a path looks like a Sigma rule file.
pub fn is_rule_file(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

impl RulesetBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets placeholder values for the `expand` modifier.
    pub fn placeholders(&mut self, ph: Placeholders) -> &mut Self {
        self.placeholders = ph;
        self
    }

    /// Adds a rule file or every `.yml`/`.yaml` under a directory (sorted, recursive).
    pub fn add_path(&mut self, path: &Path) -> &mut Self {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = walkdir::WalkDir::new(path)
                .follow_links(true)
                .into_iter()
                .filter_map(|e| match e {
                    Ok(e) => Some(e),
                    Err(err) => {
                        self.errors.push(RuleError::new(
                            err.path().unwrap_or(path).display().to_string(),
                            0,
                            None,
                            format!("cannot read: {err}"),
                        ));
                        None
                    }
                })
                .filter(|e| e.file_type().is_file() && is_rule_file(e.path()))
                .map(|e| e.into_path())
                .collect();
            files.sort();
            // Read and parse in parallel; merge in file order.
            let parsed: Vec<_> = files.par_iter().map(|f| parse_file(f)).collect();
            for p in parsed {
                self.files += 1;
                match p {
                    Ok(docs) => self.docs.extend(docs),
                    Err(e) => self.errors.push(e),
                }
            }
        } else {
            self.add_file(path);
        }
        self
    }

    fn add_file(&mut self, path: &Path) {
        self.files += 1;
        match parse_file(path) {
            Ok(docs) => self.docs.extend(docs),
            Err(e) => self.errors.push(e),
        }
    }

    /// Adds the documents of one YAML text named `name`.
    pub fn add_source(&mut self, name: &str, text: &str) -> &mut Self {
        self.files += 1;
        match parse_source(name, text) {
            Ok(docs) => self.docs.extend(docs),
            Err(e) => self.errors.push(e),
        }
        self
    }

    /// Compiles everything. Invalid rules are reported and left out; the rest load.
    pub fn build(self) -> (Ruleset, Vec<RuleError>) {
        let RulesetBuilder {
            docs,
            mut errors,
            placeholders,
            files,
        } = self;
        let mut rules: Vec<CompiledRule> = Vec::new();
        let mut filters = Vec::new();
        let mut correlations = Vec::new();
        let compiled: Vec<_> = docs
            .par_iter()
            .map(|d| (d.kind() == Some(DocKind::Detection)).then(|| compile_rule(d, &placeholders)))
            .collect();
        for (d, compiled) in docs.iter().zip(compiled) {
            let title = d.meta().title;
            match d.kind() {
                Some(DocKind::Detection) => match compiled.unwrap_or_else(|| {
                    Err(crate::sigma::compile::CompileError {
                        line: d.line,
                        message: "internal: rule not compiled".into(),
                    })
                }) {
                    Ok(r) => {
                        for (line, w) in &r.warnings {
                            errors.push(RuleError::warning(
                                d.file.to_string(),
                                *line,
                                Some(title.clone()),
                                w.clone(),
                            ));
                        }
                        rules.push(r);
                    }
                    Err(e) => errors.push(RuleError::new(
                        d.file.to_string(),
                        e.line.max(d.line),
                        Some(title),
                        e.message,
                    )),
                },
                Some(DocKind::Filter) => filters.push(d),
                Some(DocKind::Correlation) => correlations.push(d),
                None => errors.push(RuleError::new(
                    d.file.to_string(),
                    d.line,
                    Some(title),
                    "document has no detection, correlation or filter section".into(),
                )),
            }
        }
        let mut by_ref: HashMap<String, usize> = HashMap::new();
        for (i, r) in rules.iter().enumerate() {
            if !r.meta.id.is_empty() {
                by_ref.entry(r.meta.id.clone()).or_insert(i);
            }
            if let Some(n) = &r.meta.name {
                by_ref.entry(n.clone()).or_insert(i);
            }
        }
        let mut filter_count = 0;
        for d in filters {
            let title = d.meta().title;
            match compile_filter(d, &placeholders) {
                Ok((f, targets)) => {
                    filter_count += 1;
                    for t in targets {
                        match by_ref.get(&t) {
                            Some(&i) => {
                                if let Some(r) = rules.get_mut(i) {
                                    r.filters.push(f.clone());
                                }
                            }
                            None => errors.push(RuleError::warning(
                                d.file.to_string(),
                                d.line,
                                Some(title.clone()),
                                format!("filter target '{t}' is not loaded"),
                            )),
                        }
                    }
                }
                Err(e) => errors.push(RuleError::new(
                    d.file.to_string(),
                    e.line.max(d.line),
                    Some(title),
                    e.message,
                )),
            }
        }
        let (corrs, corr_errors) = compile_correlations(&correlations, &by_ref);
        errors.extend(corr_errors);
        let router = Router::new(rules.iter().map(|r| &r.route));
        let prefilter = Prefilter::new(&rules);
        let mut suppressed = vec![false; rules.len()];
        let mut corr_of_rule: Vec<Vec<usize>> = vec![Vec::new(); rules.len()];
        let mut corr_suppressed = vec![false; corrs.len()];
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); corrs.len()];
        for (ci, c) in corrs.iter().enumerate() {
            for r in &c.rules {
                let (list, supp) = match *r {
                    Ref::Rule(i) => (corr_of_rule.get_mut(i), suppressed.get_mut(i)),
                    Ref::Corr(j) => (dependents.get_mut(j), corr_suppressed.get_mut(j)),
                };
                if let Some(v) = list {
                    v.push(ci);
                }
                if !c.generate
                    && let Some(s) = supp
                {
                    *s = true;
                }
            }
        }
        (
            Ruleset {
                rules,
                correlations: corrs,
                corr_of_rule,
                corr_suppressed,
                dependents,
                suppressed,
                router,
                prefilter,
                mapping: FieldMapping::builtin(),
                files,
                filters: filter_count,
            },
            errors,
        )
    }
}

fn parse_file(path: &Path) -> Result<Vec<RawDoc>, RuleError> {
    let name = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => parse_source(&name, &String::from_utf8_lossy(&bytes)),
        Err(e) => Err(RuleError::new(name, 0, None, format!("cannot read: {e}"))),
    }
}

fn parse_source(name: &str, text: &str) -> Result<Vec<RawDoc>, RuleError> {
    let file: Arc<str> = Arc::from(name);
    let nodes = parse_documents(text).map_err(|e| {
        RuleError::new(
            name.to_owned(),
            e.line,
            None,
            format!("YAML: {}", e.message),
        )
    })?;
    collect_docs(&file, nodes).map_err(|(line, m)| RuleError::new(name.to_owned(), line, None, m))
}

/// Compiles correlation documents. References resolve to detection rules first, then to
/// other correlations. Correlations whose references are rejected or form a cycle are
/// rejected too; the rest are returned sorted so that each comes after those it refers to.
fn compile_correlations(
    docs: &[&RawDoc],
    rule_refs: &HashMap<String, usize>,
) -> (Vec<Correlation>, Vec<RuleError>) {
    let mut errors = Vec::new();
    let mut corr_refs: HashMap<String, usize> = HashMap::new();
    for (i, d) in docs.iter().enumerate() {
        let m = d.meta();
        if !m.id.is_empty() {
            corr_refs.entry(m.id).or_insert(i);
        }
        if let Some(n) = m.name {
            corr_refs.entry(n).or_insert(i);
        }
    }
    let lookup = |r: &str| {
        rule_refs
            .get(r)
            .map(|&i| Ref::Rule(i))
            .or_else(|| corr_refs.get(r).map(|&i| Ref::Corr(i)))
    };
    let err = |d: &RawDoc, line: u32, m: String| {
        RuleError::new(
            d.file.to_string(),
            line.max(d.line),
            Some(d.meta().title),
            m,
        )
    };
    let mut compiled: Vec<Option<Correlation>> = docs
        .iter()
        .map(|d| match compile_correlation(d, &lookup) {
            Ok(c) => Some(c),
            Err((line, m)) => {
                errors.push(err(d, line, m));
                None
            }
        })
        .collect();
    // Topological order; whatever cannot be placed refers to a rejected correlation or is
    // part of a cycle.
    let mut order: Vec<usize> = Vec::new();
    let mut placed = vec![false; compiled.len()];
    loop {
        let next = (0..compiled.len()).find(|&i| {
            !placed[i]
                && compiled[i].as_ref().is_some_and(|c| {
                    c.rules.iter().all(|r| match r {
                        Ref::Corr(j) => placed.get(*j).copied().unwrap_or(false),
                        Ref::Rule(_) => true,
                    })
                })
        });
        match next {
            Some(i) => {
                placed[i] = true;
                order.push(i);
            }
            None => break,
        }
    }
    for (i, d) in docs.iter().enumerate() {
        if !placed[i] && compiled[i].is_some() {
            errors.push(err(
                d,
                d.line,
                "correlation refers to a rejected correlation or to itself (cycle)".into(),
            ));
        }
    }
    let mut new_index = vec![usize::MAX; compiled.len()];
    for (n, &old) in order.iter().enumerate() {
        new_index[old] = n;
    }
    let map = |old: usize| new_index.get(old).copied().unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(order.len());
    for old in order {
        if let Some(mut c) = compiled.get_mut(old).and_then(Option::take) {
            c.remap_correlations(&map);
            out.push(c);
        }
    }
    (out, errors)
}

/// An immutable, compiled set of rules.
#[derive(Debug)]
pub struct Ruleset {
    rules: Vec<CompiledRule>,
    correlations: Vec<Correlation>,
    corr_of_rule: Vec<Vec<usize>>,
    corr_suppressed: Vec<bool>,
    dependents: Vec<Vec<usize>>,
    suppressed: Vec<bool>,
    router: Router,
    prefilter: Prefilter,
    mapping: FieldMapping,
    files: usize,
    filters: usize,
}

impl Ruleset {
    /// The detection rules.
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// The correlation rules.
    pub fn correlations(&self) -> &[Correlation] {
        &self.correlations
    }

    /// Correlations that reference rule `i`.
    pub fn correlations_of(&self, i: usize) -> &[usize] {
        self.corr_of_rule.get(i).map_or(&[], Vec::as_slice)
    }

    /// Correlations that refer to correlation `j` (always with a higher index: correlations
    /// are sorted so that each comes after those it refers to).
    pub fn correlation_dependents(&self, j: usize) -> &[usize] {
        self.dependents.get(j).map_or(&[], Vec::as_slice)
    }

    /// Whether correlation `j` only feeds other correlations (`generate: false`).
    pub fn is_correlation_suppressed(&self, j: usize) -> bool {
        self.corr_suppressed.get(j).copied().unwrap_or(false)
    }

    /// Whether rule `i` only feeds correlations (`generate: false`).
    pub fn is_suppressed(&self, i: usize) -> bool {
        self.suppressed.get(i).copied().unwrap_or(false)
    }

    /// Number of rule files read.
    pub fn files(&self) -> usize {
        self.files
    }

    /// Number of meta filter rules loaded.
    pub fn filter_count(&self) -> usize {
        self.filters
    }

    /// The field mapping applied by [`Ruleset::prepare`].
    pub fn mapping(&self) -> &FieldMapping {
        &self.mapping
    }

    /// Replaces the field mapping (e.g. with a user file merged in).
    pub fn set_mapping(&mut self, m: FieldMapping) {
        self.mapping = m;
    }

    /// Applies the field mapping to an event (call once per event before scanning).
    pub fn prepare(&self, ev: &mut EventView) {
        self.mapping.apply(ev);
    }

    /// Evaluates every rule whose logsource fits the event; calls the sink per match.
    pub fn scan(&self, ev: &EventView, sink: &mut dyn FindingSink) {
        // The literal scan runs once, when the first routed rule with literals needs it:
        // events that only few literal-free rules see skip it.
        let mut found = None;
        self.router.for_each(ev, |i| {
            let Some(r) = self.rules.get(i) else {
                return true;
            };
            let may = !self.prefilter.needs_scan(i)
                || self
                    .prefilter
                    .may_match(i, found.get_or_insert_with(|| self.prefilter.scan(ev)));
            if may && r.matches(ev) {
                sink.on_match(i, r, ev)
            } else {
                true
            }
        });
    }

    /// Like [`Ruleset::scan`] without the literal prefilter (for tests and benchmarks).
    pub fn scan_without_prefilter(&self, ev: &EventView, sink: &mut dyn FindingSink) {
        self.router.for_each(ev, |i| match self.rules.get(i) {
            Some(r) if r.matches(ev) => sink.on_match(i, r, ev),
            _ => true,
        });
    }

    /// (rules routed to the event, of which pass the prefilter): evaluation work per event.
    pub fn candidates(&self, ev: &EventView) -> (usize, usize) {
        let found = self.prefilter.scan(ev);
        let (mut routed, mut passed) = (0, 0);
        self.router.for_each(ev, |i| {
            routed += 1;
            passed += usize::from(self.prefilter.may_match(i, &found));
            true
        });
        (routed, passed)
    }

    /// Rules that pass the prefilter for an event (diagnostics).
    pub fn candidate_rules(&self, ev: &EventView) -> Vec<usize> {
        let found = self.prefilter.scan(ev);
        let mut out = Vec::new();
        self.router.for_each(ev, |i| {
            if self.prefilter.may_match(i, &found) {
                out.push(i);
            }
            true
        });
        out
    }

    /// Heap bytes of the prefilter automata.
    pub fn prefilter_memory(&self) -> usize {
        self.prefilter.memory_usage()
    }

    /// Whether rule `i` is guarded by the literal prefilter (diagnostics).
    pub fn prefilter_guarded(&self, i: usize) -> bool {
        self.prefilter.needs_scan(i)
    }

    /// Number of rules guarded by the literal prefilter.
    pub fn prefiltered_rules(&self) -> usize {
        self.prefilter.guarded_rules()
    }

    /// Evaluates every rule against the event ignoring logsource routing (for tests).
    pub fn scan_unrouted(&self, ev: &EventView, sink: &mut dyn FindingSink) {
        for (i, r) in self.rules.iter().enumerate() {
            if r.matches(ev) && !sink.on_match(i, r, ev) {
                return;
            }
        }
    }

    /// Number of rules per route kind: (channel-routed, any-windows, non-windows).
    pub fn route_stats(&self) -> (usize, usize, usize) {
        let mut s = (0, 0, 0);
        for r in &self.rules {
            match r.route {
                Route::Channels(_) => s.0 += 1,
                Route::AnyWindows => s.1 += 1,
                Route::NonWindows => s.2 += 1,
            }
        }
        s
    }
}
