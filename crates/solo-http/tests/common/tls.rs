//! A TLS test server: a certificate authority and a certificate for
//! `localhost` made by rcgen, rustls (ring) through futures-rustls, and the
//! routes of the plain server over HTTP/1.1 or HTTP/2 by ALPN.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use solo::net::TcpStream;

use super::{route, start_raw, Server};

/// Runs hyper's HTTP/2 server tasks on solo.
#[derive(Clone, Copy)]
pub struct LocalExec;

impl<F: Future + 'static> hyper::rt::Executor<F> for LocalExec {
    fn execute(&self, fut: F) {
        drop(solo::spawn(fut));
    }
}

/// A CA (its DER certificate, to trust) and a leaf for `localhost` it
/// signed (certificate chain and key, to serve).
pub struct Pki {
    pub ca_der: Vec<u8>,
    /// The CA's certificate in PEM.
    pub ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
    /// The leaf's certificate and key in PEM, for servers that read files.
    pub cert_pem: String,
    pub key_pem: String,
}

impl Pki {
    pub fn new() -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A name of its own (rcgen gives every certificate the same one),
        // so a certificate of another test CA is from an unknown issuer,
        // as between real CAs.
        static CAS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = CAS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("solo test CA {n}"));
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        Pki {
            ca_der: ca_cert.der().to_vec(),
            ca_pem: ca_cert.pem(),
            chain: vec![leaf.der().clone()],
            key: leaf_key.serialize_der(),
            cert_pem: leaf.pem(),
            key_pem: leaf_key.serialize_pem(),
        }
    }

    /// One self-signed certificate for `localhost` that is also a CA
    /// (basicConstraints CA:TRUE), as `openssl req -x509` makes by
    /// default: served, and trusted as its own root.
    pub fn self_signed_ca() -> Pki {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        Pki {
            ca_der: cert.der().to_vec(),
            ca_pem: cert.pem(),
            chain: vec![cert.der().clone()],
            key: key.serialize_der(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    fn server_config(&self, alpn: &[&[u8]]) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth();
        self.finish(builder, alpn)
    }

    /// Server settings (ALPN `h2` and `http/1.1` if `h2`, else the
    /// latter) that require a client certificate signed by `client_ca`
    /// (DER); only TLS 1.2 if `tls12`, else 1.3 and 1.2.
    pub fn requiring_client_cert(
        &self,
        client_ca: &[u8],
        tls12: bool,
        h2: bool,
    ) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from(client_ca.to_vec())).unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .unwrap();
        let versions: &[&rustls::SupportedProtocolVersion] = match tls12 {
            true => &[&rustls::version::TLS12],
            false => rustls::DEFAULT_VERSIONS,
        };
        let builder = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_client_cert_verifier(verifier);
        let alpn: &[&[u8]] = if h2 {
            &[b"h2", b"http/1.1"]
        } else {
            &[b"http/1.1"]
        };
        self.finish(builder, alpn)
    }

    fn finish(
        &self,
        builder: rustls::ConfigBuilder<rustls::ServerConfig, rustls::server::WantsServerCert>,
        alpn: &[&[u8]],
    ) -> Arc<rustls::ServerConfig> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()));
        let mut config = builder.with_single_cert(self.chain.clone(), key).unwrap();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }
}

impl Default for Pki {
    fn default() -> Pki {
        Pki::new()
    }
}

/// How a TLS test server behaves.
pub struct TlsOptions {
    /// Offer HTTP/2 by ALPN (else only HTTP/1.1).
    pub h2: bool,
    /// Close each connection this long after accepting it.
    pub lifetime: Option<Duration>,
    /// HTTP/2's limit of concurrent streams per connection (hyper's
    /// default when `None`).
    pub max_streams: Option<u32>,
}

/// HTTP/1.1 only, and HTTP/2 offered, with no other fault.
pub const H1: TlsOptions = TlsOptions {
    h2: false,
    lifetime: None,
    max_streams: None,
};
pub const H2: TlsOptions = TlsOptions {
    h2: true,
    lifetime: None,
    max_streams: None,
};

/// A client that trusts the test CA, with more settings from `more`.
pub fn trusting_with(
    pki: &Pki,
    more: impl FnOnce(solo_http::ClientBuilder) -> solo_http::ClientBuilder,
) -> solo_http::Client {
    more(solo_http::Client::builder().add_root_certificate(pki.ca_der.clone()))
        .build()
        .unwrap()
}

/// Starts a TLS server on 127.0.0.1 serving the test routes.
pub async fn start_tls(pki: &Pki, opts: TlsOptions) -> Server {
    let alpn: &[&[u8]] = if opts.h2 {
        &[b"h2", b"http/1.1"]
    } else {
        &[b"http/1.1"]
    };
    let acceptor = futures_rustls::TlsAcceptor::from(pki.server_config(alpn));
    let (lifetime, max_streams) = (opts.lifetime, opts.max_streams);
    start_raw(move |stream: TcpStream| {
        let acceptor = acceptor.clone();
        async move {
            let serve = serve_tls(acceptor, stream, max_streams);
            match lifetime {
                Some(d) => drop(solo::timeout(d, serve).await),
                None => serve.await,
            }
        }
    })
    .await
}

/// Starts a TLS server with `config` on 127.0.0.1 serving the test
/// routes (HTTP/2 if its ALPN offers it and the client takes it).
pub async fn start_tls_with(config: Arc<rustls::ServerConfig>) -> Server {
    let acceptor = futures_rustls::TlsAcceptor::from(config);
    start_raw(move |stream: TcpStream| serve_tls(acceptor.clone(), stream, None)).await
}

/// Starts a TLS server (HTTP/1.1 by ALPN) on 127.0.0.1: `handle` gets
/// each connection after the handshake, to write what it likes.
pub async fn start_tls_raw<F, Fut>(pki: &Pki, handle: F) -> Server
where
    F: Fn(futures_rustls::server::TlsStream<TcpStream>) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let acceptor = futures_rustls::TlsAcceptor::from(pki.server_config(&[b"http/1.1"]));
    let handle = std::rc::Rc::new(handle);
    start_raw(move |stream: TcpStream| {
        let (acceptor, handle) = (acceptor.clone(), handle.clone());
        async move {
            if let Ok(tls) = acceptor.accept(stream).await {
                handle(tls).await;
            }
        }
    })
    .await
}

async fn serve_tls(
    acceptor: futures_rustls::TlsAcceptor,
    stream: TcpStream,
    max_streams: Option<u32>,
) {
    let addr = stream.local_addr().unwrap();
    let Ok(tls) = acceptor.accept(stream).await else {
        return;
    };
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    let io = hyper_util::rt::TokioIo::new(solo::compat::TokioIo::new(tls));
    let service = hyper::service::service_fn(move |req| route(req, addr));
    if h2 {
        let _ = hyper::server::conn::http2::Builder::new(LocalExec)
            .max_concurrent_streams(max_streams)
            .serve_connection(io, service)
            .await;
    } else {
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(io, service)
            .await;
    }
}

/// `https://localhost:PORT{path}`.
pub fn https_url(s: &Server, path: &str) -> String {
    format!("https://localhost:{}{path}", s.addr.port())
}

/// A TLS connection of [`start_tls_raw`].
pub type ServerTls = futures_rustls::server::TlsStream<TcpStream>;

/// Reads a request head (up to the blank line) from `tls`; `None` at EOF.
pub async fn tls_read_head(tls: &mut ServerTls) -> Option<String> {
    use futures_io::AsyncRead;
    let mut buf = Vec::new();
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let mut b = [0u8; 1024];
        let n = std::future::poll_fn(|cx| std::pin::Pin::new(&mut *tls).poll_read(cx, &mut b))
            .await
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&b[..n]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// Writes all of `data` to `tls` and flushes it; with `close_notify`,
/// then ends TLS properly (else the caller drops the connection, which
/// closes TCP without TLS's goodbye).
pub async fn tls_write(tls: &mut ServerTls, mut data: &[u8], close_notify: bool) {
    use futures_io::AsyncWrite;
    use std::pin::Pin;
    while !data.is_empty() {
        match std::future::poll_fn(|cx| Pin::new(&mut *tls).poll_write(cx, data)).await {
            Ok(n) if n > 0 => data = &data[n..],
            _ => return,
        }
    }
    let _ = std::future::poll_fn(|cx| Pin::new(&mut *tls).poll_flush(cx)).await;
    if close_notify {
        let _ = std::future::poll_fn(|cx| Pin::new(&mut *tls).poll_close(cx)).await;
    }
}
