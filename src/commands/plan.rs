//! `geosync plan`: observe, diff, show. Changes nothing.

use anyhow::Context;

use std::path::Path;

use super::{run_spec, state_dir, Exit};
use crate::cli::PlanArgs;
use crate::engine;
use crate::engine::key::FingerprintKey;
use crate::manifest::secret::Redactor;
use crate::output::Printer;
use crate::plan::render;

pub async fn run(args: &PlanArgs, printer: &Printer, redactor: &Redactor) -> anyhow::Result<Exit> {
    let spec = run_spec(&args.manifest, Some(&args.scope));
    let loaded = engine::load(&spec, redactor)?;
    let state = state_dir(&args.scope, &spec);
    let key = fingerprint_key(&state, args.out.is_some(), printer)?;
    let spinner = printer.spinner("Reading the platform's state");
    let plan = engine::plan(&loaded, &spec, &key).await;
    spinner.finish_and_clear();
    let mut plan = plan?;
    plan.state_dir = Some(std::path::absolute(&state).unwrap_or(state));
    plan.working_dir = std::env::current_dir().ok();
    let json = serde_json::to_string_pretty(&plan).context("cannot serialize the plan")?;
    if let Some(path) = &args.out {
        std::fs::write(path, format!("{json}\n"))
            .with_context(|| format!("cannot save the plan to {}", path.display()))?;
    }
    if args.manifest.json {
        printer.result(&format!("{json}\n"));
    } else {
        printer.result(&render::human(&plan, printer.verbose()));
        if let Some(path) = &args.out {
            printer.note(&format!(
                "Saved the plan to {}: `geosync apply {}` applies exactly it.",
                path.display(),
                path.display()
            ));
        }
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        Exit::ChangesPending
    } else {
        Exit::Success
    })
}

/// The state directory's key. A plan that is only shown can do with a key
/// of its own when the state directory cannot be written (a read-only
/// checkout); a saved plan needs the one its apply will use.
fn fingerprint_key(state: &Path, saving: bool, printer: &Printer) -> anyhow::Result<FingerprintKey> {
    match FingerprintKey::load_or_create(state) {
        Ok(key) => Ok(key),
        Err(error) if saving => Err(error.into()),
        Err(error) => {
            printer.note(&format!(
                "note: {}; fingerprints in this plan are for this run only",
                crate::error_chain::error_chain(&error)
            ));
            Ok(FingerprintKey::ephemeral().context("cannot read random bytes for a fingerprint key")?)
        }
    }
}
