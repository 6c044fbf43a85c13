//! `geosync import-compose FILE`: print (or write) the manifest equivalent
//! of a Docker Compose file.

use anyhow::Context;

use super::Exit;
use crate::cli::ImportComposeArgs;
use crate::compose;
use crate::output::Printer;

pub fn run(args: &ImportComposeArgs, printer: &Printer) -> anyhow::Result<Exit> {
    let project = match &args.project {
        Some(project) => project.clone(),
        None => default_project(&args.file),
    };
    let imported = compose::import(&args.file, &project)?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &imported.manifest)
                .with_context(|| format!("cannot write {}", path.display()))?;
            printer.note(&format!("Wrote {}.", path.display()));
        }
        None => printer.result(&imported.manifest),
    }
    for note in &imported.notes {
        printer.note(&format!("note: {note}"));
    }
    if !imported.secrets.is_empty() {
        printer.note(&format!(
            "Secret values were replaced by references; set these variables before `geosync apply`: {}",
            imported.secrets.join(", ")
        ));
    }
    Ok(Exit::Success)
}

/// Compose's own default: the name of the folder holding the file.
fn default_project(file: &std::path::Path) -> String {
    let folder = std::fs::canonicalize(file)
        .ok()
        .and_then(|p| {
            p.parent()
                .and_then(|d| d.file_name())
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "geosync".into());
    let cleaned: String = folder
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "geosync".into()
    } else {
        cleaned
    }
}
