//! Keeps the STIX objects derived from a report in step with it: called after every change to a
//! report. The rows carry the report's marking, so TAXII reads obey the same policy; anonymous
//! reports are attributed to the anonymous member identity in every copy.

use mamori_model::ReportId;
use mamori_stix::StixObject;
use mamori_store::stix::NewStixRow;

use crate::ApiError;
use crate::sharing::ShareCtx;

/// The row for one object under a marking.
pub fn row(o: &StixObject, marking: &mamori_model::Marking, fallback_version: &str) -> NewStixRow {
    let version = o
        .modified
        .as_ref()
        .or(o.created.as_ref())
        .map_or_else(|| fallback_version.to_owned(), |t| t.as_str().to_owned());
    let version_micros = mamori_stix::timestamp::Timestamp::parse(&version)
        .map(|t| i64::try_from(t.unix_nanos() / 1000).unwrap_or(i64::MAX))
        .unwrap_or(0);
    NewStixRow {
        id: o.id.as_str().to_owned(),
        version,
        version_micros,
        object_type: o.object_type.clone(),
        spec_version: o.spec_version.clone().unwrap_or_else(|| "2.1".to_owned()),
        json: o.to_json_value().to_string(),
        tlp: marking.tlp,
        owner_org: marking.owner_org,
        sharing_group: marking.sharing_group,
        indicator: super::indicators::posted_indicator(o),
    }
}

/// Re-derives and stores the STIX objects of a report.
pub async fn sync_report(cx: &ShareCtx<'_>, id: ReportId) -> Result<(), ApiError> {
    let stored = cx.store.get_report(id).await?;
    let author = if stored.report.anonymous {
        None
    } else {
        let org = cx.store.get_org(stored.owner_org).await?;
        Some((org.id, org.name_en.clone()))
    };
    let indicators = cx.store.report_indicators(id).await?;
    let observables = cx.store.report_observables(id).await?;
    let mut objects =
        super::export::report_objects(&stored.report, author, &indicators, &observables);
    let notes = cx.store.report_notes(id).await?;
    objects.extend(super::export::note_objects(&stored.report, &notes));
    let marking = stored.report.marking(stored.owner_org);
    let fallback = mamori_stix::timestamp::Timestamp::from_unix_millis(stored.report.modified_at);
    let rows: Vec<NewStixRow> = objects
        .iter()
        .map(|o| row(o, &marking, fallback.as_str()))
        .collect();
    cx.store.replace_report_objects(id, &rows).await?;
    Ok(())
}
