//! A service's `volumes`, `secrets` and `configs`, as manifest volume
//! strings: named volumes, binds (paths rewritten for the manifest's
//! folder), anonymous volumes (`/data`), and compose secrets and configs
//! backed by a file as read-only binds where compose puts them.

use serde_yaml_ng::Value;

use super::environment::scalar;
use super::interpolate::MARK_OPEN;
use super::paths::Paths;

/// Mounts of one service, and notes on what was dropped.
#[derive(Default)]
pub struct Mounts {
    pub volumes: Vec<String>,
    pub notes: Vec<String>,
}

impl Mounts {
    /// `volumes:` in short (`SRC:TARGET[:MODE]`, `TARGET`) or long syntax.
    pub fn volumes(&mut self, service: &str, list: Option<&Value>, paths: &Paths) -> Result<(), String> {
        let Some(Value::Sequence(items)) = list else {
            return Ok(());
        };
        for item in items {
            let (source, target, options) = match item {
                Value::Mapping(_) => match self.long_volume(service, item)? {
                    Some(parts) => parts,
                    None => continue,
                },
                other => {
                    let text = scalar(other).ok_or("a volume that is neither text nor a mapping")?;
                    split_short(&text)
                }
            };
            let mut read_only = false;
            for option in options.split(',').filter(|o| !o.is_empty()) {
                match option {
                    "ro" => read_only = true,
                    "rw" => {}
                    other => self.notes.push(format!(
                        "service `{service}`: volume option `{other}` of `{target}` is not supported by geosync and was dropped"
                    )),
                }
            }
            let mode = if read_only { ":ro" } else { "" };
            self.volumes.push(match source {
                None => format!("{target}{mode}"),
                Some(source) => format!("{}:{target}{mode}", bind_or_volume(&source, paths)),
            });
        }
        Ok(())
    }

    /// `{ type, source, target, read_only }`: None for what is skipped.
    fn long_volume(
        &mut self,
        service: &str,
        item: &Value,
    ) -> Result<Option<(Option<String>, String, String)>, String> {
        let kind = item
            .get("type")
            .and_then(scalar)
            .unwrap_or_else(|| "volume".into());
        let target = item
            .get("target")
            .and_then(scalar)
            .ok_or("a volume in long syntax without `target`")?;
        if kind != "bind" && kind != "volume" {
            self.notes.push(format!(
                "service `{service}`: `{kind}` mount on `{target}` is not supported by geosync and was not imported"
            ));
            return Ok(None);
        }
        for extra in ["bind", "volume", "tmpfs", "consistency"] {
            if item.get(extra).is_some() {
                self.notes.push(format!(
                    "service `{service}`: `{extra}` options of the mount on `{target}` are not supported by geosync and were dropped"
                ));
            }
        }
        let source = item.get("source").and_then(scalar);
        if kind == "bind" && source.is_none() {
            return Err(format!("the bind mount on `{target}` has no `source`"));
        }
        let read_only = item.get("read_only").and_then(Value::as_bool).unwrap_or(false);
        Ok(Some((
            source,
            target,
            if read_only { "ro".into() } else { String::new() },
        )))
    }

    /// `secrets:` or `configs:` of a service, from the top-level ones.
    pub fn files(
        &mut self,
        kind: FileKind,
        service: &str,
        list: Option<&Value>,
        declared: Option<&Value>,
        paths: &Paths,
    ) -> Result<(), String> {
        let Some(Value::Sequence(items)) = list else {
            return Ok(());
        };
        let word = kind.word();
        for item in items {
            let (name, target) = match item {
                Value::Mapping(_) => {
                    for ignored in ["uid", "gid", "mode"] {
                        if item.get(ignored).is_some() {
                            self.notes.push(format!(
                                "service `{service}`: `{ignored}` of {word} is ignored, as compose does for a file-backed one"
                            ));
                        }
                    }
                    (
                        item.get("source")
                            .and_then(scalar)
                            .ok_or(format!("a {word} without `source`"))?,
                        item.get("target").and_then(scalar),
                    )
                }
                other => (scalar(other).ok_or(format!("a {word} that is not a name"))?, None),
            };
            let definition = declared
                .and_then(|d| d.get(name.as_str()))
                .ok_or(format!("{word} `{name}` is not declared at the top level"))?;
            let Some(file) = definition.get("file").and_then(scalar) else {
                let what = ["external", "environment", "content"]
                    .into_iter()
                    .find(|k| definition.get(*k).is_some())
                    .unwrap_or("neither `file`");
                return Err(format!(
                    "{word} `{name}` is `{what}`: geosync mounts only {word}s backed by a `file`"
                ));
            };
            let target = kind.target(&name, target.as_deref());
            // `file:` is always a path relative to the compose file, with or without `./`.
            self.volumes
                .push(format!("{}:{target}:ro", paths.for_manifest(&file)));
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
pub enum FileKind {
    Secret,
    Config,
}

impl FileKind {
    fn word(self) -> &'static str {
        match self {
            FileKind::Secret => "secret",
            FileKind::Config => "config",
        }
    }

    /// Where compose mounts it: secrets in /run/secrets, configs at /NAME.
    fn target(self, name: &str, target: Option<&str>) -> String {
        match (self, target) {
            (_, Some(t)) if t.starts_with('/') => t.to_string(),
            (FileKind::Secret, Some(t)) => format!("/run/secrets/{t}"),
            (FileKind::Secret, None) => format!("/run/secrets/{name}"),
            (FileKind::Config, Some(t)) => format!("/{t}"),
            (FileKind::Config, None) => format!("/{name}"),
        }
    }
}

/// `SRC:TARGET:MODE`, `SRC:TARGET` or `TARGET` (anonymous).
fn split_short(text: &str) -> (Option<String>, String, String) {
    let parts: Vec<&str> = text.splitn(3, ':').collect();
    match parts.as_slice() {
        [target] => (None, target.to_string(), String::new()),
        [source, target] => (Some(source.to_string()), target.to_string(), String::new()),
        [source, target, mode] => (Some(source.to_string()), target.to_string(), mode.to_string()),
        _ => (None, text.to_string(), String::new()),
    }
}

/// A bind source rewritten for the manifest's folder; a volume name as is.
fn bind_or_volume(source: &str, paths: &Paths) -> String {
    if source.starts_with(MARK_OPEN) {
        // `${FILE}`: the manifest decides at validate time, as compose does.
        source.to_string()
    } else if source.starts_with('.') || source.starts_with('/') || source.starts_with('~') {
        paths.for_manifest(source)
    } else {
        source.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Paths {
        Paths {
            compose_dir: "/p/app".into(),
            manifest_dir: "/p/app".into(),
        }
    }

    #[test]
    fn short_long_and_anonymous_volumes() {
        let yaml: Value = serde_yaml_ng::from_str(
            "[staticVol:/usr/share/nginx/html:ro, /usr/src/app/node_modules, ./static:/s, '.:/code:z',
              {type: bind, source: ./proxy/nginx.conf, target: /etc/nginx/conf.d/default.conf, read_only: true},
              {type: volume, target: /data}, {type: tmpfs, target: /tmp}]",
        )
        .unwrap();
        let mut mounts = Mounts::default();
        mounts.volumes("web", Some(&yaml), &paths()).unwrap();
        assert_eq!(
            mounts.volumes,
            vec![
                "staticVol:/usr/share/nginx/html:ro",
                "/usr/src/app/node_modules",
                "./static:/s",
                ".:/code",
                "./proxy/nginx.conf:/etc/nginx/conf.d/default.conf:ro",
                "/data",
            ]
        );
        assert_eq!(mounts.notes.len(), 2, "{:?}", mounts.notes);
    }

    #[test]
    fn secret_and_config_files_are_relative_to_the_compose_file() {
        let declared: Value = serde_yaml_ng::from_str(
            "{s: {file: not-so-secret.txt}, c: {file: ./my-config.txt}, e: {external: true}}",
        )
        .unwrap();
        let mut mounts = Mounts::default();
        let list: Value = serde_yaml_ng::from_str("[s, {source: s, target: other}]").unwrap();
        mounts
            .files(FileKind::Secret, "b", Some(&list), Some(&declared), &paths())
            .unwrap();
        let list: Value = serde_yaml_ng::from_str("[c, {source: c, target: /etc/c.txt}]").unwrap();
        mounts
            .files(FileKind::Config, "a", Some(&list), Some(&declared), &paths())
            .unwrap();
        assert_eq!(
            mounts.volumes,
            vec![
                "./not-so-secret.txt:/run/secrets/s:ro",
                "./not-so-secret.txt:/run/secrets/other:ro",
                "./my-config.txt:/c:ro",
                "./my-config.txt:/etc/c.txt:ro",
            ]
        );
        let list: Value = serde_yaml_ng::from_str("[e]").unwrap();
        let err = mounts
            .files(FileKind::Config, "a", Some(&list), Some(&declared), &paths())
            .unwrap_err();
        assert_eq!(
            err,
            "config `e` is `external`: geosync mounts only configs backed by a `file`"
        );
    }
}
