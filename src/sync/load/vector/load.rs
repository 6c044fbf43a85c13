//! The database side of a vector load: one transaction that creates the
//! staging table, fills it by binary COPY while the reader thread decodes,
//! indexes it, then replaces the old table and marks the ledger.
//!
//! One transaction from start to end: PostgreSQL rolls it back whatever
//! kills us (a crash, kill -9, a lost connection), so there is no
//! half-loaded table to find or clean later, readers keep the old table
//! until the commit, and the ledger changes in that same commit. The
//! staging table is made in the target schema (see [`Names`]) under a name
//! derived from the target (`load_<64-bit hash>`; a table of that name
//! already there makes the load fail, it is never dropped), and
//! an advisory lock on that name keeps two loads of one table from running
//! at once.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Instant;

use futures::SinkExt;
use sha2::{Digest, Sha256};

use super::super::crs::{Crs, CUSTOM_SRID_FIRST, CUSTOM_SRID_LAST};
use super::super::{pg_message, Input, LoadError, LoadReport, Progress, Target};
use super::{kept, prepare, read_rows, Prepared};
use crate::sync::ledger::{self, quote_ident, Ledger};

/// Chunks in flight between the reader thread and the COPY writer: enough
/// to keep both busy, few enough to bound memory (about 1 MiB each).
const CHANNEL_DEPTH: usize = 8;

/// Loads one vector dataset (see the module doc of `sync::load`).
pub async fn load_vector(
    client: &mut tokio_postgres::Client,
    input: &Input,
    target: &Target,
) -> Result<LoadReport, LoadError> {
    load_vector_with(client, input, target, &Default::default(), &|| {}).await
}

/// `load_vector`, updating `progress` as rows go.
pub async fn load_vector_with_progress(
    client: &mut tokio_postgres::Client,
    input: &Input,
    target: &Target,
    progress: &Arc<Progress>,
) -> Result<LoadReport, LoadError> {
    load_vector_with(client, input, target, progress, &|| {}).await
}

/// `load_vector`, with a hook run just before the swap (tests kill the
/// process there).
pub(crate) async fn load_vector_with(
    client: &mut tokio_postgres::Client,
    input: &Input,
    target: &Target,
    progress: &Arc<Progress>,
    before_swap: &(dyn Fn() + Sync),
) -> Result<LoadReport, LoadError> {
    let dataset = input.dataset();
    Ledger::ensure_schema(client)
        .await
        .map_err(|e| LoadError::database(&dataset, &e))?;
    let result = attempt(client, input, target, progress, before_swap).await;
    if let Err(error) = &result {
        let key = key_of(input);
        let message = error.to_string();
        let failed = ledger::Failed {
            key: &key,
            table_schema: &target.schema,
            table_name: &target.table,
            fingerprint: &input.fingerprint,
            error: &message,
        };
        if let Err(e) = Ledger::record_failed(&*client, &failed).await {
            return Err(LoadError::Database {
                dataset,
                message: format!("{message}; and recording the failure failed: {}", pg_message(&e)),
            });
        }
    }
    result
}

pub(crate) fn key_of(input: &Input) -> ledger::Key {
    ledger::Key {
        source_path: input.source_path.clone(),
        layer: input.layer.clone().unwrap_or_default(),
    }
}

async fn attempt(
    client: &mut tokio_postgres::Client,
    input: &Input,
    target: &Target,
    progress: &Arc<Progress>,
    before_swap: &(dyn Fn() + Sync),
) -> Result<LoadReport, LoadError> {
    let started = Instant::now();
    let dataset = input.dataset();
    let db = |e: tokio_postgres::Error| LoadError::database(&dataset, &e);
    let prepared = {
        let (input, target) = (input.clone(), target.clone());
        tokio::task::spawn_blocking(move || prepare(&input, &target))
            .await
            .map_err(|e| LoadError::rejected(&dataset, format!("reading it crashed: {e}")))??
    };
    check_target(client, input, target).await?;
    let srid = resolve_srid(client, &prepared, target).await?;
    let names = Names::of(target);
    let tx = client.transaction().await.map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&names.lock])
        .await
        .map_err(db)?;
    tx.batch_execute(&create_staging(&prepared, &names, srid))
        .await
        .map_err(db)?;
    let prepared_at = started.elapsed();
    let stats = copy_rows(&tx, &prepared, &names, srid, progress).await?;
    let copied_at = started.elapsed();
    if let Some(kb) = index_memory(&tx, stats.features).await.map_err(db)? {
        tx.batch_execute(&format!("SET LOCAL maintenance_work_mem = '{kb}kB'"))
            .await
            .map_err(db)?;
    }
    tx.batch_execute(&format!(
        "CREATE INDEX {gix} ON {stage} USING gist (geom);
         ALTER TABLE {stage} ADD CONSTRAINT {pkey} PRIMARY KEY (ogc_fid);
         ANALYZE {stage};",
        stage = names.stage,
        gix = names.stage_index,
        pkey = names.stage_pkey
    ))
    .await
    .map_err(db)?;
    let indexed_at = started.elapsed();
    before_swap();
    swap(&tx, target, &names).await.map_err(db)?;
    let key = key_of(input);
    let loaded = ledger::Loaded {
        key: &key,
        table_schema: &target.schema,
        table_name: &target.table,
        fingerprint: &input.fingerprint,
        features: stats.features as i64,
        srid,
    };
    Ledger::record_loaded(&tx, &loaded).await.map_err(db)?;
    tx.commit().await.map_err(db)?;
    tracing::debug!(
        dataset = %dataset,
        features = stats.features,
        prepare_ms = prepared_at.as_millis() as u64,
        copy_ms = (copied_at - prepared_at).as_millis() as u64,
        index_ms = (indexed_at - copied_at).as_millis() as u64,
        swap_ms = (started.elapsed() - indexed_at).as_millis() as u64,
        "loaded"
    );
    let mut warnings = prepared.warnings.clone();
    if stats.recoded_text > 0 {
        warnings.push(format!(
            "{} text values were not valid UTF-8 and were repaired",
            stats.recoded_text
        ));
    }
    if stats.bad_dates > 0 {
        warnings.push(format!(
            "{} dates or times were impossible and left empty",
            stats.bad_dates
        ));
    }
    Ok(LoadReport {
        features: stats.features,
        bytes: prepared.bytes,
        srid,
        duration: started.elapsed(),
        warnings,
    })
}

/// Memory the GiST build needs to sort all its entries at once (about 80
/// bytes each; it spills to disk otherwise, 11 MB for a million polygons
/// under PostgreSQL's default of 64 MB), and enough for the primary key to
/// be built by parallel workers (PostgreSQL gives each at least 32 MB).
const INDEX_BYTES_PER_FEATURE: u64 = 96;
const INDEX_MEMORY_MIN_KB: i64 = 96 * 1024;
/// A careful bound for one session on a shared server.
const INDEX_MEMORY_MAX_KB: i64 = 256 * 1024;

/// The `maintenance_work_mem` this load's index builds should have, for
/// this transaction only: None when the server's setting is enough (a
/// larger setting is never lowered).
async fn index_memory(
    tx: &tokio_postgres::Transaction<'_>,
    features: u64,
) -> Result<Option<i64>, tokio_postgres::Error> {
    let row = tx
        .query_one(
            "SELECT setting::bigint FROM pg_settings WHERE name = 'maintenance_work_mem'",
            &[],
        )
        .await?;
    Ok(index_memory_kb(features, row.get(0)))
}

/// See [`index_memory`]; sizes in kB.
fn index_memory_kb(features: u64, current_kb: i64) -> Option<i64> {
    let needed = i64::try_from(features.saturating_mul(INDEX_BYTES_PER_FEATURE) / 1024).unwrap_or(i64::MAX);
    let wanted = needed.clamp(INDEX_MEMORY_MIN_KB, INDEX_MEMORY_MAX_KB);
    (needed > current_kb && wanted > current_kb).then_some(wanted)
}

/// Identifiers of one load, all derived from the target so that a retry
/// uses the same ones.
///
/// The staging table is made in the target schema, inside the load's one
/// transaction: no one sees it before the swap commits, and a crash leaves
/// nothing. Made there, it gets the default privileges its owner declared
/// for that schema (`ALTER DEFAULT PRIVILEGES ... IN SCHEMA`, the readers'
/// SELECT); made in another schema and moved, it would get none. Its index
/// and key have staging names while the old table keeps the final ones,
/// and take the final ones after the old table is dropped.
struct Names {
    /// The staging table, schema-qualified (quoted).
    stage: String,
    stage_index: String,
    stage_pkey: String,
    /// The staging table's name, unquoted.
    stage_name: String,
    index: String,
    pkey: String,
    lock: i64,
}

impl Names {
    fn of(target: &Target) -> Names {
        let digest = Sha256::digest(format!("{}\0{}", target.schema, target.table));
        let hex = hex::encode(&digest[..8]);
        let short = super::truncate(&target.table, 40);
        let stage_name = format!("load_{hex}");
        Names {
            stage: format!("{}.{}", quote_ident(&target.schema), quote_ident(&stage_name)),
            stage_index: quote_ident(&format!("load_{hex}_geom")),
            stage_pkey: quote_ident(&format!("load_{hex}_pkey")),
            stage_name,
            index: quote_ident(&format!("{short}_{}_geom", &hex[..8])),
            pkey: quote_ident(&format!("{short}_{}_pkey", &hex[..8])),
            lock: i64::from_be_bytes(digest[..8].try_into().expect("8 bytes")),
        }
    }
}

fn create_staging(prepared: &Prepared, names: &Names, srid: i32) -> String {
    let mut columns = vec![
        "ogc_fid bigint NOT NULL".to_string(),
        format!("geom {}", prepared.geometry.sql(srid)),
    ];
    for c in &prepared.columns {
        columns.push(format!("{} {}", quote_ident(&c.name), c.ty.sql()));
    }
    format!(
        "CREATE TABLE {stage} ({columns});",
        stage = names.stage,
        columns = columns.join(", ")
    )
}

/// Runs the reader thread and the COPY at once; the bounded channel
/// between them is the only buffer.
async fn copy_rows(
    tx: &tokio_postgres::Transaction<'_>,
    prepared: &Prepared,
    names: &Names,
    srid: i32,
    progress: &Arc<Progress>,
) -> Result<super::ReadStats, LoadError> {
    let dataset = &prepared.dataset;
    let db = |e: tokio_postgres::Error| LoadError::database(dataset, &e);
    let mut column_list = vec!["ogc_fid".to_string(), "geom".to_string()];
    column_list.extend(prepared.columns.iter().map(|c| quote_ident(&c.name)));
    let sink = tx
        .copy_in::<_, Cursor<Vec<u8>>>(&format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary, FREEZE)",
            names.stage,
            column_list.join(", ")
        ))
        .await
        .map_err(db)?;
    let (sender, mut receiver) = tokio::sync::mpsc::channel(CHANNEL_DEPTH);
    let reader = {
        let (prepared, progress) = (prepared.clone(), progress.clone());
        std::thread::spawn(move || read_rows(&prepared, srid as u32, sender, &progress))
    };
    futures::pin_mut!(sink);
    let mut sent = Ok(());
    while let Some(chunk) = receiver.recv().await {
        if let Err(e) = sink.send(Cursor::new(chunk)).await {
            sent = Err(e);
            break;
        }
    }
    drop(receiver);
    let stats = reader
        .join()
        .map_err(|_| LoadError::rejected(dataset, "reading it crashed (GDAL panicked)"))??;
    sent.map_err(db)?;
    sink.finish().await.map_err(db)?;
    Ok(stats)
}

/// Drops the old table, puts the staging table in its place, with what
/// an administrator set on the old one (`kept`: privileges, comments,
/// owner).
async fn swap(
    tx: &tokio_postgres::Transaction<'_>,
    target: &Target,
    names: &Names,
) -> Result<(), tokio_postgres::Error> {
    let kept = kept::carry_over(tx, &target.schema, &target.table, &names.stage_name).await?;
    let schema = quote_ident(&target.schema);
    let table = quote_ident(&target.table);
    tx.batch_execute(&format!(
        "DROP TABLE IF EXISTS {schema}.{table};
         ALTER TABLE {stage} RENAME TO {table};
         ALTER INDEX {schema}.{stage_index} RENAME TO {index};
         ALTER TABLE {schema}.{table} RENAME CONSTRAINT {stage_pkey} TO {pkey};",
        stage = names.stage,
        stage_index = names.stage_index,
        index = names.index,
        stage_pkey = names.stage_pkey,
        pkey = names.pkey
    ))
    .await?;
    kept.finish(tx).await
}

/// The target schema must exist, and the target table, if there, must be
/// this dataset's (a table geosync did not make is never replaced).
async fn check_target(
    client: &tokio_postgres::Client,
    input: &Input,
    target: &Target,
) -> Result<(), LoadError> {
    let dataset = input.dataset();
    let db = |e: tokio_postgres::Error| LoadError::database(&dataset, &e);
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1),
                    to_regclass(quote_ident($1) || '.' || quote_ident($2)) IS NOT NULL",
            &[&target.schema, &target.table],
        )
        .await
        .map_err(db)?;
    let (schema_exists, table_exists): (bool, bool) = (row.get(0), row.get(1));
    if !schema_exists {
        return Err(LoadError::Database {
            dataset,
            message: format!("schema {} does not exist in the target database", target.schema),
        });
    }
    if !table_exists {
        return Ok(());
    }
    let owner = Ledger::owner_of(client, &target.schema, &target.table)
        .await
        .map_err(db)?;
    match owner {
        Some(key) if key == key_of(input) => Ok(()),
        Some(key) => Err(LoadError::Database {
            message: format!(
                "table {}.{} already holds dataset {}{}",
                target.schema,
                target.table,
                key.source_path,
                if key.layer.is_empty() {
                    String::new()
                } else {
                    format!(" (layer {})", key.layer)
                }
            ),
            dataset,
        }),
        None => Err(LoadError::Database {
            message: format!(
                "table {}.{} exists and geosync did not create it: it is left untouched",
                target.schema, target.table
            ),
            dataset,
        }),
    }
}

/// The SRID rows get: the EPSG code PostGIS knows, the target's default
/// when the dataset has no CRS, or a geosync-owned SRID for custom WKT.
async fn resolve_srid(
    client: &mut tokio_postgres::Client,
    prepared: &Prepared,
    target: &Target,
) -> Result<i32, LoadError> {
    let dataset = &prepared.dataset;
    let db = |e: tokio_postgres::Error| LoadError::database(dataset, &e);
    let (code, what) = match &prepared.crs {
        Some(Crs::Custom { wkt, proj4 }) => return custom_srid(client, dataset, wkt, proj4).await,
        Some(Crs::Epsg { code, .. }) => (*code, "its CRS"),
        None => (
            target.default_srid.expect("checked in prepare"),
            "the target's default CRS",
        ),
    };
    let code = i32::try_from(code)
        .map_err(|_| LoadError::rejected(dataset, format!("EPSG:{code} is out of range")))?;
    let known = client
        .query_opt("SELECT 1 FROM spatial_ref_sys WHERE srid = $1", &[&code])
        .await
        .map_err(db)?;
    match known {
        Some(_) => Ok(code),
        None => Err(LoadError::rejected(
            dataset,
            format!("{what}, EPSG:{code}, is not in PostGIS's spatial_ref_sys"),
        )),
    }
}

/// Finds or adds the WKT in spatial_ref_sys under a geosync SRID; an
/// advisory lock serialises two loads adding CRSs at once.
async fn custom_srid(
    client: &mut tokio_postgres::Client,
    dataset: &str,
    wkt: &str,
    proj4: &str,
) -> Result<i32, LoadError> {
    let db = |e: tokio_postgres::Error| LoadError::database(dataset, &e);
    let tx = client.transaction().await.map_err(db)?;
    tx.batch_execute("SELECT pg_advisory_xact_lock(7468053, 2)")
        .await
        .map_err(db)?;
    let found = tx
        .query_opt(
            "SELECT srid FROM spatial_ref_sys WHERE auth_name = 'geosync' AND srtext = $1",
            &[&wkt],
        )
        .await
        .map_err(db)?;
    if let Some(row) = found {
        return Ok(row.get(0));
    }
    let row = tx
        .query_one(
            "SELECT coalesce(max(srid) + 1, $1) FROM spatial_ref_sys WHERE srid BETWEEN $1 AND $2",
            &[&CUSTOM_SRID_FIRST, &CUSTOM_SRID_LAST],
        )
        .await
        .map_err(db)?;
    let srid: i32 = row.get(0);
    if srid > CUSTOM_SRID_LAST {
        return Err(LoadError::rejected(
            dataset,
            "no geosync SRID is left for a custom CRS",
        ));
    }
    may_add_crs(&tx, dataset).await?;
    tx.execute(
        "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text)
         VALUES ($1, 'geosync', $1, $2, $3)",
        &[&srid, &wkt, &proj4],
    )
    .await
    .map_err(|e| LoadError::Database {
        dataset: dataset.to_string(),
        message: format!(
            "its CRS has no EPSG code and adding it to spatial_ref_sys failed: {}",
            pg_message(&e)
        ),
    })?;
    tx.commit().await.map_err(db)?;
    Ok(srid)
}

/// PostGIS lets everyone read spatial_ref_sys but only its owner (the
/// superuser who created the extension) write it: a role the sync runs as
/// needs INSERT granted. Said here, with the grant, instead of PostgreSQL's
/// bare "permission denied"; a failure, so the retry after the grant loads.
async fn may_add_crs(tx: &tokio_postgres::Transaction<'_>, dataset: &str) -> Result<(), LoadError> {
    let row = tx
        .query_one(
            "SELECT current_user::text, current_database()::text,
                    has_table_privilege('spatial_ref_sys', 'INSERT')",
            &[],
        )
        .await
        .map_err(|e| LoadError::database(dataset, &e))?;
    if row.get(2) {
        return Ok(());
    }
    let (role, database): (String, String) = (row.get(0), row.get(1));
    Err(LoadError::Database {
        dataset: dataset.to_string(),
        message: format!(
            "its CRS has no EPSG code, and role {role} may not add it to spatial_ref_sys: \
             give the dataset a CRS with an EPSG code, or, as a superuser, in database {database}, run: \
             GRANT INSERT ON spatial_ref_sys TO {};",
            quote_ident(&role)
        ),
    })
}

#[cfg(test)]
mod index_memory_tests {
    use super::*;

    #[test]
    fn index_memory_grows_with_the_features_within_bounds_and_never_lowers() {
        let default = 64 * 1024;
        assert_eq!(
            index_memory_kb(1_000, default),
            None,
            "small: the default is enough"
        );
        assert_eq!(index_memory_kb(1_000_000, default), Some(INDEX_MEMORY_MIN_KB));
        assert_eq!(index_memory_kb(2_000_000, default), Some(187_500));
        assert_eq!(index_memory_kb(50_000_000, default), Some(INDEX_MEMORY_MAX_KB));
        assert_eq!(
            index_memory_kb(50_000_000, 1024 * 1024),
            None,
            "a larger setting is kept"
        );
    }
}
