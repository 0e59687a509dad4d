//! The workloads. Each runs, in a child process of its own, on one runtime,
//! checks its own result and returns its metrics.

pub mod echo;
pub mod echo_x;
pub mod http;
pub mod pingpong;
pub mod spawn;
pub mod timers;
pub mod yields;

/// One measured number of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// What is measured (`"throughput"`, `"mean_lateness"`, ...).
    pub name: String,
    /// The value, in `unit`.
    pub value: f64,
    /// The unit (`"tasks/s"`, `"ms"`, ...).
    pub unit: String,
    /// Whether a larger value is better.
    pub higher_is_better: bool,
}

impl Metric {
    /// A metric where more is better.
    pub fn higher(name: &str, value: f64, unit: &str) -> Metric {
        Metric {
            name: name.into(),
            value,
            unit: unit.into(),
            higher_is_better: true,
        }
    }

    /// A metric where less is better.
    pub fn lower(name: &str, value: f64, unit: &str) -> Metric {
        Metric {
            higher_is_better: false,
            ..Metric::higher(name, value, unit)
        }
    }
}

/// A run's metrics, or why its self-check failed.
pub type Outcome = Result<Vec<Metric>, String>;

/// How big a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    /// `--quick`: every workload scaled down about 100×.
    pub quick: bool,
}

impl Scale {
    /// `full`, or `full / quick_divisor` under `--quick`.
    pub fn pick(self, full: usize, quick_divisor: usize) -> usize {
        if self.quick {
            (full / quick_divisor).max(1)
        } else {
            full
        }
    }
}

/// The workloads `all` runs, in order.
pub const ALL: [&str; 7] = [
    "spawn",
    "yield",
    "pingpong",
    "timers",
    "timers-100k",
    "echo",
    "echo-x",
];

/// Workloads run only when named: `http` needs nginx.
pub const EXTRA: [&str; 1] = ["http"];

/// Runs the in-process workload `name` on the runtime called `runtime`
/// (echo-x's two processes are driven by [`echo_x`] instead).
pub fn run(name: &str, runtime: &str, scale: Scale) -> Outcome {
    let out = match name {
        "spawn" => crate::rt::dispatch(runtime, spawn::Spawn(scale)),
        "yield" => crate::rt::dispatch(runtime, yields::Yield(scale)),
        "pingpong" => crate::rt::dispatch(runtime, pingpong::PingPong(scale)),
        "timers" => crate::rt::dispatch(runtime, timers::Timers::full(scale)),
        "timers-100k" => crate::rt::dispatch(runtime, timers::Timers::small(scale)),
        "echo" => crate::rt::dispatch(runtime, echo::Echo(scale)),
        _ => return Err(format!("unknown workload {name:?}")),
    };
    out.unwrap_or_else(|| Err(format!("unknown runtime {runtime:?}")))
}

/// `Err` with `what` unless `got == want`.
pub fn check<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "self-check failed: {what}: got {got:?}, expected {want:?}"
        ))
    }
}

/// Operations per second.
pub fn per_sec(ops: usize, elapsed: std::time::Duration) -> f64 {
    ops as f64 / elapsed.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rt::{Rt, Smol, Solo, Tokio};

    #[test]
    fn checks_say_what_failed() {
        assert_eq!(check("sum", 3, 3), Ok(()));
        assert_eq!(
            check("sum", 2, 3),
            Err("self-check failed: sum: got 2, expected 3".to_string())
        );
    }

    #[test]
    fn quick_scales_down() {
        assert_eq!(Scale { quick: false }.pick(1_000_000, 100), 1_000_000);
        assert_eq!(Scale { quick: true }.pick(1_000_000, 100), 10_000);
        assert_eq!(Scale { quick: true }.pick(5, 100), 1);
    }

    /// The timers doc counts an 8-byte join handle per task on every runtime.
    #[test]
    fn join_handles_are_one_pointer() {
        let sizes = [
            std::mem::size_of::<<Solo as Rt>::Join<i64>>(),
            std::mem::size_of::<<Tokio as Rt>::Join<i64>>(),
            std::mem::size_of::<<Smol as Rt>::Join<i64>>(),
        ];
        assert_eq!(sizes, [8; 3]);
    }
}
