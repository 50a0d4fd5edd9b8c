//! A small element tree for STS answers (`<AssumeRoleResponse>`, `<ErrorResponse>`), read with
//! quick-xml's pull reader. Names are local names: the STS namespace changes nothing.

use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};

/// Deeper than any STS document.
const MAX_DEPTH: usize = 16;

/// One element: its local name, its text and its child elements.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) name: String,
    pub(crate) text: String,
    pub(crate) children: Vec<Element>,
}

impl Element {
    /// The first child called `name`.
    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The trimmed text of the child `name`, if present.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }

    /// The trimmed text of the child `name`, which must be present and not empty.
    pub(crate) fn required(&self, name: &str) -> Result<&str, String> {
        match self.text(name) {
            Some(text) if !text.is_empty() => Ok(text),
            _ => Err(format!("<{}> has no <{name}>", self.name)),
        }
    }
}

/// Reads the root element of `body`.
pub(crate) fn parse(body: &[u8]) -> Result<Element, String> {
    let mut reader = Reader::from_reader(body);
    let mut stack: Vec<Element> = Vec::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("malformed XML: {e}"))?;
        let closed = match event {
            Event::Start(start) => {
                open(&mut stack, &start)?;
                None
            }
            Event::Empty(start) => {
                open(&mut stack, &start)?;
                close(&mut stack)
            }
            Event::End(_) => close(&mut stack),
            Event::Text(t) => {
                let text = t
                    .xml10_content()
                    .map_err(|e| format!("malformed XML: {e}"))?;
                push_text(&mut stack, &text)?;
                None
            }
            Event::CData(c) => {
                let text = c
                    .xml10_content()
                    .map_err(|e| format!("malformed XML: {e}"))?;
                push_text(&mut stack, &text)?;
                None
            }
            Event::GeneralRef(r) => {
                push_text(&mut stack, &resolve(&r)?)?;
                None
            }
            Event::Eof => {
                return Err(match stack.last() {
                    Some(open) => {
                        format!("malformed XML: the document ends inside <{}>", open.name)
                    }
                    None => "malformed XML: no root element".into(),
                });
            }
            _ => None,
        };
        if let Some(root) = closed {
            return Ok(root);
        }
    }
}

fn open(stack: &mut Vec<Element>, start: &BytesStart<'_>) -> Result<(), String> {
    if stack.len() >= MAX_DEPTH {
        return Err(format!(
            "malformed XML: elements nested deeper than {MAX_DEPTH}"
        ));
    }
    let name = std::str::from_utf8(start.local_name().into_inner())
        .map_err(|e| format!("malformed XML: {e}"))?;
    stack.push(Element {
        name: name.to_owned(),
        ..Element::default()
    });
    Ok(())
}

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

fn push_text(stack: &mut [Element], text: &str) -> Result<(), String> {
    match stack.last_mut() {
        Some(open) => open.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err("malformed XML: text outside the root element".into()),
    }
    Ok(())
}

fn resolve(reference: &BytesRef<'_>) -> Result<String, String> {
    if let Some(c) = reference
        .resolve_char_ref()
        .map_err(|e| format!("malformed XML: {e}"))?
    {
        return Ok(c.to_string());
    }
    let name = reference
        .decode()
        .map_err(|e| format!("malformed XML: {e}"))?;
    quick_xml::escape::resolve_xml_entity(&name)
        .map(str::to_owned)
        .ok_or_else(|| format!("malformed XML: unknown entity &{name};"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_text_with_entities_and_namespace() {
        let root = parse(
            br#"<R xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><A><B> x &amp; y </B></A></R>"#,
        )
        .unwrap();
        assert_eq!(root.name, "R");
        assert_eq!(root.child("A").unwrap().text("B"), Some("x & y"));
        assert!(root.child("A").unwrap().required("C").is_err());
    }

    #[test]
    fn truncated_documents_are_errors() {
        assert!(parse(b"<R><A>").is_err());
        assert!(parse(b"").is_err());
    }
}
