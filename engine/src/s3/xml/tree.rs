//! A small element tree read with quick-xml's pull reader.
//!
//! S3 bodies are small (a list page holds at most 1000 entries), so reading them into a tree
//! first keeps every typed parser a few lines long and makes unknown elements free to ignore.
//! Element names are local names: a namespace prefix or `xmlns` attribute changes nothing.

use super::XmlError;
use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};
use std::fmt::Display;
use std::str::FromStr;

/// Deeper than any S3 document; bounds the work (and the recursive drop) of hostile input.
const MAX_DEPTH: usize = 32;

/// One element: its local name, its text (all text children joined) and its child elements.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) name: String,
    pub(crate) text: String,
    pub(crate) children: Vec<Element>,
}

/// Reads the root element of `body`. Text after the root's end is not read.
pub(crate) fn parse(body: &[u8]) -> Result<Element, XmlError> {
    let mut reader = Reader::from_reader(body);
    let mut stack: Vec<Element> = Vec::new();
    loop {
        let closed = match reader.read_event().map_err(malformed)? {
            Event::Start(start) => open(&mut stack, &start).map(|()| None)?,
            Event::Empty(start) => open(&mut stack, &start).map(|()| close(&mut stack))?,
            Event::End(_) => close(&mut stack),
            Event::Text(t) => push_text(&mut stack, &t.xml10_content().map_err(malformed)?)?,
            Event::CData(c) => push_text(&mut stack, &c.xml10_content().map_err(malformed)?)?,
            Event::GeneralRef(r) => push_text(&mut stack, resolve(&r)?.as_str())?,
            Event::Eof => return Err(XmlError::Malformed(unexpected_end(&stack))),
            _ => None,
        };
        if let Some(root) = closed {
            return Ok(root);
        }
    }
}

/// Parses `body` and checks that its root is `expected`.
pub(crate) fn parse_root(body: &[u8], expected: &'static str) -> Result<Element, XmlError> {
    let root = parse(body)?;
    if root.name != expected {
        return Err(XmlError::UnexpectedRoot {
            expected,
            found: root.name,
        });
    }
    Ok(root)
}

pub(crate) fn malformed(error: impl Display) -> XmlError {
    XmlError::Malformed(error.to_string())
}

fn unexpected_end(stack: &[Element]) -> String {
    match stack.last() {
        Some(open) => format!("the document ends inside <{}>", open.name),
        None => "no root element".into(),
    }
}

fn open(stack: &mut Vec<Element>, start: &BytesStart<'_>) -> Result<(), XmlError> {
    if stack.len() >= MAX_DEPTH {
        return Err(XmlError::Malformed(format!(
            "elements nested deeper than {MAX_DEPTH}"
        )));
    }
    let name = std::str::from_utf8(start.local_name().into_inner()).map_err(malformed)?;
    stack.push(Element {
        name: name.to_owned(),
        ..Element::default()
    });
    Ok(())
}

/// Pops the innermost element into its parent; returns it when it was the root.
fn close(stack: &mut Vec<Element>) -> Option<Element> {
    let done = stack.pop()?;
    match stack.last_mut() {
        Some(parent) => {
            parent.children.push(done);
            None
        }
        None => Some(done),
    }
}

/// Appends text to the open element; outside the root only whitespace is allowed.
fn push_text(stack: &mut [Element], text: &str) -> Result<Option<Element>, XmlError> {
    match stack.last_mut() {
        Some(open) => open.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err(XmlError::Malformed("text outside the root element".into())),
    }
    Ok(None)
}

/// Resolves `&name;` (the five predefined entities) and `&#n;` / `&#xn;`.
fn resolve(reference: &BytesRef<'_>) -> Result<String, XmlError> {
    if let Some(c) = reference.resolve_char_ref().map_err(malformed)? {
        return Ok(c.to_string());
    }
    let name = reference.decode().map_err(malformed)?;
    quick_xml::escape::resolve_xml_entity(&name)
        .map(str::to_owned)
        .ok_or_else(|| XmlError::Malformed(format!("unknown entity &{name};")))
}

impl Element {
    /// The first child called `name`.
    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child called `name`, in document order.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first child called `name`, as written (not trimmed).
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.child(name).map(|c| c.text.clone())
    }

    /// The text of the child `name`, which must be present.
    pub(crate) fn required(&self, name: &'static str) -> Result<String, XmlError> {
        self.text(name).ok_or_else(|| XmlError::Missing {
            parent: self.name.clone(),
            element: name,
        })
    }

    /// The child `name` parsed as a number (surrounding whitespace allowed), if present and
    /// not empty.
    pub(crate) fn number<T: FromStr>(&self, name: &'static str) -> Result<Option<T>, XmlError> {
        let Some(text) = self.child(name).map(|c| c.text.trim()) else {
            return Ok(None);
        };
        if text.is_empty() {
            return Ok(None);
        }
        text.parse().map(Some).map_err(|_| invalid(name, text))
    }

    /// The child `name`, which must be present, parsed as a number.
    pub(crate) fn required_number<T: FromStr>(&self, name: &'static str) -> Result<T, XmlError> {
        self.number(name)?.ok_or_else(|| XmlError::Missing {
            parent: self.name.clone(),
            element: name,
        })
    }

    /// The child `name` as a boolean (`true`/`false`); absent means `false`.
    pub(crate) fn flag(&self, name: &'static str) -> Result<bool, XmlError> {
        match self.child(name).map(|c| c.text.trim()) {
            None => Ok(false),
            Some(t) if t.eq_ignore_ascii_case("true") => Ok(true),
            Some(t) if t.eq_ignore_ascii_case("false") => Ok(false),
            Some(t) => Err(invalid(name, t)),
        }
    }
}

/// An [`XmlError::Invalid`] with the value shortened for messages.
pub(crate) fn invalid(element: &'static str, value: &str) -> XmlError {
    XmlError::Invalid {
        element,
        value: value.chars().take(64).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_local_so_namespace_prefixes_are_ignored() {
        let root = parse(br#"<s3:A xmlns:s3="urn:x"><s3:B>1</s3:B></s3:A>"#).unwrap();
        assert_eq!(root.name, "A");
        assert_eq!(root.text("B").as_deref(), Some("1"));
    }

    #[test]
    fn entities_character_references_and_cdata_are_resolved() {
        let root = parse(b"<A><B>a&amp;b&lt;&#x263A;&#65;<![CDATA[<x>]]></B></A>").unwrap();
        assert_eq!(root.text("B").as_deref(), Some("a&b<\u{263A}A<x>"));
    }

    #[test]
    fn escaped_carriage_return_survives_while_raw_crlf_is_normalized() {
        let root = parse(b"<A><B>x&#13;\ny\r\nz</B></A>").unwrap();
        assert_eq!(root.text("B").as_deref(), Some("x\r\ny\nz"));
    }

    #[test]
    fn whitespace_in_text_is_kept() {
        let root = parse(b"<A><B>  padded  </B></A>").unwrap();
        assert_eq!(root.text("B").as_deref(), Some("  padded  "));
    }

    #[test]
    fn byte_order_mark_and_declaration_are_skipped() {
        let root = parse(b"\xEF\xBB\xBF<?xml version=\"1.0\"?><!-- c --><A>x</A>").unwrap();
        assert_eq!(root.text, "x");
    }

    #[test]
    fn unknown_entity_is_an_error() {
        assert!(matches!(
            parse(b"<A>&nbsp;</A>"),
            Err(XmlError::Malformed(_))
        ));
    }

    #[test]
    fn truncated_document_is_an_error() {
        let error = parse(b"<A><B>text</B>").unwrap_err();
        assert!(error.to_string().contains("ends inside <A>"), "{error}");
    }

    #[test]
    fn mismatched_end_tag_is_an_error() {
        assert!(matches!(parse(b"<A><B></A>"), Err(XmlError::Malformed(_))));
    }

    #[test]
    fn plain_text_is_not_a_document() {
        assert!(parse(b"502 Bad Gateway").is_err());
        assert!(parse(b"").is_err());
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        assert!(parse(b"<A><B>\xff\xfe</B></A>").is_err());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let body = "<a>".repeat(100_000);
        let error = parse(body.as_bytes()).unwrap_err();
        assert!(error.to_string().contains("deeper"), "{error}");
    }

    #[test]
    fn bad_number_and_bad_flag_name_the_element() {
        let root = parse(b"<A><Size>12x</Size><IsTruncated>maybe</IsTruncated></A>").unwrap();
        assert!(matches!(
            root.number::<u64>("Size"),
            Err(XmlError::Invalid {
                element: "Size",
                ..
            })
        ));
        assert!(matches!(
            root.flag("IsTruncated"),
            Err(XmlError::Invalid {
                element: "IsTruncated",
                ..
            })
        ));
    }
}
