//! `#[solo::main]` and `#[solo::test]`: the body runs on a fresh loop, with
//! the options it asks for, and the loop is closed afterwards.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use common::Capture;

#[solo::test]
async fn test_body_runs_on_a_loop() {
    let shared = Rc::new(Cell::new(0)); // !Send is fine
    let s = shared.clone();
    let task = solo::spawn(async move {
        solo::sleep(Duration::from_millis(5)).await;
        s.set(7);
        "done"
    });
    assert_eq!(task.await.unwrap(), "done");
    assert_eq!(shared.get(), 7);
}

#[solo::test]
async fn test_may_return_a_result() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = solo::to_thread(|| "41".parse()).await?;
    solo::timeout(Duration::from_secs(5), async {}).await?;
    assert_eq!(n + 1, 42);
    Ok(())
}

#[solo::test]
#[should_panic(expected = "from inside the loop")]
async fn test_keeps_other_attributes() {
    solo::yield_now().await;
    panic!("from inside the loop");
}

#[solo::test(paused_clock)]
async fn paused_clock_sleeps_an_hour_in_virtual_time() {
    let t0 = solo::time::now();
    let wall = std::time::Instant::now();
    solo::sleep(Duration::from_secs(3600)).await;
    assert!(solo::time::now() - t0 >= Duration::from_secs(3600));
    // Generous: the point is "not an hour".
    assert!(wall.elapsed() < Duration::from_secs(60));
}

#[solo::test(paused_clock)]
async fn paused_clock_gives_each_timer_its_own_deadline() {
    let t0 = solo::time::now();
    let finished = solo::gather([30u64, 10, 20].map(|s| async move {
        solo::sleep(Duration::from_secs(s)).await;
        solo::time::now() - t0
    }))
    .await;
    let secs: Vec<u64> = finished.iter().map(Duration::as_secs).collect();
    assert_eq!(secs, [30, 10, 20]);
}

/// Blocks the loop in a named task for longer than the debug mode's
/// default threshold (100 ms) and returns what `tracing` printed.
async fn block_the_loop_in_a_task() -> String {
    let cap = Capture::default();
    let _guard = tracing::subscriber::set_default(cap.subscriber());
    let t = solo::spawn(async { std::thread::sleep(Duration::from_millis(150)) });
    t.set_name("blocker");
    t.await.unwrap();
    cap.text()
}

#[solo::test(debug)]
async fn debug_option_turns_slow_poll_warnings_on() {
    let out = block_the_loop_in_a_task().await;
    assert!(out.contains("name='blocker'"), "{out}");
}

#[solo::test(debug, paused_clock)]
async fn options_combine() {
    let out = block_the_loop_in_a_task().await;
    assert!(out.contains("name='blocker'"), "{out}");
    let t0 = solo::time::now();
    solo::sleep(Duration::from_secs(3600)).await;
    assert!(solo::time::now() - t0 >= Duration::from_secs(3600));
}

#[solo::test]
async fn no_debug_option_no_warnings() {
    // Unless SOLO_DEBUG is set in the environment of the test run.
    if std::env::var_os("SOLO_DEBUG").is_some() {
        return;
    }
    let out = block_the_loop_in_a_task().await;
    assert!(!out.contains("Executing"), "{out}");
}

// `#[solo::main]` works on any `async fn` without arguments; these are
// called from ordinary tests below.

#[solo::main]
async fn main_returning_a_value() -> u32 {
    let a = solo::spawn(async { 40 });
    let b = solo::spawn(async { 2 });
    a.await.unwrap() + b.await.unwrap()
}

#[solo::main]
async fn main_with_question_mark() -> Result<u32, std::num::ParseIntError> {
    let n: u32 = "x".parse()?;
    Ok(n)
}

#[solo::main(paused_clock)]
async fn main_on_the_paused_clock() -> Duration {
    let t0 = solo::time::now();
    solo::sleep(Duration::from_secs(3600)).await;
    solo::time::now() - t0
}

thread_local! {
    static DROPPED: Cell<bool> = const { Cell::new(false) };
}

struct SetOnDrop;

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        DROPPED.with(|d| d.set(true));
    }
}

#[solo::main]
async fn main_leaving_a_task_behind() {
    let guard = SetOnDrop;
    let task = solo::spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    drop(task); // detached: still running when main returns
    solo::yield_now().await;
}

#[test]
fn main_runs_the_body_and_returns_its_value() {
    assert_eq!(main_returning_a_value(), 42);
}

#[test]
fn main_question_mark_returns_the_error() {
    assert!(main_with_question_mark().is_err());
}

#[test]
fn main_paused_clock() {
    assert!(main_on_the_paused_clock() >= Duration::from_secs(3600));
}

#[test]
fn main_closes_the_loop_and_cancels_leftover_tasks() {
    DROPPED.with(|d| d.set(false));
    main_leaving_a_task_behind();
    assert!(DROPPED.with(Cell::get));
}
