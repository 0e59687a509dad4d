//! `RequestBuilder::capture`: the exchange's bytes as they went over the
//! wire (for WARC archives), and nothing kept without it.

mod common;

use common::{gzip, read_body, read_head_text, run, start_raw, TEXT};
use solo::net::TcpStream;
use solo_http::Client;

/// A head with odd case, order and spacing, a gzip body sent chunked, and
/// a `100 Continue` before it, on a keep-alive connection.
async fn serve(s: TcpStream) {
    while let Some(req) = read_head_text(&s).await {
        let body = gzip(TEXT.as_bytes());
        let mut out = Vec::new();
        if req.starts_with("GET /interim") {
            out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        out.extend_from_slice(
            b"HTTP/1.1 200 Fine Thanks\r\nX-Zeta:  last-first\r\nContent-TYPE: text/plain\r\n\
              content-encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        let (a, b) = body.split_at(body.len() / 2);
        for part in [a, b] {
            out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
            out.extend_from_slice(part);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        if s.write_all(&out).await.is_err() {
            return;
        }
    }
}

const HEAD: &[u8] =
    b"HTTP/1.1 200 Fine Thanks\r\nX-Zeta:  last-first\r\nContent-TYPE: text/plain\r\n\
                      content-encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n";

#[test]
fn capture_keeps_the_wire_bytes_of_both_directions() {
    run(async {
        let server = start_raw(serve).await;
        let client = Client::new();
        for path in ["/plain", "/interim", "/again"] {
            let mut resp = client
                .post(server.url(path))
                .header("X-Trace", "7")
                .body("a=1")
                .capture(true)
                .send()
                .await
                .unwrap();
            let decoded = read_body(&mut resp).await;
            assert_eq!(decoded, TEXT.as_bytes(), "the caller still gets it decoded");
            let c = resp.capture().unwrap();
            assert_eq!(&c.response_head()[..], HEAD, "{path}: the head as received");
            assert_eq!(
                resp.raw_body().unwrap(),
                gzip(TEXT.as_bytes()),
                "de-chunked, still gzip"
            );
            let req = String::from_utf8(c.request().to_vec()).unwrap();
            assert!(
                req.starts_with(&format!("POST {path} HTTP/1.1\r\n")),
                "{req}"
            );
            assert!(req.contains("x-trace: 7\r\n"), "{req}");
            assert!(req.ends_with("\r\n\r\na=1"), "{req}");
            assert_eq!(c.peer_addr().unwrap(), server.addr);
            assert!(!c.http2());
        }
        assert_eq!(
            server.stats.accepted(),
            1,
            "one keep-alive connection served all three"
        );
    });
}

#[test]
fn without_capture_nothing_is_kept() {
    run(async {
        let server = start_raw(serve).await;
        let client = Client::new();
        let mut resp = client.get(server.url("/x")).send().await.unwrap();
        while resp.chunk().await.unwrap().is_some() {}
        assert!(resp.capture().is_none());
        assert!(resp.raw_body().is_none());
        // A captured request after an uncaptured one on the same
        // connection holds only its own bytes.
        let mut resp = client
            .get(server.url("/y"))
            .capture(true)
            .send()
            .await
            .unwrap();
        while resp.chunk().await.unwrap().is_some() {}
        let c = resp.capture().unwrap();
        assert!(c.request().starts_with(b"GET /y HTTP/1.1\r\n"));
        assert_eq!(&c.response_head()[..], HEAD);
        assert_eq!(server.stats.accepted(), 1);
    });
}

/// A body sent without a content encoding: the chunks are the bytes as
/// received, so a capture keeps no second copy of them.
#[test]
fn a_body_without_content_encoding_is_not_copied_twice() {
    async fn plain(s: TcpStream) {
        while read_head_text(&s).await.is_some() {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", TEXT.len());
            if s.write_all(head.as_bytes()).await.is_err()
                || s.write_all(TEXT.as_bytes()).await.is_err()
            {
                return;
            }
        }
    }
    run(async {
        let server = start_raw(plain).await;
        let mut resp = Client::new()
            .get(server.url("/plain"))
            .capture(true)
            .send()
            .await
            .unwrap();
        let body = read_body(&mut resp).await;
        assert_eq!(body, TEXT.as_bytes());
        assert!(resp.raw_body().is_none(), "no copy of a body as received");
        let head = resp.capture().unwrap().response_head();
        assert!(head.starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert!(
            head.ends_with(b"\r\n\r\n"),
            "the head alone, cut before the body"
        );
    });
}

/// A body that fails after its head: one that is not the gzip it says
/// (whole, in several writes), and one cut by the server mid-body. The
/// capture keeps what was sent: the whole bad body, read on after the
/// error, and the part of the cut one; `body_received` tells them apart.
#[test]
fn a_body_that_fails_keeps_what_was_received() {
    const BAD: &[u8] = b"this is not gzip at all, though the header says so";
    async fn failing(s: TcpStream) {
        let Some(req) = read_head_text(&s).await else {
            return;
        };
        let (head, body): (String, &[u8]) = match req.starts_with("GET /bad") {
            true => (
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
                    BAD.len()
                ),
                BAD,
            ),
            false => (
                "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 100000\r\n\r\n"
                    .to_owned(),
                &[0x1f, 0x8b, 8, 0],
            ),
        };
        let _ = s.write_all(head.as_bytes()).await;
        for part in body.chunks(10) {
            let _ = s.write_all(part).await;
            solo::sleep(std::time::Duration::from_millis(5)).await;
        }
        // Then closes: the cut body ends 99,996 bytes short.
    }
    run(async {
        let server = start_raw(failing).await;
        let client = Client::new();
        for (path, whole) in [("/bad", BAD), ("/cut", &[0x1f, 0x8b, 8, 0][..])] {
            let mut resp = client
                .get(server.url(path))
                .capture(true)
                .send()
                .await
                .unwrap();
            let err = loop {
                match resp.chunk().await {
                    Ok(Some(_)) => {}
                    Ok(None) => panic!("{path}: no error"),
                    Err(e) => break e,
                }
            };
            assert_eq!(err.kind(), solo_http::ErrorKind::Body, "{path}: {err}");
            assert_eq!(resp.raw_body(), Some(whole), "{path}: what was sent");
            assert_eq!(resp.body_received(), path == "/bad", "{path}");
        }
    });
}
