//! Pure planning for Docker: desired objects and what the engine has in,
//! typed operations out. A container's whole configuration is hashed and
//! recorded on it: only a change of that hash (or of its image) recreates
//! it, never a default the image or the daemon added.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::names;
use super::observed::Observed;
use crate::plan::{
    fingerprint, Action, Address, Change, FieldChange, Operation, PlanOptions, Reason, Warning,
};
use crate::systems::docker::manifest::{
    Condition, Docker, DockerContainer, DockerNetwork, DockerVolume, EnvValue, PullPolicy,
};
use crate::systems::docker::manifest::{CONTAINER_KIND, NETWORK_KIND, VOLUME_KIND};

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
    /// Create (or replace) and start a container, once its dependencies
    /// reached their conditions.
    Run(Box<RunContainer>),
    Start {
        engine_name: String,
        wait_for: Vec<WaitFor>,
    },
    Remove(String),
}

#[derive(Debug, Clone)]
pub struct RunContainer {
    pub container: DockerContainer,
    pub engine_name: String,
    pub config_hash: String,
    pub config_json: String,
    /// The container this one replaces (ours, or adopted).
    pub replaces: Option<String>,
    pub wait_for: Vec<WaitFor>,
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
    #[error("{subject}: image {image} is not on the engine and pull = \"never\"")]
    ImageNeverPulled { subject: String, image: String },
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
fn changed_secrets(
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
fn legacy_hash(container: &DockerContainer) -> String {
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
    let project = &desired.project;

    // Images first: what will be pulled or built decides what is recreated.
    let mut image_changes: BTreeSet<String> = BTreeSet::new();
    let mut seen_images = BTreeSet::new();
    for container in &desired.containers {
        if !seen_images.insert(container.image.clone()) {
            continue;
        }
        let address = Address::new(IMAGE_KIND, &container.image);
        let present = observed.images.get(&container.image).and_then(Option::as_ref);
        let (action, reason, op) = match (&container.build, present, container.pull) {
            (Some(build), _, _) => {
                let hash = context_hashes.get(&container.image).cloned().unwrap_or_default();
                match present {
                    None => (
                        Action::Create,
                        Reason::new("absent", "not on the engine: built"),
                        Some(DockerOp::Build {
                            image: container.image.clone(),
                            build: build.clone(),
                            context_hash: hash,
                        }),
                    ),
                    Some(image) if image.context_hash.as_deref() != Some(hash.as_str()) => (
                        Action::Update,
                        Reason::new(
                            "context_changed",
                            format!("the build context {} changed: rebuilt", build.context.display()),
                        ),
                        Some(DockerOp::Build {
                            image: container.image.clone(),
                            build: build.clone(),
                            context_hash: hash,
                        }),
                    ),
                    Some(_) => (
                        Action::NoOp,
                        Reason::new("in_sync", "built from the current context"),
                        None,
                    ),
                }
            }
            (None, None, PullPolicy::Never) => {
                planned.errors.push(DockerPlanError::ImageNeverPulled {
                    subject: format!("{CONTAINER_KIND}:{}", container.name),
                    image: container.image.clone(),
                });
                continue;
            }
            (None, None, _) => (
                Action::Create,
                Reason::new("absent", "not on the engine: pulled"),
                Some(DockerOp::Pull(container.image.clone())),
            ),
            (None, Some(_), PullPolicy::Always) => (
                Action::Update,
                Reason::new("pull_always", "pulled on every apply (pull = \"always\")"),
                Some(DockerOp::Pull(container.image.clone())),
            ),
            (None, Some(_), _) => (Action::NoOp, Reason::new("in_sync", "on the engine"), None),
        };
        if action != Action::NoOp {
            image_changes.insert(container.image.clone());
        }
        let mut image_change = change(address, action, reason, Vec::new(), Vec::new(), op);
        image_change.preflight = true;
        planned.changes.push(image_change);
    }

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
        if existing.labelled && !desired.networks.iter().any(|n| &n.name == name) {
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
                    message: "created by geosync, no longer in the manifest: kept (--prune removes it)"
                        .into(),
                });
            }
        }
    }

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
        if existing.labelled && !desired.volumes.iter().any(|v| &v.name == name) {
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

    for container in &desired.containers {
        plan_container(
            desired,
            container,
            observed,
            &image_changes,
            options,
            &mut planned,
        );
    }
    for (name, existing) in &observed.containers {
        if desired.containers.iter().any(|c| &c.name == name) {
            continue;
        }
        let address = Address::new(CONTAINER_KIND, name);
        if options.prune {
            planned.changes.push(change(
                address,
                Action::Delete,
                Reason::new("left_manifest", "no longer in the manifest (--prune)"),
                Vec::new(),
                Vec::new(),
                Some(DockerOp::Remove(existing.engine_name.clone())),
            ));
        } else {
            planned.warnings.push(Warning {
                address: Some(address),
                message: format!(
                    "{} was created by geosync and is no longer in the manifest: kept (--prune removes it)",
                    existing.engine_name
                ),
            });
        }
    }
    planned
}

/// A network or volume: created when absent, else used as it is, whoever
/// created it (a volume holds data: it is never recreated).
fn create_if_absent(
    address: Address,
    engine_name: &str,
    driver: &str,
    existing: Option<&super::observed::ObservedObject>,
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

fn plan_container(
    desired: &Docker,
    container: &DockerContainer,
    observed: &Observed,
    image_changes: &BTreeSet<String>,
    options: PlanOptions,
    planned: &mut Planned,
) {
    let project = &desired.project;
    let address = Address::new(CONTAINER_KIND, &container.name);
    let engine_name = names::container(project, &container.name);
    let (config, hash) = config_of(container);
    let mut depends_on: Vec<Address> = container
        .networks
        .keys()
        .map(|n| Address::new(NETWORK_KIND, n))
        .collect();
    depends_on.extend(container.mounts.iter().filter_map(|m| match &m.source {
        crate::systems::docker::manifest::MountSource::Volume(v) => Some(Address::new(VOLUME_KIND, v)),
        crate::systems::docker::manifest::MountSource::Bind(_) => None,
    }));
    depends_on.push(Address::new(IMAGE_KIND, &container.image));
    depends_on.extend(
        container
            .depends_on
            .keys()
            .map(|d| Address::new(CONTAINER_KIND, d)),
    );
    let wait_for: Vec<WaitFor> = container
        .depends_on
        .iter()
        .map(|(dependency, condition)| WaitFor {
            engine_name: names::container(project, dependency),
            condition: *condition,
            timeout_ms: desired
                .containers
                .iter()
                .find(|c| &c.name == dependency)
                .map_or(60_000, |c| c.wait_timeout_ms),
        })
        .collect();
    let run = |replaces: Option<String>| {
        DockerOp::Run(Box::new(RunContainer {
            container: container.clone(),
            engine_name: engine_name.clone(),
            config_hash: hash.clone(),
            config_json: config.to_string(),
            replaces,
            wait_for: wait_for.clone(),
        }))
    };
    let image_will_change = image_changes.contains(&container.image);
    let current_image = observed
        .images
        .get(&container.image)
        .and_then(Option::as_ref)
        .map(|i| i.id.clone());

    let (action, reason, fields, op) = if let Some(existing) = observed.containers.get(&container.name) {
        let secrets = changed_secrets(container, existing);
        let has_secrets = container.env.values().any(|v| matches!(v, EnvValue::Secret(_)));
        if has_secrets && existing.config_hash.as_deref() == Some(legacy_hash(container).as_str()) {
            (
                Action::Replace,
                Reason::new(
                    "label_digest",
                    "its labels hold a digest of its secrets (written by an older geosync): recreated once without it",
                ),
                Vec::new(),
                Some(run(Some(existing.engine_name.clone()))),
            )
        } else if existing.config_hash.as_deref() != Some(hash.as_str()) {
            let fields = config_fields(existing.config.as_ref(), &config);
            (
                Action::Replace,
                Reason::new("config_changed", "its configuration changed"),
                fields,
                Some(run(Some(existing.engine_name.clone()))),
            )
        } else if !secrets.is_empty() {
            (
                Action::Replace,
                Reason::new("secret_changed", "a secret of its environment changed"),
                secrets,
                Some(run(Some(existing.engine_name.clone()))),
            )
        } else if image_will_change {
            (
                Action::Replace,
                Reason::new(
                    "image_changes",
                    format!("its image {} is pulled or rebuilt first", container.image),
                ),
                Vec::new(),
                Some(run(Some(existing.engine_name.clone()))),
            )
        } else if current_image.is_some() && existing.image_id != current_image {
            (
                Action::Replace,
                Reason::new(
                    "image_changed",
                    format!("{} now names another image", container.image),
                ),
                vec![FieldChange::new(
                    "image_id",
                    existing.image_id.as_ref().map(|i| json!(i)),
                    current_image.as_ref().map(|i| json!(i)),
                )],
                Some(run(Some(existing.engine_name.clone()))),
            )
        } else if !existing.running && !completed_job(existing.exit_code, &container.restart) {
            (
                Action::Update,
                Reason::new("stopped", format!("{} is stopped", existing.engine_name)),
                vec![FieldChange::new("running", Some(json!(false)), Some(json!(true)))],
                Some(DockerOp::Start {
                    engine_name: existing.engine_name.clone(),
                    wait_for: wait_for.clone(),
                }),
            )
        } else {
            let state = if existing.running { "running" } else { "completed" };
            (
                Action::NoOp,
                Reason::new("in_sync", format!("{state}, as declared")),
                Vec::new(),
                None,
            )
        }
    } else if let Some(foreign) = observed.foreign.get(&container.name) {
        let origin = match &foreign.compose {
            Some((p, s)) => format!(
                "{} was created by Docker Compose (project {p}, service {s})",
                foreign.engine_name
            ),
            None => format!("{} exists and was not created by geosync", foreign.engine_name),
        };
        if !options.adopt {
            planned.warnings.push(Warning {
                address: Some(address),
                message: format!("{origin}: left alone (--adopt replaces it)"),
            });
            return;
        }
        (
            Action::Replace,
            Reason::new("adopt", format!("{origin}: replaced (--adopt)")),
            Vec::new(),
            Some(run(Some(foreign.engine_name.clone()))),
        )
    } else {
        let fields = config_fields(None, &config);
        (
            Action::Create,
            Reason::new("absent", format!("{engine_name} does not exist")),
            fields,
            Some(run(None)),
        )
    };
    planned
        .changes
        .push(change(address, action, reason, fields, depends_on, op));
}

/// A one-shot job (such as a datadir initialisation) that ran to success:
/// starting it again on every apply would redo its work.
fn completed_job(exit_code: i64, restart: &str) -> bool {
    exit_code == 0 && restart == "no"
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
    use crate::systems::docker::observed::{ForeignContainer, ObservedContainer, ObservedImage};

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
        let (config, hash) = config_of(c);
        ObservedContainer {
            engine_name: format!("p-{}", c.name),
            running,
            exit_code,
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
        let same = plan(
            &docker(vec![before.clone()]),
            &observed,
            &BTreeMap::new(),
            PlanOptions::default(),
        );
        assert_eq!(action_of(&same, "docker.container:db"), Action::NoOp);

        let changed = plan(
            &docker(vec![container("db", "prod")]),
            &observed,
            &BTreeMap::new(),
            PlanOptions::default(),
        );
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
    fn stopped_is_started_but_a_completed_job_is_left_alone() {
        let job = container("init", "x");
        let done = observed_with(vec![("init", running(&job, false, 0))]);
        let planned = plan(
            &docker(vec![job.clone()]),
            &done,
            &BTreeMap::new(),
            PlanOptions::default(),
        );
        assert_eq!(action_of(&planned, "docker.container:init"), Action::NoOp);

        let failed = observed_with(vec![("init", running(&job, false, 137))]);
        let planned = plan(
            &docker(vec![job]),
            &failed,
            &BTreeMap::new(),
            PlanOptions::default(),
        );
        assert_eq!(action_of(&planned, "docker.container:init"), Action::Update);
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
        let planned = plan(
            &docker(vec![c.clone()]),
            &observed,
            &BTreeMap::new(),
            PlanOptions::default(),
        );
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
        let planned = plan(
            &docker(Vec::new()),
            &observed,
            &BTreeMap::new(),
            PlanOptions::default(),
        );
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
        let planned = plan(
            &docker(vec![second]),
            &observed,
            &BTreeMap::new(),
            PlanOptions::default(),
        );
        let change = planned
            .changes
            .iter()
            .find(|c| c.address == Address::new(CONTAINER_KIND, "db"))
            .unwrap();
        assert_eq!(change.action, Action::Replace);
        assert_eq!(change.fields, vec![FieldChange::sensitive("env.PASSWORD")]);
        let planned = plan(
            &docker(vec![first]),
            &observed,
            &BTreeMap::new(),
            PlanOptions::default(),
        );
        assert_eq!(action_of(&planned, "docker.container:db"), Action::NoOp);
    }
}
