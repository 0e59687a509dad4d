//! `--proxy` and the environment's proxies: a crawl through a real HTTP
//! proxy (Debian's tinyproxy, started here on a free port with a
//! password, tunnelling to port 443 only, as a stock squid), and the
//! password kept out of what the crawl writes.
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
                 MaxClients 100\nAllow 127.0.0.1\nBasicAuth crawler {PASSWORD}\nDisableViaHeader Yes\n\
                 ConnectPort 443\n",
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
    // Written as proxy vendors write it, without a scheme: the password
    // was in the warcinfo's command line in clear (the security audit).
    let url = proxy.url(PASSWORD);
    let o = crawl(&[
        site.url().as_str(),
        "--proxy",
        url.trim_start_matches("http://"),
        "--output",
        out.to_str().unwrap(),
        "--warc",
        warc.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let pages = std::fs::read_to_string(&out).unwrap().lines().count();
    assert_eq!(pages, demo_reachable(40).len());
    // Every page was forwarded by the proxy (which would have refused a
    // tunnel to the site's port), each request naming its whole URL.
    let log = proxy.log();
    let forwarded = format!("GET {}robots.txt HTTP/1.1", site.url());
    assert!(
        log.contains(&forwarded) && !log.contains("CONNECT 127.0.0.1"),
        "no {forwarded:?} in the proxy's log:\n{log}"
    );
    for line in std::fs::read_to_string(&out).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let get = format!("GET {} HTTP/1.1", v["url"].as_str().unwrap());
        assert!(log.contains(&get), "no {get:?} in the proxy's log");
    }
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
    // Request records as the site would have had them sent directly.
    assert!(text.contains("\r\n\r\nGET / HTTP/1.1\r\n"), "{text}");
    assert!(!text.contains("GET http://"));
    assert!(!text.to_ascii_lowercase().contains("proxy-authorization"));
    assert!(!stderr.contains(PASSWORD));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_wrong_proxy_password_or_url_is_a_clear_error_without_the_password() {
    let dir = fresh_dir("refused");
    let Some(proxy) = start(&dir) else { return };
    let site = DemoSite::start(10).unwrap();
    let wrong = "wrong-pass-0451";
    // An https page: its tunnel is refused, and the answer is quoted
    // (tinyproxy answers 401, others 407). Retrying cannot help: the
    // proxy hears of it once, however many retries are allowed.
    let records = dir.join("tunnel.jsonl");
    let o = crawl(&[
        "https://127.0.0.1:443/",
        "--proxy",
        &proxy.url(wrong),
        "--retries",
        "3",
        "--output",
        records.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("refused the request") && stderr.contains("Unauthorized"),
        "the proxy's refusal is told: {stderr}"
    );
    assert!(stderr.contains("check the user and password"), "{stderr}");
    let record = std::fs::read_to_string(&records).unwrap();
    assert!(record.contains("\"error\":\"proxy: "), "{record}");
    // Its robots.txt and the page, each asked once (with retries: 8).
    let log = proxy.log();
    assert_eq!(
        log.matches("CONNECT 127.0.0.1:443 ").count(),
        2,
        "a refused request was retried: {log}"
    );
    assert!(!stderr.contains(wrong), "{stderr}");
    assert!(!String::from_utf8_lossy(&o.stdout).contains(wrong));
    assert!(!record.contains(wrong));
    // An http page is forwarded: tinyproxy's refusal (a 401 page, not the
    // standard 407, which solo-http turns into an error) is the page's
    // status, and the password is nowhere.
    let out = dir.join("refused.jsonl");
    let o = crawl(&[
        site.url().as_str(),
        "--proxy",
        &proxy.url(wrong),
        "--retries",
        "0",
        "--output",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let records = std::fs::read_to_string(&out).unwrap();
    assert!(records.contains("\"status\":401"), "{records}\n{stderr}");
    assert!(
        !records.contains(wrong) && !stderr.contains(wrong),
        "{stderr}"
    );
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

/// An address of this machine that is not loopback (the environment's
/// proxies are not used for loopback), found by the route to a test
/// network (no packet is sent); `None` if there is none.
fn outside_address() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// A one-page site on `ip` (its own thread), and how many requests it
/// answered.
fn one_page_site(ip: std::net::IpAddr) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = TcpListener::bind((ip, 0)).unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = served.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let mut head = Vec::new();
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(n @ 1..) => head.extend_from_slice(&buf[..n]),
                    _ => break,
                }
            }
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let body = "<html><title>outside</title></html>";
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, served)
}

fn crawl_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_solo-crawl"));
    c.arg("crawl").args(args).stdin(Stdio::null());
    for var in [
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
    ] {
        c.env_remove(var);
    }
    c.envs(env.iter().copied()).output().unwrap()
}

#[test]
fn the_environment_s_proxies_are_used_as_curl_uses_them() {
    let dir = fresh_dir("env");
    let Some(proxy) = start(&dir) else { return };
    let proxy_url = proxy.url(PASSWORD);
    // Loopback never goes through them: a crawl of 127.0.0.1 works with
    // http_proxy pointing at nothing.
    let site = DemoSite::start(10).unwrap();
    let o = crawl_with_env(
        &[site.url().as_str(), "--retries", "0"],
        &[("http_proxy", "http://127.0.0.1:9")],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(site.requests() as usize, demo_reachable(10).len() + 1);
    // A proxy the crawl cannot use (curl's socks5://) does not concern
    // loopback: that crawl runs as without it.
    let bad = [("all_proxy", "socks5://u:hush-0451@127.0.0.1:1")];
    let o = crawl_with_env(&[site.url().as_str()], &bad);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A site outside loopback goes through http_proxy, unless no_proxy
    // or --noproxy names it.
    let Some(ip) = outside_address() else {
        eprintln!("skipped the outside part: this machine has no address but loopback");
        return;
    };
    let (url, served) = one_page_site(ip);
    let env = [("http_proxy", proxy_url.as_str())];
    let out = dir.join("outside.jsonl");
    let args = [
        url.as_str(),
        "--depth",
        "0",
        "--output",
        out.to_str().unwrap(),
    ];
    let o = crawl_with_env(&args, &env);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("\"status\":200"));
    let through = proxy.log().matches(&format!("GET {url} HTTP")).count();
    assert_eq!(through, 1, "{}", proxy.log());
    let before = served.load(std::sync::atomic::Ordering::SeqCst);
    let env_no = [
        ("http_proxy", proxy_url.as_str()),
        ("no_proxy", &ip.to_string()),
    ];
    for (args, env) in [
        (&args[..], &env_no[..]),
        (
            &[&args[..], &["--noproxy", "example.test, *"]].concat()[..],
            &env[..],
        ),
    ] {
        let o = crawl_with_env(args, env);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(
        proxy.log().matches(&format!("GET {url} HTTP")).count(),
        1,
        "direct since"
    );
    assert!(served.load(std::sync::atomic::Ordering::SeqCst) >= before + 2);
    // Through a proxy it cannot use, the crawl fails, naming the
    // variable and not its password.
    let o = crawl_with_env(&[url.as_str(), "--retries", "0"], &bad);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("all_proxy") && !stderr.contains("hush-0451"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
