//! Mutual TLS: rustls servers that require a client certificate signed
//! by a CA of their own, over TLS 1.3 and 1.2, HTTP/1.1 and HTTP/2; the
//! client shows one with `ClientBuilder::client_cert`.

mod common;

use common::run;
use common::tls::{https_url, start_tls, start_tls_with, trusting_with, Pki, H1};
use solo_http::{Client, ErrorKind, Version};

/// A client showing the leaf of `pki` (rcgen's, no extended key usage:
/// good for a client too).
fn showing(server: &Pki, pki: &Pki) -> Client {
    trusting_with(server, |b| {
        b.client_cert(pki.cert_pem.clone(), pki.key_pem.clone())
    })
}

#[test]
fn a_server_that_requires_a_client_certificate_gets_it_or_refuses() {
    run(async {
        let server = Pki::new();
        // Its CA signs the certificates the server accepts.
        let clients = Pki::new();
        let stranger = Pki::new();
        for (tls12, h2) in [(false, false), (true, false), (false, true), (true, true)] {
            let case = format!("TLS 1.2 only: {tls12}, h2: {h2}");
            let config = server.requiring_client_cert(&clients.ca_der, tls12, h2);
            let s = start_tls_with(config).await;
            let url = https_url(&s, "/text");

            let e = trusting_with(&server, |b| b)
                .get(&url)
                .send()
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Tls, "{case}: {e:?}");
            assert!(
                e.to_string().contains("requires a client certificate"),
                "{case}: {e}"
            );

            let client = showing(&server, &clients);
            let before = s.stats.accepted();
            for _ in 0..2 {
                let resp = client.get(&url).send().await.unwrap();
                let version = if h2 {
                    Version::HTTP_2
                } else {
                    Version::HTTP_11
                };
                assert_eq!(resp.version(), version, "{case}");
                assert_eq!(resp.text().await.unwrap(), "hello world", "{case}");
            }
            assert_eq!(s.stats.accepted(), before + 1, "{case}: kept alive");

            let e = showing(&server, &stranger)
                .get(&url)
                .send()
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Tls, "{case}: {e:?}");
            assert!(
                e.to_string().contains("refused the client certificate"),
                "{case}: {e}"
            );
        }
    });
}

/// A server that does not ask never sees the certificate, and the
/// request goes as without one.
#[test]
fn a_client_certificate_is_not_in_the_way_of_servers_that_do_not_ask() {
    run(async {
        let server = Pki::new();
        let s = start_tls(&server, H1).await;
        let client = showing(&server, &Pki::new());
        let resp = client.get(https_url(&s, "/text")).send().await.unwrap();
        assert_eq!(resp.text().await.unwrap(), "hello world");
    });
}

#[test]
fn a_bad_client_certificate_or_key_fails_the_build() {
    let pki = Pki::new();
    let other = Pki::new();
    for (chain, key, says) in [
        ("junk", pki.key_pem.as_str(), "chain is not PEM"),
        (pki.cert_pem.as_str(), "junk", "key is not PEM"),
        (
            pki.cert_pem.as_str(),
            other.key_pem.as_str(),
            "is not the key of",
        ),
    ] {
        let e = Client::builder()
            .client_cert(chain, key)
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Tls);
        assert!(e.to_string().contains(says), "{e}");
    }
}
