//! The `--state` directory: one crawl at a time (a lock that a SIGKILL
//! releases), and damaged state is reported, not silently dropped or
//! restarted, unless `--state-reset` asks to start over.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use solo_crawl::demo_site::DemoSite;

fn crawler(args: &[String]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_solo-crawl"));
    c.args(args);
    c
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch directory, and `crawl URL --state DIR/state --output
/// DIR/pages.jsonl` plus `extra`.
fn setup(name: &str, site: &DemoSite, extra: &[&str]) -> (PathBuf, Vec<String>) {
    let dir = std::env::temp_dir().join(format!("solo-crawl-state-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut args: Vec<String> = vec![
        "crawl".into(),
        site.url().to_string(),
        "--state".into(),
        dir.join("state").to_str().unwrap().into(),
        "--output".into(),
        dir.join("pages.jsonl").to_str().unwrap().into(),
        "--per-host".into(),
        "4".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    (dir, args)
}

fn lines(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// Waits until `out` has `n` lines (panics if the child exits first).
fn wait_for_lines(child: &mut Child, out: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while lines(out) < n {
        assert!(child.try_wait().unwrap().is_none(), "the crawl ended early");
        assert!(Instant::now() < deadline, "the crawl made no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs the crawl until `out` has `n` lines, then stops it with Ctrl-C
/// (SIGINT): its state is closed cleanly, checkpointed into state.sqlite.
fn interrupt_at(args: &[String], out: &Path, n: usize) {
    let mut child = crawler(args).stderr(Stdio::null()).spawn().unwrap();
    wait_for_lines(&mut child, out, n);
    let int = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(int.success());
    assert_eq!(child.wait().unwrap().code(), Some(130));
}

/// Runs to the end; the output.
fn finish(args: &[String]) -> Output {
    crawler(args).output().unwrap()
}

#[test]
fn a_second_crawl_on_the_same_state_is_refused_and_sigkill_frees_it() {
    let site = DemoSite::start(200).unwrap();
    let (dir, args) = setup("lock", &site, &["--delay", "50"]);
    let out = dir.join("pages.jsonl");
    let mut first = crawler(&args).stderr(Stdio::null()).spawn().unwrap();
    wait_for_lines(&mut first, &out, 3);
    let second = finish(&args);
    let err = stderr(&second);
    assert_eq!(second.status.code(), Some(1), "{err}");
    assert!(err.contains("in use"), "{err}");
    assert!(err.contains(&format!("pid {}", first.id())), "{err}");
    assert!(err.contains(dir.join("state").to_str().unwrap()), "{err}");
    // The first crawl is not disturbed.
    assert!(first.try_wait().unwrap().is_none());
    let before = lines(&out);
    std::thread::sleep(Duration::from_millis(300));
    assert!(lines(&out) > before, "the first crawl goes on");
    // A SIGKILL leaves no stale lock: the next run resumes.
    first.kill().unwrap();
    first.wait().unwrap();
    let mut third = crawler(&args).stderr(Stdio::piped()).spawn().unwrap();
    let n = lines(&out);
    wait_for_lines(&mut third, &out, n + 3);
    third.kill().unwrap();
    third.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A crawl of at most 300 pages stopped by Ctrl-C after 30, then `damage`
/// done to its scratch directory (`state/`, `pages.jsonl`); the rerun
/// must fail naming `file` (in the scratch directory) and saying `what`,
/// without writing anything, and `--state-reset` starts over.
fn damaged(name: &str, damage: impl FnOnce(&Path), file: &str, what: &str) {
    let site = DemoSite::start(2000).unwrap();
    let (dir, mut args) = setup(name, &site, &["--max-pages", "300"]);
    let out = dir.join("pages.jsonl");
    interrupt_at(&args, &out, 30);
    damage(&dir);
    let before = lines(&out);
    let o = finish(&args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{name}: {err}");
    assert!(
        err.contains(dir.join(file).to_str().unwrap()),
        "{name}: names {file}: {err}"
    );
    assert!(err.contains(what), "{name}: says {what:?}: {err}");
    assert!(
        err.contains("--state-reset"),
        "{name}: says what to do: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(lines(&out), before, "{name}: nothing written");
    // Starting over on request: a new crawl of 300 pages.
    args.push("--state-reset".into());
    let o = finish(&args);
    assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
    // (+1: the newline that ends a partial last line.)
    let after = lines(&out);
    assert!(after == before + 300 || after == before + 301, "{after}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn sql(dir: &Path, statement: &str) {
    let db = rusqlite::Connection::open(dir.join("state/state.sqlite")).unwrap();
    db.execute_batch(statement).unwrap();
}

#[test]
fn undecodable_requests_are_an_error() {
    damaged(
        "decode",
        |s| {
            sql(
                s,
                "UPDATE requests SET data = '{\"nope\":1}' WHERE data IS NOT NULL",
            )
        },
        "state/state.sqlite",
        "cannot be read",
    );
}

#[test]
fn an_undecodable_cookie_is_an_error() {
    damaged(
        "cookie",
        |s| {
            sql(
                s,
                "INSERT INTO cookies (key, state) VALUES ('[null,\"a.test\",\"/\",\"k\"]', 'nope')",
            )
        },
        "state/state.sqlite",
        "a stored cookie cannot be read",
    );
}

#[test]
fn a_truncated_database_is_an_error() {
    damaged(
        "trunc",
        |s| {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(s.join("state/state.sqlite"))
                .unwrap();
            f.set_len(0).unwrap();
        },
        "state/state.sqlite",
        "lost",
    );
}

#[test]
fn an_output_shorter_than_its_checkpoint_is_an_error() {
    damaged(
        "short",
        |s| {
            let out = s.join("pages.jsonl");
            let len = std::fs::metadata(&out).unwrap().len();
            let f = std::fs::OpenOptions::new().write(true).open(&out).unwrap();
            f.set_len(len / 2).unwrap();
        },
        "pages.jsonl",
        "truncated",
    );
}

#[test]
fn a_lost_write_ahead_log_is_an_error() {
    let site = DemoSite::start(2000).unwrap();
    let (dir, args) = setup("wal", &site, &[]);
    let out = dir.join("pages.jsonl");
    let state = dir.join("state");
    interrupt_at(&args, &out, 20);
    // The resumed crawl commits into the WAL; killed soon, before SQLite
    // checkpoints it.
    let n = lines(&out);
    let mut child = crawler(&args).stderr(Stdio::null()).spawn().unwrap();
    wait_for_lines(&mut child, &out, n + 20);
    child.kill().unwrap();
    child.wait().unwrap();
    let wal = state.join("state.sqlite-wal");
    assert!(std::fs::metadata(&wal).unwrap().len() > 0);
    std::fs::remove_file(&wal).unwrap();
    let _ = std::fs::remove_file(state.join("state.sqlite-shm"));
    let o = finish(&args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(state.join("state.sqlite").to_str().unwrap()),
        "{err}"
    );
    assert!(err.contains("lost"), "{err}");
    assert!(err.contains("--state-reset"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The URLs of the page records in `path`, each once (a duplicate fails).
fn crawled_once(path: &Path) -> std::collections::BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut urls = std::collections::BTreeSet::new();
    for line in text.lines() {
        let rec: serde_json::Value = serde_json::from_str(line).unwrap();
        let url = rec["url"].as_str().unwrap().to_owned();
        assert!(urls.insert(url.clone()), "{url} crawled twice");
    }
    urls
}

/// A crawl stopped by its page budget keeps the rest in its state: the
/// same command again says so (no "failed" start URL) and crawls nothing;
/// with a larger --max-pages (and --force) it goes on where it stopped,
/// each page once, until the site is done.
#[test]
fn a_larger_max_pages_goes_on_where_the_budget_stopped() {
    let site = DemoSite::start(120).unwrap();
    let (dir, args) = setup("budget", &site, &[]);
    let out = dir.join("pages.jsonl");
    let with = |extra: &[&str]| -> Output {
        let mut a = args.clone();
        a.extend(extra.iter().map(|s| s.to_string()));
        let o = finish(&a);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        o
    };
    with(&["--max-pages", "20"]);
    assert_eq!(crawled_once(&out).len(), 20);
    let again = with(&["--max-pages", "20"]);
    let err = stderr(&again);
    assert!(err.contains("raise --max-pages"), "{err}");
    assert!(!err.contains("failed"), "{err}");
    assert_eq!(crawled_once(&out).len(), 20);
    with(&["--max-pages", "60", "--force"]);
    assert_eq!(crawled_once(&out).len(), 60);
    with(&["--max-pages", "100000", "--force"]);
    // Every page of the site, as one crawl without a budget finds them.
    let whole = dir.join("whole.jsonl");
    let o = finish(&[
        "crawl".to_string(),
        site.url().to_string(),
        "--output".into(),
        whole.to_str().unwrap().into(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(crawled_once(&out), crawled_once(&whole));
    // Finished now: the same command says so.
    let done = with(&["--max-pages", "100000", "--force"]);
    assert!(stderr(&done).contains("is finished"), "{}", stderr(&done));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A crawl stopped by its page budget and resumed with `--force` and a
/// narrower scope (a new `--deny`, a smaller `--depth`): what it had
/// queued under the old settings is checked again and the new settings
/// hold for every page the resumed run writes (the operator's way out of
/// a crawler trap found mid-crawl).
#[test]
fn a_forced_resume_with_a_narrower_scope_drops_what_the_new_one_refuses() {
    let site = DemoSite::start(300).unwrap();
    let (dir, args) = setup("narrower", &site, &[]);
    let run = |extra: &[&str]| -> Output {
        let mut a = args.clone();
        a.extend(extra.iter().map(|s| s.to_string()));
        let o = finish(&a);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        o
    };
    run(&["--max-pages", "30"]);
    let first = crawled_once(&dir.join("pages.jsonl"));
    assert_eq!(first.len(), 30);
    let later = with_output(&args, "later.jsonl");
    let mut a = later.clone();
    a.extend(
        [
            "--max-pages",
            "100000",
            "--force",
            "--depth",
            "4",
            "--deny",
            "/page/[0-9]*7$",
        ]
        .map(String::from),
    );
    let o = finish(&a);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(dir.join("later.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!records.is_empty(), "{}", stderr(&o));
    for r in &records {
        let url = r["url"].as_str().unwrap();
        assert!(r["depth"].as_u64().unwrap() <= 4, "too deep: {r}");
        let denied = url
            .rsplit('/')
            .next()
            .is_some_and(|last| last.ends_with('7') && url.contains("/page/"));
        assert!(!denied, "denied by the new --deny: {url}");
        assert!(!first.contains(url), "{url} crawled twice");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Crawling in slices: a slice's output is moved away (handed on) and
/// the next slice, the same command, starts that file afresh and goes on
/// where the crawl stopped; no page is in both files.
#[test]
fn a_slice_whose_output_was_moved_away_goes_on_into_a_new_file() {
    let site = DemoSite::start(100).unwrap();
    let (dir, args) = setup("slices", &site, &[]);
    let out = dir.join("pages.jsonl");
    let slice = |pages: &str| {
        let mut a = args.clone();
        a.extend(["--max-pages", pages, "--force"].map(String::from));
        let o = finish(&a);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        o
    };
    slice("20");
    let day1 = dir.join("day1.jsonl");
    std::fs::rename(&out, &day1).unwrap();
    let o = slice("45");
    assert!(
        stderr(&o).contains("is gone (moved away or deleted)"),
        "{}",
        stderr(&o)
    );
    let (a, b) = (crawled_once(&day1), crawled_once(&out));
    assert_eq!((a.len(), b.len()), (20, 25));
    assert!(a.is_disjoint(&b), "a page in both slices");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `args` with the output `dir/pages.jsonl` replaced by `dir/name`.
fn with_output(args: &[String], name: &str) -> Vec<String> {
    let swap = |a: &String| a.replace("pages.jsonl", name);
    args.iter().map(swap).collect()
}

/// Records written after the last checkpoint (as a SIGKILL leaves them)
/// in an output the resumed run no longer writes to are cut, and it says
/// so; an earlier output changed since is left as it is, with a warning.
#[test]
fn an_earlier_output_is_cut_back_to_its_checkpoint_when_output_changes() {
    let site = DemoSite::start(2000).unwrap();
    let (dir, args) = setup("switch", &site, &[]);
    let first = dir.join("pages.jsonl");
    interrupt_at(&args, &first, 30);
    let committed = std::fs::read(&first).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&first)
        .unwrap();
    std::io::Write::write_all(
        &mut f,
        b"{\"url\":\"uncommitted 1\"}\n{\"url\":\"uncommitted 2\"}\n",
    )
    .unwrap();
    drop(f);

    let second = dir.join("second.jsonl");
    let args2 = with_output(&args, "second.jsonl");
    let mut child = crawler(&args2).stderr(Stdio::piped()).spawn().unwrap();
    wait_for_lines(&mut child, &second, 30);
    let int = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(int.success());
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert_eq!(std::fs::read(&first).unwrap(), committed, "cut back: {err}");
    assert!(
        err.contains(&format!(
            "{}, the output of an earlier run",
            first.canonicalize().unwrap().display()
        )) && err.contains("held 2 records written after its last checkpoint"),
        "says so: {err}"
    );

    // Changed since (here: cut short by hand): not touched.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&second)
        .unwrap();
    f.set_len(10).unwrap();
    drop(f);
    let o = finish(&with_output(&args, "third.jsonl"));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("changed since") && err.contains("left as it is"),
        "{err}"
    );
    assert_eq!(std::fs::metadata(&second).unwrap().len(), 10);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The state keeps pending requests with their credentials and the
/// jars' session cookies: its directory and database are the owner's
/// alone (they were 0755 and 0644, readable by any local user), whatever
/// the umask.
#[test]
fn the_state_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let site = DemoSite::start(20).unwrap();
    let (dir, args) = setup("private", &site, &["--max-pages", "5"]);
    let o = finish(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let state = dir.join("state");
    assert_eq!(mode(&state), 0o700);
    for f in ["state.sqlite", "state.sqlite-wal"] {
        let p = state.join(f);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{f}");
        }
    }
    assert!(state.join("state.sqlite").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
