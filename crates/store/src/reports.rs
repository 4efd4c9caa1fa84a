//! Reports, their indicators and observables, correlations between reports and sightings. Every
//! list and search here takes the access policy's [`VisibilityFilter`] and applies it in SQL
//! (`visibility::predicate`); single reads return the stored owner so that the caller can ask the
//! policy before showing anything.

use mamori_access::VisibilityFilter;
use mamori_model::{
    GroupId, Indicator, IndicatorId, Observable, ObservableId, OrgId, Report, ReportId, Sighting,
    SightingId, SightingSource, Tlp, UserId, ValueKind,
};
use serde::Serialize;

use crate::BeginWrite;
use crate::visibility::{MarkingColumns, predicate};
use crate::{Page, PageRequest, Store, StoreError, now_millis, on_pool};

/// A report to store, with its first indicators and observables (values already normalised).
#[derive(Debug, Clone)]
pub struct NewReport {
    pub title: String,
    pub description: String,
    pub owner_org: OrgId,
    pub anonymous: bool,
    pub tlp: Tlp,
    pub sharing_group: Option<GroupId>,
    pub recipients: Vec<OrgId>,
    pub confidence: Option<u8>,
    pub labels: Vec<String>,
    pub attack_techniques: Vec<String>,
    pub created_by: Option<UserId>,
    pub indicators: Vec<NewIndicator>,
    pub observables: Vec<NewObservable>,
}

#[derive(Debug, Clone, Default)]
pub struct NewIndicator {
    pub kind: Option<ValueKind>,
    pub value: Option<String>,
    pub pattern: Option<String>,
    pub description: String,
    pub valid_from: Option<i64>,
    pub valid_until: Option<i64>,
    pub kill_chain_phases: Vec<String>,
    pub confidence: Option<u8>,
}

#[derive(Debug, Clone)]
pub struct NewObservable {
    pub kind: ValueKind,
    pub value: String,
    pub comment: String,
}

/// A report as stored: `report.author_org` is always set here; callers hide it from readers of an
/// anonymous submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReport {
    pub report: Report,
    pub owner_org: OrgId,
}

/// Changes to a report's text and reach.
#[derive(Debug, Clone, Default)]
pub struct ReportPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub tlp: Option<Tlp>,
    pub sharing_group: Option<Option<GroupId>>,
    pub recipients: Option<Vec<OrgId>>,
    pub confidence: Option<Option<u8>>,
    pub labels: Option<Vec<String>>,
    pub attack_techniques: Option<Vec<String>>,
}

/// Filters for listing reports.
#[derive(Debug, Clone, Default)]
pub struct ReportQuery {
    /// Text to find in title, description and labels (case-insensitive substring, so it works
    /// for Japanese without word segmentation).
    pub text: Option<String>,
    pub tlp: Option<Tlp>,
    pub include_revoked: bool,
}

/// Another visible report that shares a value with the one at hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Correlation {
    pub kind: ValueKind,
    pub value: String,
    #[schema(value_type = String)]
    pub report_id: ReportId,
    pub report_title: String,
    pub report_tlp: Tlp,
}

/// Where a value appears, in reports the reader may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ValueHit {
    pub kind: ValueKind,
    pub value: String,
    /// `indicator` or `observable`.
    pub item: String,
    pub item_id: String,
    #[schema(value_type = String)]
    pub report_id: ReportId,
    pub report_title: String,
    pub report_tlp: Tlp,
}

/// Sightings of one value, aggregated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SightingStats {
    pub count: i64,
    pub organisations: i64,
    pub last_seen: Option<i64>,
    pub false_positives: i64,
}

const REPORT_COLUMNS: &str = "r.id, r.title, r.description, r.owner_org, r.anonymous, r.tlp_rank, \
    r.sharing_group, r.confidence, r.labels, r.attack_techniques, r.revoked, r.created_by, \
    r.created_at, r.modified_at";

const COLS: MarkingColumns<'static> = MarkingColumns {
    id: "r.id",
    tlp_rank: "r.tlp_rank",
    owner_org: "r.owner_org",
    sharing_group: "r.sharing_group",
    recipients_table: "report_recipients",
};

#[derive(sqlx::FromRow)]
struct ReportRow {
    id: String,
    title: String,
    description: String,
    owner_org: String,
    anonymous: bool,
    tlp_rank: i64,
    sharing_group: Option<String>,
    confidence: Option<i64>,
    labels: String,
    attack_techniques: String,
    revoked: bool,
    created_by: Option<String>,
    created_at: i64,
    modified_at: i64,
}

fn parse<T: std::str::FromStr>(col: &'static str, s: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| StoreError::corrupt(col, e))
}

fn tlp(rank: i64) -> Result<Tlp, StoreError> {
    Tlp::from_rank(rank).ok_or_else(|| StoreError::corrupt("tlp_rank", rank))
}

fn pct(v: Option<i64>) -> Option<u8> {
    v.and_then(|c| u8::try_from(c.clamp(0, 100)).ok())
}

impl ReportRow {
    fn into_stored(self, recipients: Vec<OrgId>) -> Result<StoredReport, StoreError> {
        let owner: OrgId = parse("reports.owner_org", &self.owner_org)?;
        Ok(StoredReport {
            owner_org: owner,
            report: Report {
                id: parse("reports.id", &self.id)?,
                title: self.title,
                description: self.description,
                author_org: Some(owner),
                anonymous: self.anonymous,
                tlp: tlp(self.tlp_rank)?,
                sharing_group: self
                    .sharing_group
                    .as_deref()
                    .map(|g| parse("reports.sharing_group", g))
                    .transpose()?,
                recipients,
                confidence: pct(self.confidence),
                labels: serde_json::from_str(&self.labels)
                    .map_err(|e| StoreError::corrupt("reports.labels", e))?,
                attack_techniques: serde_json::from_str(&self.attack_techniques)
                    .map_err(|e| StoreError::corrupt("reports.attack_techniques", e))?,
                revoked: self.revoked,
                created_by: self
                    .created_by
                    .as_deref()
                    .map(|u| parse("reports.created_by", u))
                    .transpose()?,
                created_at: self.created_at,
                modified_at: self.modified_at,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
struct IndicatorRow {
    id: String,
    report_id: String,
    kind: Option<String>,
    value: Option<String>,
    pattern: Option<String>,
    description: String,
    valid_from: i64,
    valid_until: Option<i64>,
    kill_chain_phases: String,
    confidence: Option<i64>,
    created_at: i64,
}

impl IndicatorRow {
    fn into_indicator(self) -> Result<Indicator, StoreError> {
        Ok(Indicator {
            id: parse("indicators.id", &self.id)?,
            report_id: parse("indicators.report_id", &self.report_id)?,
            kind: self
                .kind
                .as_deref()
                .map(|k| parse("indicators.kind", k))
                .transpose()?,
            value: self.value,
            pattern: self.pattern,
            description: self.description,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            kill_chain_phases: serde_json::from_str(&self.kill_chain_phases)
                .map_err(|e| StoreError::corrupt("indicators.kill_chain_phases", e))?,
            confidence: pct(self.confidence),
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ObservableRow {
    id: String,
    report_id: String,
    kind: String,
    value: String,
    comment: String,
    created_at: i64,
}

impl ObservableRow {
    fn into_observable(self) -> Result<Observable, StoreError> {
        Ok(Observable {
            id: parse("observables.id", &self.id)?,
            report_id: parse("observables.report_id", &self.report_id)?,
            kind: parse("observables.kind", &self.kind)?,
            value: self.value,
            comment: self.comment,
            created_at: self.created_at,
        })
    }
}

fn json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn search_text(title: &str, description: &str, labels: &[String]) -> String {
    format!("{title}\n{description}\n{}", labels.join(" ")).to_lowercase()
}

fn check_report_text(title: &str, description: &str) -> Result<(), StoreError> {
    if title.trim().is_empty() || title.chars().count() > 500 {
        return Err(StoreError::Invalid(
            "a report needs a title of 1-500 characters".into(),
        ));
    }
    if description.len() > 1_000_000 {
        return Err(StoreError::Invalid(
            "the description is limited to 1 MB".into(),
        ));
    }
    Ok(())
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

const INSERT_INDICATOR: &str = "INSERT INTO indicators (id, report_id, kind, value, pattern, \
    description, valid_from, valid_until, kill_chain_phases, confidence, created_at) \
    VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)";
const INSERT_OBSERVABLE: &str = "INSERT INTO observables (id, report_id, kind, value, comment, \
    created_at) VALUES ($1,$2,$3,$4,$5,$6)";

fn indicator_of(report: ReportId, n: &NewIndicator, now: i64) -> Result<Indicator, StoreError> {
    if n.value.is_none() && n.pattern.is_none() {
        return Err(StoreError::Invalid(
            "an indicator needs a value or a pattern".into(),
        ));
    }
    if n.value.is_some() && n.kind.is_none() {
        return Err(StoreError::Invalid(
            "an indicator value needs a kind".into(),
        ));
    }
    let valid_from = n.valid_from.unwrap_or(now);
    if n.valid_until.is_some_and(|u| u <= valid_from) {
        return Err(StoreError::Invalid(
            "valid_until must lie after valid_from".into(),
        ));
    }
    Ok(Indicator {
        id: IndicatorId::new(),
        report_id: report,
        kind: n.kind,
        value: n.value.clone(),
        pattern: n.pattern.clone(),
        description: n.description.clone(),
        valid_from,
        valid_until: n.valid_until,
        kill_chain_phases: n.kill_chain_phases.clone(),
        confidence: n.confidence.map(|c| c.min(100)),
        created_at: now,
    })
}

impl Store {
    /// Stores a report with its recipients, indicators and observables, all or nothing.
    pub async fn create_report(&self, new: &NewReport) -> Result<StoredReport, StoreError> {
        check_report_text(&new.title, &new.description)?;
        let now = now_millis();
        let id = ReportId::new();
        let indicators = new
            .indicators
            .iter()
            .map(|n| indicator_of(id, n, now))
            .collect::<Result<Vec<_>, _>>()?;
        let labels = json(&new.labels)?;
        let techniques = json(&new.attack_techniques)?;
        let text = search_text(&new.title, &new.description, &new.labels);
        let mut recipients = new.recipients.clone();
        recipients.sort();
        recipients.dedup();
        const SQL: &str = "INSERT INTO reports (id, title, description, owner_org, anonymous, \
            tlp_rank, sharing_group, confidence, labels, attack_techniques, revoked, created_by, \
            created_at, modified_at, search_text) \
            VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$13,$14)";
        let result: Result<(), sqlx::Error> = on_pool!(self, |pool| async {
            let mut tx = pool.begin_write().await?;
            sqlx::query(SQL)
                .bind(id.to_string())
                .bind(new.title.trim())
                .bind(&new.description)
                .bind(new.owner_org.to_string())
                .bind(new.anonymous)
                .bind(new.tlp.rank())
                .bind(new.sharing_group.map(|g| g.to_string()))
                .bind(new.confidence.map(|c| i64::from(c.min(100))))
                .bind(&labels)
                .bind(&techniques)
                .bind(false)
                .bind(new.created_by.map(|u| u.to_string()))
                .bind(now)
                .bind(&text)
                .execute(&mut *tx)
                .await?;
            for r in &recipients {
                sqlx::query("INSERT INTO report_recipients (object_id, org_id) VALUES ($1,$2)")
                    .bind(id.to_string())
                    .bind(r.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
            for i in &indicators {
                sqlx::query(INSERT_INDICATOR)
                    .bind(i.id.to_string())
                    .bind(id.to_string())
                    .bind(i.kind.map(|k| k.as_str()))
                    .bind(&i.value)
                    .bind(&i.pattern)
                    .bind(&i.description)
                    .bind(i.valid_from)
                    .bind(i.valid_until)
                    .bind(
                        serde_json::to_string(&i.kill_chain_phases).unwrap_or_else(|_| "[]".into()),
                    )
                    .bind(i.confidence.map(i64::from))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            for o in &new.observables {
                sqlx::query(INSERT_OBSERVABLE)
                    .bind(ObservableId::new().to_string())
                    .bind(id.to_string())
                    .bind(o.kind.as_str())
                    .bind(&o.value)
                    .bind(&o.comment)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        }
        .await);
        result.map_err(|e| match StoreError::from(e) {
            StoreError::Reference(_) => {
                StoreError::Invalid("an organisation or sharing group given does not exist".into())
            }
            other => other,
        })?;
        self.get_report(id).await
    }

    pub async fn get_report(&self, id: ReportId) -> Result<StoredReport, StoreError> {
        let sql = format!("SELECT {REPORT_COLUMNS} FROM reports r WHERE r.id = $1");
        let row: Option<ReportRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(id.to_string())
        .fetch_optional(pool)
        .await)?;
        let row = row.ok_or(StoreError::NotFound("report"))?;
        let recipients = self.recipients_of(std::slice::from_ref(&row.id)).await?;
        let mine = recipients
            .into_iter()
            .filter(|(r, _)| *r == row.id)
            .map(|(_, o)| o)
            .collect();
        row.into_stored(mine)
    }

    async fn recipients_of(&self, ids: &[String]) -> Result<Vec<(String, OrgId)>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let params: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT object_id, org_id FROM report_recipients WHERE object_id IN ({}) ORDER BY org_id",
            params.join(",")
        );
        let rows: Vec<(String, String)> = on_pool!(self, |pool| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
            for id in ids {
                q = q.bind(id);
            }
            q.fetch_all(pool).await
        })?;
        rows.into_iter()
            .map(|(r, o)| Ok((r, parse("report_recipients.org_id", &o)?)))
            .collect()
    }

    /// Reports the filter admits, newest id last (cursor order).
    pub async fn list_reports(
        &self,
        filter: &VisibilityFilter,
        query: &ReportQuery,
        page: &PageRequest,
    ) -> Result<Page<StoredReport>, StoreError> {
        let vis = predicate(filter, &COLS, 2);
        let n = 2 + vis.binds.len();
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM reports r WHERE r.id > $1 AND {vis} \
             AND (${t} = '' OR r.search_text LIKE ${t} ESCAPE '\\') \
             AND (${k} < 0 OR r.tlp_rank = ${k}) AND (${rv} = 1 OR NOT r.revoked) \
             ORDER BY r.id LIMIT ${l}",
            vis = vis.sql,
            t = n,
            k = n + 1,
            rv = n + 2,
            l = n + 3,
        );
        let text = query
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(like_escape)
            .unwrap_or_default();
        let rows: Vec<ReportRow> = on_pool!(self, |pool| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(page.after_key());
            for b in &vis.binds {
                q = q.bind(b);
            }
            q.bind(&text)
                .bind(query.tlp.map_or(-1, Tlp::rank))
                .bind(i64::from(query.include_revoked))
                .bind(page.fetch_limit())
                .fetch_all(pool)
                .await
        })?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let recipients = self.recipients_of(&ids).await?;
        let reports = rows
            .into_iter()
            .map(|row| {
                let mine = recipients
                    .iter()
                    .filter(|(r, _)| *r == row.id)
                    .map(|(_, o)| *o)
                    .collect();
                row.into_stored(mine)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(reports, page, |r| r.report.id.to_string()))
    }

    pub async fn update_report(
        &self,
        id: ReportId,
        patch: &ReportPatch,
    ) -> Result<StoredReport, StoreError> {
        let mut cur = self.get_report(id).await?.report;
        if let Some(v) = &patch.title {
            cur.title = v.trim().to_owned();
        }
        if let Some(v) = &patch.description {
            cur.description = v.clone();
        }
        if let Some(v) = patch.tlp {
            cur.tlp = v;
        }
        if let Some(v) = patch.sharing_group {
            cur.sharing_group = v;
        }
        if let Some(v) = patch.confidence {
            cur.confidence = v.map(|c| c.min(100));
        }
        if let Some(v) = &patch.labels {
            cur.labels = v.clone();
        }
        if let Some(v) = &patch.attack_techniques {
            cur.attack_techniques = v.clone();
        }
        check_report_text(&cur.title, &cur.description)?;
        let labels = json(&cur.labels)?;
        let techniques = json(&cur.attack_techniques)?;
        let text = search_text(&cur.title, &cur.description, &cur.labels);
        let now = now_millis();
        const SQL: &str = "UPDATE reports SET title=$1, description=$2, tlp_rank=$3, \
            sharing_group=$4, confidence=$5, labels=$6, attack_techniques=$7, modified_at=$8, \
            search_text=$9 WHERE id=$10";
        let recipients = patch.recipients.clone();
        let result: Result<(), sqlx::Error> = on_pool!(self, |pool| async {
            let mut tx = pool.begin_write().await?;
            sqlx::query(SQL)
                .bind(&cur.title)
                .bind(&cur.description)
                .bind(cur.tlp.rank())
                .bind(cur.sharing_group.map(|g| g.to_string()))
                .bind(cur.confidence.map(i64::from))
                .bind(&labels)
                .bind(&techniques)
                .bind(now)
                .bind(&text)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            if let Some(list) = &recipients {
                sqlx::query("DELETE FROM report_recipients WHERE object_id = $1")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                let mut list = list.clone();
                list.sort();
                list.dedup();
                for r in list {
                    sqlx::query("INSERT INTO report_recipients (object_id, org_id) VALUES ($1,$2)")
                        .bind(id.to_string())
                        .bind(r.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await
        }
        .await);
        result.map_err(|e| match StoreError::from(e) {
            StoreError::Reference(_) => {
                StoreError::Invalid("an organisation or sharing group given does not exist".into())
            }
            other => other,
        })?;
        self.get_report(id).await
    }

    /// Marks a report revoked (it stays readable by whoever could read it, flagged as such).
    pub async fn revoke_report(&self, id: ReportId) -> Result<StoredReport, StoreError> {
        let n = on_pool!(self, |pool| sqlx::query(
            "UPDATE reports SET revoked = $1, modified_at = $2 WHERE id = $3"
        )
        .bind(true)
        .bind(now_millis())
        .bind(id.to_string())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound("report"));
        }
        self.get_report(id).await
    }

    pub async fn add_indicator(
        &self,
        report: ReportId,
        new: &NewIndicator,
    ) -> Result<Indicator, StoreError> {
        let now = now_millis();
        let i = indicator_of(report, new, now)?;
        on_pool!(self, |pool| sqlx::query(INSERT_INDICATOR)
            .bind(i.id.to_string())
            .bind(report.to_string())
            .bind(i.kind.map(|k| k.as_str()))
            .bind(&i.value)
            .bind(&i.pattern)
            .bind(&i.description)
            .bind(i.valid_from)
            .bind(i.valid_until)
            .bind(json(&i.kill_chain_phases)?)
            .bind(i.confidence.map(i64::from))
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(|e| match StoreError::from(e) {
            StoreError::Reference(_) => StoreError::NotFound("report"),
            other => other,
        })?;
        self.touch_report(report, now).await?;
        Ok(i)
    }

    pub async fn add_observable(
        &self,
        report: ReportId,
        new: &NewObservable,
    ) -> Result<Observable, StoreError> {
        let now = now_millis();
        let o = Observable {
            id: ObservableId::new(),
            report_id: report,
            kind: new.kind,
            value: new.value.clone(),
            comment: new.comment.clone(),
            created_at: now,
        };
        on_pool!(self, |pool| sqlx::query(INSERT_OBSERVABLE)
            .bind(o.id.to_string())
            .bind(report.to_string())
            .bind(o.kind.as_str())
            .bind(&o.value)
            .bind(&o.comment)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(|e| match StoreError::from(e) {
            StoreError::Reference(_) => StoreError::NotFound("report"),
            other => other,
        })?;
        self.touch_report(report, now).await?;
        Ok(o)
    }

    async fn touch_report(&self, id: ReportId, now: i64) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "UPDATE reports SET modified_at = $1 WHERE id = $2"
        )
        .bind(now)
        .bind(id.to_string())
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    pub async fn report_indicators(&self, id: ReportId) -> Result<Vec<Indicator>, StoreError> {
        let rows: Vec<IndicatorRow> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, report_id, kind, value, pattern, description, valid_from, valid_until, \
             kill_chain_phases, confidence, created_at FROM indicators WHERE report_id = $1 ORDER BY id"
        )
        .bind(id.to_string())
        .fetch_all(pool)
        .await
        })?;
        rows.into_iter().map(IndicatorRow::into_indicator).collect()
    }

    pub async fn report_observables(&self, id: ReportId) -> Result<Vec<Observable>, StoreError> {
        let rows: Vec<ObservableRow> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT id, report_id, kind, value, comment, created_at FROM observables \
             WHERE report_id = $1 ORDER BY id"
        )
        .bind(id.to_string())
        .fetch_all(pool)
        .await)?;
        rows.into_iter()
            .map(ObservableRow::into_observable)
            .collect()
    }

    /// Other reports the filter admits that share an indicator or observable value with this one.
    pub async fn correlations(
        &self,
        id: ReportId,
        filter: &VisibilityFilter,
    ) -> Result<Vec<Correlation>, StoreError> {
        let vis = predicate(filter, &COLS, 2);
        let sql = format!(
            "SELECT DISTINCT v.kind, v.value, r.id, r.title, r.tlp_rank FROM \
             (SELECT kind, value FROM indicators WHERE report_id = $1 AND value IS NOT NULL \
              UNION SELECT kind, value FROM observables WHERE report_id = $1) mine \
             JOIN (SELECT report_id, kind, value FROM indicators WHERE value IS NOT NULL \
                   UNION ALL SELECT report_id, kind, value FROM observables) v \
               ON v.kind = mine.kind AND v.value = mine.value \
             JOIN reports r ON r.id = v.report_id \
             WHERE r.id <> $1 AND {} ORDER BY v.kind, v.value, r.id LIMIT 1000",
            vis.sql
        );
        let rows: Vec<(String, String, String, String, i64)> = on_pool!(self, |pool| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id.to_string());
            for b in &vis.binds {
                q = q.bind(b);
            }
            q.fetch_all(pool).await
        })?;
        rows.into_iter()
            .map(|(k, v, r, t, rank)| {
                Ok(Correlation {
                    kind: parse("indicators.kind", &k)?,
                    value: v,
                    report_id: parse("reports.id", &r)?,
                    report_title: t,
                    report_tlp: tlp(rank)?,
                })
            })
            .collect()
    }

    /// Where a (normalised) value appears in reports the filter admits.
    pub async fn find_value(
        &self,
        kind: Option<ValueKind>,
        value: &str,
        filter: &VisibilityFilter,
        limit: u32,
    ) -> Result<Vec<ValueHit>, StoreError> {
        let vis = predicate(filter, &COLS, 3);
        let lim = 3 + vis.binds.len();
        let sql = format!(
            "SELECT v.item, v.id, v.kind, v.value, r.id, r.title, r.tlp_rank FROM \
             (SELECT 'indicator' AS item, id, report_id, kind, value FROM indicators WHERE value = $1 \
              UNION ALL SELECT 'observable' AS item, id, report_id, kind, value FROM observables WHERE value = $1) v \
             JOIN reports r ON r.id = v.report_id \
             WHERE ($2 = '' OR v.kind = $2) AND {} ORDER BY r.id, v.id LIMIT ${lim}",
            vis.sql
        );
        let kind_text = kind.map(|k| k.as_str()).unwrap_or("");
        let rows: Vec<(String, String, String, String, String, String, i64)> =
            on_pool!(self, |pool| {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(value)
                    .bind(kind_text);
                for b in &vis.binds {
                    q = q.bind(b);
                }
                q.bind(i64::from(limit.clamp(1, 1000)))
                    .fetch_all(pool)
                    .await
            })?;
        rows.into_iter()
            .map(|(item, item_id, k, v, r, t, rank)| {
                Ok(ValueHit {
                    kind: parse("indicators.kind", &k)?,
                    value: v,
                    item,
                    item_id,
                    report_id: parse("reports.id", &r)?,
                    report_title: t,
                    report_tlp: tlp(rank)?,
                })
            })
            .collect()
    }

    /// Indicators of reports the filter admits (for scoring, exports and the detection engine).
    pub async fn list_indicators(
        &self,
        filter: &VisibilityFilter,
        page: &PageRequest,
    ) -> Result<Page<(Indicator, Option<u8>, Tlp)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            ind: IndicatorRow,
            report_confidence: Option<i64>,
            report_tlp: i64,
        }
        let vis = predicate(filter, &COLS, 2);
        let lim = 2 + vis.binds.len();
        let sql = format!(
            "SELECT i.id, i.report_id, i.kind, i.value, i.pattern, i.description, i.valid_from, \
             i.valid_until, i.kill_chain_phases, i.confidence, i.created_at, \
             r.confidence AS report_confidence, r.tlp_rank AS report_tlp \
             FROM indicators i JOIN reports r ON r.id = i.report_id \
             WHERE i.id > $1 AND NOT r.revoked AND {} ORDER BY i.id LIMIT ${lim}",
            vis.sql
        );
        let rows: Vec<Row> = on_pool!(self, |pool| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(page.after_key());
            for b in &vis.binds {
                q = q.bind(b);
            }
            q.bind(page.fetch_limit()).fetch_all(pool).await
        })?;
        let items = rows
            .into_iter()
            .map(|r| {
                Ok((
                    r.ind.into_indicator()?,
                    pct(r.report_confidence),
                    tlp(r.report_tlp)?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page::from_rows(items, page, |(i, _, _)| i.id.to_string()))
    }

    pub async fn add_sighting(
        &self,
        kind: ValueKind,
        value: &str,
        org: OrgId,
        source: SightingSource,
        count: u32,
        seen_at: i64,
    ) -> Result<Sighting, StoreError> {
        let s = Sighting {
            id: SightingId::new(),
            kind,
            value: value.to_owned(),
            org_id: org,
            source,
            count: count.max(1),
            seen_at,
            created_at: now_millis(),
        };
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO sightings (id, kind, value, org_id, source, count, seen_at, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8)"
        )
        .bind(s.id.to_string())
        .bind(kind.as_str())
        .bind(value)
        .bind(org.to_string())
        .bind(source.as_str())
        .bind(i64::from(s.count))
        .bind(seen_at)
        .bind(s.created_at)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(s)
    }

    /// Aggregated sightings of a value: counts and organisations, never who.
    pub async fn sighting_stats(
        &self,
        kind: ValueKind,
        value: &str,
    ) -> Result<SightingStats, StoreError> {
        self.sighting_stats_by(kind.as_str(), value).await
    }

    /// Aggregated sightings of a STIX pattern indicator (the detection engine records them
    /// under [`PATTERN_SIGHTING_KIND`] and [`pattern_sighting_value`] of the pattern text).
    pub async fn pattern_sighting_stats(&self, pattern: &str) -> Result<SightingStats, StoreError> {
        self.sighting_stats_by(PATTERN_SIGHTING_KIND, &pattern_sighting_value(pattern))
            .await
    }

    async fn sighting_stats_by(
        &self,
        kind: &str,
        value: &str,
    ) -> Result<SightingStats, StoreError> {
        let row: (Option<i64>, i64, Option<i64>, Option<i64>) = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT CAST(SUM(CASE WHEN source <> 'false-positive' THEN count ELSE 0 END) AS BIGINT), \
                    COUNT(DISTINCT org_id), \
                    MAX(CASE WHEN source <> 'false-positive' THEN seen_at END), \
                    CAST(SUM(CASE WHEN source = 'false-positive' THEN 1 ELSE 0 END) AS BIGINT) \
             FROM sightings WHERE kind = $1 AND value = $2"
        )
        .bind(kind)
        .bind(value)
        .fetch_one(pool)
        .await
        })?;
        Ok(SightingStats {
            count: row.0.unwrap_or(0),
            organisations: row.1,
            last_seen: row.2,
            false_positives: row.3.unwrap_or(0),
        })
    }
}

/// The `kind` under which detection sightings of a STIX pattern indicator are stored (beside
/// the [`ValueKind`] names of value sightings; the column is free text).
pub const PATTERN_SIGHTING_KIND: &str = "stix-pattern";

/// Longest pattern text stored as its own sighting value; longer ones are keyed by a digest so
/// that the `(kind, value)` index entries and alert keys stay small on both backends.
pub const PATTERN_SIGHTING_TEXT_MAX: usize = 256;

/// The sighting value of a pattern indicator: the pattern text as stored when it is at most
/// [`PATTERN_SIGHTING_TEXT_MAX`] bytes, else `sha256:<hex of the text>`. Indicators with the
/// same pattern text share their sightings, as indicators with the same value do.
pub fn pattern_sighting_value(pattern: &str) -> String {
    if pattern.len() <= PATTERN_SIGHTING_TEXT_MAX {
        return pattern.to_owned();
    }
    use sha2::Digest as _;
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(pattern.as_bytes()))
    )
}

/// What a shared indicator matches: a typed, normalised value, or a STIX pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DetectionMatch {
    Value { kind: ValueKind, value: String },
    Pattern(String),
}

/// A shared indicator as the detection engine needs it: what to match and who may learn that
/// it matched (the marking of the report, or of the posted STIX object, it came from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectionIndicator {
    pub matches: DetectionMatch,
    pub marking: mamori_model::Marking,
}

#[derive(sqlx::FromRow)]
struct DetectionRow {
    id: String,
    kind: Option<String>,
    value: Option<String>,
    pattern: Option<String>,
    owner_org: String,
    tlp_rank: i64,
    sharing_group: Option<String>,
}

impl Store {
    /// Every valid indicator of every live report, with the report's marking, and the latest
    /// version of every indicator posted to a TAXII collection (over TAXII, by `share pull`
    /// or with an imported bundle) that is neither revoked nor expired, with the marking of its
    /// collection. The detection engine matches all of them and asks the policy, per hit,
    /// whether the organisation whose event matched may see the indicator. The same indicator
    /// under the same marking is listed once.
    pub async fn detection_indicators(
        &self,
        now: i64,
    ) -> Result<Vec<DetectionIndicator>, StoreError> {
        let rows: Vec<DetectionRow> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT r.id, i.kind, i.value, i.pattern, r.owner_org, r.tlp_rank, r.sharing_group \
             FROM indicators i JOIN reports r ON r.id = i.report_id \
             WHERE NOT r.revoked AND ((i.kind IS NOT NULL AND i.value IS NOT NULL) \
             OR i.pattern IS NOT NULL) \
             AND (i.valid_until IS NULL OR i.valid_until > $1) ORDER BY r.id"
        )
        .bind(now)
        .fetch_all(pool)
        .await)?;
        let posted: Vec<DetectionRow> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT o.id, p.kind, p.value, p.pattern, o.owner_org, o.tlp_rank, o.sharing_group \
             FROM posted_indicators p JOIN stix_objects o ON o.seq = p.seq \
             WHERE NOT p.revoked AND (p.valid_until IS NULL OR p.valid_until > $1) \
             AND NOT EXISTS (SELECT 1 FROM stix_objects o2 WHERE o2.id = o.id \
             AND o2.collection = o.collection AND o2.origin_report IS NULL \
             AND o2.version_micros > o.version_micros) ORDER BY o.seq"
        )
        .bind(now)
        .fetch_all(pool)
        .await)?;
        let recips: Vec<(String, String)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT object_id, org_id FROM report_recipients"
        )
        .fetch_all(pool)
        .await)?;
        let mut by_report: std::collections::HashMap<String, Vec<OrgId>> =
            std::collections::HashMap::new();
        for (rid, org) in recips {
            let org: OrgId = org
                .parse()
                .map_err(|e| StoreError::corrupt("report_recipients.org_id", e))?;
            by_report.entry(rid).or_default().push(org);
        }
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::with_capacity(rows.len() + posted.len());
        let from_reports = rows.into_iter().map(|r| (true, r));
        for (is_report, r) in from_reports.chain(posted.into_iter().map(|r| (false, r))) {
            let matches = match (r.kind, r.value, r.pattern) {
                (Some(k), Some(v), _) => DetectionMatch::Value {
                    kind: k
                        .parse()
                        .map_err(|e| StoreError::corrupt("indicators.kind", e))?,
                    value: v,
                },
                (_, _, Some(p)) => DetectionMatch::Pattern(p),
                _ => continue,
            };
            let marking = mamori_model::Marking {
                tlp: tlp(r.tlp_rank)?,
                owner_org: r
                    .owner_org
                    .parse()
                    .map_err(|e| StoreError::corrupt("owner_org", e))?,
                sharing_group: r
                    .sharing_group
                    .map(|g| g.parse())
                    .transpose()
                    .map_err(|e| StoreError::corrupt("sharing_group", e))?,
                recipients: if is_report {
                    by_report.get(&r.id).cloned().unwrap_or_default()
                } else {
                    vec![]
                },
            };
            let key = (
                matches.clone(),
                marking.tlp,
                marking.owner_org,
                marking.sharing_group,
                marking.recipients.clone(),
            );
            if seen.insert(key) {
                out.push(DetectionIndicator { matches, marking });
            }
        }
        Ok(out)
    }
}

impl Store {
    /// A fingerprint of everything the detection path caches (organisations, groups,
    /// reports, indicators, recipients): it changes whenever any of them does, so hub
    /// workers can cheaply tell when to reload.
    pub async fn sharing_version(&self) -> Result<String, StoreError> {
        let row: (i64, i64, i64, i64, i64, i64, i64, i64, i64) = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM orgs), (SELECT COALESCE(MAX(updated_at), 0) FROM orgs), \
             (SELECT COUNT(*) FROM group_members), (SELECT COUNT(*) FROM reports), \
             (SELECT COALESCE(MAX(modified_at), 0) FROM reports), (SELECT COUNT(*) FROM indicators), \
             (SELECT COUNT(*) FROM report_recipients), (SELECT COUNT(*) FROM posted_indicators), \
             (SELECT COALESCE(MAX(seq), 0) FROM posted_indicators)"
        )
        .fetch_one(pool)
        .await
        })?;
        Ok(format!("{row:?}"))
    }
}
