//! solo: `solo::run`, `solo::spawn` and solo's own primitives.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use solo::net::{TcpListener, TcpStream};
use solo::sync::mpsc;

use super::Rt;

/// The solo runtime.
pub struct Solo;

impl Rt for Solo {
    const NAME: &'static str = "solo";

    type JoinError = solo::TaskError;
    type Join<T: 'static> = solo::Task<T>;
    type Tx<T: 'static> = mpsc::Sender<T>;
    type Rx<T: 'static> = mpsc::Receiver<T>;
    type Listener = TcpListener;
    type Stream = TcpStream;

    fn block_on<F: Future + 'static>(f: F) -> F::Output {
        solo::run(f)
    }

    fn spawn<F>(f: F) -> solo::Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        solo::spawn(f)
    }

    fn yield_now() -> impl Future<Output = ()> {
        solo::yield_now()
    }

    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> {
        solo::sleep_until(deadline)
    }

    fn channel<T: 'static>(capacity: usize) -> (mpsc::Sender<T>, mpsc::Receiver<T>) {
        mpsc::channel(capacity)
    }

    async fn send<T: 'static>(tx: &mpsc::Sender<T>, value: T) -> bool {
        tx.send(value).await.is_ok()
    }

    fn recv<T: 'static>(rx: &mut mpsc::Receiver<T>) -> impl Future<Output = Option<T>> + '_ {
        rx.recv()
    }

    fn listener(l: std::net::TcpListener) -> io::Result<TcpListener> {
        TcpListener::from_std(l)
    }

    async fn accept(l: &TcpListener) -> io::Result<TcpStream> {
        let (s, _) = l.accept().await?;
        s.set_nodelay(true)?;
        Ok(s)
    }

    async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(s)
    }

    fn read<'a>(
        s: &'a mut TcpStream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + 'a {
        s.read(buf)
    }

    fn read_exact<'a>(
        s: &'a mut TcpStream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + 'a {
        s.read_exact(buf)
    }

    fn write_all<'a>(
        s: &'a mut TcpStream,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + 'a {
        s.write_all(buf)
    }
}
