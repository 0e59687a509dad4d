//! Debian's nginx as a test server: found on the machine, started on a
//! free 127.0.0.1 port with a config written for that port, stopped on
//! drop. Shared by solo-http's nginx tests and solo-crawl's (which
//! include this file by path): what each serves is its own config.
//!
//! Without an `nginx` binary, [`find`] says "skipped" and gives `None`
//! (the test then passes), except under `CI=true`, where it panics:
//! `.ci/run` installs nginx.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running nginx, stopped on drop.
pub struct Running {
    child: Child,
    pub port: u16,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `$NGINX` when set (a path; one that is not a file means "none"), else
/// `nginx` on `PATH` or in the usual sbin directories; `None` after
/// saying the test is skipped (a panic under `CI=true`).
pub fn find() -> Option<PathBuf> {
    find_program("nginx", "NGINX")
}

/// A Debian program a test runs as a server (`nginx`, `tinyproxy`):
/// `$VAR` when set (a path; one that is not a file means "none"), else
/// `name` on `PATH` or in the usual bin and sbin directories; `None`
/// after saying the test is skipped (a panic under `CI=true`, where
/// `.ci/run` installs it).
#[allow(dead_code)] // each test crate uses what it needs
pub fn find_program(name: &str, var: &str) -> Option<PathBuf> {
    let found = match std::env::var_os(var) {
        Some(p) => Some(PathBuf::from(p)).filter(|p| p.is_file()),
        None => {
            let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).collect())
                .unwrap_or_default();
            dirs.extend(["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin"].map(PathBuf::from));
            dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
        }
    };
    if found.is_none() {
        let msg = format!("{name} not found (install it: apt-get install -y {name}; .ci/run does)");
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        eprintln!("skipped: {msg}");
    }
    found
}

/// Starts `bin` with its prefix in `dir` and the config `config(port)`
/// writes to `dir/nginx.conf` (`error_log` and `pid` should be in `dir`),
/// on a free port: bind port 0, note it, let it go; tried again on
/// another if nginx loses the race for it.
pub fn start(bin: &Path, dir: &Path, config: impl Fn(u16) -> String) -> Running {
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::write(dir.join("nginx.conf"), config(port)).unwrap();
        let mut child = Command::new(bin)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nginx");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                child.stderr.take().unwrap().read_to_string(&mut err).ok();
                if err.contains("Address already in use") {
                    break;
                }
                panic!("nginx exited ({status}): {err}");
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Running { child, port };
            }
            assert!(Instant::now() < deadline, "nginx did not listen in 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("nginx found no free port in 5 tries");
}
