//! `[[file]]`: whole files geosync keeps at host paths, rendered from a
//! template or given inline.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::manifest::document::Document;
use crate::manifest::lower::Lowerer;
use crate::manifest::model::ManagedFile;
use crate::manifest::raw::RawFile;
use crate::manifest::secret::SecretResolver;
use crate::manifest::source::Location;
use crate::manifest::vars::Vars;
use crate::manifest::ManifestError;

pub const KIND: &str = "file";

/// Lowers the `[[file]]` of every file; two resources writing one path
/// would flip it back and forth forever, so that is refused.
pub fn lower(
    documents: &[Document],
    vars: &Vars,
    resolver: &SecretResolver,
    errors: &mut Vec<ManifestError>,
) -> Vec<ManagedFile> {
    let mut files = Vec::new();
    let mut name_at: HashMap<String, Location> = HashMap::new();
    let mut path_at: HashMap<PathBuf, Location> = HashMap::new();
    for doc in documents {
        let Some(raw_files) = doc.section::<Vec<RawFile>>("file", errors) else {
            continue;
        };
        let mut lower = Lowerer::new(&doc.source, vars, errors);
        for raw_file in &raw_files {
            let file = lower.managed_file(raw_file, KIND, resolver);
            let address = crate::plan::Address::new(KIND, &file.name);
            if let Some(first) = name_at.insert(file.name.clone(), file.at.clone()) {
                lower.errors.push(ManifestError::Duplicate {
                    at: file.at.clone(),
                    first,
                    subject: address.to_string(),
                });
            }
            if let Some(first) = path_at.insert(file.path.clone(), file.at.clone()) {
                lower.errors.push(ManifestError::Duplicate {
                    at: file.at.clone(),
                    first,
                    subject: format!("{address}: path {}", file.path.display()),
                });
            }
            files.push(file);
        }
    }
    files
}
