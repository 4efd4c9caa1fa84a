//! Stored mail analyses: one row per analysed message with its marking (the access policy's
//! columns, so lists use [`crate::visibility::predicate`] unchanged), its sample files (names and
//! hashes; the bytes are content-addressed files the server keeps) and its weighted feature
//! tokens. [`Store::record_mail_analysis`] also assigns the campaign, in the same write
//! transaction, serialised across hub processes (see its documentation).

use mamori_access::VisibilityFilter;
use mamori_model::{GroupId, Marking, OrgId, Tlp, UserId};
use serde::Serialize;

use crate::visibility::{MarkingColumns, predicate};
use crate::{Backend, BeginWrite, Page, PageRequest, Store, StoreError, now_millis, on_pool};

/// Advisory lock key (PostgreSQL) that serialises campaign assignment across hub processes.
const CAMPAIGN_LOCK: i64 = 7243;
/// Most earlier analyses compared with a new one (the newest that share a linking token).
pub const MAX_CANDIDATES: i64 = 500;
/// Most tokens stored per analysis (the heaviest are kept).
pub const MAX_TOKENS: usize = 200;

pub(crate) const COLS: MarkingColumns<'static> = MarkingColumns {
    id: "a.id",
    tlp_rank: "a.tlp_rank",
    owner_org: "a.owner_org",
    sharing_group: "a.sharing_group",
    recipients_table: "mail_analysis_recipients",
};

pub(crate) const SUMMARY_COLUMNS: &str = "a.id, a.owner_org, a.submitted_by, a.submitter_name, \
    a.tlp_rank, a.sharing_group, a.submitted_at, a.seen_at, a.subject, a.mail_from, a.score, \
    a.sha256, a.size, a.campaign_id, a.samples_dropped";

/// A file of the sample store linked to an analysis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SampleFile {
    pub sha256: String,
    /// `original`, `attachment`, `archive_member` or `message`.
    pub role: String,
    pub name: Option<String>,
    pub size: i64,
}

/// An analysis to store.
#[derive(Debug, Clone)]
pub struct NewMailAnalysis {
    pub owner_org: OrgId,
    pub submitted_by: Option<UserId>,
    pub submitter_name: String,
    pub tlp: Tlp,
    pub sharing_group: Option<GroupId>,
    pub seen_at: i64,
    pub subject: String,
    pub mail_from: String,
    pub score: i64,
    pub sha256: String,
    pub size: i64,
    pub samples_dropped: i64,
    /// The feature record as JSON.
    pub features: String,
    /// The full analysis as JSON.
    pub analysis: String,
    pub files: Vec<SampleFile>,
    /// Weighted feature tokens.
    pub tokens: Vec<(String, f64)>,
}

/// An earlier analysis the campaign assignment compares a new one with.
#[derive(Debug, Clone)]
pub struct CampaignCandidate {
    pub analysis_id: String,
    pub campaign_id: String,
    pub tokens: Vec<(String, f64)>,
}

/// The list view of a stored analysis.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MailAnalysisSummary {
    pub id: String,
    #[schema(value_type = String)]
    pub owner_org: OrgId,
    #[schema(value_type = Option<String>)]
    pub submitted_by: Option<UserId>,
    pub submitter_name: String,
    pub tlp: Tlp,
    #[schema(value_type = Option<String>)]
    pub sharing_group: Option<GroupId>,
    /// When the hub received it (ms since the epoch).
    pub submitted_at: i64,
    /// The message's Date when plausible, else `submitted_at` (ms since the epoch).
    pub seen_at: i64,
    pub subject: String,
    pub mail_from: String,
    pub score: i64,
    /// SHA-256 of the original message.
    pub sha256: String,
    pub size: i64,
    pub campaign_id: String,
    /// Extracted files not kept because the sample limit was reached.
    pub samples_dropped: i64,
}

impl MailAnalysisSummary {
    /// The marking the access policy judges.
    pub fn marking(&self) -> Marking {
        Marking {
            tlp: self.tlp,
            owner_org: self.owner_org,
            sharing_group: self.sharing_group,
            recipients: Vec::new(),
        }
    }
}

/// A stored analysis with its JSON documents and files.
#[derive(Debug, Clone)]
pub struct StoredMailAnalysis {
    pub summary: MailAnalysisSummary,
    pub features: String,
    pub analysis: String,
    pub files: Vec<SampleFile>,
}

/// Filters of the analysis list.
#[derive(Debug, Clone, Default)]
pub struct MailAnalysisQuery {
    /// Substring of subject or From (any case).
    pub text: Option<String>,
    pub tlp: Option<Tlp>,
    pub campaign: Option<String>,
    pub min_score: Option<i64>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct SummaryRow {
    id: String,
    owner_org: String,
    submitted_by: Option<String>,
    submitter_name: String,
    tlp_rank: i64,
    sharing_group: Option<String>,
    submitted_at: i64,
    seen_at: i64,
    subject: String,
    mail_from: String,
    score: i64,
    sha256: String,
    size: i64,
    campaign_id: String,
    samples_dropped: i64,
}

fn parse<T: std::str::FromStr>(col: &'static str, s: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| StoreError::corrupt(col, e))
}

impl SummaryRow {
    pub(crate) fn into_summary(self) -> Result<MailAnalysisSummary, StoreError> {
        Ok(MailAnalysisSummary {
            owner_org: parse("mail_analyses.owner_org", &self.owner_org)?,
            submitted_by: self
                .submitted_by
                .as_deref()
                .map(|u| parse("mail_analyses.submitted_by", u))
                .transpose()?,
            tlp: Tlp::from_rank(self.tlp_rank)
                .ok_or_else(|| StoreError::corrupt("mail_analyses.tlp_rank", self.tlp_rank))?,
            sharing_group: self
                .sharing_group
                .as_deref()
                .map(|g| parse("mail_analyses.sharing_group", g))
                .transpose()?,
            id: self.id,
            submitter_name: self.submitter_name,
            submitted_at: self.submitted_at,
            seen_at: self.seen_at,
            subject: self.subject,
            mail_from: self.mail_from,
            score: self.score,
            sha256: self.sha256,
            size: self.size,
            campaign_id: self.campaign_id,
            samples_dropped: self.samples_dropped,
        })
    }
}

/// Lower-case text for substring search.
fn search_text(subject: &str, from: &str) -> String {
    format!("{subject}\n{from}").to_lowercase()
}

fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Stores an analysis, its sample files and tokens, and assigns its campaign: the earlier
    /// analyses sharing a linking token (weight ≥ `link_weight`; the newest
    /// [`MAX_CANDIDATES`]) are handed to `choose` oldest first with their tokens, and the
    /// campaign it names is joined; when it names none, a new campaign starts.
    ///
    /// Consistency: the candidates are read and the analysis inserted in one write
    /// transaction. On SQLite it begins IMMEDIATE (one writer at a time); on PostgreSQL a
    /// transaction-scoped advisory lock orders the assignments of every hub process. So two
    /// related messages arriving at once in different processes never both start a campaign.
    /// Campaigns are hub-wide, across organisations; what a reader sees of one is narrowed by
    /// the visibility policy on read.
    pub async fn record_mail_analysis(
        &self,
        new: &NewMailAnalysis,
        link_weight: f64,
        choose: impl FnOnce(&[CampaignCandidate]) -> Option<String>,
    ) -> Result<MailAnalysisSummary, StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_millis();
        let mut tokens = new.tokens.clone();
        tokens.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        tokens.dedup_by(|a, b| a.0 == b.0);
        tokens.truncate(MAX_TOKENS);
        let linking: Vec<&str> = tokens
            .iter()
            .filter(|(_, w)| *w >= link_weight)
            .map(|(t, _)| t.as_str())
            .collect();
        let backend = self.backend();
        let campaign: String = on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin_write().await?;
                if backend == Backend::Postgres {
                    sqlx::query("SELECT pg_advisory_xact_lock($1)")
                        .bind(CAMPAIGN_LOCK)
                        .execute(&mut *tx)
                        .await?;
                }
                let mut ids: Vec<String> = Vec::new();
                if !linking.is_empty() {
                    let sql = format!(
                        "SELECT DISTINCT analysis_id FROM mail_analysis_tokens \
                         WHERE token IN ({}) ORDER BY analysis_id DESC LIMIT {MAX_CANDIDATES}",
                        placeholders(1, linking.len())
                    );
                    let mut q = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql.as_str()));
                    for t in &linking {
                        q = q.bind(*t);
                    }
                    ids = q
                        .fetch_all(&mut *tx)
                        .await?
                        .into_iter()
                        .map(|r| r.0)
                        .collect();
                }
                let mut candidates: Vec<CampaignCandidate> = Vec::new();
                if !ids.is_empty() {
                    ids.sort();
                    let sql = format!(
                        "SELECT t.analysis_id, a.campaign_id, t.token, t.weight \
                         FROM mail_analysis_tokens t JOIN mail_analyses a ON a.id = t.analysis_id \
                         WHERE t.analysis_id IN ({}) ORDER BY t.analysis_id",
                        placeholders(1, ids.len())
                    );
                    let mut q = sqlx::query_as::<_, (String, String, String, f64)>(
                        sqlx::AssertSqlSafe(sql.as_str()),
                    );
                    for i in &ids {
                        q = q.bind(i);
                    }
                    for (aid, cid, token, weight) in q.fetch_all(&mut *tx).await? {
                        match candidates.last_mut() {
                            Some(c) if c.analysis_id == aid => c.tokens.push((token, weight)),
                            _ => candidates.push(CampaignCandidate {
                                analysis_id: aid,
                                campaign_id: cid,
                                tokens: vec![(token, weight)],
                            }),
                        }
                    }
                }
                let campaign = match choose(&candidates) {
                    Some(c) => c,
                    None => {
                        let c = uuid::Uuid::now_v7().to_string();
                        sqlx::query("INSERT INTO mail_campaigns (id, created_at) VALUES ($1, $2)")
                            .bind(&c)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        c
                    }
                };
                sqlx::query(
                    "INSERT INTO mail_analyses (id, owner_org, submitted_by, submitter_name, \
                     tlp_rank, sharing_group, submitted_at, seen_at, subject, mail_from, score, \
                     sha256, size, campaign_id, samples_dropped, features, analysis, search_text) \
                     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)",
                )
                .bind(&id)
                .bind(new.owner_org.to_string())
                .bind(new.submitted_by.map(|u| u.to_string()))
                .bind(&new.submitter_name)
                .bind(new.tlp.rank())
                .bind(new.sharing_group.map(|g| g.to_string()))
                .bind(now)
                .bind(new.seen_at)
                .bind(&new.subject)
                .bind(&new.mail_from)
                .bind(new.score)
                .bind(&new.sha256)
                .bind(new.size)
                .bind(&campaign)
                .bind(new.samples_dropped)
                .bind(&new.features)
                .bind(&new.analysis)
                .bind(search_text(&new.subject, &new.mail_from))
                .execute(&mut *tx)
                .await?;
                for f in &new.files {
                    sqlx::query(
                        "INSERT INTO mail_sample_files (analysis_id, sha256, role, name, size) \
                         VALUES ($1,$2,$3,$4,$5) ON CONFLICT (analysis_id, sha256) DO NOTHING",
                    )
                    .bind(&id)
                    .bind(&f.sha256)
                    .bind(&f.role)
                    .bind(&f.name)
                    .bind(f.size)
                    .execute(&mut *tx)
                    .await?;
                }
                for (token, weight) in &tokens {
                    sqlx::query(
                        "INSERT INTO mail_analysis_tokens (analysis_id, token, weight) \
                         VALUES ($1,$2,$3)",
                    )
                    .bind(&id)
                    .bind(token)
                    .bind(*weight)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok::<String, sqlx::Error>(campaign)
            }
            .await
        })?;
        Ok(MailAnalysisSummary {
            id,
            owner_org: new.owner_org,
            submitted_by: new.submitted_by,
            submitter_name: new.submitter_name.clone(),
            tlp: new.tlp,
            sharing_group: new.sharing_group,
            submitted_at: now,
            seen_at: new.seen_at,
            subject: new.subject.clone(),
            mail_from: new.mail_from.clone(),
            score: new.score,
            sha256: new.sha256.clone(),
            size: new.size,
            campaign_id: campaign,
            samples_dropped: new.samples_dropped,
        })
    }

    /// One analysis with its documents and files, whatever its marking: the caller asks the
    /// access policy before showing it.
    pub async fn get_mail_analysis(&self, id: &str) -> Result<StoredMailAnalysis, StoreError> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, a.features, a.analysis FROM mail_analyses a WHERE a.id = $1"
        );
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            summary: SummaryRow,
            features: String,
            analysis: String,
        }
        let row: Option<Row> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        let row = row.ok_or(StoreError::NotFound("mail analysis"))?;
        let files = self.mail_sample_files(id).await?;
        Ok(StoredMailAnalysis {
            summary: row.summary.into_summary()?,
            features: row.features,
            analysis: row.analysis,
            files,
        })
    }

    /// The sample files of an analysis, the original message first.
    pub async fn mail_sample_files(&self, id: &str) -> Result<Vec<SampleFile>, StoreError> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT sha256, role, name, size FROM mail_sample_files WHERE analysis_id = $1 \
             ORDER BY CASE role WHEN 'original' THEN 0 ELSE 1 END, sha256"
        )
        .bind(id)
        .fetch_all(pool)
        .await)?)
    }

    /// Analyses the filter admits, oldest first.
    pub async fn list_mail_analyses(
        &self,
        filter: &VisibilityFilter,
        query: &MailAnalysisQuery,
        page: &PageRequest,
    ) -> Result<Page<MailAnalysisSummary>, StoreError> {
        let vis = predicate(filter, &COLS, 2);
        let n = 2 + vis.binds.len();
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM mail_analyses a WHERE a.id > $1 AND {vis} \
             AND (${t} = '' OR a.search_text LIKE ${t} ESCAPE '\\') \
             AND (${k} < 0 OR a.tlp_rank = ${k}) AND (${c} = '' OR a.campaign_id = ${c}) \
             AND a.score >= ${s} ORDER BY a.id LIMIT ${l}",
            vis = vis.sql,
            t = n,
            k = n + 1,
            c = n + 2,
            s = n + 3,
            l = n + 4,
        );
        let text = query
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(crate::reports::like_escape)
            .unwrap_or_default();
        let rows: Vec<SummaryRow> = on_pool!(self, |pool| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(page.after_key());
            for b in &vis.binds {
                q = q.bind(b);
            }
            q.bind(&text)
                .bind(query.tlp.map_or(-1, Tlp::rank))
                .bind(query.campaign.clone().unwrap_or_default())
                .bind(query.min_score.unwrap_or(i64::MIN))
                .bind(page.fetch_limit())
                .fetch_all(pool)
                .await
        })?;
        let items = rows
            .into_iter()
            .map(SummaryRow::into_summary)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, page, |a| a.id.clone()))
    }
}
