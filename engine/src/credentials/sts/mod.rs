//! AWS STS: temporary credentials from GetSessionToken (with MFA) and AssumeRole, and the
//! caller's identity from GetCallerIdentity.
//!
//! [`StsClient`] sends the query API over a signed `POST` form body (service `sts`) and reads
//! the XML answers; requests are validated before anything is sent. [`AssumeRoleProvider`]
//! and [`SessionTokenProvider`] turn any source of long-term credentials into temporary ones;
//! wrap them in [`CachingProvider`] so that every worker shares one set, refreshed once,
//! a few minutes before it expires.
//!
//! STS is the one part of [`crate::credentials`] that uses [`crate::sign`] (its requests are
//! signed with the caller's keys): the layering's only upward arrow, allowed in
//! `engine/tests/layers.rs`.

mod cache;
mod cli_cache;
mod client;
mod endpoint;
mod error;
mod ops;
mod providers;
mod xml;

pub use cache::{CachingProvider, DEFAULT_REFRESH_BEFORE};
pub use cli_cache::{
    CliCacheError, CliRoleCache, EXPIRY_WINDOW as CLI_CACHE_EXPIRY_WINDOW, cache_key,
};
pub use client::{AssumedRole, CallerIdentity, StsClient, form_request};
pub use endpoint::{EndpointParams, GLOBAL_ENDPOINT, StsEndpoint, resolve_endpoint};
pub use error::StsError;
pub use ops::{
    AssumeRole, AssumeRoleWithWebIdentity, GetCallerIdentity, GetSessionToken, Mfa, StsOperation,
};
pub use providers::{AssumeRoleProvider, SessionTokenProvider, TokenCodeSource};

/// The STS API version every request names.
pub const API_VERSION: &str = "2011-06-15";

/// The `content-type` of the form bodies ferry sends.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
