//! `--warc`: the crawler's WARC/1.1 files, read back by warcio (PyPI), a
//! reader no one here wrote. `warcio check` passes on every file, each
//! fetched URL has exactly one response (or revisit) record, and each
//! body read back equals the bytes the test server sent (a gzip-encoded
//! page, a chunked one, a 404, a redirect, robots.txt). Killed with
//! SIGKILL while writing: every record of the killed run reads back, and
//! the resumed run writes new files, valid too. Revisits: a `304` to a
//! recrawl, and a payload already written, in the same run or (with
//! `--state`) an earlier one.
//!
//! warcio comes from the venv `.ci/run` creates (`target/warcio-venv`, or
//! `$WARCIO_VENV`). Without it these tests say so and pass, unless
//! `CI=true`: then they fail.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use solo_crawl::demo_site::DemoSite;

mod common;

use common::warcio::warcio;

/// One record as `tests/warcio/read.py` prints it.
#[derive(Debug, serde::Deserialize)]
struct Rec {
    #[serde(rename = "type")]
    kind: String,
    uri: Option<String>,
    id: String,
    date: String,
    concurrent_to: Option<String>,
    ip: Option<String>,
    refers_to: Option<String>,
    refers_to_date: Option<String>,
    profile: Option<String>,
    protocol: Option<String>,
    truncated: Option<String>,
    status: Option<String>,
    head: Option<String>,
    payload: String,
    block: String,
    problems: Option<Vec<String>>,
}

impl Rec {
    fn payload(&self) -> Vec<u8> {
        unhex(&self.payload)
    }

    /// The block as stored: the HTTP head and the payload.
    fn block(&self) -> Vec<u8> {
        unhex(&self.block)
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// `warcio check` on each file (it verifies every digest), then every
/// record read back.
fn read_back(bin: &Path, files: &[PathBuf]) -> Vec<Rec> {
    for f in files {
        let out = Command::new(bin.join("warcio"))
            .arg("check")
            .arg("-v")
            .arg(f)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "warcio check {}: {}{}",
            f.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/warcio/read.py");
    let out = Command::new(bin.join("python"))
        .arg(script)
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "read.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recs: Vec<Rec> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for r in &recs {
        assert!(r.problems.is_none(), "{r:?}");
    }
    recs
}

/// The WARC files `stem-NNNNN.warc.gz` in `dir`, in order.
fn warc_files(dir: &Path, stem: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with(&format!("{stem}-")) && n.ends_with(".warc.gz")
        })
        .collect();
    v.sort();
    v
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("solo-crawl-warc-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A page with `links`, its body unique to `name`.
fn html(name: &str, links: &[&str]) -> Vec<u8> {
    let mut s = format!("<html><head><title>{name}</title></head><body>");
    for l in links {
        s += &format!("<a href=\"{l}\">{l}</a>");
    }
    (s + "</body></html>").into_bytes()
}

/// What the server sends for a path: the head (without the empty line)
/// and the body as it goes on the wire, and the body as the archive must
/// hold it (de-chunked, content encoding kept).
struct Answer {
    head: String,
    wire: Vec<u8>,
    body: Vec<u8>,
}

fn answer(path: &str) -> Answer {
    let plain = |status: &str, ctype: &str, body: Vec<u8>| Answer {
        head: format!(
            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nX-Odd-Case:  kept\r\nContent-Length: {}",
            body.len()
        ),
        wire: body.clone(),
        body,
    };
    match path {
        "/robots.txt" => plain(
            "200 OK",
            "text/plain",
            b"User-agent: *\nAllow: /\n".to_vec(),
        ),
        "/" => plain(
            "200 OK",
            "text/html",
            html(
                "home",
                &[
                    "/gz", "/chunked", "/missing", "/moved", "/same-a", "/same-b",
                ],
            ),
        ),
        "/gz" => {
            let body = gzip(&html("gzipped", &["/from-gz"]));
            Answer {
                head: format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: {}",
                    body.len()
                ),
                wire: body.clone(),
                body,
            }
        }
        "/chunked" => {
            let body = html("chunked", &["/from-chunked"]);
            let mut wire = Vec::new();
            for part in body.chunks(17) {
                wire.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
                wire.extend_from_slice(part);
                wire.extend_from_slice(b"\r\n");
            }
            wire.extend_from_slice(b"0\r\n\r\n");
            Answer {
                head: "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked"
                    .into(),
                wire,
                body,
            }
        }
        "/moved" => Answer {
            head: "HTTP/1.1 301 Moved Permanently\r\nLocation: /moved-here\r\nContent-Length: 0"
                .into(),
            wire: Vec::new(),
            body: Vec::new(),
        },
        "/same-a" | "/same-b" => plain("200 OK", "text/plain", b"the same payload twice".to_vec()),
        "/from-gz" | "/from-chunked" | "/moved-here" => {
            plain("200 OK", "text/html", html(&path[1..], &[]))
        }
        _ => plain("404 Not Found", "text/plain", b"no such page".to_vec()),
    }
}

/// The test site: [`answer`], byte for byte.
fn serve() -> String {
    common::blocking::serve(|req| {
        let a = answer(&req.path);
        let mut bytes = format!("{}\r\n\r\n", a.head).into_bytes();
        bytes.extend_from_slice(&a.wire);
        bytes
    })
}

fn crawler(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_solo-crawl"));
    c.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

fn run_ok(args: &[&str]) {
    let out = crawler(args).output().unwrap();
    assert!(
        out.status.success(),
        "solo-crawl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn warcio_reads_back_every_exchange_byte_for_byte() {
    let Some(bin) = warcio() else { return };
    let dir = scratch("bytes");
    let base = serve();
    let warc = dir.join("crawl.warc.gz");
    run_ok(&[
        "crawl",
        &format!("{base}/"),
        "--warc",
        warc.to_str().unwrap(),
        "--output",
        dir.join("pages.jsonl").to_str().unwrap(),
    ]);
    let files = warc_files(&dir, "crawl");
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with("crawl-00000.warc.gz"));
    let recs = read_back(&bin, &files);
    assert_eq!(recs[0].kind, "warcinfo");

    let fetched = [
        "/robots.txt",
        "/",
        "/gz",
        "/chunked",
        "/missing",
        "/moved",
        "/moved-here",
        "/same-a",
        "/same-b",
        "/from-gz",
        "/from-chunked",
    ];
    let mut answers: BTreeMap<String, Vec<&Rec>> = BTreeMap::new();
    for r in recs
        .iter()
        .filter(|r| r.kind == "response" || r.kind == "revisit")
    {
        answers.entry(r.uri.clone().unwrap()).or_default().push(r);
    }
    let expected: BTreeSet<String> = fetched.iter().map(|p| format!("{base}{p}")).collect();
    assert_eq!(
        answers.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "one answer record per URL fetched"
    );
    for (uri, rs) in &answers {
        assert_eq!(rs.len(), 1, "{uri}: {rs:?}");
    }
    // `warcio index` agrees: one response or revisit per URL.
    let index = Command::new(bin.join("warcio"))
        .arg("index")
        .arg(&files[0])
        .output()
        .unwrap();
    let index = String::from_utf8(index.stdout).unwrap();
    let answer_lines = index
        .lines()
        .filter(|l| l.contains("\"response\"") || l.contains("\"revisit\""))
        .count();
    assert_eq!(answer_lines, fetched.len(), "{index}");

    let by_id: BTreeMap<&str, &Rec> = recs.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut revisits = 0;
    for path in fetched {
        let uri = format!("{base}{path}");
        let r = answers[&uri][0];
        let a = answer(path);
        // Linked both ways to its request record, which holds what was sent.
        let req = by_id[r.concurrent_to.as_deref().unwrap()];
        assert_eq!(req.kind, "request");
        assert_eq!(req.concurrent_to.as_deref(), Some(r.id.as_str()));
        assert!(
            req.payload().is_empty()
                && req
                    .head
                    .as_deref()
                    .unwrap()
                    .starts_with(&format!("GET {path} HTTP/1.1\r\n")),
            "{req:?}"
        );
        assert_eq!(r.ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(r.protocol.as_deref(), Some("http/1.1"));
        assert_eq!(req.protocol.as_deref(), Some("http/1.1"));
        assert_eq!(r.truncated, None);
        // The head as received (names' case and spacing kept), the
        // transfer encoding renamed since the body is de-chunked.
        let sent = a
            .head
            .replace("Transfer-Encoding", "X-Archive-Orig-Transfer-Encoding");
        let mut block = format!("{sent}\r\n\r\n").into_bytes();
        if r.kind == "response" {
            block.extend_from_slice(&a.body);
        }
        assert_eq!(
            String::from_utf8_lossy(&r.block()),
            String::from_utf8_lossy(&block),
            "{path}"
        );
        assert_eq!(r.block(), block, "{path}");
        if r.kind == "revisit" {
            // /same-a and /same-b have one body: whichever answered second
            // is a revisit of the other.
            let other = match path {
                "/same-a" => "/same-b",
                "/same-b" => "/same-a",
                _ => panic!("{path}: a revisit of no identical payload"),
            };
            assert_eq!(answers[&format!("{base}{other}")][0].kind, "response");
            assert_eq!(r.refers_to.as_deref(), Some(&*format!("{base}{other}")));
            assert!(r.payload.is_empty());
            revisits += 1;
        } else {
            assert_eq!(r.kind, "response", "{path}");
            assert_eq!(r.payload(), a.body, "{path}: the body as sent");
        }
    }
    assert_eq!(revisits, 1, "one of /same-a and /same-b");
    assert_eq!(
        answers[&format!("{base}/missing")][0].status.as_deref(),
        Some("404")
    );
    assert_eq!(
        answers[&format!("{base}/moved")][0].status.as_deref(),
        Some("301")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Bytes written to the WARC files so far.
/// `crawl URL --state DIR/state --output DIR/pages.jsonl --warc DIR/WARC`.
fn kept_crawl(url: &str, dir: &Path, warc: &str) -> Vec<String> {
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let (state, pages, warc) = (path("state"), path("pages.jsonl"), path(warc));
    let args = [
        "crawl", url, "--state", &state, "--output", &pages, "--warc", &warc,
    ];
    args.map(String::from).to_vec()
}

fn warc_bytes(dir: &Path) -> u64 {
    warc_files(dir, "crawl")
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum()
}

#[test]
fn killed_while_writing_every_record_reads_back_and_the_resumed_run_adds_files() {
    let Some(bin) = warcio() else { return };
    let dir = scratch("kill");
    let site = DemoSite::start(1500).unwrap();
    let mut args = kept_crawl(site.url().as_str(), &dir, "crawl.warc.gz");
    args.extend(["--warc-max-size", "200K", "--per-host", "8"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = crawler(&args).stderr(Stdio::null()).spawn().unwrap();
    let start = Instant::now();
    while warc_bytes(&dir) < 600 << 10 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the crawl ended before the kill"
        );
        assert!(start.elapsed() < Duration::from_secs(120), "no WARC output");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let killed = warc_files(&dir, "crawl");
    assert!(killed.len() >= 3, "rolled over at 200K: {killed:?}");
    let recs = read_back(&bin, &killed);
    let answers = recs.iter().filter(|r| r.kind == "response").count();
    assert!(answers > 10, "{answers} responses before the kill");

    let mut out = String::new();
    let mut resumed = crawler(&args).spawn().unwrap();
    resumed
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(resumed.wait().unwrap().success(), "{out}");
    let all = warc_files(&dir, "crawl");
    assert!(all.len() > killed.len(), "the resumed run wrote new files");
    assert_eq!(&all[..killed.len()], &killed[..], "and kept the old ones");
    for (i, f) in all.iter().enumerate() {
        assert!(f.ends_with(format!("crawl-{i:05}.warc.gz")), "{all:?}");
    }
    let new_recs = read_back(&bin, &all[killed.len()..]);
    assert_eq!(
        new_recs[0].kind, "warcinfo",
        "each file starts with warcinfo"
    );
    let archived: BTreeSet<String> = recs
        .iter()
        .chain(&new_recs)
        .filter(|r| r.kind == "response" || r.kind == "revisit")
        .filter_map(|r| Some(url::Url::parse(r.uri.as_deref()?).ok()?.path().to_owned()))
        .collect();
    let missing: Vec<String> = solo_crawl::demo_site::demo_reachable(1500)
        .difference(&archived)
        .cloned()
        .collect();
    assert!(
        missing.is_empty(),
        "every page archived across the two runs; missing {missing:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A crawl of `url` with `--state` and `--warc`, then a `--recrawl`:
/// the records of each run's file, read back.
fn crawl_and_recrawl(bin: &Path, dir: &Path, url: &str) -> (Vec<Rec>, Vec<Rec>) {
    crawl_and_recrawl_with(bin, dir, url, &[])
}

/// A crawl of `url` with its state in `dir`/state and its WARC files
/// named after `dir`/crawl.warc.gz.
fn kept_args(url: &str, dir: &Path) -> Vec<String> {
    let (state, warc) = (dir.join("state"), dir.join("crawl.warc.gz"));
    [
        "crawl",
        url,
        "--ignore-robots",
        "--state",
        state.to_str().unwrap(),
        "--warc",
        warc.to_str().unwrap(),
        "--output",
        "/dev/null",
    ]
    .map(str::to_owned)
    .into()
}

/// [`crawl_and_recrawl`] with more arguments.
fn crawl_and_recrawl_with(
    bin: &Path,
    dir: &Path,
    url: &str,
    more: &[&str],
) -> (Vec<Rec>, Vec<Rec>) {
    let kept = kept_args(url, dir);
    let kept: Vec<&str> = kept.iter().map(String::as_str).collect();
    let args = [&kept[..], more].concat();
    run_ok(&args);
    run_ok(&[&args[..], &["--recrawl"]].concat());
    let files = warc_files(dir, "crawl");
    assert_eq!(files.len(), 2, "one file per run: {files:?}");
    (read_back(bin, &files[..1]), read_back(bin, &files[1..]))
}

#[test]
fn a_recrawl_archives_its_304s_as_server_not_modified_revisits_with_or_without_a_reason() {
    let Some(bin) = warcio() else { return };
    let dir = scratch("recrawl");
    // Two pages with ETags; a conditional request that matches gets a 304
    // (for /b with no reason phrase, which is valid HTTP: the status
    // code says it, not the text).
    let base = common::blocking::serve(|req| {
        let (etag, body, reason) = match req.path.as_str() {
            "/" => ("\"home\"", "<a href=\"/b\">b</a>", " Not Modified"),
            "/b" => ("\"b\"", "<title>b</title>", ""),
            _ => return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
        };
        if req.header("if-none-match") == Some(etag) {
            return format!("HTTP/1.1 304{reason}\r\nETag: {etag}\r\n\r\n").into_bytes();
        }
        format!(
            "HTTP/1.1 200 OK\r\nETag: {etag}\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    });
    let url = format!("{base}/");
    let (first, second) = crawl_and_recrawl(&bin, &dir, &url);
    let answers = |recs: &[Rec]| -> BTreeMap<String, String> {
        recs.iter()
            .filter(|r| r.kind == "response" || r.kind == "revisit")
            .map(|r| (r.uri.clone().unwrap(), r.kind.clone()))
            .collect()
    };
    let both: BTreeSet<String> = [url.clone(), format!("{base}/b")].into();
    assert_eq!(
        answers(&first).keys().cloned().collect::<BTreeSet<_>>(),
        both
    );
    assert!(answers(&first).values().all(|k| k == "response"));
    assert_eq!(
        answers(&second).keys().cloned().collect::<BTreeSet<_>>(),
        both
    );
    for r in second.iter().filter(|r| r.kind == "revisit") {
        assert_eq!(r.status.as_deref(), Some("304"));
        assert!(r
            .profile
            .as_deref()
            .unwrap()
            .ends_with("/revisit/server-not-modified"));
        // Pointing at the capture it stands for: the first run's record.
        let original = first
            .iter()
            .find(|o| o.kind == "response" && o.uri == r.uri)
            .unwrap();
        assert_eq!(r.refers_to, r.uri);
        assert_eq!(r.refers_to_date.as_deref(), Some(original.date.as_str()));
        let req = second
            .iter()
            .find(|q| Some(&q.id) == r.concurrent_to.as_ref())
            .unwrap();
        assert!(req
            .head
            .as_deref()
            .unwrap()
            .to_ascii_lowercase()
            .contains("if-none-match: "));
    }
    assert_eq!(second.iter().filter(|r| r.kind == "revisit").count(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A crawl kept without `--warc`, recrawled with it: no WARC file of the
/// crawl holds its pages, so the pass asks for them whole (a 304 would be
/// a revisit of nothing) and archives them as responses. A 304 to a
/// request that asked nothing (a misconfigured cache) is archived as a
/// response as received, not as a revisit.
#[test]
fn a_recrawl_fetches_whole_the_pages_no_warc_holds_and_a_stray_304_is_a_response() {
    use std::sync::{Arc, Mutex};
    let Some(bin) = warcio() else { return };
    let dir = scratch("recrawl-first-warc");
    let asked: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
    let log = asked.clone();
    let base = common::blocking::serve(move |req| {
        let conditional = req.header("if-none-match").is_some();
        log.lock().unwrap().push((req.path.clone(), conditional));
        let (etag, body) = match req.path.as_str() {
            "/" => ("\"home\"", "<a href=\"/b\">b</a><a href=\"/stray\">s</a>"),
            "/b" => ("\"b\"", "<title>b</title>"),
            "/stray" => return b"HTTP/1.1 304 Not Modified\r\n\r\n".to_vec(),
            _ => return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
        };
        if req.header("if-none-match") == Some(etag) {
            return format!("HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\n\r\n").into_bytes();
        }
        format!(
            "HTTP/1.1 200 OK\r\nETag: {etag}\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    });
    let url = format!("{base}/");
    let state = dir.join("state");
    let state = state.to_str().unwrap();
    let first = [
        "crawl",
        &url,
        "--ignore-robots",
        "--state",
        state,
        "--output",
        "/dev/null",
    ];
    run_ok(&first);
    asked.lock().unwrap().clear();
    let warc = dir.join("crawl.warc.gz");
    run_ok(&[&first[..], &["--recrawl", "--warc", warc.to_str().unwrap()]].concat());
    let asked = std::mem::take(&mut *asked.lock().unwrap());
    assert!(asked.iter().all(|(_, c)| !c), "asked whole: {asked:?}");
    let recs = read_back(&bin, &warc_files(&dir, "crawl"));
    let answers: BTreeMap<String, (String, Option<String>)> = recs
        .iter()
        .filter(|r| r.kind != "request" && r.kind != "warcinfo")
        .map(|r| (r.uri.clone().unwrap(), (r.kind.clone(), r.status.clone())))
        .collect();
    let response = |status: &str| ("response".to_owned(), Some(status.to_owned()));
    let expected: BTreeMap<String, _> = [
        (url.clone(), response("200")),
        (format!("{base}/b"), response("200")),
        (format!("{base}/stray"), response("304")),
    ]
    .into();
    assert_eq!(answers, expected);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A gzip page small on the wire but over `--max-bytes` once decoded: the
/// page is refused (its error names `--max-bytes`, not a library call),
/// and its capture, every byte sent, is not marked `WARC-Truncated`.
#[test]
fn a_gzip_page_over_max_bytes_only_decoded_is_archived_whole_and_names_the_option() {
    let Some(bin) = warcio() else { return };
    let dir = scratch("decoded-over");
    let sent = gzip(&[b'a'; 300_000]);
    let wire = sent.clone();
    let base = common::blocking::serve(move |_| {
        let mut bytes = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            wire.len()
        )
        .into_bytes();
        bytes.extend_from_slice(&wire);
        bytes
    });
    let (url, out, warc) = (
        format!("{base}/"),
        dir.join("o.jsonl"),
        dir.join("w.warc.gz"),
    );
    let (out_s, warc_s) = (out.to_str().unwrap(), warc.to_str().unwrap());
    let args = [
        "crawl",
        &url,
        "--ignore-robots",
        "--max-bytes",
        "100K",
        "--depth",
        "0",
    ];
    let _ = crawler(&[&args[..], &["--warc", warc_s, "--output", out_s]].concat())
        .output()
        .unwrap();
    let record: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&out).unwrap().trim()).unwrap();
    let error = record["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("too_large"), "{record}");
    assert!(error.contains("--max-bytes"), "{error}");
    assert!(!error.contains("RequestBuilder"), "{error}");
    let recs = read_back(&bin, &warc_files(&dir, "w"));
    let page = recs.iter().find(|r| r.kind == "response").unwrap();
    assert_eq!(page.truncated, None, "{page:?}");
    assert!(page.payload() == sent, "the bytes sent, whole");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--warc NAME.WARC.GZ` is gzip as `.warc.gz` is; WARC options that
/// cannot apply are named in a warning.
#[test]
fn warc_suffixes_in_any_case_and_warc_options_that_cannot_apply_are_said() {
    let Some(bin) = warcio() else { return };
    let dir = scratch("upper");
    let url = format!("{}/", serve());
    let crawl = [
        "crawl",
        url.as_str(),
        "--depth",
        "0",
        "--output",
        "/dev/null",
    ];
    let warc = dir.join("CRAWL.WARC.GZ");
    let stderr = |more: &[&str]| {
        let out = crawler(&[&crawl[..], more].concat()).output().unwrap();
        assert!(out.status.success(), "{more:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let said = stderr(&["--warc", warc.to_str().unwrap()]);
    assert!(!said.contains("warning"), "{said}");
    let files = warc_files(&dir, "CRAWL");
    assert_eq!(
        files.len(),
        1,
        "{:?}",
        std::fs::read_dir(&dir).unwrap().collect::<Vec<_>>()
    );
    let head = std::fs::read(&files[0]).unwrap();
    assert_eq!(head[..2], [0x1f, 0x8b], "gzipped");
    assert!(read_back(&bin, &files).iter().any(|r| r.kind == "response"));

    for (more, named) in [
        (
            &["--warc-max-size", "1K"][..],
            "--warc-max-size has no effect without --warc",
        ),
        (
            &["--warc-gzip-level", "9"][..],
            "--warc-gzip-level has no effect without --warc",
        ),
        (
            &["--warc-keep-secrets"][..],
            "--warc-keep-secrets has no effect without --warc",
        ),
    ] {
        let said = stderr(more);
        assert!(
            said.contains(&format!("warning: {named}")),
            "{more:?}: {said}"
        );
    }
    let plain = dir.join("p.warc");
    let said = stderr(&["--warc", plain.to_str().unwrap(), "--warc-gzip-level", "9"]);
    assert!(
        said.contains("warning: --warc-gzip-level has no effect: --warc"),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// HTTP/2 (nginx over TLS): the exchanges are archived in their HTTP/1.1
/// form, as the IIPC's "WARC Extensions for HTTP/2" say and as pywb
/// replays them (an origin-form request line with `host` from
/// `:authority`, a `HTTP/1.1 200 OK` status line), marked
/// `WARC-Protocol: h2`; a recrawl's 304s are `server-not-modified`
/// revisits.
#[test]
fn http2_exchanges_are_archived_in_http1_form_and_their_304s_are_revisits() {
    let Some(bin) = warcio() else { return };
    let dir = scratch("h2");
    let html_dir = dir.join("ng/html");
    std::fs::create_dir_all(&html_dir).unwrap();
    let home = html("home", &["/a.html?q=1"]);
    let a = html("a", &[]).repeat(20);
    std::fs::write(html_dir.join("index.html"), &home).unwrap();
    std::fs::write(html_dir.join("a.html"), &a).unwrap();
    let (ca, cert, key) = common::tls::pki_pem(&["localhost"]);
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let Some(nginx) = common::nginx::start_h2(&dir.join("ng"), &cert, &key) else {
        return;
    };
    let base = format!("https://localhost:{}", nginx.port);
    let more = ["--ca-cert", ca_file.to_str().unwrap()];
    let (first, second) = crawl_and_recrawl_with(&bin, &dir, &format!("{base}/"), &more);
    let by_id = |recs: &[Rec], id: &str| recs.iter().find(|r| r.id == id).map(|r| r.head.clone());
    let mut seen = BTreeSet::new();
    for r in first.iter().filter(|r| r.kind == "response") {
        let uri = r.uri.clone().unwrap();
        let (target, file) = match uri.strip_prefix(&base).unwrap() {
            "/" => ("/", &home),
            "/a.html?q=1" => ("/a.html?q=1", &a),
            other => panic!("{other}"),
        };
        seen.insert(target);
        assert_eq!(r.protocol.as_deref(), Some("h2"), "{r:?}");
        let head = r.head.as_deref().unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        let mut body = Vec::new();
        match head.contains("content-encoding: gzip") {
            true => flate2::read::GzDecoder::new(&r.payload()[..])
                .read_to_end(&mut body)
                .map(drop)
                .unwrap(),
            false => body = r.payload(),
        }
        assert_eq!(&body, file, "{uri}");
        let req = by_id(&first, r.concurrent_to.as_deref().unwrap())
            .unwrap()
            .unwrap();
        assert!(
            req.starts_with(&format!("GET {target} HTTP/1.1\r\n")),
            "{req}"
        );
        let host = format!("host: localhost:{}\r\n", nginx.port);
        assert_eq!(req.matches(&host).count(), 1, "{req}");
    }
    assert_eq!(seen.len(), 2, "{first:?}");
    // The recrawl: nginx answers the conditional requests with 304s.
    let revisits: Vec<&Rec> = second.iter().filter(|r| r.kind == "revisit").collect();
    assert_eq!(revisits.len(), 2, "{second:?}");
    for r in revisits {
        assert_eq!(r.status.as_deref(), Some("304"));
        assert_eq!(r.protocol.as_deref(), Some("h2"));
        assert!(r
            .head
            .as_deref()
            .unwrap()
            .starts_with("HTTP/1.1 304 Not Modified\r\n"));
        assert!(r
            .profile
            .as_deref()
            .unwrap()
            .ends_with("/revisit/server-not-modified"));
    }
    drop(nginx);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A test site whose answers fail after their head, each connection
/// closed after one answer: a `Content-Length` over `--max-bytes 100K`,
/// a chunked body that passes it, a body cut by the server, one that
/// stalls past `--timeout`, a body that is not the gzip it says, and
/// `/flaky`: cut like `/cut` the first time, whole (`/whole`) after.
fn failing_site() -> String {
    use std::io::BufRead;
    let flaky_cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let flaky_cut = flaky_cut.clone();
            std::thread::spawn(move || {
                let mut reader = std::io::BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
                while line != "\r\n" {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                }
                let path = match path.as_str() {
                    "/flaky" if flaky_cut.swap(false, std::sync::atomic::Ordering::SeqCst) => {
                        "/cut"
                    }
                    "/flaky" => "/whole",
                    p => p,
                };
                let (head, parts, stall) = failing_answer(path);
                let _ = conn.write_all(head.as_bytes());
                for p in parts {
                    let _ = conn.write_all(&p);
                    std::thread::sleep(Duration::from_millis(20));
                }
                std::thread::sleep(stall);
            });
        }
    });
    base
}

/// [`failing_site`]'s answer to `path`: the head, the body's writes, and
/// how long to wait before closing.
fn failing_answer(path: &str) -> (String, Vec<Vec<u8>>, Duration) {
    let none = Duration::ZERO;
    let head = |fields: &str| format!("HTTP/1.1 200 OK\r\nConnection: close\r\n{fields}\r\n");
    match path {
        "/" => {
            let body = html(
                "home",
                &[
                    "/big",
                    "/chunked-big",
                    "/cut",
                    "/stall",
                    "/bad-gzip",
                    "/flaky",
                ],
            );
            let h = head(&format!(
                "Content-Type: text/html\r\nContent-Length: {}\r\n",
                body.len()
            ));
            (h, vec![body], none)
        }
        "/big" => (
            head("Content-Length: 5000000\r\n"),
            vec![vec![b'b'; 1000]],
            none,
        ),
        "/chunked-big" => {
            let chunk = [
                format!("{:x}\r\n", 30 << 10).into_bytes(),
                vec![b'c'; 30 << 10],
                b"\r\n".to_vec(),
            ];
            (
                head("Transfer-Encoding: chunked\r\n"),
                vec![chunk.concat(); 10],
                none,
            )
        }
        "/cut" => (
            head("Content-Length: 10000\r\n"),
            vec![vec![b'x'; 3000]],
            none,
        ),
        "/whole" => (
            head("Content-Length: 10000\r\n"),
            vec![vec![b'x'; 10000]],
            none,
        ),
        "/stall" => (
            head("Content-Length: 10000\r\n"),
            vec![vec![b's'; 2000]],
            Duration::from_secs(4),
        ),
        "/bad-gzip" => {
            let body = b"this is not gzip ".repeat(100);
            let h = head(&format!(
                "Content-Encoding: gzip\r\nContent-Length: {}\r\n",
                body.len()
            ));
            (h, body.chunks(500).map(<[u8]>::to_vec).collect(), none)
        }
        _ => (head("Content-Length: 0\r\n"), vec![], none),
    }
}

/// Exchanges that fail after the response head arrived are archived with
/// what was received, as Heritrix does: `WARC-Truncated: length` (over
/// `--max-bytes`: nothing read past a `Content-Length` over it, the
/// chunks received up to it), `disconnect`, `time`; a body that arrived
/// whole but is not the gzip it says is kept whole, untruncated. The page
/// records still report the errors. Only the last attempt of a retried
/// exchange is archived: a cut capture next to its retry's whole one (same
/// URL, same second) would be replayed as often as the whole one.
#[test]
fn exchanges_that_fail_after_the_head_are_archived_as_far_as_received() {
    let Some(bin) = warcio() else { return };
    let dir = scratch("failing");
    let base = failing_site();
    let (warc, pages) = (dir.join("f.warc.gz"), dir.join("pages.jsonl"));
    run_ok(&[
        "crawl",
        &format!("{base}/"),
        "--ignore-robots",
        "--max-bytes",
        "100K",
        "--timeout",
        "1",
        "--warc",
        warc.to_str().unwrap(),
        "--output",
        pages.to_str().unwrap(),
    ]);
    let recs = read_back(&bin, &warc_files(&dir, "f"));
    let answers = |path: &str| -> Vec<&Rec> {
        let uri = format!("{base}{path}");
        recs.iter()
            .filter(|r| r.kind == "response" && r.uri.as_deref() == Some(&uri))
            .collect()
    };
    let pages = std::fs::read_to_string(&pages).unwrap();
    let cases: [(&str, Option<&str>, &str); 5] = [
        ("/big", Some("length"), "too_large"),
        ("/chunked-big", Some("length"), "too_large"),
        ("/cut", Some("disconnect"), "io"),
        ("/stall", Some("time"), "timeout"),
        ("/bad-gzip", None, "invalid_response"),
    ];
    for (path, truncated, error) in cases {
        let rs = answers(path);
        // Retried failures (cut, stalled): their last attempt only.
        assert_eq!(rs.len(), 1, "{path}: one response record");
        let (_, parts, _) = failing_answer(path);
        let sent: Vec<u8> = parts.concat();
        for r in rs {
            assert_eq!(r.status.as_deref(), Some("200"), "{path}");
            assert_eq!(r.truncated.as_deref(), truncated, "{path}");
            let payload = r.payload();
            match path {
                "/big" => assert!(payload.is_empty(), "{path}: nothing read past the head"),
                "/chunked-big" => {
                    assert!(
                        !payload.is_empty() && payload.len() <= 100 << 10,
                        "{}",
                        payload.len()
                    );
                    assert!(payload.iter().all(|&b| b == b'c'));
                }
                _ => assert_eq!(payload, sent, "{path}: the bytes received"),
            }
        }
        let line = pages
            .lines()
            .find(|l| l.contains(&format!("\"{base}{path}\"")))
            .unwrap_or_else(|| panic!("{path}: no page record in {pages}"));
        assert!(line.contains(&format!("\"error\":\"{error}:")), "{line}");
    }
    // Cut, then whole on its retry: the whole capture alone.
    let flaky = answers("/flaky");
    assert_eq!(flaky.len(), 1, "/flaky: the retry's capture only");
    assert_eq!(
        (flaky[0].truncated.as_deref(), flaky[0].payload().len()),
        (None, 10000)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_payload_written_by_an_earlier_run_of_the_crawl_becomes_a_revisit() {
    let Some(bin) = warcio() else { return };
    let dir = scratch("earlier");
    // No validators: a recrawl gets every page again, the same bytes.
    let base = common::blocking::serve(|req| {
        let body = match req.path.as_str() {
            "/" => "<a href=\"/b\">b</a>",
            "/b" => "<title>b</title>",
            _ => return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
        };
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    });
    let url = format!("{base}/");
    let (first, second) = crawl_and_recrawl(&bin, &dir, &url);
    let kinds = |recs: &[Rec], kind: &str| -> BTreeSet<String> {
        recs.iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.uri.clone().unwrap())
            .collect()
    };
    let both: BTreeSet<String> = [url.clone(), format!("{base}/b")].into();
    assert_eq!(kinds(&first, "response"), both);
    assert_eq!(kinds(&second, "revisit"), both, "{second:?}");
    assert!(kinds(&second, "response").is_empty());
    for r in second.iter().filter(|r| r.kind == "revisit") {
        assert!(r
            .profile
            .as_deref()
            .unwrap()
            .ends_with("/revisit/identical-payload-digest"));
        assert_eq!(r.refers_to, r.uri, "the first run's record of the page");
        assert_eq!(r.status.as_deref(), Some("200"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The crawl's credentials (a URL's user and password, sent as
/// `Authorization: Basic`) are masked in `request` records unless
/// `--warc-keep-secrets`; the files stay valid either way.
#[test]
fn credentials_are_masked_in_request_records_unless_kept() {
    let Some(bin) = warcio() else { return };
    let dir = scratch("secrets");
    let base = common::blocking::serve(|_| {
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok".to_vec()
    });
    let url = base.replace("http://", "http://alice:s3cretpw@") + "/";
    let sent = "YWxpY2U6czNjcmV0cHc="; // alice:s3cretpw
    for (stem, keep) in [("masked", false), ("kept", true)] {
        let warc = dir.join(format!("{stem}.warc.gz"));
        let mut args = vec!["crawl", &url, "--ignore-robots", "--max-pages", "1"];
        let warc_arg = warc.to_str().unwrap();
        args.extend(["--warc", warc_arg]);
        if keep {
            args.push("--warc-keep-secrets");
        }
        run_ok(&args);
        let recs = read_back(&bin, &warc_files(&dir, stem));
        let request = recs.iter().find(|r| r.kind == "request").unwrap();
        let block = String::from_utf8_lossy(&request.block()).into_owned();
        let header = block
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
            .unwrap_or_else(|| panic!("no Authorization line: {block}"))
            .to_owned();
        match keep {
            false => assert_eq!(header, "authorization: Basic ***", "{block}"),
            true => assert!(header.ends_with(sent), "{block}"),
        }
        let all: Vec<u8> = warc_files(&dir, stem)
            .iter()
            .flat_map(|f| std::fs::read(f).unwrap())
            .collect();
        let mut text = Vec::new();
        flate2::read::MultiGzDecoder::new(&all[..])
            .read_to_end(&mut text)
            .unwrap();
        let text = String::from_utf8_lossy(&text);
        assert_eq!(text.contains(sent), keep, "{stem}");
        assert!(
            !text.contains("s3cretpw"),
            "{stem}: the warcinfo masks the URL"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A site of 60 pages of 64 KB each, linked from `/`.
fn big_pages() -> String {
    common::blocking::serve(|req| {
        let (ctype, body) = match req.path.as_str() {
            "/" => {
                let links: Vec<String> = (0..60).map(|i| format!("/p/{i}")).collect();
                let links: Vec<&str> = links.iter().map(String::as_str).collect();
                ("text/html", html("home", &links))
            }
            p => (
                "text/plain",
                p.repeat(64 << 10).into_bytes()[..64 << 10].to_vec(),
            ),
        };
        let mut bytes = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        bytes.extend_from_slice(&body);
        bytes
    })
}

/// The records of a plain (not gzipped) WARC file, walked by their
/// `Content-Length`: how many, or where the walk found no whole record.
fn whole_records(file: &[u8]) -> Result<usize, String> {
    let mut at = 0;
    let mut n = 0;
    while at < file.len() {
        let rest = &file[at..];
        let end = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or(format!("record {n} at {at}: no end of header"))?;
        let head = String::from_utf8_lossy(&rest[..end]);
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|v| v.trim().parse().ok())
            .ok_or(format!("record {n} at {at}: no Content-Length"))?;
        let next = end + 4 + len + 4;
        if rest.len() < next || &rest[next - 4..next] != b"\r\n\r\n" {
            return Err(format!(
                "record {n} at {at}: torn ({len} bytes of block said, {} in the file)",
                rest.len() - end - 4
            ));
        }
        at += next;
        n += 1;
    }
    Ok(n)
}

/// A WARC file that cannot grow (here the file size limit, `ulimit -f`,
/// as a full disk would) stops the crawl with an error that names that
/// WARC file, not the record output (which is fine), and says what to do;
/// the file is cut back to its last whole record (no torn record that
/// readers would take for a capture); the same command then resumes,
/// each page once in the output.
#[test]
fn a_warc_file_that_cannot_grow_is_named_alone_in_the_error_and_left_whole() {
    let dir = scratch("full");
    let args = kept_crawl(&(big_pages() + "/"), &dir, "crawl.warc");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // No `trap '' XFSZ`: the binary does not die of SIGXFSZ (it did,
    // silently, exit 153); a write past the limit fails with EFBIG. The
    // limit, 2 MiB, is above one write of the writer's queue (at most
    // 1 MiB and a record): a failed write is cut back whole, and with a
    // 1 MiB limit the first write alone could pass it on a busy machine,
    // leaving an empty file (whole, but showing nothing).
    let limited = format!(
        "ulimit -f 2048; exec {} {}",
        env!("CARGO_BIN_EXE_solo-crawl"),
        args.join(" ")
    );
    let o = Command::new("bash")
        .args(["-c", &limited])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let first = dir.join("crawl-00000.warc");
    assert!(
        err.contains(&format!("writing WARC file {} failed", first.display())),
        "names the WARC file: {err}"
    );
    assert!(!err.contains("pages.jsonl"), "not the output: {err}");
    assert!(
        err.contains("File too large") && err.contains("rerun the same command to resume"),
        "says what to do: {err}"
    );
    let left = std::fs::read(&first).unwrap();
    assert!(left.len() < 2 << 20, "{}", left.len());
    let records = whole_records(&left).unwrap();
    assert!(
        records > 1,
        "{records} records, {} bytes: {err}",
        left.len()
    );
    run_ok(&args);
    let text = std::fs::read_to_string(dir.join("pages.jsonl")).unwrap();
    let urls: BTreeSet<&str> = text.lines().map(|l| l.split('"').nth(3).unwrap()).collect();
    assert_eq!((text.lines().count(), urls.len()), (61, 61), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run that fetches nothing (a finished `--state` crawl run again)
/// leaves no file holding only a `warcinfo`: a file starts with the first
/// exchange. A missing directory is still an error before the crawl.
#[test]
fn a_run_that_fetches_nothing_writes_no_warc_file() {
    let dir = scratch("nothing");
    let base = common::blocking::serve(|_| {
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok".to_vec()
    });
    let args = kept_crawl(&format!("{base}/"), &dir, "crawl.warc.gz");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_ok(&args);
    run_ok(&args);
    let files = warc_files(&dir, "crawl");
    assert_eq!(files.len(), 1, "{files:?}");
    let missing = dir.join("nodir/x.warc.gz");
    let out = crawler(&[
        "crawl",
        &format!("{base}/"),
        "--warc",
        missing.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("x-00000.warc.gz: its directory does not exist (check --warc)"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// With `--state`, every run of a crawl writes WARC files numbered past
/// those of its earlier runs, even when the archivist moved them out of
/// the directory (to storage) in between: a second `crawl-00000.warc.gz`
/// would replace the first in the collection. Before, numbering started
/// over from what the directory held.
#[test]
fn a_crawls_warc_numbers_go_on_when_earlier_files_were_moved_away() {
    let url = format!("{}/", serve());
    let dir = scratch("numbers");
    let kept = kept_args(&url, &dir);
    let args: Vec<&str> = kept.iter().map(String::as_str).collect();
    run_ok(&args);
    let stored = dir.join("uploaded");
    std::fs::create_dir_all(&stored).unwrap();
    for f in warc_files(&dir, "crawl") {
        std::fs::rename(&f, stored.join(f.file_name().unwrap())).unwrap();
    }
    let first: Vec<String> = std::fs::read_dir(&stored)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(first, ["crawl-00000.warc.gz"]);
    run_ok(&[&args[..], &["--recrawl"]].concat());
    let second = warc_files(&dir, "crawl");
    assert_eq!(second.len(), 1, "{second:?}");
    assert!(second[0].ends_with("crawl-00001.warc.gz"), "{second:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
