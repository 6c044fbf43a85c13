//! One apply at a time per state directory. The lock is a file created
//! exclusively, holding who took it and when, so the second apply can say
//! who is in the way. A lock whose holder died is stale and is broken only
//! on request (`--break-lock`).

use std::io::Write;
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

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another apply holds the lock {path} ({holder})")]
    Held { path: PathBuf, holder: Holder },
    #[error("the lock {path} is stale: its holder ({holder}) is no longer running; rerun with --break-lock to remove it")]
    Stale { path: PathBuf, holder: Holder },
    #[error("the lock {path} is unreadable; remove it by hand once no apply is running")]
    Corrupt { path: PathBuf },
    #[error("cannot take the lock {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Held until dropped.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    pub fn acquire(path: &Path, break_stale: bool) -> Result<Lock, LockError> {
        let io = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let me = Holder {
            pid: std::process::id(),
            host: hostname(),
            user: std::env::var("USER").unwrap_or_else(|_| "unknown".into()),
            since: Utc::now(),
        };
        for _attempt in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
            {
                Ok(mut file) => {
                    let text = serde_json::to_string(&me).expect("a holder serializes");
                    file.write_all(text.as_bytes())
                        .and_then(|()| file.sync_all())
                        .map_err(io)?;
                    return Ok(Lock {
                        path: path.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(path).map_err(io)?;
                    let holder: Holder = serde_json::from_str(&text).map_err(|_| LockError::Corrupt {
                        path: path.to_path_buf(),
                    })?;
                    if holder.host != me.host || process_alive(holder.pid) {
                        return Err(LockError::Held {
                            path: path.to_path_buf(),
                            holder,
                        });
                    }
                    if !break_stale {
                        return Err(LockError::Stale {
                            path: path.to_path_buf(),
                            holder,
                        });
                    }
                    std::fs::remove_file(path).map_err(io)?;
                }
                Err(e) => return Err(io(e)),
            }
        }
        // Someone else took it between our removal and our retry.
        let text = std::fs::read_to_string(path).unwrap_or_default();
        match serde_json::from_str(&text) {
            Ok(holder) => Err(LockError::Held {
                path: path.to_path_buf(),
                holder,
            }),
            Err(_) => Err(LockError::Corrupt {
                path: path.to_path_buf(),
            }),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // Signal 0 checks existence; EPERM means it exists under another user.
    // SAFETY: kill with signal 0 sends nothing.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_told_who_holds_it_and_release_frees_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("apply.lock");
        let first = Lock::acquire(&path, false).unwrap();
        let err = Lock::acquire(&path, false).unwrap_err().to_string();
        assert!(err.contains(&format!("pid {}", std::process::id())), "{err}");
        drop(first);
        Lock::acquire(&path, false).unwrap();
    }

    #[test]
    fn a_dead_holder_is_stale_and_broken_only_on_request() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("apply.lock");
        let dead = Holder {
            pid: i32::MAX as u32,
            host: hostname(),
            user: "someone".into(),
            since: Utc::now(),
        };
        std::fs::write(&path, serde_json::to_string(&dead).unwrap()).unwrap();
        assert!(matches!(
            Lock::acquire(&path, false),
            Err(LockError::Stale { .. })
        ));
        let _lock = Lock::acquire(&path, true).unwrap();
    }
}
