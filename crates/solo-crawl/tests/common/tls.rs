//! An https (and plain http) test site served by hyper on solo, HTTP/1.1
//! with keep-alive or HTTP/2 (by ALPN), under a test CA made by rcgen; it
//! counts the TCP connections it accepts.

use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use solo::net::{TcpListener, TcpStream};

/// Pages `/p/0` .. `/p/{PAGES-1}`, linked from `/` and each to the next.
pub const PAGES: usize = 40;

/// A CA certificate (DER and PEM, to trust) and a server config for `localhost`
/// with a leaf it signed (HTTP/1.1 only).
pub fn pki() -> (Vec<u8>, String, Arc<rustls::ServerConfig>) {
    pki_alpn(&[b"http/1.1"])
}

/// [`pki`], offering these ALPN protocols (in order of preference).
pub fn pki_alpn(alpn: &[&[u8]]) -> (Vec<u8>, String, Arc<rustls::ServerConfig>) {
    pki_for(&["localhost"], alpn)
}

/// A test CA, and a leaf for these DNS names it signed, with its key.
fn issue(names: &[&str]) -> (rcgen::Certificate, rcgen::Certificate, KeyPair) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let leaf = CertificateParams::new(names)
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    (ca_cert, leaf, leaf_key)
}

/// One self-signed certificate for `localhost` that is also a CA
/// (basicConstraints CA:TRUE, as `openssl req -x509` makes by default):
/// its DER (to trust) and a server config that serves it.
pub fn self_signed_ca() -> (Vec<u8>, Arc<rustls::ServerConfig>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    let config = serving(&cert, &key, &[]);
    (cert.der().to_vec(), config)
}

/// A server config (rustls, ring) serving `cert` with `key`, offering
/// these ALPN protocols.
fn serving(cert: &rcgen::Certificate, key: &KeyPair, alpn: &[&[u8]]) -> Arc<rustls::ServerConfig> {
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.der().clone()], der)
    .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// [`pki_for`] in PEM, for servers that read files (nginx): the CA (to
/// trust, `--ca-cert`), the leaf certificate and its key.
pub fn pki_pem(names: &[&str]) -> (String, String, String) {
    let (ca, leaf, key) = issue(names);
    (ca.pem(), leaf.pem(), key.serialize_pem())
}

/// [`pki_alpn`] with a leaf for these DNS names.
pub fn pki_for(names: &[&str], alpn: &[&[u8]]) -> (Vec<u8>, String, Arc<rustls::ServerConfig>) {
    let (ca_cert, leaf, leaf_key) = issue(names);
    let config = serving(&leaf, &leaf_key, alpn);
    (ca_cert.der().to_vec(), ca_cert.pem(), config)
}

fn route(path: &str) -> hyper::Response<Full<Bytes>> {
    let links: Vec<String> = if path == "/" {
        (0..PAGES).map(|i| format!("/p/{i}")).collect()
    } else if let Some(i) = path
        .strip_prefix("/p/")
        .and_then(|i| i.parse::<usize>().ok())
    {
        vec![format!("/p/{}", (i + 1) % PAGES), "/".to_owned()]
    } else {
        return hyper::Response::builder()
            .status(404)
            .body(Full::new(Bytes::new()))
            .unwrap();
    };
    let mut html = format!("<html><head><title>{path}</title></head><body>");
    for l in links {
        html.push_str(&format!("<a href=\"{l}\">{l}</a>\n"));
    }
    html.push_str("</body></html>");
    hyper::Response::builder()
        .header("content-type", "text/html; charset=utf-8")
        .body(Full::new(Bytes::from(html)))
        .unwrap()
}

/// Runs hyper's background futures (HTTP/2 streams) as solo tasks.
#[derive(Clone, Copy)]
struct SoloExec;

impl<F> hyper::rt::Executor<F> for SoloExec
where
    F: Future + 'static,
{
    fn execute(&self, fut: F) {
        solo::spawn(async move {
            fut.await;
        });
    }
}

/// Serves HTTP/2 on `io` until the client closes it; counts the requests
/// that came as HTTP/2 and the most streams open at once.
pub async fn serve_http2<I>(
    io: I,
    h2_requests: Rc<Cell<usize>>,
    streams: Rc<(Cell<usize>, Cell<usize>)>,
) where
    I: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + 'static,
{
    let io = hyper_util::rt::TokioIo::new(solo::compat::TokioIo::new(io));
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let (h2, streams) = (h2_requests.clone(), streams.clone());
        async move {
            if req.version() == hyper::Version::HTTP_2 {
                h2.set(h2.get() + 1);
            }
            let (now, max) = (&streams.0, &streams.1);
            now.set(now.get() + 1);
            max.set(max.get().max(now.get()));
            // Slow enough that requests overlap on the connection.
            solo::sleep(std::time::Duration::from_millis(10)).await;
            now.set(now.get() - 1);
            Ok::<_, Infallible>(route(req.uri().path()))
        }
    });
    let _ = hyper::server::conn::http2::Builder::new(SoloExec)
        .serve_connection(io, service)
        .await;
}

/// Serves HTTP/1.1 (keep-alive) on `io` until the client closes it.
pub async fn serve_http1<I>(io: I)
where
    I: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + 'static,
{
    let io = hyper_util::rt::TokioIo::new(solo::compat::TokioIo::new(io));
    let service =
        hyper::service::service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
            Ok::<_, Infallible>(route(req.uri().path()))
        });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await;
}

/// Accepts connections on 127.0.0.1, each handled by `handle`; the port
/// and the count of connections accepted.
pub async fn start<F, Fut>(handle: F) -> (u16, Rc<Cell<usize>>)
where
    F: Fn(TcpStream) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Rc::new(Cell::new(0));
    let a = accepted.clone();
    solo::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            a.set(a.get() + 1);
            solo::spawn(handle(stream));
        }
    });
    (port, accepted)
}

pub async fn start_https(server: Arc<rustls::ServerConfig>) -> (u16, Rc<Cell<usize>>) {
    let acceptor = futures_rustls::TlsAcceptor::from(server);
    start(move |stream| {
        let acceptor = acceptor.clone();
        async move {
            if let Ok(tls) = acceptor.accept(stream).await {
                serve_http1(tls).await;
            }
        }
    })
    .await
}

/// The counters of an HTTP/2 test site.
pub struct H2Site {
    pub port: u16,
    /// TCP connections accepted.
    pub accepted: Rc<Cell<usize>>,
    /// Requests that arrived as HTTP/2.
    pub h2_requests: Rc<Cell<usize>>,
    /// (streams open now, most open at once).
    pub streams: Rc<(Cell<usize>, Cell<usize>)>,
}

/// An https site that speaks HTTP/2 to clients that offer it by ALPN (and
/// HTTP/1.1 to the others).
pub async fn start_https_h2(server: Arc<rustls::ServerConfig>) -> H2Site {
    let acceptor = futures_rustls::TlsAcceptor::from(server);
    let h2_requests = Rc::new(Cell::new(0));
    let streams = Rc::new((Cell::new(0), Cell::new(0)));
    let (h2, st) = (h2_requests.clone(), streams.clone());
    let (port, accepted) = start(move |stream| {
        let acceptor = acceptor.clone();
        let (h2, st) = (h2.clone(), st.clone());
        async move {
            if let Ok(tls) = acceptor.accept(stream).await {
                if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                    serve_http2(tls, h2, st).await;
                } else {
                    serve_http1(tls).await;
                }
            }
        }
    })
    .await;
    H2Site {
        port,
        accepted,
        h2_requests,
        streams,
    }
}
