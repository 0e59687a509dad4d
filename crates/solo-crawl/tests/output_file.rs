//! `--output`: a file that already holds data keeps every byte of it (the
//! crawl only appends), and outputs that are not regular files work —
//! `/dev/null`, `/dev/stdout` into a pipe, a FIFO, and `-` for stdout.

use std::path::PathBuf;
use std::process::{Command, Output};

use solo_crawl::demo_site::DemoSite;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("solo-crawl-out-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Crawls the start page of `site` only, writing to `output`.
fn crawl_one(site: &DemoSite, output: &str, extra: &[&str]) -> Output {
    let url = site.url().to_string();
    let args = [
        &["crawl", &url, "--depth", "0", "--output", output][..],
        extra,
    ]
    .concat();
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    o
}

/// The JSON records in `text`, each on a line of its own.
fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

#[test]
fn existing_data_is_never_cut() {
    let site = DemoSite::start(10).unwrap();
    let dir = scratch("keep");
    // Text without a newline: kept, and the record starts on a line of
    // its own.
    let f = dir.join("f.txt");
    std::fs::write(&f, "no newline at all").unwrap();
    crawl_one(&site, f.to_str().unwrap(), &[]);
    let text = std::fs::read_to_string(&f).unwrap();
    let (old, new) = text.split_once('\n').unwrap();
    assert_eq!(old, "no newline at all");
    assert_eq!(json_lines(new).len(), 1, "{text:?}");

    // 1 MB of binary data without a newline: every byte kept.
    let bin = dir.join("f.bin");
    let data: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8 | 0x80).collect();
    assert!(!data.contains(&b'\n'));
    std::fs::write(&bin, &data).unwrap();
    crawl_one(&site, bin.to_str().unwrap(), &[]);
    let after = std::fs::read(&bin).unwrap();
    assert!(after.len() > data.len(), "{} bytes", after.len());
    assert!(after.starts_with(&data), "the old bytes are intact");

    // A JSON Lines file whose last line is partial (e.g. a crawl killed
    // without --state): kept as it is, new records after it.
    let jl = dir.join("f.jsonl");
    let partial = "{\"url\":\"http://old/\"}\n{\"url\":\"http://cut";
    std::fs::write(&jl, partial).unwrap();
    crawl_one(&site, jl.to_str().unwrap(), &[]);
    let text = std::fs::read_to_string(&jl).unwrap();
    assert!(text.starts_with(&format!("{partial}\n")), "{text:?}");
    assert_eq!(json_lines(&text[partial.len() + 1..]).len(), 1);

    // CSV appended to a file with data: no second header.
    let csv = dir.join("f.csv");
    std::fs::write(&csv, "mine,not yours").unwrap();
    crawl_one(&site, csv.to_str().unwrap(), &["--format", "csv"]);
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("mine,not yours"));
    assert!(lines.next().unwrap().starts_with("http://"), "{text:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn output_to_dev_null_stdout_dash_and_a_fifo() {
    let site = DemoSite::start(10).unwrap();
    crawl_one(&site, "/dev/null", &[]);
    // The test's pipe is the child's stdout.
    for out in ["/dev/stdout", "-"] {
        let o = crawl_one(&site, out, &["--format", "csv"]);
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.starts_with("url,final_url,"), "{out}: {text:?}");
        assert_eq!(text.lines().count(), 2, "{out}: {text:?}");
    }
    // A FIFO, read by a thread.
    let dir = scratch("fifo");
    let fifo = dir.join("pages.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    crawl_one(&site, fifo.to_str().unwrap(), &[]);
    let text = reader.join().unwrap();
    assert_eq!(json_lines(&text).len(), 1, "{text:?}");
    // Also with --state (nothing to cut back in a FIFO).
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let state = dir.join("state");
    crawl_one(
        &site,
        fifo.to_str().unwrap(),
        &["--state", state.to_str().unwrap()],
    );
    assert_eq!(json_lines(&reader.join().unwrap()).len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Resuming (or rerunning) with another `--format` into a file that holds
/// records in the other one is refused before anything is written,
/// saying what the file holds and the ways out; an empty file takes
/// either format.
#[test]
fn another_format_into_a_file_that_holds_records_is_refused() {
    let site = DemoSite::start(10).unwrap();
    let dir = scratch("format");
    let url = site.url().to_string();
    let refused = |out: &PathBuf, extra: &[&str], says: &[&str]| {
        let before = std::fs::read(out).unwrap();
        let args = [
            &["crawl", &url, "--output", out.to_str().unwrap()][..],
            extra,
        ]
        .concat();
        let o = run(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(out.to_str().unwrap()), "names the file: {err}");
        for s in says {
            assert!(err.contains(s), "says {s:?}: {err}");
        }
        assert!(err.contains("another --output"), "{err}");
        assert_eq!(std::fs::read(out).unwrap(), before, "nothing written");
    };
    let jl = dir.join("pages.out");
    let state = dir.join("state");
    let o = run(&[
        "crawl",
        &url,
        "--output",
        jl.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--max-pages",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Resumed with more pages to crawl, in CSV.
    refused(
        &jl,
        &[
            "--state",
            state.to_str().unwrap(),
            "--max-pages",
            "6",
            "--force",
            "--format",
            "csv",
        ],
        &["holds JSON Lines", "--format csv", "--format jsonl"],
    );

    let csv = dir.join("pages.csv");
    crawl_one(&site, csv.to_str().unwrap(), &["--format", "csv"]);
    refused(
        &csv,
        &["--format", "jsonl"],
        &["not JSON", "\"url,final_url,", "--format csv"],
    );

    // An empty file: CSV with its header.
    let empty = dir.join("empty.out");
    std::fs::write(&empty, "").unwrap();
    crawl_one(&site, empty.to_str().unwrap(), &["--format", "csv"]);
    let text = std::fs::read_to_string(&empty).unwrap();
    assert!(text.starts_with("url,final_url,"), "{text:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Crawls `site` into `output` with the process's files limited to `kib`
/// KiB (`ulimit -f`: a write past it fails with EFBIG, as on a full
/// disk; the binary ignores SIGXFSZ itself). No tmpfs to fill is needed.
fn crawl_with_file_limit(site: &DemoSite, output: &std::path::Path, kib: u32) -> Output {
    let script = format!("ulimit -f {}; exec \"$0\" \"$@\"", kib * 2); // 512-byte blocks
    Command::new("sh")
        .args(["-c", &script, env!("CARGO_BIN_EXE_solo-crawl")])
        .args(["crawl", site.url().as_str(), "--ignore-robots", "--output"])
        .arg(output)
        .output()
        .unwrap()
}

/// A write of the record file that fails (the disk is full) cuts it back
/// to its last whole record before the crawl stops, as the WARC writer
/// does: without `--state` nothing else would, and a torn line in the
/// middle of a JSON Lines or CSV file (once another run appends) breaks
/// every reader of it.
#[test]
fn a_full_disk_leaves_no_torn_record_in_the_output() {
    let site = DemoSite::start(3000).unwrap();
    let dir = scratch("full");
    for (name, kib) in [("pages.jsonl", 48), ("pages.csv", 40)] {
        let out = dir.join(name);
        let o = crawl_with_file_limit(&site, &out, kib);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(out.to_str().unwrap()), "{name}: {err}");
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.len() > 1000, "{name}: records were written: {text:?}");
        assert!(text.ends_with('\n'), "{name}: ends in a torn record");
        if name.ends_with(".jsonl") {
            json_lines(&text);
            continue;
        }
        let mut rows = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let width = rows.headers().unwrap().len();
        for row in rows.records() {
            let row = row.unwrap();
            assert_eq!(row.len(), width, "{name}: a torn row: {row:?}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
