//! Lowering of `[mviewer]`: map options, base layers, themes and layers
//! checked, layer names resolved against the GeoServer URL.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::raw::{BaseLayerKind, RawBaseLayer, RawLayer, RawMviewerApp, RawTheme};
use super::{BaseLayer, Layer, MapOptions, MviewerApp, Theme};
use crate::manifest::lower::Lowerer;
use crate::manifest::ManifestError;

const DEFAULT_INFOFORMAT: &str = "application/vnd.ogc.gml";

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
        }
    }

    /// Resolves the file's secrets now: a missing one is reported before
    /// any system is touched.
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
            if matches!(b.kind, BaseLayerKind::Wms | BaseLayerKind::Wmts) && b.layers.is_none() {
                self.invalid(
                    &spanned.span(),
                    subject,
                    format!("baselayer `{id}`: a WMS or WMTS base layer needs `layers`"),
                );
            }
            if b.kind == BaseLayerKind::Wmts && b.matrixset.is_none() {
                self.invalid(
                    &spanned.span(),
                    subject,
                    format!("baselayer `{id}`: a WMTS base layer needs `matrixset`"),
                );
            }
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

    fn themes(
        &mut self,
        raw: &[Spanned<RawTheme>],
        geoserver_url: Option<&str>,
        subject: &str,
    ) -> Vec<Theme> {
        let mut theme_ids = BTreeMap::new();
        let mut layer_ids = BTreeMap::new();
        let mut themes = Vec::new();
        for spanned in raw {
            let t = spanned.get_ref();
            let id = self.text(&t.id);
            if let Some(first) = theme_ids.insert(id.clone(), self.at(&t.id.span())) {
                self.errors.push(ManifestError::Duplicate {
                    at: self.at(&t.id.span()),
                    first,
                    subject: format!("{subject}: theme `{id}`"),
                });
            }
            let mut layers = Vec::new();
            for layer in &t.layer {
                let lowered = self.layer(layer, geoserver_url, subject);
                let at = self.at(&layer.get_ref().layer.span());
                if let Some(first) = layer_ids.insert(lowered.id.clone(), at.clone()) {
                    self.errors.push(ManifestError::Duplicate {
                        at,
                        first,
                        subject: format!("{subject}: layer `{}`", lowered.id),
                    });
                }
                layers.push(lowered);
            }
            themes.push(Theme {
                id,
                name: self.text(&t.name),
                icon: self.opt(&t.icon),
                collapsed: t.collapsed,
                layers,
            });
        }
        themes
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
