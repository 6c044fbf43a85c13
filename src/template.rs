//! Rendering templates: one strict minijinja setup shared by every system
//! that writes a configuration file.

use minijinja::value::ValueKind;
use minijinja::{Environment, UndefinedBehavior, Value};

/// How values are written into the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// As they are: plain configuration files.
    None,
    /// Escaped for XML text and attributes.
    Xml,
}

/// A template failure, with the template line when minijinja knows it.
#[derive(Debug, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct TemplateError {
    pub line: Option<usize>,
    pub message: String,
}

impl From<minijinja::Error> for TemplateError {
    fn from(e: minijinja::Error) -> Self {
        let message = match e.detail() {
            Some(detail) => format!("{}: {detail}", e.kind()),
            None => e.kind().to_string(),
        };
        TemplateError {
            line: e.line(),
            message,
        }
    }
}

pub fn render(name: &str, source: &str, context: Value, escape: Escape) -> Result<String, TemplateError> {
    let mut env = Environment::new();
    // A misspelt variable is an error, not an empty value in production.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.set_formatter(move |out, _state, value| {
        // Config files spell booleans in lower case; minijinja writes `True`.
        let text = match value.kind() {
            ValueKind::Bool => value.is_true().to_string(),
            ValueKind::None | ValueKind::Undefined => String::new(),
            _ => value.to_string(),
        };
        match escape {
            Escape::Xml if !value.is_safe() => out.write_str(&escape_xml(&text))?,
            _ => out.write_str(&text)?,
        }
        Ok(())
    });
    env.add_template(name, source)?;
    Ok(env.get_template(name)?.render(context)?)
}

/// Whitespace other than the space is written as a character reference:
/// an XML parser turns a raw newline or tab inside an attribute value into
/// a space (attribute-value normalization), so a two-line title would lose
/// its line break; the reference keeps it, in attributes and text alike.
fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn xml_escapes_values_and_lowercases_booleans() {
        let out = render(
            "t",
            "<a t=\"{{ t }}\" b=\"{{ b }}\"/>",
            context! { t => "x<&\"y", b => true },
            Escape::Xml,
        )
        .unwrap();
        assert_eq!(out, "<a t=\"x&lt;&amp;&quot;y\" b=\"true\"/>");
    }

    #[test]
    fn line_breaks_and_tabs_survive_attribute_normalization() {
        let out = render(
            "t",
            "<a t=\"{{ t }}\"/>",
            context! { t => "one\ntwo\tthree\r" },
            Escape::Xml,
        )
        .unwrap();
        assert_eq!(out, "<a t=\"one&#10;two&#9;three&#13;\"/>");
        let parsed = quick_xml::Reader::from_str(&out).read_event().unwrap();
        let quick_xml::events::Event::Empty(element) = parsed else {
            panic!("{parsed:?}")
        };
        let value = element
            .attributes()
            .next()
            .unwrap()
            .unwrap()
            .unescape_value()
            .unwrap();
        assert_eq!(value, "one\ntwo\tthree\r");
    }

    #[test]
    fn undefined_variable_is_an_error_with_its_line() {
        let err = render("t", "ok\n{{ missing }}", context! {}, Escape::None).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.to_string().starts_with("line 2: "), "{err}");
    }
}
