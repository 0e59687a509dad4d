//! `--proxy`: a crawl through a real HTTP proxy (Debian's tinyproxy,
//! started here on a free port with a password), and the password kept
//! out of what the crawl writes.
//!
//! Without a `tinyproxy` binary the tests say "skipped" and pass, except
//! under `CI=true` (`.ci/run` installs it).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use solo_crawl::demo_site::{demo_reachable, DemoSite};

#[allow(dead_code)]
#[path = "../../solo-http/tests/common/nginx_process.rs"]
mod nginx_process;

const PASSWORD: &str = "s3cr3t-proxy-pass";

/// A running tinyproxy, stopped on drop.
struct Tinyproxy {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Tinyproxy {
    fn url(&self, password: &str) -> String {
        format!("http://crawler:{password}@127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Starts tinyproxy on a free port of 127.0.0.1, in the foreground, its
/// log in `dir`, asking for user `crawler` with `PASSWORD`.
fn start(dir: &Path) -> Option<Tinyproxy> {
    let bin = nginx_process::find_program("tinyproxy", "TINYPROXY")?;
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.join("tinyproxy.log");
        let conf = dir.join("tinyproxy.conf");
        std::fs::write(
            &conf,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nLogFile \"{}\"\nLogLevel Connect\n\
                 MaxClients 100\nAllow 127.0.0.1\nBasicAuth crawler {PASSWORD}\nDisableViaHeader Yes\n",
                log.display()
            ),
        )
        .unwrap();
        let child = Command::new(&bin)
            .arg("-d")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tinyproxy");
        let mut proxy = Tinyproxy { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(proxy);
            }
            if proxy.child.try_wait().unwrap().is_some() {
                break; // lost the port: try another
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("tinyproxy did not start");
}

fn fresh_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("solo-crawl-proxy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn crawl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
        .arg("crawl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_crawl_goes_through_the_proxy_and_keeps_its_password_out_of_the_archive() {
    let dir = fresh_dir("through");
    let Some(proxy) = start(&dir) else { return };
    let site = DemoSite::start(40).unwrap();
    let (out, warc) = (dir.join("pages.jsonl"), dir.join("crawl.warc"));
    let o = crawl(&[
        site.url().as_str(),
        "--proxy",
        &proxy.url(PASSWORD),
        "--output",
        out.to_str().unwrap(),
        "--warc",
        warc.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let pages = std::fs::read_to_string(&out).unwrap().lines().count();
    assert_eq!(pages, demo_reachable(40).len());
    // Every page came through tunnels the proxy opened to the site.
    let log = proxy.log();
    let tunnel = format!(
        "CONNECT {}:{}",
        site.url().host_str().unwrap(),
        site.url().port().unwrap()
    );
    assert!(
        log.contains(&tunnel),
        "no {tunnel:?} in the proxy's log:\n{log}"
    );
    // The warcinfo names the proxy, without its password.
    let archive = std::fs::read(dir.join("crawl-00000.warc")).unwrap();
    let text = String::from_utf8_lossy(&archive);
    assert!(
        text.contains("--proxy"),
        "the warcinfo has the command line"
    );
    assert!(
        !text.contains(PASSWORD),
        "the proxy's password is in the WARC"
    );
    assert!(!stderr.contains(PASSWORD));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_wrong_proxy_password_or_url_is_a_clear_error_without_the_password() {
    let dir = fresh_dir("refused");
    let Some(proxy) = start(&dir) else { return };
    let site = DemoSite::start(10).unwrap();
    let wrong = "wrong-pass-0451";
    let o = crawl(&[
        site.url().as_str(),
        "--proxy",
        &proxy.url(wrong),
        "--retries",
        "0",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    // tinyproxy answers 401 (others 407): the answer is quoted.
    assert!(
        stderr.contains("refused the tunnel") && stderr.contains("Unauthorized"),
        "the proxy's refusal is told: {stderr}"
    );
    assert!(!stderr.contains(wrong), "{stderr}");
    assert!(!String::from_utf8_lossy(&o.stdout).contains(wrong));
    // Not a proxy URL solo-crawl can use: a usage error, before any fetch.
    let o = crawl(&[
        site.url().as_str(),
        "--proxy",
        &format!("socks5://u:{wrong}@127.0.0.1:1"),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--proxy") && stderr.contains("only http://"),
        "{stderr}"
    );
    assert!(!stderr.contains(wrong), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
