//! Every numeric option of the `solo-crawl` binary, given 0, negative,
//! NaN, infinite, tiny and huge values: each is refused with a message
//! that names the option (exit 2), or accepted and the crawl ends — never
//! a panic, never a crawl that waits forever.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use solo_crawl::demo_site::DemoSite;

const VALUES: [&str; 7] = [
    "0",
    "-1",
    "nan",
    "inf",
    "1e-22",
    "18446744073709551615",
    "1e300",
];

/// The option (with what must come before it), and the values of
/// [`VALUES`] it accepts.
const OPTIONS: &[(&[&str], &str, &[&str])] = &[
    (&["crawl"], "--depth", &["0"]),
    (&["crawl"], "--max-pages", &["18446744073709551615"]),
    (&["crawl"], "--concurrency", &[]),
    (&["crawl"], "--per-host", &[]),
    (&["crawl"], "--delay", &["0"]),
    (
        &["crawl", "--autothrottle"],
        "--autothrottle-target",
        &["1e-22"],
    ),
    (&["crawl"], "--timeout", &[]),
    (&["crawl"], "--max-redirects", &["0"]),
    (&["crawl"], "--max-bytes", &[]),
    (&["crawl"], "--max-buffered", &[]),
    (&["crawl"], "--max-links-per-page", &["0"]),
    (&["crawl"], "--max-field-chars", &[]),
    (&["crawl"], "--frontier-cap", &["18446744073709551615"]),
    (&["demo"], "--pages", &[]),
    (&["bench"], "--seconds", &[]),
    (&["bench"], "--concurrency", &[]),
];

fn spawn(args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs")
}

#[test]
fn numeric_options_are_range_checked_and_never_panic_or_hang() {
    let site = DemoSite::start(10).unwrap();
    let url = site.url().to_string();
    let mut runs = Vec::new();
    for (before, option, accepted) in OPTIONS {
        for value in VALUES {
            let mut args: Vec<String> = before.iter().map(|s| s.to_string()).collect();
            if before[0] == "crawl" {
                args.extend([url.clone(), "--ignore-robots".into()]);
                if *option != "--max-pages" {
                    args.extend(["--max-pages".into(), "1".into()]);
                }
            }
            // `=`: a negative value is not taken for an option.
            args.push(format!("{option}={value}"));
            let ok = accepted.contains(&value);
            runs.push((args.clone(), *option, ok, spawn(&args)));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut failures = Vec::new();
    for (args, option, ok, mut child) in runs {
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if Instant::now() > deadline {
                child.kill().unwrap();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let Some(status) = status else {
            failures.push(format!("{args:?}: still running after 60 s"));
            continue;
        };
        let code = status.code();
        if err.contains("panicked") {
            failures.push(format!("{args:?}: panicked: {err}"));
        } else if ok && code != Some(0) {
            failures.push(format!("{args:?}: wanted exit 0, got {code:?}: {err}"));
        } else if !ok && (code != Some(2) || !err.contains(option)) {
            failures.push(format!(
                "{args:?}: wanted exit 2 and a message naming {option}, got {code:?}: {err}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn max_buffered_below_max_bytes_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
        .args([
            "crawl",
            "http://127.0.0.1:1/",
            "--max-bytes",
            "8M",
            "--max-buffered",
            "1M",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--max-buffered (1048576) must be at least --max-bytes"),
        "{err}"
    );
}

#[test]
fn library_config_values_that_would_panic_are_errors() {
    use solo_crawl::{AutoThrottle, Config, Crawler, LinkSpider};
    let site = DemoSite::start(10).unwrap();
    let bad = [
        Config {
            delay: Duration::MAX,
            ..Config::default()
        },
        Config {
            timeout: Duration::MAX,
            ..Config::default()
        },
        Config {
            timeout: Duration::ZERO,
            ..Config::default()
        },
        Config {
            backoff_base: Duration::MAX,
            ..Config::default()
        },
        Config {
            autothrottle: Some(AutoThrottle {
                target_concurrency: f64::NAN,
                ..AutoThrottle::default()
            }),
            ..Config::default()
        },
        Config {
            concurrency: 0,
            ..Config::default()
        },
    ];
    for cfg in bad {
        let shown = format!("{cfg:?}");
        let r = solo::run(Crawler::new(LinkSpider::new(vec![site.url()]), cfg).run());
        let e = r.expect_err(&shown).to_string();
        assert!(e.starts_with("Config::"), "{e}");
    }
    // A tiny autothrottle target is valid: the slowest pace, no panic.
    let cfg = Config {
        autothrottle: Some(AutoThrottle {
            target_concurrency: 1e-22,
            start_delay: Duration::from_millis(10),
            ..AutoThrottle::default()
        }),
        max_pages: Some(2),
        obey_robots: false,
        ..Config::default()
    };
    let r = solo::run(Crawler::new(LinkSpider::new(vec![site.url()]), cfg).run());
    assert_eq!(r.unwrap().counts.pages, 2);
}
