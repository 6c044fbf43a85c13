//! `geosync validate`: the manifests load, every reference resolves and
//! every template renders. No system is contacted.

use serde_json::json;

use super::{run_spec, Exit};
use crate::cli::ManifestArgs;
use crate::engine;
use crate::manifest::secret::SecretMode;
use crate::output::Printer;

pub fn run(
    args: &ManifestArgs,
    printer: &Printer,
    redactor: &crate::manifest::secret::Redactor,
) -> anyhow::Result<Exit> {
    let mut spec = run_spec(args, None);
    spec.secrets = SecretMode::Placeholder;
    let loaded = engine::load(&spec, redactor)?;
    let count = loaded.manifest.resource_count();
    let notes = &loaded.manifest.systems.unresolved_secrets;
    // Only references are named, never values.
    let weak: Vec<String> = redactor
        .weak_secrets()
        .into_iter()
        .map(|(reference, why)| format!("the secret {reference} {why}: it is easy to guess"))
        .collect();
    if args.json {
        printer.result(&format!(
            "{}\n",
            // The shape of the error document (crate::failure), with no error.
            json!({
                "format_version": crate::failure::FORMAT_VERSION,
                "valid": true,
                "error_count": 0,
                "errors": [],
                "manifests": spec.manifests,
                "resources": count,
                "unresolved_secrets": notes,
                "warnings": weak,
            })
        ));
    } else {
        for warning in &weak {
            printer.note(&format!("warning: {warning}"));
        }
        printer.result(&format!(
            "The manifest is valid: {} file{}, {count} resource{}.\n",
            spec.manifests.len(),
            if spec.manifests.len() == 1 { "" } else { "s" },
            if count == 1 { "" } else { "s" },
        ));
        for note in notes {
            printer.note(&format!("{note} (plan and apply will need it)"));
        }
    }
    Ok(Exit::Success)
}
