//! The `hint:` lines: the engine's typed [`Advice`] said in the CLI's words (its flags, its
//! commands, its docs), and the hints for errors of the CLI's own features (`ferry serve`,
//! plans and shards), whose variants already say what went wrong.

use ferry::Advice;
use ferry::config::ConfigError;
use ferry::serve::ServeError;
use ferry::shard::ShardError;
use ferry::transfer::TransferError;
use std::net::SocketAddr;

const NOT_S3: &str = "the endpoint did not answer like S3: check --endpoint-url (scheme, \
    host and port), and any proxy between ferry and the store (HTTPS_PROXY, a corporate \
    gateway, a captive portal)";
const FOREIGN_404: &str = "the endpoint answered 404 without an S3 error: is \
    --endpoint-url an S3 endpoint? (a plain web server answers like this; an endpoint URL has \
    no path: put the bucket in s3://BUCKET/KEY)";
const UNREACHABLE: &str = "check --endpoint-url and that the store is running and reachable";
const CA_BUNDLE: &str = "check --ca-bundle / AWS_CA_BUNDLE: it must hold the PEM \
    certificate of the CA that signed the store's certificate";
const ANONYMOUS: &str = "the request was anonymous; remove --no-sign-request or provide \
    credentials";
const INVALID_KEY: &str = "the access key id is not known to this endpoint: check the \
    profile/keys (--profile, AWS_ACCESS_KEY_ID) and --endpoint-url (the key must be one the \
    endpoint issued, not one of another store or partition such as aws-cn or aws-us-gov)";
const SIGNATURE: &str = "the signature does not match: check the secret access key (it \
    must be the one paired with the access key id), and that this machine's clock is right";
const TOKEN: &str = "the session token is not valid: set AWS_SESSION_TOKEN to the token \
    issued with this access key, or unset it for long-term keys";
const EXPIRED: &str = "the temporary credentials have expired: refresh them (e.g. `aws \
    sso login`, or assume the role again) and re-run with fresh ones";
const THROTTLED: &str = "the store is throttling requests; ferry retried with backoff: \
    lower --concurrency, or spread the keys over more prefixes";
const TIMEOUT: &str = "the store timed out waiting for the request; ferry retried \
    with backoff: check the network between ferry and the store, or lower --concurrency";
const NOT_ANSWERING: &str =
    "the store is not answering; check the endpoint, or lower --concurrency";
const CHECKSUM: &str = "this store does not support the x-amz-checksum-* headers: re-run \
    with --checksum-algorithm none (or AWS_REQUEST_CHECKSUM_CALCULATION=when_required)";
const MISMATCH: &str = "the data did not match its checksum: if the source is still being \
    written, wait until it is complete; otherwise re-run (a proxy may be altering bodies)";
const PRECONDITION: &str = "the object changed while ferry was working on it: re-run";
const BUCKET_RULES: &str = "bucket names are 3-63 characters of lower-case letters, digits, \
    `.` and `-`, start and end with a letter or digit, have no `..`, and are not shaped like \
    an IP address";

/// The `hint:` line for `advice`; `None` for advice this CLI does not know how to say (a
/// newer engine's).
pub fn render(advice: &Advice) -> Option<String> {
    Some(match advice {
        Advice::CheckEndpoint => NOT_S3.into(),
        Advice::CheckEndpointIsS3 => FOREIGN_404.into(),
        Advice::CheckEndpointReachable => UNREACHABLE.into(),
        Advice::CheckCaBundle => CA_BUNDLE.into(),
        Advice::UseRegion { region, endpoint } => region_hint(region, endpoint),
        Advice::SendSignedRequests => ANONYMOUS.into(),
        Advice::CheckPermission {
            action,
            resource,
            reason_given,
        } => permission_hint(*action, resource.as_deref(), *reason_given),
        Advice::CheckAccessKey => INVALID_KEY.into(),
        Advice::CheckSecretKey => SIGNATURE.into(),
        Advice::CheckSessionToken => TOKEN.into(),
        Advice::RefreshCredentials => EXPIRED.into(),
        Advice::FixClock { server_time } => {
            let server = match server_time {
                Some(time) => format!(" (the store's time: {})", shown(time)),
                None => String::new(),
            };
            format!(
                "this machine's clock is too far from the store's{server}: fix the clock \
                 (enable NTP time sync) and re-run"
            )
        }
        Advice::BucketMissing { bucket } => format!(
            "the bucket {} does not exist at this endpoint: check the bucket name and \
             --region; `ferry ls` lists your buckets",
            shown(bucket.as_deref().unwrap_or("bucket"))
        ),
        Advice::KeyMissing {
            bucket,
            parent_prefix,
            ambiguous,
        } => {
            let mut hint = format!(
                "the key does not exist: `ferry ls s3://{}/{}` lists the keys there",
                shown(bucket.as_deref().unwrap_or("bucket")),
                shown(parent_prefix)
            );
            if *ambiguous {
                hint.push_str(
                    " (an answer without a body cannot tell a missing key from a missing bucket)",
                );
            }
            hint
        }
        Advice::CheckBucketAndKey => {
            "check the bucket name and the key; `ferry ls` lists your buckets".into()
        }
        Advice::UploadGone => "the multipart upload is gone (completed, aborted, or removed \
            by a lifecycle rule): start the transfer again"
            .into(),
        Advice::ReduceRequestRate => THROTTLED.into(),
        Advice::CheckNetworkOrReduceConcurrency => TIMEOUT.into(),
        Advice::StoreNotAnswering => NOT_ANSWERING.into(),
        Advice::RetryWhenStoreHealthy { status, attempts } => {
            let tries = match attempts {
                0 | 1 => String::new(),
                n => format!(" after {n} attempts"),
            };
            format!(
                "the server kept failing (HTTP {status}){tries}: check the server's logs or \
                 status page, and run again once it is healthy"
            )
        }
        Advice::DisableRequestChecksums => CHECKSUM.into(),
        Advice::ChecksumMismatch => MISMATCH.into(),
        Advice::RerunSourceChanged => PRECONDITION.into(),
        Advice::RerunTransfer => "the transfer was not kept; run it again".into(),
        Advice::BucketNameRules => BUCKET_RULES.into(),
        Advice::ChooseOtherBucketName => {
            "bucket names are shared by all accounts of the store: choose another name".into()
        }
        Advice::BucketAlreadyYours => {
            "the bucket exists and is yours already: use it as it is".into()
        }
        Advice::ShortenKey => "S3 keys are at most 1024 bytes of UTF-8: shorten the key (or \
            the destination prefix)"
            .into(),
        Advice::ObjectTooLargeForOneRequest => "one request carries at most 5 GiB: a larger \
            object must be uploaded in parts (ferry does so above its multipart threshold)"
            .into(),
        Advice::RaisePartSize => {
            "every part but the last must be at least 5 MiB: raise --part-size".into()
        }
        Advice::PartSizeOutOfRange => "use a --part-size between 5 MiB and 5 GiB".into(),
        Advice::CheckArgument { name } => {
            format!(
                "the store refused the value of {}",
                one_line(&shown(name), 100)
            )
        }
        Advice::CheckPathExists => "check that the path exists".into(),
        Advice::CheckPathPermissions => {
            "check the permissions of the path and of its directory".into()
        }
        Advice::FreeDiskSpace => {
            "the disk is full: free space and run again (the failed download left no partial file)"
                .into()
        }
        Advice::ReviewEndpointSettings => {
            "see docs/endpoints.md for regions, endpoints and addressing".into()
        }
        Advice::ReviewCredentialSources => {
            "see docs/credentials.md for where ferry looks for keys".into()
        }
        Advice::GiveCredentialsOrGoAnonymous => "give keys (AWS_ACCESS_KEY_ID and \
            AWS_SECRET_ACCESS_KEY, --profile, or `aws configure`), or use --no-sign-request \
            for a public bucket"
            .into(),
        Advice::PickAnotherProfile => {
            "name an existing profile with --profile or AWS_PROFILE".into()
        }
        Advice::SessionDurationRange => "--session-duration is in seconds: 900 (15 minutes) \
            to 43200 (12 hours) for --assume-role (up to the role's maximum session duration), \
            900 to 129600 for --mfa-serial alone"
            .into(),
        Advice::MfaDeviceAndCode => "--mfa-serial takes the MFA device's ARN \
            (arn:aws:iam::ACCOUNT:mfa/NAME) or hardware serial, and --mfa-code the 6 digits it \
            shows now"
            .into(),
        Advice::RoleArnFormat => {
            "--assume-role takes a role ARN: arn:aws:iam::ACCOUNT:role/NAME".into()
        }
        Advice::RoleSessionNameFormat => {
            "--role-session-name takes 2-64 characters of A-Za-z0-9_+=,.@-".into()
        }
        Advice::ReviewTemporaryCredentials => {
            "see docs/credentials.md for --assume-role, --mfa-serial and --session-duration".into()
        }
        _ => return None,
    })
}

/// The hint for advice an error may or may not have.
pub fn of(advice: Option<Advice>) -> Option<String> {
    advice.as_ref().and_then(render)
}

/// The hint for a failed S3 call.
pub fn s3(error: &ferry::s3::Error) -> Option<String> {
    of(error.advice())
}

/// The hint for a failed transfer.
pub fn transfer(error: &TransferError) -> Option<String> {
    of(error.advice())
}

/// The hint for a client that could not be set up.
pub fn config(error: &ConfigError) -> Option<String> {
    of(error.advice())
}

/// The hint for `ferry serve` (and the demo's endpoint), in words that fit its flags.
pub fn serve(error: &ServeError) -> Option<String> {
    Some(match error {
        ServeError::RootMissing { root } => format!(
            "create it with `mkdir -p {}`, or pass an existing directory with --root",
            root.display()
        ),
        ServeError::RootNotDirectory { .. } => {
            "pass a directory with --root; its sub-directories become buckets".into()
        }
        ServeError::RootUnusable { .. } => {
            "check the path and its permissions, or pass another --root".into()
        }
        ServeError::AddressInUse { address } => format!(
            "pick another port, e.g. --address {}, or port 0 to let the system choose",
            SocketAddr::new(address.ip(), address.port().wrapping_add(1).max(1024))
        ),
        ServeError::AddressUnavailable { .. } => {
            "use a local address such as 127.0.0.1:9000 or [::1]:9000 (IPv6 must be enabled)".into()
        }
        ServeError::Bind { address, source }
            if source.kind() == std::io::ErrorKind::PermissionDenied && address.port() < 1024 =>
        {
            "ports below 1024 need privileges; use e.g. port 9000, or 0".into()
        }
        ServeError::InvalidAccessKey | ServeError::EmptySecretKey => {
            "give both --access-key and --secret-key, or neither to get a random pair".into()
        }
        ServeError::Random(_) => "pass --access-key and --secret-key yourself".into(),
        _ => return None,
    })
}

/// The hint for a plan or shard that could not be made or run.
pub fn shard(error: &ShardError) -> Option<String> {
    Some(match error {
        ShardError::Io { .. } => "check that the path exists and is readable and writable".into(),
        ShardError::S3(e) => return s3(e),
        ShardError::Malformed { .. } => {
            "the file was changed or cut short: make the plan again with `ferry plan`".into()
        }
        ShardError::PlanExists(_) => {
            "choose another --out directory, or remove the old plan first".into()
        }
        ShardError::NoPlan(_) => "make one first: ferry plan SRC DST --shards N --out PLAN".into(),
        ShardError::NoSuchShard { .. } => "shards are numbered from 0".into(),
        ShardError::Busy(_) => "wait for the other worker to end; a second worker on one shard \
            would only repeat its work"
            .into(),
        _ => return None,
    })
}

fn region_hint(region: &Option<String>, endpoint: &Option<String>) -> String {
    match (region, endpoint) {
        (Some(region), _) => {
            let region = shown(region);
            format!("the bucket is in region {region}: use --region {region}")
        }
        (None, Some(endpoint)) => format!(
            "the bucket must be reached through {}: use --region with the bucket's region",
            shown(endpoint)
        ),
        (None, None) => {
            "the bucket is in another region: use --region with the bucket's region".into()
        }
    }
}

fn permission_hint(action: Option<&str>, resource: Option<&str>, reason_given: bool) -> String {
    let action = action.unwrap_or("this action");
    let on = resource.map_or_else(|| "this bucket".into(), shown);
    if reason_given {
        format!(
            "the identity lacks permission for {action} on {on}: check its IAM policy and the \
             bucket policy, or ask the bucket owner"
        )
    } else {
        format!(
            "the store refused {action} on {on} without saying why: the identity may lack \
             permission, or the credentials may be wrong or expired"
        )
    }
}

/// `text` with unprintable characters escaped (`\n`, `\u{1b}`, bidirectional controls):
/// names may hold them.
fn shown(text: &str) -> String {
    ferry::s3::error::printable(text)
}

/// `text` with whitespace runs collapsed, at most `max` characters (then `…`).
fn one_line(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry::s3::S3Error;
    use http::{HeaderMap, StatusCode};

    fn hint(advice: Advice) -> String {
        render(&advice).expect("a hint")
    }

    fn region(region: &str) -> Advice {
        Advice::UseRegion {
            region: Some(region.into()),
            endpoint: None,
        }
    }

    #[test]
    fn a_region_named_by_the_store_is_the_region_to_pass() {
        assert_eq!(
            hint(region("eu-west-1")),
            "the bucket is in region eu-west-1: use --region eu-west-1"
        );
        let endpoint = hint(Advice::UseRegion {
            region: None,
            endpoint: Some("b.s3.amazonaws.com".into()),
        });
        assert!(endpoint.contains("b.s3.amazonaws.com"), "{endpoint}");
        assert!(endpoint.contains("--region"), "{endpoint}");
    }

    #[test]
    fn clock_skew_says_to_fix_the_clock_and_shows_the_stores_time() {
        let hint = hint(Advice::FixClock {
            server_time: Some("2026-05-01T12:00:00Z".into()),
        });
        assert!(hint.contains("fix the clock"), "{hint}");
        assert!(hint.contains("2026-05-01T12:00:00Z"), "{hint}");
    }

    #[test]
    fn access_denied_names_the_action_resource_policy_and_owner() {
        let hint = hint(Advice::CheckPermission {
            action: Some("s3:PutObject"),
            resource: Some("s3://reports/q1.csv".into()),
            reason_given: true,
        });
        assert!(
            hint.contains("lacks permission for s3:PutObject on s3://reports/q1.csv"),
            "{hint}"
        );
        assert!(
            hint.contains("policy") && hint.contains("bucket owner"),
            "{hint}"
        );
    }

    #[test]
    fn access_denied_without_a_reason_is_cautious() {
        let hint = hint(Advice::CheckPermission {
            action: Some("s3:GetObject"),
            resource: Some("s3://b/k".into()),
            reason_given: false,
        });
        assert!(hint.contains("s3:GetObject on s3://b/k"), "{hint}");
        assert!(hint.contains("without saying why"), "{hint}");
    }

    #[test]
    fn an_unknown_access_key_names_keys_endpoint_and_partition_not_iam() {
        let hint = hint(Advice::CheckAccessKey);
        assert!(hint.contains("not known to this endpoint"), "{hint}");
        assert!(
            hint.contains("--endpoint-url") && hint.contains("partition"),
            "{hint}"
        );
        assert!(!hint.contains("IAM"), "{hint}");
    }

    #[test]
    fn a_signature_mismatch_checks_the_secret_and_the_clock() {
        let hint = hint(Advice::CheckSecretKey);
        assert!(
            hint.contains("secret access key") && hint.contains("clock"),
            "{hint}"
        );
    }

    #[test]
    fn expired_credentials_ask_for_fresh_ones() {
        let hint = hint(Advice::RefreshCredentials);
        assert!(hint.contains("expired") && hint.contains("fresh"), "{hint}");
    }

    #[test]
    fn a_missing_bucket_checks_name_and_region_and_suggests_ferry_ls() {
        let hint = hint(Advice::BucketMissing {
            bucket: Some("typo-bucket".into()),
        });
        assert!(
            hint.contains("typo-bucket") && hint.contains("--region"),
            "{hint}"
        );
        assert!(hint.contains("`ferry ls`"), "{hint}");
    }

    #[test]
    fn a_missing_key_lists_the_keys_beside_it() {
        assert_eq!(
            hint(Advice::KeyMissing {
                bucket: Some("mybucket".into()),
                parent_prefix: String::new(),
                ambiguous: false,
            }),
            "the key does not exist: `ferry ls s3://mybucket/` lists the keys there"
        );
        let head = hint(Advice::KeyMissing {
            bucket: Some("photos".into()),
            parent_prefix: "2024/".into(),
            ambiguous: true,
        });
        assert!(head.contains("`ferry ls s3://photos/2024/`"), "{head}");
        assert!(head.contains("cannot tell a missing key"), "{head}");
    }

    #[test]
    fn names_from_the_store_are_escaped() {
        let hint = hint(Advice::KeyMissing {
            bucket: Some("b".into()),
            parent_prefix: "a\n\u{1b}[2J\u{202E}/".into(),
            ambiguous: false,
        });
        assert!(!hint.contains(['\n', '\u{1b}', '\u{202E}']), "{hint}");
        assert!(hint.contains("s3://b/a\\n\\u{1b}[2J\\u{202e}/"), "{hint}");
    }

    #[test]
    fn a_gone_upload_says_to_start_again() {
        assert!(hint(Advice::UploadGone).contains("start the transfer again"));
    }

    #[test]
    fn throttling_says_ferry_retried_and_to_lower_concurrency() {
        let hint = hint(Advice::ReduceRequestRate);
        assert!(
            hint.contains("retried with backoff") && hint.contains("--concurrency"),
            "{hint}"
        );
    }

    #[test]
    fn unsupported_checksums_say_to_turn_them_off() {
        let hint = hint(Advice::DisableRequestChecksums);
        assert!(hint.contains("--checksum-algorithm none"), "{hint}");
        assert!(
            hint.contains("AWS_REQUEST_CHECKSUM_CALCULATION=when_required"),
            "{hint}"
        );
    }

    #[test]
    fn an_anonymous_request_refused_says_to_sign_not_to_check_iam() {
        let hint = hint(Advice::SendSignedRequests);
        assert!(
            hint.contains("anonymous") && hint.contains("--no-sign-request"),
            "{hint}"
        );
        assert!(!hint.contains("IAM"), "{hint}");
    }

    #[test]
    fn a_failing_server_says_how_many_attempts_and_to_check_its_logs() {
        let hint = hint(Advice::RetryWhenStoreHealthy {
            status: 500,
            attempts: 4,
        });
        assert!(hint.contains("HTTP 500"), "{hint}");
        assert!(hint.contains("after 4 attempts"), "{hint}");
        assert!(hint.contains("server's logs"), "{hint}");
        assert!(!hint.contains("try again later"), "{hint}");
        let once = self::hint(Advice::RetryWhenStoreHealthy {
            status: 502,
            attempts: 1,
        });
        assert!(!once.contains("attempts"), "{once}");
        let timeout = self::hint(Advice::CheckNetworkOrReduceConcurrency);
        assert!(timeout.contains("network"), "{timeout}");
    }

    #[test]
    fn an_endpoint_that_is_not_s3_points_at_endpoint_url_and_proxies() {
        let foreign = hint(Advice::CheckEndpointIsS3);
        assert!(foreign.contains("without an S3 error"), "{foreign}");
        assert!(
            foreign.contains("is --endpoint-url an S3 endpoint"),
            "{foreign}"
        );
        let not_s3 = hint(Advice::CheckEndpoint);
        assert!(
            not_s3.contains("--endpoint-url") && not_s3.contains("proxy"),
            "{not_s3}"
        );
    }

    #[test]
    fn refused_names_and_sizes_say_the_rule() {
        for (advice, part) in [
            (Advice::BucketNameRules, "3-63 characters"),
            (Advice::ChooseOtherBucketName, "choose another name"),
            (Advice::BucketAlreadyYours, "yours already"),
            (Advice::ShortenKey, "1024 bytes"),
            (Advice::ObjectTooLargeForOneRequest, "5 GiB"),
            (Advice::RaisePartSize, "--part-size"),
            (
                Advice::PartSizeOutOfRange,
                "--part-size between 5 MiB and 5 GiB",
            ),
            (
                Advice::CheckArgument {
                    name: "x-amz-storage-class".into(),
                },
                "the store refused the value of x-amz-storage-class",
            ),
        ] {
            let hint = hint(advice);
            assert!(hint.contains(part), "{hint}");
        }
    }

    #[test]
    fn local_file_errors_each_get_their_own_hint() {
        let full = hint(Advice::FreeDiskSpace);
        assert!(
            full.contains("disk is full") && full.contains("run again"),
            "{full}"
        );
        assert!(hint(Advice::CheckPathExists).contains("exists"));
        let denied = hint(Advice::CheckPathPermissions);
        assert!(denied.contains("permissions") && !denied.contains("exists"));
    }

    #[test]
    fn temporary_credential_mistakes_name_their_flags() {
        let duration = hint(Advice::SessionDurationRange);
        assert!(duration.contains("--session-duration"), "{duration}");
        assert!(!duration.contains("ca-bundle"), "{duration}");
        assert!(hint(Advice::MfaDeviceAndCode).contains("--mfa-serial"));
        assert!(hint(Advice::RoleArnFormat).contains("--assume-role"));
        assert!(hint(Advice::RoleSessionNameFormat).contains("--role-session-name"));
        assert!(hint(Advice::CheckCaBundle).contains("--ca-bundle"));
    }

    #[test]
    fn every_advice_of_the_engine_has_words() {
        let every = [
            Advice::CheckEndpoint,
            Advice::CheckEndpointIsS3,
            Advice::CheckEndpointReachable,
            Advice::CheckCaBundle,
            region("r"),
            Advice::SendSignedRequests,
            Advice::CheckPermission {
                action: None,
                resource: None,
                reason_given: true,
            },
            Advice::CheckAccessKey,
            Advice::CheckSecretKey,
            Advice::CheckSessionToken,
            Advice::RefreshCredentials,
            Advice::FixClock { server_time: None },
            Advice::BucketMissing { bucket: None },
            Advice::KeyMissing {
                bucket: None,
                parent_prefix: String::new(),
                ambiguous: false,
            },
            Advice::CheckBucketAndKey,
            Advice::UploadGone,
            Advice::ReduceRequestRate,
            Advice::CheckNetworkOrReduceConcurrency,
            Advice::StoreNotAnswering,
            Advice::RetryWhenStoreHealthy {
                status: 500,
                attempts: 0,
            },
            Advice::DisableRequestChecksums,
            Advice::ChecksumMismatch,
            Advice::RerunSourceChanged,
            Advice::RerunTransfer,
            Advice::BucketNameRules,
            Advice::ChooseOtherBucketName,
            Advice::BucketAlreadyYours,
            Advice::ShortenKey,
            Advice::ObjectTooLargeForOneRequest,
            Advice::RaisePartSize,
            Advice::PartSizeOutOfRange,
            Advice::CheckArgument { name: "x".into() },
            Advice::CheckPathExists,
            Advice::CheckPathPermissions,
            Advice::FreeDiskSpace,
            Advice::ReviewEndpointSettings,
            Advice::ReviewCredentialSources,
            Advice::GiveCredentialsOrGoAnonymous,
            Advice::PickAnotherProfile,
            Advice::SessionDurationRange,
            Advice::MfaDeviceAndCode,
            Advice::RoleArnFormat,
            Advice::RoleSessionNameFormat,
            Advice::ReviewTemporaryCredentials,
        ];
        for advice in every {
            let hint = render(&advice).unwrap_or_default();
            assert!(!hint.trim().is_empty(), "{advice:?}");
        }
    }

    #[test]
    fn an_s3_answer_reaches_the_user_as_the_clis_words() {
        let body = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.\
                    </Message></Error>";
        let error = S3Error::from_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &HeaderMap::new(),
            body.as_bytes(),
        );
        let hint = s3(&ferry::s3::Error::Service(Box::new(error))).expect("a hint");
        assert!(hint.contains("--concurrency"), "{hint}");
    }

    #[test]
    fn a_missing_serve_root_says_how_to_create_it() {
        let error = ServeError::RootMissing {
            root: "/no/such/dir".into(),
        };
        assert!(serve(&error).unwrap().contains("mkdir -p /no/such/dir"));
    }
}
