//! Medians, the table, the targets and the JSON lines.

use std::fmt::Write as _;
use std::io::Write as _;

use crate::rt;
use crate::workloads::{Metric, Scale};

/// Every value of one metric of one workload on one runtime.
struct Series {
    workload: String,
    runtime: String,
    metric: Metric,
    values: Vec<f64>,
}

impl Series {
    fn median(&self) -> Option<f64> {
        median(&self.values)
    }

    /// The spread of the runs, `min..max` (empty for a single run).
    fn range(&self) -> String {
        let min = self.values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self
            .values
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        if self.values.len() < 2 {
            String::new()
        } else {
            format!("{}..{}", fmt_value(min), fmt_value(max))
        }
    }
}

/// The median of `values` (mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// All the runs' metrics, in the order they were first seen.
#[derive(Default)]
pub struct Results {
    series: Vec<Series>,
    /// The load average as each workload started.
    loads: Vec<(String, String)>,
}

impl Results {
    /// Remembers the load average as `workload` starts.
    pub fn note_load(&mut self, workload: &str, loadavg: String) {
        self.loads.push((workload.into(), loadavg));
    }

    /// One line: the load average (1, 5, 15 min) as each workload started.
    pub fn loads(&self) -> String {
        let each: Vec<String> = self.loads.iter().map(|(w, l)| format!("{w} {l}")).collect();
        format!(
            "Load average at the start of each workload: {}",
            each.join("; ")
        )
    }

    /// Records one run's `metric`.
    pub fn add(&mut self, workload: &str, runtime: &str, metric: Metric) {
        let value = metric.value;
        self.entry(workload, runtime, metric).values.push(value);
    }

    /// Records that `metric` could not be measured (shown as n/a).
    pub fn missing(&mut self, workload: &str, runtime: &str, metric: &str, unit: &str) {
        self.entry(workload, runtime, Metric::lower(metric, f64::NAN, unit));
    }

    fn entry(&mut self, workload: &str, runtime: &str, metric: Metric) -> &mut Series {
        let i = self.series.iter().position(|s| {
            s.workload == workload && s.runtime == runtime && s.metric.name == metric.name
        });
        let i = i.unwrap_or_else(|| {
            self.series.push(Series {
                workload: workload.into(),
                runtime: runtime.into(),
                metric,
                values: Vec::new(),
            });
            self.series.len() - 1
        });
        &mut self.series[i]
    }

    fn find(&self, workload: &str, runtime: &str, metric: &str) -> Option<&Series> {
        self.series
            .iter()
            .find(|s| s.workload == workload && s.runtime == runtime && s.metric.name == metric)
    }

    fn median_of(&self, workload: &str, runtime: &str, metric: &str) -> Option<f64> {
        self.find(workload, runtime, metric)?.median()
    }

    /// The (workload, metric) pairs, in order of appearance.
    fn rows(&self) -> Vec<(&str, &str)> {
        let mut rows: Vec<(&str, &str)> = Vec::new();
        for s in &self.series {
            let key = (s.workload.as_str(), s.metric.name.as_str());
            if !rows.contains(&key) {
                rows.push(key);
            }
        }
        rows
    }

    /// The human table: one row per workload, metric and runtime, with the
    /// ratio solo/peer on the peers' rows and the spread of the runs.
    pub fn table(&self) -> String {
        let mut lines = vec![[
            "workload".to_string(),
            "metric".into(),
            "runtime".into(),
            "median".into(),
            "unit".into(),
            "solo/peer".into(),
            "min..max".into(),
        ]];
        for (w, m) in self.rows() {
            let solo = self.median_of(w, "solo", m);
            for r in rt::NAMES {
                let Some(s) = self.find(w, r, m) else {
                    continue;
                };
                let median = s.median().filter(|v| !v.is_nan());
                let ratio = match (r, solo, median) {
                    ("solo", _, _) => String::new(),
                    (_, Some(a), Some(b)) if !a.is_nan() => format!("{:.2}x", a / b),
                    _ => "n/a".into(),
                };
                let dir = if s.metric.higher_is_better {
                    "higher is better"
                } else {
                    "lower is better"
                };
                lines.push([
                    w.into(),
                    m.into(),
                    r.into(),
                    median.map_or("n/a".into(), fmt_value),
                    format!("{} ({dir})", s.metric.unit),
                    ratio,
                    s.range(),
                ]);
            }
        }
        render(&lines)
    }

    /// The targets of issue 4, each with solo's figure and pass or fail.
    pub fn targets(&self, scale: Scale) -> String {
        let mut lines = vec![[
            "target".to_string(),
            "solo".into(),
            "measured".into(),
            "result".into(),
        ]];
        for (label, workload, metric, goal) in TARGETS {
            let Some(solo) = self.median_of(workload, "solo", metric) else {
                continue;
            };
            let (measured, pass) = match goal {
                Goal::AtMost(max) => (fmt_value(solo), solo <= max),
                Goal::RatioAtLeast(peer, min) | Goal::RatioAtMost(peer, min) => {
                    let Some(p) = self.median_of(workload, peer, metric) else {
                        continue;
                    };
                    let ratio = solo / p;
                    let pass = match goal {
                        Goal::RatioAtLeast(..) => ratio >= min,
                        _ => ratio <= min,
                    };
                    (format!("{ratio:.2}x {peer} ({})", fmt_value(p)), pass)
                }
            };
            let result = match (solo.is_nan(), pass) {
                (true, _) => "n/a",
                (_, true) => "PASS",
                _ => "FAIL",
            };
            lines.push([label.into(), fmt_value(solo), measured, result.into()]);
        }
        if self.find("timers", "solo", "wall").is_some() {
            lines.push([
                "timers: all 1M timers fire".into(),
                "yes".into(),
                "self-check".into(),
                "PASS".into(),
            ]);
        }
        let note = if scale.quick {
            " (--quick: scaled down, not meaningful)"
        } else {
            ""
        };
        format!("\nTargets{note}:\n{}", render(&lines))
    }

    /// Writes the JSON lines (one per workload, runtime and metric; the
    /// value is the median). Metrics that could not be measured are left
    /// out.
    pub fn write_json(&self, path: &str) -> std::io::Result<()> {
        if let Some(dir) = std::path::Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)?;
            }
        }
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        for s in &self.series {
            let Some(value) = s.median().filter(|v| v.is_finite()) else {
                continue;
            };
            writeln!(
                f,
                "{{\"workload\":{},\"runtime\":{},\"metric\":{},\"value\":{value},\"unit\":{},\"higher_is_better\":{},\"reps\":{}}}",
                json_str(&s.workload),
                json_str(&s.runtime),
                json_str(&s.metric.name),
                json_str(&s.metric.unit),
                s.metric.higher_is_better,
                s.values.len()
            )?;
        }
        f.flush()
    }
}

enum Goal {
    /// solo's median at most this.
    AtMost(f64),
    /// solo / peer at least this.
    RatioAtLeast(&'static str, f64),
    /// solo / peer at most this.
    RatioAtMost(&'static str, f64),
}

/// (label, workload, metric, goal).
type Target = (&'static str, &'static str, &'static str, Goal);

#[rustfmt::skip]
const TARGETS: [Target; 14] = [
    ("spawn: >= 1.5x smol tasks/s", "spawn", "throughput", Goal::RatioAtLeast("smol", 1.5)),
    ("spawn: <= 96 B/task overhead", "spawn", "overhead", Goal::AtMost(96.0)),
    ("yield: >= 1.5x tokio", "yield", "throughput", Goal::RatioAtLeast("tokio", 1.5)),
    ("pingpong: >= 2.0x tokio", "pingpong", "throughput", Goal::RatioAtLeast("tokio", 2.0)),
    ("timers: 1M wall <= 1.25 s", "timers", "wall", Goal::AtMost(1.25)),
    ("timers: <= 200 B RSS per sleeping task", "timers", "rss_per_task", Goal::AtMost(200.0)),
    ("timers-100k: mean lateness <= 2 ms", "timers-100k", "mean_lateness", Goal::AtMost(2.0)),
    ("timers-100k: max lateness <= 10 ms", "timers-100k", "max_lateness", Goal::AtMost(10.0)),
    ("echo: >= 1.2x tokio round trips/s", "echo", "throughput", Goal::RatioAtLeast("tokio", 1.2)),
    ("echo: peak RSS <= tokio's", "echo", "peak_rss", Goal::RatioAtMost("tokio", 1.0)),
    ("echo-x: >= 1.2x tokio round trips/s", "echo-x", "throughput", Goal::RatioAtLeast("tokio", 1.2)),
    ("echo-x: server peak RSS <= tokio's", "echo-x", "peak_rss", Goal::RatioAtMost("tokio", 1.0)),
    ("echo-x: <= 3 server syscalls per round trip", "echo-x", "syscalls_per_rt", Goal::AtMost(3.0)),
    ("http: solo-http >= 1.3x reqwest requests/s", "http", "throughput", Goal::RatioAtLeast("tokio", 1.3)),
];

/// A value with a precision that suits its size.
pub fn fmt_value(v: f64) -> String {
    let a = v.abs();
    if v.is_nan() {
        "n/a".into()
    } else if a >= 10_000.0 {
        group_thousands(v.round() as i64)
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Lays out rows as a Markdown-style table with aligned columns.
fn render<const N: usize>(rows: &[[String; N]]) -> String {
    let mut width = [0; N];
    for row in rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(width)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
        if i == 0 {
            let rule: Vec<String> = width.iter().map(|&w| "-".repeat(w)).collect();
            let _ = writeln!(out, "|-{}-|", rule.join("-|-"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn values_and_json() {
        assert_eq!(fmt_value(1_234_567.4), "1,234,567");
        assert_eq!(fmt_value(-12_345.0), "-12,345");
        assert_eq!(fmt_value(123.45), "123.5");
        assert_eq!(fmt_value(1.234), "1.23");
        assert_eq!(fmt_value(0.1234), "0.123");
        assert_eq!(json_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }

    #[test]
    fn json_lines_have_the_schema() {
        let mut r = Results::default();
        for v in [3.0, 1.0, 2.0] {
            r.add("spawn", "solo", Metric::higher("throughput", v, "tasks/s"));
        }
        r.missing("echo-x", "solo", "syscalls_per_rt", "calls/round trip");
        let path = std::env::temp_dir().join(format!("solo-bench-{}.jsonl", std::process::id()));
        r.write_json(path.to_str().unwrap()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            text,
            "{\"workload\":\"spawn\",\"runtime\":\"solo\",\"metric\":\"throughput\",\"value\":2,\"unit\":\"tasks/s\",\"higher_is_better\":true,\"reps\":1}\n"
                .replace("\"reps\":1", "\"reps\":3")
        );
        assert!(r.table().contains("n/a"));
    }
}
