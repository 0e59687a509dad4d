//! Child processes: each repetition of each workload runs in a fresh
//! process of this same binary (`--child ...`), so peak RSS is per run and
//! no allocator or runtime state carries over. The child reports on stdout
//! in lines of tab-separated fields:
//!
//! ```text
//! @metric <name> <value> <unit> <higher|lower>
//! @port <port>                     (echo-x server: where it listens)
//! ```
//!
//! and writes any failure to stderr (inherited, so it shows as it happens)
//! before exiting non-zero.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::workloads::Metric;

/// How long any child may take before it is killed.
pub const TIMEOUT: Duration = Duration::from_secs(600);

/// Prints `metric` in the child protocol.
pub fn emit(metric: &Metric) {
    let dir = if metric.higher_is_better {
        "higher"
    } else {
        "lower"
    };
    println!(
        "@metric\t{}\t{}\t{}\t{dir}",
        metric.name, metric.value, metric.unit
    );
}

/// Parses one `@metric` line.
pub fn parse_metric(line: &str) -> Option<Metric> {
    let mut f = line.strip_prefix("@metric\t")?.split('\t');
    let (name, value, unit, dir) = (f.next()?, f.next()?, f.next()?, f.next()?);
    let value: f64 = value.parse().ok()?;
    Some(match dir {
        "higher" => Metric::higher(name, value, unit),
        "lower" => Metric::lower(name, value, unit),
        _ => return None,
    })
}

/// A command line: `prefix...` (e.g. `taskset -c 0`) then this binary with
/// `--child` and `args`.
pub fn child_command(prefix: &[OsString], args: &[String]) -> Result<Command, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut line: Vec<OsString> = prefix.to_vec();
    line.push(exe.into_os_string());
    line.push("--child".into());
    line.extend(args.iter().map(OsString::from));
    let mut cmd = Command::new(&line[0]);
    cmd.args(&line[1..]);
    Ok(cmd)
}

/// A started child whose stdout is read line by line.
pub struct Running {
    what: String,
    child: Child,
    lines: Receiver<String>,
    deadline: Instant,
}

impl Running {
    /// Starts `cmd`; `what` names it in errors.
    pub fn start(mut cmd: Command, what: &str) -> Result<Running, String> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("{what}: cannot start {cmd:?}: {e}"))?;
        let out = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Running {
            what: what.to_string(),
            child,
            lines,
            deadline: Instant::now() + TIMEOUT,
        })
    }

    /// The next line of output; `None` at its end (or on timeout, after
    /// killing the child).
    pub fn next_line(&mut self) -> Option<String> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => {
                eprintln!("{}: no end after {TIMEOUT:?}: killing it", self.what);
                let _ = self.child.kill();
                None
            }
        }
    }

    /// Reads the rest of the output, waits for the exit, and returns the
    /// metrics; an error if the child failed.
    pub fn finish(mut self) -> Result<Vec<Metric>, String> {
        let mut metrics = Vec::new();
        while let Some(line) = self.next_line() {
            metrics.extend(parse_metric(&line));
        }
        let status = self
            .child
            .wait()
            .map_err(|e| format!("{}: wait: {e}", self.what))?;
        if !status.success() {
            return Err(format!(
                "{} failed ({status}); its message is above",
                self.what
            ));
        }
        Ok(metrics)
    }
}

/// Runs a child to its end and returns its metrics.
pub fn run(cmd: Command, what: &str) -> Result<Vec<Metric>, String> {
    Running::start(cmd, what)?.finish()
}
