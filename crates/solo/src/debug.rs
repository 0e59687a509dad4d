//! Debug mode's reports (asyncio's `PYTHONASYNCIODEBUG`).
//!
//! Owns: the wording of the warnings the loop emits through `tracing`
//! (target `solo::debug`). Must not: decide when to emit them — the loop
//! measures, this module speaks.

use std::time::Duration;

use crate::task::TaskInfo;

/// One poll of a task held the loop for `took`.
pub(crate) fn slow_task(task: &TaskInfo, took: Duration) {
    tracing::warn!(
        target: "solo::debug",
        task_id = task.id().as_u64(),
        task_name = task.name(),
        spawned_at = %task.location(),
        "Executing {} took {:.3} seconds",
        task,
        took.as_secs_f64()
    );
}

/// A callback (or the root future) held the loop for `took`.
pub(crate) fn slow_callback(took: Duration) {
    tracing::warn!(
        target: "solo::debug",
        "Executing a callback took {:.3} seconds",
        took.as_secs_f64()
    );
}

/// A task panicked and nobody awaited it or looked at it in a callback.
pub(crate) fn unretrieved_panic(task: &TaskInfo) {
    tracing::warn!(
        target: "solo::debug",
        task_id = task.id().as_u64(),
        task_name = task.name(),
        spawned_at = %task.location(),
        "Task panic was never retrieved: {}",
        task
    );
}
