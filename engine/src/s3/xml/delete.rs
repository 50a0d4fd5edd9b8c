//! DeleteObjects: the `<Delete>` request body and the `<DeleteResult>` answer.

use super::XmlError;
use super::list::read_all;
use super::text::XmlWriter;
use super::tree::{Element, parse_root};

/// The most keys one DeleteObjects request takes.
pub const MAX_DELETE_KEYS: usize = 1000;

/// One object to delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectIdentifier {
    /// The key.
    pub key: String,
    /// A specific version, in a versioned bucket.
    pub version_id: Option<String>,
}

impl ObjectIdentifier {
    /// The current version of `key`.
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            version_id: None,
        }
    }

    fn write(&self, writer: &mut XmlWriter) {
        writer.open("Object");
        writer.leaf("Key", &self.key);
        writer.leaf_opt("VersionId", self.version_id.as_deref());
        writer.close("Object");
    }
}

/// DeleteObjects' request body. In `quiet` mode the store reports only the failures.
/// Refuses an empty list and more than [`MAX_DELETE_KEYS`] objects (S3 would answer
/// `MalformedXML`): split larger sets into several requests. Refuses a key XML cannot carry
/// (see [`super::xml_can_carry`]): delete that one with DeleteObject.
pub fn delete_objects_xml(objects: &[ObjectIdentifier], quiet: bool) -> Result<String, XmlError> {
    if objects.is_empty() {
        return Err(XmlError::NoKeys);
    }
    if objects.len() > MAX_DELETE_KEYS {
        return Err(XmlError::TooManyKeys {
            count: objects.len(),
        });
    }
    if let Some(object) = objects.iter().find(|o| !super::xml_can_carry(&o.key)) {
        return Err(XmlError::Unwritable {
            key: object.key.clone(),
        });
    }
    let mut writer = XmlWriter::new("Delete");
    for object in objects {
        object.write(&mut writer);
    }
    writer.leaf("Quiet", if quiet { "true" } else { "false" });
    Ok(writer.finish("Delete"))
}

/// DeleteObjects' answer: what was deleted (nothing listed in quiet mode) and what was not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteResult {
    /// The objects deleted.
    pub deleted: Vec<DeletedObject>,
    /// The objects that could not be deleted, and why.
    pub errors: Vec<DeleteError>,
}

/// One deleted object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeletedObject {
    /// The key.
    pub key: String,
    /// The version deleted, in a versioned bucket.
    pub version_id: Option<String>,
}

/// One object DeleteObjects could not delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteError {
    /// The key.
    pub key: String,
    /// The version, in a versioned bucket.
    pub version_id: Option<String>,
    /// The S3 error code, e.g. `AccessDenied`.
    pub code: String,
    /// The store's message.
    pub message: String,
}

impl DeleteResult {
    /// Parses a DeleteObjects answer.
    pub fn parse(body: &[u8]) -> Result<Self, XmlError> {
        let root = parse_root(body, "DeleteResult")?;
        Ok(Self {
            deleted: read_all(&root, "Deleted", DeletedObject::read)?,
            errors: read_all(&root, "Error", DeleteError::read)?,
        })
    }
}

impl DeletedObject {
    fn read(element: &Element) -> Result<Self, XmlError> {
        Ok(Self {
            key: element.required("Key")?,
            version_id: element.text("VersionId"),
        })
    }
}

impl DeleteError {
    fn read(element: &Element) -> Result<Self, XmlError> {
        Ok(Self {
            key: element.text("Key").unwrap_or_default(),
            version_id: element.text("VersionId"),
            code: element.required("Code")?,
            message: element.text("Message").unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tree::parse;
    use super::*;

    /// The DeleteObjects example of the S3 API reference, with one failure.
    const DELETE_RESULT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Deleted>
    <Key>sample1.txt</Key>
  </Deleted>
  <Error>
    <Key>sample2.txt</Key>
    <Code>AccessDenied</Code>
    <Message>Access Denied</Message>
  </Error>
</DeleteResult>"#;

    const AWKWARD_KEYS: [&str; 5] = [
        r#"a&b<c>"d'"#,
        "日本語/ファイル é ü.txt",
        " leading and trailing spaces ",
        "line\r\nbreak\ttab",
        "emoji 🦀 + plus %25",
    ];

    fn keys_of(xml: &str) -> Vec<String> {
        let root = parse(xml.as_bytes()).unwrap();
        root.all("Object")
            .map(|o| o.required("Key").unwrap())
            .collect()
    }

    #[test]
    fn delete_result_example_yields_deleted_and_errors() {
        let result = DeleteResult::parse(DELETE_RESULT.as_bytes()).unwrap();
        assert_eq!(result.deleted.len(), 1);
        assert_eq!(result.deleted[0].key, "sample1.txt");
        assert_eq!(result.errors.len(), 1);
        assert_eq!(result.errors[0].key, "sample2.txt");
        assert_eq!(result.errors[0].code, "AccessDenied");
        assert_eq!(result.errors[0].message, "Access Denied");
    }

    #[test]
    fn quiet_delete_result_is_empty() {
        let result = DeleteResult::parse(b"<DeleteResult/>").unwrap();
        assert!(result.deleted.is_empty() && result.errors.is_empty());
    }

    #[test]
    fn delete_request_round_trips_awkward_keys() {
        let objects: Vec<_> = AWKWARD_KEYS
            .iter()
            .map(|k| ObjectIdentifier::new(*k))
            .collect();
        let xml = delete_objects_xml(&objects, true).unwrap();
        assert_eq!(keys_of(&xml), AWKWARD_KEYS);
    }

    #[test]
    fn delete_request_writes_carriage_return_as_a_character_reference() {
        let xml = delete_objects_xml(&[ObjectIdentifier::new("a\rb\r\nc")], true).unwrap();
        assert!(xml.contains("<Key>a&#13;b&#13;&#10;c</Key>"), "{xml}");
        assert!(!xml.contains('\r'), "{xml:?}");
        assert_eq!(keys_of(&xml), ["a\rb\r\nc"]);
    }

    #[test]
    fn delete_request_refuses_keys_xml_cannot_carry() {
        for key in ["a\u{1}b", "esc\u{1b}[31m", "nul\0", "\u{FFFE}"] {
            let objects = [ObjectIdentifier::new("fine"), ObjectIdentifier::new(key)];
            let err = delete_objects_xml(&objects, true).unwrap_err();
            assert_eq!(err, XmlError::Unwritable { key: key.into() });
            assert!(!super::super::xml_can_carry(key));
        }
        for key in ["tab\there", "cr\r", "lf\n", "\u{7f}del", "🦀", "\u{FFFD}"] {
            assert!(super::super::xml_can_carry(key), "{key:?}");
        }
    }

    #[test]
    fn delete_request_is_quiet_when_asked_and_namespaced() {
        let xml = delete_objects_xml(&[ObjectIdentifier::new("k")], true).unwrap();
        let root = parse(xml.as_bytes()).unwrap();
        assert_eq!(root.name, "Delete");
        assert_eq!(root.text("Quiet").as_deref(), Some("true"));
        assert!(xml.contains(r#"<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#));
        let loud = delete_objects_xml(&[ObjectIdentifier::new("k")], false).unwrap();
        assert!(loud.contains("<Quiet>false</Quiet>"));
    }

    #[test]
    fn delete_request_carries_version_ids() {
        let object = ObjectIdentifier {
            key: "k".into(),
            version_id: Some("v1".into()),
        };
        let xml = delete_objects_xml(&[object], true).unwrap();
        let root = parse(xml.as_bytes()).unwrap();
        let written = root.child("Object").unwrap();
        assert_eq!(written.text("VersionId").as_deref(), Some("v1"));
    }

    #[test]
    fn delete_request_takes_exactly_1000_keys_and_refuses_more() {
        let objects: Vec<_> = (0..=MAX_DELETE_KEYS)
            .map(|i| ObjectIdentifier::new(format!("k{i}")))
            .collect();
        let xml = delete_objects_xml(&objects[..MAX_DELETE_KEYS], true).unwrap();
        assert_eq!(keys_of(&xml).len(), MAX_DELETE_KEYS);
        assert_eq!(
            delete_objects_xml(&objects, true),
            Err(XmlError::TooManyKeys { count: 1001 })
        );
    }

    #[test]
    fn delete_request_refuses_no_keys() {
        assert_eq!(delete_objects_xml(&[], true), Err(XmlError::NoKeys));
    }

    #[test]
    fn malformed_delete_result_is_an_error_not_a_panic() {
        assert!(DeleteResult::parse(b"<DeleteResult><Deleted><Key>a</Deleted>").is_err());
        assert!(
            DeleteResult::parse(b"<DeleteResult><Error><Key>a</Key></Error></DeleteResult>")
                .is_err()
        );
    }
}
