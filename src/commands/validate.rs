//! `geosync validate`: the manifests load, every reference resolves and
//! every template renders. No system is contacted.

use serde_json::json;

use super::{load, run_spec, Exit};
use crate::cli::ManifestArgs;
use crate::output::Printer;

pub fn run(
    args: &ManifestArgs,
    printer: &Printer,
    redactor: &crate::manifest::secret::Redactor,
) -> anyhow::Result<Exit> {
    let spec = run_spec(args, None);
    let loaded = load(&spec, args, redactor)?;
    let count = loaded.manifest.resource_count();
    if args.json {
        printer.result(&format!(
            "{}\n",
            json!({ "valid": true, "manifests": spec.manifests, "resources": count })
        ));
    } else {
        printer.result(&format!(
            "The manifest is valid: {} file{}, {count} resource{}.\n",
            spec.manifests.len(),
            if spec.manifests.len() == 1 { "" } else { "s" },
            if count == 1 { "" } else { "s" },
        ));
    }
    Ok(Exit::Success)
}
