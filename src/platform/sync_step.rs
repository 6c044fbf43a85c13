//! The data sync as the last managed step of `plan` and `apply`: its
//! datasets (kind `sync.dataset`, named `<target>/<path in the share>`)
//! are planned next to containers, users and layers, and applied after
//! every other change of the run (the engine makes them depend on all of
//! them: the database, workspaces and data stores they need come first).
//!
//! Planning is a dry-run pass per target. A target database that does not
//! exist yet while `[postgres]` declares it (the apply creates it first)
//! is planned with every dataset new; any other failure to reach it (a
//! wrong password, a refused connection, a server down) blocks the plan:
//! showing every dataset as new would be a lie. Applying runs one real
//! pass per target, at its first dataset change; each change then reports
//! its dataset's outcome.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use futures::future::BoxFuture;

use crate::error_chain::error_chain as chain;
use crate::plan::{Address, Change, PlanOptions, Selector, Warning};
use crate::sync::manifest::{Sync, SyncTarget};
use crate::sync::pass::{self, PassOptions, Status};
use crate::sync::plan::DATASET_KIND;
use crate::sync::publishing::PublishContext;
use crate::systems::postgres::client as pg;
use crate::systems::postgres::manifest::PgConnection;
use crate::systems::{Blocker, BoxError, System, SystemPlan};

pub const NAME: &str = "sync";

/// What the pass did with each dataset of a target, by path: Ok, or why not.
type Outcomes = Result<BTreeMap<String, Result<(), String>>, String>;

/// Where the sync keeps its state, and the run's `--only`/`--exclude`.
pub struct Scope {
    pub state_dir: PathBuf,
    pub only: Vec<Selector>,
    pub exclude: Vec<Selector>,
}

impl Scope {
    /// Whether the run may act on this dataset, as the engine decides for
    /// every change.
    fn includes(&self, target: &str, path: &str) -> bool {
        let address = Address::new(DATASET_KIND, &format!("{target}/{path}"));
        (self.only.is_empty() || self.only.iter().any(|s| s.matches(&address)))
            && !self.exclude.iter().any(|s| s.matches(&address))
    }
}

pub struct SyncStep {
    targets: Vec<SyncTarget>,
    connection: PgConnection,
    /// The `[postgres]` connection (its user may see every database).
    server: PgConnection,
    /// The databases `[postgres]` declares present: the apply creates them.
    declared: BTreeSet<String>,
    state_dir: PathBuf,
    scope: Scope,
    publishing: Option<PublishContext>,
    options: PassOptions,
    done: tokio::sync::Mutex<BTreeMap<String, Outcomes>>,
}

impl SyncStep {
    pub fn new(sync: &Sync, manifest: &crate::systems::Manifest, scope: Scope) -> Option<SyncStep> {
        let postgres = manifest.postgres.as_ref()?;
        if sync.targets.is_empty() {
            return None;
        }
        Some(SyncStep {
            targets: sync.targets.clone(),
            connection: sync.connection(&postgres.connection),
            server: postgres.connection.clone(),
            declared: postgres
                .databases
                .iter()
                .filter(|d| d.present)
                .map(|d| d.name.clone())
                .collect(),
            state_dir: scope.state_dir.clone(),
            scope,
            publishing: PublishContext::new(manifest, sync),
            options: PassOptions {
                max_removal_share: sync.settings.max_removal_share,
                min_removals: sync.settings.min_removals,
                ..PassOptions::default()
            },
            done: tokio::sync::Mutex::new(BTreeMap::new()),
        })
    }

    async fn plan_target(&self, target: &SyncTarget, plan: &mut SystemPlan) {
        let options = PassOptions {
            dry_run: true,
            database_absent: self.declared.contains(&target.database)
                && database_absent(&self.server, &target.database).await,
            ..self.options
        };
        let quiet = |_: &str| {};
        let result = pass::run(
            target,
            &self.connection,
            &self.state_dir,
            options,
            self.publishing.as_ref(),
            &quiet,
        )
        .await;
        match result {
            Ok(result) => {
                let (changes, warnings) = result.plan.envelopes();
                plan.changes.extend(changes);
                plan.warnings.extend(warnings);
                plan.warnings.extend(result.plan.refused.iter().map(|r| Warning {
                    address: Some(Address::new(DATASET_KIND, &format!("{}/{}", target.name, r.path))),
                    message: format!("refused: {}", r.reason),
                }));
            }
            Err(error) => {
                let mut message = chain(&error);
                if matches!(error, pass::PassError::Connect { .. }) {
                    message.push_str(
                        " (what is loaded cannot be read, so nothing of the target is planned; \
                         if this plan creates that role or sets its password, apply the rest first: --exclude sync)",
                    );
                }
                plan.blockers.push(Blocker {
                    addresses: vec![Address::new(DATASET_KIND, &format!("{}/*", target.name))],
                    message,
                })
            }
        }
    }

    /// Runs the target's pass once; later changes read its outcomes.
    async fn outcome(&self, target_name: &str, path: &str) -> Result<(), String> {
        let mut done = self.done.lock().await;
        if !done.contains_key(target_name) {
            let outcomes = match self.targets.iter().find(|t| t.name == target_name) {
                Some(target) => self.run_pass(target).await,
                None => Err(format!("no [[sync.target]] {target_name}")),
            };
            done.insert(target_name.to_string(), outcomes);
        }
        match &done[target_name] {
            Err(error) => Err(error.clone()),
            Ok(outcomes) => outcomes.get(path).cloned().unwrap_or(Ok(())),
        }
    }

    async fn run_pass(&self, target: &SyncTarget) -> Outcomes {
        let quiet = |_: &str| {};
        let in_scope = |path: &str| self.scope.includes(&target.name, path);
        let result = pass::run_in_scope(
            target,
            &self.connection,
            &self.state_dir,
            self.options,
            self.publishing.as_ref(),
            &quiet,
            &in_scope,
        )
        .await
        .map_err(|e| chain(&e))?;
        let report = result
            .report
            .unwrap_or_else(|| unreachable!("a pass that is not a dry run reports"));
        Ok(report
            .datasets
            .into_iter()
            .map(|o| {
                let result = match o.status {
                    Status::Failed { error } => Err(error),
                    Status::Rejected { reason, .. } => Err(format!("rejected: {reason}")),
                    Status::Interrupted => Err("interrupted".into()),
                    _ => Ok(()),
                };
                (o.path, result)
            })
            .collect())
    }
}

/// Whether the server, asked as the `[postgres]` user, has no such
/// database. Not knowing (the server down, that user refused) is no: the
/// target's pass then reports why it cannot connect.
async fn database_absent(server: &PgConnection, database: &str) -> bool {
    let Ok(client) = pg::connect(server, &server.maintenance_db).await else {
        return false;
    };
    client
        .query_one(
            "SELECT NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&database],
        )
        .await
        .is_ok_and(|row| row.get::<_, bool>(0))
}

impl System for SyncStep {
    fn name(&self) -> &'static str {
        NAME
    }

    fn concurrency(&self) -> usize {
        1
    }

    fn runs_last(&self) -> bool {
        true
    }

    fn interrupt(&self) {
        crate::sync::shutdown::request();
    }

    fn plan(&self, _options: PlanOptions) -> BoxFuture<'_, Result<SystemPlan, BoxError>> {
        Box::pin(async move {
            let mut plan = SystemPlan {
                changes: Vec::new(),
                warnings: Vec::new(),
                blockers: Vec::new(),
            };
            for target in &self.targets {
                self.plan_target(target, &mut plan).await;
            }
            Ok(plan)
        })
    }

    fn apply<'a>(&'a self, change: &'a Change) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            let (target, path) = change
                .address
                .name
                .split_once('/')
                .ok_or_else(|| format!("{}: not a dataset address", change.address))?;
            self.outcome(target, path).await.map_err(BoxError::from)
        })
    }
}
