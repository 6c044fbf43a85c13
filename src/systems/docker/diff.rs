//! Pure planning for Docker: desired objects and what the engine has in,
//! typed operations out. A container's whole configuration is hashed and
//! recorded on it: only a change of that hash (or of its image, or the loss
//! of a network it joins) recreates it, never a default the image or the
//! daemon added.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::names;
use super::observed::{Observed, ObservedObject};
use crate::plan::{
    fingerprint, Action, Address, Change, FieldChange, Operation, PlanOptions, Reason, Warning,
};
use crate::systems::docker::manifest::{
    Condition, Docker, DockerContainer, DockerNetwork, DockerVolume, EnvValue, PullPolicy,
};
use crate::systems::docker::manifest::{CONTAINER_KIND, NETWORK_KIND, VOLUME_KIND};

mod containers;

pub const IMAGE_KIND: &str = "docker.image";

#[derive(Debug, Clone)]
pub enum DockerOp {
    CreateNetwork(DockerNetwork),
    RemoveNetwork(String),
    CreateVolume(DockerVolume),
    RemoveVolume(String),
    Pull(String),
    Build {
        image: String,
        build: crate::systems::docker::manifest::Build,
        context_hash: String,
    },
    /// Converge one declared container.
    Container(Box<ContainerOp>),
    /// Stop and remove containers (a pruned resource and its strays).
    Remove(Vec<String>),
}

/// What it takes to bring one declared container to its declared state.
#[derive(Debug, Clone)]
pub struct ContainerOp {
    /// `<project>-<name>`: what it is called once done.
    pub engine_name: String,
    /// Removed before anything else: a replacement an interrupted apply
    /// left, duplicates (`--prune`), a foreign holder of its name (`--adopt`).
    pub remove_first: Vec<String>,
    pub step: ContainerStep,
    /// Its dependencies' conditions, checked before it starts.
    pub wait_for: Vec<WaitFor>,
}

#[derive(Debug, Clone)]
pub enum ContainerStep {
    /// Create (replacing `replaces`) and start.
    Run(Box<RunContainer>),
    /// Keep the container: give it its name back, start it if it should run.
    Keep {
        rename_from: Option<String>,
        start: bool,
    },
}

#[derive(Debug, Clone)]
pub struct RunContainer {
    pub container: DockerContainer,
    pub config_hash: String,
    pub config_json: String,
    /// The container this one replaces (ours, or adopted).
    pub replaces: Option<String>,
}

/// A dependency's condition, checked before a container starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitFor {
    pub engine_name: String,
    pub condition: Condition,
    pub timeout_ms: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DockerPlanError {
    #[error("{CONTAINER_KIND}:{container}: image {image} is not on the engine and pull = \"never\"")]
    ImageNeverPulled { container: String, image: String },
}

impl DockerPlanError {
    /// The resources the error is about: it stops the plan only when one
    /// of them is in the run's scope.
    pub fn addresses(&self) -> Vec<Address> {
        match self {
            DockerPlanError::ImageNeverPulled { container, .. } => {
                vec![Address::new(CONTAINER_KIND, container)]
            }
        }
    }
}

pub struct Planned {
    pub changes: Vec<Change>,
    pub warnings: Vec<Warning>,
    pub errors: Vec<DockerPlanError>,
}

/// The recorded configuration (secrets redacted) and its hash, recorded in
/// labels. Neither covers a secret's value: labels are read by anyone who
/// lists containers (and exported by monitoring), and a plain digest of a
/// secret lets them test guesses. A changed secret is found by comparing
/// the live environment instead ([`changed_secrets`]).
pub fn config_of(container: &DockerContainer) -> (Value, String) {
    let config = serde_json::to_value(container).expect("a container serializes");
    let hash = fingerprint(&[config.to_string().as_bytes()]);
    (config, hash)
}

/// The secret variables whose live value differs from the manifest's.
pub(super) fn changed_secrets(
    container: &DockerContainer,
    existing: &super::observed::ObservedContainer,
) -> Vec<FieldChange> {
    container
        .env
        .iter()
        .filter_map(|(key, value)| match value {
            EnvValue::Secret(secret)
                if existing.env.get(key).map(String::as_str) != Some(secret.expose()) =>
            {
                Some(FieldChange::sensitive(&format!("env.{key}")))
            }
            _ => None,
        })
        .collect()
}

/// The hash older versions recorded, which covered secret values: a
/// container labelled with it is recreated once, without it.
pub(super) fn legacy_hash(container: &DockerContainer) -> String {
    let config = serde_json::to_value(container).expect("a container serializes");
    let mut parts: Vec<Vec<u8>> = vec![config.to_string().into_bytes()];
    for (key, value) in &container.env {
        if let EnvValue::Secret(secret) = value {
            parts.push(format!("{key}={}", secret.expose()).into_bytes());
        }
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    fingerprint(&refs)
}

fn change(
    address: Address,
    action: Action,
    reason: Reason,
    fields: Vec<FieldChange>,
    depends_on: Vec<Address>,
    op: Option<DockerOp>,
) -> Change {
    let envelope = json!([address, action, reason.code, fields]);
    Change {
        fingerprint: fingerprint(&[envelope.to_string().as_bytes()]),
        address,
        action,
        reason,
        fields,
        content_diff: None,
        depends_on,
        preflight: false,
        operation: op.map(Operation::new),
    }
}

pub fn plan(
    desired: &Docker,
    observed: &Observed,
    context_hashes: &BTreeMap<String, String>,
    options: PlanOptions,
) -> Planned {
    let mut planned = Planned {
        changes: Vec::new(),
        warnings: Vec::new(),
        errors: Vec::new(),
    };
    // Images first: what will be pulled or built decides what is recreated.
    let image_changes = plan_images(desired, observed, context_hashes, &mut planned);
    plan_networks(desired, observed, options, &mut planned);
    plan_volumes(desired, observed, options, &mut planned);
    let context = Context {
        desired,
        observed,
        image_changes: &image_changes,
        options,
    };
    for container in &desired.containers {
        containers::plan_container(&context, container, &mut planned);
    }
    plan_left_containers(desired, observed, options, &mut planned);
    planned
}

/// What planning one container needs to know beyond the container itself.
struct Context<'a> {
    desired: &'a Docker,
    observed: &'a Observed,
    /// Images pulled or built in this run.
    image_changes: &'a BTreeSet<String>,
    options: PlanOptions,
}

/// One change per image; returns the images that will be pulled or built.
fn plan_images(
    desired: &Docker,
    observed: &Observed,
    context_hashes: &BTreeMap<String, String>,
    planned: &mut Planned,
) -> BTreeSet<String> {
    let mut image_changes = BTreeSet::new();
    let mut seen_images = BTreeSet::new();
    for container in &desired.containers {
        if !seen_images.insert(container.image.clone()) {
            continue;
        }
        let present = observed.images.get(&container.image).and_then(Option::as_ref);
        let Some((action, reason, op)) = image_action(container, present, context_hashes) else {
            // Every container needing it is named: excluding them all lifts it.
            for user in desired.containers.iter().filter(|c| c.image == container.image) {
                planned.errors.push(DockerPlanError::ImageNeverPulled {
                    container: user.name.clone(),
                    image: container.image.clone(),
                });
            }
            continue;
        };
        if action != Action::NoOp {
            image_changes.insert(container.image.clone());
        }
        let address = Address::new(IMAGE_KIND, &container.image);
        let mut image_change = change(address, action, reason, Vec::new(), Vec::new(), op);
        image_change.preflight = true;
        planned.changes.push(image_change);
    }
    image_changes
}

/// How the image of `container` is had; None when it is missing and may
/// not be pulled.
fn image_action(
    container: &DockerContainer,
    present: Option<&super::observed::ObservedImage>,
    context_hashes: &BTreeMap<String, String>,
) -> Option<(Action, Reason, Option<DockerOp>)> {
    let pull = || Some(DockerOp::Pull(container.image.clone()));
    Some(match (&container.build, present, container.pull) {
        (Some(build), _, _) => {
            let hash = context_hashes.get(&container.image).cloned().unwrap_or_default();
            let op = Some(DockerOp::Build {
                image: container.image.clone(),
                build: build.clone(),
                context_hash: hash.clone(),
            });
            match present {
                None => (
                    Action::Create,
                    Reason::new("absent", "not on the engine: built"),
                    op,
                ),
                Some(image) if image.context_hash.as_deref() != Some(hash.as_str()) => (
                    Action::Update,
                    Reason::new(
                        "context_changed",
                        format!("the build context {} changed: rebuilt", build.context.display()),
                    ),
                    op,
                ),
                Some(_) => (
                    Action::NoOp,
                    Reason::new("in_sync", "built from the current context"),
                    None,
                ),
            }
        }
        (None, None, PullPolicy::Never) => return None,
        (None, None, _) => (
            Action::Create,
            Reason::new("absent", "not on the engine: pulled"),
            pull(),
        ),
        (None, Some(_), PullPolicy::Always) => (
            Action::Update,
            Reason::new("pull_always", "pulled on every apply (pull = \"always\")"),
            pull(),
        ),
        (None, Some(_), _) => (Action::NoOp, Reason::new("in_sync", "on the engine"), None),
    })
}

fn plan_networks(desired: &Docker, observed: &Observed, options: PlanOptions, planned: &mut Planned) {
    let project = &desired.project;
    for network in &desired.networks {
        planned.changes.push(create_if_absent(
            Address::new(NETWORK_KIND, &network.name),
            &names::network(project, &network.name),
            &network.driver,
            observed.networks.get(&network.name),
            DockerOp::CreateNetwork(network.clone()),
        ));
    }
    for (name, existing) in &observed.networks {
        if !existing.labelled || desired.networks.iter().any(|n| &n.name == name) {
            continue;
        }
        let address = Address::new(NETWORK_KIND, name);
        if options.prune {
            planned.changes.push(change(
                address,
                Action::Delete,
                Reason::new("left_manifest", "no longer in the manifest (--prune)"),
                Vec::new(),
                Vec::new(),
                Some(DockerOp::RemoveNetwork(names::network(project, name))),
            ));
        } else {
            planned.warnings.push(Warning {
                address: Some(address),
                message: "created by geosync, no longer in the manifest: kept (--prune removes it)".into(),
            });
        }
    }
}

fn plan_volumes(desired: &Docker, observed: &Observed, options: PlanOptions, planned: &mut Planned) {
    let project = &desired.project;
    for volume in &desired.volumes {
        planned.changes.push(create_if_absent(
            Address::new(VOLUME_KIND, &volume.name),
            &names::volume(project, &volume.name),
            &volume.driver,
            observed.volumes.get(&volume.name),
            DockerOp::CreateVolume(volume.clone()),
        ));
    }
    for (name, existing) in &observed.volumes {
        if !existing.labelled || desired.volumes.iter().any(|v| &v.name == name) {
            continue;
        }
        let address = Address::new(VOLUME_KIND, name);
        if options.prune && options.allow_drop && existing.disposable {
            planned.changes.push(change(
                address,
                Action::Delete,
                Reason::new(
                    "left_manifest",
                    "disposable, no longer in the manifest (--prune --allow-drop): its data is deleted",
                ),
                Vec::new(),
                Vec::new(),
                Some(DockerOp::RemoveVolume(names::volume(project, name))),
            ));
        } else {
            let why = if existing.disposable {
                "--prune --allow-drop removes it"
            } else {
                "not disposable: never removed"
            };
            planned.warnings.push(Warning {
                address: Some(address),
                message: format!("volume no longer in the manifest: kept with its data ({why})"),
            });
        }
    }
}

/// Containers geosync created (found by label, whatever their name now)
/// for resources that left the manifest.
fn plan_left_containers(desired: &Docker, observed: &Observed, options: PlanOptions, planned: &mut Planned) {
    for (name, existing) in &observed.containers {
        if desired.containers.iter().any(|c| &c.name == name) {
            continue;
        }
        let address = Address::new(CONTAINER_KIND, name);
        let mut all = vec![existing.engine_name.clone()];
        all.extend(existing.strays.iter().cloned());
        if options.prune {
            planned.changes.push(change(
                address,
                Action::Delete,
                Reason::new("left_manifest", "no longer in the manifest (--prune)"),
                Vec::new(),
                Vec::new(),
                Some(DockerOp::Remove(all)),
            ));
        } else {
            planned.warnings.push(Warning {
                address: Some(address),
                message: format!(
                    "{} {} created by geosync and no longer in the manifest: kept (--prune removes {})",
                    all.join(", "),
                    if all.len() == 1 { "was" } else { "were" },
                    if all.len() == 1 { "it" } else { "them" },
                ),
            });
        }
    }
}

/// A network or volume: created when absent, else used as it is, whoever
/// created it (a volume holds data: it is never recreated).
fn create_if_absent(
    address: Address,
    engine_name: &str,
    driver: &str,
    existing: Option<&ObservedObject>,
    create: DockerOp,
) -> Change {
    match existing {
        None => change(
            address,
            Action::Create,
            Reason::new("absent", format!("{engine_name} does not exist")),
            vec![FieldChange::new("driver", None, Some(json!(driver)))],
            Vec::new(),
            Some(create),
        ),
        Some(existing) => {
            let note = if existing.labelled {
                "exists"
            } else {
                "exists (not created by geosync: used as is)"
            };
            change(
                address,
                Action::NoOp,
                Reason::new("in_sync", note),
                Vec::new(),
                Vec::new(),
                None,
            )
        }
    }
}

/// What differs between the recorded and the desired configuration, key by
/// key (env per variable). Secrets are `(sensitive)` on both sides; when
/// only a secret changed, nothing differs here and one sensitive field says so.
fn config_fields(before: Option<&Value>, after: &Value) -> Vec<FieldChange> {
    let mut fields = Vec::new();
    let empty = serde_json::Map::new();
    let before_map = before.and_then(Value::as_object).unwrap_or(&empty);
    let after_map = after.as_object().unwrap_or(&empty);
    let keys: BTreeSet<&String> = before_map.keys().chain(after_map.keys()).collect();
    for key in keys {
        let (old, new) = (before_map.get(key), after_map.get(key));
        if old == new
            || (before.is_none()
                && new.is_some_and(|v| {
                    v.is_null()
                        || v.as_object().is_some_and(|o| o.is_empty())
                        || v.as_array().is_some_and(|a| a.is_empty())
                }))
        {
            continue;
        }
        if key == "env" {
            let old_env = old.and_then(Value::as_object).unwrap_or(&empty);
            let new_env = new.and_then(Value::as_object).unwrap_or(&empty);
            let vars: BTreeSet<&String> = old_env.keys().chain(new_env.keys()).collect();
            for var in vars {
                let (o, n) = (old_env.get(var), new_env.get(var));
                if o == n {
                    continue;
                }
                let sensitive =
                    |v: Option<&Value>| v.and_then(Value::as_str) == Some(crate::manifest::secret::SENSITIVE);
                if sensitive(o) || sensitive(n) {
                    fields.push(FieldChange::sensitive(&format!("env.{var}")));
                } else {
                    fields.push(FieldChange::new(&format!("env.{var}"), o.cloned(), n.cloned()));
                }
            }
            continue;
        }
        fields.push(FieldChange::new(
            key,
            old.cloned().filter(|v| !v.is_null()),
            new.cloned().filter(|v| !v.is_null()),
        ));
    }
    if before.is_some() && fields.is_empty() {
        fields.push(FieldChange::sensitive("env"));
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::source::Location;
    use crate::systems::docker::manifest::{Docker, DockerContainer, PullPolicy};
    use crate::systems::docker::observed::{ForeignContainer, ObservedContainer, ObservedImage, RunState};

    fn container(name: &str, mode: &str) -> DockerContainer {
        DockerContainer {
            name: name.into(),
            at: Location::file_only(std::path::Path::new("m.toml")),
            image: "img:1".into(),
            pull: PullPolicy::Missing,
            build: None,
            command: Some(vec!["sleep".into(), "9".into()]),
            entrypoint: None,
            env: BTreeMap::from([("MODE".into(), EnvValue::Plain(mode.into()))]),
            ports: Vec::new(),
            mounts: Vec::new(),
            networks: BTreeMap::new(),
            labels: BTreeMap::new(),
            restart: "no".into(),
            healthcheck: None,
            depends_on: BTreeMap::new(),
            memory: None,
            user: None,
            working_dir: None,
            wait_timeout_ms: 1000,
            job: false,
        }
    }

    fn docker(containers: Vec<DockerContainer>) -> Docker {
        Docker {
            host: None,
            project: "p".into(),
            networks: Vec::new(),
            volumes: Vec::new(),
            containers,
            files: Vec::new(),
        }
    }

    /// What the engine would hold after geosync created `c`.
    fn running(c: &DockerContainer, running: bool, exit_code: i64) -> ObservedContainer {
        let state = if running {
            RunState::Running
        } else {
            RunState::Exited(exit_code)
        };
        in_state(c, state)
    }

    fn in_state(c: &DockerContainer, state: RunState) -> ObservedContainer {
        let (config, hash) = config_of(c);
        ObservedContainer {
            engine_name: format!("p-{}", c.name),
            state,
            config_hash: Some(hash),
            config: Some(config),
            image_id: Some("sha256:1".into()),
            env: c
                .env
                .iter()
                .map(|(k, v)| {
                    let value = match v {
                        EnvValue::Plain(p) => p.clone(),
                        EnvValue::Secret(s) => s.expose().to_string(),
                    };
                    (k.clone(), value)
                })
                .collect(),
            networks: BTreeMap::new(),
            strays: Vec::new(),
        }
    }

    fn observed_with(containers: Vec<(&str, ObservedContainer)>) -> Observed {
        let mut observed = Observed::default();
        observed.images.insert(
            "img:1".into(),
            Some(ObservedImage {
                id: "sha256:1".into(),
                context_hash: None,
            }),
        );
        for (name, c) in containers {
            observed.containers.insert(name.into(), c);
        }
        observed
    }

    /// A plan with no image changes and default options.
    fn plan_default(containers: Vec<DockerContainer>, observed: &Observed) -> Planned {
        plan(
            &docker(containers),
            observed,
            &BTreeMap::new(),
            PlanOptions::default(),
        )
    }

    fn action_of(planned: &Planned, address: &str) -> Action {
        planned
            .changes
            .iter()
            .find(|c| c.address.to_string() == address)
            .map(|c| c.action)
            .unwrap()
    }

    #[test]
    fn unchanged_is_noop_and_an_env_change_replaces_with_the_variable_named() {
        let before = container("db", "dev");
        let observed = observed_with(vec![("db", running(&before, true, 0))]);
        let same = plan_default(vec![before.clone()], &observed);
        assert_eq!(action_of(&same, "docker.container:db"), Action::NoOp);

        let changed = plan_default(vec![container("db", "prod")], &observed);
        let change = changed
            .changes
            .iter()
            .find(|c| c.address.to_string() == "docker.container:db")
            .unwrap();
        assert_eq!(change.action, Action::Replace);
        assert_eq!(
            change.fields,
            vec![FieldChange::new(
                "env.MODE",
                Some(json!("dev")),
                Some(json!("prod"))
            )]
        );
    }

    #[test]
    fn a_service_that_exited_0_or_never_started_is_started() {
        let service = container("web", "x");
        for state in [RunState::Exited(0), RunState::Exited(137), RunState::Created] {
            let observed = observed_with(vec![("web", in_state(&service, state))]);
            let planned = plan_default(vec![service.clone()], &observed);
            assert_eq!(
                action_of(&planned, "docker.container:web"),
                Action::Update,
                "{state:?}"
            );
        }
    }

    #[test]
    fn a_job_that_exited_0_is_done_but_one_that_failed_or_never_ran_is_started() {
        // A job: another container waits for it to have completed.
        let job = container("init", "x");
        let mut waits = container("app", "x");
        waits.depends_on.insert("init".into(), Condition::Completed);
        let desired = docker(vec![job.clone(), waits.clone()]);
        let observed = |state| {
            observed_with(vec![
                ("init", in_state(&job, state)),
                ("app", running(&waits, true, 0)),
            ])
        };
        let planned = plan(
            &desired,
            &observed(RunState::Exited(0)),
            &BTreeMap::new(),
            PlanOptions::default(),
        );
        assert_eq!(action_of(&planned, "docker.container:init"), Action::NoOp);
        for state in [RunState::Exited(137), RunState::Created] {
            let planned = plan(
                &desired,
                &observed(state),
                &BTreeMap::new(),
                PlanOptions::default(),
            );
            assert_eq!(
                action_of(&planned, "docker.container:init"),
                Action::Update,
                "{state:?}"
            );
        }

        // A job declared as such, that nothing waits on.
        let mut declared = container("seed", "x");
        declared.job = true;
        let observed = observed_with(vec![("seed", in_state(&declared, RunState::Exited(0)))]);
        let planned = plan_default(vec![declared], &observed);
        assert_eq!(action_of(&planned, "docker.container:seed"), Action::NoOp);
    }

    fn container_op<'a>(planned: &'a Planned, address: &str) -> &'a ContainerOp {
        let change = planned
            .changes
            .iter()
            .find(|c| c.address.to_string() == address)
            .unwrap();
        match change.operation.as_ref().and_then(|o| o.downcast::<DockerOp>()) {
            Some(DockerOp::Container(op)) => op,
            other => panic!("{address}: {other:?}"),
        }
    }

    #[test]
    fn a_renamed_container_or_a_leftover_replacement_is_kept_and_named_back() {
        let web = container("web", "x");
        for name in ["p-web-moved", "p-web-geosync-new"] {
            let mut found = in_state(&web, RunState::Created);
            found.engine_name = name.into();
            let observed = observed_with(vec![("web", found)]);
            let planned = plan_default(vec![web.clone()], &observed);
            assert_eq!(action_of(&planned, "docker.container:web"), Action::Update);
            let op = container_op(&planned, "docker.container:web");
            assert!(op.remove_first.is_empty());
            assert!(
                matches!(&op.step, ContainerStep::Keep { rename_from: Some(from), start: true } if from == name),
                "{:?}",
                op.step
            );
        }
    }

    #[test]
    fn a_foreign_container_that_took_the_name_of_a_renamed_one_is_removed_only_with_adopt() {
        let web = container("web", "x");
        let mut found = running(&web, true, 0);
        found.engine_name = "p-web-moved".into();
        let mut observed = observed_with(vec![("web", found)]);
        observed.foreign.insert(
            "web".into(),
            ForeignContainer {
                engine_name: "p-web".into(),
                compose: None,
            },
        );
        let planned = plan_default(vec![web.clone()], &observed);
        assert!(planned.changes.iter().all(|c| c.address.kind != CONTAINER_KIND));
        assert!(planned.warnings[0]
            .message
            .contains("p-web, not created by geosync, holds its name"));

        let adopt = PlanOptions {
            adopt: true,
            ..Default::default()
        };
        let planned = plan(&docker(vec![web]), &observed, &BTreeMap::new(), adopt);
        let op = container_op(&planned, "docker.container:web");
        assert_eq!(op.remove_first, vec!["p-web".to_string()]);
        assert!(
            matches!(&op.step, ContainerStep::Keep { rename_from: Some(from), start: false } if from == "p-web-moved")
        );
    }

    #[test]
    fn a_leftover_of_an_older_configuration_is_removed_before_the_new_one_is_created() {
        let mut leftover = in_state(&container("web", "old"), RunState::Created);
        leftover.engine_name = "p-web-geosync-new".into();
        let observed = observed_with(vec![("web", leftover)]);
        let planned = plan_default(vec![container("web", "new")], &observed);
        assert_eq!(action_of(&planned, "docker.container:web"), Action::Replace);
        let op = container_op(&planned, "docker.container:web");
        assert_eq!(op.remove_first, vec!["p-web-geosync-new".to_string()]);
        assert!(matches!(&op.step, ContainerStep::Run(run) if run.replaces.is_none()));
    }

    #[test]
    fn strays_go_a_leftover_always_a_duplicate_only_with_prune() {
        let web = container("web", "x");
        let mut found = running(&web, true, 0);
        found.strays = vec!["p-web-geosync-new".into(), "p-web-copy".into()];
        let observed = observed_with(vec![("web", found)]);
        let planned = plan_default(vec![web.clone()], &observed);
        let op = container_op(&planned, "docker.container:web");
        assert_eq!(op.remove_first, vec!["p-web-geosync-new".to_string()]);
        let change = planned.changes.iter().find(|c| c.address.name == "web").unwrap();
        assert!(change
            .reason
            .message
            .contains("p-web-copy is labelled as this container too"));

        let prune = PlanOptions {
            prune: true,
            ..Default::default()
        };
        let planned = plan(&docker(vec![web]), &observed, &BTreeMap::new(), prune);
        let op = container_op(&planned, "docker.container:web");
        assert_eq!(op.remove_first.len(), 2);
    }

    #[test]
    fn a_container_whose_network_was_removed_is_replaced_unless_it_never_ran() {
        let mut web = container("web", "x");
        web.networks.insert("back".into(), Vec::new());
        let mut observed = observed_with(vec![("web", running(&web, false, 0))]);
        observed.networks.insert(
            "back".into(),
            ObservedObject {
                labelled: true,
                disposable: true,
                id: Some("new-id".into()),
            },
        );
        let with_attachment = |state, id: &str| {
            let mut observed = observed.clone();
            let found = observed.containers.get_mut("web").unwrap();
            found.state = state;
            found.networks.insert("p_back".into(), id.into());
            observed
        };
        let desired = docker(vec![web]);
        let action = |observed: &Observed| {
            action_of(
                &plan(&desired, observed, &BTreeMap::new(), PlanOptions::default()),
                "docker.container:web",
            )
        };
        assert_eq!(
            action(&with_attachment(RunState::Exited(0), "old-id")),
            Action::Replace
        );
        assert_eq!(action(&observed), Action::Replace, "not attached at all");
        assert_eq!(
            action(&with_attachment(RunState::Running, "new-id")),
            Action::NoOp
        );
        assert_eq!(action(&with_attachment(RunState::Created, "")), Action::Update);
    }

    #[test]
    fn a_new_image_id_replaces_and_a_foreign_container_is_only_reported() {
        let c = container("web", "x");
        let mut observed = observed_with(vec![("web", running(&c, true, 0))]);
        observed.images.insert(
            "img:1".into(),
            Some(ObservedImage {
                id: "sha256:2".into(),
                context_hash: None,
            }),
        );
        let planned = plan_default(vec![c.clone()], &observed);
        assert_eq!(action_of(&planned, "docker.container:web"), Action::Replace);

        let mut foreign = observed_with(Vec::new());
        foreign.foreign.insert(
            "web".into(),
            ForeignContainer {
                engine_name: "p-web".into(),
                compose: Some(("p".into(), "web".into())),
            },
        );
        let planned = plan(
            &docker(vec![c.clone()]),
            &foreign,
            &BTreeMap::new(),
            PlanOptions::default(),
        );
        assert!(planned.changes.iter().all(|ch| ch.address.kind != CONTAINER_KIND));
        assert!(planned.warnings[0].message.contains("created by Docker Compose"));
        let adopt = PlanOptions {
            adopt: true,
            ..Default::default()
        };
        let planned = plan(&docker(vec![c]), &foreign, &BTreeMap::new(), adopt);
        assert_eq!(action_of(&planned, "docker.container:web"), Action::Replace);
    }

    #[test]
    fn containers_that_left_the_manifest_go_only_with_prune() {
        let old = container("old", "x");
        let observed = observed_with(vec![("old", running(&old, true, 0))]);
        let planned = plan_default(Vec::new(), &observed);
        assert!(planned.changes.is_empty());
        assert_eq!(planned.warnings.len(), 1);
        let prune = PlanOptions {
            prune: true,
            ..Default::default()
        };
        let planned = plan(&docker(Vec::new()), &observed, &BTreeMap::new(), prune);
        assert_eq!(action_of(&planned, "docker.container:old"), Action::Delete);
    }

    #[test]
    fn a_secret_never_reaches_the_labels_and_a_changed_one_recreates() {
        let redactor = crate::manifest::secret::Redactor::default();
        let with = |variable: &str, value: &str| {
            let mut c = container("db", "x");
            std::env::set_var(variable, value);
            let secret = crate::manifest::secret::SecretRef::Env(variable.into())
                .resolve(&redactor)
                .unwrap();
            c.env.insert("PASSWORD".into(), EnvValue::Secret(secret));
            c
        };
        let first = with("GEOSYNC_UNIT_SECRET_A", "first-secret");
        let second = with("GEOSYNC_UNIT_SECRET_B", "second-secret");
        let ((config_a, hash_a), (config_b, hash_b)) = (config_of(&first), config_of(&second));
        assert_eq!(
            (config_a.clone(), hash_a),
            (config_b, hash_b),
            "a label depends on a secret"
        );
        assert!(!config_a.to_string().contains("first-secret"));

        let observed = observed_with(vec![("db", running(&first, true, 0))]);
        let planned = plan_default(vec![second], &observed);
        let change = planned
            .changes
            .iter()
            .find(|c| c.address == Address::new(CONTAINER_KIND, "db"))
            .unwrap();
        assert_eq!(change.action, Action::Replace);
        assert_eq!(change.fields, vec![FieldChange::sensitive("env.PASSWORD")]);
        let planned = plan_default(vec![first], &observed);
        assert_eq!(action_of(&planned, "docker.container:db"), Action::NoOp);
    }
}
