//! Why an endpoint could not be resolved, or a bucket not be addressed.

use super::sources::Source;

/// Why ferry cannot tell where a request goes. Every message names the value at fault and
/// says what to change; nothing here is worth retrying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// No region was given anywhere (only possible when building a config by hand: the
    /// sources fall back to `us-east-1`).
    #[error(
        "no region is set: give the client a region, or set AWS_REGION or `region` in the profile"
    )]
    MissingRegion,
    /// The region is not a DNS name, so no host name can be built from it.
    #[error(
        "invalid region `{region}`: a region is made of letters, digits and hyphens, like us-west-2"
    )]
    InvalidRegion {
        /// The region as given.
        region: String,
    },
    /// The custom endpoint URL cannot be used.
    #[error("invalid endpoint URL `{url}`: {reason}")]
    InvalidEndpointUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it, and what to write instead.
        reason: &'static str,
    },
    /// Two options that cannot work together were both asked for.
    #[error("{option} cannot be combined with {other}: drop one of them")]
    Conflict {
        /// The first option ("dual-stack", "FIPS", …).
        option: &'static str,
        /// What it conflicts with ("a custom endpoint URL", …).
        other: &'static str,
    },
    /// The option exists, but not in the region's partition (e.g. FIPS in China).
    #[error("{feature} is not available in region {region} (partition {partition})")]
    NotInPartition {
        /// What was asked for ("FIPS endpoints", …).
        feature: &'static str,
        /// The region.
        region: String,
        /// The partition's name (`aws-cn`, …).
        partition: &'static str,
    },
    /// The bucket name cannot be put in a request at all.
    #[error("invalid bucket name `{bucket}`: {reason}")]
    InvalidBucket {
        /// The name as given (possibly long; shown as is).
        bucket: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The bucket name is valid for S3 but needs a feature ferry does not implement
    /// (access point ARNs, directory buckets, Outposts).
    #[error("bucket `{bucket}` is {what}, which ferry does not support: {hint}")]
    Unsupported {
        /// The name as given.
        bucket: String,
        /// What kind of name it is.
        what: &'static str,
        /// What to do instead.
        hint: &'static str,
    },
    /// A setting read from the environment or a profile has a value ferry cannot
    /// understand.
    #[error("invalid value `{value}` in {origin}: expected {expected}")]
    InvalidSetting {
        /// The value found.
        value: String,
        /// Where it was found (names the variable or key).
        origin: Source,
        /// What would be accepted.
        expected: &'static str,
    },
}
