//! Incremental campaign clustering. Each message's [`Features`] become weighted tokens; a new
//! message joins the campaign of the most similar earlier message when their weighted Jaccard
//! similarity (Σ weights of shared tokens / Σ weights of all tokens of both) reaches the
//! threshold (default 0.45), else it starts a new campaign. Candidates come from an inverted
//! index over the tokens of weight ≥ 1, so adding is cheap even with many messages.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::features::Features;

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
    if union == 0.0 { 0.0 } else { shared / union }
}
