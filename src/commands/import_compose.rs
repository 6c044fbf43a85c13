//! `geosync import-compose FILE`: print (or write) the manifest equivalent
//! of a Docker Compose file, then say what the user must do about it.

use anyhow::Context;

use super::Exit;
use crate::cli::ImportComposeArgs;
use crate::compose;
use crate::output::Printer;

pub fn run(args: &ImportComposeArgs, printer: &Printer) -> anyhow::Result<Exit> {
    let imported = compose::import(
        &args.file,
        &compose::Options {
            project: args.project.as_deref(),
            profiles: &args.profile,
            output: args.output.as_deref(),
        },
    )?;
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
        let mut text =
            String::from("Values replaced by secret references; set these variables before `geosync apply`:");
        for s in &imported.secrets {
            text.push_str(&format!(
                "\n  {}  (service `{}`, env `{}`: {})",
                s.variable, s.service, s.key, s.origin
            ));
        }
        printer.note(&text);
    }
    if !imported.missing_vars.is_empty() {
        let mut text =
            String::from("Variables without a value; give them with `--var NAME=VALUE` or in [vars]:");
        for (name, reason) in &imported.missing_vars {
            text.push_str(&format!("\n  {name}  ({reason})"));
        }
        printer.note(&text);
    }
    Ok(Exit::Success)
}
