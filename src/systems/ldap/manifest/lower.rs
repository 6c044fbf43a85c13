//! Lowering of `[ldap]`: connection, entries, the AD source, with their
//! cross-references and values checked.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use super::raw::{RawActiveDirectory, RawAttribute, RawLdap, RawLdapOrg, RawLdapRole, RawLdapUser};
use super::{
    ActiveDirectory, AttributeMap, Connection, GroupMapping, Ldap, Org, Policy, Removal, Role, User,
    DEFAULT_ATTRIBUTES, ORG_KIND, ROLE_KIND, USER_KIND,
};
use crate::manifest::lower::Lowerer;
use crate::manifest::raw::Text;
use crate::manifest::secret::SecretResolver;
use crate::manifest::source::Location;

const DEFAULT_FILTER: &str = "(&(objectClass=user)(objectCategory=person))";

impl Lowerer<'_> {
    pub fn ldap(&mut self, raw: &RawLdap, resolver: &SecretResolver) -> Ldap {
        let subject = "[ldap]";
        let whole = 0..0;
        let url = self.required(&raw.url, &whole, subject, "url");
        let bind_dn = self.required(&raw.bind_dn, &whole, subject, "bind_dn");
        let base_dn = self.required(&raw.base_dn, &whole, subject, "base_dn");
        let password = raw
            .bind_password
            .as_ref()
            .and_then(|p| self.secret(p, "[ldap]: bind_password", resolver));
        let connection = self.ldap_connection(LdapEndpoint {
            subject,
            url,
            url_span: raw.url.as_ref().map(|u| u.span()).unwrap_or_default(),
            starttls: raw.starttls,
            bind_dn,
            password,
            ca_file: raw.ca_file.as_ref(),
            skip_verify: raw.tls_skip_verify,
        });
        let rdn = |lower: &mut Self, text: &Option<Text>, default: &str| {
            text.as_ref()
                .map_or_else(|| default.to_string(), |t| lower.text(t))
        };
        let users_rdn = rdn(self, &raw.users_rdn, "ou=users");
        let roles_rdn = rdn(self, &raw.roles_rdn, "ou=roles");
        let orgs_rdn = rdn(self, &raw.orgs_rdn, "ou=orgs");
        let protected = raw
            .protected
            .iter()
            .map(|p| self.text(p).to_lowercase())
            .collect();
        let roles = raw
            .role
            .iter()
            .map(|r| self.ldap_role(r.get_ref()))
            .collect::<Vec<_>>();
        let orgs = raw
            .org
            .iter()
            .map(|o| self.ldap_org(o.get_ref()))
            .collect::<Vec<_>>();
        let users = raw
            .user
            .iter()
            .map(|u| self.ldap_user(u.get_ref(), resolver))
            .collect::<Vec<_>>();
        let active_directory = raw
            .active_directory
            .as_ref()
            .map(|ad| self.active_directory(ad.get_ref(), resolver));
        self.check_unique(ROLE_KIND, roles.iter().map(|r| (r.name.to_lowercase(), &r.at)));
        self.check_unique(ORG_KIND, orgs.iter().map(|o| (o.name.to_lowercase(), &o.at)));
        self.check_unique(USER_KIND, users.iter().map(|u| (u.uid.to_lowercase(), &u.at)));
        Ldap {
            connection,
            base_dn,
            users_rdn,
            roles_rdn,
            orgs_rdn,
            protected,
            roles,
            orgs,
            users,
            active_directory,
        }
    }

    fn required(&mut self, text: &Option<Text>, span: &Range<usize>, subject: &str, key: &str) -> String {
        match text {
            Some(t) => self.text(t),
            None => {
                self.invalid(span, subject, format!("`{key}` is required"));
                String::new()
            }
        }
    }

    fn ldap_connection(&mut self, endpoint: LdapEndpoint) -> Connection {
        let LdapEndpoint {
            subject,
            url,
            url_span,
            starttls,
            bind_dn,
            password,
            ca_file,
            skip_verify,
        } = endpoint;
        let ldaps = url.starts_with("ldaps://");
        if !(ldaps || url.starts_with("ldap://") || url.is_empty()) {
            self.invalid(&url_span, subject, "`url` starts with ldap:// or ldaps://");
        }
        if ldaps && starttls {
            self.invalid(
                &url_span,
                subject,
                "StartTLS is for ldap:// URLs; ldaps:// is TLS already",
            );
        }
        Connection {
            url,
            starttls,
            bind_dn,
            bind_password: password,
            ca_file: ca_file.map(|c| self.path(c)),
            skip_verify,
        }
    }

    fn check_unique<'l>(&mut self, kind: &str, names: impl Iterator<Item = (String, &'l Location)>) {
        let mut seen: BTreeMap<String, &Location> = BTreeMap::new();
        for (name, at) in names {
            if let Some(first) = seen.get(&name) {
                self.errors.push(crate::manifest::ManifestError::Duplicate {
                    at: at.clone(),
                    first: (*first).clone(),
                    subject: format!("{kind}:{name}"),
                });
            } else {
                seen.insert(name, at);
            }
        }
    }

    fn ldap_role(&mut self, raw: &RawLdapRole) -> Role {
        let name = self.text(&raw.name);
        self.check_name(&raw.name.span(), &format!("{ROLE_KIND}:{name}"), &name);
        Role {
            at: self.at(&raw.name.span()),
            description: self.opt(&raw.description),
            name,
        }
    }

    fn ldap_org(&mut self, raw: &RawLdapOrg) -> Org {
        let name = self.text(&raw.name);
        self.check_name(&raw.name.span(), &format!("{ORG_KIND}:{name}"), &name);
        Org {
            at: self.at(&raw.name.span()),
            title: raw.title.as_ref().map_or_else(|| name.clone(), |t| self.text(t)),
            description: self.opt(&raw.description),
            name,
        }
    }

    fn ldap_user(&mut self, raw: &RawLdapUser, resolver: &SecretResolver) -> User {
        let uid = self.text(&raw.uid);
        let subject = format!("{USER_KIND}:{uid}");
        self.check_name(&raw.uid.span(), &subject, &uid);
        let or_uid = |lower: &mut Self, text: &Option<Text>| {
            text.as_ref().map_or_else(|| uid.clone(), |t| lower.text(t))
        };
        User {
            at: self.at(&raw.uid.span()),
            org: self.text(&raw.org),
            roles: raw.roles.iter().map(|r| self.text(r)).collect(),
            password: raw
                .password
                .as_ref()
                .and_then(|p| self.secret(p, &format!("{subject}: password"), resolver)),
            given_name: or_uid(self, &raw.given_name),
            sn: or_uid(self, &raw.sn),
            cn: or_uid(self, &raw.cn),
            mail: self.opt(&raw.mail),
            description: self.opt(&raw.description),
            uid,
        }
    }

    /// A name that becomes an RDN value: any text is escaped, but an empty
    /// one or a control character is a mistake.
    fn check_name(&mut self, span: &Range<usize>, subject: &str, name: &str) {
        if name.trim().is_empty() {
            self.invalid(span, subject, "the name is empty");
        } else if name.chars().any(char::is_control) {
            self.invalid(span, subject, "the name holds a control character");
        }
    }

    fn active_directory(&mut self, raw: &RawActiveDirectory, resolver: &SecretResolver) -> ActiveDirectory {
        let subject = "[ldap.active_directory]";
        let url = self.text(&raw.url);
        let bind_dn = self.text(&raw.bind_dn);
        let password = self.secret(
            &raw.bind_password,
            "[ldap.active_directory]: bind_password",
            resolver,
        );
        let connection = self.ldap_connection(LdapEndpoint {
            subject,
            url,
            url_span: raw.url.span(),
            starttls: raw.starttls,
            bind_dn,
            password,
            ca_file: raw.ca_file.as_ref(),
            skip_verify: raw.tls_skip_verify,
        });
        let page_size = match &raw.page_size {
            Some(p) if (1..=1000).contains(p.get_ref()) => *p.get_ref() as i32,
            Some(p) => {
                self.invalid(
                    &p.span(),
                    subject,
                    "page_size is between 1 and 1000 (AD's MaxPageSize)",
                );
                500
            }
            None => 500,
        };
        let member_range = match &raw.member_range {
            Some(r) => self.bounded(r, subject, "member_range", 1, 100_000) as u32,
            None => 1500,
        };
        let max_removal_percent = match &raw.max_removal_percent {
            Some(p) => self.small_int(p, subject, "max_removal_percent", 100),
            None => 10,
        };
        if raw.base_dns.get_ref().is_empty() {
            self.invalid(&raw.base_dns.span(), subject, "base_dns lists at least one DN");
        }
        ActiveDirectory {
            connection,
            base_dns: raw.base_dns.get_ref().clone(),
            filter: raw
                .filter
                .as_ref()
                .map_or_else(|| DEFAULT_FILTER.to_string(), |f| self.text(f)),
            page_size,
            member_range,
            realm: self.text(&raw.realm),
            org: self.text(&raw.org),
            default_roles: match &raw.default_roles {
                Some(roles) => roles.iter().map(|r| self.text(r)).collect(),
                None => BTreeSet::from(["USER".to_string()]),
            },
            groups: raw
                .groups
                .iter()
                .map(|(group, role)| GroupMapping {
                    dn: group.clone(),
                    role: self.text(role),
                    at: self.at(&role.span()),
                })
                .collect(),
            nested_groups: raw.nested_groups.unwrap_or(true),
            attributes: self.attribute_maps(&raw.attributes),
            on_removed: self.removal(&raw.on_removed, "on_removed"),
            on_disabled: self.removal(&raw.on_disabled, "on_disabled"),
            max_removal_percent,
            allow_missing_mail: raw.allow_missing_mail,
        }
    }

    fn removal(&mut self, text: &Option<Text>, key: &str) -> Removal {
        let Some(text) = text else {
            return Removal::Disable;
        };
        match self.text(text).as_str() {
            "keep" => Removal::Keep,
            "disable" => Removal::Disable,
            "delete" => Removal::Delete,
            other => {
                self.invalid(
                    &text.span(),
                    "[ldap.active_directory]",
                    format!("{key} `{other}` is not one of keep, disable, delete"),
                );
                Removal::Disable
            }
        }
    }

    /// The default map with the manifest's entries laid over it.
    fn attribute_maps(&mut self, raw: &BTreeMap<String, toml::Spanned<RawAttribute>>) -> Vec<AttributeMap> {
        let mut maps: BTreeMap<String, Option<AttributeMap>> = DEFAULT_ATTRIBUTES
            .iter()
            .map(|(target, source)| {
                let map = AttributeMap {
                    target: target.to_string(),
                    source: source.to_string(),
                    policy: Policy::Always,
                };
                (target.to_lowercase(), Some(map))
            })
            .collect();
        for (target, spanned) in raw {
            let attribute = spanned.get_ref();
            let key = target.to_lowercase();
            if ["uid", "userpassword", "objectclass", "employeetype", "memberof"].contains(&key.as_str()) {
                self.invalid(
                    &spanned.span(),
                    "[ldap.active_directory.attributes]",
                    format!("`{target}` is geosync's to set"),
                );
                continue;
            }
            let source = attribute
                .from
                .as_ref()
                .map_or_else(|| target.clone(), |f| self.text(f));
            let policy = match attribute.policy.as_ref().map(|p| (self.text(p), p.span())) {
                None => Some(Policy::Always),
                Some((p, _)) if p == "always" => Some(Policy::Always),
                Some((p, _)) if p == "on_create" => Some(Policy::OnCreate),
                Some((p, _)) if p == "keep" => Some(Policy::Keep),
                Some((p, _)) if p == "ignore" => None,
                Some((p, span)) => {
                    self.invalid(
                        &span,
                        "[ldap.active_directory.attributes]",
                        format!("policy `{p}` is not one of always, on_create, keep, ignore"),
                    );
                    None
                }
            };
            maps.insert(
                key,
                policy.map(|policy| AttributeMap {
                    target: target.clone(),
                    source,
                    policy,
                }),
            );
        }
        maps.into_values().flatten().collect()
    }
}

struct LdapEndpoint<'r> {
    subject: &'r str,
    url: String,
    url_span: Range<usize>,
    starttls: bool,
    bind_dn: String,
    password: Option<crate::manifest::secret::Secret>,
    ca_file: Option<&'r Text>,
    skip_verify: bool,
}
