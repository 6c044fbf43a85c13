//! `geosync schema`: print the JSON Schema of the manifest language, for
//! editors' TOML language servers and for CI.

use anyhow::Context;

use super::Exit;
use crate::output::Printer;
use crate::platform::schema::manifest_schema;

pub fn run(printer: &Printer) -> anyhow::Result<Exit> {
    let text = serde_json::to_string_pretty(&manifest_schema()).context("cannot serialize the schema")?;
    printer.result(&format!("{text}\n"));
    Ok(Exit::Success)
}
