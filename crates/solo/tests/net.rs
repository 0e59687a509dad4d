//! Behaviour of the socket types on the real reactor: data integrity,
//! half-close, resets, timeouts that leave streams usable, UDP and Unix
//! sockets, DNS errors.

use std::cell::Cell;
use std::io::ErrorKind;
use std::net::Shutdown;
use std::rc::Rc;
use std::time::Duration;

use solo::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};

async fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    let (s, _) = l.accept().await.unwrap();
    (c, s)
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn echo_server_many_concurrent_clients() {
    solo::run(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let served = Rc::new(Cell::new(0));
        let s2 = served.clone();
        solo::spawn(async move {
            loop {
                let (s, _) = l.accept().await.unwrap();
                let served = s2.clone();
                solo::spawn(async move {
                    let mut buf = [0; 4096];
                    loop {
                        match s.read(&mut buf).await.unwrap() {
                            0 => break,
                            n => s.write_all(&buf[..n]).await.unwrap(),
                        }
                    }
                    served.set(served.get() + 1);
                });
            }
        });
        let clients = (0..200u32).map(|i| async move {
            let c = TcpStream::connect(addr).await.unwrap();
            let msg = pattern(10_000 + i as usize, i as u8);
            c.write_all(&msg).await.unwrap();
            let mut back = vec![0; msg.len()];
            c.read_exact(&mut back).await.unwrap();
            assert_eq!(back, msg, "client {i} got its own bytes back");
        });
        solo::gather(clients).await;
        // Clients dropped their streams: every server task sees EOF.
        while served.get() < 200 {
            solo::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(served.get(), 200);
    });
}

#[test]
fn full_duplex_large_transfer_with_split_halves() {
    solo::run(async {
        let (c, s) = pair().await;
        let up = pattern(8 << 20, 1);
        let down = pattern(8 << 20, 2);
        let (cr, cw) = c.into_split();
        let (sr, sw) = s.into_split();
        let (got_down, got_up, (), ()) = solo::gather!(
            async move {
                let mut v = Vec::new();
                cr.read_to_end(&mut v).await.unwrap();
                v
            },
            async move {
                let mut v = Vec::new();
                sr.read_to_end(&mut v).await.unwrap();
                v
            },
            async {
                cw.write_all(&up).await.unwrap();
                drop(cw); // dropping the owned write half shuts down writing
            },
            async {
                sw.write_all(&down).await.unwrap();
                drop(sw);
            },
        );
        assert!(got_up == up, "upload arrived intact");
        assert!(got_down == down, "download arrived intact");
    });
}

#[test]
fn half_close_lets_the_other_direction_finish() {
    solo::run(async {
        let (c, s) = pair().await;
        c.write_all(b"request").await.unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut req = Vec::new();
        s.read_to_end(&mut req).await.unwrap();
        assert_eq!(req, b"request");
        s.write_all(b"response").await.unwrap();
        drop(s);
        let mut resp = Vec::new();
        c.read_to_end(&mut resp).await.unwrap();
        assert_eq!(resp, b"response");
    });
}

#[test]
fn peer_reset_is_an_error_not_a_panic() {
    solo::run(async {
        let (c, s) = pair().await;
        c.set_linger(Some(Duration::ZERO)).unwrap();
        drop(c); // RST instead of FIN
        let e = s.read(&mut [0; 8]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionReset);
        // Writing to a reset connection fails too (EPIPE/ECONNRESET), and
        // must not kill the process with SIGPIPE.
        let mut failed = false;
        for _ in 0..4 {
            if s.write_all(&[0; 1024]).await.is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed);
    });
}

#[test]
fn eof_is_zero_then_stays_zero() {
    solo::run(async {
        let (c, s) = pair().await;
        drop(c);
        assert_eq!(s.read(&mut [0; 8]).await.unwrap(), 0);
        assert_eq!(s.read(&mut [0; 8]).await.unwrap(), 0);
    });
}

#[test]
fn timed_out_read_leaves_the_stream_usable() {
    solo::run(async {
        let (c, s) = pair().await;
        let mut buf = [0; 5];
        let r = solo::timeout(Duration::from_millis(20), s.read(&mut buf)).await;
        assert!(r.is_err(), "nothing was sent: the read times out");
        c.write_all(b"later").await.unwrap();
        let n = solo::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("data arrives")
            .unwrap();
        assert_eq!(&buf[..n], b"later");
    });
}

#[test]
fn two_tasks_share_a_stream_reader_and_writer() {
    solo::run(async {
        let (c, s) = pair().await;
        let s = Rc::new(s);
        let writer = {
            let s = s.clone();
            solo::spawn(async move {
                for i in 0..100u8 {
                    s.write_all(&[i; 100]).await.unwrap();
                    solo::yield_now().await;
                }
            })
        };
        let mut got = vec![0; 100 * 100];
        c.read_exact(&mut got).await.unwrap();
        writer.await.unwrap();
        for (i, chunk) in got.chunks(100).enumerate() {
            assert!(chunk.iter().all(|&b| b == i as u8));
        }
        // The reading half of `s` still works while the writer is done.
        c.write_all(b"x").await.unwrap();
        assert_eq!(s.read(&mut [0; 1]).await.unwrap(), 1);
    });
}

#[test]
fn connect_errors_keep_their_kind() {
    solo::run(async {
        let e = TcpStream::connect("127.0.0.1:1").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
        let e = TcpStream::connect("no port").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = TcpStream::connect("host.invalid:99999").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "port out of range");
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let e = TcpListener::bind(l.local_addr().unwrap())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AddrInUse);
    });
}

#[test]
fn connect_by_name_resolves_off_the_loop() {
    solo::run(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let c = TcpStream::connect(("localhost", port)).await;
        // "localhost" may resolve to ::1 first; one of its addresses is
        // 127.0.0.1, where the listener is.
        let c = c.unwrap();
        assert!(c.peer_addr().unwrap().ip().is_loopback());
        let c2 = TcpStream::connect(format!("localhost:{port}"))
            .await
            .unwrap();
        assert_eq!(c2.peer_addr().unwrap().port(), port);
    });
}

#[test]
fn futures_io_traits_work_with_futures_utilities() {
    use futures::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    solo::run(async {
        let (mut c, s) = pair().await;
        c.write_all(b"line one\nline two\n").await.unwrap();
        c.close().await.unwrap(); // shutdown(Write)
        let mut lines = BufReader::new(s).lines();
        let mut got = Vec::new();
        while let Some(l) = futures::StreamExt::next(&mut lines).await {
            got.push(l.unwrap());
        }
        assert_eq!(got, ["line one", "line two"]);
    });
}

#[test]
fn udp_round_trip_and_truncation() {
    solo::run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b_addr = b.local_addr().unwrap();
        let echo = solo::spawn(async move {
            let mut buf = [0; 2048];
            for _ in 0..50 {
                let (n, from) = b.recv_from(&mut buf).await.unwrap();
                b.send_to(&buf[..n], from).await.unwrap();
            }
        });
        a.connect(b_addr).await.unwrap();
        for i in 0..50u8 {
            let msg = [i; 100];
            a.send(&msg).await.unwrap();
            let mut back = [0; 100];
            assert_eq!(a.recv(&mut back).await.unwrap(), 100);
            assert_eq!(back, msg);
        }
        echo.await.unwrap();
        // A datagram larger than the buffer is cut, not an error.
        let c = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        c.send_to(&[9; 64], c.local_addr().unwrap()).await.unwrap();
        let mut small = [0; 8];
        assert_eq!(c.recv_from(&mut small).await.unwrap().0, 8);
    });
}

#[test]
fn unix_stream_listener_and_datagram() {
    let dir = std::env::temp_dir().join(format!("solo-net-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("s.sock");
    let dpath = dir.join("d.sock");
    solo::run(async {
        let l = UnixListener::bind(&path).unwrap();
        let server = solo::spawn(async move {
            let (s, _) = l.accept().await.unwrap();
            let mut v = Vec::new();
            s.read_to_end(&mut v).await.unwrap();
            s.write_all(&v).await.unwrap();
        });
        let c = UnixStream::connect(&path).await.unwrap();
        let msg = pattern(1 << 20, 3);
        c.write_all(&msg).await.unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut back = Vec::new();
        c.read_to_end(&mut back).await.unwrap();
        assert!(back == msg);
        server.await.unwrap();

        let d = UnixDatagram::bind(&dpath).unwrap();
        let u = UnixDatagram::unbound().unwrap();
        u.send_to(b"dgram", &dpath).await.unwrap();
        let mut buf = [0; 16];
        let (n, _) = d.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"dgram");
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unknown_host_is_not_found_and_names_the_host() {
    solo::run(async {
        let e = solo::net::lookup_host("definitely-not-a-host.invalid", 80)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("definitely-not-a-host.invalid"));
    });
}

#[test]
fn sockets_outside_a_loop_panic_with_a_clear_message() {
    let r = std::panic::catch_unwind(|| {
        let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let _ = TcpListener::from_std(std_l);
    });
    let msg = r.unwrap_err();
    let msg = msg
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| msg.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap();
    assert!(msg.contains("no running event loop"), "{msg}");
}

/// A socket made in one `solo::run` and used in a later one is an error
/// at once, not a read that waits for good (its readiness goes to the
/// first loop's poller, which no one polls any more).
#[test]
fn a_socket_used_in_another_loop_is_an_error_not_a_hang() {
    let (listener, client) = solo::run(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        (l, c)
    });
    let (read, accept) = solo::run(async move {
        let mut buf = [0u8; 1];
        let read = solo::timeout(Duration::from_secs(5), client.read(&mut buf)).await;
        let accept = solo::timeout(Duration::from_secs(5), listener.accept()).await;
        (read, accept.map(|r| r.map(|_| ())))
    });
    let e = read.expect("an error at once, not a timeout").unwrap_err();
    assert!(e.to_string().contains("another event loop"), "{e}");
    let e = accept
        .expect("an error at once, not a timeout")
        .unwrap_err();
    assert!(e.to_string().contains("another event loop"), "{e}");
}
