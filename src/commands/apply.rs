//! `geosync apply`: plan (or take a saved plan), confirm, execute under
//! the lock, journal every step, report what happened.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{bail, Context};
use serde_json::json;

use super::{run_spec, state_dir, Exit};
use crate::cli::ApplyArgs;
use crate::engine::journal::Journal;
use crate::engine::lock::Lock;
use crate::engine::{self, ApplyReport, Executor, Outcome, RunSpec};
use crate::escape::escape;
use crate::manifest::secret::Redactor;
use crate::output::Printer;
use crate::plan::{self, render, Plan};

pub async fn run(args: &ApplyArgs, printer: &Printer, redactor: &Redactor) -> anyhow::Result<Exit> {
    let saved = match &args.plan {
        Some(path) => Some(read_saved_plan(path, args)?),
        None => None,
    };
    let spec = match &saved {
        Some(saved) => RunSpec {
            manifests: saved.manifests.iter().map(|m| m.path.clone()).collect(),
            var_overrides: saved.var_overrides.clone(),
            only: saved.only.clone(),
            exclude: saved.exclude.clone(),
            options: saved.options,
            secrets: Default::default(),
        },
        None => run_spec(&args.manifest, Some(&args.scope)),
    };
    // A manifest that does not load changes nothing, not even the state dir.
    let loaded = engine::load(&spec, redactor)?;
    let state = state_dir(&args.scope, &spec);
    let _lock = Lock::acquire(&state.join("apply.lock"), args.break_lock)?;

    let spinner = printer.spinner("Reading the platform's state");
    let plan = engine::plan(&loaded, &spec).await;
    spinner.finish_and_clear();
    let plan = plan?;
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
    if saved.is_none() && !args.auto_approve {
        if !std::io::stdin().is_terminal() {
            bail!("refusing to apply without confirmation: stdin is not a terminal (review with `geosync plan`, then pass --auto-approve)");
        }
        if !printer.confirm(&match plan.summary.pending() {
            1 => "Apply this change?".to_string(),
            n => format!("Apply these {n} changes?"),
        }) {
            printer.note("Apply cancelled; nothing was changed.");
            return Ok(Exit::Failure);
        }
    }

    let run_id = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
        std::process::id()
    );
    let journal_path = state.join("journal.jsonl");
    let mut journal = Journal::open(&journal_path, run_id, redactor.clone())?;
    journal.record(
        "run_started",
        json!({ "manifests": spec.manifests, "summary": plan.summary, "saved_plan": args.plan }),
    )?;
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
    .run(&plan, &on_done)
    .await?;
    progress.finish_and_clear();
    journal.record("run_finished", json!({ "succeeded": report.all_succeeded() }))?;

    if args.manifest.json {
        printer.result(&format!("{}\n", json!({ "plan": plan, "report": report })));
    } else {
        printer.result(&report_text(&report));
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
    for (then, now) in saved.manifests.iter().zip(&fresh.manifests) {
        if then.sha256 != now.sha256 {
            bail!(
                "stale plan: the manifest {} changed since the plan was made; run `geosync plan` again",
                then.path.display()
            );
        }
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
