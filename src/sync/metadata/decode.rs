//! A sidecar's bytes as text, per its byte order mark or XML declaration.
//! ArcGIS and older tools write ISO-8859-1 or windows-1252 files; XML
//! without a declaration is UTF-8 (XML 1.0 §4.3.3), but a file written by
//! hand in latin-1 without one is read as windows-1252 with a note rather
//! than refused.

/// The text, and a note for the data manager when it had to be guessed.
#[derive(Debug)]
pub struct Decoded {
    pub text: String,
    pub note: Option<String>,
}

/// windows-1252's 0x80-0x9F (WHATWG: also what "ISO-8859-1" labels mean);
/// the five unassigned bytes keep their C1 code point.
const CP1252_HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}', '\u{90}',
    '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
];

pub fn decode(bytes: &[u8]) -> Result<Decoded, String> {
    if let Some(rest) = bytes.strip_prefix(b"\xef\xbb\xbf") {
        return utf8(rest, "UTF-8 (byte order mark)");
    }
    if let Some(rest) = bytes.strip_prefix(b"\xff\xfe") {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xfe\xff") {
        return utf16(rest, u16::from_be_bytes);
    }
    let declared = declared_encoding(bytes);
    let label = declared.as_deref().map(str::to_ascii_lowercase);
    match label.as_deref() {
        None => match std::str::from_utf8(bytes) {
            Ok(text) => Ok(plain(text.to_string())),
            Err(e) => Ok(Decoded {
                text: single_byte(bytes, None),
                note: Some(format!(
                    "declares no encoding and is not UTF-8 (byte {}): read as windows-1252",
                    e.valid_up_to()
                )),
            }),
        },
        Some("utf-8" | "utf8") => utf8(bytes, "UTF-8"),
        // ASCII is a subset of windows-1252: a stray high byte is read, not refused.
        Some(
            "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "latin1" | "latin-1" | "l1" | "cp819" | "windows-1252"
            | "cp1252" | "us-ascii" | "ascii",
        ) => Ok(plain(single_byte(bytes, None))),
        Some("iso-8859-15" | "iso8859-15" | "iso_8859-15" | "latin9" | "latin-9" | "l9") => {
            Ok(plain(single_byte(bytes, Some(latin9))))
        }
        Some(_) => Err(format!(
            "its XML declaration names the encoding `{}`, which geosync does not read (UTF-8, UTF-16, ISO-8859-1, ISO-8859-15, windows-1252)",
            super::text::clean_line(declared.as_deref().unwrap_or_default())
        )),
    }
}

fn plain(text: String) -> Decoded {
    Decoded { text, note: None }
}

fn utf8(bytes: &[u8], what: &str) -> Result<Decoded, String> {
    std::str::from_utf8(bytes)
        .map(|t| plain(t.to_string()))
        .map_err(|e| format!("declared {what} but byte {} is not UTF-8", e.valid_up_to()))
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<Decoded, String> {
    if bytes.len() % 2 != 0 {
        return Err("UTF-16 with an odd number of bytes".into());
    }
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]])).collect();
    String::from_utf16(&units)
        .map(plain)
        .map_err(|_| "UTF-16 with an unpaired surrogate".into())
}

/// windows-1252, with latin-9's eight differences when `remap` says so.
fn single_byte(bytes: &[u8], remap: Option<fn(u8) -> Option<char>>) -> String {
    bytes
        .iter()
        .map(|&b| {
            if let Some(c) = remap.and_then(|f| f(b)) {
                return c;
            }
            match b {
                0x80..=0x9f if remap.is_none() => CP1252_HIGH[(b - 0x80) as usize],
                _ => b as char,
            }
        })
        .collect()
}

/// ISO-8859-15's code points that differ from ISO-8859-1.
fn latin9(b: u8) -> Option<char> {
    Some(match b {
        0xa4 => '€',
        0xa6 => 'Š',
        0xa8 => 'š',
        0xb4 => 'Ž',
        0xb8 => 'ž',
        0xbc => 'Œ',
        0xbd => 'œ',
        0xbe => 'Ÿ',
        _ => return None,
    })
}

/// The `encoding` pseudo-attribute of a leading `<?xml ...?>`.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = bytes.strip_prefix(b"<?xml")?;
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_declared_is_decoded() {
        let bytes = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf\xe9 \x80</a>";
        let d = decode(bytes).unwrap();
        assert_eq!(
            d.text,
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>café €</a>"
        );
        assert!(d.note.is_none());
        let d = decode(b"<?xml version='1.0' encoding='iso-8859-15'?><a>\xa4</a>").unwrap();
        assert!(d.text.ends_with("<a>€</a>"));
    }

    #[test]
    fn utf8_boms_and_undeclared_latin1() {
        assert_eq!(decode("\u{feff}<a>é</a>".as_bytes()).unwrap().text, "<a>é</a>");
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("<a>é</a>".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode(&utf16).unwrap().text, "<a>é</a>");
        let guessed = decode(b"<a>caf\xe9</a>").unwrap();
        assert_eq!(guessed.text, "<a>café</a>");
        assert!(guessed.note.unwrap().contains("windows-1252"));
    }

    #[test]
    fn a_lie_or_an_unknown_encoding_is_refused() {
        let lie = decode(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>caf\xe9</a>").unwrap_err();
        assert!(lie.contains("not UTF-8"), "{lie}");
        let unknown = decode(b"<?xml version=\"1.0\" encoding=\"EBCDIC-FR\"?><a/>").unwrap_err();
        assert!(unknown.contains("EBCDIC-FR"), "{unknown}");
    }
}
