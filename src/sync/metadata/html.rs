//! ArcGIS keeps abstracts as HTML (`<DIV STYLE=...><P><SPAN>...`, itself
//! escaped inside the XML). A catalogue wants plain text: tags removed,
//! entities decoded, paragraphs and line breaks kept as line breaks.

use super::text::clean_block;

/// Tags whose start or end is a line break.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "tr",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "section",
    "article",
    "hr",
];

/// Plain text of an HTML fragment (or of plain text, unchanged but for
/// entities and whitespace).
pub fn to_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    let mut skipping: Option<String> = None;
    while let Some(lt) = rest.find('<') {
        if skipping.is_none() {
            out.push_str(&decode_entities(&rest[..lt]));
        }
        let after = &rest[lt + 1..];
        let Some((tag, len)) = tag_at(after) else {
            if skipping.is_none() {
                out.push('<');
            }
            rest = after;
            continue;
        };
        rest = &after[len..];
        let name = tag.name.to_ascii_lowercase();
        if let Some(skipped) = &skipping {
            if tag.closing && &name == skipped {
                skipping = None;
            }
            continue;
        }
        if !tag.closing && (name == "script" || name == "style") {
            skipping = Some(name);
        } else if BLOCKS.contains(&name.as_str()) {
            out.push('\n');
        }
    }
    if skipping.is_none() {
        out.push_str(&decode_entities(rest));
    }
    let text = clean_block(&out);
    // A block boundary is one line break: no empty lines from nested DIVs.
    text.lines()
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

struct Tag<'a> {
    name: &'a str,
    closing: bool,
}

/// The tag starting right after a `<`, and its length up to and with its
/// `>`; None when the `<` does not start a tag (`a < b`).
fn tag_at(text: &str) -> Option<(Tag<'_>, usize)> {
    if let Some(comment) = text.strip_prefix("!--") {
        let end = comment.find("-->")?;
        return Some((
            Tag {
                name: "!--",
                closing: false,
            },
            3 + end + 3,
        ));
    }
    let (closing, body) = match text.strip_prefix('/') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let first = body.chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '!' || first == '?') {
        return None;
    }
    let name_len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '!' || c == '?' || c == '-' || c == ':'))
        .unwrap_or(body.len());
    let mut quote: Option<char> = None;
    for (i, c) in body.char_indices().skip(name_len) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => {
                let len = usize::from(closing) + i + 1;
                return Some((
                    Tag {
                        name: &body[..name_len],
                        closing,
                    },
                    len,
                ));
            }
            _ => {}
        }
    }
    None
}

/// HTML entities: numeric, XML's five, and the Latin-1 and typographic
/// names French abstracts use. An unknown name stays as written.
pub fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let decoded = after.find(';').filter(|end| *end <= 10).and_then(|end| {
            let name = &after[..end];
            entity(name).map(|c| (c, end + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &after[len..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "eacute" => 'é',
        "Eacute" => 'É',
        "egrave" => 'è',
        "Egrave" => 'È',
        "ecirc" => 'ê',
        "Ecirc" => 'Ê',
        "euml" => 'ë',
        "agrave" => 'à',
        "Agrave" => 'À',
        "acirc" => 'â',
        "auml" => 'ä',
        "ccedil" => 'ç',
        "Ccedil" => 'Ç',
        "icirc" => 'î',
        "iuml" => 'ï',
        "ocirc" => 'ô',
        "ouml" => 'ö',
        "ugrave" => 'ù',
        "ucirc" => 'û',
        "uuml" => 'ü',
        "oelig" => 'œ',
        "OElig" => 'Œ',
        "laquo" => '«',
        "raquo" => '»',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "hellip" => '…',
        "ndash" => '–',
        "mdash" => '—',
        "deg" => '°',
        "copy" => '©',
        "reg" => '®',
        "euro" => '€',
        "middot" => '·',
        "bull" => '•',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arcgis_abstract_becomes_plain_text() {
        let html = "<DIV STYLE=\"text-align:Left;\"><DIV><P><SPAN>Ce shapefile doit faire appar</SPAN><SPAN>aître</SPAN><SPAN> le texte &amp; l&apos;autre.</SPAN></P><P>Second &eacute;t&#233; &#x2014; fin</P></DIV></DIV>";
        assert_eq!(
            to_text(html),
            "Ce shapefile doit faire apparaître le texte & l'autre.\nSecond été — fin"
        );
    }

    #[test]
    fn plain_text_and_stray_brackets_survive() {
        assert_eq!(to_text("a < b and c > d"), "a < b and c > d");
        assert_eq!(to_text("line<br/>next<br>last"), "line\nnext\nlast");
        assert_eq!(to_text("x<script>alert('<p>')</script>y<!-- <p> -->z"), "xyz");
        assert_eq!(to_text("&unknown; &amp"), "&unknown; &amp");
        assert_eq!(to_text("<a href='x>y'>link</a>"), "link");
    }
}
