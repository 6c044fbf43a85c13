//! Connections to a directory server (slapd or AD) with ldap3: TLS with
//! the certificate checked against the manifest's CA file (or the
//! system's), paged searches, and AD's range retrieval of big attributes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use super::dn;
use super::manifest::Connection;
use crate::manifest::source::Location;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{server}: cannot read the CA certificates {path} (ca_file)")]
    CaFile {
        server: String,
        path: PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("{server}: no PEM certificate in the CA file {path} (ca_file)")]
    NoCa { server: String, path: PathBuf },
    #[error("TLS setup")]
    Tls(#[source] rustls::Error),
    #[error("{server}: its TLS certificate does not verify against {against}: {reason}; {fix}")]
    Certificate {
        server: String,
        against: String,
        reason: String,
        fix: String,
    },
    #[error("{server} refused StartTLS: {message}; enable TLS on the server, or use its ldaps:// URL")]
    StartTlsRefused { server: String, message: String },
    #[error("cannot connect to {url}")]
    Connect {
        url: String,
        #[source]
        source: Box<LdapError>,
    },
    #[error("{url} refused the bind as {dn}: {message}")]
    BindRefused {
        url: String,
        dn: String,
        message: String,
    },
    #[error("{url}: bind as {dn}")]
    Bind {
        url: String,
        dn: String,
        #[source]
        source: Box<LdapError>,
    },
    #[error(
        "{at}: [ldap.active_directory] groups: {} is not in AD: {server} has no group at that DN \
         (read as the bind DN, with base scope and (objectClass=group), for its `member`); the group may have been \
         renamed, moved or deleted, or the DN names an entry that is not a group. \
         Nothing was planned, so that the role's members keep it: map the group's DN as AD has it now, \
         or remove the mapping",
        missing_group(mapped, group)
    )]
    MissingGroup {
        at: Location,
        /// The DN the manifest maps.
        mapped: String,
        /// The group that was not found: the mapped one, or one nested in it.
        group: String,
        server: String,
    },
    #[error("searching {base} ({filter})")]
    Search {
        base: String,
        filter: String,
        #[source]
        source: Box<LdapError>,
    },
}

/// The group an error names, and the mapped group it was reached from
/// when it is a nested one (gone between the two reads).
fn missing_group(mapped: &str, group: &str) -> String {
    if dn::normalize(mapped) == dn::normalize(group) {
        format!("the AD group {group}")
    } else {
        format!("the AD group {group} (nested in {mapped})")
    }
}

/// How long a server may take to accept a connection or answer a bind.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A bound connection, driven in the background until dropped.
pub async fn connect(connection: &Connection) -> Result<Ldap, ClientError> {
    let mut ldap = open(connection).await?;
    let password = connection.bind_password.as_ref().map_or("", |p| p.expose());
    bind(&mut ldap, connection, &connection.bind_dn, password).await?;
    Ok(ldap)
}

/// An unbound connection.
pub async fn open(connection: &Connection) -> Result<Ldap, ClientError> {
    let settings = LdapConnSettings::new()
        .set_conn_timeout(CONNECT_TIMEOUT)
        .set_starttls(connection.starttls)
        .set_config(tls_config(connection)?);
    let (conn, ldap) = LdapConnAsync::with_settings(settings, &connection.url)
        .await
        .map_err(|source| match (certificate_problem(&source), source) {
            (Some(problem), _) => certificate_error(connection, problem),
            // The only LDAP operation before the connection is up.
            (None, LdapError::LdapResult { result }) if connection.starttls => ClientError::StartTlsRefused {
                server: server(connection),
                message: describe_rc(result.rc, &result.text),
            },
            (None, source) => ClientError::Connect {
                url: server(connection),
                source: Box::new(source),
            },
        })?;
    ldap3::drive!(conn);
    Ok(ldap)
}

/// The server as errors name it: its URL, and how TLS starts on it.
fn server(connection: &Connection) -> String {
    if connection.starttls {
        format!("{} (StartTLS)", connection.url)
    } else {
        connection.url.clone()
    }
}

/// The certificate check that failed a TLS handshake, if that is what
/// failed it: tokio-rustls hands it over inside an I/O error.
fn certificate_problem(error: &LdapError) -> Option<rustls::CertificateError> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        let tls = error.downcast_ref::<rustls::Error>().or_else(|| {
            error
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(rustls::Error::InvalidCertificate(problem)) = tls {
            return Some(problem.clone());
        }
        current = error.source();
    }
    None
}

/// A refused certificate, said with what it was checked against and what
/// the manifest should change.
fn certificate_error(connection: &Connection, problem: rustls::CertificateError) -> ClientError {
    use rustls::CertificateError as E;
    let against = match &connection.ca_file {
        Some(path) => format!("the CA file {}", path.display()),
        None => "the system's CA certificates (no ca_file)".to_string(),
    };
    let signer_fix = match &connection.ca_file {
        Some(_) => "ca_file must hold the CA certificate (PEM) that signed the server's certificate",
        None => "set ca_file to the CA certificate (PEM) that signed the server's certificate",
    };
    let (reason, fix) = match problem {
        E::UnknownIssuer | E::BadSignature => ("it is signed by a CA not among them".to_string(), signer_fix),
        E::NotValidForName | E::NotValidForNameContext { .. } => (
            "it does not name the URL's host".to_string(),
            "use a host name or address the certificate names in the URL",
        ),
        E::Expired | E::ExpiredContext { .. } => {
            ("it has expired".to_string(), "renew the server's certificate")
        }
        other => (format!("{other:?}"), signer_fix),
    };
    ClientError::Certificate {
        server: server(connection),
        against,
        reason,
        fix: fix.to_string(),
    }
}

/// A simple bind; a refusal (bad password, strong auth required) is a
/// `BindRefused` naming the server's reason.
pub async fn bind(
    ldap: &mut Ldap,
    connection: &Connection,
    dn: &str,
    password: &str,
) -> Result<(), ClientError> {
    let result = ldap
        .with_timeout(CONNECT_TIMEOUT)
        .simple_bind(dn, password)
        .await
        .map_err(|source| ClientError::Bind {
            url: server(connection),
            dn: dn.to_string(),
            source: Box::new(source),
        })?;
    if result.rc != 0 {
        let mut message = describe_rc(result.rc, &result.text);
        // 8, 13: AD's answer to a simple bind on a plain connection.
        let plain = connection.url.starts_with("ldap://") && !connection.starttls;
        if plain && (result.rc == 8 || result.rc == 13) {
            message = format!(
                "{}; the server wants TLS: starttls = true, or an ldaps:// URL",
                message.trim_end_matches('.')
            );
        }
        return Err(ClientError::BindRefused {
            url: server(connection),
            dn: dn.to_string(),
            message,
        });
    }
    Ok(())
}

/// Whether `dn` can bind with `password` on a fresh connection: the drift
/// check of a write-only password. Invalid credentials is `false`; a
/// connection problem is an error.
pub async fn can_bind(connection: &Connection, dn: &str, password: &str) -> Result<bool, ClientError> {
    let mut ldap = open(connection).await?;
    let result = ldap
        .with_timeout(CONNECT_TIMEOUT)
        .simple_bind(dn, password)
        .await
        .map_err(|source| ClientError::Bind {
            url: server(connection),
            dn: dn.to_string(),
            source: Box::new(source),
        })?;
    let _ = ldap.unbind().await;
    Ok(result.rc == 0)
}

pub fn describe_rc(rc: u32, text: &str) -> String {
    let name = match rc {
        32 => "no such object",
        34 => "invalid DN syntax",
        49 => "invalid credentials",
        50 => "insufficient access rights",
        8 => "strong(er) authentication required",
        13 => "confidentiality required",
        52 => "unavailable",
        2 => "protocol error",
        _ => "",
    };
    let text = text.trim();
    match (name.is_empty(), text.is_empty()) {
        (true, true) => format!("result code {rc}"),
        (true, false) => format!("result code {rc}: {text}"),
        (false, true) => format!("{name} ({rc})"),
        (false, false) => format!("{name} ({rc}): {text}"),
    }
}

fn tls_config(connection: &Connection) -> Result<Arc<ClientConfig>, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(ClientError::Tls)?;
    let config = if connection.skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        let roots = match &connection.ca_file {
            Some(path) => roots(path, connection)?,
            None => system_roots(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(Arc::new(config))
}

fn roots(path: &Path, connection: &Connection) -> Result<RootCertStore, ClientError> {
    let mut store = RootCertStore::empty();
    let unreadable = |source| ClientError::CaFile {
        server: server(connection),
        path: path.to_path_buf(),
        source,
    };
    for certificate in CertificateDer::pem_file_iter(path).map_err(unreadable)? {
        let _ = store.add(certificate.map_err(unreadable)?);
    }
    if store.is_empty() {
        return Err(ClientError::NoCa {
            server: server(connection),
            path: path.to_path_buf(),
        });
    }
    Ok(store)
}

/// Debian's CA bundle, when no CA file is given.
fn system_roots() -> RootCertStore {
    let mut store = RootCertStore::empty();
    if let Ok(certificates) = CertificateDer::pem_file_iter("/etc/ssl/certs/ca-certificates.crt") {
        for certificate in certificates.flatten() {
            let _ = store.add(certificate);
        }
    }
    store
}

/// `tls_skip_verify = true`: any certificate, but a real handshake.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Every entry under `base` matching `filter`, page by page (Simple Paged
/// Results): servers cap unpaged answers (AD at 1,000 entries). Referrals
/// (AD's Configuration and DNS partitions) are skipped.
pub async fn paged_search(
    ldap: &mut Ldap,
    base: &str,
    scope: Scope,
    filter: &str,
    attrs: &[&str],
    page_size: i32,
) -> Result<Vec<SearchEntry>, ClientError> {
    let error = |source| ClientError::Search {
        base: base.to_string(),
        filter: filter.to_string(),
        source: Box::new(source),
    };
    let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(page_size)),
    ];
    let mut stream = ldap
        .streaming_search_with(adapters, base, scope, filter, attrs.to_vec())
        .await
        .map_err(error)?;
    let mut entries = Vec::new();
    while let Some(entry) = stream.next().await.map_err(error)? {
        entries.push(SearchEntry::construct(entry));
    }
    let result = stream.finish().await;
    // 32: the base does not exist (an empty branch reads as empty).
    if result.rc != 0 && result.rc != 32 {
        return Err(error(LdapError::from(result)));
    }
    Ok(entries)
}

/// All values of a multi-valued attribute (AD's `member`), read with range
/// retrieval in steps of `step` values: `member;range=0-1499`, then from
/// where the server's answer ended, until an answer ends in `*`. Asked for
/// explicitly rather than on a plain read: AD cuts a plain read at its
/// MaxValRange (1,500 values by default) and only then answers with a
/// range, while Samba answers a plain read with every value (its
/// ranged_results module ranges only when asked); asking for ranges runs
/// the same loop against both.
/// An AD with a smaller MaxValRange than `step` answers a shorter range,
/// and the next step starts where it ended. `None`: there is no entry `dn`
/// matching `filter` (or none the bound user may see).
pub async fn all_values(
    ldap: &mut Ldap,
    dn: &str,
    filter: &str,
    attr: &str,
    step: u32,
) -> Result<Option<Vec<String>>, ClientError> {
    let mut values = Vec::new();
    let mut start = 0u64;
    loop {
        let wanted = format!("{attr};range={start}-{}", start + u64::from(step.max(1)) - 1);
        let error = |source| ClientError::Search {
            base: dn.to_string(),
            filter: format!("{filter} {wanted}"),
            source: Box::new(source),
        };
        let result = ldap
            .search(dn, Scope::Base, filter, vec![wanted.as_str()])
            .await
            .map_err(error)?;
        // 32: no such object, the caller says which entry and why it matters.
        if result.1.rc == 32 {
            return Ok(None);
        }
        let (entries, _) = result.success().map_err(error)?;
        let Some(entry) = entries.into_iter().next().map(SearchEntry::construct) else {
            return Ok(None);
        };
        match next_range(entry.attrs, attr, &mut values) {
            Some(next) if next > start => start = next,
            _ => return Ok(Some(values)),
        }
    }
}

/// Takes the values of `attr` out of an answer; the start of the next
/// range, or None when the answer was the last part (`;range=N-*`, the
/// attribute without a range, or none at all: no more values).
fn next_range(attrs: HashMap<String, Vec<String>>, attr: &str, values: &mut Vec<String>) -> Option<u64> {
    let prefix = format!("{};range=", attr.to_ascii_lowercase());
    let mut next = None;
    for (name, got) in attrs {
        let lower = name.to_ascii_lowercase();
        if lower == attr.to_ascii_lowercase() {
            values.extend(got);
        } else if let Some(range) = lower.strip_prefix(&prefix) {
            values.extend(got);
            // "0-1499" continues at 1500; "1500-*" is the last part.
            next = range
                .split_once('-')
                .and_then(|(_, end)| end.parse::<u64>().ok())
                .map(|end| end + 1);
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::next_range;

    fn answer(name: &str, values: &[&str]) -> HashMap<String, Vec<String>> {
        HashMap::from([(name.to_string(), values.iter().map(|v| v.to_string()).collect())])
    }

    #[test]
    fn a_range_continues_after_its_end_until_it_ends_in_a_star() {
        let mut values = Vec::new();
        assert_eq!(
            next_range(answer("member;range=0-1", &["a", "b"]), "member", &mut values),
            Some(2)
        );
        // Servers spell the attribute as they like.
        assert_eq!(
            next_range(answer("Member;Range=2-3", &["c", "d"]), "member", &mut values),
            Some(4)
        );
        assert_eq!(
            next_range(answer("member;range=4-*", &["e"]), "member", &mut values),
            None
        );
        assert_eq!(values, ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn an_answer_without_a_range_or_without_the_attribute_is_the_last() {
        let mut values = Vec::new();
        assert_eq!(next_range(answer("member", &["a"]), "member", &mut values), None);
        assert_eq!(next_range(HashMap::new(), "member", &mut values), None);
        assert_eq!(next_range(answer("cn", &["g"]), "member", &mut values), None);
        assert_eq!(values, ["a"]);
    }
}
