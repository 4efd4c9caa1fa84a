//! Stored STIX objects for TAXII: rows derived from reports (replaced whenever the report
//! changes) and rows posted to a collection (kept per version). Reads take the access policy's
//! filter plus a collection scope; `seq` orders rows by arrival for `next` pagination.

use std::collections::{HashMap, HashSet};

use mamori_access::VisibilityFilter;
use mamori_model::{GroupId, OrgId, ReportId, Tlp};

use crate::BeginWrite;
use crate::visibility::{MarkingColumns, predicate};
use crate::{Store, StoreError, now_millis, on_pool};

/// One object to store, with its marking.
#[derive(Debug, Clone)]
pub struct NewStixRow {
    pub id: String,
    pub version: String,
    pub version_micros: i64,
    pub object_type: String,
    pub spec_version: String,
    pub json: String,
    pub tlp: Tlp,
    pub owner_org: OrgId,
    pub sharing_group: Option<GroupId>,
    /// For an `indicator`: what the detection engine matches (posted rows only).
    pub indicator: Option<PostedIndicator>,
}

/// The matchable part of a posted STIX indicator: a typed value when its pattern is one
/// `path = value` test of a kind Mamori knows, else the pattern itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedIndicator {
    pub kind: Option<mamori_model::ValueKind>,
    pub value: Option<String>,
    pub pattern: Option<String>,
    pub valid_until: Option<i64>,
    pub revoked: bool,
}

/// A stored object.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StixRow {
    pub seq: i64,
    pub id: String,
    pub version: String,
    pub version_micros: i64,
    pub object_type: String,
    pub spec_version: String,
    pub date_added: i64,
    pub json: String,
}

/// A page of objects as [`Store::stix_page`] returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StixPage {
    /// The objects' JSON texts joined by `,`, in `seq` order (empty for an empty page).
    pub objects_json: String,
    /// Objects on the page.
    pub count: u32,
    /// Whether more objects follow.
    pub more: bool,
    /// `seq` of the page's last object (the `next` cursor when `more`).
    pub last_seq: Option<i64>,
    /// Date added (Unix ms) of the first and the last object of the page.
    pub first_added: Option<i64>,
    pub last_added: Option<i64>,
}

/// Which objects a TAXII collection holds (before the reader's visibility is applied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionScope {
    /// Everything the reader may see.
    All,
    /// Material for the whole community: no sharing group, CLEAR or GREEN.
    Community,
    /// Material released to one sharing group.
    Group(GroupId),
    /// Material owned by one organisation.
    Org(OrgId),
}

/// Which versions of each object to return.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum VersionMatch {
    #[default]
    Last,
    First,
    All,
    /// Exact version timestamps.
    These(Vec<String>),
}

/// TAXII `match[...]` and `added_after` filters.
#[derive(Debug, Clone, Default)]
pub struct StixQuery {
    pub added_after: Option<i64>,
    pub ids: Vec<String>,
    pub types: Vec<String>,
    pub spec_versions: Vec<String>,
    pub versions: VersionMatch,
}

const COLS: MarkingColumns<'static> = MarkingColumns {
    id: "o.origin_report",
    tlp_rank: "o.tlp_rank",
    owner_org: "o.owner_org",
    sharing_group: "o.sharing_group",
    recipients_table: "report_recipients",
};

fn alias(cols: &MarkingColumns<'static>, a: &'static str) -> MarkingColumns<'static> {
    match a {
        "o2" => MarkingColumns {
            id: "o2.origin_report",
            tlp_rank: "o2.tlp_rank",
            owner_org: "o2.owner_org",
            sharing_group: "o2.sharing_group",
            recipients_table: cols.recipients_table,
        },
        "o3" => MarkingColumns {
            id: "o3.origin_report",
            tlp_rank: "o3.tlp_rank",
            owner_org: "o3.owner_org",
            sharing_group: "o3.sharing_group",
            recipients_table: cols.recipients_table,
        },
        _ => *cols,
    }
}

/// SQL for the collection scope over alias `a`, binding values from `$first`.
fn scope_sql(scope: CollectionScope, a: &str, first: usize, binds: &mut Vec<String>) -> String {
    match scope {
        CollectionScope::All => "1 = 1".to_owned(),
        CollectionScope::Community => format!(
            "({a}.sharing_group IS NULL AND {a}.tlp_rank <= {})",
            Tlp::Green.rank()
        ),
        CollectionScope::Group(g) => {
            binds.push(g.to_string());
            format!("{a}.sharing_group = ${first}")
        }
        CollectionScope::Org(o) => {
            binds.push(o.to_string());
            format!("{a}.owner_org = ${first}")
        }
    }
}

fn in_list(col: &str, values: &[String], next: &mut usize, binds: &mut Vec<String>) -> String {
    if values.is_empty() {
        return "1 = 1".to_owned();
    }
    let params: Vec<String> = values
        .iter()
        .map(|v| {
            binds.push(v.clone());
            *next += 1;
            format!("${}", *next - 1)
        })
        .collect();
    format!("{col} IN ({})", params.join(", "))
}

impl Store {
    /// Replaces the objects derived from a report (after it was created or changed).
    pub async fn replace_report_objects(
        &self,
        report: ReportId,
        rows: &[NewStixRow],
    ) -> Result<(), StoreError> {
        let now = now_millis();
        let rid = report.to_string();
        let result: Result<(), sqlx::Error> = on_pool!(self, |pool| async {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM stix_objects WHERE origin_report = $1")
                .bind(&rid)
                .execute(&mut *tx)
                .await?;
            for r in rows {
                sqlx::query(INSERT)
                    .bind(&r.id)
                    .bind(&r.version)
                    .bind(r.version_micros)
                    .bind(&r.object_type)
                    .bind(&r.spec_version)
                    .bind(now)
                    .bind(&r.json)
                    .bind(Some(rid.clone()))
                    .bind("reports")
                    .bind(r.tlp.rank())
                    .bind(r.owner_org.to_string())
                    .bind(r.sharing_group.map(|g| g.to_string()))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        }
        .await);
        result.map_err(StoreError::from)
    }

    /// Stores posted objects, all or nothing. Objects already stored with the same id and
    /// version in the collection are left as they are; returns how many rows were new.
    pub async fn insert_posted_objects(
        &self,
        collection: &str,
        rows: &[NewStixRow],
    ) -> Result<usize, StoreError> {
        let now = now_millis();
        let result: Result<usize, sqlx::Error> = on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin_write().await?;
                let mut added = 0;
                // The same object twice in one post is stored once.
                let mut in_post: HashSet<(&str, &str)> = HashSet::with_capacity(rows.len());
                let mut rows: Vec<&NewStixRow> = rows
                    .iter()
                    .filter(|r| in_post.insert((r.id.as_str(), r.version.as_str())))
                    .collect();
                // Inserted in (id, version) order: two posts of the same objects at the same
                // time then wait for each other in one order and never deadlock.
                rows.sort_by(|a, b| (&a.id, &a.version).cmp(&(&b.id, &b.version)));
                for chunk in rows.chunks(OBJECTS_PER_STATEMENT) {
                    // Already here, posted to this collection or derived from a report:
                    // federation that sends objects back where they came from adds nothing
                    // (no duplicates, no loops).
                    let mut q = sqlx::QueryBuilder::new(
                        "SELECT id, version FROM stix_objects WHERE (id, version) IN (",
                    );
                    q.push_values(chunk.iter(), |mut row, r| {
                        row.push_bind(&r.id).push_bind(&r.version);
                    });
                    q.push(") AND (collection = ")
                        .push_bind(collection)
                        .push(" OR origin_report IS NOT NULL)");
                    let here: Vec<(String, String)> = q.build_query_as().fetch_all(&mut *tx).await?;
                    let here: HashSet<(&str, &str)> =
                        here.iter().map(|(i, v)| (i.as_str(), v.as_str())).collect();
                    let new: Vec<&&NewStixRow> = chunk
                        .iter()
                        .filter(|r| !here.contains(&(r.id.as_str(), r.version.as_str())))
                        .collect();
                    if new.is_empty() {
                        continue;
                    }
                    let mut q = sqlx::QueryBuilder::new(
                        "INSERT INTO stix_objects (id, version, version_micros, object_type, \
                         spec_version, date_added, json, origin_report, collection, tlp_rank, \
                         owner_org, sharing_group) ",
                    );
                    q.push_values(new.iter(), |mut row, r| {
                        row.push_bind(&r.id)
                            .push_bind(&r.version)
                            .push_bind(r.version_micros)
                            .push_bind(&r.object_type)
                            .push_bind(&r.spec_version)
                            .push_bind(now)
                            .push_bind(&r.json)
                            .push_bind(None::<String>)
                            .push_bind(collection)
                            .push_bind(r.tlp.rank())
                            .push_bind(r.owner_org.to_string())
                            .push_bind(r.sharing_group.map(|g| g.to_string()));
                    });
                    // Another post of the same object may have committed since the lookup
                    // (concurrent federation pushes): it stays, this copy is not added.
                    q.push(
                        " ON CONFLICT (id, version, collection) WHERE origin_report IS NULL \
                         DO NOTHING RETURNING seq, id, version",
                    );
                    let seqs: Vec<(i64, String, String)> =
                        q.build_query_as().fetch_all(&mut *tx).await?;
                    added += seqs.len();
                    let seq_of: HashMap<(&str, &str), i64> = seqs
                        .iter()
                        .map(|(s, i, v)| ((i.as_str(), v.as_str()), *s))
                        .collect();
                    let indicators: Vec<(i64, &PostedIndicator)> = new
                        .iter()
                        .filter_map(|r| {
                            let i = r.indicator.as_ref()?;
                            let seq = seq_of.get(&(r.id.as_str(), r.version.as_str()))?;
                            Some((*seq, i))
                        })
                        .collect();
                    if indicators.is_empty() {
                        continue;
                    }
                    let mut q = sqlx::QueryBuilder::new(
                        "INSERT INTO posted_indicators (seq, kind, value, pattern, valid_until, revoked) ",
                    );
                    q.push_values(indicators, |mut row, (seq, i)| {
                        row.push_bind(seq)
                            .push_bind(i.kind.map(|k| k.as_str()))
                            .push_bind(&i.value)
                            .push_bind(&i.pattern)
                            .push_bind(i.valid_until)
                            .push_bind(i.revoked);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(added)
            }
            .await
        });
        let added = result.map_err(StoreError::from)?;
        self.note_rows_added("stix_objects", &self.stats.stix_objects, added);
        Ok(added)
    }

    /// Objects of a collection that the filter admits, in arrival order after `after_seq`.
    /// Returns at most `limit` rows and whether more follow.
    pub async fn list_stix_objects(
        &self,
        filter: &VisibilityFilter,
        scope: CollectionScope,
        query: &StixQuery,
        after_seq: i64,
        limit: u32,
    ) -> Result<(Vec<StixRow>, bool), StoreError> {
        let (sql, binds) = page_sql(filter, scope, query, limit);
        let mut rows: Vec<StixRow> = on_pool!(self, |pool| {
            let mut q =
                sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(after_seq.to_string());
            for b in &binds {
                q = q.bind(b);
            }
            q.fetch_all(pool).await
        })?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        Ok((rows, more))
    }

    /// The page [`Store::list_stix_objects`] would return, assembled by the database into one
    /// row: the objects' stored JSON joined by commas (ready to go between `[` and `]`), the
    /// last `seq` and the first and last dates added. One row instead of `limit + 1` rows makes
    /// a page a single hand-over from the SQLite worker thread (or one PostgreSQL data row),
    /// the way PostgREST builds its responses. The JSON was validated when it was stored.
    pub async fn stix_page(
        &self,
        filter: &VisibilityFilter,
        scope: CollectionScope,
        query: &StixQuery,
        after_seq: i64,
        limit: u32,
    ) -> Result<StixPage, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            total: i64,
            objects: Option<String>,
            last_seq: Option<i64>,
            first_added: Option<i64>,
            last_added: Option<i64>,
        }
        let limit = limit.clamp(1, 10_000);
        let (inner, binds) = page_sql(filter, scope, query, limit);
        let n = i64::from(limit);
        let sql = format!(
            "SELECT COUNT(*) AS total, \
             string_agg(CASE WHEN p.rn <= {n} THEN p.json END, ',' ORDER BY p.seq) AS objects, \
             MAX(CASE WHEN p.rn <= {n} THEN p.seq END) AS last_seq, \
             MAX(CASE WHEN p.rn = 1 THEN p.date_added END) AS first_added, \
             MAX(CASE WHEN p.rn = (CASE WHEN p.total > {n} THEN {n} ELSE p.total END) \
                 THEN p.date_added END) AS last_added \
             FROM (SELECT i.seq, i.date_added, i.json, \
                   ROW_NUMBER() OVER (ORDER BY i.seq) AS rn, COUNT(*) OVER () AS total \
                   FROM ({inner}) i) p"
        );
        let row: Row = on_pool!(self, |pool| {
            let mut q =
                sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(after_seq.to_string());
            for b in &binds {
                q = q.bind(b);
            }
            q.fetch_one(pool).await
        })?;
        let count = u32::try_from(row.total.min(n)).unwrap_or(0);
        Ok(StixPage {
            objects_json: row.objects.unwrap_or_default(),
            count,
            more: row.total > n,
            last_seq: row.last_seq,
            first_added: row.first_added,
            last_added: row.last_added,
        })
    }

    /// Deletes posted objects (all versions) of a collection, only those of `owner` when given;
    /// derived objects are removed by changing their report. Returns how many rows went.
    pub async fn delete_posted_object(
        &self,
        collection: &str,
        id: &str,
        owner: Option<OrgId>,
    ) -> Result<u64, StoreError> {
        let owner = owner.map(|o| o.to_string()).unwrap_or_default();
        Ok(on_pool!(self, |pool| sqlx::query(
            "DELETE FROM stix_objects WHERE id = $1 AND collection = $2 AND origin_report IS NULL \
             AND ($3 = '' OR owner_org = $3)"
        )
        .bind(id)
        .bind(collection)
        .bind(&owner)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
    }

    pub async fn put_taxii_status(
        &self,
        id: &str,
        owner_user: &str,
        body: &str,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO taxii_status (id, owner_user, created_at, body) VALUES ($1,$2,$3,$4)"
        )
        .bind(id)
        .bind(owner_user)
        .bind(now_millis())
        .bind(body)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// A status resource, if it belongs to this user.
    pub async fn get_taxii_status(
        &self,
        id: &str,
        owner_user: &str,
    ) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT body FROM taxii_status WHERE id = $1 AND owner_user = $2"
        )
        .bind(id)
        .bind(owner_user)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(|r| r.0))
    }
}

const INSERT: &str = "INSERT INTO stix_objects (id, version, version_micros, object_type, \
    spec_version, date_added, json, origin_report, collection, tlp_rank, owner_org, sharing_group) \
    VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)";

/// Posted objects per multi-row statement (12 values each: far under both databases' limits
/// on bound parameters).
const OBJECTS_PER_STATEMENT: usize = 200;

/// The page query shared by [`Store::list_stix_objects`] and [`Store::stix_page`]: the rows
/// after `$1` (a `seq`) that the reader may see in `scope` and that match `query`, in `seq`
/// order, at most `limit + 1` of them (one more than a page, to tell whether there are more).
fn page_sql(
    filter: &VisibilityFilter,
    scope: CollectionScope,
    query: &StixQuery,
    limit: u32,
) -> (String, Vec<String>) {
    let vis = predicate(filter, &COLS, 2);
    let mut binds = vis.binds.clone();
    let mut next = 2 + binds.len();
    let scope_o = scope_sql(scope, "o", next, &mut binds);
    next = 2 + binds.len();
    let ids = in_list("o.id", &query.ids, &mut next, &mut binds);
    let types = in_list("o.object_type", &query.types, &mut next, &mut binds);
    let specs = in_list(
        "o.spec_version",
        &query.spec_versions,
        &mut next,
        &mut binds,
    );
    // Another row of the same object that this reader may see in this scope can hide `o`: a
    // later (or, for `match[version]=first`, an earlier) version, or an earlier copy of the
    // same version (one object posted to several collections, which a wide scope such as
    // "all" spans; the first copy stands for it, independent of `added_after`, so its `seq`
    // (pagination) and date added are stable). Both are asked in one probe of the id index
    // with one copy of the visibility predicate (alias o2, the same parameter numbers).
    let (versions, version_cmp) = match &query.versions {
        VersionMatch::All => ("1 = 1".to_owned(), None),
        VersionMatch::These(v) => (in_list("o.version", v, &mut next, &mut binds), None),
        VersionMatch::Last => ("1 = 1".to_owned(), Some(">")),
        VersionMatch::First => ("1 = 1".to_owned(), Some("<")),
    };
    let other_version = version_cmp
        .map(|c| format!("o2.version_micros {c} o.version_micros OR "))
        .unwrap_or_default();
    let shadowed = {
        let vis2 = predicate(filter, &alias(&COLS, "o2"), 2);
        let mut scratch = Vec::new();
        let scope_o2 = scope_sql(scope, "o2", 2 + vis.binds.len(), &mut scratch);
        format!(
            "NOT EXISTS (SELECT 1 FROM stix_objects o2 WHERE o2.id = o.id AND \
                 ({other_version}(o2.version = o.version AND o2.seq < o.seq)) AND {} AND \
                 {scope_o2})",
            vis2.sql
        )
    };
    let added = match query.added_after {
        Some(t) => {
            binds.push(t.to_string());
            next += 1;
            format!("o.date_added > CAST(${} AS BIGINT)", next - 1)
        }
        None => "1 = 1".to_owned(),
    };
    let sql = format!(
        "SELECT o.seq, o.id, o.version, o.version_micros, o.object_type, o.spec_version, \
             o.date_added, o.json FROM stix_objects o WHERE o.seq > CAST($1 AS BIGINT) AND {} AND \
             {scope_o} AND {ids} AND {types} AND {specs} AND {versions} AND {shadowed} AND {added} \
             ORDER BY o.seq LIMIT {}",
        vis.sql,
        i64::from(limit.clamp(1, 10_000)) + 1
    );
    (sql, binds)
}
