//! PutObject, verified before it is written, and GetObject of small objects in one task on
//! the blocking pool. `s3s-fs` goes through `tokio::fs`, one hand-over to a blocking thread
//! per file operation: for a PUT, creating, writing, flushing and renaming the object and
//! each of its two records, about fourteen for a 16 KiB object; for a GET, opening, sizing,
//! each 4 KiB read and each record, about nine. On a busy machine those cost more than the
//! I/O. Here a body of up to [`SMALL`] bytes is taken whole, then verified, summed and
//! written with its records in one blocking task ([`put`]), and a whole object of up to
//! [`SMALL`] bytes is read with its records in one ([`get`]). A larger body is streamed
//! into a temporary file, summed as it is written, and renamed into place only once it is
//! verified. A body that fails its checksum or `Content-MD5` is refused and the object
//! there stays: `s3s-fs` renamed the new bytes into place first, then answered BadDigest,
//! leaving them under the old object's ETag and checksums.
//!
//! The files are `s3s-fs` 0.14's own, so that its GET, HEAD, copy and listing read them: the
//! object at `root/bucket/key` (written under a `.tmp.*.internal.part` name in the root, which
//! `s3s-fs` removes at start-up, then renamed); its attributes, as
//! `.bucket-{b64(bucket)}.object-{b64(key)}.metadata.json` (URL-safe base64 without padding;
//! removed when the PUT sets none, where `s3s-fs` writes `{}`); its ETag and checksums, as
//! `.bucket-{b64(bucket)}.object-{b64(key)}.internal.json`.

use super::part_checksum::Declared;
use s3s::dto;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The largest body held in memory until it is whole (larger ones are streamed to a
/// temporary file), and the largest object a GET reads whole.
pub(super) const SMALL: i64 = 1024 * 1024;

/// Whether `input` is written here; anything else (conditional writes, directory markers,
/// bodies of unknown size) goes to `s3s-fs`.
pub(super) fn applies(input: &dto::PutObjectInput) -> bool {
    input.content_length.is_some_and(|n| n >= 0)
        && !input.key.ends_with('/')
        && input.if_match.is_none()
        && input.if_none_match.is_none()
        && input
            .storage_class
            .as_ref()
            .is_none_or(|class| matches!(class.as_str(), "STANDARD" | "REDUCED_REDUNDANCY"))
        && input.checksum_algorithm.as_ref().is_none_or(|algorithm| {
            matches!(
                algorithm.as_str(),
                "CRC32" | "CRC32C" | "SHA1" | "SHA256" | "CRC64NVME"
            )
        })
}

/// Where one object's files go.
pub(super) struct Paths {
    /// The object itself.
    pub(super) object: PathBuf,
    /// The root, which holds the records and the temporary files.
    pub(super) root: PathBuf,
}

/// What the PUTs of one endpoint share: the name of the next temporary file, and the
/// slots of the writers. Every write creates and renames files in the root, under its
/// directory lock: writers beyond one per core only spin on that lock (with 512 PUTs in
/// flight, twice the CPU of `s3s-fs`'s hand-overs), so the rest wait here, asleep.
#[derive(Debug)]
pub(super) struct Writers {
    counter: AtomicU64,
    slots: tokio::sync::Semaphore,
}

impl Writers {
    /// A new temporary file's path in `root`, named as `s3s-fs` cleans up at start-up.
    pub(super) fn temporary_path(&self, root: &Path) -> PathBuf {
        root.join(format!(
            ".tmp.ferry-{}.internal.part",
            self.counter.fetch_add(1, Ordering::Relaxed)
        ))
    }

    /// A writer's slot, waited for.
    async fn slot(&self) -> S3Result<tokio::sync::SemaphorePermit<'_>> {
        self.slots
            .acquire()
            .await
            .map_err(|e| S3Error::with_source(S3ErrorCode::InternalError, Box::new(e)))
    }
}

impl Default for Writers {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Self {
            counter: AtomicU64::new(0),
            slots: tokio::sync::Semaphore::new(cores),
        }
    }
}

/// Takes `req`'s body, then verifies and writes it with its records (see the module's doc):
/// a body of up to [`SMALL`] bytes whole in memory, then in one blocking task in one of
/// `writers`' slots; a larger one streamed into a temporary file while it is summed, then
/// renamed into place once it is verified.
pub(super) async fn put(
    req: S3Request<dto::PutObjectInput>,
    paths: Paths,
    writers: &Writers,
) -> S3Result<S3Response<dto::PutObjectOutput>> {
    let S3Request {
        mut input,
        headers,
        trailing_headers,
        ..
    } = req;
    let Some(body) = input.body.take() else {
        return Err(S3Error::new(S3ErrorCode::IncompleteBody));
    };
    let given = dto::Checksum {
        checksum_crc32: input.checksum_crc32.take(),
        checksum_crc32c: input.checksum_crc32c.take(),
        checksum_sha1: input.checksum_sha1.take(),
        checksum_sha256: input.checksum_sha256.take(),
        checksum_crc64nvme: input.checksum_crc64nvme.take(),
        ..Default::default()
    };
    let declared = Declared::of(
        given,
        input.checksum_algorithm.as_ref(),
        &headers,
        trailing_headers.as_ref(),
    );
    let summing = Summing {
        md5: md5::Md5::default(),
        declared,
        content_md5: input.content_md5.take(),
    };
    let attributes = Attributes::of(&mut input);
    let records = Records::new(&paths.root, &input.bucket, &input.key);
    let temporary = writers.temporary_path(&paths.root);
    let size = input.content_length.unwrap_or(0).max(0);
    let written = if size <= SMALL {
        let data = whole(body, size).await?;
        let _slot = writers.slot().await?;
        tokio::task::spawn_blocking(move || {
            let mut summing = summing;
            summing.update(&data);
            let (e_tag, sums) = summing.finish()?;
            let write = || -> io::Result<()> {
                replace(&temporary, &paths.object, &data)?;
                write_records(&temporary, &records, &attributes, &e_tag, &sums)
            };
            written(write(), &temporary, e_tag, sums)
        })
        .await
    } else {
        let summing = match stream_to(body, &temporary, summing).await {
            Ok(summing) => summing,
            Err(e) => {
                let _ = std::fs::remove_file(&temporary);
                return Err(e);
            }
        };
        let (e_tag, sums) = match summing.finish() {
            Ok(summed) => summed,
            Err(e) => {
                let _ = std::fs::remove_file(&temporary);
                return Err(e);
            }
        };
        let _slot = writers.slot().await?;
        tokio::task::spawn_blocking(move || {
            let write = || -> io::Result<()> {
                if let Some(parent) = paths.object.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::rename(&temporary, &paths.object)?;
                write_records(&temporary, &records, &attributes, &e_tag, &sums)
            };
            written(write(), &temporary, e_tag, sums)
        })
        .await
    };
    written
        .map_err(|e| S3Error::with_source(S3ErrorCode::InternalError, Box::new(e)))?
        .map(S3Response::new)
}

/// The body of `size` bytes, whole.
async fn whole(mut body: dto::StreamingBlob, size: i64) -> S3Result<Vec<u8>> {
    use futures_util::StreamExt;
    let mut data = Vec::with_capacity(size as usize);
    while let Some(chunk) = body.next().await {
        // A body that fails verification (signature, length) is mapped by the caller.
        let chunk = chunk.map_err(|e| S3Error::with_source(S3ErrorCode::InternalError, e))?;
        data.extend_from_slice(&chunk);
    }
    Ok(data)
}

/// How much of a streamed body is gathered before one write (and its sums) on the
/// blocking pool.
const STREAM_BATCH: usize = 1024 * 1024;

/// Writes `body` into a new file at `temporary`, [`STREAM_BATCH`] bytes at a time, each
/// batch summed by the blocking task that writes it. Returns the sums.
async fn stream_to(
    mut body: dto::StreamingBlob,
    temporary: &Path,
    summing: Summing,
) -> S3Result<Summing> {
    use futures_util::StreamExt;
    let internal = |e: io::Error| S3Error::with_source(S3ErrorCode::InternalError, Box::new(e));
    let path = temporary.to_owned();
    let file = tokio::task::spawn_blocking(move || std::fs::File::create(path))
        .await
        .map_err(|e| internal(io::Error::other(e)))?
        .map_err(internal)?;
    let mut state = (file, summing, Vec::with_capacity(STREAM_BATCH));
    let mut batch = Vec::with_capacity(STREAM_BATCH);
    loop {
        let chunk = body.next().await;
        if let Some(chunk) = chunk.as_ref() {
            let chunk = chunk
                .as_ref()
                .map_err(|e| S3Error::with_message(S3ErrorCode::InternalError, e.to_string()))?;
            batch.extend_from_slice(chunk);
            if batch.len() < STREAM_BATCH {
                continue;
            }
        }
        let (mut file, mut summing, mut spare) = state;
        std::mem::swap(&mut batch, &mut spare);
        state = tokio::task::spawn_blocking(move || {
            use std::io::Write;
            summing.update(&spare);
            file.write_all(&spare)?;
            spare.clear();
            Ok::<_, io::Error>((file, summing, spare))
        })
        .await
        .map_err(|e| internal(io::Error::other(e)))?
        .map_err(internal)?;
        if chunk.is_none() {
            return Ok(state.1);
        }
    }
}

/// A PUT's running MD5 and declared checksums, and its `Content-MD5`.
struct Summing {
    md5: md5::Md5,
    declared: Option<(Declared, s3s::checksum::ChecksumHasher)>,
    content_md5: Option<String>,
}

impl Summing {
    /// Sums `data`, the next bytes of the body.
    fn update(&mut self, data: &[u8]) {
        use md5::Digest;
        self.md5.update(data);
        if let Some((_, hasher)) = &mut self.declared {
            hasher.update(data);
        }
    }

    /// The body's MD5 (its ETag, in hex) and its sums for every declared algorithm, once
    /// the `Content-MD5` and every declared checksum match (the trailer's too, now that
    /// the body is in): else BadDigest (InvalidDigest for a `Content-MD5` that is no
    /// base64).
    fn finish(self) -> S3Result<(String, dto::Checksum)> {
        use base64::Engine;
        use md5::Digest;
        let md5 = self.md5.finalize();
        if let Some(given) = self.content_md5 {
            let given = base64::engine::general_purpose::STANDARD
                .decode(given.trim())
                .map_err(|_| {
                    S3Error::with_message(
                        S3ErrorCode::InvalidDigest,
                        "The Content-MD5 you specified is not valid base64.",
                    )
                })?;
            if given[..] != md5[..] {
                return Err(S3Error::with_message(
                    S3ErrorCode::BadDigest,
                    "The Content-MD5 you specified did not match what we received.",
                ));
            }
        }
        let sums = match self.declared {
            Some((declared, hasher)) => {
                let sums = hasher.finalize();
                declared.check(&sums)?;
                sums
            }
            None => dto::Checksum::default(),
        };
        Ok((crate::s3::etag::hex(&md5), sums))
    }
}

/// Writes the object's attributes (or removes them, when it has none) and its ETag and
/// checksums, each under `temporary` then renamed into place.
fn write_records(
    temporary: &Path,
    records: &Records,
    attributes: &Attributes,
    e_tag: &str,
    sums: &dto::Checksum,
) -> io::Result<()> {
    match attributes.to_json()? {
        Some(json) => replace(temporary, &records.metadata, &json)?,
        None => remove_if_present(&records.metadata)?,
    }
    let mut info = serde_json::Map::new();
    info.insert("e_tag".into(), e_tag.into());
    for (name, value) in [
        ("checksum_crc32", &sums.checksum_crc32),
        ("checksum_crc32c", &sums.checksum_crc32c),
        ("checksum_sha1", &sums.checksum_sha1),
        ("checksum_sha256", &sums.checksum_sha256),
        ("checksum_crc64nvme", &sums.checksum_crc64nvme),
    ] {
        if let Some(value) = value {
            info.insert(name.into(), value.clone().into());
        }
    }
    replace(temporary, &records.internal, &serde_json::to_vec(&info)?)
}

/// The answer to a PUT whose writing ended with `result` (the temporary file removed if it
/// failed).
fn written(
    result: io::Result<()>,
    temporary: &Path,
    e_tag: String,
    sums: dto::Checksum,
) -> S3Result<dto::PutObjectOutput> {
    if let Err(e) = result {
        let _ = std::fs::remove_file(temporary);
        return Err(S3Error::with_source(
            S3ErrorCode::InternalError,
            Box::new(e),
        ));
    }
    Ok(dto::PutObjectOutput {
        e_tag: Some(dto::ETag::Strong(e_tag)),
        checksum_crc32: sums.checksum_crc32,
        checksum_crc32c: sums.checksum_crc32c,
        checksum_sha1: sums.checksum_sha1,
        checksum_sha256: sums.checksum_sha256,
        checksum_crc64nvme: sums.checksum_crc64nvme,
        ..Default::default()
    })
}

/// An object's attributes as `s3s-fs` 0.14 stores them (its `ObjectAttributes`).
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Attributes {
    #[serde(skip_serializing_if = "Option::is_none")]
    user_metadata: Option<dto::Metadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_encoding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_disposition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    website_redirect_location: Option<String>,
}

impl Attributes {
    /// The attributes a PUT of `input` sets (taken out of it).
    fn of(input: &mut dto::PutObjectInput) -> Self {
        Self {
            user_metadata: input.metadata.take(),
            content_encoding: input.content_encoding.take(),
            content_type: input.content_type.take(),
            content_disposition: input.content_disposition.take(),
            content_language: input.content_language.take(),
            cache_control: input.cache_control.take(),
            expires: input.expires.take().and_then(|t| {
                let mut text = Vec::new();
                t.format(dto::TimestampFormat::DateTime, &mut text).ok()?;
                String::from_utf8(text).ok()
            }),
            website_redirect_location: input.website_redirect_location.take(),
        }
    }

    /// The record's JSON, or `None` when the PUT sets no attribute at all.
    fn to_json(&self) -> io::Result<Option<Vec<u8>>> {
        let json = serde_json::to_vec(self)?;
        Ok((json != b"{}").then_some(json))
    }

    /// The record in `json`, as `s3s-fs` reads it: the attributes, or (its older format)
    /// the user metadata alone.
    fn from_json(json: &[u8]) -> Option<Self> {
        serde_json::from_slice(json).ok().or_else(|| {
            let user_metadata = serde_json::from_slice::<dto::Metadata>(json).ok()?;
            Some(Self {
                user_metadata: Some(user_metadata),
                ..Self::default()
            })
        })
    }
}

/// Whether a GET of `input` is answered here: the whole object, by a key that does not end
/// in `/`. Ranges and part numbers go to `s3s-fs`.
pub(super) fn get_applies(input: &dto::GetObjectInput) -> bool {
    input.range.is_none() && input.part_number.is_none() && !input.key.ends_with('/')
}

/// The whole object `bucket/key` at `paths.object` with its attributes, ETag and checksums,
/// read in one blocking task: NoSuchKey when there is no file there (or a directory), and
/// `None` when it is larger than [`SMALL`] (for `s3s-fs` to stream).
pub(super) async fn get(
    bucket: &str,
    key: &str,
    paths: Paths,
) -> S3Result<Option<dto::GetObjectOutput>> {
    let records = Records::new(&paths.root, bucket, key);
    let internal = |e| S3Error::with_source(S3ErrorCode::InternalError, Box::new(e));
    let found = tokio::task::spawn_blocking(move || read_small(&paths.object, &records))
        .await
        .map_err(|e| internal(io::Error::other(e)))?
        .map_err(internal)?;
    match found {
        Found::Small(object) => Ok(Some(object.into_output())),
        Found::Larger => Ok(None),
        Found::Nothing => Err(S3Error::new(S3ErrorCode::NoSuchKey)),
    }
}

/// What a key finds on disk, for [`get`].
enum Found {
    /// An object of up to [`SMALL`] bytes, read whole.
    Small(Box<SmallObject>),
    /// An object larger than that, left to `s3s-fs` to stream.
    Larger,
    /// No object: nothing there, or a directory.
    Nothing,
}

/// An object read whole, with its records.
struct SmallObject {
    data: Vec<u8>,
    modified: std::time::SystemTime,
    attributes: Option<Attributes>,
    info: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Reads the object at `object` and its `records`, if it is small.
fn read_small(object: &Path, records: &Records) -> io::Result<Found> {
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(object) else {
        return Ok(Found::Nothing); // as `s3s-fs`: any failure to open is NoSuchKey
    };
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Ok(Found::Nothing);
    }
    if meta.len() > SMALL as u64 {
        return Ok(Found::Larger);
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut data)?;
    let attributes = read_if_present(&records.metadata)?.and_then(|j| Attributes::from_json(&j));
    let info = match read_if_present(&records.internal)? {
        Some(json) => Some(serde_json::from_slice(&json)?),
        None => None,
    };
    Ok(Found::Small(Box::new(SmallObject {
        data,
        modified: meta.modified()?,
        attributes,
        info,
    })))
}

impl SmallObject {
    /// The answer `s3s-fs` gives for this object: its ETag from the record (else the MD5
    /// of its bytes), and every checksum stored with it.
    fn into_output(self) -> dto::GetObjectOutput {
        let info = self.info.unwrap_or_default();
        let text = |name: &str| info.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        let e_tag = text("e_tag").unwrap_or_else(|| crate::s3::etag::md5_of_bytes(&self.data));
        let attributes = self.attributes.unwrap_or_default();
        dto::GetObjectOutput {
            content_length: Some(self.data.len() as i64),
            last_modified: Some(self.modified.into()),
            metadata: attributes.user_metadata,
            content_encoding: attributes.content_encoding,
            content_type: attributes.content_type,
            content_disposition: attributes.content_disposition,
            content_language: attributes.content_language,
            cache_control: attributes.cache_control,
            expires: attributes
                .expires
                .and_then(|t| dto::Timestamp::parse(dto::TimestampFormat::DateTime, &t).ok()),
            website_redirect_location: attributes.website_redirect_location,
            e_tag: Some(dto::ETag::Strong(e_tag)),
            checksum_crc32: text("checksum_crc32"),
            checksum_crc32c: text("checksum_crc32c"),
            checksum_sha1: text("checksum_sha1"),
            checksum_sha256: text("checksum_sha256"),
            checksum_crc64nvme: text("checksum_crc64nvme"),
            body: Some(dto::StreamingBlob::from(s3s::Body::from(
                bytes::Bytes::from(self.data),
            ))),
            ..Default::default()
        }
    }
}

/// The bytes of `path`, or `None` if there is no such file.
pub(super) fn read_if_present(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(data) => Ok(Some(data)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Keeps only the ETag in `bucket/key`'s internal record, dropping the checksums of the
/// object there now. Run before `s3s-fs` completes a multipart upload over it: `s3s-fs`
/// updates the ETag of the record it finds and keeps the rest, so the new object was
/// reported with the old one's checksums (and every verifying download of it failed). If
/// the completion then fails, the old object stays, without its checksums: never with
/// wrong ones.
pub(super) async fn forget_checksums(
    root: &Path,
    bucket: &str,
    key: &str,
    writers: &Writers,
) -> io::Result<()> {
    let records = Records::new(root, bucket, key);
    let temporary = writers.temporary_path(root);
    let forget = move || -> io::Result<()> {
        let Some(json) = read_if_present(&records.internal)? else {
            return Ok(());
        };
        let Ok(mut info) =
            serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&json)
        else {
            return Ok(());
        };
        if info.keys().all(|name| name == "e_tag") {
            return Ok(());
        }
        info.retain(|name, _| name == "e_tag");
        let written = replace(&temporary, &records.internal, &serde_json::to_vec(&info)?);
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        written
    };
    tokio::task::spawn_blocking(forget)
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)))
}

/// The paths of an object's two records in the root.
pub(super) struct Records {
    metadata: PathBuf,
    /// The ETag and checksums.
    pub(super) internal: PathBuf,
}

impl Records {
    /// The records of `bucket/key` in `root`.
    pub(super) fn new(root: &Path, bucket: &str, key: &str) -> Self {
        use base64::Engine;
        let encode = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let stem = format!(".bucket-{}.object-{}", encode(bucket), encode(key));
        Self {
            metadata: root.join(format!("{stem}.metadata.json")),
            internal: root.join(format!("{stem}.internal.json")),
        }
    }
}

/// Writes `data` to `temporary` and renames it over `path` (its directories made first).
pub(super) fn replace(temporary: &Path, path: &Path, data: &[u8]) -> io::Result<()> {
    std::fs::write(temporary, data)?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::rename(temporary, path)
}

/// Removes `path`; one that is not there is fine. It is looked up first: an unlink takes
/// the directory's lock even when there is nothing to remove, and the root is the
/// directory every write contends for.
fn remove_if_present(path: &Path) -> io::Result<()> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
