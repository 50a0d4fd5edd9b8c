//! A local file's mtime as sync sets it (the object's `LastModified`, parsed by
//! [`crate::time`]).

use super::TransferError;
use std::path::Path;

/// Sets the file's mtime to `seconds`.`nanos` after the epoch (nothing when the platform
/// cannot hold that time).
pub(crate) fn set_mtime(path: &Path, seconds: i64, nanos: u32) -> Result<(), TransferError> {
    match crate::time::from_unix(seconds, nanos) {
        Some(time) => super::download::set_modified(path, time),
        None => Ok(()),
    }
}
