//! Conformance against httpbin (the standard HTTP test service, from
//! PyPI, under gunicorn on 127.0.0.1; see `server`): methods and bodies,
//! status codes, redirects, decompression, chunked and ranged bodies,
//! timeouts by phase, cookies, auth, keep-alive and concurrency. Where
//! behaviour was in doubt, Python's `requests` against the same server was
//! the reference; where solo-http differs on purpose, the test says so.
//!
//! Without httpbin, each test prints "skipped: ..." and passes, except in
//! CI (`CI=true`), where it fails; `.ci/run` installs it.

mod server;

use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};
use server::httpbin;
use solo_http::{Client, ErrorKind, Method, Phase, RequestBuilder, StatusCode};

fn run<F: std::future::Future>(f: F) -> F::Output {
    solo::run(async {
        solo::timeout(Duration::from_secs(60), f)
            .await
            .expect("the test hung")
    })
}

/// Sends `req`, expects a 200 with JSON, returns the JSON.
async fn json_of(req: RequestBuilder) -> Value {
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{}", resp.url());
    resp.json().await.unwrap()
}

/// A marker unique to one test run, for finding its lines in the log.
fn marker(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}{nanos}")
}

#[test]
fn methods_and_bodies() {
    let Some(hb) = httpbin() else { return };
    run(async {
        let client = Client::new();
        let url = hb.url("/anything?q=1");
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            let req = || client.request(m.clone(), &url);

            // Empty: only the methods that expect content say
            // Content-Length: 0 (RFC 9110 section 8.6).
            let j = json_of(req()).await;
            assert_eq!(j["method"], method);
            assert_eq!(j["args"], json!({"q": "1"}));
            assert_eq!(j["data"], "");
            let expects_content = matches!(method, "POST" | "PUT" | "PATCH");
            let length = j["headers"].get("Content-Length");
            assert_eq!(length, expects_content.then_some(&json!("0")), "{method}");
            if method == "GET" {
                continue;
            }

            let j = json_of(req().json(&json!({"name": "solo", "n": [1, 2]}))).await;
            assert_eq!(j["json"], json!({"name": "solo", "n": [1, 2]}), "{method}");
            assert_eq!(j["headers"]["Content-Type"], "application/json");

            let j = json_of(req().form(&[("a", "1"), ("b", "x y&z")])).await;
            assert_eq!(j["form"], json!({"a": "1", "b": "x y&z"}), "{method}");

            let j = json_of(req().body("plain text")).await;
            assert_eq!(j["data"], "plain text", "{method}");
            assert_eq!(j["headers"]["Content-Length"], "10");

            // Bytes that are not UTF-8 come back as a base64 data URL.
            let binary: Vec<u8> = (0..=255u8).rev().collect();
            let j = json_of(req().body(binary.clone())).await;
            let data = j["data"].as_str().unwrap();
            let b64 = data
                .strip_prefix("data:application/octet-stream;base64,")
                .unwrap();
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap();
            assert_eq!(decoded, binary, "{method}");
        }

        let j = json_of(client.get(hb.url("/headers")).header("x-solo", "yes")).await;
        assert_eq!(j["headers"]["X-Solo"], "yes");
        assert!(j["headers"]["User-Agent"]
            .as_str()
            .unwrap()
            .starts_with("solo-http/"));
    });
}

#[test]
fn status_codes() {
    let Some(hb) = httpbin() else { return };
    run(async {
        let client = Client::new();
        for code in [
            200, 201, 202, 204, 304, 400, 401, 403, 404, 410, 418, 429, 500, 502, 503, 504,
        ] {
            let resp = client
                .get(hb.url(&format!("/status/{code}")))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), code);
            let failed = resp.error_for_status_ref().is_err();
            assert_eq!(failed, code >= 400, "{code}");
            let body = resp.bytes().await.unwrap();
            if matches!(code, 204 | 304) {
                assert!(body.is_empty(), "{code}");
            }
            if code == 418 {
                assert!(String::from_utf8_lossy(&body).contains("teapot"));
            }
        }
        // Other methods and HEAD get the same status.
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::HEAD] {
            let resp = client
                .request(method.clone(), hb.url("/status/503"))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE, "{method}");
        }
    });
}

/// The method that RFC 9110 (section 15.4) gives the next request, and
/// whether the body goes with it.
fn after_redirect(code: u16, method: &Method) -> (Method, bool) {
    match code {
        301 | 302 if method == Method::POST => (Method::GET, false),
        303 if method != Method::HEAD => (Method::GET, false),
        303 => (Method::HEAD, false),
        _ => (method.clone(), true),
    }
}

#[test]
fn redirect_codes_times_methods() {
    let Some(hb) = httpbin() else { return };
    run(async {
        let client = Client::new();
        for code in [301, 302, 303, 307, 308] {
            for method in [Method::GET, Method::POST, Method::PUT, Method::HEAD] {
                let url = hb.url(&format!("/redirect-to?url=/anything&status_code={code}"));
                let with_body = matches!(method, Method::POST | Method::PUT);
                let mut req = client.request(method.clone(), url);
                if with_body {
                    req = req.header("content-type", "text/plain").body("hello");
                }
                let resp = req.send().await.unwrap();
                let case = format!("{code} {method}");
                assert_eq!(resp.status(), StatusCode::OK, "{case}");
                assert_eq!(resp.url().path(), "/anything", "{case}");
                let (want, keeps_body) = after_redirect(code, &method);
                if method == Method::HEAD {
                    assert!(resp.bytes().await.unwrap().is_empty(), "{case}");
                    continue;
                }
                let j: Value = resp.json().await.unwrap();
                assert_eq!(j["method"], want.as_str(), "{case}");
                let body = if with_body && keeps_body { "hello" } else { "" };
                assert_eq!(j["data"], body, "{case}");
                let headers = &j["headers"];
                assert_eq!(headers.get("Content-Type").is_some(), !body.is_empty());
                // A GET made from a POST has no Content-Length at all.
                if want == Method::GET {
                    assert!(headers.get("Content-Length").is_none(), "{case}: {j}");
                }
            }
        }
    });
}

#[test]
fn relative_and_absolute_redirects_and_the_limit() {
    let Some(hb) = httpbin() else { return };
    run(async {
        let client = Client::new();
        for path in [
            "/redirect/3",
            "/relative-redirect/3",
            "/absolute-redirect/3",
            "/redirect/3?absolute=true",
        ] {
            let resp = client.get(hb.url(path)).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            assert_eq!(resp.url().as_str(), hb.url("/get"), "{path}");
            // The three hops, oldest first (httpx's `history`).
            let hops: Vec<_> = resp.history().iter().map(|h| h.url().path()).collect();
            assert_eq!(hops.len(), 3, "{path}: {hops:?}");
            assert_eq!(resp.history()[0].url().as_str(), hb.url(path), "{path}");
            assert!(resp
                .history()
                .iter()
                .all(|h| h.status() == StatusCode::FOUND));
        }
        // An absolute URL in redirect-to, with a query of its own.
        let target = hb.url("/get?x=1");
        let resp = client
            .get(hb.url("/redirect-to"))
            .query(&[("url", &target)])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.url().as_str(), target);

        // The Location forms are what the paths say.
        let manual = Client::builder().redirect_limit(0).build().unwrap();
        for (path, absolute) in [
            ("/relative-redirect/1", false),
            ("/absolute-redirect/1", true),
        ] {
            let resp = manual.get(hb.url(path)).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::FOUND);
            let location = resp.headers()["location"].to_str().unwrap();
            assert_eq!(location.starts_with("http://"), absolute, "{location}");
        }

        let three = Client::builder().redirect_limit(3).build().unwrap();
        let resp = three.get(hb.url("/redirect/3")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let err = three.get(hb.url("/redirect/4")).send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Redirect);
        assert!(err.to_string().contains("too many redirects"), "{err}");
    });
}

#[test]
fn decompression() {
    let Some(hb) = httpbin() else { return };
    run(async {
        let client = Client::new();
        for (path, flag) in [
            ("/gzip", "gzipped"),
            ("/deflate", "deflated"),
            ("/brotli", "brotli"),
        ] {
            let resp = client.get(hb.url(path)).send().await.unwrap();
            assert!(resp.headers().get("content-encoding").is_none(), "{path}");
            let j: Value = resp.json().await.unwrap();
            assert_eq!(j[flag], true, "{path}");
        }
        // Undecoded when asked: gzip's magic bytes on the wire.
        let raw = Client::builder().decompress(false).build().unwrap();
        let resp = raw
            .get(hb.url("/gzip"))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()["content-encoding"], "gzip");
        assert_eq!(resp.bytes().await.unwrap()[..2], [0x1f, 0x8b]);
    });
}

#[test]
fn chunked_and_ranged_bodies() {
    let Some(hb) = httpbin() else { return };
    run(async {
        let client = Client::new();
        let resp = client.get(hb.url("/stream/20")).send().await.unwrap();
        assert_eq!(resp.headers()["transfer-encoding"], "chunked");
        let text = resp.text().await.unwrap();
        let ids: Vec<u64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["id"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(ids, (0..20).collect::<Vec<_>>());

        let url = hb.url("/stream-bytes/100000?chunk_size=1000&seed=7");
        let mut resp = client.get(&url).send().await.unwrap();
        assert_eq!(resp.headers()["transfer-encoding"], "chunked");
        let (mut total, mut pieces) = (0, 0);
        while let Some(chunk) = resp.chunk().await.unwrap() {
            total += chunk.len();
            pieces += 1;
        }
        assert_eq!(total, 100_000);
        assert!(pieces > 1, "streamed in {pieces} piece(s)");

        let abc = |from: usize, to: usize| -> String {
            (from..=to)
                .map(|i| (b'a' + (i % 26) as u8) as char)
                .collect()
        };
        for (range, first, last) in [("bytes=10-19", 10, 19), ("bytes=990-", 990, 999)] {
            let resp = client
                .get(hb.url("/range/1000"))
                .header("range", range)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT, "{range}");
            let content_range = format!("bytes {first}-{last}/1000");
            assert_eq!(resp.headers()["content-range"], content_range.as_str());
            assert_eq!(resp.text().await.unwrap(), abc(first, last), "{range}");
        }
        let resp = client.get(hb.url("/range/1000")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.text().await.unwrap(), abc(0, 999));
        let resp = client
            .get(hb.url("/range/1000"))
            .header("range", "bytes=2000-")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    });
}

/// Which timeout a request hits: `read` is the client's read timeout,
/// `total` the request's own; the error may come at send or in the body.
async fn timeout_kind(url: String, read: Duration, total: Option<Duration>) -> ErrorKind {
    let client = Client::builder().read_timeout(read).build().unwrap();
    let mut req = client.get(&url);
    if let Some(t) = total {
        req = req.timeout(t);
    }
    let in_body = url.contains("/drip");
    let err = match req.send().await {
        Ok(resp) => {
            assert!(in_body, "{url}: the head came in time");
            resp.bytes().await.unwrap_err()
        }
        Err(e) => {
            assert!(!in_body, "{url}: the head should have come in time: {e}");
            e
        }
    };
    err.kind()
}

#[test]
fn timeouts_by_phase() {
    let Some(hb) = httpbin() else { return };
    run(async {
        let (short, long) = (Duration::from_secs(2), Duration::from_secs(30));
        // /delay answers after 10 s: the time runs out waiting for the
        // head. /drip sends its head and one byte at once and the next
        // byte 10 s later: it runs out inside the body.
        let delay = hb.url("/delay/10");
        let drip = hb.url("/drip?numbytes=2&duration=20&delay=0");
        let cases = [
            (delay.clone(), short, None, Phase::Read),
            (delay, long, Some(short), Phase::Total),
            (drip.clone(), short, None, Phase::Read),
            (drip, long, Some(short), Phase::Total),
        ];
        // All at once: about 2 s in all.
        let tasks: Vec<_> = cases
            .iter()
            .map(|(url, read, total, _)| solo::spawn(timeout_kind(url.clone(), *read, *total)))
            .collect();
        let kinds = solo::gather(tasks).await;
        for ((url, _, total, phase), kind) in cases.iter().zip(kinds) {
            let kind = kind.expect("the request task failed");
            assert_eq!(kind, ErrorKind::Timeout(*phase), "{url}, total {total:?}");
        }
    });
}

#[test]
fn cookies_with_and_without_the_jar() {
    let Some(hb) = httpbin() else { return };
    run(async {
        let jar = Client::builder().cookie_store(true).build().unwrap();
        // Set by a 302 that leads to /cookies: sent on the next hop.
        let j = json_of(jar.get(hb.url("/cookies/set?flavor=oat&size=big"))).await;
        assert_eq!(j["cookies"], json!({"flavor": "oat", "size": "big"}));
        let j = json_of(jar.get(hb.url("/cookies"))).await;
        assert_eq!(j["cookies"], json!({"flavor": "oat", "size": "big"}));
        let j = json_of(jar.get(hb.url("/cookies/delete?size"))).await;
        assert_eq!(j["cookies"], json!({"flavor": "oat"}));

        let none = Client::new();
        let j = json_of(none.get(hb.url("/cookies/set?flavor=oat"))).await;
        assert_eq!(j["cookies"], json!({}));
    });
}

#[test]
fn basic_and_bearer_auth() {
    let Some(hb) = httpbin() else { return };
    run(async {
        let client = Client::builder()
            .resolve("httpbin.test", "127.0.0.1".parse().unwrap())
            .build()
            .unwrap();
        let in_url = |userinfo: &str, path: &str| {
            hb.url(path)
                .replacen("http://", &format!("http://{userinfo}@"), 1)
        };
        let j = json_of(client.get(in_url("ada:s3cret", "/basic-auth/ada/s3cret"))).await;
        assert_eq!(j, json!({"authenticated": true, "user": "ada"}));
        // Percent-encoded in the URL, decoded for the header (as requests).
        let url = in_url("us%40er:p%3Ass", "/basic-auth/us@er/p:ss");
        let j = json_of(client.get(url)).await;
        assert_eq!(j["user"], "us@er");
        let ok = client
            .get(hb.url("/basic-auth/ada/s3cret"))
            .basic_auth("ada", Some("s3cret"));
        assert_eq!(json_of(ok).await["authenticated"], true);
        for wrong in [
            client.get(hb.url("/basic-auth/ada/s3cret")),
            client.get(in_url("ada:nope", "/basic-auth/ada/s3cret")),
            client
                .get(hb.url("/basic-auth/ada/s3cret"))
                .basic_auth("ada", None::<&str>),
        ] {
            let resp = wrong.send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        }

        let j = json_of(client.get(hb.url("/bearer")).bearer_auth("t0ken")).await;
        assert_eq!(j, json!({"authenticated": true, "token": "t0ken"}));
        let resp = client.get(hb.url("/bearer")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

        // Kept on a redirect to the same origin, dropped on one to another.
        let same = in_url("ada:s3cret", "/redirect-to?url=/headers");
        let j = json_of(client.get(same)).await;
        assert_eq!(j["headers"]["Authorization"], "Basic YWRhOnMzY3JldA==");
        let other = hb.other_origin_url("/headers");
        let resp = client
            .get(in_url("ada:s3cret", "/redirect-to"))
            .query(&[("url", &other)])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.url().as_str(), other);
        let j: Value = resp.json().await.unwrap();
        assert!(j["headers"].get("Authorization").is_none(), "{j}");
    });
}

#[test]
fn keep_alive_reuses_one_connection() {
    let Some(hb) = httpbin() else { return };
    run(async {
        for (pooled, want) in [(true, 1), (false, 10)] {
            let mut builder = Client::builder();
            if !pooled {
                builder = builder.pool_max_idle_per_host(0);
            }
            let client = builder.build().unwrap();
            let mark = marker("keepalive");
            for i in 0..10 {
                let url = hb.url(&format!("/get?m={mark}&i={i}"));
                json_of(client.get(url)).await;
            }
            let mut ports = hb.client_ports(&mark, 10);
            assert_eq!(ports.len(), 10, "the access log has every request");
            ports.sort_unstable();
            ports.dedup();
            assert_eq!(ports.len(), want, "pooled: {pooled}, ports {ports:?}");
        }
    });
}

#[test]
fn many_concurrent_requests_all_correct() {
    let Some(hb) = httpbin() else { return };
    run(async {
        let client = Client::builder()
            .max_connections_per_host(8)
            .build()
            .unwrap();
        let mark = marker("concurrent");
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let req = client
                    .post(hb.url(&format!("/anything?m={mark}&i={i}")))
                    .body(format!("payload {i}"));
                solo::spawn(async move { (i, json_of(req).await) })
            })
            .collect();
        for r in solo::gather(tasks).await {
            let (i, j) = r.expect("the request task failed");
            assert_eq!(j["args"]["i"], i.to_string());
            assert_eq!(j["data"], format!("payload {i}"));
        }
        let mut ports = hb.client_ports(&mark, 200);
        assert_eq!(ports.len(), 200, "the access log has every request");
        ports.sort_unstable();
        ports.dedup();
        assert!(
            (1..=8).contains(&ports.len()),
            "{} connections for a limit of 8",
            ports.len()
        );

        // Without a limit, each request in flight opens its own.
        let open = Client::new();
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let req = open.get(hb.url(&format!("/get?i={i}")));
                solo::spawn(async move { (i, json_of(req).await) })
            })
            .collect();
        for r in solo::gather(tasks).await {
            let (i, j) = r.expect("the request task failed");
            assert_eq!(j["args"]["i"], i.to_string());
        }
    });
}

/// `multipart/form-data` as httpbin (werkzeug's parser) reads it: text
/// fields, a repeated name, a file with its media type, a binary file,
/// names with quotes, and an empty file input.
#[test]
fn multipart_forms_and_files() {
    use solo_http::multipart::{Form, Part};
    let Some(hb) = httpbin() else { return };
    run(async {
        let client = Client::new();
        let binary: Vec<u8> = (0..=255u8).collect();
        let form = Form::new()
            .text("title", "Crawl report — été")
            .text("tag", "a")
            .text("tag", "b")
            .text("say \"hi\"", "quoted name")
            .text("lines", "one\r\ntwo")
            .part(
                "notes",
                Part::bytes(&b"col1,col2\n1,2\n"[..])
                    .file_name("notes.csv")
                    .mime("text/csv")
                    .unwrap(),
            )
            .part("blob", Part::bytes(binary.clone()).file_name("blob.bin"));
        let j = json_of(client.post(hb.url("/post")).multipart(&form)).await;
        assert!(j["headers"]["Content-Type"]
            .as_str()
            .unwrap()
            .starts_with("multipart/form-data; boundary="));
        assert_eq!(j["form"]["title"], "Crawl report — été");
        assert_eq!(j["form"]["tag"], json!(["a", "b"]));
        // Sent as %22 (the HTML standard's escape), read back as a quote.
        assert_eq!(j["form"]["say \"hi\""], "quoted name", "{}", j["form"]);
        assert_eq!(j["form"]["lines"], "one\r\ntwo");
        assert_eq!(j["files"]["notes"], "col1,col2\n1,2\n");
        let blob = j["files"]["blob"].as_str().unwrap();
        let b64 = blob
            .strip_prefix("data:application/octet-stream;base64,")
            .unwrap_or_else(|| panic!("{blob}"));
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(decoded, binary);

        // The same form sent twice is the same bytes (one fingerprint for
        // a crawler); an empty form is a valid empty body.
        assert_eq!(form.encode(), form.encode());
        let j = json_of(client.post(hb.url("/post")).multipart(&Form::new())).await;
        assert_eq!(j["form"], json!({}));
        assert_eq!(j["files"], json!({}));
    });
}
