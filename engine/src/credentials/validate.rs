//! Format checks for AWS keys: warnings, never refusals, since other stores use other formats.

use super::{Credentials, mask};

/// What looks wrong about credentials meant for AWS itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatWarning {
    /// AWS access key ids are 20 upper-case letters and digits.
    AccessKeyId {
        /// The key, masked.
        masked_key: String,
    },
    /// AWS secret access keys are 40 characters long.
    SecretLength {
        /// How long the given secret is.
        length: usize,
    },
}

impl std::fmt::Display for FormatWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AccessKeyId { masked_key } => write!(
                f,
                "access key id {masked_key} does not look like an AWS key (20 upper-case letters and digits); check for a typo or a stray space"
            ),
            Self::SecretLength { length } => write!(
                f,
                "the secret access key is {length} characters long; AWS secrets are 40; check for a truncated or padded value"
            ),
        }
    }
}

/// Checks credentials against AWS's key formats. Call it only for AWS endpoints: other stores
/// (MinIO, SeaweedFS, Ceph) use other formats.
pub fn aws_format_warnings(credentials: &Credentials) -> Vec<FormatWarning> {
    let mut warnings = Vec::new();
    let key = credentials.access_key_id();
    let key_ok = key.len() == 20
        && key
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !key_ok {
        warnings.push(FormatWarning::AccessKeyId {
            masked_key: mask(key),
        });
    }
    let length = credentials.secret_access_key().chars().count();
    if length != 40 {
        warnings.push(FormatWarning::SecretLength { length });
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_shaped_keys_get_no_warning() {
        let c = Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
        assert!(aws_format_warnings(&c).is_empty());
    }

    #[test]
    fn lower_case_key_and_short_secret_are_both_warned_about() {
        let c = Credentials::new("minioadmin-key-xxxxx", "short");
        let w = aws_format_warnings(&c);
        assert_eq!(w.len(), 2);
        assert!(matches!(w[1], FormatWarning::SecretLength { length: 5 }));
        assert!(!w[0].to_string().contains("minioadmin-key-xxxxx"));
    }
}
