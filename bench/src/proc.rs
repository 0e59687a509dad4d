//! What the kernel says about this process: resident memory from
//! `/proc/self/status`, the load average, and CPU pinning.

use std::io;

/// A `kB` field of `/proc/self/status` (`VmRSS`, `VmHWM`, ...), in bytes.
pub fn status_bytes(field: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix(field)?.strip_prefix(':')?;
            let kb = rest.trim().strip_suffix("kB")?.trim();
            kb.parse::<u64>().ok()
        })
        .map(|kb| kb * 1024)
        .ok_or_else(|| io::Error::other(format!("no {field} in /proc/self/status")))
}

/// Current resident set size, bytes.
pub fn rss() -> io::Result<u64> {
    status_bytes("VmRSS")
}

/// Peak resident set size of this process so far, bytes.
pub fn peak_rss() -> io::Result<u64> {
    status_bytes("VmHWM")
}

/// The 1, 5 and 15 minute load averages, as `/proc/loadavg` prints them.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Pins this process to CPU `cpu` (used when `taskset` is missing).
pub fn pin_to(cpu: usize) -> io::Result<()> {
    use nix::sched::{sched_setaffinity, CpuSet};
    use nix::unistd::Pid;
    let mut set = CpuSet::new();
    set.set(cpu).map_err(io::Error::from)?;
    sched_setaffinity(Pid::from_raw(0), &set).map_err(io::Error::from)
}

/// Where `program` is on `PATH`, if it is.
pub fn which(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}
