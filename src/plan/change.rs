//! The change envelope: what one step of a plan does to one resource, and why.
//!
//! Each system has its own typed operations; the envelope carries what every
//! renderer, filter and the executor need (address, action, reason, changed
//! fields, a content diff, dependencies) plus the system's typed operation,
//! which never leaves the process: a saved plan holds only the envelope, and
//! applying it re-plans and insists that the result is the same.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Address;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    /// Delete then create (or create-before-delete), because the change
    /// cannot be made in place.
    Replace,
    Delete,
    NoOp,
}

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::NoOp => " ",
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::NoOp => "no change",
        }
    }
}

/// Why a change is needed: a stable code for machines and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    pub message: String,
}

impl Reason {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Reason {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// One attribute that changes. Sensitive fields carry no value at all, so
/// nothing downstream can print one by mistake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

impl FieldChange {
    pub fn new(name: &str, before: Option<serde_json::Value>, after: Option<serde_json::Value>) -> Self {
        FieldChange {
            name: name.to_string(),
            before,
            after,
            sensitive: false,
        }
    }

    pub fn sensitive(name: &str) -> Self {
        FieldChange {
            name: name.to_string(),
            before: None,
            after: None,
            sensitive: true,
        }
    }
}

/// The system's own typed operation behind an envelope.
#[derive(Clone)]
pub struct Operation(Arc<dyn Any + Send + Sync>);

impl Operation {
    pub fn new<T: Any + Send + Sync>(op: T) -> Self {
        Operation(Arc::new(op))
    }

    pub fn downcast<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Operation(..)")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    pub address: Address,
    pub action: Action,
    pub reason: Reason,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// Unified diff of a file's content, with secrets already redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_diff: Option<String>,
    /// Changes that must succeed before this one runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Address>,
    /// Digest of the desired and observed state this change was computed
    /// from: two plans with equal fingerprints do exactly the same thing.
    /// Systems compute a plain digest; the engine keys it (see
    /// `engine::key`) before the plan leaves the process, since the parts
    /// may hold secrets.
    pub fingerprint: String,
    /// Runs before every other change of the apply; if one fails, nothing
    /// else is attempted (images a run needs, fetched up front).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preflight: bool,
    #[serde(skip)]
    pub operation: Option<Operation>,
}

impl Change {
    pub fn is_noop(&self) -> bool {
        self.action == Action::NoOp
    }

    /// Equality of what the change does, ignoring the in-process operation.
    pub fn same_effect(&self, other: &Change) -> bool {
        self.address == other.address
            && self.action == other.action
            && self.fields == other.fields
            && self.content_diff == other.content_diff
            && self.fingerprint == other.fingerprint
    }
}
