//! asyncio parity: every program of this folder is written twice, `NAME.py`
//! for CPython's asyncio (3.11 or newer, stdlib only) and `NAME.rs` for
//! solo, and both must print the same lines. Timings are printed as
//! ordering or as yes/no against generous bounds, never as figures.
//!
//! Where solo differs on purpose (or a known bug is not fixed yet), the
//! difference is in [`ALLOWED`]: the line asyncio prints, the line solo
//! prints instead, and the row of the "Differences from asyncio" table in
//! `docs/asyncio-to-solo.md` that explains it. Any other difference fails.
//!
//! `cargo test -p solo --test parity` runs every pair (a name given as an
//! argument runs only the programs whose name contains it); the solo twins
//! are this binary, run as `parity --run NAME`. Without a `python3` of 3.11
//! or newer the comparison is skipped, loudly (it fails instead when
//! `SOLO_PARITY_REQUIRE_PYTHON` is set, as `.ci/run` does).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

mod as_completed;
mod barrier;
mod call_order;
mod cancel;
mod done_callbacks;
mod gather;
mod producer_consumer;
mod root_spin;
mod sync_fairness;
mod task_group;
mod task_order;
mod timeouts;
mod to_thread;
mod to_thread_burst;
mod wait;

/// Every program: its name (`NAME.py`, `NAME.rs`) and its solo twin.
const PROGRAMS: &[(&str, fn())] = &[
    ("as_completed", as_completed::main),
    ("barrier", barrier::main),
    ("call_order", call_order::main),
    ("cancel", cancel::main),
    ("done_callbacks", done_callbacks::main),
    ("gather", gather::main),
    ("producer_consumer", producer_consumer::main),
    ("root_spin", root_spin::main),
    ("sync_fairness", sync_fairness::main),
    ("task_group", task_group::main),
    ("task_order", task_order::main),
    ("timeouts", timeouts::main),
    ("to_thread", to_thread::main),
    ("to_thread_burst", to_thread_burst::main),
    ("wait", wait::main),
];

/// Why a line may differ.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Status {
    /// A deliberate difference, explained in the guide.
    Documented,
    /// A bug (or semantics) being fixed elsewhere: the entry goes once the
    /// fix is merged; until then a matching line is only reported. None
    /// is pending today; kept for the next fix that lands in steps.
    #[allow(dead_code)]
    Pending(&'static str),
}

/// One allowed difference.
struct Allowed {
    program: &'static str,
    /// The line CPython's asyncio prints.
    asyncio: &'static str,
    /// The line solo prints instead.
    solo: &'static str,
    /// The row (`| Dn |`) of the guide's differences table.
    row: &'static str,
    status: Status,
}

const fn entry(
    program: &'static str,
    row: &'static str,
    status: Status,
    asyncio: &'static str,
    solo: &'static str,
) -> Allowed {
    Allowed {
        program,
        asyncio,
        solo,
        row,
        status,
    }
}

/// The guide whose differences table the entries point to.
const GUIDE: &str = "docs/asyncio-to-solo.md";

/// The allow-list: each entry names a row of the guide's table.
const ALLOWED: &[Allowed] = &[
    entry(
        "gather",
        "D1",
        Status::Documented,
        "slow ran to the end after the failure: True",
        "slow ran to the end after the failure: False",
    ),
    entry(
        "timeouts",
        "D2",
        Status::Documented,
        "timeout on a task, task cancelled: True",
        "timeout on a task, task cancelled: False",
    ),
    entry(
        "cancel",
        "D2",
        Status::Documented,
        "outer awaiting a plain handle cancelled; inner cancelled too: True",
        "outer awaiting a plain handle cancelled; inner cancelled too: False",
    ),
    entry(
        "timeouts",
        "D3",
        Status::Documented,
        "wait_for(ready, 0): TimeoutError",
        "wait_for(ready, 0): 7",
    ),
    entry(
        "done_callbacks",
        "D4",
        Status::Documented,
        "order: cb1 awaiter cb2",
        "order: cb1 cb2 awaiter",
    ),
    entry(
        "sync_fairness",
        "D5",
        Status::Documented,
        "locked right after release (with waiters): False",
        "locked right after release (with waiters): True",
    ),
    entry(
        "barrier",
        "D16",
        Status::Documented,
        "indexes after a cancelled waiter: q=1 c=1",
        "indexes after a cancelled waiter: q=0 c=1",
    ),
];

/// How long one program may run.
const PROGRAM_TIMEOUT: Duration = Duration::from_secs(30);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--run") {
        let name = args.get(i + 1).map(String::as_str).unwrap_or("");
        return match PROGRAMS.iter().find(|(n, _)| *n == name) {
            Some((_, twin)) => {
                twin();
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("parity: no program named {name:?}");
                ExitCode::FAILURE
            }
        };
    }
    if args.iter().any(|a| a == "--list") {
        for (name, _) in PROGRAMS {
            println!("{name}: test");
        }
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "--ignored") {
        return ExitCode::SUCCESS; // none is ignored
    }
    // libtest's other flags (--nocapture, --test-threads=1, ...) mean
    // nothing here; the other arguments filter programs by name.
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    if let Err(problems) = check_allow_list() {
        for p in problems {
            eprintln!("parity: {p}");
        }
        return ExitCode::FAILURE;
    }
    let python = match find_python() {
        Ok(p) => p,
        Err(why) if std::env::var_os("SOLO_PARITY_REQUIRE_PYTHON").is_some() => {
            eprintln!("parity: FAILED, {why} (SOLO_PARITY_REQUIRE_PYTHON is set)");
            return ExitCode::FAILURE;
        }
        Err(why) => {
            eprintln!("parity: SKIPPED, {why}");
            return ExitCode::SUCCESS;
        }
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity");
    let me = std::env::current_exe().expect("parity: the test binary's own path");
    let started = Instant::now();
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, _) in PROGRAMS {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        ran += 1;
        let script = dir.join(format!("{name}.py"));
        let asyncio = run_program(Command::new(&python).arg("-I").arg(&script));
        let solo = run_program(Command::new(&me).args(["--run", name]));
        match compare(name, asyncio, solo) {
            Ok(notes) => {
                println!("parity {name} ... ok");
                for n in notes {
                    println!("    note: {n}");
                }
            }
            Err(report) => {
                println!("parity {name} ... FAILED\n{report}");
                failed.push(*name);
            }
        }
    }
    println!(
        "\nparity: {} of {ran} programs match asyncio ({} allowed differences) in {:.1} s",
        ran - failed.len(),
        ALLOWED.len(),
        started.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!("parity: FAILED: {}", failed.join(", "));
        ExitCode::FAILURE
    }
}

/// A `python3` of 3.11 or newer (asyncio.TaskGroup, ExceptionGroup), or
/// why there is none. `PYTHON` overrides the name.
fn find_python() -> Result<PathBuf, String> {
    let python = PathBuf::from(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()));
    let out = Command::new(&python)
        .args(["-c", "import sys; print(sys.version_info >= (3, 11))"])
        .output()
        .map_err(|e| {
            format!(
                "cannot run {}: {e} (install python3 3.11+ or set PYTHON)",
                python.display()
            )
        })?;
    if String::from_utf8_lossy(&out.stdout).trim() != "True" {
        return Err(format!(
            "{} is older than 3.11 (asyncio.TaskGroup is needed); set PYTHON to a newer one",
            python.display()
        ));
    }
    Ok(python)
}

/// What one run printed.
struct Output {
    stdout: String,
    stderr: String,
    status: String,
}

/// Runs `cmd` with a time limit and collects what it printed.
fn run_program(cmd: &mut Command) -> Result<Output, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + PROGRAM_TIMEOUT;
    let status = loop {
        match child
            .try_wait()
            .map_err(|e| format!("waiting for {cmd:?}: {e}"))?
        {
            Some(status) => break status.to_string(),
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break format!("killed after {PROGRAM_TIMEOUT:?}");
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    Ok(Output {
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        status,
    })
}

/// Compares the two outputs line by line, after mapping each allowed solo
/// line to the asyncio line it stands for. Returns notes (pending entries
/// that no longer apply) or a report of the differences.
fn compare(
    name: &str,
    asyncio: Result<Output, String>,
    solo: Result<Output, String>,
) -> Result<Vec<String>, String> {
    let (asyncio, solo) = match (asyncio, solo) {
        (Ok(a), Ok(s)) => (a, s),
        (Err(e), _) | (_, Err(e)) => return Err(format!("    {e}")),
    };
    let mut problems = Vec::new();
    for (who, out) in [("asyncio", &asyncio), ("solo", &solo)] {
        if out.status != "exit status: 0" {
            problems.push(format!(
                "    the {who} program ended with {}; its stderr:\n{}",
                out.status,
                indent(&out.stderr)
            ));
        }
    }
    let mut notes = Vec::new();
    let mut solo_lines: Vec<String> = solo.stdout.lines().map(str::to_owned).collect();
    for entry in ALLOWED.iter().filter(|e| e.program == name) {
        match solo_lines.iter_mut().find(|l| **l == entry.solo) {
            Some(line) => *line = entry.asyncio.to_owned(),
            None => match entry.status {
                Status::Pending(fixer) => notes.push(format!(
                    "pending entry ({}, {fixer}) no longer seen: solo no longer prints {:?}; remove it from ALLOWED and its row from the guide",
                    entry.row, entry.solo
                )),
                Status::Documented => problems.push(format!(
                    "    allowed difference {} no longer seen: solo no longer prints {:?}; remove the entry from ALLOWED and the row from {GUIDE}",
                    entry.row, entry.solo
                )),
            },
        }
    }
    let asyncio_lines: Vec<&str> = asyncio.stdout.lines().collect();
    if asyncio_lines != solo_lines {
        problems.push(format!(
            "    asyncio printed:\n{}    solo printed (allowed differences mapped back):\n{}    solo's stderr:\n{}",
            indent(&asyncio.stdout),
            indent(&solo_lines.join("\n")),
            indent(&solo.stderr)
        ));
    }
    if problems.is_empty() {
        Ok(notes)
    } else {
        Err(problems.join("\n"))
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("        {l}\n")).collect()
}

/// Every entry names a program that exists and a row the guide has.
fn check_allow_list() -> Result<(), Vec<String>> {
    let guide_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(GUIDE);
    let guide = std::fs::read_to_string(&guide_path)
        .map_err(|e| vec![format!("cannot read {}: {e}", guide_path.display())])?;
    let mut problems = Vec::new();
    for e in ALLOWED {
        if !PROGRAMS.iter().any(|(n, _)| *n == e.program) {
            problems.push(format!("ALLOWED names an unknown program {:?}", e.program));
        }
        if !guide.contains(&format!("\n| {} |", e.row)) {
            problems.push(format!(
                "ALLOWED entry for {:?} points to row {} that {GUIDE} does not have",
                e.program, e.row
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Python's spelling of a bool, for lines both twins print.
fn py(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// Watches a task's future: whether it finished, and whether it was
/// dropped (so cancelled) before finishing.
#[derive(Default)]
struct Probe {
    finished: std::cell::Cell<bool>,
    dropped: std::cell::Cell<bool>,
}

impl Probe {
    /// A future that sleeps `ms` and reports to `probe`.
    fn sleeper(
        probe: &std::rc::Rc<Probe>,
        ms: u64,
    ) -> impl std::future::Future<Output = ()> + 'static {
        struct OnDrop(std::rc::Rc<Probe>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                self.0.dropped.set(true);
            }
        }
        let guard = OnDrop(probe.clone());
        async move {
            solo::sleep(Duration::from_millis(ms)).await;
            guard.0.finished.set(true);
        }
    }

    fn cancelled(&self) -> bool {
        self.dropped.get() && !self.finished.get()
    }
}
