//! One pass of the sync over one target: walk the share, group its files
//! into datasets, compare with the ledger, then (unless it is a dry run)
//! fetch each changed dataset into a staging folder and hand it to the
//! loader, and drop the tables of datasets that left the share.
//!
//! What is loaded is the ledger's business (it lives in the target
//! database and changes in the transaction that swaps a table in), so a
//! pass interrupted at any point is simply done again by the next one.
//! A share that cannot be read, or that suddenly lists nothing, stops the
//! pass before anything is removed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::claims::{Claims, Turn};
use super::dataset::{self, Dataset, Format};
use super::ledger::{self, Ledger};
use super::load::{self, LoadError};
use super::manifest::{SourceSpec, SyncTarget};
use super::naming;
use super::plan::{self, DatasetAction, DatasetChange, LoadReason, PassPlan, Recorded};
use super::privileges;
use super::publishing::{Job, Prepared, PublishContext, Publisher};
use super::source::local::LocalShare;
use super::source::webdav::WebDavShare;
use super::source::{FetchError, Source, SourceError, WalkState, WalkStats};
use crate::systems::postgres::client::{self as pg, ConnectError};
use crate::systems::postgres::manifest::PgConnection;

#[derive(Debug, Clone, Copy)]
pub struct PassOptions {
    /// A pass stops instead of removing (a share half-synced, a folder
    /// moved by mistake) when at least `min_removals` datasets and more
    /// than this share of what is loaded left the share at once, unless
    /// forced. The target's own `max_removal_share` wins.
    pub max_removal_share: f64,
    pub min_removals: usize,
    pub dry_run: bool,
    /// Remove tables even when the share lists nothing or lost most of its datasets.
    pub force_removals: bool,
    /// Someone watches (a terminal): report each load's features and rate.
    pub live_progress: bool,
    /// List the whole share again, whatever the folder etags say.
    pub full_rescan: bool,
    /// Part of a platform plan (with `dry_run`) that found the target's
    /// database absent while `[postgres]` declares it: the apply creates it
    /// before the sync runs, so every dataset is new and nothing is
    /// connected. Any other failure to connect stops the plan: a wrong
    /// password or a refused connection is not an empty database.
    pub database_absent: bool,
}

impl Default for PassOptions {
    fn default() -> Self {
        let settings = super::manifest::Settings::default();
        PassOptions {
            max_removal_share: settings.max_removal_share,
            min_removals: settings.min_removals,
            dry_run: false,
            force_removals: false,
            live_progress: false,
            full_rescan: false,
            database_absent: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error("sync.target:{target}: cannot read the share")]
    Source {
        target: String,
        #[source]
        source: SourceError,
    },
    #[error("sync.target:{target}")]
    Connect {
        target: String,
        #[source]
        source: ConnectError,
    },
    #[error("sync.target:{target}: the ledger in database {database}: {message}")]
    Ledger {
        target: String,
        database: String,
        message: String,
    },
    #[error(
        "sync.target:{target}: the share lists no file, while {recorded} dataset(s) are loaded from it: \
         refusing to treat that as their deletion (an unmounted or emptied share looks the same); \
         run with --force-removals if they really are gone"
    )]
    EmptyShare { target: String, recorded: usize },
    #[error(
        "sync.target:{target}: {removals} of {recorded} loaded datasets left the share: refusing to take down \
         so many at once (max_removal_share); nothing was removed; run with --force-removals if that is intended"
    )]
    MassRemoval {
        target: String,
        removals: usize,
        recorded: usize,
    },
    #[error("sync.target:{target}: {message}")]
    Privileges { target: String, message: String },
    #[error("sync.target:{target}: cannot publish: {message}")]
    Publisher { target: String, message: String },
    #[error("sync.target:{target}: the staging folder {}", path.display())]
    Staging {
        target: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What happened to one dataset.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub path: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
    #[serde(flatten)]
    pub status: Status,
    /// Where it is published (layers and records), after this pass.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub published: Vec<PublishedAs>,
}

/// A layer and its metadata record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedAs {
    /// `workspace:layer`.
    pub layer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_uuid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    New {
        #[serde(flatten)]
        loaded: Loaded,
    },
    Changed {
        reason: String,
        #[serde(flatten)]
        loaded: Loaded,
    },
    /// Its table stayed; its layer or record was published again.
    Republished {
        reason: String,
    },
    Unchanged,
    Removed,
    Rejected {
        reason: String,
        /// Which step refused it: `group` (its files), `load`, `publish`.
        #[serde(skip)]
        step: &'static str,
    },
    Failed {
        error: String,
    },
    /// Not reached: the run was asked to stop (SIGTERM) first.
    Interrupted,
}

/// What a load did: features (0 for a raster), bytes read, the SRID, time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Loaded {
    pub features: u64,
    pub bytes: u64,
    pub srid: i32,
    pub seconds: f64,
}

impl Eq for Loaded {}

#[derive(Debug, Clone, Serialize)]
pub struct PassReport {
    pub target: String,
    /// Where part 2 publishes the tables, and for whom.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    pub visibility: super::manifest::Visibility,
    pub walk: WalkStats,
    pub datasets: Vec<Outcome>,
    /// Facts a data manager should see (CRS guessed, text recoded...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl PassReport {
    pub fn failed(&self) -> usize {
        self.datasets
            .iter()
            .filter(|o| matches!(o.status, Status::Failed { .. }))
            .count()
    }

    /// Datasets a stop request left for the next run.
    pub fn interrupted(&self) -> usize {
        self.datasets
            .iter()
            .filter(|o| matches!(o.status, Status::Interrupted))
            .count()
    }
}

/// The result of a pass: its plan, and what was done (None on a dry run).
pub struct PassResult {
    pub plan: PassPlan,
    pub walk: WalkStats,
    pub report: Option<PassReport>,
}

/// Builds the share a target reads.
pub fn source_of(target: &SyncTarget) -> Result<Source, SourceError> {
    Ok(match &target.source {
        SourceSpec::Local { path } => Source::Local(LocalShare::new(path.clone())),
        SourceSpec::WebDav { url, user, password } => {
            Source::WebDav(WebDavShare::new(url.clone(), user.clone(), password.clone())?)
        }
    })
}

/// Runs one pass over `target`, loading into the `[postgres]` server and,
/// when `publishing` is given and the target publishes, publishing into
/// GeoServer and the catalogue.
pub async fn run(
    target: &SyncTarget,
    connection: &PgConnection,
    state_dir: &Path,
    options: PassOptions,
    publishing: Option<&PublishContext>,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<PassResult, PassError> {
    run_in_scope(
        target,
        connection,
        state_dir,
        options,
        publishing,
        progress,
        &|_| true,
    )
    .await
}

/// [`run`], acting only on the datasets (by path) `in_scope` accepts: a
/// platform run whose `--only`/`--exclude` name some datasets. The others
/// are planned, not touched.
pub async fn run_in_scope(
    target: &SyncTarget,
    connection: &PgConnection,
    state_dir: &Path,
    options: PassOptions,
    publishing: Option<&PublishContext>,
    progress: &(dyn Fn(&str) + Sync),
    in_scope: &(dyn Fn(&str) -> bool + Sync),
) -> Result<PassResult, PassError> {
    let publisher = publisher_of(publishing, target)?;
    let state_path = WalkState::path(state_dir, &target.name);
    let (source, previous, walk) = walk_share(target, &state_path, options.full_rescan).await?;
    let (files, refused) = walk.root.flatten();
    let grouping = dataset::group(&files);

    let Some(mut client) = connect(target, connection, options).await? else {
        // A platform plan that creates the database: every dataset is new.
        return Ok(plan_without_database(
            target,
            &grouping,
            &refused,
            publisher.as_ref(),
            walk.stats,
        ));
    };
    let ledger_fail = |e| ledger_error(target, &e);
    let recorded = recorded(&client, &target.schema).await.map_err(ledger_fail)?;
    let existing = existing_tables(&client, &target.schema)
        .await
        .map_err(ledger_fail)?;
    let plan = plan_of(
        target,
        &grouping,
        &refused,
        &recorded,
        &existing,
        publisher.as_ref(),
    );
    check_safety(
        &target.name,
        target.max_removal_share,
        &files,
        &recorded,
        &plan,
        options,
    )?;
    if options.dry_run {
        return Ok(PassResult {
            plan,
            walk: walk.stats,
            report: None,
        });
    }
    save_walk(previous.as_ref(), &walk, &source, &state_path);
    remember_rejections(&plan, state_dir);
    let mut runner = Runner {
        target,
        source: &source,
        client: &mut client,
        staging: state_dir.join("sync").join(&target.name).join("staging"),
        state_dir,
        recorded: &recorded,
        taken: existing
            .into_iter()
            .chain(recorded.iter().map(|r| r.table.clone()))
            .collect(),
        warnings: Vec::new(),
        progress,
        live_progress: options.live_progress,
        publisher: publisher.as_ref(),
        claims: publisher.as_ref().and_then(|p| p.claims(connection)),
        in_scope,
    };
    let datasets = runner.carry_out(&plan).await?;
    let report = PassReport {
        target: target.name.clone(),
        workspace: target.workspace.clone(),
        visibility: target.visibility,
        walk: walk.stats,
        datasets,
        warnings: std::mem::take(&mut runner.warnings),
    };
    Ok(PassResult {
        report: Some(report),
        plan,
        walk: walk.stats,
    })
}

fn plan_of(
    target: &SyncTarget,
    grouping: &dataset::Grouping,
    refused: &[super::source::Refused],
    recorded: &[Recorded],
    existing: &BTreeSet<String>,
    publisher: Option<&Publisher>,
) -> PassPlan {
    let settings = publisher.map(Publisher::settings_digest);
    plan::plan(
        &target.name,
        target.default_srid,
        grouping,
        refused,
        recorded,
        existing,
        settings.as_deref(),
    )
}

/// The walk is true of the share whatever happens next: the ledger, not
/// the walk state, says what is loaded. An unchanged walk is not written
/// again (a no-op pass writes nothing).
fn save_walk(previous: Option<&WalkState>, walk: &super::source::Walk, source: &Source, path: &Path) {
    let unchanged = previous.is_some_and(|p| p.propagates == walk.propagates && p.root == walk.root);
    if !unchanged {
        let _ = WalkState::of(source.identity(), walk).save(path);
    }
}

/// Walks the target's share, from the last walk's state unless rescanning.
async fn walk_share(
    target: &SyncTarget,
    state_path: &Path,
    full_rescan: bool,
) -> Result<(Source, Option<WalkState>, super::source::Walk), PassError> {
    let source_fail = |source| PassError::Source {
        target: target.name.clone(),
        source,
    };
    let source = source_of(target).map_err(source_fail)?;
    let previous = WalkState::load(state_path, &source.identity()).filter(|_| !full_rescan);
    let walk = source.walk(previous.as_ref()).await.map_err(source_fail)?;
    Ok((source, previous, walk))
}

fn publisher_of(
    publishing: Option<&PublishContext>,
    target: &SyncTarget,
) -> Result<Option<Publisher>, PassError> {
    let Some(context) = publishing else {
        return Ok(None);
    };
    Publisher::for_target(context, target).map_err(|e| PassError::Publisher {
        target: target.name.clone(),
        message: e.to_string(),
    })
}

fn ledger_error(target: &SyncTarget, e: &tokio_postgres::Error) -> PassError {
    PassError::Ledger {
        target: target.name.clone(),
        database: target.database.clone(),
        message: load::pg_message(e),
    }
}

/// The target database, its ledger and schema ready unless this is a dry
/// run; None when a platform plan creates the database (see
/// [`PassOptions::database_absent`]).
async fn connect(
    target: &SyncTarget,
    connection: &PgConnection,
    options: PassOptions,
) -> Result<Option<tokio_postgres::Client>, PassError> {
    if options.dry_run && options.database_absent {
        return Ok(None);
    }
    let mut client = match pg::connect(connection, &target.database).await {
        Ok(client) => client,
        Err(source) => {
            return Err(PassError::Connect {
                target: target.name.clone(),
                source,
            })
        }
    };
    let fail = |e| ledger_error(target, &e);
    let shortfall = privileges::check(&client, &target.database, &target.schema)
        .await
        .map_err(fail)?;
    if let Some(shortfall) = shortfall {
        return Err(PassError::Privileges {
            target: target.name.clone(),
            message: shortfall.message(&target.database),
        });
    }
    if !options.dry_run {
        Ledger::ensure_schema(&mut client).await.map_err(fail)?;
        ensure_target_schema(&client, &target.schema)
            .await
            .map_err(fail)?;
    }
    Ok(Some(client))
}

/// Keeps the rejections of this pass for `geosync status` (they never
/// reach the ledger).
fn remember_rejections(plan: &PassPlan, state_dir: &Path) {
    super::status::LastRejections {
        rejected: plan
            .changes
            .iter()
            .filter_map(|c| match &c.action {
                DatasetAction::Rejected { reason } => Some((c.path.clone(), reason.clone())),
                _ => None,
            })
            .chain(plan.refused.iter().map(|r| (r.path.clone(), r.reason.clone())))
            .collect(),
    }
    .save(state_dir, &plan.target);
}

/// Whether connecting failed because the target database does not exist
/// yet (SQLSTATE 3D000): nothing is loaded, nothing published from it.
pub fn database_missing(error: &ConnectError) -> bool {
    match error {
        ConnectError::Connect { source, .. } => {
            source.code() == Some(&tokio_postgres::error::SqlState::INVALID_CATALOG_NAME)
        }
        _ => false,
    }
}

/// The plan of a target whose database is not there yet: every dataset new.
pub fn plan_without_database(
    target: &SyncTarget,
    grouping: &dataset::Grouping,
    refused: &[super::source::Refused],
    publisher: Option<&Publisher>,
    walk: WalkStats,
) -> PassResult {
    PassResult {
        plan: plan_of(target, grouping, refused, &[], &BTreeSet::new(), publisher),
        walk,
        report: None,
    }
}

/// A share that lists nothing while datasets are loaded from it is far
/// more often unmounted or half-synced than emptied on purpose.
fn check_safety(
    target: &str,
    max_share: Option<f64>,
    files: &[super::source::ShareFile],
    recorded: &[Recorded],
    plan: &PassPlan,
    options: PassOptions,
) -> Result<(), PassError> {
    if options.force_removals {
        return Ok(());
    }
    let loaded: BTreeSet<&str> = recorded.iter().map(|r| r.path.as_str()).collect();
    if files.is_empty() && !loaded.is_empty() {
        return Err(PassError::EmptyShare {
            target: target.to_string(),
            recorded: loaded.len(),
        });
    }
    let removals = plan.removals().count();
    let share = max_share.unwrap_or(options.max_removal_share);
    if removals > 0 && removals >= options.min_removals && removals as f64 > share * loaded.len() as f64 {
        return Err(PassError::MassRemoval {
            target: target.to_string(),
            removals,
            recorded: loaded.len(),
        });
    }
    Ok(())
}

/// The ledger's rows for this target's schema; none when there is no
/// ledger yet (a dry run before the first pass).
async fn recorded(
    client: &tokio_postgres::Client,
    schema: &str,
) -> Result<Vec<Recorded>, tokio_postgres::Error> {
    let exists: Option<String> = client
        .query_one(
            &format!("SELECT to_regclass('{}.ledger')::text", ledger::SCHEMA),
            &[],
        )
        .await?
        .get(0);
    if exists.is_none() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    Ok(Ledger::entries(client)
        .await?
        .into_iter()
        .filter(|e| e.table_schema == schema)
        .map(|e| Recorded {
            retry_due: e.retry_due(now),
            publish_retry_due: e.publication.retry_due(now),
            publication: e.publication,
            failed: e.status == ledger::Status::Failed,
            path: e.key.source_path,
            layer: e.key.layer,
            table: e.table_name,
            loaded_fingerprint: e.loaded_fingerprint,
            failed_fingerprint: e.failed_fingerprint,
            attempts: e.attempts,
            last_error: e.last_error,
            next_retry_at: e.next_retry_at,
        })
        .collect())
}

async fn existing_tables(
    client: &tokio_postgres::Client,
    schema: &str,
) -> Result<BTreeSet<String>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1",
            &[&schema],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

async fn ensure_target_schema(
    client: &tokio_postgres::Client,
    schema: &str,
) -> Result<(), tokio_postgres::Error> {
    // CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when
    // the schema exists: a role given only the schema must not need it.
    let exists = client
        .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
        .await?
        .is_some();
    if exists {
        return Ok(());
    }
    client
        .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {}", pg::ident(schema)))
        .await
}

/// Carries out a plan, one dataset at a time.
struct Runner<'a> {
    target: &'a SyncTarget,
    source: &'a Source,
    client: &'a mut tokio_postgres::Client,
    staging: PathBuf,
    state_dir: &'a Path,
    recorded: &'a [Recorded],
    taken: BTreeSet<String>,
    warnings: Vec<String>,
    /// Says what the pass is doing, for a spinner on a terminal.
    progress: &'a (dyn Fn(&str) + Sync),
    live_progress: bool,
    /// Publishes into GeoServer and the catalogue, when the target does.
    publisher: Option<&'a Publisher>,
    /// Who holds which record uuid, in every target's ledger (with a catalogue).
    claims: Option<Claims<'a>>,
    /// The datasets (by path) this run may act on.
    in_scope: &'a (dyn Fn(&str) -> bool + Sync),
}

impl Runner<'_> {
    async fn carry_out(&mut self, plan: &PassPlan) -> Result<Vec<Outcome>, PassError> {
        let mut outcomes = Vec::new();
        let todo = plan
            .changes
            .iter()
            .filter(|c| (self.in_scope)(&c.path))
            .filter(|c| {
                matches!(
                    c.action,
                    DatasetAction::Load(_) | DatasetAction::Remove { .. } | DatasetAction::Publish(_)
                )
            })
            .count();
        let mut done = 0;
        for change in plan.changes.iter().filter(|c| (self.in_scope)(&c.path)) {
            if super::shutdown::requested() {
                // The dataset in hand is finished; the rest waits for the next run.
                outcomes.push(outcome(change, Vec::new(), Status::Interrupted));
                continue;
            }
            if matches!(
                change.action,
                DatasetAction::Load(_) | DatasetAction::Remove { .. } | DatasetAction::Publish(_)
            ) {
                done += 1;
                (self.progress)(&format!("{done}/{todo} {}", crate::escape::escape(&change.path)));
                tracing::info!(target: "geosync::sync", sync_target = %self.target.name, dataset = %crate::escape::escape(&change.path), step = step_of(&change.action), "reconcile");
            }
            let _permit = super::shutdown::in_flight().await;
            let outcome = match &change.action {
                DatasetAction::Load(reason) => {
                    let loaded = self.load(change, reason).await?;
                    self.publish_after_load(change, loaded).await
                }
                DatasetAction::Publish(reason) => self.republish(change, reason).await?,
                DatasetAction::Remove { tables, .. } => self.remove(change, tables).await,
                DatasetAction::Unchanged => {
                    outcome(change, change.table.iter().cloned().collect(), Status::Unchanged)
                }
                DatasetAction::Waiting { last_error, step, .. } => {
                    outcome(change, Vec::new(), waiting(last_error, step))
                }
                DatasetAction::Rejected { reason } => outcome(
                    change,
                    Vec::new(),
                    Status::Rejected {
                        reason: reason.clone(),
                        step: "group",
                    },
                ),
            };
            outcomes.push(outcome);
        }
        let _ = std::fs::remove_dir_all(&self.staging);
        Ok(outcomes)
    }

    /// Takes a dataset down: for each of its tables, the layer (and its
    /// style when no other layer uses it), the table, the record, and the
    /// ledger entry last. Each step is idempotent: a pass killed anywhere
    /// leaves the entry, and the next pass finishes the job.
    async fn remove(&mut self, change: &DatasetChange, tables: &[String]) -> Outcome {
        let recorded = self.recorded;
        for record in recorded.iter().filter(|r| r.path == change.path) {
            if let Err(error) = self.unpublish_entry(record).await {
                return outcome(change, tables.to_vec(), Status::Failed { error });
            }
        }
        outcome(change, tables.to_vec(), Status::Removed)
    }

    async fn unpublish_entry(&mut self, record: &Recorded) -> Result<(), String> {
        let key = ledger::Key {
            source_path: record.path.clone(),
            layer: record.layer.clone(),
        };
        let pg = |step: &str, e: tokio_postgres::Error| format!("{step}: {}", load::pg_message(&e));
        let Some(publisher) = self.publisher else {
            return Ledger::remove(self.client, &key)
                .await
                .map(|_| ())
                .map_err(|e| pg("dropping its table", e));
        };
        let p = &record.publication;
        if let Some(layer) = &p.layer_name {
            publisher
                .remove_layer(&record.path, layer, &record.table)
                .await
                .map_err(|e| format!("removing layer {layer}: {e}"))?;
            pause_point("sync-layer-removed").await;
        }
        Ledger::drop_table(self.client, &key)
            .await
            .map_err(|e| pg("dropping its table", e))?;
        pause_point("sync-table-dropped").await;
        if let Some(uuid) = p.record_uuid.as_deref().filter(|u| !u.is_empty()) {
            self.remove_record(publisher, &key, uuid).await?;
        }
        Ledger::forget(self.client, &key)
            .await
            .map_err(|e| pg("forgetting it in the ledger", e))
    }

    fn staging_dir(&self, path: &str) -> PathBuf {
        self.staging.join(short_hash(path))
    }

    /// Publishes what a load just made (from the fetched copy's metadata
    /// and style), then drops the fetched copy.
    async fn publish_after_load(&mut self, change: &DatasetChange, mut loaded: Outcome) -> Outcome {
        let dir = self.staging_dir(&change.path);
        if self.publisher.is_some() && matches!(loaded.status, Status::New { .. } | Status::Changed { .. }) {
            match self.publish_dataset(change, &dir).await {
                Ok(published) => loaded.published = published,
                Err(error) => loaded.status = publish_failure(error),
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        loaded
    }

    /// Publishes a dataset again without reloading its table: only its
    /// metadata and style files are fetched.
    async fn republish(
        &mut self,
        change: &DatasetChange,
        reason: &plan::PublishReason,
    ) -> Result<Outcome, PassError> {
        let tables: Vec<String> = change.table.iter().cloned().collect();
        let Some(dataset) = &change.dataset else {
            return Ok(outcome(change, tables, Status::Unchanged));
        };
        // A raster's prepared GeoTIFF lives in the state directory: lost
        // with it, it is prepared again (a load) rather than failing.
        let prepared_raster = |table: &String| {
            std::fs::read_dir(self.raster_dir(table)).is_ok_and(|mut entries| {
                entries.any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "tif")))
            })
        };
        if dataset.format.is_raster() && !tables.iter().all(prepared_raster) {
            let loaded = self.load(change, &LoadReason::ContentChanged).await?;
            return Ok(self.publish_after_load(change, loaded).await);
        }
        let dir = self.staging_dir(&dataset.path);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|source| PassError::Staging {
            target: self.target.name.clone(),
            path: dir.clone(),
            source,
        })?;
        let mut result = Ok(Vec::new());
        for (ext, file) in &dataset.members {
            if plan::is_publication_sidecar(ext) {
                if let Err(e) = self.source.fetch(file, &dir.join(file.name())).await {
                    result = Err(e.to_string());
                    break;
                }
            }
        }
        if result.is_ok() {
            result = self.publish_dataset(change, &dir).await;
        }
        let _ = std::fs::remove_dir_all(&dir);
        Ok(match result {
            Ok(published) => Outcome {
                published,
                ..outcome(
                    change,
                    tables,
                    Status::Republished {
                        reason: publish_reason_text(reason),
                    },
                )
            },
            Err(error) => outcome(change, tables, publish_failure(error)),
        })
    }

    /// Publishes every loaded table of a dataset, recording each in the
    /// ledger; a failure is recorded with its backoff.
    async fn publish_dataset(
        &mut self,
        change: &DatasetChange,
        dir: &Path,
    ) -> Result<Vec<PublishedAs>, String> {
        let (Some(publisher), Some(dataset)) = (self.publisher, &change.dataset) else {
            return Ok(Vec::new());
        };
        let entries = Ledger::entries_of(self.client, &dataset.path)
            .await
            .map_err(|e| load::pg_message(&e))?;
        let fingerprint = plan::Parts::of(dataset).publish_fingerprint(&publisher.settings_digest());
        let loaded = dataset.fingerprint().to_string();
        let mut published = Vec::new();
        // The file's layers as last loaded (a vanished one's entry is gone).
        let several_layers = entries.iter().filter(|e| !e.key.layer.is_empty()).count() > 1;
        for entry in entries.iter().filter(|e| e.loaded_fingerprint.is_some()) {
            let result = self
                .publish_entry(publisher, dataset, entry, dir, several_layers)
                .await;
            let recorded = match &result {
                Ok(_) => Ledger::record_published(self.client, &entry.key, &fingerprint, &loaded).await,
                Err(error) => {
                    Ledger::record_publish_failed(self.client, &entry.key, &fingerprint, error).await
                }
            };
            recorded.map_err(|e| format!("recording its publication: {}", load::pg_message(&e)))?;
            published.push(result?);
        }
        Ok(published)
    }

    async fn publish_entry(
        &mut self,
        publisher: &Publisher,
        dataset: &Dataset,
        entry: &ledger::Entry,
        dir: &Path,
        several_layers: bool,
    ) -> Result<PublishedAs, String> {
        let raster = dataset
            .format
            .is_raster()
            .then(|| self.raster_dir(&entry.table_name));
        let job = Job {
            dataset,
            entry,
            files: dir,
            raster: raster.as_deref(),
            several_layers,
        };
        let mut prepared = publisher
            .prepare(&job, self.client)
            .await
            .map_err(|e| e.to_string())?;
        self.warnings.extend(prepared.warnings().iter().cloned());
        let turn = self.claim(entry, &mut prepared).await?;
        let names = prepared.names();
        let recorded = Ledger::record_publishing(
            self.client,
            &ledger::PublishNames {
                key: &entry.key,
                layer_name: &names.layer,
                style_name: names.style.as_deref(),
                record_uuid: names.record_uuid.as_deref().unwrap_or(""),
            },
        )
        .await;
        if let (Some(claims), Some(turn)) = (self.claims.as_mut(), turn) {
            claims.release(self.client, turn).await;
        }
        recorded.map_err(|e| format!("recording its names: {}", load::pg_message(&e)))?;
        pause_point("sync-publish-names").await;
        let warnings = publisher
            .publish_layer(&prepared)
            .await
            .map_err(|e| e.to_string())?;
        self.warnings.extend(warnings);
        pause_point("sync-layer-published").await;
        publisher.put_record(&prepared).await.map_err(|e| e.to_string())?;
        Ok(PublishedAs {
            layer: format!("{}:{}", publisher.workspace(), names.layer),
            style: names.style.clone(),
            record_uuid: names.record_uuid.clone(),
        })
    }

    /// Checks the record's uuid against every target's ledger (`claims`),
    /// in a turn of its own, given back here on a refusal and by the
    /// caller once the uuid is recorded.
    async fn claim(
        &mut self,
        entry: &ledger::Entry,
        prepared: &mut Prepared,
    ) -> Result<Option<Turn>, String> {
        let Some(claims) = self.claims.as_mut() else {
            return Ok(None);
        };
        let turn = claims.turn(self.client).await?;
        match check_claim(claims, self.client, &self.target.name, entry, prepared).await {
            Ok(warnings) => {
                self.warnings.extend(warnings);
                Ok(Some(turn))
            }
            Err(error) => {
                claims.release(self.client, turn).await;
                Err(error)
            }
        }
    }

    /// Removes a dataset's record, unless another dataset's ledger entry
    /// (of any target) holds its uuid: then it stays, with a warning. In a
    /// turn, so no dataset claims the uuid between the check and the removal.
    async fn remove_record(
        &mut self,
        publisher: &Publisher,
        key: &ledger::Key,
        uuid: &str,
    ) -> Result<(), String> {
        let removing = |e| format!("removing record {uuid}: {e}");
        let Some(claims) = self.claims.as_mut() else {
            return publisher
                .remove_record(&key.source_path, uuid)
                .await
                .map_err(removing);
        };
        let turn = claims.turn(self.client).await?;
        let result = match claims.holders(self.client, key, uuid).await {
            Ok(holders) => match holders.first() {
                Some(holder) => {
                    self.warnings.push(format!(
                        "{}: its record {uuid} stays in the catalogue: it is the record of {}",
                        dataset_label(key),
                        holder.describe()
                    ));
                    Ok(())
                }
                None => publisher
                    .remove_record(&key.source_path, uuid)
                    .await
                    .map_err(removing),
            },
            Err(e) => Err(e),
        };
        claims.release(self.client, turn).await;
        result
    }

    /// Where a raster's prepared GeoTIFF is kept, one folder per table (two
    /// rasters of the same file name in two folders do not collide).
    fn raster_dir(&self, table: &str) -> PathBuf {
        self.state_dir
            .join("sync")
            .join(&self.target.name)
            .join("rasters")
            .join(table)
    }

    /// Fetches a dataset and loads it; a failure is this dataset's, never the pass's.
    async fn load(&mut self, change: &DatasetChange, reason: &LoadReason) -> Result<Outcome, PassError> {
        let Some(dataset) = &change.dataset else {
            return Ok(outcome(change, Vec::new(), Status::Unchanged));
        };
        let dir = self.staging.join(short_hash(&dataset.path));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|source| PassError::Staging {
            target: self.target.name.clone(),
            path: dir.clone(),
            source,
        })?;
        let result = match self.fetch_all(dataset, &dir).await {
            Ok(input) => {
                pause_point("sync-fetched").await;
                self.load_fetched(change, dataset, input).await
            }
            Err(e) => Err(Status::Failed { error: e.to_string() }),
        };
        // A publisher reads the metadata and style from the fetched copy.
        if self.publisher.is_none() || result.is_err() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        Ok(match result {
            Ok((tables, loaded)) => {
                let status = match reason {
                    LoadReason::New => Status::New { loaded },
                    other => Status::Changed {
                        reason: reason_text(other),
                        loaded,
                    },
                };
                outcome(change, tables, status)
            }
            Err(status) => outcome(change, change.table.iter().cloned().collect(), status),
        })
    }

    async fn fetch_all(&self, dataset: &Dataset, dir: &Path) -> Result<load::Input, FetchError> {
        let mut members = Vec::new();
        let mut main = PathBuf::new();
        for file in dataset.files() {
            let dest = dir.join(file.name());
            self.source.fetch(file, &dest).await?;
            if file.path == dataset.main.path {
                main = dest;
            } else {
                members.push(dest);
            }
        }
        Ok(load::Input {
            source_path: dataset.path.clone(),
            main,
            members,
            kind: if dataset.format.is_raster() {
                load::Kind::Raster
            } else {
                load::Kind::Vector
            },
            layer: None,
            fingerprint: dataset.fingerprint().to_string(),
        })
    }

    /// Loads what was fetched: each layer of a GeoPackage, the one layer of
    /// other vector files, or a raster prepared for publication.
    async fn load_fetched(
        &mut self,
        change: &DatasetChange,
        dataset: &Dataset,
        input: load::Input,
    ) -> Result<(Vec<String>, Loaded), Status> {
        if input.kind == load::Kind::Raster {
            return self.prepare_raster(change, input).await;
        }
        let layers = if dataset.format == Format::GeoPackage {
            let main = input.main.clone();
            let names = tokio::task::spawn_blocking(move || load::layers(&main))
                .await
                .map_err(|e| Status::Failed { error: e.to_string() })?
                .map_err(|e| status_of(&e))?;
            self.remove_vanished_layers(&dataset.path, &names).await;
            names.into_iter().map(Some).collect()
        } else {
            vec![None]
        };
        let mut tables = Vec::new();
        let mut loaded = Loaded::default();
        for layer in layers {
            let table = self.table_for(change, &dataset.path, layer.as_deref());
            let target = load::Target {
                schema: self.target.schema.clone(),
                table: table.clone(),
                default_srid: self.target.default_srid,
            };
            let input = load::Input {
                layer,
                ..input.clone()
            };
            let report = self.load_showing_progress(&input, &target).await?;
            self.warnings.extend(
                report
                    .warnings
                    .iter()
                    .map(|w| format!("{}: {w}", input.dataset())),
            );
            loaded.features += report.features;
            loaded.bytes += report.bytes;
            loaded.srid = report.srid;
            loaded.seconds += report.duration.as_secs_f64();
            tables.push(table);
        }
        Ok((tables, loaded))
    }

    /// Loads one vector layer, telling the progress callback the features
    /// read and the rate twice a second (a spinner on a terminal).
    async fn load_showing_progress(
        &mut self,
        input: &load::Input,
        target: &load::Target,
    ) -> Result<load::LoadReport, Status> {
        if !self.live_progress {
            return load::load_vector(self.client, input, target)
                .await
                .map_err(|e| status_of(&e));
        }
        let counters = std::sync::Arc::new(load::Progress::default());
        let tell = self.progress;
        let label = crate::escape::escape(&input.dataset()).into_owned();
        let started = std::time::Instant::now();
        let load = load::load_vector_with_progress(self.client, input, target, &counters);
        tokio::pin!(load);
        let mut ticker = tokio::time::interval(std::time::Duration::from_millis(500));
        let result = loop {
            tokio::select! {
                result = &mut load => break result,
                _ = ticker.tick() => {
                    use std::sync::atomic::Ordering::Relaxed;
                    let (read, total) = (counters.features.load(Relaxed), counters.total.load(Relaxed));
                    let rate = read as f64 / started.elapsed().as_secs_f64().max(0.001);
                    let of = if total > 0 { format!("/{total}") } else { String::new() };
                    tell(&format!("{label}: {read}{of} features, {rate:.0}/s"));
                }
            }
        };
        result.map_err(|e| status_of(&e))
    }

    /// The table of a dataset (or of one of its layers): the recorded one,
    /// else a new free name.
    fn table_for(&mut self, change: &DatasetChange, path: &str, layer: Option<&str>) -> String {
        let recorded = self
            .recorded
            .iter()
            .find(|r| r.path == path && r.layer == layer.unwrap_or(""));
        match (recorded, layer, &change.table) {
            (Some(r), _, _) => r.table.clone(),
            (None, None, Some(planned)) => planned.clone(),
            (None, Some(layer), _) => naming::assign_layer(path, layer, &mut self.taken),
            (None, None, None) => naming::assign(path, &mut self.taken),
        }
    }

    async fn remove_vanished_layers(&mut self, path: &str, layers: &[String]) {
        let recorded = self.recorded;
        for record in recorded.iter().filter(|r| r.path == path && !r.layer.is_empty()) {
            if layers.contains(&record.layer) {
                continue;
            }
            if let Err(e) = self.unpublish_entry(record).await {
                self.warnings.push(format!(
                    "{path}: layer {} left the file, its table {} could not be taken down: {e}",
                    record.layer, record.table,
                ));
            }
        }
    }

    /// Rasters are checked and converted for GeoServer (part 2 publishes
    /// them); the ledger records the prepared copy.
    async fn prepare_raster(
        &mut self,
        change: &DatasetChange,
        input: load::Input,
    ) -> Result<(Vec<String>, Loaded), Status> {
        let table = self.table_for(change, &input.source_path, None);
        let out = self.raster_dir(&table);
        std::fs::create_dir_all(&out).map_err(|e| Status::Failed {
            error: format!("{}: {e}", out.display()),
        })?;
        let prepared_input = input.clone();
        let started = std::time::Instant::now();
        let report: load::RasterReport =
            tokio::task::spawn_blocking(move || load::prepare_raster(&prepared_input, &out))
                .await
                .map_err(|e| Status::Failed { error: e.to_string() })?
                .map_err(|e| status_of(&e))?;
        self.warnings.extend(
            report
                .warnings
                .iter()
                .map(|w| format!("{}: {w}", input.source_path)),
        );
        self.warnings.push(format!(
            "{}: prepared for publication as a {} {}x{}, {} band(s), nodata {:?}: {}",
            input.source_path,
            report.driver,
            report.width,
            report.height,
            report.bands,
            report.nodata,
            report.path.display()
        ));
        let bytes = std::fs::metadata(&report.path).map_or(0, |m| m.len());
        let key = ledger::Key {
            source_path: input.source_path.clone(),
            layer: String::new(),
        };
        let record = ledger::Loaded {
            key: &key,
            table_schema: &self.target.schema,
            table_name: &table,
            fingerprint: &input.fingerprint,
            features: 0,
            srid: report.epsg.map_or(0, |c| c as i32),
        };
        let fail = |e: tokio_postgres::Error| Status::Failed {
            error: load::pg_message(&e),
        };
        let tx = self.client.transaction().await.map_err(fail)?;
        Ledger::record_loaded(&tx, &record).await.map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        let loaded = Loaded {
            features: 0,
            bytes,
            srid: record.srid,
            seconds: started.elapsed().as_secs_f64(),
        };
        Ok((vec![table], loaded))
    }
}

fn outcome(change: &DatasetChange, tables: Vec<String>, status: Status) -> Outcome {
    Outcome {
        path: change.path.clone(),
        tables,
        status,
        published: Vec::new(),
    }
}

fn step_of(action: &DatasetAction) -> &'static str {
    match action {
        DatasetAction::Load(_) => "load",
        DatasetAction::Publish(_) => "publish",
        DatasetAction::Remove { .. } => "unpublish",
        _ => "none",
    }
}

fn status_of(error: &LoadError) -> Status {
    if error.is_rejection() {
        Status::Rejected {
            reason: error.to_string(),
            step: "load",
        }
    } else {
        Status::Failed {
            error: error.to_string(),
        }
    }
}

/// A uuid another dataset holds rejects this one, nothing of it is
/// published (and a later claim this entry holds is given up); an earlier
/// record of this dataset that another one holds stays in the catalogue.
/// Returns warnings for the data manager.
async fn check_claim(
    claims: &mut Claims<'_>,
    client: &tokio_postgres::Client,
    target: &str,
    entry: &ledger::Entry,
    prepared: &mut Prepared,
) -> Result<Vec<String>, String> {
    let Some(uuid) = prepared.names().record_uuid.clone() else {
        return Ok(Vec::new());
    };
    let label = dataset_label(&entry.key);
    let p = &entry.publication;
    let holds = (p.record_uuid.as_deref() == Some(uuid.as_str())).then_some(p.record_claimed_at);
    if let Some(keeper) = claims.keeper(client, &entry.key, &uuid, holds).await? {
        if holds.is_some() {
            Ledger::release_record(client, &entry.key, &uuid)
                .await
                .map_err(|e| format!("{label}: giving up record {uuid}: {}", load::pg_message(&e)))?;
        }
        let what = match prepared.derived_from() {
            Some(author) => {
                format!("its record uuid (derived from its metadata fileIdentifier {author} and its layer)")
            }
            None if prepared.uuid_from_sidecar(target, &entry.key) => "its metadata fileIdentifier".into(),
            None => "its record uuid".into(),
        };
        return Err(format!(
            "{label}: rejected: {what} {uuid} is already the record of {}; \
             give its metadata a fileIdentifier of its own (or remove it) to publish it",
            keeper.describe()
        ));
    }
    let mut warnings = Vec::new();
    if let Some(old) = prepared.replaced_uuid().map(str::to_string) {
        if let Some(holder) = claims.holders(client, &entry.key, &old).await?.first() {
            prepared.keep_replaced_record();
            warnings.push(format!(
                "{label}: its earlier record {old} stays in the catalogue: it is the record of {}",
                holder.describe()
            ));
        }
    }
    Ok(warnings)
}

/// A publication that failed; one refused for what the researcher gave (a
/// record uuid another dataset holds) is a rejection, as the loader's are.
fn publish_failure(error: String) -> Status {
    if error.contains(": rejected: ") {
        Status::Rejected {
            reason: error,
            step: "publish",
        }
    } else {
        Status::Failed { error }
    }
}

/// A dataset as its messages name it: its path, and its layer in the file.
fn dataset_label(key: &ledger::Key) -> String {
    match key.layer.as_str() {
        "" => key.source_path.clone(),
        layer => format!("{} (layer {layer})", key.source_path),
    }
}

/// A failed dataset whose next try is not due. The loader's rejections
/// (the data cannot load as it is) stay rejections until the data changes.
fn waiting(last_error: &str, step: &'static str) -> Status {
    if last_error.contains(": rejected: ") {
        Status::Rejected {
            reason: last_error.to_string(),
            step,
        }
    } else {
        Status::Failed {
            error: format!("{last_error} (waiting for the next try)"),
        }
    }
}

fn publish_reason_text(reason: &plan::PublishReason) -> String {
    use plan::PublishReason as R;
    match reason {
        R::NotPublished => "not published yet".into(),
        R::MetadataChanged => "metadata changed".into(),
        R::StyleChanged => "style changed".into(),
        R::SettingsChanged => "publishing settings changed".into(),
        R::RetryAfterFailure { attempts, .. } => format!("published again after {attempts} failure(s)"),
    }
}

fn reason_text(reason: &LoadReason) -> String {
    match reason {
        LoadReason::New => "new".into(),
        LoadReason::ContentChanged => "content changed".into(),
        LoadReason::SidecarChanged => "sidecar changed".into(),
        LoadReason::RetryAfterFailure { attempts, .. } => format!("retried after {attempts} failure(s)"),
    }
}

fn short_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))[..16].to_string()
}

/// For tests that kill geosync between a download and its load: with
/// GEOSYNC_TEST_PAUSE_AT=STEP, geosync says so on stderr and waits there
/// to be killed, or, with GEOSYNC_TEST_RESUME_ON_STOP set too, until a
/// signal asks it to stop (to show the dataset in hand is then finished).
/// Without them, nothing happens.
async fn pause_point(step: &str) {
    if std::env::var("GEOSYNC_TEST_PAUSE_AT").is_ok_and(|at| at == step) {
        eprintln!("geosync: paused at {step}");
        let resume_on_stop = std::env::var_os("GEOSYNC_TEST_RESUME_ON_STOP").is_some();
        // Asleep without holding the thread: the signal handling that
        // shares the task (apply's) must go on.
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            if resume_on_stop && super::shutdown::requested() {
                return;
            }
        }
    }
}
