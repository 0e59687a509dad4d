//! A port scanner: tries to connect to every port in a range, at most N
//! attempts at once (a `Semaphore` bounds the concurrency, as asyncio
//! programs do), each with a timeout. Prints the open ports.
//!
//! ```text
//! cargo run --release -p solo --example port_scan -- [HOST] [FIRST-LAST] [CONCURRENCY]
//! ```
//! Defaults: 127.0.0.1, ports 1-65535, 500 at a time.

use std::rc::Rc;
use std::time::{Duration, Instant};

use solo::net::TcpStream;
use solo::sync::Semaphore;

async fn probe(host: Rc<str>, port: u16, limit: Rc<Semaphore>) -> Option<u16> {
    let _permit = limit.acquire().await.ok()?;
    let attempt = TcpStream::connect((&*host, port));
    match solo::timeout(Duration::from_millis(500), attempt).await {
        Ok(Ok(_stream)) => Some(port),
        _ => None, // refused, unreachable or silent
    }
}

#[solo::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let host: Rc<str> = args.first().map_or("127.0.0.1", |s| s.as_str()).into();
    let (first, last) = args
        .get(1)
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        .unwrap_or((1u16, 65535u16));
    let concurrency = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(500);

    // Something to find when the scan runs on this machine with no setup.
    let demo = solo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!(
        "(demo listener on port {})",
        demo.local_addr().unwrap().port()
    );

    let limit = Rc::new(Semaphore::new(concurrency));
    let start = Instant::now();
    let probes = (first..=last).map(|p| probe(host.clone(), p, limit.clone()));
    let open: Vec<u16> = solo::gather(probes).await.into_iter().flatten().collect();
    println!(
        "scanned {host} ports {first}-{last} ({} ports, {concurrency} at a time) in {:.2?}",
        u32::from(last - first) + 1,
        start.elapsed()
    );
    for p in &open {
        println!("open: {p}");
    }
}
