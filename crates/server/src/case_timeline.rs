//! Reading a case timeline: filtered by source (manual, alert, alert-evidence, hunt, mail, sla,
//! share, report) and by text, in either order, and exported as JSON or CSV.

use mamori_store::cases::TimelineEntry;
use serde::Deserialize;

use crate::ApiError;
use crate::cases::{CaseCtx, load};
use crate::ops::Actor;

/// How to read a timeline.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct TimelineQuery {
    /// Only entries from this source.
    pub source: Option<String>,
    /// Only entries whose text contains this (case-insensitive).
    pub q: Option<String>,
    /// `asc` (default, oldest first) or `desc`.
    pub order: Option<String>,
    /// Entries at or after this time (ms since the epoch).
    pub from: Option<i64>,
    /// Entries before this time.
    pub until: Option<i64>,
}

/// Applies a query to entries in time order.
pub fn filter(
    entries: Vec<TimelineEntry>,
    q: &TimelineQuery,
) -> Result<Vec<TimelineEntry>, ApiError> {
    let needle =
        q.q.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
    let source = q.source.as_deref().filter(|s| !s.is_empty());
    let mut out: Vec<TimelineEntry> = entries
        .into_iter()
        .filter(|e| source.is_none_or(|s| e.source == s))
        .filter(|e| q.from.is_none_or(|f| e.at >= f))
        .filter(|e| q.until.is_none_or(|u| e.at < u))
        .filter(|e| {
            needle
                .as_ref()
                .is_none_or(|n| e.text.to_lowercase().contains(n.as_str()))
        })
        .collect();
    match q.order.as_deref() {
        None | Some("") | Some("asc") => {}
        Some("desc") => out.reverse(),
        Some(other) => {
            return Err(ApiError::Invalid(format!(
                "order {other:?}: use asc or desc"
            )));
        }
    }
    Ok(out)
}

/// The timeline of a case the actor takes part in, filtered.
pub async fn read(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    case: &str,
    q: &TimelineQuery,
) -> Result<Vec<TimelineEntry>, ApiError> {
    let c = load(cx.store, actor, case).await?;
    crate::ops::audit_read(cx.store, actor, "case", case, c.tlp).await?;
    filter(cx.store.case_timeline(case).await?, q)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// CSV with a header: at (RFC 3339), at_ms, source, text, created_by.
pub fn to_csv(entries: &[TimelineEntry]) -> String {
    let mut out = String::from("at,at_ms,source,text,created_by\n");
    for e in entries {
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            mamori_detect::hunt::ms_to_rfc3339(e.at),
            e.at,
            csv_field(&e.source),
            csv_field(&e.text),
            csv_field(e.created_by.as_deref().unwrap_or(""))
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn e(at: i64, source: &str, text: &str) -> TimelineEntry {
        TimelineEntry {
            id: at.to_string(),
            at,
            source: source.into(),
            text: text.into(),
            created_by: None,
        }
    }

    #[test]
    fn filters_orders_and_exports() {
        let all = vec![
            e(1, "alert", "Alert: Encoded PowerShell"),
            e(2, "manual", "受信者3名が開封, \"至急\""),
            e(3, "hunt", "[high] powershell on ws1"),
        ];
        let q = TimelineQuery {
            q: Some("PowerShell".into()),
            order: Some("desc".into()),
            ..Default::default()
        };
        let got: Vec<i64> = filter(all.clone(), &q)
            .unwrap()
            .iter()
            .map(|e| e.at)
            .collect();
        assert_eq!(got, [3, 1]);
        let q = TimelineQuery {
            source: Some("manual".into()),
            ..Default::default()
        };
        assert_eq!(filter(all.clone(), &q).unwrap().len(), 1);
        let q = TimelineQuery {
            from: Some(2),
            until: Some(3),
            ..Default::default()
        };
        assert_eq!(filter(all.clone(), &q).unwrap()[0].at, 2);
        assert!(
            filter(
                all.clone(),
                &TimelineQuery {
                    order: Some("up".into()),
                    ..Default::default()
                }
            )
            .is_err()
        );
        let csv = to_csv(&all);
        assert!(
            csv.starts_with("at,at_ms,source,text,created_by\n1970-01-01T00:00:00.001Z,1,alert,")
        );
        assert!(csv.contains("\"受信者3名が開封, \"\"至急\"\"\""));
    }
}
