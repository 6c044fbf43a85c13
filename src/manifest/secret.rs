//! Secrets are references in the manifest (`{ env = "NAME" }` or
//! `{ file = "path" }`), resolved at run time into values that cannot be
//! printed by accident: they have no `Display`, their `Debug` says
//! `(sensitive)`, and every resolved value is registered with the
//! [`Redactor`] that guards everything geosync writes out.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// Where a secret comes from. This is all that plans and errors may show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "{{ env = \"{name}\" }}"),
            SecretRef::File(path) => write!(f, "{{ file = \"{}\" }}", path.display()),
        }
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretRefVisitor)
    }
}

struct SecretRefVisitor;

const SECRET_FORMS: &str = "write { env = \"NAME\" } or { file = \"path\" }";

impl<'de> Visitor<'de> for SecretRefVisitor {
    type Value = SecretRef;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a secret reference: {SECRET_FORMS}")
    }

    // The literal itself is never echoed back: it is a secret.
    fn visit_str<E: de::Error>(self, _literal: &str) -> Result<SecretRef, E> {
        Err(E::custom(format!(
            "a literal secret is refused here; {SECRET_FORMS}"
        )))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretRef, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom(format!(
                "empty secret reference; {SECRET_FORMS}"
            )));
        };
        let reference = match key.as_str() {
            "env" => SecretRef::Env(map.next_value()?),
            "file" => SecretRef::File(map.next_value::<String>()?.into()),
            other => return Err(de::Error::unknown_field(other, &["env", "file"])),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format!(
                "a secret reference has one key, `env` or `file`; found also `{extra}`"
            )));
        }
        Ok(reference)
    }
}

/// A resolved secret value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

/// Whether a variable name says it holds a secret (DB_PASSWORD, API_TOKEN…):
/// such values are never shown, wherever they come from.
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    // FOO_PASSWORD_FILE names a file holding the secret, not the secret.
    if upper.ends_with("_FILE") || upper.ends_with("_PATH") {
        return false;
    }
    [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "CREDENTIAL",
        "PRIVATE_KEY",
        "API_KEY",
    ]
    .iter()
    .any(|word| upper.contains(word))
}

/// Whether a value under a secret-like name is plainly not a secret: a
/// flag (`MYSQL_ALLOW_EMPTY_PASSWORD: "yes"`, `true`, `0`), an empty value,
/// or the path of a mounted secret (`/run/secrets/db-password`). Such
/// values stay literal: turning them into references would make users
/// export variables that hold nothing secret.
pub fn plainly_not_secret(value: &str) -> bool {
    const FLAGS: [&str; 10] = ["yes", "no", "true", "false", "on", "off", "y", "n", "0", "1"];
    let value = value.trim();
    value.is_empty()
        || FLAGS.iter().any(|f| value.eq_ignore_ascii_case(f))
        || value.starts_with("/run/secrets/")
}

impl Secret {
    /// A value read from an env file under a secret-like name. It is kept
    /// out of plans by its type, but not given to the redactor: env files
    /// ship weak defaults ("secret", "georchestra") that would blank out
    /// ordinary words of every message.
    pub fn from_env_file(value: String) -> Secret {
        Secret(value)
    }

    /// The value, for the one place that must send it to a system.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive)")
    }
}

/// Whether a run needs the secrets' values. `plan` and `apply` do;
/// `validate` runs where no secret is (a manifest repository's CI, a
/// pre-commit hook) and only checks that every reference is well-formed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SecretMode {
    #[default]
    Require,
    /// An unavailable secret becomes a placeholder and a note.
    Placeholder,
}

/// Resolves the secret references of one load, in its [`SecretMode`].
pub struct SecretResolver {
    redactor: Redactor,
    pub mode: SecretMode,
    /// The references that could not be resolved in placeholder mode.
    notes: std::sync::Mutex<Vec<String>>,
}

impl SecretResolver {
    pub fn new(redactor: &Redactor, mode: SecretMode) -> Self {
        SecretResolver {
            redactor: redactor.clone(),
            mode,
            notes: Default::default(),
        }
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    pub fn note(&self, note: String) {
        self.notes.lock().expect("notes lock poisoned").push(note);
    }

    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().expect("notes lock poisoned").clone()
    }

    pub fn resolve(&self, reference: &SecretRef) -> Result<Secret, SecretError> {
        reference.resolve(&self.redactor)
    }

    /// A value read from an env file under a secret-like name: kept out of
    /// output by its type and covered by a saved plan's secrets check, but
    /// neither scrubbed nor warned about (see [`Secret::from_env_file`]).
    pub fn env_file_secret(&self, file: &Path, key: &str, value: String) -> Secret {
        self.redactor
            .cover(&format!("{key} of the env file {}", file.display()), &value);
        Secret::from_env_file(value)
    }
}

/// Stands for a secret that `validate` could not read; templates render
/// with it. It is never registered for redaction (it is no secret).
pub const PLACEHOLDER: &str = "geosync-validate-placeholder";

impl Secret {
    pub fn placeholder() -> Secret {
        Secret(PLACEHOLDER.to_string())
    }

    /// Whether this stands for a secret that could not be read.
    pub fn is_placeholder(&self) -> bool {
        self.0 == PLACEHOLDER
    }
}

/// A secret file is read whole into memory: refuse anything that is not a
/// small regular file (a FIFO or a device would block or never end).
const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

fn read_secret_file(path: &Path) -> Result<String, SecretError> {
    let fail = |source: std::io::Error| SecretError::File {
        path: path.to_path_buf(),
        source,
    };
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    // Opened without blocking (a FIFO's open waits for a writer), then
    // checked through the handle itself: a path swapped for a FIFO after a
    // check by name cannot make the read block.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(fail)?;
    let metadata = file.metadata().map_err(fail)?;
    if !metadata.is_file() {
        return Err(SecretError::NotAFile(path.to_path_buf()));
    }
    if metadata.len() > MAX_SECRET_FILE_BYTES {
        return Err(SecretError::TooLarge(path.to_path_buf()));
    }
    let mut text = String::new();
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(fail)?;
    Ok(text)
}

/// Why a secret could not be resolved; never contains the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {0} is not set")]
    EnvMissing(String),
    #[error("environment variable {0} is empty")]
    EnvEmpty(String),
    #[error("cannot read {path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("file {0} is empty")]
    FileEmpty(PathBuf),
    #[error("{0} is not a regular file")]
    NotAFile(PathBuf),
    #[error("{0} is larger than 64 KiB: not a secret")]
    TooLarge(PathBuf),
}

impl SecretRef {
    /// Makes a file reference relative to the manifest that holds it, so a
    /// manifest means the same thing whatever the working directory.
    pub fn anchored_at(self, manifest_dir: &Path) -> SecretRef {
        match self {
            SecretRef::File(path) if path.is_relative() => SecretRef::File(manifest_dir.join(path)),
            other => other,
        }
    }

    pub fn resolve(&self, redactor: &Redactor) -> Result<Secret, SecretError> {
        let value = match self {
            SecretRef::Env(name) => {
                let value = std::env::var(name).map_err(|_| SecretError::EnvMissing(name.clone()))?;
                if value.is_empty() {
                    return Err(SecretError::EnvEmpty(name.clone()));
                }
                value
            }
            SecretRef::File(path) => {
                let text = read_secret_file(path)?;
                // A trailing newline is how editors save files, not part of the secret.
                let value = text.trim_end_matches(['\n', '\r']).to_string();
                if value.is_empty() {
                    return Err(SecretError::FileEmpty(path.clone()));
                }
                value
            }
        };
        redactor.register(self, &value);
        Ok(Secret(value))
    }
}

/// Every secret the run resolved, for three jobs: scrubbing text that
/// comes back from a system (an error echoing a connection string), which
/// is the last resort since geosync keeps secrets out of its own output by
/// type; the digest by which a saved plan notices a changed secret; and
/// the warnings about weak secrets.
#[derive(Clone, Default)]
pub struct Redactor {
    known: Arc<RwLock<Known>>,
}

#[derive(Default)]
struct Known {
    /// Strong enough to scrub, longest first (a secret containing another
    /// is hidden whole).
    scrubbed: Vec<String>,
    /// Every (reference, value) resolved, in resolution order.
    all: Vec<(String, String)>,
    /// Secret-like values of env files: only for the saved plan's check.
    covered: Vec<(String, String)>,
}

pub const SENSITIVE: &str = "(sensitive)";

/// Below this length a secret is weak, whatever it is.
const WEAK_BELOW: usize = 12;

/// Below this length a value would hit ordinary words if scrubbed.
const SCRUB_FROM: usize = 8;

/// Common passwords and the words of geosync's own output and of
/// geOrchestra configs: a secret among them is guessed first, and
/// scrubbing it would blank out ordinary words.
const COMMON: &str = include_str!("common_secrets.txt");

fn is_common(word: &str) -> bool {
    let word = word.to_lowercase();
    COMMON
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .any(|common| common == word)
}

/// Whether substring scrubbing may look for this value: long enough and not
/// an ordinary word, so that it never turns "13 unchanged" into
/// "13 un(sensitive)". Weaker secrets are kept out of output by type only.
pub fn worth_scrubbing(value: &str) -> bool {
    value.chars().count() >= SCRUB_FROM && !is_common(value)
}

/// Why a secret is easy to guess, if it is.
pub fn weakness(value: &str) -> Option<&'static str> {
    if value.chars().count() < WEAK_BELOW {
        return Some("is shorter than 12 characters");
    }
    let core = value.trim_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    if is_common(value) || is_common(core) {
        return Some("is a common word or password (with at most digits or symbols around it)");
    }
    None
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Redactor(..)")
    }
}

impl Redactor {
    pub fn register(&self, reference: &SecretRef, value: &str) {
        let mut known = self.known.write().expect("redactor lock poisoned");
        let reference = reference.to_string();
        if !known.all.iter().any(|(r, v)| *r == reference && v == value) {
            known.all.push((reference, value.to_string()));
        }
        if worth_scrubbing(value) && !known.scrubbed.iter().any(|v| v == value) {
            known.scrubbed.push(value.to_string());
            known.scrubbed.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
    }

    /// Records a value a saved plan must cover, without scrubbing it.
    pub fn cover(&self, reference: &str, value: &str) {
        let mut known = self.known.write().expect("redactor lock poisoned");
        known.covered.push((reference.to_string(), value.to_string()));
    }

    /// Scrubs text that came from a system. Never use it on output geosync
    /// builds itself: there secrets are typed and placed as `(sensitive)`.
    pub fn redact(&self, text: &str) -> String {
        let known = self.known.read().expect("redactor lock poisoned");
        let mut text = text.to_string();
        for value in &known.scrubbed {
            if text.contains(value.as_str()) {
                text = text.replace(value.as_str(), SENSITIVE);
            }
        }
        text
    }

    /// Every resolved secret's reference with `seal` of its value. `seal`
    /// must be keyed: a plain digest of a secret lets anyone test guesses.
    pub fn sealed_secrets(&self, seal: impl Fn(&[u8]) -> String) -> BTreeMap<String, String> {
        let known = self.known.read().expect("redactor lock poisoned");
        known
            .all
            .iter()
            .chain(&known.covered)
            .map(|(reference, value)| (reference.clone(), seal(value.as_bytes())))
            .collect()
    }

    /// The references of secrets that are easy to guess, and why; never
    /// the values.
    pub fn weak_secrets(&self) -> Vec<(String, &'static str)> {
        let known = self.known.read().expect("redactor lock poisoned");
        let mut weak: Vec<(String, &'static str)> = known
            .all
            .iter()
            .filter_map(|(reference, value)| weakness(value).map(|why| (reference.clone(), why)))
            .collect();
        weak.dedup();
        weak
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_empty_values_and_secret_paths_are_plainly_not_secrets() {
        for plain in [
            "",
            "yes",
            "No",
            "TRUE",
            "false",
            "on",
            "0",
            "1",
            "/run/secrets/db-password",
        ] {
            assert!(plainly_not_secret(plain), "{plain:?}");
        }
        for secret in ["somewordpress", "yes-really", "10", "/etc/passwd"] {
            assert!(!plainly_not_secret(secret), "{secret:?}");
        }
    }

    #[derive(Deserialize, Debug)]
    struct Holder {
        password: SecretRef,
    }

    #[test]
    fn literal_is_refused_without_echoing_it() {
        // toml's Display quotes the source line, which is why manifest
        // errors are built from message() and span() only.
        let err = toml::from_str::<Holder>("password = \"hunter22\"").unwrap_err();
        let message = err.message();
        assert!(message.contains("a literal secret is refused"), "{message}");
        assert!(!message.contains("hunter22"), "{message}");
    }

    #[test]
    fn env_and_file_forms_parse() {
        let h: Holder = toml::from_str("password = { env = \"X\" }").unwrap();
        assert_eq!(h.password, SecretRef::Env("X".into()));
        let h: Holder = toml::from_str("password = { file = \"s/p\" }").unwrap();
        assert_eq!(h.password, SecretRef::File("s/p".into()));
        assert!(toml::from_str::<Holder>("password = { vault = \"x\" }").is_err());
    }

    fn env(name: &str) -> SecretRef {
        SecretRef::Env(name.into())
    }

    #[test]
    fn redactor_hides_longest_first_and_debug_never_shows() {
        let redactor = Redactor::default();
        redactor.register(&env("A"), "x7Kp2wQz");
        redactor.register(&env("B"), "x7Kp2wQz-longer");
        assert_eq!(
            redactor.redact("x x7Kp2wQz-longer y x7Kp2wQz"),
            "x (sensitive) y (sensitive)"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, "s3cr3t-value\n").unwrap();
        let secret = SecretRef::File(path).resolve(&redactor).unwrap();
        assert_eq!(secret.expose(), "s3cr3t-value");
        assert_eq!(format!("{secret:?}"), "(sensitive)");
    }

    #[test]
    fn ordinary_words_are_never_scrubbed_and_weak_secrets_are_named() {
        let redactor = Redactor::default();
        for (name, value) in [
            ("A", "changed"),
            ("B", "role"),
            ("C", "update"),
            ("D", "unchanged"),
        ] {
            redactor.register(&env(name), value);
        }
        let text = "Plan: 1 to update, 13 unchanged. postgres.role:geosync changed";
        assert_eq!(redactor.redact(text), text);
        redactor.register(&env("E"), "georchestra2024");
        let weak: Vec<String> = redactor.weak_secrets().into_iter().map(|(r, _)| r).collect();
        assert!(weak.contains(&"{ env = \"A\" }".to_string()), "{weak:?}");
        assert!(weak.contains(&"{ env = \"E\" }".to_string()), "{weak:?}");
        redactor.register(&env("F"), "Vq8#mT2!rL9zX4pW");
        assert!(!redactor.weak_secrets().iter().any(|(r, _)| r.contains("\"F\"")));
    }

    #[test]
    fn sealed_secrets_name_references_and_never_hold_values() {
        let redactor = Redactor::default();
        redactor.register(&env("A"), "first-value-1");
        let sealed = redactor.sealed_secrets(|v| format!("sealed-{}", v.len()));
        assert_eq!(
            sealed.get("{ env = \"A\" }").map(String::as_str),
            Some("sealed-13")
        );
    }
}
