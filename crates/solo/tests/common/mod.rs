//! Helpers shared by the integration tests: capturing what `tracing`
//! prints (debug mode's warnings), and counting or limiting descriptors.
//! Not every test binary uses every helper.
#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex};

/// A `tracing` writer that keeps what it is given.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// A plain-text `fmt` subscriber that writes here.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync {
        let c = self.clone();
        tracing_subscriber::fmt()
            .with_writer(move || c.clone())
            .with_ansi(false)
            .finish()
    }
}

/// What `tracing` printed on this thread while `f` ran.
pub fn captured(f: impl FnOnce()) -> String {
    let cap = Capture::default();
    tracing::subscriber::with_default(cap.subscriber(), f);
    cap.text()
}

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
