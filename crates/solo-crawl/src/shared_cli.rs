//! The command line of crawls shared through Redis: `crawl --redis`
//! (store the settings, then work), `worker` (read them, then work) and
//! `status`.
//!
//! Owns: the stored settings — the start URLs and the crawl's flags as
//! typed (every flag but the per-worker ones), parsed by every worker with
//! the same definitions as `crawl`, so all workers obey one set of rules —
//! and starting `--workers N` processes with numbered output files. Must
//! not: crawl itself (that is `crawl` with a Redis frontier).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Parser};
use serde::{Deserialize, Serialize};

use super::{crawl, crawl_config, Cli, Command, CrawlArgs, SharedCrawl, Usage, WorkerArgs};

/// Flags each worker sets for itself (not stored with the crawl).
const PER_WORKER: &[&str] = &[
    "urls",
    "redis",
    "crawl_id",
    "workers",
    "output",
    "state",
    "state_reset",
    "frontier_cap",
];

/// What Redis keeps of a crawl's command line.
#[derive(Serialize, Deserialize, PartialEq)]
struct Settings {
    version: u32,
    urls: Vec<String>,
    /// `--name=value` or `--name`, as given.
    flags: Vec<String>,
}

/// The crawl flags given on the command line, normalized.
fn shared_flags(m: &ArgMatches) -> Vec<String> {
    let cmd = CrawlArgs::augment_args(clap::Command::new("crawl"));
    let mut out = Vec::new();
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        let Some(long) = arg.get_long() else {
            continue;
        };
        if PER_WORKER.contains(&id) || m.value_source(id) != Some(ValueSource::CommandLine) {
            continue;
        }
        if arg.get_action().takes_values() {
            for v in m.get_raw(id).into_iter().flatten() {
                out.push(format!("--{long}={}", v.to_string_lossy()));
            }
        } else {
            out.push(format!("--{long}"));
        }
    }
    out
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("solo-crawl: {msg}");
    ExitCode::from(1)
}

/// `crawl URL... --redis URL --crawl-id NAME`: stores the settings (or
/// finds the same ones there), then works on the crawl.
pub(crate) fn start(a: &CrawlArgs, m: &ArgMatches) -> ExitCode {
    if let Err(Usage(msg)) = crawl_config(a) {
        eprintln!("solo-crawl: {msg}");
        return ExitCode::from(2);
    }
    let (Some(url), Some(id)) = (&a.redis, &a.crawl_id) else {
        return fail("--redis needs --crawl-id");
    };
    let settings = Settings {
        version: 1,
        urls: a.urls.clone(),
        flags: shared_flags(m),
    };
    let json = serde_json::to_string(&settings).unwrap_or_default();
    match solo_crawl::share_settings(url, id, &json) {
        Ok(stored) if stored == json => {}
        Ok(_) => {
            return fail(format!(
                "crawl {id:?} already exists in that Redis with other settings: join it with \
                 `solo-crawl worker --redis URL --crawl-id {id}`, or choose another --crawl-id"
            ))
        }
        Err(e) => return fail(e),
    }
    run_workers(url, id, a.output.clone(), a.workers)
}

/// `worker --redis URL --crawl-id NAME`.
pub(crate) fn worker(w: &WorkerArgs) -> ExitCode {
    run_workers(
        &w.shared.redis,
        &w.shared.crawl_id,
        w.output.clone(),
        w.workers,
    )
}

/// `path` with `i` before its extension: pages.jsonl → pages.3.jsonl.
fn numbered(path: &Path, i: u64) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let name = match path.extension() {
        Some(e) => format!("{stem}.{i}.{}", e.to_string_lossy()),
        None => format!("{stem}.{i}"),
    };
    path.with_file_name(name)
}

/// Runs `n` workers: this process and `n - 1` children.
fn run_workers(url: &str, id: &str, output: Option<PathBuf>, n: u64) -> ExitCode {
    if n == 1 {
        return run_one(url, id, output);
    }
    let Some(output) = output.filter(|o| o.as_os_str() != "-") else {
        eprintln!("solo-crawl: --workers {n} needs --output FILE (worker i writes FILE with i before its extension)");
        return ExitCode::from(2);
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return fail(format!("cannot start workers: {e}")),
    };
    let mut children = Vec::new();
    for i in 1..n {
        let child = std::process::Command::new(&exe)
            .args(["worker", "--redis", url, "--crawl-id", id, "--output"])
            .arg(numbered(&output, i))
            .spawn();
        match child {
            Ok(c) => children.push(c),
            Err(e) => eprintln!("solo-crawl: cannot start worker {i}: {e}"),
        }
    }
    let mut code = run_one(url, id, Some(numbered(&output, 0)));
    for mut c in children {
        match c.wait() {
            Ok(s) if s.success() => {}
            _ if code != ExitCode::SUCCESS => {}
            _ => code = ExitCode::from(1),
        }
    }
    code
}

/// One worker: reads the crawl's settings, parses them like `crawl`'s
/// flags, and crawls with the shared frontier.
fn run_one(url: &str, id: &str, output: Option<PathBuf>) -> ExitCode {
    let stored = match solo_crawl::shared_settings(url, id) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let Ok(settings) = serde_json::from_str::<Settings>(&stored) else {
        return fail(format!(
            "the settings of crawl {id:?} in Redis are not solo-crawl's (written by another program or version)"
        ));
    };
    let mut argv: Vec<std::ffi::OsString> = vec!["solo-crawl".into(), "crawl".into()];
    argv.extend(settings.flags.iter().map(Into::into));
    argv.extend(["--redis".into(), url.into(), "--crawl-id".into(), id.into()]);
    if let Some(o) = output {
        argv.push("--output".into());
        argv.push(o.into());
    }
    argv.push("--".into());
    argv.extend(settings.urls.iter().map(Into::into));
    let a = match Cli::try_parse_from(argv) {
        Ok(Cli {
            command: Command::Crawl(a),
        }) => a,
        Ok(_) => return fail("the stored settings are not a crawl"),
        Err(e) => {
            return fail(format!(
                "the settings of crawl {id:?} in Redis do not parse here (another solo-crawl version?): {e}"
            ))
        }
    };
    crawl(&a)
}

/// `status --redis URL --crawl-id NAME`.
pub(crate) fn status(s: &SharedCrawl) -> ExitCode {
    match solo_crawl::crawl_status(&s.redis, &s.crawl_id) {
        Ok(st) => {
            print!("{st}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}
