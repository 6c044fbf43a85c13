//! A small bounded pool of connections: a large manifest must not take
//! the server's connection slots from the applications it serves (with
//! `max_connections = 100`, one connection per database failed at 100
//! databases). Every connection, busy or idle, holds one permit; an idle
//! connection to another database is closed when a slot is needed.

use std::sync::Arc;

use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_postgres::Client;

use super::client::{connect_with_driver, ConnectError};
use crate::systems::postgres::manifest::PgConnection;

/// A connection of the pool. Dropped, it is closed and its slot freed;
/// given back with [`Pool::give_back`], it stays open for the next change
/// in the same database.
pub struct Conn {
    /// None: the maintenance database.
    database: Option<String>,
    /// Always Some until dropped.
    client: Option<Client>,
    driver: Option<JoinHandle<()>>,
    permit: Option<OwnedSemaphorePermit>,
}

pub struct Pool {
    connection: PgConnection,
    permits: Arc<Semaphore>,
    size: Mutex<usize>,
    /// Open connections nobody uses, least recently used first.
    idle: Mutex<Vec<Conn>>,
}

impl Pool {
    pub fn new(connection: PgConnection, size: usize) -> Self {
        let size = size.max(1);
        Pool {
            connection,
            permits: Arc::new(Semaphore::new(size)),
            size: Mutex::new(size),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// How many connections the pool may open now.
    pub async fn size(&self) -> usize {
        *self.size.lock().await
    }

    /// Lowers the bound to what the server can still accept (its free
    /// slots, plus the one this pool already holds), never below one.
    pub async fn fit_to_server(&self, free_slots: i64) {
        let mut size = self.size.lock().await;
        let allowed = usize::try_from(free_slots.saturating_add(1)).unwrap_or(1).max(1);
        if allowed < *size {
            let fewer = *size - allowed;
            // Slots in use now come back later and stay forgotten then.
            let forgotten = self.permits.forget_permits(fewer);
            for _ in forgotten..fewer {
                let permit = self.permits.clone().acquire_owned().await.expect("never closed");
                permit.forget();
            }
            *size = allowed;
        }
    }

    /// A connection to `database` (None: the maintenance database).
    pub async fn get(&self, database: Option<&str>) -> Result<Conn, ConnectError> {
        loop {
            {
                let mut idle = self.idle.lock().await;
                if let Some(at) = idle.iter().position(|c| c.database.as_deref() == database) {
                    return Ok(idle.remove(at));
                }
                if let Ok(permit) = self.permits.clone().try_acquire_owned() {
                    drop(idle);
                    return self.open(database, permit).await;
                }
                if !idle.is_empty() {
                    // Close the least recently used idle connection: its
                    // slot goes to this database.
                    drop(idle.remove(0));
                    continue;
                }
            }
            let permit = self.permits.clone().acquire_owned().await.expect("never closed");
            return self.open(database, permit).await;
        }
    }

    /// Keeps `conn` open for the next change in its database.
    pub async fn give_back(&self, conn: Conn) {
        self.idle.lock().await.push(conn);
    }

    async fn open(&self, database: Option<&str>, permit: OwnedSemaphorePermit) -> Result<Conn, ConnectError> {
        let name = database.unwrap_or(&self.connection.maintenance_db);
        let (client, driver) = connect_with_driver(&self.connection, name).await?;
        Ok(Conn {
            database: database.map(str::to_string),
            client: Some(client),
            driver: Some(driver),
            permit: Some(permit),
        })
    }
}

impl std::ops::Deref for Conn {
    type Target = Client;

    fn deref(&self) -> &Client {
        self.client.as_ref().expect("present until dropped")
    }
}

impl Drop for Conn {
    /// The slot is freed only once the connection is really closed, so the
    /// server never sees more connections than the pool allows.
    fn drop(&mut self) {
        drop(self.client.take());
        let (driver, permit) = (self.driver.take(), self.permit.take());
        // Outside a runtime (the process is ending) there is nothing to wait for.
        if let (Some(driver), Some(permit), Ok(runtime)) =
            (driver, permit, tokio::runtime::Handle::try_current())
        {
            runtime.spawn(async move {
                let _ = driver.await;
                drop(permit);
            });
        }
    }
}
