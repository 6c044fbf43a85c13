//! The state directory's fingerprint key. Fingerprints of changes are
//! computed over contents that may hold secrets (a rendered config file,
//! the file it replaces); written as plain digests, anyone reading a saved
//! plan or `--json` could test guessed secrets against them. Every digest
//! that leaves the process is therefore keyed (HMAC-SHA-256) with a random
//! key that stays in the state directory, readable by its owner only.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

const KEY_FILE: &str = "fingerprint.key";
const KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot create the fingerprint key {path}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the fingerprint key {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the fingerprint key {path} is readable by others (mode {mode:04o}); make it 0600 or remove it")]
    Exposed { path: PathBuf, mode: u32 },
    #[error("the fingerprint key {path} is damaged; remove it (saved plans made with it will be refused)")]
    Damaged { path: PathBuf },
}

pub struct FingerprintKey {
    key: [u8; KEY_LEN],
}

impl FingerprintKey {
    /// The key of a state directory, made on first use.
    pub fn load_or_create(state_dir: &Path) -> Result<Self, KeyError> {
        let path = state_dir.join(KEY_FILE);
        match std::fs::read(&path) {
            Ok(text) => Self::parse(&path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(state_dir, &path),
            Err(source) => Err(KeyError::Read { path, source }),
        }
    }

    /// A key for this process only: its fingerprints match nothing saved.
    pub fn ephemeral() -> Result<Self, std::io::Error> {
        Ok(FingerprintKey { key: random()? })
    }

    /// The keyed digest of `bytes`, as hex.
    pub fn seal(&self, bytes: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any size");
        mac.update(bytes);
        hex::encode(mac.finalize().into_bytes())
    }

    fn parse(path: &Path, text: &[u8]) -> Result<Self, KeyError> {
        let mode = std::fs::metadata(path)
            .map_err(|source| KeyError::Read {
                path: path.to_path_buf(),
                source,
            })?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Exposed {
                path: path.to_path_buf(),
                mode,
            });
        }
        let damaged = || KeyError::Damaged {
            path: path.to_path_buf(),
        };
        let bytes = hex::decode(String::from_utf8_lossy(text).trim()).map_err(|_| damaged())?;
        let key: [u8; KEY_LEN] = bytes.try_into().map_err(|_| damaged())?;
        Ok(FingerprintKey { key })
    }

    /// Written under a temporary name and linked in place, so that two runs
    /// making it at once agree on one key and a crash never leaves half a key.
    fn create(state_dir: &Path, path: &Path) -> Result<Self, KeyError> {
        let fail = |source| KeyError::Create {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(state_dir).map_err(fail)?;
        let key = random().map_err(fail)?;
        let temp = state_dir.join(format!(".{KEY_FILE}.{}", std::process::id()));
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .and_then(|mut file| {
                file.write_all(hex::encode(key).as_bytes())?;
                file.sync_all()
            });
        let linked = written.and_then(|()| std::fs::hard_link(&temp, path));
        let _ = std::fs::remove_file(&temp);
        match linked {
            Ok(()) => Ok(FingerprintKey { key }),
            // Another run made it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read(path).map_err(|source| KeyError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                Self::parse(path, &text)
            }
            Err(source) => Err(fail(source)),
        }
    }
}

fn random() -> std::io::Result<[u8; KEY_LEN]> {
    use std::io::Read;
    let mut key = [0u8; KEY_LEN];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut key)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_private_stable_and_keys_digests() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".geosync");
        let key = FingerprintKey::load_or_create(&state).unwrap();
        let mode = std::fs::metadata(state.join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = FingerprintKey::load_or_create(&state).unwrap();
        assert_eq!(key.seal(b"x"), again.seal(b"x"));
        assert_ne!(key.seal(b"x"), FingerprintKey::ephemeral().unwrap().seal(b"x"));
        assert_eq!(
            std::fs::read_dir(&state).unwrap().count(),
            1,
            "a temporary file was left"
        );
    }
}
