//! TLS: the rustls client settings and the byte stream a connection runs on.
//!
//! Design: rustls with the `ring` provider does the cryptography;
//! `futures-rustls` drives it over any futures-io stream, which solo's
//! `TcpStream` is, so TLS needs no tokio and no unsafe code. The settings
//! are built once per [`Client`](crate::Client): the Mozilla roots from
//! `webpki-roots` (unless turned off) plus the roots the user added, and
//! ALPN offering `h2` then `http/1.1`, so the server picks HTTP/2 when it
//! can. `danger_accept_invalid_certs` swaps the certificate check for one
//! that accepts any certificate but still checks the handshake signatures.
//!
//! [`Stream`] is what a connection reads and writes: plain TCP or TLS over
//! TCP, one type, so the pool and hyper see a single I/O type.
//!
//! A server that closes the TCP connection without TLS's `close_notify`
//! (rustls reports `UnexpectedEof`) is read as the end of the stream, as
//! curl, Python (`suppress_ragged_eofs`) and browsers do: HTTP's own
//! framing then decides. A body with a `Content-Length` or chunked that
//! ends early is still an error (hyper's "incomplete body"), which is the
//! truncation `close_notify` protects against; a body delimited by the
//! connection closing (HTTP/1.0 style) has no length to check, so it ends
//! there, and a server with a truncating attacker on the path could cut
//! it short unnoticed (the price every client pays to read such servers).
//!
//! Roots added by the user are DER certificates, or PEM text holding one
//! or more `CERTIFICATE` sections (read by `rustls-pki-types`).
//!
//! A client certificate (mutual TLS, see `client_cert`) is offered when a
//! server asks for one; a server that requires one and gets none, or
//! refuses the one it got, fails the request with an error of kind `Tls`
//! that says so, whether the server said it during the handshake (TLS
//! 1.2) or in an alert right after it (TLS 1.3, where the client's side of
//! the handshake is over before the server checks its certificate: the
//! alert comes with the first read, see [`client_cert_refused`]).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use futures_rustls::client::TlsStream;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use solo::net::TcpStream;

use crate::client_cert::Identity;
use crate::error::{Error, ErrorKind};

/// What the user chose for TLS on the builder.
#[derive(Clone, Default)]
pub(crate) struct TlsOptions {
    pub(crate) extra_roots: Vec<Vec<u8>>,
    pub(crate) no_builtin_roots: bool,
    pub(crate) accept_invalid_certs: bool,
    pub(crate) http1_only: bool,
    /// The client certificate chain and key, PEM.
    pub(crate) identity: Option<Identity>,
}

/// Builds the rustls client settings for `opts`; an added root that is not
/// a valid DER certificate is an error of kind `Tls`.
pub(crate) fn client_config(opts: &TlsOptions) -> Result<Arc<ClientConfig>, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::Tls, "cannot set up TLS").with_source(e))?;
    let builder = if opts.accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
    } else {
        let mut roots = RootCertStore::empty();
        if !opts.no_builtin_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for (i, given) in opts.extra_roots.iter().enumerate() {
            for der in certificates(given, i + 1)? {
                roots.add(der).map_err(|e| bad_root(i + 1).with_source(e))?;
            }
        }
        builder.with_root_certificates(roots)
    };
    let mut config = match &opts.identity {
        None => builder.with_no_client_auth(),
        Some(identity) => identity.install(builder)?,
    };
    config.alpn_protocols = if opts.http1_only {
        vec![b"http/1.1".to_vec()]
    } else {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    };
    Ok(Arc::new(config))
}

/// The certificates of the `n`th added root: `given` itself (DER), or
/// each `CERTIFICATE` in it when it is PEM.
fn certificates(given: &[u8], n: usize) -> Result<Vec<CertificateDer<'static>>, Error> {
    if !given.trim_ascii_start().starts_with(b"-----BEGIN ") {
        return Ok(vec![CertificateDer::from(given.to_vec())]);
    }
    let certs = CertificateDer::pem_slice_iter(given)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_root(n).with_source(e))?;
    if certs.is_empty() {
        return Err(Error::new(
            ErrorKind::Tls,
            format!("root certificate #{n} is PEM without a CERTIFICATE section"),
        ));
    }
    Ok(certs)
}

/// The error of an added root that is not a certificate.
fn bad_root(n: usize) -> Error {
    Error::new(
        ErrorKind::Tls,
        format!(
            "invalid root certificate #{n} (add_root_certificate takes a certificate \
             in DER, or PEM text with -----BEGIN CERTIFICATE----- sections)"
        ),
    )
}

/// Runs the TLS handshake for `host` over `tcp`; true in the result when
/// the server chose HTTP/2 by ALPN. Any failure is of kind `Tls`.
pub(crate) async fn handshake(
    config: &Arc<ClientConfig>,
    host: &str,
    tcp: TcpStream,
) -> Result<(Stream, bool), Error> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(bare.to_owned()).map_err(|e| {
        Error::new(
            ErrorKind::Tls,
            format!("'{host}' is not a valid TLS server name"),
        )
        .with_source(e)
    })?;
    let connector = futures_rustls::TlsConnector::from(config.clone());
    let tls = connector.connect(name, tcp).await.map_err(|e| {
        let what = match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(rustls::Error::InvalidCertificate(c)) => certificate_problem(c),
            Some(r) => client_cert_refused(r).unwrap_or("TLS handshake failed"),
            None => "connection failed during the TLS handshake",
        };
        Error::new(ErrorKind::Tls, format!("{what} ({host})")).with_source(e)
    })?;
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    Ok((Stream::Tls(Box::new(tls)), h2))
}

/// The server alerts about the client's certificate (or its absence).
const CLIENT_CERT_ALERTS: [rustls::AlertDescription; 8] = {
    use rustls::AlertDescription as A;
    [
        A::CertificateRequired,
        A::BadCertificate,
        A::UnknownCA,
        A::UnsupportedCertificate,
        A::CertificateRevoked,
        A::CertificateExpired,
        A::CertificateUnknown,
        A::AccessDenied,
    ]
};

/// The words for a server's alert that refuses the client's certificate
/// (or its absence), when `e` is one.
pub(crate) fn client_cert_refused(e: &rustls::Error) -> Option<&'static str> {
    let rustls::Error::AlertReceived(alert) = e else {
        return None;
    };
    match alert {
        rustls::AlertDescription::CertificateRequired => Some(
            "the server requires a client certificate and none was sent \
             (ClientBuilder::client_cert)",
        ),
        a if CLIENT_CERT_ALERTS.contains(a) => Some("the server refused the client certificate"),
        _ => None,
    }
}

/// [`client_cert_refused`] for an I/O error that carries rustls' error,
/// or only its text: over HTTP/2 the `h2` crate hands each stream a new
/// `io::Error` with the text of the connection's.
pub(crate) fn client_cert_refused_io(e: &io::Error) -> Option<&'static str> {
    if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return client_cert_refused(tls);
    }
    let text = e.to_string();
    CLIENT_CERT_ALERTS.iter().find_map(|a| {
        let alert = rustls::Error::AlertReceived(*a);
        (alert.to_string() == text).then(|| client_cert_refused(&alert))?
    })
}

/// What is wrong with a server's certificate, in words (the name is only
/// blamed when it is the name that does not match).
fn certificate_problem(e: &rustls::CertificateError) -> &'static str {
    use rustls::CertificateError as C;
    match e {
        C::UnknownIssuer => {
            "the server's certificate is signed by an authority that is not trusted \
             (add its CA to the trusted roots: ClientBuilder::add_root_certificate)"
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "the server's certificate is not valid for this host name"
        }
        C::Expired | C::ExpiredContext { .. } => "the server's certificate has expired",
        C::NotValidYet | C::NotValidYetContext { .. } => {
            "the server's certificate is not valid yet"
        }
        C::Revoked => "the server's certificate is revoked",
        // webpki's error, which rustls passes on as an `Other`.
        C::Other(o) if o.to_string().contains("CaUsedAsEndEntity") => {
            "the server's certificate is a CA certificate (basicConstraints CA:TRUE, \
             what `openssl req -x509` makes by default), which is not accepted as a \
             server's own: have that CA sign a server certificate (CA:FALSE), or skip \
             verification for a test server (ClientBuilder::danger_accept_invalid_certs)"
        }
        _ => "the server's certificate is not valid",
    }
}

/// A connection's byte stream: plain TCP, or TLS over TCP.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => match Pin::new(&mut **s).poll_read(cx, buf) {
                // TCP closed without close_notify: the end (see the
                // module docs).
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    Poll::Ready(Ok(0))
                }
                other => other,
            },
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(&mut **s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(&mut **s).poll_write_vectored(cx, bufs),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(&mut **s).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_close(cx),
            Stream::Tls(s) => Pin::new(&mut **s).poll_close(cx),
        }
    }
}

/// The verifier behind `danger_accept_invalid_certs`: any certificate
/// chain passes; the handshake signatures are still checked, so the peer
/// must hold the key of the certificate it shows.
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpn_offers_h2_unless_http1_only() {
        let c = client_config(&TlsOptions::default()).unwrap();
        assert_eq!(c.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
        let opts = TlsOptions {
            http1_only: true,
            ..TlsOptions::default()
        };
        assert_eq!(
            client_config(&opts).unwrap().alpn_protocols,
            [b"http/1.1".to_vec()]
        );
    }

    fn roots(extra_roots: Vec<Vec<u8>>) -> Result<Arc<ClientConfig>, Error> {
        client_config(&TlsOptions {
            extra_roots,
            ..TlsOptions::default()
        })
    }

    #[test]
    fn a_bad_root_is_a_tls_error_that_says_der_or_pem() {
        let e = roots(vec![b"not a certificate".to_vec()]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Tls);
        assert!(e.to_string().contains("DER, or PEM"), "{e}");
        // PEM that is not a certificate, or broken PEM.
        let key = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let e = roots(vec![key.to_vec()]).unwrap_err();
        assert!(e.to_string().contains("without a CERTIFICATE"), "{e}");
        let cut = b"-----BEGIN CERTIFICATE-----\nAAAA\n".to_vec();
        let e = roots(vec![cut]).unwrap_err();
        assert!(e.to_string().contains("certificate #1"), "{e}");
        assert!(e.to_string().contains("DER, or PEM"), "{e}");
    }
}
