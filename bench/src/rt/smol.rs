//! smol's building blocks, single-threaded: a thread-local
//! `async_executor::LocalExecutor` run inside `async_io::block_on` (which
//! drives the async-io reactor while the executor has nothing to do),
//! `async_io::Timer`, `async_io::Async<std::net::Tcp*>` and
//! `async_channel`.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_executor::LocalExecutor;
use async_io::{Async, Timer};
use futures_lite::{AsyncReadExt, AsyncWriteExt};

use super::Rt;

thread_local! {
    static EX: LocalExecutor<'static> = const { LocalExecutor::new() };
}

/// The smol runtime (`LocalExecutor` + async-io).
pub struct Smol;

/// smol's `Task<T>` yields `T` (a panic is re-raised in the awaiter); this
/// gives it the `Result` the other runtimes' handles have.
pub struct Join<T>(async_executor::Task<T>);

impl<T> Future for Join<T> {
    type Output = Result<T, std::convert::Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(Ok)
    }
}

impl Rt for Smol {
    const NAME: &'static str = "smol";

    type JoinError = std::convert::Infallible;
    type Join<T: 'static> = Join<T>;
    type Tx<T: 'static> = async_channel::Sender<T>;
    type Rx<T: 'static> = async_channel::Receiver<T>;
    type Listener = Async<TcpListener>;
    type Stream = Async<TcpStream>;

    fn block_on<F: Future + 'static>(f: F) -> F::Output {
        EX.with(|ex| async_io::block_on(ex.run(f)))
    }

    fn spawn<F>(f: F) -> Join<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        Join(EX.with(|ex| ex.spawn(f)))
    }

    fn yield_now() -> impl Future<Output = ()> {
        futures_lite::future::yield_now()
    }

    async fn sleep_until(deadline: Instant) {
        Timer::at(deadline).await;
    }

    fn channel<T: 'static>(
        capacity: usize,
    ) -> (async_channel::Sender<T>, async_channel::Receiver<T>) {
        async_channel::bounded(capacity)
    }

    async fn send<T: 'static>(tx: &async_channel::Sender<T>, value: T) -> bool {
        tx.send(value).await.is_ok()
    }

    async fn recv<T: 'static>(rx: &mut async_channel::Receiver<T>) -> Option<T> {
        rx.recv().await.ok()
    }

    fn listener(l: TcpListener) -> io::Result<Async<TcpListener>> {
        Async::new(l)
    }

    async fn accept(l: &Async<TcpListener>) -> io::Result<Async<TcpStream>> {
        let (s, _) = l.accept().await?;
        s.get_ref().set_nodelay(true)?;
        Ok(s)
    }

    async fn connect(addr: SocketAddr) -> io::Result<Async<TcpStream>> {
        let s = Async::<TcpStream>::connect(addr).await?;
        s.get_ref().set_nodelay(true)?;
        Ok(s)
    }

    fn read<'a>(
        s: &'a mut Async<TcpStream>,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + 'a {
        s.read(buf)
    }

    fn read_exact<'a>(
        s: &'a mut Async<TcpStream>,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + 'a {
        s.read_exact(buf)
    }

    fn write_all<'a>(
        s: &'a mut Async<TcpStream>,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + 'a {
        s.write_all(buf)
    }
}
