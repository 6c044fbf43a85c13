//! Waiting for a dependency to reach its condition (started, healthy,
//! completed) by polling the engine, with a deadline. A dependency that
//! exits or turns unhealthy fails at once, with its last health log.

use std::time::{Duration, Instant};

use bollard::models::{ContainerStateStatusEnum, HealthStatusEnum};
use bollard::Docker;

use super::diff::WaitFor;
use crate::systems::docker::manifest::Condition;

#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("dependency {name} {problem}")]
    Failed { name: String, problem: String },
    #[error("dependency {name} did not become {condition} within {seconds}s{last}")]
    TimedOut {
        name: String,
        condition: &'static str,
        seconds: u64,
        last: String,
    },
    #[error("dependency {name}")]
    Engine {
        name: String,
        #[source]
        source: bollard::errors::Error,
    },
}

const POLL: Duration = Duration::from_millis(250);

pub async fn wait(docker: &Docker, wait: &WaitFor) -> Result<(), WaitError> {
    let deadline = Instant::now() + Duration::from_millis(wait.timeout_ms);
    let name = wait.engine_name.clone();
    let condition = match wait.condition {
        Condition::Started => "started",
        Condition::Healthy => "healthy",
        Condition::Completed => "completed",
    };
    loop {
        let inspect = docker
            .inspect_container(&name, None)
            .await
            .map_err(|source| WaitError::Engine {
                name: name.clone(),
                source,
            })?;
        let state = inspect.state.unwrap_or_default();
        let exited = matches!(
            state.status,
            Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD)
        );
        let exit_code = state.exit_code.unwrap_or(0);
        let health = state.health.as_ref();
        let last_log = health
            .and_then(|h| h.log.as_ref())
            .and_then(|log| log.last())
            .map(|entry| {
                format!(
                    "; last health check: exit {} {}",
                    entry.exit_code.unwrap_or(-1),
                    entry.output.as_deref().unwrap_or("").trim()
                )
            })
            .unwrap_or_default();
        let failed = |problem: String| {
            Err(WaitError::Failed {
                name: name.clone(),
                problem,
            })
        };
        match wait.condition {
            Condition::Started if state.running == Some(true) => return Ok(()),
            Condition::Completed if exited && exit_code == 0 => return Ok(()),
            Condition::Completed if exited => return failed(format!("exited with code {exit_code}")),
            Condition::Started | Condition::Healthy if exited => {
                return failed(format!("exited with code {exit_code}{last_log}"))
            }
            Condition::Healthy => match health.and_then(|h| h.status) {
                Some(HealthStatusEnum::HEALTHY) => return Ok(()),
                Some(HealthStatusEnum::UNHEALTHY) => return failed(format!("is unhealthy{last_log}")),
                None | Some(HealthStatusEnum::NONE) | Some(HealthStatusEnum::EMPTY) => {
                    return failed("has no healthcheck, so it can never be healthy".into())
                }
                _ => {}
            },
            _ => {}
        }
        if Instant::now() >= deadline {
            return Err(WaitError::TimedOut {
                name,
                condition,
                seconds: wait.timeout_ms / 1000,
                last: last_log,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}
