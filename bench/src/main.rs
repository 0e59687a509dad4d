//! `solo-bench`: solo against tokio and smol, single-threaded.
//!
//! ```text
//! cargo run --release -p solo-bench -- <workload|all> [--runtime solo|tokio|smol|all]
//!                                       [--reps N] [--json FILE] [--quick]
//! ```
//!
//! Workloads (one module each under `workloads/`, whose doc says exactly
//! what is measured): `spawn`, `yield`, `pingpong`, `timers`,
//! `timers-100k`, `echo`, `echo-x`, or `all` of them; and `http` (not in
//! `all`: it needs nginx; solo-http against reqwest). Runtimes (see `rt`):
//! solo; tokio's current_thread runtime with a `LocalSet`; smol's
//! `LocalExecutor` with async-io.
//!
//! Every repetition of every workload runs in a fresh child process of this
//! binary, and the runtimes alternate within each repetition (solo, tokio,
//! smol, solo, tokio, smol, ...), so slow drifts of the machine hit all of
//! them alike. Default: 5 repetitions. Each run checks its own result; a
//! failed check stops the benchmark with a non-zero exit and the message.
//!
//! The output is a table of medians (and min..max) with the ratio solo/peer on each
//! peer's row (for "lower is better" metrics a ratio below 1 favours
//! solo), then the targets of issue 4. `--json FILE` also writes one JSON
//! object per line and per (workload, runtime, metric):
//! `{"workload","runtime","metric","value","unit","higher_is_better","reps"}`
//! with the median as `value` and the number of runs behind it as `reps`.
//!
//! The metrics (name, unit) each workload reports, for readers of the JSON:
//!
//! | workload | metrics |
//! |---|---|
//! | `spawn` | `throughput` (tasks/s), `overhead` (B/task) |
//! | `yield` | `throughput` (yields/s) |
//! | `pingpong` | `throughput` (round trips/s) |
//! | `timers`, `timers-100k` | `wall` (s), `wall beyond max sleep` (ms), `mean lateness` (ms), `max lateness` (ms), `RSS per task` (B/task) |
//! | `echo` | `throughput` (round trips/s), `peak RSS` (MiB) |
//! | `echo-x` | `throughput` (round trips/s), `server peak RSS` (MiB), `server syscalls` (calls/round trip; left out when strace is missing) |
//! | `http` | `throughput` (requests/s), `peak_rss` (MiB); runtimes solo (solo-http) and tokio (reqwest) only |
//!
//! `--quick` scales every workload down about 100× (a smoke test).

#![deny(unsafe_code)]

mod alloc;
mod proc;
mod report;
mod rt;
mod runner;
mod workloads;

use std::process::ExitCode;

use workloads::{Metric, Scale};

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

const USAGE: &str =
    "usage: solo-bench <spawn|yield|pingpong|timers|timers-100k|echo|echo-x|all|http> \
[--runtime solo|tokio|smol|all] [--reps N] [--json FILE] [--quick]";

/// What the command line asks for.
struct Options {
    workloads: Vec<&'static str>,
    runtimes: Vec<&'static str>,
    reps: usize,
    json: Option<String>,
    scale: Scale,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        workloads: Vec::new(),
        runtimes: rt::NAMES.to_vec(),
        reps: 5,
        json: None,
        scale: Scale { quick: false },
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--runtime" => {
                let v = value()?;
                o.runtimes = match v.as_str() {
                    "all" => rt::NAMES.to_vec(),
                    name => vec![*rt::NAMES
                        .iter()
                        .find(|n| **n == name)
                        .ok_or(format!("unknown runtime {name:?}"))?],
                };
            }
            "--reps" => {
                o.reps = value()?
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or("--reps needs a positive number")?;
            }
            "--json" => o.json = Some(value()?.clone()),
            "--quick" => o.scale.quick = true,
            "-h" | "--help" => return Err(USAGE.into()),
            "all" => o.workloads = workloads::ALL.to_vec(),
            w => match workloads::ALL
                .iter()
                .chain(&workloads::EXTRA)
                .find(|n| **n == w)
            {
                Some(n) => o.workloads.push(n),
                None => return Err(format!("unknown argument {w:?}\n{USAGE}")),
            },
        }
    }
    if o.workloads.is_empty() {
        return Err(USAGE.into());
    }
    Ok(o)
}

/// `--child <workload> [--runtime R] [--quick] [--pin CPU] [--port P]`:
/// one run, reported on stdout (see `runner`).
fn child(args: &[String]) -> ExitCode {
    let mut workload = "";
    let mut runtime = "solo";
    let mut scale = Scale { quick: false };
    let mut port = 0u16;
    let mut url = String::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runtime" => runtime = it.next().map_or("", String::as_str),
            "--quick" => scale.quick = true,
            "--url" => url = it.next().cloned().unwrap_or_default(),
            "--port" => port = it.next().and_then(|p| p.parse().ok()).unwrap_or(0),
            "--pin" => {
                let cpu = it.next().and_then(|c| c.parse().ok()).unwrap_or(0);
                if let Err(e) = proc::pin_to(cpu) {
                    eprintln!("warning: cannot pin to CPU {cpu}: {e}");
                }
            }
            w => workload = w,
        }
    }
    let outcome = match workload {
        "echo-x-server" => rt::dispatch(runtime, workloads::echo_x::Server(scale))
            .unwrap_or_else(|| Err(format!("unknown runtime {runtime:?}"))),
        "echo-x-client" => workloads::echo_x::client(port, scale),
        "http" => workloads::http::run(runtime, &url, scale),
        w => workloads::run(w, runtime, scale),
    };
    match outcome {
        Ok(metrics) => {
            metrics.iter().for_each(runner::emit);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("solo-bench: {workload} on {runtime}: {e}");
            ExitCode::from(2)
        }
    }
}

/// One repetition of `workload` on `runtime`, in child processes.
/// `url`: where the http workload's nginx serves the file.
fn one_run(
    workload: &str,
    runtime: &str,
    scale: Scale,
    url: Option<&str>,
) -> Result<Vec<Metric>, String> {
    if workload == "echo-x" {
        return workloads::echo_x::rep(runtime, scale, false);
    }
    let mut args = vec![workload.to_string(), "--runtime".into(), runtime.into()];
    if scale.quick {
        args.push("--quick".into());
    }
    let mut prefix = Vec::new();
    if let Some(url) = url {
        // nginx is on CPU 0: the client gets CPU 1.
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (p, pin) = workloads::echo_x::pinning(if cpus > 1 { 1 } else { 0 });
        prefix = p;
        args.extend(pin);
        args.extend(["--url".to_string(), url.to_string()]);
    }
    runner::run(
        runner::child_command(&prefix, &args)?,
        &format!("{workload} on {runtime}"),
    )
}

fn bench(o: &Options) -> Result<report::Results, String> {
    let mut results = report::Results::default();
    for &w in &o.workloads {
        results.note_load(w, proc::loadavg());
        let nginx = match w {
            "http" => Some(workloads::http::Nginx::start()?),
            _ => None,
        };
        let url = nginx.as_ref().map(|n| n.url.as_str());
        for rep in 1..=o.reps {
            for &r in &o.runtimes {
                if w == "http" && !workloads::http::RUNTIMES.contains(&r) {
                    continue;
                }
                eprintln!("[{w} {rep}/{} {r}] load {}", o.reps, proc::loadavg());
                for m in one_run(w, r, o.scale, url)? {
                    results.add(w, r, m);
                }
            }
        }
        if w == "echo-x" {
            for &r in &o.runtimes {
                let pass = if workloads::echo_x::strace_available() {
                    eprintln!("[{w} strace pass {r}]");
                    workloads::echo_x::rep(r, o.scale, true)
                } else {
                    Err("strace is not on PATH".into())
                };
                match pass {
                    Ok(metrics) => metrics.into_iter().for_each(|m| results.add(w, r, m)),
                    Err(e) => {
                        // The throughput reps above already passed their
                        // self-checks; a failure here is strace's.
                        eprintln!("[{w} {r}] no system call count: {e}");
                        results.missing(w, r, "syscalls_per_rt", "calls/round trip");
                    }
                }
            }
        }
    }
    Ok(results)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        return child(&args[1..]);
    }
    let o = match parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let load_before = proc::loadavg();
    let results = match bench(&o) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("solo-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "solo-bench{}: {} reps, runtimes alternating; load average before {load_before}, after {}",
        if o.scale.quick { " --quick" } else { "" },
        o.reps,
        proc::loadavg()
    );
    print!("{}", results.table());
    println!("{}", results.loads());
    print!("{}", results.targets(o.scale));
    if let Some(path) = &o.json {
        if let Err(e) = results.write_json(path) {
            eprintln!("solo-bench: writing {path}: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_the_command_line() {
        let o = parse(&args("all --runtime tokio --reps 3 --json x.jsonl --quick")).unwrap();
        assert_eq!(o.workloads.len(), 7);
        assert_eq!(o.runtimes, ["tokio"]);
        assert_eq!(
            (o.reps, o.json.as_deref(), o.scale.quick),
            (3, Some("x.jsonl"), true)
        );
        let o = parse(&args("spawn")).unwrap();
        assert_eq!((o.workloads.as_slice(), o.reps), (&["spawn"][..], 5));
        assert_eq!(o.runtimes, ["solo", "tokio", "smol"]);
        assert!(parse(&args("nope")).is_err());
        assert!(parse(&args("spawn --reps 0")).is_err());
        assert!(parse(&args("spawn --runtime glommio")).is_err());
        assert!(parse(&[]).is_err());
    }
}
