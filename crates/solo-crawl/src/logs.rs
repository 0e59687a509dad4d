//! Logs: where the crawl's `tracing` events go, in which format, from
//! which level, without garbling the progress line.
//!
//! Owns: the `--log-level`, `--log-format` and `--log-file` choices, the
//! subscriber the binary installs ([`init`]), the writer that clears
//! the progress line before a log line on stderr and redraws it after,
//! and the user-facing messages on stderr ([`message`]), which a stderr
//! that is gone (a closed pipe) never turns into a panic; with a log
//! file, the same messages are also written to it as log lines in its
//! format, so the file alone tells how the crawl went.
//! Must not: emit events itself (the engine, the frontier and solo-http
//! do), or write anywhere near the record output.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// The most verbose events logged (`--log-level`).
///
/// ```
/// use solo_crawl::logs::LogLevel;
/// assert_eq!(LogLevel::default(), LogLevel::Warn);
/// ```
#[derive(clap::ValueEnum, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Failures of the crawl itself.
    Error,
    /// Also what an operator should look at (the default).
    #[default]
    Warn,
    /// Also start, resume, robots.txt per host, retries and give-ups,
    /// throttling changes, stop.
    Info,
    /// Also every request and response.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// How log lines are written (`--log-format`).
///
/// ```
/// use solo_crawl::logs::LogFormat;
/// assert_eq!(LogFormat::default(), LogFormat::Text);
/// ```
#[derive(clap::ValueEnum, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per line (for log shippers): `timestamp`, `level`,
    /// `target`, `fields` (with `message`), and `span` (the request's
    /// `url`, `host`, `depth`, `attempt`). The program's own messages
    /// and the final summary are such lines too (`WARN` and `INFO`, the
    /// text in `fields.message`): on stderr, or with a log file in the
    /// file (stderr then has them as text).
    Json,
}

/// JSON log lines go to stderr (`--log-format json` without a log file):
/// [`message`]s are written as JSON lines too, so that stderr stays one
/// JSON object per line for a log shipper.
static JSON_STDERR: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The log file (`--log-file`) and its format, once [`init`] opened it:
/// [`message`]s are written there too.
static LOG_FILE: Mutex<Option<(Arc<File>, LogFormat)>> = Mutex::new(None);

/// The progress line on show, if any: log lines on stderr clear it first.
static PROGRESS: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);

/// Tells the log writer which progress line is on stderr (`None`: none).
pub(crate) fn progress_shown(bar: Option<indicatif::ProgressBar>) {
    if let Ok(mut p) = PROGRESS.lock() {
        *p = bar;
    }
}

/// Stderr, with the progress line (if any) cleared around each write.
struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let bar = PROGRESS.lock().ok().and_then(|p| p.clone());
        match bar {
            Some(bar) => bar
                .suspend(|| io::stderr().write_all(buf))
                .map(|()| buf.len()),
            None => io::stderr().write_all(buf).map(|()| buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Writes a user-facing message to stderr in one write, clearing the
/// progress line around it as log lines do. A stderr that is gone (its
/// reader exited: `solo-crawl ... 2>&1 | head`) is no error: the message
/// is dropped and the program goes on (`eprint!` would panic there).
/// Once [`init`] opened a log file, the message is also appended to it
/// as a log line in its format (whatever the level: these messages are
/// always shown), so that a crawl whose stderr nobody reads (systemd,
/// nohup, cron) leaves its failures and its summary in the file.
///
/// ```
/// solo_crawl::logs::message(format_args!("solo-crawl: {} pages\n", 3));
/// ```
pub fn message(text: std::fmt::Arguments<'_>) {
    let text = text.to_string();
    if JSON_STDERR.load(std::sync::atomic::Ordering::Relaxed) {
        let _ = Stderr.write_all(json_line(&text).as_bytes());
    } else {
        let _ = Stderr.write_all(text.as_bytes());
    }
    to_log_file(&text);
}

/// A message as a log line (or lines) in the log file, if there is one.
fn to_log_file(text: &str) {
    let file = LOG_FILE.lock().ok().and_then(|f| f.clone());
    if let Some((file, format)) = file {
        let line = match format {
            LogFormat::Json => json_line(text),
            LogFormat::Text => text_lines(text),
        };
        // A log file that cannot be written loses the message, as the
        // subscriber loses events: the message is on stderr still.
        let _ = (&*file).write_all(line.as_bytes());
    }
}

/// Whether [`summary`] leaves stderr out (`--quiet`).
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Says from now on whether the end-of-crawl [`summary`] is left off
/// stderr (the CLI's `--quiet`).
///
/// ```
/// solo_crawl::logs::set_quiet(false);
/// ```
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

/// The end-of-crawl summary: a [`message`], except that with
/// [`set_quiet`] it goes to the log file only (if there is one).
///
/// ```
/// solo_crawl::logs::summary(format_args!("pages        0\n"));
/// ```
pub fn summary(text: std::fmt::Arguments<'_>) {
    if !QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        return message(text);
    }
    to_log_file(&text.to_string());
}

/// Says from now on how [`message`]s are written: as JSON lines when the
/// logs are JSON on stderr (`format` JSON, no log `file`), so that a
/// run's messages before its logs start (a refused start, a file that
/// cannot be read) are JSON lines too. [`init`] says it again.
///
/// ```
/// use solo_crawl::logs::{message, messages_as, LogFormat};
/// messages_as(LogFormat::Json, None);
/// message(format_args!("solo-crawl: a JSON line on stderr\n"));
/// messages_as(LogFormat::Text, None);
/// ```
pub fn messages_as(format: LogFormat, file: Option<&Path>) {
    let json = format == LogFormat::Json && file.is_none();
    JSON_STDERR.store(json, std::sync::atomic::Ordering::Relaxed);
}

/// The level a message is logged at: the program's notices
/// (`solo-crawl: ...`) at `WARN`, the rest (the summary) at `INFO`.
fn level_of(text: &str) -> &'static str {
    match text.starts_with("solo-crawl:") {
        true => "WARN",
        false => "INFO",
    }
}

/// A message as a JSON log line, shaped as the subscriber's: at
/// [`level_of`], the text whole in `fields.message`.
fn json_line(text: &str) -> String {
    let text = text.trim_end_matches('\n');
    let line = serde_json::json!({
        "timestamp": crate::warc::rfc3339_now(),
        "level": level_of(text),
        "fields": { "message": text },
        "target": "solo_crawl",
    });
    format!("{line}\n")
}

/// A message as text log lines, shaped as the subscriber's (`TIME LEVEL
/// solo_crawl: text`): one for each of its lines (the summary's), so
/// that every line of the file starts as a log line does.
fn text_lines(text: &str) -> String {
    let text = text.trim_end_matches('\n');
    let head = format!(
        "{} {:>5} solo_crawl: ",
        crate::warc::rfc3339_now(),
        level_of(text)
    );
    text.lines().map(|l| format!("{head}{l}\n")).collect()
}

struct MakeStderr;

impl MakeWriter<'_> for MakeStderr {
    type Writer = Stderr;
    fn make_writer(&self) -> Stderr {
        Stderr
    }
}

/// The filter: `RUST_LOG` when set (full `EnvFilter` syntax, e.g.
/// `solo_crawl=debug,solo_http=trace`), else `level` for solo's crates
/// and warn for the libraries beneath them.
fn filter(level: LogLevel) -> Result<EnvFilter, String> {
    match std::env::var("RUST_LOG") {
        Ok(s) if !s.trim().is_empty() => {
            EnvFilter::try_new(&s).map_err(|e| format!("RUST_LOG={s:?} is not a log filter: {e}"))
        }
        _ => {
            let l = level.as_str();
            Ok(EnvFilter::new(format!(
                "warn,solo={l},solo_http={l},solo_crawl={l}"
            )))
        }
    }
}

/// Installs the process's log subscriber: events at `level` or above
/// (unless `RUST_LOG` says otherwise) as `format`, appended to `file` or
/// written to stderr. Fails on a file that cannot be opened, a bad
/// `RUST_LOG`, or a subscriber already installed.
///
/// ```no_run
/// use solo_crawl::logs::{init, LogFormat, LogLevel};
/// init(LogLevel::Info, LogFormat::Json, Some("crawl.log".as_ref())).unwrap();
/// ```
pub fn init(level: LogLevel, format: LogFormat, file: Option<&Path>) -> Result<(), String> {
    let filter = filter(level)?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let done = match file {
        Some(path) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("--log-file {}: {e}", path.display()))?;
            // Each event, and each message, in one write to the file
            // opened to append: lines never interleave.
            let f = Arc::new(f);
            let builder = builder.with_writer(f.clone()).with_ansi(false);
            let done = match format {
                LogFormat::Text => builder.try_init(),
                LogFormat::Json => builder.json().with_span_list(false).try_init(),
            };
            if done.is_ok() {
                if let Ok(mut file) = LOG_FILE.lock() {
                    *file = Some((f, format));
                }
            }
            done
        }
        None => {
            let ansi = io::IsTerminal::is_terminal(&io::stderr());
            let builder = builder.with_writer(MakeStderr).with_ansi(ansi);
            messages_as(format, None);
            match format {
                LogFormat::Text => builder.try_init(),
                LogFormat::Json => builder.json().with_span_list(false).try_init(),
            }
        }
    };
    done.map_err(|e| format!("cannot set up logging: {e}"))
}
