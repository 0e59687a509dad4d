//! Runs every workload on every runtime at `--quick` scale, through the
//! real binary (child processes and all), and checks that each run passed
//! its self-check and reported its metrics.

use std::process::Command;

fn run_quick(workload: &str) {
    run_quick_on(workload, &["solo", "tokio", "smol"]);
}

fn run_quick_on(workload: &str, runtimes: &[&str]) {
    let json = std::env::temp_dir().join(format!(
        "solo-bench-smoke-{workload}-{}.jsonl",
        std::process::id()
    ));
    let out = Command::new(env!("CARGO_BIN_EXE_solo-bench"))
        .args([workload, "--quick", "--reps", "1", "--json"])
        .arg(&json)
        .output()
        .expect("start solo-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{workload} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let lines = std::fs::read_to_string(&json).expect("the JSON lines were written");
    std::fs::remove_file(&json).unwrap();
    for &runtime in runtimes {
        let needle = format!("\"workload\":\"{workload}\",\"runtime\":\"{runtime}\"");
        assert!(
            lines.lines().any(|l| l.contains(&needle)),
            "no {runtime} result for {workload} in:\n{lines}"
        );
        assert!(
            stdout.contains(&format!("| {runtime} ")),
            "no {runtime} row in:\n{stdout}"
        );
    }
    for line in lines.lines() {
        for key in [
            "\"metric\":",
            "\"value\":",
            "\"unit\":",
            "\"higher_is_better\":",
            "\"reps\":",
        ] {
            assert!(line.contains(key), "{key} missing in {line}");
        }
    }
}

#[test]
fn spawn() {
    run_quick("spawn");
}

#[test]
fn yield_now() {
    run_quick("yield");
}

#[test]
fn pingpong() {
    run_quick("pingpong");
}

#[test]
fn timers() {
    run_quick("timers");
}

#[test]
fn timers_100k() {
    run_quick("timers-100k");
}

#[test]
fn echo() {
    run_quick("echo");
}

#[test]
fn echo_x() {
    run_quick("echo-x");
}

#[test]
fn bad_arguments_fail() {
    let out = Command::new(env!("CARGO_BIN_EXE_solo-bench"))
        .arg("no-such-workload")
        .output()
        .expect("start solo-bench");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument"));
}

#[test]
fn a_failed_child_fails_the_run() {
    let out = Command::new(env!("CARGO_BIN_EXE_solo-bench"))
        .args(["--child", "no-such-workload", "--runtime", "solo"])
        .output()
        .expect("start solo-bench");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown workload"));
}

/// solo-http and reqwest against nginx; skipped (passing) without nginx.
#[test]
fn http() {
    let found = ["/usr/sbin/nginx", "/usr/local/sbin/nginx"]
        .iter()
        .any(|p| std::path::Path::new(p).is_file())
        || std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("nginx").is_file()));
    if !found {
        eprintln!("skipped: nginx not found");
        return;
    }
    run_quick_on("http", &["solo", "tokio"]);
}
