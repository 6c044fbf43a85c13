//! What every benchmark needs: run a command as a whole process and read
//! its wall time and peak memory, as a user would experience them.

// Only the benches that need a PostgreSQL server use it.
#[allow(dead_code)]
pub mod pg;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Median wall time and largest max-RSS over the runs.
pub fn measure(command: &[&str], dir: &Path, runs: usize) -> (Duration, i64) {
    let mut times = Vec::new();
    let mut peak = 0;
    for _ in 0..runs {
        let (time, rss) = run(command, dir);
        times.push(time);
        peak = peak.max(rss);
    }
    times.sort();
    (times[runs / 2], peak)
}

/// Runs a command to completion; its wall time and max RSS (KiB, wait4).
pub fn run(command: &[&str], dir: &Path) -> (Duration, i64) {
    let usage = run_usage(command, dir);
    (usage.time, usage.max_rss)
}

/// What one run of a command cost.
pub struct Usage {
    pub time: Duration,
    /// User + system CPU of the process and the descendants it waited for.
    // Read by the benches that report CPU, not by every bench.
    #[allow(dead_code)]
    pub cpu: Duration,
    /// KiB.
    pub max_rss: i64,
}

/// Runs a command to completion; its wall time, CPU and max RSS (wait4).
// wait4 reaps the child itself: std's wait() could not report its usage.
#[allow(clippy::zombie_processes)]
pub fn run_usage(command: &[&str], dir: &Path) -> Usage {
    let started = Instant::now();
    let child = Command::new(command[0])
        .args(&command[1..])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", command[0]));
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "waiting for {}", command[0]);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    assert!(code == 0, "{command:?} exited with {code}");
    let seconds = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Usage {
        time: started.elapsed(),
        cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        max_rss: usage.ru_maxrss,
    }
}
