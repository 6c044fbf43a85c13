//! The datastore password is write-only: GeoServer returns it encrypted,
//! so geosync cannot compare it. Instead it keeps, in a connection
//! parameter of the store that it owns, a salted PBKDF2-HMAC-SHA-256
//! verifier of the password it set (as PostgreSQL keeps a SCRAM verifier):
//! the plan recomputes it from the manifest's secret and the stored salt,
//! and re-sets the password only when they differ. The secret is never
//! stored, and a verifier cannot be turned back into it.

use hmac::Hmac;
use sha2::Sha256;

/// The connection parameter holding the verifier. PostGIS ignores
/// parameters it does not know; GeoServer keeps them with the store.
pub const PARAM: &str = "geosync.passwd.verifier";

const ITERATIONS: u32 = 10_000;
const SALT_LEN: usize = 16;
const PREFIX: &str = "pbkdf2-sha256";

/// `pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>` with a new salt.
pub fn new_verifier(password: &str) -> String {
    let mut salt = [0u8; SALT_LEN];
    fill_random(&mut salt);
    verifier_with(password, &salt, ITERATIONS)
}

fn verifier_with(password: &str, salt: &[u8], iterations: u32) -> String {
    let mut hash = [0u8; 32];
    pbkdf2::pbkdf2::<Hmac<Sha256>>(password.as_bytes(), salt, iterations, &mut hash)
        .expect("HMAC takes keys of any size");
    format!(
        "{PREFIX}${iterations}${}${}",
        hex::encode(salt),
        hex::encode(hash)
    )
}

/// Whether `stored` is a verifier of `password`. A malformed or foreign
/// value is no match (the password is then set again, with a new one).
pub fn matches(password: &str, stored: &str) -> bool {
    let parts: Vec<&str> = stored.split('$').collect();
    let [PREFIX, iterations, salt, _] = parts.as_slice() else {
        return false;
    };
    let (Ok(iterations), Ok(salt)) = (iterations.parse::<u32>(), hex::decode(salt)) else {
        return false;
    };
    if !(1_000..=1_000_000).contains(&iterations) {
        return false;
    }
    verifier_with(password, &salt, iterations) == stored
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
        let v = new_verifier("s3cret-canary-pw");
        assert!(matches("s3cret-canary-pw", &v));
        assert!(!matches("other", &v));
        assert!(!v.contains("s3cret"));
        assert_ne!(new_verifier("s3cret-canary-pw"), v, "salted");
        assert!(!matches("x", "garbage"));
        assert!(!matches("x", "pbkdf2-sha256$1$00$00"));
    }
}
