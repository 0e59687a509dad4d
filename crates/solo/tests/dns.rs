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
        // Remembered: the same name fails at once, without a new lookup.
        let e = solo::net::lookup_with("dead7.test", resolver_many, None)
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("a failed lookup is not repeated"),
            "{e}"
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
