//! How a run that failed is shown: for people, the error and its causes on
//! one line each, escaped; for `--json` runs, also a JSON document on
//! stdout that CI tools can read (each problem with its file, line, column
//! and message), since they read stdout and find nothing there otherwise.

use serde_json::{json, Value};

use crate::engine::EngineError;
use crate::escape::escape;
use crate::manifest::secret::Redactor;
use crate::manifest::source::Location;
use crate::manifest::ManifestErrors;

/// Bumped when the error document's meaning changes.
pub const FORMAT_VERSION: u32 = 1;

/// `outer: inner: cause`, as anyhow's `{:#}` writes it. A cause of several
/// lines (a server's message with its detail) is shown as lines, each
/// continuation indented; every other control character is escaped, so a
/// message cannot drive the terminal. The lists laid out one problem a
/// line on purpose escape each problem themselves.
pub fn text(error: &anyhow::Error) -> String {
    error
        .chain()
        .map(|cause| {
            let laid_out = cause.downcast_ref::<ManifestErrors>().is_some()
                || matches!(
                    cause.downcast_ref::<EngineError>(),
                    Some(EngineError::Manifest(_) | EngineError::Observe(_))
                );
            if laid_out {
                cause.to_string().trim_end().to_string()
            } else {
                as_lines(&cause.to_string())
            }
        })
        .collect::<Vec<_>>()
        .join(": ")
}

/// Each line escaped, continuation lines indented; blank lines at the end
/// dropped.
fn as_lines(text: &str) -> String {
    text.trim_end_matches(['\n', '\r'])
        .split('\n')
        .map(|line| escape(line.strip_suffix('\r').unwrap_or(line)).into_owned())
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// The error document: every problem of a manifest, or each system that
/// could not be read, or the error as one problem. Messages may quote a
/// system's own (a connection error): they are scrubbed of known secrets,
/// as errors on stderr are, since the printer leaves results as they are.
pub fn document(error: &anyhow::Error, validating: bool, redactor: &Redactor) -> Value {
    let problem = |at: Option<Location>, message: String| problem(at, redactor.redact(&message));
    let problems: Vec<Value> = if let Some(errors) = manifest_errors(error) {
        errors.0.iter().map(|e| problem(e.place(), e.message())).collect()
    } else if let Some(EngineError::Observe(failures)) = error.downcast_ref::<EngineError>() {
        failures
            .iter()
            .map(|(system, e)| problem(None, format!("cannot read the platform's state: {system}: {e}")))
            .collect()
    } else {
        vec![problem(None, format!("{error:#}"))]
    };
    let mut document = json!({
        "format_version": FORMAT_VERSION,
        "error_count": problems.len(),
        "errors": problems,
    });
    if validating {
        document["valid"] = json!(false);
    }
    document
}

fn manifest_errors(error: &anyhow::Error) -> Option<&ManifestErrors> {
    error.chain().find_map(|cause| {
        cause
            .downcast_ref::<ManifestErrors>()
            .or(match cause.downcast_ref::<EngineError>() {
                Some(EngineError::Manifest(errors)) => Some(errors),
                _ => None,
            })
    })
}

/// One problem; a place in a file has a line and column, a whole file none.
fn problem(at: Option<Location>, message: String) -> Value {
    let file = at.as_ref().map(|at| at.file.display().to_string());
    let place = at.filter(|at| at.line > 0);
    json!({
        "file": file,
        "line": place.as_ref().map(|at| at.line),
        "column": place.as_ref().map(|at| at.column),
        "message": message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_line_cause_prints_as_indented_lines_with_control_characters_escaped() {
        let error =
            anyhow::anyhow!("db error: ERROR: bad\r\nDETAIL: \u{1b}[2Jrow\tone\n").context("sync.target:t");
        assert_eq!(
            text(&error),
            "sync.target:t: db error: ERROR: bad\n  DETAIL: \\u{1b}[2Jrow\\tone"
        );
        let one_line = anyhow::anyhow!("plain \u{7f}message");
        assert_eq!(text(&one_line), "plain \\u{7f}message");
    }
}
