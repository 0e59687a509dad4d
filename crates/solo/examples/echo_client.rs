//! An echo client with N concurrent connections, each doing M round
//! trips; prints round trips per second. Without an address it starts
//! its own echo server in the same loop, so it runs with no setup.
//!
//! ```text
//! cargo run --release -p solo --example echo_client -- [ADDR] [CONNS] [ROUND_TRIPS] [SIZE]
//! ```

use std::time::Instant;

use solo::net::{TcpListener, TcpStream};

async fn client(addr: String, round_trips: usize, size: usize) -> std::io::Result<usize> {
    let stream = TcpStream::connect(addr.as_str()).await?;
    stream.set_nodelay(true)?;
    let msg = vec![b'x'; size];
    let mut back = vec![0; size];
    for _ in 0..round_trips {
        stream.write_all(&msg).await?;
        stream.read_exact(&mut back).await?;
        if back != msg {
            return Err(std::io::Error::other("echo mismatch"));
        }
    }
    Ok(round_trips)
}

async fn local_echo_server() -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?.to_string();
    solo::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            s.set_nodelay(true).ok();
            solo::spawn(async move {
                let mut buf = vec![0; 16 * 1024];
                while let Ok(n @ 1..) = s.read(&mut buf).await {
                    if s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    Ok(addr)
}

#[solo::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: usize| -> usize {
        args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default)
    };
    let (conns, round_trips, size) = (arg(1, 100), arg(2, 1000), arg(3, 64));
    let addr = match args.first().filter(|a| *a != "-") {
        Some(a) => a.clone(),
        None => local_echo_server().await?,
    };
    println!("{conns} connections x {round_trips} round trips of {size} bytes to {addr}");
    let start = Instant::now();
    let results = solo::gather((0..conns).map(|_| client(addr.clone(), round_trips, size))).await;
    let elapsed = start.elapsed();
    let mut total = 0;
    for r in results {
        total += r?;
    }
    println!(
        "{total} round trips in {elapsed:.2?}: {:.0} round trips/s",
        total as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
