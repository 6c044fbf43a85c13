//! The secrets the sync itself uses. `geosync sync` and `status` read the
//! manifests without requiring every secret they reference: the geosync
//! container holds only what the sync needs (its role's password, the
//! shares', GeoServer's and the catalogue's), not the superuser's password
//! of `[postgres]` nor other roles'. What the sync does use must be there.

use crate::manifest::secret::Secret;
use crate::systems::geoserver::manifest::Auth;
use crate::systems::postgres::manifest::PgConnection;

use super::{CatalogueSpec, SourceSpec, Sync};

/// The unavailable secrets among those the sync uses, each said as the
/// manifest load noted it (file, line, reference, reason), or by `what`
/// when no note names it. `publishing`: the pass also reads the shares and
/// publishes; `geosync status` only reads the ledgers.
pub fn unavailable(
    sync: &Sync,
    connection: &PgConnection,
    systems: &crate::systems::Manifest,
    publishing: bool,
) -> Vec<String> {
    let mut needed: Vec<(String, Option<&Secret>)> = vec![(
        match &sync.settings.postgres_role {
            Some(role) => format!("postgres.role:{}: password", role.name),
            None => "[postgres]: password".into(),
        },
        connection.password.as_ref(),
    )];
    if publishing {
        needed.extend(publishing_secrets(sync, systems));
    }
    needed
        .into_iter()
        .filter(|(_, secret)| secret.is_some_and(Secret::is_placeholder))
        .map(|(what, _)| {
            systems
                .unresolved_secrets
                .iter()
                .find(|note| note.contains(&what))
                .cloned()
                .unwrap_or_else(|| format!("{what}: the secret is not available"))
        })
        .collect()
}

fn publishing_secrets<'a>(
    sync: &'a Sync,
    systems: &'a crate::systems::Manifest,
) -> Vec<(String, Option<&'a Secret>)> {
    let mut needed = Vec::new();
    for target in &sync.targets {
        if let SourceSpec::WebDav { password, .. } = &target.source {
            needed.push((
                format!("{}: source.password", target.address()),
                password.as_ref(),
            ));
        }
    }
    if let CatalogueSpec::Csw { password, .. } = &sync.settings.catalogue {
        needed.push(("[sync] csw.password".into(), password.as_ref()));
    }
    if let Some(Auth::Basic { password, .. }) = systems.geoserver.as_ref().map(|g| &g.connection.auth) {
        needed.push(("[geoserver]: password".into(), Some(password)));
    }
    if let Some(geonetwork) = &systems.geonetwork {
        needed.push((
            "[geonetwork]: password".into(),
            geonetwork.connection.password.as_ref(),
        ));
    }
    needed
}
