//! Table and layer names derived from paths in the share.
//!
//! A name is a lowercase ASCII identifier (`[a-z0-9_]`, starting with a
//! letter or `_`: GeoServer publishes it as an XML name, which cannot start
//! with a digit), accents folded (`é` -> `e`, `œ` -> `oe`), anything else
//! turned into `_`. It fits PostgreSQL's 63-byte limit: a longer one keeps
//! its head and ends with a hash of the whole, so two long names that share
//! their first 54 bytes stay apart.
//!
//! Names must be stable across runs and collision-free. A dataset keeps the
//! table the ledger recorded for it; a new dataset takes its file name, or,
//! when another dataset already holds that, its folder and file name, then
//! more folders, then a hash of its whole path. New datasets are named in
//! path order, so the same share always gives the same names.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

/// PostgreSQL's NAMEDATALEN - 1.
pub const MAX_NAME_BYTES: usize = 63;

/// Hex digits of the hash that ends a shortened name.
const HASH_LEN: usize = 8;

/// An identifier from any text: folded, lowercased, limited to 63 bytes.
pub fn identifier(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars() {
        match fold(c) {
            Some(ascii) => folded.push_str(ascii),
            None => folded.push('_'),
        }
    }
    let mut name = String::with_capacity(folded.len());
    for c in folded.chars() {
        // One `_` for any run of separators.
        if c == '_' && (name.is_empty() || name.ends_with('_')) {
            continue;
        }
        name.push(c);
    }
    let mut name = name.trim_end_matches('_').to_string();
    if name.is_empty() {
        name = "layer".into();
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "l_");
    }
    shorten(&name, text)
}

/// Keeps a name within 63 bytes; a longer one ends with a hash of `whole`
/// (the text it was made from), so the shortened name stays unique.
fn shorten(name: &str, whole: &str) -> String {
    if name.len() <= MAX_NAME_BYTES {
        return name.to_string();
    }
    let hash = hex::encode(Sha256::digest(whole.as_bytes()));
    let head = name[..MAX_NAME_BYTES - HASH_LEN - 1].trim_end_matches('_');
    format!("{head}_{}", &hash[..HASH_LEN])
}

/// The table of one layer of a multi-layer file (a GeoPackage): the
/// layer's name, or with the file's name and folders when that is held.
pub fn assign_layer(path: &str, layer: &str, taken: &mut BTreeSet<String>) -> String {
    let file = path.rsplit_once('.').map_or(path, |(stem, _)| stem);
    // The layer as if it were a file in a folder named after the GeoPackage.
    assign(&format!("{file}/{layer}.layer"), taken)
}

/// Candidate names for a dataset at `path` (a path in the share, with
/// `/`), most natural first: the file name without its extension, then
/// with more and more of its folders, then with a hash of the whole path.
pub fn candidates(path: &str) -> Vec<String> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some((file, folders)) = segments.split_last() else {
        return vec![identifier(path)];
    };
    let stem = stem(file);
    let mut out = vec![identifier(stem)];
    for depth in 1..=folders.len() {
        let start = folders.len() - depth;
        let mut parts: Vec<&str> = folders[start..].to_vec();
        parts.push(stem);
        out.push(identifier(&parts.join("_")));
    }
    let hash = hex::encode(Sha256::digest(path.as_bytes()));
    out.push(identifier(&format!("{stem}_{}", &hash[..HASH_LEN])));
    out.dedup();
    out
}

/// The first candidate name nobody holds; it is then held.
pub fn assign(path: &str, taken: &mut BTreeSet<String>) -> String {
    let candidates = candidates(path);
    for name in &candidates {
        if !taken.contains(name) {
            taken.insert(name.clone());
            return name.clone();
        }
    }
    // Every candidate is held (only by crafted names): count up from the last.
    let last = candidates.last().cloned().unwrap_or_else(|| "layer".into());
    (2..)
        .map(|n| identifier(&format!("{last}_{n}")))
        .find(|name| taken.insert(name.clone()))
        .expect("an unbounded counter finds a free name")
}

/// A file name without its data extension (`a.shp` -> `a`, `a.tar.gz` -> `a.tar`).
fn stem(file: &str) -> &str {
    match file.rfind('.') {
        Some(dot) if dot > 0 => &file[..dot],
        _ => file,
    }
}

/// ASCII for a character: itself when it is a letter or digit (lowercased),
/// its folded form when it is an accented Latin letter, None otherwise.
fn fold(c: char) -> Option<&'static str> {
    const ASCII: [&str; 36] = [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t",
        "u", "v", "w", "x", "y", "z", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
    ];
    if c.is_ascii_alphabetic() {
        return Some(ASCII[(c.to_ascii_lowercase() as u8 - b'a') as usize]);
    }
    if c.is_ascii_digit() {
        return Some(ASCII[26 + (c as u8 - b'0') as usize]);
    }
    let lower = c.to_lowercase().next().unwrap_or(c);
    Some(match lower {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĳ' => "ij",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_folded_lowercase_ascii() {
        assert_eq!(identifier("Zones Humides été 2025"), "zones_humides_ete_2025");
        assert_eq!(identifier("Œuvre  d'Ærø -- Łódź"), "oeuvre_d_aero_lodz");
        assert_eq!(
            identifier("070_test_nyc_space in filename"),
            "l_070_test_nyc_space_in_filename"
        );
        assert_eq!(identifier("__x__"), "x");
        assert_eq!(identifier("日本"), "layer");
        assert_eq!(identifier("a\u{1b}[31mb\n"), "a_31mb");
    }

    #[test]
    fn long_names_keep_their_head_and_a_hash_of_the_whole() {
        let a = format!("{}_alpha", "x".repeat(70));
        let b = format!("{}_beta", "x".repeat(70));
        let (na, nb) = (identifier(&a), identifier(&b));
        assert!(
            na.len() <= MAX_NAME_BYTES && nb.len() <= MAX_NAME_BYTES,
            "{na} {nb}"
        );
        assert_ne!(na, nb);
        assert_eq!(na, identifier(&a), "stable");
        assert!(na.starts_with("xxxxxxxx"));
        // Exactly 63 bytes is kept whole.
        let exact = "y".repeat(63);
        assert_eq!(identifier(&exact), exact);
        // Multi-byte input never splits a character: the name is ASCII.
        let accents = "é".repeat(80);
        assert!(identifier(&accents).is_ascii());
    }

    #[test]
    fn same_file_name_in_two_folders_gets_two_tables() {
        let mut taken = BTreeSet::new();
        let a = assign("080/pathA/080_test.shp", &mut taken);
        let b = assign("080/pathB/080_test.shp", &mut taken);
        assert_eq!(a, "l_080_test");
        assert_eq!(b, "pathb_080_test");
        // Same folder name too: one more folder up.
        let c = assign("090/A/same/x.shp", &mut taken);
        let d = assign("090/B/same/x.shp", &mut taken);
        assert_eq!((c.as_str(), d.as_str()), ("x", "same_x"));
        let e = assign("091/B/same/x.shp", &mut taken);
        assert_eq!(e, "b_same_x");
    }

    #[test]
    fn assignment_is_stable_and_never_collides() {
        let paths = [
            "a/t.shp",
            "b/t.shp",
            "t.shp",
            "a/b/t.shp",
            "b/a/t.shp",
            "a_t.gpkg",
        ];
        let run = || {
            let mut taken = BTreeSet::new();
            paths.iter().map(|p| assign(p, &mut taken)).collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let unique: BTreeSet<_> = first.iter().collect();
        assert_eq!(unique.len(), paths.len(), "{first:?}");
        // A name the ledger holds is never given again.
        let mut taken: BTreeSet<String> = ["t".to_string()].into();
        assert_ne!(assign("t.shp", &mut taken), "t");
    }

    #[test]
    fn layers_take_their_own_name_then_the_file_name() {
        let mut taken: BTreeSet<String> = ["roads".to_string()].into();
        assert_eq!(
            assign_layer("d/Réseau.gpkg", "Voies Ferrées", &mut taken),
            "voies_ferrees"
        );
        assert_eq!(assign_layer("d/Réseau.gpkg", "roads", &mut taken), "reseau_roads");
        assert!(assign_layer(&"r".repeat(80), "layer", &mut taken).len() <= MAX_NAME_BYTES);
    }
}
