//! A TCP relay that can turn into a black hole, as a NAT or firewall
//! does when it drops a flow: the connections open at that moment stop
//! forwarding in both directions without closing (no FIN, no RST), while
//! new connections go through.

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;

use solo::net::TcpStream;

use super::{start_raw, Server};

/// A relay to one address.
pub struct Relay {
    pub server: Server,
    /// Connections born in an earlier epoch are black holes.
    epoch: Rc<Cell<u64>>,
}

impl Relay {
    /// Silently drops every connection open now.
    pub fn black_hole(&self) {
        self.epoch.set(self.epoch.get() + 1);
    }
}

/// Starts a relay on 127.0.0.1 to `target`.
pub async fn start_relay(target: SocketAddr) -> Relay {
    let epoch = Rc::new(Cell::new(0));
    let e = epoch.clone();
    let server = start_raw(move |client: TcpStream| {
        let epoch = e.clone();
        async move {
            let born = epoch.get();
            let Ok(upstream) = TcpStream::connect(target).await else {
                return;
            };
            let (a, b) = (Rc::new(client), Rc::new(upstream));
            solo::gather!(
                pump(a.clone(), b.clone(), epoch.clone(), born),
                pump(b, a, epoch, born)
            );
        }
    })
    .await;
    Relay { server, epoch }
}

/// Copies `from` to `to` while the flow lives; once dead, holds both
/// sockets open and forwards nothing.
async fn pump(from: Rc<TcpStream>, to: Rc<TcpStream>, epoch: Rc<Cell<u64>>, born: u64) {
    let mut buf = vec![0u8; 16 << 10];
    while let Ok(n @ 1..) = from.read(&mut buf).await {
        if epoch.get() != born {
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}
