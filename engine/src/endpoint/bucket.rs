//! Bucket names: which ones ferry can address at all, and which may go in a host name
//! (virtual-hosted style).

use super::EndpointError;
use std::net::Ipv4Addr;

/// The longest bucket name S3 ever allowed (legacy us-east-1 buckets; new ones: 63).
const MAX_BUCKET_LEN: usize = 255;

/// Refuses names that cannot be a bucket on any store, and names of AWS features ferry does
/// not implement. `on_aws` says whether the endpoint is AWS's own (the reserved suffixes of
/// directory buckets and Outposts mean something only there).
pub(crate) fn check_bucket(bucket: &str, on_aws: bool) -> Result<(), EndpointError> {
    if let Some(reason) = invalid_reason(bucket) {
        return Err(EndpointError::InvalidBucket {
            bucket: bucket.to_owned(),
            reason,
        });
    }
    if let Some((what, hint)) = unsupported_kind(bucket, on_aws) {
        return Err(EndpointError::Unsupported {
            bucket: bucket.to_owned(),
            what,
            hint,
        });
    }
    Ok(())
}

/// Refuses a name S3 would refuse for a new bucket (CreateBucket), naming the rule broken:
/// 3-63 characters; lower-case letters, digits, `.` and `-`; starting and ending with a
/// letter or digit; no `..`; not shaped like an IPv4 address; none of S3's reserved prefixes
/// and suffixes. (Existing buckets of other rules, such as legacy us-east-1 names, are
/// still reached: only creating one is refused.)
pub fn check_new_bucket_name(bucket: &str) -> Result<(), EndpointError> {
    match new_bucket_rule_broken(bucket) {
        Some(reason) => Err(EndpointError::InvalidBucket {
            bucket: bucket.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

fn new_bucket_rule_broken(bucket: &str) -> Option<&'static str> {
    let bytes = bucket.as_bytes();
    let edge_ok = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    Some(if !(3..=63).contains(&bytes.len()) {
        "a bucket name has 3 to 63 characters"
    } else if bytes.iter().any(u8::is_ascii_uppercase) {
        "a bucket name has no upper-case letters"
    } else if !bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'))
    {
        "a bucket name has only lower-case letters, digits, `.` and `-`"
    } else if !edge_ok(bytes.first()) || !edge_ok(bytes.last()) {
        "a bucket name starts and ends with a letter or a digit"
    } else if bucket.contains("..") {
        "a bucket name has no two adjacent dots"
    } else if bucket.parse::<Ipv4Addr>().is_ok() {
        "a bucket name is not shaped like an IP address"
    } else if bucket.starts_with("xn--") || bucket.starts_with("sthree-") {
        "a bucket name does not start with `xn--` or `sthree-` (reserved)"
    } else if bucket.ends_with("-s3alias") || bucket.ends_with("--ol-s3") {
        "a bucket name does not end with `-s3alias` or `--ol-s3` (reserved)"
    } else {
        return None;
    })
}

/// Why the name can never be a bucket, if it cannot.
fn invalid_reason(bucket: &str) -> Option<&'static str> {
    if bucket.is_empty() {
        Some("a bucket name cannot be empty")
    } else if bucket.len() > MAX_BUCKET_LEN {
        Some("a bucket name has at most 255 characters (63 for new buckets)")
    } else if bucket.contains('/') {
        Some("a bucket name cannot contain `/`; write s3://BUCKET/KEY")
    } else if bucket.chars().any(char::is_control) {
        Some("a bucket name cannot contain control characters")
    } else {
        None
    }
}

/// The unsupported AWS feature the name refers to, and what to do instead.
fn unsupported_kind(bucket: &str, on_aws: bool) -> Option<(&'static str, &'static str)> {
    if bucket.starts_with("arn:") {
        return Some((
            "an ARN (access point, Multi-Region Access Point, Outposts or Object Lambda)",
            "use the bucket's name, or the access point's alias",
        ));
    }
    if !on_aws {
        return None;
    }
    if bucket.ends_with("--x-s3") || bucket.ends_with("--xa-s3") {
        Some((
            "an S3 Express One Zone directory bucket (or its access point)",
            "use a general purpose bucket",
        ))
    } else if bucket.ends_with("--op-s3") {
        Some((
            "an S3 on Outposts access point alias",
            "use a bucket in an AWS region",
        ))
    } else {
        None
    }
}

/// Whether the name may be the first label(s) of a host name, as S3's virtual-hosted style
/// needs: 3–63 characters, lower-case letters, digits and hyphens, starting and ending with
/// a letter or digit. With `allow_dots` (plain HTTP, where no TLS certificate has to match
/// the host) dots are allowed too, though not next to a hyphen or another dot, and the
/// name must not look like an IPv4 address.
pub fn is_virtual_hostable(bucket: &str, allow_dots: bool) -> bool {
    let bytes = bucket.as_bytes();
    if !(3..=63).contains(&bytes.len()) {
        return false;
    }
    let is_edge_char = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !is_edge_char(&bytes[0]) || !is_edge_char(&bytes[bytes.len() - 1]) {
        return false;
    }
    if allow_dots {
        has_clean_dot_labels(bytes) && bucket.parse::<Ipv4Addr>().is_err()
    } else {
        bytes.iter().all(|b| is_edge_char(b) || *b == b'-')
    }
}

/// Whether every byte is a lower-case letter, digit, `-` or `.`, with no `..`, `-.` or `.-`.
fn has_clean_dot_labels(bytes: &[u8]) -> bool {
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.';
    bytes.iter().all(|b| allowed(*b))
        && bytes
            .windows(2)
            .all(|pair| !matches!(pair, [b'.', b'.'] | [b'-', b'.'] | [b'.', b'-']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_bucket_names_follow_s3s_rules_and_the_error_names_the_rule_broken() {
        for good in [
            "abc",
            "my-bucket.2024",
            "0ab",
            &"a".repeat(63),
            "ferry-test",
        ] {
            assert_eq!(check_new_bucket_name(good), Ok(()), "{good}");
        }
        let broken = [
            ("ab", "3 to 63"),
            (&"a".repeat(64), "3 to 63"),
            ("My-Bucket", "upper-case"),
            ("my_bucket", "only lower-case letters"),
            ("-bucket", "starts and ends"),
            ("bucket.", "starts and ends"),
            ("my..bucket", "adjacent dots"),
            ("192.168.5.4", "IP address"),
            ("xn--bucket", "reserved"),
            ("bucket-s3alias", "reserved"),
        ];
        for (name, rule) in broken {
            let err = check_new_bucket_name(name).unwrap_err();
            let message = err.to_string();
            assert!(message.contains(rule), "{name}: {message}");
            assert!(message.contains(name), "{name}: {message}");
        }
    }

    #[test]
    fn virtual_hostable_names_follow_the_dns_rules() {
        // (bucket, hostable without dots, hostable with dots)
        let table = [
            ("aaa", true, true),
            ("bucket-name", true, true),
            ("99a-b", true, true),
            ("aa", false, false),
            (&"a".repeat(63), true, true),
            (&"a".repeat(64), false, false),
            ("BucketName", false, false),
            ("99_ab", false, false),
            ("-bucket", false, false),
            ("bucket-", false, false),
            ("bucket!", false, false),
            ("bucket name", false, false),
            ("bucket.name", false, true),
            ("bucket.with.dots", false, true),
            ("bucket..name", false, false),
            ("bucket-.name", false, false),
            ("bucket.-name", false, false),
            ("192.168.5.4", false, false),
            ("192.168.5.4a", false, true),
        ];
        for (bucket, plain, dotted) in table {
            assert_eq!(
                is_virtual_hostable(bucket, false),
                plain,
                "{bucket} without dots"
            );
            assert_eq!(
                is_virtual_hostable(bucket, true),
                dotted,
                "{bucket} with dots"
            );
        }
    }

    #[test]
    fn names_that_cannot_be_buckets_are_refused() {
        let long = "a".repeat(256);
        for bucket in ["", "a/b", "tab\there", long.as_str()] {
            assert!(
                matches!(
                    check_bucket(bucket, false),
                    Err(EndpointError::InvalidBucket { .. })
                ),
                "{bucket:?}"
            );
        }
    }

    #[test]
    fn legacy_and_unusual_names_are_accepted_for_path_style() {
        for bucket in [
            "BucketName",
            "99_ab",
            "bucket name",
            "example.com#",
            &"a".repeat(255),
        ] {
            assert!(check_bucket(bucket, true).is_ok(), "{bucket}");
        }
    }

    #[test]
    fn arns_are_unsupported_on_every_endpoint() {
        let arn = "arn:aws:s3:us-west-2:123456789012:accesspoint:myendpoint";
        for on_aws in [true, false] {
            assert!(matches!(
                check_bucket(arn, on_aws),
                Err(EndpointError::Unsupported { .. })
            ));
        }
    }

    #[test]
    fn reserved_aws_suffixes_are_unsupported_only_on_aws() {
        for bucket in [
            "mybucket--usw2-az1--x-s3",
            "ap--usw2-az1--xa-s3",
            "alias--op-s3",
        ] {
            assert!(matches!(
                check_bucket(bucket, true),
                Err(EndpointError::Unsupported { .. })
            ));
            assert!(
                check_bucket(bucket, false).is_ok(),
                "{bucket} on a custom endpoint"
            );
        }
    }
}
