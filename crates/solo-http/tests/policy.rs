//! The address policy, enforced in the connector after DNS: names,
//! redirects, re-resolution and proxy tunnels. Every address used is in
//! 127.0.0.0/8; the "forbidden" one is 127.0.0.2, watched by a listener
//! that must never see a connection.

mod common;

use std::cell::Cell;
use std::net::IpAddr;
use std::rc::Rc;

use common::{ok_server_on, read_head_text, run, start_proxy, start_raw, Server};
use solo::net::TcpStream;
use solo_http::{AddressPolicy, Client, ErrorKind, Resolver, Resolving};

/// A listener on 127.0.0.2 that must see no connection, and its port.
struct Trap(std::net::TcpListener);

impl Trap {
    fn new() -> Trap {
        let l = std::net::TcpListener::bind("127.0.0.2:0").expect("127.0.0.2 is loopback on Linux");
        l.set_nonblocking(true).unwrap();
        Trap(l)
    }

    fn port(&self) -> u16 {
        self.0.local_addr().unwrap().port()
    }

    /// Whether anything connected (a completed handshake waits in the
    /// backlog, so this sees every connection made so far).
    fn was_reached(&self) -> bool {
        self.0.accept().is_ok()
    }
}

/// 127.0.0.0/8 allowed except 127.0.0.2: the tests' stand-in for "the
/// crawl's own network, but not the private one next to it".
fn policy() -> AddressPolicy {
    AddressPolicy::public_only()
        .allow("127.0.0.0/8".parse().unwrap())
        .deny("127.0.0.2/32".parse().unwrap())
}

/// A resolver from a fixed table; unknown names fail.
fn table(entries: &[(&'static str, &str)]) -> Resolver {
    Resolver::hosts(entries.iter().map(|(n, ip)| (*n, ip.parse().unwrap())))
}

/// A server on 127.0.0.1 answering "ok" to every request with
/// `Connection: close` (so each request needs a new connection), or a
/// redirect to `location` when it is set.
async fn start_server(location: Option<String>) -> Server {
    start_raw(move |s: TcpStream| {
        let location = location.clone();
        async move {
            if read_head_text(&s).await.is_none() {
                return;
            }
            let answer = match &location {
                Some(to) => format!(
                    "HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                ),
                None => "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".into(),
            };
            let _ = s.write_all(answer.as_bytes()).await;
        }
    })
    .await
}

#[test]
fn a_name_resolving_to_a_denied_address_is_refused_before_connecting() {
    run(async {
        let trap = Trap::new();
        let client = Client::builder()
            .address_policy(policy())
            .resolver(table(&[("evil.test", "127.0.0.2")]))
            .build()
            .unwrap();
        for url in [
            format!("http://evil.test:{}/", trap.port()),
            format!("http://127.0.0.2:{}/", trap.port()),
            format!("http://[::ffff:127.0.0.2]:{}/", trap.port()),
        ] {
            let err = client.get(&url).send().await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BlockedAddress, "{url}: {err}");
            assert!(
                err.to_string()
                    .contains("127.0.0.2 is in 127.0.0.2/32 (denied by a rule)"),
                "{err}"
            );
        }
        assert!(!trap.was_reached());
    });
}

#[test]
fn the_public_only_preset_refuses_loopback_without_a_rule() {
    run(async {
        let s = start_server(None).await;
        let client = Client::builder()
            .address_policy(AddressPolicy::public_only())
            .resolver(table(&[("local.test", "127.0.0.1")]))
            .build()
            .unwrap();
        let url = format!("http://local.test:{}/", s.addr.port());
        let err = client.get(&url).send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BlockedAddress);
        assert!(err.to_string().contains("(loopback)"), "{err}");
        assert_eq!(s.stats.accepted(), 0);
        // Allowed explicitly, the same request goes through.
        let client = Client::builder()
            .address_policy(AddressPolicy::public_only().allow("127.0.0.1/32".parse().unwrap()))
            .resolver(table(&[("local.test", "127.0.0.1")]))
            .build()
            .unwrap();
        let text = client.get(&url).send().await.unwrap().text().await.unwrap();
        assert_eq!(text, "ok");
    });
}

#[test]
fn a_redirect_to_a_denied_address_is_refused() {
    run(async {
        let trap = Trap::new();
        let s = start_server(Some(format!("http://127.0.0.2:{}/", trap.port()))).await;
        let client = Client::builder().address_policy(policy()).build().unwrap();
        let err = client.get(s.url("/")).send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BlockedAddress, "{err}");
        assert_eq!(s.stats.accepted(), 1);
        assert!(!trap.was_reached());
    });
}

#[test]
fn a_name_that_re_resolves_to_a_denied_address_is_refused() {
    run(async {
        // The allowed server on 127.0.0.1 and the trap on 127.0.0.2, on
        // one port, so only the resolver's answer tells them apart.
        let (trap, accepted) = loop {
            let trap = Trap::new();
            if let Ok(accepted) = ok_server_on(trap.port()).await {
                break (trap, accepted);
            }
        };
        let answers = Rc::new(Cell::new(0));
        let n = answers.clone();
        let rebinding = move |_: &str| -> Resolving {
            n.set(n.get() + 1);
            let ip: IpAddr = if n.get() == 1 {
                [127, 0, 0, 1]
            } else {
                [127, 0, 0, 2]
            }
            .into();
            Box::pin(async move { Ok(vec![ip]) })
        };
        let client = Client::builder()
            .address_policy(policy())
            .resolver(rebinding)
            .build()
            .unwrap();
        let url = format!("http://rebind.test:{}/", trap.port());
        let text = client.get(&url).send().await.unwrap().text().await.unwrap();
        assert_eq!(text, "ok");
        // The server closed the connection: a new one resolves again.
        let err = client.get(&url).send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BlockedAddress, "{err}");
        assert_eq!(answers.get(), 2);
        assert_eq!(accepted.get(), 1);
        assert!(!trap.was_reached());
    });
}

#[test]
fn a_proxied_name_is_checked_here_before_the_proxy_is_asked_for_it() {
    run(async {
        let trap = Trap::new();
        let pki = common::tls::Pki::new();
        let opts = common::tls::TlsOptions {
            h2: false,
            lifetime: None,
            max_streams: None,
        };
        let s = common::tls::start_tls(&pki, opts).await;
        let (proxy, heads) = start_proxy(None).await;
        let client = Client::builder()
            .proxy(&format!("http://{}", proxy.addr))
            .address_policy(policy())
            .add_root_certificate(pki.ca_der.clone())
            .resolver(table(&[
                ("localhost", "127.0.0.1"),
                ("evil.test", "127.0.0.2"),
            ]))
            .build()
            .unwrap();
        let url = common::tls::https_url(&s, "/text");
        let text = client.get(&url).send().await.unwrap().text().await.unwrap();
        assert_eq!(text, "hello world");
        // The name was checked here, then asked of the proxy (as curl
        // asks, so a proxy's rules by domain apply).
        let head = heads.borrow()[0].clone();
        assert!(
            head.starts_with(&format!("CONNECT localhost:{} HTTP/1.1\r\n", s.addr.port())),
            "{head}"
        );
        // Tunnelled or forwarded, a refused address never reaches the
        // proxy.
        for scheme in ["https", "http"] {
            let err = client
                .get(format!("{scheme}://evil.test:{}/", trap.port()))
                .send()
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BlockedAddress, "{err}");
        }
        assert_eq!(heads.borrow().len(), 1);
        assert!(!trap.was_reached());
    });
}

#[test]
fn a_forwarded_request_names_a_host_the_policy_allowed() {
    run(async {
        let s = start_server(None).await;
        let (proxy, heads) = start_proxy(None).await;
        let client = Client::builder()
            .proxy(&format!("http://{}", proxy.addr))
            .address_policy(policy())
            .resolver(table(&[("good.test", "127.0.0.1")]))
            .build()
            .unwrap();
        let url = format!("http://good.test:{}/", s.addr.port());
        let text = client.get(&url).send().await.unwrap().text().await.unwrap();
        assert_eq!(text, "ok");
        let head = heads.borrow()[0].clone();
        assert!(
            head.starts_with(&format!("GET {url} HTTP/1.1\r\n")),
            "{head}"
        );
        // A name this machine cannot resolve is the proxy's to resolve
        // (its DNS may be the only one that knows it).
        let url = format!("http://only-there.test:{}/", s.addr.port());
        let text = client.get(&url).send().await.unwrap().text().await.unwrap();
        assert_eq!(text, "ok");
    });
}
