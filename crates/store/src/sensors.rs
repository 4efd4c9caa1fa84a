//! Sensors: a member organisation's log shippers. Each has a name unique in its organisation
//! and a secret token (`mms_` prefix, shown once, stored as a hash) that binds everything it
//! sends to that organisation.

use mamori_model::OrgId;
use serde::Serialize;

use crate::{Store, StoreError, now_millis, on_pool, secret};

/// The prefix of every sensor token.
pub const SENSOR_TOKEN_PREFIX: &str = "mms_";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Sensor {
    pub id: String,
    #[schema(value_type = String)]
    pub org_id: OrgId,
    pub name: String,
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct SensorRow {
    id: String,
    org_id: String,
    name: String,
    created_at: i64,
    last_seen_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl SensorRow {
    fn into_sensor(self) -> Result<Sensor, StoreError> {
        Ok(Sensor {
            id: self.id,
            org_id: self
                .org_id
                .parse()
                .map_err(|e| StoreError::corrupt("sensors.org_id", e))?,
            name: self.name,
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            revoked_at: self.revoked_at,
        })
    }
}

const COLUMNS: &str = "id, org_id, name, created_at, last_seen_at, revoked_at";

/// Whether a sensor name is acceptable: 1-64 of letters, digits, `-`, `_`, `.`.
pub fn valid_sensor_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl Store {
    /// Registers a sensor and returns it with its token (not stored, shown once).
    pub async fn create_sensor(
        &self,
        org: OrgId,
        name: &str,
    ) -> Result<(Sensor, String), StoreError> {
        if !valid_sensor_name(name) {
            return Err(StoreError::Invalid(
                "a sensor name is 1-64 letters, digits, '-', '_' or '.'".into(),
            ));
        }
        let token = secret::generate(SENSOR_TOKEN_PREFIX)?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_millis();
        let r = on_pool!(self, |pool| {
            sqlx::query(
            "INSERT INTO sensors (id, org_id, name, token_hash, created_at) VALUES ($1,$2,$3,$4,$5)"
        )
        .bind(&id)
        .bind(org.to_string())
        .bind(name)
        .bind(secret::hash(&token))
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ())
        });
        match r {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Conflict(format!(
                    "the organisation already has a sensor named {name:?}"
                )));
            }
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                return Err(StoreError::NotFound("organisation"));
            }
            Err(e) => return Err(e.into()),
        }
        let sensor = Sensor {
            id,
            org_id: org,
            name: name.to_owned(),
            created_at: now,
            last_seen_at: None,
            revoked_at: None,
        };
        Ok((sensor, token))
    }

    /// Sensors, of one organisation or all.
    pub async fn list_sensors(&self, org: Option<OrgId>) -> Result<Vec<Sensor>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM sensors WHERE $1 = '' OR org_id = $1 ORDER BY name");
        let rows: Vec<SensorRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(org.map(|o| o.to_string()).unwrap_or_default())
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(SensorRow::into_sensor).collect()
    }

    /// The live (not revoked) sensor a token belongs to.
    pub async fn sensor_by_token(&self, token: &str) -> Result<Option<Sensor>, StoreError> {
        if !token.starts_with(SENSOR_TOKEN_PREFIX) {
            return Ok(None);
        }
        let sql =
            format!("SELECT {COLUMNS} FROM sensors WHERE token_hash = $1 AND revoked_at IS NULL");
        let row: Option<SensorRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(secret::hash(token))
        .fetch_optional(pool)
        .await)?;
        row.map(SensorRow::into_sensor).transpose()
    }

    /// Every live sensor with its token hash: the hub derives from the hash the key that
    /// signs the sensor's batches on NATS (`mamori_bus::intake`).
    pub async fn live_sensor_token_hashes(&self) -> Result<Vec<(Sensor, String)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            sensor: SensorRow,
            token_hash: String,
        }
        let sql = format!("SELECT {COLUMNS}, token_hash FROM sensors WHERE revoked_at IS NULL");
        let rows: Vec<Row> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .fetch_all(pool)
        .await)?;
        rows.into_iter()
            .map(|r| Ok((r.sensor.into_sensor()?, r.token_hash)))
            .collect()
    }

    /// Records that a sensor was heard from.
    pub async fn touch_sensor(&self, id: &str) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "UPDATE sensors SET last_seen_at = $1 WHERE id = $2"
        )
        .bind(now_millis())
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Revokes a sensor's token: the hub refuses it from now on.
    pub async fn revoke_sensor(&self, id: &str) -> Result<Sensor, StoreError> {
        let n = on_pool!(self, |pool| sqlx::query(
            "UPDATE sensors SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
        )
        .bind(now_millis())
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        let sql = format!("SELECT {COLUMNS} FROM sensors WHERE id = $1");
        let row: Option<SensorRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        match row {
            Some(r) if n == 1 || r.revoked_at.is_some() => r.into_sensor(),
            _ => Err(StoreError::NotFound("sensor")),
        }
    }
}
