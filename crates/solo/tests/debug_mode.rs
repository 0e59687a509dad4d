//! Debug mode: slow-poll warnings that name the task, and panics that
//! nobody retrieved.

mod common;

use std::time::Duration;

use common::captured;
use solo::EventLoop;

fn debug_loop() -> EventLoop {
    EventLoop::builder()
        .debug(true)
        .slow_callback_duration(Duration::from_millis(20))
        .build()
        .unwrap()
}

#[test]
fn blocking_task_is_named_in_a_warning() {
    let out = captured(|| {
        let mut lp = debug_loop();
        lp.run_until_complete(async {
            let quick = solo::spawn(async { solo::sleep(Duration::from_millis(1)).await });
            quick.set_name("quick");
            let t = solo::spawn(async {
                std::thread::sleep(Duration::from_millis(60)); // blocks the loop
            });
            t.set_name("blocker");
            quick.await.unwrap();
            t.await.unwrap();
        });
    });
    assert!(
        out.contains("Executing <Task finished name='blocker'"),
        "{out}"
    );
    assert!(
        out.contains("debug_mode.rs:"),
        "names the spawn location: {out}"
    );
    assert!(out.contains("took 0."), "{out}");
    assert!(
        !out.contains("name='quick'"),
        "fast tasks are not reported: {out}"
    );
}

#[test]
fn no_warnings_without_debug_mode() {
    let out = captured(|| {
        let mut lp = EventLoop::builder().debug(false).build().unwrap();
        lp.run_until_complete(async {
            solo::spawn(async { std::thread::sleep(Duration::from_millis(120)) })
                .await
                .unwrap();
        });
    });
    assert!(!out.contains("Executing"), "{out}");
}

/// A slow callback is named by where it was scheduled (`call_soon`,
/// `call_later`), and a slow main future as the main future: both were
/// "a callback", which pointed nowhere.
#[test]
fn slow_callbacks_and_main_are_named() {
    let out = captured(|| {
        let mut lp = debug_loop();
        lp.run_until_complete(async {
            solo::call_soon(|| std::thread::sleep(Duration::from_millis(40)));
            solo::yield_now().await;
            solo::call_later(Duration::from_millis(1), || {
                std::thread::sleep(Duration::from_millis(40))
            });
            solo::sleep(Duration::from_millis(5)).await;
            std::thread::sleep(Duration::from_millis(40)); // in main itself
        });
    });
    let soon = format!("Executing <callback scheduled at {}:", file!());
    assert_eq!(out.matches(&soon).count(), 2, "{out}");
    assert!(
        out.contains("Executing the main future (run_until_complete) took"),
        "{out}"
    );
    assert!(!out.contains("Executing a callback"), "{out}");
}

#[test]
fn unretrieved_panic_is_reported_at_close() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let out = captured(|| {
        let mut lp = EventLoop::builder().debug(true).build().unwrap();
        lp.run_until_complete(async {
            let lost = solo::spawn(async { panic!("nobody looks at me") });
            lost.set_name("lost");
            let seen = solo::spawn(async { panic!("awaited") });
            seen.set_name("seen");
            drop(lost);
            assert!(seen.await.is_err());
        });
        lp.close();
    });
    std::panic::set_hook(prev);
    assert!(out.contains("Task panic was never retrieved"), "{out}");
    assert!(out.contains("name='lost'"), "{out}");
    assert!(!out.contains("name='seen'"), "{out}");
}

/// A detached task whose cleanup panics when the loop closes and cancels
/// it ended "cancelled" and was not reported: its panic is now its
/// result, and nobody retrieved it.
#[test]
fn cleanup_panic_of_a_task_cancelled_at_close_is_reported() {
    struct FailingCleanup;
    impl Drop for FailingCleanup {
        fn drop(&mut self) {
            panic!("could not flush the file");
        }
    }
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let out = captured(|| {
        let mut lp = EventLoop::builder().debug(true).build().unwrap();
        lp.run_until_complete(async {
            let t = solo::spawn(async {
                let _cleanup = FailingCleanup;
                std::future::pending::<()>().await;
            });
            t.set_name("flusher");
            solo::yield_now().await;
        });
        lp.close();
    });
    std::panic::set_hook(prev);
    assert!(out.contains("Task panic was never retrieved"), "{out}");
    assert!(out.contains("name='flusher'"), "{out}");
}

#[test]
fn solo_debug_env_turns_debug_mode_on() {
    // Builder::new reads SOLO_DEBUG; this test binary's other tests do
    // not depend on it, but set and restore it around the read anyway.
    let old = std::env::var_os("SOLO_DEBUG");
    std::env::set_var("SOLO_DEBUG", "1");
    let on = EventLoop::new().unwrap().is_debug();
    std::env::set_var("SOLO_DEBUG", "0");
    let off = EventLoop::new().unwrap().is_debug();
    match old {
        Some(v) => std::env::set_var("SOLO_DEBUG", v),
        None => std::env::remove_var("SOLO_DEBUG"),
    }
    assert!(on);
    assert!(!off);
}

/// Set in the child process of the test below.
const NO_SUBSCRIBER_CHILD: &str = "SOLO_TEST_DEBUG_NO_SUBSCRIBER";

#[test]
fn reports_go_to_stderr_without_a_tracing_subscriber() {
    if std::env::var_os(NO_SUBSCRIBER_CHILD).is_some() {
        // The child: debug mode, no subscriber anywhere in this process.
        let mut lp = debug_loop();
        lp.run_until_complete(async {
            let lost = solo::spawn(async { panic!("nobody looks at me") });
            lost.set_name("lost");
            solo::call_soon(|| std::thread::sleep(Duration::from_millis(40)));
            solo::sleep(Duration::from_millis(1)).await;
        });
        lp.close();
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "reports_go_to_stderr_without_a_tracing_subscriber",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(NO_SUBSCRIBER_CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "WARN solo::debug: Task panic was never retrieved: <Task panicked name='lost'"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("WARN solo::debug: Executing <callback scheduled at"),
        "{stderr}"
    );
}

/// Set in the child process of the test below.
const FILTERED_CHILD: &str = "SOLO_TEST_DEBUG_FILTERED";

#[test]
fn reports_obey_a_subscriber_that_filters_them_out() {
    if std::env::var_os(FILTERED_CHILD).is_some() {
        // The child: debug mode, a subscriber that shows only errors.
        let errors_only = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::ERROR)
            .with_writer(std::io::stderr)
            .finish();
        tracing::subscriber::with_default(errors_only, || {
            let mut lp = debug_loop();
            lp.run_until_complete(async {
                solo::call_soon(|| std::thread::sleep(Duration::from_millis(40)));
                solo::sleep(Duration::from_millis(1)).await;
            });
            tracing::error!("the subscriber shows errors");
        });
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "reports_obey_a_subscriber_that_filters_them_out",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(FILTERED_CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("the subscriber shows errors"), "{stderr}");
    assert!(!stderr.contains("solo::debug"), "{stderr}");
}
