//! A tiny HTTP/1.0-style "hello" server written directly on `TcpStream`
//! (no HTTP library) for load-testing the loop with `wrk`. It understands
//! just enough HTTP: it reads until the end of each request head and
//! answers every request with the same small response, keeping the
//! connection open (keep-alive) unless the client asks to close.
//!
//! ```text
//! cargo run --release -p solo --example hello_server -- 127.0.0.1:8080
//! wrk -t1 -c100 -d10s http://127.0.0.1:8080/
//! ```

use solo::net::{TcpListener, TcpStream};

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!";

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

async fn serve(stream: TcpStream) -> std::io::Result<()> {
    let mut buf = vec![0u8; 8192];
    let mut filled = 0;
    loop {
        // Answer every complete request head in the buffer (pipelining).
        while let Some(end) = find_head_end(&buf[..filled]) {
            let head = &buf[..end];
            let close = head
                .windows(17)
                .any(|w| w.eq_ignore_ascii_case(b"connection: close"));
            stream.write_all(RESPONSE).await?;
            if close {
                return Ok(());
            }
            buf.copy_within(end..filled, 0);
            filled -= end;
        }
        if filled == buf.len() {
            return Ok(()); // a request head over 8 KiB: not for us
        }
        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
    }
}

#[solo::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!(
        "hello server on http://{}/ (Ctrl-C to stop)",
        listener.local_addr()?
    );
    let server = solo::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    stream.set_nodelay(true).ok();
                    solo::spawn(async move {
                        let _ = serve(stream).await;
                    });
                }
                Err(e) => {
                    eprintln!("accept: {e}");
                    solo::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    });
    solo::signal::ctrl_c().await?;
    server.cancel();
    Ok(())
}
