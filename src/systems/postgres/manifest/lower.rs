//! Lowering of `[postgres]`: connection, roles, databases, grants and
//! pg_hba rules, with their cross-references checked.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::raw::{Ensure, RawPgDatabase, RawPgExtension, RawPgGrant, RawPgRole, RawPgSchema, RawPostgres};
use super::{
    GrantTarget, HbaRule, PgConnection, PgDatabase, PgExtension, PgGrant, PgRole, PgSchema, Postgres, TlsMode,
};
use super::{DATABASE_KIND, GRANT_KIND, HBA_METHODS, HBA_TYPES, MAX_POOL_SIZE, ROLE_KIND};
use crate::manifest::error::ManifestError;
use crate::manifest::line::single_line_problem;
use crate::manifest::lower::Lowerer;
use crate::manifest::secret::SecretResolver;
use crate::manifest::source::Location;

const DATABASE_PRIVILEGES: &[&str] = &["CONNECT", "CREATE", "TEMPORARY"];
const SCHEMA_PRIVILEGES: &[&str] = &["CREATE", "USAGE"];
const TABLE_PRIVILEGES: &[&str] = &[
    "DELETE",
    "INSERT",
    "REFERENCES",
    "SELECT",
    "TRIGGER",
    "TRUNCATE",
    "UPDATE",
];

/// Connection settings and lists of one file; `merge` joins the files.
pub struct PostgresPart {
    pub connection: Option<(PgConnection, Location, Option<String>, Option<String>)>,
    pub roles: Vec<PgRole>,
    pub databases: Vec<PgDatabase>,
    pub grants: Vec<PgGrant>,
    pub hba: Vec<HbaRule>,
}

impl Lowerer<'_> {
    pub fn postgres_part(&mut self, raw: &RawPostgres, resolver: &SecretResolver) -> PostgresPart {
        let sets_connection = raw.host.is_some()
            || raw.port.is_some()
            || raw.user.is_some()
            || raw.password.is_some()
            || raw.maintenance_db.is_some()
            || raw.sslmode.is_some()
            || raw.sslrootcert.is_some()
            || raw.hba_file.is_some()
            || raw.hba_container.is_some()
            || raw.pool_size.is_some();
        let connection = sets_connection.then(|| self.pg_connection(raw, resolver));
        PostgresPart {
            connection,
            roles: raw
                .role
                .iter()
                .map(|r| self.pg_role(r.get_ref(), resolver))
                .collect(),
            databases: raw
                .database
                .iter()
                .map(|d| self.pg_database(d.get_ref()))
                .collect(),
            grants: raw
                .grant
                .iter()
                .filter_map(|g| self.pg_grant(g.get_ref(), &g.span()))
                .collect(),
            hba: raw
                .hba
                .iter()
                .map(|h| self.hba_rule(h.get_ref(), &h.span()))
                .collect(),
        }
    }

    fn pg_connection(
        &mut self,
        raw: &RawPostgres,
        resolver: &SecretResolver,
    ) -> (PgConnection, Location, Option<String>, Option<String>) {
        let defaults = PgConnection::default();
        let subject = "[postgres]";
        let at = raw
            .host
            .as_ref()
            .map_or_else(|| Location::file_only(&self.source.path), |h| self.at(&h.span()));
        let port = match &raw.port {
            Some(p) if (1..=65535).contains(p.get_ref()) => *p.get_ref() as u16,
            Some(p) => {
                self.invalid(&p.span(), subject, "port must be between 1 and 65535");
                defaults.port
            }
            None => defaults.port,
        };
        let tls = self.tls_mode(raw, defaults.tls);
        let root_cert = raw.sslrootcert.as_ref().map(|c| self.path(c));
        if matches!(tls, TlsMode::VerifyCa | TlsMode::VerifyFull) && root_cert.is_none() {
            let span = raw.sslmode.as_ref().map(|m| m.span()).unwrap_or_default();
            self.invalid(
                &span,
                subject,
                "sslmode verify-ca and verify-full need `sslrootcert`, the CA certificates to trust",
            );
        }
        let password = raw
            .password
            .as_ref()
            .and_then(|p| self.secret(p, &format!("{subject}: password"), resolver));
        let pool_size = self.pool_size(raw, defaults.pool_size);
        let connection = PgConnection {
            host: raw
                .host
                .as_ref()
                .map_or_else(|| defaults.host.clone(), |h| self.text(h)),
            port,
            user: raw
                .user
                .as_ref()
                .map_or_else(|| defaults.user.clone(), |u| self.text(u)),
            password,
            maintenance_db: raw
                .maintenance_db
                .as_ref()
                .map_or_else(|| defaults.maintenance_db.clone(), |d| self.text(d)),
            tls,
            root_cert,
            pool_size,
        };
        let hba_file = raw.hba_file.as_ref().map(|f| self.text(f));
        let hba_container = raw.hba_container.as_ref().map(|c| self.text(c));
        (connection, at, hba_file, hba_container)
    }

    fn tls_mode(&mut self, raw: &RawPostgres, default: TlsMode) -> TlsMode {
        let Some(mode) = &raw.sslmode else {
            return default;
        };
        let text = self.text(mode);
        match text.as_str() {
            "disable" => TlsMode::Disable,
            "prefer" => TlsMode::Prefer,
            "require" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" => TlsMode::VerifyFull,
            _ => {
                self.invalid(
                    &mode.span(),
                    "[postgres]",
                    format!(
                        "sslmode `{text}` is not one of disable, prefer, require, verify-ca, verify-full"
                    ),
                );
                TlsMode::Prefer
            }
        }
    }

    fn pool_size(&mut self, raw: &RawPostgres, default: usize) -> usize {
        match &raw.pool_size {
            Some(size) if (1..=MAX_POOL_SIZE).contains(size.get_ref()) => *size.get_ref() as usize,
            Some(size) => {
                self.invalid(
                    &size.span(),
                    "[postgres]",
                    format!("pool_size must be between 1 and {MAX_POOL_SIZE}"),
                );
                default
            }
            None => default,
        }
    }

    fn pg_role(&mut self, raw: &RawPgRole, resolver: &SecretResolver) -> PgRole {
        let name = self.text(&raw.name);
        let subject = format!("{ROLE_KIND}:{name}");
        let connection_limit = match &raw.connection_limit {
            Some(limit) if (-1..=i64::from(i32::MAX)).contains(limit.get_ref()) => *limit.get_ref() as i32,
            Some(limit) => {
                self.invalid(
                    &limit.span(),
                    &subject,
                    "connection_limit is -1 (no limit) or a positive number",
                );
                -1
            }
            None => -1,
        };
        self.check_identifier(&raw.name.span(), &subject, &name);
        if let Some(why) = reserved_role(&name) {
            self.invalid(&raw.name.span(), &subject, why);
        }
        for parent in &raw.member_of {
            let parent_name = self.text(parent);
            self.check_identifier(&parent.span(), &subject, &parent_name);
        }
        PgRole {
            at: self.at(&raw.name.span()),
            present: raw.ensure == Ensure::Present,
            login: raw.login,
            createdb: raw.createdb,
            createrole: raw.createrole,
            connection_limit,
            password: raw
                .password
                .as_ref()
                .and_then(|p| self.secret(p, &format!("{subject}: password"), resolver)),
            member_of: raw.member_of.iter().map(|m| self.text(m)).collect(),
            name,
        }
    }

    fn pg_database(&mut self, raw: &RawPgDatabase) -> PgDatabase {
        let name = self.text(&raw.name);
        let subject = format!("{DATABASE_KIND}:{name}");
        self.check_identifier(&raw.name.span(), &subject, &name);
        let mut seen = BTreeSet::new();
        let mut extensions = Vec::new();
        for ext in &raw.extensions {
            let extension = match ext.get_ref() {
                RawPgExtension::Name(name) => PgExtension {
                    name: name.clone(),
                    version: None,
                    schema: None,
                },
                RawPgExtension::Full {
                    name,
                    version,
                    schema,
                } => PgExtension {
                    name: name.clone(),
                    version: version.clone(),
                    schema: schema.clone(),
                },
            };
            if !seen.insert(extension.name.clone()) {
                self.invalid(
                    &ext.span(),
                    &subject,
                    format!("extension `{}` is listed twice", extension.name),
                );
            }
            self.check_identifier(&ext.span(), &subject, &extension.name);
            if let Some(schema) = &extension.schema {
                self.check_identifier(&ext.span(), &subject, schema);
            }
            extensions.push(extension);
        }
        let mut schemas = Vec::new();
        for schema in &raw.schemas {
            let schema_value = match schema.get_ref() {
                RawPgSchema::Name(name) => PgSchema {
                    name: name.clone(),
                    owner: None,
                },
                RawPgSchema::Full { name, owner } => PgSchema {
                    name: name.clone(),
                    owner: owner.clone(),
                },
            };
            if !seen.insert(format!("schema {}", schema_value.name)) {
                self.invalid(
                    &schema.span(),
                    &subject,
                    format!("schema `{}` is listed twice", schema_value.name),
                );
            }
            self.check_identifier(&schema.span(), &subject, &schema_value.name);
            if let Some(owner) = &schema_value.owner {
                self.check_identifier(&schema.span(), &subject, owner);
            }
            if let Some(why) = reserved_schema(&schema_value.name) {
                self.invalid(&schema.span(), &subject, why);
            }
            schemas.push(schema_value);
        }
        let owner = raw.owner.as_ref().map(|o| (self.text(o), o.span()));
        if let Some((owner, span)) = &owner {
            self.check_identifier(span, &subject, owner);
        }
        PgDatabase {
            at: self.at(&raw.name.span()),
            present: raw.ensure == Ensure::Present,
            owner: owner.map(|(owner, _)| owner),
            encoding: raw.encoding.as_ref().map(|e| canonical_encoding(&self.text(e))),
            lc_collate: raw.lc_collate.as_ref().map(|e| self.text(e)),
            lc_ctype: raw.lc_ctype.as_ref().map(|e| self.text(e)),
            template: raw.template.as_ref().map(|e| self.text(e)),
            extensions,
            schemas,
            name,
        }
    }

    fn pg_grant(&mut self, raw: &RawPgGrant, span: &std::ops::Range<usize>) -> Option<PgGrant> {
        let role = self.text(&raw.role);
        let database = self.text(&raw.database);
        let subject = format!("{GRANT_KIND}:{role}@{database}");
        self.check_identifier(&raw.role.span(), &subject, &role);
        self.check_identifier(&raw.database.span(), &subject, &database);
        if let Some(schema) = &raw.schema {
            let name = self.text(schema);
            self.check_identifier(&schema.span(), &subject, &name);
        }
        let target = match (&raw.schema, raw.tables) {
            (None, false) => GrantTarget::Database,
            (Some(schema), false) => GrantTarget::Schema(self.text(schema)),
            (Some(schema), true) => GrantTarget::Tables {
                schema: self.text(schema),
                default_for: raw.default_for.iter().map(|r| self.text(r)).collect(),
            },
            (None, true) => {
                self.invalid(span, &subject, "`tables = true` needs `schema`");
                return None;
            }
        };
        if !raw.default_for.is_empty() && !matches!(target, GrantTarget::Tables { .. }) {
            self.invalid(span, &subject, "`default_for` goes with `tables = true`");
        }
        let valid = match target {
            GrantTarget::Database => DATABASE_PRIVILEGES,
            GrantTarget::Schema(_) => SCHEMA_PRIVILEGES,
            GrantTarget::Tables { .. } => TABLE_PRIVILEGES,
        };
        let mut privileges = BTreeSet::new();
        for privilege in raw.privileges.get_ref() {
            let upper = privilege.to_uppercase();
            let upper = if upper == "TEMP" {
                "TEMPORARY".to_string()
            } else {
                upper
            };
            if upper == "ALL" || upper == "ALL PRIVILEGES" {
                privileges.extend(valid.iter().map(|p| p.to_string()));
            } else if valid.contains(&upper.as_str()) {
                privileges.insert(upper);
            } else {
                self.invalid(
                    &raw.privileges.span(),
                    &subject,
                    format!(
                        "`{privilege}` is not a privilege here (valid: {}, ALL)",
                        valid.join(", ")
                    ),
                );
            }
        }
        Some(PgGrant {
            role,
            database,
            target,
            privileges,
            at: self.at(span),
        })
    }

    fn hba_rule(&mut self, raw: &super::raw::RawHbaRule, span: &std::ops::Range<usize>) -> HbaRule {
        let rule = HbaRule {
            kind: self.text(&raw.kind),
            database: self.text(&raw.database),
            user: self.text(&raw.user),
            address: raw.address.as_ref().map(|a| self.text(a)),
            method: self.text(&raw.method),
            options: raw.options.as_ref().map(|o| self.text(o)),
            at: self.at(span),
        };
        self.check_hba_words(raw, span, &rule);
        self.check_hba_fields(raw, span, &rule);
        rule
    }

    /// The type and method PostgreSQL knows, and an address exactly when
    /// the type needs one.
    fn check_hba_words(
        &mut self,
        raw: &super::raw::RawHbaRule,
        span: &std::ops::Range<usize>,
        rule: &HbaRule,
    ) {
        let subject = "postgres.hba";
        if !HBA_TYPES.contains(&rule.kind.as_str()) {
            self.invalid(
                &raw.kind.span(),
                subject,
                format!("type `{}` is not one of {}", rule.kind, HBA_TYPES.join(", ")),
            );
        }
        if !HBA_METHODS.contains(&rule.method.as_str()) {
            self.invalid(
                &raw.method.span(),
                subject,
                format!(
                    "method `{}` is not one of {}",
                    rule.method,
                    HBA_METHODS.join(", ")
                ),
            );
        }
        match (rule.kind.as_str(), &rule.address) {
            ("local", Some(_)) => self.invalid(span, subject, "a `local` rule takes no address"),
            (k, None) if k != "local" => {
                self.invalid(span, subject, format!("a `{k}` rule needs an address"))
            }
            _ => {}
        }
    }

    /// Every field is written on the rule's one line of pg_hba.conf: no
    /// control character anywhere, and no blank or `#` inside a column.
    fn check_hba_fields(
        &mut self,
        raw: &super::raw::RawHbaRule,
        span: &std::ops::Range<usize>,
        rule: &HbaRule,
    ) {
        let subject = "postgres.hba";
        let mut fields = vec![
            ("type", &raw.kind, rule.kind.as_str()),
            ("database", &raw.database, rule.database.as_str()),
            ("user", &raw.user, rule.user.as_str()),
            ("method", &raw.method, rule.method.as_str()),
        ];
        fields.extend(
            raw.address
                .as_ref()
                .zip(rule.address.as_deref())
                .map(|(r, a)| ("address", r, a)),
        );
        fields.extend(
            raw.options
                .as_ref()
                .zip(rule.options.as_deref())
                .map(|(r, o)| ("options", r, o)),
        );
        for (field, raw_field, value) in fields {
            self.single_line(&raw_field.span(), subject, field, value);
        }
        for field in [&rule.database, &rule.user]
            .into_iter()
            .chain(rule.address.iter())
        {
            let one_line = single_line_problem(field).is_none();
            if one_line && (field.is_empty() || field.contains(char::is_whitespace) || field.contains('#')) {
                self.invalid(
                    span,
                    subject,
                    format!("`{field}` cannot stand in a pg_hba.conf field (empty, blank or '#')"),
                );
            }
        }
    }

    /// PostgreSQL takes any name once quoted, but not an empty one, a NUL
    /// or more than 63 bytes (it would silently truncate it).
    fn check_identifier(&mut self, span: &std::ops::Range<usize>, subject: &str, name: &str) {
        if name.is_empty() || name.contains('\0') || name.len() > 63 {
            self.invalid(
                span,
                subject,
                format!(
                    "`{name}` has {} bytes: a PostgreSQL name has 1 to 63 bytes (the server cuts longer ones) and no NUL",
                    name.len()
                ),
            );
        }
    }
}

/// Joins the parts of every file and checks references between them.
pub fn merge(parts: Vec<PostgresPart>, errors: &mut Vec<ManifestError>) -> Option<Postgres> {
    if parts.is_empty() {
        return None;
    }
    let mut connection = None;
    let mut postgres_parts = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for part in parts {
        if let Some((conn, at, hba_file, hba_container)) = part.connection {
            match &connection {
                Some((_, first, _, _)) => errors.push(ManifestError::Duplicate {
                    at,
                    first: Clone::clone(first),
                    subject: "[postgres] connection settings".into(),
                }),
                None => connection = Some((conn, at, hba_file, hba_container)),
            }
        }
        postgres_parts.0.extend(part.roles);
        postgres_parts.1.extend(part.databases);
        postgres_parts.2.extend(part.grants);
        postgres_parts.3.extend(part.hba);
    }
    let (roles, databases, grants, hba) = postgres_parts;
    let (connection, _, hba_file, hba_container) = connection.unwrap_or_else(|| {
        (
            PgConnection::default(),
            Location::file_only(std::path::Path::new("[postgres]")),
            None,
            None,
        )
    });

    let database_at = check_unique_names(&roles, &databases, errors);
    check_grants(&roles, &database_at, &grants, errors);
    Some(Postgres {
        connection,
        hba_file,
        hba_container,
        roles,
        databases,
        grants,
        hba: (!hba.is_empty()).then_some(hba),
    })
}

/// Each role and database is declared once; the databases by name.
fn check_unique_names<'a>(
    roles: &[PgRole],
    databases: &'a [PgDatabase],
    errors: &mut Vec<ManifestError>,
) -> BTreeMap<&'a str, &'a PgDatabase> {
    let mut role_at: BTreeMap<&str, &Location> = BTreeMap::new();
    for role in roles {
        if let Some(first) = role_at.insert(&role.name, &role.at) {
            errors.push(ManifestError::Duplicate {
                at: role.at.clone(),
                first: first.clone(),
                subject: format!("{ROLE_KIND}:{}", role.name),
            });
        }
    }
    let mut database_at: BTreeMap<&str, &PgDatabase> = BTreeMap::new();
    for database in databases {
        if let Some(first) = database_at.insert(&database.name, database) {
            errors.push(ManifestError::Duplicate {
                at: database.at.clone(),
                first: first.at.clone(),
                subject: format!("{DATABASE_KIND}:{}", database.name),
            });
        }
    }
    database_at
}

/// A grant names a managed role, a declared database and schema, and
/// appears once.
fn check_grants(
    roles: &[PgRole],
    database_at: &BTreeMap<&str, &PgDatabase>,
    grants: &[PgGrant],
    errors: &mut Vec<ManifestError>,
) {
    let present_roles: HashSet<&str> = roles
        .iter()
        .filter(|r| r.present)
        .map(|r| r.name.as_str())
        .collect();
    let present_role = |name: &str| present_roles.contains(name);
    let mut grant_at: BTreeMap<(String, String, GrantTarget), Location> = BTreeMap::new();
    for grant in grants {
        let subject = format!("{GRANT_KIND}:{}@{}", grant.role, grant.database);
        let mut invalid = |message: String| {
            errors.push(ManifestError::Invalid {
                at: grant.at.clone(),
                subject: subject.clone(),
                message,
            })
        };
        if !present_role(&grant.role) {
            invalid(format!(
                "role `{}` is not declared in [[postgres.role]]: geosync converges grants only for the roles it manages",
                grant.role
            ));
        }
        if let GrantTarget::Tables { default_for, .. } = &grant.target {
            for creator in default_for.iter().filter(|r| !present_role(r)) {
                invalid(format!(
                    "default_for role `{creator}` is not declared in [[postgres.role]]: default privileges are set for roles geosync manages"
                ));
            }
        }
        match database_at.get(grant.database.as_str()) {
            Some(database) if database.present => {
                let schema = match &grant.target {
                    GrantTarget::Database => None,
                    GrantTarget::Schema(s) | GrantTarget::Tables { schema: s, .. } => Some(s),
                };
                if let Some(schema) = schema {
                    if schema != "public" && !database.schemas.iter().any(|s| s.name == *schema) {
                        invalid(format!(
                            "schema `{schema}` is not declared in the schemas of database `{}`",
                            grant.database
                        ));
                    }
                }
            }
            _ => invalid(format!(
                "database `{}` is not declared (present) in [[postgres.database]]",
                grant.database
            )),
        }
        let key = (grant.role.clone(), grant.database.clone(), grant.target.clone());
        if let Some(first) = grant_at.insert(key, grant.at.clone()) {
            errors.push(ManifestError::Duplicate {
                at: grant.at.clone(),
                first,
                subject: format!("{subject}: grant on the same object"),
            });
        }
    }
}

/// Why PostgreSQL refuses a role name (it says "role name … is reserved").
fn reserved_role(name: &str) -> Option<String> {
    let keyword = ["public", "none", "current_user", "session_user", "current_role"];
    if keyword.contains(&name.to_ascii_lowercase().as_str()) || name.starts_with("pg_") {
        return Some(format!(
            "role name `{name}` is reserved by PostgreSQL (public, none, current_user, session_user, current_role and names starting with pg_)"
        ));
    }
    None
}

/// Why a schema name cannot be managed: `pg_` names are PostgreSQL's, and
/// `public` and `information_schema` exist in every database already.
fn reserved_schema(name: &str) -> Option<String> {
    if name.starts_with("pg_") || name == "information_schema" {
        return Some(format!("schema name `{name}` is reserved by PostgreSQL"));
    }
    if name == "public" {
        return Some(
            "schema `public` exists in every database: grants on it need no declaration here".into(),
        );
    }
    None
}

/// PostgreSQL's own name of an encoding. It matches names case-blind and
/// ignoring punctuation ("UTF-8" is UTF8) and reports the canonical one:
/// comparing that avoids a false difference on every plan. Names it does
/// not list are kept for the server to judge.
fn canonical_encoding(written: &str) -> String {
    let key: String = written
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    let canonical = match key.as_str() {
        "utf8" | "unicode" => "UTF8",
        "sqlascii" => "SQL_ASCII",
        "latin1" | "iso88591" => "LATIN1",
        "latin2" | "iso88592" => "LATIN2",
        "latin9" | "iso885915" => "LATIN9",
        "win1250" | "windows1250" => "WIN1250",
        "win1251" | "windows1251" => "WIN1251",
        "win1252" | "windows1252" => "WIN1252",
        "eucjp" => "EUC_JP",
        "euckr" => "EUC_KR",
        "koi8r" | "koi8" => "KOI8R",
        _ => return written.to_ascii_uppercase(),
    };
    canonical.to_string()
}

#[cfg(test)]
mod checks {
    use super::*;

    #[test]
    fn encodings_are_compared_by_postgres_name() {
        assert_eq!(canonical_encoding("UTF-8"), "UTF8");
        assert_eq!(canonical_encoding("utf8"), "UTF8");
        assert_eq!(canonical_encoding("ISO-8859-1"), "LATIN1");
        assert_eq!(canonical_encoding("mule_internal"), "MULE_INTERNAL");
    }

    #[test]
    fn reserved_names_are_named() {
        assert!(reserved_role("public").is_some());
        assert!(reserved_role("pg_monitor").is_some());
        assert!(reserved_role("geosync").is_none());
        assert!(reserved_schema("pg_temp").is_some());
        assert!(reserved_schema("data").is_none());
    }
}
