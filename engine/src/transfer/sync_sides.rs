//! The sides a sync merges. A [`Side`] says where one is: a local directory or a bucket's
//! prefix. Opened, it streams its entries in key order as [`Item`]s: a local tree walked on
//! a blocking thread through a bounded channel ([`LocalTree`]), or an S3 listing read one
//! ListObjectsV2 page at a time ([`Listing`]). Both drop what the filters leave out and what
//! is no object (a key ending in `/`), and neither holds more than a channel's or a page's
//! worth of entries.

use super::filter::Filters;
use super::merge::{Keyed, Sorted};
use super::walk::{Walk, WalkItem, WalkOptions};
use super::{TransferError, Transfers};
use crate::s3::{ListObjects, ListPages};
use crate::time::unix_seconds;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where one side of a sync is.
#[derive(Debug)]
pub(crate) enum Side<'a> {
    /// A local directory.
    Local(&'a Path),
    /// `s3://bucket/prefix…` (`prefix` empty or ending in `/`).
    S3 { bucket: &'a str, prefix: String },
}

impl<'a> Side<'a> {
    /// `s3://bucket/prefix…`, a `/` added to a non-empty prefix that lacks one.
    pub(crate) fn s3(bucket: &'a str, prefix: &str) -> Self {
        let prefix = super::dirs::key_prefix(prefix);
        Self::S3 { bucket, prefix }
    }

    /// How failures of the whole side name it: the directory, or `s3://bucket/prefix`.
    pub(crate) fn name(&self) -> String {
        match self {
            Self::Local(dir) => dir.display().to_string(),
            Self::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
        }
    }

    /// Starts reading the side (a destination directory that does not exist is empty).
    pub(crate) fn open(&self, engine: &Transfers, filters: &Filters, destination: bool) -> Stream {
        match self {
            Self::Local(dir) => {
                let options = WalkOptions {
                    follow_symlinks: engine.config.follow_symlinks,
                    skip_temporary: true,
                    missing_root_is_empty: destination,
                };
                Stream::Local(LocalTree {
                    walk: Walk::start(dir, options),
                    filters: filters.clone(),
                })
            }
            Self::S3 { bucket, prefix } => Stream::S3(Box::new(Listing::new(
                engine,
                bucket,
                prefix,
                filters.clone(),
            ))),
        }
    }

    /// Where the entry `relative` goes on this side, or why it cannot be written there (a
    /// key that is no plain path below the directory, a target that is no regular file).
    pub(crate) fn target(&self, relative: &str) -> Result<Place, String> {
        match self {
            Self::Local(dir) => {
                let path = super::dirs::exact_local_path(dir, relative)
                    .ok_or_else(|| super::dirs::NOT_A_LOCAL_PATH.to_owned())?;
                match super::pass_through::not_overwritten(&path) {
                    Some(reason) => Err(reason),
                    None => Ok(Place::File(path)),
                }
            }
            Self::S3 { bucket, prefix } => Ok(Place::Object(
                Arc::from(*bucket),
                format!("{prefix}{relative}"),
            )),
        }
    }
}

/// Where one entry is: a local file or an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Place {
    /// A local file.
    File(PathBuf),
    /// `s3://bucket/key`: the bucket (shared by a listing's objects) and the whole key.
    Object(Arc<str>, String),
}

impl Place {
    /// The path, or `s3://bucket/key`.
    pub(crate) fn name(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Object(bucket, key) => format!("s3://{bucket}/{key}"),
        }
    }
}

/// A file or an object one side holds.
#[derive(Debug)]
pub(crate) struct Found {
    /// Its key below the side's root (`/`-separated).
    pub(crate) relative: String,
    /// Its size.
    pub(crate) size: u64,
    /// When it was last modified (seconds since the epoch, nanoseconds; a file's in whole
    /// seconds), when known.
    pub(crate) time: Option<(i64, u32)>,
    /// Where it is.
    pub(crate) place: Place,
}

/// What a side gives the merge.
#[derive(Debug)]
pub(crate) enum Item {
    /// A file or an object.
    Found(Found),
    /// Left out of a local tree for a reason the user must hear (a link, a FIFO).
    Skipped {
        /// The path.
        name: String,
        /// Below the root, when it is valid UTF-8.
        relative: Option<String>,
        /// Why.
        reason: String,
    },
    /// Part of a local tree that could not be read: what lies at or below `relative` (a
    /// key, or a prefix `d/`) is unknown.
    Unreadable {
        /// The path.
        name: String,
        /// What it leaves unknown; `None` when the name is not valid UTF-8.
        relative: Option<String>,
        /// Why.
        error: TransferError,
    },
    /// The side could not be read on (a listing page failed): nothing follows.
    Failed(TransferError),
}

impl Keyed for Item {
    fn key(&self) -> Option<&str> {
        match self {
            Self::Found(found) => Some(&found.relative),
            Self::Skipped { relative, .. } | Self::Unreadable { relative, .. } => {
                relative.as_deref()
            }
            Self::Failed(_) => None,
        }
    }
}

/// An opened side.
pub(crate) enum Stream {
    /// A local tree being walked.
    Local(LocalTree),
    /// A listing being read.
    S3(Box<Listing>),
}

impl Stream {
    /// Stops reading and waits for what feeds the side (the walk's thread).
    pub(crate) async fn finish(self) {
        if let Self::Local(tree) = self {
            tree.walk.finish().await;
        }
    }
}

impl Sorted for Stream {
    type Item = Item;

    async fn next(&mut self) -> Option<Item> {
        match self {
            Self::Local(tree) => tree.next().await,
            Self::S3(listing) => listing.next().await,
        }
    }
}

/// A local directory, walked in key order (the walk's items, filtered, as sync items).
pub(crate) struct LocalTree {
    walk: Walk,
    filters: Filters,
}

impl LocalTree {
    async fn next(&mut self) -> Option<Item> {
        loop {
            let item = match self.walk.next().await? {
                WalkItem::File {
                    path,
                    relative,
                    metadata,
                } => {
                    if !self.filters.allows(&relative) {
                        continue;
                    }
                    Item::Found(Found {
                        relative,
                        size: metadata.len(),
                        time: metadata.modified().ok().map(|t| (unix_seconds(t), 0)),
                        place: Place::File(path),
                    })
                }
                WalkItem::Skipped {
                    relative: Some(relative),
                    ..
                } if !self.filters.allows(&relative) => continue,
                WalkItem::Skipped {
                    name,
                    relative,
                    reason,
                } => Item::Skipped {
                    name,
                    relative,
                    reason,
                },
                WalkItem::Error {
                    name,
                    relative,
                    error,
                } => Item::Unreadable {
                    name,
                    relative,
                    error,
                },
            };
            return Some(item);
        }
    }
}

/// The objects under a prefix, page by page: a failed page ends it, as an error (which has
/// no key, so the merge passes it on at once).
///
/// Amazon S3 lists keys in UTF-8 byte order, which the merge relies on, so there the
/// listing streams and memory stays flat. Other stores need not: SeaweedFS lists a
/// "directory" before the keys that extend its name (`logs/1` before `logs-archive/1`). On
/// a custom endpoint (unless [`super::TransferConfig::sorted_listings`] says otherwise) the
/// whole listing is therefore read first and sorted (memory grows with the number of
/// objects, as before the merge); a page that fails then ends the listing before any object
/// is given, so nothing is decided on part of it.
pub(crate) struct Listing {
    pages: ListPages,
    page: std::vec::IntoIter<crate::s3::xml::Object>,
    bucket: Arc<str>,
    prefix: String,
    filters: Filters,
    failed: bool,
    /// Read everything and sort it before giving the first object.
    sort_first: bool,
    /// The sorted listing, once read (`sort_first`).
    sorted: Option<std::vec::IntoIter<Found>>,
}

impl Listing {
    /// Lists `s3://bucket/prefix…` (`prefix` empty or ending in `/`).
    pub(crate) fn new(engine: &Transfers, bucket: &str, prefix: &str, filters: Filters) -> Self {
        let list = ListObjects {
            prefix: (!prefix.is_empty()).then(|| prefix.to_owned()),
            ..ListObjects::default()
        };
        Self {
            pages: engine.client.list_objects(bucket, list),
            page: Vec::new().into_iter(),
            bucket: Arc::from(bucket),
            prefix: prefix.to_owned(),
            filters,
            failed: false,
            sort_first: !engine
                .config
                .sorted_listings
                .unwrap_or(!engine.client.endpoint().is_custom()),
            sorted: None,
        }
    }

    /// The next object, in byte order of the keys.
    async fn next(&mut self) -> Option<Item> {
        if !self.sort_first {
            return self.next_listed().await.map(listed);
        }
        if self.sorted.is_none() {
            let mut all = Vec::new();
            while let Some(item) = self.next_listed().await {
                match item {
                    Ok(found) => all.push(found),
                    Err(error) => {
                        // Only the error: nothing is decided on part of a listing.
                        self.sorted = Some(Vec::new().into_iter());
                        return Some(Item::Failed(error));
                    }
                }
            }
            all.sort_unstable_by(|a, b| a.relative.cmp(&b.relative));
            self.sorted = Some(all.into_iter());
        }
        self.sorted.as_mut()?.next().map(Item::Found)
    }

    /// The next object in the store's own order.
    async fn next_listed(&mut self) -> Option<Result<Found, TransferError>> {
        while !self.failed {
            let Some(object) = self.page.next() else {
                match self.pages.next_page().await {
                    Ok(Some(page)) => self.page = page.contents.into_iter(),
                    Ok(None) => return None,
                    Err(error) => {
                        self.failed = true;
                        return Some(Err(error.into()));
                    }
                }
                continue;
            };
            let Some(relative) = object.key.strip_prefix(&self.prefix) else {
                continue;
            };
            if object.key.ends_with('/') || !self.filters.allows(relative) {
                continue;
            }
            let time = object
                .last_modified
                .as_deref()
                .and_then(crate::time::parse_iso8601);
            return Some(Ok(Found {
                relative: relative.to_owned(),
                size: object.size,
                time,
                place: Place::Object(self.bucket.clone(), object.key),
            }));
        }
        None
    }
}

/// A listed object, or the error that ended the listing, as an item.
fn listed(result: Result<Found, TransferError>) -> Item {
    result.map_or_else(Item::Failed, Item::Found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_side_places_an_entry_below_its_root_or_says_why_not() {
        let s3 = Side::s3("b", "p");
        assert_eq!(s3.name(), "s3://b/p/");
        let object = s3.target("a/x").unwrap();
        assert_eq!(object, Place::Object("b".into(), "p/a/x".into()));
        assert_eq!(object.name(), "s3://b/p/a/x");
        assert_eq!(Side::s3("b", "").target("x").unwrap().name(), "s3://b/x");

        let dir = Path::new("/nonexistent/ferry-sync");
        let local = Side::Local(dir);
        assert_eq!(local.name(), "/nonexistent/ferry-sync");
        assert_eq!(local.target("a/x").unwrap(), Place::File(dir.join("a/x")));
        for key in ["../x", "a//x", "a/./x", "/x"] {
            assert_eq!(
                local.target(key),
                Err(super::super::dirs::NOT_A_LOCAL_PATH.to_owned()),
                "{key}"
            );
        }
    }
}
