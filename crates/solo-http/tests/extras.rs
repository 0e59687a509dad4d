//! The opt-in cookie jar and HTTP CONNECT proxies.

mod common;

use common::tls::{https_url, start_tls, Pki, TlsOptions};
use common::{failure, json, run, start, start_proxy, text};
use solo_http::{Client, ErrorKind, Version};

/// The `Cookie` header the echo route at `url` received, if any.
async fn cookie_sent(client: &Client, url: String) -> Option<String> {
    let echo: serde_json::Value = json(client.get(url)).await;
    echo["headers"]["cookie"].as_str().map(str::to_owned)
}

#[test]
fn the_cookie_jar_sends_back_what_the_server_set() {
    run(async {
        let s = start().await;
        let client = Client::builder().cookie_store(true).build().unwrap();
        assert_eq!(cookie_sent(&client, s.url("/echo")).await, None);
        client.get(s.url("/cookie/set")).send().await.unwrap();
        // The path-scoped cookie only goes below its path, longest first.
        assert_eq!(
            cookie_sent(&client, s.url("/echo")).await.as_deref(),
            Some("session=abc")
        );
        assert_eq!(
            cookie_sent(&client, s.url("/cookie/echo")).await.as_deref(),
            Some("scoped=1; session=abc")
        );
        // Host-only cookies of 127.0.0.1 do not go to localhost.
        assert_eq!(cookie_sent(&client, s.other_host_url("/echo")).await, None);
        // A request's own Cookie header wins over the jar.
        let echo: serde_json::Value =
            json(client.get(s.url("/echo")).header("cookie", "mine=1")).await;
        assert_eq!(echo["headers"]["cookie"], "mine=1");
    });
}

#[test]
fn cookies_set_by_a_redirect_reach_the_next_hop() {
    run(async {
        let s = start().await;
        let client = Client::builder().cookie_store(true).build().unwrap();
        let echo: serde_json::Value = json(client.get(s.url("/cookie/redirect"))).await;
        assert_eq!(echo["headers"]["cookie"], "via=redirect");
    });
}

/// "Set a cookie and redirect to yourself": the second request differs
/// (it has the cookie), so it is not a loop; a real loop still ends.
#[test]
fn a_redirect_to_the_same_url_with_a_new_cookie_is_followed() {
    run(async {
        let s = start().await;
        let client = Client::builder().cookie_store(true).build().unwrap();
        assert_eq!(text(&client, s.url("/cookie/bounce")).await, "welcome");
        // The same cookie again: nothing changed, a loop.
        let e = failure(&client, s.url("/cookie/bounce?forever")).await;
        assert_eq!(e.kind(), ErrorKind::Redirect);
        assert!(e.to_string().contains("redirect loop"), "{e}");
        // Without the jar the cookie never comes back: a loop too.
        let e = failure(&Client::new(), s.url("/cookie/bounce")).await;
        assert!(e.to_string().contains("redirect loop"), "{e}");
    });
}

#[test]
fn without_the_jar_no_cookie_is_kept() {
    run(async {
        let s = start().await;
        let client = Client::new();
        client.get(s.url("/cookie/set")).send().await.unwrap();
        assert_eq!(cookie_sent(&client, s.url("/echo")).await, None);
    });
}

#[test]
fn plain_http_requests_are_forwarded_through_the_proxy_with_credentials() {
    run(async {
        let s = start().await;
        // "user:pw" in base64.
        let (proxy, heads) = start_proxy(Some("dXNlcjpwdw==")).await;
        let proxy_url = format!("http://user:pw@{}", proxy.addr);
        let client = Client::builder().proxy(&proxy_url).build().unwrap();
        for _ in 0..3 {
            assert_eq!(text(&client, s.url("/text")).await, "hello world");
        }
        // One connection to the proxy, kept alive; each request names its
        // whole URL (a stock squid tunnels to port 443 only).
        assert_eq!(proxy.stats.accepted(), 1);
        assert_eq!(s.stats.accepted(), 1);
        let head = heads.borrow()[0].clone();
        assert!(
            head.starts_with(&format!("GET http://{}/text HTTP/1.1\r\n", s.addr)),
            "{head}"
        );
        assert!(head.contains(&format!("host: {}\r\n", s.addr)), "{head}");
        // The capture is the request as sent directly: no proxy in it.
        let resp = client
            .get(s.url("/text"))
            .capture(true)
            .send()
            .await
            .unwrap();
        let sent = String::from_utf8(resp.capture().unwrap().request().to_vec()).unwrap();
        assert!(sent.starts_with("GET /text HTTP/1.1\r\n"), "{sent}");
        assert!(
            !sent.to_ascii_lowercase().contains("proxy-authorization"),
            "{sent}"
        );
    });
}

#[test]
fn the_no_proxy_hosts_are_reached_directly() {
    run(async {
        let s = start().await;
        let (proxy, heads) = start_proxy(None).await;
        let client = Client::builder()
            .proxy(&proxy.url(""))
            .no_proxy("example.test, 127.0.0.0/8")
            .build()
            .unwrap();
        assert_eq!(text(&client, s.url("/text")).await, "hello world");
        assert_eq!(proxy.stats.accepted(), 0, "{:?}", heads.borrow());
    });
}

#[test]
fn tls_and_http2_run_end_to_end_through_the_tunnel() {
    run(async {
        let pki = Pki::new();
        let s = start_tls(
            &pki,
            TlsOptions {
                h2: true,
                lifetime: None,
                max_streams: None,
            },
        )
        .await;
        let (proxy, _) = start_proxy(None).await;
        let client = Client::builder()
            .proxy(&proxy.url(""))
            .add_root_certificate(pki.ca_der.clone())
            .build()
            .unwrap();
        let resp = client.get(https_url(&s, "/text")).send().await.unwrap();
        assert_eq!(resp.version(), Version::HTTP_2);
        assert_eq!(resp.text().await.unwrap(), "hello world");
    });
}

#[test]
fn a_proxy_that_wants_credentials_is_a_proxy_error() {
    // Not a connection failure: retrying the same way cannot help, and
    // the message says what to fix.
    run(async {
        let s = start().await;
        let (proxy, _) = start_proxy(Some("c2VjcmV0")).await;
        let client = Client::builder().proxy(&proxy.url("")).build().unwrap();
        let e = failure(&client, s.url("/text")).await;
        assert_eq!(e.kind(), ErrorKind::Proxy, "{e}");
        assert!(e.to_string().contains("407"), "{e}");
        assert!(e.to_string().contains("wants a user and password"), "{e}");
        // The same for a tunnel: CONNECT answered with 407.
        let e = failure(&client, format!("https://127.0.0.1:{}/", s.addr.port())).await;
        assert_eq!(e.kind(), ErrorKind::Proxy, "{e}");
        assert!(e.to_string().contains("407"), "{e}");
    });
}
