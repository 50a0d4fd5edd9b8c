//! The STS operations ferry calls: their parameters, validation and form encoding.

use super::{API_VERSION, StsError};
use crate::sign::encode::encode_query_component;

/// An STS operation: checked before sending, sent as a form body.
pub trait StsOperation {
    /// The `Action` name.
    fn action(&self) -> &'static str;

    /// The parameters after `Action` and `Version`, in the order the STS model lists them.
    fn parameters(&self) -> Vec<(&'static str, String)>;

    /// Refuses values STS would refuse, with a message that says what is allowed.
    fn validate(&self) -> Result<(), StsError>;

    /// The form body: `Action=…&Version=2011-06-15&…`, values percent-encoded (RFC 3986).
    /// Does not validate.
    fn form_body(&self) -> String {
        let mut body = format!("Action={}&Version={API_VERSION}", self.action());
        for (name, value) in self.parameters() {
            body.push('&');
            body.push_str(name);
            body.push('=');
            encode_query_component(&value, &mut body);
        }
        body
    }
}

/// A multi-factor authentication device and its current code.
#[derive(Clone, PartialEq, Eq)]
pub struct Mfa {
    /// The device's serial number or ARN (`arn:aws:iam::123456789012:mfa/user`).
    pub serial_number: String,
    /// The six-digit code it shows now.
    pub token_code: String,
}

impl Mfa {
    /// A device and its code.
    pub fn new(serial_number: impl Into<String>, token_code: impl Into<String>) -> Self {
        Self {
            serial_number: serial_number.into(),
            token_code: token_code.into(),
        }
    }

    fn validate(&self) -> Result<(), StsError> {
        let serial = &self.serial_number;
        if serial.len() < 9
            || serial.len() > 256
            || !serial
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=/:,.@-_".contains(c))
        {
            return Err(StsError::Invalid(format!(
                "MFA serial number `{serial}` is not valid: give the device's ARN (arn:aws:iam::ACCOUNT:mfa/NAME) or hardware serial, 9-256 characters"
            )));
        }
        let code = &self.token_code;
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(StsError::Invalid(
                "the MFA token code must be the 6 digits the device shows now".into(),
            ));
        }
        Ok(())
    }

    fn push(&self, out: &mut Vec<(&'static str, String)>) {
        out.push(("SerialNumber", self.serial_number.clone()));
        out.push(("TokenCode", self.token_code.clone()));
    }
}

impl std::fmt::Debug for Mfa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mfa")
            .field("serial_number", &self.serial_number)
            .field("token_code", &"******")
            .finish()
    }
}

fn check_duration(
    what: &str,
    seconds: Option<u32>,
    min: u32,
    max: u32,
    default: u32,
) -> Result<(), StsError> {
    match seconds {
        Some(s) if !(min..=max).contains(&s) => Err(StsError::Invalid(format!(
            "{what} DurationSeconds must be between {min} and {max} seconds (default {default}), not {s}"
        ))),
        _ => Ok(()),
    }
}

/// `GetSessionToken`: temporary credentials for the caller, optionally MFA-authenticated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetSessionToken {
    /// How long the credentials last: 900–129600 seconds (STS's default: 43200).
    pub duration_seconds: Option<u32>,
    /// The MFA device and code, when the caller's policies require MFA.
    pub mfa: Option<Mfa>,
}

impl GetSessionToken {
    /// The shortest duration STS grants.
    pub const MIN_DURATION: u32 = 900;
    /// The longest duration STS grants (with root credentials: 3600).
    pub const MAX_DURATION: u32 = 129_600;
    /// STS's default.
    pub const DEFAULT_DURATION: u32 = 43_200;
}

impl StsOperation for GetSessionToken {
    fn action(&self) -> &'static str {
        "GetSessionToken"
    }

    fn parameters(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(s) = self.duration_seconds {
            out.push(("DurationSeconds", s.to_string()));
        }
        if let Some(mfa) = &self.mfa {
            mfa.push(&mut out);
        }
        out
    }

    fn validate(&self) -> Result<(), StsError> {
        check_duration(
            "GetSessionToken",
            self.duration_seconds,
            Self::MIN_DURATION,
            Self::MAX_DURATION,
            Self::DEFAULT_DURATION,
        )?;
        self.mfa.as_ref().map_or(Ok(()), Mfa::validate)
    }
}

/// `AssumeRole`: temporary credentials of an IAM role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRole {
    /// The role, `arn:PARTITION:iam::ACCOUNT:role/NAME`.
    pub role_arn: String,
    /// A name for the session (2–64 characters of `A-Za-z0-9_+=,.@-`), shown in CloudTrail.
    pub role_session_name: String,
    /// How long the credentials last: 900–43200 seconds (STS's default: 3600), at most the
    /// role's MaxSessionDuration.
    pub duration_seconds: Option<u32>,
    /// The external id the role's trust policy asks for.
    pub external_id: Option<String>,
    /// The MFA device and code, when the trust policy asks for MFA.
    pub mfa: Option<Mfa>,
    /// An inline session policy (JSON) that narrows the role's permissions.
    pub policy: Option<String>,
}

impl AssumeRole {
    /// The shortest duration STS grants.
    pub const MIN_DURATION: u32 = 900;
    /// The longest duration STS grants.
    pub const MAX_DURATION: u32 = 43_200;
    /// STS's default.
    pub const DEFAULT_DURATION: u32 = 3600;

    /// Assumes `role_arn` as session `role_session_name`, with STS's defaults otherwise.
    pub fn new(role_arn: impl Into<String>, role_session_name: impl Into<String>) -> Self {
        Self {
            role_arn: role_arn.into(),
            role_session_name: role_session_name.into(),
            duration_seconds: None,
            external_id: None,
            mfa: None,
            policy: None,
        }
    }

    /// A session name ferry picks when none is configured: `ferry-<unix seconds>`.
    pub fn default_session_name() -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        format!("ferry-{now}")
    }
}

/// Checks `arn:PARTITION:iam::ACCOUNT:role/NAME` (the name may have a path).
///
/// The account must be digits, but of any count: like the AWS SDKs (which check only the
/// ARN's length, 20-2048) ferry leaves the account itself to STS, so test ARNs with short
/// accounts (`arn:aws:iam::123456789:role/x`) reach the endpoint as they do in the SDKs.
pub(crate) fn validate_role_arn(arn: &str) -> Result<(), StsError> {
    let bad = |why: &str| {
        Err(StsError::Invalid(format!(
            "role ARN `{arn}` is malformed ({why}); expected arn:aws:iam::123456789012:role/NAME"
        )))
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return bad("it must have six `:`-separated parts starting with `arn`");
    }
    let partition_ok =
        matches!(parts[1], "aws" | "aws-cn" | "aws-us-gov") || parts[1].starts_with("aws-iso");
    if !partition_ok {
        return bad("unknown partition");
    }
    if parts[2] != "iam" {
        return bad("the service must be `iam`");
    }
    if !parts[3].is_empty() {
        return bad("IAM ARNs have no region");
    }
    if parts[4].is_empty() || !parts[4].bytes().all(|b| b.is_ascii_digit()) {
        return bad("the account id must be digits");
    }
    let Some(name) = parts[5].strip_prefix("role/") else {
        return bad("the resource must be `role/NAME`");
    };
    let role = name.rsplit('/').next().unwrap_or_default();
    let role_ok = !role.is_empty()
        && role.len() <= 64
        && role
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c));
    if !role_ok || !(20..=2048).contains(&arn.len()) {
        return bad("the role name must be 1-64 characters of A-Za-z0-9+=,.@_-");
    }
    Ok(())
}

/// Checks a role session name: 2–64 characters of `[\w+=,.@-]`.
pub(crate) fn validate_session_name(name: &str) -> Result<(), StsError> {
    let ok = (2..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(StsError::Invalid(format!(
            "role session name `{name}` is not valid: use 2-64 characters of A-Za-z0-9_+=,.@-"
        )))
    }
}

impl StsOperation for AssumeRole {
    fn action(&self) -> &'static str {
        "AssumeRole"
    }

    fn parameters(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("RoleArn", self.role_arn.clone()),
            ("RoleSessionName", self.role_session_name.clone()),
        ];
        if let Some(policy) = &self.policy {
            out.push(("Policy", policy.clone()));
        }
        if let Some(s) = self.duration_seconds {
            out.push(("DurationSeconds", s.to_string()));
        }
        if let Some(id) = &self.external_id {
            out.push(("ExternalId", id.clone()));
        }
        if let Some(mfa) = &self.mfa {
            mfa.push(&mut out);
        }
        out
    }

    fn validate(&self) -> Result<(), StsError> {
        validate_role_arn(&self.role_arn)?;
        validate_session_name(&self.role_session_name)?;
        check_duration(
            "AssumeRole",
            self.duration_seconds,
            Self::MIN_DURATION,
            Self::MAX_DURATION,
            Self::DEFAULT_DURATION,
        )?;
        if let Some(id) = &self.external_id {
            let ok = (2..=1224).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c));
            if !ok {
                return Err(StsError::Invalid(
                    "the external id must be 2-1224 characters of A-Za-z0-9_+=,.@:/-".into(),
                ));
            }
        }
        if let Some(policy) = &self.policy
            && (policy.is_empty() || policy.len() > 2048)
        {
            return Err(StsError::Invalid(
                "the session policy must be 1-2048 characters of JSON".into(),
            ));
        }
        self.mfa.as_ref().map_or(Ok(()), Mfa::validate)
    }
}

/// `AssumeRoleWithWebIdentity`: temporary credentials of an IAM role for an OpenID Connect
/// token (EKS service-account tokens, GitHub Actions, …). Sent unsigned: the token is the proof.
#[derive(Clone, PartialEq, Eq)]
pub struct AssumeRoleWithWebIdentity {
    /// The role, `arn:PARTITION:iam::ACCOUNT:role/NAME`.
    pub role_arn: String,
    /// A name for the session (2–64 characters of `A-Za-z0-9_+=,.@-`).
    pub role_session_name: String,
    /// The token (a JWT). Never shown by `Debug`.
    pub web_identity_token: crate::credentials::Secret,
    /// How long the credentials last: 900–43200 seconds (STS's default: 3600).
    pub duration_seconds: Option<u32>,
}

impl std::fmt::Debug for AssumeRoleWithWebIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumeRoleWithWebIdentity")
            .field("role_arn", &self.role_arn)
            .field("role_session_name", &self.role_session_name)
            .field("web_identity_token", &"** redacted **")
            .field("duration_seconds", &self.duration_seconds)
            .finish()
    }
}

impl StsOperation for AssumeRoleWithWebIdentity {
    fn action(&self) -> &'static str {
        "AssumeRoleWithWebIdentity"
    }

    fn parameters(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("RoleArn", self.role_arn.clone()),
            ("RoleSessionName", self.role_session_name.clone()),
            (
                "WebIdentityToken",
                self.web_identity_token.expose().to_owned(),
            ),
        ];
        if let Some(s) = self.duration_seconds {
            out.push(("DurationSeconds", s.to_string()));
        }
        out
    }

    fn validate(&self) -> Result<(), StsError> {
        validate_role_arn(&self.role_arn)?;
        validate_session_name(&self.role_session_name)?;
        check_duration(
            "AssumeRoleWithWebIdentity",
            self.duration_seconds,
            AssumeRole::MIN_DURATION,
            AssumeRole::MAX_DURATION,
            AssumeRole::DEFAULT_DURATION,
        )?;
        let token = self.web_identity_token.expose();
        if token.len() < 4 || token.len() > 20_000 {
            return Err(StsError::Invalid(
                "the web identity token must be 4-20000 characters (a JWT)".into(),
            ));
        }
        Ok(())
    }
}

/// `GetCallerIdentity`: who the credentials belong to. Needs no permission.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GetCallerIdentity;

impl StsOperation for GetCallerIdentity {
    fn action(&self) -> &'static str {
        "GetCallerIdentity"
    }
    fn parameters(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    fn validate(&self) -> Result<(), StsError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:iam::123456789012:role/integration-test";

    #[test]
    fn form_body_encodes_values_in_model_order() {
        let mut op = AssumeRole::new(ARN, "s1");
        op.duration_seconds = Some(900);
        op.external_id = Some("x y".into());
        assert_eq!(
            op.form_body(),
            "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fintegration-test&RoleSessionName=s1&DurationSeconds=900&ExternalId=x%20y"
        );
        assert_eq!(
            GetCallerIdentity.form_body(),
            "Action=GetCallerIdentity&Version=2011-06-15"
        );
    }

    #[test]
    fn role_arns_are_checked() {
        for good in [
            ARN,
            "arn:aws-cn:iam::123456789012:role/path/to/R_1",
            "arn:aws-us-gov:iam::123456789012:role/a",
            // The SDKs and STS put no length rule on the account: test fixtures use 9 and 13.
            "arn:aws:iam::123456789:role/x",
            "arn:aws:iam::1234567890123:role/RoleA",
        ] {
            validate_role_arn(good).unwrap();
        }
        for bad in [
            "arn:aws:iam:::role/x",
            "arn:aws:iam::12345678901a:role/x",
            "arn:aws:s3::123456789012:role/x",
            "arn:aws:iam:us-east-1:123456789012:role/x",
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:iam::123456789012:role/",
            "role/x",
        ] {
            let err = validate_role_arn(bad).unwrap_err().to_string();
            assert!(err.contains("malformed"), "{err}");
        }
    }

    #[test]
    fn session_names_durations_and_mfa_codes_are_checked() {
        validate_session_name("ab").unwrap();
        validate_session_name("a").unwrap_err();
        validate_session_name(&"a".repeat(65)).unwrap_err();
        validate_session_name("has space").unwrap_err();
        let mut op = AssumeRole::new(ARN, "ok");
        op.duration_seconds = Some(43_201);
        let err = op.validate().unwrap_err().to_string();
        assert!(err.contains("between 900 and 43200"), "{err}");
        let op = GetSessionToken {
            duration_seconds: Some(129_600),
            mfa: Some(Mfa::new("arn:aws:iam::123456789012:mfa/me", "98765")),
        };
        let err = op.validate().unwrap_err().to_string();
        assert!(err.contains("6 digits"), "{err}");
        assert!(!format!("{op:?}").contains("98765"));
    }
}
