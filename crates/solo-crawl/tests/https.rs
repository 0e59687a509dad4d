//! The default fetcher (solo-http) against servers on 127.0.0.1: an
//! https site under a test CA, and keep-alive connection reuse.

mod common;

use solo_crawl::Config;
use url::Url;

use common::tls::{pki, pki_alpn, serve_http1, start, start_https, start_https_h2, PAGES};
use common::{crawl_links, quick};

#[test]
fn crawls_an_https_site_trusting_a_test_ca() {
    solo::run(async {
        let (ca, _, server) = pki();
        let (port, accepted) = start_https(server).await;
        let seed = Url::parse(&format!("https://localhost:{port}/")).unwrap();
        let cfg = Config {
            per_host: 4,
            root_certificates: vec![ca],
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![seed.clone()], cfg).await;
        assert_eq!(summary.counts.pages as usize, PAGES + 1, "{summary}");
        assert_eq!(recs.len(), PAGES + 1);
        for r in &recs {
            assert_eq!(r.status, Some(200), "{r:?}");
            assert_eq!(r.error, None, "{r:?}");
            assert!(r.url.starts_with("https://localhost:"), "{r:?}");
        }
        assert!(recs.iter().any(|r| r.title.as_deref() == Some("/p/7")));
        // Kept alive: no more connections than requests in flight per host.
        assert!(accepted.get() <= 4, "{} connections", accepted.get());

        // Without the CA the certificate is not trusted: a TLS error,
        // not retried.
        let before = accepted.get();
        let (summary, recs) = crawl_links(vec![seed.clone()], quick()).await;
        assert_eq!(recs.len(), 1);
        let err = recs[0].error.as_deref().unwrap();
        assert!(err.starts_with("tls:"), "{err}");
        assert!(err.contains("not trusted"), "{err}");
        // The way out, in the crawler's terms.
        assert!(err.contains("--ca-cert FILE"), "{err}");
        assert_eq!(summary.counts.errors["tls"], 1);
        assert_eq!(accepted.get() - before, 1, "a TLS failure is not retried");

        // --insecure: any certificate goes.
        let cfg = Config {
            danger_accept_invalid_certs: true,
            max_pages: Some(5),
            ..quick()
        };
        let (summary, _) = crawl_links(vec![seed], cfg).await;
        assert_eq!(summary.counts.pages, 5, "{summary}");
    });
}

#[test]
fn crawls_over_http2_on_one_connection_within_the_per_host_limit() {
    solo::run(async {
        let (ca, _, server) = pki_alpn(&[b"h2", b"http/1.1"]);
        let site = start_https_h2(server).await;
        let seed = Url::parse(&format!("https://localhost:{}/", site.port)).unwrap();
        let cfg = Config {
            per_host: 6,
            root_certificates: vec![ca],
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![seed], cfg).await;
        assert_eq!(summary.counts.pages as usize, PAGES + 1, "{summary}");
        assert!(recs
            .iter()
            .all(|r| r.status == Some(200) && r.error.is_none()));
        assert!(recs.iter().any(|r| r.title.as_deref() == Some("/p/7")));
        // Every request came over HTTP/2, multiplexed on one connection,
        // with no more streams at once than the per-host limit.
        assert_eq!(site.h2_requests.get(), PAGES + 1);
        assert_eq!(site.accepted.get(), 1, "one connection");
        let most = site.streams.1.get();
        assert!((2..=6).contains(&most), "{most} streams at once");
    });
}

#[test]
fn keep_alive_serves_many_pages_over_few_connections() {
    solo::run(async {
        let (port, accepted) = start(serve_http1).await;
        let seed = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let cfg = Config {
            concurrency: 16,
            per_host: 2,
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![seed], cfg).await;
        assert_eq!(summary.counts.pages as usize, PAGES + 1, "{summary}");
        assert!(recs.iter().all(|r| r.status == Some(200)));
        let conns = accepted.get();
        assert!(
            (1..=2).contains(&conns),
            "{} pages over {conns} connections",
            PAGES + 1
        );
    });
}

#[test]
fn a_bad_root_certificate_is_a_crawl_error() {
    let cfg = Config {
        root_certificates: vec![b"not a certificate".to_vec()],
        ..quick()
    };
    let crawler = solo_crawl::Crawler::new(
        solo_crawl::LinkSpider::new(vec![Url::parse("https://localhost:1/").unwrap()]),
        cfg,
    );
    let err = solo::run(crawler.run()).unwrap_err();
    assert!(
        matches!(&err, solo_crawl::CrawlError::Client(e) if e.kind == solo_crawl::fetch::FetchErrorKind::Tls),
        "{err}"
    );
}

/// A self-signed certificate that is also a CA (what `openssl req -x509`
/// makes) is refused as a server's own, even when trusted; the error says
/// how to get past it in the crawler's terms (`--insecure`), not
/// solo-http's builder method.
#[test]
fn a_ca_certificate_served_as_the_servers_own_names_the_insecure_flag() {
    solo::run(async {
        let (der, server) = common::tls::self_signed_ca();
        let (port, _) = start_https(server).await;
        let seed = Url::parse(&format!("https://localhost:{port}/")).unwrap();
        let cfg = Config {
            root_certificates: vec![der],
            ..quick()
        };
        let (_, recs) = crawl_links(vec![seed], cfg).await;
        let err = recs[0].error.as_deref().unwrap();
        assert!(err.starts_with("tls:") && err.contains("CA:TRUE"), "{err}");
        assert!(err.contains("--insecure"), "{err}");
        assert!(!err.contains("ClientBuilder::"), "{err}");
    });
}
