//! Connections to the server, and the quoting of names and values.

use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream, UnixStream};
use tokio::task::JoinHandle;
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

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
    Socket {
        target: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot connect to PostgreSQL at {target}")]
    Tls {
        target: String,
        #[source]
        source: TlsError,
    },
}

/// How long a connection may take to open, as libpq's connect_timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a closed connection's slot waits for the server to end its
/// backend before it is handed on anyway.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

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

/// A connection and the task driving it. The task ends once the client is
/// dropped, the connection closed AND the server has closed its end: a
/// backend is counted in `max_connections` (and listed in
/// pg_stat_activity) until it has exited, and it closes its socket only
/// then, so a slot handed on when this task ends is really free on the
/// server too.
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
        .application_name("geosync");
    if let Some(password) = &connection.password {
        config.password(password.expose());
    }
    let target = || describe(connection, database);
    let fail = |source| ConnectError::Connect {
        target: target(),
        user: connection.user.clone(),
        source,
    };
    let timed_out = || ConnectError::Socket {
        target: target(),
        source: std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"),
    };
    let opened = tokio::time::timeout(CONNECT_TIMEOUT, async {
        let socket = Socket::open(connection)
            .await
            .map_err(|source| ConnectError::Socket {
                target: target(),
                source,
            })?;
        let (stream, closed) = socket
            .split_close_watch()
            .map_err(|source| ConnectError::Socket {
                target: target(),
                source,
            })?;
        handshake(connection, &mut config, stream, fail)
            .await
            .map(|(client, driver)| {
                let task = tokio::spawn(async move {
                    let _ = driver.await;
                    let _ = tokio::time::timeout(CLOSE_TIMEOUT, closed.wait()).await;
                });
                (client, task)
            })
    });
    opened.await.map_err(|_| timed_out())?
}

/// The startup exchange over an open socket, with TLS as `sslmode` says
/// (never over a Unix socket: libpq does not either, the socket is local
/// and has no host name to verify). Returns the client and the task
/// driving it.
async fn handshake(
    connection: &PgConnection,
    config: &mut Config,
    stream: Stream,
    fail: impl Fn(tokio_postgres::Error) -> ConnectError,
) -> Result<(Client, JoinHandle<()>), ConnectError> {
    match stream {
        Stream::Unix(stream) => {
            config.ssl_mode(SslMode::Disable);
            let (client, driver) = config.connect_raw(stream, NoTls).await.map_err(fail)?;
            Ok((client, tokio::spawn(async move { drop(driver.await) })))
        }
        Stream::Tcp(stream) => {
            config.ssl_mode(match connection.tls {
                TlsMode::Disable => SslMode::Disable,
                TlsMode::Prefer => SslMode::Prefer,
                TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
            });
            let mut maker =
                tls::connector(connection.tls, connection.root_cert.as_deref()).map_err(|source| {
                    ConnectError::Tls {
                        target: describe(connection, database_of(config)),
                        source,
                    }
                })?;
            let tls = <MakeRustlsConnect as MakeTlsConnect<TcpStream>>::make_tls_connect(
                &mut maker,
                &connection.host,
            )
            .map_err(|e| ConnectError::Socket {
                target: describe(connection, database_of(config)),
                source: std::io::Error::other(e),
            })?;
            let (client, driver) = config.connect_raw(stream, tls).await.map_err(fail)?;
            Ok((client, tokio::spawn(async move { drop(driver.await) })))
        }
    }
}

fn database_of(config: &Config) -> &str {
    config.get_dbname().unwrap_or_default()
}

enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Socket {
    /// A Unix socket in the folder `host` names, or TCP to each address
    /// of `host` in turn (keepalives on, as libpq), no Nagle delay.
    async fn open(connection: &PgConnection) -> std::io::Result<Socket> {
        if is_socket(connection) {
            let folder = connection.host.trim_end_matches('/');
            let path = format!("{folder}/.s.PGSQL.{}", connection.port);
            return Ok(Socket::Unix(UnixStream::connect(path).await?));
        }
        let mut last = None;
        for address in tokio::net::lookup_host((connection.host.as_str(), connection.port)).await? {
            let socket = match address {
                std::net::SocketAddr::V4(_) => TcpSocket::new_v4()?,
                std::net::SocketAddr::V6(_) => TcpSocket::new_v6()?,
            };
            socket.set_keepalive(true)?;
            match socket.connect(address).await {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    return Ok(Socket::Tcp(stream));
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("the host name has no address")))
    }

    /// The stream for the connection, and a second handle on the same
    /// socket that sees the server close it.
    fn split_close_watch(self) -> std::io::Result<(Stream, CloseWatch)> {
        Ok(match self {
            Socket::Tcp(stream) => {
                let std = stream.into_std()?;
                let watch = TcpStream::from_std(std.try_clone()?)?;
                (Stream::Tcp(TcpStream::from_std(std)?), CloseWatch::Tcp(watch))
            }
            Socket::Unix(stream) => {
                let std = stream.into_std()?;
                let watch = UnixStream::from_std(std.try_clone()?)?;
                (Stream::Unix(UnixStream::from_std(std)?), CloseWatch::Unix(watch))
            }
        })
    }
}

/// A second handle on a connection's socket, read only once the
/// connection is closed on our side.
enum CloseWatch {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl CloseWatch {
    /// Returns once the server has closed its end (or the socket fails).
    async fn wait(self) {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 512];
        match self {
            CloseWatch::Tcp(mut s) => while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {},
            CloseWatch::Unix(mut s) => while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {},
        }
    }
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
