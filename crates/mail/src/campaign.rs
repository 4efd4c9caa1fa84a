//! Incremental campaign clustering. Each message's [`Features`] become weighted tokens; a new
//! message joins the campaign of the most similar earlier message when their weighted Jaccard
//! similarity (Σ weights of shared tokens / Σ weights of all tokens of both) reaches the
//! threshold (default 0.45), else it starts a new campaign. Attachment TLSH digests also count
//! as shared when they are near (TLSH distance ≤ [`TLSH_NEAR`]), so a re-packed or slightly
//! edited payload still links. Candidates come from an inverted index over the tokens of
//! weight ≥ 1, so adding is cheap even with many messages; a message that shares only a *near*
//! TLSH (no exact token) with earlier ones is not found as a candidate.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::features::Features;

/// Largest TLSH distance at which two attachment digests count as the same payload.
pub const TLSH_NEAR: i32 = 50;

/// Identifier of a campaign within one index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct CampaignId(pub u32);

#[derive(Debug, Clone)]
pub struct CampaignIndex {
    threshold: f64,
    messages: Vec<(BTreeMap<String, f64>, CampaignId)>,
    inverted: HashMap<String, Vec<usize>>,
    sizes: Vec<usize>,
}

impl Default for CampaignIndex {
    fn default() -> Self {
        Self::new(0.45)
    }
}

impl CampaignIndex {
    pub fn new(threshold: f64) -> Self {
        Self {
            threshold,
            messages: Vec::new(),
            inverted: HashMap::new(),
            sizes: Vec::new(),
        }
    }

    /// Adds a message and returns its campaign.
    pub fn add(&mut self, features: &Features) -> CampaignId {
        let tokens: BTreeMap<String, f64> = features.tokens().into_iter().collect();
        let mut candidates: Vec<usize> = tokens
            .iter()
            .filter(|(_, w)| **w >= 1.0)
            .filter_map(|(t, _)| self.inverted.get(t))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let best = candidates
            .iter()
            .map(|&i| (similarity(&tokens, &self.messages[i].0), self.messages[i].1))
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
        for (t, w) in &tokens {
            if *w >= 1.0 {
                self.inverted.entry(t.clone()).or_default().push(index);
            }
        }
        self.messages.push((tokens, id));
        id
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
    }
}
