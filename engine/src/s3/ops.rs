//! Typed S3 operations on [`S3Client`]: buckets, objects, listings, multipart uploads, copies.

use super::client::{Error, MAX_XML_BODY, S3Client, resource};
use super::request::S3Request;
use super::xml::{self, XmlError};
use crate::checksum::{ChecksumAlgorithm, ChecksumType, PartChecksum};
use crate::http::{RequestBody, Response, ResponseBody};
use http::Method;

/// What HeadObject (and GetObject) say about an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Size in bytes (of the whole object, not of a range).
    pub size: u64,
    /// The ETag, quotes included as sent.
    pub etag: Option<String>,
    /// `Last-Modified`, as the store wrote it.
    pub last_modified: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// Stored checksums: (`x-amz-checksum-crc64nvme`-style header name, base64 value).
    pub checksums: Vec<(String, String)>,
    /// `x-amz-checksum-type` (`FULL_OBJECT` or `COMPOSITE`).
    pub checksum_type: Option<String>,
    /// User metadata (`x-amz-meta-*`), names without the prefix.
    pub metadata: Vec<(String, String)>,
    /// `x-amz-server-side-encryption` (`AES256`, `aws:kms`, `aws:kms:dsse`), if sent.
    pub server_side_encryption: Option<String>,
    /// Whether the object is encrypted with a customer-provided key (SSE-C).
    pub customer_key: bool,
    /// `Cache-Control`, `Content-Disposition`, `Content-Encoding`, `Content-Language`.
    pub headers: ObjectHeaders,
    /// How many tags the object has (`x-amz-tagging-count`; S3 sends it only when there
    /// are some). The tags themselves take a GetObjectTagging.
    pub tag_count: u32,
}

impl ObjectInfo {
    /// The object's MD5 as its ETag gives it (hex, lower case): S3 makes the ETag of an
    /// object stored in one piece the MD5 of its bytes, except under SSE-KMS or SSE-C. `None`
    /// for multipart objects (`…-N`), encrypted ones, and ETags that are no MD5.
    pub fn etag_md5(&self) -> Option<String> {
        match self.etag_check()? {
            super::etag::EtagCheck::Md5(md5) => Some(md5),
            super::etag::EtagCheck::Multipart { .. } => None,
        }
    }

    /// What the ETag lets the bytes be checked against: their MD5, or for a multipart
    /// object the MD5 of its parts' MD5s (not under SSE-KMS or SSE-C, whose ETags are no
    /// MD5s).
    pub fn etag_check(&self) -> Option<super::etag::EtagCheck> {
        let kms = self
            .server_side_encryption
            .as_deref()
            .is_some_and(|sse| sse.starts_with("aws:kms"));
        super::etag::EtagCheck::of(self.etag.as_deref(), kms, self.customer_key)
    }

    fn from_headers(headers: &http::HeaderMap, size: u64) -> Self {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let mut info = Self {
            size,
            etag: text("etag"),
            last_modified: text("last-modified"),
            content_type: text("content-type"),
            checksum_type: text("x-amz-checksum-type"),
            server_side_encryption: text("x-amz-server-side-encryption"),
            customer_key: headers.contains_key("x-amz-server-side-encryption-customer-algorithm"),
            tag_count: text("x-amz-tagging-count")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            headers: ObjectHeaders {
                cache_control: text("cache-control"),
                content_disposition: text("content-disposition"),
                content_encoding: text("content-encoding"),
                content_language: text("content-language"),
            },
            ..Self::default()
        };
        for (name, value) in headers {
            let Ok(value) = value.to_str() else { continue };
            let name = name.as_str();
            if let Some(meta) = name.strip_prefix("x-amz-meta-") {
                info.metadata.push((meta.to_owned(), value.to_owned()));
            } else if name.starts_with("x-amz-checksum-") && name != "x-amz-checksum-type" {
                info.checksums.push((name.to_owned(), value.to_owned()));
            }
        }
        info
    }
}

/// A GetObject answer: what the object is, which bytes came, and the body to stream.
#[derive(Debug)]
pub struct GetObjectOutput {
    /// The object (its whole size, from `Content-Range` when a range was asked).
    pub info: ObjectInfo,
    /// `Content-Range` of a ranged answer, parsed as (first, last, total).
    pub range: Option<(u64, u64, u64)>,
    /// `Content-Length` of this answer.
    pub content_length: u64,
    /// The bytes, streamed.
    pub body: ResponseBody,
}

/// Options of PutObject and CreateMultipartUpload (and, for a copy, of the new object):
/// what the object is stored as.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// User metadata, names without `x-amz-meta-`.
    pub metadata: Vec<(String, String)>,
    /// `Cache-Control`, `Content-Disposition`, `Content-Encoding`, `Content-Language`.
    pub headers: ObjectHeaders,
    /// The storage class (`STANDARD`, `STANDARD_IA`, `GLACIER_IR`, `DEEP_ARCHIVE`, …);
    /// `None`: the bucket's default.
    pub storage_class: Option<String>,
    /// Server-side encryption; `None`: the bucket's default.
    pub encryption: Option<ServerSideEncryption>,
    /// Tags, as a URL query (`project=x&tier=cold`).
    pub tagging: Option<String>,
    /// A canned ACL (`private`, `bucket-owner-full-control`, …), for stores that need one.
    pub acl: Option<String>,
    /// Checksums: the body's on a PUT ([`ChecksumHeader::Value`] or
    /// [`ChecksumHeader::ContentMd5`]); on CreateMultipartUpload the parts' algorithm and the
    /// object's checksum type ([`ChecksumHeader::Algorithm`], [`ChecksumHeader::Type`]).
    pub checksum_headers: Vec<ChecksumHeader>,
}

/// A checksum header a request carries, for the store to verify the body with or to record
/// for the object; typed, so that header names and values come from [`ChecksumAlgorithm`]
/// and [`ChecksumType`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChecksumHeader {
    /// `x-amz-checksum-crc64nvme` (…`-crc32`, `-crc32c`, `-sha256`): the body's checksum on
    /// PutObject and UploadPart, the whole object's on CompleteMultipartUpload.
    Value(PartChecksum),
    /// `x-amz-checksum-algorithm` on CreateMultipartUpload: the algorithm every part carries.
    Algorithm(ChecksumAlgorithm),
    /// `x-amz-checksum-type`: how the object's checksum is formed (CreateMultipartUpload,
    /// CompleteMultipartUpload).
    Type(ChecksumType),
    /// `Content-MD5`: the body's MD5, base64, for stores checking that instead of a checksum.
    ContentMd5(String),
}

impl ChecksumHeader {
    /// The header's (lower-case) name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Value(sum) => sum.algorithm().header_name(),
            Self::Algorithm(_) => "x-amz-checksum-algorithm",
            Self::Type(_) => ChecksumType::HEADER,
            Self::ContentMd5(_) => "content-md5",
        }
    }

    /// The header's value.
    pub fn value(&self) -> String {
        match self {
            Self::Value(sum) => sum.base64(),
            Self::Algorithm(algorithm) => algorithm.s3_name().into(),
            Self::Type(kind) => kind.s3_name().into(),
            Self::ContentMd5(md5) => md5.clone(),
        }
    }
}

/// Adds the checksum headers to a request.
fn with_checksums(mut request: S3Request, headers: &[ChecksumHeader]) -> S3Request {
    for header in headers {
        request = request.header(header.name(), header.value());
    }
    request
}

/// The standard headers an object is stored with and served back with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectHeaders {
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
}

/// Server-side encryption asked for an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerSideEncryption {
    /// With S3-managed keys (SSE-S3, `AES256`).
    S3,
    /// With a KMS key (SSE-KMS, `aws:kms`): its ID or ARN, or `None` for the account's
    /// default `aws/s3` key.
    Kms {
        /// The key's ID, ARN or alias.
        key_id: Option<String>,
    },
}

impl PutOptions {
    fn apply(&self, request: S3Request) -> S3Request {
        let mut request = self.apply_content(request);
        request = self.apply_storage(request);
        request = request.header_opt("x-amz-tagging", self.tagging.clone());
        with_checksums(request, &self.checksum_headers)
    }

    /// What a copy replaces only under `x-amz-metadata-directive: REPLACE`: the content
    /// type, the standard headers and the user metadata.
    fn apply_content(&self, mut request: S3Request) -> S3Request {
        request = request.header_opt("content-type", self.content_type.clone());
        let h = &self.headers;
        request = request
            .header_opt("cache-control", h.cache_control.clone())
            .header_opt("content-disposition", h.content_disposition.clone())
            .header_opt("content-encoding", h.content_encoding.clone())
            .header_opt("content-language", h.content_language.clone());
        for (name, value) in &self.metadata {
            request = request.header(
                format!("x-amz-meta-{}", name.to_ascii_lowercase()),
                value.clone(),
            );
        }
        request
    }

    /// How the object is kept: storage class, encryption, ACL (a copy sets these whatever
    /// its metadata directive).
    fn apply_storage(&self, mut request: S3Request) -> S3Request {
        request = request
            .header_opt("x-amz-storage-class", self.storage_class.clone())
            .header_opt("x-amz-acl", self.acl.clone());
        match &self.encryption {
            None => request,
            Some(ServerSideEncryption::S3) => {
                request.header("x-amz-server-side-encryption", "AES256".to_owned())
            }
            Some(ServerSideEncryption::Kms { key_id }) => request
                .header("x-amz-server-side-encryption", "aws:kms".to_owned())
                .header_opt(
                    "x-amz-server-side-encryption-aws-kms-key-id",
                    key_id.clone(),
                ),
        }
    }

    /// The options a copy gets from this engine's settings: how the object is kept, its
    /// tags (else the `carried` ones, the source's, when they were read), and (with
    /// `replace`) its content headers and metadata; otherwise those stay `carried`.
    pub fn for_copy(&self, carried: PutOptions, replace: bool) -> PutOptions {
        let tagging = self.tagging.clone().or_else(|| carried.tagging.clone());
        let content = if replace { self.clone() } else { carried };
        PutOptions {
            storage_class: self.storage_class.clone(),
            encryption: self.encryption.clone(),
            tagging,
            acl: self.acl.clone(),
            checksum_headers: Vec::new(),
            ..content
        }
    }
}

/// What ListObjectsV2 asks for.
#[derive(Debug, Clone, Default)]
pub struct ListObjects {
    /// Only keys starting with this.
    pub prefix: Option<String>,
    /// Group keys sharing a prefix up to this (usually `/`).
    pub delimiter: Option<String>,
    /// Start listing after this key.
    pub start_after: Option<String>,
    /// Keys per page (S3 caps at 1000).
    pub max_keys: Option<u32>,
}

/// A lazily paginating ListObjectsV2: each [`ListPages::next_page`] asks for one page.
#[derive(Debug)]
pub struct ListPages {
    client: S3Client,
    bucket: String,
    options: ListObjects,
    token: Option<String>,
    done: bool,
}

impl ListPages {
    /// The next page, or `None` when the listing is complete.
    pub async fn next_page(&mut self) -> Result<Option<xml::ListBucketResult>, Error> {
        if self.done {
            return Ok(None);
        }
        let max_keys = self.options.max_keys.map(|n| n.to_string());
        let request = S3Request::new(Method::GET, Some(&self.bucket), None)
            // Keys come percent-encoded, so that any key crosses the XML unchanged (a raw `\r`
            // would be read back as `\n`); the answer says so and is decoded when it does.
            .query("list-type", "2")
            .query("encoding-type", "url")
            .query_opt("prefix", self.options.prefix.as_deref())
            .query_opt("delimiter", self.options.delimiter.as_deref())
            .query_opt("max-keys", max_keys.as_deref())
            .query_opt(
                "start-after",
                self.options
                    .start_after
                    .as_deref()
                    .filter(|_| self.token.is_none()),
            )
            .query_opt("continuation-token", self.token.as_deref());
        let page: xml::ListBucketResult = self
            .client
            .send_xml(
                "ListObjectsV2",
                request,
                xml::ListBucketResult::parse,
                &mut Default::default(),
            )
            .await?;
        self.token = page.next_continuation_token.clone();
        self.done = !page.is_truncated || self.token.is_none();
        Ok(Some(page))
    }
}

impl S3Client {
    /// ListBuckets.
    pub async fn list_buckets(&self) -> Result<Vec<xml::Bucket>, Error> {
        let request = S3Request::new(Method::GET, None, None);
        let result = self
            .send_xml(
                "ListBuckets",
                request,
                xml::ListAllMyBucketsResult::parse,
                &mut Default::default(),
            )
            .await?;
        Ok(result.buckets)
    }

    /// CreateBucket, with a `LocationConstraint` outside us-east-1. A name S3 would refuse
    /// for a new bucket is refused here, before sending, naming the rule it breaks
    /// ([`crate::endpoint::check_new_bucket_name`]).
    pub async fn create_bucket(&self, bucket: &str, region: Option<&str>) -> Result<(), Error> {
        crate::endpoint::check_new_bucket_name(bucket)?;
        let mut request = S3Request::new(Method::PUT, Some(bucket), None);
        if let Some(body) = xml::create_bucket_configuration_xml(region) {
            request = request.xml_body(body);
        }
        self.send("CreateBucket", request).await.map(drop)
    }

    /// HeadBucket: does it exist, and may we use it? Returns its region when the store says.
    pub async fn head_bucket(&self, bucket: &str) -> Result<Option<String>, Error> {
        let response = self
            .send(
                "HeadBucket",
                S3Request::new(Method::HEAD, Some(bucket), None),
            )
            .await?;
        Ok(header(&response, "x-amz-bucket-region"))
    }

    /// DeleteBucket (it must be empty).
    pub async fn delete_bucket(&self, bucket: &str) -> Result<(), Error> {
        self.send(
            "DeleteBucket",
            S3Request::new(Method::DELETE, Some(bucket), None),
        )
        .await
        .map(drop)
    }

    /// ListObjectsV2, lazily, one page per call.
    pub fn list_objects(&self, bucket: &str, options: ListObjects) -> ListPages {
        ListPages {
            client: self.clone(),
            bucket: bucket.to_owned(),
            options,
            token: None,
            done: false,
        }
    }

    /// HeadObject of one part of a multipart object (`partNumber`): its size, and the
    /// object's part count where the store gives it (`x-amz-mp-parts-count`). A store that
    /// ignores `partNumber` answers for the whole object, without a part count.
    pub async fn head_object_part(
        &self,
        bucket: &str,
        key: &str,
        part_number: u32,
    ) -> Result<(u64, Option<u64>), Error> {
        let request = S3Request::new(Method::HEAD, Some(bucket), Some(key))
            .query("partNumber", &part_number.to_string());
        let response = self.send("HeadObject", request).await?;
        let size = content_length(&response).unwrap_or(0);
        let parts = header(&response, "x-amz-mp-parts-count").and_then(|v| v.parse().ok());
        Ok((size, parts))
    }

    /// HeadObject.
    pub async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectInfo, Error> {
        let request = S3Request::new(Method::HEAD, Some(bucket), Some(key))
            .header("x-amz-checksum-mode", "ENABLED");
        let response = self.send("HeadObject", request).await?;
        let size = content_length(&response).unwrap_or(0);
        Ok(ObjectInfo::from_headers(&response.headers, size))
    }

    /// GetObjectTagging: the object's tags.
    pub async fn get_object_tagging(&self, bucket: &str, key: &str) -> Result<xml::Tagging, Error> {
        let request = S3Request::new(Method::GET, Some(bucket), Some(key)).query("tagging", "");
        self.send_xml(
            "GetObjectTagging",
            request,
            xml::Tagging::parse,
            &mut Default::default(),
        )
        .await
    }

    /// GetObject, optionally a byte range `first..=last` and only if the ETag still matches.
    pub async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        range: Option<(u64, u64)>,
        if_match: Option<&str>,
    ) -> Result<GetObjectOutput, Error> {
        let request = S3Request::new(Method::GET, Some(bucket), Some(key))
            .header("x-amz-checksum-mode", "ENABLED")
            .header_opt("range", range.map(|(a, b)| format!("bytes={a}-{b}")))
            .header_opt("if-match", if_match);
        let response = self.send("GetObject", request).await?;
        let content_length = content_length(&response).unwrap_or(0);
        let parsed_range = header(&response, "content-range").and_then(|v| parse_content_range(&v));
        if range.is_some() && parsed_range.is_none() && response.status != http::StatusCode::OK {
            return Err(protocol(
                "GetObject",
                bucket,
                key,
                "a ranged answer without Content-Range",
            ));
        }
        let total = parsed_range.map_or(content_length, |(_, _, total)| total);
        Ok(GetObjectOutput {
            info: ObjectInfo::from_headers(&response.headers, total),
            range: parsed_range,
            content_length,
            body: response.body,
        })
    }

    /// PutObject. Returns the ETag.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: RequestBody,
        options: &PutOptions,
    ) -> Result<Option<String>, Error> {
        let request =
            options.apply(S3Request::new(Method::PUT, Some(bucket), Some(key)).body(body));
        let response = self.send("PutObject", request).await?;
        Ok(header(&response, "etag"))
    }

    /// DeleteObject.
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<(), Error> {
        self.send(
            "DeleteObject",
            S3Request::new(Method::DELETE, Some(bucket), Some(key)),
        )
        .await
        .map(drop)
    }

    /// DeleteObjects: up to 1000 keys in one request (quiet mode: only failures come back).
    ///
    /// A key XML cannot carry (a control character such as `\u{1}`; see
    /// [`xml::xml_can_carry`]) is deleted with its own DeleteObject instead, so that it does
    /// not fail the whole batch: its failure, if any, is one more entry of
    /// [`xml::DeleteResult::errors`].
    pub async fn delete_objects(
        &self,
        bucket: &str,
        keys: &[String],
    ) -> Result<xml::DeleteResult, Error> {
        let (batch, single): (Vec<&String>, Vec<&String>) =
            keys.iter().partition(|k| xml::xml_can_carry(k));
        let mut result = if batch.is_empty() {
            xml::DeleteResult::default()
        } else {
            self.delete_batch(bucket, &batch).await?
        };
        for key in single {
            if let Err(error) = self.delete_object(bucket, key).await {
                let (code, message) = match error.service() {
                    Some(e) => (e.code().to_owned(), e.message().to_owned()),
                    None => ("RequestFailed".to_owned(), error.to_string()),
                };
                result.errors.push(xml::DeleteError {
                    key: key.clone(),
                    version_id: None,
                    code,
                    message,
                });
            }
        }
        Ok(result)
    }

    async fn delete_batch(
        &self,
        bucket: &str,
        keys: &[&String],
    ) -> Result<xml::DeleteResult, Error> {
        let objects: Vec<xml::ObjectIdentifier> = keys
            .iter()
            .map(|k| xml::ObjectIdentifier::new(k.as_str()))
            .collect();
        let body = xml::delete_objects_xml(&objects, true)
            .map_err(|e| xml_error("DeleteObjects", Some(bucket), None, e))?;
        let md5 = content_md5(body.as_bytes());
        let request = S3Request::new(Method::POST, Some(bucket), None)
            .query("delete", "")
            .header("content-md5", md5)
            .xml_body(body);
        self.send_xml(
            "DeleteObjects",
            request,
            xml::DeleteResult::parse,
            &mut Default::default(),
        )
        .await
    }

    /// CopyObject (server-side, up to 5 GiB).
    pub async fn copy_object(
        &self,
        source_bucket: &str,
        source_key: &str,
        bucket: &str,
        key: &str,
    ) -> Result<xml::CopyResult, Error> {
        self.copy_object_with(
            (source_bucket, source_key),
            (bucket, key),
            &PutOptions::default(),
            false,
        )
        .await
    }

    /// CopyObject with `options` for the new object: its storage class, encryption, ACL and
    /// (when given) tags; with `replace_metadata`, also its content type, headers and
    /// metadata (`x-amz-metadata-directive: REPLACE`), else the source's are kept.
    pub async fn copy_object_with(
        &self,
        (source_bucket, source_key): (&str, &str),
        (bucket, key): (&str, &str),
        options: &PutOptions,
        replace_metadata: bool,
    ) -> Result<xml::CopyResult, Error> {
        let mut request = S3Request::new(Method::PUT, Some(bucket), Some(key))
            .header("x-amz-copy-source", copy_source(source_bucket, source_key));
        request = options.apply_storage(request);
        if replace_metadata {
            request = options
                .apply_content(request)
                .header("x-amz-metadata-directive", "REPLACE".to_owned());
        }
        if let Some(tagging) = &options.tagging {
            request = request
                .header("x-amz-tagging", tagging.clone())
                .header("x-amz-tagging-directive", "REPLACE".to_owned());
        }
        let (_, body) = self.send_checked("CopyObject", request).await?;
        xml::CopyResult::parse(&body)
            .map_err(|e| xml_error("CopyObject", Some(bucket), Some(key), e))
    }

    /// CreateMultipartUpload. Returns the upload id.
    pub async fn create_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        options: &PutOptions,
    ) -> Result<String, Error> {
        Ok(self
            .create_multipart_upload_noting(bucket, key, options)
            .await?
            .upload_id)
    }

    /// CreateMultipartUpload, saying whether an earlier attempt may have created another
    /// upload whose answer was lost (such a twin holds no parts, but stays open until
    /// aborted).
    pub async fn create_multipart_upload_noting(
        &self,
        bucket: &str,
        key: &str,
        options: &PutOptions,
    ) -> Result<CreatedUpload, Error> {
        let request = options
            .apply(S3Request::new(Method::POST, Some(bucket), Some(key)).query("uploads", ""));
        let mut attempts = super::client::Attempts::default();
        let result = self
            .send_xml(
                "CreateMultipartUpload",
                request,
                xml::InitiateMultipartUploadResult::parse,
                &mut attempts,
            )
            .await?;
        Ok(CreatedUpload {
            upload_id: result.upload_id,
            may_have_twin: attempts.maybe_carried_out,
        })
    }

    /// UploadPart. Returns the part's ETag.
    pub async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        body: RequestBody,
        checksum_headers: &[ChecksumHeader],
    ) -> Result<String, Error> {
        let request = S3Request::new(Method::PUT, Some(bucket), Some(key))
            .query("partNumber", &part_number.to_string())
            .query("uploadId", upload_id)
            .body(body);
        let request = with_checksums(request, checksum_headers);
        let response = self.send("UploadPart", request).await?;
        header(&response, "etag")
            .ok_or_else(|| protocol("UploadPart", bucket, key, "no ETag in the answer"))
    }

    /// UploadPartCopy: a part copied server-side from `source`, optionally a byte range.
    pub async fn upload_part_copy(
        &self,
        source: (&str, &str),
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        range: Option<(u64, u64)>,
    ) -> Result<xml::CopyResult, Error> {
        let request = S3Request::new(Method::PUT, Some(bucket), Some(key))
            .query("partNumber", &part_number.to_string())
            .query("uploadId", upload_id)
            .header("x-amz-copy-source", copy_source(source.0, source.1))
            .header_opt(
                "x-amz-copy-source-range",
                range.map(|(a, b)| format!("bytes={a}-{b}")),
            );
        let (_, body) = self.send_checked("UploadPartCopy", request).await?;
        xml::CopyResult::parse(&body)
            .map_err(|e| xml_error("UploadPartCopy", Some(bucket), Some(key), e))
    }

    /// CompleteMultipartUpload with the parts in order (a 200 carrying an error is an error).
    pub async fn complete_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[xml::CompletedPart],
        checksum_headers: &[ChecksumHeader],
    ) -> Result<xml::CompleteMultipartUploadResult, Error> {
        let request = S3Request::new(Method::POST, Some(bucket), Some(key))
            .query("uploadId", upload_id)
            .xml_body(xml::complete_multipart_upload_xml(parts));
        let request = with_checksums(request, checksum_headers);
        let mut attempts = super::client::Attempts::default();
        let answer = self
            .send_checked_noting("CompleteMultipartUpload", request, &mut attempts)
            .await;
        let body = match answer {
            Ok((_, body)) => body,
            Err(error)
                if attempts.maybe_carried_out
                    && error
                        .service()
                        .is_some_and(super::S3Error::is_no_such_upload) =>
            {
                // An earlier attempt may have completed the upload, its answer lost: then
                // the object is there, with the ETag these parts make.
                return match self.completed_earlier(bucket, key, parts).await {
                    Some(result) => Ok(result),
                    None => Err(error),
                };
            }
            Err(error) => return Err(error),
        };
        xml::CompleteMultipartUploadResult::parse(&body)
            .map_err(|e| xml_error("CompleteMultipartUpload", Some(bucket), Some(key), e))
    }

    /// The object an earlier, unanswered CompleteMultipartUpload made of `parts`, if the key
    /// now holds it: its ETag is the MD5 of the parts' MD5 ETags, `-N`.
    async fn completed_earlier(
        &self,
        bucket: &str,
        key: &str,
        parts: &[xml::CompletedPart],
    ) -> Option<xml::CompleteMultipartUploadResult> {
        let expected = multipart_etag(parts)?;
        let info = self.head_object(bucket, key).await.ok()?;
        let etag = info.etag?;
        if etag.trim_matches('"') != expected {
            return None;
        }
        tracing::info!(
            bucket,
            key,
            "CompleteMultipartUpload's answer was lost, but the object it made is there"
        );
        Some(xml::CompleteMultipartUploadResult {
            bucket: Some(bucket.into()),
            key: Some(key.into()),
            etag: Some(etag),
            checksum_type: info.checksum_type,
            ..Default::default()
        })
    }

    /// AbortMultipartUpload: frees the parts so nothing is left to be billed.
    pub async fn abort_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), Error> {
        let request =
            S3Request::new(Method::DELETE, Some(bucket), Some(key)).query("uploadId", upload_id);
        self.send("AbortMultipartUpload", request).await.map(drop)
    }

    /// ListMultipartUploads (one page, from the given markers).
    pub async fn list_multipart_uploads(
        &self,
        bucket: &str,
        prefix: Option<&str>,
        markers: Option<(&str, &str)>,
    ) -> Result<xml::ListMultipartUploadsResult, Error> {
        let request = S3Request::new(Method::GET, Some(bucket), None)
            .query("uploads", "")
            .query("encoding-type", "url")
            .query_opt("prefix", prefix)
            .query_opt("key-marker", markers.map(|m| m.0))
            .query_opt("upload-id-marker", markers.map(|m| m.1));
        self.send_xml(
            "ListMultipartUploads",
            request,
            xml::ListMultipartUploadsResult::parse,
            &mut Default::default(),
        )
        .await
    }

    /// ListParts (one page, after `marker`).
    pub async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        marker: Option<u32>,
    ) -> Result<xml::ListPartsResult, Error> {
        let marker = marker.map(|m| m.to_string());
        let request = S3Request::new(Method::GET, Some(bucket), Some(key))
            .query("uploadId", upload_id)
            .query_opt("part-number-marker", marker.as_deref());
        self.send_xml(
            "ListParts",
            request,
            xml::ListPartsResult::parse,
            &mut Default::default(),
        )
        .await
    }
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn content_length(response: &Response) -> Option<u64> {
    header(response, "content-length").and_then(|v| v.parse().ok())
}

/// `bytes FIRST-LAST/TOTAL` → (first, last, total).
pub fn parse_content_range(value: &str) -> Option<(u64, u64, u64)> {
    let rest = value.strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    Some((first.parse().ok()?, last.parse().ok()?, total.parse().ok()?))
}

/// `x-amz-copy-source`: `bucket/key`, the key percent-encoded like a path.
fn copy_source(bucket: &str, key: &str) -> String {
    let mut out = String::with_capacity(bucket.len() + key.len() + 1);
    out.push_str(bucket);
    out.push('/');
    crate::sign::encode::encode_path(key, &mut out);
    out
}

/// `Content-MD5` (base64 of the MD5), which DeleteObjects requires.
fn content_md5(body: &[u8]) -> String {
    use base64::Engine;
    use md5::Digest;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body))
}

fn protocol(operation: &'static str, bucket: &str, key: &str, message: &str) -> Error {
    Error::Protocol {
        operation,
        resource: resource(Some(bucket), Some(key)),
        message: message.into(),
    }
}

fn xml_error(
    operation: &'static str,
    bucket: Option<&str>,
    key: Option<&str>,
    error: XmlError,
) -> Error {
    Error::Protocol {
        operation,
        resource: resource(bucket, key),
        message: error.to_string(),
    }
}

impl S3Client {
    /// Sends a request whose answer is a small XML document, and parses it. The answer is
    /// read whole inside the retry loop, so one cut short is asked for again.
    async fn send_xml<T>(
        &self,
        operation: &'static str,
        request: S3Request,
        parser: fn(&[u8]) -> Result<T, XmlError>,
        attempts: &mut super::client::Attempts,
    ) -> Result<T, Error> {
        let (bucket, key) = (request.bucket.clone(), request.key.clone());
        let (_, body) = self
            .send_checked_noting(operation, request, attempts)
            .await?;
        parser(&body).map_err(|e| xml_error(operation, bucket.as_deref(), key.as_deref(), e))
    }
}

/// A small answer's headers and whole body (XML), at most `MAX_XML_BODY` bytes.
pub(super) async fn read_body(
    response: Response,
    operation: &'static str,
    bucket: Option<&str>,
    key: Option<&str>,
) -> Result<(http::HeaderMap, bytes::Bytes), Error> {
    let Response { headers, body, .. } = response;
    let body = body
        .collect(MAX_XML_BODY)
        .await
        .map_err(|source| Error::Http {
            operation,
            resource: resource(bucket, key),
            source,
        })?;
    Ok((headers, body))
}

impl S3Client {
    /// GetObject read whole into memory (small objects, tests, listings of data). A body
    /// that breaks mid-way is asked for again from where it broke (`Range` + `If-Match`), so
    /// the bytes returned are exactly the object's, within the client's retry policy.
    pub async fn get_object_bytes(&self, bucket: &str, key: &str) -> Result<bytes::Bytes, Error> {
        let mut received = bytes::BytesMut::new();
        let mut etag: Option<String> = None;
        let mut total: Option<u64> = None;
        let mut attempt = 1;
        loop {
            let range = match total {
                Some(total) if received.len() as u64 >= total => return Ok(received.freeze()),
                Some(total) => Some((received.len() as u64, total - 1)),
                None => None,
            };
            let mut output = self.get_object(bucket, key, range, etag.as_deref()).await?;
            etag = etag.or(output.info.etag.clone());
            total = Some(output.info.size);
            let failure = loop {
                match output.body.chunk().await {
                    Ok(Some(chunk)) => received.extend_from_slice(&chunk),
                    Ok(None) => break None,
                    Err(error) => break Some(error),
                }
            };
            let Some(source) = failure else {
                if received.len() as u64 == output.info.size {
                    return Ok(received.freeze());
                }
                return Err(protocol(
                    "GetObject",
                    bucket,
                    key,
                    "the body ended before its Content-Length",
                ));
            };
            let reason = source
                .retry_reason()
                .unwrap_or(crate::http::RetryReason::Transient);
            tracing::debug!(bucket, key, received = received.len(), error = %source, "body broke; resuming");
            if !self.retry_state().backoff(attempt, reason).await {
                return Err(Error::Http {
                    operation: "GetObject",
                    resource: resource(Some(bucket), Some(key)),
                    source,
                });
            }
            attempt += 1;
        }
    }
}

/// A multipart upload CreateMultipartUpload started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedUpload {
    /// Its upload ID.
    pub upload_id: String,
    /// An earlier attempt failed in a way that may have created another upload of the same
    /// key (its answer lost): look for it with ListMultipartUploads once this one is done.
    pub may_have_twin: bool,
}

/// The ETag S3 gives the object completed from `parts`: the MD5 of their MD5s, `-N`; `None`
/// when a part's ETag is no MD5 (SSE-KMS, SSE-C).
fn multipart_etag(parts: &[xml::CompletedPart]) -> Option<String> {
    super::etag::of_part_md5s(parts.iter().map(|p| p.etag.as_str()))
}

#[cfg(test)]
mod multipart_etag_tests {
    use super::*;

    #[test]
    fn the_multipart_etag_is_the_md5_of_the_parts_md5s() {
        use md5::Digest;
        let parts: Vec<Vec<u8>> = vec![vec![1u8; 10], vec![2u8; 7]];
        let completed: Vec<_> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let hex: String = md5::Md5::digest(p)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                xml::CompletedPart::new(i as u32 + 1, format!("\"{hex}\""))
            })
            .collect();
        let mut outer = md5::Md5::new();
        for p in &parts {
            outer.update(md5::Md5::digest(p));
        }
        let expected: String = outer
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(multipart_etag(&completed), Some(format!("{expected}-2")));
        let kms = [xml::CompletedPart::new(1, "\"not-an-md5\"")];
        assert_eq!(multipart_etag(&kms), None);
    }
}
