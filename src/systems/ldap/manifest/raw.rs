//! `[ldap]` as written in the TOML.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::manifest::raw::Text;
use crate::manifest::secret::SecretRef;

/// `[ldap]`: geOrchestra's OpenLDAP, and what geosync keeps there.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLdap {
    /// ldap://HOST:PORT (with `starttls = true` to encrypt) or ldaps://HOST:PORT.
    #[schemars(with = "Option<String>")]
    pub url: Option<Text>,
    /// Upgrade an ldap:// connection with StartTLS.
    #[serde(default)]
    pub starttls: bool,
    /// The DN geosync binds as; it must write ou=users, ou=roles, ou=orgs and read userPassword.
    #[schemars(with = "Option<String>")]
    pub bind_dn: Option<Text>,
    /// The bind DN's password.
    #[schemars(with = "Option<SecretRef>")]
    pub bind_password: Option<Spanned<SecretRef>>,
    /// The directory's base, e.g. dc=georchestra,dc=org.
    #[schemars(with = "Option<String>")]
    pub base_dn: Option<Text>,
    /// CA certificates (PEM) the server's certificate is checked against.
    #[schemars(with = "Option<String>")]
    pub ca_file: Option<Text>,
    /// Accept any server certificate. Dangerous: every run says so.
    #[serde(default)]
    pub tls_skip_verify: bool,
    /// Users' branch under the base (default ou=users).
    #[schemars(with = "Option<String>")]
    pub users_rdn: Option<Text>,
    /// Roles' branch under the base (default ou=roles).
    #[schemars(with = "Option<String>")]
    pub roles_rdn: Option<Text>,
    /// Orgs' branch under the base (default ou=orgs).
    #[schemars(with = "Option<String>")]
    pub orgs_rdn: Option<Text>,
    /// uids geosync never modifies, disables or deletes (admin accounts...).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub protected: Vec<Text>,
    /// geOrchestra roles (ou=roles, groupOfMembers).
    #[serde(default)]
    #[schemars(with = "Vec<RawLdapRole>")]
    pub role: Vec<Spanned<RawLdapRole>>,
    /// geOrchestra organisations (ou=orgs).
    #[serde(default)]
    #[schemars(with = "Vec<RawLdapOrg>")]
    pub org: Vec<Spanned<RawLdapOrg>>,
    /// Users the manifest owns, such as georchestra-ouvert and georchestra-restreint.
    #[serde(default)]
    #[schemars(with = "Vec<RawLdapUser>")]
    pub user: Vec<Spanned<RawLdapUser>>,
    /// Users imported from an Active Directory (read-only source).
    #[schemars(with = "Option<RawActiveDirectory>")]
    pub active_directory: Option<Spanned<RawActiveDirectory>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLdapRole {
    /// The role's cn, e.g. GN_EDITOR.
    #[schemars(with = "String")]
    pub name: Text,
    /// What the role grants.
    #[schemars(with = "Option<String>")]
    pub description: Option<Text>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLdapOrg {
    /// The org's short name (cn and o), e.g. MSHE.
    #[schemars(with = "String")]
    pub name: Text,
    /// Its full name (default: the short name).
    #[schemars(with = "Option<String>")]
    pub title: Option<Text>,
    /// A description.
    #[schemars(with = "Option<String>")]
    pub description: Option<Text>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLdapUser {
    /// The login.
    #[schemars(with = "String")]
    pub uid: Text,
    /// The user's org (a declared [[ldap.org]] or one in the directory): geOrchestra requires one.
    #[schemars(with = "String")]
    pub org: Text,
    /// Exactly these roles (among those geosync manages the members of).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub roles: Vec<Text>,
    /// Write-only: set on creation, set again only when a bind with it fails.
    #[schemars(with = "Option<SecretRef>")]
    pub password: Option<Spanned<SecretRef>>,
    /// Given name (default: the uid).
    #[schemars(with = "Option<String>")]
    pub given_name: Option<Text>,
    /// Surname (default: the uid).
    #[schemars(with = "Option<String>")]
    pub sn: Option<Text>,
    /// Common name (default: the uid).
    #[schemars(with = "Option<String>")]
    pub cn: Option<Text>,
    /// Mail address.
    #[schemars(with = "Option<String>")]
    pub mail: Option<Text>,
    /// A description.
    #[schemars(with = "Option<String>")]
    pub description: Option<Text>,
}

/// `[ldap.active_directory]`: where users come from and how they map.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawActiveDirectory {
    /// ldaps://HOST:636, or ldap:// with `starttls = true` (AD refuses plain simple binds).
    #[schemars(with = "String")]
    pub url: Text,
    /// Upgrade an ldap:// connection with StartTLS.
    #[serde(default)]
    pub starttls: bool,
    /// The account geosync reads AD as (read-only rights suffice).
    #[schemars(with = "String")]
    pub bind_dn: Text,
    /// Its password.
    #[schemars(with = "SecretRef")]
    pub bind_password: Spanned<SecretRef>,
    /// CA certificates (PEM) AD's certificate is checked against.
    #[schemars(with = "Option<String>")]
    pub ca_file: Option<Text>,
    /// Accept any AD certificate. Dangerous: every run says so.
    #[serde(default)]
    pub tls_skip_verify: bool,
    /// Where users are searched (subtree), e.g. ["OU=Staff,DC=lab,DC=example"].
    #[schemars(with = "Vec<String>")]
    pub base_dns: Spanned<Vec<String>>,
    /// LDAP filter of the users to import.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("default" = "(&(objectClass=user)(objectCategory=person))"))]
    pub filter: Option<Text>,
    /// Entries per page of the paged search (AD serves at most 1000).
    #[schemars(with = "Option<i64>")]
    #[schemars(extend("default" = 500))]
    pub page_size: Option<Spanned<i64>>,
    /// Values of a group's `member` read at a time with range retrieval (AD serves at most its MaxValRange, 1500 by default, in one answer).
    #[schemars(with = "Option<i64>")]
    #[schemars(extend("default" = 1500))]
    pub member_range: Option<Spanned<i64>>,
    /// The Kerberos realm in `{SASL}uid@REALM`, e.g. LAB.EXAMPLE.
    #[schemars(with = "String")]
    pub realm: Text,
    /// The org every imported user belongs to.
    #[schemars(with = "String")]
    pub org: Text,
    /// Roles every imported user has (default ["USER"]).
    #[schemars(with = "Option<Vec<String>>")]
    pub default_roles: Option<Vec<Text>>,
    /// AD group DN -> geOrchestra role, for the group's members (nested groups' members too unless `nested_groups = false`).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub groups: BTreeMap<String, Text>,
    /// Members of groups nested in a mapped group (at any depth) get its role, as AD's effective membership counts them (default true); false: direct members only.
    #[schemars(extend("default" = true))]
    pub nested_groups: Option<bool>,
    /// Attribute map: geOrchestra attribute -> { from = AD attribute, policy }.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawAttribute>")]
    pub attributes: BTreeMap<String, Spanned<RawAttribute>>,
    /// Users that left AD: keep, disable or delete (default disable).
    #[schemars(with = "Option<RemovalPolicy>")]
    pub on_removed: Option<Text>,
    /// Accounts disabled in AD: keep, disable or delete (default disable).
    #[schemars(with = "Option<RemovalPolicy>")]
    pub on_disabled: Option<Text>,
    /// Largest share (percent) of imported users one run may disable or delete, and of a mapped role's members it may take the role from (from 5 on; default 10); --allow-drop goes beyond.
    #[schemars(with = "Option<i64>")]
    #[schemars(extend("default" = 10))]
    pub max_removal_percent: Option<Spanned<i64>>,
    /// Import users without a mail address (default false: reported and skipped).
    #[serde(default)]
    pub allow_missing_mail: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAttribute {
    /// The AD attribute it comes from (default: the same name).
    #[schemars(with = "Option<String>")]
    pub from: Option<Text>,
    /// always (default), on_create, keep (fill only when empty) or ignore.
    #[schemars(with = "Option<AttributePolicy>")]
    pub policy: Option<Text>,
}

crate::schema_string!(
    /// keep, disable or delete.
    RemovalPolicy = crate::manifest::schema::choice(&["keep", "disable", "delete"])
);
crate::schema_string!(
    /// always, on_create, keep or ignore.
    AttributePolicy = crate::manifest::schema::choice(&["always", "on_create", "keep", "ignore"])
);
