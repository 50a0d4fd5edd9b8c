//! Where STS requests go: the regional endpoint (`https://sts.REGION.amazonaws.com`), the
//! legacy global one (`https://sts.amazonaws.com`, signed for us-east-1), FIPS and dual-stack
//! variants, or a custom URL — the rules of the official STS endpoint ruleset.

use super::StsError;
use crate::env::Environment;

/// The global endpoint, used for `aws-global` and, when asked for, the legacy regions.
pub const GLOBAL_ENDPOINT: &str = "https://sts.amazonaws.com";

/// The regions that the legacy global endpoint (`AWS_STS_REGIONAL_ENDPOINTS=legacy`) served.
const LEGACY_GLOBAL_REGIONS: &[&str] = &[
    "ap-northeast-1",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "aws-global",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// What endpoint resolution starts from (the parameters of the official ruleset).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointParams {
    /// The region (`AWS_REGION`); required unless `endpoint` is given.
    pub region: Option<String>,
    /// Use the FIPS endpoint (`AWS_USE_FIPS_ENDPOINT`).
    pub use_fips: bool,
    /// Use the dual-stack (IPv6) endpoint (`AWS_USE_DUALSTACK_ENDPOINT`).
    pub use_dual_stack: bool,
    /// Send the legacy regions to the global endpoint (`AWS_STS_REGIONAL_ENDPOINTS=legacy`).
    pub use_global_endpoint: bool,
    /// A custom endpoint URL (`AWS_ENDPOINT_URL_STS`, then `AWS_ENDPOINT_URL`).
    pub endpoint: Option<String>,
}

impl EndpointParams {
    /// Parameters for `region`, with the variables above read from `env` (a `region` given
    /// here wins over `AWS_REGION`/`AWS_DEFAULT_REGION`).
    pub fn from_env(env: &Environment, region: Option<&str>) -> Self {
        let flag = |name: &str| {
            env.get(name)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        };
        Self {
            region: region
                .map(str::to_owned)
                .or_else(|| env.get("AWS_REGION"))
                .or_else(|| env.get("AWS_DEFAULT_REGION")),
            use_fips: flag("AWS_USE_FIPS_ENDPOINT"),
            use_dual_stack: flag("AWS_USE_DUALSTACK_ENDPOINT"),
            use_global_endpoint: env
                .get("AWS_STS_REGIONAL_ENDPOINTS")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("legacy")),
            endpoint: env
                .get("AWS_ENDPOINT_URL_STS")
                .or_else(|| env.get("AWS_ENDPOINT_URL")),
        }
    }

    /// Parameters for `region` with no variant.
    pub fn region(region: impl Into<String>) -> Self {
        Self {
            region: Some(region.into()),
            ..Self::default()
        }
    }
}

/// A resolved STS endpoint: the base URL and the region requests to it are signed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsEndpoint {
    url: String,
    host: String,
    signing_region: String,
}

impl StsEndpoint {
    /// An endpoint at `url` (scheme and authority, optionally a path), signed for
    /// `signing_region`.
    pub fn new(url: &str, signing_region: impl Into<String>) -> Result<Self, StsError> {
        let url = url.trim().trim_end_matches('/');
        let uri: http::Uri = url
            .parse()
            .map_err(|e| StsError::Endpoint(format!("`{url}` is not a URL: {e}")))?;
        let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
        let Some(authority) = uri.authority().filter(|_| scheme_ok) else {
            return Err(StsError::Endpoint(format!(
                "`{url}` is not an http:// or https:// URL with a host"
            )));
        };
        if uri.query().is_some() {
            return Err(StsError::Endpoint(format!(
                "`{url}` has a query string; give the endpoint's base URL"
            )));
        }
        Ok(Self {
            host: authority.as_str().to_owned(),
            url: url.to_owned(),
            signing_region: signing_region.into(),
        })
    }

    /// The base URL, without a trailing `/` (e.g. `https://sts.eu-west-1.amazonaws.com`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The `host` header value (with the port, if the URL has one).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The path requests are posted to (`/`, or the custom URL's path plus `/`).
    pub fn path(&self) -> String {
        let after_scheme = self.url.split_once("://").map_or("", |(_, rest)| rest);
        match after_scheme.find('/') {
            Some(i) => format!("{}/", &after_scheme[i..]),
            None => "/".into(),
        }
    }

    /// The region the SigV4 scope names.
    pub fn signing_region(&self) -> &str {
        &self.signing_region
    }
}

/// DNS suffixes of the partition a region belongs to: (plain, dual-stack).
fn partition(region: &str) -> (&'static str, &'static str) {
    if region.starts_with("cn-") {
        ("amazonaws.com.cn", "api.amazonwebservices.com.cn")
    } else if region.starts_with("us-isob-") {
        ("sc2s.sgov.gov", "sc2s.sgov.gov")
    } else if region.starts_with("us-iso-") {
        ("c2s.ic.gov", "c2s.ic.gov")
    } else {
        ("amazonaws.com", "api.aws")
    }
}

/// Resolves the STS endpoint as the official ruleset does.
pub fn resolve_endpoint(params: &EndpointParams) -> Result<StsEndpoint, StsError> {
    let region = params
        .region
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if let Some(url) = params.endpoint.as_deref() {
        if params.use_fips {
            return Err(StsError::Endpoint(
                "Invalid Configuration: FIPS and custom endpoint are not supported".into(),
            ));
        }
        if params.use_dual_stack {
            return Err(StsError::Endpoint(
                "Invalid Configuration: Dualstack and custom endpoint are not supported".into(),
            ));
        }
        return StsEndpoint::new(url, region.unwrap_or("us-east-1"));
    }
    let Some(region) = region else {
        return Err(StsError::Endpoint(
            "Invalid Configuration: Missing Region (set AWS_REGION or --region)".into(),
        ));
    };
    if !region
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(StsError::Endpoint(format!(
            "`{region}` is not a valid region name"
        )));
    }
    let (dns, dual_dns) = partition(region);
    let legacy_global = params.use_global_endpoint
        && !params.use_fips
        && !params.use_dual_stack
        && LEGACY_GLOBAL_REGIONS.contains(&region);
    if legacy_global || (region == "aws-global" && !params.use_fips && !params.use_dual_stack) {
        return StsEndpoint::new(GLOBAL_ENDPOINT, "us-east-1");
    }
    let url = match (params.use_fips, params.use_dual_stack) {
        (true, true) => format!("https://sts-fips.{region}.{dual_dns}"),
        // GovCloud's regular STS endpoints are FIPS endpoints already.
        (true, false) if region.starts_with("us-gov-") => format!("https://sts.{region}.{dns}"),
        (true, false) => format!("https://sts-fips.{region}.{dns}"),
        (false, true) => format!("https://sts.{region}.{dual_dns}"),
        (false, false) => format!("https://sts.{region}.{dns}"),
    };
    StsEndpoint::new(&url, region)
}
