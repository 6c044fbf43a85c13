//! `geosync apply`: plan (or take a saved plan), confirm, execute under
//! the lock, journal every step, report what happened.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{bail, Context};
use serde_json::json;

use super::{run_spec, state_dir, Exit};
use crate::cli::ApplyArgs;
use crate::engine::journal::Journal;
use crate::engine::key::FingerprintKey;
use crate::engine::lock::Lock;
use crate::engine::{self, ApplyReport, Executor, Outcome, RunSpec};
use crate::escape::escape;
use crate::manifest::secret::Redactor;
use crate::output::Printer;
use crate::plan::{self, render, Plan};

pub async fn run(args: &ApplyArgs, printer: &Printer, redactor: &Redactor) -> anyhow::Result<Exit> {
    let Prepared {
        saved,
        spec,
        explicit_state,
    } = prepare(args)?;
    // A manifest that does not load changes nothing, not even the state dir.
    let loaded = engine::load(&spec, redactor)?;
    let state = match (explicit_state, saved.as_ref().and_then(|s| s.state_dir.clone())) {
        (Some(dir), _) | (None, Some(dir)) => dir,
        (None, None) => state_dir(&args.scope, &spec),
    };
    // Released by the kernel when this process ends, however it ends.
    let _lock = Lock::acquire(&state.join("apply.lock"))?;
    let key = FingerprintKey::load_or_create(&state)?;
    // Released by the server when this process ends: applies from other
    // machines wait for it too.
    let waiting = |message: &str| printer.note(message);
    let _platform_locks =
        engine::lock_platform(&loaded, args.break_lock, args.lock_timeout, &waiting).await?;

    let spinner = printer.spinner("Reading the platform's state");
    let plan = engine::plan(&loaded, &spec, &key).await;
    spinner.finish_and_clear();
    let mut plan = plan?;
    plan.state_dir = Some(std::path::absolute(&state).unwrap_or(state.clone()));
    if let Some(saved) = &saved {
        ensure_still_valid(saved, &plan)?;
    }

    // -q prints results only: the report, not the plan (unless it is the
    // whole result: nothing to do).
    if !(args.manifest.json || printer.quiet() && plan.has_changes()) {
        printer.result(&render::human(&plan, printer.verbose()));
    }
    if !plan.has_changes() {
        if args.manifest.json {
            printer.result(&format!(
                "{}\n",
                json!({ "plan": plan, "report": ApplyReport::default() })
            ));
        }
        return Ok(Exit::Success);
    }
    // A saved plan was reviewed when it was made.
    if saved.is_none() && !args.auto_approve && !confirmed(&plan, printer)? {
        printer.note("Apply cancelled; nothing was changed.");
        return Ok(Exit::Failure);
    }
    execute(&plan, &loaded, &state, args, printer, redactor).await
}

/// What to apply: a saved plan (from the directory it was made in) or
/// the manifests of the command line.
struct Prepared {
    saved: Option<Plan>,
    spec: RunSpec,
    explicit_state: Option<std::path::PathBuf>,
}

fn prepare(args: &ApplyArgs) -> anyhow::Result<Prepared> {
    // Given relative to where the command runs, before a saved plan moves it.
    let explicit_state = match &args.scope.state_dir {
        Some(dir) => Some(std::path::absolute(dir).context("cannot resolve --state-dir")?),
        None => None,
    };
    let Some(path) = &args.plan else {
        let mut spec = run_spec(&args.manifest, Some(&args.scope));
        if args.no_sync {
            spec.exclude.push("sync".parse().expect("a valid selector"));
        }
        return Ok(Prepared {
            saved: None,
            spec,
            explicit_state,
        });
    };
    let saved = read_saved_plan(path, args)?;
    if let Some(dir) = &saved.working_dir {
        std::env::set_current_dir(dir).with_context(|| {
            format!(
                "the plan was made in {}, which cannot be entered now; nothing was applied",
                dir.display()
            )
        })?;
    }
    let spec = RunSpec {
        manifests: saved.manifests.iter().map(|m| m.path.clone()).collect(),
        var_overrides: saved.var_overrides.clone(),
        only: saved.only.clone(),
        exclude: saved.exclude.clone(),
        options: saved.options,
        state_dir: saved.state_dir.clone(),
        secrets: Default::default(),
    };
    Ok(Prepared {
        saved: Some(saved),
        spec,
        explicit_state,
    })
}

fn confirmed(plan: &Plan, printer: &Printer) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("refusing to apply without confirmation: stdin is not a terminal (review with `geosync plan`, then pass --auto-approve)");
    }
    Ok(printer.confirm(&match plan.summary.pending() {
        1 => "Apply this change?".to_string(),
        n => format!("Apply these {n} changes?"),
    }))
}

/// Runs the plan with a journal, and always reports what happened, even
/// when the journal could not be written.
async fn execute(
    plan: &Plan,
    loaded: &engine::Loaded,
    state: &Path,
    args: &ApplyArgs,
    printer: &Printer,
    redactor: &Redactor,
) -> anyhow::Result<Exit> {
    let run_id = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
        std::process::id()
    );
    let mut journal = Journal::open(&state.join("journal.jsonl"), run_id)?;
    journal.record(
        "run_started",
        json!({ "manifests": plan.manifests.iter().map(|m| &m.path).collect::<Vec<_>>(), "summary": plan.summary, "saved_plan": args.plan }),
    );
    let progress = printer.progress(plan.summary.pending());
    let on_done = |address: &crate::plan::Address, _: &Outcome| {
        progress.set_message(address.to_string());
        progress.inc(1);
    };
    let report = Executor {
        systems: &loaded.systems,
        journal: &mut journal,
        redactor,
    }
    .run(plan, &on_done)
    .await;
    progress.finish_and_clear();
    journal.record("run_finished", json!({ "succeeded": report.all_succeeded() }));

    if args.manifest.json {
        printer.result(&format!("{}\n", json!({ "plan": plan, "report": report })));
    } else {
        printer.result(&report_text(&report));
    }
    if let Some((error, lost)) = journal.failure() {
        printer.error(&format!(
            "{}: {lost} record{} of this run {} missing; the apply report above is complete",
            crate::error_chain::error_chain(error),
            if lost == 1 { "" } else { "s" },
            if lost == 1 { "is" } else { "are" }
        ));
        return Ok(Exit::Failure);
    }
    Ok(if report.all_succeeded() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

fn read_saved_plan(path: &Path, args: &ApplyArgs) -> anyhow::Result<Plan> {
    let scope = &args.scope;
    if !args.manifest.manifests.is_empty()
        || !args.manifest.vars.is_empty()
        || !scope.only.is_empty()
        || !scope.exclude.is_empty()
        || scope.prune
        || scope.adopt
        || scope.allow_drop
    {
        bail!("a saved plan carries its own manifests, variables and scope: do not combine {} with -f, --var, --only, --exclude, --prune, --adopt or --allow-drop", path.display());
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read the plan {}", path.display()))?;
    let version = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("format_version").and_then(|v| v.as_u64()));
    match version {
        Some(v) if v == u64::from(plan::FORMAT_VERSION) => {}
        Some(v) => bail!(
            "{}: plan format {v} is not supported by this geosync (format {}); make the plan again",
            path.display(),
            plan::FORMAT_VERSION
        ),
        None => bail!("{}: not a plan saved by `geosync plan --out`", path.display()),
    }
    serde_json::from_str(&text)
        .with_context(|| format!("{}: not a plan saved by `geosync plan --out`", path.display()))
}

/// A saved plan applies only if re-planning now gives exactly it.
fn ensure_still_valid(saved: &Plan, fresh: &Plan) -> anyhow::Result<()> {
    if saved.key_id != fresh.key_id {
        bail!(
            "this plan was made with another state directory's fingerprint key than {}; nothing was applied; run `geosync plan` again (or pass the --state-dir it was made with)",
            fresh.state_dir.as_deref().unwrap_or(Path::new(".geosync")).display()
        );
    }
    for (then, now) in saved.manifests.iter().zip(&fresh.manifests) {
        if then.sha256 != now.sha256 {
            bail!(
                "stale plan: the manifest {} changed since the plan was made; run `geosync plan` again",
                then.path.display()
            );
        }
    }
    if saved.manifests.len() != fresh.manifests.len() {
        bail!("stale plan: its manifests no longer load as they did; run `geosync plan` again");
    }
    let changed: Vec<&str> = saved
        .secrets
        .iter()
        .filter(|(reference, sealed)| fresh.secrets.get(*reference) != Some(*sealed))
        .map(|(reference, _)| reference.as_str())
        .chain(
            fresh
                .secrets
                .keys()
                .filter(|reference| !saved.secrets.contains_key(*reference))
                .map(String::as_str),
        )
        .collect();
    if !changed.is_empty() {
        bail!(
            "stale plan: the secret{} {} changed since the plan was made; nothing was applied; run `geosync plan` again",
            if changed.len() == 1 { "" } else { "s" },
            changed.join(", ")
        );
    }
    let differing = saved.differences(fresh);
    if !differing.is_empty() {
        let list: Vec<String> = differing.iter().map(ToString::to_string).collect();
        bail!(
            "stale plan: the platform changed since the plan was made ({}); nothing was applied; run `geosync plan` again",
            list.join(", ")
        );
    }
    Ok(())
}

fn report_text(report: &ApplyReport) -> String {
    let succeeded = report.count(|o| *o == Outcome::Succeeded);
    if report.all_succeeded() {
        return format!(
            "Apply complete: {succeeded} change{} applied.\n",
            if succeeded == 1 { "" } else { "s" }
        );
    }
    let mut text = String::new();
    for (address, outcome) in &report.results {
        // Names and errors may hold control characters: one line each.
        let address = escape(&address.to_string()).into_owned();
        let line = match outcome {
            Outcome::Succeeded => format!("  done       {address}\n"),
            Outcome::Failed { error } => format!("  FAILED     {address}: {}\n", escape(error)),
            Outcome::Skipped { because } => {
                format!(
                    "  skipped    {address} (depends on {})\n",
                    escape(&because.to_string())
                )
            }
            Outcome::NotStarted => format!("  not run    {address} (interrupted)\n"),
        };
        text.push_str(&line);
    }
    text.push_str(&format!(
        "Apply incomplete: {succeeded} succeeded, {} failed, {} skipped, {} not started. Re-run `geosync apply` once the cause is fixed: it resumes from the platform's actual state.\n",
        report.count(|o| matches!(o, Outcome::Failed { .. })),
        report.count(|o| matches!(o, Outcome::Skipped { .. })),
        report.count(|o| *o == Outcome::NotStarted),
    ));
    text
}
