//! TLS for the network sinks: `--tls-ca`, `--tls-cert`, `--tls-key`, turned
//! into one [`rustls::ClientConfig`] (ring provider; no OpenSSL, no
//! native-tls), shared by the Kafka sink, `--otlp https://`/`grpcs://`, and
//! `--socket tls:`/`--syslog tls:` (RFC 5425).
//!
//! Verification is always on: the broker's chain must lead to `--tls-ca`
//! (or, without it, to the system's trust store) and name the host dialled.
//! `--tls-cert` with `--tls-key` adds a client certificate (mutual TLS).
//! Files are read once, at startup, so a missing or unreadable file is a
//! usage error before anything is loaded.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The TLS flags every network sink shares.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
#[command(next_help_heading = "Output and operation")]
pub struct TlsArgs {
    /// Trust only the CA certificates in FILE (PEM) for TLS sinks (tls:, https://, grpcs://, Kafka); default: the system's trust store.
    #[arg(long, value_name = "FILE", env = "TRACER_TLS_CA")]
    pub tls_ca: Option<PathBuf>,

    /// Client certificate chain (PEM) for mutual TLS; needs --tls-key.
    #[arg(long, value_name = "FILE", env = "TRACER_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(long, value_name = "FILE", env = "TRACER_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl TlsArgs {
    /// Whether any TLS flag was given (which asks for TLS by itself).
    pub fn any(&self) -> bool {
        self.tls_ca.is_some() || self.tls_cert.is_some() || self.tls_key.is_some()
    }

    /// The client configuration these flags describe.
    pub fn client_config(&self) -> anyhow::Result<Arc<rustls::ClientConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        match &self.tls_ca {
            Some(ca) => {
                for c in read_certs(ca)? {
                    roots.add(c).with_context(|| format!("--tls-ca {}: not a usable CA certificate", ca.display()))?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                let (ok, _bad) = roots.add_parsable_certificates(found.certs);
                if ok == 0 {
                    bail!("TLS: no CA certificates found in the system's trust store; name one with --tls-ca FILE");
                }
            }
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS: no protocol versions")?
            .with_root_certificates(roots);
        let config = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => {
                let chain = read_certs(cert)?;
                let key_der = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| anyhow::anyhow!("--tls-key {}: no private key read ({e})", key.display()))?;
                builder
                    .with_client_auth_cert(chain, key_der)
                    .with_context(|| format!("--tls-cert {} / --tls-key {}: not a usable pair", cert.display(), key.display()))?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => bail!("--tls-cert and --tls-key go together"),
        };
        Ok(Arc::new(config))
    }
}

/// Every certificate in a PEM file; an error names the file.
fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("{}: not a PEM certificate file ({e})", path.display()))?;
    if certs.is_empty() {
        bail!("{}: no certificate in it (PEM \"BEGIN CERTIFICATE\" expected)", path.display());
    }
    Ok(certs)
}

/// A TLS error as one line a user can act on (rustls' own wording names
/// the cause, e.g. `invalid peer certificate: UnknownIssuer`).
pub fn explain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = c.source();
    }
    if s.contains("invalid peer certificate") {
        s.push_str(" (check --tls-ca and the server's certificate and host name)");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::ServerName;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls").join(name)
    }

    fn args(ca: Option<&str>, cert: Option<&str>, key: Option<&str>) -> TlsArgs {
        TlsArgs { tls_ca: ca.map(fixture), tls_cert: cert.map(fixture), tls_key: key.map(fixture) }
    }

    /// A server with `server.pem`, requiring a client certificate from
    /// `ca.pem` when `mtls`.
    fn server(mtls: bool) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let b = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider)).with_safe_default_protocol_versions().unwrap();
        let b = if mtls {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(read_certs(&fixture("ca.pem")).unwrap().remove(0)).unwrap();
            let v = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build().unwrap();
            b.with_client_cert_verifier(v)
        } else {
            b.with_no_client_auth()
        };
        let chain = read_certs(&fixture("server.pem")).unwrap();
        let key = PrivateKeyDer::from_pem_file(fixture("server.key")).unwrap();
        Arc::new(b.with_single_cert(chain, key).unwrap())
    }

    /// Runs a handshake in memory; the first error of either side.
    fn handshake(client: Arc<rustls::ClientConfig>, server: Arc<rustls::ServerConfig>, name: &str) -> Result<(), String> {
        let mut c = rustls::ClientConnection::new(client, ServerName::try_from(name.to_owned()).unwrap()).unwrap();
        let mut s = rustls::ServerConnection::new(server).unwrap();
        for _ in 0..20 {
            let mut buf = Vec::new();
            while c.wants_write() {
                c.write_tls(&mut buf).unwrap();
            }
            s.read_tls(&mut buf.as_slice()).unwrap();
            s.process_new_packets().map_err(|e| format!("server: {e}"))?;
            let mut buf = Vec::new();
            while s.wants_write() {
                s.write_tls(&mut buf).unwrap();
            }
            c.read_tls(&mut buf.as_slice()).unwrap();
            c.process_new_packets().map_err(|e| format!("client: {e}"))?;
            if !c.is_handshaking() && !s.is_handshaking() {
                // The server reads the client's last flight (its certificate).
                let mut buf = Vec::new();
                while c.wants_write() {
                    c.write_tls(&mut buf).unwrap();
                }
                s.read_tls(&mut buf.as_slice()).unwrap();
                s.process_new_packets().map_err(|e| format!("server: {e}"))?;
                return Ok(());
            }
        }
        Err("handshake did not finish".into())
    }

    #[test]
    fn a_good_chain_is_accepted_and_a_wrong_ca_or_name_refused() {
        let good = args(Some("ca.pem"), None, None).client_config().unwrap();
        assert_eq!(handshake(Arc::clone(&good), server(false), "localhost"), Ok(()));
        let wrong = args(Some("other-ca.pem"), None, None).client_config().unwrap();
        let e = handshake(wrong, server(false), "localhost").unwrap_err();
        assert!(e.contains("invalid peer certificate") && e.contains("UnknownIssuer"), "{e}");
        let e = handshake(good, server(false), "broker.example").unwrap_err();
        assert!(e.contains("invalid peer certificate"), "{e}");
    }

    #[test]
    fn mutual_tls_needs_the_client_certificate() {
        let with = args(Some("ca.pem"), Some("client.pem"), Some("client.key")).client_config().unwrap();
        assert_eq!(handshake(with, server(true), "localhost"), Ok(()));
        let without = args(Some("ca.pem"), None, None).client_config().unwrap();
        let e = handshake(without, server(true), "localhost").unwrap_err();
        assert!(e.starts_with("server:") && e.to_lowercase().contains("certificate"), "{e}");
    }

    #[test]
    fn bad_files_are_one_clear_error_naming_the_file() {
        let e = args(Some("missing.pem"), None, None).client_config().unwrap_err();
        assert!(format!("{e:#}").contains("missing.pem"), "{e:#}");
        // A key is not a certificate.
        let e = args(Some("client.key"), None, None).client_config().unwrap_err();
        assert!(format!("{e:#}").contains("client.key: no certificate"), "{e:#}");
        // A certificate is not a key.
        let e = args(Some("ca.pem"), Some("client.pem"), Some("client.pem")).client_config().unwrap_err();
        assert!(format!("{e:#}").contains("--tls-key") && format!("{e:#}").contains("client.pem"), "{e:#}");
        // A key that is not the certificate's.
        let e = args(Some("ca.pem"), Some("client.pem"), Some("server.key")).client_config().unwrap_err();
        assert!(format!("{e:#}").contains("not a usable pair"), "{e:#}");
    }
}
