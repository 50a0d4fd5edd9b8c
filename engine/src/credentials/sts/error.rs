//! What can go wrong talking to STS, with what to do about it.

use crate::credentials::CredentialsError;
use crate::http::HttpError;

/// Why an STS call failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StsError {
    /// The request was refused before sending: a parameter is out of range or malformed.
    #[error("invalid STS request: {0}")]
    Invalid(String),
    /// No endpoint could be resolved.
    #[error("STS endpoint: {0}")]
    Endpoint(String),
    /// The source credentials could not be had.
    #[error("source credentials for STS: {0}")]
    Source(#[from] CredentialsError),
    /// The source provider gave no credentials (anonymous): STS needs signed requests.
    #[error("STS needs credentials to sign with, but {0} gave none (anonymous)")]
    Anonymous(String),
    /// The request could not be sent or the answer not received.
    #[error("STS request failed: {0}")]
    Http(#[from] HttpError),
    /// STS answered with an error document.
    #[error("{}", service_message(.status, .code, .message, .request_id.as_deref()))]
    Service {
        /// The HTTP status.
        status: u16,
        /// The error code (`AccessDenied`, `ExpiredToken`, …).
        code: String,
        /// STS's message.
        message: String,
        /// The request id, for AWS support.
        request_id: Option<String>,
    },
    /// The answer could not be read.
    #[error("unreadable STS answer: {0}")]
    Parse(String),
}

impl StsError {
    /// The STS error code, for service errors.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    /// What to do about a service error, when ferry knows.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Service { code, message, .. } => hint(code, message),
            _ => None,
        }
    }

    /// Whether trying again may help (throttling, server errors, the network).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Http(e) => e.retry_reason().is_some(),
            Self::Service { status, code, .. } => {
                *status >= 500
                    || matches!(
                        code.as_str(),
                        "Throttling" | "ThrottlingException" | "IDPCommunicationError"
                    )
            }
            _ => false,
        }
    }
}

fn service_message(status: &u16, code: &str, message: &str, request_id: Option<&str>) -> String {
    let mut text = format!("STS refused the request: {code} (HTTP {status})");
    if !message.is_empty() {
        text.push_str(": ");
        text.push_str(message);
    }
    if let Some(id) = request_id {
        text.push_str(" [request id ");
        text.push_str(id);
        text.push(']');
    }
    if let Some(hint) = hint(code, message) {
        text.push_str("; ");
        text.push_str(hint);
    }
    text
}

fn hint(code: &str, message: &str) -> Option<&'static str> {
    let lower = message.to_ascii_lowercase();
    if lower.contains("multifactorauthentication") || lower.contains("mfa") {
        return Some(
            "the MFA code was wrong, already used or expired, or the serial number (mfa_serial) does not name your MFA device: wait for the next code and try again",
        );
    }
    Some(match code {
        "AccessDenied" => {
            "the source credentials may not do this: for AssumeRole, check that the role's trust policy names your principal (and any ExternalId or MFA condition) and that your IAM policy allows sts:AssumeRole on the role"
        }
        "InvalidClientTokenId" => {
            "AWS does not know the access key id: check AWS_ACCESS_KEY_ID or the profile's aws_access_key_id (deleted, mistyped, or from another partition)"
        }
        "SignatureDoesNotMatch" => {
            "the secret access key does not match the access key id: check AWS_SECRET_ACCESS_KEY or the profile's aws_secret_access_key"
        }
        "ExpiredToken" => {
            "the source session token has expired: get fresh source credentials (a new session token, or `aws sso login`)"
        }
        "RegionDisabledException" => {
            "STS is not activated in this region for the account: activate it in the IAM console (Account settings) or use another region"
        }
        "ValidationError" if lower.contains("durationseconds") => {
            "the duration exceeds what the role allows (its MaxSessionDuration, or 1 hour when chaining roles): ask for less with duration_seconds"
        }
        "MalformedPolicyDocument" | "PackedPolicyTooLarge" => {
            "the session policy is not accepted: check its JSON and size"
        }
        _ => return None,
    })
}

impl From<StsError> for CredentialsError {
    fn from(error: StsError) -> Self {
        CredentialsError::Provider {
            source_name: "STS".into(),
            message: error.to_string(),
        }
    }
}
