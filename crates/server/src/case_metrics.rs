//! Response metrics over the cases a caller takes part in (all of them for hub administrators):
//! median minutes from opening to acknowledgement, to containment and to closure, per owner
//! organisation and per incident type (the playbook a case was opened with).

use std::collections::BTreeMap;

use mamori_store::cases::Case;
use serde::Serialize;

use crate::ApiError;
use crate::cases::{CaseCtx, org_scope};
use crate::ops::Actor;

/// The durations of one group of cases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Durations {
    /// Organisation slug or incident type (`-` for cases opened without a playbook).
    pub group: String,
    pub cases: usize,
    /// Median minutes to acknowledge, over the cases acknowledged so far.
    pub acknowledge_minutes: Option<i64>,
    pub contain_minutes: Option<i64>,
    pub close_minutes: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseMetrics {
    pub by_org: Vec<Durations>,
    pub by_type: Vec<Durations>,
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    })
}

fn durations(group: String, cases: &[&Case]) -> Durations {
    let mins = |f: fn(&Case) -> Option<i64>| {
        median(
            cases
                .iter()
                .filter_map(|c| f(c).map(|t| (t - c.created_at).max(0) / 60_000))
                .collect(),
        )
    };
    Durations {
        group,
        cases: cases.len(),
        acknowledge_minutes: mins(|c| c.acknowledged_at),
        contain_minutes: mins(|c| c.contained_at),
        close_minutes: mins(|c| c.closed_at),
    }
}

/// Groups `cases` by owner organisation (named by `org_name`) and by incident type.
pub fn compute(cases: &[Case], org_name: &dyn Fn(&Case) -> String) -> CaseMetrics {
    let mut by_org: BTreeMap<String, Vec<&Case>> = BTreeMap::new();
    let mut by_type: BTreeMap<String, Vec<&Case>> = BTreeMap::new();
    for c in cases {
        by_org.entry(org_name(c)).or_default().push(c);
        let t = if c.incident_type.is_empty() {
            "-".to_owned()
        } else {
            c.incident_type.clone()
        };
        by_type.entry(t).or_default().push(c);
    }
    CaseMetrics {
        by_org: by_org.into_iter().map(|(g, v)| durations(g, &v)).collect(),
        by_type: by_type.into_iter().map(|(g, v)| durations(g, &v)).collect(),
    }
}

/// The metrics over the cases the actor may see; organisations by slug.
pub async fn metrics(cx: &CaseCtx<'_>, actor: &Actor) -> Result<CaseMetrics, ApiError> {
    let cases = cx.store.list_cases(org_scope(actor)).await?;
    let mut slugs = BTreeMap::new();
    for c in &cases {
        if let std::collections::btree_map::Entry::Vacant(e) = slugs.entry(c.owner_org) {
            let slug = cx
                .store
                .get_org(c.owner_org)
                .await
                .map(|o| o.slug)
                .unwrap_or_else(|_| c.owner_org.to_string());
            e.insert(slug);
        }
    }
    Ok(compute(&cases, &|c| {
        slugs
            .get(&c.owner_org)
            .cloned()
            .unwrap_or_else(|| c.owner_org.to_string())
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn medians() {
        assert_eq!(super::median(vec![]), None);
        assert_eq!(super::median(vec![5, 1, 3]), Some(3));
        assert_eq!(super::median(vec![4, 1, 3, 10]), Some(3));
    }
}
