//! SCRAM-SHA-256 verifiers (RFC 5802/7677, as PostgreSQL stores them):
//! `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
//!
//! A password is write-only: geosync never stores it. To tell whether the
//! role's password is the desired one, it recomputes the verifier with the
//! salt and iteration count PostgreSQL stored, and compares.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// PostgreSQL's defaults for new verifiers.
const ITERATIONS: u32 = 4096;
const SALT_LEN: usize = 16;

/// Whether `verifier` (from pg_authid.rolpassword) was made from `password`.
/// Anything that is not a well-formed SCRAM verifier (md5, plain, none) does
/// not match, so it gets replaced by a SCRAM one.
pub fn matches(verifier: &str, password: &str) -> bool {
    let Some(parsed) = parse(verifier) else {
        return false;
    };
    let (expected_stored, expected_server) = keys(password, &parsed.salt, parsed.iterations);
    // Both must match, as the server checks.
    expected_stored == parsed.stored_key && expected_server == parsed.server_key
}

/// A new verifier with a random salt: what `ALTER ROLE … PASSWORD` receives,
/// so the password itself never travels to the server or its logs.
pub fn new_verifier(password: &str) -> String {
    let mut salt = [0u8; SALT_LEN];
    fill_random(&mut salt);
    verifier_with(password, &salt, ITERATIONS)
}

fn verifier_with(password: &str, salt: &[u8], iterations: u32) -> String {
    let (stored, server) = keys(password, salt, iterations);
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        BASE64.encode(salt),
        BASE64.encode(stored),
        BASE64.encode(server)
    )
}

struct Verifier {
    iterations: u32,
    salt: Vec<u8>,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

fn parse(verifier: &str) -> Option<Verifier> {
    let rest = verifier.strip_prefix("SCRAM-SHA-256$")?;
    let (params, keys) = rest.split_once('$')?;
    let (iterations, salt) = params.split_once(':')?;
    let (stored, server) = keys.split_once(':')?;
    Some(Verifier {
        iterations: iterations.parse().ok()?,
        salt: BASE64.decode(salt).ok()?,
        stored_key: BASE64.decode(stored).ok()?,
        server_key: BASE64.decode(server).ok()?,
    })
}

fn keys(password: &str, salt: &[u8], iterations: u32) -> (Vec<u8>, Vec<u8>) {
    // PostgreSQL applies SASLprep when it can, and uses the raw bytes when
    // the password is not valid for it; so does libpq.
    let prepared = stringprep::saslprep(password).map_or_else(|_| password.to_string(), |p| p.into_owned());
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(prepared.as_bytes(), salt, iterations, &mut salted);
    let hmac = |key: &[u8], message: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any size");
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    };
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = Sha256::digest(&client_key).to_vec();
    let server_key = hmac(&salted, b"Server Key");
    (stored_key, server_key)
}

fn fill_random(buffer: &mut [u8]) {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buffer))
        .expect("/dev/urandom is readable");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verifier_matches_its_password_only() {
        let verifier = new_verifier("correct horse");
        assert!(matches(&verifier, "correct horse"));
        assert!(!matches(&verifier, "correct horse "));
        assert!(!matches("md5abcdef", "correct horse"));
        assert!(!matches("SCRAM-SHA-256$garbage", "x"));
    }

    #[test]
    fn same_salt_same_verifier() {
        let salt = [7u8; SALT_LEN];
        assert_eq!(verifier_with("pw", &salt, 4096), verifier_with("pw", &salt, 4096));
        assert_ne!(verifier_with("pw", &salt, 4096), verifier_with("pw", &salt, 4097));
    }
}
