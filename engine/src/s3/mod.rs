//! The S3 API: the client and its typed operations, XML bodies, and the typed S3 error.
//!
//! [`S3Client`] resolves where each request goes ([`crate::endpoint`]), signs it on every
//! attempt ([`crate::sign`]), sends it through the shared pooled connector
//! ([`crate::http`]) and retries what is worth retrying. The operations
//! (ListBuckets … CompleteMultipartUpload) are methods on it, in `ops`.

mod client;
pub mod error;
pub mod etag;
mod ops;
mod request;
pub mod xml;

pub use client::{Error, S3Client};
pub use error::S3Error;
pub use ops::{
    ChecksumHeader, CreatedUpload, GetObjectOutput, ListObjects, ListPages, ObjectHeaders,
    ObjectInfo, PutOptions, ServerSideEncryption, parse_content_range,
};
pub use request::S3Request;
