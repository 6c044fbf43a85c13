//! One loaded dataset as a GeoServer layer with its style, and taking it
//! down again. The sync pass calls [`publish_layer`] after a load and
//! [`unpublish_layer`] for a dataset that went away; both are idempotent,
//! so a pass interrupted anywhere converges on the next one.
//!
//! Publishing, in this order, because each step must hold before the next
//! makes something visible:
//!
//! 1. access first ([`ensure_access`]): the target's workspace rule
//!    `<workspace>.*.r` is set (its roles for a restricted target, `*` for
//!    a public one) before any layer exists, so a restricted layer is
//!    never readable by all, not even between two requests; a layer rule
//!    opening this one layer to everyone stops the publication;
//! 2. the resource: a new feature type is created disabled (GeoServer
//!    serves a layer as soon as it exists), a raster's GeoTIFF uploaded as
//!    a coverage store of the layer's name;
//! 3. the style: the dataset's SLD as the workspace style named after the
//!    layer, sent with its version's media type (see `sld.rs`), or
//!    GeoServer's built-in style for the geometry when there is none or
//!    it is malformed (the layer is still published: its data is good,
//!    a warning names the dataset and the reason);
//! 4. the whole resource PUT last with its metadata, CRS, metadata link
//!    and `enabled`, and both bounding boxes recomputed from the data.
//!
//! A layer name already used in the workspace by something that does not
//! read the expected table or store is not taken over (publishing) and
//! not deleted (unpublishing): [`LayerError::NotOurs`].

mod sld;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use sld::SldVersion;

use crate::systems::geoserver::client::Client;
use crate::systems::geoserver::publish::{
    DeclaredCrs, FeatureTypeSpec, LayerSource, MetadataLink, ResourceInfo, StyleDeletion,
};
use crate::systems::geoserver::GeoServerError;

/// The role GeoServer gives every logged-in user: the usual reader of a
/// restricted target.
pub const AUTHENTICATED: &str = "ROLE_AUTHENTICATED";

impl Access {
    /// Who reads a target's layers: everyone when public; its roles when
    /// restricted, every logged-in user when it names none.
    pub fn of(target: &crate::sync::manifest::SyncTarget) -> Access {
        use crate::sync::manifest::Visibility;
        match target.visibility {
            Visibility::Public => Access::Public,
            Visibility::Restricted if target.roles.is_empty() => Access::Restricted {
                roles: vec![AUTHENTICATED.into()],
            },
            Visibility::Restricted => Access::Restricted {
                roles: target.roles.clone(),
            },
        }
    }

    /// The roles of the workspace read rule this access sets.
    pub fn rule_roles(&self) -> std::collections::BTreeSet<String> {
        match self {
            Access::Public => ["*".to_string()].into(),
            Access::Restricted { roles } => roles.iter().cloned().collect(),
        }
    }
}

/// The metadata link of a layer to its catalogue record: GeoServer's
/// value for ISO 19139 records.
const METADATA_TYPE: &str = "ISO19115:2003";

/// Where a target's layers go and who may read them.
#[derive(Debug, Clone)]
pub struct LayerTarget {
    pub workspace: String,
    /// The PostGIS data store reading the target's database and schema.
    pub datastore: String,
    pub access: Access,
}

/// Who may read a target's layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Everyone (`<workspace>.*.r = *`).
    Public,
    /// Only these roles (`<workspace>.*.r = ROLE_A,ROLE_B`); usually
    /// [`AUTHENTICATED`].
    Restricted { roles: Vec<String> },
}

/// What the layer says about itself, from the dataset's metadata record.
#[derive(Debug, Clone, Default)]
pub struct LayerMetadata {
    pub title: String,
    pub abstract_text: String,
    pub keywords: Vec<String>,
    /// The URL of the dataset's ISO 19139 record in the catalogue; the
    /// layer links to it (`text/xml`, `ISO19115:2003`).
    pub record_url: Option<String>,
}

/// A table's CRS as PostGIS knows it (see [`native_crs`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NativeCrs {
    Epsg(u32),
    /// A CRS without EPSG code, kept by the loader under a geosync SRID.
    Custom {
        srid: i32,
        wkt: String,
    },
}

/// A layer's geometry, for its default style when it has no SLD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometryKind {
    Point,
    Line,
    Polygon,
    /// Mixed or unknown: GeoServer's `generic` style draws any geometry.
    Other,
}

/// What the layer serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerData {
    /// A table of the target's data store (the layer's name is the table's).
    Vector {
        table: String,
        crs: NativeCrs,
        geometry: GeometryKind,
    },
    /// A prepared GeoTIFF, uploaded as a coverage store named after the layer.
    Raster {
        geotiff: PathBuf,
        /// None: as the file says (GeoServer reads its CRS from the GeoTIFF).
        crs: Option<NativeCrs>,
    },
}

/// One dataset to publish.
#[derive(Debug, Clone)]
pub struct LayerRequest {
    /// The dataset's path in the share: errors and warnings name it.
    pub dataset: String,
    /// The layer name (a vector's table name).
    pub layer: String,
    pub data: LayerData,
    pub metadata: LayerMetadata,
    /// The dataset's SLD (same base name), as read from the share.
    pub sld: Option<Vec<u8>>,
}

/// What [`publish_layer`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// `workspace:layer`.
    pub layer: String,
    /// The layer did not exist before.
    pub created: bool,
    pub style: StyleChoice,
    /// Facts for the data manager (a malformed SLD, a CRS GeoServer can
    /// only serve natively); each names the dataset.
    pub warnings: Vec<String>,
}

/// The layer's default style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StyleChoice {
    /// The dataset's own SLD, as the workspace style `name`.
    Dataset { name: String, version: SldVersion },
    /// One of GeoServer's global styles: point, line, polygon, raster, generic.
    Builtin(&'static str),
}

/// What a published layer reads, for [`unpublish_layer`] to check before
/// it deletes (the ledger knows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishedKind {
    Vector { table: String },
    Raster,
}

/// What [`unpublish_layer`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpublished {
    /// The layer or its resource existed and is gone.
    pub removed: bool,
    /// Its workspace style: deleted, absent, or kept because another layer uses it.
    pub style: StyleDeletion,
}

/// Why a layer could not be published or taken down. Each names the
/// dataset and the layer.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("{dataset}: layer {layer}: {step}: {error}")]
    GeoServer {
        dataset: String,
        layer: String,
        step: &'static str,
        error: Box<GeoServerError>,
    },
    #[error("{dataset}: layer {layer}: {reason}; geosync leaves it alone")]
    NotOurs {
        dataset: String,
        layer: String,
        reason: String,
    },
    #[error("{dataset}: layer {layer}: the rule {rule} = {roles} would make it readable by everyone, but its target is restricted; not published")]
    Exposed {
        dataset: String,
        layer: String,
        rule: String,
        roles: String,
    },
    #[error("{dataset}: layer {layer}: the restricted target's reader roles are invalid: {reason}")]
    Roles {
        dataset: String,
        layer: String,
        reason: String,
    },
    #[error("{dataset}: layer {layer}: workspace {workspace} has a `.` in its name, which GeoServer's layer rules (`workspace.layer.access`) cannot name; its access cannot be set")]
    RuleName {
        dataset: String,
        layer: String,
        workspace: String,
    },
    #[error("{dataset}: reading {}: {error}", path.display())]
    Io {
        dataset: String,
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Names the dataset and layer in a GeoServer error.
struct Context<'a> {
    dataset: &'a str,
    layer: &'a str,
}

impl Context<'_> {
    fn at(&self, step: &'static str) -> impl FnOnce(GeoServerError) -> LayerError + '_ {
        move |error| LayerError::GeoServer {
            dataset: self.dataset.to_string(),
            layer: self.layer.to_string(),
            step,
            error: Box::new(error),
        }
    }

    fn not_ours(&self, reason: String) -> LayerError {
        LayerError::NotOurs {
            dataset: self.dataset.to_string(),
            layer: self.layer.to_string(),
            reason,
        }
    }
}

/// Publishes (or updates in place) one dataset's layer, style and access.
pub async fn publish_layer(
    gs: &Client,
    target: &LayerTarget,
    request: &LayerRequest,
) -> Result<Published, LayerError> {
    let cx = Context {
        dataset: &request.dataset,
        layer: &request.layer,
    };
    ensure_access(gs, target, &request.dataset, &request.layer).await?;
    let mut warnings = Vec::new();
    let (created, fallback) = match &request.data {
        LayerData::Vector { table, crs, .. } => {
            let spec = feature_type(target, request, table, crs, &mut warnings);
            (
                create_vector(gs, &cx, target, &spec, table).await?,
                vector_style(&request.data),
            )
        }
        LayerData::Raster { geotiff, .. } => (upload_raster(gs, &cx, target, geotiff).await?, "raster"),
    };
    let style = apply_style(
        gs,
        &cx,
        &target.workspace,
        request.sld.as_deref(),
        fallback,
        &mut warnings,
    )
    .await?;
    match &request.data {
        LayerData::Vector { table, crs, .. } => {
            let mut spec = feature_type(target, request, table, crs, &mut Vec::new());
            spec.info.enabled = true;
            gs.update_featuretype(&spec)
                .await
                .map_err(cx.at("updating the feature type"))?;
        }
        LayerData::Raster { crs, .. } => {
            let info = resource_info(
                &request.metadata,
                crs.as_ref(),
                true,
                &request.dataset,
                &mut warnings,
            );
            gs.update_coverage(&target.workspace, &request.layer, &request.layer, &info)
                .await
                .map_err(cx.at("updating the coverage"))?;
        }
    }
    Ok(Published {
        layer: format!("{}:{}", target.workspace, request.layer),
        created,
        style,
        warnings,
    })
}

/// Takes a layer down: the layer and its feature type (or coverage
/// store), then its workspace style unless another layer uses it.
/// Whatever is already gone is success; a layer of that name reading
/// another table or store is refused.
pub async fn unpublish_layer(
    gs: &Client,
    target: &LayerTarget,
    dataset: &str,
    layer: &str,
    kind: &PublishedKind,
) -> Result<Unpublished, LayerError> {
    let cx = Context { dataset, layer };
    let ws = &target.workspace;
    let (exists, source) = match kind {
        PublishedKind::Vector { table } => {
            let exists = check_vector(gs, &cx, target, table).await?;
            let store = target.datastore.clone();
            (exists, LayerSource::FeatureType { store })
        }
        PublishedKind::Raster => {
            let exists = check_raster(gs, &cx, target).await?;
            let store = layer.to_string();
            (exists, LayerSource::CoverageStore { store })
        }
    };
    if exists {
        gs.delete_layer(ws, layer, &source)
            .await
            .map_err(cx.at("deleting the layer"))?;
    }
    let style = gs
        .delete_style_if_unused(ws, layer)
        .await
        .map_err(cx.at("deleting its style"))?;
    Ok(Unpublished {
        removed: exists,
        style,
    })
}

/// Sets the target's workspace read rule (`<workspace>.*.r`) to its
/// roles, and refuses a layer rule that would open `layer` to everyone
/// in a restricted target. One GET when nothing changes.
pub async fn ensure_access(
    gs: &Client,
    target: &LayerTarget,
    dataset: &str,
    layer: &str,
) -> Result<(), LayerError> {
    let cx = Context { dataset, layer };
    if target.workspace.contains('.') {
        return Err(LayerError::RuleName {
            dataset: dataset.into(),
            layer: layer.into(),
            workspace: target.workspace.clone(),
        });
    }
    let wanted = match &target.access {
        Access::Public => "*".to_string(),
        Access::Restricted { roles } => {
            roles_problem(roles).map_or(Ok(()), |reason| {
                Err(LayerError::Roles {
                    dataset: dataset.into(),
                    layer: layer.into(),
                    reason,
                })
            })?;
            roles.join(",")
        }
    };
    let rules = gs
        .acl_rules()
        .await
        .map_err(cx.at("reading the layer access rules"))?;
    if matches!(target.access, Access::Restricted { .. }) {
        let own = format!("{}.{layer}.r", target.workspace);
        if let Some(roles) = rules.get(&own).filter(|r| role_set(r).contains("*")) {
            return Err(LayerError::Exposed {
                dataset: dataset.into(),
                layer: layer.into(),
                rule: own,
                roles: roles.clone(),
            });
        }
    }
    let rule = format!("{}.*.r", target.workspace);
    match rules.get(&rule) {
        Some(current) if role_set(current) == role_set(&wanted) => Ok(()),
        current => gs
            .put_acl_rule(&rule, &wanted, current.is_some())
            .await
            .map_err(cx.at("setting the workspace read rule")),
    }
}

fn role_set(roles: &str) -> std::collections::BTreeSet<&str> {
    roles
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .collect()
}

/// Why a restricted target's roles cannot make a rule: none, `*` (that
/// is public), or a name GeoServer's rule syntax cannot hold.
fn roles_problem(roles: &[String]) -> Option<String> {
    if roles.is_empty() {
        return Some("no role given".into());
    }
    roles.iter().find_map(|role| {
        if role == "*" {
            Some("`*` means everyone".into())
        } else if role.is_empty() || role.contains([',', '=']) || role.chars().any(char::is_whitespace) {
            Some(format!("`{}` is not a role name", role.escape_debug()))
        } else {
            None
        }
    })
}

fn resource_info(
    metadata: &LayerMetadata,
    crs: Option<&NativeCrs>,
    enabled: bool,
    dataset: &str,
    warnings: &mut Vec<String>,
) -> ResourceInfo {
    let crs = match crs {
        None => DeclaredCrs::FromData,
        Some(NativeCrs::Epsg(code)) => DeclaredCrs::Epsg(*code),
        Some(NativeCrs::Custom { srid, wkt }) => {
            warnings.push(format!(
                "{dataset}: its CRS has no EPSG code: GeoServer serves it in its native CRS (the WKT); \
                 to advertise EPSG:{srid} too, define {srid}=<its WKT> in user_projections/epsg.properties of GeoServer's data directory"
            ));
            DeclaredCrs::Wkt {
                srs: format!("EPSG:{srid}"),
                wkt: wkt.clone(),
            }
        }
    };
    ResourceInfo {
        title: metadata.title.clone(),
        abstract_text: metadata.abstract_text.clone(),
        keywords: metadata.keywords.clone(),
        metadata_links: metadata
            .record_url
            .iter()
            .map(|url| MetadataLink {
                media_type: "text/xml".into(),
                metadata_type: METADATA_TYPE.into(),
                url: url.clone(),
            })
            .collect(),
        crs,
        enabled,
    }
}

/// The feature type of a request, disabled (the last step enables it).
fn feature_type(
    target: &LayerTarget,
    request: &LayerRequest,
    table: &str,
    crs: &NativeCrs,
    warnings: &mut Vec<String>,
) -> FeatureTypeSpec {
    FeatureTypeSpec {
        workspace: target.workspace.clone(),
        store: target.datastore.clone(),
        name: request.layer.clone(),
        table: table.to_string(),
        info: resource_info(&request.metadata, Some(crs), false, &request.dataset, warnings),
    }
}

/// Whether a feature type of the layer's name reads `table` from the
/// target's store (true), does not exist (false), or is someone else's.
async fn check_vector(
    gs: &Client,
    cx: &Context<'_>,
    target: &LayerTarget,
    table: &str,
) -> Result<bool, LayerError> {
    let ws = &target.workspace;
    let native = gs
        .featuretype_native_name(ws, &target.datastore, cx.layer)
        .await
        .map_err(cx.at("reading the feature type"))?;
    match native {
        Some(native) if native == table => Ok(true),
        Some(native) => Err(cx.not_ours(format!(
            "its feature type reads table `{}`, not `{table}`",
            native.escape_debug()
        ))),
        None => match gs
            .layer_info(ws, cx.layer)
            .await
            .map_err(cx.at("reading the layer"))?
        {
            Some(info) => Err(cx.not_ours(format!(
                "a {} layer of that name exists in workspace {ws} outside data store {}",
                info.kind.to_lowercase(),
                target.datastore
            ))),
            None => Ok(false),
        },
    }
}

/// Whether the coverage store of the layer's name holds the layer's
/// coverage (true), does not exist (false), or is someone else's.
async fn check_raster(gs: &Client, cx: &Context<'_>, target: &LayerTarget) -> Result<bool, LayerError> {
    let ws = &target.workspace;
    let coverages = gs
        .coverages(ws, cx.layer)
        .await
        .map_err(cx.at("reading the coverage store"))?;
    match coverages {
        Some(names) if names.is_empty() || names.iter().any(|n| n == cx.layer) => Ok(true),
        Some(names) => Err(cx.not_ours(format!(
            "coverage store {} holds {}, not coverage {}",
            cx.layer,
            names.join(", "),
            cx.layer
        ))),
        None => match gs
            .layer_info(ws, cx.layer)
            .await
            .map_err(cx.at("reading the layer"))?
        {
            Some(info) => Err(cx.not_ours(format!(
                "a {} layer of that name exists in workspace {ws} outside coverage store {}",
                info.kind.to_lowercase(),
                cx.layer
            ))),
            None => Ok(false),
        },
    }
}

/// Creates the feature type, disabled, unless it exists. Returns whether
/// it was created.
async fn create_vector(
    gs: &Client,
    cx: &Context<'_>,
    target: &LayerTarget,
    spec: &FeatureTypeSpec,
    table: &str,
) -> Result<bool, LayerError> {
    if check_vector(gs, cx, target, table).await? {
        let source = LayerSource::FeatureType {
            store: target.datastore.clone(),
        };
        if !clear_orphan(gs, cx, target, &source).await? {
            return Ok(false);
        }
    }
    gs.create_featuretype(spec)
        .await
        .map_err(cx.at("creating the feature type"))
}

/// Uploads the GeoTIFF as the coverage store of the layer's name, which
/// configures its coverage and layer. A store already there is deleted
/// first (with its file): uploading over it would keep the coverage's old
/// extent and grid, which GeoServer computes only when it configures a
/// coverage, and the manual documents no recalculation for a coverage
/// PUT. The layer is absent for that moment, never exposed: the
/// workspace rule is already set. Returns whether the layer is new.
async fn upload_raster(
    gs: &Client,
    cx: &Context<'_>,
    target: &LayerTarget,
    geotiff: &std::path::Path,
) -> Result<bool, LayerError> {
    let bytes = tokio::fs::read(geotiff).await.map_err(|error| LayerError::Io {
        dataset: cx.dataset.to_string(),
        path: geotiff.to_path_buf(),
        error,
    })?;
    let mut existed = false;
    if check_raster(gs, cx, target).await? {
        existed = gs
            .layer_info(&target.workspace, cx.layer)
            .await
            .map_err(cx.at("reading the layer"))?
            .is_some();
        let source = LayerSource::CoverageStore {
            store: cx.layer.to_string(),
        };
        gs.delete_layer(&target.workspace, cx.layer, &source)
            .await
            .map_err(cx.at("deleting the former coverage store"))?;
    }
    gs.upload_geotiff(&target.workspace, cx.layer, cx.layer, bytes)
        .await
        .map_err(cx.at("uploading the GeoTIFF"))?;
    Ok(!existed)
}

/// Deletes our resource when its layer is gone (an unpublication cut
/// short between the two deletes): GeoServer makes a layer only when it
/// creates the resource, so the resource must be made again. Returns
/// whether it was an orphan.
async fn clear_orphan(
    gs: &Client,
    cx: &Context<'_>,
    target: &LayerTarget,
    source: &LayerSource,
) -> Result<bool, LayerError> {
    let layer = gs
        .layer_info(&target.workspace, cx.layer)
        .await
        .map_err(cx.at("reading the layer"))?;
    if layer.is_some() {
        return Ok(false);
    }
    gs.delete_layer(&target.workspace, cx.layer, source)
        .await
        .map_err(cx.at("deleting a resource left without its layer"))?;
    Ok(true)
}

/// GeoServer's built-in style for a vector layer's geometry.
fn vector_style(data: &LayerData) -> &'static str {
    match data {
        LayerData::Vector { geometry, .. } => match geometry {
            GeometryKind::Point => "point",
            GeometryKind::Line => "line",
            GeometryKind::Polygon => "polygon",
            GeometryKind::Other => "generic",
        },
        LayerData::Raster { .. } => "raster",
    }
}

/// Uploads the dataset's SLD as the layer's workspace style and makes it
/// the default; without one, or when it is malformed, the built-in
/// `fallback` becomes the default and a style left from an earlier SLD
/// is deleted (the share no longer has a usable one).
async fn apply_style(
    gs: &Client,
    cx: &Context<'_>,
    workspace: &str,
    sld: Option<&[u8]>,
    fallback: &'static str,
    warnings: &mut Vec<String>,
) -> Result<StyleChoice, LayerError> {
    let own = match sld {
        None => None,
        Some(document) => upload_style(gs, cx, workspace, document, fallback, warnings).await?,
    };
    let choice = match own {
        Some(version) => StyleChoice::Dataset {
            name: format!("{workspace}:{}", cx.layer),
            version,
        },
        None => StyleChoice::Builtin(fallback),
    };
    match &choice {
        StyleChoice::Dataset { .. } => {
            gs.set_default_style(workspace, cx.layer, Some(workspace), cx.layer)
                .await
        }
        StyleChoice::Builtin(name) => gs.set_default_style(workspace, cx.layer, None, name).await,
    }
    .map_err(cx.at("setting the default style"))?;
    if let StyleChoice::Builtin(_) = choice {
        gs.delete_style_if_unused(workspace, cx.layer)
            .await
            .map_err(cx.at("deleting its former style"))?;
    }
    Ok(choice)
}

/// Sends the SLD; None (with a warning) when it is malformed, by our
/// reading or GeoServer's (a 400 answer).
async fn upload_style(
    gs: &Client,
    cx: &Context<'_>,
    workspace: &str,
    document: &[u8],
    fallback: &'static str,
    warnings: &mut Vec<String>,
) -> Result<Option<SldVersion>, LayerError> {
    let warn = |reason: &str| {
        format!(
            "{}: its SLD style is not usable ({reason}): layer {} is published with GeoServer's `{fallback}` style",
            cx.dataset, cx.layer
        )
    };
    let version = match sld::sniff(document) {
        Ok(version) => version,
        Err(reason) => {
            warnings.push(warn(&reason));
            return Ok(None);
        }
    };
    match gs
        .put_style_document(
            workspace,
            cx.layer,
            version.as_str(),
            version.content_type(),
            document,
        )
        .await
    {
        Ok(()) => Ok(Some(version)),
        Err(GeoServerError::Status {
            status: 400, body, ..
        }) => {
            warnings.push(warn(&format!("GeoServer refused it: {body}")));
            Ok(None)
        }
        Err(error) => Err(cx.at("uploading its style")(error)),
    }
}

/// The geometry of a loaded table, from PostGIS's `geometry_columns`.
pub async fn geometry_kind(
    pg: &impl tokio_postgres::GenericClient,
    schema: &str,
    table: &str,
) -> Result<GeometryKind, tokio_postgres::Error> {
    let row = pg
        .query_opt(
            "SELECT upper(type) FROM geometry_columns WHERE f_table_schema = $1 AND f_table_name = $2 LIMIT 1",
            &[&schema, &table],
        )
        .await?;
    let kind: Option<String> = row.map(|r| r.get(0));
    Ok(match kind.as_deref().map(|k| k.trim_start_matches("MULTI")) {
        Some("POINT") => GeometryKind::Point,
        Some("LINESTRING") | Some("CURVE") => GeometryKind::Line,
        Some("POLYGON") | Some("SURFACE") => GeometryKind::Polygon,
        _ => GeometryKind::Other,
    })
}

/// A table's CRS from its SRID: the EPSG code when `spatial_ref_sys` says
/// the SRID is one, else the WKT the loader stored; None for an SRID
/// PostGIS does not know.
pub async fn native_crs(
    pg: &impl tokio_postgres::GenericClient,
    srid: i32,
) -> Result<Option<NativeCrs>, tokio_postgres::Error> {
    let row = pg
        .query_opt(
            "SELECT auth_name, auth_srid, srtext FROM spatial_ref_sys WHERE srid = $1",
            &[&srid],
        )
        .await?;
    Ok(row.map(|row| {
        let auth: Option<String> = row.get(0);
        let code: Option<i32> = row.get(1);
        match (auth.as_deref(), code.and_then(|c| u32::try_from(c).ok())) {
            (Some(a), Some(code)) if a.eq_ignore_ascii_case("EPSG") => NativeCrs::Epsg(code),
            _ => NativeCrs::Custom {
                srid,
                wkt: row.get::<_, Option<String>>(2).unwrap_or_default(),
            },
        }
    }))
}
