//! One thin file per verb: turn arguments into a run, call the engine,
//! hand the result to the printer, pick the exit code.

pub mod apply;
pub mod import_compose;
pub mod plan;
pub mod schema;
pub mod status;
pub mod sync;
pub mod validate;

use std::path::PathBuf;

use crate::cli::{ManifestArgs, ScopeArgs};
use crate::engine::{self, RunSpec};
use crate::plan::PlanOptions;

/// How a command ended, as the process exit code says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done, or nothing to do.
    Success = 0,
    Failure = 1,
    /// `plan --detailed-exitcode`: changes are pending.
    ChangesPending = 2,
}

fn manifests_or_default(args: &ManifestArgs) -> Vec<PathBuf> {
    if args.manifests.is_empty() {
        vec![PathBuf::from("geosync.toml")]
    } else {
        args.manifests.clone()
    }
}

fn run_spec(manifest: &ManifestArgs, scope: Option<&ScopeArgs>) -> RunSpec {
    RunSpec {
        manifests: manifests_or_default(manifest),
        var_overrides: manifest.vars.clone(),
        only: scope.map(|s| s.only.clone()).unwrap_or_default(),
        exclude: scope.map(|s| s.exclude.clone()).unwrap_or_default(),
        options: PlanOptions {
            prune: scope.is_some_and(|s| s.prune),
            adopt: scope.is_some_and(|s| s.adopt),
            allow_drop: scope.is_some_and(|s| s.allow_drop),
        },
        state_dir: scope.and_then(|s| s.state_dir.clone()),
        secrets: Default::default(),
    }
}

fn state_dir(scope: &ScopeArgs, spec: &RunSpec) -> PathBuf {
    scope
        .state_dir
        .clone()
        .unwrap_or_else(|| engine::default_state_dir(&spec.manifests))
}
