//! TLS trust for an on-prem Kingdee: the public roots plus the certificates in `ca_file`.
//!
//! `ca_file` may hold a CA that issued the server's certificate (verified as usual: chain, name,
//! validity), or the server's own certificate, PEM or DER (a `.cer` exported from Windows). A
//! certificate the server presents that is byte-for-byte one of those is *pinned*: it is trusted
//! whatever its names, CA flag or dates, because the consultant handed over exactly that
//! certificate. Self-signed IIS certificates often name the machine rather than the address in
//! `base_url`, or carry `CA:TRUE`, and plain webpki refuses both. The handshake signature is
//! still checked, so only a server holding that certificate's private key gets through.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Reads `path`: a PEM bundle (any number of `CERTIFICATE` blocks) or one DER certificate.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read the Kingdee CA file {}: {e}", path.display()))?;
    let looks_pem = bytes.windows(10).any(|w| w == b"-----BEGIN");
    let certs = if looks_pem {
        CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                format!(
                    "the Kingdee CA file {} is not a valid PEM certificate: {e}",
                    path.display()
                )
            })?
    } else if bytes.first() == Some(&0x30) {
        // DER: an X.509 certificate is one ASN.1 SEQUENCE. webpki parses it below.
        vec![CertificateDer::from(bytes)]
    } else {
        Vec::new()
    };
    if certs.is_empty() {
        return Err(format!(
            "the Kingdee CA file {} holds no certificate (expected PEM \
             \"-----BEGIN CERTIFICATE-----\" or a DER .cer file)",
            path.display()
        ));
    }
    Ok(certs)
}

/// A rustls client configuration trusting the public roots, the CAs in `certs` and, pinned,
/// each of `certs` itself.
pub fn client_config(
    certs: Vec<CertificateDer<'static>>,
    path: &Path,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in &certs {
        // A certificate webpki cannot use as an anchor (an X.509 v1 certificate, say) can
        // still be pinned.
        if let Err(e) = roots.add(cert.clone()) {
            tracing::debug!(file = %path.display(), error = %e, "CA file certificate is pin-only");
        }
    }
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("cannot use the Kingdee CA file {}: {e}", path.display()))?;
    let verifier = Arc::new(PinnedOrWebPki {
        pinned: certs,
        inner,
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

/// Trusts a server certificate equal to a pinned one; everything else goes through webpki.
#[derive(Debug)]
struct PinnedOrWebPki {
    pinned: Vec<CertificateDer<'static>>,
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for PinnedOrWebPki {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            return Ok(ServerCertVerified::assertion());
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
