//! Lowering of the search box: `<olscompletion>` (the address search
//! service) and `<searchparameters>`. Mviewer builds its requests with
//! `new URL(url)`, which throws on a relative URL, and silently hides a
//! search that has no service: both are refused here.

use toml::Spanned;

use super::raw::{RawOlsCompletion, RawSearchParameters};
use super::{OlsCompletion, SearchParameters};
use crate::manifest::lower::Lowerer;

impl Lowerer<'_> {
    pub(super) fn olscompletion(
        &mut self,
        raw: &Option<Spanned<RawOlsCompletion>>,
        subject: &str,
    ) -> Option<OlsCompletion> {
        let raw = raw.as_ref()?.get_ref();
        let url = self.text(&raw.url);
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            self.invalid(
                &raw.url.span(),
                subject,
                format!("olscompletion url `{url}` must be an absolute http(s) URL: Mviewer cannot search with it"),
            );
        }
        Some(OlsCompletion {
            url,
            kind: raw.kind.unwrap_or_default(),
            attribution: self.opt(&raw.attribution),
        })
    }

    /// Some when the app has a search at all: an address service, or
    /// parameters of its own.
    pub(super) fn searchparameters(
        &mut self,
        raw: &Option<Spanned<RawSearchParameters>>,
        olscompletion: Option<&OlsCompletion>,
        subject: &str,
    ) -> Option<SearchParameters> {
        let Some(raw) = raw else {
            return olscompletion.map(|_| SearchParameters::addresses());
        };
        let p = raw.get_ref();
        // The feature search (Elasticsearch, Fuse) is not configured by
        // geosync: without an address service there is nothing to search.
        if olscompletion.is_none() {
            self.invalid(
                &raw.span(),
                subject,
                "searchparameters configure the address search, which needs a service: add [mviewer.app.olscompletion]",
            );
        }
        let localities = p.localities.unwrap_or(true);
        let duration = p.duration.as_ref().map(|d| {
            if *d.get_ref() < 0 {
                self.invalid(
                    &d.span(),
                    subject,
                    "searchparameters duration is in milliseconds, 0 or more",
                );
            }
            (*d.get_ref()).clamp(0, i64::from(u32::MAX)) as u32
        });
        Some(SearchParameters {
            localities,
            bbox: p.bbox.unwrap_or(false),
            inputlabel: self.opt(&p.inputlabel),
            marker: p.marker.unwrap_or(true),
            querymaponclick: p.querymaponclick.unwrap_or(false),
            closeafterclick: p.closeafterclick.unwrap_or(false),
            animate: p.animate.unwrap_or(false),
            duration,
            searchmaxzoomlevel: p
                .searchmaxzoomlevel
                .as_ref()
                .map(|z| self.small_int(z, subject, "searchmaxzoomlevel", 30)),
        })
    }
}

impl SearchParameters {
    /// Mviewer's defaults for an address search.
    fn addresses() -> Self {
        SearchParameters {
            localities: true,
            bbox: false,
            inputlabel: None,
            marker: true,
            querymaponclick: false,
            closeafterclick: false,
            animate: false,
            duration: None,
            searchmaxzoomlevel: None,
        }
    }
}
