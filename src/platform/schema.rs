//! The JSON Schema of the whole manifest language, for editors' TOML
//! language servers (completion, checking) and for CI. It is derived from
//! the raw types the loader deserializes each section into (schemars reads
//! the same serde attributes: renames, defaults, refused unknown keys), so
//! it cannot drift from what the loader accepts; tests/it/schema.rs checks
//! that every example manifest validates and that a key the loader refuses
//! is refused by the schema.

use std::collections::BTreeMap;

use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use schemars::{JsonSchema, Schema};

use crate::manifest::raw::RawFile;
use crate::manifest::schema::VarValue;
use crate::systems::docker::manifest::raw::RawDocker;
use crate::systems::geonetwork::manifest::raw::RawGeoNetwork;
use crate::systems::geoserver::manifest::raw::RawGeoServer;
use crate::systems::ldap::manifest::raw::RawLdap;
use crate::systems::mviewer::manifest::raw::RawMviewer;
use crate::systems::postgres::manifest::raw::RawPostgres;

/// A manifest file: one property per section of platform::manifest::SECTIONS.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "geosync manifest")]
#[allow(dead_code)] // Only its schema is used: each section is read on its own.
struct ManifestFile {
    /// Variables the other values use as `${name}` (`$${` for a literal `${`); `--var NAME=VALUE` overrides one.
    vars: Option<BTreeMap<String, VarValue>>,
    /// Configuration files on the host, rendered from a template (which may use secrets) or given inline.
    file: Option<Vec<RawFile>>,
    /// Mviewer application configs (`<app>.xml`), one per `[[mviewer.app]]`.
    mviewer: Option<RawMviewer>,
    /// A PostgreSQL server: roles, databases, schemas, extensions, grants and a managed block of pg_hba.conf.
    postgres: Option<RawPostgres>,
    /// A Docker Engine project: networks, volumes, containers and files inside them.
    docker: Option<RawDocker>,
    /// A GeoNetwork catalogue: where it is, how geosync signs in, and the groups records are shared with.
    geonetwork: Option<RawGeoNetwork>,
    /// A GeoServer: workspaces, PostGIS data stores, styles and layer access rules, through its REST API.
    geoserver: Option<RawGeoServer>,
    /// geOrchestra's OpenLDAP: roles, orgs, users, and users imported from Active Directory.
    ldap: Option<RawLdap>,
    /// The data sync: cloud shares whose datasets are loaded into PostGIS, one `[[sync.target]]` per visibility level.
    sync: Option<crate::sync::manifest::raw::RawSync>,
}

/// The schema as JSON.
pub fn manifest_schema() -> serde_json::Value {
    let generator = SchemaSettings::draft2020_12()
        .with_transform(RecursiveTransform(not_nullable as fn(&mut Schema)))
        .into_generator();
    let mut schema = generator.into_root_schema_for::<ManifestFile>();
    schema.insert(
        "description".into(),
        "The manifest language of geosync (`geosync schema`); see the README's manifest reference.".into(),
    );
    schema.to_value()
}

/// Optional keys are absent, never null: TOML has no null. Takes `null`
/// out of the `type` list or the `anyOf` schemars makes of an `Option`.
fn not_nullable(schema: &mut Schema) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if let Some(serde_json::Value::Array(types)) = object.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            object.insert("type".into(), only);
        }
    }
    let null = serde_json::json!({ "type": "null" });
    if let Some(serde_json::Value::Array(options)) = object.get_mut("anyOf") {
        options.retain(|o| *o != null);
        if options.len() == 1 {
            let only = options.remove(0);
            object.remove("anyOf");
            if let serde_json::Value::Object(fields) = only {
                object.extend(fields);
            }
        }
    }
}
