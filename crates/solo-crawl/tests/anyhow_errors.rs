//! Every public error type of solo, solo-http and solo-crawl goes through
//! `?` into `anyhow::Error` (so it is `Send + Sync + 'static`), keeps its
//! message, and keeps its cause reachable through `source()`.

use std::error::Error as _;
use std::time::Duration;

use solo_crawl::fetch::{FetchError, FetchErrorKind};
use solo_crawl::{Config, CrawlError, Crawler, LinkSpider, OutputConfig, Target};
use url::Url;

/// `?` into `anyhow::Error`: compiles only for `Send + Sync + 'static`
/// errors; returns the converted error.
fn via_anyhow<E>(e: E) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn fails<E: std::error::Error + Send + Sync + 'static>(e: E) -> anyhow::Result<()> {
        Err(e)?;
        Ok(())
    }
    fails(e).unwrap_err()
}

/// The messages of `e` and its causes, outermost first.
fn chain(e: &anyhow::Error) -> Vec<String> {
    e.chain().map(|c| c.to_string()).collect()
}

#[test]
fn task_errors() {
    solo::run(async {
        let t = solo::spawn(std::future::pending::<()>());
        t.set_name("fetcher");
        t.cancel();
        let e = via_anyhow(t.await.unwrap_err());
        assert!(e.to_string().starts_with("task 'fetcher' (id "), "{e}");
        assert!(e.downcast_ref::<solo::TaskError>().unwrap().is_cancelled());

        let t = solo::spawn(async { panic!("disk on fire") });
        let id = t.id();
        let e = via_anyhow(t.await.unwrap_err());
        assert_eq!(e.to_string(), format!("task {id} panicked: disk on fire"));
        // The payload survives the trip.
        let payload = e.downcast::<solo::TaskError>().unwrap().into_panic();
        assert_eq!(*payload.downcast::<&str>().unwrap(), "disk on fire");
    });
}

#[test]
fn task_group_errors() {
    solo::run(async {
        let g = solo::TaskGroup::<std::num::ParseIntError>::new();
        g.spawn(async { "x".parse::<u32>() });
        let e = via_anyhow(g.join().await.unwrap_err());
        assert!(
            e.to_string()
                .starts_with("task group failed: invalid digit"),
            "{e}"
        );

        let g = solo::TaskGroup::<std::num::ParseIntError>::new();
        g.spawn(async {
            if true {
                panic!("child failed");
            }
            Ok(())
        });
        let e = via_anyhow(g.join().await.unwrap_err());
        let causes = chain(&e);
        assert_eq!(causes.len(), 2, "{causes:?}");
        assert!(causes[1].ends_with("panicked: child failed"), "{causes:?}");
        assert!(e
            .root_cause()
            .downcast_ref::<solo::TaskError>()
            .unwrap()
            .is_panic());
    });
}

#[test]
fn sync_and_time_errors() {
    use solo::sync::{mpsc, oneshot, Mutex, Queue, Semaphore};
    solo::run(async {
        let sem = Semaphore::new(0);
        assert!(via_anyhow(sem.try_acquire().unwrap_err())
            .to_string()
            .contains("permits"));
        sem.close();
        assert!(via_anyhow(sem.acquire().await.unwrap_err())
            .to_string()
            .contains("closed"));

        let q = Queue::new(1);
        q.put_nowait(1u8).unwrap();
        let e = via_anyhow(q.put_nowait(2u8).unwrap_err());
        assert_eq!(e.to_string(), "queue is full");
        let q = Queue::<u8>::new(0);
        assert_eq!(
            via_anyhow(q.get_nowait().unwrap_err()).to_string(),
            "queue is empty"
        );

        let (tx, mut rx) = mpsc::channel::<u8>(1);
        tx.try_send(1).unwrap();
        via_anyhow(tx.try_send(2).unwrap_err());
        rx.try_recv().unwrap();
        via_anyhow(rx.try_recv().unwrap_err());
        drop(rx);
        via_anyhow(tx.send(3).await.unwrap_err());

        let (tx, mut rx) = oneshot::channel::<u8>();
        via_anyhow(rx.try_recv().unwrap_err());
        drop(tx);
        via_anyhow(rx.await.unwrap_err());

        let m = Mutex::new(0);
        let _held = m.try_lock().unwrap();
        via_anyhow(m.try_lock().unwrap_err());

        let e = solo::timeout(Duration::from_millis(1), std::future::pending::<()>())
            .await
            .unwrap_err();
        via_anyhow(e);
    });
}

#[test]
fn http_errors_keep_their_cause() {
    solo::run(async {
        // Nothing listens on port 1: refused.
        let e = solo_http::Client::new()
            .get("http://127.0.0.1:1/")
            .send()
            .await
            .unwrap_err();
        let e = via_anyhow(e);
        assert_eq!(
            e.downcast_ref::<solo_http::Error>().unwrap().kind(),
            solo_http::ErrorKind::Connect
        );
        assert!(
            e.root_cause().downcast_ref::<std::io::Error>().is_some(),
            "{:?}",
            chain(&e)
        );
    });
}

#[test]
fn fetch_errors_keep_their_cause() {
    let e = FetchError::new(FetchErrorKind::Io, "reset")
        .with_source(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
    let e = via_anyhow(e);
    assert_eq!(chain(&e)[0], "io: reset");
    assert!(e.root_cause().downcast_ref::<std::io::Error>().is_some());

    // The default fetcher's errors carry solo-http's error.
    let cfg = Config {
        root_certificates: vec![b"not a certificate".to_vec()],
        ..Config::default()
    };
    let e = solo_crawl::fetch::client(&cfg).unwrap_err();
    assert_eq!(e.kind, FetchErrorKind::Tls);
    let http = e
        .source()
        .unwrap()
        .downcast_ref::<solo_http::Error>()
        .unwrap();
    assert_eq!(http.kind(), solo_http::ErrorKind::Tls);
    via_anyhow(e);
}

fn seed() -> Vec<Url> {
    vec![Url::parse("http://127.0.0.1:1/").unwrap()]
}

#[test]
fn crawl_errors_keep_their_cause() {
    // Client: a root certificate that is not one.
    let cfg = Config {
        root_certificates: vec![b"not a certificate".to_vec()],
        ..Config::default()
    };
    let e = solo::run(Crawler::new(LinkSpider::new(seed()), cfg).run()).unwrap_err();
    assert!(matches!(e, CrawlError::Client(_)), "{e}");
    let e = via_anyhow(e);
    // crawl -> fetch -> solo-http -> rustls
    let causes: Vec<_> = e.chain().collect();
    assert!(causes[1].is::<FetchError>(), "{:?}", chain(&e));
    assert!(causes[2].is::<solo_http::Error>(), "{:?}", chain(&e));
    assert!(causes.len() >= 4, "{:?}", chain(&e));

    let dir = std::env::temp_dir().join(format!("solo-crawl-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("plain-file");
    std::fs::write(&file, b"not a directory").unwrap();

    // State: the state directory is a regular file.
    let cfg = Config {
        state_dir: Some(file.join("state")),
        ..Config::default()
    };
    let e = solo::run(Crawler::new(LinkSpider::new(seed()), cfg).run()).unwrap_err();
    assert!(matches!(e, CrawlError::State(_)), "{e}");
    assert!(e.source().is_some(), "the SQLite/I-O error is kept");
    let e = via_anyhow(e);
    assert!(
        e.root_cause().downcast_ref::<std::io::Error>().is_some(),
        "the OS error is the root cause: {:?}",
        chain(&e)
    );

    // State: a database of another program; SQLite's error is kept.
    let foreign = dir.join("foreign-state");
    std::fs::create_dir_all(&foreign).unwrap();
    rusqlite::Connection::open(foreign.join("state.sqlite"))
        .unwrap()
        .execute_batch("CREATE TABLE requests (url TEXT);")
        .unwrap();
    let cfg = Config {
        state_dir: Some(foreign),
        ..Config::default()
    };
    let e = solo::run(Crawler::new(LinkSpider::new(seed()), cfg).run()).unwrap_err();
    assert!(matches!(e, CrawlError::State(_)), "{e}");
    let e = via_anyhow(e);
    assert!(
        e.chain().any(|c| c.is::<rusqlite::Error>()),
        "SQLite's error is in the chain: {:?}",
        chain(&e)
    );

    // Output: a file under a regular file.
    let out = OutputConfig {
        pages: Target::File(file.join("pages.jsonl")),
        ..OutputConfig::default()
    };
    let e = solo::run(
        Crawler::new(LinkSpider::new(seed()), Config::default())
            .output(out)
            .run(),
    )
    .unwrap_err();
    assert!(matches!(e, CrawlError::Output(_)), "{e}");
    let e = via_anyhow(e);
    assert!(e.root_cause().downcast_ref::<std::io::Error>().is_some());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn select_errors() {
    let r = solo_crawl::Response::new(
        Url::parse("http://a.test/").unwrap(),
        200,
        vec![],
        "<p>".into(),
    );
    let e = via_anyhow(r.select("p[").unwrap_err());
    assert!(e.to_string().starts_with("bad CSS selector"));
}
