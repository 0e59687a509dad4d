//! The fault matrix: each fault ends in the right error kind, and the same
//! client then still works (the pool is healthy).

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::{
    failure, gzip, ok_server_on, read_head_text, run, start, start_faulty, start_raw, text, Server,
};
use solo_http::{AddressPolicy, Client, ErrorKind, Phase, Resolving, DEFAULT_MAX_BODY_SIZE};

/// The client still works against the faulty server.
async fn still_works(client: &Client, s: &Server) {
    assert_eq!(text(client, s.url("/ok")).await, "ok");
}

#[test]
fn reset_mid_body() {
    run(async {
        let s = start_faulty().await;
        let client = Client::new();
        let resp = client.get(s.url("/reset")).send().await.unwrap();
        let e = resp.bytes().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Body, "{e}");
        assert_eq!(e.url().unwrap().as_str(), s.url("/reset"));
        still_works(&client, &s).await;
    });
}

#[test]
fn truncated_chunked_body() {
    run(async {
        let s = start_faulty().await;
        let client = Client::new();
        let mut resp = client
            .get(s.url("/truncated-chunked"))
            .send()
            .await
            .unwrap();
        assert_eq!(&resp.chunk().await.unwrap().unwrap()[..], b"hello");
        let e = resp.chunk().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Body, "{e}");
        still_works(&client, &s).await;
    });
}

#[test]
fn server_that_never_answers_hits_the_read_timeout() {
    run(async {
        let s = start_faulty().await;
        let client = Client::builder()
            .read_timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let e = failure(&client, s.url("/never")).await;
        assert_eq!(e.kind(), ErrorKind::Timeout(Phase::Read), "{e}");
        assert!(e.is_timeout());
        assert_eq!(e.url().unwrap().as_str(), s.url("/never"));
        still_works(&client, &s).await;
        // Without a read timeout, the total one ends it.
        let client = Client::builder()
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let e = failure(&client, s.url("/never")).await;
        assert_eq!(e.kind(), ErrorKind::Timeout(Phase::Total), "{e}");
        still_works(&client, &s).await;
    });
}

/// A timeout after a redirect names the hop that timed out.
#[test]
fn a_timeout_after_a_redirect_names_the_hop_that_timed_out() {
    run(async {
        let s = start().await;
        let total = Client::builder()
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let read = Client::builder()
            .read_timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        for (client, phase) in [(total, Phase::Total), (read, Phase::Read)] {
            let e = failure(&client, s.url("/redirect/never")).await;
            assert_eq!(e.kind(), ErrorKind::Timeout(phase), "{e}");
            assert_eq!(e.url().unwrap().as_str(), s.url("/never"), "{phase:?}");
        }
    });
}

#[test]
fn trickling_server_hits_the_total_timeout_while_the_body_is_read() {
    run(async {
        let s = start().await;
        // One byte every 100 ms: the read timeout never fires, the total does.
        let client = Client::builder()
            .read_timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let resp = client
            .get(s.url("/trickle"))
            .timeout(Duration::from_millis(500))
            .send()
            .await
            .unwrap();
        let e = resp.bytes().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout(Phase::Total), "{e}");
        // A read timeout shorter than the gaps fires first.
        let client = Client::builder()
            .read_timeout(Duration::from_millis(30))
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let e = failure(&client, s.url("/trickle")).await;
        assert_eq!(e.kind(), ErrorKind::Timeout(Phase::Read), "{e}");
        let resp = client.get(s.url("/text")).send().await.unwrap();
        assert_eq!(resp.text().await.unwrap(), "hello world");
    });
}

#[test]
fn body_larger_than_the_limit() {
    run(async {
        let s = start().await;
        let limit = 100_000;
        let client = Client::builder().max_body_size(limit).build().unwrap();
        // Announced by Content-Length: fails before reading.
        let e = failure(&client, s.url("/big?n=200000")).await;
        assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
        // Not announced: fails as it passes the limit, and what was handed
        // out before never exceeds it.
        let mut resp = client
            .get(s.url("/big-chunked?n=300000"))
            .send()
            .await
            .unwrap();
        let mut got = 0;
        let e = loop {
            match resp.chunk().await {
                Ok(Some(c)) => got += c.len() as u64,
                Ok(None) => panic!("the whole body came through"),
                Err(e) => break e,
            }
        };
        assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
        assert!(got <= limit, "{got} bytes handed out");
        // Small on the wire, huge decompressed: the decoded count stops it.
        let e = failure(&client, s.url("/bomb")).await;
        assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
        // HEAD has no body, whatever its Content-Length says.
        let head = client.head(s.url("/big?n=200000")).send().await.unwrap();
        assert_eq!(head.content_length(), Some(200_000));
        assert!(head.bytes().await.unwrap().is_empty());
        // Exactly the limit is fine.
        let body = client
            .get(s.url("/big?n=100000"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await;
        assert_eq!(body.unwrap().len(), 100_000);
        // The default limit lets the bomb (8 MiB decoded) through.
        let body = Client::new()
            .get(s.url("/bomb"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await;
        assert_eq!(body.unwrap().len(), 8 << 20);
    });
}

#[test]
fn unknown_host_is_a_dns_error() {
    run(async {
        let client = Client::new();
        let e = failure(&client, "http://no-such-host.invalid/").await;
        assert_eq!(e.kind(), ErrorKind::Dns, "{e}");
        assert!(e.to_string().contains("no-such-host.invalid"), "{e}");
        let s = start_faulty().await;
        still_works(&client, &s).await;
    });
}

/// A 127.0.0.1 address nothing listens on (connections are refused).
async fn closed_port() -> std::net::SocketAddr {
    let listener = solo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

#[test]
fn connection_refused_is_a_connect_error() {
    run(async {
        let addr = closed_port().await;
        let client = Client::new();
        let e = failure(&client, format!("http://{addr}/")).await;
        assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
        let io = std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .expect("the cause is the io error");
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
        let s = start_faulty().await;
        still_works(&client, &s).await;
    });
}

/// A proxy that refuses the connection: the error says it is the proxy.
#[test]
fn a_refused_proxy_is_named_as_the_proxy() {
    run(async {
        let proxy = closed_port().await;
        let s = start_faulty().await;
        let client = Client::builder()
            .proxy(&format!("http://{proxy}"))
            .build()
            .unwrap();
        let e = failure(&client, s.url("/ok")).await;
        assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
        let says = format!("cannot connect to the proxy {proxy}");
        assert!(e.to_string().contains(&says), "{e}");
    });
}

#[test]
fn a_proxy_that_never_answers_hits_the_connect_timeout() {
    run(async {
        // Accepts, reads the CONNECT, never answers: the connect phase
        // (which includes the tunnel) runs out of time.
        let proxy = start_raw(|s| async move {
            let _ = common::read_request(&s).await;
            solo::sleep(Duration::from_secs(60)).await;
        })
        .await;
        let client = Client::builder()
            .proxy(&proxy.url(""))
            .connect_timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        // (An https URL: its tunnel is part of the connect; a forwarded
        // http request would wait under the read timeout.)
        let e = failure(&client, "https://127.0.0.1:9/").await;
        assert_eq!(e.kind(), ErrorKind::Timeout(Phase::Connect), "{e}");
    });
}

#[test]
fn a_response_that_is_not_http_is_an_error() {
    run(async {
        let s = start_faulty().await;
        let client = Client::new();
        let e = failure(&client, s.url("/garbage")).await;
        assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
        assert!(e.to_string().contains("invalid HTTP response"), "{e}");
        still_works(&client, &s).await;
    });
}

/// A server that reads request bodies at `per_50ms` bytes per 50 ms, then
/// answers with the number of body bytes read.
async fn slow_reader(per_50ms: usize) -> Server {
    start_raw(move |s| async move {
        let Some(head) = common::read_head_text(&s).await else {
            return;
        };
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        let mut buf = vec![0u8; per_50ms];
        let mut read = 0;
        while read < length {
            let want = per_50ms.min(length - read);
            match s.read(&mut buf[..want]).await {
                Ok(n @ 1..) => read += n,
                _ => return,
            }
            solo::sleep(Duration::from_millis(50)).await;
        }
        let body = read.to_string();
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let _ = s.write_all(answer.as_bytes()).await;
    })
    .await
}

/// The read timeout is the server's silence: an upload that takes longer
/// than the limit, with the server reading all along, is not one.
#[test]
fn a_slow_steady_upload_is_not_a_read_timeout() {
    run(async {
        let s = slow_reader(64 << 10).await; // ~1.25 MiB/s
        let client = Client::builder()
            .read_timeout(Duration::from_millis(1000))
            .build()
            .unwrap();
        let started = std::time::Instant::now();
        let body = vec![b'u'; 3 << 20]; // about 2.4 s
        let resp = client.post(s.url("/upload")).body(body).send().await;
        let resp = resp.unwrap_or_else(|e| panic!("after {:?}: {e}", started.elapsed()));
        assert_eq!(resp.text().await.unwrap(), (3 << 20).to_string());
        assert!(started.elapsed() > Duration::from_millis(1000));
    });
}

/// A server that stops reading the upload is silent: the read timeout
/// ends the request.
#[test]
fn a_server_that_stops_reading_the_upload_hits_the_read_timeout() {
    run(async {
        let s = start_raw(|s| async move {
            let _ = s.set_buffer_sizes(Some(8 << 10), None);
            let _ = common::read_head_text(&s).await;
            solo::sleep(Duration::from_secs(60)).await;
        })
        .await;
        let client = Client::builder()
            .read_timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let body = vec![b'u'; 64 << 20];
        let e = client.post(s.url("/upload")).body(body).send().await;
        let e = e.expect_err("the server never reads the body");
        assert_eq!(e.kind(), ErrorKind::Timeout(Phase::Read), "{e}");
    });
}

/// A listener on `ip` (port chosen by the system) whose connects hang:
/// its backlog is 0 and filled, so the kernel drops new SYNs. `None` if
/// this machine answers them anyway. Keep it alive while it is used.
fn hanging_listener(ip: [u8; 4]) -> Option<(SocketAddr, Vec<socket2::Socket>)> {
    use socket2::{Domain, Socket, Type};
    let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    l.bind(&SocketAddr::from((ip, 0)).into()).unwrap();
    l.listen(0).unwrap();
    let addr = l.local_addr().unwrap().as_socket().unwrap();
    let mut kept = vec![l];
    for _ in 0..16 {
        let c = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        match c.connect_timeout(&addr.into(), Duration::from_millis(300)) {
            Ok(()) => kept.push(c),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return Some((addr, kept)),
            Err(e) => panic!("filling the backlog of {addr}: {e}"),
        }
    }
    None
}

#[test]
fn a_host_whose_first_address_hangs_is_reached_at_the_next() {
    run(async {
        let (hang, _kept) = hanging_listener([127, 0, 0, 2])
            .expect("a connect to a full backlog on 127.0.0.2 should hang");
        let accepted = ok_server_on(hang.port()).await.unwrap();
        let both = |_: &str| -> Resolving {
            let ips: Vec<IpAddr> = vec![[127, 0, 0, 2].into(), [127, 0, 0, 1].into()];
            Box::pin(async move { Ok(ips) })
        };
        let url = format!("http://two.test:{}/", hang.port());
        // The first address alone would use up the connect timeout.
        let client = Client::builder()
            .resolver(both)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        assert_eq!(text(&client, &url).await, "ok");
        assert_eq!(accepted.get(), 1);
        // The address policy still judges every address: with 127.0.0.1
        // refused, only the hanging one is tried.
        let client = Client::builder()
            .resolver(both)
            .address_policy(
                AddressPolicy::public_only()
                    .allow("127.0.0.0/8".parse().unwrap())
                    .deny("127.0.0.1/32".parse().unwrap()),
            )
            .connect_timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        let e = failure(&client, &url).await;
        assert_eq!(e.kind(), ErrorKind::Timeout(Phase::Connect), "{e}");
        assert_eq!(accepted.get(), 1);
    });
}

/// A server of zeros, made as they are sent (nothing large in memory or
/// on disk): `/plain?n=N` N bytes with a Content-Length, `/gzip?n=N`
/// N gzip members of 1 MiB of zeros each (about 1 KiB apiece).
async fn start_zeros() -> Server {
    start_raw(|s: solo::net::TcpStream| async move {
        let Some(head) = read_head_text(&s).await else {
            return;
        };
        let target = head.split(' ').nth(1).unwrap_or_default().to_owned();
        let (path, n) = target.split_once("?n=").unwrap_or((&target, "0"));
        let n: u64 = n.parse().unwrap();
        let (piece, count, rest, encoding) = match path {
            "/gzip" => (gzip(&vec![0; 1 << 20]), n, 0, "content-encoding: gzip\r\n"),
            _ => (vec![0; 64 << 10], n / (64 << 10), n % (64 << 10), ""),
        };
        let length = piece.len() as u64 * count + rest;
        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {length}\r\n{encoding}\r\n");
        if s.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for _ in 0..count {
            if s.write_all(&piece).await.is_err() {
                return;
            }
        }
        let _ = s.write_all(&piece[..rest as usize]).await;
    })
    .await
}

/// Streams the body of `req` to its end; how many bytes it had.
async fn streamed(req: solo_http::RequestBuilder) -> Result<u64, solo_http::Error> {
    let mut resp = req.send().await?;
    let mut got = 0;
    while let Some(c) = resp.chunk().await? {
        got += c.len() as u64;
    }
    Ok(got)
}

/// The length of the body of `req`, collected whole.
async fn collected(req: solo_http::RequestBuilder) -> Result<u64, solo_http::Error> {
    Ok(req.send().await?.bytes().await?.len() as u64)
}

#[test]
fn a_download_over_the_default_limit_streams_and_a_request_may_set_its_own_limit() {
    run(async {
        let s = start_zeros().await;
        let big = DEFAULT_MAX_BODY_SIZE + (1 << 20);
        let url = s.url(&format!("/plain?n={big}"));
        let client = Client::new();
        // Streamed, nothing limits it, compressed or not.
        assert_eq!(streamed(client.get(&url)).await.unwrap(), big);
        let gz = s.url("/gzip?n=65");
        assert_eq!(streamed(client.get(&gz)).await.unwrap(), 65 << 20);
        let too_large = |r: Result<u64, solo_http::Error>| match r {
            Err(e) => e.kind() == ErrorKind::TooLarge,
            Ok(n) => panic!("{n} bytes read"),
        };
        // Collected whole: the default limit, at once.
        assert!(too_large(collected(client.get(&url)).await));
        // A request's own limit applies to streaming too...
        assert!(too_large(
            streamed(client.get(&url).max_body_size(1 << 20)).await
        ));
        assert!(too_large(
            streamed(client.get(&gz).max_body_size(1 << 20)).await
        ));
        // ...and wins over the client's, either way.
        let small = Client::builder().max_body_size(1000).build().unwrap();
        let url = s.url("/plain?n=5000");
        assert!(too_large(collected(small.get(&url)).await));
        assert_eq!(
            collected(small.get(&url).max_body_size(5000))
                .await
                .unwrap(),
            5000
        );
    });
}

/// A redirect whose body drips a byte at a time does not hold the request
/// (its connection is closed rather than drained); a redirect whose small
/// body comes with it keeps its connection for the next hop.
#[test]
fn a_redirect_body_that_drips_does_not_hold_the_request() {
    run(async {
        let s = start_raw(|s| async move {
            while let Some(target) = common::read_request(&s).await {
                if target == "/drip" {
                    let head =
                        "HTTP/1.1 302 Found\r\nlocation: /ok\r\ncontent-length: 100000\r\n\r\n";
                    let _ = s.write_all(head.as_bytes()).await;
                    for _ in 0..100_000 {
                        solo::sleep(Duration::from_millis(100)).await;
                        if s.write_all(b"x").await.is_err() {
                            return;
                        }
                    }
                    return;
                }
                let answer = match target.as_str() {
                    "/small" => {
                        "HTTP/1.1 302 Found\r\nlocation: /ok\r\ncontent-length: 5\r\n\r\nmoved"
                    }
                    _ => "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
                };
                if s.write_all(answer.as_bytes()).await.is_err() {
                    return;
                }
            }
        })
        .await;
        let client = Client::new();
        let started = solo::time::now();
        assert_eq!(text(&client, s.url("/drip")).await, "ok");
        let took = solo::time::now() - started;
        assert!(took < Duration::from_secs(5), "send took {took:?}");
        assert_eq!(s.stats.accepted(), 2, "the dripping connection is closed");
        assert_eq!(text(&client, s.url("/small")).await, "ok");
        assert_eq!(
            s.stats.accepted(),
            2,
            "a small redirect keeps its connection"
        );
    });
}
