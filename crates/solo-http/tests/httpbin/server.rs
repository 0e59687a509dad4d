//! httpbin (from PyPI) under gunicorn on a free 127.0.0.1 port, started by
//! the tests and stopped when the last test using it is done.
//!
//! Owns: finding the venv (`$HTTPBIN_VENV`, else `target/httpbin-venv` of
//! the workspace, which `.ci/run` creates from `requirements.txt` beside
//! this file), starting gunicorn and waiting until it listens, stopping it
//! (SIGTERM, then SIGKILL) and removing its directory, and reading its
//! access log, which records the client port of every request: the
//! server's own count of the connections a client used.
//!
//! Must not: skip in CI. With `CI=true` a missing venv fails the tests;
//! elsewhere each test prints "skipped: ..." and passes.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// A running httpbin; dropping the last handle stops it.
pub struct Httpbin {
    child: Child,
    dir: PathBuf,
    pub port: u16,
}

impl Httpbin {
    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The same server under another origin: `http://httpbin.test:PORT`,
    /// for a client that resolves `httpbin.test` to 127.0.0.1.
    pub fn other_origin_url(&self, path: &str) -> String {
        format!("http://httpbin.test:{}{path}", self.port)
    }

    /// The client ports of the requests whose query contains `marker`,
    /// from the access log, waiting (up to 10 s) until there are `n`:
    /// gunicorn writes a line only after it has sent the response.
    pub fn client_ports(&self, marker: &str, n: usize) -> Vec<u16> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default();
            // Each line: "PATH?QUERY REMOTE_PORT".
            let ports: Vec<u16> = log
                .lines()
                .filter(|l| l.contains(marker))
                .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
                .collect();
            if ports.len() >= n || Instant::now() > deadline {
                return ports;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Httpbin {
    fn drop(&mut self) {
        // Gracefully (the master stops its worker), then by force.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The running httpbin, shared by the tests that run at the same time,
/// started if there is none; `None` (after saying so) when the venv is
/// missing outside CI.
pub fn httpbin() -> Option<Arc<Httpbin>> {
    static SHARED: Mutex<Weak<Httpbin>> = Mutex::new(Weak::new());
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(running) = shared.upgrade() {
        return Some(running);
    }
    let gunicorn = find_gunicorn()?;
    let started = Arc::new(start(&gunicorn));
    *shared = Arc::downgrade(&started);
    Some(started)
}

fn find_gunicorn() -> Option<PathBuf> {
    let venv = match std::env::var_os("HTTPBIN_VENV") {
        Some(v) => PathBuf::from(v),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/httpbin-venv"),
    };
    let gunicorn = venv.join("bin/gunicorn");
    if gunicorn.is_file() {
        return Some(gunicorn);
    }
    let how = "create it with: python3 -m venv target/httpbin-venv && \
               target/httpbin-venv/bin/pip install -r crates/solo-http/tests/httpbin/requirements.txt \
               (or run .ci/run), or set HTTPBIN_VENV to a venv that has httpbin and gunicorn";
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("httpbin is missing: no {}; {how}", gunicorn.display());
    }
    eprintln!("skipped: httpbin not found ({}); {how}", gunicorn.display());
    None
}

fn start(gunicorn: &PathBuf) -> Httpbin {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "solo-http-httpbin-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // A free port: bind port 0, note it, let it go; retried if gunicorn
    // loses the race for it.
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(gunicorn)
            .args(["--bind", &format!("127.0.0.1:{port}")])
            // One process with threads; keep-alive on (the default sync
            // worker closes every connection).
            .args(["--workers", "1", "--worker-class", "gthread"])
            .args(["--threads", "64", "--keep-alive", "60"])
            .args(["--graceful-timeout", "1", "--no-control-socket"])
            .arg("--access-logfile")
            .arg(dir.join("access.log"))
            .args(["--access-logformat", "%(U)s?%(q)s %({REMOTE_PORT}e)s"])
            .arg("--error-logfile")
            .arg(dir.join("error.log"))
            .arg("httpbin:app")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", gunicorn.display()));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let mut log = String::new();
                if let Ok(mut f) = std::fs::File::open(dir.join("error.log")) {
                    let _ = f.read_to_string(&mut log);
                }
                if log.contains("Address already in use") {
                    break;
                }
                panic!("gunicorn exited ({status}):\n{log}");
            }
            // The master listens before the worker has loaded httpbin:
            // wait for an answer, not just a connection.
            if answers(port) {
                return Httpbin { child, dir, port };
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("httpbin did not answer within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("gunicorn found no free port in 5 tries");
}

/// Whether `GET /status/200` gets an HTTP answer.
fn answers(port: u16) -> bool {
    use std::io::Write;
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let req = "GET /status/200 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let mut head = [0u8; 12];
    s.write_all(req.as_bytes()).is_ok()
        && s.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.1 200")
}
