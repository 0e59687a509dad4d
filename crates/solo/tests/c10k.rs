//! C10K: one loop on one thread holds 10,000 concurrent TCP connections.
//!
//! The server runs in this process; the 10,000 clients run in a child
//! process (this same test binary, re-run in client mode), so each side
//! needs about 10,000 descriptors, within a default hard limit of 20,000.
//! Every client connects, sends a ping and receives its echo, and only
//! then do all of them hang up: at the peak all 10,000 are open at once,
//! which the server counts. The server's resident memory at the peak is
//! printed (a measurement, not an assertion).

use std::cell::Cell;
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use solo::net::{TcpListener, TcpStream};

mod common;

const CONNS: usize = 10_000;
const CHILD_ENV: &str = "SOLO_C10K_SERVER";

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Client mode: run only when the server test re-runs this binary.
#[test]
fn c10k_client_process() {
    let Ok(addr) = std::env::var(CHILD_ENV) else {
        return; // not in client mode
    };
    common::set_fd_limit(CONNS as u64 + 200);
    let ok = solo::run(async move {
        let clients = (0..CONNS).map(|i| {
            let addr = addr.clone();
            async move {
                // The server's backlog may overflow under a burst of
                // connects; retry refused or reset attempts briefly.
                for attempt in 0.. {
                    let r = async {
                        let c = TcpStream::connect(addr.as_str()).await?;
                        let msg = (i as u32).to_be_bytes();
                        c.write_all(&msg).await?;
                        let mut back = [0; 4];
                        c.read_exact(&mut back).await?;
                        assert_eq!(back, msg);
                        Ok::<_, std::io::Error>(c)
                    }
                    .await;
                    match r {
                        Ok(c) => return c,
                        Err(e) if attempt < 20 => {
                            let _ = e;
                            solo::sleep(Duration::from_millis(50)).await;
                        }
                        Err(e) => panic!("client {i}: {e}"),
                    }
                }
                unreachable!()
            }
        });
        // All echoed and all still open here.
        let streams = solo::gather(clients).await;
        streams.len()
    });
    println!("CLIENTS-OK {ok}");
}

#[test]
fn ten_thousand_concurrent_connections_on_one_thread() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let (_, limit) = common::set_fd_limit(CONNS as u64 + 200);
    assert!(
        limit >= CONNS as u64 + 100,
        "need {} descriptors, the hard limit allows {limit}",
        CONNS + 100
    );
    solo::run(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let live = Rc::new(Cell::new(0usize));
        let peak = Rc::new(Cell::new(0usize));
        let peak_rss = Rc::new(Cell::new(0u64));
        let rss_before = rss_kib();
        {
            let (live, peak, peak_rss) = (live.clone(), peak.clone(), peak_rss.clone());
            solo::spawn(async move {
                loop {
                    let (s, _) = match l.accept().await {
                        Ok(c) => c,
                        Err(e) => panic!("accept: {e}"),
                    };
                    live.set(live.get() + 1);
                    if live.get() > peak.get() {
                        peak.set(live.get());
                        if live.get() == CONNS {
                            peak_rss.set(rss_kib());
                        }
                    }
                    let live = live.clone();
                    solo::spawn(async move {
                        let mut buf = [0; 64];
                        while let Ok(n @ 1..) = s.read(&mut buf).await {
                            if s.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        live.set(live.get() - 1);
                    });
                }
            });
        }
        let started = Instant::now();
        let exe = std::env::current_exe().unwrap();
        let out = solo::to_thread(move || {
            Command::new(exe)
                .args(["--exact", "c10k_client_process", "--nocapture"])
                .env(CHILD_ENV, addr.to_string())
                .stdin(Stdio::null())
                .output()
                .unwrap()
        })
        .await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains(&format!("CLIENTS-OK {CONNS}")),
            "client process failed: {}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(peak.get(), CONNS, "all connections were open at once");
        // The clients exited: every server task sees EOF and ends.
        while live.get() > 0 {
            solo::sleep(Duration::from_millis(5)).await;
        }
        let grew = peak_rss.get().saturating_sub(rss_before);
        println!(
            "c10k: {CONNS} concurrent connections in {:?}; server RSS grew {} KiB at the peak ({} bytes per connection)",
            started.elapsed(),
            grew,
            grew * 1024 / CONNS as u64
        );
    });
}
