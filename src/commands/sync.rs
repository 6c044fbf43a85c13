//! `geosync sync`: the data sync over each target (or those named by
//! --target): walk the share, load what changed, publish it, take down what
//! left it. `--once` runs one pass and reports it; without it the sync runs
//! as a service until SIGTERM/SIGINT. `--dry-run` shows the plan of the
//! pass and changes nothing.

use std::fmt::Write;

use anyhow::{bail, Context};

use crate::sync::publishing::PublishContext;
use crate::sync::{daemon, shutdown};

use super::{manifests_or_default, run_spec, Exit};
use crate::cli::SyncArgs;
use crate::engine;
use crate::escape::escape;
use crate::manifest::secret::{Redactor, SecretMode};
use crate::output::Printer;
use crate::plan::{render, Plan, PlannedManifest};
use crate::sync::manifest::SyncTarget;
use crate::sync::pass::{self, Outcome, PassOptions, PassReport, Status};
use crate::sync::plan::PassPlan;

/// Bumped when the JSON report's meaning changes.
const REPORT_FORMAT: u32 = 1;

pub async fn run(args: &SyncArgs, printer: &Printer, redactor: &Redactor) -> anyhow::Result<Exit> {
    let mut spec = run_spec(&args.manifest, None);
    spec.secrets = SecretMode::Placeholder;
    let loaded = engine::load(&spec, redactor)?;
    let manifest = &loaded.manifest;
    let (sync, connection) = sync_and_postgres(manifest, true)?;
    let run = Run {
        targets: selected(&sync.targets, &args.target)?,
        connection: &connection,
        state_dir: args
            .state_dir
            .clone()
            .unwrap_or_else(|| engine::default_state_dir(&manifests_or_default(&args.manifest))),
        options: PassOptions {
            dry_run: args.dry_run,
            force_removals: args.force_removals,
            live_progress: !printer.quiet() && std::io::IsTerminal::is_terminal(&std::io::stderr()),
            full_rescan: args.full_rescan,
            max_removal_share: sync.settings.max_removal_share,
            min_removals: sync.settings.min_removals,
            database_absent: false,
        },
        publishing: PublishContext::new(&manifest.systems, sync),
    };
    if !args.once && !args.dry_run {
        return run
            .service(sync, printer, &|text| manifest.systems.redactor.redact(text))
            .await;
    }
    if !args.dry_run {
        // A pass run by cron or by hand stops as the loop does: the dataset
        // in hand is finished, the rest is left for the next run.
        shutdown::install_signal_handlers().context("cannot listen for SIGTERM/SIGINT")?;
    }
    let (plans, reports) = run.passes(printer).await?;
    if args.dry_run {
        let plan = as_plan(
            &plans,
            manifest.systems.sources.iter().map(|s| PlannedManifest {
                path: s.path.clone(),
                sha256: s.sha256.clone(),
            }),
        );
        if args.manifest.json {
            printer.result(&format!("{}\n", serde_json::to_string_pretty(&plan)?));
        } else {
            printer.result(&render::human(&plan, printer.verbose()));
        }
        return Ok(Exit::Success);
    }
    if args.manifest.json {
        let document = serde_json::json!({ "format_version": REPORT_FORMAT, "targets": reports });
        printer.result(&format!("{}\n", serde_json::to_string_pretty(&document)?));
    } else {
        for (report, plan) in reports.iter().zip(&plans) {
            printer.result(&human(report, plan));
        }
    }
    let failed: usize = reports.iter().map(PassReport::failed).sum();
    let left: usize = reports.iter().map(PassReport::interrupted).sum();
    if shutdown::requested() {
        printer.note(&format!(
            "Stopped by a signal: {left} dataset(s) and {} target(s) left for the next run.",
            run.targets.len() - reports.len()
        ));
    }
    Ok(if failed > 0 || shutdown::requested() {
        Exit::Failure
    } else {
        Exit::Success
    })
}

/// What a `geosync sync` run works on.
struct Run<'a> {
    targets: Vec<&'a SyncTarget>,
    connection: &'a crate::systems::postgres::manifest::PgConnection,
    state_dir: std::path::PathBuf,
    options: PassOptions,
    publishing: Option<PublishContext>,
}

impl Run<'_> {
    /// The loop, until SIGTERM/SIGINT.
    async fn service(
        &self,
        sync: &crate::sync::manifest::Sync,
        printer: &Printer,
        redact: &(dyn Fn(&str) -> String + Sync),
    ) -> anyhow::Result<Exit> {
        shutdown::install_signal_handlers().context("cannot listen for SIGTERM/SIGINT")?;
        printer.note(&format!(
            "Syncing {} target(s) every {}s; SIGTERM or Ctrl-C stops after the dataset in hand.",
            self.targets.len(),
            sync.settings.interval.as_secs()
        ));
        daemon::Service {
            targets: self.targets.clone(),
            connection: self.connection,
            state_dir: &self.state_dir,
            settings: &sync.settings,
            options: PassOptions {
                live_progress: false,
                ..self.options
            },
            publishing: self.publishing.as_ref(),
            redact,
        }
        .run()
        .await;
        Ok(Exit::Success)
    }

    /// One pass per target, in turn.
    async fn passes(&self, printer: &Printer) -> anyhow::Result<(Vec<PassPlan>, Vec<PassReport>)> {
        let mut plans = Vec::new();
        let mut reports = Vec::new();
        for target in &self.targets {
            if shutdown::requested() {
                break;
            }
            let spinner = printer.spinner(&format!("Reading the share of {}", target.address()));
            let progress = |step: &str| spinner.set_message(format!("{}: {step}", target.address()));
            let result = pass::run(
                target,
                self.connection,
                &self.state_dir,
                self.options,
                self.publishing.as_ref(),
                &progress,
            )
            .await;
            spinner.finish_and_clear();
            let result = result.context("the sync pass stopped")?;
            printer.note(&format!(
                "{}: {} request(s) to the share, {} unchanged folder(s) not listed again",
                target.address(),
                result.walk.requests,
                result.walk.reused
            ));
            plans.push(result.plan);
            reports.extend(result.report);
        }
        Ok((plans, reports))
    }
}

pub fn selected<'a>(targets: &'a [SyncTarget], names: &[String]) -> anyhow::Result<Vec<&'a SyncTarget>> {
    if names.is_empty() {
        return Ok(targets.iter().collect());
    }
    names
        .iter()
        .map(|name| {
            targets.iter().find(|t| &t.name == name).with_context(|| {
                let known: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
                format!(
                    "--target {name}: no such [[sync.target]] (known: {})",
                    known.join(", ")
                )
            })
        })
        .collect()
}

/// Every target's pass as one plan of the project, for its printer and JSON.
fn as_plan(plans: &[PassPlan], manifests: impl Iterator<Item = PlannedManifest>) -> Plan {
    let mut changes = Vec::new();
    let mut warnings = Vec::new();
    for plan in plans {
        let (c, w) = plan.envelopes();
        changes.extend(c);
        warnings.extend(w);
        warnings.extend(plan.refused.iter().map(|r| crate::plan::Warning {
            address: Some(crate::plan::Address::new(
                crate::sync::plan::DATASET_KIND,
                &format!("{}/{}", plan.target, r.path),
            )),
            message: format!("refused: {}", r.reason),
        }));
    }
    Plan::new(
        manifests.collect(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Default::default(),
        changes,
        warnings,
    )
}

/// One line per dataset, then the totals.
fn human(report: &PassReport, plan: &PassPlan) -> String {
    let mut out = String::new();
    let mut counts = [0usize; 8];
    for refused in &plan.refused {
        counts[4] += 1;
        let _ = writeln!(
            out,
            "  rejected   {}: {}",
            escape(&refused.path),
            escape(&refused.reason)
        );
    }
    for outcome in &report.datasets {
        let (index, line) = line_of(outcome);
        counts[index] += 1;
        let _ = writeln!(out, "{line}");
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "  warning    {}", escape(warning));
    }
    let [new, changed, unchanged, removed, rejected, failed, republished, interrupted] = counts;
    let _ = write!(
        out,
        "sync.target:{}: {new} new, {changed} changed, ",
        escape(&report.target)
    );
    if report.workspace.is_some() {
        let _ = write!(out, "{republished} republished, ");
    }
    let _ = write!(
        out,
        "{unchanged} unchanged, {removed} removed, {rejected} rejected, {failed} failed"
    );
    if interrupted > 0 {
        let _ = write!(out, ", {interrupted} left for the next run (stopped)");
    }
    let _ = writeln!(out, ".");
    out
}

fn line_of(outcome: &Outcome) -> (usize, String) {
    let path = escape(&outcome.path);
    let mut tables = if outcome.tables.is_empty() {
        String::new()
    } else {
        format!(" -> {}", outcome.tables.join(", "))
    };
    for published in &outcome.published {
        tables.push_str(&format!(
            " [layer {}{}]",
            published.layer,
            published
                .record_uuid
                .as_ref()
                .map_or(String::new(), |u| format!(", record {u}"))
        ));
    }
    match &outcome.status {
        Status::New { loaded } => (0, format!("  new        {path}{tables} ({})", facts(loaded))),
        Status::Changed { reason, loaded } => (
            1,
            format!("  changed    {path}{tables} ({reason}, {})", facts(loaded)),
        ),
        Status::Unchanged => (2, format!("  unchanged  {path}{tables}")),
        Status::Removed => (3, format!("  removed    {path}{tables}")),
        Status::Rejected { reason, .. } => (4, format!("  rejected   {path}: {}", escape(reason))),
        Status::Failed { error } => (5, format!("  failed     {path}: {}", escape(error))),
        Status::Republished { reason } => (6, format!("  republished {path}{tables} ({reason})")),
        Status::Interrupted => (7, format!("  not done   {path} (stopped before it)")),
    }
}

/// "40 features, EPSG:2154, 0.1 s"; a raster has no features.
fn facts(loaded: &crate::sync::pass::Loaded) -> String {
    let srid = if loaded.srid > 0 {
        format!("EPSG:{}", loaded.srid)
    } else {
        "custom CRS".to_string()
    };
    let what = if loaded.features == 0 && loaded.bytes > 0 {
        format!("raster, {} bytes", loaded.bytes)
    } else {
        format!("{} features", loaded.features)
    };
    format!("{what}, {srid}, {:.1} s", loaded.seconds)
}

/// The `[sync]` section and how the sync reaches the PostgreSQL server it
/// loads into (as `[sync] postgres_role` when set), or why a sync verb
/// cannot run with these manifests. The manifests were read without
/// requiring every secret (the sync's host holds only its own): those the
/// sync uses must be there (the shares' and the publishers' too when
/// `publishing`).
pub(super) fn sync_and_postgres(
    manifest: &crate::platform::manifest::Manifest,
    publishing: bool,
) -> anyhow::Result<(
    &crate::sync::manifest::Sync,
    crate::systems::postgres::manifest::PgConnection,
)> {
    let Some(sync) = manifest.sync.as_ref().filter(|s| !s.targets.is_empty()) else {
        bail!("the manifests declare no [[sync.target]]");
    };
    let Some(postgres) = manifest.systems.postgres.as_ref() else {
        bail!("[[sync.target]] loads into PostgreSQL: the manifests declare no [postgres] server");
    };
    let connection = sync.connection(&postgres.connection);
    let missing =
        crate::sync::manifest::unavailable_secrets(sync, &connection, &manifest.systems, publishing);
    if !missing.is_empty() {
        bail!(
            "the sync cannot run without these secrets: {}",
            missing.join("; ")
        );
    }
    Ok((sync, connection))
}
