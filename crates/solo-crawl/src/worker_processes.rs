//! The worker processes `--workers N` starts, and how they stop together.
//!
//! Owns: starting the N-1 child workers (each in a process group of its
//! own, so a terminal's Ctrl-C reaches the parent alone, and with its
//! stdin a pipe whose write end only the parent holds), passing a stop on
//! to them (through that pipe, as a level: stop gracefully, or at once;
//! not as a signal, so a child that a supervisor signalled itself, as
//! systemd's `KillMode=control-group` does, does not count the parent's
//! stop of the same kind as a second signal and quit at once), waiting
//! for them and saying which one died and how, and the child's end of
//! the pipe: its levels, and EOF (the parent is gone, even killed by
//! SIGKILL) stops its crawl gracefully. Stops asked from outside the
//! loop (the parent's SIGTERM, the pipe) reach the crawl through a
//! [`Link`], which the crawl's loop polls.
//! Must not: crawl, or read the crawl's settings (`shared_cli` does).

use std::io::{Read, Write};
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
    /// The children not reaped yet, with their worker numbers.
    children: Vec<(u64, Child)>,
    /// This process's crawl is over: a stop goes to the children alone.
    crawl_over: bool,
    /// The stop came as SIGTERM: the children are told so (they say
    /// "SIGTERM", not "Ctrl-C").
    terminated: bool,
    /// A child did not succeed (see [`died`]).
    failed: bool,
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

    /// Starts `cmd` (a `worker` command line) as child worker `n`, that
    /// stops when this process is gone.
    pub(crate) fn start_child(&self, n: u64, mut cmd: Command) -> std::io::Result<()> {
        use std::os::unix::process::CommandExt;
        cmd.arg("--parent-pipe")
            .stdin(Stdio::piped())
            .process_group(0);
        let child = cmd.spawn()?;
        self.state().children.push((n, child));
        Ok(())
    }

    /// In a child started by [`start_child`](Link::start_child): reads
    /// the stops its parent passes on (see [`pass_on`](Link::pass_on));
    /// EOF on stdin (the parent exited, or was killed) asks the crawl to
    /// stop gracefully.
    pub(crate) fn stop_when_stdin_closes(&self) {
        let link = self.clone();
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = [0u8; 64];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => buf[..n].iter().for_each(|&b| link.passed_on(b)),
                    Err(e) if e.kind() != std::io::ErrorKind::Interrupted => break,
                    Err(_) => {}
                }
            }
            let mut s = link.state();
            if s.asked == 0 {
                s.asked = 1;
                s.why = "solo-crawl: the parent process is gone: finishing the requests in flight";
            }
        });
    }

    /// In a child: one byte of a stop its parent passed on. Levels, not
    /// counts: the same stop twice is one stop, and a child already
    /// stopping (signalled itself, or at its own limit) just goes on
    /// stopping; only the parent's second signal (`!`) hurries it.
    fn passed_on(&self, byte: u8) {
        let mut s = self.state();
        let why = match byte {
            b'i' => "Ctrl-C: finishing the requests in flight (passed on by the first worker)",
            b't' => "SIGTERM: finishing the requests in flight (passed on by the first worker)",
            b'!' => {
                s.asked = 2;
                return;
            }
            _ => return,
        };
        if s.asked == 0 {
            s.asked = 1;
            s.why = why;
        }
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
            // A stop asked after the crawl's own limit stopped it too.
            if asked >= 1 || stopped_from_outside(&stop) {
                self.pass_on(1);
            }
            // A child that dies is named now, not when this crawl ends.
            self.reap();
        }
    }

    /// Passes stops on to the children up to `level` (1: stop
    /// gracefully, 2: at once), each level once, through their stdin
    /// (see [`passed_on`](Link::passed_on)); a child gone is skipped.
    pub(crate) fn pass_on(&self, level: u8) {
        let mut s = self.state();
        let stop = match s.terminated {
            true => b't',
            false => b'i',
        };
        while s.passed < level {
            s.passed += 1;
            let byte = if s.passed == 1 { stop } else { b'!' };
            for (_, c) in &mut s.children {
                if let Some(pipe) = c.stdin.as_mut() {
                    let _ = pipe.write_all(&[byte]);
                }
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
        while !self.reap() {
            std::thread::sleep(POLL);
        }
        relay.close();
        !self.state().failed
    }

    /// Reaps the children that exited, naming each that did not succeed
    /// (see [`died`]); whether none is left.
    fn reap(&self) -> bool {
        let mut s = self.state();
        let asked = s.passed > 0;
        let mut failed = false;
        s.children.retain_mut(|(n, c)| match c.try_wait() {
            Ok(None) => true,
            Ok(Some(status)) => {
                failed |= !status.success();
                if let Some(how) = died(status, asked) {
                    tell!("solo-crawl: worker {n} (pid {}) {how}", c.id());
                }
                false
            }
            Err(e) => {
                tell!(
                    "solo-crawl: worker {n} (pid {}): cannot wait for it: {e}",
                    c.id()
                );
                failed = true;
                false
            }
        });
        s.failed |= failed;
        s.children.is_empty()
    }
}

/// How a child worker that did not succeed ended, in words for the
/// operator; `None` for success, and for the 130 of a child that its
/// parent asked to stop (`asked`) and that stopped with work left.
fn died(status: std::process::ExitStatus, asked: bool) -> Option<String> {
    use std::os::unix::process::ExitStatusExt;
    if let Some(sig) = status.signal() {
        let (name, hint) = match sig {
            9 => (
                "SIGKILL",
                ": `kill -9`, or the out-of-memory killer (see `dmesg`)",
            ),
            11 => ("SIGSEGV", ": a crash, please report it"),
            6 => ("SIGABRT", ": a crash, please report it"),
            15 => ("SIGTERM", ""),
            2 => ("SIGINT", ""),
            1 => ("SIGHUP", ""),
            _ => ("a signal", ""),
        };
        return Some(format!(
            "was killed by {name} (signal {sig}){hint}; the other workers fetch its pages in \
             flight once its leases end (--lease-timeout)"
        ));
    }
    let code = status.code()?;
    let hint = match code {
        0 => return None,
        130 if asked => return None,
        101 => " (a panic: please report it with its message above)",
        130 => " (it was stopped by a signal of its own)",
        _ => " (its message is above)",
    };
    Some(format!("exited with status {code}{hint}"))
}
