//! A resource's address, `kind:name` (`mviewer.app:salins`): how plans,
//! `--only`/`--exclude`, journals and errors name it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub kind: String,
    pub name: String,
}

impl Address {
    pub fn new(kind: &str, name: &str) -> Self {
        Address {
            kind: kind.to_string(),
            name: name.to_string(),
        }
    }

    /// The system a kind belongs to: the part before the first dot.
    pub fn system(&self) -> &str {
        self.kind.split('.').next().unwrap_or(&self.kind)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.name)
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let (kind, name) = text
            .split_once(':')
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not kind:name")))?;
        Ok(Address::new(kind, name))
    }
}

/// A `--only` / `--exclude` selector: a system (`mviewer`), a kind
/// (`mviewer.app`) or one resource (`mviewer.app:salins`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Selector {
    kind: String,
    name: Option<String>,
}

impl Selector {
    pub fn matches(&self, address: &Address) -> bool {
        let kind_matches = address.kind == self.kind
            || address
                .kind
                .strip_prefix(self.kind.as_str())
                .is_some_and(|rest| rest.starts_with('.'));
        kind_matches && self.name.as_ref().is_none_or(|n| *n == address.name)
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

impl FromStr for Selector {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (kind, name) = match text.split_once(':') {
            Some((kind, name)) if !name.is_empty() => (kind, Some(name.to_string())),
            Some(_) => return Err(format!("`{text}`: a name is expected after ':'")),
            None => (text, None),
        };
        if kind.is_empty() {
            return Err(format!("`{text}`: expected KIND[:NAME]"));
        }
        Ok(Selector {
            kind: kind.to_string(),
            name,
        })
    }
}

impl TryFrom<String> for Selector {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Selector> for String {
    fn from(s: Selector) -> String {
        s.to_string()
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{}:{name}", self.kind),
            None => f.write_str(&self.kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_match_system_kind_or_one_resource() {
        let app = Address::new("mviewer.app", "salins");
        for (selector, expected) in [
            ("mviewer", true),
            ("mviewer.app", true),
            ("mviewer.app:salins", true),
            ("mviewer.app:other", false),
            ("mview", false),
            ("docker", false),
        ] {
            assert_eq!(
                selector.parse::<Selector>().unwrap().matches(&app),
                expected,
                "{selector}"
            );
        }
        assert!("mviewer.app:".parse::<Selector>().is_err());
    }
}
