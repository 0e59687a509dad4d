//! The worker processes `--workers N` starts, and how they stop together.
//!
//! Owns: starting the N-1 child workers (each in a process group of its
//! own, so a terminal's Ctrl-C reaches the parent alone, and with its
//! stdin a pipe whose write end only the parent holds), passing a stop on
//! to them (SIGINT, their own Ctrl-C, or SIGTERM when that is what the
//! parent got: each stops gracefully and gives its leases back; a second
//! one hurries them), waiting for them, and the
//! child's end of the pipe: EOF on stdin (the parent is gone, even killed
//! by SIGKILL) stops its crawl gracefully. Stops asked from outside the
//! loop (the parent's SIGTERM, that EOF) reach the crawl through a
//! [`Link`], which the crawl's loop polls.
//! Must not: crawl, or read the crawl's settings (`shared_cli` does).

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};
use solo_crawl::StopHandle;

/// How often the crawl's loop looks at its [`Link`], and the parent at
/// its children.
const POLL: Duration = Duration::from_millis(100);

/// Whether the crawl was stopped from outside (Ctrl-C, SIGTERM, the
/// parent gone), a stop to pass on to the children. A limit of its own
/// (`--max-time`) is not: each child has the same limit and stops itself
/// (passed on, it printed a Ctrl-C nobody pressed, and a child already
/// stopping took it as a second one and quit at once).
pub(crate) fn stopped_from_outside(stop: &StopHandle) -> bool {
    stop.is_stopped() && stop.limit().is_none()
}

/// This process's link to the processes around it: the stops asked of
/// its crawl from outside the loop, and (in a parent) its children.
#[derive(Clone, Default)]
pub(crate) struct Link(Arc<Mutex<State>>);

#[derive(Default)]
struct State {
    /// Stops asked of this process's crawl: 1 graceful, 2 at once.
    asked: u8,
    /// What the crawl says when it stops for `asked`.
    why: &'static str,
    /// Stops passed on to the children so far (the same levels).
    passed: u8,
    /// The children not reaped yet.
    children: Vec<Child>,
    /// This process's crawl is over: a stop goes to the children alone.
    crawl_over: bool,
    /// The stop came as SIGTERM: the children get SIGTERM too (and say
    /// so), not SIGINT.
    terminated: bool,
}

impl Link {
    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// In a parent, before its first child: SIGTERM asks this process's
    /// crawl to stop (a second one: at once), which passes the stop on;
    /// SIGINT is the crawl's own Ctrl-C until it is over (see
    /// [`wait`](Link::wait)).
    pub(crate) fn relay_signals(&self) -> std::io::Result<Handle> {
        let mut signals = Signals::new([SIGTERM])?;
        let handle = signals.handle();
        let link = self.clone();
        std::thread::spawn(move || {
            for signal in signals.forever() {
                let mut s = link.state();
                s.terminated |= signal == SIGTERM;
                if s.crawl_over {
                    let next = (s.passed + 1).min(2);
                    drop(s);
                    link.pass_on(next);
                } else {
                    s.asked = (s.asked + 1).min(2);
                    s.why = "SIGTERM: finishing the requests in flight and stopping the other \
                             workers (SIGTERM again to quit at once)";
                }
            }
        });
        Ok(handle)
    }

    /// Starts `cmd` (a `worker` command line) as a child worker that
    /// stops when this process is gone.
    pub(crate) fn start_child(&self, mut cmd: Command) -> std::io::Result<()> {
        use std::os::unix::process::CommandExt;
        cmd.arg("--parent-pipe")
            .stdin(Stdio::piped())
            .process_group(0);
        let child = cmd.spawn()?;
        self.state().children.push(child);
        Ok(())
    }

    /// In a child started by [`start_child`](Link::start_child): EOF on
    /// stdin (the parent exited, or was killed) asks the crawl to stop
    /// gracefully.
    pub(crate) fn stop_when_stdin_closes(&self) {
        let link = self.clone();
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = [0u8; 64];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) => break,
                    Err(e) if e.kind() != std::io::ErrorKind::Interrupted => break,
                    _ => {}
                }
            }
            let mut s = link.state();
            if s.asked == 0 {
                s.asked = 1;
                s.why = "solo-crawl: the parent process is gone: finishing the requests in flight";
            }
        });
    }

    /// Runs beside the crawl on its loop: stops it as asked from outside,
    /// and passes a stop of the crawl from outside (Ctrl-C too, not its own
    /// limits: see [`stopped_from_outside`]) on to the children.
    pub(crate) async fn watch(self, stop: StopHandle) {
        let mut hurried = false;
        loop {
            solo::sleep(POLL).await;
            let (asked, why) = {
                let s = self.state();
                (s.asked, s.why)
            };
            if asked >= 1 && !stop.is_stopped() {
                tell!("{why}");
                stop.stop();
            }
            if asked >= 2 && !hurried {
                hurried = true;
                stop.hurry();
            }
            if stopped_from_outside(&stop) {
                self.pass_on(1);
            }
        }
    }

    /// Passes stops on to the children up to `level` (1: stop
    /// gracefully, 2: at once), each level once.
    pub(crate) fn pass_on(&self, level: u8) {
        let mut s = self.state();
        let signal = match s.terminated {
            true => rustix::process::Signal::TERM,
            false => rustix::process::Signal::INT,
        };
        while s.passed < level {
            s.passed += 1;
            for c in &s.children {
                let pid = rustix::process::Pid::from_child(c);
                let _ = rustix::process::kill_process(pid, signal);
            }
        }
    }

    /// In a parent whose own crawl is over: passes on a stop asked as it
    /// ended, lets SIGINT (no crawl hears it now) and SIGTERM stop the
    /// children, and waits for them all. Whether every child succeeded.
    pub(crate) fn wait(&self, relay: Handle) -> bool {
        let asked = {
            let mut s = self.state();
            s.crawl_over = true;
            s.asked
        };
        self.pass_on(asked);
        let _ = relay.add_signal(SIGINT);
        let mut ok = true;
        loop {
            {
                let mut s = self.state();
                // Reaped under the lock: a stop never goes to a reused pid.
                s.children.retain_mut(|c| match c.try_wait() {
                    Ok(None) => true,
                    Ok(Some(status)) => {
                        ok &= status.success();
                        false
                    }
                    Err(_) => {
                        ok = false;
                        false
                    }
                });
                if s.children.is_empty() {
                    break;
                }
            }
            std::thread::sleep(POLL);
        }
        relay.close();
        ok
    }
}
