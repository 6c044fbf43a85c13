//! Compose's variable interpolation (`$VAR`, `${VAR}`, `${VAR:-default}`,
//! `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `$$`), turned into
//! manifest `[vars]` so the manifest stays parameterised as the compose file
//! was. Values come from the project's `.env`, else from the default
//! expression; the shell environment at import time is not read, since
//! what lands in git must not depend on who ran the import.
//!
//! Interpolation runs once over the whole YAML tree, before anything else
//! looks at it. A reference is left in the strings as a marker
//! (`MARK_OPEN name MARK_CLOSE`) that [`Vars::resolve`] turns into the
//! value and the TOML writer into `${name}`.

use std::collections::BTreeMap;

use serde_yaml_ng::Value;

pub const MARK_OPEN: char = '\u{E000}';
pub const MARK_CLOSE: char = '\u{E001}';

/// What the manifest knows about one compose variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Var {
    /// None: no value in `.env` and no default (compose would stop, or
    /// substitute an empty string with a warning).
    pub value: Option<String>,
    /// The `?error` message, or why it has no value.
    pub missing: Option<String>,
}

/// The variables of one import, and the `.env` they were read from.
#[derive(Debug, Default)]
pub struct Vars {
    dotenv: BTreeMap<String, String>,
    pub vars: BTreeMap<String, Var>,
    /// Defaults that clashed with another default of the same variable and
    /// were written in place (the variable cannot hold both).
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{at}: invalid interpolation `{text}`: {reason}")]
pub struct InterpolationError {
    /// Where in the file (`services.web.image`); empty until known.
    pub at: String,
    pub text: String,
    pub reason: String,
}

enum Form {
    Plain,
    /// `:-` (colon: an empty value counts as unset) or `-`.
    Default {
        colon: bool,
        text: String,
    },
    Required {
        colon: bool,
        message: String,
    },
}

impl Vars {
    pub fn new(dotenv: BTreeMap<String, String>) -> Self {
        Vars {
            dotenv,
            ..Vars::default()
        }
    }

    pub fn dotenv(&self, name: &str) -> Option<&str> {
        self.dotenv.get(name).map(String::as_str)
    }

    /// Interpolates every string of a YAML tree in place (values, not keys,
    /// as compose does); an error names where (`services.web.image`).
    pub fn interpolate_tree(&mut self, value: &mut Value) -> Result<(), InterpolationError> {
        self.interpolate_at(value, "")
    }

    fn interpolate_at(&mut self, value: &mut Value, at: &str) -> Result<(), InterpolationError> {
        let child = |key: String| if at.is_empty() { key } else { format!("{at}.{key}") };
        match value {
            Value::String(s) => {
                *s = self.interpolate(s).map_err(|mut e| {
                    e.at = at.to_string();
                    e
                })?
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    self.interpolate_at(item, &child(i.to_string()))?;
                }
            }
            Value::Mapping(map) => {
                for (key, item) in map.iter_mut() {
                    let key = key.as_str().map(str::to_string).unwrap_or_default();
                    self.interpolate_at(item, &child(key))?;
                }
            }
            Value::Tagged(tagged) => self.interpolate_at(&mut tagged.value, at)?,
            _ => {}
        }
        Ok(())
    }

    /// One string: literals stay, references become markers.
    pub fn interpolate(&mut self, text: &str) -> Result<String, InterpolationError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let tail = &rest[at + 1..];
            if let Some(after) = tail.strip_prefix('$') {
                out.push('$');
                rest = after;
            } else if let Some(inner) = tail.strip_prefix('{') {
                let end = closing_brace(inner).ok_or_else(|| InterpolationError {
                    at: String::new(),
                    text: text.to_string(),
                    reason: "unterminated `${`".into(),
                })?;
                out.push_str(&self.braced(&inner[..end], text)?);
                rest = &inner[end + 1..];
            } else {
                let len = name_len(tail);
                if len == 0 {
                    // Not a variable: compose keeps the `$`.
                    out.push('$');
                    rest = tail;
                } else {
                    out.push_str(&self.reference(&tail[..len], Form::Plain)?);
                    rest = &tail[len..];
                }
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    fn braced(&mut self, body: &str, whole: &str) -> Result<String, InterpolationError> {
        let len = name_len(body);
        let (name, op) = body.split_at(len);
        let invalid = |reason: &str| InterpolationError {
            at: String::new(),
            text: whole.to_string(),
            reason: reason.to_string(),
        };
        if name.is_empty() {
            return Err(invalid("a variable name is [_a-zA-Z][_a-zA-Z0-9]*"));
        }
        let form = if op.is_empty() {
            Form::Plain
        } else if let Some(text) = op.strip_prefix(":-") {
            Form::Default {
                colon: true,
                text: text.to_string(),
            }
        } else if let Some(text) = op.strip_prefix('-') {
            Form::Default {
                colon: false,
                text: text.to_string(),
            }
        } else if let Some(message) = op.strip_prefix(":?") {
            Form::Required {
                colon: true,
                message: message.to_string(),
            }
        } else if let Some(message) = op.strip_prefix('?') {
            Form::Required {
                colon: false,
                message: message.to_string(),
            }
        } else {
            return Err(invalid(
                "compose supports only :-, -, :? and ? after a variable name",
            ));
        };
        self.reference(name, form)
    }

    /// Registers a reference and returns its marker, or the literal default
    /// when the variable already holds another one.
    fn reference(&mut self, name: &str, form: Form) -> Result<String, InterpolationError> {
        let set = self.dotenv.get(name).cloned();
        let var = match form {
            Form::Plain => match set {
                Some(value) => known(value),
                None => missing(format!("`{name}` is not set in .env")),
            },
            Form::Default { colon, text } => match set {
                Some(value) if !(colon && value.is_empty()) => known(value),
                _ => {
                    let default = self.interpolate(&text)?;
                    known(self.resolve(&default))
                }
            },
            Form::Required { colon, message } => match set {
                Some(value) if !(colon && value.is_empty()) => known(value),
                _ => missing(if message.is_empty() {
                    format!("`{name}` is required and not set in .env")
                } else {
                    format!("`{name}` is required: {message}")
                }),
            },
        };
        match self.vars.get(name) {
            Some(existing)
                if existing.value.is_some() && var.value.is_some() && existing.value != var.value =>
            {
                // `${A:-x}` and `${A:-y}` with A unset: A cannot be both.
                let value = var.value.unwrap_or_default();
                self.notes.push(format!(
                    "`{name}` has two defaults (`{}` and `{value}`): the second is written in place",
                    existing.value.clone().unwrap_or_default()
                ));
                Ok(value)
            }
            Some(existing) if existing.value.is_some() || var.value.is_none() => Ok(marker(name)),
            _ => {
                self.vars.insert(name.to_string(), var);
                Ok(marker(name))
            }
        }
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        self.vars.get(name).and_then(|v| v.value.as_deref())
    }

    /// The value a string has at import time: markers replaced by their
    /// variables' values (empty when unknown).
    pub fn resolve(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find(MARK_OPEN) {
            out.push_str(&rest[..at]);
            let tail = &rest[at + MARK_OPEN.len_utf8()..];
            let end = tail.find(MARK_CLOSE).unwrap_or(tail.len());
            let name = &tail[..end];
            if let Some(value) = self.vars.get(name).and_then(|v| v.value.as_deref()) {
                out.push_str(value);
            }
            rest = tail.get(end + MARK_CLOSE.len_utf8()..).unwrap_or("");
        }
        out.push_str(rest);
        out
    }
}

fn known(value: String) -> Var {
    Var {
        value: Some(value),
        missing: None,
    }
}

fn missing(reason: String) -> Var {
    Var {
        value: None,
        missing: Some(reason),
    }
}

pub fn marker(name: &str) -> String {
    format!("{MARK_OPEN}{name}{MARK_CLOSE}")
}

/// The variables a string refers to, in order.
pub fn references(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(MARK_OPEN) {
        let tail = &rest[at + MARK_OPEN.len_utf8()..];
        let end = tail.find(MARK_CLOSE).unwrap_or(tail.len());
        names.push(&tail[..end]);
        rest = tail.get(end + MARK_CLOSE.len_utf8()..).unwrap_or("");
    }
    names
}

/// The one variable a string consists of, if that is all it is.
pub fn only_reference(text: &str) -> Option<&str> {
    let inner = text.strip_prefix(MARK_OPEN)?.strip_suffix(MARK_CLOSE)?;
    (!inner.contains(MARK_OPEN)).then_some(inner)
}

/// Length of the `[_a-zA-Z][_a-zA-Z0-9]*` name at the start of `text`.
fn name_len(text: &str) -> usize {
    let mut len = 0;
    for (i, c) in text.char_indices() {
        let ok = c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit());
        if !ok {
            break;
        }
        len = i + c.len_utf8();
    }
    len
}

/// The `}` closing a `${`, skipping nested ones (`${A:-${B}}`).
fn closing_brace(text: &str) -> Option<usize> {
    let mut depth = 0;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'{' if i > 0 && bytes[i - 1] == b'$' => depth += 1,
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The project's `.env` as compose reads it: `KEY=VALUE` lines, comments,
/// optional `export`, quotes; double-quoted and bare values may use the
/// variables of earlier lines, single-quoted ones are literal.
pub fn parse_dotenv(text: &str) -> BTreeMap<String, String> {
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let raw = raw.trim();
        let value = if let Some(inner) = raw.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
            inner.to_string()
        } else {
            let inner = raw
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_string)
                .unwrap_or_else(|| raw.split(" #").next().unwrap_or("").trim().to_string());
            let mut earlier = Vars::new(values.clone());
            earlier
                .interpolate(&inner)
                .map(|marked| earlier.resolve(&marked))
                .unwrap_or(inner)
        };
        values.insert(key.trim().to_string(), value);
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(dotenv: &[(&str, &str)]) -> Vars {
        Vars::new(
            dotenv
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn every_form_becomes_a_variable_with_its_value() {
        let mut v = vars(&[("TAG", "1.2")]);
        let out = v
            .interpolate("img:${TAG} $TAG ${PORT:-8080} ${MODE-dev} $$HOME 5$ ${NEED:?give it}")
            .unwrap();
        let (t, p, m, n) = (marker("TAG"), marker("PORT"), marker("MODE"), marker("NEED"));
        assert_eq!(out, format!("img:{t} {t} {p} {m} $HOME 5$ {n}"));
        assert_eq!(v.vars["TAG"].value.as_deref(), Some("1.2"));
        assert_eq!(v.vars["PORT"].value.as_deref(), Some("8080"));
        assert_eq!(v.vars["MODE"].value.as_deref(), Some("dev"));
        assert_eq!(v.vars["NEED"].value, None);
        assert_eq!(
            v.vars["NEED"].missing.as_deref(),
            Some("`NEED` is required: give it")
        );
    }

    #[test]
    fn an_empty_variable_with_colon_default_takes_the_default() {
        let mut v = vars(&[("EMPTY", "")]);
        let out = v.interpolate("${EMPTY:-x}").unwrap();
        assert_eq!(out, marker("EMPTY"));
        assert_eq!(v.vars["EMPTY"].value.as_deref(), Some("x"));
        // Without the colon, empty is a value: it clashes with `x`.
        assert_eq!(v.interpolate("${EMPTY-y}").unwrap(), "");
        assert_eq!(v.notes.len(), 1);
    }

    #[test]
    fn nested_defaults_and_resolution() {
        let mut v = vars(&[("B", "bee")]);
        let out = v.interpolate("${A:-${B}-x}/${C:-${D:-dee}}").unwrap();
        assert_eq!(v.resolve(&out), "bee-x/dee");
        assert_eq!(references(&out), vec!["A", "C"]);
        assert_eq!(only_reference(&marker("A")), Some("A"));
    }

    #[test]
    fn an_invalid_form_is_refused_with_its_place() {
        let mut tree: Value = serde_yaml_ng::from_str("services: {web: {ports: [80, '${P/a/b}']}}").unwrap();
        let err = vars(&[]).interpolate_tree(&mut tree).unwrap_err().to_string();
        assert_eq!(
            err,
            "services.web.ports.1: invalid interpolation `${P/a/b}`: compose supports only :-, -, :? and ? after a variable name"
        );
    }

    #[test]
    fn invalid_forms_are_refused() {
        let mut v = vars(&[]);
        assert!(v.interpolate("${A/b/c}").is_err());
        assert!(v.interpolate("${A").is_err());
        assert!(v.interpolate("${}").is_err());
    }

    #[test]
    fn dotenv_reads_like_compose() {
        let env = parse_dotenv("# c\nexport A=1\nB=\"${A}-two\"\nC='${A}'\nD=${IMAGE:-backend} # note\n");
        assert_eq!(env["A"], "1");
        assert_eq!(env["B"], "1-two");
        assert_eq!(env["C"], "${A}");
        assert_eq!(env["D"], "backend");
    }
}
