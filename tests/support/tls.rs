//! A test certificate authority made when the tests run (nothing is
//! committed, nothing can expire in the repository), its leaf certificates,
//! and the rustls server configurations the HTTPS stand-ins serve them with.

#![allow(dead_code)]

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Host names and addresses every leaf is valid for unless told otherwise.
pub const LOCAL_NAMES: &[&str] = &[
    "127.0.0.1",
    "localhost",
    "api.cresta.test",
    "auth.cresta.test",
];

/// How a leaf certificate should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf {
    /// Valid for [`LOCAL_NAMES`].
    Good,
    /// Valid, but only for `other.example`.
    WrongHost,
    /// For [`LOCAL_NAMES`], but it expired in 2021.
    Expired,
}

/// A CA with its key, able to sign leaves.
pub struct TestPki {
    ca: rcgen::Certificate,
    ca_key: KeyPair,
    name: String,
}

impl TestPki {
    /// A new CA, named `name` (the name shows in the certificates only).
    pub fn new(name: &str) -> TestPki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().unwrap();
        let ca = params.self_signed(&ca_key).unwrap();
        TestPki {
            ca,
            ca_key,
            name: name.to_string(),
        }
    }

    /// The CA certificate, PEM (written here: rcgen's `pem` feature would
    /// bring a second base64 crate into the tree).
    pub fn ca_pem(&self) -> String {
        let b64 = super::cresta::base64_bytes(self.ca.der());
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }

    /// Writes the CA certificate to a fresh file (for `SSL_CERT_FILE` or
    /// `AWS_CA_BUNDLE`) and returns its path.
    pub fn ca_file(&self) -> PathBuf {
        write_temp("ca.pem", self.ca_pem().as_bytes())
    }

    /// A leaf certificate chain and key signed by this CA.
    pub fn leaf(&self, kind: Leaf) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let names: Vec<String> = match kind {
            Leaf::WrongHost => vec!["other.example".into()],
            Leaf::Good | Leaf::Expired => LOCAL_NAMES.iter().map(|s| s.to_string()).collect(),
        };
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("leaf of {}", self.name));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        if kind == Leaf::Expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (vec![cert.der().clone(), self.ca.der().clone()], key_der)
    }

    /// A server configuration presenting a leaf of this CA.
    pub fn server_config(&self, kind: Leaf) -> Arc<rustls::ServerConfig> {
        let (chain, key) = self.leaf(kind);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        Arc::new(config)
    }
}

/// Writes `bytes` to a new file under the system's temporary directory.
pub fn write_temp(name: &str, bytes: &[u8]) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "connect-pstn-transfer-tests-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}
