//! HTTP/2 connections in the pool: a dead one is retired, idle ones are
//! swept like HTTP/1.1 ones, keep-alive PINGs, large response heads; and
//! the idle sweep of a client used in a second loop.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::relay::start_relay;
use common::tls::{https_url, start_tls, trusting_with, Pki, H1, H2};
use common::{run, start, text};
use solo_http::{Client, ErrorKind, Phase, Version};

/// Waits (up to 10 s) until `done`, checking every 50 ms; whether it was.
async fn eventually(done: impl Fn() -> bool) -> bool {
    for _ in 0..200 {
        if done() {
            return true;
        }
        solo::sleep(Duration::from_millis(50)).await;
    }
    done()
}

/// The path to the server dies silently (a NAT dropped the flow): the
/// request on it times out, and that retires the connection, so the next
/// request opens a new one instead of timing out too.
#[test]
fn a_silent_http2_connection_is_replaced_after_a_read_timeout() {
    run(async {
        let pki = Pki::new();
        let s = start_tls(&pki, H2).await;
        let relay = start_relay(s.addr).await;
        let url = format!("https://localhost:{}/text", relay.server.addr.port());
        let client = trusting_with(&pki, |b| b.read_timeout(Duration::from_secs(1)));
        let resp = client.get(&url).send().await.unwrap();
        assert_eq!(resp.version(), Version::HTTP_2);
        assert_eq!(resp.text().await.unwrap(), "hello world");

        relay.black_hole();
        let e = client.get(&url).send().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout(Phase::Read), "{e}");
        for _ in 0..3 {
            assert_eq!(text(&client, &url).await, "hello world");
        }
        assert_eq!(relay.server.stats.accepted(), 2);
    });
}

/// The same when the path dies while a response body is being read.
#[test]
fn a_connection_silent_during_a_body_is_replaced_after_a_read_timeout() {
    run(async {
        let pki = Pki::new();
        let s = start_tls(&pki, H2).await;
        let relay = start_relay(s.addr).await;
        let url = |path: &str| format!("https://localhost:{}{path}", relay.server.addr.port());
        let client = trusting_with(&pki, |b| b.read_timeout(Duration::from_secs(1)));
        // 50 bytes, one every 100 ms.
        let mut resp = client.get(url("/trickle")).send().await.unwrap();
        assert_eq!(resp.version(), Version::HTTP_2);
        assert!(resp.chunk().await.unwrap().is_some());

        relay.black_hole();
        let e = loop {
            match resp.chunk().await {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the body ended through a black hole"),
                Err(e) => break e,
            }
        };
        assert_eq!(e.kind(), ErrorKind::Timeout(Phase::Read), "{e}");
        assert_eq!(text(&client, url("/text")).await, "hello world");
        assert_eq!(relay.server.stats.accepted(), 2);
    });
}

/// With keep-alive PINGs the dead connection is found while it sits idle
/// in the pool: the next request never sees it.
#[test]
fn http2_keep_alive_finds_a_dead_idle_connection_before_a_request_uses_it() {
    run(async {
        let pki = Pki::new();
        let s = start_tls(&pki, H2).await;
        let relay = start_relay(s.addr).await;
        let url = format!("https://localhost:{}/text", relay.server.addr.port());
        let client = trusting_with(&pki, |b| {
            b.http2_keep_alive(Some(Duration::from_millis(500)))
        });
        assert_eq!(text(&client, &url).await, "hello world");
        // PINGs answered: the live connection stays.
        solo::sleep(Duration::from_millis(1500)).await;
        assert_eq!(text(&client, &url).await, "hello world");
        assert_eq!(relay.server.stats.accepted(), 1);

        // A request on the connection when it dies fails when its PING
        // goes unanswered, long before the read timeout (30 s).
        relay.black_hole();
        let e = client.get(&url).send().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout(Phase::Read), "{e}");
        assert!(e.to_string().contains("PING"), "{e}");
        assert_eq!(text(&client, &url).await, "hello world");
        assert_eq!(relay.server.stats.accepted(), 2);

        relay.black_hole();
        // A PING after 500 ms of silence, no answer in 500 ms more.
        solo::sleep(Duration::from_millis(2500)).await;
        let resp = solo::timeout(Duration::from_secs(5), client.get(&url).send())
            .await
            .expect("the request waited on the dead connection")
            .unwrap();
        assert_eq!(resp.text().await.unwrap(), "hello world");
        assert_eq!(relay.server.stats.accepted(), 3);
    });
}

/// `pool_idle_timeout` closes idle HTTP/2 connections, and the hosts
/// leave the pool, as with HTTP/1.1; a connection with a stream open is
/// not idle.
#[test]
fn idle_http2_connections_to_many_hosts_are_closed() {
    run(async {
        let pki = Pki::new();
        let s = start_tls(&pki, H2).await;
        let mut builder = Client::builder()
            .danger_accept_invalid_certs(true)
            .pool_idle_timeout(Some(Duration::from_millis(100)));
        for i in 0..=60 {
            builder = builder.resolve(&format!("host{i}.test"), [127, 0, 0, 1].into());
        }
        let client = builder.build().unwrap();
        let url = |i: usize, path: &str| format!("https://host{i}.test:{}{path}", s.addr.port());

        // /slow answers after 300 ms: three idle timeouts with a stream
        // open, and a request that comes meanwhile shares the connection.
        let (slow, other) = solo::gather!(client.get(url(0, "/slow")).send(), async {
            solo::sleep(Duration::from_millis(250)).await;
            text(&client, url(0, "/text")).await
        });
        assert_eq!(slow.unwrap().text().await.unwrap(), "slow");
        assert_eq!(other, "hello world");
        assert_eq!(s.stats.accepted(), 1);

        for i in 1..=60 {
            let resp = client.get(url(i, "/text")).send().await.unwrap();
            assert_eq!(resp.version(), Version::HTTP_2);
            assert_eq!(resp.text().await.unwrap(), "hello world");
        }
        assert_eq!(s.stats.accepted(), 61);
        let closed = eventually(|| s.stats.open() == 0).await;
        assert!(closed, "{} connections still open", s.stats.open());
        assert_eq!(client.pooled_hosts(), 0);
    });
}

/// A response head over hyper's HTTP/2 default of 16 KiB (long CSP
/// headers, many cookies) is accepted as over HTTP/1.1; one over the
/// client's limit is a `TooLarge` error on both protocols.
#[test]
fn large_response_heads_are_accepted_and_too_large_ones_are_a_clear_error() {
    run(async {
        let pki = Pki::new();
        for (opts, version) in [(H2, Version::HTTP_2), (H1, Version::HTTP_11)] {
            let s = start_tls(&pki, opts).await;
            let client = trusting_with(&pki, |b| b);
            let resp = client
                .get(https_url(&s, "/big-head?n=20"))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.version(), version);
            assert_eq!(resp.headers()["x-big-1"].len(), 10 << 10);
            assert_eq!(resp.text().await.unwrap(), "big head");

            let e = client
                .get(https_url(&s, "/big-head?n=450"))
                .send()
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::TooLarge, "{version:?}: {e}");
            let msg = e.to_string();
            assert!(
                msg.contains("response head") && msg.contains("417792 bytes"),
                "{version:?}: {msg}"
            );
        }
    });
}

/// A client kept across `solo::run` calls: the idle sweep of the second
/// loop closes its idle connection (the first loop's timer died with it).
#[test]
fn a_client_used_in_a_second_loop_still_closes_idle_connections() {
    // The server runs in a loop of its own, on another thread.
    let open = Arc::new(AtomicUsize::new(usize::MAX));
    let (tx, rx) = std::sync::mpsc::channel();
    let o = open.clone();
    std::thread::spawn(move || {
        solo::run(async move {
            let s = start().await;
            tx.send(s.url("/text")).unwrap();
            loop {
                o.store(s.stats.open(), Ordering::SeqCst);
                solo::sleep(Duration::from_millis(10)).await;
            }
        })
    });
    let url = rx.recv().unwrap();
    let client = Client::builder()
        .pool_idle_timeout(Some(Duration::from_millis(500)))
        .build()
        .unwrap();
    for round in 1..=2 {
        let (client, url, open) = (client.clone(), url.clone(), open.clone());
        run(async move {
            assert_eq!(text(&client, &url).await, "hello world");
            if round == 2 {
                let opened = eventually(|| open.load(Ordering::SeqCst) == 1).await;
                assert!(opened, "the server did not see the connection");
                let closed = eventually(|| open.load(Ordering::SeqCst) == 0).await;
                assert!(closed, "the idle connection of the second loop stayed open");
            }
        });
    }
}

/// Large responses held unread (statuses checked first, bodies read
/// later) each fill their stream's window, not the whole connection's:
/// another request to the host still gets its answer over the shared
/// HTTP/2 connection, and the held bodies are whole afterwards.
#[test]
fn large_http2_responses_held_unread_do_not_block_other_requests() {
    run(async {
        let pki = Pki::new();
        let s = start_tls(&pki, H2).await;
        let client = trusting_with(&pki, |b| b.read_timeout(Duration::from_secs(2)));
        const HELD: usize = 6;
        const SIZE: usize = 4 << 20;
        let mut held = Vec::new();
        for _ in 0..HELD {
            let resp = client
                .get(https_url(&s, &format!("/big?n={SIZE}")))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.version(), Version::HTTP_2);
            held.push(resp);
        }
        // Time for the server to fill every window it is given.
        solo::sleep(Duration::from_millis(300)).await;
        let started = solo::time::now();
        assert_eq!(text(&client, https_url(&s, "/text")).await, "hello world");
        let took = solo::time::now() - started;
        assert!(took < Duration::from_secs(1), "took {took:?}");
        for resp in held {
            assert_eq!(resp.bytes().await.unwrap().len(), SIZE);
        }
        assert_eq!(s.stats.accepted(), 1, "all on one connection");
    });
}
