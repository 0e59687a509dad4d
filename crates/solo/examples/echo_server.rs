//! A TCP echo server: one task per connection, all on one thread, until
//! Ctrl-C.
//!
//! ```text
//! cargo run --release -p solo --example echo_server -- 127.0.0.1:7000
//! ```

use std::cell::Cell;
use std::rc::Rc;

use solo::net::{TcpListener, TcpStream};

async fn echo(stream: TcpStream) -> std::io::Result<()> {
    let mut buf = vec![0; 16 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(()); // the client hung up
        }
        stream.write_all(&buf[..n]).await?;
    }
}

#[solo::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".into());
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!("echo server on {} (Ctrl-C to stop)", listener.local_addr()?);
    let served = Rc::new(Cell::new(0u64));
    let accept_loop = {
        let served = served.clone();
        solo::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _peer)) => {
                        stream.set_nodelay(true).ok();
                        served.set(served.get() + 1);
                        solo::spawn(async move {
                            if let Err(e) = echo(stream).await {
                                eprintln!("connection error: {e}");
                            }
                        });
                    }
                    // E.g. out of descriptors: report, back off, go on.
                    Err(e) => {
                        eprintln!("accept: {e}");
                        solo::sleep(std::time::Duration::from_millis(50)).await;
                    }
                }
            }
        })
    };
    solo::signal::ctrl_c().await?;
    accept_loop.cancel();
    println!("\nstopping after {} connections", served.get());
    Ok(())
}
