//! Debug mode's reports (asyncio's `PYTHONASYNCIODEBUG`).
//!
//! Owns: the wording of the warnings the loop emits through `tracing`
//! (target `solo::debug`), and printing them on stderr when no `tracing`
//! subscriber is installed (as asyncio's logging falls back to stderr when
//! nothing is configured). Must
//! not: decide when to emit them — the loop measures, this module speaks.

use std::panic::Location;
use std::time::Duration;

use crate::task::TaskInfo;

/// Emits a warning through `tracing` (with the given fields), or on stderr
/// when no subscriber is installed at all: debug mode was asked for, so its
/// reports must not vanish. A subscriber that filters `solo::debug`'s WARN
/// out has the last word: the report is dropped, as asyncio's are when
/// logging is configured above WARNING.
macro_rules! report {
    ($($field:ident = $value:expr,)* ; $($msg:tt)+) => {
        if tracing::enabled!(target: "solo::debug", tracing::Level::WARN) {
            tracing::warn!(target: "solo::debug", $($field = $value,)* $($msg)+);
        } else if !$crate::debug::subscriber_installed() {
            eprintln!("WARN solo::debug: {}", format_args!($($msg)+));
        }
    };
}

/// True when a `tracing` subscriber is in force on this thread (a global
/// default or a scoped one), whatever it filters.
pub(crate) fn subscriber_installed() -> bool {
    tracing::dispatcher::get_default(|d| !d.is::<tracing::subscriber::NoSubscriber>())
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
