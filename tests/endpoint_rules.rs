//! endpoint_rules
//!
//! The official S3 endpoint-resolution cases (the `smithy.rules#endpointTests` trait of the S3
//! model, see `fixtures/endpoint/SOURCES.md`) run against `ferry::endpoint`.
//!
//! Every case about something ferry implements is run: regional, dual-stack and FIPS
//! endpoints, the China and GovCloud partitions, the global endpoint (`aws-global` and the
//! legacy us-east-1 setting), Transfer Acceleration, virtual-hosted and path-style
//! addressing, custom endpoints (ports, base paths, IP addresses). A case expecting an
//! endpoint must give exactly its URL, signing name and signing region; a case expecting an
//! error must give an error (any message).
//!
//! The rest is skipped by one explicit rule, [`OutOfScope::of`], with the reason per category
//! in [`OutOfScope::reason`]. Skipped cases whose bucket names an unsupported feature on an
//! AWS endpoint must still be *refused* by ferry, so nothing out of scope is silently sent to
//! the wrong host. The counts are pinned, so that the test cannot pass by skipping more.
//!
//! Mapping of the rules' parameters: `ForcePathStyle` is [`AddressingStyle::Path`]; without
//! it the rules put DNS-safe buckets in the host on custom endpoints too, which for ferry
//! (path-style by default there) is the explicit [`AddressingStyle::Virtual`]. The URL
//! compared is [`Target::endpoint_url`] of a bucket-level request (no key), as the rules
//! state it.

use ferry::endpoint::{AddressingStyle, Endpoint, EndpointConfig, EndpointError, Target};
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::collections::BTreeMap;
use std::path::Path;

/// Total cases in the fixture.
const TOTAL_CASES: usize = 393;
/// Cases run; most of the rest are ARNs and S3 Express, which ferry does not implement.
const CASES_RUN: usize = 162;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Suite {
    version: String,
    #[serde(rename = "testCases")]
    test_cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    documentation: String,
    params: Params,
    expect: Expect,
    #[serde(rename = "operationInputs", default)]
    _operation_inputs: Option<IgnoredAny>,
}

/// The rules' parameters. Unknown ones fail the parse, so a new parameter gets a decision.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Params {
    region: Option<String>,
    bucket: Option<String>,
    endpoint: Option<String>,
    #[serde(rename = "UseFIPS")]
    use_fips: Option<bool>,
    use_dual_stack: Option<bool>,
    force_path_style: Option<bool>,
    accelerate: Option<bool>,
    use_global_endpoint: Option<bool>,
    use_object_lambda_endpoint: Option<bool>,
    #[serde(rename = "UseS3ExpressControlEndpoint")]
    use_s3_express_control_endpoint: Option<bool>,
    // Parameters that matter only to the out-of-scope features, or to nothing here.
    #[serde(rename = "DisableS3ExpressSessionAuth")]
    _disable_s3_express_session_auth: Option<bool>,
    #[serde(rename = "UseArnRegion")]
    _use_arn_region: Option<bool>,
    #[serde(rename = "DisableAccessPoints")]
    _disable_access_points: Option<bool>,
    #[serde(rename = "DisableMultiRegionAccessPoints")]
    _disable_multi_region_access_points: Option<bool>,
    #[serde(rename = "Key")]
    _key: Option<String>,
    #[serde(rename = "Prefix")]
    _prefix: Option<String>,
    #[serde(rename = "CopySource")]
    _copy_source: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    error: Option<String>,
    endpoint: Option<ExpectedEndpoint>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedEndpoint {
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    properties: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct AuthScheme {
    name: String,
    #[serde(rename = "signingName")]
    signing_name: String,
    #[serde(rename = "signingRegion")]
    signing_region: Option<String>,
    #[serde(rename = "disableDoubleEncoding")]
    disable_double_encoding: Option<bool>,
}

/// Why a case is not run: the features ferry does not implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum OutOfScope {
    Arn,
    S3Express,
    OutpostsAlias,
    ObjectLambdaEndpoint,
}

impl OutOfScope {
    /// The one skip rule: by bucket name shape first, then by the feature's own parameter.
    fn of(params: &Params) -> Option<Self> {
        let bucket = params.bucket.as_deref().unwrap_or("");
        if bucket.starts_with("arn:") {
            Some(Self::Arn)
        } else if bucket.ends_with("--op-s3") {
            Some(Self::OutpostsAlias)
        } else if is_s3_express_bucket(bucket)
            || params.use_s3_express_control_endpoint == Some(true)
        {
            Some(Self::S3Express)
        } else if params.use_object_lambda_endpoint == Some(true) {
            Some(Self::ObjectLambdaEndpoint)
        } else {
            None
        }
    }

    /// Why ferry leaves the category out.
    fn reason(self) -> &'static str {
        match self {
            Self::Arn => {
                "bucket given as an ARN (access point, Multi-Region Access Point, Outposts, \
                 Object Lambda): ferry addresses buckets by name; ARNs need ARN parsing, \
                 cross-region rules and SigV4a, which ferry does not implement (it refuses them)"
            }
            Self::S3Express => {
                "S3 Express One Zone (directory buckets `--x-s3`, their access points `--xa-s3`, \
                 the s3express control plane): needs CreateSession and the sigv4-s3express \
                 scheme, which ferry does not implement (it refuses such buckets on AWS)"
            }
            Self::OutpostsAlias => {
                "S3 on Outposts bucket aliases (`--op-s3`): Outposts hosts and SigV4a, not \
                 implemented (ferry refuses them on AWS)"
            }
            Self::ObjectLambdaEndpoint => {
                "the Object Lambda endpoint of WriteGetObjectResponse (UseObjectLambdaEndpoint), \
                 an operation ferry never calls"
            }
        }
    }

    /// Whether ferry must refuse the case's bucket (rather than address it as a plain name):
    /// ARNs everywhere; the reserved AWS suffixes on AWS's own endpoints.
    fn must_refuse(self, params: &Params) -> bool {
        match self {
            Self::Arn => true,
            Self::S3Express | Self::OutpostsAlias => {
                params.endpoint.is_none() && params.bucket.as_deref().is_some_and(|b| !b.is_empty())
            }
            Self::ObjectLambdaEndpoint => false,
        }
    }
}

fn is_s3_express_bucket(bucket: &str) -> bool {
    bucket.ends_with("--x-s3") || bucket.ends_with("--xa-s3")
}

fn suite() -> Suite {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("endpoint")
        .join("s3-endpoint-tests.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    let suite: Suite = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("cannot parse fixture {}: {e}", path.display()));
    assert_eq!(suite.version, "1.0", "fixture format version");
    suite
}

/// ferry's settings for the rules' parameters.
fn config_of(params: &Params) -> EndpointConfig {
    let addressing = match params.force_path_style {
        Some(true) => AddressingStyle::Path,
        _ => AddressingStyle::Virtual,
    };
    let mut config = EndpointConfig::default()
        .with_dualstack(params.use_dual_stack.unwrap_or(false))
        .with_fips(params.use_fips.unwrap_or(false))
        .with_accelerate(params.accelerate.unwrap_or(false))
        .with_global_endpoint(params.use_global_endpoint.unwrap_or(false))
        .with_addressing(addressing);
    if let Some(region) = &params.region {
        config = config.with_region(region);
    }
    if let Some(url) = &params.endpoint {
        config = config.with_endpoint_url(url);
    }
    config
}

/// Resolves the case's endpoint and the target of a bucket-level request.
fn resolve(params: &Params) -> Result<(Endpoint, Target), EndpointError> {
    let endpoint = config_of(params).resolve()?;
    let target = endpoint.target(params.bucket.as_deref(), None)?;
    Ok((endpoint, target))
}

/// What differs between ferry's answer and the expected endpoint, if anything.
fn endpoint_mismatch(
    expected: &ExpectedEndpoint,
    endpoint: &Endpoint,
    target: &Target,
) -> Option<String> {
    if target.endpoint_url() != expected.url {
        return Some(format!(
            "url {} != expected {}",
            target.endpoint_url(),
            expected.url
        ));
    }
    if !expected.headers.is_empty() {
        return Some(format!(
            "expected headers {:?} ferry does not send",
            expected.headers
        ));
    }
    auth_mismatch(expected, endpoint)
}

/// Checks the one auth scheme: SigV4, signed for `s3` in ferry's signing region, without
/// double-encoding the path (ferry encodes once).
fn auth_mismatch(expected: &ExpectedEndpoint, endpoint: &Endpoint) -> Option<String> {
    let extra: Vec<&String> = expected
        .properties
        .keys()
        .filter(|k| *k != "authSchemes")
        .collect();
    if !extra.is_empty() {
        return Some(format!("unexpected endpoint properties {extra:?}"));
    }
    let schemes: Vec<AuthScheme> = match expected.properties.get("authSchemes") {
        Some(value) => serde_json::from_value(value.clone()).expect("auth schemes parse"),
        None => return Some("no auth scheme in the expectation".into()),
    };
    let [scheme] = schemes.as_slice() else {
        return Some(format!("{} auth schemes, ferry has one", schemes.len()));
    };
    let actual = (
        scheme.name.as_str(),
        scheme.signing_name.as_str(),
        scheme.signing_region.as_deref(),
    );
    let ours = (
        "sigv4",
        endpoint.signing_name(),
        Some(endpoint.signing_region()),
    );
    if actual != ours || scheme.disable_double_encoding != Some(true) {
        return Some(format!(
            "auth {actual:?} (no double-encoding: {:?}) != ferry {ours:?}",
            scheme.disable_double_encoding
        ));
    }
    None
}

/// Runs one in-scope case; `Err` describes the failure.
fn run_case(case: &Case) -> Result<(), String> {
    let outcome = resolve(&case.params);
    match (&case.expect.endpoint, &case.expect.error, outcome) {
        (Some(expected), None, Ok((endpoint, target))) => {
            match endpoint_mismatch(expected, &endpoint, &target) {
                Some(why) => Err(why),
                None => Ok(()),
            }
        }
        (Some(expected), None, Err(e)) => {
            Err(format!("expected {}, ferry refused: {e}", expected.url))
        }
        (None, Some(_), Err(_)) => Ok(()),
        (None, Some(error), Ok((_, target))) => Err(format!(
            "expected the error {error:?}, ferry resolved {}",
            target.endpoint_url()
        )),
        _ => Err("the case expects neither exactly one endpoint nor one error".into()),
    }
}

#[test]
fn official_cases_in_scope_resolve_exactly_as_the_rules_say() {
    let suite = suite();
    let mut failures = Vec::new();
    let (mut endpoints, mut errors) = (0, 0);
    for (index, case) in suite.test_cases.iter().enumerate() {
        if OutOfScope::of(&case.params).is_some() {
            continue;
        }
        match case.expect.error {
            Some(_) => errors += 1,
            None => endpoints += 1,
        }
        if let Err(why) = run_case(case) {
            failures.push(format!(
                "#{index} {:?} {:?}: {why}",
                case.documentation, case.params
            ));
        }
    }
    println!(
        "official S3 endpoint cases run: {endpoints} expecting an endpoint, {errors} expecting an error"
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        endpoints + errors,
        failures.join("\n")
    );
    assert_eq!(endpoints + errors, CASES_RUN, "cases run");
    assert!(
        endpoints >= 100 && errors >= 30,
        "both kinds of case are exercised"
    );
}

#[test]
fn out_of_scope_cases_are_skipped_by_category_with_pinned_counts() {
    let suite = suite();
    assert_eq!(suite.test_cases.len(), TOTAL_CASES);
    let mut skipped: BTreeMap<OutOfScope, usize> = BTreeMap::new();
    for case in &suite.test_cases {
        if let Some(category) = OutOfScope::of(&case.params) {
            *skipped.entry(category).or_default() += 1;
        }
    }
    for (category, count) in &skipped {
        println!("skipped {count:3} {category:?}: {}", category.reason());
    }
    let expected = BTreeMap::from([
        (OutOfScope::Arn, 94),
        (OutOfScope::S3Express, 117),
        (OutOfScope::OutpostsAlias, 11),
        (OutOfScope::ObjectLambdaEndpoint, 9),
    ]);
    assert_eq!(skipped, expected);
    assert_eq!(TOTAL_CASES - skipped.values().sum::<usize>(), CASES_RUN);
}

#[test]
fn skipped_bucket_names_are_refused_not_misrouted() {
    let suite = suite();
    let mut refused = 0;
    for (index, case) in suite.test_cases.iter().enumerate() {
        let Some(category) = OutOfScope::of(&case.params) else {
            continue;
        };
        if !category.must_refuse(&case.params) {
            continue;
        }
        if let Ok((_, target)) = resolve(&case.params) {
            panic!(
                "#{index} {:?}: ferry sent an out-of-scope bucket to {}",
                case.documentation,
                target.url()
            );
        }
        refused += 1;
    }
    println!("out-of-scope cases refused by ferry: {refused}");
    assert!(
        refused >= 150,
        "only {refused} out-of-scope cases checked for refusal"
    );
}
