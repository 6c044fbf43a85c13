//! Renders a plan for people. JSON rendering is the plan's own serde form.

use std::fmt::Write;

use super::{Change, FieldChange, Plan};
use crate::manifest::secret::SENSITIVE;

/// The plan as the terminal shows it: one block per change, then the totals.
pub fn human(plan: &Plan, show_unchanged: bool) -> String {
    let mut out = String::new();
    for warning in &plan.warnings {
        match &warning.address {
            Some(address) => writeln!(out, "warning: {address}: {}", warning.message),
            None => writeln!(out, "warning: {}", warning.message),
        }
        .expect("writing to a String");
    }
    if !plan.warnings.is_empty() {
        out.push('\n');
    }
    if !plan.has_changes() {
        writeln!(
            out,
            "No changes. The platform matches the manifest ({} resource{} checked).",
            plan.summary.unchanged,
            if plan.summary.unchanged == 1 { "" } else { "s" }
        )
        .expect("writing to a String");
        return out;
    }
    for change in &plan.changes {
        if change.is_noop() && !show_unchanged {
            continue;
        }
        change_block(&mut out, change);
    }
    let s = plan.summary;
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
        change.address,
        change.action.verb(),
        change.reason.message
    );
    for field in &change.fields {
        let _ = writeln!(out, "      {}", field_line(field));
    }
    if let Some(diff) = &change.content_diff {
        for line in diff.lines() {
            let _ = writeln!(out, "      {line}");
        }
    }
    out.push('\n');
}

fn field_line(field: &FieldChange) -> String {
    if field.sensitive {
        return format!("~ {}: {SENSITIVE}", field.name);
    }
    let show = |v: &Option<serde_json::Value>| v.as_ref().map_or("(none)".to_string(), |v| v.to_string());
    match (&field.before, &field.after) {
        (None, Some(_)) => format!("+ {}: {}", field.name, show(&field.after)),
        (Some(_), None) => format!("- {}: {}", field.name, show(&field.before)),
        _ => format!(
            "~ {}: {} -> {}",
            field.name,
            show(&field.before),
            show(&field.after)
        ),
    }
}
