//! Signals reach the loop as ordinary wakeups.

use std::time::Duration;

use solo::signal::{unix, SignalKind};

#[test]
fn a_raised_signal_wakes_the_waiting_task_and_repeats() {
    solo::run(async {
        let mut usr1 = unix(SignalKind::user_defined1()).unwrap();
        let waiter = solo::spawn(async move {
            let mut n = 0;
            while n < 3 {
                usr1.recv().await.unwrap();
                n += 1;
            }
            n
        });
        for _ in 0..3 {
            // From another thread, as a real signal would come.
            solo::to_thread(|| signal_hook::low_level::raise(libc::SIGUSR1).unwrap()).await;
            solo::sleep(Duration::from_millis(20)).await;
        }
        let got = solo::timeout(Duration::from_secs(5), waiter).await;
        assert_eq!(got.expect("all three deliveries seen").unwrap(), 3);
    });
}

#[test]
fn two_listeners_for_one_signal_both_hear_it() {
    solo::run(async {
        let mut a = unix(SignalKind::user_defined2()).unwrap();
        let mut b = unix(SignalKind::user_defined2()).unwrap();
        signal_hook::low_level::raise(libc::SIGUSR2).unwrap();
        let (ra, rb) = solo::gather!(a.recv(), b.recv());
        assert_eq!((ra, rb), (Some(()), Some(())));
    });
}

#[test]
fn uncatchable_signals_are_an_error() {
    solo::run(async {
        for sig in [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV] {
            let e = unix(SignalKind::from_raw(sig)).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        }
        // Not a signal number at all: the OS refuses, still no panic.
        assert!(unix(SignalKind::from_raw(1000)).is_err());
    });
}

/// After its last listener is dropped, a signal has its default action
/// again (broad-audit defect 7: a finished crawl ignored SIGTERM). Run in
/// a child process (this test binary again), which SIGTERM must end.
#[test]
fn a_signal_without_listeners_has_its_default_action_again() {
    if std::env::var_os("SOLO_SIGNAL_CHILD").is_some() {
        solo::run(async {
            let term = unix(SignalKind::terminate()).unwrap();
            drop(term);
        });
        signal_hook::low_level::raise(libc::SIGTERM).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        std::process::exit(0); // SIGTERM was swallowed
    }
    use std::os::unix::process::ExitStatusExt;
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_signal_without_listeners_has_its_default_action_again",
            "--nocapture",
        ])
        .env("SOLO_SIGNAL_CHILD", "1")
        .status()
        .unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
}

/// A `Signal` made during setup on one `EventLoop` and received in
/// another loop (then back in the first) keeps working: it moves to the
/// loop that receives.
#[test]
fn a_signal_made_on_one_loop_is_heard_on_another() {
    let mut setup = solo::EventLoop::new().unwrap();
    let mut winch = setup.run_until_complete(async { unix(SignalKind::window_change()).unwrap() });
    let heard = solo::run(async {
        signal_hook::low_level::raise(libc::SIGWINCH).unwrap();
        solo::timeout(Duration::from_secs(5), winch.recv())
            .await
            .ok()
    });
    assert_eq!(heard, Some(Some(())), "heard in the second loop");
    let heard = setup.run_until_complete(async {
        signal_hook::low_level::raise(libc::SIGWINCH).unwrap();
        solo::timeout(Duration::from_secs(5), winch.recv())
            .await
            .ok()
    });
    assert_eq!(heard, Some(Some(())), "heard back in the first loop");
    drop(winch);
    setup.close();
}
