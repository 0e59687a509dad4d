//! Debug mode's reports (asyncio's `PYTHONASYNCIODEBUG`).
//!
//! Owns: the wording of the warnings the loop emits through `tracing`
//! (target `solo::debug`), and printing them on stderr when no `tracing`
//! subscriber listens (as asyncio's logging falls back to stderr). Must
//! not: decide when to emit them — the loop measures, this module speaks.

use std::panic::Location;
use std::time::Duration;

use crate::task::TaskInfo;

/// Emits a warning through `tracing` (with the given fields), or on stderr
/// when no subscriber would record it: debug mode was asked for, so its
/// reports must not vanish.
macro_rules! report {
    ($($field:ident = $value:expr,)* ; $($msg:tt)+) => {
        if tracing::enabled!(target: "solo::debug", tracing::Level::WARN) {
            tracing::warn!(target: "solo::debug", $($field = $value,)* $($msg)+);
        } else {
            eprintln!("WARN solo::debug: {}", format_args!($($msg)+));
        }
    };
}

/// One poll of a task held the loop for `took`.
pub(crate) fn slow_task(task: &TaskInfo, took: Duration) {
    report!(
        task_id = task.id().as_u64(),
        task_name = task.name(),
        spawned_at = tracing::field::display(task.location()),
        ;
        "Executing {} took {:.3} seconds",
        task,
        took.as_secs_f64()
    );
}

/// A callback scheduled at `at` held the loop for `took`.
pub(crate) fn slow_callback(at: &'static Location<'static>, took: Duration) {
    if *at == *unnamed() {
        report!(; "Executing a callback took {:.3} seconds", took.as_secs_f64());
    } else {
        report!(
            scheduled_at = tracing::field::display(at),
            ;
            "Executing <callback scheduled at {}> took {:.3} seconds",
            at,
            took.as_secs_f64()
        );
    }
}

/// The main future (`run_until_complete`, `solo::run`, `#[solo::main]`)
/// held the loop for `took`.
pub(crate) fn slow_main(took: Duration) {
    report!(; "Executing the main future (run_until_complete) took {:.3} seconds", took.as_secs_f64());
}

/// The location of a callback the loop schedules itself (a task's done
/// callbacks): not named in reports.
pub(crate) fn unnamed() -> &'static Location<'static> {
    Location::caller()
}

/// A task panicked and nobody awaited it or looked at it in a callback.
/// Its message was printed by the panic hook when it panicked.
pub(crate) fn unretrieved_panic(task: &TaskInfo) {
    report!(
        task_id = task.id().as_u64(),
        task_name = task.name(),
        spawned_at = tracing::field::display(task.location()),
        ;
        "Task panic was never retrieved: {} (the panic's message was printed when it happened)",
        task
    );
}
