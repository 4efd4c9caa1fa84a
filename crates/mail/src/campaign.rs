//! Incremental campaign clustering. Each message's [`Features`] become weighted tokens; a new
//! message joins the campaign of the most similar earlier message when their weighted Jaccard
//! similarity (Σ weights of shared tokens / Σ weights of all tokens of both) reaches the
//! threshold (default 0.45), else it starts a new campaign. Attachment TLSH digests also count
//! as shared when they are near (TLSH distance ≤ [`TLSH_NEAR`]), so a re-packed or slightly
//! edited payload still links. Candidates come from an inverted index over the tokens of
//! weight ≥ 1, so adding is cheap even with many messages; a message that shares only a *near*
//! TLSH (no exact token) with earlier ones is not found as a candidate.
//!
//! [`best_match`] is the same assignment rule for callers that keep the messages elsewhere
//! (the hub keeps them in its database and passes the candidates in): the same [`similarity`]
//! (the index's merge over token ids is tested equal to it), threshold and tie rule.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::features::Features;

/// Largest TLSH distance at which two attachment digests count as the same payload.
pub const TLSH_NEAR: i32 = 50;

/// The similarity at which a message joins a campaign unless told otherwise.
pub const DEFAULT_THRESHOLD: f64 = 0.45;

/// Tokens of at least this weight find candidates; lighter ones only add to the similarity.
pub const LINK_WEIGHT: f64 = 1.0;

/// Tokens as [`similarity`] compares them.
pub type Tokens = BTreeMap<String, f64>;

/// The campaign of the most similar candidate whose similarity reaches `threshold`, if any.
/// Candidates are `(tokens, campaign)` of earlier messages, oldest first; on a tie the later
/// one wins (as in [`CampaignIndex::add`]).
pub fn best_match<'a, C: Copy + 'a>(
    tokens: &Tokens,
    candidates: impl IntoIterator<Item = (&'a Tokens, C)>,
    threshold: f64,
) -> Option<C> {
    let mut best: Option<(f64, C)> = None;
    for (t, c) in candidates {
        let s = similarity(tokens, t);
        if s >= threshold && best.is_none_or(|(b, _)| s >= b) {
            best = Some((s, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Identifier of a campaign within one index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct CampaignId(pub u32);

#[derive(Debug, Clone)]
pub struct CampaignIndex {
    threshold: f64,
    /// Token text → small id, so stored messages compare as sorted integer lists.
    vocab: HashMap<String, u32>,
    messages: Vec<Entry>,
    /// Token id (weight ≥ 1 only) → messages holding it.
    inverted: HashMap<u32, Vec<usize>>,
    sizes: Vec<usize>,
}

/// One stored message: its tokens sorted by id, their total weight, its attachment digests
/// parsed once, and its campaign.
#[derive(Clone)]
struct Entry {
    tokens: Vec<(u32, f64)>,
    total: f64,
    tlsh: Vec<(u32, tlsh2::TlshDefault, f64)>,
    campaign: CampaignId,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("tokens", &self.tokens)
            .field("tlsh", &self.tlsh.len())
            .field("campaign", &self.campaign)
            .finish()
    }
}

impl Default for CampaignIndex {
    fn default() -> Self {
        Self::new(DEFAULT_THRESHOLD)
    }
}

impl CampaignIndex {
    pub fn new(threshold: f64) -> Self {
        Self {
            threshold,
            vocab: HashMap::new(),
            messages: Vec::new(),
            inverted: HashMap::new(),
            sizes: Vec::new(),
        }
    }

    /// Adds a message and returns its campaign.
    pub fn add(&mut self, features: &Features) -> CampaignId {
        let entry = self.entry(features);
        let mut candidates: Vec<usize> = entry
            .tokens
            .iter()
            .filter(|(_, w)| *w >= LINK_WEIGHT)
            .filter_map(|(t, _)| self.inverted.get(t))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let best = candidates
            .iter()
            .map(|&i| {
                let other = &self.messages[i];
                (entry_similarity(&entry, other), other.campaign)
            })
            .filter(|(s, _)| *s >= self.threshold)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let id = match best {
            Some((_, id)) => id,
            None => {
                let id = CampaignId(u32::try_from(self.sizes.len()).unwrap_or(u32::MAX));
                self.sizes.push(0);
                id
            }
        };
        if let Some(n) = usize::try_from(id.0)
            .ok()
            .and_then(|i| self.sizes.get_mut(i))
        {
            *n += 1;
        }
        let index = self.messages.len();
        for (t, w) in &entry.tokens {
            if *w >= LINK_WEIGHT {
                self.inverted.entry(*t).or_default().push(index);
            }
        }
        self.messages.push(Entry {
            campaign: id,
            ..entry
        });
        id
    }

    /// The message's tokens as ids (new tokens join the vocabulary), deduplicated like a map.
    fn entry(&mut self, features: &Features) -> Entry {
        let mut tokens: Vec<(u32, f64)> = Vec::new();
        let mut tlsh = Vec::new();
        for (text, w) in features.tokens() {
            let next = u32::try_from(self.vocab.len()).unwrap_or(u32::MAX);
            let id = *self.vocab.entry(text.clone()).or_insert(next);
            if let Some(h) = text.strip_prefix("tlsh:").and_then(|h| h.parse().ok()) {
                tlsh.push((id, h, w));
            }
            tokens.push((id, w));
        }
        // A map keeps the last weight given for a token; so does this.
        tokens.reverse();
        tokens.sort_by_key(|(id, _)| *id);
        tokens.dedup_by_key(|(id, _)| *id);
        tlsh.reverse();
        tlsh.sort_by_key(|(id, _, _)| *id);
        tlsh.dedup_by_key(|(id, _, _)| *id);
        let total = tokens.iter().map(|(_, w)| w).sum();
        Entry {
            tokens,
            total,
            tlsh,
            campaign: CampaignId(u32::MAX),
        }
    }

    /// Messages in a campaign.
    pub fn size(&self, id: CampaignId) -> usize {
        usize::try_from(id.0)
            .ok()
            .and_then(|i| self.sizes.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// Number of campaigns.
    pub fn campaigns(&self) -> usize {
        self.sizes.len()
    }
}

/// [`similarity`] over two stored entries: a merge of sorted id lists instead of map lookups,
/// and TLSH digests already parsed.
fn entry_similarity(a: &Entry, b: &Entry) -> f64 {
    let (mut i, mut j) = (0, 0);
    let mut shared = 0.0;
    let mut shared_b = 0.0;
    while i < a.tokens.len() && j < b.tokens.len() {
        match a.tokens[i].0.cmp(&b.tokens[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += a.tokens[i].1;
                shared_b += b.tokens[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    let mut union = a.total + b.total - shared_b;
    if !a.tlsh.is_empty() && !b.tlsh.is_empty() {
        let in_other = |x: &[(u32, tlsh2::TlshDefault, f64)], id: u32| {
            x.binary_search_by_key(&id, |(t, _, _)| *t).is_ok()
        };
        let mut b_only: Vec<&tlsh2::TlshDefault> = b
            .tlsh
            .iter()
            .filter(|(t, _, _)| !in_other(&a.tlsh, *t))
            .map(|(_, h, _)| h)
            .collect();
        for (t, ha, w) in &a.tlsh {
            if in_other(&b.tlsh, *t) {
                continue;
            }
            if let Some(pos) = b_only.iter().position(|hb| ha.diff(hb, true) <= TLSH_NEAR) {
                b_only.swap_remove(pos);
                shared += w;
                union -= w;
            }
        }
    }
    if union <= 0.0 { 0.0 } else { shared / union }
}

/// Weighted Jaccard similarity of two token sets.
pub fn similarity(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> f64 {
    let mut shared = 0.0;
    let mut union = 0.0;
    for (t, w) in a {
        union += w;
        if b.contains_key(t) {
            shared += w;
        }
    }
    for (t, w) in b {
        if !a.contains_key(t) {
            union += w;
        }
    }
    // Near TLSH digests present on one side only: each pair counts once as shared.
    let only =
        |x: &BTreeMap<String, f64>, y: &BTreeMap<String, f64>| -> Vec<(tlsh2::TlshDefault, f64)> {
            x.iter()
                .filter(|(t, _)| !y.contains_key(*t))
                .filter_map(|(t, w)| {
                    t.strip_prefix("tlsh:")
                        .and_then(|h| h.parse().ok())
                        .map(|h| (h, *w))
                })
                .collect()
        };
    let (a_only, mut b_only) = (only(a, b), only(b, a));
    for (ha, w) in a_only {
        if let Some(pos) = b_only
            .iter()
            .position(|(hb, _)| ha.diff(hb, true) <= TLSH_NEAR)
        {
            b_only.swap_remove(pos);
            shared += w;
            union -= w;
        }
    }
    if union <= 0.0 { 0.0 } else { shared / union }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlsh(data: &[u8]) -> String {
        let t = tlsh2::TlshDefaultBuilder::build_from(data).expect("enough data");
        String::from_utf8(t.hash().to_vec()).expect("hex")
    }

    #[test]
    fn near_tlsh_links_edited_payloads() {
        let mut x: u32 = 12345;
        let data: Vec<u8> = (0..4000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8 % 32 + b'a'
            })
            .collect();
        let mut edited = data.clone();
        for i in (0..edited.len()).step_by(400) {
            edited[i] = b'Z';
        }
        let feat = |payload: &[u8]| Features {
            subject_template: Some("請求書 no.#".into()),
            language: "ja".into(),
            attachment_tlsh: [tlsh(payload)].into_iter().collect(),
            ..Features::default()
        };
        let (a, b) = (feat(&data), feat(&edited));
        assert_ne!(a.attachment_tlsh, b.attachment_tlsh);
        let ta: BTreeMap<String, f64> = a.tokens().into_iter().collect();
        let tb: BTreeMap<String, f64> = b.tokens().into_iter().collect();
        assert!((similarity(&ta, &tb) - 1.0).abs() < 1e-9);
        let mut index = CampaignIndex::default();
        assert_eq!(index.add(&a), index.add(&b));
        let other = Features {
            subject_template: Some("請求書 no.#".into()),
            language: "ja".into(),
            attachment_tlsh: [tlsh(
                &data.iter().rev().map(|c| c ^ 0x20).collect::<Vec<_>>(),
            )]
            .into_iter()
            .collect(),
            ..Features::default()
        };
        let to: BTreeMap<String, f64> = other.tokens().into_iter().collect();
        assert!(similarity(&ta, &to) < 0.45);
        // The index's merge over token ids gives the same figures as the map form.
        let mut ids = CampaignIndex::default();
        let (ea, eb, eo) = (ids.entry(&a), ids.entry(&b), ids.entry(&other));
        assert!((entry_similarity(&ea, &eb) - similarity(&ta, &tb)).abs() < 1e-9);
        assert!((entry_similarity(&ea, &eo) - similarity(&ta, &to)).abs() < 1e-9);
        assert!((entry_similarity(&eo, &ea) - similarity(&to, &ta)).abs() < 1e-9);
    }
}
