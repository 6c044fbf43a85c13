//! Connections to the server, and the quoting of names and values.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Config, NoTls};

use super::tls::{self, TlsError};
use crate::systems::postgres::manifest::{PgConnection, TlsMode};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot connect to PostgreSQL at {target} as {user}")]
    Connect {
        target: String,
        user: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("cannot connect to PostgreSQL at {target}")]
    Tls {
        target: String,
        #[source]
        source: TlsError,
    },
}

pub fn describe(connection: &PgConnection, database: &str) -> String {
    if is_socket(connection) {
        let folder = connection.host.trim_end_matches('/');
        format!("{folder}/.s.PGSQL.{}/{database}", connection.port)
    } else {
        format!("{}:{}/{database}", connection.host, connection.port)
    }
}

/// A Unix socket folder, as libpq reads `host`: a path starting with `/`.
pub fn is_socket(connection: &PgConnection) -> bool {
    connection.host.starts_with('/')
}

pub async fn connect(connection: &PgConnection, database: &str) -> Result<Client, ConnectError> {
    // The driver ends when the client is dropped; errors surface on the
    // client's calls.
    Ok(connect_with_driver(connection, database).await?.0)
}

/// A connection and the task driving it, which ends once the client is
/// dropped and the connection closed.
pub async fn connect_with_driver(
    connection: &PgConnection,
    database: &str,
) -> Result<(Client, JoinHandle<()>), ConnectError> {
    let mut config = Config::new();
    config
        .host(&connection.host)
        .port(connection.port)
        .user(&connection.user)
        .dbname(database)
        .application_name("geosync")
        .connect_timeout(Duration::from_secs(10));
    if let Some(password) = &connection.password {
        config.password(password.expose());
    }
    let fail = |source| ConnectError::Connect {
        target: describe(connection, database),
        user: connection.user.clone(),
        source,
    };
    // libpq never negotiates TLS over a Unix socket, whatever sslmode says:
    // the socket is local and has no host name to verify.
    let (client, driver) = if is_socket(connection) {
        config.ssl_mode(SslMode::Disable);
        let (client, driver) = config.connect(NoTls).await.map_err(fail)?;
        (client, tokio::spawn(async move { drop(driver.await) }))
    } else {
        config.ssl_mode(match connection.tls {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
        });
        let connector =
            tls::connector(connection.tls, connection.root_cert.as_deref()).map_err(|source| {
                ConnectError::Tls {
                    target: describe(connection, database),
                    source,
                }
            })?;
        let (client, driver) = config.connect(connector).await.map_err(fail)?;
        (client, tokio::spawn(async move { drop(driver.await) }))
    };
    Ok((client, driver))
}

/// A quoted identifier: any name (capitals, spaces, quotes, unicode) is
/// taken literally and cannot end the identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A quoted string literal, for the few statements that take no parameters
/// (ALTER ROLE … PASSWORD, CREATE DATABASE … ENCODING). Backslashes are
/// plain characters because geosync checks standard_conforming_strings.
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_the_quote_character() {
        assert_eq!(ident(r#"a"; DROP ROLE x; --"#), r#""a""; DROP ROLE x; --""#);
        assert_eq!(literal("it's"), "'it''s'");
    }
}
