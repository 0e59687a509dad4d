//! Name lookups on their own threads (broad-audit defect 1): names whose
//! resolver never answers must not hold up the lookups of other names;
//! requests for one name share its lookup; a failure is remembered; a
//! deadline says where the time went. The blocking resolver here is a
//! stand-in for `getaddrinfo` against dead name servers: "dead*" names
//! block until the test opens the gate.

use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Blocks "dead*" names until opened (each test has its own).
type Gate = (Mutex<bool>, Condvar);

static GATE_MANY: Gate = (Mutex::new(false), Condvar::new());
static GATE_SHARED: Gate = (Mutex::new(false), Condvar::new());
static GATE_QUEUED: Gate = (Mutex::new(false), Condvar::new());
static CALLS_SHARED: AtomicUsize = AtomicUsize::new(0);
static CALLS_QUEUED: AtomicUsize = AtomicUsize::new(0);
static CALLS_SLOW: AtomicUsize = AtomicUsize::new(0);

fn open(gate: &Gate) {
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
}

/// "dead*": no answer until `gate` opens (at most 60 s), then a failure;
/// other names: 127.0.0.1.
fn resolve(gate: &Gate, name: &str) -> io::Result<Vec<IpAddr>> {
    if name.starts_with("dead") {
        let g = gate.0.lock().unwrap();
        let _ = gate
            .1
            .wait_timeout_while(g, Duration::from_secs(60), |open| !*open)
            .unwrap();
        return Err(io::Error::other("Temporary failure in name resolution"));
    }
    Ok(vec![[127, 0, 0, 1].into()])
}

fn resolver_many(name: &str) -> io::Result<Vec<IpAddr>> {
    resolve(&GATE_MANY, name)
}

fn resolver_shared(name: &str) -> io::Result<Vec<IpAddr>> {
    CALLS_SHARED.fetch_add(1, Ordering::SeqCst);
    resolve(&GATE_SHARED, name)
}

fn resolver_queued(name: &str) -> io::Result<Vec<IpAddr>> {
    if name == "never-started.test" {
        CALLS_QUEUED.fetch_add(1, Ordering::SeqCst);
    }
    resolve(&GATE_QUEUED, name)
}

#[test]
fn hanging_lookups_do_not_hold_up_other_names_and_time_out_saying_so() {
    solo::run(async {
        let order = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let dead: Vec<_> = (0..200)
            .map(|i| {
                let order = order.clone();
                solo::spawn(async move {
                    let name = format!("dead{i}.test");
                    let r =
                        solo::net::lookup_with(&name, resolver_many, Some(Duration::from_secs(2)))
                            .await;
                    order.borrow_mut().push("dead");
                    r
                })
            })
            .collect();
        // More dead names than the 64 threads of `to_thread`'s pool are
        // already hanging; a live name still gets a thread at once.
        solo::sleep(Duration::from_millis(50)).await;
        let live = solo::net::lookup_with("live.test", resolver_many, None)
            .await
            .unwrap();
        order.borrow_mut().push("live");
        assert_eq!(live, [IpAddr::from([127, 0, 0, 1])]);
        for t in dead {
            let e = t.await.unwrap().unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::TimedOut);
            let msg = e.to_string();
            assert!(msg.contains("name resolution of 'dead"), "{msg}");
            assert!(msg.contains("timed out after 2.00s"), "{msg}");
            assert!(msg.contains("the system resolver had no answer"), "{msg}");
        }
        assert_eq!(order.borrow()[0], "live", "{:?}", &order.borrow()[..3]);
        // Noted on the lookup still under way: the same name with the
        // same deadline fails at once, without a new lookup, saying whose
        // deadline ran out.
        let e = solo::net::lookup_with("dead7.test", resolver_many, Some(Duration::from_secs(2)))
            .await
            .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("a failed lookup is not repeated"), "{msg}");
        assert!(
            msg.contains("timed out after 2.00s (another call's deadline, which ran out"),
            "{msg}"
        );
    });
    open(&GATE_MANY);
}

#[test]
fn requests_for_one_name_share_its_lookup() {
    solo::run(async {
        let waits = (0..20).map(|_| {
            solo::net::lookup_with(
                "dead-shared.test",
                resolver_shared,
                Some(Duration::from_millis(300)),
            )
        });
        for r in solo::gather(waits).await {
            assert_eq!(r.unwrap_err().kind(), io::ErrorKind::TimedOut);
        }
    });
    assert_eq!(CALLS_SHARED.load(Ordering::SeqCst), 1);
    open(&GATE_SHARED);
}

#[test]
fn a_lookup_given_up_while_queued_never_runs_and_says_it_waited_for_a_thread() {
    let mut lp = solo::Builder::new().max_dns_threads(1).build().unwrap();
    lp.run_until_complete(async {
        let busy = solo::spawn(solo::net::lookup_with(
            "dead-busy.test",
            resolver_queued,
            None,
        ));
        solo::sleep(Duration::from_millis(50)).await;
        let e = solo::net::lookup_with(
            "never-started.test",
            resolver_queued,
            Some(Duration::from_millis(100)),
        )
        .await
        .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(
            e.to_string().contains("waiting for a free DNS thread"),
            "{e}"
        );
        open(&GATE_QUEUED);
        assert!(busy.await.unwrap().is_err());
        // The only thread is free again; the given-up lookup was skipped
        // and is not remembered as a failure.
        let ok = solo::net::lookup_with("after.test", resolver_queued, None)
            .await
            .unwrap();
        assert_eq!(ok.len(), 1);
    });
    assert_eq!(CALLS_QUEUED.load(Ordering::SeqCst), 0);
}

/// Answers after 300 ms.
fn resolver_slow(_: &str) -> io::Result<Vec<IpAddr>> {
    CALLS_SLOW.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(300));
    Ok(vec![[127, 0, 0, 1].into()])
}

/// One caller's deadline is its own (rt audit 4). A 20 ms deadline that
/// ran out was remembered as a failure of the name: a caller that asked
/// for no deadline failed at once with "timed out after 20.00ms" while
/// the lookup it could join answered 280 ms later. Now that caller, and
/// one already waiting, get the answer of the same lookup; a caller as
/// impatient still fails at once, saying it was another call's deadline.
#[test]
fn a_callers_deadline_does_not_fail_the_other_callers_of_the_lookup() {
    solo::run(async {
        let short = Some(Duration::from_millis(20));
        let waiting = solo::spawn(solo::net::lookup_with("api.test", resolver_slow, None));
        solo::yield_now().await;
        let e = solo::net::lookup_with("api.test", resolver_slow, short)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        let msg = e.to_string();
        assert!(
            msg.contains("timed out after 20.00ms (this call's deadline)"),
            "{msg}"
        );
        let t0 = std::time::Instant::now();
        let e = solo::net::lookup_with("api.test", resolver_slow, short)
            .await
            .unwrap_err();
        assert!(t0.elapsed() < Duration::from_millis(15), "failed at once");
        let msg = e.to_string();
        assert!(
            msg.contains("(another call's deadline, which ran out"),
            "{msg}"
        );
        let patient = solo::net::lookup_with("api.test", resolver_slow, None).await;
        assert_eq!(patient.unwrap(), [IpAddr::from([127, 0, 0, 1])]);
        let longer =
            solo::net::lookup_with("api.test", resolver_slow, Some(Duration::from_secs(5)));
        assert!(longer.await.is_ok(), "a new lookup after the answer");
        assert_eq!(waiting.await.unwrap().unwrap().len(), 1);
    });
    assert_eq!(
        CALLS_SLOW.load(Ordering::SeqCst),
        2,
        "one lookup shared, then one more"
    );
}
