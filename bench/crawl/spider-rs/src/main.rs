//! spider-rs peer for bench/crawl/run.sh: crawl START_URL with the `spider`
//! crate on tokio's multi-threaded runtime, CONCURRENCY requests in flight,
//! robots.txt off, no delay; count the pages answered 200 through spider's
//! page subscription and print "pages N" (and "other N" for any other status,
//! "lagged N" if the subscription dropped pages) at the end.
//!
//!     spider-bench START_URL [CONCURRENCY]
//!
//! Throughput settings: `with_concurrency_limit(Some(CONCURRENCY))` (spider's
//! own default is 30 permits on a 2-core machine), `with_delay(0)`, robots.txt
//! off, jemalloc as the global allocator (spider's README recommends it for
//! pure crawl workloads). Built twice by run.sh: with spider's default
//! features (`spider-rs`: their `balance` falls back to a 30-permit shared
//! semaphore when system CPU is >= 70 %) and with `--no-default-features
//! --features lean` (`spider-rs-nobalance`). See bench/notes.md.
use spider::tokio::sync::broadcast::error::RecvError;
use spider::website::Website;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let Some(start) = args.next() else {
        eprintln!("usage: spider-bench START_URL [CONCURRENCY]");
        std::process::exit(2);
    };
    let conc: usize = match args.next().map(|s| s.parse()) {
        None => 256,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("spider-bench: CONCURRENCY must be a positive integer");
            std::process::exit(2);
        }
    };
    let mut website = Website::new(&start);
    website
        .with_respect_robots_txt(false)
        .with_delay(0)
        .with_concurrency_limit(Some(conc))
        .with_subdomains(false)
        .with_tld(false);
    let mut rx = website.subscribe(4096);
    let counter = tokio::spawn(async move {
        let (mut ok, mut other, mut lagged) = (0u64, 0u64, 0u64);
        loop {
            match rx.recv().await {
                Ok(page) if page.status_code.as_u16() == 200 => ok += 1,
                Ok(_) => other += 1,
                Err(RecvError::Lagged(n)) => lagged += n,
                Err(RecvError::Closed) => break,
            }
        }
        (ok, other, lagged)
    });
    website.crawl().await;
    website.unsubscribe();
    drop(website);
    let (ok, other, lagged) = counter.await.expect("counter task");
    if other > 0 {
        eprintln!("other {other}");
    }
    if lagged > 0 {
        eprintln!("lagged {lagged}");
    }
    println!("pages {ok}");
}
