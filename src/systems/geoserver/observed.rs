//! What GeoServer holds now, for the objects the manifest names: read-only,
//! with list calls where GeoServer offers them and one GET per object only
//! where the list does not carry what is compared (a workspace's isolation,
//! a store's parameters, a style's document).

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use super::client::{list_names, styles_path, ws_path, Client};
use super::manifest::{GeoServer, StyleFormat};
use super::names::segment;
use super::GeoServerError;

/// A style: its workspace (None: global) and name.
pub type StyleKey = (Option<String>, String);

/// Requests in flight at once while observing.
const PARALLEL_READS: usize = 8;

#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Every workspace, with its isolation when the manifest names it.
    pub workspaces: BTreeMap<String, ObservedWorkspace>,
    pub default_workspace: Option<String>,
    /// (workspace, store) -> store, for the stores the manifest names.
    pub datastores: BTreeMap<(String, String), ObservedDatastore>,
    /// (workspace, style) -> its document, for the styles the manifest
    /// names that exist; None when the style has no document (an
    /// interrupted create: the catalog entry is made before the upload).
    pub styles: BTreeMap<StyleKey, Option<String>>,
    /// Every layer rule: `ws.layer.access` -> roles.
    pub acl: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedWorkspace {
    pub isolated: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedDatastore {
    pub description: Option<String>,
    pub enabled: bool,
    /// Every connection parameter as GeoServer returns it (the password
    /// encrypted).
    pub params: BTreeMap<String, String>,
}

pub async fn observe(client: &Client, desired: &GeoServer) -> Result<Observed, GeoServerError> {
    let mut observed = Observed::default();
    let list = client.get_json("/workspaces.json").await?.unwrap_or_default();
    let existing: BTreeSet<String> = list_names(&list, "workspaces", "workspace").into_iter().collect();
    for name in &existing {
        observed
            .workspaces
            .insert(name.clone(), ObservedWorkspace::default());
    }
    let named: Vec<String> = desired
        .workspaces
        .iter()
        .map(|w| w.name.clone())
        .filter(|n| existing.contains(n))
        .collect();
    let isolation: Vec<(String, bool)> = futures::stream::iter(named)
        .map(|name| {
            let client = client.clone();
            async move {
                let doc = client.get_json(&format!("{}.json", ws_path(&name))).await?;
                let isolated = doc
                    .and_then(|d| d["workspace"]["isolated"].as_bool())
                    .unwrap_or(false);
                Ok::<_, GeoServerError>((name, isolated))
            }
        })
        .buffer_unordered(PARALLEL_READS)
        .try_collect()
        .await?;
    for (name, isolated) in isolation {
        observed.workspaces.insert(name, ObservedWorkspace { isolated });
    }
    if desired.workspaces.iter().any(|w| w.default && w.present) {
        observed.default_workspace = client
            .get_json("/workspaces/default.json")
            .await?
            .and_then(|d| d["workspace"]["name"].as_str().map(str::to_string));
    }
    observed.datastores = observe_datastores(client, desired, &existing).await?;
    observed.styles = observe_styles(client, desired, &existing).await?;
    if !desired.acl.is_empty() {
        observed.acl = observe_acl(client).await?;
    }
    Ok(observed)
}

async fn observe_datastores(
    client: &Client,
    desired: &GeoServer,
    workspaces: &BTreeSet<String>,
) -> Result<BTreeMap<(String, String), ObservedDatastore>, GeoServerError> {
    let wanted: Vec<(String, String)> = desired
        .datastores
        .iter()
        .filter(|d| workspaces.contains(&d.workspace))
        .map(|d| (d.workspace.clone(), d.name.clone()))
        .collect();
    let found: Vec<Option<((String, String), ObservedDatastore)>> = futures::stream::iter(wanted)
        .map(|(ws, name)| {
            let client = client.clone();
            async move {
                let path = format!("{}/datastores/{}.json", ws_path(&ws), segment(&name));
                Ok::<_, GeoServerError>(
                    client
                        .get_json(&path)
                        .await?
                        .map(|doc| ((ws, name), datastore(&doc))),
                )
            }
        })
        .buffer_unordered(PARALLEL_READS)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}

/// A data store document: `{"dataStore":{"name","description","enabled",
/// "connectionParameters":{"entry":[{"@key":…,"$":…}]}}}`.
pub fn datastore(doc: &Value) -> ObservedDatastore {
    let store = &doc["dataStore"];
    let entries = &store["connectionParameters"]["entry"];
    let items: Vec<&Value> = match entries {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![entries],
        _ => Vec::new(),
    };
    let params = items
        .iter()
        .filter_map(|e| {
            let key = e["@key"].as_str()?;
            let value = match &e["$"] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            Some((key.to_string(), value))
        })
        .collect();
    ObservedDatastore {
        description: store["description"].as_str().map(str::to_string),
        enabled: store["enabled"].as_bool().unwrap_or(true),
        params,
    }
}

/// One list per workspace holding declared styles, then the document of
/// each declared style that exists.
async fn observe_styles(
    client: &Client,
    desired: &GeoServer,
    workspaces: &BTreeSet<String>,
) -> Result<BTreeMap<StyleKey, Option<String>>, GeoServerError> {
    let scopes: BTreeSet<Option<String>> = desired
        .styles
        .iter()
        .map(|s| s.workspace.clone())
        .filter(|ws| ws.as_ref().is_none_or(|w| workspaces.contains(w)))
        .collect();
    let mut existing = BTreeSet::new();
    for scope in scopes {
        let list = client
            .get_json(&format!("{}.json", styles_path(scope.as_deref())))
            .await?
            .unwrap_or_default();
        for name in list_names(&list, "styles", "style") {
            existing.insert((scope.clone(), name));
        }
    }
    let wanted: Vec<(Option<String>, String, StyleFormat)> = desired
        .styles
        .iter()
        .filter(|s| existing.contains(&(s.workspace.clone(), s.name.clone())))
        .map(|s| (s.workspace.clone(), s.name.clone(), s.format))
        .collect();
    let found: Vec<(StyleKey, Option<String>)> = futures::stream::iter(wanted)
        .map(|(ws, name, accept)| {
            let client = client.clone();
            async move {
                let path = format!("{}/{}", styles_path(ws.as_deref()), segment(&name));
                let body = client.get_text(&path, accept.content_type()).await?;
                Ok::<_, GeoServerError>(((ws, name), body))
            }
        })
        .buffer_unordered(PARALLEL_READS)
        .try_collect()
        .await?;
    Ok(found.into_iter().collect())
}

/// `{"ws.layer.r":"ROLE_A,ROLE_B", …}`.
async fn observe_acl(client: &Client) -> Result<BTreeMap<String, BTreeSet<String>>, GeoServerError> {
    let doc = client
        .get_json("/security/acl/layers.json")
        .await?
        .unwrap_or_default();
    Ok(doc
        .as_object()
        .map(|rules| {
            rules
                .iter()
                .map(|(rule, roles)| (rule.clone(), roles_of(roles.as_str().unwrap_or_default())))
                .collect()
        })
        .unwrap_or_default())
}

/// A rule's comma-separated roles as a set.
pub fn roles_of(text: &str) -> BTreeSet<String> {
    text.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect()
}
