//! File descriptors: none leak, and running out of them (EMFILE) on
//! accept is an error the listener survives. One test function runs both
//! steps in order, because both count or limit the descriptors of the
//! whole process and parallel tests would disturb each other.

use std::time::Duration;

use solo::net::{TcpListener, TcpStream, UdpSocket, UnixStream};

mod common;
use common::{open_fds, set_fd_limit};

fn no_descriptor_leaks() {
    let before = open_fds();
    solo::run(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let server = solo::spawn(async move {
            let mut conns = Vec::new();
            for _ in 0..50 {
                conns.push(l.accept().await.unwrap().0);
            }
            conns
        });
        let mut clients = Vec::new();
        for _ in 0..50 {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        let conns = server.await.unwrap();
        assert_eq!(conns.len(), 50);
        let _u = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let _p = UnixStream::pair().unwrap();
        // A refused connect must close its socket too.
        assert!(TcpStream::connect("127.0.0.1:1").await.is_err());
        // Sockets still held by a task that `run` cancels at the end.
        let held = clients.pop().unwrap();
        solo::spawn(async move {
            let _ = held.read(&mut [0; 1]).await;
        });
    });
    // The loop itself (poller, waker) is closed too.
    assert_eq!(open_fds(), before, "descriptor count back to where it was");
}

fn emfile_on_accept_is_reported_and_survived() {
    solo::run(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        // Connections waiting in the backlog.
        let mut clients = Vec::new();
        for _ in 0..3 {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        // Use up every remaining descriptor.
        let (old, _) = set_fd_limit(open_fds() as u64 + 8);
        let mut filler = Vec::new();
        loop {
            match std::fs::File::open("/dev/null") {
                Ok(f) => filler.push(f),
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(libc::EMFILE));
                    break;
                }
            }
        }
        let e = l.accept().await.unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
        // Still out of descriptors: still an error, never a panic or hang.
        assert!(l.accept().await.is_err());
        // Free some: the same listener accepts every waiting connection.
        filler.truncate(filler.len().saturating_sub(4));
        for _ in 0..3 {
            let (s, _) = solo::timeout(Duration::from_secs(5), l.accept())
                .await
                .expect("accept after descriptors free up")
                .unwrap();
            drop(s);
        }
        drop(filler);
        set_fd_limit(old);
        // And new connections too.
        let c = TcpStream::connect(addr).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        c.write_all(b"ok").await.unwrap();
        let mut b = [0; 2];
        s.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"ok");
    });
}

#[test]
fn descriptors() {
    no_descriptor_leaks();
    emfile_on_accept_is_reported_and_survived();
}
