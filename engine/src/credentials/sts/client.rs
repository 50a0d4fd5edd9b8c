//! The STS client: builds and signs the form requests, sends them, reads the XML answers.

use super::ops::{
    AssumeRole, AssumeRoleWithWebIdentity, GetCallerIdentity, GetSessionToken, StsOperation,
};
use super::xml::{self, Element};
use super::{FORM_CONTENT_TYPE, StsEndpoint, StsError};
use crate::credentials::Credentials;
use crate::http::{HttpClient, RequestBody};
use crate::sign::{Payload, SignableRequest, Signer, SigningTime, sha256_hex};
use std::time::Duration;

/// STS answers are a few KiB; anything past this is refused.
const MAX_ANSWER: usize = 256 * 1024;

/// Tries per call, for errors that may pass (throttling, 5xx, the network).
const ATTEMPTS: u32 = 3;

/// The pause before the first retry; each later one is four times longer.
const RETRY_BASE: Duration = Duration::from_millis(100);

/// Talks to one STS endpoint. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StsClient {
    http: HttpClient,
    endpoint: StsEndpoint,
}

/// What AssumeRole answers: the role's temporary credentials and who they are.
#[derive(Debug, Clone)]
pub struct AssumedRole {
    /// The temporary credentials, with their expiry.
    pub credentials: Credentials,
    /// The assumed role's ARN (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`).
    pub arn: Option<String>,
    /// The assumed role id (`AROA…:SESSION`).
    pub assumed_role_id: Option<String>,
}

/// What GetCallerIdentity answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The account id (12 digits).
    pub account: String,
    /// The caller's ARN.
    pub arn: String,
    /// The caller's unique id.
    pub user_id: String,
}

impl StsClient {
    /// A client for `endpoint`, sending through `http`.
    pub fn new(http: HttpClient, endpoint: StsEndpoint) -> Self {
        Self { http, endpoint }
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &StsEndpoint {
        &self.endpoint
    }

    /// The signed request for `operation`, after validating it.
    pub fn request(
        &self,
        operation: &(dyn StsOperation + Sync),
        credentials: &Credentials,
        time: SigningTime,
    ) -> Result<http::Request<RequestBody>, StsError> {
        operation.validate()?;
        form_request(
            &self.endpoint,
            credentials,
            operation.form_body(),
            &[("content-type", FORM_CONTENT_TYPE)],
            time,
        )
    }

    /// Sends `operation` and returns the answer's body (a 2xx), or the STS error. Throttling,
    /// server errors and network failures are tried again (3 attempts in all).
    async fn call(
        &self,
        operation: &(dyn StsOperation + Sync),
        credentials: Option<&Credentials>,
    ) -> Result<bytes::Bytes, StsError> {
        let mut attempt = 0;
        loop {
            match self.call_once(operation, credentials).await {
                Err(error) if error.is_retryable() && attempt + 1 < ATTEMPTS => {
                    let pause = RETRY_BASE * 4u32.pow(attempt);
                    tracing::debug!(%error, ?pause, "STS request failed; trying again");
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    async fn call_once(
        &self,
        operation: &(dyn StsOperation + Sync),
        credentials: Option<&Credentials>,
    ) -> Result<bytes::Bytes, StsError> {
        let request = match credentials {
            Some(credentials) => self.request(operation, credentials, SigningTime::now())?,
            None => self.unsigned_request(operation)?,
        };
        tracing::debug!(
            action = operation.action(),
            endpoint = self.endpoint.url(),
            "STS request"
        );
        let response = self.http.send(request).await?;
        let status = response.status;
        let body = response.body.collect(MAX_ANSWER).await?;
        if !status.is_success() {
            return Err(StsError::from_error_body(status.as_u16(), &body));
        }
        Ok(body)
    }

    /// GetSessionToken: temporary credentials for `credentials`' own identity.
    pub async fn get_session_token(
        &self,
        credentials: &Credentials,
        request: &GetSessionToken,
    ) -> Result<Credentials, StsError> {
        let body = self.call(request, Some(credentials)).await?;
        parse_session_token(&body)
    }

    /// AssumeRole: temporary credentials of the role.
    pub async fn assume_role(
        &self,
        credentials: &Credentials,
        request: &AssumeRole,
    ) -> Result<AssumedRole, StsError> {
        let body = self.call(request, Some(credentials)).await?;
        AssumedRole::parse(&body)
    }

    /// The unsigned request for `operation` (AssumeRoleWithWebIdentity), after validating it.
    pub fn unsigned_request(
        &self,
        operation: &(dyn StsOperation + Sync),
    ) -> Result<http::Request<RequestBody>, StsError> {
        operation.validate()?;
        let body = operation.form_body();
        http::Request::builder()
            .method(http::Method::POST)
            .uri(format!("{}/", self.endpoint.url()))
            .header("host", self.endpoint.host())
            .header("content-type", FORM_CONTENT_TYPE)
            .header("content-length", body.len().to_string())
            .body(RequestBody::bytes(bytes::Bytes::from(body)))
            .map_err(|e| StsError::Invalid(format!("could not build the request: {e}")))
    }

    /// AssumeRoleWithWebIdentity: temporary credentials of the role for an OIDC token. The
    /// request is not signed (the token is the proof).
    pub async fn assume_role_with_web_identity(
        &self,
        request: &AssumeRoleWithWebIdentity,
    ) -> Result<AssumedRole, StsError> {
        let body = self.call(request, None).await?;
        AssumedRole::parse_answer(&body, "AssumeRoleWithWebIdentity")
    }

    /// GetCallerIdentity: whose credentials these are.
    pub async fn get_caller_identity(
        &self,
        credentials: &Credentials,
    ) -> Result<CallerIdentity, StsError> {
        let body = self.call(&GetCallerIdentity, Some(credentials)).await?;
        CallerIdentity::parse(&body)
    }
}

/// A signed `POST` of the form `body` to `endpoint`. `headers` (lower-case names, e.g.
/// `content-type`) are sent and signed along with `host`, `content-length`, `x-amz-date`
/// and, for temporary credentials, `x-amz-security-token`; the signature covers the body's
/// SHA-256.
pub fn form_request(
    endpoint: &StsEndpoint,
    credentials: &Credentials,
    body: String,
    headers: &[(&str, &str)],
    time: SigningTime,
) -> Result<http::Request<RequestBody>, StsError> {
    let path = endpoint.path();
    let length = body.len().to_string();
    let digest = sha256_hex(body.as_bytes());
    let mut signed: Vec<(&str, &str)> = Vec::with_capacity(headers.len() + 2);
    signed.push(("host", endpoint.host()));
    signed.push(("content-length", &length));
    signed.extend_from_slice(headers);
    let signature = Signer::new(endpoint.signing_region(), "sts").sign_headers(
        credentials,
        &SignableRequest {
            method: "POST",
            path: &path,
            query: &[],
            headers: &signed,
            payload: Payload::Sha256Hex(digest.as_str()),
        },
        time,
    );
    let mut builder = http::Request::builder()
        .method(http::Method::POST)
        .uri(format!("{}/", endpoint.url()));
    for (name, value) in &signed {
        builder = builder.header(*name, *value);
    }
    builder = builder
        .header("x-amz-date", time.amz_date())
        .header(http::header::AUTHORIZATION, signature.into_authorization());
    if let Some(token) = credentials.session_token() {
        builder = builder.header("x-amz-security-token", token);
    }
    builder
        .body(RequestBody::bytes(bytes::Bytes::from(body)))
        .map_err(|e| StsError::Invalid(format!("could not build the request: {e}")))
}

impl StsError {
    /// The error an STS error answer (`<ErrorResponse><Error><Code>…`) describes.
    pub fn from_error_body(status: u16, body: &[u8]) -> Self {
        let parsed = xml::parse(body).ok();
        // AWS answers <ErrorResponse><Error>; some stores (moto) <ErrorResponse><Errors><Error>.
        let error = parsed.as_ref().and_then(|root| {
            if root.name == "ErrorResponse" {
                root.child("Error")
                    .or_else(|| root.child("Errors").and_then(|e| e.child("Error")))
            } else if root.name == "Error" {
                Some(root)
            } else {
                None
            }
        });
        let request_id = parsed.as_ref().and_then(|root| {
            root.text("RequestId")
                .or_else(|| root.child("Error").and_then(|e| e.text("RequestId")))
                .map(str::to_owned)
        });
        match error.and_then(|e| e.text("Code").map(|code| (e, code))) {
            Some((error, code)) => Self::Service {
                status,
                code: code.to_owned(),
                message: error.text("Message").unwrap_or_default().to_owned(),
                request_id,
            },
            None => Self::Service {
                status,
                code: format!("HTTP{status}"),
                message: String::from_utf8_lossy(&body[..body.len().min(200)])
                    .trim()
                    .to_owned(),
                request_id: None,
            },
        }
    }
}

/// The `<…Result>` inside `<…Response>`.
fn result(body: &[u8], action: &'static str) -> Result<Element, StsError> {
    let root = xml::parse(body).map_err(StsError::Parse)?;
    let expected = format!("{action}Response");
    if root.name != expected {
        return Err(StsError::Parse(format!(
            "expected <{expected}>, got <{}>",
            root.name
        )));
    }
    let want = format!("{action}Result");
    root.children
        .into_iter()
        .find(|c| c.name == want)
        .ok_or_else(|| StsError::Parse(format!("<{expected}> has no <{want}>")))
}

/// The `<Credentials>` element as [`Credentials`] with their expiry.
fn credentials(result: &Element) -> Result<Credentials, StsError> {
    let creds = result
        .child("Credentials")
        .ok_or_else(|| StsError::Parse(format!("<{}> has no <Credentials>", result.name)))?;
    let key = creds.required("AccessKeyId").map_err(StsError::Parse)?;
    let secret = creds.required("SecretAccessKey").map_err(StsError::Parse)?;
    let token = creds.required("SessionToken").map_err(StsError::Parse)?;
    let expiration = creds.required("Expiration").map_err(StsError::Parse)?;
    let expiry = crate::time::parse_iso8601_time(expiration)
        .ok_or_else(|| StsError::Parse(format!("<Expiration> `{expiration}` is not a time")))?;
    Ok(Credentials::new(key, secret)
        .with_session_token(token)
        .with_expiry(expiry))
}

/// Reads a GetSessionToken answer.
pub(crate) fn parse_session_token(body: &[u8]) -> Result<Credentials, StsError> {
    credentials(&result(body, "GetSessionToken")?)
}

impl AssumedRole {
    /// Reads an AssumeRole answer (`<AssumeRoleResponse>`).
    pub fn parse(body: &[u8]) -> Result<Self, StsError> {
        Self::parse_answer(body, "AssumeRole")
    }

    /// Reads the answer of `action` (`AssumeRole`, `AssumeRoleWithWebIdentity`).
    pub(crate) fn parse_answer(body: &[u8], action: &'static str) -> Result<Self, StsError> {
        let result = result(body, action)?;
        let user = result.child("AssumedRoleUser");
        Ok(Self {
            credentials: credentials(&result)?,
            arn: user.and_then(|u| u.text("Arn")).map(str::to_owned),
            assumed_role_id: user
                .and_then(|u| u.text("AssumedRoleId"))
                .map(str::to_owned),
        })
    }

    /// The account id in the assumed role's ARN.
    pub fn account_id(&self) -> Option<&str> {
        self.arn.as_deref()?.split(':').nth(4)
    }
}

impl CallerIdentity {
    /// Reads a GetCallerIdentity answer.
    pub fn parse(body: &[u8]) -> Result<Self, StsError> {
        let result = result(body, "GetCallerIdentity")?;
        let get = |name: &'static str| {
            result
                .required(name)
                .map(str::to_owned)
                .map_err(StsError::Parse)
        };
        Ok(Self {
            account: get("Account")?,
            arn: get("Arn")?,
            user_id: get("UserId")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn session_token_answer_parses_with_expiry() {
        let body = br#"<GetSessionTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetSessionTokenResult><Credentials>
    <SessionToken>TOKEN</SessionToken><SecretAccessKey>SECRET</SecretAccessKey>
    <Expiration>2011-07-11T19:55:29.611Z</Expiration><AccessKeyId>ASIAEXAMPLE</AccessKeyId>
  </Credentials></GetSessionTokenResult>
  <ResponseMetadata><RequestId>58c5dbae</RequestId></ResponseMetadata>
</GetSessionTokenResponse>"#;
        let creds = parse_session_token(body).unwrap();
        assert_eq!(creds.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(creds.session_token(), Some("TOKEN"));
        assert_eq!(
            creds.expiry().unwrap(),
            UNIX_EPOCH + Duration::new(1_310_414_129, 611_000_000)
        );
    }

    #[test]
    fn error_answers_carry_code_message_request_id_and_hint() {
        let body = br#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message></Error>
  <RequestId>r-1</RequestId></ErrorResponse>"#;
        let err = StsError::from_error_body(400, body);
        assert_eq!(err.code(), Some("ExpiredToken"));
        let text = err.to_string();
        assert!(text.contains("is expired"), "{text}");
        assert!(text.contains("r-1"), "{text}");
        assert!(text.contains("fresh source credentials"), "{text}");
        let err = StsError::from_error_body(502, b"<html>bad gateway</html>");
        assert!(err.is_retryable());
        assert!(err.to_string().contains("bad gateway"));
    }

    #[test]
    fn error_answers_nested_in_an_errors_element_are_read_too() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>User is not authorized to perform sts:AssumeRole</Message></Error></Errors>
<RequestId>r-2</RequestId></ErrorResponse>"#;
        let err = StsError::from_error_body(403, body);
        assert_eq!(err.code(), Some("AccessDenied"));
        let text = err.to_string();
        assert!(text.contains("not authorized"), "{text}");
        assert!(!text.contains("<Code>"), "{text}");
    }

    #[test]
    fn wrong_root_is_a_parse_error() {
        let err = AssumedRole::parse(b"<GetSessionTokenResponse/>").unwrap_err();
        assert!(matches!(err, StsError::Parse(_)), "{err}");
    }
}
