//! Renders a managed file twice: with its secrets, to write and compare,
//! and with `(sensitive)` in their place, to show in plans.

use std::collections::BTreeMap;

use minijinja::context;

use crate::manifest::model::{FileSource, ManagedFile};
use crate::manifest::secret::SENSITIVE;
use crate::manifest::vars::Vars;
use crate::manifest::ManifestError;
use crate::template::{self, Escape};

pub struct Rendered {
    pub content: String,
    /// The same content with every secret replaced: safe to print.
    pub display: String,
}

pub fn render(file: &ManagedFile, vars: &Vars) -> Result<Rendered, ManifestError> {
    let template_error = |template: &str, message: String| ManifestError::Template {
        at: file.at.clone(),
        template: template.to_string(),
        message,
    };
    let (name, source) = match &file.source {
        FileSource::Template(path) => {
            let name = path.display().to_string();
            let source = std::fs::read_to_string(path)
                .map_err(|e| template_error(&name, format!("cannot read: {e}")))?;
            (name, source)
        }
        // Inline content is taken as written: `{{` in it is not a template.
        FileSource::Inline(content) => {
            return Ok(Rendered {
                content: content.clone(),
                display: content.clone(),
            })
        }
    };
    let with = |secrets: BTreeMap<&str, &str>| {
        template::render(
            &name,
            &source,
            context! { vars => vars.as_map(), context => &file.context, secrets => secrets },
            Escape::None,
        )
        .map_err(|e| template_error(&name, e.to_string()))
    };
    let content = with(
        file.secrets
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose()))
            .collect(),
    )?;
    let display = with(file.secrets.keys().map(|k| (k.as_str(), SENSITIVE)).collect())?;
    Ok(Rendered { content, display })
}
