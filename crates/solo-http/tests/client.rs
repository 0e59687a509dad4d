//! Requests, bodies, decoding and redirects against a hyper server on solo.

mod common;

use common::{failure, json, run, start, text, TEXT};
use serde::Deserialize;
use solo_http::{Client, ErrorKind, Method, StatusCode, Version};

#[derive(Deserialize, Debug)]
struct Echo {
    method: String,
    uri: String,
    headers: std::collections::HashMap<String, String>,
    body: String,
}

#[test]
fn get_text_json_and_metadata() {
    run(async {
        let s = start().await;
        let client = Client::new();
        let resp = client.get(s.url("/text")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.version(), Version::HTTP_11);
        assert_eq!(resp.url().as_str(), s.url("/text"));
        assert_eq!(resp.content_length(), Some(11));
        assert_eq!(resp.headers()["content-type"], "text/plain");
        assert_eq!(resp.text().await.unwrap(), "hello world");

        #[derive(Deserialize, Debug)]
        struct Doc {
            name: String,
            n: u32,
        }
        let doc: Doc = client
            .get(s.url("/json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!((doc.name.as_str(), doc.n), ("solo", 3));

        // JSON that does not fit the type is a body error.
        let err = client
            .get(s.url("/text"))
            .send()
            .await
            .unwrap()
            .json::<Doc>()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Body);
    });
}

/// JSON after a UTF-8 byte order mark parses, as `text()` of the same
/// body skips the mark.
#[test]
fn json_after_a_byte_order_mark_parses() {
    run(async {
        let s = start().await;
        let client = Client::new();
        let doc: serde_json::Value = json(client.get(s.url("/json-bom"))).await;
        assert_eq!(doc, serde_json::json!({"name": "solo", "n": 3}));
        assert_eq!(
            text(&client, s.url("/json-bom")).await,
            r#"{"name":"solo","n":3}"#
        );
    });
}

#[test]
fn request_headers_query_and_bodies_reach_the_server() {
    run(async {
        let s = start().await;
        let mut defaults = solo_http::HeaderMap::new();
        defaults.insert("x-default", "d".parse().unwrap());
        defaults.insert("x-replaced", "old".parse().unwrap());
        let client = Client::builder()
            .user_agent("tester/1")
            .default_headers(defaults)
            .build()
            .unwrap();

        let echo: Echo = json(
            client
                .get(s.url("/echo?a=1"))
                .query(&[("b", "two words")])
                .header("x-replaced", "new"),
        )
        .await;
        assert_eq!(echo.method, "GET");
        assert_eq!(echo.uri, "/echo?a=1&b=two+words");
        assert_eq!(echo.headers["user-agent"], "tester/1");
        assert_eq!(echo.headers["x-default"], "d");
        assert_eq!(echo.headers["x-replaced"], "new");
        assert_eq!(echo.headers["host"], s.addr.to_string());
        assert_eq!(echo.headers["accept-encoding"], "gzip, deflate, br, zstd");

        let echo: Echo = json(
            client
                .post(s.url("/echo"))
                .json(&serde_json::json!({"k": [1, 2]})),
        )
        .await;
        assert_eq!(
            (echo.method.as_str(), echo.body.as_str()),
            ("POST", r#"{"k":[1,2]}"#)
        );
        assert_eq!(echo.headers["content-type"], "application/json");

        let echo: Echo = json(
            client
                .put(s.url("/echo"))
                .form(&[("user", "ada"), ("note", "a&b")]),
        )
        .await;
        assert_eq!(echo.method, "PUT");
        assert_eq!(echo.body, "user=ada&note=a%26b");
        assert_eq!(
            echo.headers["content-type"],
            "application/x-www-form-urlencoded"
        );

        let echo: Echo = json(client.delete(s.url("/echo")).body("raw")).await;
        assert_eq!(
            (echo.method.as_str(), echo.body.as_str()),
            ("DELETE", "raw")
        );

        let echo: Echo = json(client.request(Method::PATCH, s.url("/echo"))).await;
        assert_eq!(echo.method, "PATCH");

        let head = client.head(s.url("/text")).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(head.bytes().await.unwrap().len(), 0);
    });
}

#[test]
fn invalid_input_is_an_error_at_send_not_a_panic() {
    run(async {
        let client = Client::new();
        for bad in ["not a url", "ftp://example.com/", "http://", "mailto:x@y.z"] {
            let e = client.get(bad).send().await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidUrl, "{bad}: {e}");
        }
        let e = client
            .get("http://127.0.0.1:1/")
            .header("bad name", "v")
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidUrl);
        let e = client
            .get("http://127.0.0.1:1/")
            .header("x-ok", "line\r\nbreak")
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidUrl);
        assert!(e.to_string().contains("x-ok"), "{e}");
        let bad_json = std::collections::HashMap::from([((1, 2), 3)]);
        let e = client
            .post("http://127.0.0.1:1/")
            .json(&bad_json)
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Body);
        let e = Client::builder().user_agent("a\nb").build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidUrl);
    });
}

#[test]
fn gzip_deflate_brotli_and_zstd_are_decoded() {
    run(async {
        let s = start().await;
        let client = Client::new();
        for route in ["/gzip", "/deflate", "/br", "/zstd", "/gzip-zstd"] {
            let resp = client.get(s.url(route)).send().await.unwrap();
            assert!(resp.headers().get("content-encoding").is_none(), "{route}");
            assert_eq!(resp.text().await.unwrap(), TEXT.repeat(100), "{route}");
        }
        // Without decompression the bytes come as sent.
        let raw = Client::builder().decompress(false).build().unwrap();
        let resp = raw.get(s.url("/gzip")).send().await.unwrap();
        assert_eq!(resp.headers()["content-encoding"], "gzip");
        let body = resp.bytes().await.unwrap();
        assert_eq!(&body[..2], b"\x1f\x8b");
        let resp = raw.get(s.url("/zstd")).send().await.unwrap();
        assert_eq!(resp.headers()["content-encoding"], "zstd");
        let body = resp.bytes().await.unwrap();
        assert_eq!(&body[..4], b"\x28\xb5\x2f\xfd", "the zstd magic number");
    });
}

/// A body gzipped twice is decoded through both layers however the
/// list is spelled (two header lines or one); with a coding the client
/// does not know among them, bytes and headers stay as sent.
#[test]
fn a_body_compressed_twice_is_decoded_or_left_as_sent() {
    run(async {
        let s = start().await;
        let client = Client::new();
        for route in ["/gzip-twice", "/gzip-twice?one-line"] {
            let resp = client.get(s.url(route)).send().await.unwrap();
            assert!(resp.headers().get("content-encoding").is_none(), "{route}");
            assert_eq!(resp.text().await.unwrap(), TEXT.repeat(100), "{route}");
        }
        let resp = client
            .get(s.url("/gzip-twice?unknown"))
            .send()
            .await
            .unwrap();
        let sent: Vec<_> = resp.headers().get_all("content-encoding").iter().collect();
        assert_eq!(sent, ["compress", "gzip", "gzip"]);
        assert!(resp.content_length().is_some());
        let body = resp.bytes().await.unwrap();
        assert_eq!(&body[..2], b"\x1f\x8b", "still as sent");
        // The size limit stops a bomb inside the outer layer.
        let e = client
            .get(s.url("/bomb-twice"))
            .max_body_size(1 << 20)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
    });
}

/// A gzip body of several members is their content one after another;
/// bytes after the last member (padding, junk) are ignored.
#[test]
fn gzip_of_several_members_and_trailing_bytes() {
    run(async {
        let s = start().await;
        let client = Client::new();
        for route in ["/gzip-members", "/gzip-members?tail=junk"] {
            assert_eq!(
                text(&client, s.url(route)).await,
                "first member; second member",
                "{route}"
            );
        }
    });
}

#[test]
fn charset_comes_from_header_meta_or_bom() {
    run(async {
        let s = start().await;
        let client = Client::new();
        let get = |p: &'static str| {
            let c = client.clone();
            let u = s.url(p);
            async move { c.get(u).send().await.unwrap().text().await.unwrap() }
        };
        assert_eq!(get("/latin1").await, "café");
        assert!(get("/meta").await.ends_with("<body>Привет</body>"));
        assert_eq!(get("/bom").await, "hi");
    });
}

#[test]
fn chunk_streams_the_body_piece_by_piece() {
    run(async {
        let s = start().await;
        let client = Client::new();
        let mut resp = client
            .get(s.url("/big-chunked?n=200000"))
            .send()
            .await
            .unwrap();
        let mut total = 0;
        let mut pieces = 0;
        while let Some(c) = resp.chunk().await.unwrap() {
            assert!(c.iter().all(|b| *b == b'z'));
            total += c.len();
            pieces += 1;
        }
        assert_eq!(total, 200_000);
        assert!(pieces > 1);
        assert!(resp.chunk().await.unwrap().is_none());
    });
}

#[test]
fn error_for_status() {
    run(async {
        let s = start().await;
        let client = Client::new();
        let resp = client.get(s.url("/status/404")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let e = resp.error_for_status_ref().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Status(StatusCode::NOT_FOUND));
        assert_eq!(e.status(), Some(StatusCode::NOT_FOUND));
        assert_eq!(e.url().unwrap().as_str(), s.url("/status/404"));
        assert!(e.to_string().contains("404"), "{e}");
        let e = resp.error_for_status().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Status(StatusCode::NOT_FOUND));
        let ok = client.get(s.url("/text")).send().await.unwrap();
        assert_eq!(
            ok.error_for_status().unwrap().text().await.unwrap(),
            "hello world"
        );
    });
}

#[test]
fn redirect_chains_are_followed_up_to_the_limit() {
    run(async {
        let s = start().await;
        let client = Client::new();
        let resp = client
            .get(s.url("/redirect/chain/10"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.url().as_str(), s.url("/redirect/chain/0"));
        assert_eq!(resp.text().await.unwrap(), "end of chain");

        let e = client
            .get(s.url("/redirect/chain/11"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Redirect);
        assert!(e.to_string().contains("too many redirects"), "{e}");
        // All those hops, even the refused one, reused one connection.
        assert_eq!(s.stats.accepted(), 1);

        let strict = Client::builder().redirect_limit(2).build().unwrap();
        let e = strict
            .get(s.url("/redirect/chain/3"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Redirect);

        let off = Client::builder().redirect_limit(0).build().unwrap();
        let resp = off.get(s.url("/redirect/chain/3")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FOUND);
        assert_eq!(resp.headers()["location"], "/redirect/chain/2");
    });
}

/// The redirects followed are in `history`, oldest first, each with its
/// URL, method, status and headers; a response that was not redirected
/// (or with redirects off) has none.
#[test]
fn redirect_history_lists_each_hop_oldest_first() {
    run(async {
        let s = start().await;
        let client = Client::new();
        let resp = client.get(s.url("/redirect/chain/3")).send().await.unwrap();
        let hops: Vec<_> = resp
            .history()
            .iter()
            .map(|h| {
                let location = h.headers()["location"].to_str().unwrap().to_owned();
                (h.url().path().to_owned(), h.status().as_u16(), location)
            })
            .collect();
        let hop = |from: u8, to: u8| {
            let chain = |n| format!("/redirect/chain/{n}");
            (chain(from), 302, chain(to))
        };
        assert_eq!(hops, [hop(3, 2), hop(2, 1), hop(1, 0)]);
        assert!(resp
            .history()
            .iter()
            .all(|h| h.method() == Method::GET && h.version() == solo_http::Version::HTTP_11));
        assert_eq!(resp.url().path(), "/redirect/chain/0");
        assert_eq!(resp.text().await.unwrap(), "end of chain");

        let resp = client.get(s.url("/text")).send().await.unwrap();
        assert!(resp.history().is_empty());
        let off = Client::builder().redirect_limit(0).build().unwrap();
        let resp = off.get(s.url("/redirect/chain/3")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FOUND);
        assert!(resp.history().is_empty());

        // The method that got the redirect, not the one that followed it.
        let resp = client
            .post(s.url("/redirect/303"))
            .body("x")
            .send()
            .await
            .unwrap();
        let [see_other] = resp.history() else {
            panic!("{:?}", resp.history())
        };
        assert_eq!(see_other.method(), Method::POST);
        assert_eq!(see_other.status(), StatusCode::SEE_OTHER);
        let echo: Echo = resp.json().await.unwrap();
        assert_eq!(echo.method, "GET");

        // Headers as received (a cookie set on the way), to another host.
        let jar = Client::builder().cookie_store(true).build().unwrap();
        let resp = jar.get(s.url("/cookie/redirect")).send().await.unwrap();
        assert_eq!(
            resp.history()[0].headers()["set-cookie"],
            "via=redirect; Path=/"
        );
        let resp = client
            .get(s.url("/redirect/other-host"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.history()[0].url().as_str(),
            s.url("/redirect/other-host")
        );
        assert_eq!(resp.url().host_str(), Some("localhost"));
    });
}

#[test]
fn refused_redirects_are_errors_not_hangs() {
    run(async {
        let s = start().await;
        let client = Client::new();
        for (route, says) in [
            ("/redirect/loop-a", "redirect loop"),
            (
                "/redirect/file",
                "refusing to follow a redirect to file:///etc/passwd",
            ),
        ] {
            let e = failure(&client, s.url(route)).await;
            assert_eq!(e.kind(), ErrorKind::Redirect);
            assert!(e.to_string().contains(says), "{e}");
            assert_eq!(text(&client, s.url("/text")).await, "hello world");
        }
        let e = failure(&client, s.url("/redirect/file")).await;
        assert_eq!(e.url().unwrap().as_str(), s.url("/redirect/file"));
    });
}

#[test]
fn redirect_methods_and_bodies() {
    run(async {
        let s = start().await;
        let client = Client::new();
        for (route, method, body) in [
            ("/redirect/303", "GET", ""),
            ("/redirect/302", "GET", ""),
            ("/redirect/307", "POST", "payload"),
        ] {
            let echo: Echo = json(
                client
                    .post(s.url(route))
                    .header("content-type", "text/plain")
                    .body("payload"),
            )
            .await;
            assert_eq!(
                (echo.method.as_str(), echo.body.as_str()),
                (method, body),
                "{route}"
            );
            assert_eq!(echo.headers.contains_key("content-type"), !body.is_empty());
        }
    });
}

#[test]
fn credentials_are_dropped_when_a_redirect_changes_host() {
    run(async {
        let s = start().await;
        let client = Client::new();
        let send = |route: &str| {
            client
                .get(s.url(route))
                .header("authorization", "Bearer secret")
                .header("cookie", "session=1")
                .header("x-other", "kept")
                .send()
        };
        let resp = send("/redirect/same-host").await.unwrap();
        let echo: Echo = resp.json().await.unwrap();
        assert_eq!(echo.headers["authorization"], "Bearer secret");
        assert_eq!(echo.headers["cookie"], "session=1");

        let resp = send("/redirect/other-host").await.unwrap();
        assert_eq!(resp.url().host_str(), Some("localhost"));
        let echo: Echo = resp.json().await.unwrap();
        assert!(!echo.headers.contains_key("authorization"));
        assert!(!echo.headers.contains_key("cookie"));
        assert_eq!(echo.headers["x-other"], "kept");
        assert_eq!(echo.headers["host"], format!("localhost:{}", s.addr.port()));
    });
}

/// `Authorization` and `Cookie` from the client's default headers are
/// headers of every request: dropped on a redirect to another origin too,
/// not merged back on the next hop.
#[test]
fn default_header_credentials_are_dropped_when_a_redirect_changes_host() {
    run(async {
        let s = start().await;
        let mut defaults = http::HeaderMap::new();
        defaults.insert("authorization", "Bearer secret".parse().unwrap());
        defaults.insert("proxy-authorization", "Basic c2VjcmV0".parse().unwrap());
        defaults.insert("cookie", "session=1".parse().unwrap());
        defaults.insert("x-other", "kept".parse().unwrap());
        let client = Client::builder().default_headers(defaults).build().unwrap();

        let echo: Echo = json(client.get(s.url("/redirect/same-host"))).await;
        assert_eq!(echo.headers["authorization"], "Bearer secret");
        assert_eq!(echo.headers["cookie"], "session=1");

        let resp = client
            .get(s.url("/redirect/other-host"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.url().host_str(), Some("localhost"));
        let echo: Echo = resp.json().await.unwrap();
        for name in ["authorization", "proxy-authorization", "cookie"] {
            assert!(!echo.headers.contains_key(name), "{name} sent: {echo:?}");
        }
        assert_eq!(echo.headers["x-other"], "kept");
    });
}

/// A HEAD response to a compressible resource has no body to decode: its
/// `Content-Length` and `Content-Encoding` say what a GET would get.
#[test]
fn head_of_a_compressed_resource_keeps_its_length_and_encoding() {
    run(async {
        let s = start().await;
        let client = Client::new();
        let get = client
            .get(s.url("/gzip"))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        let size = get.bytes().await.unwrap().len() as u64;
        let head = client.head(s.url("/gzip")).send().await.unwrap();
        assert_eq!(head.headers()["content-encoding"], "gzip");
        assert_eq!(head.content_length(), Some(size));
        assert!(head.bytes().await.unwrap().is_empty());
        // A GET is decoded, and loses them.
        let resp = client.get(s.url("/gzip")).send().await.unwrap();
        assert!(resp.headers().get("content-encoding").is_none());
        assert_eq!(resp.content_length(), None);
        assert_eq!(resp.text().await.unwrap(), TEXT.repeat(100));
    });
}

/// RFC 9110 section 7.2: Host is the first header of an HTTP/1.1
/// request, with default headers, request headers or a Host of its own.
#[test]
fn host_is_the_first_request_header() {
    run(async {
        let s = common::start_raw(|s| async move {
            while let Some(head) = common::read_head_text(&s).await {
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{head}",
                    head.len()
                );
                if s.write_all(answer.as_bytes()).await.is_err() {
                    return;
                }
            }
        })
        .await;
        let mut defaults = http::HeaderMap::new();
        defaults.insert("authorization", "Bearer t".parse().unwrap());
        let client = Client::builder().default_headers(defaults).build().unwrap();
        let second_line = |head: String| head.lines().nth(1).unwrap_or_default().to_owned();
        let head = client.get(s.url("/h")).header("x-trace", "1");
        let head = head.send().await.unwrap().text().await.unwrap();
        assert_eq!(second_line(head), format!("host: {}", s.addr));
        let own = client
            .get(s.url("/h"))
            .header("x-trace", "1")
            .header("host", "a.test");
        let head = own.send().await.unwrap().text().await.unwrap();
        assert_eq!(second_line(head.clone()), "host: a.test", "{head}");
        assert_eq!(head.matches("host:").count(), 1, "{head}");
    });
}

/// A brotli body that decodes to over 64 MiB from a few hundred bytes
/// streams in bounded chunks, with no limit (a legitimate large body) or
/// a large one (no single allocation up to the limit), and is refused
/// when collected whole under the default limit.
#[test]
fn a_brotli_bomb_streams_in_bounded_chunks() {
    run(async {
        let s = start().await;
        for limit in [None, Some(1 << 30)] {
            let mut builder = Client::builder();
            if let Some(limit) = limit {
                builder = builder.max_body_size(limit);
            }
            let client = builder.build().unwrap();
            let mut resp = client.get(s.url("/br-bomb")).send().await.unwrap();
            let (mut total, mut biggest) = (0, 0);
            while let Some(c) = resp.chunk().await.unwrap() {
                assert!(c.iter().all(|b| *b == 0));
                total += c.len();
                biggest = biggest.max(c.len());
            }
            assert_eq!(total, common::BR_BOMB_SIZE, "limit {limit:?}");
            assert!(biggest <= 128 << 10, "a chunk of {biggest} bytes");
        }
        let e = Client::new()
            .get(s.url("/br-bomb"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
    });
}

/// A zstd bomb (about 2 KiB that decode to over 64 MiB) streams in
/// bounded chunks and is refused when collected whole under the default
/// limit, as a brotli one is.
#[test]
fn a_zstd_bomb_streams_in_bounded_chunks_and_stops_at_the_limit() {
    run(async {
        let s = start().await;
        let client = Client::new();
        let mut resp = client.get(s.url("/zstd-bomb")).send().await.unwrap();
        assert!(resp.content_length().is_none());
        let (mut total, mut biggest) = (0, 0);
        while let Some(c) = resp.chunk().await.unwrap() {
            total += c.len();
            biggest = biggest.max(c.len());
        }
        assert_eq!(total, common::BR_BOMB_SIZE);
        assert!(biggest <= 64 << 10, "a chunk of {biggest} bytes");
        let e = client
            .get(s.url("/zstd-bomb"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
        let e = client
            .get(s.url("/zstd-bomb"))
            .max_body_size(1 << 20)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
    });
}

/// A request's `decompress(false)` gives the body as sent, its encoding
/// headers kept (a `206` part of a gzip resource, which does not decode
/// on its own), and still sends the client's `Accept-Encoding`;
/// `decompress(true)` decodes on a client that does not, or over the
/// request's own `Accept-Encoding`.
#[test]
fn a_request_turns_body_decoding_off_or_on() {
    run(async {
        let s = start().await;
        let client = Client::new();
        let whole = common::gzip(TEXT.repeat(100).as_bytes());
        let part = &whole[..whole.len() / 2];
        let resp = client.get(s.url("/gzip-range")).send().await.unwrap();
        let e = resp.bytes().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Body, "{e}");
        let resp = client
            .get(s.url("/gzip-range"))
            .decompress(false)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(resp.headers()["content-encoding"], "gzip");
        assert_eq!(resp.content_length(), Some(part.len() as u64));
        assert_eq!(resp.bytes().await.unwrap(), part);
        for (route, magic) in [("/zstd", &b"\x28\xb5\x2f\xfd"[..]), ("/gzip", b"\x1f\x8b")] {
            let resp = client
                .get(s.url(route))
                .decompress(false)
                .send()
                .await
                .unwrap();
            assert!(resp.headers().get("content-encoding").is_some(), "{route}");
            assert!(resp.bytes().await.unwrap().starts_with(magic), "{route}");
        }
        let echo: Echo = json(client.get(s.url("/echo")).decompress(false)).await;
        assert_eq!(echo.headers["accept-encoding"], "gzip, deflate, br, zstd");

        // On for one request of a client that does not decode.
        let raw = Client::builder().decompress(false).build().unwrap();
        let echo: Echo = json(raw.get(s.url("/echo"))).await;
        assert!(!echo.headers.contains_key("accept-encoding"));
        let echo: Echo = json(raw.get(s.url("/echo")).decompress(true)).await;
        assert_eq!(echo.headers["accept-encoding"], "gzip, deflate, br, zstd");
        let resp = raw
            .get(s.url("/zstd"))
            .decompress(true)
            .send()
            .await
            .unwrap();
        assert!(resp.headers().get("content-encoding").is_none());
        assert_eq!(resp.text().await.unwrap(), TEXT.repeat(100));

        // Over the request's own Accept-Encoding, which alone means "as sent".
        let own = || client.get(s.url("/gzip")).header("accept-encoding", "gzip");
        let resp = own().send().await.unwrap();
        assert_eq!(resp.headers()["content-encoding"], "gzip");
        let resp = own().decompress(true).send().await.unwrap();
        assert_eq!(resp.text().await.unwrap(), TEXT.repeat(100));
    });
}
