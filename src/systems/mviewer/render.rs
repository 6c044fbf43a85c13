//! Renders an application config from its template: offline, so that
//! `validate` catches template errors, and checked to be well-formed XML
//! before anything is written.

use minijinja::context;
use quick_xml::events::Event;

use crate::manifest::vars::Vars;
use crate::manifest::ManifestError;
use crate::systems::mviewer::manifest::MviewerApp;
use crate::template::{self, Escape};

const BUILTIN_NAME: &str = "templates/mviewer/app.xml.j2";
const BUILTIN: &str = include_str!("../../../templates/mviewer/app.xml.j2");

/// The first line after the XML declaration of every file geosync writes:
/// how a later run knows the file is its own.
pub fn ownership_marker(app_name: &str) -> String {
    format!(
        "<!-- managed by geosync ({}:{app_name}); edits here are overwritten -->",
        MviewerApp::KIND
    )
}

/// Reads the marker back: the app a file was written for, if geosync wrote it.
pub fn owner_of(content: &str) -> Option<&str> {
    let prefix = format!("<!-- managed by geosync ({}:", MviewerApp::KIND);
    let start = content.find(&prefix)? + prefix.len();
    let end = content[start..].find(')')?;
    Some(&content[start..start + end])
}

pub fn render(app: &MviewerApp, vars: &Vars) -> Result<String, ManifestError> {
    let template_error = |template: &str, message: String| ManifestError::Template {
        at: app.at.clone(),
        template: template.to_string(),
        message,
    };
    let (name, source) = match &app.template {
        Some(path) => {
            let name = path.display().to_string();
            let source = std::fs::read_to_string(path)
                .map_err(|e| template_error(&name, format!("cannot read: {e}")))?;
            (name, source)
        }
        None => (BUILTIN_NAME.to_string(), BUILTIN.to_string()),
    };
    let rendered = template::render(
        &name,
        &source,
        context! { app => app, vars => vars.as_map() },
        Escape::Xml,
    )
    .map_err(|e| template_error(&name, e.to_string()))?;
    check_well_formed(&rendered).map_err(|m| template_error(&name, m))?;
    Ok(with_marker(&rendered, &app.name))
}

fn with_marker(rendered: &str, app_name: &str) -> String {
    let marker = ownership_marker(app_name);
    let body = rendered.trim_start();
    let mut out = match body
        .strip_prefix("<?xml")
        .and_then(|rest| rest.find("?>").map(|end| end + 7))
    {
        Some(declaration_end) => {
            let (declaration, rest) = body.split_at(declaration_end);
            format!(
                "{declaration}\n{marker}\n{}",
                rest.trim_start_matches(['\r', '\n'])
            )
        }
        None => format!("{marker}\n{body}"),
    };
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Mviewer silently shows nothing for a broken config: refuse it here.
fn check_well_formed(xml: &str) -> Result<(), String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut depth = 0usize;
    let mut roots = 0usize;
    let at_line = |pos: u64| xml[..(pos as usize).min(xml.len())].matches('\n').count() + 1;
    loop {
        let position = reader.buffer_position();
        let event = reader.read_event().map_err(|e| {
            format!(
                "rendered XML is not well-formed (output line {}): {e}",
                at_line(reader.error_position())
            )
        })?;
        let element = match &event {
            Event::Start(e) | Event::Empty(e) => Some(e),
            _ => None,
        };
        if let Some(element) = element {
            if depth == 0 {
                roots += 1;
            }
            for attribute in element.attributes().with_checks(true) {
                let attribute = attribute.map_err(|e| {
                    format!(
                        "rendered XML is not well-formed (output line {}): {e}",
                        at_line(position)
                    )
                })?;
                attribute.unescape_value().map_err(|e| {
                    format!(
                        "rendered XML is not well-formed (output line {}): {e}",
                        at_line(position)
                    )
                })?;
            }
        }
        match event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Eof => break,
            _ => {}
        }
    }
    if depth != 0 {
        return Err("rendered XML is not well-formed: an element is not closed".into());
    }
    if roots != 1 {
        return Err(format!("rendered XML must have one root element, found {roots}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_goes_after_the_declaration_and_is_read_back() {
        let out = with_marker("<?xml version=\"1.0\"?>\n<config/>", "salins");
        assert!(out.starts_with("<?xml version=\"1.0\"?>\n<!-- managed by geosync (mviewer.app:salins)"));
        assert_eq!(owner_of(&out), Some("salins"));
        assert_eq!(owner_of("<config/>"), None);
    }

    #[test]
    fn malformed_output_is_refused() {
        assert!(check_well_formed("<config><a></config>").is_err());
        assert!(check_well_formed("<config a=\"1\" a=\"2\"/>").is_err());
        assert!(check_well_formed("<a/><b/>").is_err());
        assert!(check_well_formed("<config a=\"&amp;\"/>").is_ok());
    }
}
