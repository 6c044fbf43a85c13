//! Pure planning for GeoServer: the manifest and what GeoServer holds in,
//! typed REST operations out, in a deterministic order. No I/O.
//!
//! Deletes follow the run's policy: a resource declared `absent` is
//! deleted only with `--allow-drop`, and recursively only when the
//! manifest also says `recurse = true`.

mod resources;

use serde_json::json;

use super::observed::Observed;
use crate::manifest::secret::Secret;
use crate::plan::{
    fingerprint, Action, Address, Change, FieldChange, Operation, PlanOptions, Reason, Warning,
};
use crate::systems::geoserver::manifest::{GeoServer, Params, StyleFormat};

/// One REST operation, with everything applying it needs.
#[derive(Debug, Clone)]
pub enum GsOp {
    CreateWorkspace {
        name: String,
        isolated: bool,
        default: bool,
    },
    UpdateWorkspace {
        name: String,
        isolated: Option<bool>,
        make_default: bool,
    },
    DeleteWorkspace {
        name: String,
        recurse: bool,
    },
    PutDatastore(DatastoreWrite),
    DeleteDatastore {
        workspace: String,
        name: String,
        recurse: bool,
    },
    PutStyle {
        workspace: Option<String>,
        name: String,
        create: bool,
        content: String,
        format: StyleFormat,
    },
    DeleteStyle {
        workspace: Option<String>,
        name: String,
    },
    PutAcl {
        rule: String,
        roles: String,
        create: bool,
    },
    DeleteAcl {
        rule: String,
    },
}

/// A data store created or replaced whole: GeoServer's PUT takes the
/// full connection parameters.
#[derive(Debug, Clone)]
pub struct DatastoreWrite {
    pub workspace: String,
    pub name: String,
    pub create: bool,
    pub description: Option<String>,
    pub enabled: bool,
    /// Every parameter to send but the password and its verifier: the
    /// declared ones over those GeoServer already has.
    pub params: Params,
    pub password: Option<Secret>,
    /// The verifier to keep when the password is unchanged; None: make a new one.
    pub verifier: Option<String>,
}

/// Collects changes and warnings in the order they are found.
#[derive(Default)]
pub struct Planned {
    pub changes: Vec<Change>,
    pub warnings: Vec<Warning>,
}

struct Draft {
    address: Address,
    action: Action,
    reason: Reason,
    fields: Vec<FieldChange>,
    depends_on: Vec<Address>,
    content_diff: Option<String>,
    /// Extra input of the fingerprint (a document's digest).
    digest: String,
    op: Option<GsOp>,
}

impl Draft {
    fn new(kind: &str, name: &str) -> Self {
        Draft {
            address: Address::new(kind, name),
            action: Action::NoOp,
            reason: Reason::new("in_sync", "as declared"),
            fields: Vec::new(),
            depends_on: Vec::new(),
            content_diff: None,
            digest: String::new(),
            op: None,
        }
    }

    fn doing(mut self, action: Action, reason: Reason, op: GsOp) -> Self {
        self.action = action;
        self.reason = reason;
        self.op = Some(op);
        self
    }

    fn field(&mut self, name: &str, before: Option<serde_json::Value>, after: Option<serde_json::Value>) {
        self.fields.push(FieldChange::new(name, before, after));
    }

    fn finish(self) -> Change {
        let envelope = json!([
            self.address,
            self.action,
            self.reason.code,
            self.fields,
            self.digest
        ]);
        Change {
            fingerprint: fingerprint(&[envelope.to_string().as_bytes()]),
            address: self.address,
            action: self.action,
            reason: self.reason,
            fields: self.fields,
            content_diff: self.content_diff,
            depends_on: self.depends_on,
            preflight: false,
            operation: self
                .op
                .filter(|_| self.action != Action::NoOp)
                .map(Operation::new),
        }
    }
}

/// What to do with a resource the manifest declares `absent`.
fn absent(draft: Draft, exists: bool, options: PlanOptions, op: GsOp, planned: &mut Planned) -> Draft {
    if !exists {
        return Draft {
            reason: Reason::new("absent", "absent as declared"),
            ..draft
        };
    }
    if !options.allow_drop {
        planned.warnings.push(Warning {
            address: Some(draft.address.clone()),
            message: "declared absent but kept: deleting it needs --allow-drop".into(),
        });
        return Draft {
            reason: Reason::new("kept", "declared absent; --allow-drop deletes it"),
            ..draft
        };
    }
    draft.doing(
        Action::Delete,
        Reason::new("declared_absent", "declared absent"),
        op,
    )
}

pub fn plan(desired: &GeoServer, observed: &Observed, options: PlanOptions) -> Planned {
    let mut planned = Planned::default();
    resources::workspaces(desired, observed, options, &mut planned);
    resources::datastores(desired, observed, options, &mut planned);
    resources::styles(desired, observed, options, &mut planned);
    resources::acl(desired, observed, options, &mut planned);
    planned
}

#[cfg(test)]
mod tests;
