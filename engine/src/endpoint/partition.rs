//! Regions and the partitions they belong to: which DNS suffix their hosts use and which
//! endpoint variants (FIPS, dual-stack, Transfer Acceleration) exist there.

use super::EndpointError;

/// The pseudo-region of the AWS SDKs that means "the global endpoint, signed for us-east-1".
pub const AWS_GLOBAL: &str = "aws-global";

/// The region requests to the global endpoint are signed for.
pub(crate) const US_EAST_1: &str = "us-east-1";

/// A group of regions sharing a DNS suffix and a set of endpoint variants.
///
/// Only the partitions the official S3 endpoint tests cover are modelled; a region that
/// matches none of the others (including unknown and future ones, and names such as `snow`
/// used with custom endpoints) belongs to [`Partition::Aws`], as in the AWS rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Partition {
    /// The commercial regions (`amazonaws.com`).
    Aws,
    /// The China regions, `cn-*` (`amazonaws.com.cn`): no FIPS, no Transfer Acceleration.
    AwsCn,
    /// AWS GovCloud (US), `us-gov-*` (`amazonaws.com`): FIPS available, no Transfer
    /// Acceleration.
    AwsUsGov,
}

impl Partition {
    /// The partition a (valid) region belongs to.
    pub fn of(region: &str) -> Self {
        if matches_family(region, "cn-") {
            Self::AwsCn
        } else if matches_family(region, "us-gov-") {
            Self::AwsUsGov
        } else {
            Self::Aws
        }
    }

    /// The partition's name, as ARNs and the AWS docs spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::AwsCn => "aws-cn",
            Self::AwsUsGov => "aws-us-gov",
        }
    }

    /// The DNS suffix of the partition's hosts.
    pub fn dns_suffix(self) -> &'static str {
        match self {
            Self::Aws | Self::AwsUsGov => "amazonaws.com",
            Self::AwsCn => "amazonaws.com.cn",
        }
    }

    /// Whether FIPS endpoints (`s3-fips.…`) exist in the partition.
    pub fn supports_fips(self) -> bool {
        !matches!(self, Self::AwsCn)
    }

    /// Whether S3 Transfer Acceleration (`s3-accelerate.…`) exists in the partition.
    pub fn supports_accelerate(self) -> bool {
        matches!(self, Self::Aws)
    }
}

/// Whether `region` is `PREFIX` + word characters + `-` + digits (`cn-north-1`), the shape
/// the partition table uses for its region families.
fn matches_family(region: &str, prefix: &str) -> bool {
    let Some(rest) = region.strip_prefix(prefix) else {
        return false;
    };
    let Some((name, number)) = rest.rsplit_once('-') else {
        return false;
    };
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    !name.is_empty()
        && name.chars().all(is_word)
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
}

/// Checks that `region` can be put in a host name: dot-separated labels of 1 to 63 letters,
/// digits and hyphens, each starting with a letter or digit.
pub(crate) fn validate_region(region: &str) -> Result<(), EndpointError> {
    if !region.is_empty() && region.split('.').all(is_host_label) {
        Ok(())
    } else {
        Err(EndpointError::InvalidRegion {
            region: region.to_owned(),
        })
    }
}

/// One DNS label as the endpoint rules accept it (upper case allowed).
fn is_host_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_map_to_their_partitions() {
        let table = [
            ("us-west-2", Partition::Aws),
            ("af-south-1", Partition::Aws),
            ("cn-north-1", Partition::AwsCn),
            ("cn-northwest-1", Partition::AwsCn),
            ("us-gov-west-1", Partition::AwsUsGov),
            ("us-gov-east-1", Partition::AwsUsGov),
            ("snow", Partition::Aws),
            ("aws-global", Partition::Aws),
            ("cn-north", Partition::Aws),
            ("us-gov-west-x", Partition::Aws),
            ("us-east.special", Partition::Aws),
        ];
        for (region, partition) in table {
            assert_eq!(Partition::of(region), partition, "{region}");
        }
    }

    #[test]
    fn partitions_know_their_suffix_and_variants() {
        assert_eq!(Partition::AwsCn.dns_suffix(), "amazonaws.com.cn");
        assert_eq!(Partition::AwsUsGov.dns_suffix(), "amazonaws.com");
        assert!(!Partition::AwsCn.supports_fips());
        assert!(Partition::AwsUsGov.supports_fips());
        assert!(Partition::Aws.supports_accelerate());
        assert!(!Partition::AwsUsGov.supports_accelerate());
    }

    #[test]
    fn region_validation_accepts_dns_labels_only() {
        let valid = ["us-east-1", "snow", "us-east.special", "a", "EU-WEST-1"];
        let invalid = [
            "",
            "a b",
            "us-east-2!",
            "us_east_1",
            "-us",
            "us..east",
            "us/east",
        ];
        for region in valid {
            assert!(validate_region(region).is_ok(), "{region} should be valid");
        }
        for region in invalid {
            assert!(
                validate_region(region).is_err(),
                "{region:?} should be invalid"
            );
        }
    }

    #[test]
    fn region_labels_longer_than_63_characters_are_refused() {
        assert!(validate_region(&"a".repeat(63)).is_ok());
        assert!(validate_region(&"a".repeat(64)).is_err());
    }
}
