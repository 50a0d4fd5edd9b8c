//! Table-driven tests of resolution and addressing, one table per rule.

use super::*;

/// The URL of a request on `bucket`/`key`, or the error's debug form.
fn url_of(config: &EndpointConfig, bucket: Option<&str>, key: Option<&str>) -> String {
    config
        .resolve()
        .and_then(|endpoint| endpoint.target(bucket, key))
        .map(Target::into_url)
        .unwrap_or_else(|e| format!("error: {e:?}"))
}

fn aws(region: &str) -> EndpointConfig {
    EndpointConfig::new(region)
}

fn check_urls(table: &[(EndpointConfig, Option<&str>, Option<&str>, &str)]) {
    for (config, bucket, key, expected) in table {
        assert_eq!(
            &url_of(config, *bucket, *key),
            expected,
            "{config:?} {bucket:?} {key:?}"
        );
    }
}

#[test]
fn regional_endpoints_put_dns_safe_buckets_in_the_host() {
    check_urls(&[
        (
            aws("us-west-2"),
            None,
            None,
            "https://s3.us-west-2.amazonaws.com/",
        ),
        (
            aws("us-west-2"),
            Some("bucket"),
            None,
            "https://bucket.s3.us-west-2.amazonaws.com/",
        ),
        (
            aws("us-west-2"),
            Some("bucket"),
            Some("k"),
            "https://bucket.s3.us-west-2.amazonaws.com/k",
        ),
        (
            aws("us-east-1"),
            Some("bucket"),
            Some("k"),
            "https://bucket.s3.us-east-1.amazonaws.com/k",
        ),
        (
            aws("af-south-1"),
            Some("b-1"),
            Some("a/b"),
            "https://b-1.s3.af-south-1.amazonaws.com/a/b",
        ),
    ]);
}

#[test]
fn buckets_that_are_not_dns_safe_go_in_the_path() {
    check_urls(&[
        (
            aws("us-west-2"),
            Some("bucket.name"),
            Some("k"),
            "https://s3.us-west-2.amazonaws.com/bucket.name/k",
        ),
        (
            aws("us-west-2"),
            Some("aa"),
            None,
            "https://s3.us-west-2.amazonaws.com/aa",
        ),
        (
            aws("us-west-2"),
            Some("BucketName"),
            None,
            "https://s3.us-west-2.amazonaws.com/BucketName",
        ),
        (
            aws("us-west-2"),
            Some("99_ab"),
            Some("k"),
            "https://s3.us-west-2.amazonaws.com/99_ab/k",
        ),
        (
            aws("us-west-2"),
            Some("bucket name"),
            None,
            "https://s3.us-west-2.amazonaws.com/bucket%20name",
        ),
        (
            aws("us-west-2"),
            Some("example.com#"),
            None,
            "https://s3.us-west-2.amazonaws.com/example.com%23",
        ),
    ]);
}

#[test]
fn force_path_style_puts_every_bucket_in_the_path() {
    let path = |region| aws(region).with_force_path_style(true);
    check_urls(&[
        (
            path("us-west-2"),
            Some("bucket"),
            Some("k"),
            "https://s3.us-west-2.amazonaws.com/bucket/k",
        ),
        (
            path("us-west-2"),
            Some("bucket"),
            None,
            "https://s3.us-west-2.amazonaws.com/bucket",
        ),
        (
            path("us-west-2"),
            None,
            None,
            "https://s3.us-west-2.amazonaws.com/",
        ),
        (
            path("cn-north-1"),
            Some("bucket"),
            None,
            "https://s3.cn-north-1.amazonaws.com.cn/bucket",
        ),
    ]);
}

#[test]
fn dualstack_and_fips_change_the_service_label() {
    check_urls(&[
        (
            aws("us-west-2").with_dualstack(true),
            Some("b-1"),
            None,
            "https://b-1.s3.dualstack.us-west-2.amazonaws.com/",
        ),
        (
            aws("us-west-2").with_fips(true),
            Some("b-1"),
            None,
            "https://b-1.s3-fips.us-west-2.amazonaws.com/",
        ),
        (
            aws("us-west-2").with_fips(true).with_dualstack(true),
            Some("b-1"),
            None,
            "https://b-1.s3-fips.dualstack.us-west-2.amazonaws.com/",
        ),
        (
            aws("us-west-2").with_dualstack(true),
            None,
            None,
            "https://s3.dualstack.us-west-2.amazonaws.com/",
        ),
        (
            aws("us-gov-west-1").with_fips(true),
            Some("a.b"),
            None,
            "https://s3-fips.us-gov-west-1.amazonaws.com/a.b",
        ),
    ]);
}

#[test]
fn china_and_govcloud_use_their_partitions_suffix() {
    check_urls(&[
        (
            aws("cn-north-1"),
            Some("b-1"),
            None,
            "https://b-1.s3.cn-north-1.amazonaws.com.cn/",
        ),
        (
            aws("cn-northwest-1").with_dualstack(true),
            None,
            None,
            "https://s3.dualstack.cn-northwest-1.amazonaws.com.cn/",
        ),
        (
            aws("us-gov-east-1"),
            Some("b-1"),
            None,
            "https://b-1.s3.us-gov-east-1.amazonaws.com/",
        ),
    ]);
}

#[test]
fn the_global_endpoint_serves_aws_global_and_legacy_us_east_1_only() {
    let legacy = |region| aws(region).with_global_endpoint(true);
    check_urls(&[
        (aws("aws-global"), None, None, "https://s3.amazonaws.com/"),
        (
            aws("aws-global"),
            Some("b-1"),
            None,
            "https://b-1.s3.amazonaws.com/",
        ),
        (
            aws("aws-global").with_fips(true),
            None,
            None,
            "https://s3-fips.us-east-1.amazonaws.com/",
        ),
        (
            aws("aws-global").with_dualstack(true),
            None,
            None,
            "https://s3.dualstack.us-east-1.amazonaws.com/",
        ),
        (
            legacy("us-east-1"),
            Some("b-1"),
            None,
            "https://b-1.s3.amazonaws.com/",
        ),
        (
            legacy("us-east-1").with_force_path_style(true),
            Some("b-1"),
            None,
            "https://s3.amazonaws.com/b-1",
        ),
        (
            legacy("us-east-1").with_dualstack(true),
            None,
            None,
            "https://s3.dualstack.us-east-1.amazonaws.com/",
        ),
        (
            legacy("us-west-2"),
            None,
            None,
            "https://s3.us-west-2.amazonaws.com/",
        ),
        (
            legacy("cn-north-1"),
            None,
            None,
            "https://s3.cn-north-1.amazonaws.com.cn/",
        ),
        (
            aws("us-east-1"),
            None,
            None,
            "https://s3.us-east-1.amazonaws.com/",
        ),
    ]);
}

#[test]
fn aws_global_is_signed_for_us_east_1() {
    let endpoint = aws("aws-global").resolve().unwrap();
    assert_eq!(endpoint.region(), "aws-global");
    assert_eq!(endpoint.signing_region(), "us-east-1");
    assert_eq!(endpoint.signing_name(), "s3");
}

#[test]
fn transfer_acceleration_uses_the_global_accelerate_host_for_buckets() {
    let fast = |region| aws(region).with_accelerate(true);
    check_urls(&[
        (
            fast("us-west-2"),
            Some("b-1"),
            Some("k"),
            "https://b-1.s3-accelerate.amazonaws.com/k",
        ),
        (
            fast("us-west-2").with_dualstack(true),
            Some("b-1"),
            None,
            "https://b-1.s3-accelerate.dualstack.amazonaws.com/",
        ),
        (
            fast("us-west-2"),
            None,
            None,
            "https://s3.us-west-2.amazonaws.com/",
        ),
        (
            fast("aws-global").with_dualstack(true),
            Some("b-1"),
            None,
            "https://b-1.s3-accelerate.dualstack.us-east-1.amazonaws.com/",
        ),
    ]);
    let endpoint = fast("us-west-2").resolve().unwrap();
    assert_eq!(endpoint.signing_region(), "us-west-2");
}

#[test]
fn transfer_acceleration_refuses_buckets_it_cannot_put_in_the_host() {
    let endpoint = aws("us-west-2").with_accelerate(true).resolve().unwrap();
    for bucket in ["bucket.name", "bucket!", "aa"] {
        assert!(matches!(
            endpoint.target(Some(bucket), None),
            Err(EndpointError::InvalidBucket { .. })
        ));
    }
}

#[test]
fn custom_endpoints_are_path_style_by_default() {
    let custom = |url| EndpointConfig::custom(url, "us-east-1");
    check_urls(&[
        (
            custom("http://127.0.0.1:9000"),
            Some("bucket"),
            Some("k"),
            "http://127.0.0.1:9000/bucket/k",
        ),
        (
            custom("http://[::1]:9000"),
            Some("bucket"),
            Some("k"),
            "http://[::1]:9000/bucket/k",
        ),
        (
            custom("http://[::1]:9000"),
            None,
            None,
            "http://[::1]:9000/",
        ),
        (
            custom("https://minio.example.com"),
            Some("bucket"),
            None,
            "https://minio.example.com/bucket",
        ),
        (
            custom("http://localhost:8333/"),
            Some("b"),
            Some("x/y"),
            "http://localhost:8333/b/x/y",
        ),
        (
            custom("https://store.example:9000/s3/"),
            Some("b"),
            Some("k"),
            "https://store.example:9000/s3/b/k",
        ),
        (
            custom("https://store.example/s3"),
            None,
            None,
            "https://store.example/s3",
        ),
    ]);
}

#[test]
fn custom_endpoints_put_buckets_in_the_host_when_asked() {
    let virt =
        |url| EndpointConfig::custom(url, "us-east-1").with_addressing(AddressingStyle::Virtual);
    check_urls(&[
        (
            virt("https://example.com"),
            Some("bucket"),
            Some("k"),
            "https://bucket.example.com/k",
        ),
        (
            virt("http://example.com"),
            Some("bucket.name"),
            None,
            "http://bucket.name.example.com/",
        ),
        (
            virt("https://example.com"),
            Some("bucket.name"),
            None,
            "https://example.com/bucket.name",
        ),
        (
            virt("http://example.com:9000/base"),
            Some("bucket"),
            Some("k"),
            "http://bucket.example.com:9000/base/k",
        ),
        (
            virt("http://example.com:9000/base"),
            Some("bucket"),
            None,
            "http://bucket.example.com:9000/base",
        ),
        (
            virt("http://192.168.1.1"),
            Some("bucket"),
            None,
            "http://192.168.1.1/bucket",
        ),
        (
            virt("http://[::1]:9000"),
            Some("bucket"),
            None,
            "http://[::1]:9000/bucket",
        ),
        (
            virt("http://foo.com"),
            Some("bucket!"),
            None,
            "http://foo.com/bucket%21",
        ),
    ]);
}

#[test]
fn custom_endpoints_are_signed_for_the_configured_region() {
    let endpoint = EndpointConfig::custom("http://10.0.1.12:433", "snow")
        .resolve()
        .unwrap();
    assert_eq!(endpoint.signing_region(), "snow");
    assert!(endpoint.is_custom());
    let global = EndpointConfig::custom("https://example.com", "aws-global")
        .resolve()
        .unwrap();
    assert_eq!(global.signing_region(), "us-east-1");
}

#[test]
fn targets_expose_base_host_path_and_prefix() {
    let endpoint = EndpointConfig::custom("http://[::1]:9000/base", "us-east-1")
        .resolve()
        .unwrap();
    let target = endpoint
        .target(Some("bucket"), Some("dir/file 1.txt"))
        .unwrap();
    assert_eq!(target.scheme(), Scheme::Http);
    assert_eq!(target.base(), "http://[::1]:9000");
    assert_eq!(target.host(), "[::1]:9000");
    assert_eq!(target.path_prefix(), "/base/bucket");
    assert_eq!(target.path(), "/base/bucket/dir/file%201.txt");
    assert_eq!(target.endpoint_url(), "http://[::1]:9000/base/bucket");
    assert_eq!(
        target.url(),
        "http://[::1]:9000/base/bucket/dir/file%201.txt"
    );
}

#[test]
fn paths_are_never_empty() {
    let endpoint = aws("us-west-2").resolve().unwrap();
    // (bucket, key, path, prefix)
    let table = [
        (None, None, "/", ""),
        (Some("b-1"), None, "/", ""),
        (Some("b-1"), Some(""), "/", ""),
        (Some("b.1"), None, "/b.1", "/b.1"),
        (Some("b.1"), Some(""), "/b.1/", "/b.1"),
    ];
    for (bucket, key, path, prefix) in table {
        let target = endpoint.target(bucket, key).unwrap();
        assert_eq!(target.path(), path, "{bucket:?} {key:?}");
        assert_eq!(target.path_prefix(), prefix, "{bucket:?} {key:?}");
    }
}

#[test]
fn keys_are_encoded_once_and_never_normalized() {
    let endpoint = aws("us-west-2").resolve().unwrap();
    let table = [
        ("a b", "/a%20b"),
        ("dir/../x", "/dir/../x"),
        ("a//b", "/a//b"),
        ("/leading", "//leading"),
        ("100%", "/100%25"),
        ("%20", "/%2520"),
        ("ü+?#&=", "/%C3%BC%2B%3F%23%26%3D"),
    ];
    for (key, path) in table {
        assert_eq!(
            endpoint.target(Some("b-1"), Some(key)).unwrap().path(),
            path,
            "{key}"
        );
    }
}

#[test]
fn a_bucket_address_builds_the_same_paths_as_a_target() {
    for config in [
        aws("us-west-2"),
        EndpointConfig::custom("http://[::1]:9000/base", "x"),
    ] {
        let endpoint = config.resolve().unwrap();
        for bucket in ["b-1", "b.1"] {
            let address = endpoint.bucket(bucket).unwrap();
            for key in [None, Some("k"), Some("a b/c")] {
                let target = endpoint.target(Some(bucket), key).unwrap();
                let mut path = String::new();
                address.push_path(key, &mut path);
                assert_eq!(path, target.path());
                assert_eq!(address.target(key), target);
                assert_eq!(address.host(), target.host());
                assert_eq!(address.base(), target.base());
            }
        }
    }
}

#[test]
fn a_bucket_address_reuses_the_callers_buffer() {
    let endpoint = aws("us-west-2").resolve().unwrap();
    let address = endpoint.bucket("b-1").unwrap();
    assert!(address.is_virtual_hosted());
    let mut path = String::with_capacity(64);
    let before = path.as_ptr();
    for key in ["a", "bb", "c c"] {
        path.clear();
        address.push_path(Some(key), &mut path);
    }
    assert_eq!(path, "/c%20c");
    assert_eq!(
        path.as_ptr(),
        before,
        "no reallocation when the buffer is big enough"
    );
}

#[test]
fn conflicting_options_are_refused() {
    let custom = || EndpointConfig::custom("https://example.com", "us-west-2");
    let table = [
        custom().with_dualstack(true),
        custom().with_fips(true),
        custom().with_accelerate(true),
        aws("us-west-2").with_accelerate(true).with_fips(true),
        aws("us-west-2")
            .with_accelerate(true)
            .with_force_path_style(true),
    ];
    for config in table {
        assert!(
            matches!(config.resolve(), Err(EndpointError::Conflict { .. })),
            "{config:?}"
        );
    }
}

#[test]
fn options_missing_from_a_partition_are_refused() {
    let table = [
        aws("cn-north-1").with_fips(true),
        aws("cn-north-1").with_accelerate(true),
        aws("us-gov-west-1").with_accelerate(true),
    ];
    for config in table {
        assert!(
            matches!(config.resolve(), Err(EndpointError::NotInPartition { .. })),
            "{config:?}"
        );
    }
}

#[test]
fn invalid_regions_and_urls_are_refused() {
    assert!(matches!(
        aws("a b").resolve(),
        Err(EndpointError::InvalidRegion { .. })
    ));
    assert!(matches!(
        EndpointConfig::custom("http://foo.com", "us-east-2!").resolve(),
        Err(EndpointError::InvalidRegion { .. })
    ));
    for url in ["ftp://example.com", "localhost:9000", "abcde://nota#url"] {
        assert!(matches!(
            EndpointConfig::custom(url, "us-east-1").resolve(),
            Err(EndpointError::InvalidEndpointUrl { .. })
        ));
    }
}

#[test]
fn unsupported_bucket_kinds_are_refused_not_misrouted() {
    let endpoint = aws("us-west-2").resolve().unwrap();
    for bucket in [
        "arn:aws:s3:us-west-2:123456789012:accesspoint:myendpoint",
        "mybucket--usw2-az1--x-s3",
        "alias--op-s3",
    ] {
        assert!(matches!(
            endpoint.target(Some(bucket), None),
            Err(EndpointError::Unsupported { .. })
        ));
    }
}

#[test]
fn errors_say_what_to_change() {
    let conflict = EndpointConfig::custom("https://example.com", "us-west-2")
        .with_dualstack(true)
        .resolve()
        .unwrap_err();
    assert_eq!(
        conflict.to_string(),
        "dual-stack cannot be combined with a custom endpoint URL: drop one of them"
    );
    let url = EndpointConfig::custom("localhost:9000", "us-east-1")
        .resolve()
        .unwrap_err();
    assert!(
        url.to_string().contains("write http:// or https://"),
        "{url}"
    );
}

#[test]
fn endpoints_display_their_service_url() {
    assert_eq!(
        aws("eu-west-1").resolve().unwrap().to_string(),
        "https://s3.eu-west-1.amazonaws.com"
    );
    let custom = EndpointConfig::custom("http://[::1]:9000/s3/", "x")
        .resolve()
        .unwrap();
    assert_eq!(custom.to_string(), "http://[::1]:9000/s3");
    assert_eq!(custom.service_url(), "http://[::1]:9000/s3");
}
