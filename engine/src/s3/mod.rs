//! The S3 API: XML bodies and the typed S3 error.

pub mod error;
pub mod xml;
