//! Tutorial: fetch a list of URLs concurrently, with `gather` and a
//! semaphore (the tutorial's "combine the event loop with aiohttp to crawl
//! faster", ported from aiohttp to solo-http).
//!
//! The Python it ports:
//!
//! ```python
//! async def fetch(session, sem, url):
//!     async with sem:                        # at most 5 at a time
//!         async with session.get(url) as resp:
//!             resp.raise_for_status()
//!             return url, resp.status, await resp.text()
//!
//! async def main(urls):
//!     sem = asyncio.Semaphore(5)
//!     async with aiohttp.ClientSession() as session:
//!         return await asyncio.gather(*(fetch(session, sem, u) for u in urls),
//!                                     return_exceptions=True)
//! ```
//!
//! Shows: one `solo_http::Client` shared by every request (aiohttp's
//! `ClientSession`; clones are the same client), `solo::sync::Semaphore`
//! in an `Rc` to cap how many requests run at once, `solo::gather` to run
//! them all and get the results in order, and errors as values
//! (`error_for_status`). Twenty-one pages that each take 100 ms to
//! answer come back in about 0.5 s (five rounds of at most five), not 2 s.
//!
//! No network needed: the example first starts its own little server on
//! 127.0.0.1 (hyper on solo, in the same thread).
//!
//! Run: `cargo run --release -p solo-http --example fetch_many`

use std::convert::Infallible;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use solo::sync::Semaphore;
use solo_http::{Client, StatusCode};

/// At most this many requests in flight.
const LIMIT: usize = 5;

/// Fetches one page while holding a permit of `sem`: returns its status
/// and `<title>`.
async fn fetch(
    client: Client,
    sem: Rc<Semaphore>,
    url: String,
) -> Result<(StatusCode, String), solo_http::Error> {
    // `async with sem:` — the permit goes back when `_permit` is dropped.
    let _permit = sem.acquire().await.expect("the semaphore is never closed");
    let resp = client.get(&url).send().await?.error_for_status()?;
    let status = resp.status();
    let page = resp.text().await?;
    Ok((status, title(&page).to_owned()))
}

fn title(page: &str) -> &str {
    let start = page.find("<title>").map_or(0, |i| i + "<title>".len());
    let end = page[start..].find("</title>").map_or(start, |i| start + i);
    &page[start..end]
}

#[solo::main]
async fn main() {
    let addr = serve_pages().await;
    let mut urls: Vec<String> = (1..=20)
        .map(|i| format!("http://{addr}/page/{i}"))
        .collect();
    urls.push(format!("http://{addr}/no-such-page")); // this one fails

    let client = Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("valid settings");
    let sem = Rc::new(Semaphore::new(LIMIT));

    let start = Instant::now();
    let results = solo::gather(
        urls.iter()
            .map(|url| fetch(client.clone(), sem.clone(), url.clone())),
    )
    .await;
    let took = start.elapsed();

    let mut ok = 0;
    for (url, result) in urls.iter().zip(&results) {
        match result {
            Ok((status, title)) => {
                ok += 1;
                println!("{url}: {status} {title:?}");
            }
            Err(e) => println!("{url}: failed: {e}"),
        }
    }
    println!(
        "{ok} of {} pages in {:.2}s, at most {LIMIT} at a time",
        urls.len(),
        took.as_secs_f64()
    );
    assert_eq!(ok, 20);
    assert!(matches!(
        results.last(),
        Some(Err(e)) if e.kind() == solo_http::ErrorKind::Status(StatusCode::NOT_FOUND)
    ));
}

/// A server on 127.0.0.1 whose pages take 100 ms each, like a slow site.
async fn serve_pages() -> SocketAddr {
    let listener = solo::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    solo::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            solo::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(solo::compat::TokioIo::new(stream));
                let service = hyper::service::service_fn(page);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    addr
}

async fn page(
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<http_body_util::Full<solo_http::Bytes>>, Infallible> {
    solo::sleep(Duration::from_millis(100)).await;
    let path = req.uri().path();
    let (status, body) = match path.strip_prefix("/page/") {
        Some(n) => (
            200,
            format!("<html><title>Page {n}</title><body>Hello from page {n}</body></html>"),
        ),
        None => (404, "<title>Not found</title>".to_owned()),
    };
    let mut resp = hyper::Response::new(http_body_util::Full::new(body.into()));
    *resp.status_mut() = hyper::StatusCode::from_u16(status).expect("valid status");
    Ok(resp)
}
