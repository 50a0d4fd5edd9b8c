//! ListObjects and ListObjectsV2, in place of `s3s-fs`'s.
//!
//! `s3s-fs` reads each directory of the bucket and then stats each file it named; a file
//! deleted in between (by a DeleteObject running at the same time) fails the stat with
//! `ENOENT`, and that fails the whole page with `500 InternalError`. Here an entry that
//! vanished is skipped, as S3 would simply not list an object deleted while it lists.
//! Otherwise the answer is `s3s-fs`'s: no ETags, the continuation token is the last key of
//! the page (percent-encoded, so that a key holding `\r` or a control character survives
//! the XML). In addition `max-keys` is capped at 1,000 and `encoding-type=url` is honoured.

use super::MAX_LIST;
use s3s::dto;
use std::collections::BTreeSet;
use std::fs::Metadata;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// One object a walk found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    pub(super) key: String,
    pub(super) size: u64,
    pub(super) modified: SystemTime,
}

/// What a walk of a bucket's directory found under a prefix.
#[derive(Debug, Default)]
pub(super) struct Walk {
    /// The objects, sorted by key.
    pub(super) objects: Vec<Found>,
    /// With a delimiter, the prefixes that stand for the keys grouped under them.
    pub(super) common_prefixes: BTreeSet<String>,
}

/// Whether an error says the entry is gone: deleted after its directory was read.
fn vanished(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}

/// A file's metadata, links followed: what a listing reports (GetObject follows them too).
pub(super) fn follow_stat(path: &Path) -> io::Result<Metadata> {
    std::fs::metadata(path)
}

/// The part of the key space one listing page needs: the keys after `after`, and (with a
/// `limit`) no more entries, objects and common prefixes together, than that.
#[derive(Debug, Clone, Default)]
pub(super) struct Span {
    /// Only keys (and common prefixes) greater than this are listed.
    pub(super) after: String,
    /// The walk stops once it holds this many entries past `after`.
    pub(super) limit: Option<usize>,
}

/// A directory's entries, sorted so that a walk visits keys in S3's order: each name by
/// its bytes, a directory's as `name/` (so `a.txt` < `a/b` < `a0`).
fn read_sorted(dir: &Path) -> io::Result<Vec<(String, bool, PathBuf)>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) if vanished(&e) => continue,
            Err(e) => return Err(e),
        };
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let is_dir = match entry.file_type() {
            Ok(file_type) => file_type.is_dir(),
            Err(e) if vanished(&e) => continue,
            Err(e) => return Err(e),
        };
        let sort_name = if is_dir { name + "/" } else { name };
        entries.push((sort_name, is_dir, entry.path()));
    }
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

/// Walks `bucket_dir` for the keys that start with `prefix` and lie in `span`, in key order
/// (each directory sorted, depth first), stopping once the span's limit is reached;
/// directories whose keys all lie before the span are not read, and files before it are
/// not statted, so a page costs the directories on its way, not the bucket. With a
/// `delimiter`, keys with the delimiter after the prefix are grouped into common prefixes
/// (and not statted). `stat` gives a file's size and modification time ([`follow_stat`]
/// when serving).
///
/// Files and directories that vanish while the walk runs are skipped. An error only if
/// `bucket_dir` itself cannot be read (`NotFound`: no such bucket) or on another failure
/// (permissions, I/O). Keys that are not UTF-8 cannot be listed and are skipped.
pub(super) fn walk(
    bucket_dir: &Path,
    prefix: &str,
    delimiter: Option<&str>,
    span: &Span,
    stat: impl Fn(&Path) -> io::Result<Metadata>,
) -> io::Result<Walk> {
    let after = span.after.as_str();
    let mut found = Walk::default();
    // Directories being read, each with its key prefix (`""`, `a/`, `a/b/`…), deepest last.
    let mut stack = vec![(read_sorted(bucket_dir)?.into_iter(), String::new())];
    loop {
        if span
            .limit
            .is_some_and(|limit| found.objects.len() + found.common_prefixes.len() >= limit)
        {
            break;
        }
        let Some((entries, dir_key)) = stack.last_mut() else {
            break;
        };
        let Some((name, is_dir, path)) = entries.next() else {
            stack.pop();
            continue;
        };
        // A directory's sort name ends with `/`: its key prefix.
        let key = format!("{dir_key}{name}");
        if is_dir {
            let below = key;
            // Only directories that can hold keys with the prefix, and keys after `after`
            // (every key below `below` sorts before `after` when `below` does and is not a
            // prefix of it).
            let holds_prefix = below.starts_with(prefix) || prefix.starts_with(&below);
            let before_span = below.as_str() < after && !after.starts_with(&below);
            if holds_prefix && !before_span {
                match read_sorted(&path) {
                    Ok(entries) => stack.push((entries.into_iter(), below)),
                    Err(e) if vanished(&e) => {}
                    Err(e) => return Err(e),
                }
            }
            continue;
        }
        if key.as_str() <= after {
            continue;
        }
        let Some(rest) = key.strip_prefix(prefix) else {
            continue;
        };
        if let Some(delimiter) = delimiter
            && let Some(at) = rest.find(delimiter)
        {
            let end = prefix.len() + at + delimiter.len();
            let common = &key[..end];
            if common > after {
                found.common_prefixes.insert(common.to_owned());
            }
            continue;
        }
        let meta = match stat(&path) {
            Ok(meta) => meta,
            Err(e) if vanished(&e) => continue,
            Err(e) => return Err(e),
        };
        // A link to a directory is not an object.
        if meta.is_dir() {
            continue;
        }
        found.objects.push(Found {
            key,
            size: meta.len(),
            modified: meta.modified()?,
        });
    }
    found.objects.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(found)
}

/// The prefix and delimiter a listing walks with, as `s3s-fs` reads them: a leading `/` of
/// the prefix is dropped, an empty delimiter is none.
pub(super) fn walk_arguments<'a>(
    prefix: Option<&'a str>,
    delimiter: Option<&'a str>,
) -> (&'a str, Option<&'a str>) {
    (
        prefix.unwrap_or("").trim_start_matches('/'),
        delimiter.filter(|d| !d.is_empty()),
    )
}

/// One page cut from a walk.
#[derive(Debug)]
struct Page {
    contents: Vec<dto::Object>,
    common_prefixes: Vec<dto::CommonPrefix>,
    max_keys: i32,
    truncated: bool,
    /// The last key or common prefix of a truncated page: where the next one starts after.
    last: Option<String>,
}

/// The objects and common prefixes after `after`, merged in key order, at most `max_keys`
/// (capped at 1,000 as on S3). Keys and prefixes are URL-encoded when `url` is set.
fn cut_page(walk: Walk, after: &str, max_keys: Option<i32>, url: bool) -> Page {
    let max_keys = max_keys.unwrap_or(MAX_LIST).clamp(0, MAX_LIST);
    let limit = usize::try_from(max_keys).unwrap_or(0);
    let mut objects = walk
        .objects
        .into_iter()
        .filter(|o| o.key.as_str() > after)
        .peekable();
    let mut prefixes = walk
        .common_prefixes
        .into_iter()
        .filter(|p| p.as_str() > after)
        .peekable();
    let mut page = Page {
        contents: Vec::new(),
        common_prefixes: Vec::new(),
        max_keys,
        truncated: false,
        last: None,
    };
    // Each round takes one entry; `limit` bounds the rounds.
    loop {
        let object_first = match (objects.peek(), prefixes.peek()) {
            (None, None) => break,
            (Some(object), Some(prefix)) => object.key < *prefix,
            (Some(_), None) => true,
            (None, Some(_)) => false,
        };
        if page.contents.len() + page.common_prefixes.len() == limit {
            page.truncated = limit > 0;
            break;
        }
        if object_first && let Some(object) = objects.next() {
            page.contents.push(dto::Object {
                key: Some(encoded(&object.key, url)),
                last_modified: Some(dto::Timestamp::from(object.modified)),
                size: Some(i64::try_from(object.size).unwrap_or(i64::MAX)),
                ..Default::default()
            });
            page.last = Some(object.key);
        } else if let Some(prefix) = prefixes.next() {
            page.common_prefixes.push(dto::CommonPrefix {
                prefix: Some(encoded(&prefix, url)),
            });
            page.last = Some(prefix);
        }
    }
    if !page.truncated {
        page.last = None;
    }
    page
}

/// Whether `encoding-type` asks for URL-encoded keys (S3 knows only `url`).
pub(super) fn wants_url(encoding_type: Option<&dto::EncodingType>) -> bool {
    encoding_type.is_some_and(|t| t.as_str().eq_ignore_ascii_case("url"))
}

/// `text` percent-encoded (but `/`) when `url`, as S3 encodes keys for `encoding-type=url`.
pub(super) fn encoded(text: &str, url: bool) -> String {
    if !url {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    crate::sign::encode::encode_path(text, &mut out);
    out
}

/// The continuation token for a page that ends at `key`: the key percent-encoded, so that
/// any key (`\r`, control characters) crosses the XML unchanged.
fn key_token(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    crate::sign::encode::encode_query_component(key, &mut out);
    out
}

/// The key a continuation token names; a token that is not percent-encoding is the key itself.
fn token_key(token: &str) -> String {
    crate::s3::xml::percent_decode(token).unwrap_or_else(|| token.to_owned())
}

/// The entries a page of at most `max_keys` needs: one more than it shows, to know whether
/// it is truncated.
fn page_limit(max_keys: Option<i32>) -> Option<usize> {
    let max_keys = max_keys.unwrap_or(MAX_LIST).clamp(0, MAX_LIST);
    Some(usize::try_from(max_keys).unwrap_or(0) + 1)
}

/// The span a ListObjectsV2 page covers: after the continuation token (the last key of the
/// previous page) or StartAfter, whichever is later.
pub(super) fn span_v2(input: &dto::ListObjectsV2Input) -> Span {
    let token = input.continuation_token.as_deref().map(token_key);
    let after = match (token.as_deref(), input.start_after.as_deref()) {
        (Some(token), Some(start)) => token.max(start),
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => "",
    };
    Span {
        after: after.to_owned(),
        limit: page_limit(input.max_keys),
    }
}

/// The span a ListObjects (version 1) page covers: after its marker.
pub(super) fn span_v1(input: &dto::ListObjectsInput) -> Span {
    Span {
        after: input.marker.clone().unwrap_or_default(),
        limit: page_limit(input.max_keys),
    }
}

/// One page of ListObjectsV2 from `walk` (which used the input's prefix and delimiter).
pub(super) fn page_v2(input: dto::ListObjectsV2Input, walk: Walk) -> dto::ListObjectsV2Output {
    let url = wants_url(input.encoding_type.as_ref());
    let after = span_v2(&input).after;
    let page = cut_page(walk, &after, input.max_keys, url);
    let count = page.contents.len() + page.common_prefixes.len();
    dto::ListObjectsV2Output {
        name: Some(input.bucket),
        prefix: input.prefix.map(|p| encoded(&p, url)),
        delimiter: input.delimiter.map(|d| encoded(&d, url)),
        start_after: input.start_after.map(|s| encoded(&s, url)),
        encoding_type: input.encoding_type,
        max_keys: Some(page.max_keys),
        key_count: Some(i32::try_from(count).unwrap_or(i32::MAX)),
        is_truncated: Some(page.truncated),
        continuation_token: input.continuation_token,
        next_continuation_token: page.last.as_deref().map(key_token),
        contents: (!page.contents.is_empty()).then_some(page.contents),
        common_prefixes: (!page.common_prefixes.is_empty()).then_some(page.common_prefixes),
        ..Default::default()
    }
}

/// One page of ListObjects (version 1) from `walk`: the marker is a key, and so is the
/// next marker (given whenever the page is truncated, with or without a delimiter).
pub(super) fn page_v1(input: dto::ListObjectsInput, walk: Walk) -> dto::ListObjectsOutput {
    let url = wants_url(input.encoding_type.as_ref());
    let page = cut_page(
        walk,
        input.marker.as_deref().unwrap_or(""),
        input.max_keys,
        url,
    );
    dto::ListObjectsOutput {
        name: Some(input.bucket),
        prefix: input.prefix.map(|p| encoded(&p, url)),
        delimiter: input.delimiter.map(|d| encoded(&d, url)),
        marker: input.marker.map(|m| encoded(&m, url)),
        encoding_type: input.encoding_type,
        max_keys: Some(page.max_keys),
        is_truncated: Some(page.truncated),
        next_marker: page.last.map(|m| encoded(&m, url)),
        contents: (!page.contents.is_empty()).then_some(page.contents),
        common_prefixes: (!page.common_prefixes.is_empty()).then_some(page.common_prefixes),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A bucket directory with `files` (keys, `/` for sub-directories), each a few bytes.
    fn bucket(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for key in files {
            let path = dir.path().join(key);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, key.as_bytes()).unwrap();
        }
        dir
    }

    fn keys(walk: &Walk) -> Vec<&str> {
        walk.objects.iter().map(|o| o.key.as_str()).collect()
    }

    #[test]
    fn a_file_deleted_between_readdir_and_stat_is_skipped_not_an_error() {
        let dir = bucket(&["small/a.bin", "small/b.bin", "small/c.bin", "small/d.bin"]);
        // Deletes every other file just before it is statted: the state a concurrent
        // DeleteObject leaves between the directory read and the stat.
        let calls = Cell::new(0);
        let walked = walk(dir.path(), "small/", None, &Span::default(), |path| {
            calls.set(calls.get() + 1);
            if path.ends_with("b.bin") || path.ends_with("d.bin") {
                std::fs::remove_file(path).unwrap();
            }
            std::fs::metadata(path)
        })
        .expect("vanished files do not fail the listing");
        assert_eq!(calls.get(), 4);
        assert_eq!(keys(&walked), ["small/a.bin", "small/c.bin"]);
        assert_eq!(walked.objects[0].size, "small/a.bin".len() as u64);
    }

    #[test]
    fn a_directory_deleted_before_it_is_read_is_skipped() {
        // The walk reads the bucket directory, stats `a.bin`, then reads `gone/` and
        // `kept/` (key order): the stat of `a.bin` removes `gone/` before it is read.
        let dir = bucket(&["a.bin", "gone/x.bin", "kept/y.bin"]);
        let gone = dir.path().join("gone");
        let walked = walk(dir.path(), "", None, &Span::default(), |path| {
            if path.ends_with("a.bin") && gone.exists() {
                std::fs::remove_dir_all(&gone).unwrap();
            }
            std::fs::metadata(path)
        })
        .expect("a vanished directory does not fail the listing");
        assert_eq!(keys(&walked), ["a.bin", "kept/y.bin"]);
    }

    #[test]
    fn a_missing_bucket_directory_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let err = walk(
            &dir.path().join("nope"),
            "",
            None,
            &Span::default(),
            follow_stat,
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn other_stat_failures_still_fail_the_listing() {
        let dir = bucket(&["a.bin"]);
        let err = walk(dir.path(), "", None, &Span::default(), |_| {
            Err(io::Error::from(io::ErrorKind::PermissionDenied))
        })
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
    }

    #[test]
    fn a_walk_keeps_the_prefix_and_groups_by_the_delimiter_without_statting_groups() {
        let dir = bucket(&[
            "logs/2026/01.gz",
            "logs/2026/02.gz",
            "logs/top.txt",
            "logsbook.txt",
            "other/x.bin",
        ]);
        let calls = Cell::new(0);
        let walked = walk(dir.path(), "logs/", Some("/"), &Span::default(), |path| {
            calls.set(calls.get() + 1);
            std::fs::metadata(path)
        })
        .unwrap();
        assert_eq!(keys(&walked), ["logs/top.txt"]);
        assert_eq!(
            walked.common_prefixes.iter().collect::<Vec<_>>(),
            ["logs/2026/"]
        );
        assert_eq!(calls.get(), 1, "only listed objects are statted");

        let all = walk(dir.path(), "logs", None, &Span::default(), follow_stat).unwrap();
        assert_eq!(
            keys(&all),
            [
                "logs/2026/01.gz",
                "logs/2026/02.gz",
                "logs/top.txt",
                "logsbook.txt"
            ]
        );
    }

    #[test]
    fn a_page_walks_in_key_order_from_its_marker_and_stops_at_its_limit() {
        let dir = bucket(&[
            "a/1.bin", "a/2.bin", "a.txt", "b/1.bin", "b/2.bin", "b/3.bin", "c/1.bin", "c0.bin",
        ]);
        let statted = std::cell::RefCell::new(Vec::new());
        let span = Span {
            after: "b/1.bin".into(),
            limit: Some(3),
        };
        let walked = walk(dir.path(), "", None, &span, |path| {
            statted.borrow_mut().push(path.to_owned());
            std::fs::metadata(path)
        })
        .unwrap();
        assert_eq!(keys(&walked), ["b/2.bin", "b/3.bin", "c/1.bin"]);
        let statted = statted.into_inner();
        assert_eq!(
            statted.len(),
            3,
            "nothing before the marker or past the limit: {statted:?}"
        );
        // Every page of a whole listing, one entry each, gives each key once, in order.
        let mut after = String::new();
        let mut listed = Vec::new();
        for _ in 0..20 {
            let span = Span {
                after: after.clone(),
                limit: Some(1),
            };
            let page = walk(dir.path(), "", None, &span, follow_stat).unwrap();
            let Some(next) = page.objects.first() else {
                break;
            };
            after = next.key.clone();
            listed.push(after.clone());
        }
        let all = walk(dir.path(), "", None, &Span::default(), follow_stat).unwrap();
        assert_eq!(listed, keys(&all));
        assert_eq!(
            listed,
            [
                "a.txt", "a/1.bin", "a/2.bin", "b/1.bin", "b/2.bin", "b/3.bin", "c/1.bin", "c0.bin"
            ]
        );
    }

    fn found(keys: &[&str], prefixes: &[&str]) -> Walk {
        Walk {
            objects: keys
                .iter()
                .map(|k| Found {
                    key: (*k).to_owned(),
                    size: 1,
                    modified: std::time::UNIX_EPOCH,
                })
                .collect(),
            common_prefixes: prefixes.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    fn v2(edit: impl FnOnce(&mut dto::ListObjectsV2Input)) -> dto::ListObjectsV2Input {
        let mut input = dto::ListObjectsV2Input::builder()
            .bucket("b".to_owned())
            .build()
            .unwrap();
        edit(&mut input);
        input
    }

    fn page_keys(output: &dto::ListObjectsV2Output) -> Vec<String> {
        let mut all: Vec<String> = output
            .contents
            .iter()
            .flatten()
            .filter_map(|o| o.key.clone())
            .collect();
        all.extend(
            output
                .common_prefixes
                .iter()
                .flatten()
                .filter_map(|p| p.prefix.clone()),
        );
        all.sort();
        all
    }

    #[test]
    fn v2_pages_merge_objects_and_prefixes_and_continue_after_the_token() {
        let walked = || found(&["a", "c", "e"], &["b/", "d/"]);
        let first = page_v2(v2(|i| i.max_keys = Some(3)), walked());
        assert_eq!(page_keys(&first), ["a", "b/", "c"]);
        assert_eq!(first.is_truncated, Some(true));
        assert_eq!(first.key_count, Some(3));
        assert_eq!(first.next_continuation_token.as_deref(), Some("c"));
        let second = page_v2(
            v2(|i| {
                i.max_keys = Some(3);
                i.continuation_token = Some("c".into());
            }),
            walked(),
        );
        assert_eq!(page_keys(&second), ["d/", "e"]);
        assert_eq!(second.is_truncated, Some(false));
        assert_eq!(second.next_continuation_token, None);
        // More than 1,000 asked for: 1,000 given, as on S3.
        let capped = page_v2(v2(|i| i.max_keys = Some(5000)), walked());
        assert_eq!(capped.max_keys, Some(MAX_LIST));
        let after = page_v2(v2(|i| i.start_after = Some("b/".into())), walked());
        assert_eq!(page_keys(&after), ["c", "d/", "e"]);
        let none = page_v2(v2(|i| i.max_keys = Some(0)), walked());
        assert_eq!((none.key_count, none.is_truncated), (Some(0), Some(false)));
    }

    #[test]
    fn v1_pages_give_the_last_key_as_next_marker() {
        let mut input = dto::ListObjectsInput::builder()
            .bucket("b".to_owned())
            .build()
            .unwrap();
        input.max_keys = Some(1);
        input.marker = Some("a".into());
        let page = page_v1(input, found(&["a", "b", "c"], &[]));
        let listed: Vec<_> = page
            .contents
            .unwrap()
            .into_iter()
            .filter_map(|o| o.key)
            .collect();
        assert_eq!(listed, ["b"]);
        assert_eq!(page.is_truncated, Some(true));
        assert_eq!(page.next_marker.as_deref(), Some("b"));
        assert_eq!(page.marker.as_deref(), Some("a"));
    }

    #[test]
    fn url_encoding_type_percent_encodes_keys_and_prefixes_but_not_slashes() {
        let output = page_v2(
            v2(|i| {
                i.encoding_type = Some(dto::EncodingType::from_static(dto::EncodingType::URL));
                i.prefix = Some("a b/".into());
            }),
            found(&["a b/ça+%.txt"], &["a b/sub dir/"]),
        );
        assert_eq!(
            page_keys(&output),
            ["a%20b/%C3%A7a%2B%25.txt", "a%20b/sub%20dir/"]
        );
        assert_eq!(output.prefix.as_deref(), Some("a%20b/"));
        let plain = page_v2(v2(|_| {}), found(&["a b+c"], &[]));
        assert_eq!(page_keys(&plain), ["a b+c"]);
    }

    #[test]
    fn continuation_tokens_carry_keys_with_control_characters_and_plus_signs() {
        let keys = ["a\r1", "a\r2", "b d", "b+c"];
        let walked = || found(&keys, &[]);
        let mut token: Option<String> = None;
        let mut listed = Vec::new();
        for _ in 0..keys.len() + 1 {
            let page = page_v2(
                v2(|i| {
                    i.max_keys = Some(1);
                    i.continuation_token = token.clone();
                }),
                walked(),
            );
            listed.extend(page_keys(&page));
            token = page.next_continuation_token;
            if let Some(t) = &token {
                assert!(t.chars().all(|c| c.is_ascii_graphic()), "{t:?}");
            } else {
                break;
            }
        }
        assert_eq!(listed, keys);
    }
}
