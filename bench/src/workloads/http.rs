//! `http`: 100,000 GET requests of a 4 KiB static file from nginx on
//! 127.0.0.1, 256 in flight: solo-http on solo against reqwest on tokio's
//! current_thread runtime (the `tokio` row). smol has no row here.
//!
//! The parent process starts one nginx for the whole workload (Debian's
//! `nginx`, found on `PATH` or in `/usr/sbin`; the workload fails with a
//! clear message without it) on a free port with a temp config: one
//! process (`master_process off`), `sendfile`, no access log, keep-alive
//! for a million requests per connection, pinned to CPU 0. Each
//! repetition is a child process pinned to CPU 1 (`taskset -c`, else
//! `sched_setaffinity`), so nginx and the client each have a core.
//!
//! The client: one `Client` for the program (pool of up to 256 connections
//! per host, 256 kept idle), 256 tasks that each take the next request
//! number until 100,000 are taken, `GET` the URL (a `&str`, parsed per
//! request by both clients), and read the whole body.
//!
//! Self-check: every response is 200 and its body is the file, byte for
//! byte (the child makes the same pseudo-random 4 KiB the parent wrote);
//! the requests completed add up to 100,000.
//!
//! Metrics:
//! - `throughput` (requests/s): from before the client is built to the
//!   last body read (connection set-up included).
//! - `peak_rss` (MiB): the client process's `VmHWM` at its end.
//!
//! `--quick`: 1,000 requests.

use std::cell::Cell;
use std::future::Future;
use std::io::Read as _;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::echo::mib;
use super::{check, per_sec, Metric, Outcome, Scale};
use crate::proc;
use crate::rt::{Rt, Solo, Tokio};

/// The runtimes with a client here.
pub const RUNTIMES: [&str; 2] = [Solo::NAME, Tokio::NAME];

/// Requests in flight.
pub const IN_FLIGHT: usize = 256;
/// Size of the file.
pub const FILE_LEN: usize = 4096;
/// Its path on the server.
const PATH: &str = "/4k.bin";

/// Requests in one run.
pub fn requests(scale: Scale) -> usize {
    scale.pick(100_000, 100)
}

/// The file's bytes: xorshift32 from a fixed seed, the same in every
/// process.
pub fn file_bytes() -> Vec<u8> {
    let mut x: u32 = 0x9E37_79B9;
    (0..FILE_LEN)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// nginx serving the file, for as long as this lives.
pub struct Nginx {
    child: Child,
    dir: PathBuf,
    /// `http://127.0.0.1:PORT/4k.bin`.
    pub url: String,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn nginx_binary() -> Option<PathBuf> {
    proc::which("nginx").or_else(|| {
        ["/usr/sbin/nginx", "/usr/local/sbin/nginx"]
            .map(PathBuf::from)
            .into_iter()
            .find(|p| p.is_file())
    })
}

fn nginx_config(dir: &std::path::Path, port: u16) -> String {
    format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    open_file_cache max=16;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    server {{
        listen 127.0.0.1:{port} backlog=1024;
        root {dir}/html;
    }}
}}
"#,
        dir = dir.display()
    )
}

impl Nginx {
    /// Writes the file and a config in a temp directory and starts nginx
    /// on a free port, pinned to CPU 0 when `taskset` is there.
    pub fn start() -> Result<Nginx, String> {
        let bin = nginx_binary()
            .ok_or("the http workload needs nginx: not found (apt-get install -y nginx)")?;
        let dir = std::env::temp_dir().join(format!("solo-bench-nginx-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let io = |e: std::io::Error| format!("nginx dir {}: {e}", dir.display());
        std::fs::create_dir_all(dir.join("html")).map_err(io)?;
        std::fs::create_dir_all(dir.join("tmp")).map_err(io)?;
        std::fs::write(dir.join("html").join(&PATH[1..]), file_bytes()).map_err(io)?;
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| format!("free port: {e}"))?
                .port();
            std::fs::write(dir.join("nginx.conf"), nginx_config(&dir, port)).map_err(io)?;
            let mut cmd = match proc::which("taskset") {
                Some(t) => {
                    let mut c = Command::new(t);
                    c.args(["-c", "0"]).arg(&bin);
                    c
                }
                None => Command::new(&bin),
            };
            cmd.arg("-p")
                .arg(&dir)
                .arg("-c")
                .arg(dir.join("nginx.conf"))
                .arg("-e")
                .arg(dir.join("error.log"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            let mut child = cmd
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                    let mut err = String::new();
                    if let Some(mut s) = child.stderr.take() {
                        let _ = s.read_to_string(&mut err);
                    }
                    if err.contains("Address already in use") {
                        break;
                    }
                    let _ = std::fs::remove_dir_all(&dir);
                    return Err(format!("nginx exited ({status}): {err}"));
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Ok(Nginx {
                        child,
                        dir,
                        url: format!("http://127.0.0.1:{port}{PATH}"),
                    });
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    return Err("nginx did not listen within 10 s".into());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Err("nginx found no free port in 5 tries".into())
    }
}

/// `IN_FLIGHT` tasks on `R` share `n` requests, each made by `fetch`
/// (status and body); returns how many completed.
async fn drive<R, F, Fut, B>(n: usize, fetch: F) -> Result<usize, String>
where
    R: Rt,
    F: Fn() -> Fut + Clone + 'static,
    Fut: Future<Output = Result<(u16, B), String>> + 'static,
    B: AsRef<[u8]> + 'static,
{
    let want: Rc<[u8]> = file_bytes().into();
    let taken = Rc::new(Cell::new(0usize));
    let mut tasks = Vec::with_capacity(IN_FLIGHT);
    for _ in 0..IN_FLIGHT {
        let (fetch, want, taken) = (fetch.clone(), want.clone(), taken.clone());
        tasks.push(R::spawn(async move {
            let mut done = 0usize;
            while taken.get() < n {
                taken.set(taken.get() + 1);
                let (status, body) = fetch().await?;
                check("status", status, 200)?;
                if body.as_ref() != &want[..] {
                    return Err(format!(
                        "self-check failed: a body of {} bytes differs from the file ({FILE_LEN} bytes)",
                        body.as_ref().len()
                    ));
                }
                done += 1;
            }
            Ok::<usize, String>(done)
        }));
    }
    let mut done = 0;
    for t in tasks {
        done += t.await.map_err(|e| format!("task: {e}"))??;
    }
    Ok(done)
}

/// One run (in the child) against `url` on `runtime`: solo-http on solo,
/// reqwest on tokio.
pub fn run(runtime: &str, url: &str, scale: Scale) -> Outcome {
    let n = requests(scale);
    let url: Rc<str> = url.into();
    let start = Instant::now();
    let done = match runtime {
        Solo::NAME => Solo::block_on(async move {
            let client = solo_http::Client::builder()
                .max_connections_per_host(IN_FLIGHT)
                .pool_max_idle_per_host(IN_FLIGHT)
                .build()
                .map_err(|e| e.to_string())?;
            drive::<Solo, _, _, _>(n, move || {
                let req = client.get(&*url);
                async move {
                    let resp = req.send().await.map_err(|e| e.to_string())?;
                    let status = resp.status().as_u16();
                    let body = resp.bytes().await.map_err(|e| e.to_string())?;
                    Ok((status, body))
                }
            })
            .await
        }),
        Tokio::NAME => Tokio::block_on(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(IN_FLIGHT)
                .build()
                .map_err(|e| e.to_string())?;
            drive::<Tokio, _, _, _>(n, move || {
                let req = client.get(&*url);
                async move {
                    let resp = req.send().await.map_err(|e| e.to_string())?;
                    let status = resp.status().as_u16();
                    let body = resp.bytes().await.map_err(|e| e.to_string())?;
                    Ok((status, body))
                }
            })
            .await
        }),
        r => return Err(format!("the http workload has no client for runtime {r:?}")),
    }?;
    let elapsed = start.elapsed();
    check("requests completed", done, n)?;
    let peak = proc::peak_rss().map_err(|e| e.to_string())?;
    Ok(vec![
        Metric::higher("throughput", per_sec(n, elapsed), "requests/s"),
        Metric::lower("peak_rss", mib(peak), "MiB"),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// bench/python/bench.py's `http_file_bytes` starts with these bytes.
    #[test]
    fn the_file_is_the_one_python_makes() {
        let f = file_bytes();
        assert_eq!(f.len(), FILE_LEN);
        assert_eq!(f[..8], [0x19, 0x3e, 0x3a, 0xb5, 0x1f, 0x37, 0xd0, 0xbf]);
    }

    #[test]
    fn quick_is_a_thousand_requests() {
        assert_eq!(requests(Scale { quick: false }), 100_000);
        assert_eq!(requests(Scale { quick: true }), 1_000);
    }
}
