//! nginx from Debian's packages serving a directory of files over TLS
//! with HTTP/2 (and `ETag`/`Last-Modified`, so a recrawl gets `304`s), on
//! a free 127.0.0.1 port with a temp config, for tests that run the
//! `solo-crawl` binary. As in solo-http's nginx tests: without an `nginx`
//! binary a test says "skipped" and passes, except under `CI=true`
//! (`.ci/run` installs nginx).

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running nginx, stopped on drop.
pub struct Nginx {
    child: Child,
    pub port: u16,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `nginx` on `PATH` or in the usual sbin directories.
fn find_nginx() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file())
}

/// Starts nginx serving `dir/html` over https and HTTP/2 with the leaf
/// certificate and key (PEM) given, its files in `dir`; `None` (after
/// saying so) when nginx is not installed.
pub fn start_h2(dir: &Path, cert: &str, key: &str) -> Option<Nginx> {
    let Some(bin) = find_nginx() else {
        let msg = "nginx not found (install it: apt-get install -y nginx; .ci/run does)";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        eprintln!("skipped: {msg}");
        return None;
    };
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    std::fs::write(dir.join("cert.pem"), cert).unwrap();
    std::fs::write(dir.join("key.pem"), key).unwrap();
    // A free port: bind port 0, note it, let it go; retried if nginx
    // loses the race for it.
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = format!(
            r#"daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    types {{ text/html html; }}
    access_log {dir}/access.log;
    client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp; fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;
    gzip on;
    gzip_types text/html;
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {dir}/cert.pem;
        ssl_certificate_key {dir}/key.pem;
        root {dir}/html;
    }}
}}
"#,
            dir = dir.display()
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let mut child = Command::new(&bin)
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
                return Some(Nginx { child, port });
            }
            assert!(Instant::now() < deadline, "nginx did not listen in 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("nginx found no free port in 5 tries");
}
