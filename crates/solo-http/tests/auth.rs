//! Credentials (URL userinfo, `basic_auth`, `bearer_auth`), keeping
//! passwords out of everything printed, and `Content-Length: 0` on empty
//! POST/PUT/PATCH, against the hyper echo server of `common`.

mod common;

use std::collections::HashMap;

use common::{run, start};
use serde::Deserialize;
use solo_http::{Client, ErrorKind, Method};

#[derive(Deserialize, Debug)]
struct Echo {
    method: String,
    uri: String,
    headers: HashMap<String, String>,
}

async fn echo(req: solo_http::RequestBuilder) -> Echo {
    req.send().await.unwrap().json().await.unwrap()
}

/// `http://{userinfo}@127.0.0.1:PORT{path}`.
fn with_userinfo(url: &str, userinfo: &str) -> String {
    url.replacen("http://", &format!("http://{userinfo}@"), 1)
}

#[test]
fn empty_post_put_and_patch_send_content_length_zero() {
    run(async {
        let s = start().await;
        let client = Client::new();
        for method in [Method::POST, Method::PUT, Method::PATCH] {
            let e = echo(client.request(method.clone(), s.url("/echo"))).await;
            assert_eq!(e.headers["content-length"], "0", "{method} without a body");
            let e = echo(client.request(method.clone(), s.url("/echo")).body("")).await;
            assert_eq!(e.headers["content-length"], "0", "{method} with body \"\"");
            let e = echo(client.request(method.clone(), s.url("/echo")).body("abc")).await;
            assert_eq!(e.headers["content-length"], "3", "{method} with a body");
        }
        // Methods that expect no content get no Content-Length (RFC 9110
        // section 8.6: a user agent SHOULD NOT send one).
        for method in [Method::GET, Method::DELETE, Method::OPTIONS] {
            let e = echo(client.request(method.clone(), s.url("/echo"))).await;
            assert!(!e.headers.contains_key("content-length"), "{method}: {e:?}");
        }
        // A POST turned into a GET by a 303 loses it with the body.
        let e = echo(client.post(s.url("/redirect/303"))).await;
        assert_eq!(e.method, "GET");
        assert!(!e.headers.contains_key("content-length"), "{e:?}");
    });
}

#[test]
fn url_credentials_become_basic_auth_and_leave_the_url() {
    run(async {
        let s = start().await;
        let client = Client::new();
        let url = with_userinfo(&s.url("/echo?x=1"), "ada:s%40cret%3A1");
        let resp = client.get(&url).send().await.unwrap();
        assert_eq!(resp.url().as_str(), s.url("/echo?x=1"));
        let printed = format!("{resp:?}");
        assert!(!printed.contains("cret"), "{printed}");
        let e: Echo = resp.json().await.unwrap();
        // base64("ada:s@cret:1"): decoded as curl, requests and reqwest do.
        assert_eq!(e.headers["authorization"], "Basic YWRhOnNAY3JldDox");
        assert_eq!(e.uri, "/echo?x=1");

        // A user without a password is `user:`; a password alone `:pw`.
        let e = echo(client.get(with_userinfo(&s.url("/echo"), "ada"))).await;
        assert_eq!(e.headers["authorization"], "Basic YWRhOg==");
        let e = echo(client.get(with_userinfo(&s.url("/echo"), ":pw"))).await;
        assert_eq!(e.headers["authorization"], "Basic OnB3");

        // The request's own Authorization wins over the URL's.
        let e = echo(
            client
                .get(with_userinfo(&s.url("/echo"), "ada:pw"))
                .bearer_auth("t0ken"),
        )
        .await;
        assert_eq!(e.headers["authorization"], "Bearer t0ken");
    });
}

#[test]
fn basic_auth_and_bearer_auth_set_authorization() {
    run(async {
        let s = start().await;
        let client = Client::new();
        let e = echo(
            client
                .get(s.url("/echo"))
                .basic_auth("Aladdin", Some("open sesame")),
        )
        .await;
        assert_eq!(
            e.headers["authorization"],
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        let e = echo(client.get(s.url("/echo")).basic_auth("key", None::<&str>)).await;
        assert_eq!(e.headers["authorization"], "Basic a2V5Og==");
        // The last one set wins; only one header is sent.
        let e = echo(
            client
                .get(s.url("/echo"))
                .basic_auth("a", Some("b"))
                .bearer_auth("xyz"),
        )
        .await;
        assert_eq!(e.headers["authorization"], "Bearer xyz");
    });
}

#[test]
fn url_credentials_go_to_the_same_origin_only() {
    run(async {
        let s = start().await;
        let client = Client::new();
        let same = with_userinfo(&s.url("/redirect/same-host"), "ada:pw");
        let e = echo(client.get(same)).await;
        assert_eq!(e.headers["authorization"], "Basic YWRhOnB3");
        let other = with_userinfo(&s.url("/redirect/other-host"), "ada:pw");
        let resp = client.get(other).send().await.unwrap();
        assert_eq!(resp.url().host_str(), Some("localhost"));
        let e: Echo = resp.json().await.unwrap();
        assert!(!e.headers.contains_key("authorization"), "{e:?}");
    });
}

#[test]
fn passwords_never_appear_in_errors() {
    run(async {
        let client = Client::new();
        let printed = |e: solo_http::Error| format!("{e} {e:?}");
        // Refused: the error's URL has no userinfo.
        let err = client
            .get("http://ada:s3cret@127.0.0.1:1/x")
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connect);
        assert_eq!(err.url().unwrap().as_str(), "http://127.0.0.1:1/x");
        let text = printed(err);
        assert!(!text.contains("s3cret"), "{text}");
        // Not a valid URL: quoted with the password hidden.
        let err = client
            .get("http://ada:s3cret@[::1/x")
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidUrl);
        let text = printed(err);
        assert!(text.contains("http://ada:***@[::1/x"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
        // An unsupported scheme, and a bearer token that is not a header.
        let err = client
            .get("ftp://ada:s3cret@h.test/")
            .send()
            .await
            .unwrap_err();
        let text = printed(err);
        assert!(!text.contains("s3cret"), "{text}");
        let err = client
            .get("http://127.0.0.1:1/")
            .bearer_auth("s3cret\n")
            .send()
            .await
            .unwrap_err();
        let text = printed(err);
        assert!(!text.contains("s3cret"), "{text}");
    });
}

#[test]
fn debug_of_clients_never_shows_credentials() {
    let mut h = http::HeaderMap::new();
    h.insert("authorization", "Bearer s3cret".parse().unwrap());
    let client = Client::builder()
        .default_headers(h)
        .proxy("http://ada:s3cret@127.0.0.1:3128")
        .build()
        .unwrap();
    let text = format!("{client:?}");
    assert!(!text.contains("s3cret"), "{text}");
    assert!(text.contains("Sensitive"), "{text}");
    let err = Client::builder()
        .proxy("http://ada:s3cret@127.0.0.1:bad")
        .build()
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("s3cret"), "{text}");
}
