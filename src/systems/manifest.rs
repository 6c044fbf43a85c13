//! The systems' part of the desired state: every system's section of every
//! manifest file, lowered and checked together (some checks cross two
//! systems). src/platform/ reads the files and adds what sits above the
//! systems (the sync); each system owns the raw types, model and checks of
//! its own section.

use crate::manifest::document::Document;
use crate::manifest::model::{ManagedFile, ManifestSource};
use crate::manifest::secret::{Redactor, SecretResolver};
use crate::manifest::vars::Vars;
use crate::manifest::ManifestError;

use super::docker::manifest::Docker;
use super::geoserver::manifest::GeoServer;
use super::ldap::manifest::Ldap;
use super::mviewer::manifest::{ContainerDir, Mviewer};
use super::postgres::manifest::Postgres;
use super::{docker, files, geoserver, ldap, mviewer, postgres};

/// The top-level keys of a manifest file that belong to the systems.
pub const SECTIONS: &[&str] = &[
    "vars",
    "file",
    "mviewer",
    "postgres",
    "docker",
    "geonetwork",
    "geoserver",
    "ldap",
];

#[derive(Debug)]
pub struct Manifest {
    pub sources: Vec<ManifestSource>,
    pub vars: Vars,
    pub mviewer: Mviewer,
    pub files: Vec<ManagedFile>,
    pub postgres: Option<Postgres>,
    pub docker: Option<Docker>,
    pub geonetwork: Option<super::geonetwork::manifest::GeoNetwork>,
    pub geoserver: Option<GeoServer>,
    pub ldap: Option<Ldap>,
    /// Knows every secret resolved for this manifest, to keep them out of output.
    pub redactor: Redactor,
    /// Under `validate`, the secrets that could not be read, as notes.
    pub unresolved_secrets: Vec<String>,
}

impl Manifest {
    /// How many resources the manifests declare, as `validate` reports it.
    pub fn resource_count(&self) -> usize {
        let postgres = self.postgres.as_ref().map_or(0, |p| {
            let inside: usize = p
                .databases
                .iter()
                .map(|d| d.extensions.len() + d.schemas.len())
                .sum();
            p.roles.len() + p.databases.len() + inside + p.grants.len() + usize::from(p.hba.is_some())
        });
        let docker = self.docker.as_ref().map_or(0, |d| {
            d.networks.len() + d.volumes.len() + d.containers.len() + d.files.len()
        });
        let geonetwork = self.geonetwork.as_ref().map_or(0, |g| g.groups.len());
        let geoserver = self.geoserver.as_ref().map_or(0, |g| {
            g.workspaces.len() + g.datastores.len() + g.styles.len() + g.acl.len()
        });
        let ldap = self
            .ldap
            .as_ref()
            .map_or(0, |l| l.roles.len() + l.orgs.len() + l.users.len());
        self.mviewer.apps.len() + self.files.len() + postgres + docker + geonetwork + geoserver + ldap
    }
}

/// Lowers every system's section of the documents read, adding each
/// problem to `errors`; the result is meaningful only when none was added.
pub fn lower(
    documents: &[Document],
    vars: Vars,
    resolver: &SecretResolver,
    errors: &mut Vec<ManifestError>,
) -> Manifest {
    let files = files::manifest::lower(documents, &vars, resolver, errors);
    let mut mviewer = mviewer::manifest::lower(documents, &vars, errors);
    let postgres = postgres::manifest::lower(documents, &vars, resolver, errors);
    let docker = docker::manifest::lower(documents, &vars, resolver, errors);
    let geonetwork = super::geonetwork::manifest::lower(documents, &vars, resolver, errors);
    let geoserver = geoserver::manifest::lower(documents, &vars, resolver, errors);
    let ldap = ldap::manifest::lower(documents, &vars, resolver, errors);
    if let Some(target) = mviewer.in_container.as_mut() {
        resolve_container_dir(target, docker.as_ref(), errors);
    }
    Manifest {
        sources: documents.iter().map(|d| ManifestSource::of(&d.source)).collect(),
        vars,
        mviewer,
        files,
        postgres,
        docker,
        geonetwork,
        geoserver,
        ldap,
        redactor: resolver.redactor().clone(),
        unresolved_secrets: resolver.notes(),
    }
}

/// Points a folder declared in a volume at the container that mounts it,
/// and checks that the container is one of the project's.
fn resolve_container_dir(
    target: &mut ContainerDir,
    docker: Option<&Docker>,
    errors: &mut Vec<ManifestError>,
) {
    let invalid = |message: String| ManifestError::Invalid {
        at: target.at.clone(),
        subject: "[mviewer]".into(),
        message,
    };
    let Some(docker) = docker else {
        errors.push(invalid("a container or volume target needs [docker]".into()));
        return;
    };
    match &target.volume {
        Some(volume) => {
            match docker.container_mounting(volume) {
                Some((container, mount)) => {
                    target.container = container;
                    target.dir = format!("{}/{}", mount.trim_end_matches('/'), target.dir.trim_start_matches('/'));
                }
                None => errors.push(invalid(format!(
                    "no [[docker.container]] mounts volume `{volume}` read-write: geosync writes into a volume through one"
                ))),
            }
        }
        None => {
            if !docker.containers.iter().any(|c| c.name == target.container) {
                errors.push(invalid(format!(
                    "target_container `{}`: no such [[docker.container]]",
                    target.container
                )));
            }
            if !target.dir.starts_with('/') {
                errors.push(invalid(
                    "target_dir inside a container is an absolute path".into(),
                ));
            }
        }
    }
}
