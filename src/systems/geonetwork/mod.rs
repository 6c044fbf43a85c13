//! GeoNetwork: the groups records are shared with (managed resources of the
//! plan), and the client calls the sync uses to publish ISO 19139 records
//! (insert-or-replace, sharing, read back, delete) through the 4.x REST
//! API, plus a CSW-T client for catalogues that speak only CSW.

// The record calls are the sync's API (issue 12); until it lands, only
// the tests call them.
#[allow(dead_code)]
pub mod client;
#[allow(dead_code)]
pub mod csw;
mod diff;
pub mod manifest;
mod observed;

use futures::future::BoxFuture;

use crate::plan::{Change, PlanOptions};
use crate::systems::{BoxError, System, SystemPlan};
use client::GnClient;
use diff::GroupOp;
use manifest::GeoNetwork as DesiredGeoNetwork;

/// Every kind this system plans, for `--only`/`--exclude`.
pub const KINDS: &[&str] = &[manifest::GROUP_KIND];

#[derive(Debug, thiserror::Error)]
pub enum GeoNetworkError {
    /// GeoNetwork answered, with a status the call does not accept.
    #[error("{method} {url}: HTTP {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Http {
        method: String,
        url: String,
        status: u16,
        body: String,
    },
    #[error("{method} {url}: no answer")]
    Transport {
        method: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{method} {url}: {detail}")]
    Unexpected {
        method: String,
        url: String,
        detail: String,
    },
    #[error("GET {url} set no XSRF-TOKEN cookie: geosync cannot make a write request GeoNetwork accepts")]
    NoXsrfToken { url: String },
    /// A CSW ows:ExceptionReport, whatever the HTTP status (pycsw answers
    /// a refused Insert with 200).
    #[error("{operation} {url}: the catalogue refused it: {code}{}: {text}", locator.as_ref().map(|l| format!(" ({l})")).unwrap_or_default())]
    CswException {
        operation: String,
        url: String,
        code: String,
        locator: Option<String>,
        text: String,
    },
    #[error("the record is not usable XML: {0}")]
    RecordXml(String),
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
    #[error("{0}: the change was not planned by the geonetwork system")]
    ForeignChange(String),
}

/// reqwest is built without a TLS crypto provider: install ring's, once
/// per process (a second install is refused harmlessly).
pub fn install_tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

pub struct GeoNetworkSystem {
    desired: DesiredGeoNetwork,
    client: GnClient,
}

impl GeoNetworkSystem {
    /// The system of a manifest's `[geonetwork]` section.
    pub fn new(desired: DesiredGeoNetwork) -> Result<Self, GeoNetworkError> {
        let client = GnClient::new(&desired.connection)?;
        Ok(GeoNetworkSystem { desired, client })
    }

    async fn apply_group(&self, op: &GroupOp) -> Result<(), GeoNetworkError> {
        match op {
            GroupOp::Create { body } => self.client.create_group(body).await.map(|_| ()),
            GroupOp::Update { id, body } => self.client.update_group(*id, body).await,
            GroupOp::Delete { id } => self.client.delete_group(*id).await.map(|_| ()),
        }
    }
}

impl System for GeoNetworkSystem {
    fn name(&self) -> &'static str {
        "geonetwork"
    }

    /// Two at a time: GeoNetwork re-indexes after group changes.
    fn concurrency(&self) -> usize {
        2
    }

    fn plan(&self, options: PlanOptions) -> BoxFuture<'_, Result<SystemPlan, BoxError>> {
        Box::pin(async move {
            let observed = if self.desired.groups.is_empty() {
                observed::Observed::default()
            } else {
                observed::observe(&self.client).await?
            };
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
            let Some(op) = change.operation.as_ref().and_then(|op| op.downcast::<GroupOp>()) else {
                return Err(GeoNetworkError::ForeignChange(change.address.to_string()).into());
            };
            self.apply_group(op).await?;
            Ok(())
        })
    }
}

// pub(crate): the sync's catalogue tests use its GeoNetwork emulator.
#[cfg(test)]
pub(crate) mod tests;
