//! The TLS link of the connection chain: rustls with the process's trust
//! roots ([`crate::trust`]), one client configuration for the life of the
//! process (so TLS sessions resume across connections), and handshake
//! failures turned into a [`TlsFailure`] that says in words what failed.
//!
//! ureq's own `RustlsConnector` rebuilds its rustls configuration for every
//! connection made with per-request settings (ours carry the deadline), and
//! reports a bad certificate as a bare I/O error; this one does neither.
//! It uses ureq's semver-exempt `unversioned` API: Cargo.lock pins ureq.

use crate::trust::Trust;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use std::io::{Read, Write};
use std::sync::{Arc, OnceLock};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
    TransportAdapter,
};

/// A TLS handshake the client refused (or the server broke): permanent,
/// never retried. Carried inside `ureq::Error::Other`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFailure {
    /// The host the certificate was checked against.
    pub host: String,
    /// What failed, in words.
    pub reason: String,
}

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TLS handshake with {} failed: {}",
            self.host, self.reason
        )
    }
}

impl std::error::Error for TlsFailure {}

/// Wraps the chained transport in TLS when the target is https.
pub struct TlsConnector {
    trust: Trust,
    config: OnceLock<Arc<ClientConfig>>,
}

impl TlsConnector {
    /// The configuration is built at the first TLS connection, not at init.
    pub fn new(trust: Trust) -> TlsConnector {
        TlsConnector {
            trust,
            config: OnceLock::new(),
        }
    }

    fn config(&self) -> Arc<ClientConfig> {
        self.config
            .get_or_init(|| {
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let config = ClientConfig::builder_with_provider(provider)
                    .with_protocol_versions(rustls::ALL_VERSIONS)
                    .expect("ring supports every TLS version rustls has")
                    .with_root_certificates(self.trust.root_store())
                    .with_no_client_auth();
                Arc::new(config)
            })
            .clone()
    }
}

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TlsConnector({} extra roots)", self.trust.extra_count())
    }
}

impl<In: Transport> Connector<In> for TlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let host = details
            .uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let failure = |reason: String| {
            ureq::Error::Other(Box::new(TlsFailure {
                host: host.clone(),
                reason,
            }))
        };
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|_| failure("the host is not a valid TLS server name".into()))?;
        let mut conn =
            ClientConnection::new(self.config(), name).map_err(|e| failure(describe(&e)))?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        sock.set_timeout(crate::transport::remaining(details));
        while conn.is_handshaking() {
            if let Err(e) = conn.complete_io(&mut sock) {
                return Err(handshake_error(e, &failure));
            }
        }
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(Either::B(TlsTransport {
            buffers,
            stream: StreamOwned { conn, sock },
        })))
    }
}

/// A rustls error inside the I/O error is the handshake's verdict; anything
/// else (reset, timeout) is a transport failure like any other.
fn handshake_error(e: std::io::Error, failure: &dyn Fn(String) -> ureq::Error) -> ureq::Error {
    if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return failure(describe(tls));
    }
    match e.get_ref().and_then(|i| i.downcast_ref::<ureq::Error>()) {
        Some(ureq::Error::Timeout(t)) => ureq::Error::Timeout(*t),
        _ => ureq::Error::Io(e),
    }
}

/// What a rustls error means, in words a deployer can act on.
pub fn describe(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => "the server's certificate is signed by an unknown certificate authority (not among the Mozilla roots nor in SSL_CERT_FILE / AWS_CA_BUNDLE)".into(),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "the server's certificate is for another host name".into()
            }
            C::Expired | C::ExpiredContext { .. } => "the server's certificate has expired".into(),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "the server's certificate is not valid yet (check the clock)".into()
            }
            C::Revoked => "the server's certificate has been revoked".into(),
            C::BadSignature => "the server's certificate has a bad signature".into(),
            C::BadEncoding => "the server's certificate cannot be decoded".into(),
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
                "the server's certificate is not for TLS server use".into()
            }
            other => format!("the server's certificate was refused ({other:?})"),
        },
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "the server did not speak TLS (is the URL http:// rather than https://?)".into()
        }
        rustls::Error::AlertReceived(alert) => format!("the server refused the handshake ({alert:?})"),
        rustls::Error::PeerIncompatible(why) => {
            format!("the server offers no TLS version or cipher in common ({why:?})")
        }
        other => format!("{other}"),
    }
}

/// A connection in TLS.
pub struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

impl std::fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTransport").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::CertificateError as C;

    #[test]
    fn certificate_failures_read_in_words() {
        let cert = |c| describe(&rustls::Error::InvalidCertificate(c));
        assert!(cert(C::UnknownIssuer).contains("unknown certificate authority"));
        assert!(cert(C::UnknownIssuer).contains("SSL_CERT_FILE"));
        assert!(cert(C::NotValidForName).contains("another host name"));
        assert!(cert(C::Expired).contains("expired"));
        assert!(describe(&rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType
        ))
        .contains("did not speak TLS"));
    }
}
