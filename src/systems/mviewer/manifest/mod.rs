//! `[mviewer]`: the TOML (raw), its lowering and checks (lower), the
//! validated settings and apps the system plans from (here).

mod lower;
pub mod raw;
mod search;
mod themes;

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::manifest::document::Document;
use crate::manifest::lower::Lowerer;
use crate::manifest::source::Location;
use crate::manifest::vars::Vars;
use crate::manifest::ManifestError;
use crate::plan::Address;
use raw::{BaseLayerKind, OlsCompletionKind};

#[derive(Debug, Default)]
pub struct Mviewer {
    /// A host folder (None when the configs go into a container or volume).
    pub target_dir: Option<PathBuf>,
    pub in_container: Option<ContainerDir>,
    pub apps: Vec<MviewerApp>,
}

/// A folder inside a container of the project; for a volume, inside the
/// container that mounts it.
#[derive(Debug, Clone)]
pub struct ContainerDir {
    pub container: String,
    pub dir: String,
    pub volume: Option<String>,
    pub at: Location,
}

/// One Mviewer application. Serialized as the template's context, so the
/// field names are the ones templates use.
#[derive(Debug, Clone, Serialize)]
pub struct MviewerApp {
    pub name: String,
    #[serde(skip)]
    pub at: Location,
    /// A site template, or the built-in one when absent.
    #[serde(skip)]
    pub template: Option<PathBuf>,
    pub title: String,
    pub logo: Option<String>,
    pub help: Option<String>,
    pub mouseposition: bool,
    pub measuretools: bool,
    pub mapprint: bool,
    pub exportpng: bool,
    pub map: MapOptions,
    pub baselayers: Vec<BaseLayer>,
    pub themes: Vec<Theme>,
    pub olscompletion: Option<OlsCompletion>,
    /// Written whenever a search is configured, every value explicit.
    pub searchparameters: Option<SearchParameters>,
}

impl MviewerApp {
    pub const KIND: &'static str = "mviewer.app";

    pub fn address(&self) -> Address {
        Address::new(Self::KIND, &self.name)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MapOptions {
    pub projection: String,
    pub center: [f64; 2],
    pub zoom: u8,
    pub maxzoom: Option<u8>,
    pub projextent: Option<[f64; 4]>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BaseLayer {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: BaseLayerKind,
    pub label: String,
    pub title: String,
    pub url: String,
    pub layers: Option<String>,
    pub format: Option<String>,
    pub visible: bool,
    pub attribution: Option<String>,
    pub thumbgallery: Option<String>,
    pub style: Option<String>,
    pub matrixset: Option<String>,
    pub maxzoom: Option<u8>,
    pub maxscale: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Theme {
    pub id: String,
    pub name: String,
    pub icon: Option<String>,
    pub collapsed: bool,
    /// Groups come before the theme's own layers, as Mviewer lists them.
    pub groups: Vec<Group>,
    pub layers: Vec<Layer>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub layers: Vec<Layer>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OlsCompletion {
    pub url: String,
    #[serde(rename = "type")]
    pub kind: OlsCompletionKind,
    pub attribution: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchParameters {
    pub localities: bool,
    pub bbox: bool,
    pub inputlabel: Option<String>,
    pub marker: bool,
    pub querymaponclick: bool,
    pub closeafterclick: bool,
    pub animate: bool,
    pub duration: Option<u32>,
    pub searchmaxzoomlevel: Option<u8>,
}

/// A theme layer: a WMS layer, by default one of the platform's GeoServer.
#[derive(Debug, Clone, Serialize)]
pub struct Layer {
    /// Mviewer's layer id: the WMS layer name, `workspace:layer`.
    pub id: String,
    pub name: String,
    pub url: String,
    pub visible: bool,
    pub queryable: bool,
    pub tiled: bool,
    pub opacity: Option<f64>,
    pub style: Option<String>,
    pub legendurl: Option<String>,
    pub metadata: Option<String>,
    pub metadata_csw: Option<String>,
    pub infoformat: String,
    pub featurecount: Option<u32>,
    pub attribution: Option<String>,
}

/// Lowers `[mviewer]` of every file: the settings first (an app in one file
/// may rely on a setting from another), then the apps.
pub fn lower(documents: &[Document], vars: &Vars, errors: &mut Vec<ManifestError>) -> Mviewer {
    let sections: Vec<(&Document, raw::RawMviewer)> = documents
        .iter()
        .filter_map(|doc| Some((doc, doc.section::<raw::RawMviewer>("mviewer", errors)?)))
        .collect();
    let mut mviewer = Mviewer::default();
    let mut target_dir_at: Option<Location> = None;
    let mut geoserver_url: Option<(String, Location)> = None;
    for (doc, section) in &sections {
        let mut lower = Lowerer::new(&doc.source, vars, errors);
        lower_target(&mut lower, section, &mut mviewer, &mut target_dir_at);
        if let Some(url) = &section.geoserver_url {
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

    let mut app_at: HashMap<String, Location> = HashMap::new();
    for (doc, section) in &sections {
        let mut lower = Lowerer::new(&doc.source, vars, errors);
        for raw_app in &section.app {
            let app = lower.mviewer_app(raw_app, geoserver_url.as_ref().map(|(u, _)| u.as_str()));
            if let Some(first) = app_at.insert(app.name.clone(), app.at.clone()) {
                lower.errors.push(ManifestError::Duplicate {
                    at: app.at.clone(),
                    first,
                    subject: app.address().to_string(),
                });
            }
            if mviewer.target_dir.is_none() && mviewer.in_container.is_none() {
                lower.errors.push(ManifestError::Invalid {
                    at: app.at.clone(),
                    subject: app.address().to_string(),
                    message: "[mviewer] target_dir is not set: where should the config be written?".into(),
                });
            }
            mviewer.apps.push(app);
        }
    }
    mviewer
}

/// Where the configs go: a host folder, or a folder in a container or volume.
fn lower_target(
    lower: &mut Lowerer<'_>,
    section: &raw::RawMviewer,
    mviewer: &mut Mviewer,
    target_dir_at: &mut Option<Location>,
) {
    let Some(dir) = &section.target_dir else { return };
    let at = lower.at(&dir.span());
    if let Some(first) = target_dir_at {
        lower.errors.push(ManifestError::Duplicate {
            at,
            first: first.clone(),
            subject: "[mviewer] target_dir".into(),
        });
        return;
    }
    match (&section.target_container, &section.target_volume) {
        (None, None) => mviewer.target_dir = Some(lower.path(dir)),
        (Some(container), None) => {
            mviewer.in_container = Some(ContainerDir {
                container: lower.text(container),
                dir: lower.text(dir),
                volume: None,
                at: at.clone(),
            })
        }
        (None, Some(volume)) => {
            mviewer.in_container = Some(ContainerDir {
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
    *target_dir_at = Some(at);
}
