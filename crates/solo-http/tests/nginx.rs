//! The client against nginx from Debian's packages, serving static files
//! (with gzip for text) on a free 127.0.0.1 port with a temp config.
//!
//! When no `nginx` binary is found, each test prints
//! "skipped: nginx not found" and passes (under `CI=true` it fails);
//! `.ci/run` installs nginx first.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

mod common;

use solo_http::{Client, StatusCode, Version};

/// A running nginx, stopped (and its directory removed) on drop.
struct Nginx {
    running: Option<common::nginx_process::Running>,
    dir: PathBuf,
    port: u16,
}

impl Nginx {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// How many connections nginx logged requests on.
    fn connections_logged(&self) -> usize {
        let log = std::fs::read_to_string(self.dir.join("access.log")).unwrap();
        let conns: std::collections::HashSet<&str> =
            log.lines().filter_map(|l| l.split(' ').next()).collect();
        conns.len()
    }

    fn file(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join("html").join(name)).unwrap()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        drop(self.running.take()); // stopped first
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A text file that gzips well (about 64 KiB of prose).
fn text_file() -> Vec<u8> {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < 64 << 10 {
        s.push_str(&format!(
            "line {i}: the quick brown fox jumps over the lazy dog.\n"
        ));
        i += 1;
    }
    s.into_bytes()
}

/// `n` bytes that do not repeat in a short period.
fn binary_file(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2654435761).max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// How the test nginx serves: plain HTTP/1.1 (the default), or TLS with
/// HTTP/2 and a small `keepalive_requests` (nginx then ends each
/// connection with a `GOAWAY` after that many streams).
#[derive(Default)]
struct Site {
    /// Certificate chain and key (PEM) for `listen ... ssl http2`.
    tls: Option<(String, String)>,
    keepalive_requests: Option<u32>,
    /// With `tls`: the CA (PEM) whose client certificates are required
    /// (`ssl_verify_client on`).
    client_ca: Option<String>,
}

fn config(dir: &Path, port: u16, site: &Site) -> String {
    let mut listen = format!("127.0.0.1:{port}");
    if let Some((cert, key)) = &site.tls {
        std::fs::write(dir.join("cert.pem"), cert).unwrap();
        std::fs::write(dir.join("key.pem"), key).unwrap();
        listen = format!(
            "{listen} ssl http2; ssl_certificate {dir}/cert.pem; ssl_certificate_key {dir}/key.pem",
            dir = dir.display()
        );
        if let Some(ca) = &site.client_ca {
            std::fs::write(dir.join("client-ca.pem"), ca).unwrap();
            listen = format!(
                "{listen}; ssl_client_certificate {dir}/client-ca.pem; ssl_verify_client on",
                dir = dir.display()
            );
        }
    }
    let keepalive_requests = site.keepalive_requests.unwrap_or(1_000_000);
    format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{
        text/plain txt;
        application/octet-stream bin;
    }}
    default_type application/octet-stream;
    log_format conn '$connection $status';
    access_log {dir}/access.log conn;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    keepalive_requests {keepalive_requests};
    keepalive_timeout 60s;
    gzip on;
    gzip_min_length 20;
    gzip_types text/plain;
    server {{
        listen {listen};
        root {dir}/html;
        add_header X-Conn $connection always;
    }}
}}
"#,
        dir = dir.display()
    )
}

/// Starts nginx, or `None` (after saying so) when it is not installed.
fn start_nginx() -> Option<Nginx> {
    start_site(&Site::default())
}

/// Starts nginx serving `site`, or `None` when it is not installed.
fn start_site(site: &Site) -> Option<Nginx> {
    let bin = common::nginx_process::find()?;
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "solo-http-nginx-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("html")).unwrap();
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    std::fs::write(dir.join("html/small.bin"), binary_file(4096, 1)).unwrap();
    std::fs::write(dir.join("html/text.txt"), text_file()).unwrap();
    std::fs::write(dir.join("html/big.bin"), binary_file(1 << 20, 2)).unwrap();
    let running = common::nginx_process::start(&bin, &dir, |port| config(&dir, port, site));
    let port = running.port;
    Some(Nginx {
        running: Some(running),
        dir,
        port,
    })
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    solo::run(async {
        solo::timeout(Duration::from_secs(30), f)
            .await
            .expect("the test hung")
    })
}

#[test]
fn static_files_arrive_byte_for_byte() {
    let Some(nginx) = start_nginx() else { return };
    run(async {
        let client = Client::new();
        for name in ["small.bin", "big.bin", "text.txt"] {
            let resp = client
                .get(nginx.url(&format!("/{name}")))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{name}");
            let body = resp.bytes().await.unwrap();
            let want = nginx.file(name);
            assert_eq!(body.len(), want.len(), "{name}");
            assert!(body[..] == want[..], "{name}: bytes differ");
        }
    });
}

#[test]
fn gzip_text_is_compressed_on_the_wire_and_decoded() {
    let Some(nginx) = start_nginx() else { return };
    let want = nginx.file("text.txt");
    run(async {
        // Decoded by the client: the content equals the file.
        let client = Client::new();
        let resp = client.get(nginx.url("/text.txt")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.headers().get("content-encoding").is_none());
        assert_eq!(resp.text().await.unwrap().as_bytes(), &want[..]);

        // Without decompression: nginx did send gzip, much smaller.
        let raw = Client::builder().decompress(false).build().unwrap();
        let resp = raw
            .get(nginx.url("/text.txt"))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()["content-encoding"], "gzip");
        let wire = resp.bytes().await.unwrap();
        assert!(wire.len() < want.len() / 4, "{} bytes gzipped", wire.len());
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&wire[..])
            .read_to_end(&mut plain)
            .unwrap();
        assert!(plain == want);

        // Binary files are not gzipped (not in gzip_types).
        let resp = client.get(nginx.url("/small.bin")).send().await.unwrap();
        assert_eq!(resp.bytes().await.unwrap().len(), 4096);
    });
}

#[test]
fn sequential_requests_reuse_one_keep_alive_connection() {
    let Some(nginx) = start_nginx() else { return };
    run(async {
        let client = Client::new();
        let mut conns = Vec::new();
        for _ in 0..20 {
            let resp = client.get(nginx.url("/small.bin")).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            conns.push(resp.headers()["x-conn"].to_str().unwrap().to_owned());
            assert_eq!(resp.bytes().await.unwrap().len(), 4096);
        }
        assert!(
            conns.iter().all(|c| *c == conns[0]),
            "connections used: {conns:?}"
        );
        // A second client has its own pool: another connection.
        let other = Client::new();
        let resp = other.get(nginx.url("/small.bin")).send().await.unwrap();
        assert_ne!(resp.headers()["x-conn"], conns[0].as_str());
    });
}

#[test]
fn missing_file_is_404_and_the_connection_stays_usable() {
    let Some(nginx) = start_nginx() else { return };
    run(async {
        let client = Client::new();
        let resp = client.get(nginx.url("/nope.txt")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let conn = resp.headers()["x-conn"].clone();
        assert!(!resp.bytes().await.unwrap().is_empty());
        // The 404's body was read: the same connection serves the next.
        let resp = client.get(nginx.url("/small.bin")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["x-conn"], conn);
        assert_eq!(resp.bytes().await.unwrap()[..], nginx.file("small.bin")[..]);
        // Asked for, the status is an error.
        let err = client
            .get(nginx.url("/nope.txt"))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    });
}

#[test]
fn head_has_the_length_and_no_body() {
    let Some(nginx) = start_nginx() else { return };
    run(async {
        let client = Client::new();
        let resp = client.head(nginx.url("/big.bin")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-length"], "1048576");
        let conn = resp.headers()["x-conn"].clone();
        assert!(resp.bytes().await.unwrap().is_empty());
        // The connection is reused after a HEAD.
        let resp = client.get(nginx.url("/small.bin")).send().await.unwrap();
        assert_eq!(resp.headers()["x-conn"], conn);
        assert_eq!(resp.bytes().await.unwrap().len(), 4096);
    });
}

/// nginx over TLS and HTTP/2, ending each connection with a `GOAWAY`
/// after `keepalive_requests` streams; `None` without nginx.
fn start_goaway_site(pki: &common::tls::Pki, keepalive_requests: u32) -> Option<Nginx> {
    start_site(&Site {
        tls: Some((pki.cert_pem.clone(), pki.key_pem.clone())),
        keepalive_requests: Some(keepalive_requests),
        client_ca: None,
    })
}

/// A client that trusts `pki`'s CA, `localhost` at 127.0.0.1.
fn trusting(pki: &common::tls::Pki) -> Client {
    Client::builder()
        .add_root_certificate(pki.ca_der.clone())
        .resolve("localhost", [127, 0, 0, 1].into())
        .build()
        .unwrap()
}

#[test]
fn http2_goaway_after_keepalive_requests_retries_the_refused_streams() {
    let pki = common::tls::Pki::new();
    let Some(nginx) = start_goaway_site(&pki, 10) else {
        return;
    };
    let url = format!("https://localhost:{}/small.bin", nginx.port);
    run(async {
        let client = trusting(&pki);
        // nginx answers 10 streams per connection, then GOAWAY: the other
        // requests in flight were never processed and must be sent again.
        let requests = (0..100).map(|i| {
            let client = client.clone();
            let url = format!("{url}?i={i}");
            async move {
                let resp = client.get(url).send().await?;
                assert_eq!(resp.version(), Version::HTTP_2);
                resp.bytes().await.map(|b| b.len())
            }
        });
        let results = solo::gather(requests).await;
        let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        assert!(
            failed.is_empty(),
            "{} of 100 failed, first: {}",
            failed.len(),
            failed[0]
        );
        assert!(results.iter().all(|r| *r.as_ref().unwrap() == 4096));
        // And later requests go to a live connection.
        for _ in 0..25 {
            let resp = client.get(url.as_str()).send().await.unwrap();
            assert_eq!(resp.bytes().await.unwrap().len(), 4096);
        }
    });
}

/// 5000 requests at once to an nginx that ends each HTTP/2 connection
/// after 50 streams: the requests each `GOAWAY` turns away move together
/// to one new connection (not one each: a storm of handshakes that ran
/// out of file descriptors), and all succeed, those that hyper held back
/// for a stream slot when the connection closed too ("dispatch task is
/// gone").
#[test]
fn http2_goaway_moves_the_refused_requests_to_one_new_connection() {
    let pki = common::tls::Pki::new();
    let Some(nginx) = start_goaway_site(&pki, 50) else {
        return;
    };
    let url = format!("https://localhost:{}/small.bin", nginx.port);
    let n = 5000;
    // About 3 s on a quiet machine, several times that on a loaded one:
    // a longer limit than `run` gives.
    let run = |f| solo::run(async { solo::timeout(Duration::from_secs(180), f).await.unwrap() });
    run(async {
        let client = trusting(&pki);
        let requests = (0..n).map(|i| {
            let client = client.clone();
            let url = format!("{url}?i={i}");
            async move { client.get(url).send().await?.bytes().await }
        });
        let results = solo::gather(requests).await;
        let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        assert!(
            failed.is_empty(),
            "{} of {n} failed, first: {}",
            failed.len(),
            failed[0]
        );
        assert!(results.iter().all(|r| r.as_ref().unwrap().len() == 4096));
    });
    // 50 requests a connection: 40 at least.
    let conns = nginx.connections_logged();
    assert!(
        (n / 50..=2 * n / 50).contains(&conns),
        "{conns} connections for {n} requests"
    );
}

/// A request's own Host over HTTP/2 is its `:authority`, not a `host`
/// field (nginx answers 400 to one); over HTTP/1.1 it stays a header.
#[test]
fn an_explicit_host_header_works_over_http2_and_http1() {
    let pki = common::tls::Pki::new();
    let Some(nginx) = start_site(&Site {
        tls: Some((pki.cert_pem.clone(), pki.key_pem.clone())),
        ..Site::default()
    }) else {
        return;
    };
    let url = format!("https://localhost:{}/small.bin", nginx.port);
    let host = format!("localhost:{}", nginx.port);
    run(async {
        let h2 = trusting(&pki);
        let h1 = Client::builder()
            .add_root_certificate(pki.ca_der.clone())
            .resolve("localhost", [127, 0, 0, 1].into())
            .http1_only()
            .build()
            .unwrap();
        for (client, version) in [(h2, Version::HTTP_2), (h1, Version::HTTP_11)] {
            let resp = client.get(&url).header("host", &host).send().await.unwrap();
            assert_eq!((resp.status(), resp.version()), (StatusCode::OK, version));
            assert_eq!(resp.bytes().await.unwrap().len(), 4096);
        }
        // A Host that is not an authority is an error, not another path.
        let e = trusting(&pki)
            .get(&url)
            .header("host", "localhost/evil")
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), solo_http::ErrorKind::InvalidUrl, "{e}");
    });
}

/// nginx with `ssl_verify_client on` lets the handshake through without
/// a client certificate and answers 400 over HTTP (what the audit saw);
/// a client that shows a certificate its CA signed gets the file.
#[test]
fn nginx_requiring_a_client_certificate_serves_the_client_that_shows_one() {
    let pki = common::tls::Pki::new();
    let clients = common::tls::Pki::new();
    let Some(nginx) = start_site(&Site {
        tls: Some((pki.cert_pem.clone(), pki.key_pem.clone())),
        client_ca: Some(clients.ca_pem.clone()),
        ..Site::default()
    }) else {
        return;
    };
    run(async {
        let url = format!("https://localhost:{}/small.bin", nginx.port);
        let resp = trusting(&pki).get(&url).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let client = Client::builder()
            .add_root_certificate(pki.ca_der.clone())
            .resolve("localhost", [127, 0, 0, 1].into())
            .client_cert(clients.cert_pem.clone(), clients.key_pem.clone())
            .build()
            .unwrap();
        let resp = client.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.version(), Version::HTTP_2);
        assert_eq!(resp.bytes().await.unwrap(), nginx.file("small.bin"));
    });
}
