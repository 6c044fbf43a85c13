//! Lowering of themes, their groups and layers: ids unique where Mviewer
//! keys on them, no empty theme or group (Mviewer's documentation requires a
//! layer in each), one theme open at start, layer URLs resolved against the
//! platform's GeoServer.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::raw::{RawGroup, RawLayer, RawTheme};
use super::{Group, Layer, Theme};
use crate::manifest::lower::Lowerer;
use crate::manifest::source::Location;
use crate::manifest::ManifestError;

const DEFAULT_INFOFORMAT: &str = "application/vnd.ogc.gml";

/// Layer ids seen so far in an app: Mviewer renames a second layer of the
/// same id, so the manifest's name would no longer find it.
type LayerIds = BTreeMap<String, Location>;

impl Lowerer<'_> {
    pub(super) fn themes(
        &mut self,
        raw: &[Spanned<RawTheme>],
        geoserver_url: Option<&str>,
        subject: &str,
    ) -> Vec<Theme> {
        let mut theme_ids = BTreeMap::new();
        let mut layer_ids = LayerIds::new();
        let mut themes = Vec::new();
        for spanned in raw {
            let t = spanned.get_ref();
            let id = self.text(&t.id);
            self.unique(
                &mut theme_ids,
                &id,
                &t.id.span(),
                format!("{subject}: theme `{id}`"),
            );
            let groups = self.groups(&t.group, &id, geoserver_url, &mut layer_ids, subject);
            let layers = self.layers(&t.layer, geoserver_url, &mut layer_ids, subject);
            if groups.is_empty() && layers.is_empty() {
                self.invalid(
                    &spanned.span(),
                    subject,
                    format!("theme `{id}` has no layer: give it a [[…theme.layer]] or a [[…theme.group]]"),
                );
            }
            themes.push(Theme {
                id,
                name: self.text(&t.name),
                icon: self.opt(&t.icon),
                collapsed: t.collapsed,
                groups,
                layers,
            });
        }
        self.one_open_theme(raw, &themes, subject);
        themes
    }

    /// Mviewer's documentation: only one theme may be open at start.
    fn one_open_theme(&mut self, raw: &[Spanned<RawTheme>], themes: &[Theme], subject: &str) {
        let mut open = raw.iter().zip(themes).filter(|(_, t)| !t.collapsed);
        let Some((_, first)) = open.next() else { return };
        let first = first.id.clone();
        for (spanned, theme) in open {
            self.invalid(
                &spanned.span(),
                subject,
                format!(
                    "theme `{}` has collapsed = false, like theme `{first}`: Mviewer opens only one theme at start",
                    theme.id
                ),
            );
        }
    }

    fn groups(
        &mut self,
        raw: &[Spanned<RawGroup>],
        theme: &str,
        geoserver_url: Option<&str>,
        layer_ids: &mut LayerIds,
        subject: &str,
    ) -> Vec<Group> {
        let mut group_ids = BTreeMap::new();
        let mut groups = Vec::new();
        for spanned in raw {
            let g = spanned.get_ref();
            let id = self.text(&g.id);
            let what = format!("{subject}: theme `{theme}`: group `{id}`");
            self.unique(&mut group_ids, &id, &g.id.span(), what);
            let layers = self.layers(&g.layer, geoserver_url, layer_ids, subject);
            if layers.is_empty() {
                self.invalid(
                    &spanned.span(),
                    subject,
                    format!("group `{id}` of theme `{theme}` has no layer"),
                );
            }
            groups.push(Group {
                id,
                name: self.text(&g.name),
                layers,
            });
        }
        groups
    }

    fn layers(
        &mut self,
        raw: &[Spanned<RawLayer>],
        geoserver_url: Option<&str>,
        layer_ids: &mut LayerIds,
        subject: &str,
    ) -> Vec<Layer> {
        let mut layers = Vec::new();
        for spanned in raw {
            let lowered = self.layer(spanned, geoserver_url, subject);
            let what = format!("{subject}: layer `{}`", lowered.id);
            self.unique(layer_ids, &lowered.id, &spanned.get_ref().layer.span(), what);
            layers.push(lowered);
        }
        layers
    }

    /// Records `id`, or reports it as a duplicate of the first one.
    fn unique(
        &mut self,
        seen: &mut BTreeMap<String, Location>,
        id: &str,
        span: &Range<usize>,
        subject: String,
    ) {
        let at = self.at(span);
        if let Some(first) = seen.get(id) {
            self.errors.push(ManifestError::Duplicate {
                at,
                first: first.clone(),
                subject,
            });
        } else {
            seen.insert(id.to_string(), at);
        }
    }

    fn layer(&mut self, spanned: &Spanned<RawLayer>, geoserver_url: Option<&str>, subject: &str) -> Layer {
        let l = spanned.get_ref();
        let id = self.text(&l.layer);
        let url = match (&l.url, id.split_once(':'), geoserver_url) {
            (Some(url), _, _) => self.text(url),
            (None, Some((workspace, name)), Some(base)) if !workspace.is_empty() && !name.is_empty() => {
                format!("{}/{workspace}/wms", base.trim_end_matches('/'))
            }
            (None, Some(_), None) => {
                self.invalid(
                    &l.layer.span(),
                    subject,
                    format!("layer `{id}` is served by the platform's GeoServer, but [mviewer] geoserver_url is not set"),
                );
                String::new()
            }
            (None, _, _) => {
                self.invalid(
                    &l.layer.span(),
                    subject,
                    format!("layer `{id}`: write `workspace:layer` for a layer of the platform's GeoServer, or give `url`"),
                );
                String::new()
            }
        };
        if let Some(opacity) = &l.opacity {
            if !(0.0..=1.0).contains(opacity.get_ref()) {
                self.invalid(
                    &opacity.span(),
                    subject,
                    format!("layer `{id}`: opacity must be between 0 and 1"),
                );
            }
        }
        Layer {
            name: self.text(&l.name),
            url,
            visible: l.visible,
            queryable: l.queryable,
            tiled: l.tiled,
            opacity: l.opacity.as_ref().map(|o| *o.get_ref()),
            style: self.opt(&l.style),
            legendurl: self.opt(&l.legendurl),
            metadata: self.opt(&l.metadata),
            metadata_csw: self.opt(&l.metadata_csw),
            infoformat: self
                .opt(&l.infoformat)
                .unwrap_or_else(|| DEFAULT_INFOFORMAT.to_string()),
            featurecount: l.featurecount,
            attribution: self.opt(&l.attribution),
            id,
        }
    }
}
