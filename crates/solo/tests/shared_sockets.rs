//! Several tasks waiting on one socket in the same direction (issue 11 §1):
//! every waiter is woken when the direction becomes ready, and a waiter
//! that gives up (timeout, cancel) never takes another one's wakeup.
//! Real sockets on 127.0.0.1; a hang shows up as a 5 s timeout.

use std::rc::Rc;
use std::time::Duration;

use solo::net::{TcpListener, TcpStream, UdpSocket};

/// Generous: only a lost wakeup gets anywhere near it.
const HANG: Duration = Duration::from_secs(5);

#[test]
fn a_second_accept_that_times_out_does_not_steal_the_first_ones_wakeup() {
    // The program from the issue.
    solo::run(async {
        let l = Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = l.local_addr().unwrap();
        let la = l.clone();
        let a = solo::spawn(async move { la.accept().await });
        solo::sleep(Duration::from_millis(10)).await;
        let lb = l.clone();
        let b = solo::timeout(Duration::from_millis(20), async move { lb.accept().await }).await;
        assert!(b.is_err(), "nobody connected yet");
        let _c = std::net::TcpStream::connect(addr).unwrap();
        let got = solo::timeout(HANG, a).await;
        let (_s, peer) = got.expect("A was never woken").unwrap().unwrap();
        assert!(peer.ip().is_loopback());
    });
}

#[test]
fn every_task_accepting_on_one_listener_gets_a_connection() {
    const N: usize = 8;
    solo::run(async {
        let l = Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = l.local_addr().unwrap();
        let tasks: Vec<_> = (0..N)
            .map(|_| {
                let l = l.clone();
                solo::spawn(async move { l.accept().await.unwrap().0 })
            })
            .collect();
        // Let every task reach its wait before anyone connects.
        solo::sleep(Duration::from_millis(10)).await;
        let mut clients = Vec::new();
        for _ in 0..N {
            clients.push(TcpStream::connect(addr).await.unwrap());
            solo::sleep(Duration::from_millis(1)).await;
        }
        let accepted = solo::timeout(HANG, solo::gather(tasks))
            .await
            .expect("an accepting task was never woken");
        let mut peers: Vec<_> = accepted
            .into_iter()
            .map(|s| s.unwrap().peer_addr().unwrap())
            .collect();
        let mut local: Vec<_> = clients.iter().map(|c| c.local_addr().unwrap()).collect();
        peers.sort();
        local.sort();
        assert_eq!(peers, local, "each connection accepted exactly once");
    });
}

#[test]
fn accept_loops_sharing_a_listener_serve_as_many_clients_at_once_as_there_are_loops() {
    // The tokio idiom: several accept loops on an `Rc<TcpListener>`, each
    // serving one connection at a time. Every client holds its connection
    // until all of them have been greeted, so each loop must take one.
    const LOOPS: usize = 4;
    solo::run(async {
        let l = Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = l.local_addr().unwrap();
        for _ in 0..LOOPS {
            let l = l.clone();
            solo::spawn(async move {
                loop {
                    let (s, _) = l.accept().await.unwrap();
                    s.write_all(b"hi").await.unwrap();
                    // Busy with this client until it hangs up.
                    while s.read(&mut [0; 16]).await.unwrap() > 0 {}
                }
            });
        }
        solo::yield_now().await;
        let greeted = Rc::new(std::cell::Cell::new(0));
        let all_greeted = Rc::new(solo::sync::Event::new());
        let clients = (0..LOOPS).map(|_| {
            let (greeted, all_greeted) = (greeted.clone(), all_greeted.clone());
            async move {
                let c = TcpStream::connect(addr).await.unwrap();
                c.read_exact(&mut [0; 2]).await.unwrap();
                greeted.set(greeted.get() + 1);
                if greeted.get() == LOOPS {
                    all_greeted.set();
                }
                all_greeted.wait().await;
            }
        });
        solo::timeout(HANG, solo::gather(clients))
            .await
            .expect("an accept loop was never woken");
    });
}

#[test]
fn two_tasks_reading_one_udp_socket_both_get_datagrams() {
    solo::run(async {
        let sock = Rc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = sock.local_addr().unwrap();
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let sock = sock.clone();
                solo::spawn(async move {
                    let mut buf = [0; 16];
                    let (n, _) = sock.recv_from(&mut buf).await.unwrap();
                    buf[..n].to_vec()
                })
            })
            .collect();
        solo::sleep(Duration::from_millis(10)).await;
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        tx.send_to(b"one", addr).await.unwrap();
        solo::sleep(Duration::from_millis(5)).await;
        tx.send_to(b"two", addr).await.unwrap();
        let got = solo::timeout(HANG, solo::gather(readers))
            .await
            .expect("a reader was never woken");
        let mut got: Vec<_> = got.into_iter().map(Result::unwrap).collect();
        got.sort();
        assert_eq!(got, [b"one".to_vec(), b"two".to_vec()]);
    });
}

#[test]
fn two_tasks_reading_one_stream_both_get_bytes() {
    solo::run(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let s = Rc::new(l.accept().await.unwrap().0);
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let s = s.clone();
                solo::spawn(async move { s.read(&mut [0; 1]).await.unwrap() })
            })
            .collect();
        solo::sleep(Duration::from_millis(10)).await;
        c.write_all(b"a").await.unwrap();
        solo::sleep(Duration::from_millis(5)).await;
        c.write_all(b"b").await.unwrap();
        let got = solo::timeout(HANG, solo::gather(readers))
            .await
            .expect("a reader was never woken");
        assert!(got.into_iter().all(|n| n.unwrap() == 1));
    });
}

#[test]
fn cancelling_a_waiter_never_strands_another() {
    solo::run(async {
        let l = Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = l.local_addr().unwrap();
        let accept = |l: &Rc<TcpListener>| {
            let l = l.clone();
            solo::spawn(async move { l.accept().await.map(|(s, _)| s) })
        };
        // The first waiter (the inline slot) is cancelled, in every
        // position relative to the others.
        let first = accept(&l);
        let second = accept(&l);
        solo::sleep(Duration::from_millis(5)).await;
        assert!(first.cancel());
        let third = accept(&l); // takes the slot the first one freed
        let fourth = accept(&l);
        solo::sleep(Duration::from_millis(5)).await;
        assert!(fourth.cancel());
        assert!(first.await.unwrap_err().is_cancelled());
        assert!(fourth.await.unwrap_err().is_cancelled());
        let _c1 = std::net::TcpStream::connect(addr).unwrap();
        let _c2 = std::net::TcpStream::connect(addr).unwrap();
        let both = solo::timeout(HANG, solo::gather([second, third]))
            .await
            .expect("a waiter was stranded by a cancelled one");
        assert!(both.into_iter().all(|r| r.unwrap().is_ok()));
    });
}

#[test]
fn poll_accept_callers_sharing_a_listener_are_all_woken() {
    // `poll_*` callers keep no state between polls: they wait anonymously.
    solo::run(async {
        let l = Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = l.local_addr().unwrap();
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let l = l.clone();
                solo::spawn(async move { std::future::poll_fn(|cx| l.poll_accept(cx)).await })
            })
            .collect();
        solo::sleep(Duration::from_millis(10)).await;
        let _c: Vec<_> = (0..3)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        let all = solo::timeout(HANG, solo::gather(tasks))
            .await
            .expect("a poll_accept caller was never woken");
        assert!(all.into_iter().all(|r| r.unwrap().is_ok()));
    });
}
