//! The two kinds of side a sync merges: a local tree (walked in key order on a blocking
//! thread, through a bounded channel) and an S3 listing (ListObjectsV2, one page at a time).
//! Both drop what the filters leave out and what is no object (a key ending in `/`), and
//! neither holds more than a channel's or a page's worth of entries.

use super::filter::Filters;
use super::merge::{Keyed, Sorted};
use super::walk::{WalkItem, WalkOptions, walk};
use super::{TransferError, Transfers};
use crate::s3::{ListObjects, ListPages};
use tokio::sync::mpsc;

/// Files walked ahead of the merge.
const WALK_AHEAD: usize = 1024;

impl Keyed for WalkItem {
    fn key(&self) -> Option<&str> {
        match self {
            Self::File { relative, .. } => Some(relative),
            Self::Skipped { relative, .. } | Self::Error { relative, .. } => relative.as_deref(),
        }
    }
}

/// A local directory, walked in key order.
pub(crate) struct LocalTree {
    items: mpsc::Receiver<WalkItem>,
    walker: tokio::task::JoinHandle<()>,
    filters: Filters,
}

impl LocalTree {
    /// Starts walking `root` (on a blocking thread, at most [`WALK_AHEAD`] items ahead).
    pub(crate) fn walk(root: &std::path::Path, options: WalkOptions, filters: Filters) -> Self {
        let (tx, items) = mpsc::channel(WALK_AHEAD);
        let root = root.to_owned();
        let walker = tokio::task::spawn_blocking(move || walk(&root, options, &tx));
        Self {
            items,
            walker,
            filters,
        }
    }

    /// Stops the walk (if it is still going) and waits for its thread.
    pub(crate) async fn finish(self) {
        drop(self.items);
        let _ = self.walker.await;
    }
}

impl Sorted for LocalTree {
    type Item = WalkItem;

    async fn next(&mut self) -> Option<WalkItem> {
        loop {
            let item = self.items.recv().await?;
            let allowed = match &item {
                WalkItem::File { relative, .. } => self.filters.allows(relative),
                WalkItem::Skipped {
                    relative: Some(relative),
                    ..
                } => self.filters.allows(relative),
                _ => true,
            };
            if allowed {
                return Some(item);
            }
        }
    }
}

/// An object of a listing.
#[derive(Debug)]
pub(crate) struct Listed {
    /// Its whole key.
    pub(crate) key: String,
    /// Its key below the listed prefix.
    pub(crate) relative: String,
    /// Its size.
    pub(crate) size: u64,
    /// Its `LastModified` (seconds since the epoch, nanoseconds), when it parses.
    pub(crate) time: Option<(i64, u32)>,
}

impl Keyed for Result<Listed, TransferError> {
    fn key(&self) -> Option<&str> {
        self.as_ref().ok().map(|listed| listed.relative.as_str())
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
    prefix: String,
    filters: Filters,
    failed: bool,
    /// Read everything and sort it before giving the first object.
    sort_first: bool,
    /// The sorted listing, once read (`sort_first`).
    sorted: Option<std::vec::IntoIter<Result<Listed, TransferError>>>,
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

    /// The whole listing in byte order of the keys; only the error if a page failed.
    async fn read_sorted(&mut self) -> Vec<Result<Listed, TransferError>> {
        let mut all = Vec::new();
        while let Some(item) = self.next_listed().await {
            match item {
                Ok(listed) => all.push(listed),
                Err(error) => return vec![Err(error)],
            }
        }
        all.sort_unstable_by(|a: &Listed, b: &Listed| a.relative.cmp(&b.relative));
        all.into_iter().map(Ok).collect()
    }
}

impl Sorted for Listing {
    type Item = Result<Listed, TransferError>;

    async fn next(&mut self) -> Option<Self::Item> {
        if !self.sort_first {
            return self.next_listed().await;
        }
        if self.sorted.is_none() {
            let all = self.read_sorted().await;
            self.sorted = Some(all.into_iter());
        }
        self.sorted.as_mut()?.next()
    }
}

impl Listing {
    /// The next object in the store's own order.
    async fn next_listed(&mut self) -> Option<Result<Listed, TransferError>> {
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
            return Some(Ok(Listed {
                relative: relative.to_owned(),
                key: object.key,
                size: object.size,
                time,
            }));
        }
        None
    }
}
