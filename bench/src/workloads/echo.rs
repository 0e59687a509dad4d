//! `echo`: TCP echo on 127.0.0.1, server and clients in one process and one
//! thread.
//!
//! The server accepts 1,000 connections and runs one task per connection
//! that reads into a 1 KiB buffer and writes back what it read, until end
//! of stream. 1,000 client tasks each connect and do 100 round trips: write
//! a 64-byte message (its bytes depend on the client, the round and the
//! position), read 64 bytes back with `read_exact`, and compare them with
//! what was sent. `TCP_NODELAY` is set on both ends. The listener is made
//! the same way for every runtime ([`crate::rt::std_listener`]).
//!
//! Self-check: every echoed byte equals the byte sent, every client did
//! all its round trips, and the server echoed exactly 1,000 × 100 × 64
//! bytes.
//!
//! Metrics:
//! - `throughput` (round trips/s): 100,000 / the time from spawning the
//!   first client (connects included) to the last client's end.
//! - `peak RSS` (MiB): the process's `VmHWM` at the end.
//!
//! `--quick`: 100 connections × 10 round trips.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{check, per_sec, Metric, Outcome, Scale};
use crate::proc;
use crate::rt::{std_listener, OnRuntime, Rt};

/// Bytes per message.
pub const MSG: usize = 64;

/// How many connections and round trips.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    /// Concurrent connections.
    pub conns: usize,
    /// Round trips per connection.
    pub rounds: usize,
}

impl Load {
    /// 1,000 × 100, or 100 × 10 under `--quick`.
    pub fn new(scale: Scale) -> Load {
        Load {
            conns: scale.pick(1_000, 10),
            rounds: scale.pick(100, 10),
        }
    }

    /// Round trips in all.
    pub fn round_trips(self) -> usize {
        self.conns * self.rounds
    }

    /// Bytes the server must echo in all.
    pub fn bytes(self) -> u64 {
        (self.round_trips() * MSG) as u64
    }
}

/// Accepts `conns` connections, echoes each until its end of stream, and
/// returns the bytes echoed in all.
pub async fn serve<R: Rt>(listener: R::Listener, conns: usize) -> Result<u64, String> {
    let mut handlers = Vec::with_capacity(conns);
    for _ in 0..conns {
        let stream = R::accept(&listener)
            .await
            .map_err(|e| format!("accept: {e}"))?;
        handlers.push(R::spawn(echo_conn::<R>(stream)));
    }
    let mut echoed = 0;
    for h in handlers {
        echoed += h
            .await
            .map_err(|e| format!("a server task failed: {e}"))??;
    }
    Ok(echoed)
}

async fn echo_conn<R: Rt>(mut stream: R::Stream) -> Result<u64, String> {
    let mut buf = vec![0u8; 1024];
    let mut echoed = 0u64;
    loop {
        let n = R::read(&mut stream, &mut buf)
            .await
            .map_err(|e| format!("server read: {e}"))?;
        if n == 0 {
            return Ok(echoed);
        }
        R::write_all(&mut stream, &buf[..n])
            .await
            .map_err(|e| format!("server write: {e}"))?;
        echoed += n as u64;
    }
}

/// The message client `id` sends in round `round`.
fn message(id: usize, round: usize) -> [u8; MSG] {
    let seed = ((id as u64) << 32 | round as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    std::array::from_fn(|k| (seed >> (k % 8 * 8)) as u8 ^ k as u8)
}

async fn client<R: Rt>(addr: SocketAddr, id: usize, rounds: usize) -> Result<usize, String> {
    let mut stream = R::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut back = [0u8; MSG];
    for round in 0..rounds {
        let sent = message(id, round);
        R::write_all(&mut stream, &sent)
            .await
            .map_err(|e| format!("client write: {e}"))?;
        R::read_exact(&mut stream, &mut back)
            .await
            .map_err(|e| format!("client read: {e}"))?;
        if back != sent {
            return Err(format!(
                "self-check failed: client {id} round {round}: echoed bytes differ from the sent ones"
            ));
        }
    }
    Ok(rounds)
}

/// Runs the clients against `addr` and returns the time they took, after
/// checking that every round trip was done.
pub async fn load<R: Rt>(addr: SocketAddr, load: Load) -> Result<Duration, String> {
    let start = Instant::now();
    let clients: Vec<_> = (0..load.conns)
        .map(|id| R::spawn(client::<R>(addr, id, load.rounds)))
        .collect();
    let mut done = 0;
    for c in clients {
        done += c
            .await
            .map_err(|e| format!("a client task failed: {e}"))??;
    }
    let elapsed = start.elapsed();
    check("round trips done", done, load.round_trips())?;
    Ok(elapsed)
}

/// MiB, from bytes.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The workload at a scale.
pub struct Echo(pub Scale);

impl OnRuntime for Echo {
    type Output = Outcome;

    fn run<R: Rt>(self) -> Outcome {
        let l = Load::new(self.0);
        R::block_on(async move {
            let std = std_listener().map_err(|e| format!("listen: {e}"))?;
            let addr = std.local_addr().map_err(|e| e.to_string())?;
            let listener = R::listener(std).map_err(|e| e.to_string())?;
            let server = R::spawn(serve::<R>(listener, l.conns));
            let elapsed = load::<R>(addr, l).await?;
            let echoed = server
                .await
                .map_err(|e| format!("the server failed: {e}"))??;
            check("bytes echoed by the server", echoed, l.bytes())?;
            let peak = proc::peak_rss().map_err(|e| e.to_string())?;
            Ok(vec![
                Metric::higher(
                    "throughput",
                    per_sec(l.round_trips(), elapsed),
                    "round trips/s",
                ),
                Metric::lower("peak_rss", mib(peak), "MiB"),
            ])
        })
    }
}
