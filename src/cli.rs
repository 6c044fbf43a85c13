//! The command line: verbs and flags, nothing else.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::plan::Selector;

#[derive(Debug, Parser)]
#[command(
    name = "geosync",
    version,
    about = "Runs a geOrchestra spatial data infrastructure as code"
)]
pub struct Cli {
    /// Print only results and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more: unchanged resources in plans, debug logs with -vv.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the manifests without touching any system.
    Validate(ManifestArgs),
    /// Show what apply would change.
    Plan(PlanArgs),
    /// Converge the platform to the manifests (or to a saved plan).
    Apply(ApplyArgs),
    /// Translate a Docker Compose file into a geosync manifest.
    ImportCompose(ImportComposeArgs),
    /// Print the JSON Schema of the manifest language, for editors and CI.
    Schema,
    /// Read the cloud shares of [[sync.target]], load their datasets into PostGIS and publish them
    /// (GeoServer layers, metadata records): continuously, or one pass with --once.
    Sync(SyncArgs),
    /// Show what the sync published, what is pending, rejected or failed, per target and dataset.
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
    /// Only this target (repeatable) [default: every target].
    #[arg(long, value_name = "NAME")]
    pub target: Vec<String>,
    /// Where the sync's state lives [default: .geosync beside the first manifest].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
    /// One pass over each target, then exit [default: run continuously, a pass every
    /// [sync] interval, until SIGTERM or SIGINT].
    #[arg(long)]
    pub once: bool,
    /// List every share completely, ignoring what the last walk saw.
    #[arg(long)]
    pub full_rescan: bool,
    /// Only this target (repeatable) [default: every target].
    #[arg(long, value_name = "NAME")]
    pub target: Vec<String>,
    /// Show what the pass would load and remove; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Take datasets down even when the share lists no file or lost more than
    /// max_removal_share of its datasets at once.
    #[arg(long)]
    pub force_removals: bool,
    /// Where the walk state and staging folder live [default: .geosync beside the first manifest].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportComposeArgs {
    /// The compose file (docker-compose.yml).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The project name [default: the compose file's folder, as compose does].
    #[arg(long)]
    pub project: Option<String>,
    /// Write the manifest here instead of printing it.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also import the services of this profile (repeatable), as
    /// `docker compose --profile`; COMPOSE_PROFILES in .env counts too.
    #[arg(long, value_name = "NAME")]
    pub profile: Vec<String>,
}

#[derive(Debug, Args, Clone)]
pub struct ManifestArgs {
    /// Manifest file; repeat to combine several [default: geosync.toml].
    #[arg(short = 'f', long = "manifest", value_name = "FILE")]
    pub manifests: Vec<PathBuf>,
    /// Override a variable of [vars].
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
pub struct ScopeArgs {
    /// Limit the run to a system, kind or resource: KIND[:NAME]. Repeatable.
    #[arg(long, value_name = "KIND[:NAME]")]
    pub only: Vec<Selector>,
    /// Leave a system, kind or resource out: KIND[:NAME]. Repeatable.
    #[arg(long, value_name = "KIND[:NAME]")]
    pub exclude: Vec<Selector>,
    /// Delete what geosync created that is no longer in the manifests.
    #[arg(long)]
    pub prune: bool,
    /// Take over existing objects with a desired name that geosync did not create.
    #[arg(long)]
    pub adopt: bool,
    /// Drop roles and databases the manifest declares `ensure = "absent"`.
    #[arg(long)]
    pub allow_drop: bool,
    /// Where the lock and the journal live [default: .geosync beside the first manifest].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Exit 0 when there is nothing to do, 2 when changes are pending, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the plan, to apply exactly it later with `geosync apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `geosync plan --out`: apply exactly it.
    #[arg(value_name = "PLAN")]
    pub plan: Option<PathBuf>,
    #[command(flatten)]
    pub manifest: ManifestArgs,
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Apply without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// End the PostgreSQL session holding geosync's platform lock (an apply
    /// whose machine vanished), then take the lock.
    #[arg(long)]
    pub break_lock: bool,
    /// Do not run the data sync's pass after the platform converged (implied by --exclude sync).
    #[arg(long)]
    pub no_sync: bool,
    /// How long to wait for another apply's platform lock: 90s, 5m, 0.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_wait)]
    pub lock_timeout: std::time::Duration,
}

/// Seconds or minutes: `90s`, `5m`, `0`.
fn parse_wait(text: &str) -> Result<std::time::Duration, String> {
    let (number, unit) = match text.strip_suffix('m') {
        Some(n) => (n, 60),
        None => (text.strip_suffix('s').unwrap_or(text), 1),
    };
    number
        .parse::<u64>()
        .map(|n| std::time::Duration::from_secs(n * unit))
        .map_err(|_| format!("`{text}` is not a duration such as 90s or 5m"))
}
