//! PostgreSQL/PostGIS: roles (with write-only passwords), databases,
//! extensions, schemas, exact grants, and the managed block of pg_hba.conf.

mod acl;
pub mod client;
mod diff;
mod hba;
mod hba_file;
mod inside;
mod lock;
pub mod manifest;
mod observed;
mod pool;
mod scram;
mod tls;

use futures::future::BoxFuture;
use futures::StreamExt;
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

use crate::placement::{connect_docker, ContainerFileError, PlacementError};
use crate::plan::{Change, PlanOptions};
use crate::systems::postgres::manifest::Postgres as DesiredPostgres;
use crate::systems::postgres::manifest::{DATABASE_KIND, GRANT_KIND, ROLE_KIND};
use crate::systems::Manifest;
use crate::systems::{BoxError, PlatformLock, System, SystemPlan};
use client::{connect, ident, literal, ConnectError};
use diff::{SqlOp, Statement};
use hba::HbaWrite;
use hba_file::HbaFile;
use observed::ObservedHba;
use pool::Pool;

/// Every kind this system plans, for `--only`/`--exclude`.
pub const KINDS: &[&str] = &[
    ROLE_KIND,
    DATABASE_KIND,
    diff::EXTENSION_KIND,
    diff::SCHEMA_KIND,
    GRANT_KIND,
    hba::KIND,
];

#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("{what}")]
    Query {
        what: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("reading {what}: {message}")]
    Unreadable { what: String, message: String },
    #[error("standard_conforming_strings is off on the server: geosync refuses to quote values for it")]
    NonStandardStrings,
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Plan(Vec<diff::PlanError>),
    #[error(transparent)]
    Hba(#[from] hba::HbaPlanError),
    #[error(transparent)]
    HostFile(#[from] PlacementError),
    #[error(transparent)]
    ContainerFile(#[from] ContainerFileError),
    #[error("{0} does not exist")]
    HbaMissing(String),
    #[error("{0} changed since the plan was made; nothing was written")]
    HbaChanged(String),
    #[error("PostgreSQL rejected the new {location} ({rule}: {error}); the previous file was restored")]
    HbaRejected {
        location: String,
        rule: String,
        error: String,
    },
    #[error("after reloading {location}, geosync could not connect any more; the previous file was restored and reloaded")]
    HbaLockedOut {
        location: String,
        #[source]
        source: ConnectError,
    },
    #[error(
        "{kind} `{name}` already exists: another session created it after this plan was made; plan again"
    )]
    AlreadyExists { kind: &'static str, name: String },
    #[error("{0}: the change was not planned by the postgres system")]
    ForeignChange(String),
}

fn query_error(what: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> PostgresError {
    let what = what.into();
    move |source| PostgresError::Query { what, source }
}

pub struct Postgres {
    desired: DesiredPostgres,
    /// `[docker] host`, for a pg_hba.conf inside a container.
    docker_host: Option<String>,
    /// Every connection of a run, observation and apply, comes from here.
    pool: Pool,
}

impl Postgres {
    pub fn from_manifest(manifest: &Manifest) -> Option<Self> {
        manifest.postgres.clone().map(|desired| Postgres {
            pool: Pool::new(desired.connection.clone(), desired.connection.pool_size),
            docker_host: manifest.docker.as_ref().and_then(|d| d.host.clone()),
            desired,
        })
    }

    async fn observe(&self) -> Result<observed::Observed, PostgresError> {
        let mut observed = {
            let admin = self.pool.get(None).await?;
            check_server(&admin).await?;
            self.pool.fit_to_server(free_slots(&admin).await?).await;
            let mut observed = observed::server(&admin, &self.extension_names())
                .await
                .map_err(query_error("reading roles and databases"))?;
            if self.desired.hba.is_some() {
                observed.hba = Some(self.observe_hba(&admin).await?);
            }
            // Its slot goes to the databases observed next.
            observed
        };
        self.observe_databases(&mut observed).await?;
        Ok(observed)
    }

    fn extension_names(&self) -> Vec<String> {
        let names: std::collections::BTreeSet<&String> = self
            .desired
            .databases
            .iter()
            .flat_map(|d| d.extensions.iter().map(|e| &e.name))
            .collect();
        names.into_iter().cloned().collect()
    }

    /// Reads inside every declared database that exists, as many at once
    /// as the pool allows, each connection closed once its database is read.
    async fn observe_databases(&self, observed: &mut observed::Observed) -> Result<(), PostgresError> {
        let names: Vec<(String, inside::Scope)> = self
            .desired
            .databases
            .iter()
            .filter(|d| observed.databases.contains_key(&d.name))
            .map(|d| (d.name.clone(), inside::Scope::of(d)))
            .collect();
        let role_names = &observed.role_names;
        let reads: Vec<_> = names
            .into_iter()
            .map(|(name, scope)| self.observe_database(name, scope, role_names))
            .collect();
        let mut reads = futures::stream::iter(reads).buffer_unordered(self.pool.size().await);
        while let Some(read) = reads.next().await {
            let (name, inside) = read?;
            if let Some(database) = observed.databases.get_mut(&name) {
                database.inside = Some(inside);
            }
        }
        Ok(())
    }

    async fn observe_database(
        &self,
        name: String,
        scope: inside::Scope,
        role_names: &observed::RoleNames,
    ) -> Result<(String, observed::Inside), PostgresError> {
        let conn = self.pool.get(Some(&name)).await?;
        let inside = match inside::read(&conn, role_names, &scope).await {
            Ok(inside) => inside,
            Err(inside::InsideError::Query(e)) => {
                return Err(query_error(format!("reading database {name}"))(e))
            }
            Err(inside::InsideError::Acl(message)) => {
                return Err(PostgresError::Unreadable {
                    what: format!("database {name}"),
                    message,
                })
            }
        };
        Ok((name, inside))
    }

    async fn observe_hba(&self, admin: &Client) -> Result<ObservedHba, PostgresError> {
        let file = self.hba_file(admin).await?;
        let content = file
            .read()
            .await?
            .ok_or_else(|| PostgresError::HbaMissing(file.describe()))?;
        Ok(ObservedHba {
            location: file.describe(),
            content: content.bytes,
            errors: hba_errors(admin).await?,
            interrupted: file.read_previous().await?.is_some(),
        })
    }

    async fn hba_file(&self, admin: &Client) -> Result<HbaFile, PostgresError> {
        let path = match &self.desired.hba_file {
            Some(path) => path.clone(),
            None => admin
                .query_one("SHOW hba_file", &[])
                .await
                .map_err(query_error("reading hba_file"))?
                .get(0),
        };
        Ok(match &self.desired.hba_container {
            Some(container) => HbaFile::in_container(
                connect_docker(self.docker_host.as_deref()).await?,
                container,
                &path,
            ),
            None => HbaFile::on_host(std::path::Path::new(&path))?,
        })
    }

    async fn run_sql(&self, op: &SqlOp) -> Result<(), PostgresError> {
        let conn = self.pool.get(op.database.as_deref()).await?;
        let statements: Vec<String> = op
            .statements
            .iter()
            .map(|statement| match statement {
                Statement::Sql(sql) => sql.clone(),
                // The verifier, not the password, goes to the server.
                Statement::SetPassword { role, password } => format!(
                    "ALTER ROLE {} PASSWORD {}",
                    ident(role),
                    literal(&scram::new_verifier(password.expose()))
                ),
            })
            .collect();
        // CREATE/DROP DATABASE cannot run in a transaction; everything
        // else of one change commits or rolls back together.
        let transactional = !statements
            .iter()
            .any(|s| s.starts_with("CREATE DATABASE") || s.starts_with("DROP DATABASE"));
        let batch = if transactional {
            format!("BEGIN; {}; COMMIT", statements.join("; "))
        } else {
            statements.join("; ")
        };
        let result = conn.batch_execute(&batch).await;
        if result.is_err() && transactional {
            let _ = conn.batch_execute("ROLLBACK").await;
        }
        if !conn.is_closed() {
            self.pool.give_back(conn).await;
        }
        result.map_err(refused)
    }

    /// Replaces pg_hba.conf so that a crash at any point is safe: the last
    /// file in force is kept beside it (`pg_hba.conf.geosync-previous`)
    /// until PostgreSQL has parsed the new one, loaded it and let geosync
    /// in again; while that copy exists, the next plan finishes the job.
    async fn write_hba(&self, write: &HbaWrite) -> Result<(), PostgresError> {
        let admin = self.pool.get(None).await?;
        let file = self.hba_file(&admin).await?;
        let location = file.describe();
        let current = file
            .read()
            .await?
            .ok_or_else(|| PostgresError::HbaMissing(location.clone()))?;
        if current.bytes != write.expected {
            return Err(PostgresError::HbaChanged(location));
        }
        let previous = match file.read_previous().await? {
            // An interrupted apply kept it: the file in force before that one.
            Some(previous) => previous.bytes,
            None => {
                file.write_previous(&current).await?;
                current.bytes.clone()
            }
        };
        pause_point("hba:previous-kept");
        file.write(&write.content, &current).await?;
        pause_point("hba:replaced");
        let restore = Restore {
            file: &file,
            admin: &admin,
            previous: &previous,
            like: &current,
        };
        // pg_hba_file_rules parses the file on disk: check before reloading.
        if let Some((line, error)) = hba_errors(&admin).await?.into_iter().next() {
            restore.run().await?;
            return Err(PostgresError::HbaRejected {
                location,
                rule: write.describe_line(line),
                error,
            });
        }
        pause_point("hba:checked");
        reload(&admin).await?;
        pause_point("hba:reloaded");
        // The real proof that geosync is not locked out: a new connection
        // (the one connection beyond the pool, for a moment).
        let connection = &self.desired.connection;
        if let Err(source) = connect(connection, &connection.maintenance_db).await {
            restore.run().await?;
            return Err(PostgresError::HbaLockedOut { location, source });
        }
        file.remove_previous().await?;
        self.pool.give_back(admin).await;
        Ok(())
    }
}

/// Puts back the file in force before a write PostgreSQL refused.
struct Restore<'a> {
    file: &'a HbaFile,
    admin: &'a Client,
    previous: &'a [u8],
    like: &'a hba_file::HbaContent,
}

impl Restore<'_> {
    async fn run(&self) -> Result<(), PostgresError> {
        self.file.write(self.previous, self.like).await?;
        reload(self.admin).await?;
        self.file.remove_previous().await
    }
}

async fn reload(admin: &Client) -> Result<(), PostgresError> {
    admin
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .map_err(query_error("reloading the configuration"))
}

/// What PostgreSQL reports wrong in the pg_hba.conf on disk (line, error).
async fn hba_errors(admin: &Client) -> Result<Vec<(usize, String)>, PostgresError> {
    Ok(admin
        .query(
            "SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL ORDER BY line_number",
            &[],
        )
        .await
        .map_err(query_error("checking pg_hba_file_rules"))?
        .iter()
        .map(|row| {
            let line: Option<i32> = row.get(0);
            (
                usize::try_from(line.unwrap_or(0)).unwrap_or(0),
                row.get::<_, Option<String>>(1).unwrap_or_default(),
            )
        })
        .collect())
}

/// geosync quotes values for `standard_conforming_strings = on` only.
async fn check_server(admin: &Client) -> Result<(), PostgresError> {
    let standard: String = admin
        .query_one("SHOW standard_conforming_strings", &[])
        .await
        .map_err(query_error("reading server settings"))?
        .get(0);
    if standard != "on" {
        return Err(PostgresError::NonStandardStrings);
    }
    Ok(())
}

/// Connection slots the server has left for ordinary clients now.
async fn free_slots(admin: &Client) -> Result<i64, PostgresError> {
    Ok(admin
        .query_one(
            "SELECT current_setting('max_connections')::bigint \
                  - current_setting('superuser_reserved_connections')::bigint \
                  - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')",
            &[],
        )
        .await
        .map_err(query_error("reading max_connections"))?
        .get(0))
}

/// A refused change, with the object named when two runs raced to create
/// it (the server then reports only its unique index).
fn refused(source: tokio_postgres::Error) -> PostgresError {
    if let Some(db) = source.as_db_error() {
        let kind = match db.constraint() {
            Some("pg_authid_rolname_index") => Some("role"),
            Some("pg_database_datname_index") => Some("database"),
            Some("pg_namespace_nspname_index") => Some("schema"),
            Some("pg_extension_name_index") => Some("extension"),
            _ => None,
        };
        if let (&SqlState::UNIQUE_VIOLATION, Some(kind)) = (db.code(), kind) {
            // detail: Key (rolname)=(NAME) already exists.
            let name = db
                .detail()
                .and_then(|d| d.split_once(")=(").map(|(_, rest)| rest))
                .and_then(|rest| rest.rsplit_once(") already exists").map(|(name, _)| name))
                .unwrap_or("?");
            return PostgresError::AlreadyExists {
                kind,
                name: name.to_string(),
            };
        }
    }
    PostgresError::Query {
        what: "the server refused the change".into(),
        source,
    }
}

/// For tests that kill geosync at a given step of a pg_hba.conf write:
/// with GEOSYNC_TEST_PAUSE_AT=STEP, geosync says so on stderr and waits
/// there to be killed. Without it, nothing happens.
fn pause_point(step: &str) {
    if std::env::var("GEOSYNC_TEST_PAUSE_AT").is_ok_and(|at| at == step) {
        eprintln!("geosync: paused at {step}");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

impl System for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    /// One at a time: CREATE DATABASE from a shared template fails when
    /// another session uses that template.
    fn concurrency(&self) -> usize {
        1
    }

    fn plan(&self, options: PlanOptions) -> BoxFuture<'_, Result<SystemPlan, BoxError>> {
        Box::pin(async move {
            let observed = self.observe().await?;
            let planned = diff::plan(&self.desired, &observed, options);
            if !planned.errors.is_empty() {
                return Err(PostgresError::Plan(planned.errors).into());
            }
            let mut changes = planned.changes;
            if let (Some(rules), Some(current)) = (&self.desired.hba, &observed.hba) {
                changes.push(
                    hba::plan(current, rules, &self.desired.connection, observed.client_addr)
                        .map_err(PostgresError::from)?,
                );
            }
            Ok(SystemPlan {
                changes,
                warnings: planned.warnings,
                blockers: Vec::new(),
            })
        })
    }

    fn apply<'a>(&'a self, change: &'a Change) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            let operation = change.operation.as_ref();
            if let Some(op) = operation.and_then(|op| op.downcast::<SqlOp>()) {
                self.run_sql(op).await?;
            } else if let Some(write) = operation.and_then(|op| op.downcast::<HbaWrite>()) {
                self.write_hba(write).await?;
            } else {
                return Err(PostgresError::ForeignChange(change.address.to_string()).into());
            }
            Ok(())
        })
    }

    fn lock_platform<'a>(
        &'a self,
        holder: &'a str,
        break_held: bool,
        wait: std::time::Duration,
    ) -> BoxFuture<'a, Result<Option<PlatformLock>, BoxError>> {
        Box::pin(async move {
            let held = lock::acquire(&self.desired.connection, holder, break_held, wait).await?;
            Ok(Some(Box::new(held) as PlatformLock))
        })
    }
}
