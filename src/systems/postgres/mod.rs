//! PostgreSQL/PostGIS: roles (with write-only passwords), databases,
//! extensions, schemas, exact grants, and the managed block of pg_hba.conf.

mod client;
mod diff;
mod hba;
pub mod manifest;
mod observed;
mod scram;
mod tls;

use std::collections::HashMap;

use futures::future::BoxFuture;
use tokio::sync::Mutex;
use tokio_postgres::Client;

use crate::placement::{connect_docker, ContainerFile, ContainerFileError, HostDir, PlacementError};
use crate::plan::{Change, PlanOptions};
use crate::systems::postgres::manifest::Postgres as DesiredPostgres;
use crate::systems::postgres::manifest::{DATABASE_KIND, GRANT_KIND, ROLE_KIND};
use crate::systems::Manifest;
use crate::systems::{BoxError, System, SystemPlan};
use client::{connect, ident, literal, ConnectError};
use diff::{SqlOp, Statement};
use hba::HbaWrite;
use observed::ObservedHba;

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
    /// Connections by database (None: the maintenance database), reused
    /// across the changes of one apply.
    clients: Mutex<HashMap<Option<String>, Client>>,
}

impl Postgres {
    pub fn from_manifest(manifest: &Manifest) -> Option<Self> {
        manifest.postgres.clone().map(|desired| Postgres {
            desired,
            docker_host: manifest.docker.as_ref().and_then(|d| d.host.clone()),
            clients: Mutex::new(HashMap::new()),
        })
    }

    async fn observe(&self, admin: &Client) -> Result<observed::Observed, PostgresError> {
        let standard: String = admin
            .query_one("SHOW standard_conforming_strings", &[])
            .await
            .map_err(query_error("reading server settings"))?
            .get(0);
        if standard != "on" {
            return Err(PostgresError::NonStandardStrings);
        }
        let extension_names: Vec<String> = self
            .desired
            .databases
            .iter()
            .flat_map(|d| d.extensions.iter().map(|e| e.name.clone()))
            .collect();
        let mut observed = observed::server(admin, &extension_names)
            .await
            .map_err(query_error("reading roles and databases"))?;
        for database in &self.desired.databases {
            if let Some(existing) = observed.databases.get_mut(&database.name) {
                let client = connect(&self.desired.connection, &database.name).await?;
                existing.inside = Some(
                    observed::inside(&client)
                        .await
                        .map_err(query_error(format!("reading database {}", database.name)))?,
                );
            }
        }
        if self.desired.hba.is_some() {
            let file = self.hba_file(admin).await?;
            let content = file
                .read()
                .await?
                .ok_or_else(|| PostgresError::HbaMissing(file.describe()))?;
            observed.hba = Some(ObservedHba {
                location: file.describe(),
                content: content.text,
            });
        }
        Ok(observed)
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
            Some(container) => HbaFile::Container(ContainerFile::new(
                connect_docker(self.docker_host.as_deref()).await?,
                container,
                &path,
            )),
            None => {
                let path = std::path::PathBuf::from(path);
                HbaFile::Host {
                    dir: HostDir::new(path.parent().map(|p| p.to_path_buf()).unwrap_or_default()),
                    name: path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                }
            }
        })
    }

    async fn run_sql(&self, op: &SqlOp) -> Result<(), PostgresError> {
        let mut clients = self.clients.lock().await;
        if !clients.contains_key(&op.database) {
            let database = op
                .database
                .as_deref()
                .unwrap_or(&self.desired.connection.maintenance_db);
            let client = connect(&self.desired.connection, database).await?;
            clients.insert(op.database.clone(), client);
        }
        let client = clients.get(&op.database).expect("inserted above");
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
        let result = client.batch_execute(&batch).await;
        if result.is_err() && transactional {
            let _ = client.batch_execute("ROLLBACK").await;
        }
        result.map_err(query_error("the server refused the change"))
    }

    async fn write_hba(&self, write: &HbaWrite) -> Result<(), PostgresError> {
        let admin = connect(&self.desired.connection, &self.desired.connection.maintenance_db).await?;
        let file = self.hba_file(&admin).await?;
        let location = file.describe();
        let current = file
            .read()
            .await?
            .ok_or_else(|| PostgresError::HbaMissing(location.clone()))?;
        if current.text != write.expected {
            return Err(PostgresError::HbaChanged(location));
        }
        file.write(&write.content, &current).await?;
        let restore = |file: &HbaFile| {
            let previous = write.expected.clone();
            let current = current.clone();
            let file = file.clone();
            async move { file.write(&previous, &current).await }
        };
        // pg_hba_file_rules parses the file on disk: check before reloading.
        let problems = admin
            .query(
                "SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL",
                &[],
            )
            .await
            .map_err(query_error("checking pg_hba_file_rules"))?;
        if let Some(problem) = problems.first() {
            restore(&file).await?;
            admin
                .batch_execute("SELECT pg_reload_conf()")
                .await
                .map_err(query_error("reloading"))?;
            let line: Option<i32> = problem.get(0);
            let line = line.unwrap_or(0) as usize;
            let text = write
                .content
                .lines()
                .nth(line.saturating_sub(1))
                .unwrap_or("")
                .trim()
                .to_string();
            let origin = write
                .rule_lines
                .iter()
                .find(|(l, _)| *l == line)
                .map_or(String::new(), |(_, at)| format!(", from {at}"));
            return Err(PostgresError::HbaRejected {
                location,
                rule: format!("line {line} `{text}`{origin}"),
                error: problem.get::<_, Option<String>>(1).unwrap_or_default(),
            });
        }
        admin
            .batch_execute("SELECT pg_reload_conf()")
            .await
            .map_err(query_error("reloading the configuration"))?;
        // The real proof that geosync is not locked out: a new connection.
        if let Err(source) = connect(&self.desired.connection, &self.desired.connection.maintenance_db).await
        {
            restore(&file).await?;
            admin
                .batch_execute("SELECT pg_reload_conf()")
                .await
                .map_err(query_error("reloading"))?;
            return Err(PostgresError::HbaLockedOut { location, source });
        }
        Ok(())
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
            let connection = &self.desired.connection;
            let admin = connect(connection, &connection.maintenance_db).await?;
            let observed = self.observe(&admin).await?;
            let planned = diff::plan(&self.desired, &observed, options);
            if !planned.errors.is_empty() {
                return Err(PostgresError::Plan(planned.errors).into());
            }
            let mut changes = planned.changes;
            if let (Some(rules), Some(current)) = (&self.desired.hba, &observed.hba) {
                changes.push(
                    hba::plan(
                        &current.location,
                        &current.content,
                        rules,
                        connection,
                        observed.client_addr,
                    )
                    .map_err(PostgresError::from)?,
                );
            }
            Ok(SystemPlan {
                changes,
                warnings: planned.warnings,
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
}

/// pg_hba.conf on the host or inside the database container.
#[derive(Clone)]
enum HbaFile {
    Host { dir: HostDir, name: String },
    Container(ContainerFile),
}

#[derive(Clone)]
struct HbaContent {
    text: String,
    /// Owner and mode, kept when the file is replaced in a container.
    meta: Option<(u32, u64, u64)>,
}

impl HbaFile {
    fn describe(&self) -> String {
        match self {
            HbaFile::Host { dir, name } => dir.path_of(name).display().to_string(),
            HbaFile::Container(file) => file.describe(),
        }
    }

    async fn read(&self) -> Result<Option<HbaContent>, PostgresError> {
        Ok(match self {
            HbaFile::Host { dir, name } => dir.read(name)?.map(|bytes| HbaContent {
                text: String::from_utf8_lossy(&bytes).into_owned(),
                meta: None,
            }),
            HbaFile::Container(file) => file.read().await?.map(|content| HbaContent {
                text: String::from_utf8_lossy(&content.bytes).into_owned(),
                meta: Some((content.mode, content.uid, content.gid)),
            }),
        })
    }

    async fn write(&self, text: &str, like: &HbaContent) -> Result<(), PostgresError> {
        match self {
            HbaFile::Host { dir, name } => dir.write_atomic(name, text.as_bytes(), None)?,
            HbaFile::Container(file) => {
                let (mode, uid, gid) = like.meta.unwrap_or((0o600, 0, 0));
                file.write(text.as_bytes(), mode, uid, gid).await?
            }
        }
        Ok(())
    }
}
