//! Connections to the server, and the quoting of names and values.

use std::time::Duration;

use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Config};

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
    format!("{}:{}/{database}", connection.host, connection.port)
}

pub async fn connect(connection: &PgConnection, database: &str) -> Result<Client, ConnectError> {
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
    config.ssl_mode(match connection.tls {
        TlsMode::Disable => SslMode::Disable,
        TlsMode::Prefer => SslMode::Prefer,
        TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
    });
    let connector = tls::connector(connection.tls, connection.root_cert.as_deref()).map_err(|source| {
        ConnectError::Tls {
            target: describe(connection, database),
            source,
        }
    })?;
    let (client, driver) = config
        .connect(connector)
        .await
        .map_err(|source| ConnectError::Connect {
            target: describe(connection, database),
            user: connection.user.clone(),
            source,
        })?;
    tokio::spawn(async move {
        // Ends when the client is dropped; errors surface on the client's calls.
        let _ = driver.await;
    });
    Ok(client)
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
