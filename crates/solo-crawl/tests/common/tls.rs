//! An https (and plain http) test site served by hyper on solo, HTTP/1.1
//! with keep-alive, under a test CA made by rcgen; it counts the TCP
//! connections it accepts.

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
/// with a leaf it signed.
pub fn pki() -> (Vec<u8>, String, Arc<rustls::ServerConfig>) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der().clone()], key)
    .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    (ca_cert.der().to_vec(), ca_cert.pem(), Arc::new(config))
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
