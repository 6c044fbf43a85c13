//! Observe every system at once, assemble their changes into one Plan,
//! and apply a Plan under the lock with a journal.

pub mod executor;
pub mod journal;
pub mod key;
pub mod lock;

use std::path::{Path, PathBuf};

use futures::future::join_all;

use crate::manifest::secret::Redactor;
use crate::manifest::ManifestErrors;
use crate::plan::{Change, Plan, PlannedManifest, Selector, Warning};
use crate::platform::{self, Manifest};
use crate::systems::{BoxError, LockHeld, PlanOptions, PlatformLock, System};
use key::FingerprintKey;

pub use executor::{ApplyReport, Executor, Outcome};

/// What a run is about: the same for `validate`, `plan` and `apply`, and
/// recorded in a saved plan so that applying it re-plans identically.
#[derive(Debug, Clone, Default)]
pub struct RunSpec {
    pub manifests: Vec<PathBuf>,
    pub var_overrides: Vec<String>,
    pub only: Vec<Selector>,
    pub exclude: Vec<Selector>,
    pub options: PlanOptions,
    /// Where the run keeps its state [default: beside the first manifest].
    pub state_dir: Option<PathBuf>,
    /// `validate` needs no secret; `plan` and `apply` need them all.
    pub secrets: crate::manifest::secret::SecretMode,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Manifest(#[from] ManifestErrors),
    #[error("--only/--exclude {selector}: no resource kind `{}` (known: {known})", selector.kind())]
    UnknownSelector { selector: Selector, known: String },
    #[error("cannot read the platform's state:\n{}", .0.iter().map(|(s, e)| format!("  {s}: {}", crate::escape::escape(e))).collect::<Vec<_>>().join("\n"))]
    Observe(Vec<(&'static str, String)>),
    #[error("{0}: {1}")]
    PlatformLock(&'static str, String),
}

/// A validated manifest and the systems it involves.
pub struct Loaded {
    pub manifest: Manifest,
    pub systems: Vec<Box<dyn System>>,
}

pub fn load(spec: &RunSpec, redactor: &Redactor) -> Result<Loaded, EngineError> {
    for selector in spec.only.iter().chain(&spec.exclude) {
        let kinds = platform::kinds();
        let known = kinds.iter().any(|kind| {
            *kind == selector.kind()
                || kind
                    .strip_prefix(selector.kind())
                    .is_some_and(|rest| rest.starts_with('.'))
        });
        if !known {
            return Err(EngineError::UnknownSelector {
                selector: selector.clone(),
                known: kinds.join(", "),
            });
        }
    }
    let manifest = platform::load(&spec.manifests, &spec.var_overrides, redactor, spec.secrets)?;
    let sync = sync_in_scope(spec).then(|| platform::sync_step::Scope {
        state_dir: spec
            .state_dir
            .clone()
            .unwrap_or_else(|| default_state_dir(&spec.manifests)),
        only: spec.only.clone(),
        exclude: spec.exclude.clone(),
    });
    let mut systems = platform::systems(&manifest, sync)?;
    systems.retain(|system| system_in_scope(spec, system.name()));
    Ok(Loaded { manifest, systems })
}

/// Whether the run reads a system at all: not when `--exclude` names the
/// whole system (`--exclude postgres`), not when `--only` names only other
/// systems' kinds. Left out, it is neither observed nor locked: on a host
/// being rebuilt, `apply --only docker` must not need the database server
/// that the containers it creates will run.
fn system_in_scope(spec: &RunSpec, system: &str) -> bool {
    let of_system = |s: &Selector| {
        s.kind() == system
            || s.kind()
                .strip_prefix(system)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    let excluded = spec
        .exclude
        .iter()
        .any(|s| s.kind() == system && s.name().is_none());
    let only_others = !spec.only.is_empty() && !spec.only.iter().any(of_system);
    !excluded && !only_others
}

/// Whether the run includes the data sync: not when `--exclude` names its
/// kind (`sync`, `sync.dataset`; `apply --no-sync` adds that), not when
/// `--only` names only other kinds. Left out, it is not even planned (no
/// share is read).
fn sync_in_scope(spec: &RunSpec) -> bool {
    let kind = crate::sync::plan::DATASET_KIND;
    let names_kind = |s: &Selector| {
        kind == s.kind()
            || kind
                .strip_prefix(s.kind())
                .is_some_and(|rest| rest.starts_with('.'))
    };
    let excluded = spec.exclude.iter().any(|s| names_kind(s) && s.name().is_none());
    let only_others = !spec.only.is_empty() && !spec.only.iter().any(names_kind);
    !excluded && !only_others
}

/// Takes every system's platform-wide apply lock (PostgreSQL's advisory
/// lock), held until the returned guards drop. A lock held by another
/// apply is waited for up to `timeout`, after telling `waiting` who holds it.
pub async fn lock_platform(
    loaded: &Loaded,
    break_held: bool,
    timeout: std::time::Duration,
    waiting: &dyn Fn(&str),
) -> Result<Vec<PlatformLock>, EngineError> {
    let me = lock::Holder::me();
    let holder = format!("geosync apply pid {} of {} on {}", me.pid, me.user, me.host);
    let mut held = Vec::new();
    for system in &loaded.systems {
        let zero = std::time::Duration::ZERO;
        let mut result = system.lock_platform(&holder, break_held, zero).await;
        if let Err(busy) = &result {
            if let (Some(LockHeld(who)), false) = (busy.downcast_ref::<LockHeld>(), timeout.is_zero()) {
                waiting(&format!(
                    "{who}; waiting up to {}s (--lock-timeout)",
                    timeout.as_secs()
                ));
                result = system.lock_platform(&holder, false, timeout).await;
            }
        }
        match result {
            Ok(Some(lock)) => held.push(lock),
            Ok(None) => {}
            Err(error) => {
                return Err(EngineError::PlatformLock(
                    system.name(),
                    describe(error, &loaded.manifest.systems.redactor),
                ))
            }
        }
    }
    Ok(held)
}

/// Observes every system in parallel and gathers the changes in scope.
/// Every digest in the plan is keyed with `key`: the plan can be saved
/// and shown without letting anyone test a guessed secret against it.
pub async fn plan(loaded: &Loaded, spec: &RunSpec, key: &FingerprintKey) -> Result<Plan, EngineError> {
    let results = join_all(loaded.systems.iter().map(|s| s.plan(spec.options))).await;
    let mut changes: Vec<Change> = Vec::new();
    let mut warnings: Vec<Warning> = Vec::new();
    let mut failures = Vec::new();
    let in_scope = |address: &crate::plan::Address| {
        (spec.only.is_empty() || spec.only.iter().any(|s| s.matches(address)))
            && !spec.exclude.iter().any(|s| s.matches(address))
    };
    for (system, result) in loaded.systems.iter().zip(results) {
        match result {
            Ok(plan) => {
                changes.extend(plan.changes);
                warnings.extend(plan.warnings);
                if let Some(message) = blocking(plan.blockers, &in_scope, &loaded.manifest.systems.redactor) {
                    failures.push((system.name(), message));
                }
            }
            Err(error) => failures.push((system.name(), describe(error, &loaded.manifest.systems.redactor))),
        }
    }
    if !failures.is_empty() {
        return Err(EngineError::Observe(failures));
    }
    let unneeded = unneeded_preflight(&changes, spec, &in_scope);
    changes.retain(|c| in_scope(&c.address) && !unneeded.contains(&c.address));
    run_last(&loaded.systems, &mut changes);
    warnings.retain(|w| w.address.as_ref().is_none_or(in_scope));
    // A change whose dependency is pending but out of scope would run
    // against a platform that is not ready for it: say so.
    let pending: Vec<_> = changes
        .iter()
        .filter(|c| !c.is_noop())
        .map(|c| c.address.clone())
        .collect();
    for change in changes.iter().filter(|c| !c.is_noop()) {
        for dependency in &change.depends_on {
            if !pending.contains(dependency) && !in_scope(dependency) {
                warnings.push(Warning {
                    address: Some(change.address.clone()),
                    message: format!(
                        "depends on {dependency}, which --only/--exclude leaves out of this run"
                    ),
                });
            }
        }
    }
    for change in &mut changes {
        change.fingerprint = key.seal(change.fingerprint.as_bytes());
    }
    let mut plan = Plan::new(
        loaded
            .manifest
            .systems
            .sources
            .iter()
            .map(|s| PlannedManifest {
                path: s.path.clone(),
                sha256: s.sha256.clone(),
            })
            .collect(),
        spec.var_overrides.clone(),
        spec.only.clone(),
        spec.exclude.clone(),
        spec.options,
        changes,
        warnings,
    );
    plan.key_id = key.seal(b"geosync fingerprint key");
    plan.secrets = loaded
        .manifest
        .systems
        .redactor
        .sealed_secrets(|value| key.seal(value));
    Ok(plan)
}

/// The changes of systems that run last depend on every other pending
/// change of the run.
fn run_last(systems: &[Box<dyn System>], changes: &mut [Change]) {
    let last: Vec<&str> = systems
        .iter()
        .filter(|s| s.runs_last())
        .map(|s| s.name())
        .collect();
    let is_last = |c: &Change| {
        last.iter()
            .any(|name| c.address.kind.split('.').next() == Some(*name))
    };
    let before: Vec<crate::plan::Address> = changes
        .iter()
        .filter(|c| !c.is_noop() && !is_last(c))
        .map(|c| c.address.clone())
        .collect();
    for change in changes.iter_mut().filter(|c| !c.is_noop() && is_last(c)) {
        change.depends_on.extend(before.iter().cloned());
    }
}

/// The blockers about resources in the run's scope, as one message: what
/// a run leaves out does not stop it.
fn blocking(
    blockers: Vec<crate::systems::Blocker>,
    in_scope: &dyn Fn(&crate::plan::Address) -> bool,
    redactor: &Redactor,
) -> Option<String> {
    let messages: Vec<String> = blockers
        .into_iter()
        .filter(|b| b.addresses.iter().any(in_scope))
        .map(|b| redactor.redact(&b.message))
        .collect();
    (!messages.is_empty()).then(|| messages.join("\n  "))
}

/// Preflight changes (images) are fetched for the changes that depend on
/// them: when the run leaves all of those out, they are left out too (an
/// excluded container's image that cannot be pulled must not stop the
/// run), unless `--only` names their kind or them.
fn unneeded_preflight(
    changes: &[Change],
    spec: &RunSpec,
    in_scope: &dyn Fn(&crate::plan::Address) -> bool,
) -> Vec<crate::plan::Address> {
    changes
        .iter()
        .filter(|c| c.preflight)
        .filter(|c| {
            let mut users = changes.iter().filter(|d| d.depends_on.contains(&c.address));
            let named = spec
                .only
                .iter()
                .any(|s| s.kind() == c.address.kind && s.matches(&c.address));
            let has_users = users.clone().next().is_some();
            has_users && !named && !users.any(|u| in_scope(&u.address))
        })
        .map(|c| c.address.clone())
        .collect()
}

fn describe(error: BoxError, redactor: &Redactor) -> String {
    redactor.redact(&crate::error_chain::error_chain(error.as_ref()))
}

/// Where the lock and journal live when not told otherwise: beside the
/// first manifest, so every checkout of the manifests has its own.
pub fn default_state_dir(manifests: &[PathBuf]) -> PathBuf {
    let first = manifests
        .first()
        .map(PathBuf::as_path)
        .unwrap_or(Path::new("geosync.toml"));
    match first.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => parent.join(".geosync"),
        None => PathBuf::from(".geosync"),
    }
}
