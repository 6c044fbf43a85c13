//! Getting the images a run needs: pulled from their registry, or built
//! from a context folder through the Engine's build API.

use std::path::Path;

use bollard::query_parameters::{BuildImageOptionsBuilder, CreateImageOptionsBuilder};
use bollard::Docker;
use futures::StreamExt;
use sha2::{Digest, Sha256};

use super::names;
use crate::systems::docker::manifest::Build;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("cannot pull {image} from {registry}")]
    Pull {
        image: String,
        registry: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("cannot build {image} from {context}: {message}")]
    Build {
        image: String,
        context: String,
        message: String,
    },
    #[error("cannot read the build context {context}")]
    Context {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// The registry an image reference names, as Docker reads it: the first
/// path part when it looks like a host (a dot, a port or localhost).
pub fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first.to_string()
        }
        _ => "the default registry (Docker Hub)".to_string(),
    }
}

pub async fn pull(docker: &Docker, image: &str) -> Result<(), ImageError> {
    let options = CreateImageOptionsBuilder::default().from_image(image).build();
    let mut progress = docker.create_image(Some(options), None, None);
    while let Some(step) = progress.next().await {
        step.map_err(|source| ImageError::Pull {
            image: image.to_string(),
            registry: registry_of(image),
            source,
        })?;
    }
    Ok(())
}

pub async fn build(
    docker: &Docker,
    image: &str,
    build: &Build,
    context_hash: &str,
) -> Result<(), ImageError> {
    let context = build.context.display().to_string();
    let archive = tar_context(&build.context).map_err(|source| ImageError::Context {
        context: context.clone(),
        source,
    })?;
    let labels =
        std::collections::HashMap::from([(names::CONTEXT_HASH.to_string(), context_hash.to_string())]);
    let args: std::collections::HashMap<String, String> = build.args.clone().into_iter().collect();
    let mut options = BuildImageOptionsBuilder::default()
        .dockerfile(&build.dockerfile)
        .t(image)
        .rm(true)
        .forcerm(true)
        .labels(&labels)
        .buildargs(&args);
    if let Some(target) = &build.target {
        options = options.target(target);
    }
    let options = options.build();
    let mut progress = docker.build_image(options, None, Some(bollard::body_full(archive.into())));
    while let Some(step) = progress.next().await {
        let info = step.map_err(|e| ImageError::Build {
            image: image.to_string(),
            context: context.clone(),
            message: e.to_string(),
        })?;
        if let Some(error) = info.error_detail.and_then(|d| d.message) {
            return Err(ImageError::Build {
                image: image.to_string(),
                context,
                message: error,
            });
        }
    }
    Ok(())
}

fn tar_context(dir: &Path) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    for relative in context_files(dir)? {
        builder.append_path_with_name(dir.join(&relative), &relative)?;
    }
    builder.into_inner()
}

/// The files of a build context, sorted, minus what `.dockerignore` leaves
/// out. Patterns are paths relative to the context, each excluding itself
/// and everything below it (`target`, `.git`); wildcards are not supported.
fn context_files(dir: &Path) -> std::io::Result<Vec<String>> {
    let ignored: Vec<String> = std::fs::read_to_string(dir.join(".dockerignore"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().trim_start_matches('/').trim_end_matches('/').to_string())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let mut files = Vec::new();
    collect(dir, dir, &ignored, &mut files)?;
    files.sort();
    Ok(files)
}

/// A digest of what an image is built from: every file of the context
/// (paths, modes, contents), and the target stage and build arguments when
/// given, so changing any of them rebuilds the image and recreates its
/// containers. (Without target and arguments the digest is the context's
/// alone, as before they existed: upgrading rebuilds nothing.)
pub fn context_hash(build: &Build) -> std::io::Result<String> {
    let mut hash = Sha256::new();
    if build.target.is_some() || !build.args.is_empty() {
        // Length-prefixed, so that no two different specs hash alike.
        let mut field = |text: &str| {
            hash.update((text.len() as u64).to_le_bytes());
            hash.update(text.as_bytes());
        };
        field(build.target.as_deref().unwrap_or(""));
        for (key, value) in &build.args {
            field(key);
            field(value);
        }
    }
    let dir = &build.context;
    for relative in context_files(dir)? {
        let path = dir.join(&relative);
        let meta = std::fs::symlink_metadata(&path)?;
        use std::os::unix::fs::PermissionsExt;
        hash.update(relative.as_bytes());
        hash.update(meta.permissions().mode().to_le_bytes());
        if meta.is_file() {
            let content = std::fs::read(&path)?;
            hash.update((content.len() as u64).to_le_bytes());
            hash.update(&content);
        }
    }
    Ok(hex::encode(hash.finalize()))
}

fn collect(root: &Path, dir: &Path, ignored: &[String], files: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        if ignored
            .iter()
            .any(|i| relative == *i || relative.starts_with(&format!("{i}/")))
        {
            continue;
        }
        if entry.file_type()?.is_dir() {
            collect(root, &path, ignored, files)?;
        } else {
            files.push(relative);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::registry_of;

    #[test]
    fn registry_is_the_host_part_of_the_reference() {
        assert_eq!(
            registry_of("localhost:5000/georchestra/geoserver:24"),
            "localhost:5000"
        );
        assert_eq!(registry_of("registry.example.org/x"), "registry.example.org");
        assert_eq!(
            registry_of("georchestra/geoserver:24"),
            "the default registry (Docker Hub)"
        );
    }
}
