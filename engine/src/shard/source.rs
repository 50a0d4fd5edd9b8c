//! Reading what a plan moves: an S3 listing (ListObjectsV2, page by page), a local tree, a
//! text manifest (`KEY`, or `KEY<TAB>SIZE[<TAB>ETAG]`, one per line), or an S3 Inventory
//! report (`manifest.json` and its CSV files, as S3 Batch Operations takes work).
//!
//! S3 ETags are kept without their quotes, so that a listing and an inventory (which
//! writes them bare) give the same entries.

use super::{Entry, ShardError};
use crate::s3::xml::Object;
use crate::s3::{ListObjects, S3Client};
use futures_util::StreamExt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// HEAD requests in flight while sizing manifest keys that came without a size.
const HEADS_IN_FLIGHT: usize = 64;

/// Listings in flight at once.
const LISTINGS_IN_FLIGHT: usize = 16;
/// How many rounds of splitting, one character further each, to find enough ranges to list
/// in parallel (keys that share a long common part take a round per character of it).
const SPLIT_ROUNDS: usize = 64;
/// Requests spent at most finding the next characters below one prefix (one per character
/// present).
const MAX_HOPS: usize = 2048;

/// Every object below `prefix` in `bucket`, keyed relative to `prefix`. Zero-byte keys
/// ending in `/` (folder markers) are left out: they are no files to copy.
///
/// The listing runs in parallel whatever the keys look like, with or without `/`: a prefix
/// whose first page (1,000 keys) is not the whole of it is split by the character that
/// follows the prefix in its keys, found by sampling the key space with `StartAfter` (one
/// request of one key per character present), a character further each round (at most
/// [`SPLIT_ROUNDS`]) until there are [`LISTINGS_IN_FLIGHT`] ranges; then each range is listed
/// whole, that many at once. Every key is found exactly once: it is the prefix itself, or below exactly one
/// prefix one character longer.
pub async fn list_s3(
    client: &S3Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<Entry>, ShardError> {
    let mut objects = Vec::new();
    let mut frontier = vec![prefix.to_owned()];
    for _ in 0..SPLIT_ROUNDS {
        if frontier.is_empty() || frontier.len() >= LISTINGS_IN_FLIGHT {
            break;
        }
        let splits: Vec<Result<Split, ShardError>> = futures_util::stream::iter(
            frontier
                .iter()
                .map(|p| split_by_next_character(client, bucket, p)),
        )
        .buffered(LISTINGS_IN_FLIGHT)
        .collect()
        .await;
        frontier = Vec::new();
        for split in splits {
            match split? {
                Split::Whole(found) => objects.extend(found),
                Split::Below(exact, children) => {
                    objects.extend(exact);
                    frontier.extend(children);
                }
            }
        }
    }
    let whole: Vec<Result<Vec<Object>, ShardError>> =
        futures_util::stream::iter(frontier.iter().map(|p| list_pages(client, bucket, p)))
            .buffer_unordered(LISTINGS_IN_FLIGHT)
            .collect()
            .await;
    for listed in whole {
        objects.extend(listed?);
    }
    Ok(objects
        .into_iter()
        .filter(|o| !(o.size == 0 && o.key.ends_with('/')))
        .filter_map(|o| {
            let key = o.key.strip_prefix(prefix)?.to_owned();
            Some(Entry {
                key,
                size: o.size,
                tag: bare_etag(o.etag.as_deref()),
            })
        })
        .collect())
}

/// What splitting one prefix gave.
enum Split {
    /// It holds at most one page of keys: here they are.
    Whole(Vec<Object>),
    /// It holds more: the object named exactly by the prefix (if any), and the prefixes one
    /// character longer that hold the rest.
    Below(Vec<Object>, Vec<String>),
}

/// Splits the keys below `prefix` by the character after it: one page first (a prefix that
/// fits in it needs no split), else `StartAfter` hops, each asking for one key past all the
/// keys of the last character found.
async fn split_by_next_character(
    client: &S3Client,
    bucket: &str,
    prefix: &str,
) -> Result<Split, ShardError> {
    let page = one_page(client, bucket, prefix, None, None).await?;
    if !page.1 {
        return Ok(Split::Whole(page.0));
    }
    let (mut exact, mut children) = (Vec::new(), Vec::<String>::new());
    let mut after: Option<String> = None;
    for _ in 0..MAX_HOPS {
        let (found, _) = one_page(client, bucket, prefix, after.as_deref(), Some(1)).await?;
        let Some(object) = found.into_iter().next() else {
            return Ok(Split::Below(exact, children));
        };
        let Some(next) = object
            .key
            .strip_prefix(prefix)
            .and_then(|r| r.chars().next())
        else {
            // The key is the prefix itself.
            after = Some(object.key.clone());
            exact.push(object);
            continue;
        };
        let child = format!("{prefix}{next}");
        if children.last() == Some(&child) {
            // A key past the hop's mark that is still below the last child (it continues
            // with U+10FFFF): that child's listing has it; go on from it.
            after = Some(object.key);
            continue;
        }
        // Past every key that starts with `child` (none continues beyond U+10FFFF twice).
        after = Some(format!("{child}\u{10FFFF}\u{10FFFF}"));
        children.push(child);
    }
    Err(ShardError::Invalid(format!(
        "s3://{bucket}/{prefix} has keys with more than {MAX_HOPS} different characters after the prefix; plan below narrower prefixes"
    )))
}

/// One page of the listing below `prefix`, from `after`, at most `max_keys`: its objects,
/// and whether more follow.
async fn one_page(
    client: &S3Client,
    bucket: &str,
    prefix: &str,
    after: Option<&str>,
    max_keys: Option<u32>,
) -> Result<(Vec<Object>, bool), ShardError> {
    let mut pages = client.list_objects(
        bucket,
        ListObjects {
            prefix: (!prefix.is_empty()).then(|| prefix.to_owned()),
            start_after: after.map(str::to_owned),
            max_keys,
            ..ListObjects::default()
        },
    );
    match pages.next_page().await? {
        Some(page) => Ok((page.contents, page.is_truncated)),
        None => Ok((Vec::new(), false)),
    }
}

/// Every page of the listing below `prefix`.
async fn list_pages(
    client: &S3Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<Object>, ShardError> {
    let mut pages = client.list_objects(
        bucket,
        ListObjects {
            prefix: (!prefix.is_empty()).then(|| prefix.to_owned()),
            ..ListObjects::default()
        },
    );
    let mut objects = Vec::new();
    while let Some(page) = pages.next_page().await? {
        objects.extend(page.contents);
    }
    Ok(objects)
}

/// An ETag without quotes or surrounding spaces.
fn bare_etag(etag: Option<&str>) -> String {
    etag.unwrap_or_default().trim().trim_matches('"').to_owned()
}

/// Every regular file below `dir`, keyed by its path relative to `dir` (`/`-separated).
/// Symbolic links are not followed (each is left out with a warning); a name that is not
/// UTF-8 is an error, since it has no S3 key.
pub fn walk_local(dir: &Path) -> Result<Vec<Entry>, ShardError> {
    let mut entries = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, relative)) = pending.pop() {
        let listing = std::fs::read_dir(&path).map_err(|e| ShardError::io("reading", &path, e))?;
        for item in listing {
            let item = item.map_err(|e| ShardError::io("reading", &path, e))?;
            let child = item.path();
            let Some(name) = item.file_name().to_str().map(str::to_owned) else {
                return Err(ShardError::Invalid(format!(
                    "{} is not UTF-8, so it has no S3 key; rename it",
                    child.display()
                )));
            };
            let key = format!("{relative}{name}");
            let kind = item
                .file_type()
                .map_err(|e| ShardError::io("reading", &child, e))?;
            if kind.is_dir() {
                pending.push((child, format!("{key}/")));
            } else if kind.is_file() {
                let meta = item
                    .metadata()
                    .map_err(|e| ShardError::io("reading", &child, e))?;
                entries.push(Entry {
                    key,
                    size: meta.len(),
                    tag: mtime_tag(&meta),
                });
            } else {
                tracing::warn!(path = %child.display(), "not a regular file: left out of the plan");
            }
        }
    }
    Ok(entries)
}

/// A file's modification time as `SECONDS.NANOS` since the epoch.
fn mtime_tag(meta: &std::fs::Metadata) -> String {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| format!("{}.{:09}", d.as_secs(), d.subsec_nanos()))
        .unwrap_or_default()
}

/// Where a text manifest's keys are found, to size those that came without a size.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    /// HEAD each in `bucket`.
    S3 {
        /// The client.
        client: &'a S3Client,
        /// The source bucket.
        bucket: &'a str,
    },
    /// Stat each below this directory.
    Local(&'a Path),
}

/// The objects a text manifest lists: one per line, `KEY` or `KEY<TAB>SIZE[<TAB>ETAG]`
/// (blank lines are skipped). For an S3 source a key is the object's whole key and must be
/// below `prefix`; for a local source it is a path relative to the directory. Keys without a
/// size are looked up (HEAD, or stat), as many at once as [`HEADS_IN_FLIGHT`].
pub async fn read_text_manifest(
    path: &Path,
    prefix: &str,
    lookup: Lookup<'_>,
) -> Result<Vec<Entry>, ShardError> {
    let file = std::fs::File::open(path).map_err(|e| ShardError::io("reading", path, e))?;
    let mut entries = Vec::new();
    let mut sizeless: Vec<(usize, String)> = Vec::new();
    for (number, line) in BufReader::new(file).lines().enumerate() {
        let number = number as u64 + 1;
        let line = line.map_err(|e| ShardError::io("reading", path, e))?;
        let line = line.strip_suffix('\r').unwrap_or(&line);
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.split('\t');
        let key = fields.next().unwrap_or_default();
        let Some(relative) = key.strip_prefix(prefix) else {
            return Err(ShardError::malformed(
                path,
                number,
                format!("`{key}` is not below the source prefix `{prefix}`"),
            ));
        };
        let size = match fields.next() {
            Some(size) => Some(size.trim().parse::<u64>().map_err(|_| {
                ShardError::malformed(path, number, format!("`{size}` is not a size in bytes"))
            })?),
            None => None,
        };
        let tag = fields
            .next()
            .map(|t| bare_etag(Some(t)))
            .unwrap_or_default();
        if size.is_none() {
            sizeless.push((entries.len(), relative.to_owned()));
        }
        entries.push(Entry {
            key: relative.to_owned(),
            size: size.unwrap_or(0),
            tag,
        });
    }
    let looked_up = look_up(&sizeless, prefix, lookup).await?;
    for ((index, _), (size, tag)) in sizeless.iter().zip(looked_up) {
        entries[*index].size = size;
        entries[*index].tag = tag;
    }
    Ok(entries)
}

/// The size and tag of each of `keys` (relative to `prefix`), in order.
async fn look_up(
    keys: &[(usize, String)],
    prefix: &str,
    lookup: Lookup<'_>,
) -> Result<Vec<(u64, String)>, ShardError> {
    match lookup {
        Lookup::Local(dir) => keys
            .iter()
            .map(|(_, key)| {
                let path = dir.join(key);
                let meta =
                    std::fs::metadata(&path).map_err(|e| ShardError::io("reading", &path, e))?;
                Ok((meta.len(), mtime_tag(&meta)))
            })
            .collect(),
        Lookup::S3 { client, bucket } => {
            futures_util::stream::iter(keys.iter().map(|(_, key)| async move {
                let info = client
                    .head_object(bucket, &format!("{prefix}{key}"))
                    .await?;
                Ok((info.size, bare_etag(info.etag.as_deref())))
            }))
            .buffered(HEADS_IN_FLIGHT)
            .collect::<Vec<Result<_, ShardError>>>()
            .await
            .into_iter()
            .collect()
        }
    }
}

/// The objects an S3 Inventory report lists below `prefix` of `bucket`: `manifest.json`
/// (its `fileSchema` names the columns; `Key` and `Size` are needed, `ETag` is used when
/// present) and the CSV files it names, looked for beside it (or in a `data/` folder
/// beside it) by file name; `….csv.gz` files are read compressed as S3 writes them, or from
/// an uncompressed copy `….csv`.
pub fn read_inventory(
    manifest: &Path,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<Entry>, ShardError> {
    let text = std::fs::read(manifest).map_err(|e| ShardError::io("reading", manifest, e))?;
    let json: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
        ShardError::malformed(manifest, 0, format!("not an inventory manifest: {e}"))
    })?;
    let field = |name: &str| json.get(name).and_then(|v| v.as_str());
    if let Some(format) = field("fileFormat")
        && !format.eq_ignore_ascii_case("CSV")
    {
        return Err(ShardError::malformed(
            manifest,
            0,
            format!("inventory format {format}: only CSV inventories are read"),
        ));
    }
    if let Some(source) = field("sourceBucket")
        && source != bucket
    {
        return Err(ShardError::Invalid(format!(
            "the inventory lists bucket `{source}`, not the source bucket `{bucket}`"
        )));
    }
    let schema: Vec<String> = field("fileSchema")
        .ok_or_else(|| ShardError::malformed(manifest, 0, "no fileSchema"))?
        .split(',')
        .map(|c| c.trim().to_owned())
        .collect();
    let column = |name: &str| schema.iter().position(|c| c.eq_ignore_ascii_case(name));
    let (Some(key_at), Some(size_at)) = (column("Key"), column("Size")) else {
        return Err(ShardError::malformed(
            manifest,
            0,
            "the fileSchema lacks Key or Size (add them to the inventory configuration)",
        ));
    };
    let etag_at = column("ETag");
    let files = json
        .get("files")
        .and_then(|f| f.as_array())
        .ok_or_else(|| ShardError::malformed(manifest, 0, "no files"))?;
    let base = manifest.parent().unwrap_or(Path::new("."));
    let mut entries = Vec::new();
    for file in files {
        let key = file
            .get("key")
            .and_then(|k| k.as_str())
            .ok_or_else(|| ShardError::malformed(manifest, 0, "a file without a key"))?;
        let csv = find_data_file(base, key)?;
        let file = std::fs::File::open(&csv).map_err(|e| ShardError::io("reading", &csv, e))?;
        let reader: Box<dyn std::io::Read> = if csv.extension().is_some_and(|e| e == "gz") {
            Box::new(flate2::read::MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        };
        for (number, line) in BufReader::new(reader).lines().enumerate() {
            let number = number as u64 + 1;
            let line = line.map_err(|e| ShardError::io("reading", &csv, e))?;
            if line.trim().is_empty() {
                continue;
            }
            let fields = csv_fields(&line)
                .ok_or_else(|| ShardError::malformed(&csv, number, "an unterminated quote"))?;
            let get = |i: usize| fields.get(i).map(String::as_str).unwrap_or_default();
            let object_key = percent_decode(get(key_at)).ok_or_else(|| {
                ShardError::malformed(&csv, number, "a key that is not URL-encoded UTF-8")
            })?;
            let Some(relative) = object_key.strip_prefix(prefix) else {
                continue;
            };
            if relative.is_empty() || (get(size_at) == "0" && relative.ends_with('/')) {
                continue;
            }
            let size = get(size_at).parse::<u64>().map_err(|_| {
                ShardError::malformed(&csv, number, format!("`{}` is not a size", get(size_at)))
            })?;
            entries.push(Entry {
                key: relative.to_owned(),
                size,
                tag: etag_at.map(|i| bare_etag(Some(get(i)))).unwrap_or_default(),
            });
        }
    }
    Ok(entries)
}

/// The local copy of inventory data file `key`: by its file name beside the manifest or in
/// `data/` beside it, as named (gzip-compressed or not), or uncompressed.
fn find_data_file(base: &Path, key: &str) -> Result<PathBuf, ShardError> {
    let name = key.rsplit('/').next().unwrap_or(key);
    let plain = name.strip_suffix(".gz").unwrap_or(name);
    for dir in [base.to_path_buf(), base.join("data")] {
        for candidate in [dir.join(name), dir.join(plain)] {
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(ShardError::Invalid(format!(
        "inventory file {name} was not found beside {} or in its data/ folder",
        base.display()
    )))
}

/// The fields of one CSV line (RFC 4180 quoting, no line breaks inside fields); `None` for
/// an unterminated quote.
fn csv_fields(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => break,
                    c => field.push(c),
                }
            }
            // Anything between the closing quote and the comma is kept, as most readers do.
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                field.push(c);
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                field.push(c);
                chars.next();
            }
        }
        fields.push(field);
        if chars.next().is_none() {
            return Some(fields);
        }
    }
}

/// Decodes `%XX` escapes (S3 Inventory URL-encodes keys); `None` when the result is not UTF-8
/// or an escape is cut short.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_handle_quotes_commas_and_doubled_quotes() {
        assert_eq!(
            csv_fields(r#""b","a,b","say ""hi""",12,"#).unwrap(),
            vec!["b", "a,b", "say \"hi\"", "12", ""]
        );
        assert_eq!(csv_fields("\"open"), None);
    }

    #[test]
    fn percent_decoding_gives_utf8_and_refuses_cut_escapes() {
        assert_eq!(percent_decode("a%20b%2Fc%C3%A9").unwrap(), "a b/cé");
        assert_eq!(percent_decode("bad%2"), None);
        assert_eq!(percent_decode("%FF"), None);
    }

    #[tokio::test]
    async fn a_text_manifest_outside_the_prefix_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.txt");
        std::fs::write(&path, "p/a\t1\nq/b\t2\n").unwrap();
        let error = read_text_manifest(&path, "p/", Lookup::Local(dir.path()))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("m.txt:2:"), "{error}");
    }

    #[test]
    fn an_inventory_reads_its_csv_gz_files_as_s3_writes_them_or_uncompressed_copies() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("manifest.json");
        std::fs::write(
            &manifest,
            r#"{"sourceBucket":"b","fileFormat":"CSV","fileSchema":"Bucket, Key, Size, ETag","files":[{"key":"inv/data/x.csv.gz"},{"key":"inv/data/y.csv.gz"}]}"#,
        )
        .unwrap();
        let error = read_inventory(&manifest, "b", "").unwrap_err();
        assert!(
            error.to_string().contains("x.csv.gz was not found"),
            "{error}"
        );
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"\"b\",\"a%20b\",\"5\",\"e1\"\n\"b\",\"dir/\",\"0\",\"e2\"\n")
            .unwrap();
        std::fs::write(dir.path().join("data/x.csv.gz"), gz.finish().unwrap()).unwrap();
        std::fs::write(dir.path().join("data/y.csv"), "\"b\",\"c\",\"7\",\"e3\"\n").unwrap();
        let entries = read_inventory(&manifest, "b", "").unwrap();
        assert_eq!(
            entries,
            vec![
                Entry {
                    key: "a b".into(),
                    size: 5,
                    tag: "e1".into()
                },
                Entry {
                    key: "c".into(),
                    size: 7,
                    tag: "e3".into()
                }
            ]
        );
    }
}
