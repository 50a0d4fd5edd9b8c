//! Custom endpoint URLs (`--endpoint-url`): S3-compatible stores, VPC endpoints, proxies.

use super::EndpointError;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// How requests travel: plain HTTP or TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `http://`, port 80 unless given.
    Http,
    /// `https://`, port 443 unless given. AWS endpoints always use it.
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }

    /// The port a URL of this scheme means when it names none.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A checked custom endpoint URL, split into what addressing needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CustomUrl {
    pub scheme: Scheme,
    /// Host (lower case; IPv6 in brackets) and `:port` unless it is the scheme's default:
    /// the `Host` header value.
    pub authority: String,
    /// The path before any bucket or key, without a trailing `/` (empty for none); kept as
    /// written, since a URL's path is already percent-encoded.
    pub base_path: String,
    /// Whether the host is an IP address literal (buckets can never go in the host then).
    pub host_is_ip: bool,
}

/// Parses and checks a custom endpoint URL.
pub(crate) fn parse_custom_url(url: &str) -> Result<CustomUrl, EndpointError> {
    let invalid = |reason| EndpointError::InvalidEndpointUrl {
        url: url.to_owned(),
        reason,
    };
    let text = url.trim();
    if text.contains('#') {
        return Err(invalid("a fragment (`#…`) has no meaning here; remove it"));
    }
    let uri: http::Uri = text
        .parse()
        .map_err(|_| invalid("it is not a URL; write it like https://host:port"))?;
    let scheme = scheme_of(&uri).map_err(invalid)?;
    if uri.query().is_some() {
        return Err(invalid("a query string (`?…`) is not allowed; remove it"));
    }
    let authority = uri
        .authority()
        .ok_or_else(|| invalid("it names no host; write it like https://host:port"))?;
    if authority.as_str().contains('@') {
        return Err(invalid(
            "user names and passwords do not belong in the URL; use credentials instead",
        ));
    }
    let host = checked_host(authority.host()).map_err(invalid)?;
    let port = checked_port(authority).map_err(invalid)?;
    Ok(CustomUrl {
        scheme,
        authority: authority_string(&host, port, scheme),
        base_path: uri.path().trim_end_matches('/').to_owned(),
        host_is_ip: is_ip_literal(&host),
    })
}

/// `http` or `https` (any case); anything else is refused.
fn scheme_of(uri: &http::Uri) -> Result<Scheme, &'static str> {
    match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("https") => Ok(Scheme::Https),
        Some(s) if s.eq_ignore_ascii_case("http") => Ok(Scheme::Http),
        Some(_) => Err("the scheme must be http or https"),
        None => Err("it has no scheme; write http:// or https:// before the host"),
    }
}

/// The host in lower case, after checking it is a name, an IPv4 address or a bracketed
/// IPv6 address.
fn checked_host(host: &str) -> Result<String, &'static str> {
    if host.is_empty() {
        return Err("it names no host; write it like https://host:port");
    }
    if let Some(inner) = host.strip_prefix('[') {
        let literal = inner.strip_suffix(']').unwrap_or(inner);
        if literal.parse::<Ipv6Addr>().is_err() {
            return Err("the part in brackets is not an IPv6 address (zone ids are not supported)");
        }
    }
    Ok(host.to_ascii_lowercase())
}

/// The port, if the URL names one; an out-of-range port is refused.
fn checked_port(authority: &http::uri::Authority) -> Result<Option<u16>, &'static str> {
    let Some(after_host) = authority.as_str().strip_prefix(authority.host()) else {
        return Err("the host and port cannot be told apart");
    };
    match (after_host.strip_prefix(':'), authority.port_u16()) {
        (None, _) => Ok(None),
        (Some(""), _) => Ok(None),
        (Some(_), Some(port)) => Ok(Some(port)),
        (Some(_), None) => Err("the port must be a number from 0 to 65535"),
    }
}

/// `host` or `host:port`, leaving out the scheme's default port.
fn authority_string(host: &str, port: Option<u16>, scheme: Scheme) -> String {
    match port {
        Some(port) if port != scheme.default_port() => format!("{host}:{port}"),
        _ => host.to_owned(),
    }
}

/// Whether the host is an IP address literal (IPv6 ones are bracketed).
fn is_ip_literal(host: &str) -> bool {
    host.starts_with('[') || host.parse::<Ipv4Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> CustomUrl {
        parse_custom_url(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn custom_urls_split_into_scheme_authority_and_base_path() {
        // (url, scheme, authority, base path, is ip)
        let table = [
            (
                "http://127.0.0.1:9000",
                Scheme::Http,
                "127.0.0.1:9000",
                "",
                true,
            ),
            ("http://[::1]:9000", Scheme::Http, "[::1]:9000", "", true),
            (
                "https://[2001:db8::5]",
                Scheme::Https,
                "[2001:db8::5]",
                "",
                true,
            ),
            (
                "https://minio.local:9000/",
                Scheme::Https,
                "minio.local:9000",
                "",
                false,
            ),
            (
                "http://beta.example.com:1234/path",
                Scheme::Http,
                "beta.example.com:1234",
                "/path",
                false,
            ),
            (
                "https://Example.COM/s3/v1/",
                Scheme::Https,
                "example.com",
                "/s3/v1",
                false,
            ),
            (
                "HTTPS://example.com",
                Scheme::Https,
                "example.com",
                "",
                false,
            ),
            (
                "  http://localhost:8333\n",
                Scheme::Http,
                "localhost:8333",
                "",
                false,
            ),
        ];
        for (url, scheme, authority, base_path, host_is_ip) in table {
            let custom = parsed(url);
            assert_eq!(custom.scheme, scheme, "{url}");
            assert_eq!(custom.authority, authority, "{url}");
            assert_eq!(custom.base_path, base_path, "{url}");
            assert_eq!(custom.host_is_ip, host_is_ip, "{url}");
        }
    }

    #[test]
    fn default_ports_are_left_out_of_the_authority() {
        assert_eq!(parsed("https://example.com:443").authority, "example.com");
        assert_eq!(parsed("http://example.com:80").authority, "example.com");
        assert_eq!(parsed("http://[::1]:80").authority, "[::1]");
        assert_eq!(
            parsed("http://example.com:443").authority,
            "example.com:443"
        );
    }

    #[test]
    fn unusable_urls_are_refused_with_a_reason() {
        let table = [
            "abcde://nota#url",
            "ftp://example.com",
            "localhost:9000",
            "example.com",
            "http://:9000",
            "http://host:99999",
            "http://user:secret@host",
            "http://host/?versionId=1",
            "http://host/#top",
            "http://[::g]:9000",
            "http://[fe80::1%25eth0]:9000",
            "not a url",
            "",
        ];
        for url in table {
            assert!(
                matches!(
                    parse_custom_url(url),
                    Err(EndpointError::InvalidEndpointUrl { .. })
                ),
                "{url:?} should be refused"
            );
        }
    }
}
