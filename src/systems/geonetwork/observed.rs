//! What GeoNetwork holds of what geosync manages: its groups (read-only).

use std::collections::BTreeMap;

use serde_json::Value;

use super::client::GnClient;
use super::GeoNetworkError;

/// A group as GeoNetwork serialises it, by name.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedGroup {
    pub id: i64,
    /// The whole entity: an update sends it back with geosync's fields
    /// changed, since GeoNetwork saves the body as the whole group.
    pub raw: Value,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    pub groups: BTreeMap<String, ObservedGroup>,
}

/// One list call: GET /groups answers every non-reserved group (GroupsApi
/// getGroups: all groups when no profile is asked for).
pub async fn observe(client: &GnClient) -> Result<Observed, GeoNetworkError> {
    let list = client.groups().await?;
    Ok(Observed {
        groups: from_list(list, client.api_url())?,
    })
}

/// The groups of a GET /groups answer, by name; a group without a name or
/// an id is not GeoNetwork's shape and stops the plan.
pub fn from_list(list: Vec<Value>, url: &str) -> Result<BTreeMap<String, ObservedGroup>, GeoNetworkError> {
    let mut groups = BTreeMap::new();
    for raw in list {
        let (Some(id), Some(name)) = (
            raw.get("id").and_then(Value::as_i64),
            raw.get("name").and_then(Value::as_str),
        ) else {
            return Err(GeoNetworkError::Unexpected {
                method: "GET".into(),
                url: format!("{url}/groups"),
                detail: "a group without a numeric id or a name".into(),
            });
        };
        groups.insert(name.to_string(), ObservedGroup { id, raw: raw.clone() });
    }
    Ok(groups)
}
