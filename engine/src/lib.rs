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
//! | [`shard`] | a migration split into shards: the plan, one shard's run, the merged report |
#![deny(missing_docs)]

pub mod config;
pub mod credentials;
pub mod endpoint;
pub mod http;
pub mod s3;
pub mod serve;
pub mod shard;
pub mod sign;
pub mod transfer;
