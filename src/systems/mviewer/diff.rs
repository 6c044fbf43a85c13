//! Pure planning for Mviewer apps: desired files and the observed directory
//! in, changes out. No I/O, deterministic order.

use std::collections::BTreeSet;
use std::path::Path;

use super::observed::ObservedDir;
use crate::plan::{fingerprint, unified_diff, Action, Address, Change, Operation, Reason, Warning};
use crate::systems::mviewer::manifest::MviewerApp;
use crate::systems::{PlanOptions, SystemPlan};

/// An app config as it must be on disk.
#[derive(Debug, Clone)]
pub struct DesiredApp {
    pub name: String,
    pub file_name: String,
    pub content: String,
    /// Files the config points at relative to Mviewer's page (logo, help).
    pub assets: Vec<Asset>,
}

/// A file a config names by a path relative to Mviewer's index.html.
#[derive(Debug, Clone)]
pub struct Asset {
    /// What names it (`logo`, `help`, `baselayer `osm` thumbgallery`).
    pub attribute: String,
    pub path: String,
}

impl Asset {
    /// Only a relative path can be looked up: a URL or an absolute path
    /// is served by something geosync does not see.
    pub fn local(attribute: impl Into<String>, value: &str) -> Option<Self> {
        let path = value.split(['?', '#']).next().unwrap_or("");
        let remote = path.contains("://") || path.starts_with('/') || path.starts_with("data:");
        (!path.is_empty() && !remote).then(|| Asset {
            attribute: attribute.into(),
            path: path.to_string(),
        })
    }
}

/// What applying one Mviewer change does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MviewerOp {
    Write {
        file_name: String,
        content: String,
    },
    /// Remove a file geosync wrote, and only if it still carries its marker.
    Remove {
        file_name: String,
        owner: String,
    },
}

pub fn diff(desired: &[DesiredApp], observed: &ObservedDir, options: PlanOptions, dir: &Path) -> SystemPlan {
    let mut changes = Vec::new();
    let mut warnings = Vec::new();
    plan_declared(desired, observed, options, dir, &mut changes, &mut warnings);
    plan_leftovers(desired, observed, options, dir, &mut changes, &mut warnings);
    SystemPlan {
        changes,
        warnings,
        blockers: Vec::new(),
    }
}

/// Each declared app: written when absent or different, left alone when
/// geosync did not write it (unless adopted) or when it is a symlink.
fn plan_declared(
    desired: &[DesiredApp],
    observed: &ObservedDir,
    options: PlanOptions,
    dir: &Path,
    changes: &mut Vec<Change>,
    warnings: &mut Vec<Warning>,
) {
    for app in desired {
        let address = Address::new(MviewerApp::KIND, &app.name);
        warnings.extend(missing_assets(app, observed, &address));
        let path = dir.join(&app.file_name).display().to_string();
        let write = MviewerOp::Write {
            file_name: app.file_name.clone(),
            content: app.content.clone(),
        };
        let (action, reason, before) = match observed.files.get(&app.file_name) {
            None => (
                Action::Create,
                Reason::new("absent", format!("{path} does not exist")),
                "",
            ),
            Some(file) if file.link.is_some() => {
                let target = file.link.as_ref().expect("matched above").display();
                warnings.push(Warning {
                    address: Some(address.clone()),
                    message: format!(
                        "{path} is a symbolic link (to {target}) that geosync did not create: left alone, even with --adopt"
                    ),
                });
                continue;
            }
            Some(file) if file.content == app.content => (
                Action::NoOp,
                Reason::new("in_sync", format!("{path} is up to date")),
                file.content.as_str(),
            ),
            Some(file) if file.owner.is_none() && !options.adopt => {
                warnings.push(Warning {
                    address: Some(address.clone()),
                    message: format!(
                        "{path} exists and was not written by geosync: left alone (--adopt takes it over)"
                    ),
                });
                continue;
            }
            Some(file) if file.owner.is_none() => (
                Action::Update,
                Reason::new(
                    "adopt",
                    format!("{path} was not written by geosync and is taken over (--adopt)"),
                ),
                file.content.as_str(),
            ),
            Some(file) => (
                Action::Update,
                Reason::new("content_differs", format!("{path} differs from the manifest")),
                file.content.as_str(),
            ),
        };
        changes.push(Change {
            fingerprint: change_fingerprint(&address, action, before, &app.content),
            content_diff: (action != Action::NoOp).then(|| unified_diff(before, &app.content, &path)),
            address,
            action,
            reason,
            fields: Vec::new(),
            depends_on: Vec::new(),
            preflight: false,
            operation: Some(Operation::new(write)),
        });
    }
}

/// Files geosync wrote for apps no longer declared: deleted with --prune,
/// reported otherwise.
fn plan_leftovers(
    desired: &[DesiredApp],
    observed: &ObservedDir,
    options: PlanOptions,
    dir: &Path,
    changes: &mut Vec<Change>,
    warnings: &mut Vec<Warning>,
) {
    let wanted: BTreeSet<&str> = desired.iter().map(|a| a.file_name.as_str()).collect();
    for (file_name, file) in &observed.files {
        let Some(owner) = &file.owner else { continue };
        if wanted.contains(file_name.as_str()) {
            continue;
        }
        let address = Address::new(MviewerApp::KIND, owner);
        let path = dir.join(file_name).display().to_string();
        if !options.prune {
            warnings.push(Warning {
                address: Some(address),
                message: format!("{path} was written by geosync but is no longer in the manifest: kept (--prune deletes it)"),
            });
            continue;
        }
        changes.push(Change {
            fingerprint: change_fingerprint(&address, Action::Delete, &file.content, ""),
            content_diff: Some(unified_diff(&file.content, "", &path)),
            action: Action::Delete,
            reason: Reason::new(
                "left_manifest",
                format!("{path} is no longer in the manifest (--prune)"),
            ),
            fields: Vec::new(),
            depends_on: Vec::new(),
            preflight: false,
            operation: Some(Operation::new(MviewerOp::Remove {
                file_name: file_name.clone(),
                owner: owner.clone(),
            })),
            address,
        });
    }
}

/// A logo or help page missing from the Mviewer install shows as a broken
/// image or an empty help window: worth saying before anyone opens the app.
fn missing_assets(app: &DesiredApp, observed: &ObservedDir, address: &Address) -> Vec<Warning> {
    let Some(served) = &observed.served_from else {
        return Vec::new();
    };
    app.assets
        .iter()
        .filter(|asset| !served.present.contains(&asset.path))
        .map(|asset| Warning {
            address: Some(address.clone()),
            message: format!(
                "{} `{}` does not exist where Mviewer serves the app ({})",
                asset.attribute,
                asset.path,
                served.root.join(&asset.path).display()
            ),
        })
        .collect()
}

fn change_fingerprint(address: &Address, action: Action, before: &str, after: &str) -> String {
    fingerprint(&[
        address.to_string().as_bytes(),
        action.verb().as_bytes(),
        before.as_bytes(),
        after.as_bytes(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::systems::mviewer::observed::ObservedFile;

    fn app(name: &str, content: &str) -> DesiredApp {
        DesiredApp {
            name: name.into(),
            file_name: format!("{name}.xml"),
            content: content.into(),
            assets: Vec::new(),
        }
    }

    fn owned(name: &str, body: &str) -> ObservedFile {
        ObservedFile::new(format!(
            "{}\n{body}",
            super::super::render::ownership_marker(name)
        ))
    }

    fn actions(plan: &SystemPlan) -> Vec<(String, Action)> {
        plan.changes
            .iter()
            .map(|c| (c.address.to_string(), c.action))
            .collect()
    }

    #[test]
    fn absent_is_created_equal_is_noop_different_is_updated() {
        let same = owned("b", "<config/>\n");
        let mut observed = ObservedDir::default();
        observed.files.insert("b.xml".into(), same.clone());
        observed.files.insert("c.xml".into(), owned("c", "<old/>"));
        let desired = [app("a", "<config/>"), app("b", &same.content), app("c", "<new/>")];
        let plan = diff(&desired, &observed, PlanOptions::default(), Path::new("/apps"));
        assert_eq!(
            actions(&plan),
            [
                ("mviewer.app:a".to_string(), Action::Create),
                ("mviewer.app:b".to_string(), Action::NoOp),
                ("mviewer.app:c".to_string(), Action::Update),
            ]
        );
        let diff = plan.changes[2].content_diff.as_deref().unwrap();
        assert!(diff.contains("-<old/>") && diff.contains("+<new/>"), "{diff}");
        assert!(plan.changes[1].content_diff.is_none());
    }

    #[test]
    fn unmanaged_file_is_left_alone_unless_adopted() {
        let mut observed = ObservedDir::default();
        observed
            .files
            .insert("a.xml".into(), ObservedFile::new("<hand-made/>".into()));
        let plan = diff(
            &[app("a", "<config/>")],
            &observed,
            PlanOptions::default(),
            Path::new("/apps"),
        );
        assert!(plan.changes.is_empty());
        assert!(plan.warnings[0].message.contains("not written by geosync"));
        let adopt = PlanOptions {
            adopt: true,
            ..Default::default()
        };
        let plan = diff(&[app("a", "<config/>")], &observed, adopt, Path::new("/apps"));
        assert_eq!(actions(&plan), [("mviewer.app:a".to_string(), Action::Update)]);
    }

    #[test]
    fn orphans_are_kept_unless_pruned_and_foreign_files_never_touched() {
        let mut observed = ObservedDir::default();
        observed.files.insert("old.xml".into(), owned("old", "<config/>"));
        observed
            .files
            .insert("mine.xml".into(), ObservedFile::new("<config/>".into()));
        let plan = diff(&[], &observed, PlanOptions::default(), Path::new("/apps"));
        assert!(plan.changes.is_empty());
        assert_eq!(plan.warnings.len(), 1);
        let prune = PlanOptions {
            prune: true,
            ..Default::default()
        };
        let plan = diff(&[], &observed, prune, Path::new("/apps"));
        assert_eq!(actions(&plan), [("mviewer.app:old".to_string(), Action::Delete)]);
    }

    #[test]
    fn a_logo_or_help_missing_from_the_install_is_warned_about() {
        let mut with_assets = app("a", "<config/>");
        with_assets.assets = [
            ("logo", "img/logo.png?v=2"),
            ("help", "aide.html"),
            ("logo", "https://cdn/x.png"),
        ]
        .into_iter()
        .filter_map(|(attribute, value)| Asset::local(attribute, value))
        .collect();
        assert_eq!(with_assets.assets.len(), 2, "a URL is not looked up");
        let mut observed = ObservedDir::default();
        let plan = diff(
            std::slice::from_ref(&with_assets),
            &observed,
            PlanOptions::default(),
            Path::new("/apps"),
        );
        assert!(plan.warnings.is_empty(), "unknown install: nothing to say");

        observed.served_from = Some(super::super::observed::ServedFrom {
            root: "/srv/mviewer".into(),
            present: ["img/logo.png".to_string()].into(),
        });
        let plan = diff(
            &[with_assets],
            &observed,
            PlanOptions::default(),
            Path::new("/apps"),
        );
        let messages: Vec<_> = plan.warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(
            messages,
            ["help `aide.html` does not exist where Mviewer serves the app (/srv/mviewer/aide.html)"]
        );
    }
}
