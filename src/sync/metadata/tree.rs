//! A small owned XML tree over quick-xml: enough to read a sidecar by
//! namespace or local name, edit an ISO record in place, and write records
//! whose every value is escaped by the writer (never by hand).

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use quick_xml::Writer;

use super::text::xml_safe;

pub const GMD: &str = "http://www.isotc211.org/2005/gmd";
pub const GCO: &str = "http://www.isotc211.org/2005/gco";
pub const GMX: &str = "http://www.isotc211.org/2005/gmx";

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Element(Element),
    Text(String),
    Comment(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    /// The qualified name as written (`gmd:title`).
    pub name: String,
    /// The namespace the name resolves to.
    pub ns: Option<String>,
    /// Attributes as written (qualified names), values unescaped.
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

impl Element {
    pub fn new(name: &str, ns: Option<&str>) -> Self {
        Element {
            name: name.to_string(),
            ns: ns.map(str::to_string),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// `gmd:{local}`.
    pub fn gmd(local: &str) -> Self {
        Element::new(&format!("gmd:{local}"), Some(GMD))
    }

    /// `gco:{local}` holding `text`.
    pub fn gco(local: &str, text: &str) -> Self {
        Element::new(&format!("gco:{local}"), Some(GCO)).with_text(text)
    }

    pub fn with(mut self, child: Element) -> Self {
        self.children.push(Node::Element(child));
        self
    }

    pub fn with_all(mut self, children: impl IntoIterator<Item = Element>) -> Self {
        self.children.extend(children.into_iter().map(Node::Element));
        self
    }

    pub fn with_text(mut self, text: &str) -> Self {
        self.children.push(Node::Text(text.to_string()));
        self
    }

    pub fn with_attr(mut self, key: &str, value: &str) -> Self {
        self.attrs.push((key.to_string(), value.to_string()));
        self
    }

    pub fn local(&self) -> &str {
        self.name.rsplit(':').next().unwrap_or(&self.name)
    }

    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns.as_deref() == Some(ns) && self.local() == local
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// The first child of that local name, whatever its namespace.
    pub fn first_local(&self, local: &str) -> Option<&Element> {
        self.elements().find(|e| e.local() == local)
    }

    /// Every element reached by following local names, child by child.
    pub fn all_local(&self, path: &[&str]) -> Vec<&Element> {
        let mut current = vec![self];
        for step in path {
            current = current
                .into_iter()
                .flat_map(|e| e.elements().filter(|c| c.local() == *step))
                .collect();
        }
        current
    }

    /// The first element at that path of local names.
    pub fn at_local(&self, path: &[&str]) -> Option<&Element> {
        self.all_local(path).into_iter().next()
    }

    /// Every element reached by following (namespace, local) steps.
    pub fn all_ns<'a>(&'a self, path: &[(&str, &str)]) -> Vec<&'a Element> {
        let mut current = vec![self];
        for (ns, local) in path {
            current = current
                .into_iter()
                .flat_map(|e| e.elements().filter(|c| c.is(ns, local)))
                .collect();
        }
        current
    }

    /// The text of the element and its descendants.
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.collect_text(&mut out);
        out
    }

    fn collect_text(&self, out: &mut String) {
        for child in &self.children {
            match child {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) => e.collect_text(out),
                Node::Comment(_) => {}
            }
        }
    }

    /// An attribute by its local name.
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.rsplit(':').next() == Some(local))
            .map(|(_, v)| v.as_str())
    }
}

/// The root element of a document. The XML declaration, a DOCTYPE (its
/// entities are not expanded: an undeclared entity is an error), comments
/// and processing instructions outside the root are dropped.
pub fn parse(text: &str) -> Result<Element, String> {
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let at = reader.buffer_position();
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| format!("at byte {at}: {e}"))?;
        let position = |e: &dyn std::fmt::Display| format!("at byte {at}: {e}");
        match event {
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                return Err(format!(
                    "at byte {at}: more than one root element ({})",
                    name_of(&start)
                ));
            }
            Event::Start(start) => stack.push(element(&start, &ns).map_err(|e| position(&e))?),
            Event::Empty(start) => {
                let element = element(&start, &ns).map_err(|e| position(&e))?;
                close(element, &mut stack, &mut root);
            }
            Event::End(_) => {
                let element = stack
                    .pop()
                    .ok_or_else(|| format!("at byte {at}: an end tag without start"))?;
                close(element, &mut stack, &mut root);
            }
            Event::Text(t) => {
                let value = t.unescape().map_err(|e| position(&e))?;
                push_text(&mut stack, &value);
            }
            Event::CData(c) => {
                let value = String::from_utf8_lossy(&c.into_inner()).into_owned();
                push_text(&mut stack, &value);
            }
            Event::Comment(c) => {
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(Node::Comment(
                        String::from_utf8_lossy(&c.into_inner()).into_owned(),
                    ));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("the document ends inside an element".into());
    }
    root.ok_or_else(|| "no root element".into())
}

fn name_of(start: &BytesStart) -> String {
    String::from_utf8_lossy(start.name().as_ref()).into_owned()
}

fn element(start: &BytesStart, ns: &ResolveResult) -> Result<Element, String> {
    let ns = match ns {
        ResolveResult::Bound(n) => Some(String::from_utf8_lossy(n.as_ref()).into_owned()),
        ResolveResult::Unbound => None,
        ResolveResult::Unknown(prefix) => {
            return Err(format!(
                "the prefix `{}` of <{}> is not declared",
                String::from_utf8_lossy(prefix),
                name_of(start)
            ))
        }
    };
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        let value = attr.unescape_value().map_err(|e| e.to_string())?.into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        name: name_of(start),
        ns,
        attrs,
        children: Vec::new(),
    })
}

fn close(element: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Node::Element(element)),
        None => *root = Some(element),
    }
}

fn push_text(stack: &mut [Element], value: &str) {
    let Some(parent) = stack.last_mut() else {
        return; // whitespace outside the root
    };
    if let Some(Node::Text(previous)) = parent.children.last_mut() {
        previous.push_str(value);
    } else {
        parent.children.push(Node::Text(value.to_string()));
    }
}

/// The document as UTF-8 with its declaration; `indent` for a tree built
/// without whitespace (a passed-through one keeps its own).
pub fn write(root: &Element, indent: bool) -> String {
    let mut writer = if indent {
        Writer::new_with_indent(Vec::new(), b' ', 2)
    } else {
        Writer::new(Vec::new())
    };
    let decl = BytesDecl::new("1.0", Some("UTF-8"), None);
    writer.write_event(Event::Decl(decl)).expect("writing to memory");
    if !indent {
        writer.get_mut().push(b'\n');
    }
    write_element(&mut writer, root);
    let mut bytes = writer.into_inner();
    bytes.push(b'\n');
    String::from_utf8(bytes).expect("quick-xml writes the UTF-8 it is given")
}

fn write_element(writer: &mut Writer<Vec<u8>>, element: &Element) {
    let mut start = BytesStart::new(element.name.as_str());
    for (key, value) in &element.attrs {
        start.push_attribute((key.as_str(), xml_safe(value).as_ref()));
    }
    if element.children.is_empty() {
        writer
            .write_event(Event::Empty(start))
            .expect("writing to memory");
        return;
    }
    writer
        .write_event(Event::Start(start))
        .expect("writing to memory");
    for child in &element.children {
        let event = match child {
            Node::Element(e) => {
                write_element(writer, e);
                continue;
            }
            // <, > and & escaped; quotes need not be in text.
            Node::Text(t) => Event::Text(
                BytesText::from_escaped(quick_xml::escape::partial_escape(xml_safe(t))).into_owned(),
            ),
            // "--" cannot be inside a comment; "-->" would end it.
            Node::Comment(c) => {
                Event::Comment(BytesText::from_escaped(xml_safe(c).replace("--", "- -")).into_owned())
            }
        };
        writer.write_event(event).expect("writing to memory");
    }
    writer
        .write_event(Event::End(BytesEnd::new(element.name.as_str())))
        .expect("writing to memory");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_structure_and_escapes_values() {
        let xml = r#"<?xml version="1.0"?><!DOCTYPE x><r xmlns:g="urn:g" a="1 &amp; &quot;2&quot;"><!-- c --><g:t>a &lt; b<![CDATA[ & c]]></g:t><e/></r>"#;
        let root = parse(xml).unwrap();
        assert_eq!(root.attr("a"), Some("1 & \"2\""));
        let t = root.first_local("t").unwrap();
        assert_eq!(t.ns.as_deref(), Some("urn:g"));
        assert_eq!(t.text(), "a < b & c");
        let out = write(&root, false);
        assert_eq!(parse(&out).unwrap(), root);
        assert!(out.contains("a &lt; b &amp; c"), "{out}");
    }

    #[test]
    fn broken_documents_are_refused() {
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a/><b/>").is_err());
        assert!(parse("").is_err());
        assert!(parse("<x:a/>").unwrap_err().contains("prefix"));
        assert!(parse("<!DOCTYPE a [<!ENTITY e \"boom\">]><a>&e;</a>").is_err());
    }

    #[test]
    fn hostile_text_is_written_well_formed() {
        let root = Element::new("a", None)
            .with_attr("v", "\"<&>\u{1}")
            .with_text("x\u{0}y <&> ]]> \u{1b}");
        let out = write(&root, true);
        let back = parse(&out).unwrap();
        assert_eq!(back.text(), "xy <&> ]]> ");
        assert_eq!(back.attr("v"), Some("\"<&>"));
    }
}
