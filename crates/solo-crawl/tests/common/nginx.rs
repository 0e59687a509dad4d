//! nginx serving a directory of files over TLS with HTTP/2 (and
//! `ETag`/`Last-Modified`, so a recrawl gets `304`s), for tests that run
//! the `solo-crawl` binary; started by solo-http's test launcher (without
//! nginx a test says "skipped" and passes, except under `CI=true`).

use std::path::Path;

#[path = "../../../solo-http/tests/common/nginx_process.rs"]
mod nginx_process;

pub use nginx_process::Running as Nginx;

/// Starts nginx serving `dir/html` over https and HTTP/2 with the leaf
/// certificate and key (PEM) given, its files in `dir`; `None` when nginx
/// is not installed.
pub fn start_h2(dir: &Path, cert: &str, key: &str) -> Option<Nginx> {
    let bin = nginx_process::find()?;
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    std::fs::write(dir.join("cert.pem"), cert).unwrap();
    std::fs::write(dir.join("key.pem"), key).unwrap();
    let config = |port| {
        format!(
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
        )
    };
    Some(nginx_process::start(&bin, dir, config))
}
