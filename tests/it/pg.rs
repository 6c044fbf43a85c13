//! Access to the real PostgreSQL servers started by tests/peers/postgres.sh,
//! to check what geosync did the way a DBA would: with SQL.

use crate::support::peer_env;

pub fn port() -> u16 {
    peer_env("GEOSYNC_TEST_PG_PORT").parse().unwrap()
}

pub fn hba_port() -> u16 {
    peer_env("GEOSYNC_TEST_PG_HBA_PORT").parse().unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Connects as `user` (with `password`) and runs `sql`; rows as text.
pub fn try_query(
    port: u16,
    database: &str,
    user: &str,
    password: Option<&str>,
    sql: &str,
) -> Result<Vec<Vec<Option<String>>>, tokio_postgres::Error> {
    runtime().block_on(async {
        let mut config = tokio_postgres::Config::new();
        config.host("127.0.0.1").port(port).user(user).dbname(database);
        if let Some(password) = password {
            config.password(password);
        }
        let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        let mut rows = Vec::new();
        for message in client.simple_query(sql).await? {
            if let tokio_postgres::SimpleQueryMessage::Row(row) = message {
                rows.push((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect());
            }
        }
        Ok(rows)
    })
}

/// Runs `sql` as the administrator.
pub fn query(port: u16, database: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    try_query(port, database, "postgres", None, sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"))
}

/// The first column of the first row.
pub fn value(port: u16, database: &str, sql: &str) -> Option<String> {
    query(port, database, sql).first().and_then(|row| row[0].clone())
}

/// A string literal for the test's own SQL.
pub fn lit(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

pub fn ident(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}
