//! The sync ledger: what geosync loaded into a target database, kept in
//! that database (`geosync.ledger`), so the truth travels with the data and
//! no state file can disagree with it.
//!
//! One row per dataset (source path in the share + layer name, "" for a
//! single-layer file). `loaded_fingerprint` is the content the table holds;
//! it is written only by `record_loaded`, inside the transaction that makes
//! the new table visible, so a crash can never leave "loaded" pointing at a
//! table that is not there. A failure (`record_failed`) keeps the previous
//! table and its fingerprint, counts consecutive attempts and schedules the
//! next retry with exponential backoff; a later success resets the count.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_postgres::GenericClient;

/// The schema geosync owns in every target database.
pub const SCHEMA: &str = "geosync";

/// First retry after this; doubled per consecutive failure.
const BACKOFF_BASE: Duration = Duration::from_secs(60);
/// ... up to this.
const BACKOFF_MAX: Duration = Duration::from_secs(6 * 3600);

const DDL: &str = "
CREATE TABLE IF NOT EXISTS geosync.ledger (
    source_path        text        NOT NULL,
    layer              text        NOT NULL DEFAULT '',
    table_schema       text        NOT NULL,
    table_name         text        NOT NULL,
    status             text        NOT NULL CHECK (status IN ('loaded', 'failed')),
    loaded_fingerprint text,
    failed_fingerprint text,
    features           bigint,
    srid               integer,
    attempts           integer     NOT NULL DEFAULT 0,
    last_error         text,
    next_retry_at      timestamptz,
    loaded_at          timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_path, layer),
    UNIQUE (table_schema, table_name)
);
ALTER TABLE geosync.ledger
    ADD COLUMN IF NOT EXISTS layer_name            text,
    ADD COLUMN IF NOT EXISTS style_name            text,
    ADD COLUMN IF NOT EXISTS record_uuid           text,
    ADD COLUMN IF NOT EXISTS published_at          timestamptz,
    ADD COLUMN IF NOT EXISTS publish_fingerprint   text,
    ADD COLUMN IF NOT EXISTS publish_status        text,
    ADD COLUMN IF NOT EXISTS publish_error         text,
    ADD COLUMN IF NOT EXISTS publish_attempts      integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS publish_next_retry_at timestamptz,
    ADD COLUMN IF NOT EXISTS record_claimed_at     timestamptz,
    ADD COLUMN IF NOT EXISTS publish_failed_fingerprint text;
CREATE INDEX IF NOT EXISTS ledger_record_uuid ON geosync.ledger (record_uuid);
UPDATE geosync.ledger SET record_claimed_at = coalesce(published_at, updated_at)
    WHERE record_claimed_at IS NULL AND coalesce(record_uuid, '') <> '';";

/// The columns `entry_of` reads, in its order.
const COLUMNS: &str = "source_path, layer, table_schema, table_name, status,
    loaded_fingerprint, failed_fingerprint, features, srid,
    attempts, last_error, (extract(epoch FROM next_retry_at) * 1e6)::bigint,
    (extract(epoch FROM loaded_at) * 1e6)::bigint,
    layer_name, style_name, record_uuid, (extract(epoch FROM published_at) * 1e6)::bigint,
    publish_fingerprint, publish_status, publish_error, publish_attempts,
    (extract(epoch FROM publish_next_retry_at) * 1e6)::bigint,
    (extract(epoch FROM record_claimed_at) * 1e6)::bigint, publish_failed_fingerprint";

/// A dataset's key in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub source_path: String,
    /// "" when the file holds one layer.
    pub layer: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Loaded,
    Failed,
}

/// One dataset as the ledger knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: Key,
    pub table_schema: String,
    pub table_name: String,
    pub status: Status,
    /// Fingerprint of what the table holds now (None: no table yet).
    pub loaded_fingerprint: Option<String>,
    /// Fingerprint of the content whose load last failed.
    pub failed_fingerprint: Option<String>,
    pub features: Option<i64>,
    pub srid: Option<i32>,
    /// Consecutive failed attempts (0 once loaded).
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub loaded_at: Option<DateTime<Utc>>,
    /// Its publication in GeoServer and the catalogue (part 2).
    pub publication: Publication,
}

/// What the ledger knows of a dataset's publication: the names it was
/// published under (kept so that unpublishing finds them even after the
/// share lost the files) and the state of the last attempt.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Publication {
    /// The GeoServer layer (`workspace:layer` is the target's workspace and this).
    pub layer_name: Option<String>,
    /// The workspace style geosync made for it, if any.
    pub style_name: Option<String>,
    pub record_uuid: Option<String>,
    /// When this entry first recorded `record_uuid`: of two datasets
    /// holding one uuid (ledgers written before uuids were checked), the
    /// earlier keeps it.
    pub record_claimed_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    /// What was published: data, metadata, style and target settings.
    pub fingerprint: Option<String>,
    pub status: Option<PublishStatus>,
    pub error: Option<String>,
    /// What the last failed publication was made from (its fingerprint),
    /// so a fixed sidecar is tried at once rather than after the backoff.
    pub failed_fingerprint: Option<String>,
    pub attempts: i32,
    pub next_retry_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PublishStatus {
    Published,
    Failed,
}

impl Publication {
    /// Whether a failed publication may be tried again at `now`.
    pub fn retry_due(&self, now: DateTime<Utc>) -> bool {
        self.status != Some(PublishStatus::Failed) || self.next_retry_at.is_none_or(|at| at <= now)
    }
}

impl Entry {
    /// Whether a failed dataset may be tried again at `now`.
    pub fn retry_due(&self, now: DateTime<Utc>) -> bool {
        self.status == Status::Failed && self.next_retry_at.is_none_or(|at| at <= now)
    }
}

/// What a successful load records.
#[derive(Debug, Clone)]
pub struct Loaded<'a> {
    pub key: &'a Key,
    pub table_schema: &'a str,
    pub table_name: &'a str,
    pub fingerprint: &'a str,
    pub features: i64,
    pub srid: i32,
}

/// What a failed load records.
#[derive(Debug, Clone)]
pub struct Failed<'a> {
    pub key: &'a Key,
    pub table_schema: &'a str,
    pub table_name: &'a str,
    pub fingerprint: &'a str,
    pub error: &'a str,
}

/// Delay before the next try after `attempts` consecutive failures.
pub fn backoff(attempts: i32) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 16) as u32;
    BACKOFF_BASE.saturating_mul(1 << doublings).min(BACKOFF_MAX)
}

/// The ledger of one target database.
pub struct Ledger;

impl Ledger {
    /// Creates the schema and table if missing (idempotent). Serialised by
    /// an advisory lock: two first loads at once would otherwise race on
    /// `CREATE ... IF NOT EXISTS` (a unique violation in the catalog).
    pub async fn ensure_schema(client: &mut tokio_postgres::Client) -> Result<(), tokio_postgres::Error> {
        let tx = client.transaction().await?;
        tx.batch_execute("SELECT pg_advisory_xact_lock(7468053, 1)")
            .await?;
        // CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even
        // when the schema exists; its owner needs nothing more.
        let exists = tx
            .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&SCHEMA])
            .await?
            .is_some();
        if !exists {
            tx.batch_execute("CREATE SCHEMA geosync").await?;
        }
        tx.batch_execute(DDL).await?;
        tx.commit().await
    }

    /// Every dataset, in key order.
    pub async fn entries(client: &impl GenericClient) -> Result<Vec<Entry>, tokio_postgres::Error> {
        let rows = client
            .query(
                &format!("SELECT {COLUMNS} FROM geosync.ledger ORDER BY source_path, layer"),
                &[],
            )
            .await?;
        Ok(rows.iter().map(entry_of).collect())
    }

    /// The rows of one dataset (one per layer of a GeoPackage).
    pub async fn entries_of(
        client: &impl GenericClient,
        path: &str,
    ) -> Result<Vec<Entry>, tokio_postgres::Error> {
        let rows = client
            .query(
                &format!("SELECT {COLUMNS} FROM geosync.ledger WHERE source_path = $1 ORDER BY layer"),
                &[&path],
            )
            .await?;
        Ok(rows.iter().map(entry_of).collect())
    }

    /// The dataset whose load made `schema.table`, if any. A failed first
    /// load names its table too, but owns nothing: a table of that name is
    /// someone else's.
    pub async fn owner_of(
        client: &impl GenericClient,
        schema: &str,
        table: &str,
    ) -> Result<Option<Key>, tokio_postgres::Error> {
        let row = client
            .query_opt(
                "SELECT source_path, layer FROM geosync.ledger
                 WHERE table_schema = $1 AND table_name = $2
                   AND loaded_fingerprint IS NOT NULL",
                &[&schema, &table],
            )
            .await?;
        Ok(row.map(|r| Key {
            source_path: r.get(0),
            layer: r.get(1),
        }))
    }

    /// Marks a dataset loaded. Call it inside the swap transaction.
    pub async fn record_loaded(
        tx: &tokio_postgres::Transaction<'_>,
        loaded: &Loaded<'_>,
    ) -> Result<(), tokio_postgres::Error> {
        tx.execute(
            "INSERT INTO geosync.ledger AS l (source_path, layer, table_schema, table_name,
                 status, loaded_fingerprint, features, srid, attempts, loaded_at, updated_at)
             VALUES ($1, $2, $3, $4, 'loaded', $5, $6, $7, 0, now(), now())
             ON CONFLICT (source_path, layer) DO UPDATE SET
                 table_schema = EXCLUDED.table_schema, table_name = EXCLUDED.table_name,
                 status = 'loaded', loaded_fingerprint = EXCLUDED.loaded_fingerprint,
                 failed_fingerprint = NULL, features = EXCLUDED.features,
                 srid = EXCLUDED.srid, attempts = 0, last_error = NULL,
                 next_retry_at = NULL, loaded_at = now(), updated_at = now()",
            &[
                &loaded.key.source_path,
                &loaded.key.layer,
                &loaded.table_schema,
                &loaded.table_name,
                &loaded.fingerprint,
                &loaded.features,
                &loaded.srid,
            ],
        )
        .await?;
        Ok(())
    }

    /// Records a failed attempt: one more attempt, the error, the next retry
    /// time. The table and fingerprint of an earlier success are kept.
    pub async fn record_failed(
        client: &impl GenericClient,
        failed: &Failed<'_>,
    ) -> Result<Entry, tokio_postgres::Error> {
        let row = client
            .query_one(
                "INSERT INTO geosync.ledger AS l (source_path, layer, table_schema, table_name,
                     status, failed_fingerprint, attempts, last_error, updated_at)
                 VALUES ($1, $2, $3, $4, 'failed', $5, 1, $6, now())
                 ON CONFLICT (source_path, layer) DO UPDATE SET
                     status = 'failed', failed_fingerprint = EXCLUDED.failed_fingerprint,
                     attempts = l.attempts + 1, last_error = EXCLUDED.last_error,
                     updated_at = now()
                 RETURNING attempts",
                &[
                    &failed.key.source_path,
                    &failed.key.layer,
                    &failed.table_schema,
                    &failed.table_name,
                    &failed.fingerprint,
                    &failed.error,
                ],
            )
            .await?;
        let attempts: i32 = row.get(0);
        let delay = backoff(attempts).as_secs() as f64;
        let row = client
            .query_one(
                &format!(
                    "UPDATE geosync.ledger SET next_retry_at = now() + make_interval(secs => $3)
                     WHERE source_path = $1 AND layer = $2 RETURNING {COLUMNS}"
                ),
                &[&failed.key.source_path, &failed.key.layer, &delay],
            )
            .await?;
        Ok(entry_of(&row))
    }

    /// Forgets a dataset that left the share and drops its table, in one
    /// transaction (the table only if this entry owns it).
    pub async fn remove(
        client: &mut tokio_postgres::Client,
        key: &Key,
    ) -> Result<bool, tokio_postgres::Error> {
        let tx = client.transaction().await?;
        let row = tx
            .query_opt(
                "DELETE FROM geosync.ledger WHERE source_path = $1 AND layer = $2
                 RETURNING table_schema, table_name, loaded_fingerprint",
                &[&key.source_path, &key.layer],
            )
            .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let (schema, table, loaded): (String, String, Option<String>) = (row.get(0), row.get(1), row.get(2));
        if loaded.is_some() {
            tx.batch_execute(&format!(
                "DROP TABLE IF EXISTS {}.{}",
                quote_ident(&schema),
                quote_ident(&table)
            ))
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

/// The names a publication uses, written before any of them is created
/// so that a publication killed half-way is still found and cleaned up.
#[derive(Debug, Clone)]
pub struct PublishNames<'a> {
    pub key: &'a Key,
    pub layer_name: &'a str,
    pub style_name: Option<&'a str>,
    pub record_uuid: &'a str,
}

impl Ledger {
    /// Records the names a publication is about to use; a record uuid new
    /// to this entry is claimed now.
    pub async fn record_publishing(
        client: &impl GenericClient,
        names: &PublishNames<'_>,
    ) -> Result<(), tokio_postgres::Error> {
        client
            .execute(
                "UPDATE geosync.ledger SET layer_name = $3, style_name = $4, record_uuid = $5,
                     record_claimed_at = CASE WHEN record_uuid IS DISTINCT FROM $5 THEN now()
                                              ELSE record_claimed_at END,
                     updated_at = now()
                 WHERE source_path = $1 AND layer = $2",
                &[
                    &names.key.source_path,
                    &names.key.layer,
                    &names.layer_name,
                    &names.style_name,
                    &names.record_uuid,
                ],
            )
            .await?;
        Ok(())
    }

    /// Marks a dataset published with what it was published from. The
    /// table's data did not change since its load (a metadata or style
    /// change only), so its loaded fingerprint becomes the dataset's current
    /// one: the next pass does not reload it for a sidecar it does not read.
    pub async fn record_published(
        client: &impl GenericClient,
        key: &Key,
        fingerprint: &str,
        loaded_fingerprint: &str,
    ) -> Result<(), tokio_postgres::Error> {
        client
            .execute(
                "UPDATE geosync.ledger SET publish_status = 'published', publish_fingerprint = $3,
                     loaded_fingerprint = $4,
                     published_at = now(), publish_error = NULL, publish_attempts = 0,
                     publish_next_retry_at = NULL, updated_at = now()
                 WHERE source_path = $1 AND layer = $2",
                &[&key.source_path, &key.layer, &fingerprint, &loaded_fingerprint],
            )
            .await?;
        Ok(())
    }

    /// Records a failed publication: one more attempt, the error, the next
    /// retry with the same backoff as loads. What was published before stays.
    pub async fn record_publish_failed(
        client: &impl GenericClient,
        key: &Key,
        fingerprint: &str,
        error: &str,
    ) -> Result<(), tokio_postgres::Error> {
        let row = client
            .query_one(
                "UPDATE geosync.ledger SET publish_status = 'failed', publish_error = $3,
                     publish_failed_fingerprint = $4,
                     publish_attempts = publish_attempts + 1, updated_at = now()
                 WHERE source_path = $1 AND layer = $2 RETURNING publish_attempts",
                &[&key.source_path, &key.layer, &error, &fingerprint],
            )
            .await?;
        let delay = backoff(row.get(0)).as_secs() as f64;
        client
            .execute(
                "UPDATE geosync.ledger
                 SET publish_next_retry_at = now() + make_interval(secs => $3)
                 WHERE source_path = $1 AND layer = $2",
                &[&key.source_path, &key.layer, &delay],
            )
            .await?;
        Ok(())
    }

    /// Drops a dataset's table, keeping its ledger entry (unpublishing
    /// removes the entry last, once the record is gone too).
    pub async fn drop_table(client: &impl GenericClient, key: &Key) -> Result<(), tokio_postgres::Error> {
        let row = client
            .query_opt(
                "SELECT table_schema, table_name, loaded_fingerprint FROM geosync.ledger
                 WHERE source_path = $1 AND layer = $2",
                &[&key.source_path, &key.layer],
            )
            .await?;
        if let Some(row) = row {
            let (schema, table, loaded): (String, String, Option<String>) =
                (row.get(0), row.get(1), row.get(2));
            if loaded.is_some() {
                client
                    .batch_execute(&format!(
                        "DROP TABLE IF EXISTS {}.{}",
                        quote_ident(&schema),
                        quote_ident(&table)
                    ))
                    .await?;
            }
        }
        Ok(())
    }

    /// The entries of this database holding record `uuid`: (key, schema of
    /// its table, when it claimed the uuid).
    /// `claim_times`: whether the ledger has them yet (upgraded by its
    /// target's pass, which may come later).
    pub async fn holders_of(
        client: &impl GenericClient,
        uuid: &str,
        claim_times: bool,
    ) -> Result<Vec<(Key, String, Option<DateTime<Utc>>)>, tokio_postgres::Error> {
        let claimed = if claim_times {
            "(extract(epoch FROM record_claimed_at) * 1e6)::bigint"
        } else {
            "NULL::bigint"
        };
        let rows = client
            .query(
                &format!(
                    "SELECT source_path, layer, table_schema, {claimed}
                     FROM geosync.ledger WHERE record_uuid = $1"
                ),
                &[&uuid],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let key = Key {
                    source_path: r.get(0),
                    layer: r.get(1),
                };
                let claimed = r
                    .get::<_, Option<i64>>(3)
                    .and_then(DateTime::from_timestamp_micros);
                (key, r.get(2), claimed)
            })
            .collect())
    }

    /// Gives up a record uuid another dataset holds since earlier (a ledger
    /// written before uuids were checked): its record is that dataset's.
    pub async fn release_record(
        client: &impl GenericClient,
        key: &Key,
        uuid: &str,
    ) -> Result<(), tokio_postgres::Error> {
        client
            .execute(
                "UPDATE geosync.ledger SET record_uuid = NULL, record_claimed_at = NULL, updated_at = now()
                 WHERE source_path = $1 AND layer = $2 AND record_uuid = $3",
                &[&key.source_path, &key.layer, &uuid],
            )
            .await?;
        Ok(())
    }

    /// Forgets a dataset (its table, layer and record are gone).
    pub async fn forget(client: &impl GenericClient, key: &Key) -> Result<(), tokio_postgres::Error> {
        client
            .execute(
                "DELETE FROM geosync.ledger WHERE source_path = $1 AND layer = $2",
                &[&key.source_path, &key.layer],
            )
            .await?;
        Ok(())
    }
}

fn entry_of(row: &tokio_postgres::Row) -> Entry {
    let status: String = row.get(4);
    Entry {
        key: Key {
            source_path: row.get(0),
            layer: row.get(1),
        },
        table_schema: row.get(2),
        table_name: row.get(3),
        status: if status == "loaded" {
            Status::Loaded
        } else {
            Status::Failed
        },
        loaded_fingerprint: row.get(5),
        failed_fingerprint: row.get(6),
        features: row.get(7),
        srid: row.get(8),
        attempts: row.get(9),
        last_error: row.get(10),
        next_retry_at: row
            .get::<_, Option<i64>>(11)
            .and_then(DateTime::from_timestamp_micros),
        loaded_at: row
            .get::<_, Option<i64>>(12)
            .and_then(DateTime::from_timestamp_micros),
        publication: Publication {
            layer_name: row.get(13),
            style_name: row.get(14),
            record_uuid: row.get(15),
            published_at: row
                .get::<_, Option<i64>>(16)
                .and_then(DateTime::from_timestamp_micros),
            fingerprint: row.get(17),
            status: match row.get::<_, Option<String>>(18).as_deref() {
                Some("published") => Some(PublishStatus::Published),
                Some("failed") => Some(PublishStatus::Failed),
                _ => None,
            },
            error: row.get(19),
            attempts: row.get(20),
            next_retry_at: row
                .get::<_, Option<i64>>(21)
                .and_then(DateTime::from_timestamp_micros),
            record_claimed_at: row
                .get::<_, Option<i64>>(22)
                .and_then(DateTime::from_timestamp_micros),
            failed_fingerprint: row.get(23),
        },
    }
}

/// A PostgreSQL identifier, always quoted.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_minute_and_stops_at_six_hours() {
        assert_eq!(backoff(1), Duration::from_secs(60));
        assert_eq!(backoff(2), Duration::from_secs(120));
        assert_eq!(backoff(4), Duration::from_secs(480));
        assert_eq!(backoff(50), Duration::from_secs(6 * 3600));
        assert_eq!(backoff(0), Duration::from_secs(60));
    }

    #[test]
    fn identifiers_are_quoted_with_doubled_quotes() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
