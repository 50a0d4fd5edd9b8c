//! Refreshing an IAM Identity Center access token as the AWS SDKs (botocore's
//! `SSOTokenProvider`) do, for profiles with an `[sso-session]`: when the cached token has less
//! than 15 minutes left and the cache holds a `refreshToken` with its client registration
//! (`clientId`, `clientSecret`, `registrationExpiresAt` still ahead), the OIDC service's
//! `CreateToken` (`POST https://oidc.REGION.amazonaws.com/token`, unsigned JSON,
//! `grantType = refresh_token`; `AWS_ENDPOINT_URL_SSO_OIDC` moves it) gives a new token, written
//! back to the cache in botocore's form. Secrets (tokens, the client secret) are never put in
//! messages.

use super::private_file::write_atomically;
use crate::http::{HttpClient, RequestBody};
use crate::time::{format_utc, parse_iso8601_time};
use serde_json::{Map, Value};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// A token with less than this left is refreshed (botocore's `_REFRESH_WINDOW`).
pub(crate) const REFRESH_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The variable that moves the OIDC service (tests, private endpoints).
pub const OIDC_ENDPOINT_ENV: &str = "AWS_ENDPOINT_URL_SSO_OIDC";

const MAX_ANSWER: usize = 64 * 1024;

/// The portal's session as the cache file holds it.
pub(crate) struct Session<'a> {
    /// The `sso_start_url`.
    pub start_url: &'a str,
    /// The `sso_region`.
    pub region: &'a str,
}

/// Why the cached token cannot be refreshed, when it cannot: `None` when it can.
pub(crate) fn not_refreshable(doc: &Map<String, Value>, now: SystemTime) -> Option<String> {
    let missing: Vec<&str> = [
        "refreshToken",
        "clientId",
        "clientSecret",
        "registrationExpiresAt",
    ]
    .into_iter()
    .filter(|key| {
        doc.get(*key)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    })
    .collect();
    if !missing.is_empty() {
        return Some(format!("the cache has no {}", missing.join(", ")));
    }
    let registration = doc["registrationExpiresAt"].as_str().unwrap_or_default();
    match parse_iso8601_time(registration) {
        Some(expiry) if expiry > now => None,
        Some(_) => Some(format!("the client registration expired at {registration}")),
        None => Some(format!(
            "registrationExpiresAt `{registration}` is not a time"
        )),
    }
}

/// `CreateToken` with the cached refresh token, at `endpoint` (`None`: the region's). Returns
/// the new cache document (botocore's fields), or why it failed.
pub(crate) async fn refresh(
    http: &HttpClient,
    endpoint: Option<&str>,
    session: &Session<'_>,
    doc: &Map<String, Value>,
    now: SystemTime,
) -> Result<Map<String, Value>, String> {
    let field = |key: &str| doc.get(key).and_then(Value::as_str).unwrap_or_default();
    let base = endpoint.map_or_else(
        || format!("https://oidc.{}.amazonaws.com", session.region),
        |url| url.trim_end_matches('/').to_owned(),
    );
    let body = serde_json::json!({
        "clientId": field("clientId"),
        "clientSecret": field("clientSecret"),
        "grantType": "refresh_token",
        "refreshToken": field("refreshToken"),
    })
    .to_string();
    let request = http::Request::builder()
        .method(http::Method::POST)
        .uri(format!("{base}/token"))
        .header("content-type", "application/json")
        .body(RequestBody::bytes(bytes::Bytes::from(body)))
        .map_err(|e| format!("could not build the request to {base}: {e}"))?;
    let response = http
        .send(request)
        .await
        .map_err(|e| format!("CreateToken at {base}: {e}"))?;
    let status = response.status.as_u16();
    let answer = response
        .body
        .collect(MAX_ANSWER)
        .await
        .map_err(|e| format!("CreateToken at {base}: {e}"))?;
    let answer: Value = serde_json::from_slice(&answer)
        .map_err(|_| format!("CreateToken at {base} answered HTTP {status} without JSON"))?;
    if status != 200 {
        // The OIDC errors: {"error": "invalid_grant", "error_description": "…"}.
        let code = answer
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("an error");
        return Err(format!(
            "CreateToken at {base} answered HTTP {status} ({code})"
        ));
    }
    let access_token = answer
        .get("accessToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or("CreateToken's answer has no accessToken")?;
    let expires_in = answer
        .get("expiresIn")
        .and_then(Value::as_u64)
        .ok_or("CreateToken's answer has no expiresIn")?;
    let expires_at = format_utc(now + Duration::from_secs(expires_in));
    let mut new = Map::new();
    new.insert("startUrl".into(), session.start_url.into());
    new.insert("region".into(), session.region.into());
    new.insert("accessToken".into(), access_token.into());
    new.insert("expiresAt".into(), expires_at.into());
    for key in ["clientId", "clientSecret", "registrationExpiresAt"] {
        new.insert(key.into(), field(key).into());
    }
    if let Some(refresh_token) = answer.get("refreshToken").and_then(Value::as_str) {
        new.insert("refreshToken".into(), refresh_token.into());
    }
    Ok(new)
}

/// Writes the refreshed document back to the cache (mode 0600, replaced in one step).
pub(crate) fn save(path: &Path, doc: &Map<String, Value>) -> std::io::Result<()> {
    let text = Value::Object(doc.clone()).to_string();
    write_atomically(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn a_token_without_its_registration_or_past_it_is_not_refreshable() {
        let now = parse_iso8601_time("2026-12-01T00:00:00Z").unwrap();
        let why = not_refreshable(&doc(r#"{"accessToken":"a","refreshToken":"r"}"#), now);
        assert_eq!(
            why.as_deref(),
            Some("the cache has no clientId, clientSecret, registrationExpiresAt")
        );
        let full = r#"{"refreshToken":"r","clientId":"c","clientSecret":"s","registrationExpiresAt":"2026-11-30T00:00:00Z"}"#;
        let why = not_refreshable(&doc(full), now).unwrap();
        assert!(why.contains("registration expired"), "{why}");
        assert!(!why.contains("\"s\""), "{why}");
        let ok = full.replace("2026-11-30", "2027-01-01");
        assert_eq!(not_refreshable(&doc(&ok), now), None);
    }
}
