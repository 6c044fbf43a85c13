//! Pure planning for the directory: desired entries (the manifest's and
//! those mapped from AD) and observed ones in, typed LDAP changes out, in a
//! deterministic order. No I/O.
//!
//! Users are matched by identity, not by DN: a manifest user by its uid, an
//! imported user by its AD objectGUID (kept in georchestraObjectIdentifier),
//! so a rename in AD is a rename here. Group membership is diffed by the
//! same identities, and only for users geosync manages: members added in
//! the console are never touched.

mod groups;
mod users;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::observed::Observed;
use crate::manifest::secret::Secret;
use crate::plan::{
    fingerprint, Action, Address, Change, FieldChange, Operation, PlanOptions, Reason, Warning,
};
use crate::systems::ldap::manifest::Ldap;
use crate::systems::Blocker;

/// One LDAP operation of a change.
#[derive(Debug, Clone)]
pub enum Step {
    Add {
        dn: String,
        attrs: Vec<(String, Vec<String>)>,
    },
    /// Replace each attribute's values (none: remove the attribute).
    Replace {
        dn: String,
        attrs: Vec<(String, Vec<String>)>,
    },
    /// A write-only password, hashed by the server (Password Modify).
    SetPassword {
        dn: String,
        password: Secret,
    },
    /// New RDN under the same parent, the old uid value removed.
    Rename {
        dn: String,
        rdn: String,
    },
    /// Member values added and removed; a value already there (or already
    /// gone) is not an error, so a re-run after a crash converges.
    Members {
        dn: String,
        add: Vec<String>,
        remove: Vec<String>,
    },
    Delete {
        dn: String,
    },
}

/// What applying one directory change runs, in order.
#[derive(Debug, Clone, Default)]
pub struct LdapOp {
    pub steps: Vec<Step>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("{subject}: {what} `{name}` is neither declared in the manifest nor in the directory")]
    Unknown {
        subject: String,
        what: &'static str,
        name: String,
    },
}

#[derive(Default)]
pub struct Planned {
    pub changes: Vec<Change>,
    pub warnings: Vec<Warning>,
    pub errors: Vec<PlanError>,
    pub blockers: Vec<Blocker>,
}

impl Planned {
    fn warn(&mut self, address: Option<Address>, message: impl Into<String>) {
        self.warnings.push(Warning {
            address,
            message: message.into(),
        });
    }
}

pub(super) struct Draft {
    address: Address,
    action: Action,
    reason: Reason,
    fields: Vec<FieldChange>,
    depends_on: BTreeSet<Address>,
    op: LdapOp,
}

impl Draft {
    fn new(address: Address) -> Self {
        Draft {
            address,
            action: Action::NoOp,
            reason: Reason::new("in_sync", "as desired"),
            fields: Vec::new(),
            depends_on: BTreeSet::new(),
            op: LdapOp::default(),
        }
    }

    fn doing(mut self, action: Action, reason: Reason) -> Self {
        self.action = action;
        self.reason = reason;
        self
    }

    fn field(&mut self, name: &str, before: &[String], after: &[String]) {
        self.fields
            .push(FieldChange::new(name, values_json(before), values_json(after)));
    }

    fn step(&mut self, step: Step) {
        self.op.steps.push(step);
    }

    fn finish(self) -> Change {
        let envelope = json!([self.address, self.action, self.reason.code, self.fields]);
        Change {
            fingerprint: fingerprint(&[envelope.to_string().as_bytes()]),
            address: self.address,
            action: self.action,
            reason: self.reason,
            fields: self.fields,
            content_diff: None,
            depends_on: self.depends_on.into_iter().collect(),
            preflight: false,
            operation: (self.action != Action::NoOp).then(|| Operation::new(self.op)),
        }
    }
}

fn values_json(values: &[String]) -> Option<serde_json::Value> {
    match values {
        [] => None,
        [one] => Some(json!(one)),
        many => Some(json!(many)),
    }
}

/// A managed user's identity: `m:<uid>` for the manifest's, `ad:<guid>`
/// for imported ones.
pub(super) type Key = String;

/// Where a managed user is and will be: what the group diff needs.
#[derive(Debug, Default)]
pub(super) struct Membership {
    /// Key -> the user's DN after this run (None: gone or disabled).
    pub desired_dn: BTreeMap<Key, Option<String>>,
    /// Normalized observed DN -> key, for every managed user that exists.
    pub observed_key: BTreeMap<String, Key>,
    /// Key -> the groups (roles, orgs by lower-cased name) it belongs in.
    pub roles: BTreeMap<Key, BTreeSet<String>>,
    pub orgs: BTreeMap<Key, String>,
    /// Key -> its change's address, for dependencies.
    pub address: BTreeMap<Key, Address>,
    /// Keys whose change creates or renames the entry.
    pub moved: BTreeSet<Key>,
    /// Lower-cased role or org name -> as the manifest writes it.
    pub names: BTreeMap<String, String>,
}

pub fn plan(desired: &Ldap, observed: &Observed, options: PlanOptions) -> Planned {
    let mut planned = Planned::default();
    let mut membership = Membership::default();
    users::plan_users(desired, observed, options, &mut membership, &mut planned);
    groups::plan_groups(desired, observed, options, &membership, &mut planned);
    planned
}

#[cfg(test)]
mod tests;
