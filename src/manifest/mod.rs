//! Reading manifests: TOML files in git describing the whole platform.
//!
//! `load` reads every file, parses it strictly, merges `[vars]`, applies
//! `--var` overrides and lowers everything into the validated [`Manifest`].
//! It touches no system: a manifest that loads is safe to plan.

pub mod error;
mod lower;
mod lower_docker;
mod lower_postgres;
pub mod model;
pub mod raw;
pub mod secret;
mod secret_file;
pub mod source;
pub mod vars;

use std::collections::BTreeMap;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

pub use error::{ManifestError, ManifestErrors};
pub use lower_docker::{CONTAINER_KIND, FILE_KIND, NETWORK_KIND, VOLUME_KIND};
pub use lower_postgres::{DATABASE_KIND, GRANT_KIND, ROLE_KIND};
pub use model::{Manifest, ManifestSource};

use error::closest;
use lower::Lowerer;
use raw::RawManifest;
use secret::Redactor;
use source::{Location, SourceFile};
use vars::Vars;

/// Loads and validates a set of manifest files, with `--var name=value`
/// overrides.
pub fn load(
    paths: &[PathBuf],
    overrides: &[String],
    redactor: &Redactor,
) -> Result<Manifest, ManifestErrors> {
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    for path in paths {
        match read_and_parse(path) {
            Ok(file) => parsed.push(file),
            Err(error) => errors.push(error),
        }
    }
    // Values can only be checked once every file parsed.
    if !errors.is_empty() {
        return Err(ManifestErrors(errors));
    }

    let vars = collect_vars(&parsed, overrides, &mut errors);
    let mut manifest = Manifest {
        sources: parsed
            .iter()
            .map(|(source, _)| ManifestSource {
                path: source.path.clone(),
                sha256: hex::encode(Sha256::digest(source.text.as_bytes())),
            })
            .collect(),
        vars: vars.clone(),
        mviewer: Default::default(),
        files: Vec::new(),
        postgres: None,
        docker: None,
        redactor: redactor.clone(),
    };

    let mut target_dir_at: Option<Location> = None;
    let mut geoserver_url: Option<(String, Location)> = None;
    // Settings first: an app in one file may rely on a setting from another.
    for (source, raw) in &parsed {
        let Some(mviewer) = &raw.mviewer else {
            continue;
        };
        let mut lower = Lowerer {
            source,
            vars: &vars,
            errors: &mut errors,
        };
        if let Some(dir) = &mviewer.target_dir {
            let at = lower.at(&dir.span());
            if let Some(first) = &target_dir_at {
                lower.errors.push(ManifestError::Duplicate {
                    at,
                    first: first.clone(),
                    subject: "[mviewer] target_dir".into(),
                });
            } else {
                match (&mviewer.target_container, &mviewer.target_volume) {
                    (None, None) => manifest.mviewer.target_dir = Some(lower.path(dir)),
                    (Some(container), None) => {
                        manifest.mviewer.in_container = Some(model::ContainerDir {
                            container: lower.text(container),
                            dir: lower.text(dir),
                            volume: None,
                            at: at.clone(),
                        })
                    }
                    (None, Some(volume)) => {
                        manifest.mviewer.in_container = Some(model::ContainerDir {
                            container: String::new(),
                            dir: lower.text(dir),
                            volume: Some(lower.text(volume)),
                            at: at.clone(),
                        })
                    }
                    (Some(_), Some(_)) => lower.errors.push(ManifestError::Invalid {
                        at: at.clone(),
                        subject: "[mviewer]".into(),
                        message: "give at most one of `target_container` or `target_volume`".into(),
                    }),
                }
                target_dir_at = Some(at);
            }
        }
        if let Some(url) = &mviewer.geoserver_url {
            let at = lower.at(&url.span());
            if let Some((_, first)) = &geoserver_url {
                lower.errors.push(ManifestError::Duplicate {
                    at,
                    first: first.clone(),
                    subject: "[mviewer] geoserver_url".into(),
                });
            } else {
                geoserver_url = Some((lower.text(url), at));
            }
        }
    }

    let mut app_at: BTreeMap<String, Location> = BTreeMap::new();
    for (source, raw) in &parsed {
        let Some(mviewer) = &raw.mviewer else {
            continue;
        };
        let mut lower = Lowerer {
            source,
            vars: &vars,
            errors: &mut errors,
        };
        for raw_app in &mviewer.app {
            let app = lower.mviewer_app(raw_app, geoserver_url.as_ref().map(|(u, _)| u.as_str()));
            if let Some(first) = app_at.insert(app.name.clone(), app.at.clone()) {
                lower.errors.push(ManifestError::Duplicate {
                    at: app.at.clone(),
                    first,
                    subject: app.address().to_string(),
                });
            }
            if manifest.mviewer.target_dir.is_none() && manifest.mviewer.in_container.is_none() {
                lower.errors.push(ManifestError::Invalid {
                    at: app.at.clone(),
                    subject: app.address().to_string(),
                    message: "[mviewer] target_dir is not set: where should the config be written?".into(),
                });
            }
            manifest.mviewer.apps.push(app);
        }
    }

    let mut file_at: BTreeMap<String, Location> = BTreeMap::new();
    let mut path_at: BTreeMap<PathBuf, Location> = BTreeMap::new();
    for (source, raw) in &parsed {
        let mut lower = Lowerer {
            source,
            vars: &vars,
            errors: &mut errors,
        };
        for raw_file in &raw.file {
            let file = lower.managed_file(raw_file, model::ManagedFile::KIND, redactor);
            if let Some(first) = file_at.insert(file.name.clone(), file.at.clone()) {
                lower.errors.push(ManifestError::Duplicate {
                    at: file.at.clone(),
                    first,
                    subject: file.address().to_string(),
                });
            }
            // Two resources writing one file would flip it back and forth forever.
            if let Some(first) = path_at.insert(file.path.clone(), file.at.clone()) {
                lower.errors.push(ManifestError::Duplicate {
                    at: file.at.clone(),
                    first,
                    subject: format!("{}: path {}", file.address(), file.path.display()),
                });
            }
            manifest.files.push(file);
        }
    }

    let mut postgres_parts = Vec::new();
    for (source, raw) in &parsed {
        let Some(postgres) = &raw.postgres else { continue };
        let mut lower = Lowerer {
            source,
            vars: &vars,
            errors: &mut errors,
        };
        postgres_parts.push(lower.postgres_part(postgres, redactor));
    }
    manifest.postgres = lower_postgres::merge(postgres_parts, &mut errors);

    let mut docker_parts = Vec::new();
    for (source, raw) in &parsed {
        let Some(docker) = &raw.docker else { continue };
        let mut lower = Lowerer {
            source,
            vars: &vars,
            errors: &mut errors,
        };
        docker_parts.push(lower.docker(docker, redactor));
    }
    manifest.docker = lower_docker::merge(docker_parts, &mut errors);
    if let Some(target) = manifest.mviewer.in_container.as_mut() {
        lower_docker::resolve_container_dir(target, manifest.docker.as_ref(), &mut errors);
    }

    if errors.is_empty() {
        Ok(manifest)
    } else {
        Err(ManifestErrors(errors))
    }
}

fn read_and_parse(path: &std::path::Path) -> Result<(SourceFile, RawManifest), ManifestError> {
    let source = SourceFile::read(path)?;
    match toml::from_str::<RawManifest>(&source.text) {
        Ok(raw) => Ok((source, raw)),
        Err(error) => {
            let at = error
                .span()
                .map_or_else(|| Location::file_only(path), |span| source.location(span.start));
            let message = error.message().trim_end().to_string();
            Err(ManifestError::Syntax {
                hint: did_you_mean(&message),
                at,
                message,
            })
        }
    }
}

/// serde names an unknown key or variant and the valid ones in backticks:
/// "unknown field `titel`, expected one of `name`, `title`".
fn did_you_mean(message: &str) -> Option<String> {
    if !message.starts_with("unknown field") && !message.starts_with("unknown variant") {
        return None;
    }
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let (wrong, valid) = quoted.split_first()?;
    closest(wrong, valid.iter().copied()).map(|c| format!("did you mean `{c}`?"))
}

fn collect_vars(
    parsed: &[(SourceFile, RawManifest)],
    overrides: &[String],
    errors: &mut Vec<ManifestError>,
) -> Vars {
    let mut values = BTreeMap::new();
    let mut declared_at: BTreeMap<String, Location> = BTreeMap::new();
    for (source, raw) in parsed {
        for (name, value) in &raw.vars {
            let at = source.span_location(&value.span());
            if let Some(first) = declared_at.get(name) {
                errors.push(ManifestError::Duplicate {
                    at,
                    first: first.clone(),
                    subject: format!("variable `{name}`"),
                });
                continue;
            }
            let text = match value.get_ref() {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => {
                    errors.push(ManifestError::Invalid {
                        at: at.clone(),
                        subject: format!("variable `{name}`"),
                        message: "a variable holds a string, number or boolean".into(),
                    });
                    continue;
                }
            };
            declared_at.insert(name.clone(), at);
            values.insert(name.clone(), text);
        }
    }
    let mut vars = Vars::new(values);
    for assignment in overrides {
        let Some((name, value)) = assignment.split_once('=') else {
            errors.push(ManifestError::MalformedOverride(assignment.clone()));
            continue;
        };
        if vars.contains(name) {
            vars.set(name, value.to_string());
        } else {
            errors.push(ManifestError::UnknownOverride {
                name: name.to_string(),
                hint: closest(name, vars.names()).map(|c| format!("did you mean `{c}`?")),
            });
        }
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggestion_comes_from_the_expected_list() {
        assert_eq!(
            did_you_mean("unknown field `titel`, expected one of `name`, `title`").as_deref(),
            Some("did you mean `title`?")
        );
        assert_eq!(did_you_mean("invalid type: integer"), None);
    }
}
