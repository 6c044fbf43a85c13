//! Which text encoding a shapefile's DBF is written in.
//!
//! GDAL recodes DBF text to UTF-8 when it is told the source encoding, but
//! it finds a `.cpg` only in lower or upper case, and with neither a `.cpg`
//! nor a language driver byte it passes the bytes through unchanged: a
//! latin-1 file then yields invalid UTF-8. So geosync decides itself, in the
//! order a GIS data manager would trust: the `.cpg` (any case), then the DBF
//! header's language driver id (LDID, byte 29), then the bytes of the
//! character fields (valid UTF-8 with some non-ASCII byte -> UTF-8, else
//! latin-1, or CP1252 when the bytes use its printable 0x80-0x9F range),
//! and hands the answer to GDAL's `ENCODING` open option.

use std::io::Read;
use std::path::Path;

/// The decision, and why (reported as a warning-free fact in the load report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoding {
    /// A name GDAL's recoder (iconv) knows: "UTF-8", "ISO-8859-1", "CP1252"...
    pub name: String,
    pub source: EncodingSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodingSource {
    Cpg,
    LanguageDriver,
    Detected,
}

/// The `.cpg` content as an encoding name GDAL understands.
pub fn from_cpg(content: &str) -> Option<String> {
    let text = content.trim().trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return None;
    }
    let upper = text.to_ascii_uppercase().replace(['_', ' '], "-");
    let name = match upper.as_str() {
        "UTF-8" | "UTF8" | "65001" => "UTF-8",
        "ISO-8859-1" | "ISO8859-1" | "8859-1" | "88591" | "LATIN1" | "LATIN-1" | "28591" => "ISO-8859-1",
        "ISO-8859-15" | "8859-15" | "LATIN9" | "LATIN-9" | "28605" => "ISO-8859-15",
        "1252" | "CP1252" | "WINDOWS-1252" | "ANSI-1252" => "CP1252",
        "1250" | "CP1250" | "WINDOWS-1250" => "CP1250",
        "1251" | "CP1251" | "WINDOWS-1251" => "CP1251",
        "437" | "CP437" | "OEM" => "CP437",
        "850" | "CP850" => "CP850",
        "ASCII" | "US-ASCII" => "ASCII",
        other if other.starts_with("88591") => "ISO-8859-1",
        _ => return Some(text.to_string()),
    };
    Some(name.to_string())
}

/// The DBF language driver id's code page (the ids ESRI and dBase use).
pub fn from_ldid(ldid: u8) -> Option<&'static str> {
    Some(match ldid {
        0x01 => "CP437",
        0x02 => "CP850",
        0x03 | 0x57 | 0x58 | 0x59 => "CP1252",
        0x08 | 0x09 | 0x0A | 0x0B | 0x0D | 0x0E | 0x0F | 0x10 | 0x11 | 0x12 | 0x14 | 0x15 | 0x16 | 0x17
        | 0x18 | 0x19 | 0x1A | 0x1B | 0x1D | 0x25 | 0x37 | 0x40 => "CP850",
        0x13 | 0x7B => "CP932",
        0x4D | 0x7A => "CP936",
        0x4E | 0x79 => "CP949",
        0x4F | 0x78 => "CP950",
        0x50 | 0x7C => "CP874",
        0x64 | 0x1F | 0x22 | 0x23 => "CP852",
        0x65 | 0x26 => "CP866",
        0x66 => "CP865",
        0x67 => "CP861",
        0x6A | 0x86 => "CP737",
        0x6B | 0x87 => "CP857",
        0x7D => "CP1255",
        0x7E => "CP1256",
        0xC8 => "CP1250",
        0xC9 => "CP1251",
        0xCA => "CP1254",
        0xCB => "CP1253",
        0xCC => "CP1257",
        _ => return None,
    })
}

/// Decides the encoding of `dbf`, given the `.cpg` sidecar if there is one.
pub fn decide(dbf: &Path, cpg: Option<&Path>) -> std::io::Result<Encoding> {
    if let Some(cpg) = cpg {
        let bytes = std::fs::read(cpg)?;
        if let Some(name) = from_cpg(&String::from_utf8_lossy(&bytes)) {
            return Ok(Encoding {
                name,
                source: EncodingSource::Cpg,
            });
        }
    }
    let mut file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(dbf)?);
    let mut header = [0u8; 32];
    file.read_exact(&mut header)?;
    if let Some(name) = from_ldid(header[29]) {
        return Ok(Encoding {
            name: name.to_string(),
            source: EncodingSource::LanguageDriver,
        });
    }
    Ok(Encoding {
        name: detect(header, &mut file)?.to_string(),
        source: EncodingSource::Detected,
    })
}

/// Reads the character fields of every record: UTF-8 unless some field is
/// not valid UTF-8.
fn detect(header: [u8; 32], file: &mut impl Read) -> std::io::Result<&'static str> {
    let header_len = u16::from_le_bytes([header[8], header[9]]) as usize;
    let record_len = u16::from_le_bytes([header[10], header[11]]) as usize;
    let mut descriptors = vec![0u8; header_len.saturating_sub(32)];
    file.read_exact(&mut descriptors)?;
    let fields = char_fields(&descriptors);
    if fields.is_empty() || record_len == 0 {
        return Ok("UTF-8");
    }
    let mut verdict = Verdict::default();
    let mut record = vec![0u8; record_len];
    while file.read_exact(&mut record).is_ok() {
        for &(start, len) in &fields {
            if let Some(bytes) = record.get(start..start + len) {
                verdict.see(bytes);
            }
        }
    }
    Ok(verdict.answer())
}

/// (offset in the record, length) of each C field.
fn char_fields(descriptors: &[u8]) -> Vec<(usize, usize)> {
    let mut fields = Vec::new();
    let mut offset = 1; // the deletion flag
    for d in descriptors.chunks_exact(32) {
        if d[0] == 0x0D {
            break;
        }
        let len = d[16] as usize;
        if d[11] == b'C' {
            fields.push((offset, len));
        }
        offset += len;
    }
    fields
}

#[derive(Default)]
struct Verdict {
    invalid_utf8: bool,
    c1_bytes: bool,
}

impl Verdict {
    fn see(&mut self, bytes: &[u8]) {
        if bytes.is_ascii() {
            return;
        }
        // A field is cut at its width: a multibyte sequence may be cut too.
        let valid = match std::str::from_utf8(bytes) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none() && bytes[e.valid_up_to()..].len() < 4,
        };
        if !valid {
            self.invalid_utf8 = true;
            self.c1_bytes |= bytes.iter().any(|b| (0x80..0xA0).contains(b));
        }
    }

    fn answer(&self) -> &'static str {
        match (self.invalid_utf8, self.c1_bytes) {
            (false, _) => "UTF-8",
            (true, false) => "ISO-8859-1",
            (true, true) => "CP1252",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpg_names_in_any_spelling() {
        assert_eq!(from_cpg("UTF-8\n").as_deref(), Some("UTF-8"));
        assert_eq!(from_cpg("utf8").as_deref(), Some("UTF-8"));
        assert_eq!(from_cpg("latin1").as_deref(), Some("ISO-8859-1"));
        assert_eq!(from_cpg("ISO 8859-1").as_deref(), Some("ISO-8859-1"));
        assert_eq!(from_cpg("1252").as_deref(), Some("CP1252"));
        assert_eq!(from_cpg("  "), None);
        assert_eq!(from_cpg("KOI8-R").as_deref(), Some("KOI8-R"));
    }

    #[test]
    fn ldid_87_is_ansi() {
        assert_eq!(from_ldid(0x57), Some("CP1252"));
        assert_eq!(from_ldid(0), None);
    }

    #[test]
    fn detector_tells_latin1_from_utf8() {
        let mut v = Verdict::default();
        v.see("Créteil".as_bytes());
        assert_eq!(v.answer(), "UTF-8");
        v.see(b"Cr\xe9teil");
        assert_eq!(v.answer(), "ISO-8859-1");
        v.see(b"l\x92eau");
        assert_eq!(v.answer(), "CP1252");
    }

    #[test]
    fn a_utf8_sequence_cut_at_the_field_width_is_still_utf8() {
        let mut v = Verdict::default();
        v.see(&"aé".as_bytes()[..2]);
        assert_eq!(v.answer(), "UTF-8");
    }

    #[test]
    fn hostile_descriptors_do_not_panic() {
        assert!(char_fields(&[0xFF; 31]).is_empty());
        let mut header = [0u8; 32];
        header[8] = 0xFF;
        header[10] = 5;
        let mut empty: &[u8] = &[];
        assert!(detect(header, &mut empty).is_err());
    }
}
