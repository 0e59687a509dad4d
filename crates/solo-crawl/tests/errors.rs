//! Errors that are not about one page name their object (the path) and
//! say what to do, on one line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use solo_crawl::demo_site::DemoSite;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("solo-crawl-errors-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The `solo-crawl: ...` error lines of a run.
fn error_lines(o: &Output) -> Vec<String> {
    stderr(o)
        .lines()
        .filter(|l| l.starts_with("solo-crawl: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn an_output_that_cannot_be_opened_is_named() {
    let site = DemoSite::start(5).unwrap();
    let url = site.url().to_string();
    let dir = temp_dir("output");
    let missing = dir.join("no/such/dir/x.jsonl");
    for (path, hint) in [
        (missing.as_path(), "create its directory"),
        (dir.as_path(), "not a directory"),
    ] {
        let o = bin()
            .args(["crawl", &url, "--output", path.to_str().unwrap()])
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains(path.to_str().unwrap()), "{err}");
        assert!(err.contains(hint), "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_state_db_of_another_program_is_one_clear_line() {
    let site = DemoSite::start(5).unwrap();
    let dir = temp_dir("foreign");
    {
        let db = rusqlite::Connection::open(dir.join("state.sqlite")).unwrap();
        db.execute_batch(
            "CREATE TABLE requests (url TEXT, fetched_at TEXT);
             INSERT INTO requests VALUES ('http://x/', 'yesterday');",
        )
        .unwrap();
    }
    let o = bin()
        .args([
            "crawl",
            site.url().as_str(),
            "--state",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(dir.to_str().unwrap()), "{err}");
    assert!(err.contains("another directory"), "{err}");
    assert!(!err.contains("CREATE"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs a crawl of `url` with its files limited to `kib` KiB (as a full
/// disk would stop them: writes fail; the binary ignores SIGXFSZ
/// itself).
fn crawl_with_file_limit(url: &str, state: &Path, kib: u32) -> Output {
    let script = format!(
        "ulimit -f {}; exec \"$0\" \"$@\"",
        kib * 2 // 512-byte blocks (POSIX sh)
    );
    Command::new("sh")
        .args(["-c", &script, env!("CARGO_BIN_EXE_solo-crawl")])
        .args([
            "crawl",
            url,
            "--ignore-robots",
            "--state",
            state.to_str().unwrap(),
        ])
        .output()
        .unwrap()
}

#[test]
fn a_full_disk_under_state_is_a_state_error_naming_the_directory() {
    let site = DemoSite::start(3000).unwrap();
    // 96 KiB: the disk fills while the state database is being set up;
    // 192 KiB: while the crawl runs (the writer thread's checkpoints).
    for kib in [96, 192] {
        let dir = temp_dir("full");
        let o = crawl_with_file_limit(site.url().as_str(), &dir, kib);
        let errs = error_lines(&o);
        assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
        let e = errs.last().unwrap_or_else(|| panic!("{}", stderr(&o)));
        assert!(e.starts_with("solo-crawl: state: "), "{kib} KiB: {e}");
        assert!(e.contains(dir.to_str().unwrap()), "{kib} KiB: {e}");
        assert!(
            e.contains("rerun the same command to resume"),
            "{kib} KiB: {e}"
        );
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
