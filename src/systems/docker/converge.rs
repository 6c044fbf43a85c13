//! Carrying out a container's planned operation on the engine. Every step
//! can run again after an interruption (kill -9 included): what an earlier
//! run left is found by label at the next plan and finished or removed.

use bollard::models::NetworkConnectRequest;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, RenameContainerOptions,
    StopContainerOptionsBuilder,
};
use bollard::Docker;

use super::diff::{ContainerOp, ContainerStep, RunContainer};
use super::{already, engine, health, names, spec, DockerSystemError};

pub async fn converge(docker: &Docker, project: &str, op: &ContainerOp) -> Result<(), DockerSystemError> {
    for name in &op.remove_first {
        remove(docker, name).await?;
    }
    match &op.step {
        ContainerStep::Run(run) => {
            for wait in &op.wait_for {
                health::wait(docker, wait).await?;
            }
            create_in_place(docker, project, &op.engine_name, run).await?;
            start(docker, &op.engine_name).await
        }
        ContainerStep::Keep {
            rename_from,
            start: should_start,
        } => {
            if let Some(from) = rename_from {
                rename(docker, from, &op.engine_name).await?;
            }
            if *should_start {
                for wait in &op.wait_for {
                    health::wait(docker, wait).await?;
                }
                start(docker, &op.engine_name).await?;
            }
            Ok(())
        }
    }
}

/// Creates the container under its name. A replacement is created first
/// under a temporary name while the old one keeps running; the old one is
/// then stopped and removed, and the new one takes its name.
async fn create_in_place(
    docker: &Docker,
    project: &str,
    engine_name: &str,
    run: &RunContainer,
) -> Result<(), DockerSystemError> {
    let create_as = match &run.replaces {
        Some(_) => names::replacement(project, &run.container.name),
        None => engine_name.to_string(),
    };
    // A replacement left by an interrupted run is not needed any more.
    remove(docker, &create_as).await?;
    create(docker, project, &create_as, run).await?;
    if let Some(old) = &run.replaces {
        // The old container ran until the new one existed.
        remove(docker, old).await?;
        rename(docker, &create_as, engine_name).await?;
    }
    Ok(())
}

async fn create(
    docker: &Docker,
    project: &str,
    name: &str,
    run: &RunContainer,
) -> Result<(), DockerSystemError> {
    let image = docker
        .inspect_image(&run.container.image)
        .await
        .map_err(engine(format!("image {}", run.container.image)))?;
    let image_id = image.id.clone().unwrap_or_default();
    // Anonymous volumes outlive a replace where compose keeps them.
    let inherited = match &run.replaces {
        Some(old) => super::anonymous::inherited(docker, old, &run.container.mounts, &image).await?,
        None => Default::default(),
    };
    let body = spec::create_body(run, project, &image_id, &inherited);
    docker
        .create_container(
            Some(CreateContainerOptionsBuilder::default().name(name).build()),
            body,
        )
        .await
        .map_err(engine(format!("creating {name}")))?;
    for (network, endpoint) in spec::other_networks(run, project) {
        docker
            .connect_network(
                &network,
                NetworkConnectRequest {
                    container: name.to_string(),
                    endpoint_config: Some(endpoint),
                },
            )
            .await
            .map_err(engine(format!("connecting {name} to {network}")))?;
    }
    Ok(())
}

async fn rename(docker: &Docker, from: &str, to: &str) -> Result<(), DockerSystemError> {
    docker
        .rename_container(from, RenameContainerOptions { name: to.to_string() })
        .await
        .map_err(engine(format!("renaming {from} to {to}")))
}

async fn start(docker: &Docker, name: &str) -> Result<(), DockerSystemError> {
    already(docker.start_container(name, None).await, &[304]).map_err(engine(format!("starting {name}")))
}

/// Stops (10 s grace) and removes a container; one already gone is done.
pub async fn remove(docker: &Docker, name: &str) -> Result<(), DockerSystemError> {
    already(
        docker
            .stop_container(name, Some(StopContainerOptionsBuilder::default().t(10).build()))
            .await,
        &[304, 404],
    )
    .map_err(engine(format!("stopping {name}")))?;
    already(
        docker
            .remove_container(
                name,
                Some(RemoveContainerOptionsBuilder::default().force(true).build()),
            )
            .await,
        &[404],
    )
    .map_err(engine(format!("removing {name}")))
}
