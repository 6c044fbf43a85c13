//! Planning one declared container: create, replace, repair (rename back,
//! start, clear leftovers) or leave it alone. Pure.

use serde_json::json;

use super::{
    change, config_of, ContainerOp, ContainerStep, Context, DockerOp, Planned, RunContainer, WaitFor,
    IMAGE_KIND,
};
use crate::plan::{Action, Address, FieldChange, Reason, Warning};
use crate::systems::docker::manifest::{Condition, DockerContainer, EnvValue, MountSource};
use crate::systems::docker::manifest::{CONTAINER_KIND, NETWORK_KIND, VOLUME_KIND};
use crate::systems::docker::names;
use crate::systems::docker::observed::{ForeignContainer, ObservedContainer, RunState};

/// A container's planned change, before it is put in its envelope.
struct Decision {
    action: Action,
    reason: Reason,
    fields: Vec<FieldChange>,
    step: Option<ContainerStep>,
    remove_first: Vec<String>,
}

impl Decision {
    fn new(action: Action, reason: Reason, fields: Vec<FieldChange>, step: Option<ContainerStep>) -> Self {
        Decision {
            action,
            reason,
            fields,
            step,
            remove_first: Vec::new(),
        }
    }
}

pub(super) fn plan_container(context: &Context, container: &DockerContainer, planned: &mut Planned) {
    let address = Address::new(CONTAINER_KIND, &container.name);
    let observed = context.observed;
    let existing = observed.containers.get(&container.name);
    let foreign = observed.foreign.get(&container.name);
    let decision = match (existing, foreign) {
        (Some(existing), foreign) => {
            let holder = foreign.map(|f| f.engine_name.as_str());
            existing_decision(context, container, existing, holder)
        }
        (None, Some(foreign)) => foreign_decision(context, container, foreign),
        (None, None) => Ok(created(context, container)),
    };
    let decision = match decision {
        Ok(decision) => decision,
        Err(message) => {
            planned.warnings.push(Warning {
                address: Some(address),
                message,
            });
            return;
        }
    };
    let op = decision.step.map(|step| {
        DockerOp::Container(Box::new(ContainerOp {
            engine_name: names::container(&context.desired.project, &container.name),
            remove_first: decision.remove_first,
            step,
            wait_for: wait_for(context, container),
        }))
    });
    planned.changes.push(change(
        address,
        decision.action,
        decision.reason,
        decision.fields,
        dependencies(container),
        op,
    ));
}

/// A container geosync did not create holds the name: replaced only with
/// `--adopt`, else Err is the warning that says so.
fn foreign_decision(
    context: &Context,
    container: &DockerContainer,
    foreign: &ForeignContainer,
) -> Result<Decision, String> {
    let origin = match &foreign.compose {
        Some((p, s)) => format!(
            "{} was created by Docker Compose (project {p}, service {s})",
            foreign.engine_name
        ),
        None => format!("{} exists and was not created by geosync", foreign.engine_name),
    };
    if !context.options.adopt {
        return Err(format!("{origin}: left alone (--adopt replaces it)"));
    }
    Ok(Decision::new(
        Action::Replace,
        Reason::new("adopt", format!("{origin}: replaced (--adopt)")),
        Vec::new(),
        Some(run(container, Some(foreign.engine_name.clone()))),
    ))
}

fn run(container: &DockerContainer, replaces: Option<String>) -> ContainerStep {
    let (config, hash) = config_of(container);
    ContainerStep::Run(Box::new(RunContainer {
        container: container.clone(),
        config_hash: hash,
        config_json: config.to_string(),
        replaces,
    }))
}

fn created(context: &Context, container: &DockerContainer) -> Decision {
    let engine_name = names::container(&context.desired.project, &container.name);
    let (config, _) = config_of(container);
    Decision::new(
        Action::Create,
        Reason::new("absent", format!("{engine_name} does not exist")),
        super::config_fields(None, &config),
        Some(run(container, None)),
    )
}

/// What must exist before the container is created or started.
fn dependencies(container: &DockerContainer) -> Vec<Address> {
    let mut depends_on: Vec<Address> = container
        .networks
        .keys()
        .map(|n| Address::new(NETWORK_KIND, n))
        .collect();
    depends_on.extend(container.mounts.iter().filter_map(|m| match &m.source {
        MountSource::Volume(v) => Some(Address::new(VOLUME_KIND, v)),
        MountSource::Bind(_) | MountSource::Anonymous => None,
    }));
    depends_on.push(Address::new(IMAGE_KIND, &container.image));
    depends_on.extend(
        container
            .depends_on
            .keys()
            .map(|d| Address::new(CONTAINER_KIND, d)),
    );
    depends_on
}

fn wait_for(context: &Context, container: &DockerContainer) -> Vec<WaitFor> {
    let desired = context.desired;
    container
        .depends_on
        .iter()
        .map(|(dependency, condition)| WaitFor {
            engine_name: names::container(&desired.project, dependency),
            condition: *condition,
            timeout_ms: desired
                .containers
                .iter()
                .find(|c| &c.name == dependency)
                .map_or(60_000, |c| c.wait_timeout_ms),
        })
        .collect()
}

/// A one-shot job: declared `job = true`, or waited on by another
/// container to have `completed`. Only such a container is done when it
/// exited 0; any other is started again, as `docker compose up` does.
fn is_job(context: &Context, container: &DockerContainer) -> bool {
    container.job
        || context
            .desired
            .containers
            .iter()
            .any(|c| c.depends_on.get(&container.name) == Some(&Condition::Completed))
}

/// The container exists (found by its labels): `holder` is a container
/// geosync did not create that holds its name meanwhile. Err is a warning
/// when it is left alone.
fn existing_decision(
    context: &Context,
    container: &DockerContainer,
    existing: &ObservedContainer,
    holder: Option<&str>,
) -> Result<Decision, String> {
    let project = &context.desired.project;
    let engine_name = names::container(project, &container.name);
    let leftover = names::replacement(project, &container.name);
    let mut remove_first: Vec<String> = Vec::new();
    let mut warnings = Vec::new();
    for stray in &existing.strays {
        if *stray == leftover || context.options.prune {
            remove_first.push(stray.clone());
        } else {
            warnings.push(format!(
                "{stray} is labelled as this container too (a duplicate): kept (--prune removes it)"
            ));
        }
    }
    if let Some(holder) = holder {
        if !context.options.adopt {
            return Err(format!(
                "{} is this container, renamed; {holder}, not created by geosync, holds its name: left alone (--adopt replaces it)",
                existing.engine_name
            ));
        }
        remove_first.push(holder.to_string());
    }
    let mut decision = match replace_reason(context, container, existing) {
        Some((reason, fields)) => {
            // A replacement an interrupted apply left is not worth keeping.
            let replaces = if existing.engine_name == leftover {
                remove_first.push(leftover.clone());
                None
            } else {
                Some(existing.engine_name.clone())
            };
            Decision::new(Action::Replace, reason, fields, Some(run(container, replaces)))
        }
        None => repair(context, container, existing, &engine_name, &remove_first),
    };
    decision.remove_first = remove_first;
    match warnings.is_empty() {
        true => Ok(decision),
        // A duplicate is kept: say so beside whatever else is planned.
        false if decision.action == Action::NoOp => Err(warnings.join("; ")),
        false => {
            decision.reason.message = format!("{}; {}", decision.reason.message, warnings.join("; "));
            Ok(decision)
        }
    }
}

/// Why the container must be recreated, if it must.
fn replace_reason(
    context: &Context,
    container: &DockerContainer,
    existing: &ObservedContainer,
) -> Option<(Reason, Vec<FieldChange>)> {
    let (config, hash) = config_of(container);
    let current_image = context
        .observed
        .images
        .get(&container.image)
        .and_then(Option::as_ref)
        .map(|i| i.id.clone());
    let has_secrets = container.env.values().any(|v| matches!(v, EnvValue::Secret(_)));
    if has_secrets && existing.config_hash.as_deref() == Some(super::legacy_hash(container).as_str()) {
        let message =
            "its labels hold a digest of its secrets (written by an older geosync): recreated once without it";
        return Some((Reason::new("label_digest", message), Vec::new()));
    }
    if existing.config_hash.as_deref() != Some(hash.as_str()) {
        let fields = super::config_fields(existing.config.as_ref(), &config);
        return Some((Reason::new("config_changed", "its configuration changed"), fields));
    }
    let secrets = super::changed_secrets(container, existing);
    if !secrets.is_empty() {
        let message = "a secret of its environment changed";
        return Some((Reason::new("secret_changed", message), secrets));
    }
    if context.image_changes.contains(&container.image) {
        let message = format!("its image {} is pulled or rebuilt first", container.image);
        return Some((Reason::new("image_changes", message), Vec::new()));
    }
    if current_image.is_some() && existing.image_id != current_image {
        let message = format!("{} now names another image", container.image);
        let field = FieldChange::new(
            "image_id",
            existing.image_id.as_ref().map(|i| json!(i)),
            current_image.as_ref().map(|i| json!(i)),
        );
        return Some((Reason::new("image_changed", message), vec![field]));
    }
    lost_network(context, container, existing).map(|network| {
        let message =
            format!("network {network} was removed or recreated since it was created: recreated to join it");
        let field = FieldChange::new("networks", Some(json!("lost")), Some(json!(network)));
        (Reason::new("network_lost", message), vec![field])
    })
}

/// A declared network the container is not attached to as it is now: an
/// engine refuses to start a container whose network was removed, even
/// when one of the same name was created since. A container that never
/// ran is not attached yet (no id): the engine finds its networks by name
/// when it starts.
fn lost_network(
    context: &Context,
    container: &DockerContainer,
    existing: &ObservedContainer,
) -> Option<String> {
    container.networks.keys().find_map(|network| {
        let engine_name = names::network(&context.desired.project, network);
        let now = context
            .observed
            .networks
            .get(network)
            .and_then(|n| n.id.as_deref());
        let lost = match existing.networks.get(&engine_name).map(String::as_str) {
            None => true,
            Some("") => false,
            attached => now.is_none() || attached != now,
        };
        lost.then_some(engine_name)
    })
}

/// The configuration is right: give the container its name back, start it
/// if it should run, clear what stands beside it.
fn repair(
    context: &Context,
    container: &DockerContainer,
    existing: &ObservedContainer,
    engine_name: &str,
    remove_first: &[String],
) -> Decision {
    let renamed = existing.engine_name != engine_name;
    let start = match existing.state {
        RunState::Running => false,
        RunState::Created => true,
        RunState::Exited(code) => !(code == 0 && is_job(context, container)),
    };
    let leftover = names::replacement(&context.desired.project, &container.name);
    let Some(reason) = repair_reason(existing, engine_name, &leftover, start, remove_first) else {
        let state = if existing.state == RunState::Running {
            "running"
        } else {
            "completed"
        };
        return Decision::new(
            Action::NoOp,
            Reason::new("in_sync", format!("{state}, as declared")),
            Vec::new(),
            None,
        );
    };
    let mut fields = Vec::new();
    if renamed {
        fields.push(FieldChange::new(
            "name",
            Some(json!(existing.engine_name)),
            Some(json!(engine_name)),
        ));
    }
    if start {
        fields.push(FieldChange::new("running", Some(json!(false)), Some(json!(true))));
    }
    if !remove_first.is_empty() {
        fields.push(FieldChange::new("leftovers", Some(json!(remove_first)), None));
    }
    let rename_from = renamed.then(|| existing.engine_name.clone());
    Decision::new(
        Action::Update,
        reason,
        fields,
        Some(ContainerStep::Keep { rename_from, start }),
    )
}

/// Why a container with the right configuration needs work; None when it
/// does not.
fn repair_reason(
    existing: &ObservedContainer,
    engine_name: &str,
    leftover: &str,
    start: bool,
    remove_first: &[String],
) -> Option<Reason> {
    let renamed = existing.engine_name != engine_name;
    Some(if renamed && existing.engine_name == leftover {
        Reason::new(
            "interrupted_replace",
            format!("an interrupted apply left it as {leftover}: renamed and started"),
        )
    } else if renamed {
        Reason::new(
            "renamed",
            format!(
                "renamed by hand to {}: its name is given back",
                existing.engine_name
            ),
        )
    } else if start && existing.state == RunState::Created {
        Reason::new("stopped", format!("{engine_name} was created but never started"))
    } else if start {
        Reason::new("stopped", format!("{engine_name} is stopped"))
    } else if !remove_first.is_empty() {
        Reason::new("leftovers", format!("{} removed", remove_first.join(", ")))
    } else {
        return None;
    })
}
