//! `geosync status`: per target and dataset, what the sync published,
//! what is pending, rejected or failed. Reads the ledgers; changes nothing.

use std::fmt::Write;

use futures::future::join_all;

use super::{manifests_or_default, run_spec, Exit};
use crate::cli::StatusArgs;
use crate::engine;
use crate::escape::escape;
use crate::manifest::secret::Redactor;
use crate::output::Printer;
use crate::sync::status::{self, State, TargetStatus};

/// Bumped when the JSON's meaning changes.
const FORMAT: u32 = 1;

pub async fn run(args: &StatusArgs, printer: &Printer, redactor: &Redactor) -> anyhow::Result<Exit> {
    let mut spec = run_spec(&args.manifest, None);
    spec.secrets = crate::manifest::secret::SecretMode::Placeholder;
    let loaded = engine::load(&spec, redactor)?;
    let manifest = &loaded.manifest;
    let (sync, connection) = super::sync::sync_and_postgres(manifest, false)?;
    let targets = super::sync::selected(&sync.targets, &args.target)?;
    let state_dir = args
        .state_dir
        .clone()
        .unwrap_or_else(|| engine::default_state_dir(&manifests_or_default(&args.manifest)));
    let publishes = |t: &crate::sync::manifest::SyncTarget| {
        manifest.systems.geoserver.is_some() && t.workspace.is_some() && t.datastore.is_some()
    };
    let statuses: Vec<TargetStatus> = join_all(
        targets
            .iter()
            .map(|t| status::of_target(t, &connection, &state_dir, publishes(t))),
    )
    .await;
    let unreadable = statuses.iter().any(|s| s.error.is_some());
    if args.manifest.json {
        let document = serde_json::json!({ "format_version": FORMAT, "targets": statuses });
        printer.result(&format!("{}\n", serde_json::to_string_pretty(&document)?));
    } else {
        printer.result(&statuses.iter().map(human).collect::<String>());
    }
    Ok(if unreadable { Exit::Failure } else { Exit::Success })
}

fn human(status: &TargetStatus) -> String {
    let mut out = format!("sync.target:{}", escape(&status.target));
    if let Some(ws) = &status.workspace {
        let _ = write!(out, " (workspace {})", escape(ws));
    }
    out.push('\n');
    if let Some(error) = &status.error {
        let _ = writeln!(out, "  cannot read its ledger: {}", escape(error));
        return out;
    }
    let mut counts = [0usize; 5];
    for d in &status.datasets {
        let mut name = escape(&d.path).into_owned();
        if !d.layer_in_file.is_empty() {
            name = format!("{name} (layer {})", escape(&d.layer_in_file));
        }
        let line = match &d.state {
            State::Published {
                layer,
                record_uuid,
                published_at,
            } => {
                counts[0] += 1;
                format!(
                    "  published  {name} -> {layer}, record {}, {}",
                    record_uuid.as_deref().unwrap_or("none"),
                    published_at.map_or("?".into(), |t| t.to_rfc3339())
                )
            }
            State::Loaded { loaded_at } => {
                counts[1] += 1;
                format!(
                    "  loaded     {name} -> {} ({})",
                    d.table.as_deref().unwrap_or("?"),
                    loaded_at.map_or("?".into(), |t| t.to_rfc3339())
                )
            }
            State::Pending => {
                counts[2] += 1;
                format!("  pending    {name}: loaded, not published yet")
            }
            State::Rejected { reason } => {
                counts[3] += 1;
                format!("  rejected   {name}: {}", escape(reason))
            }
            State::Failed {
                step,
                error,
                attempts,
                next_retry_at,
            } => {
                counts[4] += 1;
                format!(
                    "  failed     {name}: {step}: {} ({attempts} attempt(s), next try {})",
                    escape(error),
                    next_retry_at.map_or("on the next pass".into(), |t| t.to_rfc3339())
                )
            }
        };
        let _ = writeln!(out, "{line}");
    }
    let [published, loaded, pending, rejected, failed] = counts;
    let _ = writeln!(
        out,
        "  {published} published, {loaded} loaded, {pending} pending, {rejected} rejected, {failed} failed."
    );
    out
}
