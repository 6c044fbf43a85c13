//! `[ldap]`: the TOML (raw), its lowering and checks (lower), the
//! validated directory settings and entries the system plans from (here).

mod lower;
pub mod raw;

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::manifest::document::Document;
use crate::manifest::lower::Lowerer;
use crate::manifest::secret::{Secret, SecretResolver};
use crate::manifest::source::Location;
use crate::manifest::vars::Vars;
use crate::manifest::ManifestError;

pub const USER_KIND: &str = "ldap.user";
pub const ROLE_KIND: &str = "ldap.role";
pub const ORG_KIND: &str = "ldap.org";

/// `[ldap]`, validated.
#[derive(Debug, Clone)]
pub struct Ldap {
    pub connection: Connection,
    pub base_dn: String,
    pub users_rdn: String,
    pub roles_rdn: String,
    pub orgs_rdn: String,
    /// Lower-cased uids never touched.
    pub protected: BTreeSet<String>,
    pub roles: Vec<Role>,
    pub orgs: Vec<Org>,
    pub users: Vec<User>,
    pub active_directory: Option<ActiveDirectory>,
}

impl Ldap {
    pub fn users_dn(&self) -> String {
        format!("{},{}", self.users_rdn, self.base_dn)
    }
    pub fn roles_dn(&self) -> String {
        format!("{},{}", self.roles_rdn, self.base_dn)
    }
    pub fn orgs_dn(&self) -> String {
        format!("{},{}", self.orgs_rdn, self.base_dn)
    }
}

/// How to reach and authenticate to one directory server.
#[derive(Debug, Clone)]
pub struct Connection {
    pub url: String,
    pub starttls: bool,
    pub bind_dn: String,
    pub bind_password: Option<Secret>,
    pub ca_file: Option<PathBuf>,
    pub skip_verify: bool,
}

#[derive(Debug, Clone)]
pub struct Role {
    pub name: String,
    pub description: Option<String>,
    pub at: Location,
}

#[derive(Debug, Clone)]
pub struct Org {
    pub name: String,
    pub title: String,
    pub description: Option<String>,
    pub at: Location,
}

#[derive(Debug, Clone)]
pub struct User {
    pub uid: String,
    pub org: String,
    pub roles: BTreeSet<String>,
    pub password: Option<Secret>,
    pub given_name: String,
    pub sn: String,
    pub cn: String,
    pub mail: Option<String>,
    pub description: Option<String>,
    pub at: Location,
}

/// What happens to an imported user that left AD or was disabled there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Keep,
    Disable,
    Delete,
}

/// When an attribute mapped from AD is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Follows AD: set, replaced, removed.
    Always,
    /// Written when the entry is created, never after.
    OnCreate,
    /// Written when the directory has no value; a value there is kept.
    Keep,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeMap {
    /// The geOrchestra attribute, as the directory names it.
    pub target: String,
    /// The AD attribute.
    pub source: String,
    pub policy: Policy,
}

#[derive(Debug, Clone)]
pub struct ActiveDirectory {
    pub connection: Connection,
    pub base_dns: Vec<String>,
    pub filter: String,
    pub page_size: i32,
    /// Values of a group's `member` asked for per read (range retrieval).
    pub member_range: u32,
    pub realm: String,
    pub org: String,
    pub default_roles: BTreeSet<String>,
    /// The group mappings, in the manifest's order.
    pub groups: Vec<GroupMapping>,
    /// Whether members of nested groups count (AD's effective membership).
    pub nested_groups: bool,
    pub attributes: Vec<AttributeMap>,
    pub on_removed: Removal,
    pub on_disabled: Removal,
    pub max_removal_percent: u8,
    pub allow_missing_mail: bool,
}

/// An AD group whose members get a role.
#[derive(Debug, Clone)]
pub struct GroupMapping {
    /// The group's DN, as the manifest writes it.
    pub dn: String,
    pub role: String,
    /// The mapping's line: an error about the group points there.
    pub at: Location,
}

/// The attributes imported unless the manifest says otherwise: target,
/// source. `sn` falls back on `cn` (inetOrgPerson requires it).
pub const DEFAULT_ATTRIBUTES: &[(&str, &str)] = &[
    ("givenName", "givenName"),
    ("sn", "sn"),
    ("cn", "cn"),
    ("displayName", "displayName"),
    ("mail", "mail"),
    ("telephoneNumber", "telephoneNumber"),
    ("o", "company"),
    ("businessCategory", "department"),
];

/// Lowers `[ldap]`: it may be declared in one file only.
pub fn lower(
    documents: &[Document],
    vars: &Vars,
    resolver: &SecretResolver,
    errors: &mut Vec<ManifestError>,
) -> Option<Ldap> {
    let mut found: Option<(Ldap, Location)> = None;
    for doc in documents {
        let Some(section) = doc.section::<raw::RawLdap>("ldap", errors) else {
            continue;
        };
        let mut lower = Lowerer::new(&doc.source, vars, errors);
        let at = Location::file_only(&doc.source.path);
        let ldap = lower.ldap(&section, resolver);
        if let Some((_, first)) = &found {
            errors.push(ManifestError::Duplicate {
                at,
                first: first.clone(),
                subject: "[ldap]".into(),
            });
            continue;
        }
        found = Some((ldap, at));
    }
    found.map(|(ldap, _)| ldap)
}
