//! [`Store`]: `s3s-fs` behind the `s3s::S3` trait, with the gaps ferry meets filled in.

use super::MAX_LIST;
use super::hashed;
use super::listing;
use super::part_checksum::PartCheck;
use super::small_objects;
use super::uploads::{is_upload_id, list_uploads_page, no_such_upload, open_uploads};
use s3s::dto;
use std::fmt;
use std::future::Future;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;

/// `s3s-fs` with the gaps ferry meets filled in; every other operation goes straight to it.
///
/// * ListMultipartUploads, which `s3s-fs` lacks, from the upload records it keeps in the root;
/// * ListParts sorted by part number, with each part's ETag, `max-parts` and
///   `part-number-marker` paging, and NoSuchUpload for an unknown upload;
/// * UploadPart, CompleteMultipartUpload and AbortMultipartUpload answer NoSuchUpload for an
///   upload that is completed, aborted or unknown, as S3 does (`s3s-fs` says AccessDenied);
/// * UploadPart checks the part's `x-amz-checksum-*` (a header or an aws-chunked trailer)
///   against its bytes and refuses a mismatch with BadDigest, keeping no part, where
///   `s3s-fs` ignores them ([`PartCheck`]);
/// * DeleteBucket refuses a bucket that still holds objects (BucketNotEmpty), where `s3s-fs`
///   would delete it with everything in it;
/// * GET and HEAD honour If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since
///   (412 PreconditionFailed, 304 Not Modified), which `s3s-fs` ignores;
/// * a PUT body that fails verification (declared SHA-256, chunk signature, length) is
///   answered with a 4xx naming the problem, not `500 InternalError`, so that clients do not
///   retry it as a server fault;
/// * a key that names a directory (`small` or `small/` once `small/a.bin` is an object), or
///   one ending in `/` that reaches a file (`small/a.bin/`), is no object: HEAD, GET and the
///   source of CopyObject and UploadPartCopy answer 404 NoSuchKey, DeleteObject(s) succeed
///   and delete nothing, where `s3s-fs` read the directory as a file and failed with 500;
/// * ListObjects(V2) skip a file deleted while they list it (see [`listing`]), where
///   `s3s-fs` failed the whole page with 500;
/// * CompleteMultipartUpload over an existing object drops that object's checksums, which
///   `s3s-fs` kept in the new object's record ([`small_objects::forget_checksums`]);
/// * PutObject and whole-object GETs of small objects take one blocking task each, in
///   `s3s-fs`'s file layout, and a PUT is verified before it is written
///   ([`small_objects`]).
///
/// The upload records are `s3s-fs` 0.14's own files in the root:
/// `.upload-{id}.json` while an upload is open, `.upload_id-{id}.part-{n}` per part, and
/// `.bucket-{b64(bucket)}.object-{b64(key)}.upload-{id}.metadata.json` (URL-safe base64
/// without padding) written when it is created.
pub(super) struct Store {
    fs: s3s_fs::FileSystem,
    root: PathBuf,
    /// What the PUTs of small objects share.
    small_puts: small_objects::Writers,
    /// The ETags of files put in the root by hand, hashed once.
    hashing: hashed::Hashing,
}

impl Store {
    /// NoSuchBucket unless `bucket` exists: s3s-fs would create its directory on a write,
    /// so a PUT into a bucket nobody made would make it.
    fn require_bucket(&self, bucket: &str) -> Result<(), s3s::S3Error> {
        if self.root.join(bucket).is_dir() {
            Ok(())
        } else {
            Err(s3s::S3Error::new(s3s::S3ErrorCode::NoSuchBucket))
        }
    }

    /// Serves `fs`, which serves `root` (resolved to an absolute path).
    pub(super) fn new(fs: s3s_fs::FileSystem, root: PathBuf) -> Self {
        Self {
            fs,
            root,
            small_puts: small_objects::Writers::default(),
            hashing: hashed::Hashing::default(),
        }
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("root", &self.root).finish()
    }
}

/// What `s3s`'s `#[async_trait]` methods return.
type S3Future<'a, T> = Pin<Box<dyn Future<Output = s3s::S3Result<s3s::S3Response<T>>> + Send + 'a>>;

/// Forwards S3 operations to `self.fs` unchanged (the signatures `#[async_trait]` expands to).
macro_rules! delegate_to_fs {
    ($($name:ident($input:ident) -> $output:ident;)*) => {$(
        fn $name<'life0, 'async_trait>(
            &'life0 self,
            req: s3s::S3Request<dto::$input>,
        ) -> S3Future<'async_trait, dto::$output>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            self.fs.$name(req)
        }
    )*};
}

/// Forwards operations on one multipart upload to `self.fs` once the upload is known to be
/// open: otherwise NoSuchUpload, as S3 answers (`s3s-fs` says AccessDenied).
macro_rules! delegate_open_upload_to_fs {
    ($($name:ident($input:ident) -> $output:ident;)*) => {$(
        fn $name<'life0, 'async_trait>(
            &'life0 self,
            req: s3s::S3Request<dto::$input>,
        ) -> S3Future<'async_trait, dto::$output>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async move {
                if !self.upload_is_open(&req.input.upload_id) {
                    return Err(no_such_upload());
                }
                self.fs.$name(req).await
            })
        }
    )*};
}

impl s3s::S3 for Store {
    delegate_to_fs! {
        list_buckets(ListBucketsInput) -> ListBucketsOutput;
        create_bucket(CreateBucketInput) -> CreateBucketOutput;
        head_bucket(HeadBucketInput) -> HeadBucketOutput;
        get_bucket_location(GetBucketLocationInput) -> GetBucketLocationOutput;
    }

    delegate_open_upload_to_fs! {
        abort_multipart_upload(AbortMultipartUploadInput) -> AbortMultipartUploadOutput;
    }

    fn complete_multipart_upload<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::CompleteMultipartUploadInput>,
    ) -> S3Future<'async_trait, dto::CompleteMultipartUploadOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let input = &req.input;
            if !self.upload_is_open(&input.upload_id) {
                return Err(no_such_upload());
            }
            if self.object_path(&input.bucket, &input.key).is_some() {
                small_objects::forget_checksums(
                    &self.root,
                    &input.bucket,
                    &input.key,
                    &self.small_puts,
                )
                .await
                .map_err(|e| {
                    s3s::S3Error::with_source(s3s::S3ErrorCode::InternalError, Box::new(e))
                })?;
            }
            self.fs.complete_multipart_upload(req).await
        })
    }

    fn get_object<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::GetObjectInput>,
    ) -> S3Future<'async_trait, dto::GetObjectOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let input = &req.input;
            let conditions = Preconditions {
                if_match: input.if_match.clone(),
                if_none_match: input.if_none_match.clone(),
                if_modified_since: input.if_modified_since.clone(),
                if_unmodified_since: input.if_unmodified_since.clone(),
            };
            if small_objects::get_applies(input)
                && let Some(object) = self.object_path(&input.bucket, &input.key)
            {
                let paths = small_objects::Paths {
                    object,
                    root: self.root.clone(),
                };
                if let Some(output) = small_objects::get(&input.bucket, &input.key, paths).await? {
                    conditions.check(output.e_tag.as_ref(), output.last_modified.as_ref())?;
                    return Ok(s3s::S3Response::new(output));
                }
            }
            if self
                .not_an_object(&input.bucket, &input.key)
                .await
                .is_some()
            {
                return Err(no_such_key());
            }
            self.hash_if_put_by_hand(&input.bucket, &input.key).await;
            let response = self.fs.get_object(req).await?;
            // On a failed condition the body stream (the open file) is dropped unread.
            let output = &response.output;
            conditions.check(output.e_tag.as_ref(), output.last_modified.as_ref())?;
            Ok(response)
        })
    }

    fn head_object<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::HeadObjectInput>,
    ) -> S3Future<'async_trait, dto::HeadObjectOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let input = &req.input;
            let conditions = Preconditions {
                if_match: input.if_match.clone(),
                if_none_match: input.if_none_match.clone(),
                if_modified_since: input.if_modified_since.clone(),
                if_unmodified_since: input.if_unmodified_since.clone(),
            };
            if self
                .not_an_object(&input.bucket, &input.key)
                .await
                .is_some()
            {
                return Err(no_such_key());
            }
            self.hash_if_put_by_hand(&input.bucket, &input.key).await;
            let response = self.fs.head_object(req).await?;
            let output = &response.output;
            conditions.check(output.e_tag.as_ref(), output.last_modified.as_ref())?;
            Ok(response)
        })
    }

    fn copy_object<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::CopyObjectInput>,
    ) -> S3Future<'async_trait, dto::CopyObjectOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.require_bucket(&req.input.bucket)?;
            self.check_copy_source(&req.input.copy_source).await?;
            self.fs.copy_object(req).await
        })
    }

    fn upload_part_copy<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::UploadPartCopyInput>,
    ) -> S3Future<'async_trait, dto::UploadPartCopyOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.check_copy_source(&req.input.copy_source).await?;
            self.fs.upload_part_copy(req).await
        })
    }

    fn delete_object<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::DeleteObjectInput>,
    ) -> S3Future<'async_trait, dto::DeleteObjectOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            if self
                .nothing_to_delete(&req.input.bucket, &req.input.key)
                .await
            {
                // As S3 answers for a key that names no object: 204, nothing deleted.
                return Ok(s3s::S3Response::new(dto::DeleteObjectOutput::default()));
            }
            self.fs.delete_object(req).await
        })
    }

    fn delete_objects<'life0, 'async_trait>(
        &'life0 self,
        mut req: s3s::S3Request<dto::DeleteObjectsInput>,
    ) -> S3Future<'async_trait, dto::DeleteObjectsOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            // Keys that name no object are reported deleted without reaching `s3s-fs`
            // (whose `remove_file` of a directory fails the whole batch); the answer keeps
            // the order of the request.
            let objects = std::mem::take(&mut req.input.delete.objects);
            let keys = objects.iter().map(|o| o.key.clone()).collect();
            let mut skip = self
                .nothing_to_delete_in(&req.input.bucket, keys)
                .await
                .into_iter();
            let mut answered: Vec<Option<dto::DeletedObject>> = Vec::with_capacity(objects.len());
            for object in objects {
                if skip.next().unwrap_or(false) {
                    answered.push(Some(dto::DeletedObject {
                        key: Some(object.key),
                        version_id: object.version_id,
                        ..Default::default()
                    }));
                } else {
                    answered.push(None);
                    req.input.delete.objects.push(object);
                }
            }
            let mut response = self.fs.delete_objects(req).await?;
            let mut from_fs = response
                .output
                .deleted
                .take()
                .unwrap_or_default()
                .into_iter();
            let mut deleted: Vec<dto::DeletedObject> = answered
                .into_iter()
                .filter_map(|mine| mine.or_else(|| from_fs.next()))
                .collect();
            deleted.extend(from_fs);
            response.output.deleted = Some(deleted);
            Ok(response)
        })
    }

    fn list_objects<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::ListObjectsInput>,
    ) -> S3Future<'async_trait, dto::ListObjectsOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let input = req.input;
            let span = listing::span_v1(&input);
            let walk = self
                .walk(
                    &input.bucket,
                    input.prefix.as_deref(),
                    input.delimiter.as_deref(),
                    span,
                )
                .await?;
            Ok(s3s::S3Response::new(listing::page_v1(input, walk)))
        })
    }

    fn list_objects_v2<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::ListObjectsV2Input>,
    ) -> S3Future<'async_trait, dto::ListObjectsV2Output>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let input = req.input;
            let span = listing::span_v2(&input);
            let walk = self
                .walk(
                    &input.bucket,
                    input.prefix.as_deref(),
                    input.delimiter.as_deref(),
                    span,
                )
                .await?;
            Ok(s3s::S3Response::new(listing::page_v2(input, walk)))
        })
    }

    fn put_object<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::PutObjectInput>,
    ) -> S3Future<'async_trait, dto::PutObjectOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.require_bucket(&req.input.bucket)?;
            if small_objects::applies(&req.input)
                && let Some(object) = self.object_path(&req.input.bucket, &req.input.key)
            {
                let paths = small_objects::Paths {
                    object,
                    root: self.root.clone(),
                };
                return small_objects::put(req, paths, &self.small_puts)
                    .await
                    .map_err(body_error);
            }
            self.fs.put_object(req).await.map_err(body_error)
        })
    }

    fn create_multipart_upload<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::CreateMultipartUploadInput>,
    ) -> S3Future<'async_trait, dto::CreateMultipartUploadOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.require_bucket(&req.input.bucket)?;
            self.fs.create_multipart_upload(req).await
        })
    }

    fn upload_part<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::UploadPartInput>,
    ) -> S3Future<'async_trait, dto::UploadPartOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            if !self.upload_is_open(&req.input.upload_id) {
                return Err(no_such_upload());
            }
            let mut req = req;
            let check =
                PartCheck::start(&mut req.input, &req.headers, req.trailing_headers.as_ref());
            let part = format!(
                ".upload_id-{}.part-{}",
                req.input.upload_id, req.input.part_number
            );
            let output = self.fs.upload_part(req).await.map_err(body_error)?;
            if let Some(check) = check
                && let Err(refused) = check.verify()
            {
                // S3 keeps no part whose checksum failed.
                let _ = tokio::fs::remove_file(self.root.join(part)).await;
                return Err(refused);
            }
            Ok(output)
        })
    }

    fn delete_bucket<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::DeleteBucketInput>,
    ) -> S3Future<'async_trait, dto::DeleteBucketOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let bucket_dir = self.root.join(&req.input.bucket);
            let dir = bucket_dir.clone();
            let holds_objects = tokio::task::spawn_blocking(move || holds_a_file(&dir))
                .await
                .map_err(|e| {
                    s3s::S3Error::with_source(s3s::S3ErrorCode::InternalError, Box::new(e))
                })?;
            if holds_objects {
                return Err(s3s::S3Error::with_message(
                    s3s::S3ErrorCode::BucketNotEmpty,
                    "The bucket you tried to delete is not empty",
                ));
            }
            self.fs.delete_bucket(req).await
        })
    }

    fn list_parts<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::ListPartsInput>,
    ) -> S3Future<'async_trait, dto::ListPartsOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let upload_id = req.input.upload_id.clone();
            if !self.upload_is_open(&upload_id) {
                return Err(no_such_upload());
            }
            let marker = req.input.part_number_marker.unwrap_or(0).max(0);
            let max_parts = req.input.max_parts.unwrap_or(MAX_LIST).clamp(0, MAX_LIST);
            let mut response = self.fs.list_parts(req).await?;
            let output = &mut response.output;
            let mut parts = output.parts.take().unwrap_or_default();
            parts.retain(|p| p.part_number.unwrap_or(0) > marker);
            parts.sort_by_key(|p| p.part_number);
            let truncated = parts.len() > max_parts as usize;
            parts.truncate(max_parts as usize);
            let root = self.root.clone();
            let id = upload_id.clone();
            let numbers: Vec<i32> = parts.iter().filter_map(|p| p.part_number).collect();
            let etags = tokio::task::spawn_blocking(move || {
                numbers
                    .into_iter()
                    .map(|n| file_md5_hex(&root.join(format!(".upload_id-{id}.part-{n}"))).ok())
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|e| s3s::S3Error::with_source(s3s::S3ErrorCode::InternalError, Box::new(e)))?;
            for (part, etag) in parts.iter_mut().zip(etags) {
                part.e_tag = etag.map(dto::ETag::Strong);
            }
            output.next_part_number_marker = if truncated {
                parts.last().and_then(|p| p.part_number)
            } else {
                None
            };
            output.is_truncated = Some(truncated);
            output.max_parts = Some(max_parts);
            output.part_number_marker = Some(marker);
            output.parts = Some(parts);
            Ok(response)
        })
    }

    fn list_multipart_uploads<'life0, 'async_trait>(
        &'life0 self,
        req: s3s::S3Request<dto::ListMultipartUploadsInput>,
    ) -> S3Future<'async_trait, dto::ListMultipartUploadsOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let input = req.input;
            if !self.root.join(&input.bucket).is_dir() {
                return Err(s3s::S3Error::new(s3s::S3ErrorCode::NoSuchBucket));
            }
            let root = self.root.clone();
            let bucket = input.bucket.clone();
            let uploads = tokio::task::spawn_blocking(move || open_uploads(&root, &bucket))
                .await
                .map_err(|e| {
                    s3s::S3Error::with_source(s3s::S3ErrorCode::InternalError, Box::new(e))
                })?
                .map_err(|e| {
                    s3s::S3Error::with_source(s3s::S3ErrorCode::InternalError, Box::new(e))
                })?;
            Ok(s3s::S3Response::new(list_uploads_page(input, uploads)))
        })
    }
}

/// The conditional headers of a GET or HEAD, which `s3s-fs` ignores.
#[derive(Debug)]
struct Preconditions {
    if_match: Option<dto::ETagCondition>,
    if_none_match: Option<dto::ETagCondition>,
    if_modified_since: Option<dto::Timestamp>,
    if_unmodified_since: Option<dto::Timestamp>,
}

impl Preconditions {
    /// Evaluates the conditions against the object's ETag and Last-Modified as S3 does
    /// (RFC 9110 §13.2.2): If-Match, else If-Unmodified-Since, may fail with 412
    /// PreconditionFailed; then If-None-Match, else If-Modified-Since, may answer 304 Not
    /// Modified (with the ETag and Last-Modified headers, no body).
    fn check(
        &self,
        etag: Option<&dto::ETag>,
        last_modified: Option<&dto::Timestamp>,
    ) -> s3s::S3Result<()> {
        // Last-Modified goes out in whole seconds; compare at that precision.
        let modified = last_modified.and_then(whole_seconds);
        let failed = match (&self.if_match, &self.if_unmodified_since, &modified) {
            (Some(dto::ETagCondition::Any), _, _) => false,
            (Some(dto::ETagCondition::ETag(want)), _, _) => {
                !etag.is_some_and(|e| e.strong_cmp(want))
            }
            (None, Some(since), Some(modified)) => modified > since,
            _ => false,
        };
        if failed {
            return Err(s3s::S3Error::with_message(
                s3s::S3ErrorCode::PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold",
            ));
        }
        let not_modified = match (&self.if_none_match, &self.if_modified_since, &modified) {
            (Some(dto::ETagCondition::Any), _, _) => true,
            (Some(dto::ETagCondition::ETag(want)), _, _) => etag.is_some_and(|e| e.weak_cmp(want)),
            (None, Some(since), Some(modified)) => modified <= since,
            _ => false,
        };
        if not_modified {
            let mut err = s3s::S3Error::new(s3s::S3ErrorCode::NotModified);
            let mut headers = http::HeaderMap::new();
            if let Some(value) = etag.and_then(|e| e.to_http_header().ok()) {
                headers.insert(http::header::ETAG, value);
            }
            if let Some(value) = last_modified.and_then(http_date) {
                headers.insert(http::header::LAST_MODIFIED, value);
            }
            err.set_headers(headers);
            return Err(err);
        }
        Ok(())
    }
}

/// `time` as an HTTP date (whole seconds).
fn http_date(time: &dto::Timestamp) -> Option<http::HeaderValue> {
    let mut buf = Vec::new();
    time.format(dto::TimestampFormat::HttpDate, &mut buf).ok()?;
    http::HeaderValue::from_bytes(&buf).ok()
}

/// `time` without its fraction of a second (through its HTTP date, which truncates).
fn whole_seconds(time: &dto::Timestamp) -> Option<dto::Timestamp> {
    let mut buf = Vec::new();
    time.format(dto::TimestampFormat::HttpDate, &mut buf).ok()?;
    dto::Timestamp::parse(
        dto::TimestampFormat::HttpDate,
        std::str::from_utf8(&buf).ok()?,
    )
    .ok()
}

/// What a key finds on disk where `s3s-fs` expects an object's file (or nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NotAnObject {
    /// A directory: `small` or `small/` once `small/a.bin` is an object, or an empty one
    /// that deleting `small/a.bin` left behind. S3 has no object there.
    Directory,
    /// A file reached through a key that ends in `/`: `a.bin/` resolves to the object
    /// `a.bin`, which S3 would not take for the key `a.bin/`.
    FileBehindSlash,
}

impl Store {
    /// The directory of `bucket`, if the name is one plain path component.
    fn bucket_dir(&self, bucket: &str) -> Option<PathBuf> {
        let mut parts = Path::new(bucket).components();
        match (parts.next(), parts.next()) {
            (Some(Component::Normal(name)), None) => Some(self.root.join(name)),
            _ => None,
        }
    }

    /// The path `s3s-fs` serves `bucket/key` from (without a trailing `/`), if the key is
    /// made of plain components; `None` for anything else, which is left to `s3s-fs`.
    fn object_path(&self, bucket: &str, key: &str) -> Option<PathBuf> {
        let mut path = self.bucket_dir(bucket)?;
        for part in Path::new(key).components() {
            match part {
                Component::Normal(name) => path.push(name),
                Component::CurDir => {}
                _ => return None,
            }
        }
        Some(path)
    }

    /// Records the ETag of `bucket/key` if it is a large file put in the root by hand, so
    /// that `s3s-fs` does not hash it again for every request ([`hashed`]).
    async fn hash_if_put_by_hand(&self, bucket: &str, key: &str) {
        if let Some(object) = self.object_path(bucket, key) {
            self.hashing
                .ensure(&self.root, (bucket, key), object, &self.small_puts)
                .await;
        }
    }

    /// Whether `bucket/key` finds something on disk that is not an object (links followed,
    /// as `s3s-fs` follows them).
    async fn not_an_object(&self, bucket: &str, key: &str) -> Option<NotAnObject> {
        let path = self.object_path(bucket, key)?;
        let meta = tokio::fs::metadata(&path).await.ok()?;
        not_an_object(&meta, key)
    }

    /// Whether deleting `bucket/key` must succeed without touching the disk: the key names
    /// no object. A key ending in `/` that names a directory still goes to `s3s-fs`, which
    /// removes the directory if it is empty (a "directory marker").
    async fn nothing_to_delete(&self, bucket: &str, key: &str) -> bool {
        nothing_to_delete(self.not_an_object(bucket, key).await, key)
    }

    /// [`Store::nothing_to_delete`] for each key of a batch, on one blocking thread.
    async fn nothing_to_delete_in(&self, bucket: &str, keys: Vec<String>) -> Vec<bool> {
        let paths: Vec<_> = keys.iter().map(|k| self.object_path(bucket, k)).collect();
        let checked = tokio::task::spawn_blocking(move || {
            keys.iter()
                .zip(paths)
                .map(|(key, path)| {
                    let found = path.and_then(|p| std::fs::metadata(p).ok());
                    nothing_to_delete(found.and_then(|m| not_an_object(&m, key)), key)
                })
                .collect::<Vec<_>>()
        })
        .await;
        // A failed check (the thread panicked) leaves every key to `s3s-fs`.
        checked.unwrap_or_default()
    }

    /// NoSuchKey for a copy source that names no object.
    async fn check_copy_source(&self, source: &dto::CopySource) -> s3s::S3Result<()> {
        if let dto::CopySource::Bucket { bucket, key, .. } = source
            && self.not_an_object(bucket, key).await.is_some()
        {
            return Err(no_such_key());
        }
        Ok(())
    }

    /// Walks the bucket for a listing page's `span`, on a blocking thread; NoSuchBucket if
    /// it is missing.
    async fn walk(
        &self,
        bucket: &str,
        prefix: Option<&str>,
        delimiter: Option<&str>,
        span: listing::Span,
    ) -> s3s::S3Result<listing::Walk> {
        let no_such_bucket = || s3s::S3Error::new(s3s::S3ErrorCode::NoSuchBucket);
        let dir = self.bucket_dir(bucket).ok_or_else(no_such_bucket)?;
        let (prefix, delimiter) = listing::walk_arguments(prefix, delimiter);
        let (prefix, delimiter) = (prefix.to_owned(), delimiter.map(str::to_owned));
        let walked = tokio::task::spawn_blocking(move || {
            listing::walk(
                &dir,
                &prefix,
                delimiter.as_deref(),
                &span,
                listing::follow_stat,
            )
        })
        .await
        .map_err(|e| s3s::S3Error::with_source(s3s::S3ErrorCode::InternalError, Box::new(e)))?;
        match walked {
            Ok(walk) => Ok(walk),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                Err(no_such_bucket())
            }
            Err(e) => Err(s3s::S3Error::with_source(
                s3s::S3ErrorCode::InternalError,
                Box::new(e),
            )),
        }
    }

    /// Whether `id` names an upload that is neither completed nor aborted.
    fn upload_is_open(&self, id: &str) -> bool {
        is_upload_id(id) && self.root.join(format!(".upload-{id}.json")).is_file()
    }
}

/// What `key` finds in what its path's metadata describes, if that is no object.
fn not_an_object(meta: &std::fs::Metadata, key: &str) -> Option<NotAnObject> {
    if meta.is_dir() {
        Some(NotAnObject::Directory)
    } else if key.ends_with('/') {
        Some(NotAnObject::FileBehindSlash)
    } else {
        None
    }
}

/// Whether deleting `key`, which finds `found` on disk, must succeed without touching it.
fn nothing_to_delete(found: Option<NotAnObject>, key: &str) -> bool {
    match found {
        Some(NotAnObject::FileBehindSlash) => true,
        Some(NotAnObject::Directory) => !key.ends_with('/'),
        None => false,
    }
}

fn no_such_key() -> s3s::S3Error {
    s3s::S3Error::with_message(
        s3s::S3ErrorCode::NoSuchKey,
        "The specified key does not exist.",
    )
}

/// Turns `s3s-fs`'s `500 InternalError` for a body that failed verification into the error
/// S3 gives: the cause is the request, and retrying it cannot help.
fn body_error(err: s3s::S3Error) -> s3s::S3Error {
    if *err.code() != s3s::S3ErrorCode::InternalError {
        return err;
    }
    let mut causes = String::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = match err.source() {
        Some(s) => Some(s),
        None => return err,
    };
    // Error chains are short; the bound only guards against a cycle.
    for _ in 0..16 {
        let Some(s) = source else { break };
        causes.push_str(&s.to_string());
        causes.push('\n');
        source = s.source();
    }
    let (code, status, message) = if reading_the_body_failed(&err) {
        // The client stopped sending: it gave up (a hedged part whose twin won, a cancelled
        // transfer) or lost its connection. Nobody may read this answer, but it is the
        // client's doing, not a server fault to warn about.
        (
            s3s::S3ErrorCode::IncompleteBody,
            http::StatusCode::BAD_REQUEST,
            "The connection ended before the whole body was received.",
        )
    } else if causes.contains("Sha256Mismatch") {
        (
            s3s::S3ErrorCode::Custom("XAmzContentSHA256Mismatch".into()),
            http::StatusCode::BAD_REQUEST,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
    } else if causes.contains("AwsChunkedStreamError: SignatureMismatch") {
        (
            s3s::S3ErrorCode::SignatureDoesNotMatch,
            http::StatusCode::FORBIDDEN,
            "A chunk signature of the aws-chunked body does not match.",
        )
    } else if causes.contains("LengthMismatch")
        || causes.contains("Incomplete")
        || causes.contains("AwsChunkedStreamError: FormatError")
    {
        (
            s3s::S3ErrorCode::IncompleteBody,
            http::StatusCode::BAD_REQUEST,
            "The body does not match its declared length or aws-chunked framing.",
        )
    } else {
        return err;
    };
    tracing::debug!(%causes, "request body failed verification");
    let mut mapped = s3s::S3Error::with_message(code, message);
    mapped.set_status_code(status);
    mapped
}

/// Whether `err` was caused by reading the request body from the connection (the client
/// closed or reset it before sending everything): `hyper` is only ever involved there.
fn reading_the_body_failed(err: &s3s::S3Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = match err.source() {
        Some(s) => Some(s),
        None => return false,
    };
    // Error chains are short; the bound only guards against a cycle.
    for _ in 0..16 {
        let Some(s) = source else { return false };
        if s.downcast_ref::<hyper::Error>().is_some() {
            return true;
        }
        source = s.source();
    }
    false
}

/// Whether `dir` holds a file anywhere below it (empty sub-directories do not count: they
/// are what deleting `a/b` leaves behind).
fn holds_a_file(dir: &Path) -> bool {
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => pending.push(entry.path()),
                // Files, links, anything else: the bucket is not empty.
                _ => return true,
            }
        }
    }
    false
}

/// The lower-case hex MD5 of a file: `s3s-fs`'s ETag for a part or a whole object.
pub(super) fn file_md5_hex(path: &Path) -> io::Result<String> {
    use s3s::crypto::Checksum;
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut md5 = s3s::crypto::Md5::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
    }
    Ok(md5.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_verification_failures_become_client_errors() {
        #[derive(Debug)]
        struct Cause(&'static str);
        impl fmt::Display for Cause {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for Cause {}
        let internal = |cause: &'static str| {
            s3s::S3Error::with_source(s3s::S3ErrorCode::InternalError, Box::new(Cause(cause)))
        };
        let mapped = body_error(internal("UploadStreamError: Sha256Mismatch"));
        assert_eq!(mapped.code().as_str(), "XAmzContentSHA256Mismatch");
        assert_eq!(mapped.status_code(), Some(http::StatusCode::BAD_REQUEST));
        let mapped = body_error(internal("AwsChunkedStreamError: SignatureMismatch"));
        assert_eq!(*mapped.code(), s3s::S3ErrorCode::SignatureDoesNotMatch);
        let mapped = body_error(internal("UploadStreamError: LengthMismatch"));
        assert_eq!(*mapped.code(), s3s::S3ErrorCode::IncompleteBody);
        let disk_full = body_error(internal("No space left on device"));
        assert_eq!(*disk_full.code(), s3s::S3ErrorCode::InternalError);
    }
}
