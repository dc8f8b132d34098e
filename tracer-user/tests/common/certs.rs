//! Certificates made by the TLS tests themselves (rcgen): a CA, a server
//! certificate for 127.0.0.1/localhost signed by it, a client certificate
//! signed by it, and an unrelated CA. Written as PEM files into a directory.

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use std::path::{Path, PathBuf};

pub struct Certs {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A CA that signed none of these.
    pub other_ca: PathBuf,
}

fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let key = KeyPair::generate().unwrap();
    (p.self_signed(&key).unwrap(), key)
}

fn leaf(names: &[&str], usage: ExtendedKeyUsagePurpose, ca: &rcgen::Certificate, ca_key: &KeyPair) -> (String, String) {
    let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name.push(DnType::CommonName, names.first().copied().unwrap_or("tracer test client"));
    p.extended_key_usages = vec![usage];
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, ca, ca_key).unwrap();
    (cert.pem(), key.serialize_pem())
}

impl Certs {
    pub fn make(dir: &Path) -> Certs {
        let (ca_cert, ca_key) = ca("tracer test CA");
        let (other, _) = ca("tracer test CA");
        let (server_cert, server_key) = leaf(&["127.0.0.1", "localhost"], ExtendedKeyUsagePurpose::ServerAuth, &ca_cert, &ca_key);
        let (client_cert, client_key) = leaf(&["tracer-client"], ExtendedKeyUsagePurpose::ClientAuth, &ca_cert, &ca_key);
        let w = |name: &str, pem: &str| {
            let p = dir.join(name);
            std::fs::write(&p, pem).unwrap();
            p
        };
        Certs {
            ca: w("ca.pem", &ca_cert.pem()),
            server_cert: w("server.pem", &server_cert),
            server_key: w("server.key", &server_key),
            client_cert: w("client.pem", &client_cert),
            client_key: w("client.key", &client_key),
            other_ca: w("other-ca.pem", &other.pem()),
        }
    }
}
