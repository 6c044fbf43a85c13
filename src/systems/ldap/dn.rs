//! Distinguished names: built with every value escaped (RFC 4514: commas,
//! plus signs, quotes, a leading '#' or space...), and compared in one
//! normal form, since a server may spell a DN another way than geosync
//! (`CN=x` and `cn=x`, `\2C` and `\,`).

use ldap3::dn_escape;

/// `attr=value,parent`, the value escaped.
pub fn child(attr: &str, value: &str, parent: &str) -> String {
    format!("{attr}={},{parent}", dn_escape(value))
}

/// The RDN alone: `attr=value`, escaped.
pub fn rdn(attr: &str, value: &str) -> String {
    format!("{attr}={}", dn_escape(value))
}

/// The normal form: attribute types and values lower-cased, values
/// unescaped then escaped one way, no spaces around separators.
pub fn normalize(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    for (i, (rdn, separator)) in split(dn).into_iter().enumerate() {
        if i > 0 {
            out.push(separator);
        }
        match rdn.split_once('=') {
            Some((attr, value)) => {
                out.push_str(&attr.trim().to_ascii_lowercase());
                out.push('=');
                out.push_str(&dn_escape(unescape(value.trim()).to_lowercase()));
            }
            None => out.push_str(&rdn.trim().to_lowercase()),
        }
    }
    out
}

/// The parts between unescaped ',' or '+', each with the separator before it.
fn split(dn: &str) -> Vec<(String, char)> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut separator = ',';
    let mut chars = dn.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                current.push(c);
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            ',' | ';' | '+' => {
                parts.push((std::mem::take(&mut current), separator));
                separator = if c == '+' { '+' } else { ',' };
            }
            _ => current.push(c),
        }
    }
    parts.push((current, separator));
    parts
}

/// An RDN value with its escapes (`\,` and `\2C`) resolved.
pub fn unescape(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(byte) => {
                    out.push(byte);
                    i += 3;
                }
                None => {
                    out.push(bytes[i + 1]);
                    i += 2;
                }
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The DN without its first RDN (`uid=a,ou=users,dc=x` -> `ou=users,dc=x`).
pub fn parent(dn: &str) -> String {
    let parts = split(dn);
    // A multi-valued first RDN (`cn=a+sn=b,...`) goes up to the first ','.
    let start = parts
        .iter()
        .skip(1)
        .position(|(_, separator)| *separator == ',')
        .map_or(parts.len(), |p| p + 1);
    let mut out = String::new();
    for (i, (rdn, separator)) in parts.into_iter().enumerate().skip(start) {
        if i > start {
            out.push(separator);
        }
        out.push_str(&rdn);
    }
    out
}

/// The trailing `DC=` RDNs: the naming context of an AD domain
/// (`CN=g,OU=x,DC=lab,DC=example` -> `DC=lab,DC=example`); the parent DN
/// when there is none.
pub fn domain(dn: &str) -> String {
    let parts = split(dn);
    let start = parts
        .iter()
        .rposition(|(rdn, _)| !rdn.trim().to_ascii_lowercase().starts_with("dc="))
        .map_or(0, |last| last + 1);
    if start >= parts.len() {
        return parent(dn);
    }
    let mut out = String::new();
    for (i, (rdn, _)) in parts.into_iter().enumerate().skip(start) {
        if i > start {
            out.push(',');
        }
        out.push_str(rdn.trim());
    }
    out
}

/// The value of the first RDN (`uid=jdoe,ou=users,...` -> `jdoe`).
pub fn first_value(dn: &str) -> Option<String> {
    let (rdn, _) = split(dn).into_iter().next()?;
    rdn.split_once('=').map(|(_, v)| unescape(v.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_characters_are_escaped_and_read_back() {
        for value in [
            "Dupont, Jean",
            "a+b",
            "#hash",
            " lead",
            "trail ",
            "Zoé \"Z\"",
            "x=y;z<>\\",
        ] {
            let dn = child("uid", value, "ou=users,dc=x");
            assert_eq!(first_value(&dn).as_deref(), Some(value), "{dn}");
            assert_eq!(split(&dn).len(), 3, "{dn}");
        }
        assert_eq!(child("cn", "#a,b", "ou=r"), "cn=\\23a\\2cb,ou=r");
    }

    #[test]
    fn equal_dns_spelt_differently_normalize_alike() {
        assert_eq!(
            normalize("UID=Dupont\\, Jean, OU=Users,dc=X"),
            normalize("uid=dupont\\2c jean,ou=users,dc=x")
        );
        assert_ne!(normalize("uid=a,ou=users"), normalize("uid=b,ou=users"));
        assert_eq!(normalize("cn=a+sn=b,dc=x"), "cn=a+sn=b,dc=x");
    }

    #[test]
    fn the_domain_of_a_dn_is_its_trailing_dc_rdns() {
        assert_eq!(domain("CN=g\\, x,OU=G,DC=lab, DC=example"), "DC=lab,DC=example");
        assert_eq!(domain("DC=lab,DC=example"), "DC=lab,DC=example");
        assert_eq!(domain("cn=g,ou=groups,o=lab"), "ou=groups,o=lab");
    }
}
