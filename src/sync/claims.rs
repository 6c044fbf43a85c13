//! Which dataset a metadata record belongs to. Every target publishes into
//! one catalogue, where a record's uuid is its identity; each target's
//! ledger, in its own database, says which of its datasets holds which
//! uuid. So before a dataset claims a uuid, and before a record is taken
//! out of the catalogue, every target's ledger is asked (the targets'
//! databases are all on the `[postgres]` server the pass uses).
//!
//! The rule, for a curator: the first dataset to claim a uuid keeps it.
//! A dataset claims its uuid when its publication records it in its ledger
//! entry (before anything is sent); another dataset whose sidecar carries
//! the same fileIdentifier (an `.xml` copied with the data, the usual way
//! this happens) is rejected until its sidecar gets an identifier of its
//! own, and nothing of it is published. Datasets that meet in one pass
//! claim in the pass's order (targets as declared, paths in order); passes
//! side by side (the loop's, or another geosync process's) take turns.
//! Two entries holding one uuid (a ledger written before this check) are
//! settled by the claim's time, then by target, path and layer: the same
//! answer in every pass.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::ledger::{Key, Ledger};
use crate::error_chain::error_chain as chain;
use crate::systems::postgres::client as pg;
use crate::systems::postgres::manifest::PgConnection;

/// The advisory lock claims take turns on (geosync's key, then its use).
const CLAIM_LOCK: (i32, i32) = (7468053, 3);

/// A claim's turn (see [`Claims::turn`]).
pub struct Turn {
    _local: tokio::sync::OwnedMutexGuard<()>,
    /// Where the advisory lock is held (None: that database is not there yet).
    database: Option<String>,
}

/// Where a target's ledger rows are: its database, its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerSite {
    pub target: String,
    pub database: String,
    pub schema: String,
}

/// A dataset whose ledger entry holds a uuid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Its target's name (or where its ledger is, for a target no longer declared).
    pub target: String,
    pub key: Key,
    pub claimed_at: Option<DateTime<Utc>>,
}

impl Holder {
    /// Who came first: the claim's time, then target, path, layer.
    fn order(&self) -> (Option<DateTime<Utc>>, &str, &Key) {
        (self.claimed_at, &self.target, &self.key)
    }

    /// "dataset a/b.shp in target ouvert", as a researcher reads it.
    pub fn describe(&self) -> String {
        let layer = match self.key.layer.as_str() {
            "" => String::new(),
            layer => format!(" (layer {layer})"),
        };
        format!(
            "dataset {}{layer} in target {}",
            self.key.source_path, self.target
        )
    }
}

/// The claims check of one pass over one target: the other targets'
/// databases are connected once, when first asked.
pub struct Claims<'a> {
    own: LedgerSite,
    sites: &'a [LedgerSite],
    connection: &'a PgConnection,
    lock: Arc<tokio::sync::Mutex<()>>,
    others: BTreeMap<String, Option<tokio_postgres::Client>>,
    /// Databases whose ledger has both claim columns: a ledger only gains
    /// them, so each database is asked once per pass, not once per claim.
    upgraded: std::collections::BTreeSet<String>,
}

impl<'a> Claims<'a> {
    pub fn new(
        own: LedgerSite,
        sites: &'a [LedgerSite],
        connection: &'a PgConnection,
        lock: Arc<tokio::sync::Mutex<()>>,
    ) -> Claims<'a> {
        Claims {
            own,
            sites,
            connection,
            lock,
            others: BTreeMap::new(),
            upgraded: Default::default(),
        }
    }

    /// Taken before a uuid is checked, given back once it is recorded
    /// ([`Claims::release`]): claims are made one at a time, by this
    /// process's passes (a lock in memory) and by every geosync process
    /// (an advisory lock in the first of the targets' databases: every
    /// process reads the same manifests, so they pick the same; a lock
    /// left by a lost connection goes with it).
    pub async fn turn(&mut self, own: &tokio_postgres::Client) -> Result<Turn, String> {
        let local = self.lock.clone().lock_owned().await;
        let database = self.lock_database();
        let locked = match self.session(own, &database).await? {
            Some(client) => {
                client
                    .batch_execute(&format!(
                        "SELECT pg_advisory_lock({}, {})",
                        CLAIM_LOCK.0, CLAIM_LOCK.1
                    ))
                    .await
                    .map_err(|e| format!("waiting for the claims lock in database {database}: {e}"))?;
                true
            }
            None => false,
        };
        Ok(Turn {
            _local: local,
            database: locked.then_some(database),
        })
    }

    /// Gives the turn back.
    pub async fn release(&mut self, own: &tokio_postgres::Client, turn: Turn) {
        if let Some(database) = &turn.database {
            if let Ok(Some(client)) = self.session(own, database).await {
                // Failing, the connection is gone, and the lock with it.
                let unlock = format!("SELECT pg_advisory_unlock({}, {})", CLAIM_LOCK.0, CLAIM_LOCK.1);
                let _ = client.batch_execute(&unlock).await;
            }
        }
    }

    fn lock_database(&self) -> String {
        self.sites
            .iter()
            .map(|s| &s.database)
            .chain([&self.own.database])
            .min()
            .expect("the own database at least")
            .clone()
    }

    /// A connection to `database`: this target's, or another's.
    async fn session<'c>(
        &'c mut self,
        own: &'c tokio_postgres::Client,
        database: &str,
    ) -> Result<Option<&'c tokio_postgres::Client>, String> {
        if database == self.own.database {
            Ok(Some(own))
        } else {
            self.client(database).await
        }
    }

    /// The dataset that keeps `uuid` from `key` (this target's, reached
    /// through `own`): any other holder when `key` does not hold it yet,
    /// else one that claimed it before.
    pub async fn keeper(
        &mut self,
        own: &tokio_postgres::Client,
        key: &Key,
        uuid: &str,
        claimed: Option<Option<DateTime<Utc>>>,
    ) -> Result<Option<Holder>, String> {
        let holders = self.holders(own, key, uuid).await?;
        let first = holders.into_iter().min_by(|a, b| a.order().cmp(&b.order()));
        let Some(claimed_at) = claimed else {
            return Ok(first);
        };
        let me = Holder {
            target: self.own.target.clone(),
            key: key.clone(),
            claimed_at,
        };
        Ok(first.filter(|h| h.order() < me.order()))
    }

    /// Every dataset, of any target, whose entry holds `uuid`, but `key`.
    pub async fn holders(
        &mut self,
        own: &tokio_postgres::Client,
        key: &Key,
        uuid: &str,
    ) -> Result<Vec<Holder>, String> {
        let mut databases: Vec<String> = self.sites.iter().map(|s| s.database.clone()).collect();
        databases.push(self.own.database.clone());
        databases.sort();
        databases.dedup();
        let mut holders = Vec::new();
        for database in databases {
            let upgraded = self.upgraded.contains(&database);
            let rows = if database == self.own.database {
                rows_of(own, uuid, upgraded).await
            } else {
                match self.client(&database).await? {
                    Some(client) => rows_of(client, uuid, upgraded).await,
                    None => Ok((Vec::new(), false)),
                }
            }
            .map_err(|e| format!("reading the ledger of database {database}: {e}"))?;
            let (rows, upgraded) = rows;
            if upgraded {
                self.upgraded.insert(database.clone());
            }
            for (row_key, schema, claimed_at) in rows {
                if database == self.own.database && row_key == *key {
                    continue;
                }
                holders.push(Holder {
                    target: self.target_of(&database, &schema),
                    key: row_key,
                    claimed_at,
                });
            }
        }
        Ok(holders)
    }

    fn target_of(&self, database: &str, schema: &str) -> String {
        std::iter::once(&self.own)
            .chain(self.sites)
            .find(|s| s.database == database && s.schema == schema)
            .map_or_else(
                || format!("(database {database}, schema {schema})"),
                |s| s.target.clone(),
            )
    }

    /// Another target's database; None when it does not exist yet (nothing
    /// of it is published).
    async fn client(&mut self, database: &str) -> Result<Option<&tokio_postgres::Client>, String> {
        if !self.others.contains_key(database) {
            let client = match pg::connect(self.connection, database).await {
                Ok(client) => Some(client),
                Err(e) if super::pass::database_missing(&e) => None,
                Err(e) => return Err(chain(&e)),
            };
            self.others.insert(database.to_string(), client);
        }
        Ok(self.others[database].as_ref())
    }
}

/// The entries of one database holding `uuid`; none without a ledger. A
/// ledger another target's pass has not upgraded yet is read as it is;
/// `upgraded`: it is known to have both claim columns. Also says whether it
/// has them.
async fn rows_of(
    client: &tokio_postgres::Client,
    uuid: &str,
    upgraded: bool,
) -> Result<(Vec<(Key, String, Option<DateTime<Utc>>)>, bool), String> {
    let message = |e: tokio_postgres::Error| super::load::pg_message(&e);
    let (uuids, claim_times) = if upgraded {
        (1, 1)
    } else {
        let row = client
            .query_one(
                "SELECT count(*) FILTER (WHERE attname = 'record_uuid'),
                        count(*) FILTER (WHERE attname = 'record_claimed_at')
                 FROM pg_attribute
                 WHERE attrelid = to_regclass('geosync.ledger') AND NOT attisdropped",
                &[],
            )
            .await
            .map_err(message)?;
        (row.get::<_, i64>(0), row.get::<_, i64>(1))
    };
    if uuids == 0 {
        return Ok((Vec::new(), false));
    }
    let rows = Ledger::holders_of(client, uuid, claim_times > 0)
        .await
        .map_err(message)?;
    Ok((rows, claim_times > 0))
}
