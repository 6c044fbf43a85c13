//! The platform-wide apply lock: a session-level advisory lock in the
//! PostgreSQL geosync manages, held for the whole apply (as Terraform's pg
//! backend does). The file lock of the state directory only stops applies
//! on one machine; two machines applying the same manifests from git meet
//! here. The server releases the lock when the connection ends, so a dead
//! apply never leaves it behind.

use tokio_postgres::Client;

use std::time::Duration;

use tokio::time::Instant;

use super::client::{connect, describe, ConnectError};
use crate::systems::postgres::manifest::PgConnection;
use crate::systems::{BoxError, LockHeld};

/// "geosync" in ASCII: the key of geosync's advisory lock, in the
/// maintenance database.
const LOCK_KEY: i64 = 0x0067_656f_7379_6e63;

/// How long `--break-lock` waits at least for the ended session to let go.
const BREAK_WAIT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum PlatformLockError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("cannot take geosync's lock in PostgreSQL at {target}")]
    Query {
        target: String,
        #[source]
        source: tokio_postgres::Error,
    },
}

/// Held until dropped: dropping the client closes the session, and the
/// server releases the lock.
pub struct AdvisoryLock {
    _client: Client,
}

/// Takes the lock, waiting up to `wait` for its holder to let go, or says
/// who holds it ([`LockHeld`]). With `break_held`, the session holding it
/// is terminated first (an apply whose machine vanished while its
/// connection still looks alive to the server).
pub async fn acquire(
    connection: &PgConnection,
    holder_name: &str,
    break_held: bool,
    wait: Duration,
) -> Result<AdvisoryLock, BoxError> {
    let database = &connection.maintenance_db;
    let target = describe(connection, database);
    let query_error = |source| PlatformLockError::Query {
        target: target.clone(),
        source,
    };
    let client = connect(connection, database)
        .await
        .map_err(PlatformLockError::from)?;
    // Shown in pg_stat_activity: how a DBA (and the next apply) sees who holds it.
    client
        .execute(
            "SELECT set_config('application_name', $1, false)",
            &[&holder_name],
        )
        .await
        .map_err(query_error)?;
    let mut wait = wait;
    if break_held && !try_lock(&client).await.map_err(query_error)? {
        if let (Some(pid), _) = holder(&client).await.map_err(query_error)? {
            client
                .execute("SELECT pg_terminate_backend($1)", &[&pid])
                .await
                .map_err(query_error)?;
        }
        wait = wait.max(BREAK_WAIT);
    }
    let deadline = Instant::now() + wait;
    loop {
        if try_lock(&client).await.map_err(query_error)? {
            return Ok(AdvisoryLock { _client: client });
        }
        if Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, who) = holder(&client).await.map_err(query_error)?;
    Err(Box::new(LockHeld(format!(
        "another apply holds geosync's lock in PostgreSQL at {target} ({who}); it is released when that apply ends or its connection drops (--break-lock ends that session)"
    ))))
}

async fn try_lock(client: &Client) -> Result<bool, tokio_postgres::Error> {
    Ok(client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY])
        .await?
        .get(0))
}

/// The backend holding the lock and how to describe it.
async fn holder(client: &Client) -> Result<(Option<i32>, String), tokio_postgres::Error> {
    // A bigint advisory key shows as classid (high half), objid (low half), objsubid 1.
    let row = client
        .query_opt(
            "SELECT a.pid, a.application_name, coalesce(host(a.client_addr), 'a local socket'), \
                    to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') \
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
               AND l.classid = ($1::bigint >> 32)::oid AND l.objid = ($1::bigint & 4294967295)::oid \
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[&LOCK_KEY],
        )
        .await?;
    Ok(match row {
        Some(row) => {
            let pid: i32 = row.get(0);
            let name: Option<String> = row.get(1);
            let from: String = row.get(2);
            let since: Option<String> = row.get(3);
            (
                Some(pid),
                format!(
                    "server process {pid}, \"{}\", connected from {from} since {} UTC",
                    name.unwrap_or_default(),
                    since.unwrap_or_default()
                ),
            )
        }
        None => (None, "a session that has just ended".to_string()),
    })
}
