//! The address of one request ([`Target`]) and of one bucket ([`BucketAddress`]).

use super::resolve::{Placement, write_key};
use super::url::Scheme;
use super::{Endpoint, EndpointError};

/// Where one request goes: a URL without its query, held in one string, with views on its
/// parts.
///
/// ```text
/// https://bucket.s3.us-west-2.amazonaws.com/photos/cat%20one.jpg
/// |------------- base() -----------------||------ path() ------|
///         |---------- host() ------------|
/// http://127.0.0.1:9000/bucket/photos/cat%20one.jpg
///                      |prefix|
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    url: String,
    scheme: Scheme,
    host_start: usize,
    path_start: usize,
    key_start: usize,
}

impl Target {
    /// `http` or `https`.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The whole URL, without a query string.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `scheme://host[:port]`: what the path is appended to.
    pub fn base(&self) -> &str {
        &self.url[..self.path_start]
    }

    /// `host[:port]` (default port left out, IPv6 in brackets): the `Host` header value.
    pub fn host(&self) -> &str {
        &self.url[self.host_start..self.path_start]
    }

    /// The request path, percent-encoded once, never empty: what is sent and signed.
    pub fn path(&self) -> &str {
        &self.url[self.path_start..]
    }

    /// The part of the path before the key: the custom URL's base path and, path-style,
    /// `/bucket`; empty when neither applies.
    pub fn path_prefix(&self) -> &str {
        &self.url[self.path_start..self.key_start]
    }

    /// `base()` + `path_prefix()`: the endpoint URL as the AWS endpoint rules state it.
    pub fn endpoint_url(&self) -> &str {
        &self.url[..self.key_start]
    }

    /// The URL, giving up the views.
    pub fn into_url(self) -> String {
        self.url
    }
}

/// Where every request on one bucket goes: the bucket checked and placed once, so that
/// each request only appends its key ([`BucketAddress::push_path`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketAddress {
    /// The bucket-level target; its `endpoint_url()` is what keys are appended to.
    bucket_level: Target,
    virtual_hosted: bool,
}

impl BucketAddress {
    /// `scheme://host[:port]`.
    pub fn base(&self) -> &str {
        self.bucket_level.base()
    }

    /// The `Host` header value.
    pub fn host(&self) -> &str {
        self.bucket_level.host()
    }

    /// The path before the key (see [`Target::path_prefix`]).
    pub fn path_prefix(&self) -> &str {
        self.bucket_level.path_prefix()
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> Scheme {
        self.bucket_level.scheme()
    }

    /// Whether the bucket is in the host name (else in the path).
    pub fn is_virtual_hosted(&self) -> bool {
        self.virtual_hosted
    }

    /// Appends the request path for `key` (or for the bucket itself, with `None`) to `out`:
    /// the prefix, then `/` and the key percent-encoded once. Allocates only if `out` must
    /// grow.
    pub fn push_path(&self, key: Option<&str>, out: &mut String) {
        let prefix = self.path_prefix();
        out.push_str(prefix);
        write_key(key, prefix.len(), out);
    }

    /// The full target of a request on `key` (or on the bucket, with `None`).
    pub fn target(&self, key: Option<&str>) -> Target {
        let level = &self.bucket_level;
        let mut url = String::with_capacity(level.key_start + key_capacity(key));
        url.push_str(level.endpoint_url());
        write_key(key, level.key_start - level.path_start, &mut url);
        Target {
            url,
            scheme: level.scheme,
            host_start: level.host_start,
            path_start: level.path_start,
            key_start: level.key_start,
        }
    }
}

impl Endpoint {
    /// Where a request on `bucket` (`None`: no bucket, as ListBuckets) and `key` goes.
    ///
    /// One allocation: the URL string the views of [`Target`] point into. For many
    /// requests on one bucket, [`Endpoint::bucket`] then [`BucketAddress::push_path`]
    /// checks the bucket once.
    pub fn target(&self, bucket: Option<&str>, key: Option<&str>) -> Result<Target, EndpointError> {
        let placement = self.place(bucket)?;
        Ok(self.build_target(placement, key))
    }

    /// Checks and places `bucket` once, for many requests on it.
    pub fn bucket(&self, bucket: &str) -> Result<BucketAddress, EndpointError> {
        let placement = self.place(Some(bucket))?;
        Ok(BucketAddress {
            bucket_level: self.build_target(placement, None),
            virtual_hosted: matches!(placement, Placement::Host(_)),
        })
    }

    /// Writes the URL for a placed bucket and a key.
    fn build_target(&self, placement: Placement<'_>, key: Option<&str>) -> Target {
        let mut url = String::with_capacity(96 + key_capacity(key));
        let scheme = self.scheme();
        let host_start = self.write_origin(placement, &mut url);
        let path_start = url.len();
        self.write_prefix(placement, &mut url);
        let key_start = url.len();
        write_key(key, key_start - path_start, &mut url);
        Target {
            url,
            scheme,
            host_start,
            path_start,
            key_start,
        }
    }
}

/// Room for `/` and a key in which a few bytes get percent-encoded.
fn key_capacity(key: Option<&str>) -> usize {
    key.map_or(1, |key| 1 + key.len() + key.len() / 2)
}
