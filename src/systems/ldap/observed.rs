//! What the directory (and the AD source) holds, read-only.

use std::collections::{BTreeMap, BTreeSet};

use ldap3::{Ldap, Scope, SearchEntry};

use super::ad_groups::{GroupError, GroupReader};
use super::client::{self, ClientError};
use super::dn;
use super::manifest::{ActiveDirectory, Ldap as Desired};

/// `employeeType` values that mark a user geosync owns (the console never
/// writes employeeType, and keeps it across its edits).
pub const MARK_MANIFEST: &str = "geosync:manifest";
pub const MARK_AD: &str = "geosync:active-directory";
/// `owner` value that marks a role or an org geosync owns.
pub const OWNER_MARK: &str = "cn=geosync";

/// Who put a user there, according to its marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Manifest,
    ActiveDirectory,
}

#[derive(Debug, Clone, Default)]
pub struct ObservedUser {
    pub dn: String,
    pub uid: String,
    /// Lower-cased attribute name -> values.
    pub attrs: BTreeMap<String, Vec<String>>,
    pub owner: Option<Owner>,
    /// Whether a bind with the manifest's password succeeded (None: not tried).
    pub password_ok: Option<bool>,
}

impl ObservedUser {
    pub fn values(&self, attr: &str) -> &[String] {
        self.attrs
            .get(&attr.to_ascii_lowercase())
            .map_or(&[], Vec::as_slice)
    }
    pub fn first(&self, attr: &str) -> Option<&str> {
        self.values(attr).first().map(String::as_str)
    }
    /// The AD objectGUID an imported user was created from.
    pub fn object_id(&self) -> Option<&str> {
        self.first("georchestraObjectIdentifier")
    }
    pub fn disabled(&self) -> bool {
        self.first("shadowExpire") == Some(DISABLED_EXPIRY)
    }
}

/// `shadowExpire` of a user geosync disabled: expired since 1970.
pub const DISABLED_EXPIRY: &str = "1";

#[derive(Debug, Clone, Default)]
pub struct ObservedGroup {
    pub dn: String,
    pub name: String,
    pub owned: bool,
    pub description: Option<String>,
    /// The `o` of an org's group entry: its full name.
    pub title: Option<String>,
    /// Normalized member DN -> the value as stored.
    pub members: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct ObservedOrg {
    pub group: ObservedGroup,
    /// Whether the `o=NAME` entry (organization, georchestraOrg) exists.
    pub has_details: bool,
}

#[derive(Debug, Default)]
pub struct Observed {
    /// By normalized DN.
    pub users: BTreeMap<String, ObservedUser>,
    /// By lower-cased cn.
    pub roles: BTreeMap<String, ObservedGroup>,
    pub orgs: BTreeMap<String, ObservedOrg>,
    pub ad: Option<ObservedAd>,
}

#[derive(Debug, Clone, Default)]
pub struct AdUser {
    pub guid: String,
    pub dn: String,
    pub attrs: BTreeMap<String, Vec<String>>,
    pub disabled: bool,
}

impl AdUser {
    pub fn first(&self, attr: &str) -> Option<&str> {
        self.attrs
            .get(&attr.to_ascii_lowercase())
            .and_then(|v| v.first())
            .map(String::as_str)
    }
}

#[derive(Debug, Default)]
pub struct ObservedAd {
    pub users: Vec<AdUser>,
    /// AD group DN (as in the manifest) -> normalized member DNs, nested
    /// groups' members included unless `nested_groups = false`.
    pub group_members: BTreeMap<String, BTreeSet<String>>,
}

fn lowered(entry: SearchEntry) -> (String, BTreeMap<String, Vec<String>>) {
    let attrs = entry
        .attrs
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    (entry.dn, attrs)
}

/// Reads users, roles and orgs under the base.
pub async fn directory(ldap: &mut Ldap, desired: &Desired) -> Result<Observed, ClientError> {
    let mut observed = Observed::default();
    let users = client::paged_search(
        ldap,
        &desired.users_dn(),
        Scope::Subtree,
        "(objectClass=person)",
        &["*"],
        500,
    )
    .await?;
    for entry in users {
        let (entry_dn, attrs) = lowered(entry);
        let marks = attrs.get("employeetype").cloned().unwrap_or_default();
        let owner = if marks.iter().any(|m| m == MARK_AD) {
            Some(Owner::ActiveDirectory)
        } else if marks.iter().any(|m| m == MARK_MANIFEST) {
            Some(Owner::Manifest)
        } else {
            None
        };
        let uid = attrs
            .get("uid")
            .and_then(|v| v.first().cloned())
            .or_else(|| dn::first_value(&entry_dn))
            .unwrap_or_default();
        observed.users.insert(
            dn::normalize(&entry_dn),
            ObservedUser {
                dn: entry_dn,
                uid,
                attrs,
                owner,
                password_ok: None,
            },
        );
    }
    let group_attrs = ["cn", "o", "description", "owner", "member", "objectClass"];
    for entry in groups(ldap, &desired.roles_dn(), &group_attrs).await? {
        let group = group(entry);
        observed.roles.insert(group.name.to_lowercase(), group);
    }
    let mut details = BTreeSet::new();
    for entry in groups(ldap, &desired.orgs_dn(), &group_attrs).await? {
        let is_group = entry
            .attrs
            .get("objectClass")
            .is_some_and(|c| c.iter().any(|c| c.eq_ignore_ascii_case("groupOfMembers")));
        if is_group {
            let group = group(entry);
            let key = group.name.to_lowercase();
            observed.orgs.entry(key).or_default().group = group;
        } else if let Some(name) = dn::first_value(&entry.dn) {
            details.insert(name.to_lowercase());
        }
    }
    for (name, org) in &mut observed.orgs {
        org.has_details = details.contains(name);
    }
    Ok(observed)
}

async fn groups(ldap: &mut Ldap, base: &str, attrs: &[&str]) -> Result<Vec<SearchEntry>, ClientError> {
    client::paged_search(ldap, base, Scope::OneLevel, "(objectClass=*)", attrs, 500).await
}

fn group(entry: SearchEntry) -> ObservedGroup {
    let first = |name: &str| entry.attrs.get(name).and_then(|v| v.first().cloned());
    ObservedGroup {
        name: first("cn")
            .or_else(|| dn::first_value(&entry.dn))
            .unwrap_or_default(),
        owned: entry
            .attrs
            .get("owner")
            .is_some_and(|o| o.iter().any(|o| dn::normalize(o) == OWNER_MARK)),
        description: first("description"),
        title: first("o"),
        members: entry
            .attrs
            .get("member")
            .map(|m| m.iter().map(|v| (dn::normalize(v), v.clone())).collect())
            .unwrap_or_default(),
        dn: entry.dn,
    }
}

/// Reads the AD users to import and the members of the mapped groups.
pub async fn active_directory(ad: &ActiveDirectory) -> Result<ObservedAd, ClientError> {
    let mut ldap = client::connect(&ad.connection).await?;
    let mut attrs: BTreeSet<String> = ["objectGUID", "sAMAccountName", "userAccountControl", "cn"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    attrs.extend(ad.attributes.iter().map(|a| a.source.clone()));
    let attrs: Vec<&str> = attrs.iter().map(String::as_str).collect();
    let mut observed = ObservedAd::default();
    for base in &ad.base_dns {
        let entries =
            client::paged_search(&mut ldap, base, Scope::Subtree, &ad.filter, &attrs, ad.page_size).await?;
        observed.users.extend(entries.into_iter().filter_map(ad_user));
    }
    let mut groups = GroupReader::new(ad.nested_groups, ad.page_size, ad.member_range);
    for mapping in &ad.groups {
        let members = groups
            .members(&mut ldap, &mapping.dn)
            .await
            .map_err(|error| match error {
                GroupError::Client(error) => error,
                GroupError::Missing(group) => ClientError::MissingGroup {
                    at: mapping.at.clone(),
                    mapped: mapping.dn.clone(),
                    group,
                    server: ad.connection.url.clone(),
                },
            })?;
        observed.group_members.insert(mapping.dn.clone(), members);
    }
    let _ = ldap.unbind().await;
    Ok(observed)
}

/// An AD entry as a user to import; None without objectGUID.
fn ad_user(mut entry: SearchEntry) -> Option<AdUser> {
    let guid_bytes = match entry.bin_attrs.remove("objectGUID") {
        Some(mut values) => values.pop()?,
        // 16 bytes that happen to be UTF-8 land among the text attributes.
        None => entry.attrs.remove("objectGUID")?.pop()?.into_bytes(),
    };
    let guid = guid_string(&guid_bytes)?;
    let (dn, attrs) = lowered(entry);
    let disabled = attrs
        .get("useraccountcontrol")
        .and_then(|v| v.first())
        .and_then(|v| v.parse::<u32>().ok())
        .is_some_and(|flags| flags & 0x2 != 0);
    Some(AdUser {
        guid,
        dn,
        attrs,
        disabled,
    })
}

/// objectGUID in its usual text form: the first three fields are stored
/// little-endian.
pub fn guid_string(bytes: &[u8]) -> Option<String> {
    let b: &[u8; 16] = bytes.try_into().ok()?;
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn object_guid_reads_as_windows_prints_it() {
        // lw7eXZBQ00mNWb6i+rw3Vg== from a Samba user.
        let bytes = [
            0x97, 0x0e, 0xde, 0x5d, 0x90, 0x50, 0xd3, 0x49, 0x8d, 0x59, 0xbe, 0xa2, 0xfa, 0xbc, 0x37, 0x56,
        ];
        assert_eq!(
            super::guid_string(&bytes).unwrap(),
            "5dde0e97-5090-49d3-8d59-bea2fabc3756"
        );
        assert!(super::guid_string(&bytes[..15]).is_none());
    }
}
