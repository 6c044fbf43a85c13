//! An append-only JSON-lines record of what each apply did, for the
//! sysadmin who asks "what changed last night?". Never holds a secret:
//! every line goes through the redactor.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde_json::{json, Value};

use crate::manifest::secret::Redactor;

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
    redactor: Redactor,
}

impl Journal {
    pub fn open(path: &Path, run: String, redactor: Redactor) -> Result<Self, JournalError> {
        let fail = |source| JournalError {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(fail)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            run,
            redactor,
        })
    }

    /// Appends one event; `fields` are merged into the line.
    pub fn record(&mut self, event: &str, fields: Value) -> Result<(), JournalError> {
        let mut line = json!({
            "time": Utc::now().to_rfc3339(),
            "run": self.run,
            "event": event,
        });
        if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
            line.extend(fields);
        }
        let text = self.redactor.redact(&line.to_string());
        writeln!(self.file, "{text}")
            // A line that reached the disk survives a crash of the run.
            .and_then(|()| self.file.sync_data())
            .map_err(|source| JournalError {
                path: self.path.clone(),
                source,
            })
    }
}
