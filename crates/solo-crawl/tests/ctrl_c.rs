//! Ctrl-C in a crawl run as a library: the first stops it gracefully, the
//! second calls [`StopHandle::hurry`]; the library never exits the
//! process (before issue 12 it called `exit(130)` on a second Ctrl-C, and
//! this test's process died). The binary's exit is tested in `cli.rs`.
//!
//! Alone in its test binary: it sends SIGINT to its own process.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use solo_crawl::demo_site::DemoSite;
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

/// Presses Ctrl-C twice while parsing the start page (so the crawl is
/// still running), and notes whether the second one hurried the crawl.
struct Interrupter {
    start: String,
    stop: Rc<RefCell<Option<StopHandle>>>,
    hurried: Rc<Cell<bool>>,
}

impl Spider for Interrupter {
    type Callback = ();

    fn start_requests(&self) -> Vec<Request<()>> {
        vec![Request::parse(&self.start, ()).unwrap()]
    }

    async fn parse(&self, _: (), _: &Response, _: &mut Output<()>) {
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
        let hurried = solo::timeout(Duration::from_secs(30), stop.hurried()).await;
        self.hurried.set(hurried.is_ok());
    }
}

#[test]
fn a_second_ctrl_c_hurries_the_crawl_and_leaves_the_exit_to_the_program() {
    let site = DemoSite::start(10).unwrap();
    let stop = Rc::new(RefCell::new(None));
    let hurried = Rc::new(Cell::new(false));
    let spider = Interrupter {
        start: site.url().to_string(),
        stop: stop.clone(),
        hurried: hurried.clone(),
    };
    let cfg = Config {
        handle_ctrl_c: true,
        obey_robots: false,
        ..Config::default()
    };
    let crawler = Crawler::new(spider, cfg).output(OutputConfig {
        pages: Target::Discard,
        items: Target::Discard,
        ..OutputConfig::default()
    });
    *stop.borrow_mut() = Some(crawler.stop_handle());
    let summary = solo::run(crawler.run()).expect("the crawl returns");
    assert!(summary.interrupted, "the crawl says it was interrupted");
    assert!(hurried.get(), "the second Ctrl-C called StopHandle::hurry");
}
