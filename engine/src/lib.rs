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
//! | [`config`] | flags + environment + profile files → a ready S3 client |
//! | [`credentials`] | where keys come from: static, environment, profile files, anonymous; a chain in the AWS CLI's order |
//! | [`sign`] | AWS Signature Version 4: header auth, presigned URLs, streaming chunk signatures, the per-thread signing-key cache |
//! | [`endpoint`] | where a request goes: regions, dual-stack, FIPS, custom endpoints, virtual-hosted vs path-style |
//! | [`http`] | the pooled hyper client: keep-alive, TLS, timeouts, bodies, retry policy |
//! | [`transfer`] | the scheduler: part planning, parallel multipart upload, ranged parallel download, directories, progress events |
//! | [`s3`] | the S3 API's XML bodies and its typed errors |
//! | [`advice`] | what to do about a failure, typed: the front end words it |
//! | [`shard`] | a migration split into shards: the plan, one shard's run, the merged report |
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
//! for (object, reason) in &summary.failures {
//!     eprintln!("{object}: {reason}");
//! }
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod advice;
pub mod config;
pub mod credentials;
pub mod endpoint;
pub mod http;
pub mod s3;
#[cfg(feature = "serve")]
pub mod serve;
pub mod shard;
pub mod sign;
pub mod transfer;

pub use advice::Advice;
pub use config::ClientBuilder;
pub use credentials::Credentials;
/// The S3 client: [`Client::builder`] makes one.
pub use s3::S3Client as Client;
pub use transfer::Transfers;
