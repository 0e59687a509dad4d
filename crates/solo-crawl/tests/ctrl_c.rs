//! Ctrl-C in a crawl run as a library: the first stops it gracefully, the
//! second calls [`StopHandle::hurry`], and the crawl returns at once,
//! without waiting for the requests in flight, its outputs flushed (a
//! library crawl printed "Ctrl-C again to quit at once" and then waited
//! for them). The library never exits the process (before issue 12 it
//! called `exit(130)` on a second Ctrl-C, and this test's process died).
//! The binary's exit is tested in `cli.rs`.
//!
//! Alone in its test binary: it sends SIGINT to its own process.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use solo_crawl::demo_site::DemoSite;
use solo_crawl::output::SharedBuf;
use solo_crawl::{
    Config, Crawler, Output, OutputConfig, Request, Response, Spider, StopHandle, Target,
};

fn interrupt_self() {
    let status = std::process::Command::new("kill")
        .args(["-INT", &std::process::id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -INT failed: {status}");
}

/// Parses its first page as any; on the second presses Ctrl-C twice
/// (so the crawl is still running), then takes 60 s more.
struct Interrupter {
    pages: Vec<url::Url>,
    stop: Rc<RefCell<Option<StopHandle>>>,
}

impl Spider for Interrupter {
    type Callback = ();

    fn start_requests(&self) -> Vec<Request<()>> {
        self.pages
            .iter()
            .map(|u| Request::new(u.clone(), ()))
            .collect()
    }

    async fn parse(&self, _: (), response: &Response, _: &mut Output<()>) {
        if response.url() == &self.pages[0] {
            return;
        }
        let stop = self.stop.borrow().clone().expect("stop handle set");
        interrupt_self();
        let t = Instant::now();
        while !stop.is_stopped() {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "the first Ctrl-C did not stop the crawl"
            );
            solo::sleep(Duration::from_millis(10)).await;
        }
        interrupt_self();
        solo::sleep(Duration::from_secs(60)).await;
    }
}

#[test]
fn a_second_ctrl_c_returns_at_once_and_leaves_the_exit_to_the_program() {
    let site = DemoSite::start(10).unwrap();
    let stop = Rc::new(RefCell::new(None));
    let spider = Interrupter {
        pages: vec![
            site.url().join("/page/0").unwrap(),
            site.url().join("/page/1").unwrap(),
        ],
        stop: stop.clone(),
    };
    let cfg = Config {
        handle_ctrl_c: true,
        obey_robots: false,
        per_host: 1,
        ..Config::default()
    };
    let pages = SharedBuf::default();
    let crawler = Crawler::new(spider, cfg).output(OutputConfig {
        pages: Target::Buffer(pages.clone()),
        items: Target::Discard,
        ..OutputConfig::default()
    });
    let handle = crawler.stop_handle();
    *stop.borrow_mut() = Some(handle.clone());
    let t = Instant::now();
    let summary = solo::run(crawler.run()).expect("the crawl returns");
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "returned {:?} after the start: it waited for the callback in flight",
        t.elapsed()
    );
    assert!(summary.interrupted, "the crawl says it was interrupted");
    let records = common::records(&pages);
    assert_eq!(common::record_paths(&records), ["/page/0"], "flushed");
    let hurried =
        solo::run(async { solo::timeout(Duration::from_secs(1), handle.hurried()).await });
    assert!(
        hurried.is_ok(),
        "the second Ctrl-C called StopHandle::hurry"
    );
}
