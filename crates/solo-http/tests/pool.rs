//! The connection pool: keep-alive reuse, per-host limits, idle expiry and
//! connections the server closes.

mod common;

use std::time::Duration;

use common::{concurrent, json, run, start, start_faulty, text};
use solo_http::{Client, ClientBuilder, ErrorKind, Phase};

#[test]
fn sequential_requests_share_one_keep_alive_connection() {
    run(async {
        let s = start().await;
        let client = Client::new();
        for i in 0..10 {
            let resp = client.get(s.url("/text")).send().await.unwrap();
            assert_eq!(resp.text().await.unwrap(), "hello world", "request {i}");
        }
        // Bodies read every way give the connection back.
        let _: serde_json::Value = json(client.get(s.url("/json"))).await;
        let mut r = client.get(s.url("/gzip")).send().await.unwrap();
        while r.chunk().await.unwrap().is_some() {}
        client.head(s.url("/text")).send().await.unwrap();
        client
            .get(s.url("/text"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(s.stats.accepted(), 1);
    });
}

#[test]
fn max_connections_per_host_makes_requests_wait_for_a_slot() {
    run(async {
        let s = start().await;
        let client = Client::builder()
            .max_connections_per_host(4)
            .build()
            .unwrap();
        let results = concurrent(&client, &s.url("/pause"), 50).await;
        assert!(results.iter().all(|r| r.as_deref().ok() == Some("paused")));
        assert!(
            s.stats.max_open() <= 4,
            "{} open at once",
            s.stats.max_open()
        );
        assert!(
            s.stats.accepted() <= 4,
            "{} connections",
            s.stats.accepted()
        );
    });
}

/// A task that keeps a response unread and sends another request to the
/// host, with one connection allowed: the request waits for the pool
/// timeout, not for ever (no connect or read timeout covers the wait),
/// and the error names the limit. Once the response is read, the
/// connection serves the next request.
#[test]
fn a_request_waiting_for_a_held_connection_fails_after_the_pool_timeout() {
    run(async {
        let s = start().await;
        let client = Client::builder()
            .max_connections_per_host(1)
            .pool_timeout(Some(Duration::from_millis(300)))
            .build()
            .unwrap();
        let held = client.get(s.url("/text")).send().await.unwrap();
        let started = solo::time::now();
        let e = client.get(s.url("/json")).send().await.unwrap_err();
        let took = solo::time::now() - started;
        assert_eq!(e.kind(), ErrorKind::Timeout(Phase::Pool), "{e}");
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
        let msg = e.to_string();
        assert!(msg.contains("max_connections_per_host"), "{msg}");
        assert!(msg.contains(&s.url("/json")), "{msg}");
        assert_eq!(held.text().await.unwrap(), "hello world");
        assert_eq!(text(&client, s.url("/text")).await, "hello world");
        assert_eq!(s.stats.accepted(), 1);
    });
}

#[test]
fn without_a_limit_concurrent_requests_open_more_connections() {
    // The control for the test above: the server does see concurrency.
    run(async {
        let s = start().await;
        let client = Client::new();
        let results = concurrent(&client, &s.url("/pause"), 20).await;
        assert!(results.iter().all(|r| r.is_ok()));
        assert!(
            s.stats.max_open() > 4,
            "{} open at once",
            s.stats.max_open()
        );
    });
}

#[test]
fn connection_close_responses_are_not_reused() {
    run(async {
        let s = start().await;
        let client = Client::new();
        for _ in 0..3 {
            let resp = client.get(s.url("/close")).send().await.unwrap();
            assert_eq!(resp.text().await.unwrap(), "bye");
        }
        assert_eq!(s.stats.accepted(), 3);
        for _ in 0..3 {
            text(&client, s.url("/text")).await;
        }
        assert_eq!(s.stats.accepted(), 4);
    });
}

#[test]
fn an_idle_connection_the_server_closed_is_replaced_transparently() {
    run(async {
        let s = start_faulty().await;
        let client = Client::new();
        let resp = client.get(s.url("/close-idle")).send().await.unwrap();
        assert_eq!(resp.text().await.unwrap(), "ok");
        solo::sleep(Duration::from_millis(200)).await; // the server has closed it
        let resp = client.get(s.url("/ok")).send().await.unwrap();
        assert_eq!(resp.text().await.unwrap(), "ok");
        assert_eq!(s.stats.accepted(), 2);
    });
}

#[test]
fn a_connection_closed_right_after_its_response_is_never_an_error() {
    // The server closes each connection as soon as it has answered, without
    // saying so: the next request races the close. Each one must succeed,
    // on the pooled connection if it is still good, else on a new one.
    run(async {
        let s = start_faulty().await;
        let client = Client::new();
        for i in 0..20 {
            let resp = client.get(s.url("/close-now")).send().await;
            let text = match resp {
                Ok(r) => r.text().await,
                Err(e) => Err(e),
            };
            assert_eq!(text.unwrap_or_else(|e| panic!("request {i}: {e}")), "ok");
        }
        assert_eq!(s.stats.accepted(), 20);
    });
}

#[test]
fn idle_connections_expire_and_are_closed() {
    run(async {
        let s = start().await;
        let client = Client::builder()
            .pool_idle_timeout(Some(Duration::from_millis(100)))
            .build()
            .unwrap();
        text(&client, s.url("/text")).await;
        assert_eq!(s.stats.open(), 1);
        // The pool's sweep closes it although no request comes.
        eventually(|| s.stats.open() == 0).await;
        assert_eq!(s.stats.open(), 0);
        text(&client, s.url("/text")).await;
        assert_eq!(s.stats.accepted(), 2);
    });
}

#[test]
fn max_idle_zero_keeps_no_connection() {
    run(async {
        let s = start().await;
        let client = Client::builder().pool_max_idle_per_host(0).build().unwrap();
        for _ in 0..3 {
            text(&client, s.url("/text")).await;
        }
        assert_eq!(s.stats.accepted(), 3);
    });
}

#[test]
fn max_idle_per_host_bounds_what_is_kept() {
    run(async {
        let s = start().await;
        let client = Client::builder().pool_max_idle_per_host(2).build().unwrap();
        assert!(concurrent(&client, &s.url("/pause"), 6)
            .await
            .iter()
            .all(|r| r.is_ok()));
        assert_eq!(s.stats.accepted(), 6);
        eventually(|| s.stats.open() == 2).await;
        assert_eq!(s.stats.open(), 2, "only two idle connections are kept");
    });
}

#[test]
fn an_unfinished_response_does_not_poison_the_pool() {
    run(async {
        let s = start().await;
        let client = Client::new();
        let mut resp = client
            .get(s.url("/big-chunked?n=1000000"))
            .send()
            .await
            .unwrap();
        assert!(resp.chunk().await.unwrap().is_some());
        drop(resp);
        let resp = client.get(s.url("/text")).send().await.unwrap();
        assert_eq!(resp.text().await.unwrap(), "hello world");
        assert_eq!(s.stats.accepted(), 2);
    });
}

#[test]
fn dropping_the_client_closes_its_connections() {
    run(async {
        let s = start().await;
        let client = Client::new();
        text(&client, s.url("/text")).await;
        assert_eq!(s.stats.open(), 1);
        drop(client);
        eventually(|| s.stats.open() == 0).await;
        assert_eq!(s.stats.open(), 0);
    });
}

#[test]
fn a_stale_connection_is_retried_for_idempotent_requests_only() {
    run(async {
        let s = start_faulty().await;
        let client = Client::new();
        // GET: the second request finds its pooled connection dead after
        // sending, and is retried on a new one.
        for _ in 0..2 {
            let resp = client.get(s.url("/once")).send().await.unwrap();
            assert_eq!(resp.text().await.unwrap(), "ok");
        }
        assert_eq!(s.stats.accepted(), 2);
        // POST is not retried once sent: the caller sees the failure.
        let e = client
            .post(s.url("/once"))
            .body("x")
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), solo_http::ErrorKind::Connect);
        assert!(e.to_string().contains("before a response arrived"), "{e}");
        let resp = client.get(s.url("/once")).send().await.unwrap();
        assert_eq!(resp.text().await.unwrap(), "ok");
    });
}

/// Waits until `done` holds, up to 10 s: what a server sees closed, it sees
/// a moment later, and a loaded machine makes the moment long. The caller
/// asserts afterwards, so a condition that never holds still fails.
async fn eventually(done: impl Fn() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        solo::sleep(Duration::from_millis(50)).await;
    }
}

/// A client that resolves `host0.test` ... `host{n-1}.test` to 127.0.0.1.
fn many_names(n: usize, more: impl FnOnce(ClientBuilder) -> ClientBuilder) -> Client {
    let mut b = Client::builder();
    for i in 0..n {
        b = b.resolve(&format!("host{i}.test"), [127, 0, 0, 1].into());
    }
    more(b).build().unwrap()
}

/// The pool forgets a host once nothing uses it and its idle connections
/// are swept: a crawler's pool does not grow with every host it met.
#[test]
fn hosts_leave_the_pool_when_their_idle_connections_are_swept() {
    run(async {
        let s = start().await;
        // The idle timeout is long enough that a slow machine meets all 100
        // hosts before the first expires (100 ms was not, on a loaded CI).
        let client = many_names(100, |b| b.pool_idle_timeout(Some(Duration::from_secs(2))));
        for i in 0..100 {
            let url = format!("http://host{i}.test:{}/text", s.addr.port());
            assert_eq!(text(&client, url).await, "hello world");
        }
        assert_eq!(client.pooled_hosts(), 100);
        assert_eq!(s.stats.open(), 100);
        // Then every one is swept.
        eventually(|| s.stats.open() == 0 && client.pooled_hosts() == 0).await;
        assert_eq!(s.stats.open(), 0);
        assert_eq!(client.pooled_hosts(), 0);
        // And a host comes back as new.
        let url = format!("http://host7.test:{}/text", s.addr.port());
        assert_eq!(text(&client, url).await, "hello world");
        assert_eq!(client.pooled_hosts(), 1);
    });
}

/// Hosts that keep no connection (here none is kept at all) are pruned as
/// the pool's map grows: it stays small however many hosts were met.
#[test]
fn hosts_that_keep_no_connection_are_pruned() {
    run(async {
        let s = start().await;
        let client = many_names(300, |b| b.pool_max_idle_per_host(0));
        for i in 0..300 {
            let url = format!("http://host{i}.test:{}/text", s.addr.port());
            assert_eq!(text(&client, url).await, "hello world");
        }
        let hosts = client.pooled_hosts();
        assert!(hosts <= 64, "{hosts} hosts kept after 300");
    });
}

/// Idle connections over all hosts stay within `pool_max_idle`: a client
/// that meets many hosts (a crawler) kept one per host until the idle
/// timeout, a file descriptor each (1,010 pages of 10,000 hosts got
/// through under `ulimit -n 1024`).
#[test]
fn idle_connections_over_all_hosts_stay_within_the_total() {
    run(async {
        let s = start().await;
        let mut builder = Client::builder().pool_max_idle(Some(5));
        for i in 0..40 {
            builder = builder.resolve(&format!("host{i}.test"), [127, 0, 0, 1].into());
        }
        let client = builder.build().unwrap();
        for i in 0..40 {
            let url = format!("http://host{i}.test:{}/text", s.addr.port());
            assert_eq!(text(&client, url.as_str()).await, "hello world");
        }
        assert_eq!(s.stats.accepted(), 40);
        assert_eq!(client.idle_connections(), 5);
        // The server sees the others closed (at most 5 stay open).
        let mut open = s.stats.open();
        for _ in 0..200 {
            if open <= 5 {
                break;
            }
            solo::sleep(Duration::from_millis(20)).await;
            open = s.stats.open();
        }
        assert!(open <= 5, "{open} connections still open");
        // The kept ones are reused.
        let url = format!("http://host0.test:{}/text", s.addr.port());
        assert_eq!(text(&client, url.as_str()).await, "hello world");
        assert_eq!(s.stats.accepted(), 40);
        // Without the total, one per host stays.
        let unlimited = (0..40)
            .fold(Client::builder(), |b, i| {
                b.resolve(&format!("host{i}.test"), [127, 0, 0, 1].into())
            })
            .build()
            .unwrap();
        for i in 0..40 {
            let url = format!("http://host{i}.test:{}/text", s.addr.port());
            text(&unlimited, url.as_str()).await;
        }
        assert_eq!(unlimited.idle_connections(), 40);
    });
}
