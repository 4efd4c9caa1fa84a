//! TLS for the syslog listener: a rustls server configuration from a certificate chain and a
//! private key in PEM files, with the `ring` provider named explicitly (the workspace enables
//! both ring and aws-lc-rs, and rustls refuses to guess).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::error::SensorError;

/// The process's rustls crypto provider: ring.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// An acceptor for `cert` (PEM chain) and `key` (PEM private key).
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, SensorError> {
    let tls = |path: &Path, message: String| SensorError::Tls {
        path: path.to_owned(),
        message,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| tls(cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| tls(cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(tls(cert, "no certificate in the file".into()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| tls(key, e.to_string()))?;
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| tls(key, e.to_string()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
