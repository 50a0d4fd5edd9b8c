//! Where the endpoint settings come from, in the AWS CLI's order: command-line flags, then
//! environment variables, then the active profile, then defaults; and a record of which
//! source gave each value (for `-v` output and `ferry whoami`).

use super::{AddressingStyle, EndpointConfig, EndpointError};
use crate::env::Environment;
use std::fmt;

/// The region used when no source names one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// `AWS_ENDPOINT_URL_S3`: the endpoint URL for S3 only (wins over `AWS_ENDPOINT_URL`).
pub const ENV_ENDPOINT_URL_S3: &str = "AWS_ENDPOINT_URL_S3";
/// `AWS_ENDPOINT_URL`: the endpoint URL for every service.
pub const ENV_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`: `true` ignores endpoint URLs from the environment
/// and the profile (a flag still counts).
pub const ENV_IGNORE_ENDPOINT_URLS: &str = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS";
/// `AWS_REGION`: the region (wins over `AWS_DEFAULT_REGION`).
pub const ENV_REGION: &str = "AWS_REGION";
/// `AWS_DEFAULT_REGION`: the region, as the AWS CLI v1 named it.
pub const ENV_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
/// `AWS_USE_DUALSTACK_ENDPOINT`: `true` for dual-stack endpoints.
pub const ENV_USE_DUALSTACK: &str = "AWS_USE_DUALSTACK_ENDPOINT";
/// `AWS_USE_FIPS_ENDPOINT`: `true` for FIPS endpoints.
pub const ENV_USE_FIPS: &str = "AWS_USE_FIPS_ENDPOINT";
/// `AWS_S3_US_EAST_1_REGIONAL_ENDPOINT`: `legacy` for the global endpoint in us-east-1,
/// `regional` (the default) for `s3.us-east-1.amazonaws.com`.
pub const ENV_US_EAST_1_REGIONAL: &str = "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT";

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag, or a value set by the program embedding the engine.
    CommandLine,
    /// The named environment variable.
    Environment(&'static str),
    /// The named key of the active profile (keys under `s3 =` are written `s3.KEY`).
    Profile(&'static str),
    /// The EC2 instance metadata service (the region of the instance ferry runs on).
    InstanceMetadata,
    /// No source set it: ferry's default.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CommandLine => f.write_str("command line"),
            Self::Environment(name) => write!(f, "environment variable {name}"),
            Self::Profile(key) => write!(f, "profile key `{key}`"),
            Self::InstanceMetadata => f.write_str("EC2 instance metadata"),
            Self::Default => f.write_str("default"),
        }
    }
}

/// Values given on the command line; `None` where a flag was not given. Build it with a
/// struct literal and `..FlagValues::default()`, or with the `with_*` methods.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlagValues<'a> {
    /// `--region`.
    pub region: Option<&'a str>,
    /// `--endpoint-url`.
    pub endpoint_url: Option<&'a str>,
    /// Dual-stack endpoints on or off.
    pub use_dualstack: Option<bool>,
    /// FIPS endpoints on or off.
    pub use_fips: Option<bool>,
    /// The addressing style (`--force-path-style` is `Some(Path)`).
    pub addressing: Option<AddressingStyle>,
    /// S3 Transfer Acceleration on or off.
    pub use_accelerate: Option<bool>,
}

impl<'a> FlagValues<'a> {
    /// Sets `--region`.
    pub fn with_region(mut self, region: &'a str) -> Self {
        self.region = Some(region);
        self
    }

    /// Sets `--endpoint-url`.
    pub fn with_endpoint_url(mut self, endpoint_url: &'a str) -> Self {
        self.endpoint_url = Some(endpoint_url);
        self
    }

    /// Sets the dual-stack flag.
    pub fn with_dualstack(mut self, on: bool) -> Self {
        self.use_dualstack = Some(on);
        self
    }

    /// Sets the FIPS flag.
    pub fn with_fips(mut self, on: bool) -> Self {
        self.use_fips = Some(on);
        self
    }

    /// Sets the addressing style.
    pub fn with_addressing(mut self, addressing: AddressingStyle) -> Self {
        self.addressing = Some(addressing);
        self
    }

    /// Sets the Transfer Acceleration flag.
    pub fn with_accelerate(mut self, on: bool) -> Self {
        self.use_accelerate = Some(on);
        self
    }
}

/// The active profile's values, as written in the shared config file; `None` where a key is
/// absent. Filled by the caller from its profile parser, with a struct literal and
/// `..ProfileValues::default()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProfileValues<'a> {
    /// `region`.
    pub region: Option<&'a str>,
    /// `endpoint_url` (or the `s3` entry of the profile's `services` section, which the
    /// caller should prefer when both exist).
    pub endpoint_url: Option<&'a str>,
    /// `use_dualstack_endpoint` (`true`/`false`).
    pub use_dualstack_endpoint: Option<&'a str>,
    /// `use_fips_endpoint` (`true`/`false`).
    pub use_fips_endpoint: Option<&'a str>,
    /// `s3_us_east_1_regional_endpoint` (`legacy`/`regional`).
    pub s3_us_east_1_regional_endpoint: Option<&'a str>,
    /// `addressing_style` under `s3 =` (`auto`/`virtual`/`path`).
    pub addressing_style: Option<&'a str>,
    /// `use_accelerate_endpoint` under `s3 =` (`true`/`false`).
    pub use_accelerate_endpoint: Option<&'a str>,
    /// `ignore_configured_endpoint_urls` (`true`/`false`).
    pub ignore_configured_endpoint_urls: Option<&'a str>,
}

/// Where each setting of a [`LoadedConfig`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigSources {
    /// Of [`EndpointConfig::region`].
    pub region: Source,
    /// Of [`EndpointConfig::endpoint_url`] ([`Source::Default`]: AWS's endpoints).
    pub endpoint_url: Source,
    /// Of [`EndpointConfig::use_dualstack`].
    pub use_dualstack: Source,
    /// Of [`EndpointConfig::use_fips`].
    pub use_fips: Source,
    /// Of [`EndpointConfig::addressing`].
    pub addressing: Source,
    /// Of [`EndpointConfig::use_accelerate`].
    pub use_accelerate: Source,
    /// Of [`EndpointConfig::use_global_endpoint`].
    pub use_global_endpoint: Source,
}

/// An [`EndpointConfig`] filled from the sources, and where each value came from.
/// `Display` renders one line per setting, for `-v` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedConfig {
    /// The settings.
    pub config: EndpointConfig,
    /// Their sources.
    pub sources: ConfigSources,
}

impl EndpointConfig {
    /// Fills a config from `flags`, then `env`, then `profile`, then the defaults (region
    /// `us-east-1`, AWS endpoints, every option off). A value that is present but cannot be
    /// understood (`AWS_USE_FIPS_ENDPOINT=yes`) is an error naming its source, never
    /// skipped. Combinations are checked later, by [`EndpointConfig::resolve`].
    pub fn from_sources(
        flags: &FlagValues<'_>,
        env: &Environment,
        profile: &ProfileValues<'_>,
    ) -> Result<LoadedConfig, EndpointError> {
        let (region, region_source) = region_setting(flags, env, profile);
        let (endpoint_url, endpoint_url_source) = endpoint_url_setting(flags, env, profile)?;
        let dualstack = dualstack_setting(flags, env, profile)?;
        let fips = fips_setting(flags, env, profile)?;
        let addressing = addressing_setting(flags, profile)?;
        let accelerate = accelerate_setting(flags, profile)?;
        let global = global_endpoint_setting(env, profile)?;
        let config = EndpointConfig {
            region: Some(region),
            endpoint_url,
            use_dualstack: dualstack.0,
            use_fips: fips.0,
            addressing: addressing.0,
            use_accelerate: accelerate.0,
            use_global_endpoint: global.0,
        };
        let sources = ConfigSources {
            region: region_source,
            endpoint_url: endpoint_url_source,
            use_dualstack: dualstack.1,
            use_fips: fips.1,
            addressing: addressing.1,
            use_accelerate: accelerate.1,
            use_global_endpoint: global.1,
        };
        Ok(LoadedConfig { config, sources })
    }
}

/// A value found as text, and where.
type Found = Option<(String, Source)>;

/// The first non-empty value: the flag, then each variable in order, then the profile key.
fn lookup(
    flag: Option<&str>,
    env: &Environment,
    vars: &[&'static str],
    profile: Option<(&str, &'static str)>,
) -> Found {
    if let Some(value) = flag.filter(|v| !v.is_empty()) {
        return Some((value.to_owned(), Source::CommandLine));
    }
    if let Some(found) = vars
        .iter()
        .find_map(|var| Some((env.get(var)?, Source::Environment(var))))
    {
        return Some(found);
    }
    let (value, key) = profile?;
    from_profile(Some(value), key)
}

/// A profile value (trimmed), unless absent or blank.
fn from_profile(value: Option<&str>, key: &'static str) -> Found {
    let value = value?.trim();
    (!value.is_empty()).then(|| (value.to_owned(), Source::Profile(key)))
}

/// The region: `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, `region`, else us-east-1.
fn region_setting(
    flags: &FlagValues<'_>,
    env: &Environment,
    profile: &ProfileValues<'_>,
) -> (String, Source) {
    let profile_value = profile.region.map(|v| (v, "region"));
    lookup(
        flags.region,
        env,
        &[ENV_REGION, ENV_DEFAULT_REGION],
        profile_value,
    )
    .map(|(region, source)| (region.trim().to_owned(), source))
    .unwrap_or_else(|| (DEFAULT_REGION.to_owned(), Source::Default))
}

/// The endpoint URL: `--endpoint-url`, then (unless configured URLs are ignored)
/// `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, `endpoint_url`.
fn endpoint_url_setting(
    flags: &FlagValues<'_>,
    env: &Environment,
    profile: &ProfileValues<'_>,
) -> Result<(Option<String>, Source), EndpointError> {
    if let Some((url, source)) = lookup(flags.endpoint_url, env, &[], None) {
        return Ok((Some(url), source));
    }
    if ignore_configured_urls(env, profile)? {
        return Ok((None, Source::Default));
    }
    let profile_value = profile.endpoint_url.map(|v| (v, "endpoint_url"));
    Ok(lookup(
        None,
        env,
        &[ENV_ENDPOINT_URL_S3, ENV_ENDPOINT_URL],
        profile_value,
    )
    .map_or((None, Source::Default), |(url, source)| (Some(url), source)))
}

/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`, then `ignore_configured_endpoint_urls`.
fn ignore_configured_urls(
    env: &Environment,
    profile: &ProfileValues<'_>,
) -> Result<bool, EndpointError> {
    let profile_value = profile
        .ignore_configured_endpoint_urls
        .map(|v| (v, "ignore_configured_endpoint_urls"));
    let found = lookup(None, env, &[ENV_IGNORE_ENDPOINT_URLS], profile_value);
    Ok(parse_found_bool(found)?.0)
}

/// Dual-stack: the flag, `AWS_USE_DUALSTACK_ENDPOINT`, `use_dualstack_endpoint`.
fn dualstack_setting(
    flags: &FlagValues<'_>,
    env: &Environment,
    profile: &ProfileValues<'_>,
) -> Result<(bool, Source), EndpointError> {
    if let Some(on) = flags.use_dualstack {
        return Ok((on, Source::CommandLine));
    }
    let profile_value = profile
        .use_dualstack_endpoint
        .map(|v| (v, "use_dualstack_endpoint"));
    parse_found_bool(lookup(None, env, &[ENV_USE_DUALSTACK], profile_value))
}

/// FIPS: the flag, `AWS_USE_FIPS_ENDPOINT`, `use_fips_endpoint`.
fn fips_setting(
    flags: &FlagValues<'_>,
    env: &Environment,
    profile: &ProfileValues<'_>,
) -> Result<(bool, Source), EndpointError> {
    if let Some(on) = flags.use_fips {
        return Ok((on, Source::CommandLine));
    }
    let profile_value = profile.use_fips_endpoint.map(|v| (v, "use_fips_endpoint"));
    parse_found_bool(lookup(None, env, &[ENV_USE_FIPS], profile_value))
}

/// Addressing: the flag, then `s3.addressing_style` (there is no environment variable).
fn addressing_setting(
    flags: &FlagValues<'_>,
    profile: &ProfileValues<'_>,
) -> Result<(AddressingStyle, Source), EndpointError> {
    if let Some(style) = flags.addressing {
        return Ok((style, Source::CommandLine));
    }
    let Some((text, source)) = from_profile(profile.addressing_style, "s3.addressing_style") else {
        return Ok((AddressingStyle::Auto, Source::Default));
    };
    AddressingStyle::parse(&text)
        .map(|style| (style, source))
        .ok_or_else(|| invalid(&text, source, "auto, virtual or path"))
}

/// Transfer Acceleration: the flag, then `s3.use_accelerate_endpoint`.
fn accelerate_setting(
    flags: &FlagValues<'_>,
    profile: &ProfileValues<'_>,
) -> Result<(bool, Source), EndpointError> {
    if let Some(on) = flags.use_accelerate {
        return Ok((on, Source::CommandLine));
    }
    parse_found_bool(from_profile(
        profile.use_accelerate_endpoint,
        "s3.use_accelerate_endpoint",
    ))
}

/// The legacy global endpoint: `AWS_S3_US_EAST_1_REGIONAL_ENDPOINT`, then
/// `s3_us_east_1_regional_endpoint`; `legacy` turns it on, `regional` off.
fn global_endpoint_setting(
    env: &Environment,
    profile: &ProfileValues<'_>,
) -> Result<(bool, Source), EndpointError> {
    let profile_value = profile
        .s3_us_east_1_regional_endpoint
        .map(|v| (v, "s3_us_east_1_regional_endpoint"));
    match lookup(None, env, &[ENV_US_EAST_1_REGIONAL], profile_value) {
        None => Ok((false, Source::Default)),
        Some((text, source)) => match text.trim().to_ascii_lowercase().as_str() {
            "legacy" => Ok((true, source)),
            "regional" => Ok((false, source)),
            _ => Err(invalid(&text, source, "legacy or regional")),
        },
    }
}

/// Parses a found `true`/`false` (any case); absent is `false`, from the default.
fn parse_found_bool(found: Found) -> Result<(bool, Source), EndpointError> {
    let Some((text, source)) = found else {
        return Ok((false, Source::Default));
    };
    match text.trim() {
        t if t.eq_ignore_ascii_case("true") => Ok((true, source)),
        t if t.eq_ignore_ascii_case("false") => Ok((false, source)),
        _ => Err(invalid(&text, source, "true or false")),
    }
}

/// The error for a value that cannot be understood.
fn invalid(value: &str, origin: Source, expected: &'static str) -> EndpointError {
    EndpointError::InvalidSetting {
        value: value.to_owned(),
        origin,
        expected,
    }
}

impl fmt::Display for LoadedConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (config, sources) = (&self.config, &self.sources);
        let region = config.region.as_deref().unwrap_or("(none)");
        let url = config.endpoint_url.as_deref().unwrap_or("(AWS)");
        writeln!(f, "region: {region} ({})", sources.region)?;
        writeln!(f, "endpoint URL: {url} ({})", sources.endpoint_url)?;
        writeln!(
            f,
            "dual-stack: {} ({})",
            config.use_dualstack, sources.use_dualstack
        )?;
        writeln!(f, "FIPS: {} ({})", config.use_fips, sources.use_fips)?;
        writeln!(
            f,
            "addressing: {} ({})",
            config.addressing, sources.addressing
        )?;
        writeln!(
            f,
            "transfer acceleration: {} ({})",
            config.use_accelerate, sources.use_accelerate
        )?;
        write!(
            f,
            "us-east-1 global endpoint: {} ({})",
            config.use_global_endpoint, sources.use_global_endpoint
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::from_pairs(pairs.iter().copied())
    }

    fn load(
        flags: FlagValues<'_>,
        pairs: &[(&str, &str)],
        profile: ProfileValues<'_>,
    ) -> LoadedConfig {
        EndpointConfig::from_sources(&flags, &env(pairs), &profile).expect("loads")
    }

    fn profile_region(region: &str) -> ProfileValues<'_> {
        ProfileValues {
            region: Some(region),
            ..ProfileValues::default()
        }
    }

    /// One row of the region table: flag, environment, profile, expected region and source.
    struct RegionRow<'a> {
        flag: Option<&'a str>,
        env: &'a [(&'a str, &'a str)],
        profile: Option<&'a str>,
        region: &'a str,
        source: Source,
    }

    #[test]
    fn region_comes_from_flag_then_env_then_profile_then_default() {
        let both_env = [(ENV_REGION, "eu-west-1"), (ENV_DEFAULT_REGION, "eu-west-2")];
        let row = |flag, env, profile, region, source| RegionRow {
            flag,
            env,
            profile,
            region,
            source,
        };
        let table = [
            row(
                Some("ap-south-1"),
                &both_env,
                Some("sa-east-1"),
                "ap-south-1",
                Source::CommandLine,
            ),
            row(
                None,
                &both_env,
                Some("sa-east-1"),
                "eu-west-1",
                Source::Environment(ENV_REGION),
            ),
            row(
                None,
                &both_env[1..],
                Some("sa-east-1"),
                "eu-west-2",
                Source::Environment(ENV_DEFAULT_REGION),
            ),
            row(
                None,
                &[(ENV_REGION, "")],
                Some("sa-east-1"),
                "sa-east-1",
                Source::Profile("region"),
            ),
            row(None, &[], Some("  "), DEFAULT_REGION, Source::Default),
            row(None, &[], None, DEFAULT_REGION, Source::Default),
        ];
        for RegionRow {
            flag,
            env,
            profile,
            region,
            source,
        } in table
        {
            let flags = FlagValues {
                region: flag,
                ..FlagValues::default()
            };
            let profile = ProfileValues {
                region: profile,
                ..ProfileValues::default()
            };
            let loaded = load(flags, env, profile);
            assert_eq!(
                loaded.config.region.as_deref(),
                Some(region),
                "{flag:?} {env:?}"
            );
            assert_eq!(loaded.sources.region, source, "{flag:?} {env:?}");
        }
    }

    #[test]
    fn endpoint_url_prefers_the_s3_specific_variable() {
        let pairs = [
            (ENV_ENDPOINT_URL, "http://all:1"),
            (ENV_ENDPOINT_URL_S3, "http://s3:2"),
        ];
        let loaded = load(FlagValues::default(), &pairs, ProfileValues::default());
        assert_eq!(loaded.config.endpoint_url.as_deref(), Some("http://s3:2"));
        assert_eq!(
            loaded.sources.endpoint_url,
            Source::Environment(ENV_ENDPOINT_URL_S3)
        );
        let loaded = load(FlagValues::default(), &pairs[..1], ProfileValues::default());
        assert_eq!(loaded.config.endpoint_url.as_deref(), Some("http://all:1"));
    }

    #[test]
    fn endpoint_url_comes_from_flag_then_env_then_profile() {
        let profile = ProfileValues {
            endpoint_url: Some("http://profile:3"),
            ..ProfileValues::default()
        };
        let flags = FlagValues::default().with_endpoint_url("http://flag:1");
        let pairs = [(ENV_ENDPOINT_URL, "http://env:2")];
        let loaded = load(flags, &pairs, profile);
        assert_eq!(loaded.config.endpoint_url.as_deref(), Some("http://flag:1"));
        assert_eq!(loaded.sources.endpoint_url, Source::CommandLine);
        let loaded = load(FlagValues::default(), &[], profile);
        assert_eq!(
            loaded.config.endpoint_url.as_deref(),
            Some("http://profile:3")
        );
        assert_eq!(loaded.sources.endpoint_url, Source::Profile("endpoint_url"));
        let loaded = load(FlagValues::default(), &[], ProfileValues::default());
        assert_eq!(
            (loaded.config.endpoint_url, loaded.sources.endpoint_url),
            (None, Source::Default)
        );
    }

    #[test]
    fn ignoring_configured_urls_keeps_only_the_flag() {
        let pairs = [
            (ENV_ENDPOINT_URL, "http://env:2"),
            (ENV_IGNORE_ENDPOINT_URLS, "true"),
        ];
        let loaded = load(FlagValues::default(), &pairs, ProfileValues::default());
        assert_eq!(loaded.config.endpoint_url, None);
        let flags = FlagValues::default().with_endpoint_url("http://flag:1");
        assert_eq!(
            load(flags, &pairs, ProfileValues::default())
                .config
                .endpoint_url
                .as_deref(),
            Some("http://flag:1")
        );
        let profile = ProfileValues {
            endpoint_url: Some("http://profile:3"),
            ignore_configured_endpoint_urls: Some("TRUE"),
            ..ProfileValues::default()
        };
        assert_eq!(
            load(FlagValues::default(), &[], profile)
                .config
                .endpoint_url,
            None
        );
    }

    #[test]
    fn boolean_options_come_from_flag_then_env_then_profile() {
        let profile = ProfileValues {
            use_dualstack_endpoint: Some("true"),
            use_fips_endpoint: Some("true"),
            ..ProfileValues::default()
        };
        let loaded = load(FlagValues::default(), &[], profile);
        assert!(loaded.config.use_dualstack && loaded.config.use_fips);
        assert_eq!(
            loaded.sources.use_fips,
            Source::Profile("use_fips_endpoint")
        );
        let pairs = [(ENV_USE_DUALSTACK, "False"), (ENV_USE_FIPS, "false")];
        let loaded = load(FlagValues::default(), &pairs, profile);
        assert!(!loaded.config.use_dualstack && !loaded.config.use_fips);
        assert_eq!(
            loaded.sources.use_dualstack,
            Source::Environment(ENV_USE_DUALSTACK)
        );
        let flags = FlagValues::default().with_dualstack(true).with_fips(true);
        let loaded = load(flags, &pairs, profile);
        assert!(loaded.config.use_dualstack && loaded.config.use_fips);
        assert_eq!(loaded.sources.use_dualstack, Source::CommandLine);
    }

    #[test]
    fn s3_profile_settings_set_addressing_and_acceleration() {
        let profile = ProfileValues {
            addressing_style: Some("path"),
            use_accelerate_endpoint: Some("true"),
            ..ProfileValues::default()
        };
        let loaded = load(FlagValues::default(), &[], profile);
        assert_eq!(loaded.config.addressing, AddressingStyle::Path);
        assert_eq!(
            loaded.sources.addressing,
            Source::Profile("s3.addressing_style")
        );
        assert!(loaded.config.use_accelerate);
        let flags = FlagValues::default()
            .with_addressing(AddressingStyle::Virtual)
            .with_accelerate(false);
        let loaded = load(flags, &[], profile);
        assert_eq!(loaded.config.addressing, AddressingStyle::Virtual);
        assert!(!loaded.config.use_accelerate);
    }

    #[test]
    fn the_legacy_us_east_1_setting_turns_the_global_endpoint_on() {
        let legacy = [(ENV_US_EAST_1_REGIONAL, "legacy")];
        assert!(
            load(FlagValues::default(), &legacy, ProfileValues::default())
                .config
                .use_global_endpoint
        );
        let profile = ProfileValues {
            s3_us_east_1_regional_endpoint: Some("legacy"),
            ..ProfileValues::default()
        };
        let regional = [(ENV_US_EAST_1_REGIONAL, "regional")];
        assert!(
            !load(FlagValues::default(), &regional, profile)
                .config
                .use_global_endpoint
        );
        assert!(
            load(FlagValues::default(), &[], profile)
                .config
                .use_global_endpoint
        );
    }

    #[test]
    fn unreadable_values_are_errors_naming_their_source() {
        let bad_env = [(ENV_USE_FIPS, "yes")];
        let error = EndpointConfig::from_sources(
            &FlagValues::default(),
            &env(&bad_env),
            &ProfileValues::default(),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid value `yes` in environment variable AWS_USE_FIPS_ENDPOINT: expected true or false"
        );
        let profiles = [
            ProfileValues {
                addressing_style: Some("dns"),
                ..ProfileValues::default()
            },
            ProfileValues {
                s3_us_east_1_regional_endpoint: Some("global"),
                ..ProfileValues::default()
            },
            ProfileValues {
                use_dualstack_endpoint: Some("1"),
                ..ProfileValues::default()
            },
            ProfileValues {
                ignore_configured_endpoint_urls: Some("on"),
                ..ProfileValues::default()
            },
        ];
        for profile in profiles {
            let result = EndpointConfig::from_sources(&FlagValues::default(), &env(&[]), &profile);
            assert!(
                matches!(
                    result,
                    Err(EndpointError::InvalidSetting {
                        origin: Source::Profile(_),
                        ..
                    })
                ),
                "{profile:?}"
            );
        }
    }

    #[test]
    fn a_loaded_config_lists_each_setting_with_its_source() {
        let pairs = [(ENV_REGION, "eu-west-1")];
        let loaded = load(
            FlagValues::default().with_endpoint_url("http://[::1]:9000"),
            &pairs,
            profile_region("x"),
        );
        let text = loaded.to_string();
        assert!(
            text.contains("region: eu-west-1 (environment variable AWS_REGION)"),
            "{text}"
        );
        assert!(
            text.contains("endpoint URL: http://[::1]:9000 (command line)"),
            "{text}"
        );
        assert!(text.contains("dual-stack: false (default)"), "{text}");
        assert!(loaded.config.resolve().is_ok());
    }
}
