//! Writing XML text (escaped) and reading `EncodingType=url` values (decoded).

use super::tree::invalid;
use super::{S3_NAMESPACE, XmlError};

/// Builds a small XML request body. Element names are trusted constants; text is escaped.
#[derive(Debug)]
pub(crate) struct XmlWriter {
    out: String,
}

impl XmlWriter {
    /// Starts a document whose root `root` carries the S3 namespace.
    pub(crate) fn new(root: &str) -> Self {
        let mut out = String::with_capacity(256);
        out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        out.push('<');
        out.push_str(root);
        out.push_str(r#" xmlns=""#);
        out.push_str(S3_NAMESPACE);
        out.push_str(r#"">"#);
        Self { out }
    }

    /// Writes `<name>`.
    pub(crate) fn open(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
    }

    /// Writes `</name>`.
    pub(crate) fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// Writes `<name>text</name>`, escaping the text.
    pub(crate) fn leaf(&mut self, name: &str, text: &str) {
        self.open(name);
        escape_into(text, &mut self.out);
        self.close(name);
    }

    /// Writes `<name>text</name>` when there is a text.
    pub(crate) fn leaf_opt(&mut self, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.leaf(name, text);
        }
    }

    /// Closes the root and returns the document.
    pub(crate) fn finish(mut self, root: &str) -> String {
        self.close(root);
        self.out
    }
}

/// Whether XML 1.0 can carry `text` (as escaped by [`escape_into`]): no control character
/// but tab, line feed and carriage return, and no `U+FFFE`/`U+FFFF`. A key failing this
/// cannot go in an XML body (DeleteObjects): name it in a URL (DeleteObject) instead.
pub fn xml_can_carry(text: &str) -> bool {
    text.chars().all(|c| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
            || c >= '\u{10000}'
    })
}

/// Appends `text` escaped for element content. Besides the five markup characters, every
/// control character is written as a character reference, so that `\r`, `\n` and `\t` in a
/// key reach the store unchanged (a parser would normalize them if written raw).
pub(crate) fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 => {
                out.push_str("&#");
                out.push_str(&(c as u32).to_string());
                out.push(';');
            }
            c => out.push(c),
        }
    }
}

/// Decodes a value S3 sent with `EncodingType=url`: `%XX` escapes and `+` for a space (the
/// form encoding S3 uses; a literal `+` comes as `%2B`).
pub(crate) fn url_decode(element: &'static str, value: &str) -> Result<String, XmlError> {
    let mut bytes = Vec::with_capacity(value.len());
    let mut rest = value.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let (hex, tail) = rest
                    .split_at_checked(2)
                    .ok_or_else(|| invalid(element, value))?;
                bytes.push(hex_byte(hex).ok_or_else(|| invalid(element, value))?);
                rest = tail;
            }
            b => bytes.push(b),
        }
    }
    String::from_utf8(bytes).map_err(|_| invalid(element, value))
}

/// Decodes `%XX` escapes (a `+` stays a `+`); `None` for a bad escape or invalid UTF-8.
#[cfg(feature = "serve")]
pub(crate) fn percent_decode(value: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(value.len());
    let mut rest = value.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        if b == b'%' {
            let (hex, tail) = rest.split_at_checked(2)?;
            bytes.push(hex_byte(hex)?);
            rest = tail;
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8(bytes).ok()
}

fn hex_byte(hex: &[u8]) -> Option<u8> {
    if !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let digits = std::str::from_utf8(hex).ok()?;
    u8::from_str_radix(digits, 16).ok()
}

/// Decodes `value` when `url` is set, else returns it unchanged.
pub(crate) fn maybe_decode(
    url: bool,
    element: &'static str,
    value: String,
) -> Result<String, XmlError> {
    if url {
        url_decode(element, &value)
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        escape_into(text, &mut out);
        out
    }

    #[test]
    fn markup_characters_are_escaped() {
        assert_eq!(escaped(r#"a&b<c>"d'"#), "a&amp;b&lt;c&gt;&quot;d&apos;");
    }

    #[test]
    fn line_breaks_and_tabs_become_character_references() {
        assert_eq!(escaped("a\r\nb\tc"), "a&#13;&#10;b&#9;c");
    }

    #[test]
    fn unicode_and_spaces_are_written_as_is() {
        assert_eq!(
            escaped("dossier été/日本 語.txt"),
            "dossier été/日本 語.txt"
        );
    }

    #[test]
    fn url_decoding_handles_percent_escapes_plus_and_utf8() {
        assert_eq!(url_decode("Key", "a%2Bb+c%26%C3%A9").unwrap(), "a+b c&é");
    }

    #[test]
    fn url_decoding_refuses_truncated_or_bad_escapes() {
        assert!(url_decode("Key", "abc%2").is_err());
        assert!(url_decode("Key", "abc%zz").is_err());
        assert!(url_decode("Key", "%+1").is_err());
    }

    #[test]
    fn url_decoding_refuses_invalid_utf8() {
        assert!(matches!(
            url_decode("Key", "%FF"),
            Err(XmlError::Invalid { element: "Key", .. })
        ));
    }
}
