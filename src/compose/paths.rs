//! Compose resolves relative paths (binds, env files, build contexts,
//! secret and config files, `extends` files) against the compose file's
//! folder; a manifest resolves them against its own folder. The importer
//! rewrites each one for the folder the manifest is written to.

use std::path::{Component, Path, PathBuf};

pub struct Paths {
    /// The compose file's folder, absolute.
    pub compose_dir: PathBuf,
    /// The manifest's folder, absolute.
    pub manifest_dir: PathBuf,
}

impl Paths {
    pub fn new(compose_file: &Path, manifest_file: Option<&Path>) -> Self {
        let absolute = |p: &Path| {
            let joined = std::env::current_dir().unwrap_or_default().join(p);
            std::fs::canonicalize(&joined).unwrap_or_else(|_| normalize(&joined))
        };
        let compose_dir = absolute(compose_file.parent().unwrap_or(Path::new(".")));
        let manifest_dir = match manifest_file.and_then(Path::parent) {
            Some(dir) => absolute(dir),
            None => absolute(Path::new(".")),
        };
        Paths {
            compose_dir,
            manifest_dir,
        }
    }

    /// Where a compose path is on this machine.
    pub fn on_disk(&self, path: &str) -> PathBuf {
        let path = expand_home(path);
        normalize(&self.compose_dir.join(path))
    }

    /// A compose path as the manifest must write it: absolute paths as
    /// they are, relative ones from the manifest's folder, starting with
    /// `./` or `../` (a manifest reads a bare name as a volume).
    pub fn for_manifest(&self, path: &str) -> String {
        // `${DIR}/x`: the variable decides at validate time, as in compose.
        if path.starts_with('/') || path.starts_with(super::interpolate::MARK_OPEN) {
            return path.to_string();
        }
        if path.starts_with('~') {
            return self.on_disk(path).display().to_string();
        }
        let target = self.on_disk(path);
        let relative = relative_to(&target, &self.manifest_dir);
        let text = relative.display().to_string();
        if text.is_empty() {
            ".".into()
        } else if text.starts_with("..") {
            text
        } else {
            format!("./{text}")
        }
    }
}

fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix('~') {
        Some(rest) => PathBuf::from(format!("{}{rest}", std::env::var("HOME").unwrap_or_default())),
        None => PathBuf::from(path),
    }
}

/// `a/./b/../c` -> `a/c`, without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn relative_to(target: &Path, base: &Path) -> PathBuf {
    let t: Vec<_> = target.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for part in &t[common..] {
        out.push(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_rewritten_for_the_manifest_folder() {
        let same = Paths {
            compose_dir: "/p/app".into(),
            manifest_dir: "/p/app".into(),
        };
        assert_eq!(same.for_manifest("db/password.txt"), "./db/password.txt");
        assert_eq!(same.for_manifest("./static"), "./static");
        assert_eq!(same.for_manifest("."), ".");
        assert_eq!(same.for_manifest("/etc/x"), "/etc/x");
        let other = Paths {
            compose_dir: "/p/app".into(),
            manifest_dir: "/p/ops".into(),
        };
        assert_eq!(other.for_manifest("./static"), "../app/static");
        assert_eq!(other.for_manifest("../shared/x.env"), "../shared/x.env");
    }
}
