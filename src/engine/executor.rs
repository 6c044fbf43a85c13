//! Carries out a plan: each change after the changes it depends on,
//! independent changes at once within each system's concurrency limit. A
//! failure stops only what depends on it; everything else still runs, and
//! the report says what succeeded, failed, was skipped or not started.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use futures::stream::{FuturesUnordered, StreamExt};
use serde::Serialize;
use serde_json::json;
use tokio::sync::Semaphore;

use super::journal::{Journal, JournalError};
use crate::manifest::secret::Redactor;
use crate::plan::{Address, Change, Plan};
use crate::systems::System;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    Failed {
        error: String,
    },
    /// Not attempted because a change it depends on did not succeed.
    Skipped {
        because: Address,
    },
    /// Not started because the run was interrupted.
    NotStarted,
}

#[derive(Debug, Default, Serialize)]
pub struct ApplyReport {
    pub results: BTreeMap<Address, Outcome>,
}

impl ApplyReport {
    pub fn all_succeeded(&self) -> bool {
        self.results.values().all(|o| *o == Outcome::Succeeded)
    }

    pub fn count(&self, pick: fn(&Outcome) -> bool) -> usize {
        self.results.values().filter(|o| pick(o)).count()
    }
}

pub struct Executor<'a> {
    pub systems: &'a [Box<dyn System>],
    pub journal: &'a mut Journal,
    pub redactor: &'a Redactor,
}

impl Executor<'_> {
    /// `on_done` is told of each finished change, for progress display.
    pub async fn run(
        self,
        plan: &Plan,
        on_done: &(dyn Fn(&Address, &Outcome) + Sync),
    ) -> Result<ApplyReport, JournalError> {
        let pending: Vec<&Change> = plan.pending().collect();
        let systems: HashMap<&str, &dyn System> =
            self.systems.iter().map(|s| (s.name(), s.as_ref())).collect();
        let limits: HashMap<&str, Arc<Semaphore>> = self
            .systems
            .iter()
            .map(|s| (s.name(), Arc::new(Semaphore::new(s.concurrency().max(1)))))
            .collect();
        let planned: BTreeSet<&Address> = pending.iter().map(|c| &c.address).collect();
        // Every other change waits for the preflight ones, and is skipped
        // if one of them fails: nothing is changed before, say, every
        // image a run needs is there.
        let preflight: Vec<&Address> = pending
            .iter()
            .filter(|c| c.preflight)
            .map(|c| &c.address)
            .collect();

        let mut report = ApplyReport::default();
        let mut waiting: Vec<&Change> = pending.clone();
        let mut running = FuturesUnordered::new();
        let mut interrupted = false;
        let mut ctrl_c = Box::pin(tokio::signal::ctrl_c());

        loop {
            if !interrupted {
                // Start everything whose dependencies are settled.
                let mut still_waiting = Vec::new();
                for change in waiting.drain(..) {
                    let mut deps: Vec<&Address> =
                        change.depends_on.iter().filter(|d| planned.contains(d)).collect();
                    if !change.preflight {
                        deps.extend(preflight.iter().copied());
                    }
                    if let Some(blocker) = deps
                        .iter()
                        .find(|d| report.results.get(**d).is_some_and(|o| *o != Outcome::Succeeded))
                    {
                        let outcome = Outcome::Skipped {
                            because: (*blocker).clone(),
                        };
                        self.journal.record(
                            "change",
                            json!({ "address": change.address, "action": change.action, "result": outcome }),
                        )?;
                        on_done(&change.address, &outcome);
                        report.results.insert(change.address.clone(), outcome);
                    } else if deps.iter().all(|d| report.results.contains_key(*d)) {
                        let system = systems.get(change.address.system()).copied();
                        let limit = limits.get(change.address.system()).cloned();
                        running.push(async move {
                            let started = Instant::now();
                            let result = match (system, limit) {
                                (Some(system), Some(limit)) => {
                                    let _permit =
                                        limit.acquire_owned().await.expect("semaphore never closed");
                                    system.apply(change).await.map_err(|e| error_chain(e.as_ref()))
                                }
                                _ => Err(format!("no system handles {}", change.address.kind)),
                            };
                            (change, result, started.elapsed())
                        });
                    } else {
                        still_waiting.push(change);
                    }
                }
                waiting = still_waiting;
            }
            if running.is_empty() {
                break;
            }
            tokio::select! {
                Some((change, result, elapsed)) = running.next() => {
                    let outcome = match result {
                        Ok(()) => Outcome::Succeeded,
                        Err(error) => Outcome::Failed { error: self.redactor.redact(&error) },
                    };
                    self.journal.record("change", json!({
                        "address": change.address,
                        "action": change.action,
                        "duration_ms": elapsed.as_millis() as u64,
                        "result": outcome,
                    }))?;
                    on_done(&change.address, &outcome);
                    report.results.insert(change.address.clone(), outcome);
                }
                _ = &mut ctrl_c, if !interrupted => {
                    // Let running changes finish: each is atomic on its own.
                    interrupted = true;
                }
            }
        }
        for change in waiting {
            let outcome = Outcome::NotStarted;
            self.journal.record(
                "change",
                json!({ "address": change.address, "action": change.action, "result": outcome }),
            )?;
            report.results.insert(change.address.clone(), outcome);
        }
        Ok(report)
    }
}

/// "a: b: c" from an error and its sources, the way people read causes.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use futures::future::BoxFuture;

    use super::*;
    use crate::manifest::secret::Redactor;
    use crate::plan::{Action, PlanOptions, Reason};
    use crate::systems::{BoxError, SystemPlan};

    /// A system of the test's own that records the order of its applies and
    /// fails the changes it is told to.
    struct Recorder {
        failing: Vec<&'static str>,
        applied: Arc<Mutex<Vec<String>>>,
    }

    impl System for Recorder {
        fn name(&self) -> &'static str {
            "test"
        }
        fn concurrency(&self) -> usize {
            2
        }
        fn plan(&self, _: PlanOptions) -> BoxFuture<'_, Result<SystemPlan, BoxError>> {
            unreachable!("the executor never plans")
        }
        fn apply<'a>(&'a self, change: &'a Change) -> BoxFuture<'a, Result<(), BoxError>> {
            Box::pin(async move {
                self.applied.lock().unwrap().push(change.address.name.clone());
                if self.failing.contains(&change.address.name.as_str()) {
                    return Err("refused by the test system".into());
                }
                Ok(())
            })
        }
    }

    fn change(name: &str, depends_on: &[&str]) -> Change {
        Change {
            address: Address::new("test.thing", name),
            action: Action::Create,
            reason: Reason::new("absent", "absent"),
            fields: Vec::new(),
            content_diff: None,
            depends_on: depends_on.iter().map(|d| Address::new("test.thing", d)).collect(),
            fingerprint: String::new(),
            preflight: false,
            operation: None,
        }
    }

    #[tokio::test]
    async fn dependents_of_a_failure_are_skipped_and_the_rest_runs_in_order() {
        let plan = Plan::new(
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            PlanOptions::default(),
            vec![
                change("db", &[]),
                change("app", &["db"]),
                change("web", &["app"]),
                change("broken", &[]),
                change("after-broken", &["broken"]),
                change("then", &["after-broken"]),
            ],
            Vec::new(),
        );
        let applied = Arc::new(Mutex::new(Vec::new()));
        let recorder = Recorder {
            failing: vec!["broken"],
            applied: applied.clone(),
        };
        let systems: Vec<Box<dyn System>> = vec![Box::new(recorder)];
        let dir = tempfile::tempdir().unwrap();
        let mut journal =
            Journal::open(&dir.path().join("j.jsonl"), "run".into(), Redactor::default()).unwrap();
        let report = Executor {
            systems: &systems,
            journal: &mut journal,
            redactor: &Redactor::default(),
        }
        .run(&plan, &|_, _| {})
        .await
        .unwrap();

        let outcome = |name: &str| report.results[&Address::new("test.thing", name)].clone();
        assert_eq!(outcome("web"), Outcome::Succeeded);
        assert!(matches!(outcome("broken"), Outcome::Failed { .. }));
        assert_eq!(
            outcome("after-broken"),
            Outcome::Skipped {
                because: Address::new("test.thing", "broken")
            }
        );
        assert_eq!(
            outcome("then"),
            Outcome::Skipped {
                because: Address::new("test.thing", "after-broken")
            }
        );
        let applied = applied.lock().unwrap().clone();
        let position = |name: &str| applied.iter().position(|a| a == name).unwrap();
        assert!(position("db") < position("app") && position("app") < position("web"));
        assert!(!applied.contains(&"after-broken".to_string()));
        let journal = std::fs::read_to_string(dir.path().join("j.jsonl")).unwrap();
        assert_eq!(journal.lines().count(), 6);
    }
}
