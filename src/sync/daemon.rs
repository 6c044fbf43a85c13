//! `geosync sync` without `--once`: the sync as a service. Every
//! `interval`, a pass over each target (targets side by side, at most
//! `max_in_flight` datasets at once across them, GeoServer's REST calls one
//! at a time through the publisher's lock); every `full_rescan_every`
//! passes the whole share is listed again, whatever the folder etags say.
//! Failing datasets wait out their backoff (the ledger keeps it). SIGTERM or
//! SIGINT finishes the dataset in hand and returns; a second signal exits.

use std::path::Path;

use futures::future::join_all;

use super::manifest::{Settings, SyncTarget};
use super::pass::{self, PassOptions, PassReport, Status};
use super::publishing::PublishContext;
use super::shutdown;
use crate::error_chain::error_chain as chain;
use crate::systems::postgres::manifest::PgConnection;

pub struct Service<'a> {
    pub targets: Vec<&'a SyncTarget>,
    pub connection: &'a PgConnection,
    pub state_dir: &'a Path,
    pub settings: &'a Settings,
    pub options: PassOptions,
    pub publishing: Option<&'a PublishContext>,
    /// Removes secrets from what is logged.
    pub redact: &'a (dyn Fn(&str) -> String + Sync),
}

impl Service<'_> {
    /// Runs passes until a stop is requested.
    pub async fn run(&self) {
        shutdown::limit_in_flight(self.settings.max_in_flight);
        let mut round: u64 = 0;
        loop {
            let full_rescan = self.options.full_rescan
                || (round > 0 && round % u64::from(self.settings.full_rescan_every) == 0);
            join_all(self.targets.iter().map(|t| self.pass(t, full_rescan))).await;
            if shutdown::requested() {
                break;
            }
            round += 1;
            tokio::select! {
                _ = tokio::time::sleep(self.settings.interval) => {}
                _ = shutdown::stopping() => break,
            }
        }
        tracing::info!(target: "geosync::sync", "stopped");
    }

    async fn pass(&self, target: &SyncTarget, full_rescan: bool) {
        let options = PassOptions {
            full_rescan,
            ..self.options
        };
        let quiet = |_: &str| {};
        let started = std::time::Instant::now();
        let result = pass::run(
            target,
            self.connection,
            self.state_dir,
            options,
            self.publishing,
            &quiet,
        )
        .await;
        match result {
            Ok(result) => {
                if let Some(report) = &result.report {
                    self.log(report, started.elapsed());
                }
            }
            Err(error) => tracing::warn!(
                target: "geosync::sync",
                sync_target = %target.name,
                "pass stopped: {}",
                (self.redact)(&chain(&error))
            ),
        }
    }

    fn log(&self, report: &PassReport, took: std::time::Duration) {
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        for outcome in &report.datasets {
            let load = if outcome.published.is_empty() {
                "load"
            } else {
                "load+publish"
            };
            let (label, step) = match &outcome.status {
                Status::New { .. } => ("new", load),
                Status::Changed { .. } => ("changed", load),
                Status::Republished { .. } => ("republished", "publish"),
                Status::Removed => ("removed", "unpublish"),
                Status::Failed { .. } => ("failed", "reconcile"),
                Status::Rejected { step, .. } => ("rejected", *step),
                Status::Unchanged => ("unchanged", ""),
                Status::Interrupted => ("interrupted", ""),
            };
            *counts.entry(label).or_default() += 1;
            if step.is_empty() {
                continue;
            }
            let detail = match &outcome.status {
                Status::Failed { error } => error.clone(),
                Status::Rejected { reason, .. } => reason.clone(),
                _ => outcome
                    .published
                    .iter()
                    .map(|p| format!("{} record {}", p.layer, p.record_uuid.as_deref().unwrap_or("-")))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let line = format!(
                "sync.target:{} dataset={} step={step}: {label} {}",
                report.target,
                crate::escape::escape(&outcome.path),
                crate::escape::escape(&detail)
            );
            if label == "failed" {
                tracing::warn!(target: "geosync::sync", "{}", (self.redact)(&line));
            } else {
                tracing::info!(target: "geosync::sync", "{}", (self.redact)(&line));
            }
        }
        let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        tracing::info!(
            target: "geosync::sync",
            "sync.target:{}: pass done in {:.1}s: {}",
            report.target,
            took.as_secs_f64(),
            summary.join(", ")
        );
    }
}
