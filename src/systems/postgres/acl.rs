//! PostgreSQL access control lists as the server prints them
//! (`{alice=arw/bob,=U/bob}`), read here rather than exploded on the
//! server: `aclexplode` costs a fresh backend about a millisecond of
//! lookups per statement, and a plan reads one fresh backend per database.
//!
//! The text format is `aclitemout`'s (src/backend/utils/adt/acl.c) inside
//! `array_out`'s quoting: `grantee=privileges/grantor`, the grantee empty
//! for PUBLIC, a name double-quoted (quotes doubled) unless it is only
//! ASCII letters, digits and `_`, each privilege one letter followed by
//! `*` when held with grant option.

/// One entry: the grantee (None: PUBLIC) and its privileges, named as
/// `aclexplode` names them. Grant options are not kept (geosync grants
/// none and compares privileges only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclEntry {
    pub grantee: Option<String>,
    pub privileges: Vec<&'static str>,
}

/// A letter of `aclitemout` -> the name `aclexplode` gives it (PostgreSQL
/// 15 to 17: ACL_ALL_RIGHTS_STR plus 17's MAINTAIN).
fn privilege(letter: char) -> Option<&'static str> {
    Some(match letter {
        'a' => "INSERT",
        'r' => "SELECT",
        'w' => "UPDATE",
        'd' => "DELETE",
        'D' => "TRUNCATE",
        'x' => "REFERENCES",
        't' => "TRIGGER",
        'X' => "EXECUTE",
        'U' => "USAGE",
        'C' => "CREATE",
        'T' => "TEMPORARY",
        'c' => "CONNECT",
        's' => "SET",
        'A' => "ALTER SYSTEM",
        'm' => "MAINTAIN",
        _ => return None,
    })
}

/// Parses the text of an `aclitem[]`; an empty text (a NULL list, the
/// defaults) has no entries. An error names what could not be read.
pub fn parse(text: &str) -> Result<Vec<AclEntry>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    array_elements(text)
        .ok_or_else(|| format!("unreadable access list {text:?}"))?
        .iter()
        .map(|item| item_entry(item).ok_or_else(|| format!("unreadable access list entry {item:?}")))
        .collect()
}

/// The elements of a one-dimensional array literal, unquoted.
fn array_elements(text: &str) -> Option<Vec<String>> {
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    let mut elements = Vec::new();
    let mut chars = inner.chars().peekable();
    while chars.peek().is_some() {
        let mut element = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '\\' => element.push(chars.next()?),
                    '"' => break,
                    c => element.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                element.push(c);
                chars.next();
            }
        }
        elements.push(element);
        match chars.next() {
            None => break,
            Some(',') => {}
            Some(_) => return None,
        }
    }
    Some(elements)
}

/// One `grantee=privileges/grantor`.
fn item_entry(item: &str) -> Option<AclEntry> {
    let (grantee, rest) = role_name(item)?;
    let rest = rest.strip_prefix('=')?;
    let (letters, _grantor) = rest.split_once('/')?;
    let mut privileges = Vec::new();
    for letter in letters.chars().filter(|c| *c != '*') {
        privileges.push(privilege(letter)?);
    }
    Some(AclEntry {
        grantee: (!grantee.is_empty()).then_some(grantee),
        privileges,
    })
}

/// A role name at the start of `text`, as `putid` writes it; the rest.
fn role_name(text: &str) -> Option<(String, &str)> {
    let Some(quoted) = text.strip_prefix('"') else {
        let end = text.find('=')?;
        return Some((text[..end].to_string(), &text[end..]));
    };
    let mut name = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '"' {
            name.push(c);
            continue;
        }
        if quoted[i + 1..].starts_with('"') {
            name.push('"');
            chars.next();
        } else {
            return Some((name, &quoted[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(grantee: Option<&str>, privileges: &[&'static str]) -> AclEntry {
        AclEntry {
            grantee: grantee.map(str::to_string),
            privileges: privileges.to_vec(),
        }
    }

    #[test]
    fn plain_names_public_and_grant_options() {
        let acl = parse("{postgres=UC/postgres,=U/postgres,reader=r*w/postgres}").unwrap();
        assert_eq!(
            acl,
            [
                entry(Some("postgres"), &["USAGE", "CREATE"]),
                entry(None, &["USAGE"]),
                entry(Some("reader"), &["SELECT", "UPDATE"]),
            ]
        );
        assert_eq!(parse("").unwrap(), []);
        assert_eq!(parse("{}").unwrap(), []);
    }

    #[test]
    fn quoted_names_inside_quoted_elements() {
        // The role `a "b", c=d/e` as PostgreSQL prints it inside an array.
        let text = r#"{"\"a \"\"b\"\", c=d/e\"=arwdDxt/postgres",x=c/postgres}"#;
        assert_eq!(
            parse(text).unwrap(),
            [
                entry(
                    Some(r#"a "b", c=d/e"#),
                    &[
                        "INSERT",
                        "SELECT",
                        "UPDATE",
                        "DELETE",
                        "TRUNCATE",
                        "REFERENCES",
                        "TRIGGER"
                    ]
                ),
                entry(Some("x"), &["CONNECT"]),
            ]
        );
    }

    #[test]
    fn anything_unknown_is_an_error_not_a_guess() {
        assert!(parse("{reader=rQ/postgres}").is_err(), "unknown privilege letter");
        assert!(parse("{reader=r}").is_err(), "no grantor");
        assert!(parse("reader=r/postgres").is_err(), "not an array");
        assert!(parse(r#"{"\"open=r/postgres"}"#).is_err(), "unterminated name");
    }
}
