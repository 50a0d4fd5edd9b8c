//! The one local directory walker, for `cp -r` and `sync`: depth-first in S3's key order
//! (UTF-8 bytes of the `/`-separated relative key), streamed through a bounded channel (never
//! held whole), on a blocking thread.
//!
//! As `aws s3 cp --recursive` and `aws s3 sync` do, symbolic links are followed by default: a
//! link to a file is sent as a file under the link's name, a link to a directory is walked
//! into. A directory already on the path from the root (a link loop) is not walked again: it
//! is reported, named, as skipped. So are broken links, links when links are not followed,
//! and what is not a regular file (FIFOs, sockets, devices), which are never opened (opening
//! a FIFO waits for a writer forever). What cannot be read (a missing root, an unreadable
//! directory, a file whose type cannot be read) is reported as an error naming the path.

use super::TransferError;
use std::fs::{FileType, Metadata};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::mpsc;

/// How to walk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WalkOptions {
    /// Follow symbolic links (else they are skipped, each with a warning).
    pub(crate) follow_symlinks: bool,
    /// Leave out files named like a download's temporary file or its resume journal.
    pub(crate) skip_temporary: bool,
    /// A root that does not exist walks as empty (the target of a download) instead of an
    /// error.
    pub(crate) missing_root_is_empty: bool,
}

/// One thing the walk found.
#[derive(Debug)]
pub(crate) enum WalkItem {
    /// A regular file (a link's target when links are followed).
    File {
        /// Its path (through the link, for a linked file).
        path: PathBuf,
        /// Below the root, `/`-separated.
        relative: String,
        /// Its metadata (the target's, for a link).
        metadata: Metadata,
    },
    /// Left out for a reason the user must hear.
    Skipped {
        /// The path.
        name: String,
        /// Below the root, `/`-separated, when it is valid UTF-8.
        relative: Option<String>,
        /// Why.
        reason: String,
    },
    /// Could not be read: what lies below it is unknown.
    Error {
        /// The path.
        name: String,
        /// What it leaves unknown, as a key below the root: a file's key, or a directory's
        /// prefix (`d/`, `` for the root); `None` when the name is not valid UTF-8.
        relative: Option<String>,
        /// Why.
        error: TransferError,
    },
}

/// A directory on the path from the root: its identity and its parent's.
#[derive(Debug)]
struct Ancestor {
    id: (u64, u64),
    parent: Option<Arc<Ancestor>>,
}

impl Ancestor {
    /// True when `id` is this directory or one above it (bounded by the depth of the path).
    fn contains(self: &Arc<Self>, id: (u64, u64)) -> bool {
        let mut next = Some(self);
        while let Some(dir) = next {
            if dir.id == id {
                return true;
            }
            next = dir.parent.as_ref();
        }
        false
    }
}

fn identity(metadata: &Metadata) -> (u64, u64) {
    (metadata.dev(), metadata.ino())
}

/// What a non-regular, non-directory file is, for the warning; `None` for regular files,
/// directories and links.
pub(crate) fn special_kind(kind: FileType) -> Option<&'static str> {
    if kind.is_fifo() {
        Some("FIFO")
    } else if kind.is_socket() {
        Some("socket")
    } else if kind.is_char_device() {
        Some("character device")
    } else if kind.is_block_device() {
        Some("block device")
    } else {
        None
    }
}

/// Items walked ahead of their reader.
const WALK_AHEAD: usize = 1024;

/// A walk running on a blocking thread, read through a bounded channel.
pub(crate) struct Walk {
    items: mpsc::Receiver<WalkItem>,
    walker: tokio::task::JoinHandle<()>,
}

impl Walk {
    /// Starts walking `root` (at most [`WALK_AHEAD`] items ahead of the reader).
    pub(crate) fn start(root: &Path, options: WalkOptions) -> Self {
        let (tx, items) = mpsc::channel(WALK_AHEAD);
        let root = root.to_owned();
        let walker = tokio::task::spawn_blocking(move || walk(&root, options, &tx));
        Self { items, walker }
    }

    /// The next item in key order, or `None` at the end.
    pub(crate) async fn next(&mut self) -> Option<WalkItem> {
        self.items.recv().await
    }

    /// Stops the walk (if it is still going) and waits for its thread.
    pub(crate) async fn finish(self) {
        drop(self.items);
        let _ = self.walker.await;
    }
}

/// Walks `root`, sending what it finds to `tx` in S3's key order; stops early when the
/// receiver is gone.
///
/// Each directory's entries are read whole and sorted by their key's bytes, a directory by
/// its name and a `/` (so `a.txt` < `a/b` < `a0`: `.` < `/` < `0`), then walked lazily in
/// that order: memory is bounded by the directories on the path from the root, never by the
/// tree. Every name a directory holds shares the key prefix `name/`, and no sibling's key
/// falls between `name/` and the keys below it, so the files come out sorted as a
/// ListObjectsV2 listing of the uploaded tree would be.
/// A walk's error: the item names the path, the error says what went wrong there.
fn local(error: std::io::Error) -> TransferError {
    TransferError::Local {
        source: Arc::new(error),
    }
}

pub(crate) fn walk(root: &Path, options: WalkOptions, tx: &mpsc::Sender<WalkItem>) {
    let send = |item: WalkItem| tx.blocking_send(item).is_ok();
    let name = |path: &Path| path.display().to_string();
    let root_metadata = match std::fs::metadata(root) {
        Ok(metadata) if metadata.is_dir() => metadata,
        Ok(_) => {
            let error = local(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "not a directory",
            ));
            send(WalkItem::Error {
                name: name(root),
                relative: Some(String::new()),
                error,
            });
            return;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && options.missing_root_is_empty => {
            return;
        }
        Err(e) => {
            send(WalkItem::Error {
                name: name(root),
                relative: Some(String::new()),
                error: local(e),
            });
            return;
        }
    };
    let top = Arc::new(Ancestor {
        id: identity(&root_metadata),
        parent: None,
    });
    let (entries, error) = read_sorted(root, root, &top, options);
    if let Some(item) = error
        && !send(item)
    {
        return;
    }
    let mut stack = vec![(entries.into_iter(), top)];
    while let Some((entries, ancestors)) = stack.last_mut() {
        let Some(pending) = entries.next() else {
            stack.pop();
            continue;
        };
        let item = match pending.node {
            Node::Walk { path, id } => {
                let parent = Some(ancestors.clone());
                let ancestors = Arc::new(Ancestor { id, parent });
                let (entries, error) = read_sorted(root, &path, &ancestors, options);
                stack.push((entries.into_iter(), ancestors));
                match error {
                    Some(item) => item,
                    None => continue,
                }
            }
            Node::Ready(item) => item,
            Node::Entry(entry) => match classify(root, &entry.path(), &entry, options) {
                Some(item) => item,
                None => continue,
            },
        };
        if !send(item) {
            return;
        }
    }
}

/// A directory entry waiting for its turn in key order.
struct Pending {
    /// Its key's bytes below its directory: the name, and a `/` for a directory walked into.
    key: Vec<u8>,
    node: Node,
}

enum Node {
    /// A directory to walk into (`id` its identity).
    Walk { path: PathBuf, id: (u64, u64) },
    /// Decided already (a link loop).
    Ready(WalkItem),
    /// Classified when its turn comes (files: their metadata is read then, not held).
    Entry(std::fs::DirEntry),
}

/// The entries of `dir`, sorted by key; and the error that cut its reading short, if any
/// (what it read before is still walked).
fn read_sorted(
    root: &Path,
    dir: &Path,
    ancestors: &Arc<Ancestor>,
    options: WalkOptions,
) -> (Vec<Pending>, Option<WalkItem>) {
    let dir_error = |e: std::io::Error| WalkItem::Error {
        name: dir.display().to_string(),
        relative: relative_key(root, dir).map(|r| prefix_of(&r)),
        error: local(e),
    };
    let reader = match std::fs::read_dir(dir) {
        Ok(reader) => reader,
        Err(e) => return (Vec::new(), Some(dir_error(e))),
    };
    let mut entries = Vec::new();
    let mut error = None;
    for entry in reader {
        match entry {
            Ok(entry) => entries.push(pending(root, entry, ancestors, options)),
            Err(e) => {
                error = Some(dir_error(e));
                break;
            }
        }
    }
    entries.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    (entries, error)
}

/// `relative` as the prefix of the keys below it: `d` → `d/`, the root `` → ``.
fn prefix_of(relative: &str) -> String {
    if relative.is_empty() {
        String::new()
    } else {
        format!("{relative}/")
    }
}

/// Where an entry sorts, and what it is as far as the order needs: only directories (and
/// links to them, when followed) are looked at now.
fn pending(
    root: &Path,
    entry: std::fs::DirEntry,
    ancestors: &Arc<Ancestor>,
    options: WalkOptions,
) -> Pending {
    let mut key = entry.file_name().into_vec();
    let directory = match entry.file_type() {
        Ok(kind) if kind.is_dir() => entry.metadata().ok(),
        Ok(kind) if kind.is_symlink() && options.follow_symlinks => std::fs::metadata(entry.path())
            .ok()
            .filter(Metadata::is_dir),
        _ => None,
    };
    let Some(metadata) = directory else {
        return Pending {
            key,
            node: Node::Entry(entry),
        };
    };
    let path = entry.path();
    let id = identity(&metadata);
    if ancestors.contains(id) {
        // Not walked: it sorts as the one key it is reported under.
        let item = WalkItem::Skipped {
            name: path.display().to_string(),
            relative: relative_key(root, &path),
            reason: "symbolic link loop (leads back to a directory above it)".into(),
        };
        return Pending {
            key,
            node: Node::Ready(item),
        };
    }
    key.push(b'/');
    Pending {
        key,
        node: Node::Walk { path, id },
    }
}

/// What one directory entry that was no directory when its directory was read is, following
/// a link when asked; `None` for a file left out silently (a temporary file).
fn classify(
    root: &Path,
    path: &Path,
    entry: &std::fs::DirEntry,
    options: WalkOptions,
) -> Option<WalkItem> {
    let name = path.display().to_string();
    let relative = relative_key(root, path);
    let skipped = |reason: String| {
        Some(WalkItem::Skipped {
            name: name.clone(),
            relative: relative.clone(),
            reason,
        })
    };
    let error = |e: std::io::Error| {
        Some(WalkItem::Error {
            name: name.clone(),
            relative: relative.clone(),
            error: local(e),
        })
    };
    let kind = match entry.file_type() {
        Ok(kind) => kind,
        Err(e) => return error(e),
    };
    let metadata = if kind.is_symlink() {
        if !options.follow_symlinks {
            return skipped("symbolic link (not followed)".into());
        }
        match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return skipped("broken symbolic link".into());
            }
            // ELOOP: a link that leads to itself.
            Err(e) if e.raw_os_error() == Some(40) => {
                return skipped("symbolic link loop".into());
            }
            Err(e) => return error(e),
        }
    } else {
        match entry.metadata() {
            Ok(metadata) => metadata,
            Err(e) => return error(e),
        }
    };
    if metadata.is_dir() {
        // It became one after its directory was read: its place in the key order is gone,
        // so what lies below it is unknown.
        return error(std::io::Error::other("became a directory during the walk"));
    }
    if let Some(what) = special_kind(metadata.file_type()) {
        return skipped(format!("not a regular file ({what})"));
    }
    if options.skip_temporary && is_temporary(path) {
        return None;
    }
    Some(match relative {
        Some(relative) => WalkItem::File {
            path: path.to_owned(),
            relative,
            metadata,
        },
        None => WalkItem::Error {
            name,
            relative: None,
            error: local(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the file name is not valid UTF-8; S3 keys must be",
            )),
        },
    })
}

/// A download's temporary file or its resume journal.
pub(crate) fn is_temporary(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
        n.starts_with('.') && (n.ends_with(".ferry-part") || n.ends_with(".ferry-part.json"))
    })
}

/// `path` below `root`, `/`-separated; `None` when not valid UTF-8.
pub(crate) fn relative_key(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = relative
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect();
    Some(parts?.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn collect(root: &Path, options: WalkOptions) -> Vec<WalkItem> {
        let (tx, mut rx) = mpsc::channel(16);
        let root = root.to_owned();
        let walker = std::thread::spawn(move || walk(&root, options, &tx));
        let mut items = Vec::new();
        while let Some(item) = rx.blocking_recv() {
            items.push(item);
        }
        walker.join().expect("the walker ends");
        items
    }

    const FOLLOW: WalkOptions = WalkOptions {
        follow_symlinks: true,
        skip_temporary: false,
        missing_root_is_empty: false,
    };

    fn files(items: &[WalkItem]) -> Vec<String> {
        let mut names: Vec<String> = items
            .iter()
            .filter_map(|item| match item {
                WalkItem::File { relative, .. } => Some(relative.clone()),
                _ => None,
            })
            .collect();
        names.sort();
        names
    }

    fn skipped(items: &[WalkItem]) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = items
            .iter()
            .filter_map(|item| match item {
                WalkItem::Skipped {
                    relative, reason, ..
                } => Some((relative.clone().unwrap_or_default(), reason.clone())),
                _ => None,
            })
            .collect();
        all.sort();
        all
    }

    #[test]
    fn links_are_followed_and_a_loop_is_reported_once_not_walked_forever() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("d/e")).unwrap();
        std::fs::write(root.join("d/e/f.txt"), b"f").unwrap();
        std::fs::write(root.join("a.txt"), b"a").unwrap();
        symlink(root.join("a.txt"), root.join("link-to-a")).unwrap();
        symlink("../..", root.join("d/e/up")).unwrap();
        symlink("e", root.join("d/link-to-e")).unwrap();
        symlink("nowhere", root.join("broken")).unwrap();
        symlink("self", root.join("self")).unwrap();
        let items = collect(root, FOLLOW);
        assert_eq!(
            files(&items),
            ["a.txt", "d/e/f.txt", "d/link-to-e/f.txt", "link-to-a"]
        );
        let skipped = skipped(&items);
        let reasons: Vec<&str> = skipped.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(skipped.len(), 4, "{skipped:?}");
        assert_eq!(skipped[0], ("broken".into(), "broken symbolic link".into()));
        assert!(skipped[1].0 == "d/e/up" && reasons[1].starts_with("symbolic link loop"));
        assert!(skipped[2].0 == "d/link-to-e/up" && reasons[2].starts_with("symbolic link loop"));
        assert!(skipped[3].0 == "self" && reasons[3].starts_with("symbolic link loop"));
    }

    #[test]
    fn files_come_in_s3_key_order_not_path_order() {
        let dir = tempfile::tempdir().unwrap();
        // As paths, `a/b` would come before `a-1` and `a.txt`; as keys it comes after them,
        // since `-` < `.` < `/` < `0`. Non-ASCII names sort by their UTF-8 bytes.
        let names = [
            "a/b",
            "a/b.txt",
            "a/b/c",
            "a-1",
            "a.txt",
            "a0",
            "b",
            "\u{e9}t\u{e9}",
            "z",
            "Z",
            "a/\u{1F600}",
            "a/\u{ff}",
        ];
        for name in names {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            if name == "a/b" {
                std::fs::create_dir_all(&path).unwrap();
                continue;
            }
            std::fs::write(path, name).unwrap();
        }
        let items = collect(dir.path(), FOLLOW);
        let walked: Vec<&str> = items
            .iter()
            .map(|item| match item {
                WalkItem::File { relative, .. } => relative.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        let mut by_bytes: Vec<&str> = walked.clone();
        by_bytes.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        assert_eq!(walked, by_bytes);
        assert_eq!(
            walked,
            [
                "Z",
                "a-1",
                "a.txt",
                "a/b.txt",
                "a/b/c",
                "a/\u{ff}",
                "a/\u{1F600}",
                "a0",
                "b",
                "z",
                "\u{e9}t\u{e9}"
            ]
        );
    }

    #[test]
    fn links_are_skipped_by_name_when_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"a").unwrap();
        symlink("a.txt", dir.path().join("b.txt")).unwrap();
        let options = WalkOptions {
            follow_symlinks: false,
            ..FOLLOW
        };
        let items = collect(dir.path(), options);
        assert_eq!(files(&items), ["a.txt"]);
        assert_eq!(
            skipped(&items),
            [("b.txt".into(), "symbolic link (not followed)".into())]
        );
    }

    #[test]
    fn a_missing_root_is_an_error_naming_it_unless_it_may_be_empty() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let items = collect(&missing, FOLLOW);
        match items.as_slice() {
            [WalkItem::Error { name, error, .. }] => {
                assert_eq!(name, &missing.display().to_string());
                let error = error.to_string();
                assert!(error.contains("No such file or directory"), "{error}");
            }
            other => panic!("{other:?}"),
        }
        let options = WalkOptions {
            missing_root_is_empty: true,
            ..FOLLOW
        };
        assert!(collect(&missing, options).is_empty());
    }
}
