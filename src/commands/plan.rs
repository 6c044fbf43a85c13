//! `geosync plan`: observe, diff, show. Changes nothing.

use anyhow::Context;

use super::{run_spec, Exit};
use crate::cli::PlanArgs;
use crate::engine;
use crate::manifest::secret::Redactor;
use crate::output::Printer;
use crate::plan::render;

pub async fn run(args: &PlanArgs, printer: &Printer, redactor: &Redactor) -> anyhow::Result<Exit> {
    let spec = run_spec(&args.manifest, Some(&args.scope));
    let loaded = engine::load(&spec, redactor)?;
    let spinner = printer.spinner("Reading the platform's state");
    let plan = engine::plan(&loaded, &spec).await;
    spinner.finish_and_clear();
    let plan = plan?;
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
