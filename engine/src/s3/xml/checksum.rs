//! The `Checksum*` elements shared by parts, copies and completed uploads.

use super::text::XmlWriter;
use super::tree::Element;

/// The checksums S3 reports or accepts, base64-encoded as on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checksums {
    /// `ChecksumCRC32`.
    pub crc32: Option<String>,
    /// `ChecksumCRC32C`.
    pub crc32c: Option<String>,
    /// `ChecksumCRC64NVME`.
    pub crc64nvme: Option<String>,
    /// `ChecksumSHA1`.
    pub sha1: Option<String>,
    /// `ChecksumSHA256`.
    pub sha256: Option<String>,
}

impl Checksums {
    /// Whether no checksum is present.
    pub fn is_empty(&self) -> bool {
        self.fields().iter().all(|(_, v)| v.is_none())
    }

    /// (element name, value) pairs in the order S3 documents them.
    fn fields(&self) -> [(&'static str, &Option<String>); 5] {
        [
            ("ChecksumCRC32", &self.crc32),
            ("ChecksumCRC32C", &self.crc32c),
            ("ChecksumCRC64NVME", &self.crc64nvme),
            ("ChecksumSHA1", &self.sha1),
            ("ChecksumSHA256", &self.sha256),
        ]
    }

    /// Reads the checksum children of `element`.
    pub(crate) fn read(element: &Element) -> Self {
        Self {
            crc32: element.text("ChecksumCRC32"),
            crc32c: element.text("ChecksumCRC32C"),
            crc64nvme: element.text("ChecksumCRC64NVME"),
            sha1: element.text("ChecksumSHA1"),
            sha256: element.text("ChecksumSHA256"),
        }
    }

    /// Writes the checksums that are present.
    pub(crate) fn write(&self, writer: &mut XmlWriter) {
        for (name, value) in self.fields() {
            writer.leaf_opt(name, value.as_deref());
        }
    }
}
