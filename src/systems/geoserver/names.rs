//! GeoServer's naming rules, and how names travel in URLs.
//!
//! GeoServer writes every catalog name into XML (capabilities documents,
//! its own configuration), so a name must be an XML `Name` (XML 1.0,
//! productions 4 and 5: the rule GeoServer's `XMLSafeNameValidator`
//! enforces), and geosync also refuses `:`, which GeoServer reads as the
//! workspace prefix of a qualified name (`ws:layer`). Spaces and quotes are
//! therefore refused; accented letters are legal and are percent-encoded
//! in URLs like any byte outside the unreserved set.

/// Why `name` cannot name a GeoServer object, if it cannot.
pub fn name_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Some("a GeoServer name cannot be empty".into());
    };
    if !is_name_start(first) {
        return Some(format!(
            "`{}` cannot start a GeoServer name (an XML name starts with a letter or `_`)",
            first.escape_debug()
        ));
    }
    if let Some(bad) = chars.find(|c| !is_name_char(*c)) {
        return Some(format!(
            "`{}` is not allowed in a GeoServer name (XML names: letters, digits, `_`, `-`, `.`; no space, quote or `:`)",
            bad.escape_debug()
        ));
    }
    None
}

/// XML 1.0 NameStartChar, without `:`.
fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 NameChar, without `:`.
fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// One path segment of a URL: every byte outside RFC 3986's unreserved
/// set percent-encoded, so a name can never add a segment, a query or a
/// fragment (`é` becomes `%C3%A9`, `/` becomes `%2F`).
pub fn segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_names_pass_and_hostile_ones_are_refused() {
        for good in ["geosync-ouvert", "it.geosolutions", "_x", "Données_2025", "éco"] {
            assert_eq!(name_problem(good), None, "{good}");
        }
        for bad in [
            "", "a b", "l'eau", "\"q\"", "ws:layer", "1abc", "-x", "a/b", "a\nb", "a<b",
        ] {
            assert!(name_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn segments_cannot_escape_their_place() {
        assert_eq!(segment("données"), "donn%C3%A9es");
        assert_eq!(segment("a/../b?c#d"), "a%2F..%2Fb%3Fc%23d");
        assert_eq!(segment("*.*.r"), "%2A.%2A.r");
    }
}
