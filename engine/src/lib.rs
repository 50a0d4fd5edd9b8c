//! # ferry engine
//!
//! The library behind the `ferry` command: a high-throughput parallel transfer engine for
//! Amazon S3 and S3-compatible object stores. It never prints; the CLI renders what it reports.
//!
//! # Layout
//!
//! Data flows top to bottom:
//!
//! | module | job |
//! | --- | --- |
//! | [`config`] | a ready S3 client: [`Client::builder`] (settings in code, files only when asked), or flags + environment + profile files |
//! | [`credentials`] | where keys come from: static, environment, profile files (role chains, SSO, `credential_process`), STS (AssumeRole, GetSessionToken with MFA, web identity), the instance (IMDS) or the container, anonymous; a chain in the AWS CLI's order, resolved once |
//! | [`sign`] | AWS Signature Version 4: header auth, presigned URLs, streaming chunk signatures, the per-thread signing-key cache |
//! | [`endpoint`] | where a request goes: regions, dual-stack, FIPS, custom endpoints, virtual-hosted vs path-style |
//! | [`http`] | the pooled hyper client: keep-alive, TLS, timeouts, bodies, retry policy, the bandwidth cap |
//! | [`s3`] | the S3 API: the client's typed operations, XML bodies, typed errors, ETag checks |
//! | [`transfer`] | the scheduler: part planning, parallel multipart upload, ranged parallel download, streams, directories, sync, copy, progress events, typed failures, cancellation |
//! | [`advice`] | what to do about a failure, typed: the front end words it |
//! | [`shard`] | a migration split into shards: the plan, one shard's run, the merged report |
//! | `serve` | the embedded S3 endpoint (s3s-fs), behind the `serve` cargo feature |
//! | [`checksum`] | S3's checksum algorithms: hashers, parallel part sums, CRC combining |
//! | [`time`] | every timestamp read or written: ISO 8601, HTTP dates, UTC formatting |
//! | [`env`](mod@env) | the process environment (or a fixed set) that settings are read from |
//! | [`pattern`] | shell-like globs for source arguments |
//!
//! Underneath, the modules form layers, each using only those below it: `time`, `env`,
//! `checksum`, `pattern`, `http` and `advice` (nothing else of the crate), then `credentials`, `sign`,
//! `endpoint`, `s3`, `transfer`, and on top `shard`, `serve` and `config`; STS, signed, is
//! the one part of `credentials` that uses `sign`. `engine/tests/layers.rs` enforces it (see
//! docs/architecture.md).
//!
//! # Example
//!
//! A directory to S3, in a cold storage class, with keys given in code (no file or variable
//! is read: see [`ClientBuilder`]):
//!
//! ```no_run
//! # async fn backup() -> Result<(), Box<dyn std::error::Error>> {
//! use ferry::s3::PutOptions;
//! use ferry::transfer::{Progress, TransferConfig};
//! use ferry::{Client, Credentials, Transfers};
//!
//! let client = Client::builder()
//!     .region("eu-west-1")
//!     .credentials(Credentials::new("AKIA...", "..."))
//!     .build()
//!     .await?;
//! let put = PutOptions {
//!     storage_class: Some("GLACIER_IR".into()),
//!     ..PutOptions::default()
//! };
//! let config = TransferConfig { put, ..TransferConfig::default() };
//! let engine = Transfers::for_client(client, config, Progress::silent());
//! let summary = engine.upload_dir("/srv/data".as_ref(), "my-bucket", "2026-12-01/").await;
//! for failure in &summary.failures {
//!     // The object, and a typed error: `failure.kind()` is NotFound, AccessDenied,
//!     // Throttled, ChecksumMismatch, LocalIo, ...
//!     eprintln!("{}: {} ({})", failure.object, failure.error, failure.kind().name());
//! }
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod advice;
pub mod checksum;
pub mod config;
pub mod credentials;
pub mod endpoint;
pub mod env;
pub mod http;
pub mod open_files;
pub mod pattern;
pub mod s3;
#[cfg(feature = "serve")]
pub mod serve;
pub mod shard;
pub mod sign;
pub mod time;
pub mod transfer;

pub use advice::Advice;
pub use config::ClientBuilder;
pub use credentials::Credentials;
/// The S3 client: [`Client::builder`] makes one.
pub use s3::S3Client as Client;
pub use transfer::Transfers;
