//! Feeds the loader thousands of mutated copies of the reference manifests
//! (seeded, so a failure replays): whatever the input, loading never
//! panics and every problem it reports names its file, line and column.

use std::path::{Path, PathBuf};

use crate::manifest::secret::{Redactor, SecretMode};
use crate::manifest::ManifestError;

const MUTANTS_PER_EXAMPLE: usize = 1_000;
const SEED: u64 = 0x5eed_6e05_f11c;

/// Small, fast and reproducible: all a mutation loop needs.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Fragments that reach the parser's and the loader's corners: quotes and
/// brackets, escapes, variable references, multi-byte and control
/// characters, values of the wrong type, long names.
const FRAGMENTS: &[&str] = &[
    "\"",
    "'",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    ",",
    "\n",
    "\\",
    "\\\"",
    "${",
    "}",
    "$${",
    "${domian}",
    "é",
    "€",
    "\u{0}",
    "\u{7}",
    "\u{1b}[31m",
    "\t",
    "#",
    "\"\"\"",
    "'''",
    "-1",
    "1e999",
    "99999999999999999999",
    "true",
    "[]",
    "{}",
    "{ env = \"X\" }",
    "{ file = \"/dev/zero\" }",
    "\"s3cr3t\"",
    "x.y.z",
    "😀",
    "\r\n",
];

fn mutate(text: &str, rng: &mut XorShift) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = rng.below(chars.len() + 1);
    let mut out: Vec<char> = chars.clone();
    match rng.below(6) {
        0 => {
            let fragment = FRAGMENTS[rng.below(FRAGMENTS.len())];
            out.splice(at..at, fragment.chars());
        }
        1 => {
            let end = (at + 1 + rng.below(40)).min(out.len());
            out.drain(at.min(end)..end);
        }
        2 => {
            // Duplicate a line (a key or a whole header twice).
            let lines: Vec<&str> = text.lines().collect();
            let line = lines[rng.below(lines.len())];
            let mut copy: Vec<char> = line.chars().collect();
            copy.push('\n');
            let start = out[..at].iter().rposition(|c| *c == '\n').map_or(0, |i| i + 1);
            out.splice(start..start, copy);
        }
        3 => {
            let end = (at + rng.below(12)).min(out.len());
            let long: String = "n".repeat(60 + rng.below(20));
            out.splice(at..end, long.chars());
        }
        4 => out.truncate(at),
        _ => {
            let fragment = FRAGMENTS[rng.below(FRAGMENTS.len())];
            let end = (at + rng.below(8)).min(out.len());
            out.splice(at..end, fragment.chars());
        }
    }
    out.into_iter().collect()
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Loads one mutant as `validate` does; returns the problems it reported.
fn load(path: &Path) -> Vec<ManifestError> {
    let redactor = Redactor::default();
    let paths = [path.to_path_buf()];
    match super::manifest::load(&paths, &[], &redactor, SecretMode::Placeholder) {
        Ok(manifest) => match super::systems(&manifest, None) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.0,
        },
        Err(errors) => errors.0,
    }
}

#[test]
fn mutated_reference_manifests_never_panic_and_every_problem_is_located() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("manifests");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root, dir.path());
    let mut rng = XorShift(SEED);
    let mut rejected = 0;
    for example in [
        "georchestra.toml",
        "postgres.toml",
        "mviewer.toml",
        "geonetwork.toml",
        "geoserver.toml",
    ] {
        let original = std::fs::read_to_string(root.join(example)).unwrap();
        let path = dir.path().join(example);
        for n in 0..MUTANTS_PER_EXAMPLE {
            let mutant = mutate(&original, &mut rng);
            std::fs::write(&path, &mutant).unwrap();
            let outcome = std::panic::catch_unwind(|| load(&path));
            let errors =
                outcome.unwrap_or_else(|_| panic!("{example} mutant {n} panicked the loader:\n{mutant}"));
            rejected += usize::from(!errors.is_empty());
            for error in &errors {
                let located = error.location().is_some_and(|at| at.line > 0 && at.column > 0);
                assert!(
                    located,
                    "{example} mutant {n}: unlocated problem `{error}` in:\n{mutant}"
                );
            }
        }
    }
    // The mutations must really exercise the error paths.
    assert!(
        rejected > MUTANTS_PER_EXAMPLE,
        "only {rejected} mutants were rejected"
    );
}
