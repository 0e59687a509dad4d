//! Name resolution that never answers (broad-audit defect 1): a crawl's
//! dead domains must cost only their own requests. The resolver is a
//! blocking stand-in for `getaddrinfo` against dead name servers
//! ([`Resolver::blocking`], run on solo's DNS threads as the system
//! resolver is): "dead*" names hang until the test ends, others are
//! 127.0.0.1.

mod common;

use std::cell::RefCell;
use std::io;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use common::{run, start};
use solo_http::{Client, ErrorKind, Resolver};

static GATE: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());

fn lookup(name: &str) -> io::Result<Vec<IpAddr>> {
    if name.starts_with("dead") {
        let g = GATE.0.lock().unwrap();
        let _ = GATE
            .1
            .wait_timeout_while(g, Duration::from_secs(60), |open| !*open)
            .unwrap();
        return Err(io::Error::other("Temporary failure in name resolution"));
    }
    Ok(vec![[127, 0, 0, 1].into()])
}

#[test]
fn two_hundred_dead_names_do_not_hold_up_a_live_one() {
    run(async {
        let server = start().await;
        let port = server.addr.port();
        let client = Client::builder()
            .resolver(Resolver::blocking(lookup))
            .dns_timeout(Duration::from_secs(3))
            .build()
            .unwrap();
        let order = Rc::new(RefCell::new(Vec::new()));
        let dead: Vec<_> = (0..200)
            .map(|i| {
                let (client, order) = (client.clone(), order.clone());
                solo::spawn(async move {
                    let r = client
                        .get(format!("http://dead{i}.test:{port}/text"))
                        .send()
                        .await;
                    order.borrow_mut().push("dead");
                    r.map(|_| ())
                })
            })
            .collect();
        // All 200 lookups hang (more than `to_thread`'s 64 threads).
        solo::sleep(Duration::from_millis(100)).await;
        let live = client
            .get(format!("http://live.test:{port}/text"))
            .send()
            .await
            .unwrap();
        order.borrow_mut().push("live");
        assert_eq!(live.text().await.unwrap(), "hello world");
        for t in dead {
            let e = t.await.unwrap().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Dns, "{e}");
            let msg = e.to_string();
            assert!(msg.contains("name resolution of 'dead"), "{msg}");
            assert!(msg.contains("timed out after 3.00s"), "{msg}");
        }
        assert_eq!(order.borrow()[0], "live");
        // A dead name fails at once now, without queueing a lookup.
        let e = client
            .get(format!("http://dead3.test:{port}/"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Dns);
        assert!(
            e.to_string().contains("a failed lookup is not repeated"),
            "{e}"
        );
    });
    *GATE.0.lock().unwrap() = true;
    GATE.1.notify_all();
}

#[test]
fn a_resolver_that_never_answers_fails_at_the_connect_timeout_as_a_dns_error() {
    run(async {
        let never =
            Resolver::new(|_: &str| -> solo_http::Resolving { Box::pin(std::future::pending()) });
        let client = Client::builder()
            .resolver(never)
            .connect_timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let e = client.get("http://nowhere.test/").send().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Dns, "{e}");
        assert!(
            e.to_string()
                .contains("name resolution of 'nowhere.test' timed out after"),
            "{e}"
        );
    });
}
