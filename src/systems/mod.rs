//! One module per external system. Each observes its live state, plans the
//! changes that converge it (a pure diff) and applies one change at a time.
//! The engine drives them all through [`System`] and knows none of them.

pub mod docker;
pub mod files;
pub mod geonetwork;
pub mod geoserver;
pub mod ldap;
pub mod manifest;
pub mod mviewer;
pub mod postgres;

pub use manifest::Manifest;

use futures::future::BoxFuture;

use crate::manifest::ManifestErrors;
pub use crate::plan::PlanOptions;
use crate::plan::{Address, Change, Warning};

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A lock a system holds on the platform for a whole apply; released when
/// dropped, or by the system itself when the process dies.
pub type PlatformLock = Box<dyn std::any::Any + Send + Sync>;

/// A system's platform lock is held by another apply (who, in the message).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LockHeld(pub String);

pub struct SystemPlan {
    /// Every managed resource, unchanged ones included as no-ops.
    pub changes: Vec<Change>,
    pub warnings: Vec<Warning>,
    /// Problems that stop the plan, each about some resources: it stops the
    /// plan only when one of them is in the run's scope (a missing image of
    /// a container `--exclude`d from the run does not).
    pub blockers: Vec<Blocker>,
}

#[derive(Debug, Clone)]
pub struct Blocker {
    pub addresses: Vec<Address>,
    pub message: String,
}

pub trait System: Send + Sync {
    /// The system's name: the first part of its kinds (`mviewer`).
    fn name(&self) -> &'static str;

    /// How many of its changes may run at once without overloading it.
    fn concurrency(&self) -> usize;

    /// Reads the live state (read-only) and diffs it against the manifest.
    fn plan(&self, options: PlanOptions) -> BoxFuture<'_, Result<SystemPlan, BoxError>>;

    /// Carries out one change of a plan this system made.
    fn apply<'a>(&'a self, change: &'a Change) -> BoxFuture<'a, Result<(), BoxError>>;

    /// Whether its changes run after every other change of the run (the
    /// data sync publishes into what the others converge).
    fn runs_last(&self) -> bool {
        false
    }

    /// Told once when the run is interrupted (Ctrl-C, SIGTERM): a change
    /// that does many things in one (the data sync's pass over a share)
    /// finishes the thing in hand and leaves the rest, as the executor
    /// does with changes.
    fn interrupt(&self) {}

    /// Takes the system's platform-wide apply lock, if it has one, so that
    /// applies from two machines never run at once; `break_held` ends the
    /// holder's claim first. `holder` says who is applying, for the
    /// message another apply gets. A lock still held after `wait` is a
    /// [`LockHeld`] error.
    fn lock_platform<'a>(
        &'a self,
        holder: &'a str,
        break_held: bool,
        wait: std::time::Duration,
    ) -> BoxFuture<'a, Result<Option<PlatformLock>, BoxError>> {
        let _ = (holder, break_held, wait);
        Box::pin(async { Ok(None) })
    }
}

/// Every resource kind geosync knows, for checking `--only`/`--exclude`.
pub fn kinds() -> Vec<&'static str> {
    let mut kinds = vec![files::manifest::KIND, mviewer::manifest::MviewerApp::KIND];
    kinds.extend_from_slice(postgres::KINDS);
    kinds.extend_from_slice(docker::KINDS);
    kinds.extend_from_slice(geonetwork::KINDS);
    kinds.extend_from_slice(geoserver::KINDS);
    kinds.extend_from_slice(ldap::KINDS);
    kinds
}

/// The systems a manifest involves. Building them renders what can be
/// rendered offline (templates), so `validate` catches those errors too.
pub fn from_manifest(manifest: &Manifest) -> Result<Vec<Box<dyn System>>, ManifestErrors> {
    let mut systems: Vec<Box<dyn System>> = Vec::new();
    let mut errors = Vec::new();
    match files::Files::from_manifest(manifest) {
        Ok(Some(files)) => systems.push(Box::new(files)),
        Ok(None) => {}
        Err(ManifestErrors(e)) => errors.extend(e),
    }
    match mviewer::Mviewer::from_manifest(manifest) {
        Ok(Some(mviewer)) => systems.push(Box::new(mviewer)),
        Ok(None) => {}
        Err(ManifestErrors(e)) => errors.extend(e),
    }
    match docker::DockerSystem::from_manifest(manifest) {
        Ok(Some(docker)) => systems.push(Box::new(docker)),
        Ok(None) => {}
        Err(ManifestErrors(e)) => errors.extend(e),
    }
    if let Some(postgres) = postgres::Postgres::from_manifest(manifest) {
        systems.push(Box::new(postgres));
    }
    if let Some(desired) = manifest.geonetwork.clone() {
        match geonetwork::GeoNetworkSystem::new(desired) {
            Ok(system) => systems.push(Box::new(system)),
            Err(e) => errors.push(crate::manifest::ManifestError::Invalid {
                at: crate::manifest::source::Location::file_only(std::path::Path::new("[geonetwork]")),
                subject: "[geonetwork]".into(),
                message: e.to_string(),
            }),
        }
    }
    match geoserver::GeoServer::from_manifest(manifest) {
        Ok(Some(geoserver)) => systems.push(Box::new(geoserver)),
        Ok(None) => {}
        Err(e) => errors.push(crate::manifest::ManifestError::Invalid {
            at: crate::manifest::source::Location::file_only(std::path::Path::new("[geoserver]")),
            subject: "[geoserver]".into(),
            message: e.to_string(),
        }),
    }
    if let Some(ldap) = ldap::LdapSystem::from_manifest(manifest) {
        systems.push(Box::new(ldap));
    }
    if !errors.is_empty() {
        return Err(ManifestErrors(errors));
    }
    Ok(systems)
}
