//! One apply at a time per state directory. The lock is an exclusive
//! `flock` on the lock file: the kernel releases it when its holder ends,
//! however it ends (Ctrl-C, SIGTERM, kill -9, a container stopped while
//! geosync was its PID 1), so a lock never outlives its process and there
//! is no stale lock to break. The file also holds who took it and when, so
//! the second apply can say who is in the way; those details are only
//! information, never the lock itself.
//!
//! The lock file is never removed: removing it while another process waits
//! on it would let two processes hold "the" lock on two different files.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    pub user: String,
    pub since: DateTime<Utc>,
}

impl Holder {
    pub fn me() -> Self {
        Holder {
            pid: std::process::id(),
            host: hostname(),
            user: std::env::var("USER").unwrap_or_else(|_| "unknown".into()),
            since: Utc::now(),
        }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} of {} on {}, since {}",
            self.pid,
            self.user,
            self.host,
            self.since.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

/// Who holds a lock, as far as its file tells.
#[derive(Debug)]
pub struct HolderInfo(pub Option<Holder>);

impl std::fmt::Display for HolderInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(holder) => holder.fmt(f),
            None => f.write_str("its holder did not record who it is"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another apply holds the lock {path} ({holder}); it is released as soon as that process ends")]
    Held { path: PathBuf, holder: HolderInfo },
    #[error("cannot take the lock {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot record the holder in the lock {path}; the lock was released")]
    Record {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Held until dropped (or until the process ends, whichever comes first).
#[derive(Debug)]
pub struct Lock {
    /// The open file carries the kernel lock.
    _file: File,
}

impl Lock {
    pub fn acquire(path: &Path) -> Result<Lock, LockError> {
        let io = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        if !try_flock(&file).map_err(io)? {
            return Err(LockError::Held {
                path: path.to_path_buf(),
                holder: read_holder(&mut file),
            });
        }
        record(&mut file, &Holder::me()).map_err(|source| {
            // An empty or partial record is harmless: it is not the lock.
            let _ = file.set_len(0);
            LockError::Record {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Ok(Lock { _file: file })
    }
}

/// Takes the exclusive lock without waiting; false when someone holds it.
fn try_flock(file: &File) -> std::io::Result<bool> {
    // SAFETY: flock on a file descriptor this process owns.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(error)
    }
}

fn record(file: &mut File, holder: &Holder) -> std::io::Result<()> {
    let text = serde_json::to_string(holder).expect("a holder serializes");
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(text.as_bytes())?;
    file.sync_data()
}

fn read_holder(file: &mut File) -> HolderInfo {
    let mut text = String::new();
    let read = file.rewind().and_then(|()| file.read_to_string(&mut text));
    HolderInfo(read.ok().and_then(|_| serde_json::from_str(&text).ok()))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_told_who_holds_it_and_release_frees_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("apply.lock");
        let first = Lock::acquire(&path).unwrap();
        let err = Lock::acquire(&path).unwrap_err().to_string();
        assert!(err.contains(&format!("pid {}", std::process::id())), "{err}");
        drop(first);
        Lock::acquire(&path).unwrap();
    }

    #[test]
    fn details_left_by_a_holder_that_is_gone_are_no_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("apply.lock");
        // What a killed container leaves: PID 1 on another host.
        let gone = Holder {
            pid: 1,
            host: "a-container-that-was-removed".into(),
            user: "root".into(),
            since: Utc::now(),
        };
        std::fs::write(&path, serde_json::to_string(&gone).unwrap()).unwrap();
        let _lock = Lock::acquire(&path).unwrap();
        let now: Holder = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(now.pid, std::process::id());
    }
}
