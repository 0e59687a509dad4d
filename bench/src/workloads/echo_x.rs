//! `echo-x`: TCP echo across processes: the server on one core, the load
//! on the other.
//!
//! Each repetition starts two child processes. The server (the runtime
//! under test, same code as `echo`'s server: one task per connection,
//! 1 KiB reads, echo until end of stream) is pinned to CPU 0; the load
//! generator is pinned to CPU 1 and is always the same solo client (the
//! `echo` clients: 1,000 connections × 100 round trips of 64 bytes, every
//! byte compared), so only the server changes between runtimes. Pinning
//! uses `taskset -c N` when it is on `PATH`, else `sched_setaffinity`.
//!
//! Self-check: the client's byte comparison and round-trip count, and the
//! server's count of bytes echoed (1,000 × 100 × 64).
//!
//! Metrics:
//! - `throughput` (round trips/s): measured by the client, from its first
//!   connect to its last round trip.
//! - `server peak RSS` (MiB): the server process's `VmHWM` at its end.
//! - `server syscalls` (calls/round trip): from a separate pass, one per
//!   runtime (`reps` = 1), with the server under `strace -f -c`: the
//!   total count of system calls of the server process (start-up and
//!   accepts included) divided by the round trips. Not measured when
//!   `strace` is missing (printed as n/a). The throughput of that pass is
//!   not used, strace slows every call.
//!
//! `--quick`: 100 connections × 10 round trips.

use std::ffi::OsString;
use std::io::Write as _;
use std::net::SocketAddr;

use super::echo::{load, mib, serve, Load};
use super::{check, per_sec, Metric, Outcome, Scale};
use crate::proc;
use crate::rt::{std_listener, OnRuntime, Rt, Solo};
use crate::runner::{self, Running};

/// The server side, run in the `--child echo-x-server` process.
pub struct Server(pub Scale);

impl OnRuntime for Server {
    type Output = Outcome;

    fn run<R: Rt>(self) -> Outcome {
        let l = Load::new(self.0);
        R::block_on(async move {
            let std = std_listener().map_err(|e| format!("listen: {e}"))?;
            let port = std.local_addr().map_err(|e| e.to_string())?.port();
            let listener = R::listener(std).map_err(|e| e.to_string())?;
            println!("@port\t{port}");
            std::io::stdout().flush().map_err(|e| e.to_string())?;
            let echoed = serve::<R>(listener, l.conns).await?;
            check("bytes echoed by the server", echoed, l.bytes())?;
            let peak = proc::peak_rss().map_err(|e| e.to_string())?;
            Ok(vec![Metric::lower("peak_rss", mib(peak), "MiB")])
        })
    }
}

/// The load generator, run in the `--child echo-x-client` process: solo's
/// clients against 127.0.0.1:`port`.
pub fn client(port: u16, scale: Scale) -> Outcome {
    let l = Load::new(scale);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let elapsed = Solo::block_on(load::<Solo>(addr, l))?;
    Ok(vec![Metric::higher(
        "throughput",
        per_sec(l.round_trips(), elapsed),
        "round trips/s",
    )])
}

/// How one process is pinned: a command prefix, or arguments for the
/// child to pin itself.
pub fn pinning(cpu: usize) -> (Vec<OsString>, Vec<String>) {
    match proc::which("taskset") {
        Some(t) => (
            vec![t.into_os_string(), "-c".into(), cpu.to_string().into()],
            vec![],
        ),
        None => (vec![], vec!["--pin".into(), cpu.to_string()]),
    }
}

/// Whether `strace` can count this server's system calls.
pub fn strace_available() -> bool {
    proc::which("strace").is_some()
}

/// One repetition on the server runtime `runtime`. With `strace`, the
/// server runs under `strace -f -c` and only `server syscalls` is
/// returned.
pub fn rep(runtime: &str, scale: Scale, strace: bool) -> Result<Vec<Metric>, String> {
    let quick: Vec<String> = if scale.quick {
        vec!["--quick".into()]
    } else {
        vec![]
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let client_cpu = if cpus > 1 { 1 } else { 0 };

    let (mut prefix, pin) = pinning(0);
    let summary = std::env::temp_dir().join(format!(
        "solo-bench-strace-{}-{runtime}.txt",
        std::process::id()
    ));
    if strace {
        let mut s: Vec<OsString> = vec![
            "strace".into(),
            "-f".into(),
            "-c".into(),
            "-o".into(),
            summary.clone().into_os_string(),
        ];
        s.append(&mut prefix);
        prefix = s;
    }
    let mut args = vec![
        "echo-x-server".to_string(),
        "--runtime".into(),
        runtime.into(),
    ];
    args.extend(pin);
    args.extend(quick.iter().cloned());
    let what = format!("echo-x server on {runtime}");
    let mut server = Running::start(runner::child_command(&prefix, &args)?, &what)?;
    let port = loop {
        match server.next_line() {
            Some(line) => {
                if let Some(p) = line.strip_prefix("@port\t") {
                    break p.parse::<u16>().map_err(|e| format!("{what}: port: {e}"))?;
                }
            }
            None => {
                server.finish()?;
                return Err(format!("{what} ended without listening"));
            }
        }
    };

    let (prefix, pin) = pinning(client_cpu);
    let mut args = vec![
        "echo-x-client".to_string(),
        "--port".into(),
        port.to_string(),
    ];
    args.extend(pin);
    args.extend(quick);
    let client = runner::run(
        runner::child_command(&prefix, &args)?,
        "echo-x client (solo)",
    );
    let served = server.finish();
    let mut metrics = client?;
    metrics.extend(served?);
    if strace {
        let text = std::fs::read_to_string(&summary)
            .map_err(|e| format!("strace summary {}: {e}", summary.display()))?;
        let _ = std::fs::remove_file(&summary);
        eprintln!("strace -c of the echo-x server on {runtime}:\n{text}");
        let calls = strace_total(&text).ok_or("no total line in strace's summary")?;
        let round_trips = Load::new(scale).round_trips();
        return Ok(vec![Metric::lower(
            "syscalls_per_rt",
            calls as f64 / round_trips as f64,
            "calls/round trip",
        )]);
    }
    Ok(metrics)
}

/// The `calls` column of the `total` line of `strace -c`'s summary.
pub fn strace_total(summary: &str) -> Option<u64> {
    summary.lines().find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.last() == Some(&"total") && f.len() >= 5 {
            f[3].parse().ok()
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::strace_total;

    #[test]
    fn parses_strace_summaries() {
        let with_errors = "% time     seconds  usecs/call     calls    errors syscall\n\
            ------ ----------- ----------- --------- --------- ----------------\n \
            60.00    0.000300           3       100           write\n\
            ------ ----------- ----------- --------- --------- ----------------\n\
            100.00    0.000500           2       250        12 total\n";
        assert_eq!(strace_total(with_errors), Some(250));
        let without = "100.00    0.000500           2       251           total\n";
        assert_eq!(strace_total(without), Some(251));
        assert_eq!(strace_total("nothing"), None);
    }
}
