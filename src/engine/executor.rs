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

use super::journal::Journal;
use crate::error_chain::error_chain;
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

/// The state of one run: what is still to start, and what has settled.
struct Progress<'p> {
    waiting: Vec<&'p Change>,
    planned: BTreeSet<&'p Address>,
    preflight: Vec<&'p Address>,
    report: ApplyReport,
}

impl<'p> Progress<'p> {
    /// The changes `change` waits for: its planned dependencies, and every
    /// preflight change unless it is one.
    fn dependencies(&self, change: &'p Change) -> Vec<&'p Address> {
        let mut deps: Vec<&Address> = change
            .depends_on
            .iter()
            .filter(|d| self.planned.contains(d))
            .collect();
        if !change.preflight {
            deps.extend(self.preflight.iter().copied());
        }
        deps
    }

    fn finished(
        &mut self,
        journal: &mut Journal,
        on_done: &(dyn Fn(&Address, &Outcome) + Sync),
        change: &Change,
        outcome: Outcome,
        elapsed: std::time::Duration,
    ) {
        journal.record(
            "change",
            json!({
                "address": change.address,
                "action": change.action,
                "duration_ms": elapsed.as_millis() as u64,
                "result": outcome,
            }),
        );
        on_done(&change.address, &outcome);
        self.report.results.insert(change.address.clone(), outcome);
    }

    /// Only an interruption leaves changes waiting: everything else
    /// settles (ran, failed or skipped).
    fn not_started(&mut self, journal: &mut Journal) {
        for change in self.waiting.drain(..) {
            let outcome = Outcome::NotStarted;
            journal.record(
                "change",
                json!({ "address": change.address, "action": change.action, "result": outcome }),
            );
            self.report.results.insert(change.address.clone(), outcome);
        }
    }

    /// Settles what can be settled without running anything (changes
    /// whose dependency did not succeed are skipped, transitively) and
    /// returns the changes ready to start.
    fn ready(
        &mut self,
        journal: &mut Journal,
        on_done: &(dyn Fn(&Address, &Outcome) + Sync),
    ) -> Vec<&'p Change> {
        let mut ready = Vec::new();
        // A skip can unblock (skip) a change seen earlier in the same
        // pass: repeat until nothing more settles.
        loop {
            let mut settled = false;
            let mut still_waiting = Vec::new();
            for change in std::mem::take(&mut self.waiting) {
                let deps = self.dependencies(change);
                let results = &self.report.results;
                if let Some(blocker) = deps
                    .iter()
                    .find(|d| results.get(**d).is_some_and(|o| *o != Outcome::Succeeded))
                {
                    let outcome = Outcome::Skipped {
                        because: (*blocker).clone(),
                    };
                    journal.record(
                        "change",
                        json!({ "address": change.address, "action": change.action, "result": outcome }),
                    );
                    on_done(&change.address, &outcome);
                    self.report.results.insert(change.address.clone(), outcome);
                    settled = true;
                } else if deps.iter().all(|d| results.contains_key(*d)) {
                    ready.push(change);
                } else {
                    still_waiting.push(change);
                }
            }
            self.waiting = still_waiting;
            if !settled {
                return ready;
            }
        }
    }
}

impl Executor<'_> {
    /// `on_done` is told of each finished change, for progress display.
    /// Always returns the report; a journal that could not be written is
    /// the journal's to tell (`Journal::failure`).
    pub async fn run(self, plan: &Plan, on_done: &(dyn Fn(&Address, &Outcome) + Sync)) -> ApplyReport {
        let pending: Vec<&Change> = plan.pending().collect();
        let systems: HashMap<&str, &dyn System> =
            self.systems.iter().map(|s| (s.name(), s.as_ref())).collect();
        let limits: HashMap<&str, Arc<Semaphore>> = self
            .systems
            .iter()
            .map(|s| (s.name(), Arc::new(Semaphore::new(s.concurrency().max(1)))))
            .collect();
        // Every other change waits for the preflight ones, and is skipped
        // if one of them fails: nothing is changed before, say, every
        // image a run needs is there.
        let mut progress = Progress {
            waiting: pending.clone(),
            planned: pending.iter().map(|c| &c.address).collect(),
            preflight: pending
                .iter()
                .filter(|c| c.preflight)
                .map(|c| &c.address)
                .collect(),
            report: ApplyReport::default(),
        };
        let mut running = FuturesUnordered::new();
        let mut interrupted = false;
        let mut signal = Box::pin(interruption());

        loop {
            if !interrupted {
                for change in progress.ready(self.journal, on_done) {
                    let system = systems.get(change.address.system()).copied();
                    let limit = limits.get(change.address.system()).cloned();
                    running.push(run_one(change, system, limit));
                }
            }
            if running.is_empty() {
                break;
            }
            tokio::select! {
                Some((change, result, elapsed)) = running.next() => {
                    let outcome = match result {
                        Ok(()) => Outcome::Succeeded,
                        // The last resort: a system's message may quote a secret.
                        Err(error) => Outcome::Failed { error: self.redactor.redact(&error) },
                    };
                    progress.finished(self.journal, on_done, change, outcome, elapsed);
                }
                _ = &mut signal, if !interrupted => {
                    // Let running changes finish: each is atomic on its own.
                    interrupted = true;
                    for system in systems.values() {
                        system.interrupt();
                    }
                }
            }
        }
        progress.not_started(self.journal);
        progress.report
    }
}

/// Runs one change within its system's concurrency limit.
async fn run_one<'c>(
    change: &'c Change,
    system: Option<&dyn System>,
    limit: Option<Arc<Semaphore>>,
) -> (&'c Change, Result<(), String>, std::time::Duration) {
    let started = Instant::now();
    let result = match (system, limit) {
        (Some(system), Some(limit)) => {
            let _permit = limit.acquire_owned().await.expect("semaphore never closed");
            system.apply(change).await.map_err(|e| error_chain(e.as_ref()))
        }
        _ => Err(format!("no system handles {}", change.address.kind)),
    };
    (change, result, started.elapsed())
}

/// Ctrl-C or SIGTERM (a service manager, `docker stop`): stop starting
/// changes, let the running ones finish, report.
async fn interruption() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
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
        let mut journal = Journal::open(&dir.path().join("j.jsonl"), "run".into()).unwrap();
        let report = Executor {
            systems: &systems,
            journal: &mut journal,
            redactor: &Redactor::default(),
        }
        .run(&plan, &|_, _| {})
        .await;

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

    #[tokio::test]
    async fn a_chain_behind_a_failure_is_skipped_not_reported_as_interrupted() {
        // Plans are sorted by address: the grandchild comes before its
        // parent, which comes before the failing change.
        let plan = Plan::new(
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            PlanOptions::default(),
            vec![
                change("a-grandchild", &["m-child"]),
                change("m-child", &["z-broken"]),
                change("z-broken", &[]),
            ],
            Vec::new(),
        );
        let systems: Vec<Box<dyn System>> = vec![Box::new(Recorder {
            failing: vec!["z-broken"],
            applied: Arc::new(Mutex::new(Vec::new())),
        })];
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(&dir.path().join("j.jsonl"), "run".into()).unwrap();
        let report = Executor {
            systems: &systems,
            journal: &mut journal,
            redactor: &Redactor::default(),
        }
        .run(&plan, &|_, _| {})
        .await;
        assert_eq!(
            report.results[&Address::new("test.thing", "a-grandchild")],
            Outcome::Skipped {
                because: Address::new("test.thing", "m-child")
            }
        );
        assert_eq!(report.count(|o| *o == Outcome::NotStarted), 0);
    }
}
