//! Trust roots for every HTTPS call: the Mozilla roots compiled in (the
//! webpki-roots crate ureq already ships) plus every certificate in the PEM
//! files named by `SSL_CERT_FILE` and `AWS_CA_BUNDLE`, read once at init.
//!
//! "Plus", not "instead": behind a TLS-inspecting proxy the Cresta calls carry
//! the company's CA while a Secrets Manager VPC endpoint in `NO_PROXY` still
//! presents Amazon's public chain, and both must verify. When neither
//! variable is set nothing is read: the cold start does no file I/O.

use crate::error::Error;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

/// The variables naming extra PEM bundles, in the order they are read.
pub const VARIABLES: [&str; 2] = ["SSL_CERT_FILE", "AWS_CA_BUNDLE"];

/// Largest bundle read; a system bundle is about 200 KB.
const MAX_BUNDLE_BYTES: u64 = 16 * 1024 * 1024;

/// The extra certificates (DER), beside the compiled-in Mozilla roots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    extra: Vec<Vec<u8>>,
}

impl Trust {
    /// Reads the bundles named by [`VARIABLES`]. An unreadable file, one with
    /// no certificate or one with a certificate that cannot be a trust root is
    /// an error naming the variable.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Trust, Error> {
        let mut extra = Vec::new();
        for var in VARIABLES {
            let Some(path) = get(var).filter(|p| !p.trim().is_empty()) else {
                continue;
            };
            let bytes = read_bundle(&path).map_err(|why| {
                Error::config(
                    "InvalidSetting",
                    format!("{var}={path:?} cannot be read: {why}"),
                )
            })?;
            extra.extend(parse_bundle(var, &path, &bytes)?);
        }
        Ok(Trust { extra })
    }

    /// How many certificates the bundles added.
    pub fn extra_count(&self) -> usize {
        self.extra.len()
    }

    /// The Mozilla roots plus the extra certificates.
    pub fn root_store(&self) -> RootCertStore {
        let mut store = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        // Each one was checked by parse_bundle, so none is ignored here.
        store.add_parsable_certificates(self.extra.iter().map(|d| CertificateDer::from(&d[..])));
        store
    }
}

fn read_bundle(path: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_BUNDLE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_BUNDLE_BYTES {
        return Err(format!("larger than {MAX_BUNDLE_BYTES} bytes"));
    }
    Ok(bytes)
}

/// The certificates of a PEM bundle (other PEM items, such as keys, are
/// skipped). Each must be usable as a trust root.
pub fn parse_bundle(var: &str, path: &str, pem: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let bad = |why: String| Error::config("InvalidSetting", format!("{var}={path:?} {why}"));
    let mut certs = Vec::new();
    for (n, item) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let der = item.map_err(|e| bad(format!("is not a valid PEM file: {e}")))?;
        let mut probe = RootCertStore::empty();
        probe.add(der.clone()).map_err(|e| {
            bad(format!(
                "holds a certificate (number {}) that cannot be a trust root: {e}",
                n + 1
            ))
        })?;
        certs.push(der.to_vec());
    }
    if certs.is_empty() {
        return Err(bad(
            "holds no certificate (expected PEM blocks: -----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_variable_means_no_extra_roots_and_no_file_read() {
        // A lookup that fails the test if anything but the two names is asked.
        let t = Trust::from_env(&|k| {
            assert!(VARIABLES.contains(&k), "{k}");
            None
        })
        .unwrap();
        assert_eq!(t.extra_count(), 0);
        assert_eq!(
            t.root_store().len(),
            webpki_roots::TLS_SERVER_ROOTS.len(),
            "the Mozilla roots are always there"
        );
        let empty = Trust::from_env(&|_| Some("  ".into())).unwrap();
        assert_eq!(empty.extra_count(), 0);
    }

    fn ca_pem(name: &str) -> String {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate().unwrap();
        let der = params.self_signed(&key).unwrap().der().to_vec();
        let b64 = crate::auth::base64(&der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    }

    #[test]
    fn every_certificate_of_a_bundle_is_added_to_the_mozilla_roots() {
        let bundle = format!(
            "comment lines are fine\n{}{}-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
            ca_pem("one"),
            ca_pem("two")
        );
        let certs = parse_bundle("SSL_CERT_FILE", "/opt/ca.pem", bundle.as_bytes()).unwrap();
        assert_eq!(certs.len(), 2, "the key is skipped");
        let crlf = bundle.replace('\n', "\r\n");
        let same = parse_bundle("SSL_CERT_FILE", "/opt/ca.pem", crlf.as_bytes()).unwrap();
        assert_eq!(same, certs, "CRLF line ends are fine");
        let t = Trust { extra: certs };
        assert_eq!(
            t.root_store().len(),
            webpki_roots::TLS_SERVER_ROOTS.len() + 2
        );
    }

    #[test]
    fn bundles_without_a_certificate_are_refused_naming_the_variable() {
        for pem in [
            &b""[..],
            b"just text\n",
            b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
        ] {
            let e = parse_bundle("AWS_CA_BUNDLE", "/opt/ca.pem", pem).unwrap_err();
            assert_eq!(e.error_type(), "Config.InvalidSetting");
            assert!(e.message().contains("AWS_CA_BUNDLE"), "{e}");
            assert!(e.message().contains("no certificate"), "{e}");
        }
        let e = parse_bundle(
            "SSL_CERT_FILE",
            "/x",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap_err();
        assert!(e.message().starts_with("SSL_CERT_FILE=\"/x\""), "{e}");
        assert!(e.message().contains("trust root"), "{e}");
    }

    #[test]
    fn an_unreadable_file_names_the_variable() {
        let e =
            Trust::from_env(&|k| (k == "SSL_CERT_FILE").then(|| "/nonexistent/ca.pem".to_string()))
                .unwrap_err();
        assert_eq!(e.error_type(), "Config.InvalidSetting");
        assert!(e.message().contains("SSL_CERT_FILE"), "{e}");
        assert!(e.message().contains("cannot be read"), "{e}");
    }
}
