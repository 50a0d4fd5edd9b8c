//! What the user asked for: region, endpoint variants, custom URL, addressing style.

use super::{Endpoint, EndpointError};
use std::fmt;

/// Where the bucket name goes in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddressingStyle {
    /// Virtual-hosted on AWS endpoints whenever the bucket name allows it; path-style on
    /// custom endpoints, since most S3-compatible stores have no wildcard DNS for buckets.
    #[default]
    Auto,
    /// The bucket in the host name (`bucket.s3.us-west-2.amazonaws.com`) whenever the name
    /// and the endpoint allow it, on custom endpoints too (as the AWS SDKs do); path-style
    /// otherwise (names that are not DNS-safe, IP address hosts).
    Virtual,
    /// The bucket as the first path segment (`s3.us-west-2.amazonaws.com/bucket`), always.
    Path,
}

impl AddressingStyle {
    /// `auto`, `virtual` or `path`, as the AWS CLI's `s3.addressing_style` spells them.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Virtual => "virtual",
            Self::Path => "path",
        }
    }

    /// Parses the AWS CLI's spelling (any case).
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Auto, Self::Virtual, Self::Path]
            .into_iter()
            .find(|style| style.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

impl fmt::Display for AddressingStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The endpoint settings, before they are checked and turned into an [`Endpoint`] by
/// [`EndpointConfig::resolve`].
///
/// Build it with [`EndpointConfig::new`] (an AWS region) or [`EndpointConfig::custom`] (an
/// S3-compatible store) and the `with_*` methods, or from flags, environment and profile
/// with [`EndpointConfig::from_sources`](crate::endpoint::EndpointConfig::from_sources).
/// The fields are public to read (for `-v` output); combinations are checked only by
/// `resolve`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointConfig {
    /// The region requests are signed for and, on AWS, sent to. `aws-global` means the
    /// global endpoint `s3.amazonaws.com`, signed for us-east-1.
    pub region: Option<String>,
    /// A custom endpoint URL (`http://127.0.0.1:9000`, `https://minio.example:9000/s3`);
    /// `None` for AWS's own endpoints.
    pub endpoint_url: Option<String>,
    /// Dual-stack (IPv4 and IPv6) AWS endpoints: `s3.dualstack.REGION.amazonaws.com`.
    pub use_dualstack: bool,
    /// FIPS 140 validated AWS endpoints: `s3-fips.REGION.amazonaws.com`.
    pub use_fips: bool,
    /// Where bucket names go.
    pub addressing: AddressingStyle,
    /// S3 Transfer Acceleration (`bucket.s3-accelerate.amazonaws.com`) for requests on a
    /// bucket.
    pub use_accelerate: bool,
    /// The legacy global endpoint `s3.amazonaws.com` for us-east-1 (the AWS setting
    /// `s3_us_east_1_regional_endpoint = legacy`); other regions are not affected.
    pub use_global_endpoint: bool,
}

impl EndpointConfig {
    /// AWS's own endpoints in `region`, every option off.
    pub fn new(region: impl Into<String>) -> Self {
        Self::default().with_region(region)
    }

    /// A custom endpoint (an S3-compatible store), signed for `region`; path-style unless
    /// asked otherwise.
    pub fn custom(endpoint_url: impl Into<String>, region: impl Into<String>) -> Self {
        Self::new(region).with_endpoint_url(endpoint_url)
    }

    /// Sets the region.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Sets a custom endpoint URL.
    pub fn with_endpoint_url(mut self, endpoint_url: impl Into<String>) -> Self {
        self.endpoint_url = Some(endpoint_url.into());
        self
    }

    /// Turns dual-stack endpoints on or off.
    pub fn with_dualstack(mut self, on: bool) -> Self {
        self.use_dualstack = on;
        self
    }

    /// Turns FIPS endpoints on or off.
    pub fn with_fips(mut self, on: bool) -> Self {
        self.use_fips = on;
        self
    }

    /// Forces path-style addressing (`true`), or goes back to [`AddressingStyle::Auto`].
    pub fn with_force_path_style(self, on: bool) -> Self {
        self.with_addressing(if on {
            AddressingStyle::Path
        } else {
            AddressingStyle::Auto
        })
    }

    /// Sets the addressing style.
    pub fn with_addressing(mut self, addressing: AddressingStyle) -> Self {
        self.addressing = addressing;
        self
    }

    /// Turns S3 Transfer Acceleration on or off.
    pub fn with_accelerate(mut self, on: bool) -> Self {
        self.use_accelerate = on;
        self
    }

    /// Turns the legacy global endpoint for us-east-1 on or off.
    pub fn with_global_endpoint(mut self, on: bool) -> Self {
        self.use_global_endpoint = on;
        self
    }

    /// Checks the settings together and works out the hosts, once; see [`Endpoint`].
    pub fn resolve(&self) -> Result<Endpoint, EndpointError> {
        Endpoint::resolve(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addressing_styles_parse_the_aws_cli_spelling() {
        assert_eq!(AddressingStyle::parse("path"), Some(AddressingStyle::Path));
        assert_eq!(
            AddressingStyle::parse(" Virtual "),
            Some(AddressingStyle::Virtual)
        );
        assert_eq!(AddressingStyle::parse("auto"), Some(AddressingStyle::Auto));
        assert_eq!(AddressingStyle::parse("dns"), None);
    }

    #[test]
    fn builder_methods_set_their_field_only() {
        let config = EndpointConfig::custom("http://[::1]:9000", "eu-west-1")
            .with_dualstack(true)
            .with_fips(true)
            .with_force_path_style(true)
            .with_accelerate(true)
            .with_global_endpoint(true);
        assert_eq!(config.region.as_deref(), Some("eu-west-1"));
        assert_eq!(config.endpoint_url.as_deref(), Some("http://[::1]:9000"));
        assert!(config.use_dualstack && config.use_fips && config.use_accelerate);
        assert!(config.use_global_endpoint);
        assert_eq!(config.addressing, AddressingStyle::Path);
        assert_eq!(
            config.with_force_path_style(false).addressing,
            AddressingStyle::Auto
        );
    }

    #[test]
    fn a_default_config_has_no_region() {
        assert_eq!(EndpointConfig::default().region, None);
        assert_eq!(
            EndpointConfig::default().resolve().unwrap_err(),
            EndpointError::MissingRegion
        );
    }
}
