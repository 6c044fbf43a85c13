//! Values that end up in a line-oriented file (pg_hba.conf, env files,
//! saslauthd.conf…): there a newline starts a new, unchecked entry (an
//! `options` value could add a `trust` rule), and other control characters
//! separate or hide fields. One check, for every system that writes such
//! a file, run at validate.

/// Why `value` cannot stand on one line of a configuration file, if it
/// cannot: the first control character (newline, carriage return, tab,
/// NUL, escape, DEL, C1…) or Unicode line or paragraph separator, and its
/// position. The value itself is not repeated: it may be long, or hold
/// what the terminal would interpret.
pub fn single_line_problem(value: &str) -> Option<String> {
    value
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
        .map(|(position, c)| {
            let name = match c {
                '\n' => "a newline".to_string(),
                '\r' => "a carriage return".to_string(),
                '\t' => "a tab".to_string(),
                '\0' => "a NUL byte".to_string(),
                '\u{2028}' | '\u{2029}' => "a Unicode line separator".to_string(),
                other => format!("the control character U+{:04X}", u32::from(other)),
            };
            format!(
                "holds {name} (character {}): it is written on one line of a line-oriented file, where it would start or hide another entry",
                position + 1
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_named_with_their_position() {
        assert_eq!(single_line_problem("map=lab clientcert=verify-full"), None);
        assert_eq!(single_line_problem("café ünïcode"), None);
        let newline = single_line_problem("map=lab\nhost all all 0.0.0.0/0 trust").unwrap();
        assert!(newline.starts_with("holds a newline (character 8)"), "{newline}");
        assert!(!newline.contains("trust"), "the value is not echoed");
        for (value, name) in [
            ("a\rb", "a carriage return"),
            ("a\tb", "a tab"),
            ("a\0b", "a NUL byte"),
            ("a\u{1b}[2Jb", "U+001B"),
            ("a\u{7f}", "U+007F"),
            ("a\u{85}", "U+0085"),
            ("a\u{2028}b", "line separator"),
        ] {
            assert!(single_line_problem(value).unwrap().contains(name), "{value:?}");
        }
    }
}
