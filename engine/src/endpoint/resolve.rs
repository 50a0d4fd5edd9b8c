//! From settings to hosts: [`Endpoint`], worked out once per client.

use super::bucket::{check_bucket, is_virtual_hostable};
use super::encode::{encode_key_path, encode_query_value};
use super::partition::{AWS_GLOBAL, Partition, US_EAST_1, validate_region};
use super::url::{CustomUrl, Scheme, parse_custom_url};
use super::{AddressingStyle, EndpointConfig, EndpointError};
use std::fmt;

/// The SigV4 service name S3 requests are signed for.
pub const SIGNING_NAME: &str = "s3";

/// Where requests go: the checked result of an [`EndpointConfig`].
///
/// Everything that does not depend on the bucket (scheme, hosts, base path, signing region)
/// is worked out here, once; per request only the bucket's placement is decided and the
/// path is written ([`Endpoint::target`], or [`Endpoint::bucket`] then
/// [`BucketAddress::push_path`](super::BucketAddress::push_path) for many keys of one bucket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    scheme: Scheme,
    /// `host[:port]` for requests without a bucket and for path-style ones.
    service_host: String,
    /// `host[:port]` a virtual-hosted bucket name is put in front of (the Transfer
    /// Acceleration host when that is on, else the service host).
    bucket_host: String,
    /// The custom URL's path, without a trailing `/` (empty on AWS).
    base_path: String,
    placement: BucketPlacement,
    region: String,
    signing_region: String,
    partition: Partition,
    custom: bool,
}

/// Where this endpoint puts bucket names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BucketPlacement {
    /// Always in the path.
    Path,
    /// In the host name when the name allows it (dotted names too when `allow_dots`),
    /// else in the path.
    HostWhenPossible { allow_dots: bool },
    /// In the host name, or not at all (Transfer Acceleration has no path-style form).
    HostOnly,
}

/// Where one request's bucket goes, once decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement<'b> {
    /// No bucket (ListBuckets): the service host, the base path.
    Service,
    /// `bucket.host`.
    Host(&'b str),
    /// `host/bucket`.
    Path(&'b str),
}

impl Endpoint {
    /// Checks `config` and works out the hosts.
    pub(crate) fn resolve(config: &EndpointConfig) -> Result<Self, EndpointError> {
        let region = config
            .region
            .as_deref()
            .ok_or(EndpointError::MissingRegion)?;
        validate_region(region)?;
        let endpoint = match config.endpoint_url.as_deref() {
            Some(url) => Self::custom(config, region, url)?,
            None => Self::aws(config, region)?,
        };
        tracing::debug!(endpoint = %endpoint, region, "endpoint resolved");
        Ok(endpoint)
    }

    /// An S3-compatible store (or any URL the user gave).
    fn custom(config: &EndpointConfig, region: &str, url: &str) -> Result<Self, EndpointError> {
        check_custom_options(config)?;
        let url = parse_custom_url(url)?;
        let placement = custom_placement(config.addressing, &url);
        Ok(Self {
            scheme: url.scheme,
            service_host: url.authority.clone(),
            bucket_host: url.authority,
            base_path: url.base_path,
            placement,
            region: region.to_owned(),
            signing_region: signing_region(region).to_owned(),
            partition: Partition::of(region),
            custom: true,
        })
    }

    /// AWS's own endpoints for the region and options.
    fn aws(config: &EndpointConfig, region: &str) -> Result<Self, EndpointError> {
        let partition = Partition::of(region);
        check_aws_options(config, region, partition)?;
        let service_host = aws_service_host(config, region, partition);
        let bucket_host = match config.use_accelerate {
            true => accelerate_host(region, config.use_dualstack).to_owned(),
            false => service_host.clone(),
        };
        Ok(Self {
            scheme: Scheme::Https,
            service_host,
            bucket_host,
            base_path: String::new(),
            placement: aws_placement(config),
            region: region.to_owned(),
            signing_region: signing_region(region).to_owned(),
            partition,
            custom: false,
        })
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The region as configured (possibly `aws-global`).
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The region requests are signed for (`us-east-1` for `aws-global`).
    pub fn signing_region(&self) -> &str {
        &self.signing_region
    }

    /// The service name requests are signed for: always `s3`.
    pub fn signing_name(&self) -> &'static str {
        SIGNING_NAME
    }

    /// The region's partition (for a custom endpoint, that of the signing region).
    pub fn partition(&self) -> Partition {
        self.partition
    }

    /// The custom URL's path, without a trailing `/` (empty for none, and on AWS).
    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    /// Whether this is a custom endpoint URL rather than AWS's own endpoints.
    pub fn is_custom(&self) -> bool {
        self.custom
    }

    /// The URL of requests without a bucket (ListBuckets), without the trailing `/`.
    pub fn service_url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.service_host, self.base_path)
    }

    /// Decides where `bucket` goes, refusing names that cannot be addressed here.
    pub(crate) fn place<'b>(
        &self,
        bucket: Option<&'b str>,
    ) -> Result<Placement<'b>, EndpointError> {
        let Some(bucket) = bucket else {
            return Ok(Placement::Service);
        };
        check_bucket(bucket, !self.custom)?;
        match self.placement {
            BucketPlacement::Path => Ok(Placement::Path(bucket)),
            BucketPlacement::HostWhenPossible { allow_dots }
                if is_virtual_hostable(bucket, allow_dots) =>
            {
                Ok(Placement::Host(bucket))
            }
            BucketPlacement::HostWhenPossible { .. } => Ok(Placement::Path(bucket)),
            BucketPlacement::HostOnly if is_virtual_hostable(bucket, false) => {
                Ok(Placement::Host(bucket))
            }
            BucketPlacement::HostOnly => Err(EndpointError::InvalidBucket {
                bucket: bucket.to_owned(),
                reason: "S3 Transfer Acceleration needs a DNS-safe name (3-63 lower-case \
                         letters, digits and hyphens, no dots); turn acceleration off",
            }),
        }
    }

    /// Writes `scheme://host[:port]`; returns where the host starts.
    pub(crate) fn write_origin(&self, placement: Placement<'_>, out: &mut String) -> usize {
        out.push_str(self.scheme.as_str());
        out.push_str("://");
        let host_start = out.len();
        if let Placement::Host(bucket) = placement {
            out.push_str(bucket);
            out.push('.');
            out.push_str(&self.bucket_host);
        } else {
            out.push_str(&self.service_host);
        }
        host_start
    }

    /// Writes the path before the key: the base path, then `/bucket` for path-style.
    pub(crate) fn write_prefix(&self, placement: Placement<'_>, out: &mut String) {
        out.push_str(&self.base_path);
        if let Placement::Path(bucket) = placement {
            out.push('/');
            encode_query_value(bucket, out);
        }
    }
}

/// Writes the rest of the path after a prefix of `prefix_len` bytes: `/` + the encoded key,
/// or `/` alone when there is no key and no prefix (a path is never empty).
pub(crate) fn write_key(key: Option<&str>, prefix_len: usize, out: &mut String) {
    match key {
        Some(key) => {
            out.push('/');
            encode_key_path(key, out);
        }
        None if prefix_len == 0 => out.push('/'),
        None => {}
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}{}",
            self.scheme, self.service_host, self.base_path
        )
    }
}

/// `us-east-1` for `aws-global`, else the region itself.
fn signing_region(region: &str) -> &str {
    if region == AWS_GLOBAL {
        US_EAST_1
    } else {
        region
    }
}

/// The AWS endpoint variants make no sense with a URL of the user's own.
fn check_custom_options(config: &EndpointConfig) -> Result<(), EndpointError> {
    const CUSTOM: &str = "a custom endpoint URL";
    let conflict = |option| {
        Err(EndpointError::Conflict {
            option,
            other: CUSTOM,
        })
    };
    if config.use_dualstack {
        return conflict("dual-stack");
    }
    if config.use_fips {
        return conflict("FIPS");
    }
    if config.use_accelerate {
        return conflict("S3 Transfer Acceleration");
    }
    Ok(())
}

/// Refuses variants the partition lacks and options Transfer Acceleration cannot go with.
fn check_aws_options(
    config: &EndpointConfig,
    region: &str,
    partition: Partition,
) -> Result<(), EndpointError> {
    let missing = |feature| {
        Err(EndpointError::NotInPartition {
            feature,
            region: region.to_owned(),
            partition: partition.name(),
        })
    };
    if config.use_fips && !partition.supports_fips() {
        return missing("FIPS endpoints");
    }
    if !config.use_accelerate {
        return Ok(());
    }
    const ACCELERATE: &str = "S3 Transfer Acceleration";
    if config.use_fips {
        return Err(EndpointError::Conflict {
            option: ACCELERATE,
            other: "FIPS",
        });
    }
    if config.addressing == AddressingStyle::Path {
        return Err(EndpointError::Conflict {
            option: ACCELERATE,
            other: "path-style addressing",
        });
    }
    if !partition.supports_accelerate() {
        return missing(ACCELERATE);
    }
    Ok(())
}

/// `s3[-fips][.dualstack].REGION.SUFFIX`, or the global `s3.amazonaws.com` for `aws-global`
/// and for us-east-1 with the legacy setting (unless FIPS or dual-stack is asked for, which
/// have no global form).
fn aws_service_host(config: &EndpointConfig, region: &str, partition: Partition) -> String {
    let plain = !config.use_fips && !config.use_dualstack;
    let global = region == AWS_GLOBAL || (config.use_global_endpoint && region == US_EAST_1);
    if plain && global {
        return format!("s3.{}", partition.dns_suffix());
    }
    let fips = if config.use_fips { "-fips" } else { "" };
    let dualstack = if config.use_dualstack {
        ".dualstack"
    } else {
        ""
    };
    let region = signing_region(region);
    format!("s3{fips}{dualstack}.{region}.{}", partition.dns_suffix())
}

/// The Transfer Acceleration host (global; only the AWS partition has one).
fn accelerate_host(region: &str, dualstack: bool) -> &'static str {
    match (dualstack, region == AWS_GLOBAL) {
        (false, _) => "s3-accelerate.amazonaws.com",
        (true, false) => "s3-accelerate.dualstack.amazonaws.com",
        // What the AWS endpoint rules give for the aws-global pseudo-region.
        (true, true) => "s3-accelerate.dualstack.us-east-1.amazonaws.com",
    }
}

/// On AWS, buckets go in the host unless path-style is forced; over TLS (always, on AWS)
/// dotted names cannot, since the certificate's wildcard covers one label only.
fn aws_placement(config: &EndpointConfig) -> BucketPlacement {
    match (config.use_accelerate, config.addressing) {
        (true, _) => BucketPlacement::HostOnly,
        (false, AddressingStyle::Path) => BucketPlacement::Path,
        (false, _) => BucketPlacement::HostWhenPossible { allow_dots: false },
    }
}

/// On a custom endpoint, buckets go in the host only when asked, and never on an IP
/// address; dotted names may then go there over plain HTTP.
fn custom_placement(addressing: AddressingStyle, url: &CustomUrl) -> BucketPlacement {
    match addressing {
        AddressingStyle::Virtual if !url.host_is_ip => BucketPlacement::HostWhenPossible {
            allow_dots: url.scheme == Scheme::Http,
        },
        _ => BucketPlacement::Path,
    }
}
