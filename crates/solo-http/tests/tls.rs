//! TLS and HTTP/2: certificates made by rcgen, a rustls server on solo
//! speaking HTTP/1.1 or HTTP/2 by ALPN.

mod common;

use std::time::Duration;

use common::tls::{
    https_url, start_tls, start_tls_raw, tls_read_head, tls_write, trusting_with, Pki, ServerTls,
    TlsOptions, H1, H2,
};
use common::{concurrent, failure, json, read_body, run, start, start_raw, text, Server, TEXT};
use solo_http::{Client, ErrorKind, Phase, Version};

fn trusting(pki: &Pki) -> Client {
    trusting_with(pki, |b| b)
}

#[test]
fn https_over_http1_with_an_added_root() {
    run(async {
        let pki = Pki::new();
        let s = start_tls(&pki, H1).await;
        let client = trusting(&pki);
        let resp = client.get(https_url(&s, "/text")).send().await.unwrap();
        assert_eq!(resp.version(), Version::HTTP_11);
        assert_eq!(resp.text().await.unwrap(), "hello world");
        for _ in 0..4 {
            assert_eq!(
                text(&client, https_url(&s, "/gzip")).await,
                TEXT.repeat(100)
            );
        }
        assert_eq!(s.stats.accepted(), 1, "keep-alive over TLS");
    });
}

#[test]
fn alpn_h2_multiplexes_concurrent_requests_on_one_connection() {
    run(async {
        let pki = Pki::new();
        let s = start_tls(&pki, H2).await;
        let client = trusting(&pki);
        let results = concurrent(&client, &https_url(&s, "/pause"), 20).await;
        assert!(results.iter().all(|r| r.as_deref().ok() == Some("paused")));
        assert_eq!(s.stats.accepted(), 1);
        assert_eq!(s.stats.max_open(), 1);

        let resp = client.get(https_url(&s, "/text")).send().await.unwrap();
        assert_eq!(resp.version(), Version::HTTP_2);
        assert_eq!(resp.text().await.unwrap(), "hello world");
        // Decompression, redirects and request bodies over HTTP/2.
        assert_eq!(text(&client, https_url(&s, "/br")).await, TEXT.repeat(100));
        let resp = client
            .get(https_url(&s, "/redirect/chain/3"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.url().path(), "/redirect/chain/0");
        let echo: serde_json::Value =
            json(client.post(https_url(&s, "/echo?x=1")).body("over h2")).await;
        assert_eq!(echo["body"], "over h2");
        assert_eq!(echo["method"], "POST");
        // An empty PUT says Content-Length: 0 over HTTP/2 too.
        let echo: serde_json::Value = json(client.put(https_url(&s, "/echo"))).await;
        assert_eq!(echo["headers"]["content-length"], "0");
        assert_eq!(echo["body"], "");
        assert_eq!(s.stats.accepted(), 1);
    });
}

#[test]
fn max_connections_per_host_does_not_hold_back_http2() {
    run(async {
        let pki = Pki::new();
        let s = start_tls(&pki, H2).await;
        let client = trusting_with(&pki, |b| b.max_connections_per_host(1));
        let results = concurrent(&client, &https_url(&s, "/pause"), 10).await;
        assert!(results.iter().all(|r| r.is_ok()));
        assert_eq!(s.stats.accepted(), 1);
    });
}

#[test]
fn http1_only_does_not_offer_h2() {
    run(async {
        let pki = Pki::new();
        let s = start_tls(&pki, H2).await;
        let client = trusting_with(&pki, |b| b.http1_only());
        let resp = client.get(https_url(&s, "/text")).send().await.unwrap();
        assert_eq!(resp.version(), Version::HTTP_11);
    });
}

#[test]
fn an_untrusted_certificate_is_a_tls_error() {
    run(async {
        let pki = Pki::new();
        let s = start_tls(&pki, H2).await;
        let plain = start().await;
        let client = Client::new();
        let e = failure(&client, https_url(&s, "/text")).await;
        assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
        assert!(e.to_string().contains("not trusted"), "{e}");
        // The way out, in this library's terms (not another crate's flag).
        assert!(e.to_string().contains("add_root_certificate"), "{e}");
        assert!(!e.to_string().contains("--ca-cert"), "{e}");
        // The pool is healthy.
        assert_eq!(text(&client, plain.url("/text")).await, "hello world");
        // A certificate for another name is refused even from a trusted CA.
        let client = trusting(&pki);
        let e = failure(&client, format!("https://127.0.0.1:{}/text", s.addr.port())).await;
        assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
        assert_eq!(text(&client, https_url(&s, "/text")).await, "hello world");
    });
}

/// A self-signed certificate that is also a CA (`openssl req -x509`'s
/// default), trusted as a root, is refused by rustls: the error says why
/// and what to do (it said only "CaUsedAsEndEntity").
#[test]
fn a_ca_certificate_served_as_the_servers_own_is_explained() {
    run(async {
        let pki = Pki::self_signed_ca();
        let s = start_tls(&pki, H2).await;
        let e = failure(&trusting(&pki), https_url(&s, "/text")).await;
        assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
        assert!(e.to_string().contains("is a CA certificate"), "{e}");
        assert!(e.to_string().contains("openssl req -x509"), "{e}");
    });
}

#[test]
fn danger_accept_invalid_certs_accepts_them() {
    run(async {
        let pki = Pki::new();
        let s = start_tls(&pki, H2).await;
        let client = Client::builder()
            .danger_accept_invalid_certs(true)
            .build()
            .unwrap();
        assert_eq!(text(&client, https_url(&s, "/text")).await, "hello world");
        let ip = format!("https://127.0.0.1:{}/text", s.addr.port());
        assert_eq!(text(&client, ip).await, "hello world");
    });
}

/// An https URL of a server that accepts and never says a word (it never
/// handshakes), and a client with `connect_timeout`.
async fn silent_server(connect_timeout: Duration) -> (String, Client) {
    let s = start_raw(|stream| async move {
        solo::sleep(Duration::from_secs(60)).await;
        drop(stream);
    })
    .await;
    let client = Client::builder()
        .connect_timeout(connect_timeout)
        .build()
        .unwrap();
    (format!("https://127.0.0.1:{}/", s.addr.port()), client)
}

#[test]
fn a_server_that_never_handshakes_hits_the_connect_timeout() {
    run(async {
        let (url, client) = silent_server(Duration::from_millis(200)).await;
        let e = failure(&client, url).await;
        assert_eq!(e.kind(), ErrorKind::Timeout(Phase::Connect), "{e}");
        let plain = start().await;
        assert_eq!(text(&client, plain.url("/text")).await, "hello world");
    });
}

/// Concurrent requests to an https host whose protocol is not known yet
/// wait for one connect; when it hangs they all fail at the connect
/// timeout, not one connect timeout after another.
#[test]
fn concurrent_requests_to_a_hanging_https_host_fail_together() {
    run(async {
        let (url, client) = silent_server(Duration::from_secs(1)).await;
        let started = std::time::Instant::now();
        let requests = (0..5).map(|_| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let e = client.get(url).send().await.unwrap_err();
                (e.kind(), started.elapsed())
            }
        });
        let results = solo::gather(requests).await;
        for (kind, _) in &results {
            assert_eq!(*kind, ErrorKind::Timeout(Phase::Connect));
        }
        // One after another they would end at 1, 2, 3, 4 and 5 s.
        let last = results.iter().map(|r| r.1).max().unwrap();
        assert!(last < Duration::from_secs(3), "{results:?}");
    });
}

/// The read timeout does not count the wait for an HTTP/2 stream slot:
/// requests queued behind the server's limit of concurrent streams are
/// answered in turn.
#[test]
fn queued_http2_requests_are_not_a_read_timeout() {
    run(async {
        let pki = Pki::new();
        let opts = TlsOptions {
            h2: true,
            lifetime: None,
            max_streams: Some(2),
        };
        let s = start_tls(&pki, opts).await;
        let client = trusting_with(&pki, |b| b.read_timeout(Duration::from_millis(500)));
        // The server's settings (2 streams) are known after a first answer.
        assert_eq!(text(&client, https_url(&s, "/text")).await, "hello world");
        // 300 ms each, two at a time: the last pair answers after 900 ms.
        let results = concurrent(&client, &https_url(&s, "/slow"), 6).await;
        for r in &results {
            assert_eq!(r.as_deref().map_err(|e| e.to_string()), Ok("slow"));
        }
        assert_eq!(s.stats.accepted(), 1);
    });
}

#[test]
fn a_closed_http2_connection_is_replaced() {
    run(async {
        let pki = Pki::new();
        let opts = TlsOptions {
            h2: true,
            lifetime: Some(Duration::from_millis(200)),
            max_streams: None,
        };
        let s = start_tls(&pki, opts).await;
        let client = trusting(&pki);
        assert_eq!(text(&client, https_url(&s, "/text")).await, "hello world");
        solo::sleep(Duration::from_millis(400)).await; // the server dropped it
        assert_eq!(text(&client, https_url(&s, "/text")).await, "hello world");
        assert_eq!(s.stats.accepted(), 2);
    });
}

/// `capture` sees plaintext over TLS: the HTTP/1.1 bytes as they went, and
/// over HTTP/2 the request and head written out from the frames.
#[test]
fn capture_over_tls_and_http2() {
    run(async {
        let pki = Pki::new();
        for (opts, http2) in [(H1, false), (H2, true)] {
            let s = start_tls(&pki, opts).await;
            let client = trusting(&pki);
            let mut resp = client
                .get(https_url(&s, "/gzip"))
                .capture(true)
                .send()
                .await
                .unwrap();
            let decoded = read_body(&mut resp).await;
            let c = resp.capture().unwrap();
            assert_eq!(c.http2(), http2);
            assert_eq!(c.peer_addr().unwrap(), s.addr);
            let head = String::from_utf8(c.response_head().to_vec()).unwrap();
            let req = String::from_utf8(c.request().to_vec()).unwrap();
            if http2 {
                // In HTTP/1.1 form, as archives keep HTTP/2 (IIPC "WARC
                // Extensions for HTTP/2"; pywb replays nothing else): an
                // origin-form request line and `host` from `:authority`.
                assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
                let host = format!("host: localhost:{}\r\n", s.addr.port());
                assert!(req.starts_with("GET /gzip HTTP/1.1\r\n"), "{req}");
                assert_eq!(req.matches(&host).count(), 1, "{req}");
            } else {
                assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
                assert!(req.starts_with("GET /gzip HTTP/1.1\r\n"), "{req}");
            }
            assert!(head.contains("content-encoding: gzip\r\n"), "{head}");
            assert!(head.ends_with("\r\n\r\n"), "{head}");
            let raw = resp.raw_body().unwrap();
            assert!(raw.starts_with(&[0x1f, 0x8b]), "still gzip as sent");
            let mut unzipped = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(raw), &mut unzipped)
                .unwrap();
            assert_eq!(unzipped, decoded);
        }
    });
}

/// A POST's body is in its capture with its length over HTTP/2 as over
/// HTTP/1.1: the HTTP/1.1 form of an HTTP/2 request said no
/// `content-length`, so archive readers (warcio) read its body as empty.
#[test]
fn capture_of_an_http2_post_says_its_bodys_length() {
    run(async {
        let pki = Pki::new();
        for (opts, http2) in [(H1, false), (H2, true)] {
            let s = start_tls(&pki, opts).await;
            let client = trusting(&pki);
            let resp = client
                .post(https_url(&s, "/echo"))
                .body("a=1&b=2")
                .capture(true)
                .send()
                .await
                .unwrap();
            let c = resp.capture().unwrap();
            assert_eq!(c.http2(), http2);
            let req = String::from_utf8(c.request().to_vec()).unwrap();
            assert!(req.starts_with("POST /echo HTTP/1.1\r\n"), "{req}");
            assert_eq!(
                req.to_ascii_lowercase()
                    .matches("content-length: 7\r\n")
                    .count(),
                1,
                "{req}"
            );
            assert!(req.ends_with("\r\n\r\na=1&b=2"), "{req}");
        }
    });
}

#[test]
fn a_pem_root_certificate_file_is_accepted_with_several_certificates() {
    run(async {
        let pki = Pki::new();
        let s = start_tls(&pki, H1).await;
        // A bundle: some other CA first, then the one that signed.
        let bundle = format!("{}\n{}", Pki::new().ca_pem, pki.ca_pem);
        let client = Client::builder()
            .add_root_certificate(bundle)
            .build()
            .unwrap();
        assert_eq!(text(&client, https_url(&s, "/text")).await, "hello world");
        // The DER form still works.
        assert_eq!(
            text(&trusting(&pki), https_url(&s, "/text")).await,
            "hello world"
        );
    });
}

/// A TLS server whose answers end with TCP closing without TLS's
/// close_notify (unless the path says `notify`): a body delimited by the
/// close, a Content-Length body and a chunked body cut short.
async fn start_ragged_eof_server(pki: &Pki) -> Server {
    start_tls_raw(pki, |mut tls: ServerTls| async move {
        let Some(head) = tls_read_head(&mut tls).await else {
            return;
        };
        let body = "hello world ".repeat(1000);
        let answer = if head.starts_with("GET /close-delimited") {
            format!("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{body}")
        } else if head.starts_with("GET /short-length") {
            format!("HTTP/1.1 200 OK\r\ncontent-length: 20000\r\n\r\n{body}")
        } else {
            format!("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2ee0\r\n{body}\r\n")
        };
        let notify = head.contains("notify");
        tls_write(&mut tls, answer.as_bytes(), notify).await;
    })
    .await
}

#[test]
fn a_close_delimited_body_may_end_without_close_notify_but_a_framed_one_may_not() {
    run(async {
        let pki = Pki::new();
        let s = start_ragged_eof_server(&pki).await;
        let client = trusting(&pki);
        let whole = "hello world ".repeat(1000);
        for path in ["/close-delimited", "/close-delimited?notify"] {
            assert_eq!(text(&client, https_url(&s, path)).await, whole, "{path}");
        }
        // Cut short while the framing says more is coming: still an error.
        for path in ["/short-length", "/short-chunked"] {
            let resp = client.get(https_url(&s, path)).send().await.unwrap();
            let e = resp.bytes().await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Body, "{path}: {e}");
        }
    });
}
