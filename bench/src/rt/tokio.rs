//! tokio, single-threaded: a `current_thread` runtime driving a `LocalSet`,
//! tasks spawned with `spawn_local`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinHandle, LocalSet};

use super::Rt;

/// The tokio runtime (current_thread + `LocalSet`).
pub struct Tokio;

impl Rt for Tokio {
    const NAME: &'static str = "tokio";

    type JoinError = JoinError;
    type Join<T: 'static> = JoinHandle<T>;
    type Tx<T: 'static> = mpsc::Sender<T>;
    type Rx<T: 'static> = mpsc::Receiver<T>;
    type Listener = TcpListener;
    type Stream = TcpStream;

    fn block_on<F: Future + 'static>(f: F) -> F::Output {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("cannot build a tokio runtime");
        LocalSet::new().block_on(&rt, f)
    }

    fn spawn<F>(f: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        tokio::task::spawn_local(f)
    }

    fn yield_now() -> impl Future<Output = ()> {
        tokio::task::yield_now()
    }

    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> {
        tokio::time::sleep_until(deadline.into())
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
        l.set_nonblocking(true)?;
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

    async fn read_exact<'a>(s: &'a mut TcpStream, buf: &'a mut [u8]) -> io::Result<()> {
        s.read_exact(buf).await.map(drop)
    }

    fn write_all<'a>(
        s: &'a mut TcpStream,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + 'a {
        s.write_all(buf)
    }
}
