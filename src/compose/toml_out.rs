//! Writing TOML values for the generated manifest. Strings arrive
//! interpolated: compose's literal text, with variable markers.

use super::interpolate::{MARK_CLOSE, MARK_OPEN};

/// A TOML string literal: literal `${` escaped as `$${` (a geosync
/// variable otherwise), variable markers written as `${NAME}`.
pub fn quote(text: &str) -> String {
    let escaped = text
        .replace("${", "$${")
        .replace(MARK_OPEN, "${")
        .replace(MARK_CLOSE, "}");
    toml::Value::String(escaped).to_string()
}

pub fn quote_list(items: &[String]) -> String {
    format!(
        "[{}]",
        items.iter().map(|i| quote(i)).collect::<Vec<_>>().join(", ")
    )
}

/// `{ "k" = v, ... }` from already rendered values.
pub fn inline_table<'a>(entries: impl IntoIterator<Item = (&'a str, String)>) -> String {
    let parts: Vec<String> = entries
        .into_iter()
        .map(|(k, v)| format!("{} = {v}", quote(k)))
        .collect();
    format!("{{ {} }}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::super::interpolate::marker;
    use super::*;

    #[test]
    fn markers_become_references_and_literals_stay_literal() {
        assert_eq!(
            quote(&format!("a ${{x}} {} \"q\"", marker("TAG"))),
            r#"'a $${x} ${TAG} "q"'"#
        );
    }
}
