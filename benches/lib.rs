//! Requests shared by ferry's benches: the same inputs are signed by ferry and by the
//! `aws-sigv4` crate, so the figures compare like with like.

/// The bench's access key id (the AWS documentation's example).
pub const ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
/// The bench's secret (the AWS documentation's example).
pub const SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// Signing region.
pub const REGION: &str = "us-east-1";
/// Virtual-hosted bucket host.
pub const HOST: &str = "examplebucket.s3.us-east-1.amazonaws.com";
/// An object key with a prefix, as bulk jobs have.
pub const KEY_PATH: &str = "/backups/2026/11/22/part-000123.bin";
/// 2026-11-22T12:00:00Z.
pub const UNIX_TIME: u64 = 1_795_348_800;
/// Part upload id, as S3 returns them.
pub const UPLOAD_ID: &str = "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA";
