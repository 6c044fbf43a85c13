//! GeoServer: workspaces, PostGIS data stores, styles and layer access
//! rules, converged through the REST API (GET, then POST or PUT); plus
//! the calls the data sync publishes layers with (`client::publish`).

pub mod client;
mod diff;
pub mod manifest;
pub mod names;
mod observed;
// The data sync (src/sync/, another branch) is its user; until it lands only tests call it.
#[allow(dead_code)]
pub mod publish;
mod verifier;

use futures::future::BoxFuture;
use reqwest::Method;
use serde_json::json;

use crate::plan::{Change, PlanOptions};
use crate::systems::{BoxError, Manifest, System, SystemPlan};
use client::{styles_path, ws_path, Body, Client};
use diff::{DatastoreWrite, GsOp};
use manifest::GeoServer as DesiredGeoServer;
use manifest::{ACL_KIND, DATASTORE_KIND, STYLE_KIND, WORKSPACE_KIND};
use names::segment;

/// Every kind this system plans, for `--only`/`--exclude`.
pub const KINDS: &[&str] = &[WORKSPACE_KIND, DATASTORE_KIND, STYLE_KIND, ACL_KIND];

/// What can go wrong talking to GeoServer. Every variant about a request
/// names its method and URL (which never holds credentials: the manifest
/// refuses them in `url`, and auth travels in headers).
#[derive(Debug, thiserror::Error)]
pub enum GeoServerError {
    #[error("{method} {url}: HTTP {status}: {body}")]
    Status {
        method: String,
        url: String,
        status: u16,
        body: String,
    },
    #[error("{method} {url}: HTTP {status}, already exists ({body}): created by someone else after the plan was made; plan again")]
    AlreadyExists {
        method: String,
        url: String,
        status: u16,
        body: String,
    },
    #[error("{method} {url}: {message}")]
    Transport {
        method: String,
        url: String,
        message: String,
    },
    #[error("{method} {url}: unexpected answer: {message}")]
    Decode {
        method: String,
        url: String,
        message: String,
    },
    #[error("setting up the HTTP client: {0}")]
    Setup(String),
    #[allow(dead_code)] // Raised by publish.rs, which the sync will call.
    #[error("{what} `{name}`: {problem}")]
    InvalidName {
        what: &'static str,
        name: String,
        problem: String,
    },
    #[error("{0}: the change was not planned by the geoserver system")]
    ForeignChange(String),
}

pub struct GeoServer {
    desired: DesiredGeoServer,
    client: Client,
}

impl GeoServer {
    pub fn from_manifest(manifest: &Manifest) -> Result<Option<Self>, GeoServerError> {
        let Some(desired) = manifest.geoserver.clone() else {
            return Ok(None);
        };
        let client = Client::new(&desired.connection)?;
        Ok(Some(GeoServer { desired, client }))
    }

    async fn run(&self, op: &GsOp) -> Result<(), GeoServerError> {
        let c = &self.client;
        match op {
            GsOp::CreateWorkspace { .. } | GsOp::UpdateWorkspace { .. } => self.put_workspace(op).await?,
            GsOp::DeleteWorkspace { name, recurse } => {
                c.delete(&format!("{}?recurse={recurse}", ws_path(name)), &[])
                    .await?;
            }
            GsOp::PutDatastore(write) => self.put_datastore(write).await?,
            GsOp::DeleteDatastore {
                workspace,
                name,
                recurse,
            } => {
                let path = format!(
                    "{}/datastores/{}?recurse={recurse}",
                    ws_path(workspace),
                    segment(name)
                );
                c.delete(&path, &[]).await?;
            }
            GsOp::PutStyle { .. } => self.put_style(op).await?,
            GsOp::DeleteStyle { workspace, name } => {
                let path = format!(
                    "{}/{}?purge=true",
                    styles_path(workspace.as_deref()),
                    segment(name)
                );
                c.delete(&path, &[]).await?;
            }
            GsOp::PutAcl { rule, roles, create } => {
                let body = Body::json(&json!({ rule.as_str(): roles }));
                let method = if *create { Method::POST } else { Method::PUT };
                let path = "/security/acl/layers";
                c.expect(method, path, "text/plain", Some(&body), &[200, 201])
                    .await?;
            }
            GsOp::DeleteAcl { rule } => {
                // The manual documents 409 for a rule that is not there.
                c.delete(&format!("/security/acl/layers/{}", segment(rule)), &[409])
                    .await?;
            }
        }
        Ok(())
    }

    async fn put_workspace(&self, op: &GsOp) -> Result<(), GeoServerError> {
        let c = &self.client;
        match op {
            GsOp::CreateWorkspace {
                name,
                isolated,
                default,
            } => {
                let body = Body::json(&json!({"workspace": {"name": name, "isolated": isolated}}));
                let path = format!("/workspaces?default={default}");
                c.expect(Method::POST, &path, "text/plain", Some(&body), &[201])
                    .await?;
            }
            GsOp::UpdateWorkspace {
                name,
                isolated,
                make_default,
            } => {
                if let Some(isolated) = isolated {
                    let body = Body::json(&json!({"workspace": {"name": name, "isolated": isolated}}));
                    c.expect(Method::PUT, &ws_path(name), "text/plain", Some(&body), &[200])
                        .await?;
                }
                if *make_default {
                    // PUT /workspaces/default names the default workspace.
                    let body = Body::json(&json!({"workspace": {"name": name}}));
                    let path = "/workspaces/default";
                    c.expect(Method::PUT, path, "text/plain", Some(&body), &[200])
                        .await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A new style's catalog entry first, then its document (`raw=true`:
    /// GeoServer keeps it byte for byte, so the next plan compares it with
    /// the file exactly).
    async fn put_style(&self, op: &GsOp) -> Result<(), GeoServerError> {
        let GsOp::PutStyle {
            workspace,
            name,
            create,
            content,
            format,
        } = op
        else {
            return Ok(());
        };
        let list = styles_path(workspace.as_deref());
        if *create {
            let info = json!({"style": {
                "name": name,
                "format": "sld",
                "languageVersion": {"version": format.version()},
                "filename": format!("{name}.sld"),
            }});
            let body = Body::json(&info);
            self.client
                .expect(Method::POST, &list, "text/plain", Some(&body), &[201])
                .await?;
        }
        let body = Body {
            content_type: format.content_type(),
            bytes: content.as_bytes().to_vec(),
        };
        let path = format!("{list}/{}?raw=true", segment(name));
        self.client
            .expect(Method::PUT, &path, "text/plain", Some(&body), &[200, 201])
            .await?;
        Ok(())
    }

    async fn put_datastore(&self, write: &DatastoreWrite) -> Result<(), GeoServerError> {
        let mut params = write.params.clone();
        if let Some(password) = &write.password {
            params.insert(manifest::lower_keys::PASSWD.into(), password.expose().to_string());
            let verifier = write
                .verifier
                .clone()
                .unwrap_or_else(|| verifier::new_verifier(password.expose()));
            params.insert(verifier::PARAM.into(), verifier);
        }
        let entries: Vec<serde_json::Value> =
            params.iter().map(|(k, v)| json!({"@key": k, "$": v})).collect();
        let mut store = json!({
            "name": write.name,
            "enabled": write.enabled,
            "connectionParameters": {"entry": entries},
        });
        if let Some(description) = &write.description {
            store["description"] = json!(description);
        }
        let body = Body::json(&json!({ "dataStore": store }));
        let stores = format!("{}/datastores", ws_path(&write.workspace));
        if write.create {
            self.client
                .expect(Method::POST, &stores, "text/plain", Some(&body), &[201])
                .await?;
        } else {
            let path = format!("{stores}/{}", segment(&write.name));
            self.client
                .expect(Method::PUT, &path, "text/plain", Some(&body), &[200])
                .await?;
        }
        Ok(())
    }
}

impl System for GeoServer {
    fn name(&self) -> &'static str {
        "geoserver"
    }

    /// One at a time: GeoServer saves its catalog and its access rules
    /// file on every write, and concurrent writes race there.
    fn concurrency(&self) -> usize {
        1
    }

    fn plan(&self, options: PlanOptions) -> BoxFuture<'_, Result<SystemPlan, BoxError>> {
        Box::pin(async move {
            let observed = observed::observe(&self.client, &self.desired).await?;
            let planned = diff::plan(&self.desired, &observed, options);
            Ok(SystemPlan {
                changes: planned.changes,
                warnings: planned.warnings,
                blockers: Vec::new(),
            })
        })
    }

    fn apply<'a>(&'a self, change: &'a Change) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            let op = change
                .operation
                .as_ref()
                .and_then(|op| op.downcast::<GsOp>())
                .ok_or_else(|| GeoServerError::ForeignChange(change.address.to_string()))?;
            self.run(op).await?;
            Ok(())
        })
    }
}
