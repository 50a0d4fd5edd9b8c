//! Where a request goes: regions, dual-stack, FIPS, custom endpoints and bucket addressing.
//!
//! Three steps, from the user's settings to a request line:
//!
//! 1. **Settings.** An [`EndpointConfig`] holds the region, a custom endpoint URL and the
//!    options (dual-stack, FIPS, addressing style, Transfer Acceleration, the legacy
//!    us-east-1 global endpoint). [`EndpointConfig::from_sources`] fills it in the AWS
//!    CLI's order (flags, environment, profile, defaults) and records where each value came
//!    from ([`ConfigSources`]).
//! 2. **Resolution, once.** [`EndpointConfig::resolve`] checks the combination and works
//!    out the hosts into an [`Endpoint`]: `s3.REGION.amazonaws.com`,
//!    `s3.dualstack.REGION…`, `s3-fips…`, `s3.amazonaws.com` (global), the China and
//!    GovCloud partitions, or a custom `http(s)://host[:port][/base]` (IPv6 literals
//!    included). The signing region and name (`s3`) are fixed here too.
//! 3. **Per request.** [`Endpoint::target`] places the bucket (virtual-hosted when the
//!    name is DNS-safe and the endpoint allows it, path-style otherwise) and writes the
//!    URL once into a [`Target`], whose views give the base, the `Host` header and the
//!    path. For many keys of one bucket, [`Endpoint::bucket`] checks the bucket once and
//!    [`BucketAddress::push_path`] appends each key's path to a reused buffer.
//!
//! Keys are percent-encoded once, S3's way ([`encode_key_path`]): no normalization of
//! `..` or `//`. [`encode_query_value`] encodes query names and values. Both are the
//! signer's own encoders, so what is sent is what is signed.
//!
//! ```
//! use ferry::endpoint::EndpointConfig;
//!
//! let endpoint = EndpointConfig::new("eu-west-1").resolve()?;
//! let target = endpoint.target(Some("my-bucket"), Some("photos/cat one.jpg"))?;
//! assert_eq!(target.host(), "my-bucket.s3.eu-west-1.amazonaws.com");
//! assert_eq!(target.path(), "/photos/cat%20one.jpg");
//!
//! let minio = EndpointConfig::custom("http://[::1]:9000", "us-east-1").resolve()?;
//! let target = minio.target(Some("my-bucket"), Some("a/b"))?;
//! assert_eq!(target.url(), "http://[::1]:9000/my-bucket/a/b");
//! assert_eq!(target.host(), "[::1]:9000");
//! # Ok::<(), ferry::endpoint::EndpointError>(())
//! ```
//!
//! Filling the settings from their sources, and saying where each came from:
//!
//! ```
//! use ferry::env::Environment;
//! use ferry::endpoint::{EndpointConfig, FlagValues, ProfileValues, Source};
//!
//! let env = Environment::from_pairs([("AWS_REGION", "eu-west-1")]);
//! let profile = ProfileValues {
//!     endpoint_url: Some("http://127.0.0.1:9000"),
//!     use_dualstack_endpoint: Some("false"),
//!     ..ProfileValues::default()
//! };
//! let loaded = EndpointConfig::from_sources(&FlagValues::default(), &env, &profile)?;
//! assert_eq!(loaded.sources.region, Source::Environment("AWS_REGION"));
//! assert_eq!(loaded.sources.endpoint_url, Source::Profile("endpoint_url"));
//! let endpoint = loaded.config.resolve()?;
//! assert_eq!(endpoint.signing_region(), "eu-west-1");
//! # Ok::<(), ferry::endpoint::EndpointError>(())
//! ```
//!
//! Not supported, and refused with [`EndpointError::Unsupported`] rather than sent to the
//! wrong place: access point / Outposts / Object Lambda ARNs as bucket names, S3 Express
//! One Zone directory buckets and Outposts bucket aliases on AWS endpoints.

mod bucket;
mod config;
mod encode;
mod error;
mod partition;
mod resolve;
mod sources;
mod target;
mod url;

pub use bucket::{check_new_bucket_name, is_virtual_hostable};
pub use config::{AddressingStyle, EndpointConfig};
pub use encode::{encode_key_path, encode_query_value};
pub use error::EndpointError;
pub use partition::{AWS_GLOBAL, Partition};
pub use resolve::{Endpoint, SIGNING_NAME};
pub use sources::{
    ConfigSources, DEFAULT_REGION, ENV_DEFAULT_REGION, ENV_ENDPOINT_URL, ENV_ENDPOINT_URL_S3,
    ENV_IGNORE_ENDPOINT_URLS, ENV_REGION, ENV_US_EAST_1_REGIONAL, ENV_USE_DUALSTACK, ENV_USE_FIPS,
    FlagValues, LoadedConfig, ProfileValues, Source,
};
pub use target::{BucketAddress, Target};
pub use url::Scheme;

#[cfg(test)]
mod tests;
