//! Renders a plan for people. JSON rendering is the plan's own serde form.
//! Names, values and messages come from manifests and systems: each is
//! escaped (crate::escape), so none can forge a line of the plan.

use std::fmt::Write;

use super::word_diff::word_diff;
use super::{Action, Change, FieldChange, Plan};
use crate::escape::{escape, escape_lines};
use crate::manifest::secret::SENSITIVE;

/// A field whose `name: old -> new` line would be longer shows as a word diff.
const LONG_LINE: usize = 100;

/// The plan as the terminal shows it: one block per change, then the totals.
/// With `show_unchanged` (-v), resources already in sync are listed too.
pub fn human(plan: &Plan, show_unchanged: bool) -> String {
    let mut out = String::new();
    for warning in &plan.warnings {
        let message = escape(&warning.message);
        match &warning.address {
            Some(address) => writeln!(out, "warning: {}: {message}", escape(&address.to_string())),
            None => writeln!(out, "warning: {message}"),
        }
        .expect("writing to a String");
    }
    if !plan.warnings.is_empty() {
        out.push('\n');
    }
    for change in &plan.changes {
        if change.is_noop() && !show_unchanged {
            continue;
        }
        change_block(&mut out, change);
    }
    let s = plan.summary;
    if !plan.has_changes() {
        writeln!(
            out,
            "No changes. The platform matches the manifest ({} resource{} checked).",
            s.unchanged,
            if s.unchanged == 1 { "" } else { "s" }
        )
        .expect("writing to a String");
        return out;
    }
    writeln!(
        out,
        "Plan: {} to create, {} to update, {} to replace, {} to delete, {} unchanged.",
        s.create, s.update, s.replace, s.delete, s.unchanged
    )
    .expect("writing to a String");
    out
}

fn change_block(out: &mut String, change: &Change) {
    let _ = writeln!(
        out,
        "{:>3} {} ({}: {})",
        change.action.symbol(),
        escape(&change.address.to_string()),
        change.action.verb(),
        escape(&change.reason.message)
    );
    for field in &change.fields {
        for line in field_lines(field, change.action) {
            let _ = writeln!(out, "      {line}");
        }
    }
    if let Some(diff) = &change.content_diff {
        for line in diff.lines() {
            let _ = writeln!(out, "      {}", escape_lines(line));
        }
    }
    out.push('\n');
}

/// One line per field, or a word diff under it when the value is long.
fn field_lines(field: &FieldChange, action: Action) -> Vec<String> {
    let name = escape(&field.name);
    if field.sensitive {
        // No value to compare: the change's action says what happens to it.
        let sign = match action {
            Action::Create => "+",
            Action::Delete => "-",
            _ => "~",
        };
        return vec![format!("{sign} {name}: {SENSITIVE}")];
    }
    let show = |v: &Option<serde_json::Value>| {
        v.as_ref()
            .map_or("(none)".to_string(), |v| escape(&v.to_string()).into_owned())
    };
    let line = match (&field.before, &field.after) {
        (None, Some(_)) => format!("+ {name}: {}", show(&field.after)),
        (Some(_), None) => format!("- {name}: {}", show(&field.before)),
        _ => format!("~ {name}: {} -> {}", show(&field.before), show(&field.after)),
    };
    match (&field.before, &field.after) {
        (Some(before), Some(after)) if line.chars().count() > LONG_LINE => {
            let mut lines = vec![format!("~ {name}: (changed words as [-old-]{{+new+}})")];
            lines.extend(
                word_diff(&plain(before), &plain(after))
                    .into_iter()
                    .map(|l| format!("    {l}")),
            );
            lines
        }
        _ => vec![line],
    }
}

/// A string as its text, anything else as its JSON.
fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
