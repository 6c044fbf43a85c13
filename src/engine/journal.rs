//! An append-only JSON-lines record of what each apply did, for the
//! sysadmin who asks "what changed last night?". Never holds a secret:
//! records are built from typed values (addresses, actions, outcomes whose
//! errors were scrubbed where they came from a system).
//!
//! Each record is written whole or not at all: a write that fails halfway
//! (a full disk) is cut back to the last complete line, so the next record
//! never ends up glued to a torn one. A failing journal does not stop the
//! apply (the changes are made on other systems); it is reported at the end.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
#[error("cannot write the journal {path}")]
pub struct JournalError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

pub struct Journal {
    path: PathBuf,
    file: File,
    run: String,
    /// The previous run left a torn last line: end it before writing.
    torn_tail: bool,
    /// The first failure, and how many records were lost since.
    failure: Option<(JournalError, usize)>,
}

impl Journal {
    pub fn open(path: &Path, run: String) -> Result<Self, JournalError> {
        let fail = |source| JournalError {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(fail)?;
        let torn_tail = ends_torn(&mut file).map_err(fail)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            run,
            torn_tail,
            failure: None,
        })
    }

    /// Appends one event; `fields` are merged into the line. A record that
    /// cannot be written is counted, and the first error kept for the report.
    pub fn record(&mut self, event: &str, fields: Value) {
        let mut line = json!({
            "time": Utc::now().to_rfc3339(),
            "run": self.run,
            "event": event,
        });
        if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
            line.extend(fields);
        }
        let mut text = format!("{line}\n");
        if self.torn_tail {
            text.insert(0, '\n');
        }
        match self.append_whole(text.as_bytes()) {
            Ok(()) => self.torn_tail = false,
            Err(source) => match &mut self.failure {
                Some((_, lost)) => *lost += 1,
                None => {
                    let error = JournalError {
                        path: self.path.clone(),
                        source,
                    };
                    self.failure = Some((error, 1));
                }
            },
        }
    }

    /// Why records were lost, and how many; none when all were written.
    pub fn failure(&self) -> Option<(&JournalError, usize)> {
        self.failure.as_ref().map(|(error, lost)| (error, *lost))
    }

    fn append_whole(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let before = self.file.metadata()?.len();
        // A line that reached the disk survives a crash of the run.
        let written = self.file.write_all(bytes).and_then(|()| self.file.sync_data());
        if written.is_err() {
            // Cut the torn part: the journal ends on a whole line again.
            let _ = self.file.set_len(before).and_then(|()| self.file.sync_data());
        }
        written
    }
}

/// Whether the file ends in the middle of a line (a crash of an older
/// version, or a power cut during a write).
fn ends_torn(file: &mut File) -> std::io::Result<bool> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(false);
    }
    let mut last = [0u8];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_ended_before_the_next_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        std::fs::write(&path, "{\"event\":\"run_sta").unwrap();
        let mut journal = Journal::open(&path, "r".into()).unwrap();
        journal.record("run_started", json!({}));
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "{\"event\":\"run_sta");
        let record: Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(record["event"], "run_started");
        assert!(journal.failure().is_none());
    }
}
