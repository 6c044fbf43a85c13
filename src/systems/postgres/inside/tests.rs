//! The tagged rows, and the one statement against the real server of
//! tests/peers/postgres.sh: access lists read from their text must say
//! exactly what `aclexplode` says, hostile role names included.

use super::*;

fn row(fields: [&str; 5]) -> [String; 5] {
    fields.map(str::to_string)
}

#[test]
fn tagged_rows_name_owners_and_drop_public_grants() {
    let roles: RoleNames = [(10, "postgres".to_string()), (20, "reader".to_string())].into();
    let rows = vec![
        row([
            "t",
            "2200",
            "roads",
            "10",
            "{postgres=arwdDxt/postgres,reader=r/postgres,=r/postgres}",
        ]),
        row(["e", "postgis", "3.3.2", "public", ""]),
        row(["s", "2200", "public", "10", "{postgres=UC/postgres,=U/postgres}"]),
        row(["s", "16400", "data", "99", "{reader=U/postgres}"]),
        row(["t", "16400", "parcels", "20", ""]),
        row(["d", "10", "16400", "{reader=r/postgres}", ""]),
    ];
    let inside = from_declared_rows(rows, &roles).unwrap();
    assert_eq!(inside.extensions["postgis"], ("3.3.2".into(), "public".into()));
    assert_eq!(inside.schemas["public"], "postgres");
    assert_eq!(inside.schemas["data"], "unknown (OID=99)");
    let schema_grants: Vec<_> = inside.schema_acl.keys().collect();
    assert_eq!(
        schema_grants,
        [
            &("data".to_string(), "reader".to_string()),
            &("public".to_string(), "postgres".to_string())
        ],
        "the PUBLIC grant names no role"
    );
    let names: Vec<&str> = inside.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["parcels", "roads"], "sorted by schema, then name");
    let roads = &inside.tables[1];
    assert_eq!(roads.schema, "public");
    assert_eq!(roads.acl.keys().collect::<Vec<_>>(), ["postgres", "reader"]);
    assert!(
        inside.tables[0].acl.is_empty(),
        "a NULL list: no explicit privilege"
    );
    let key = ("postgres".to_string(), "data".to_string(), "reader".to_string());
    assert_eq!(inside.default_acl[&key].iter().collect::<Vec<_>>(), ["SELECT"]);
}

#[test]
fn an_unreadable_access_list_is_an_error() {
    let rows = vec![row(["s", "2200", "public", "10", "{reader=Q/postgres}"])];
    let error = from_declared_rows(rows, &RoleNames::new()).unwrap_err();
    assert!(error.contains("reader=Q/postgres"), "{error}");
}

#[test]
fn names_are_escape_string_literals() {
    assert_eq!(literal(r"a'b\c"), r"E'a\'b\\c'");
}

fn pg_port() -> u16 {
    std::env::var("GEOSYNC_TEST_PG_PORT")
        .expect("GEOSYNC_TEST_PG_PORT is not set: start tests/peers/postgres.sh")
        .parse()
        .expect("GEOSYNC_TEST_PG_PORT is a port")
}

async fn connect(db: &str) -> Client {
    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(pg_port())
        .user("postgres")
        .dbname(db);
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

fn ident(name: &str) -> String {
    crate::systems::postgres::client::ident(name)
}

/// A database with hostile role names holding every kind of privilege
/// (`test` tells apart the tests running at once).
async fn fixture(test: &str) -> (String, Vec<String>) {
    let id = format!("{test}_{}", std::process::id());
    let db = format!("gs_inside_{id}");
    let roles = vec![
        format!("gs_plain_{id}"),
        format!("gs \"quoted\", {{x}}=r/y\\ {id}"),
        format!("gs_lecteur_é_{id}"),
    ];
    let admin = connect("postgres").await;
    for sql in [
        format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        format!("CREATE DATABASE {db}"),
    ] {
        admin.batch_execute(&sql).await.unwrap();
    }
    for role in &roles {
        let r = ident(role);
        admin
            .batch_execute(&format!(
                "DROP ROLE IF EXISTS {r}; CREATE ROLE {r}; GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {r}"
            ))
            .await
            .unwrap();
    }
    let (a, b, c) = (ident(&roles[0]), ident(&roles[1]), ident(&roles[2]));
    connect(&db)
        .await
        .batch_execute(&format!(
            "CREATE SCHEMA data AUTHORIZATION {a};
             CREATE SCHEMA \"other schema\";
             GRANT USAGE, CREATE ON SCHEMA data TO {b} WITH GRANT OPTION;
             GRANT USAGE ON SCHEMA public TO {c};
             GRANT USAGE ON SCHEMA \"other schema\" TO {c};
             CREATE TABLE data.t (id int);
             CREATE VIEW data.v AS SELECT 1 AS one;
             CREATE TABLE \"other schema\".hidden (id int);
             GRANT ALL ON data.t TO {b};
             GRANT SELECT, UPDATE ON data.t TO {c} WITH GRANT OPTION;
             GRANT SELECT ON data.v TO PUBLIC;
             GRANT SELECT ON \"other schema\".hidden TO {c};
             ALTER DEFAULT PRIVILEGES FOR ROLE {a} IN SCHEMA data GRANT SELECT, TRIGGER ON TABLES TO {c};
             ALTER DEFAULT PRIVILEGES FOR ROLE {a} IN SCHEMA \"other schema\" GRANT SELECT ON TABLES TO {c};"
        ))
        .await
        .unwrap();
    (db, roles)
}

async fn cleanup(db: &str, roles: &[String]) {
    let admin = connect("postgres").await;
    admin
        .batch_execute(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .await
        .unwrap();
    for role in roles {
        admin
            .batch_execute(&format!("DROP ROLE {}", ident(role)))
            .await
            .unwrap();
    }
}

/// What `aclexplode` says for each access list in `sql`'s (key, acl)
/// rows, beside what [`acl::parse`] reads from its text.
async fn both_ways(client: &Client, sql: &str) {
    let exploded = client
        .query(
            &format!(
                "SELECT key, coalesce(r.rolname, 'PUBLIC'), a.privilege_type FROM ({sql}) s(key, acl) \
                 CROSS JOIN LATERAL aclexplode(s.acl) a LEFT JOIN pg_roles r ON r.oid = a.grantee \
                 ORDER BY 1, 2, 3"
            ),
            &[],
        )
        .await
        .unwrap();
    let exploded: Vec<(String, String, String)> =
        exploded.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    let texts = client
        .query(&format!("SELECT key, acl::text FROM ({sql}) s(key, acl)"), &[])
        .await
        .unwrap();
    let mut parsed = Vec::new();
    for row in texts {
        let (key, text): (String, Option<String>) = (row.get(0), row.get(1));
        for entry in acl::parse(text.as_deref().unwrap_or_default()).unwrap() {
            let grantee = entry.grantee.unwrap_or_else(|| "PUBLIC".to_string());
            for privilege in entry.privileges {
                parsed.push((key.clone(), grantee.clone(), privilege.to_string()));
            }
        }
    }
    parsed.sort();
    assert!(!exploded.is_empty());
    assert_eq!(parsed, exploded, "{sql}");
}

#[tokio::test]
async fn access_lists_read_from_text_match_aclexplode() {
    let (db, roles) = fixture("acl").await;
    let client = connect(&db).await;
    both_ways(&client, "SELECT nspname::text, nspacl FROM pg_namespace").await;
    both_ways(
        &client,
        "SELECT relname::text, relacl FROM pg_class WHERE relacl IS NOT NULL",
    )
    .await;
    both_ways(&client, "SELECT oid::text, defaclacl FROM pg_default_acl").await;
    both_ways(&client, "SELECT datname::text, datacl FROM pg_database").await;
    both_ways(
        &client,
        "SELECT proname::text || oid, proacl FROM pg_proc WHERE proacl IS NOT NULL",
    )
    .await;
    cleanup(&db, &roles).await;
}

#[tokio::test]
async fn one_statement_reads_the_declared_schemas_and_nothing_else() {
    let (db, roles) = fixture("read").await;
    let client = connect(&db).await;
    let admin = connect("postgres").await;
    let names = crate::systems::postgres::observed::role_names(&admin)
        .await
        .unwrap();
    let scope = Scope::Declared {
        schemas: vec!["data".into(), "public".into(), "missing".into()],
        extensions: vec!["plpgsql".into(), "postgis".into()],
    };
    let inside = read(&client, &names, &scope).await.unwrap();
    let (a, b, c) = (&roles[0], &roles[1], &roles[2]);
    assert_eq!(inside.schemas.keys().collect::<Vec<_>>(), ["data", "public"]);
    assert_eq!(&inside.schemas["data"], a);
    let held = |schema: &str, role: &str| -> Vec<String> {
        let key = (schema.to_string(), role.to_string());
        inside
            .schema_acl
            .get(&key)
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    };
    assert_eq!(held("data", b), ["CREATE", "USAGE"]);
    assert_eq!(held("public", c), ["USAGE"]);
    let tables: Vec<(&str, &str)> = inside
        .tables
        .iter()
        .map(|t| (t.schema.as_str(), t.name.as_str()))
        .collect();
    assert_eq!(
        tables,
        [("data", "t"), ("data", "v")],
        "only the declared schemas' relations"
    );
    let t = &inside.tables[0];
    assert!(
        t.acl[b].contains("TRUNCATE") && t.acl[b].contains("TRIGGER"),
        "ALL: {:?}",
        t.acl[b]
    );
    assert_eq!(t.acl[c].iter().collect::<Vec<_>>(), ["SELECT", "UPDATE"]);
    let view_holders: Vec<&String> = inside.tables[1].acl.keys().collect();
    assert_eq!(
        view_holders,
        ["postgres"],
        "the owner; a grant to PUBLIC names no role"
    );
    let defaults: Vec<_> = inside.default_acl.iter().collect();
    assert_eq!(defaults.len(), 1, "{defaults:?}");
    let ((creator, schema, grantee), privileges) = defaults[0];
    assert_eq!((creator, schema.as_str(), grantee), (a, "data", c));
    assert_eq!(privileges.iter().collect::<Vec<_>>(), ["SELECT", "TRIGGER"]);
    assert_eq!(inside.extensions.keys().collect::<Vec<_>>(), ["plpgsql"]);
    assert_eq!(inside.extensions["plpgsql"].1, "pg_catalog");

    let absent = read(&client, &names, &Scope::Tables).await.unwrap();
    let tables: Vec<&str> = absent.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tables, ["t", "v", "hidden"]);
    assert_eq!(absent.user_tables(), 3);
    cleanup(&db, &roles).await;
}
