//! Pure planning for managed files.

use crate::plan::{
    fingerprint, unified_diff, unified_diff_hiding_removed, Action, Change, FieldChange, Operation, Reason,
};

#[derive(Debug, Clone)]
pub struct DesiredFile {
    pub change_address: crate::plan::Address,
    pub path: String,
    pub content: String,
    pub display: String,
    pub mode: Option<u32>,
    pub has_secrets: bool,
}

/// What is at the path now. `display` has the known secrets redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedFile {
    pub content: String,
    pub display: String,
    pub mode: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteFile {
    pub content: String,
    pub mode: Option<u32>,
}

pub fn diff(desired: &DesiredFile, observed: Option<&ObservedFile>) -> Change {
    let address = desired.change_address.clone();
    let (action, reason, fields, content_diff) = match observed {
        None => (
            Action::Create,
            Reason::new("absent", format!("{} does not exist", desired.path)),
            desired
                .mode
                .map(|m| vec![FieldChange::new("mode", None, Some(octal(m)))])
                .unwrap_or_default(),
            Some(unified_diff("", &desired.display, &desired.path)),
        ),
        Some(now) => {
            let mut fields = Vec::new();
            let mut content_diff = None;
            if now.content != desired.content {
                if now.display == desired.display {
                    // Only a secret differs: say so without showing either value.
                    fields.push(FieldChange::sensitive("content"));
                } else {
                    content_diff = Some(if desired.has_secrets {
                        unified_diff_hiding_removed(&now.display, &desired.display, &desired.path)
                    } else {
                        unified_diff(&now.display, &desired.display, &desired.path)
                    });
                }
            }
            if let Some(mode) = desired.mode.filter(|m| *m != now.mode) {
                fields.push(FieldChange::new("mode", Some(octal(now.mode)), Some(octal(mode))));
            }
            if fields.is_empty() && content_diff.is_none() {
                (
                    Action::NoOp,
                    Reason::new("in_sync", format!("{} is up to date", desired.path)),
                    fields,
                    None,
                )
            } else {
                (
                    Action::Update,
                    Reason::new("differs", format!("{} differs from the manifest", desired.path)),
                    fields,
                    content_diff,
                )
            }
        }
    };
    let before = observed.map_or(&[][..], |o| o.content.as_bytes());
    let modes = format!("{:?}->{:?}", observed.map(|o| o.mode), desired.mode);
    Change {
        fingerprint: fingerprint(&[
            address.to_string().as_bytes(),
            action.verb().as_bytes(),
            before,
            desired.content.as_bytes(),
            modes.as_bytes(),
        ]),
        address,
        action,
        reason,
        fields,
        content_diff,
        depends_on: Vec::new(),
        preflight: false,
        operation: Some(Operation::new(WriteFile {
            content: desired.content.clone(),
            mode: desired.mode,
        })),
    }
}

fn octal(mode: u32) -> serde_json::Value {
    serde_json::Value::String(format!("{mode:04o}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Address;

    fn desired(content: &str, display: &str, mode: Option<u32>) -> DesiredFile {
        DesiredFile {
            change_address: Address::new("file", "f"),
            path: "/etc/f.conf".into(),
            content: content.into(),
            display: display.into(),
            mode,
            has_secrets: true,
        }
    }

    fn observed(content: &str, display: &str, mode: u32) -> ObservedFile {
        ObservedFile {
            content: content.into(),
            display: display.into(),
            mode,
        }
    }

    #[test]
    fn a_changed_secret_is_a_sensitive_field_with_no_value() {
        let change = diff(
            &desired("pw=new-secret\n", "pw=(sensitive)\n", None),
            Some(&observed("pw=old-secret\n", "pw=(sensitive)\n", 0o600)),
        );
        assert_eq!(change.action, Action::Update);
        assert_eq!(change.fields, vec![FieldChange::sensitive("content")]);
        assert!(change.content_diff.is_none());
        let json = serde_json::to_string(&change).unwrap();
        assert!(!json.contains("secret"), "{json}");
    }

    #[test]
    fn equal_content_and_mode_is_noop_and_mode_drift_is_shown() {
        let same = diff(
            &desired("a\n", "a\n", Some(0o640)),
            Some(&observed("a\n", "a\n", 0o640)),
        );
        assert_eq!(same.action, Action::NoOp);
        let drift = diff(
            &desired("a\n", "a\n", Some(0o640)),
            Some(&observed("a\n", "a\n", 0o644)),
        );
        assert_eq!(drift.action, Action::Update);
        assert_eq!(drift.fields[0].before, Some(serde_json::json!("0644")));
    }
}
