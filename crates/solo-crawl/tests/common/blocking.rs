//! A blocking HTTP/1.1 server on threads of its own, for tests that run
//! the `solo-crawl` binary: each request's head goes to a handler that
//! returns the exact bytes to send back (keep-alive: one connection may
//! carry many requests).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

/// A request as the server read it.
pub struct RawRequest {
    pub path: String,
    /// Header names lower-cased, values trimmed.
    pub headers: Vec<(String, String)>,
}

impl RawRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Serves `answer` on 127.0.0.1; the base URL (`http://127.0.0.1:PORT`).
pub fn serve<F>(answer: F) -> String
where
    F: Fn(&RawRequest) -> Vec<u8> + Send + Sync + 'static,
{
    serve_on("127.0.0.1", answer)
}

/// [`serve`] on another loopback address (127.0.0.2: another host).
pub fn serve_on<F>(ip: &str, answer: F) -> String
where
    F: Fn(&RawRequest) -> Vec<u8> + Send + Sync + 'static,
{
    let listener = TcpListener::bind((ip, 0)).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let answer = answer.clone();
            std::thread::spawn(move || handle(conn, &*answer));
        }
    });
    base
}

fn handle(conn: TcpStream, answer: &dyn Fn(&RawRequest) -> Vec<u8>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let bytes = answer(&RawRequest { path, headers });
        if out.write_all(&bytes).is_err() {
            return;
        }
    }
}
