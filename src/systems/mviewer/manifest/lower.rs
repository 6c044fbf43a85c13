//! Lowering of `[mviewer]`: map options, base layers, themes and layers
//! checked, layer names resolved against the GeoServer URL.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::raw::{BaseLayerKind, RawBaseLayer, RawMviewerApp};
use super::{BaseLayer, MapOptions, MviewerApp};
use crate::manifest::lower::Lowerer;
use crate::manifest::ManifestError;

/// The WMTS tile matrix sets Mviewer 4.1 computes a grid for (utils.js).
const WMTS_MATRIX_SETS: [&str; 4] = ["PM", "EPSG:3857", "EPSG:4326", "EPSG:2154"];

impl Lowerer<'_> {
    pub fn mviewer_app(&mut self, raw: &RawMviewerApp, geoserver_url: Option<&str>) -> MviewerApp {
        let name = self.text(&raw.name);
        let subject = format!("{}:{name}", MviewerApp::KIND);
        if !is_file_stem(&name) {
            self.invalid(
                &raw.name.span(),
                &subject,
                "the name becomes the file name <name>.xml: use letters, digits, '-' and '_'",
            );
        }
        let map = self.map_options(&raw.map, &subject);
        let baselayers = self.baselayers(&raw.baselayer, &raw.map.span(), &subject);
        let themes = self.themes(&raw.theme, geoserver_url, &subject);
        let olscompletion = self.olscompletion(&raw.olscompletion, &subject);
        let searchparameters = self.searchparameters(&raw.searchparameters, olscompletion.as_ref(), &subject);
        MviewerApp {
            at: self.at(&raw.name.span()),
            template: raw.template.as_ref().map(|t| self.path(t)),
            title: self.text(&raw.title),
            logo: self.opt(&raw.logo),
            help: self.opt(&raw.help),
            mouseposition: raw.mouseposition.unwrap_or(false),
            measuretools: raw.measuretools.unwrap_or(true),
            mapprint: raw.mapprint.unwrap_or(true),
            exportpng: raw.exportpng.unwrap_or(true),
            name,
            map,
            baselayers,
            themes,
            olscompletion,
            searchparameters,
        }
    }

    fn map_options(&mut self, raw: &Spanned<super::raw::RawMapOptions>, subject: &str) -> MapOptions {
        let map = raw.get_ref();
        let projection = match &map.projection {
            Some(p) => {
                let value = self.text(p);
                if !is_epsg_code(&value) {
                    self.invalid(
                        &p.span(),
                        subject,
                        format!("projection `{value}` is not of the form EPSG:<code>"),
                    );
                }
                value
            }
            None => "EPSG:3857".to_string(),
        };
        let center = match map.center.get_ref().as_slice() {
            [x, y] => [*x, *y],
            _ => {
                self.invalid(
                    &map.center.span(),
                    subject,
                    "center takes two numbers: [x, y] in the map projection",
                );
                [0.0, 0.0]
            }
        };
        let projextent = map.projextent.as_ref().map(|e| match e.get_ref().as_slice() {
            [a, b, c, d] => [*a, *b, *c, *d],
            _ => {
                self.invalid(
                    &e.span(),
                    subject,
                    "projextent takes four numbers: [minx, miny, maxx, maxy]",
                );
                [0.0; 4]
            }
        });
        if projextent.is_none() {
            self.require_projextent(raw, &projection, subject);
        }
        let zoom = self.small_int(&map.zoom, subject, "zoom", 30);
        let maxzoom = map
            .maxzoom
            .as_ref()
            .map(|m| self.small_int(m, subject, "maxzoom", 30));
        if let (Some(max), Some(raw_max)) = (maxzoom, &map.maxzoom) {
            if max < zoom {
                self.invalid(
                    &raw_max.span(),
                    subject,
                    format!("maxzoom {max} is below the initial zoom {zoom}"),
                );
            }
        }
        MapOptions {
            projection,
            center,
            zoom,
            maxzoom,
            projextent,
        }
    }

    /// Mviewer builds other projections from `projextent` and fails on
    /// the missing attribute.
    fn require_projextent(
        &mut self,
        raw: &Spanned<super::raw::RawMapOptions>,
        projection: &str,
        subject: &str,
    ) {
        if ["EPSG:3857", "EPSG:4326"].contains(&projection) {
            return;
        }
        let span = raw.get_ref().projection.as_ref().map_or(raw.span(), |p| p.span());
        self.invalid(
            &span,
            subject,
            format!("projection {projection} needs `projextent`: Mviewer knows the extent of EPSG:3857 and EPSG:4326 only"),
        );
    }

    fn baselayers(
        &mut self,
        raw: &[Spanned<RawBaseLayer>],
        app_span: &Range<usize>,
        subject: &str,
    ) -> Vec<BaseLayer> {
        let mut seen = BTreeMap::new();
        let mut layers = Vec::new();
        for spanned in raw {
            let b = spanned.get_ref();
            let id = self.text(&b.id);
            if let Some(first) = seen.insert(id.clone(), self.at(&b.id.span())) {
                self.errors.push(ManifestError::Duplicate {
                    at: self.at(&b.id.span()),
                    first,
                    subject: format!("{subject}: baselayer `{id}`"),
                });
            }
            self.baselayer_required(spanned, &id, subject);
            let label = self.text(&b.label);
            layers.push(BaseLayer {
                kind: b.kind,
                title: b.title.as_ref().map_or_else(|| label.clone(), |t| self.text(t)),
                label,
                url: self.text(&b.url),
                layers: self.opt(&b.layers),
                format: self.opt(&b.format),
                visible: b.visible,
                attribution: self.opt(&b.attribution),
                thumbgallery: self.opt(&b.thumbgallery),
                style: self.opt(&b.style),
                matrixset: self.opt(&b.matrixset),
                maxzoom: b.maxzoom.map(|z| z.clamp(0, 30) as u8),
                maxscale: b.maxscale.map(|s| s.max(0) as u64),
                id,
            });
        }
        // Mviewer opens on exactly one base layer.
        let visible = layers.iter().filter(|l| l.visible).count();
        if visible != 1 {
            let span = raw.first().map_or(app_span.clone(), |b| b.span());
            self.invalid(
                &span,
                subject,
                format!("exactly one baselayer must have visible = true (found {visible})"),
            );
        }
        layers
    }

    /// What Mviewer's documentation marks required for a base layer, and
    /// what Mviewer 4.1 needs to build it at once: without `format` it asks
    /// for no image type, without a known `matrixset` it has no tile grid
    /// (it computes grids for these four only), and a WMTS layer built from
    /// capabilities crashes it, so geosync always writes the grid.
    fn baselayer_required(&mut self, spanned: &Spanned<RawBaseLayer>, id: &str, subject: &str) {
        let b = spanned.get_ref();
        let ogc = matches!(b.kind, BaseLayerKind::Wms | BaseLayerKind::Wmts);
        let wmts = b.kind == BaseLayerKind::Wmts;
        let missing = [
            ("attribution", b.attribution.is_none()),
            ("thumbgallery", b.thumbgallery.is_none()),
            ("layers", ogc && b.layers.is_none()),
            ("format", ogc && b.format.is_none()),
            ("style", wmts && b.style.is_none()),
            ("matrixset", wmts && b.matrixset.is_none()),
        ];
        for (key, _) in missing.iter().filter(|(_, missing)| *missing) {
            let kind = match b.kind {
                BaseLayerKind::Wms => "a WMS",
                BaseLayerKind::Wmts => "a WMTS",
                BaseLayerKind::Osm => "an OSM",
            };
            self.invalid(
                &spanned.span(),
                subject,
                format!("baselayer `{id}`: {kind} base layer needs `{key}` (Mviewer requires it)"),
            );
        }
        if let (true, Some(set)) = (wmts, &b.matrixset) {
            let value = self.text(set);
            if !WMTS_MATRIX_SETS.contains(&value.as_str()) {
                self.invalid(
                    &set.span(),
                    subject,
                    format!(
                        "baselayer `{id}`: Mviewer 4.1 knows the tile grids of matrixset {} only, not `{value}`",
                        WMTS_MATRIX_SETS.join(", ")
                    ),
                );
            }
        }
    }
}

fn is_file_stem(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(['-', '.'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn is_epsg_code(value: &str) -> bool {
    value
        .strip_prefix("EPSG:")
        .is_some_and(|code| !code.is_empty() && code.chars().all(|c| c.is_ascii_digit()))
}
