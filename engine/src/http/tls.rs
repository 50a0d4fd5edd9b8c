//! TLS for the connector: rustls with the system's roots, or only the roots of a CA bundle
//! (`--ca-bundle` / `AWS_CA_BUNDLE`), as the AWS CLI does.

use super::HttpError;
use rustls::RootCertStore;
use std::path::Path;
use std::sync::Arc;

/// Builds the rustls client configuration.
pub(crate) fn client_config(ca_bundle: Option<&Path>) -> Result<rustls::ClientConfig, HttpError> {
    let roots = match ca_bundle {
        Some(path) => bundle_roots(path)?,
        None => system_roots(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::Tls {
            message: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::debug!(%error, "skipping a system certificate store");
    }
    let (added, ignored) = roots.add_parsable_certificates(found.certs);
    tracing::debug!(added, ignored, "loaded system root certificates");
    roots
}

fn bundle_roots(path: &Path) -> Result<RootCertStore, HttpError> {
    let bad = |message: String| HttpError::CaBundle {
        path: path.to_path_buf(),
        message,
    };
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let mut roots = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| bad(format!("not a PEM certificate: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| bad(format!("unusable certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(bad("holds no PEM certificate".into()));
    }
    Ok(roots)
}
