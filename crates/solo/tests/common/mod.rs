//! Helpers shared by the integration tests that manage descriptors.
#![allow(dead_code)]

/// The number of descriptors this process has open.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Sets the soft `RLIMIT_NOFILE` (capped at the hard limit); returns the
/// previous soft limit and the limit now in force.
pub fn set_fd_limit(soft: u64) -> (u64, u64) {
    // SAFETY: plain libc calls on a valid, initialised `rlimit`.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut r), 0);
        let old = r.rlim_cur;
        r.rlim_cur = soft.min(r.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &r), 0);
        (old, r.rlim_cur)
    }
}
