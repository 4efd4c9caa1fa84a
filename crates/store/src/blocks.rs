//! Event blocks: the storage format of ingested events. A batch's events are stored together,
//! up to [`MAX_BLOCK_EVENTS`] per row, as one zstd frame of records, with the block's time
//! range and, in one full-text row, the distinct *terms* of all its events: the words of their
//! values (lower-case, CJK as bigrams, see [`crate::fts`]) and one hashed term per
//! `field=value` pair. A search finds candidate blocks by their terms and time range, then
//! checks every event of those blocks exactly ([`EventFilter`]); the terms only narrow the
//! blocks read, so they may over-approximate (a hash collision, words from two events) but
//! never hide an event.
//!
//! One row and one index document per thousands of events instead of per event is what lets
//! the embedded store keep up with ingestion (docs/benchmarks.md, "Event storage").

use std::hash::Hasher;

use rustc_hash::FxHashSet as HashSet;

use serde_json::{Map, Value};

use crate::StoreError;
use crate::ingest::NewEvent;

/// Most events in one block (event ids are `block_id << ID_SHIFT | position`).
pub const MAX_BLOCK_EVENTS: usize = 1 << ID_SHIFT;
pub(crate) const ID_SHIFT: u32 = 12;
/// A block is closed early when its distinct terms reach this many bytes (PostgreSQL's
/// tsvector holds at most 1 MiB).
const MAX_TERM_BYTES: usize = 512 * 1024;
/// Longer words are not indexed (PostgreSQL refuses lexemes over 2 KiB); the exact check
/// still sees them.
pub(crate) const MAX_TERM_LEN: usize = 200;
/// zstd level: fast, about 5x on JSON events.
const ZSTD_LEVEL: i32 = 1;
/// Largest decompressed block accepted when reading (a corrupt frame cannot exhaust memory).
const MAX_BLOCK_BYTES: usize = 256 * 1024 * 1024;
/// The indexed columns, in record order, with the field names that filter on them.
pub(crate) const COLUMNS: [&str; 5] = [
    "event.dataset",
    "host.name",
    "source.ip",
    "destination.ip",
    "user.name",
];
const SEP: char = '\u{1f}';
/// Separates the values in [`NewEvent::text`] (any character that is not a letter or digit
/// splits words; this one also lets a block skip a value it has already indexed).
pub const TEXT_SEP: char = '\u{1f}';
/// Values at least this long are indexed once per block: a repeated value (provider GUIDs,
/// image paths, hashes, command lines) adds no new word, and looking it up costs less than
/// splitting it into words again.
const VALUE_DEDUP_MIN: usize = 16;
/// Bytes of a record beside its document: the time, five columns and separators (an
/// estimate that sizes a block's buffer; longer columns only make it grow).
const RECORD_OVERHEAD: usize = 96;

/// Fields whose `field=value` pairs are not indexed: event times, unique to nearly every
/// event (about 40 % of a block's terms), and never filtered on by exact value (time ranges
/// use the block's `ts_min`/`ts_max`). A filter on one of them still works: it checks every
/// event of the blocks in the time window.
const UNHASHED_FIELDS: [&str; 8] = [
    "@timestamp",
    "timestamp",
    "TimeCreated",
    "TimeCreated_SystemTime",
    "event.created",
    "event.ingested",
    "UtcTime",
    "Event.System.TimeCreated_attributes.SystemTime",
];

/// Field filters on single-word values that narrow the blocks (each doubles the alternatives
/// of the block query; further ones are still checked exactly).
const MAX_WORD_FILTERS: usize = 3;

/// Longest run of digits indexed as a word. Longer ones (epoch times, byte counts, record
/// ids) are nearly all unique; a search for one checks the events of every block in the
/// window instead.
const MAX_INDEXED_DIGITS: usize = 9;

/// Whether the pairs of this field get a hashed term.
pub fn hashed_field(field: &str) -> bool {
    !UNHASHED_FIELDS.contains(&field)
}

/// The word a value is when it is one indexed ASCII word (`4625`, `Security`, `taro`), in
/// lower case. Blocks index such a value's words, so an exact filter on it can narrow the
/// blocks by that word; a flat event therefore stores no hashed term for it (see
/// [`EventFilter::block_term_groups`]).
pub fn single_word(value: &str) -> Option<String> {
    is_single_word(value).then(|| value.to_ascii_lowercase())
}

/// Whether [`single_word`] gives a word, without building it (the ingest path only asks).
pub fn is_single_word(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric()) && indexed_word(value)
}

/// Whether a word (as [`crate::fts::index_words`] gives it) is indexed.
pub fn indexed_word(w: &str) -> bool {
    w.len() <= MAX_TERM_LEN
        && !(w.len() > MAX_INDEXED_DIGITS && w.bytes().all(|b| b.is_ascii_digit()))
}

/// Events encoded for storage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventBlock {
    pub ts_min: i64,
    pub ts_max: i64,
    pub count: i64,
    /// zstd frame of records `ts US dataset US host US source.ip US destination.ip US user US doc LF`.
    pub data: Vec<u8>,
    /// Distinct terms, separated by spaces, in no particular order.
    pub terms: String,
}

/// One decoded event of a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record<'a> {
    pub ts: i64,
    pub columns: [&'a str; 5],
    pub doc: &'a str,
}

/// The hash of a `field=value` pair (FNV-1a: stable across versions and processes).
pub fn field_hash(field: &str, value: &str) -> u64 {
    let mut h = fnv::FnvHasher::default();
    h.write(field.as_bytes());
    h.write_u8(0);
    h.write(value.as_bytes());
    h.finish()
}

/// The hashed term for an exact `field=value` filter.
pub(crate) fn field_term(field: &str, value: &str) -> String {
    hash_term(field_hash(field, value))
}

fn hash_term(h: u64) -> String {
    let mut out = String::with_capacity(HASH_TERM_LEN);
    push_hash_term(&mut out, h);
    out
}

/// Bytes of a hashed term: `f` and 16 lower-case hex digits.
const HASH_TERM_LEN: usize = 17;

/// Appends [`hash_term`] without formatting machinery (a block has thousands).
fn push_hash_term(out: &mut String, h: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('f');
    for shift in (0..16).rev() {
        out.push(char::from(HEX[((h >> (shift * 4)) & 0xf) as usize]));
    }
}

/// The field hashes of a document's scalar top-level values, as [`NewEvent::field_hashes`]
/// wants them.
pub fn doc_field_hashes(doc: &Map<String, Value>) -> Vec<u64> {
    doc.iter()
        .filter(|(k, _)| hashed_field(k))
        .filter_map(|(k, v)| scalar_text(v).map(|s| field_hash(k, &s)))
        .collect()
}

/// The scalar value of a document field as text (strings as they are, numbers and booleans
/// written out), which is what a field filter compares with.
pub(crate) fn scalar_text(v: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match v {
        Value::String(s) => Some(std::borrow::Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(std::borrow::Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(std::borrow::Cow::Borrowed(if *b {
            "true"
        } else {
            "false"
        })),
        _ => None,
    }
}

fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([SEP, '\n']) {
        std::borrow::Cow::Owned(s.replace([SEP, '\n'], " "))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

struct Builder<'a> {
    raw: String,
    /// Long values whose words are already in `terms`.
    values: HashSet<&'a str>,
    /// Reused by the word split for lower-casing.
    word: String,
    terms: HashSet<String>,
    fields: HashSet<u64>,
    term_bytes: usize,
    ts_min: i64,
    ts_max: i64,
    count: i64,
}

impl<'a> Builder<'a> {
    /// A builder whose record buffer holds `raw_bytes` without growing.
    fn new(raw_bytes: usize) -> Builder<'a> {
        Builder {
            raw: String::with_capacity(raw_bytes),
            values: HashSet::default(),
            word: String::new(),
            terms: HashSet::default(),
            fields: HashSet::default(),
            term_bytes: 0,
            ts_min: i64::MAX,
            ts_max: i64::MIN,
            count: 0,
        }
    }

    fn term(terms: &mut HashSet<String>, term_bytes: &mut usize, t: &str) {
        if indexed_word(t) && !terms.contains(t) {
            *term_bytes += t.len() + 1;
            terms.insert(t.to_owned());
        }
    }

    fn field(&mut self, h: u64) {
        if self.fields.insert(h) {
            self.term_bytes += HASH_TERM_LEN + 1;
        }
    }

    fn add(&mut self, e: &'a NewEvent) {
        use std::fmt::Write;
        self.ts_min = self.ts_min.min(e.ts);
        self.ts_max = self.ts_max.max(e.ts);
        self.count += 1;
        let cols = [
            &e.dataset,
            &e.host,
            &e.source_ip,
            &e.destination_ip,
            &e.user_name,
        ];
        let _ = write!(self.raw, "{}", e.ts);
        for (name, c) in COLUMNS.iter().zip(cols) {
            self.raw.push(SEP);
            if let Some(c) = c {
                let c = clean(c);
                self.raw.push_str(&c);
                self.field(field_hash(name, &c));
            }
        }
        self.raw.push(SEP);
        if e.doc.contains('\n') {
            self.raw.push_str(&e.doc.replace('\n', " "));
        } else {
            self.raw.push_str(&e.doc);
        }
        self.raw.push('\n');
        for v in e.text.split(TEXT_SEP) {
            if v.len() >= VALUE_DEDUP_MIN && !self.values.insert(v) {
                continue;
            }
            let (terms, bytes) = (&mut self.terms, &mut self.term_bytes);
            crate::fts::for_each_word_with(v, &mut self.word, |w| Self::term(terms, bytes, w));
        }
        match &e.field_hashes {
            Some(hs) => hs.iter().for_each(|h| self.field(*h)),
            None => {
                if let Ok(doc) = serde_json::from_str::<Map<String, Value>>(&e.doc) {
                    doc_field_hashes(&doc)
                        .into_iter()
                        .for_each(|h| self.field(h));
                }
            }
        }
    }

    fn finish(self) -> Result<EventBlock, StoreError> {
        let data = zstd::bulk::compress(self.raw.as_bytes(), ZSTD_LEVEL)
            .map_err(|e| StoreError::Invalid(format!("compressing an event block: {e}")))?;
        // In no particular order: FTS5 and `array_to_tsvector` sort a document's terms
        // themselves.
        let mut terms = String::with_capacity(self.term_bytes);
        for t in &self.terms {
            terms.push_str(t);
            terms.push(' ');
        }
        for h in self.fields {
            push_hash_term(&mut terms, h);
            terms.push(' ');
        }
        terms.pop();
        Ok(EventBlock {
            ts_min: self.ts_min,
            ts_max: self.ts_max,
            count: self.count,
            data,
            terms,
        })
    }
}

/// Encodes events into blocks of at most [`MAX_BLOCK_EVENTS`].
pub fn encode(events: &[NewEvent]) -> Result<Vec<EventBlock>, StoreError> {
    // The record buffer of the block starting at event `i`, sized once: growing a buffer of
    // megabytes by doubling copies it and faults in fresh pages each time.
    let raw_bytes = |i: usize| -> usize {
        events
            .iter()
            .skip(i)
            .take(MAX_BLOCK_EVENTS)
            .map(|e| e.doc.len() + RECORD_OVERHEAD)
            .sum()
    };
    let mut out = Vec::new();
    let mut b = Builder::new(raw_bytes(0));
    for (i, e) in events.iter().enumerate() {
        b.add(e);
        if b.count as usize >= MAX_BLOCK_EVENTS || b.term_bytes >= MAX_TERM_BYTES {
            let next = Builder::new(raw_bytes(i + 1));
            out.push(std::mem::replace(&mut b, next).finish()?);
        }
    }
    if b.count > 0 {
        out.push(b.finish()?);
    }
    Ok(out)
}

/// Decompresses a block's records.
pub(crate) fn decompress(data: &[u8]) -> Result<String, StoreError> {
    let mut out = Vec::new();
    let mut dec = zstd::stream::read::Decoder::new(data)
        .map_err(|e| StoreError::corrupt("event_blocks.data", e))?;
    let n = std::io::copy(
        &mut std::io::Read::take(&mut dec, MAX_BLOCK_BYTES as u64 + 1),
        &mut out,
    )
    .map_err(|e| StoreError::corrupt("event_blocks.data", e))?;
    if n as usize > MAX_BLOCK_BYTES {
        return Err(StoreError::corrupt(
            "event_blocks.data",
            "block larger than 256 MiB",
        ));
    }
    String::from_utf8(out).map_err(|e| StoreError::corrupt("event_blocks.data", e))
}

/// The records of a decompressed block, in their stored order.
pub(crate) fn records(raw: &str) -> impl Iterator<Item = Result<Record<'_>, StoreError>> {
    raw.split_terminator('\n').map(|line| {
        let mut parts = line.splitn(7, SEP);
        let ts = parts
            .next()
            .and_then(|t| t.parse::<i64>().ok())
            .ok_or_else(|| StoreError::corrupt("event_blocks.data", "record without a time"))?;
        let mut columns = [""; 5];
        for c in &mut columns {
            *c = parts.next().ok_or_else(|| {
                StoreError::corrupt("event_blocks.data", "record with missing columns")
            })?;
        }
        let doc = parts
            .next()
            .ok_or_else(|| StoreError::corrupt("event_blocks.data", "record without a document"))?;
        Ok(Record { ts, columns, doc })
    })
}

/// A condition on `event_blocks b` that its terms hold every word of at least one group
/// (the last word of a group as a prefix when given): the SQL around one bound query
/// string, in FTS5's syntax on SQLite and `tsquery` on PostgreSQL. Words are quoted as they
/// are; callers pass words as [`crate::fts::for_each_word`] gives them (letters and digits).
pub(crate) struct TermCondition {
    pub before: &'static str,
    pub query: String,
    pub after: &'static str,
}

pub(crate) fn term_condition(
    backend: crate::Backend,
    groups: &[(&[String], Option<&str>)],
) -> TermCondition {
    let sqlite = backend == crate::Backend::Sqlite;
    let group = |(whole, prefix): &(&[String], Option<&str>)| -> String {
        let mut m: Vec<String> = whole
            .iter()
            .map(|w| {
                if sqlite {
                    format!("\"{w}\"")
                } else {
                    format!("'{w}'")
                }
            })
            .collect();
        if let Some(p) = prefix {
            m.push(if sqlite {
                format!("\"{p}\" *")
            } else {
                format!("'{p}':*")
            });
        }
        m.join(if sqlite { " AND " } else { " & " })
    };
    let query = match groups {
        [one] => group(one),
        _ => groups
            .iter()
            .map(|g| format!("({})", group(g)))
            .collect::<Vec<_>>()
            .join(if sqlite { " OR " } else { " | " }),
    };
    if sqlite {
        TermCondition {
            before: " AND b.id IN (SELECT rowid FROM event_blocks_fts WHERE event_blocks_fts MATCH ",
            query,
            after: ")",
        }
    } else {
        TermCondition {
            before: " AND b.terms @@ to_tsquery('simple', ",
            query,
            after: ")",
        }
    }
}

/// A stored record as an event to store again (when a block is rewritten).
pub(crate) fn record_event(r: &Record<'_>) -> NewEvent {
    let col = |i: usize| Some(r.columns[i].to_owned()).filter(|c| !c.is_empty());
    let doc: Map<String, Value> = serde_json::from_str(r.doc).unwrap_or_default();
    NewEvent {
        ts: r.ts,
        dataset: col(0),
        host: col(1),
        source_ip: col(2),
        destination_ip: col(3),
        user_name: col(4),
        doc: r.doc.to_owned(),
        text: doc_text(&doc),
        field_hashes: Some(doc_field_hashes(&doc)),
    }
}

/// The text of a document as it is searched: its string and number values.
pub(crate) fn doc_text(doc: &Map<String, Value>) -> String {
    fn push(out: &mut String, v: &Value) {
        match v {
            Value::String(s) => {
                out.push_str(s);
                out.push(TEXT_SEP);
            }
            Value::Number(n) => {
                out.push_str(&n.to_string());
                out.push(TEXT_SEP);
            }
            Value::Array(a) => a.iter().for_each(|v| push(out, v)),
            _ => {}
        }
    }
    let mut out = String::new();
    for v in doc.values() {
        push(&mut out, v);
    }
    out
}

/// The exact test a stored event must pass: its text and field filters.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventFilter {
    /// The query's words (lower-case, CJK bigrams); they must follow each other, the last
    /// one as a prefix.
    pub words: Vec<String>,
    /// A query without words (only punctuation): a case-insensitive substring of the document.
    pub substring: Option<String>,
    pub fields: Vec<(String, String)>,
}

impl EventFilter {
    pub fn new(text: Option<&str>, fields: &[(String, String)]) -> EventFilter {
        let text = text.map(str::trim).filter(|t| !t.is_empty());
        let words: Vec<String> = text
            .map(crate::fts::index_words)
            .unwrap_or_default()
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        EventFilter {
            substring: match (text, words.is_empty()) {
                (Some(t), true) => Some(t.to_lowercase()),
                _ => None,
            },
            words,
            fields: fields.to_vec(),
        }
    }

    /// The terms a candidate block must hold, as alternatives (a block qualifies when it holds
    /// every whole term and the prefix of one group): the words but the last (whole), the last
    /// as a prefix, and per field filter its hashed term. A filter whose value is a single
    /// word is satisfied by the hashed term (older blocks, and values past the indexed text)
    /// or by the word (flat events store no hashed term for it), up to
    /// [`MAX_WORD_FILTERS`] such filters; further ones only narrow the exact check.
    pub fn block_term_groups(&self) -> Vec<(Vec<String>, Option<String>)> {
        let mut base: Vec<String> = Vec::new();
        let mut prefix = None;
        if let Some((last, rest)) = self.words.split_last() {
            base.extend(rest.iter().filter(|w| indexed_word(w)).cloned());
            // A number may continue into digits that are not indexed: no prefix term.
            if last.len() <= MAX_TERM_LEN && !last.bytes().all(|b| b.is_ascii_digit()) {
                prefix = Some(last.clone());
            }
        }
        let mut groups = vec![base];
        let mut word_filters = 0;
        for (f, v) in self.fields.iter().filter(|(f, _)| hashed_field(f)) {
            let hash = field_term(f, v);
            let word = single_word(v).filter(|_| !COLUMNS.contains(&f.as_str()));
            match word {
                None => groups.iter_mut().for_each(|g| g.push(hash.clone())),
                Some(_) if word_filters == MAX_WORD_FILTERS => {}
                Some(word) => {
                    word_filters += 1;
                    groups = groups
                        .into_iter()
                        .flat_map(|g| {
                            let mut by_word = g.clone();
                            by_word.push(word.clone());
                            let mut by_hash = g;
                            by_hash.push(hash.clone());
                            [by_hash, by_word]
                        })
                        .collect();
                }
            }
        }
        groups
            .into_iter()
            .map(|mut g| {
                g.sort_unstable();
                g.dedup();
                (g, prefix.clone())
            })
            .collect()
    }

    /// Whether the record passes; returns its parsed document when it does.
    pub fn admits(&self, r: &Record<'_>) -> Result<Option<Map<String, Value>>, StoreError> {
        if let Some(s) = &self.substring
            && !r.doc.to_lowercase().contains(s.as_str())
        {
            return Ok(None);
        }
        let doc: Map<String, Value> =
            serde_json::from_str(r.doc).map_err(|e| StoreError::corrupt("event document", e))?;
        for (f, v) in &self.fields {
            let ok = match COLUMNS.iter().position(|c| c == f) {
                Some(i) => r.columns[i] == v,
                None => doc
                    .get(f)
                    .and_then(scalar_text)
                    .is_some_and(|s| s.as_ref() == v),
            };
            if !ok {
                return Ok(None);
            }
        }
        if !self.words.is_empty() && !phrase_in(&self.words, &doc_text(&doc)) {
            return Ok(None);
        }
        Ok(Some(doc))
    }
}

/// Whether the words occur one after another in `text`, the last as a prefix.
fn phrase_in(words: &[String], text: &str) -> bool {
    let tokens = crate::fts::index_words(text);
    let tokens: Vec<&str> = tokens.split(' ').collect();
    let n = words.len();
    if n == 0 {
        return true;
    }
    tokens.windows(n).any(|w| {
        w.iter().zip(words).enumerate().all(|(i, (t, q))| {
            if i + 1 == n {
                t.starts_with(q.as_str())
            } else {
                t == q
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ts: i64, host: &str, doc: &str) -> NewEvent {
        let v: Map<String, Value> = serde_json::from_str(doc).unwrap();
        NewEvent {
            ts,
            host: Some(host.into()),
            doc: doc.into(),
            text: doc_text(&v),
            ..NewEvent::default()
        }
    }

    #[test]
    fn blocks_round_trip_and_hold_their_terms() {
        let events = vec![
            ev(
                2,
                "ws01",
                r#"{"message":"ログオン失敗 taro","EventID":4625}"#,
            ),
            ev(1, "ws\u{1f}02", r#"{"message":"PowerShell.exe -enc"}"#),
        ];
        let blocks = encode(&events).unwrap();
        assert_eq!(blocks.len(), 1);
        let b = &blocks[0];
        assert_eq!((b.ts_min, b.ts_max, b.count), (1, 2, 2));
        for t in ["ログ", "失敗", "taro", "powershell", "enc", "4625"] {
            assert!(b.terms.split(' ').any(|x| x == t), "{t} in {}", b.terms);
        }
        assert!(b.terms.contains(&field_term("EventID", "4625")));
        assert!(b.terms.contains(&field_term("host.name", "ws01")));
        let raw = decompress(&b.data).unwrap();
        let recs: Vec<Record> = records(&raw).collect::<Result<_, _>>().unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].columns[1], "ws01");
        assert_eq!(recs[1].columns[1], "ws 02");
        assert_eq!(recs[1].doc, r#"{"message":"PowerShell.exe -enc"}"#);
    }

    proptest::proptest! {
        /// A value repeated across a block's events is split into words once; the block's
        /// terms are still every word of every event, with any mix of repeats and cases.
        #[test]
        fn repeated_values_give_the_same_terms(
            picks in proptest::collection::vec((0usize..6, 0usize..6), 1..40)
        ) {
            const VALUES: [&str; 6] = [
                "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                "SHA256=0123456789ABCDEF0123456789abcdef",
                "ログオン失敗 for user taro@example.go.jp",
                "4625",
                "short",
                "Microsoft-Windows-Security-Auditing",
            ];
            let events: Vec<NewEvent> = picks
                .iter()
                .enumerate()
                .map(|(i, (a, b))| {
                    let doc = serde_json::json!({"a": VALUES[*a], "b": VALUES[*b], "n": i});
                    let Value::Object(m) = doc else { unreachable!() };
                    ev(i as i64, "h", &Value::Object(m).to_string())
                })
                .collect();
            let blocks = encode(&events).unwrap();
            let mut expected: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
            for e in &events {
                crate::fts::for_each_word(&e.text.replace(TEXT_SEP, " "), |w| {
                    if indexed_word(w) {
                        expected.insert(w.to_owned());
                    }
                });
            }
            let got: std::collections::BTreeSet<String> = blocks[0]
                .terms
                .split(' ')
                .filter(|t| !(t.len() == 17 && t.starts_with('f')))
                .map(str::to_owned)
                .collect();
            proptest::prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn hashed_terms_are_f_and_sixteen_hex_digits() {
        for h in [0, 1, 0xdead_beef, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(hash_term(h), format!("f{h:016x}"));
        }
    }

    #[test]
    fn blocks_split_at_the_event_limit() {
        let events: Vec<NewEvent> = (0..MAX_BLOCK_EVENTS as i64 + 3)
            .map(|i| ev(i, "h", r#"{"a":1}"#))
            .collect();
        let blocks = encode(&events).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[1].count, 3);
    }

    #[test]
    fn the_filter_checks_phrases_prefixes_fields_and_substrings() {
        let rec = Record {
            ts: 1,
            columns: ["Security", "dc01", "", "", "taro"],
            doc: r#"{"message":"ログオン失敗 PowerShell.exe -enc","EventID":4625}"#,
        };
        let f = |t: Option<&str>, fields: &[(&str, &str)]| {
            let fields: Vec<(String, String)> = fields
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            EventFilter::new(t, &fields).admits(&rec).unwrap().is_some()
        };
        assert!(f(Some("ログオン"), &[]));
        assert!(f(Some("powershell.ex"), &[]));
        assert!(!f(Some("exe powershell"), &[]));
        assert!(f(None, &[("host.name", "dc01"), ("EventID", "4625")]));
        assert!(!f(None, &[("host.name", "dc02")]));
        assert!(f(Some("-enc"), &[]));
        assert!(f(Some("--"), &[]) == rec.doc.contains("--"));
        let groups = EventFilter::new(Some("PowerShell.ex"), &[]).block_term_groups();
        assert_eq!(
            groups,
            vec![(vec!["powershell".to_owned()], Some("ex".to_owned()))]
        );
        // A single-word value: its hashed term or its word; other values: the hashed term;
        // a column: always its hashed term.
        let fields = |f: &[(&str, &str)]| -> Vec<(String, String)> {
            f.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let groups = EventFilter::new(
            None,
            &fields(&[
                ("EventID", "4625"),
                ("Image", "C:\\x.exe"),
                ("host.name", "dc01"),
            ]),
        )
        .block_term_groups();
        let (id, image, host) = (
            field_term("EventID", "4625"),
            field_term("Image", "C:\\x.exe"),
            field_term("host.name", "dc01"),
        );
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        assert_eq!(
            groups,
            vec![
                (sorted(vec![id, image.clone(), host.clone()]), None),
                (sorted(vec!["4625".into(), image, host]), None),
            ]
        );
        let many: Vec<(String, String)> =
            (0..5).map(|i| (format!("F{i}"), format!("v{i}"))).collect();
        assert_eq!(EventFilter::new(None, &many).block_term_groups().len(), 8);
    }
}
