//! Graceful shutdown and the bound on datasets in flight, shared by every
//! pass of a process: the loop's signal handler asks to stop, each pass
//! finishes the dataset in hand and leaves the rest for the next run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use tokio::sync::{Notify, Semaphore, SemaphorePermit};

static STOP: AtomicBool = AtomicBool::new(false);
static STOPPING: Notify = Notify::const_new();
static IN_FLIGHT: OnceLock<Semaphore> = OnceLock::new();

/// Asks every pass to stop after the dataset in hand.
pub fn request() {
    STOP.store(true, Ordering::SeqCst);
    STOPPING.notify_waiters();
}

/// Returns once a stop is requested (at once if it already was).
pub async fn stopping() {
    let notified = STOPPING.notified();
    if requested() {
        return;
    }
    notified.await;
}

/// SIGTERM or SIGINT asks to stop after the dataset in hand; a second
/// signal ends the process at once (exit 130): the ledger and the
/// idempotent steps make the next run converge anyway.
pub fn install_signal_handlers() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        let mut seen = 0;
        loop {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            seen += 1;
            if seen > 1 {
                eprintln!("geosync: second signal: exiting now");
                std::process::exit(130);
            }
            eprintln!("geosync: stopping after the dataset in hand (signal again to exit now)");
            request();
        }
    });
    Ok(())
}

pub fn requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Bounds the datasets reconciled at once across the targets of this
/// process (set once, by the loop; unbounded otherwise).
pub fn limit_in_flight(max: usize) {
    let _ = IN_FLIGHT.set(Semaphore::new(max.max(1)));
}

/// Waits for a slot; held while one dataset is reconciled.
pub async fn in_flight() -> Option<SemaphorePermit<'static>> {
    match IN_FLIGHT.get() {
        Some(semaphore) => semaphore.acquire().await.ok(),
        None => None,
    }
}
